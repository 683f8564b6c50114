/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Uprobes on the synchronization functions of one ELF file (libc, an older
 * libpthread, or a statically linked executable), attached by file offset.
 */
#ifndef IPCRACE_PROBES_H
#define IPCRACE_PROBES_H

#include <stdbool.h>
#include <sys/types.h>

struct ipcrace_bpf;
struct probes;

enum probe_site_mode {
	PROBE_SITE_AUTO,	/* first emulated instruction when safe */
	PROBE_SITE_ENTRY,	/* always the function's first instruction */
};

struct probes_opts {
	enum probe_site_mode site;
	bool bare;		/* attach an empty program instead (benchmarks) */
	bool verbose;
	bool multi;		/* probes__prepare() returned true */
};

/*
 * Before the skeleton is loaded: selects uprobe_multi links when the kernel
 * has them (the programs must be loaded for that attach type). Returns
 * whether it did; pass that as probes_opts.multi.
 */
bool probes__prepare(struct ipcrace_bpf *skel);

struct probes *probes__new(struct ipcrace_bpf *skel, const struct probes_opts *opts);
void probes__free(struct probes *p);

/*
 * For probes nobody else can trap on (private copies of a tree that has
 * exited): the same, but the uprobe_multi links are closed by a child
 * process ipcrace does not wait for, which holds nothing else, so ipcrace
 * exits without waiting for the kernel's grace periods (0.1-0.2 s here).
 * Perf-event uprobes, or a failed fork: probes__free.
 */
void probes__free_lazily(struct probes *p);

/*
 * Attaches every known function `path` defines, once per file. Returns the
 * number of functions attached (0: the file has none, or was done before),
 * or a negative errno with a one-line message printed.
 */
int probes__attach_file(struct probes *p, const char *path);

/*
 * The same for a file reached through another path (a private copy as
 * /proc/self/fd/N): messages name it `name`.
 */
int probes__attach_file_as(struct probes *p, const char *path, const char *name);

/*
 * The same, for one process only (its threads included): the kernel puts
 * the breakpoints in that process alone, so the rest of the host pays
 * nothing. Its future children need their own call (they are not covered).
 */
int probes__attach_file_pid(struct probes *p, const char *path, int pid);
/*
 * pid exited: its own links (probes__attach_file_pid) are closed in the
 * background (tracer/link_closer.h), and a process that gets the pid later
 * is probed again. Returns how many links were let go. uprobe_multi links
 * only: perf-event uprobes (before Linux 6.6) stay until probes__free.
 */
int probes__release_pid(struct probes *p, int pid);
/*
 * Sampling (tracer/lock_sampler.h): pid's own links are closed (in the
 * background, as by probes__release_pid) but remembered, and
 * probes__resume_pid makes them again from what was kept. Returns how many
 * were paused (0: pid has no links of its own, e.g. a command's tree,
 * probed per file), and in *settled a mark for probes__pause_settled.
 */
int probes__pause_pid(struct probes *p, int pid, __u64 *settled);
/*
 * Have the closes of a pause (its *settled) all completed? Until then a
 * paused link may still fire, and a resumed one would record every call
 * twice: resume only after.
 */
bool probes__pause_settled(struct probes *p, __u64 settled);
/*
 * Makes pid's paused links again, with its lock calls unrecorded until all
 * are in place (bpf/locks.bpf.c, lock_arming). The number made, or a
 * negative errno when none could be (a message printed, but for a process
 * gone).
 */
int probes__resume_pid(struct probes *p, int pid);
/* Links of exited processes closed so far (for -v). */
size_t probes__released(const struct probes *p);

/* True when path defines pthread_mutex_lock (it is worth attaching). */
bool probes__file_has_locks(const char *path);

#endif /* IPCRACE_PROBES_H */
