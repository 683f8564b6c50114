/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * `ipcrace hang`: the wait-for graph of processes that are stuck now —
 * locks and IPC together — its cycles (deadlocks) and wait chains, with
 * stacks, read from outside without changing anything in them.
 */
#ifndef IPCRACE_HANG_CMD_H
#define IPCRACE_HANG_CMD_H

#include <stdbool.h>
#include <stddef.h>

/* What to examine (exactly one of pids, cgroup, unit, all) and how to report. */
struct hang_opts {
	const int *pids;
	size_t nr_pids;
	const char *cgroup;
	const char *unit;
	bool all;
	bool json;
	const char *output;		/* NULL: stdout */
	bool verbose;
};

/* Returns the exit status: 0 (no deadlock), 66 (a deadlock), 1, 2. */
int hang__run(const struct hang_opts *o);

#endif /* IPCRACE_HANG_CMD_H */
