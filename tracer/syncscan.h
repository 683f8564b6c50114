/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Code whose synchronization ipcrace cannot see (issue 8, analyzer/syncvis.h):
 * for each executable mapping a traced process gets, decides whether the
 * access probes cover it, and if not, counts the atomic instructions
 * (LOCK-prefixed, XCHG with memory) its code holds. A mapping of such code
 * with atomics becomes one EV_SYNC_UNSEEN event per process and file, in
 * the trace, so that the analyzer takes the process's races as candidates.
 *
 * Not counted: the C runtime (libc, the dynamic loader, libpthread, libstdc++
 * and friends: report__module_is_runtime), whose synchronization ipcrace sees
 * through its lock functions. Best effort: a file that cannot be read as ELF
 * counts as holding no atomics (counted in syncscan__unreadable). Each file
 * (device, inode) is decoded once per run.
 */
#ifndef IPCRACE_SYNCSCAN_H
#define IPCRACE_SYNCSCAN_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include "../analyzer/trace.h"

struct syncscan;

/* NULL + errno. */
struct syncscan *syncscan__new(void);
void syncscan__free(struct syncscan *sc);

/*
 * The atomic instructions of the file at path (the first's file offset in
 * *first_offset, and whether it is a program rather than a library in
 * *program). 0 when none or unreadable.
 */
size_t syncscan__file(struct syncscan *sc, const char *path, __u64 dev, __u64 ino,
		      __u64 *first_offset, bool *program);

/*
 * One executable mapping of m->pid: fills *ev with an EV_SYNC_UNSEEN and
 * returns true the first time this process maps a file with atomics the
 * access probes do not cover. covered: the access probes were attached to
 * this file for this process (an executable, or an --instrument library; not
 * when it was over the probe limit, say): what was asked is not what was done.
 */
bool syncscan__mapping(struct syncscan *sc, const struct trace_mapping *m, bool covered,
		       struct ipcrace_event *ev);

/* Was an EV_SYNC_UNSEEN made for pid (syncscan__mapping said true)? */
bool syncscan__pid_unseen(const struct syncscan *sc, __u32 pid);

/* Files decoded, and those that could not be read as ELF (-v). */
size_t syncscan__nr_files(const struct syncscan *sc);
size_t syncscan__unreadable(const struct syncscan *sc);

#endif /* IPCRACE_SYNCSCAN_H */
