/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Shared by probes.c (which probes, attaching them) and probe_links.c (a process's links). */
#ifndef IPCRACE_PROBES_INT_H
#define IPCRACE_PROBES_INT_H

#include <stdbool.h>
#include <sys/types.h>
#include <linux/types.h>
#include <bpf/libbpf.h>

#include "ipcrace.skel.h"
#include "probes.h"

struct link_closer;
struct file_memo;

struct file_id {
	dev_t dev;
	ino_t ino;
	int pid;		/* 0: every process */
};

/*
 * How a process's own uprobe_multi link was made, to make it again after a
 * pause (probes__pause_pid): NULL path for links of every process.
 */
struct multi_spec {
	struct bpf_program *prog;
	char *path;
	__u64 *offsets;
	__u64 *cookies;
	__u32 cnt;
	bool ret;
};

/* One uprobe_multi link: one program (entry or return) on one file. */
struct multi_link {
	int fd;			/* -1 while paused */
	int pid;		/* the process it is for, 0: every process */
	struct multi_spec spec;	/* how it was made (pid links only) */
};

struct probes {
	struct ipcrace_bpf *skel;
	struct probes_opts opts;
	bool multi;		/* uprobe_multi links instead of perf events */
	bool sessions;		/* lock_call is a session program (no return programs) */
	struct bpf_link **links;
	size_t nr_links;
	struct multi_link *mlinks;
	size_t nr_mlinks;
	__u64 closes_queued;	/* fds handed to closer so far */
	size_t paused;		/* ... of them by probes__pause_pid */
	struct link_closer *closer;	/* links of processes gone (probes__release_pid) */
	struct file_id *done;
	size_t nr_done;
	struct file_memo *plans;	/* each file's probes, worked out once (probes.c) */
	int *locks_armed;	/* processes whose mutex functions' probes are in place */
	size_t nr_locks_armed;
};

/* probe_links.c */
int probe_links__create(struct bpf_program *prog, const char *path, const __u64 *offsets,
			const __u64 *cookies, __u32 cnt, bool ret, int pid);
/* Keeps link fd (closed on failure: -ENOMEM); a pid link keeps how it was made. */
int probe_links__add(struct probes *p, int fd, int pid, struct bpf_program *prog,
		     const char *path, const __u64 *offsets, const __u64 *cookies, __u32 cnt,
		     bool ret);
/* Hands every open link to p->closer (which must exist) and forgets them all. */
void probe_links__to_closer(struct probes *p);
/* Forgets every link (their fds closed by the caller). */
void probe_links__free(struct probes *p);

/* probes.c: a process's lock calls go unrecorded from mark to end */
bool probes__arming_mark(struct probes *p, int pid);
void probes__arming_end(struct probes *p, int pid);

#endif
