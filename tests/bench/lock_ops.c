// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Benchmark workload: N uncontended pthread_mutex_lock/unlock pairs in one
 * thread, timed with CLOCK_MONOTONIC. Prints "ns_per_pair=<float>".
 * Usage: lock_ops [pairs]   (default 200000)
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static volatile unsigned long counter;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	long pairs = argc > 1 ? atol(argv[1]) : 200000;
	double start, elapsed;
	long i;

	start = now();
	for (i = 0; i < pairs; i++) {
		pthread_mutex_lock(&lock);
		counter++;
		pthread_mutex_unlock(&lock);
	}
	elapsed = now() - start;
	printf("ns_per_pair=%.1f\n", elapsed * 1e9 / pairs);
	return 0;
}
