// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Benchmark workload: a synthetic event producer. THREADS threads call
 * futex(FUTEX_WAKE) on a private word nobody waits on (a syscall ipcrace
 * records as one event through its raw tracepoints, with no trap) for
 * SECONDS, together at RATE calls a second (0: as fast as they can).
 * Prints "calls=N seconds=S rate=R" (R in calls a second).
 * Usage: event_rate THREADS SECONDS [RATE]
 */
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 64
#define BATCH 64

static int word;
static double seconds;
static double per_thread;	/* calls a second per thread, 0: unpaced */
static long calls[MAX_THREADS];

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *produce(void *arg)
{
	long idx = (long)arg, n = 0;
	double start = now(), t = start, end = start + seconds;

	while (t < end) {
		for (int k = 0; k < BATCH; k++)
			syscall(SYS_futex, &word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
		n += BATCH;
		t = now();
		/* paced: wait until this batch is due (a busy wait: a sleep
		 * would itself be a traced syscall and blur the rate) */
		while (per_thread > 0 && t < end && n > (t - start) * per_thread)
			t = now();
	}
	calls[idx] = n;
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t threads[MAX_THREADS];
	long nthreads, total = 0;
	double start, elapsed;

	if (argc < 3 || (nthreads = atol(argv[1])) < 1 || nthreads > MAX_THREADS ||
	    (seconds = atof(argv[2])) <= 0) {
		fprintf(stderr, "usage: event_rate THREADS(1-%d) SECONDS [RATE]\n", MAX_THREADS);
		return 2;
	}
	per_thread = argc > 3 ? atof(argv[3]) / nthreads : 0;
	start = now();
	for (long i = 0; i < nthreads; i++)
		if (pthread_create(&threads[i], NULL, produce, (void *)i)) {
			perror("event_rate: pthread_create");
			return 1;
		}
	for (long i = 0; i < nthreads; i++) {
		pthread_join(threads[i], NULL);
		total += calls[i];
	}
	elapsed = now() - start;
	printf("calls=%ld seconds=%.3f rate=%.0f\n", total, elapsed, total / elapsed);
	return 0;
}
