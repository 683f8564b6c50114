/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Data races on watched words (DESIGN.md, "Memory accesses"), FastTrack
 * style: per word, the last write and the reads since it, each as an epoch
 * of the happens-before order with who did it, where, holding what. Two
 * accesses to one word, at least one a write, from different threads, not
 * ordered by happens-before, race, even when this run's timing was
 * harmless. Two atomic (LOCK-prefixed, XCHG) accesses never race.
 *
 * Each race is reported once per word and unordered pair of code locations
 * (stack id, or ip when there is no stack). Cost per access: O(threads).
 */
#ifndef IPCRACE_RACE_H
#define IPCRACE_RACE_H

#include <stddef.h>
#include "findings.h"
#include "hb.h"

struct racedet;

/* hb is the order accesses are checked against; it must outlive rd. */
struct racedet *racedet__new(struct hb *hb);
void racedet__free(struct racedet *rd);

/*
 * Checks one EV_MEM_ACCESS (key = the word, addr, arg0 = ip, arg1 = size,
 * flags EVF_WRITE, else a read, EVF_ATOMIC) against the earlier accesses
 * to its word, appends a FINDING_DATA_RACE to out per new race, and
 * remembers it. locks_held: what the accessing thread holds (at most
 * FINDING_MAX_LOCKS are kept). The hb must have seen every event before
 * this one; calling hb__event for the access itself is allowed but not
 * needed. Other event types are ignored. 0 or a negative errno.
 */
int racedet__access(struct racedet *rd, const struct ipcrace_event *access_event,
		    const struct finding_object *locks_held, size_t nr_locks,
		    struct findings *out);

/*
 * Events were lost just before the next one (EVF_AFTER_LOSS): a lost
 * release or acquire could have ordered any earlier access before any later
 * one, so no access from before is ever compared with one from after.
 * Forgets every word's access history; findings already reported, their
 * deduplication, and the words counted by racedet__nr_words stay.
 */
void racedet__forget(struct racedet *rd);

/* Distinct words accessed so far. */
size_t racedet__nr_words(const struct racedet *rd);

#endif /* IPCRACE_RACE_H */
