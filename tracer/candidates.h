/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Which words are worth a debug register: words seen changing in snapshots
 * of the shared objects (the tracer maps each object read-only itself and
 * diffs it every tick, at no cost to the target) and of the writable
 * private memory of multi-threaded processes (read with process_vm_readv,
 * which does not stop the target either), weighted by how often they
 * change, and the deterministic schedule that picks among them
 * (xorshift64* seeded by --seed: the same seed and the same candidate list
 * give the same picks). The differs that feed it are snapshots.h (shared
 * objects) and private_snapshots.h (private memory).
 */
#ifndef IPCRACE_CANDIDATES_H
#define IPCRACE_CANDIDATES_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include "../bpf/events.h"

#define CANDIDATES_MAX 4096
/*
 * Private words may fill at most half the list: one busy heap must not
 * leave no room for the shared words of the processes around it.
 */
#define CANDIDATES_PRIVATE_MAX (CANDIDATES_MAX / 2)
/* Words of lock objects remembered as never candidates, at most. */
#define CANDIDATES_EXCLUDED_MAX (1u << 16)

struct candidate {
	struct ipcrace_key key;	/* KEY_FILE(dev, ino, offset) or KEY_PRIVATE(pid, addr) */
	__u32 len;
	__u32 changes;		/* times seen changing */
	__u32 picks;		/* times given a slot */
	__u32 writer;		/* first process a breakpoint saw writing it, 0: none */
	bool multi_writer;	/* ... and another process wrote it too */
};

struct candidates;

struct candidates *candidates__new(void);
void candidates__free(struct candidates *cs);

/*
 * Counts one change of the word; adds it if new (-ENOSPC when full, or
 * when a private word would pass CANDIDATES_PRIVATE_MAX). A word of a
 * lock object (candidates__exclude) is ignored: 0, nothing added.
 */
int candidates__bump(struct candidates *cs, const struct ipcrace_key *key, __u32 len);
/*
 * A word worth a slot before any snapshot saw it change (the first words
 * of a new shared mapping, a global of a program just started): added
 * with no change counted, so it weighs less in the schedule than any word
 * seen changing, and its pick counted, as the caller arms it at once.
 * Returns its index; -EPERM for a word of a lock object, -ENOSPC when
 * the list is full.
 */
int candidates__guess(struct candidates *cs, const struct ipcrace_key *key, __u32 len);
/*
 * A word the access probes saw touched by two threads, one writing: added
 * if new, and weighted as the most changing words are, so the rotation
 * gives it a slot ahead of words only snapshots saw (for the accesses the
 * probes no longer record once their budgets are spent). 0, or -EPERM
 * for a word of a lock object, -ENOSPC when the list is full.
 */
int candidates__promote(struct candidates *cs, const struct ipcrace_key *key, __u32 len);
/*
 * Drops the word unless a snapshot saw it change (a guess that lost its
 * bet comes back only when it does); the others keep their order.
 */
void candidates__drop_unchanged(struct candidates *cs, const struct ipcrace_key *key);
size_t candidates__count(const struct candidates *cs);
const struct candidate *candidates__get(const struct candidates *cs, size_t i);

/*
 * Drops the private words of pid (it exited or exec'd: the addresses mean
 * nothing any more), and its private lock objects. The others keep their
 * order.
 */
void candidates__forget_pid(struct candidates *cs, __u32 pid);

/*
 * A lock object of size bytes at obj (KEY_FILE: offset c in the object;
 * KEY_PRIVATE: address b), as lock events name it: the lock library writes
 * its words on every acquire and release, so they change more than any
 * data and would win the slots, while the analyzer discards accesses to
 * them (hb__sync_word). Its 8-byte words are never candidates from now on,
 * and those in the list leave it (the others keep their order). Returns
 * true when a word was newly excluded (a slot holding one should move on),
 * false when the object was known already, its key is neither KEY_FILE nor
 * KEY_PRIVATE, or size is 0.
 */
bool candidates__exclude(struct candidates *cs, const struct ipcrace_key *obj, __u64 size);
/* Is the 8-byte word holding this key's byte part of an excluded lock object? */
bool candidates__excluded(const struct candidates *cs, const struct ipcrace_key *word);

/*
 * A breakpoint saw process pid write the word (8-byte word of key): a
 * shared word two processes write is what a cross-process race needs, the
 * best word to learn (--learn). A word not in the list is added with no
 * change counted; lock words are ignored.
 */
void candidates__note_write(struct candidates *cs, const struct ipcrace_key *key, __u32 pid);

/*
 * The words of one key space (KEY_FILE, or KEY_PRIVATE of process pid),
 * best first for learning: written by more than one process first, then
 * by changes; equal ones keep their order in the list. Writes their
 * indices to out (room for candidates__count) and returns how many.
 */
size_t candidates__rank(const struct candidates *cs, __u32 space, __u32 pid, size_t *out);

/* xorshift64*: no rand(), so a schedule is a function of the seed. */
struct watch_rng {
	__u64 state;
};

void watch_rng__seed(struct watch_rng *r, __u64 seed);
__u64 watch_rng__next(struct watch_rng *r);

/*
 * Picks a candidate not in busy[0..nr_busy), weighted by changes and
 * against the times already picked (so coverage grows over a run), and
 * counts the pick. When both shared and private words are free, a first
 * draw chooses between the two kinds evenly, so neither starves the other
 * however many words it has. Returns its index, or -ENOENT when none is
 * free.
 */
int candidates__pick(struct candidates *cs, struct watch_rng *r,
		     const struct ipcrace_key *busy, size_t nr_busy);

#endif /* IPCRACE_CANDIDATES_H */
