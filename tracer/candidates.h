/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Which shared words are worth a debug register: words seen changing in
 * snapshots of the shared objects (the tracer maps each object read-only
 * itself and diffs it every tick, at no cost to the target), weighted by
 * how often they change, and the deterministic schedule that picks among
 * them (xorshift64* seeded by --seed: the same seed and the same candidate
 * list give the same picks).
 */
#ifndef IPCRACE_CANDIDATES_H
#define IPCRACE_CANDIDATES_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include "../bpf/events.h"

#define CANDIDATES_MAX 4096

struct candidate {
	struct ipcrace_key key;	/* KEY_FILE(dev, ino, offset) */
	__u32 len;
	__u32 changes;		/* times seen changing */
	__u32 picks;		/* times given a slot */
	__u32 __pad;
};

struct candidates;

struct candidates *candidates__new(void);
void candidates__free(struct candidates *cs);

/* Counts one change of the word; adds it if new (-ENOSPC when full). */
int candidates__bump(struct candidates *cs, const struct ipcrace_key *key, __u32 len);
size_t candidates__count(const struct candidates *cs);
const struct candidate *candidates__get(const struct candidates *cs, size_t i);

/* xorshift64*: no rand(), so a schedule is a function of the seed. */
struct watch_rng {
	__u64 state;
};

void watch_rng__seed(struct watch_rng *r, __u64 seed);
__u64 watch_rng__next(struct watch_rng *r);

/*
 * Picks a candidate not in busy[0..nr_busy), weighted by changes and
 * against the times already picked (so coverage grows over a run), and
 * counts the pick. Returns its index, or -ENOENT when none is free.
 */
int candidates__pick(struct candidates *cs, struct watch_rng *r,
		     const struct ipcrace_key *busy, size_t nr_busy);

/*
 * Snapshot differ: one read-only mapping of each shared object, compared
 * 8 bytes at a time with the previous copy. Bounded: at most
 * per_object_bytes of each object and total_bytes in all are scanned per
 * call; a cursor moves through larger objects so every page is sampled in
 * turn.
 */
struct snapshots;

struct snapshots *snapshots__new(size_t per_object_bytes, size_t total_bytes);
void snapshots__free(struct snapshots *ss);

/*
 * Maps [pgoff, pgoff + len) of the object (dev, ino) through fd (e.g.
 * /proc/PID/map_files/START-END) unless it is already mapped. 0 or -errno.
 */
int snapshots__add(struct snapshots *ss, __u64 dev, __u64 ino, __u64 pgoff, __u64 len, int fd);
bool snapshots__has(const struct snapshots *ss, __u64 dev, __u64 ino);

/* Diffs every object once; changed words go to cs. Returns words changed. */
long snapshots__diff(struct snapshots *ss, struct candidates *cs);

#endif /* IPCRACE_CANDIDATES_H */
