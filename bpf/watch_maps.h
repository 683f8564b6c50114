/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Map layouts of the memory watcher, shared by bpf/memory.bpf.c and
 * tracer/watch.c (one definition, so they cannot drift). Like events.h:
 * fixed-width types only, included after vmlinux.h or <linux/types.h>.
 */
#ifndef IPCRACE_WATCH_MAPS_H
#define IPCRACE_WATCH_MAPS_H

#include "events.h"
#include "stops.h"

/* A breakpoint as armed: the process and its own address of the word. */
struct watch_addr {
	__u32 pid;
	__u32 __pad;
	__u64 addr;
};

/*
 * What userspace armed at that address: the word's identity (known when
 * arming, from the mapping records) and length. Looking the key up in BPF
 * instead of bpf_find_vma() halves the cost of a hit: find_vma in the #DB
 * handler (interrupts off) defers its mmap unlock to an irq_work.
 */
struct watch_info {
	struct ipcrace_key key;
	__u32 len;
	__u32 budget;		/* hits recorded until userspace resets the count */
};

/* Hits of one word since userspace last reset it (rotation, rate cap). */
struct word_count {
	__u64 hits;		/* traps, recorded or not */
	__u64 capped;		/* userspace was told to park it (64 bits: BPF's compare-and-swap) */
	__u32 owner;		/* the first thread that trapped on it */
	__u32 others;		/* hits recorded from other threads */
	/* the last recorded hit: a spin on the word repeats it (bpf/memory.bpf.c) */
	__u32 last_tid;
	__u32 __pad;
	__u64 last_ip;
	__u64 last_pos;		/* its record's end in the ring, 0 if not exact (bpf/common.bpf.h) */
};

#endif /* IPCRACE_WATCH_MAPS_H */
