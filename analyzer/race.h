/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Data races (DESIGN.md, "Memory accesses"), FastTrack style at byte
 * granularity: per 8-byte word, the plain writes not yet covered by a
 * later one and the reads since, each as an epoch of the happens-before
 * order with the bytes it covers, who did it, where, holding what. Two
 * accesses that share a byte, at least one a write, from different
 * threads, not ordered by happens-before, race, even when this run's
 * timing was harmless; neighbouring bytes of one word are not shared.
 * Accesses to atomic variables (hb.h: an atomic RMW, or a plain access to
 * a variable known atomic) and to lock objects are synchronization and
 * never race.
 *
 * Each race is reported once per pair of code locations (stack id, or ip
 * when there is no stack) and word the access starts in. Cost per access:
 * one lookup per word it spans, and a scan of that word's kept accesses
 * (one per thread and byte range at most, fewer once ordered); the locks
 * held are interned, not copied.
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
 * Checks one EV_MEM_ACCESS (key = its first byte, addr, arg0 = ip, arg1 =
 * size in bytes, flags EVF_WRITE, else a read, EVF_ATOMIC) against the
 * earlier accesses to the bytes it covers, appends a FINDING_DATA_RACE to out per new race, and
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

/*
 * An edge of a sampling gap (EV_LOCK_GAP: begin or end) of process pid, or
 * its end by the process's exit (EV_EXIT, EVF_GROUP_DEAD). A lock call of
 * pid in a gap is unseen, and through it any two accesses that a gap
 * overlaps may be ordered: the unseen release may be that of any earlier
 * access's thread (to a lock pid then takes), the unseen acquisition that
 * of any later one's. So a race whose first access came before a gap edge
 * that precedes the second, or while a gap of any process is open, is
 * FINDING_CANDIDATE (unseen.why SYNCVIS_SAMPLED, unseen.pid the gap's
 * process, unseen.ts its latest edge), never a finding; if the same pair
 * of code locations races later with no gap between, it becomes one.
 * Histories stay: a pair inside one window is compared as usual.
 * 0 or -ENOMEM.
 */
int racedet__gap(struct racedet *rd, const struct ipcrace_event *e);

/* Distinct words accessed so far. */
size_t racedet__nr_words(const struct racedet *rd);

/* Accesses wider than 4096 bytes, checked on their first 4096 only. */
size_t racedet__truncated(const struct racedet *rd);

#endif /* IPCRACE_RACE_H */
