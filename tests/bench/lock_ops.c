// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Benchmark workload: N uncontended pthread_mutex_lock/unlock pairs in one
 * thread, timed with CLOCK_MONOTONIC and CLOCK_PROCESS_CPUTIME_ID. Prints
 * "ns_per_pair=<float>" (wall) and "cpu_ns_per_pair=<float>" (the process's
 * CPU time, traps and BPF programs included: they run in its context).
 * Usage: lock_ops [pairs]   (default 200000)
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static volatile unsigned long counter;

static double now(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	long pairs = argc > 1 ? atol(argv[1]) : 200000;
	double start, cpu_start, elapsed, cpu;
	long i;

	start = now(CLOCK_MONOTONIC);
	cpu_start = now(CLOCK_PROCESS_CPUTIME_ID);
	for (i = 0; i < pairs; i++) {
		pthread_mutex_lock(&lock);
		counter++;
		pthread_mutex_unlock(&lock);
	}
	elapsed = now(CLOCK_MONOTONIC) - start;
	cpu = now(CLOCK_PROCESS_CPUTIME_ID) - cpu_start;
	printf("ns_per_pair=%.1f\n", elapsed * 1e9 / pairs);
	printf("cpu_ns_per_pair=%.1f\n", cpu * 1e9 / pairs);
	return 0;
}
