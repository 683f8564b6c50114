/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Map layouts of the access probes, shared by bpf/access.bpf.c and the
 * tracer (tracer/access_plan.c decodes operands into them,
 * tracer/access_probes.c fills the maps). Like events.h: fixed-width types
 * only, included after vmlinux.h or <linux/types.h>.
 *
 * A probe is one uprobe at one instruction; its attach cookie is its id, an
 * index into access_ops. The operands it describes are evaluated from the
 * registers at the probe, before the instruction runs.
 */
#ifndef IPCRACE_ACCESS_MAPS_H
#define IPCRACE_ACCESS_MAPS_H

#include "events.h"

#define ACCESS_PROBES_MAX (1u << 17)	/* probes in one run, all files */
#define ACCESS_GROUPS_MAX 16384		/* detachable groups in one run */
#define ACCESS_OPS_MAX 2		/* operands evaluated at one probe */

/*
 * Registers, numbered as x86 encodes them plus one (0 is "none"); the BPF
 * side reads them from pt_regs.
 */
enum access_reg {
	AREG_NONE = 0,
	AREG_RAX, AREG_RCX, AREG_RDX, AREG_RBX, AREG_RSP, AREG_RBP, AREG_RSI, AREG_RDI,
	AREG_R8, AREG_R9, AREG_R10, AREG_R11, AREG_R12, AREG_R13, AREG_R14, AREG_R15,
	AREG_RIP,	/* rip-relative: the end of the accessing instruction */
};

enum access_seg {
	ASEG_NONE = 0,
	ASEG_FS,	/* thread-local storage: the thread's fsbase is added */
	ASEG_GS,
};

#define AOP_READ	(1u << 0)
#define AOP_WRITE	(1u << 1)
#define AOP_ATOMIC	(1u << 2)	/* LOCK prefix or XCHG with memory */
#define AOP_REP		(1u << 3)	/* rep string: size x rcx bytes, direction from DF */
/*
 * An rsp/rbp-based operand of a function that takes the address of its own
 * frame (it may share a local with another thread): recorded although it
 * is the thread's own stack, and it marks the stack range other own-stack
 * accesses are recorded in.
 */
#define AOP_FRAME	(1u << 4)
/*
 * A load whose address the next instruction still has (nothing jumps
 * there, the load writes none of its address registers): once it is seen
 * reading a word an atomic touched (an acquire), the tracer probes the
 * next instruction for it, and it is recorded there, after it ran.
 */
#define AOP_POSTABLE	(1u << 5)
/*
 * Such a load evaluated at the next instruction: recorded only when its
 * word is one an atomic touched (the probe at the load records the rest).
 */
#define AOP_POST	(1u << 6)
/*
 * A relaxed atomic (its source names only relaxed orders, tracer/memorder.h):
 * recorded as atomic, never a data race, ordering nothing.
 */
#define AOP_RELAXED	(1u << 7)
/*
 * The release half of an atomic RMW, evaluated before the RMW runs: at the
 * RMW itself when the kernel takes a probe there (XCHG), else at the
 * instruction before it when that one falls through to it, nothing else
 * reaches it and its address registers stay as they are. Recorded as
 * EV_ATOMIC_RELEASE; the RMW's access (with its acquire) is still recorded
 * after it ran. So a load that reads the RMW's value cannot come before
 * the RMW's release in the trace (it could when the RMW was recorded only
 * at the next instruction, a trap later). ip_delta/rip_delta point at the
 * RMW. Carries AOP_ATOMIC too.
 */
#define AOP_RELEASE	(1u << 8)
/*
 * A plain load or store whose source names an ordered atomic (acquire,
 * release, acq_rel, seq_cst: tracer/memorder.h): a C11 atomic compiled to a
 * plain move. Its word is one an atomic touched from its first run on, in
 * its process, whether or not that process ever runs an RMW of it (a flag
 * in shared memory that another process exchanges): recorded past the
 * budget, and a load after it ran when it has its probe after it.
 */
#define AOP_ORDERED	(1u << 9)

/* One memory operand: address = seg base + base + index * scale + disp. */
struct access_operand {
	__s32 disp;
	__u16 size;		/* bytes (per element for string instructions) */
	__u16 flags;		/* AOP_* */
	__u8 base;		/* enum access_reg */
	__u8 index;		/* enum access_reg, never AREG_RIP */
	__u8 scale;		/* 1, 2, 4, 8 */
	__u8 seg;		/* enum access_seg */
	/*
	 * The accessing instruction relative to the probe (0; minus the
	 * length of an atomic probed at the one after it; plus the length of
	 * the instruction before an atomic that carries its AOP_RELEASE)
	 * and its end (what rip-relative addressing adds to), relative to
	 * the probe too.
	 */
	__s8 ip_delta;
	__s8 rip_delta;
	__u8 __pad[2];
};

struct access_probe_desc {
	struct access_operand ops[ACCESS_OPS_MAX];
	__u32 nr_ops;
	__u32 group;		/* index into access_group_capped */
};

/* Per probe, all threads: traps so far (recorded or not). */
struct access_probe_hits {
	__u64 hits;
	__u64 threads_spent;	/* threads that used up their budget here (64 bits: BPF atomics) */
	/*
	 * Set once a plain access here touched a word some atomic of its
	 * process touched (a release store, an acquire load): its traps no
	 * longer count towards the cap.
	 */
	__u64 sync;
	__u64 post_asked;	/* an AOP_POSTABLE load here asked for its probe after it */
};

/* Requests for probes after acquire loads: (probe << 1 | operand) + 1. */
#define ACCESS_POST_REQS_MAX 4096


/* A word an atomic touched: its process and address / 8. */
struct access_atomic_word {
	__u32 tgid;
	__u32 __pad;
	__u64 word;
};

/* Budget state of one probe in one thread. */
struct access_budget_key {
	__u32 tid;
	__u32 probe;
};

struct access_budget {
	/*
	 * Its last atomic record: the address, and the ring's producer
	 * position at the end of that record (0 when not known exactly,
	 * bpf/common.bpf.h): the same atomic access again with nothing
	 * reserved or lost since is redundant.
	 */
	__u64 last_pos;
	__u64 last_addr;
	__u32 used;		/* hits that recorded a plain (non-atomic) access */
	__u32 __pad;
};

#endif /* IPCRACE_ACCESS_MAPS_H */
