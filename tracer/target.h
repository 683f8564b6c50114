/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The traced command: created stopped (blocked before exec) so every probe
 * is in place before its first instruction, then released.
 */
#ifndef IPCRACE_TARGET_H
#define IPCRACE_TARGET_H

#include <sys/types.h>

struct target {
	pid_t pid;
	int release_fd;		/* write end of the pipe the child waits on */
	char exe[4096];		/* resolved executable path */
};

/*
 * Forks the child that will exec argv; it waits for target__release. Makes
 * the caller a child subreaper, so orphaned descendants are still reaped here.
 * Returns 0 or a negative errno (one line printed).
 */
int target__spawn(struct target *t, char *const argv[]);

/* Lets the child exec; 0 or a negative errno. */
int target__release(struct target *t);

/* Kills the child (the setup failed before release). */
void target__abort(struct target *t);

#endif /* IPCRACE_TARGET_H */
