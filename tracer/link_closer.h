/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Closes BPF link descriptors in the background, in a process of its own
 * (ipcrace-detach). Closing a uprobe_multi link is nearly all waiting for
 * grace periods (tens of milliseconds each), so the links of a process
 * that exited while ipcrace runs (attach mode: a forking service makes
 * about eight a child), of access-probe groups detached, and all of them
 * at the end are handed over (SCM_RIGHTS) to a process that closes what it
 * is given on several threads at once: the consumer of the ring buffer
 * never waits for them, and ipcrace killed (SIGKILL) in the middle of it
 * no longer leaves uprobes behind: the kernel gives up a link's unregister
 * when the closing task has SIGKILL pending ("failed to unregister, leaking
 * uprobe"), and their breakpoints then stay in the traced processes. The
 * closer ignores every signal it can and leaves ipcrace's session.
 *
 * Best effort: when the process cannot be started or a descriptor cannot
 * be sent, it is closed on the spot (the caller then waits that once).
 */
#ifndef IPCRACE_LINK_CLOSER_H
#define IPCRACE_LINK_CLOSER_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>

struct link_closer;

/* NULL + errno. */
struct link_closer *link_closer__new(void);
/* Queues fd to be closed (the closer owns it from now on). */
void link_closer__close(struct link_closer *c, int fd);
/* Descriptors closed so far (for -v). */
size_t link_closer__closed(struct link_closer *c);
/* Time spent closing so far, in milliseconds (for -v). */
double link_closer__busy_ms(struct link_closer *c);
/* Closes everything still queued, waits for it, frees. NULL-safe. */
void link_closer__free(struct link_closer *c);
/* The same without waiting: the closer process finishes alone. NULL-safe. */
void link_closer__release(struct link_closer *c);
/*
 * Has the closer process create a uprobe_multi link (uprobe_multi.h) and
 * hand it over: the kernel registers the probes there, where no SIGKILL of
 * ipcrace can interrupt them (an interrupted registration's rollback leaks
 * the probes, as an interrupted close does). The link fd, a negative errno
 * of the kernel's, or -EPIPE when the closer could not be asked (the caller
 * then attaches itself).
 */
int link_closer__attach(struct link_closer *c, int prog_fd, __u32 attach_type, const char *path,
			const __u64 *offsets, const __u64 *cookies, __u32 cnt, bool ret, int pid);
/* The process's closer for attaches, started at the first call; never freed. */
struct link_closer *link_closer__shared(void);

#endif /* IPCRACE_LINK_CLOSER_H */
