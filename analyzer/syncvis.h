/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Synchronization visibility (issue 8, "confirm what cannot be proven"):
 * per process, is every synchronization it uses visible to ipcrace, and if
 * not, why. Visible: pthread and IPC calls (uprobes, syscalls) and the
 * atomics the access probes record. Not visible, decided from the trace:
 *
 * - SYNCVIS_UNPROBED_CODE: the tracer found atomic instructions in code
 *   the access probes do not cover (EV_SYNC_UNSEEN: a library not
 *   instrumented, the executable in attach mode);
 * - SYNCVIS_WATCHED_ATOMIC: a watchpoint hit decoded an atomic (LOCK, XCHG)
 *   on a word no access probe ever saw an atomic of that process touch:
 *   an atomic in code the probes do not see;
 * - SYNCVIS_FOREIGN_FUTEX: the process called futex on a word of shared
 *   memory that no lock ipcrace knows owns (hb__sync_word) and that no
 *   access probe saw it access: the slow path of a lock whose fast path
 *   ipcrace does not see.
 *
 * A data race between accesses of which one is made by such a process is
 * only a candidate (FINDING_CANDIDATE): the lock ipcrace cannot see may
 * order them. A candidate is confirmed (FINDING_CONFIRMED) when a
 * confirmation hold saw the conflict happen (syncvis__hold): while the
 * first access's thread was held at it, another thread accessed the word,
 * one of the two writing, which no lock held across the hold allows.
 * Races between processes whose synchronization is all visible stay
 * predictions (FINDING_PREDICTED): reported even when they did not manifest.
 *
 * Pure: fed events in stream order, keys already normalized (identity.h).
 * Memory: one entry per process, per futex word, and per (process, word)
 * an atomic touched or a probe saw accessed in shared memory; never per
 * event.
 */
#ifndef IPCRACE_SYNCVIS_H
#define IPCRACE_SYNCVIS_H

#include <linux/types.h>
#include <stdbool.h>
#include "findings.h"
#include "hb.h"

enum syncvis_why {
	SYNCVIS_VISIBLE = 0,
	SYNCVIS_UNPROBED_CODE,
	SYNCVIS_WATCHED_ATOMIC,
	SYNCVIS_FOREIGN_FUTEX,
	/*
	 * Not syncvis's: the race detector's (race.h, racedet__gap). A
	 * sampling gap of the process's lock probes (--overhead) lies between
	 * the two accesses; the pair is a candidate from the start and
	 * syncvis__classify leaves it so.
	 */
	SYNCVIS_SAMPLED,
};

struct syncvis;

/* NULL + errno. */
struct syncvis *syncvis__new(void);
void syncvis__free(struct syncvis *sv);

/*
 * Every event, once, in stream order (the detectors' pass): what each
 * process runs that ipcrace cannot see, the futex words and the shared
 * words the probes saw accessed, the holds. Order-independent: the
 * decision waits for syncvis__classify. 0 or a negative errno.
 */
int syncvis__note(struct syncvis *sv, const struct ipcrace_event *e);

/*
 * After the last event: decides the futex rule (hb: the atomic variables;
 * may be NULL), and sets the status of every data race in fs (others are left alone).
 * 0 or a negative errno.
 */
int syncvis__classify(struct syncvis *sv, const struct hb *hb, struct findings *fs);

/*
 * What pid cannot show (after syncvis__classify); false when all its
 * synchronization is visible. out may be NULL.
 */
bool syncvis__process_unseen(const struct syncvis *sv, __u32 pid, struct finding_unseen *out);

/* "atomic instructions in code the access probes do not cover"... */
const char *syncvis_why__describe(enum syncvis_why why);
/* "unprobed-code", "watched-atomic", "foreign-futex" (JSON, SARIF) */
const char *syncvis_why__name(enum syncvis_why why);

#endif /* IPCRACE_SYNCVIS_H */
