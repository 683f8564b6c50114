/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Object identity (DESIGN.md, "Identity"): one process-independent key per
 * lock, word or channel, whatever address each process sees it at.
 *
 * BPF resolves most keys itself. When it could not (EVF_KEY_UNRESOLVED, or
 * KEY_NONE on an event that names an address), the key is rebuilt here from
 * the trace's mapping snapshots. Also: key comparison, hashing, and a small
 * key -> value map the detectors share.
 */
#ifndef IPCRACE_IDENTITY_H
#define IPCRACE_IDENTITY_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include "trace.h"

/*
 * Compares every field that names the object (space, a, b, c), never
 * __pad. Inline, without branches: the detectors compare keys on every
 * event.
 */
static inline bool ipcrace_key__equal(const struct ipcrace_key *x, const struct ipcrace_key *y)
{
	return !((x->a ^ y->a) | (x->b ^ y->b) | (x->c ^ y->c) | (__u64)(x->space ^ y->space));
}
/* A total order on keys (space, a, b, c): <0, 0, >0. */
int ipcrace_key__cmp(const struct ipcrace_key *x, const struct ipcrace_key *y);
__u64 ipcrace_key__hash(const struct ipcrace_key *k);

/* Mapping snapshots of a trace, indexed for address lookups. */
struct identity;

/* Indexes t's mappings; t must outlive the identity. NULL + errno on error. */
struct identity *identity__new(const struct trace *t);
void identity__free(struct identity *id);

/*
 * The key of the word at addr in process pid at time ts, from the snapshot
 * of pid's address space taken last at or before ts (or, when addr was
 * mapped after it, the first later snapshot holding addr). A MAP_SHARED
 * mapping of an inode gives KEY_FILE(dev, ino, pgoff + addr - start);
 * anything else KEY_PRIVATE(pid, addr). -ENOENT when no snapshot of pid
 * holds addr (out untouched).
 */
int identity__resolve(const struct identity *id, __u32 pid, __u64 addr, __u64 ts,
		      struct ipcrace_key *out);

/*
 * The key of the object event e names: BPF's key when it resolved one, else
 * identity__resolve(), else KEY_PRIVATE(pid, addr), which never merges
 * objects of two processes by mistake. KEY_NONE when e names no object,
 * or an object only BPF can name (file lock, SysV, channel) it did not.
 * id may be NULL (no mappings known).
 */
void identity__event_key(const struct identity *id, const struct ipcrace_event *e,
			 struct ipcrace_key *out);
/* Would identity__event_key() look e's object up in the mappings? */
bool identity__event_needs_mappings(const struct ipcrace_event *e);

/*
 * Open-addressing map from a key to a 64-bit value. Callers may use
 * synthetic keys (space KEY_NONE) for their own indexes, e.g. a thread id.
 */
struct keymap;

struct keymap *keymap__new(void);
void keymap__free(struct keymap *m);
/* true and *val set when k is present. */
bool keymap__get(const struct keymap *m, const struct ipcrace_key *k, __u64 *val);
/*
 * The value of k in place, NULL when k is absent: one lookup for a read
 * and a write. Valid until the next keymap__set() of a new key.
 */
__u64 *keymap__ref(struct keymap *m, const struct ipcrace_key *k);
/* Inserts or overwrites. 0 or -ENOMEM. */
int keymap__set(struct keymap *m, const struct ipcrace_key *k, __u64 val);
size_t keymap__size(const struct keymap *m);

#endif /* IPCRACE_IDENTITY_H */
