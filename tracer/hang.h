/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * `ipcrace hang`: the wait-for graph of processes that are stuck now —
 * locks and IPC together — its cycles (deadlocks) and wait chains, with
 * stacks, read from outside without changing anything in them.
 */
#ifndef IPCRACE_HANG_CMD_H
#define IPCRACE_HANG_CMD_H

/* argv[0] is "hang". Returns the exit status: 0, 66 (a deadlock), 1, 2. */
int hang__main(int argc, char **argv);

#endif /* IPCRACE_HANG_CMD_H */
