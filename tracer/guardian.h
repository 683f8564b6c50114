/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The guardian: a small process that outlives ipcrace, so that nothing
 * ipcrace (or its BPF programs) stopped stays stopped when ipcrace dies,
 * SIGKILL included. It is started before any BPF program is attached and
 * keeps three file descriptors only: its end of a socket whose other end
 * ipcrace holds, a duplicate of the arm_pending map (the list of stopped
 * processes, bpf/stops.h) and a pidfd of ipcrace. It keeps no BPF program,
 * link or perf event alive: probes and breakpoints still vanish with
 * ipcrace. When its socket reads end-of-file without the dismissal byte,
 * or ipcrace's main thread is seen exiting (every 100 ms: a killed ipcrace
 * keeps the socket open while the kernel releases its uprobe links), it
 * continues every process in the map, and keeps doing so until ipcrace is
 * gone entirely (its links released, so no new stop), lets stops in
 * flight settle, and continues what they published too, then exits.
 *
 * It is a grandchild reparented away from ipcrace (not its child: ipcrace
 * reaps its children and is their subreaper), in a session of its own
 * (Ctrl-C on the terminal does not reach it), and the OOM killer spares it.
 */
#ifndef IPCRACE_GUARDIAN_H
#define IPCRACE_GUARDIAN_H

#include <sys/types.h>

struct guardian {
	pid_t pid;		/* the guardian process, 0 when none */
	int sock;		/* ipcrace's end: closing it without dismissal = death */
};

/*
 * Starts the guardian over stops_map_fd; 0 once it is ready (it has closed
 * everything else), or a negative errno (one line printed). Call before
 * PR_SET_CHILD_SUBREAPER, so that it is reparented away from ipcrace.
 */
int guardian__start(struct guardian *g, int stops_map_fd);

/*
 * The normal end: nothing is stopped any more and no BPF program can stop
 * anything (they are detached); the guardian checks once and exits.
 * NULL-safe and idempotent.
 */
void guardian__dismiss(struct guardian *g);

#endif /* IPCRACE_GUARDIAN_H */
