// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Benchmark workload for stack capture: N pthread_mutex_lock/unlock pairs
 * taken DEPTH calls deep, timed with CLOCK_MONOTONIC. Prints
 * "ns_per_pair=<float>".
 *
 *   stack_events same|new PAIRS DEPTH
 *
 * same: every pair from one call site (a stack already seen: what most
 * events of a real program cost). new: every pair at a stack depth not
 * seen before (alloca of a growing size), so each one captures and sends
 * a whole stack: the cost of a new call site.
 */
#include <alloca.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static volatile unsigned long counter;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static __attribute__((noinline)) void lock_pair(void)
{
	pthread_mutex_lock(&lock);
	counter++;
	pthread_mutex_unlock(&lock);
}

/* depth frames of real size (a local array each), then the pair */
static __attribute__((noinline)) void descend(int depth, long pad)
{
	volatile char frame[48];

	frame[depth % 48] = (char)depth;
	__asm__ volatile("" : : "r"(frame) : "memory");
	if (depth > 0) {
		descend(depth - 1, pad);
	} else {
		char *p = alloca(pad * 16 + 16);

		p[0] = 1;
		__asm__ volatile("" : : "r"(p) : "memory");
		lock_pair();
	}
	__asm__ volatile("" ::: "memory");
}

int main(int argc, char **argv)
{
	long pairs, i;
	int depth, fresh;
	double start, elapsed;

	if (argc != 4 || (strcmp(argv[1], "same") && strcmp(argv[1], "new"))) {
		fprintf(stderr, "usage: stack_events same|new PAIRS DEPTH\n");
		return 2;
	}
	fresh = !strcmp(argv[1], "new");
	pairs = atol(argv[2]);
	depth = atoi(argv[3]);
	if (pairs <= 0 || depth < 0 || depth > 1000) {
		fprintf(stderr, "stack_events: bad PAIRS or DEPTH\n");
		return 2;
	}
	start = now();
	for (i = 0; i < pairs; i++)
		descend(depth, fresh ? i % 4096 : 0);
	elapsed = now() - start;
	printf("ns_per_pair=%.1f\n", elapsed * 1e9 / pairs);
	return 0;
}
