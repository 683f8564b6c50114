/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The access-probe driver: plans the traced executables (and the libraries
 * named with --instrument) with access_plan, attaches bpf/access.bpf.c at
 * every planned instruction in groups (one uprobe_multi link each, split
 * when the kernel refuses an instruction), and detaches a group once BPF
 * flags it spent, so a hot loop stops trapping.
 *
 * Best effort: a file that cannot be planned, an instruction the kernel
 * refuses, a group that cannot be attached are counted (-v shows how many
 * and why) and the run goes on with the watchpoints alone for them.
 */
#ifndef IPCRACE_ACCESS_PROBES_H
#define IPCRACE_ACCESS_PROBES_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>

#define ACCESS_INSTRUMENT_MAX 16
#define ACCESS_BUDGET_DEFAULT 64
#define ACCESS_TRAP_CAP_DEFAULT 1024

struct ipcrace_bpf;

struct access_opts {
	bool enabled;
	__u32 budget;			/* accesses recorded per instruction and thread */
	__u32 trap_cap;			/* traps of one instruction before its group goes */
	const char *instrument[ACCESS_INSTRUMENT_MAX];	/* --instrument LIB */
	size_t nr_instrument;
	bool verbose;
};

struct access_probes;

/* Before the skeleton is loaded: the budgets BPF reads as constants. */
void access_probes__configure(struct ipcrace_bpf *skel, const struct access_opts *opts);

/* After load. NULL + errno; the caller goes on without access probes. */
struct access_probes *access_probes__new(struct ipcrace_bpf *skel, const struct access_opts *opts);
void access_probes__free(struct access_probes *ap);

/*
 * Plans (once per build-id) and attaches the file, for process pid only
 * (0: every process that maps it). A file already attached is skipped.
 * Returns the number of instructions probed, or a negative errno (the file
 * is not ELF, or nothing could be attached).
 */
int access_probes__attach_file(struct access_probes *ap, const char *path, int pid);

/*
 * Is path a library --instrument names (its full path, or a file name
 * that is its basename or the basename's prefix up to ".so")?
 * libc and the dynamic loader never are.
 */
bool access_probes__instruments(const struct access_probes *ap, const char *path);

/*
 * Did the file (dev, ino) get access probes for process pid (its own, or
 * the traced tree's)? Not when it was over the run's probe limit, could
 * not be planned, or the kernel refused every probe.
 */
bool access_probes__covers(const struct access_probes *ap, __u64 dev, __u64 ino, __u32 pid);

/* Detaches the groups BPF flagged spent. One memory read when none: call it often. */
void access_probes__check_caps(struct access_probes *ap);

/* -v: probed, refused by the kernel and why, detached, recorded. */
void access_probes__print_stats(const struct access_probes *ap);

#endif /* IPCRACE_ACCESS_PROBES_H */
