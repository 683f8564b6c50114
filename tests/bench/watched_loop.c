// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Benchmark workload for the per-word hit cap: one thread writes the global
 * `watched_word` N times in a tight loop. Run under
 * `ipcrace record --watch watched_word`, every write traps until the cap
 * parks the breakpoint; the time the loop takes shows how long the word
 * keeps trapping after the cap is reached. Prints "loop_seconds=<float>"
 * and "ns_per_write=<float>".
 * Usage: watched_loop [writes]  (default 1000000)
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

volatile long watched_word;

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000000;
	double start, elapsed;

	if (n <= 0) {
		fprintf(stderr, "watched_loop: writes must be positive\n");
		return 2;
	}
	start = now();
	for (long i = 0; i < n; i++)
		watched_word = i;
	elapsed = now() - start;
	printf("loop_seconds=%.3f\nns_per_write=%.1f\n", elapsed, elapsed * 1e9 / n);
	return 0;
}
