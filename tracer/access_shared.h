/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The words the access probes saw shared: touched by two threads (of one
 * process, or of two processes for a shared object), at least one access
 * a write. They are what a race needs, and what the watchpoints should
 * hold once the probes' budgets are spent: each such word is reported
 * once, as the 8-byte-aligned word key the watcher uses. A word some
 * access updated atomically is an atomic variable: never reported.
 *
 * Bounded: at most ACCESS_SHARED_MAX words are tracked; past that new
 * words are counted, not tracked.
 */
#ifndef IPCRACE_ACCESS_SHARED_H
#define IPCRACE_ACCESS_SHARED_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include "../bpf/events.h"

#define ACCESS_SHARED_MAX (1u << 16)

struct access_shared;

struct access_shared *access_shared__new(void);
void access_shared__free(struct access_shared *as);

/*
 * Notes one EV_MEM_ACCESS from an access probe (others are ignored).
 * Returns true once per word, when it first becomes shared and written,
 * with its word key (KEY_FILE offset or KEY_PRIVATE address rounded down
 * to 8) in *word.
 */
bool access_shared__note(struct access_shared *as, const struct ipcrace_event *e,
			 struct ipcrace_key *word);

/*
 * The same for watchpoint hits (EV_MEM_ACCESS without EVF_PROBE; others
 * are ignored), in a set of their own: the words the watchpoints saw
 * shared, which confirmation holds take too (a thread whose probe spent its
 * budget, or was detached, is seen by the watchpoints only).
 */
bool access_shared__note_hit(struct access_shared *as, const struct ipcrace_event *e,
			     struct ipcrace_key *word);

/* Words tracked, and words that did not fit. */
size_t access_shared__count(const struct access_shared *as);
size_t access_shared__untracked(const struct access_shared *as);

#endif /* IPCRACE_ACCESS_SHARED_H */
