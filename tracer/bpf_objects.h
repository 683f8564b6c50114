/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The tracer's BPF, as two objects sharing their maps: the syscall
 * programs (sys_enter, sys_exit: about a quarter of all verification time) and
 * everything else. Both are verified at once, on two threads, so a check's
 * fixed cost pays the longer of the two, not their sum; the maps both use
 * are created once, before, and handed to each (bpf_map__reuse_fd).
 */
#ifndef IPCRACE_BPF_OBJECTS_H
#define IPCRACE_BPF_OBJECTS_H

#include <stdbool.h>
#include <linux/types.h>
#include "kernel_btf.h"

struct ipcrace_bpf;
struct ipcrace_sys_bpf;

struct bpf_objects_opts {
	__u64 ring_bytes;		/* the events ring buffer */
	__u32 ustack_bytes;		/* stack snapshot size, 0: frame pointers only */
	__u64 cgroup_id;		/* --cgroup/--unit, 0 if none */
	__u32 self_tgid;		/* ipcrace itself, never traced */
	bool ipc_stacks;		/* channel events carry a stack */
};

struct bpf_objects {
	struct ipcrace_bpf *skel;	/* locks, memory, processes, stops */
	struct ipcrace_sys_bpf *sys;	/* raw syscall tracepoints */
	struct kernel_btf btf;		/* for CO-RE, from open to load */
	bool direct_loads;		/* sys_enter, not sys_enter_probe (bpf/chan_direct.bpf.h) */
};

/* Opens both objects and sets their read-only data. 0 or -errno, said in one line. */
int bpf_objects__open(struct bpf_objects *o, const struct bpf_objects_opts *opts);
/*
 * Creates the shared maps, then verifies and loads both objects in
 * parallel. 0 or -errno; a program the kernel refused is named in one line.
 */
int bpf_objects__load(struct bpf_objects *o);
/* Attaches the raw tracepoints of both. 0 or -errno, said in one line. */
int bpf_objects__attach(struct bpf_objects *o);
void bpf_objects__destroy(struct bpf_objects *o);

#endif /* IPCRACE_BPF_OBJECTS_H */
