/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The flight recorder (record --flight SIZE): the last SIZE bytes of
 * records in memory, overwriting the oldest, plus the state a window
 * needs to be read on its own, kept beside the ring and refreshed as it
 * goes (a continuous checkpoint):
 *
 *   - every process record (the latest per pid): threads and names;
 *   - mapping snapshots: per pid the one in effect at the window's start
 *     and every later one (older ones are pruned as the window moves);
 *   - every stack record (the kernel sends a stack once, the first time it
 *     is seen, so a stack cannot live in the ring), up to FLIGHT_STACKS_MAX,
 *     and every stack snapshot of --call-graph dwarf (the default: its
 *     registers and stack bytes, sent once too), up to
 *     FLIGHT_USTACK_BYTES_MAX bytes.
 *
 * Locks held at the window's start are not carried: the first event of a
 * window carries EVF_AFTER_LOSS, so the analyzer treats what it holds as
 * unknown (no unlock-not-held or double lock from before the window, no
 * lock-order edge from a lock taken before it) instead of inventing.
 *
 * Memory: SIZE for the ring, plus at most FLIGHT_STACKS_MAX stacks
 * (280 bytes at worst each), FLIGHT_PROCESSES_MAX process records (296
 * bytes), FLIGHT_MAPPINGS_MAX mapping records (344 bytes) and
 * FLIGHT_USTACK_BYTES_MAX of snapshots (8 KiB and 100 bytes each with the
 * default --call-graph dwarf: one per call site); what does
 * not fit is counted. CPU: one memcpy per record (no checksum, no write)
 * until a window is written.
 */
#ifndef IPCRACE_FLIGHT_H
#define IPCRACE_FLIGHT_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "../analyzer/trace.h"

#define FLIGHT_MIN_BYTES	(64u * 1024u)
#define FLIGHT_STACKS_MAX	16384u
#define FLIGHT_PROCESSES_MAX	16384u
#define FLIGHT_MAPPINGS_MAX	65536u
#define FLIGHT_USTACK_BYTES_MAX	(64u << 20)	/* stack snapshots (--call-graph dwarf) */

struct flight;
struct trace_writer;

/* A ring of bytes bytes (rounded down to 8, at least FLIGHT_MIN_BYTES). NULL + errno. */
struct flight *flight__new(size_t bytes);
void flight__free(struct flight *f);

/* Keeps one record (analyzer/trace_format.h type and data). 0 or -errno. */
int flight__add(struct flight *f, __u16 type, const void *data, size_t len);

/*
 * True once a traced process died of SIGSEGV, SIGABRT or SIGBUS since the
 * last call (its pid and signal in *pid, *sig): time to write a window.
 */
bool flight__take_crash(struct flight *f, __u32 *pid, int *sig);

/*
 * Writes the window to out (a fresh writer): the kept state, then the
 * ring, the first event flagged EVF_AFTER_LOSS when anything was
 * overwritten, then footer (its window fields filled in). Closes out.
 */
int flight__write(const struct flight *f, struct trace_writer *out,
		  const struct trace_footer *footer);

/* Bytes of memory held (ring and state), for -v and the README's figures. */
size_t flight__memory(const struct flight *f);

#endif /* IPCRACE_FLIGHT_H */
