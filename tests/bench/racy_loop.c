// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * A hot racy loop: two threads each add to one global N times with no
 * lock. Prints the wall time in ms; under `ipcrace check` the race must be
 * found, and the loop must not stay trapping once the budgets are spent.
 *
 *   racy_loop N
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static volatile long total;

static __attribute__((noinline)) void add_one(void)
{
	total++;
}

static void *worker(void *arg)
{
	long n = *(long *)arg;

	for (long i = 0; i < n; i++)
		add_one();
	return NULL;
}

int main(int argc, char **argv)
{
	struct timespec t0, t1;
	pthread_t a, b;
	long n;

	if (argc != 2 || (n = atol(argv[1])) <= 0) {
		fprintf(stderr, "usage: racy_loop N\n");
		return 2;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (pthread_create(&a, NULL, worker, &n) || pthread_create(&b, NULL, worker, &n)) {
		fprintf(stderr, "racy_loop: pthread_create failed\n");
		return 1;
	}
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	printf("ms=%.1f total=%ld of %ld\n",
	       (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6, total, 2 * n);
	return 0;
}
