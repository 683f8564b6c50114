/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Private memory of threaded processes seen changing, for candidates.h. */
#ifndef IPCRACE_PRIVATE_SNAPSHOTS_H
#define IPCRACE_PRIVATE_SNAPSHOTS_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include "candidates.h"

/*
 * Private memory differ: the writable private regions of multi-threaded
 * processes (globals, heap: what the threads of one process share), read
 * with process_vm_readv into a copy and compared 8 bytes at a time; a
 * changed word is bumped as KEY_PRIVATE(pid, address). Bounded twice:
 * tick_bytes read per diff in all (a cursor goes round the regions, so
 * coverage of large ones grows over ticks) and kept_bytes of copies in all
 * (regions beyond it, in the order given, are not watched).
 */
struct private_range {
	__u64 start, end;
};

/* One line of /proc/PID/maps, as the region picker needs it. */
struct private_map {
	__u64 start, end, dev, ino;
	__u32 prot;			/* PROT_* */
	bool shared;			/* MAP_SHARED ('s' in the perms column) */
	const char *path;		/* "" anonymous, "[heap]", "[stack]", ... */
};

/*
 * The regions of one process worth diffing, most useful first: the
 * executable's writable segments (exe_dev, exe_ino) and the anonymous
 * mapping that continues its .bss, then [heap], then the other anonymous
 * private writable mappings. Skipped: stacks ([stack], and anonymous
 * mappings right above a small PROT_NONE guard, as thread stacks are),
 * libraries' data (their own locks order it, which a trace does not
 * see), shared mappings (the shared differ has them). Returns how many
 * were written to out (at most max).
 */
size_t private_regions__pick(const struct private_map *maps, size_t nr, __u64 exe_dev,
			     __u64 exe_ino, struct private_range *out, size_t max);

struct private_snapshots;

/* region_bytes: at most this much of one region is kept. NULL + errno. */
struct private_snapshots *private_snapshots__new(size_t tick_bytes, size_t kept_bytes,
						 size_t region_bytes);
void private_snapshots__free(struct private_snapshots *ps);

/*
 * Replaces the regions of pid (ranges in priority order, page-aligned).
 * The copy of a region that stays (same start) is kept, so a new mapping
 * elsewhere loses no history. 0 or -ENOMEM.
 */
int private_snapshots__set(struct private_snapshots *ps, __u32 pid,
			   const struct private_range *r, size_t nr);
void private_snapshots__drop(struct private_snapshots *ps, __u32 pid);
bool private_snapshots__has(const struct private_snapshots *ps, __u32 pid);

/*
 * Reads the next tick_bytes of the regions; words that changed since
 * their page was last read go to cs. A page read for the first time only
 * gives its copy. Returns words changed.
 */
long private_snapshots__diff(struct private_snapshots *ps, struct candidates *cs);

/* Bytes of copies kept (within kept_bytes). */
size_t private_snapshots__kept(const struct private_snapshots *ps);

#endif /* IPCRACE_PRIVATE_SNAPSHOTS_H */
