// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Benchmark workload: a parent and a forked child exchange N one-byte
 * round trips, over two pipes ("pipe") or a Unix stream socketpair as
 * request/response ("unix"). Prints "us_per_roundtrip=<float>" (wall
 * time) and "cpu_us_per_roundtrip=<float>" (CPU time of both processes:
 * what a tracer's programs add in their context, less sensitive than the
 * wall time to other load and to where the scheduler puts the two).
 * With a CPU number, both processes run on that CPU only: a round trip
 * is then two context switches on one CPU, not two cross-CPU wake-ups
 * (each an IPI and an idle exit, VM exits here), which alone move a
 * native round trip between 2.7 and 50 us on this VM with the load.
 * Usage: ipc_pingpong pipe|unix [roundtrips [cpu]]   (default 20000, any CPU)
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_seconds(const struct rusage *ru)
{
	return ru->ru_utime.tv_sec + ru->ru_utime.tv_usec / 1e6 +
	       ru->ru_stime.tv_sec + ru->ru_stime.tv_usec / 1e6;
}

static void xfer(int fd, char *c, int write_it)
{
	ssize_t n = write_it ? write(fd, c, 1) : read(fd, c, 1);

	if (n != 1) {
		perror("ipc_pingpong");
		exit(1);
	}
}

int main(int argc, char **argv)
{
	long rounds = argc > 2 ? atol(argv[2]) : 20000, i;
	int use_pipe = argc > 1 && !strcmp(argv[1], "pipe");
	int to_child[2], to_parent[2], sv[2];
	struct rusage self0, self1, child;
	double start, wall;
	int status;
	char c = 'x';
	pid_t pid;

	if (argc > 3) {
		cpu_set_t set;

		CPU_ZERO(&set);
		CPU_SET(atoi(argv[3]), &set);
		if (sched_setaffinity(0, sizeof(set), &set))
			return perror("sched_setaffinity"), 1;
	}
	if (use_pipe) {
		if (pipe(to_child) || pipe(to_parent))
			return perror("pipe"), 1;
	} else {
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
			return perror("socketpair"), 1;
		to_child[0] = sv[1];
		to_child[1] = sv[0];
		to_parent[0] = sv[0];
		to_parent[1] = sv[1];
	}
	pid = fork();
	if (pid < 0)
		return perror("fork"), 1;
	if (pid == 0) {
		for (i = 0; i < rounds; i++) {
			xfer(to_child[0], &c, 0);
			xfer(to_parent[1], &c, 1);
		}
		_exit(0);
	}
	getrusage(RUSAGE_SELF, &self0);
	start = now();
	for (i = 0; i < rounds; i++) {
		xfer(to_child[1], &c, 1);
		xfer(to_parent[0], &c, 0);
	}
	wall = now() - start;
	getrusage(RUSAGE_SELF, &self1);
	if (wait4(pid, &status, 0, &child) != pid)
		return perror("wait4"), 1;
	/* the child's CPU before its loop (after fork) is negligible */
	printf("us_per_roundtrip=%.2f\ncpu_us_per_roundtrip=%.2f\n", wall * 1e6 / rounds,
	       (cpu_seconds(&self1) - cpu_seconds(&self0) + cpu_seconds(&child)) * 1e6 / rounds);
	return 0;
}
