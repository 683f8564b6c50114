/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Closes BPF link descriptors in the background. Closing a uprobe_multi
 * link is nearly all waiting for grace periods (tens of milliseconds
 * each), so the links of a process that exited while ipcrace runs (attach
 * mode: a forking service makes about eight a child) are handed to a
 * thread of their own, which closes what it is given on several threads
 * at once, and the consumer of the ring buffer never waits for them.
 *
 * Best effort: when the thread cannot be started or the queue cannot grow,
 * a descriptor is closed on the spot (the caller then waits that once).
 */
#ifndef IPCRACE_LINK_CLOSER_H
#define IPCRACE_LINK_CLOSER_H

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

#endif /* IPCRACE_LINK_CLOSER_H */
