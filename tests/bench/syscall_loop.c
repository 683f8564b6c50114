// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Benchmark workload: N system calls in a tight loop, to measure what a
 * raw syscall tracepoint program costs each call. "getppid" is a syscall
 * ipcrace ignores (its programs only test whether the caller is traced);
 * "read" reads one byte of /dev/zero, a syscall ipcrace looks at (an IPC
 * candidate: for a traced process it names the fd's file, not a channel).
 * Prints "ns_per_call=<float>" (CPU time of the loop).
 * Usage: syscall_loop getppid|read [calls]   (default 1000000)
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* CPU time of this thread: the programs run in its context, and time other
 * work on the machine takes from it does not count */
static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	long calls = argc > 2 ? atol(argv[2]) : 1000000, i;
	int use_read = argc > 1 && !strcmp(argv[1], "read");
	int fd = open("/dev/zero", O_RDONLY);
	double start;
	char c;

	if (fd < 0)
		return perror("/dev/zero"), 1;
	start = now();
	for (i = 0; i < calls; i++) {
		if (use_read) {
			if (read(fd, &c, 1) != 1)
				return perror("read"), 1;
		} else {
			syscall(SYS_getppid);
		}
	}
	printf("ns_per_call=%.1f\n", (now() - start) * 1e9 / calls);
	return 0;
}
