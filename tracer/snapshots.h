/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Shared objects seen changing, for the candidate list (candidates.h). */
#ifndef IPCRACE_SNAPSHOTS_H
#define IPCRACE_SNAPSHOTS_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include "candidates.h"

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

#endif /* IPCRACE_SNAPSHOTS_H */
