// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <stdint.h>

#include "snapshots.h"

#define SNAP_OBJECTS_MAX 256

struct snap_object {
	__u64 dev;
	__u64 ino;
	__u64 pgoff;
	__u64 len;
	const __u64 *live;	/* our read-only shared mapping */
	__u64 *prev;		/* copy at the last scan */
	__u64 cursor;		/* byte offset where the next scan starts */
};

struct snapshots {
	struct snap_object objs[SNAP_OBJECTS_MAX];
	size_t nr;
	size_t per_object_bytes;
	size_t total_bytes;
	size_t next;		/* object the next diff starts with (fairness) */
};

struct snapshots *snapshots__new(size_t per_object_bytes, size_t total_bytes)
{
	struct snapshots *ss = calloc(1, sizeof(*ss));

	if (!ss) {
		errno = ENOMEM;
		return NULL;
	}
	ss->per_object_bytes = per_object_bytes & ~7UL;
	ss->total_bytes = total_bytes;
	return ss;
}

void snapshots__free(struct snapshots *ss)
{
	size_t i;

	if (!ss)
		return;
	for (i = 0; i < ss->nr; i++) {
		munmap((void *)ss->objs[i].live, ss->objs[i].len);
		free(ss->objs[i].prev);
	}
	free(ss);
}

bool snapshots__has(const struct snapshots *ss, __u64 dev, __u64 ino)
{
	for (size_t i = 0; i < ss->nr; i++)
		if (ss->objs[i].dev == dev && ss->objs[i].ino == ino)
			return true;
	return false;
}

int snapshots__add(struct snapshots *ss, __u64 dev, __u64 ino, __u64 pgoff, __u64 len, int fd)
{
	struct snap_object *o;
	void *live;

	if (snapshots__has(ss, dev, ino))
		return 0;
	if (ss->nr == SNAP_OBJECTS_MAX || !len)
		return -ENOSPC;
	live = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, pgoff);
	if (live == MAP_FAILED)
		return -errno;
	o = &ss->objs[ss->nr];
	o->prev = malloc(len);
	if (!o->prev) {
		munmap(live, len);
		return -ENOMEM;
	}
	memcpy(o->prev, live, len);
	o->dev = dev;
	o->ino = ino;
	o->pgoff = pgoff;
	o->len = len & ~7ULL;
	o->live = live;
	o->cursor = 0;
	ss->nr++;
	return 0;
}

/*
 * Words compared at once before they are looked at one by one: most of a
 * busy object is unchanged between two ticks, and memcmp over a run is
 * several times faster than a loop over its words.
 */
#define DIFF_RUN_WORDS 32

static long diff_object(struct snap_object *o, size_t budget, struct candidates *cs)
{
	struct ipcrace_key key = { .space = KEY_FILE, .a = o->dev, .b = o->ino };
	size_t words = o->len / 8, left = (budget < o->len ? budget : o->len) / 8, w;
	long changed = 0;

	if (!words)
		return 0;
	w = o->cursor / 8;
	while (left) {
		size_t run;

		if (w >= words)
			w = 0;
		run = words - w;
		if (run > left)
			run = left;
		if (run > DIFF_RUN_WORDS)
			run = DIFF_RUN_WORDS;
		if (memcmp((const void *)(o->live + w), o->prev + w, run * 8)) {
			for (size_t i = w; i < w + run; i++) {
				if (o->live[i] == o->prev[i])
					continue;
				o->prev[i] = o->live[i];
				key.c = o->pgoff + i * 8;
				candidates__bump(cs, &key, 8);
				changed++;
			}
		}
		w += run;
		left -= run;
	}
	o->cursor = w * 8;
	return changed;
}

long snapshots__diff(struct snapshots *ss, struct candidates *cs)
{
	size_t left = ss->total_bytes, k;
	long changed = 0;

	for (k = 0; k < ss->nr && left; k++) {
		struct snap_object *o = &ss->objs[(ss->next + k) % ss->nr];
		size_t n = ss->per_object_bytes < left ? ss->per_object_bytes : left;

		changed += diff_object(o, n, cs);
		left -= n < o->len ? n : o->len;
	}
	if (ss->nr)
		ss->next = (ss->next + 1) % ss->nr;
	return changed;
}
