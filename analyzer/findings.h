/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What the analyzer reports. Renderers in reports/ switch over
 * enum finding_kind without a default: a new kind must be handled in every
 * format (-Wswitch-enum).
 */
#ifndef IPCRACE_FINDINGS_H
#define IPCRACE_FINDINGS_H

#include <linux/types.h>
#include <stddef.h>
#include "../bpf/events.h"

enum finding_kind {
	FINDING_DATA_RACE,
	FINDING_LOCK_ORDER_INVERSION,
	FINDING_DOUBLE_LOCK,
	FINDING_UNLOCK_NOT_HELD,
	FINDING_LOCK_HELD_AT_EXIT,
};

/* A lock, channel or memory word, with one process's view of it. */
struct finding_object {
	struct ipcrace_key key;		/* process-independent identity */
	__u64 addr;			/* address in process pid */
	__u64 size;			/* bytes, for memory words */
	__u32 pid;
	__u16 obj;			/* enum ipcrace_obj_kind */
	__u16 __pad;
};

#define FINDING_MAX_LOCKS 8

/* One thread's part in a finding: who, where, holding what. */
struct finding_access {
	__u64 ts;
	__u64 stack_id;			/* trace stack id, 0 if none */
	__u64 ip;			/* exact ip for memory accesses, else 0 */
	__u32 pid;
	__u32 tid;
	__u32 flags;			/* EVF_READ / EVF_WRITE / EVF_ATOMIC */
	__u32 nr_locks;
	char comm[IPCRACE_COMM_LEN];
	struct finding_object locks_held[FINDING_MAX_LOCKS];
};

/* One edge of a lock-order cycle: `lock` was requested while holding `held`. */
struct finding_edge {
	struct finding_object lock;
	struct finding_object held;
	struct finding_access who;	/* the thread and stack of the request */
	__u64 held_stack_id;		/* where `held` had been acquired, 0 if unknown */
};

/*
 * Data races only (analyzer/syncvis.h). PREDICTED: happens-before found
 * the pair unordered in a run where every synchronization of both
 * processes was visible: reported even when this run's timing was
 * harmless. CANDIDATE: one of the processes synchronizes in ways ipcrace
 * cannot see (unseen says how): listed apart, not counted in the exit
 * status. CONFIRMED: a candidate whose conflict happened while the first
 * access was held (a confirmation hold): a data race.
 */
enum finding_status {
	FINDING_PREDICTED = 0,
	FINDING_CANDIDATE,
	FINDING_CONFIRMED,
};

/* What ipcrace could not see in a process (enum syncvis_why, analyzer/syncvis.h). */
struct finding_unseen {
	__u64 addr;			/* a code or data address in process pid */
	__u64 count;			/* atomic instructions (unprobed code), else 0 */
	__u64 ts;			/* when it was seen */
	__u32 why;			/* enum syncvis_why; 0: nothing unseen */
	__u32 pid;
};

struct finding {
	enum finding_kind kind;
	struct finding_object object;	/* the word or lock the finding is about */
	struct finding_access accesses[2];
	size_t nr_accesses;
	struct finding_edge *cycle;	/* lock-order inversion only */
	size_t nr_cycle;
	enum finding_status status;	/* data races; FINDING_PREDICTED for the others */
	struct finding_unseen unseen;	/* CANDIDATE and CONFIRMED: why it needed confirming */
};

struct findings {
	struct finding *items;
	size_t nr;
	size_t cap;
};

/* Appends a copy of f (cycle array is taken over). 0 or -ENOMEM. */
int findings__add(struct findings *fs, const struct finding *f);
void findings__clear(struct findings *fs);
const char *finding_kind__name(enum finding_kind k);

#endif /* IPCRACE_FINDINGS_H */
