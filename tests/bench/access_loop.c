// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The cost of one access through a probed instruction, by phase: the first
 * BUDGET accesses (recorded), the accesses after them until the probe's
 * group is detached (trapping, not recorded), and the accesses after the
 * detach (native again). One thread, one instruction (touch), so the phases
 * follow from the counts: pass the budget and trap cap ipcrace runs with.
 * Natively every phase costs the same. Prints ns per access per phase, in
 * CPU time of the thread (user and kernel: the traps are kernel time), so
 * that other load on the machine does not count.
 *
 *   access_loop BUDGET TRAP_CAP AFTER
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long cells[64];

static __attribute__((noinline)) void touch(long *p, long i)
{
	p[i & 63] += i;
}

static double now_ns(void)
{
	struct timespec ts;

	/* CPU time of this thread, user and kernel (the traps): other load does not count */
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static double phase(long from, long to)
{
	double t0 = now_ns();

	for (long i = from; i < to; i++)
		touch(cells, i);
	return to > from ? (now_ns() - t0) / (to - from) : 0;
}

int main(int argc, char **argv)
{
	long budget, cap, after;
	double recorded, trapping, detached;
	struct timespec pause = { .tv_nsec = 100 * 1000 * 1000 };

	if (argc != 4) {
		fprintf(stderr, "usage: access_loop BUDGET TRAP_CAP AFTER\n");
		return 2;
	}
	budget = atol(argv[1]);
	cap = atol(argv[2]);
	after = atol(argv[3]);
	if (budget <= 0 || cap <= budget || after <= 0) {
		fprintf(stderr, "access_loop: need 0 < BUDGET < TRAP_CAP, AFTER > 0\n");
		return 2;
	}
	recorded = phase(0, budget);
	trapping = phase(budget, cap - 1);
	/* the cap is reached here: give ipcrace time to detach the group */
	phase(cap - 1, cap + 1);
	nanosleep(&pause, NULL);
	detached = phase(cap + 1, cap + 1 + after);
	printf("ns_recorded=%.1f ns_over_budget=%.1f ns_detached=%.1f\n", recorded, trapping,
	       detached);
	return cells[0] == 42;
}
