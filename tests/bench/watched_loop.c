// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Benchmark workload for the per-word hit cap: one thread writes the global
 * `watched_word` N times, each write under a mutex (as a guarded word is
 * written: the lock events keep the tracer busy, which is when a cap acted
 * on late costs most). Run under `ipcrace record --watch watched_word`,
 * every write traps until the cap parks the breakpoint; the time the loop
 * takes shows how long the word keeps trapping after the cap is reached.
 * With "bare" as second argument the loop takes no lock. Prints
 * "loop_seconds=<float>" and "ns_per_write=<float>".
 * Usage: watched_loop [writes [bare]]  (default 1000000, locked)
 */
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

volatile long watched_word;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000000;
	bool bare = argc > 2 && !strcmp(argv[2], "bare");
	double start, elapsed;

	if (n <= 0) {
		fprintf(stderr, "watched_loop: writes must be positive\n");
		return 2;
	}
	start = now();
	for (long i = 0; i < n; i++) {
		if (!bare)
			pthread_mutex_lock(&lock);
		watched_word = i;
		if (!bare)
			pthread_mutex_unlock(&lock);
	}
	elapsed = now() - start;
	printf("loop_seconds=%.3f\nns_per_write=%.1f\n", elapsed, elapsed * 1e9 / n);
	return 0;
}
