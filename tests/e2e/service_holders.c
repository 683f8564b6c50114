// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A running service whose threads hold their locks most of the time
 * (tests/e2e/run_reports.sh attaches to it): each of 4 threads takes its
 * own mutex, keeps it 30 ms, releases it, and rests 1 ms. Whenever ipcrace
 * attaches, most threads hold a lock taken before the attach, and their
 * next unlock is the first event ipcrace sees of it: that is no
 * unlock-not-held. Prints "ready" once started, exits 0 after the seconds
 * given as argument 1 (default 3).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define THREADS 4

static pthread_mutex_t locks[THREADS];
static double seconds = 3;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000 * 1000 };

	nanosleep(&ts, NULL);
}

static __attribute__((noinline)) void hold_for_a_while(pthread_mutex_t *m)
{
	pthread_mutex_lock(m);
	sleep_ms(30);
	pthread_mutex_unlock(m);
}

static void *worker(void *arg)
{
	pthread_mutex_t *m = arg;
	double end = now() + seconds;

	while (now() < end) {
		hold_for_a_while(m);
		sleep_ms(1);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	pthread_t threads[THREADS];
	int i;

	if (argc > 1)
		seconds = atof(argv[1]);
	for (i = 0; i < THREADS; i++) {
		pthread_mutex_init(&locks[i], NULL);
		if (pthread_create(&threads[i], NULL, worker, &locks[i])) {
			fprintf(stderr, "service_holders: pthread_create failed\n");
			return 1;
		}
	}
	printf("ready\n");
	fflush(stdout);
	for (i = 0; i < THREADS; i++)
		pthread_join(threads[i], NULL);
	printf("done\n");
	return 0;
}
