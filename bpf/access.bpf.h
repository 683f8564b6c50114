/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Per-thread state of the access probes, shared by bpf/access.bpf.c (which
 * writes it at every probe hit) and bpf/memory.bpf.c (which reads it when a
 * watched word is hit by an instruction a probe had the kernel run out of
 * line). __weak: both objects include it, the linker keeps one map.
 */
#ifndef IPCRACE_ACCESS_BPF_H
#define IPCRACE_ACCESS_BPF_H

#include "access_maps.h"

struct access_thread {
	__u64 vm_lo, vm_hi;	/* the mapping holding its stack pointer */
	__u64 own_hi;		/* own stack: [vm_lo, own_hi) */
	__u64 esc_lo, esc_hi;	/* touched by AOP_FRAME operands: recorded */
	/*
	 * The thread's last probe hit: the probed instruction, its end (frame
	 * 0 of an access's stack), and the bytes of each operand the probe
	 * recorded, or found redundant; [0, 0) when it did neither (budget
	 * spent, own stack). The instruction then runs out of line: a
	 * watchpoint hit on those bytes during that step is the same access.
	 */
	__u64 seen_ip, seen_end;
	__u64 seen_lo[ACCESS_OPS_MAX], seen_hi[ACCESS_OPS_MAX];
	/*
	 * Its last EV_ATOMIC_RELEASE: the word, and the ring's producer
	 * position at the end of its record (or of its RMW's record of that
	 * word; 0 when not known exactly, bpf/common.bpf.h): the same release
	 * again with nothing reserved or lost since changes no clock and is
	 * not recorded.
	 */
	__u64 rel_addr, rel_pos;
};

struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, struct access_thread);
} access_threads SEC(".maps") __weak;

#endif /* IPCRACE_ACCESS_BPF_H */
