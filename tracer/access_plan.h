/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The access-probe planner: text -> probe sites (DESIGN.md, "Memory
 * accesses: observed, not instrumented"). Decodes the executable code of
 * an ELF file with capstone, function by function, and plans a uprobe at
 * every instruction with a memory operand that is not plainly the thread's
 * own stack, with each operand decoded for the BPF side (base, index,
 * scale, displacement, segment, size, read/write, rip-relative end).
 *
 * Not planned, counted by reason: rsp-based operands (and rbp-based ones
 * in functions that keep a frame pointer), unless the function takes the
 * address of its own frame (then they may be a local shared with another
 * thread, and are planned as AOP_FRAME); lea, nop, prefetch and cache
 * hints (no access); indirect branches through memory; gather/scatter
 * (vector index registers). The kernel refuses uprobes on LOCK-prefixed
 * instructions: their operands are evaluated at the next instruction
 * instead when that is safe (it is no branch target and the atomic writes
 * no register the address uses), flagged AOP_ATOMIC.
 *
 * Pure: no kernel, no libbpf; unit-tested on instruction bytes.
 */
#ifndef IPCRACE_ACCESS_PLAN_H
#define IPCRACE_ACCESS_PLAN_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include "../bpf/access_maps.h"

/* Probes per detachable group (a function's probes, split when longer). */
#define ACCESS_GROUP_SITES 128

enum access_skip {
	ASKIP_STACK,		/* the thread's own stack (rsp, or rbp with a frame pointer) */
	ASKIP_BRANCH,		/* indirect call or jump through memory */
	ASKIP_ATOMIC_NEXT,	/* LOCK-prefixed, and the next instruction is no safe probe */
	ASKIP_VSIB,		/* gather / scatter: a vector of addresses */
	ASKIP_ADDRESSING,	/* 32-bit or otherwise unusual address registers */
	ASKIP_TOO_MANY,		/* more operands than one probe evaluates */
	ASKIP_UNDECODABLE,	/* bytes capstone cannot decode (skipped one by one) */
	ASKIP_MAX,
};

struct access_site {
	__u64 offset;		/* file offset of the probed instruction */
	__u64 vaddr;		/* its address in the ELF image */
	__u64 next_offset;	/* the next instruction's (AOP_POSTABLE operands), else 0 */
	struct access_probe_desc desc;	/* desc.group: index within the plan */
	/*
	 * A plain load that the atomic RMW at rmw_vaddr covers (every run of
	 * the load goes on to that RMW of the same bytes, tracer/access_cover.h):
	 * its operand load_op may go unprobed (access_plan__elide_loads); 0: none.
	 */
	__u64 rmw_vaddr;
	__u32 load_op;
};

struct access_plan;

struct access_plan *access_plan__new(void);
void access_plan__free(struct access_plan *p);

/*
 * Plans one function's code: len bytes at ELF address vaddr and file
 * offset offset. known_function: the bytes are one function from a
 * symbol (its prologue says whether it keeps a frame pointer); else a
 * stretch of code no symbol covers, where rbp is taken for data. Starts a
 * new group. 0 or -ENOMEM.
 */
int access_plan__add_code(struct access_plan *p, const __u8 *code, size_t len, __u64 vaddr,
			  __u64 offset, bool known_function);

/*
 * Plans every executable section of the ELF file at path (not .plt*,
 * .init, .fini): each function symbol's body, and the code between them.
 * 0, or a negative errno when the file cannot be read as ELF.
 */
int access_plan__add_file(struct access_plan *p, const char *path);

size_t access_plan__count(const struct access_plan *p);
const struct access_site *access_plan__site(const struct access_plan *p, size_t i);
/*
 * Adds AOP_* flags to operand op of site i (after planning: memory orders).
 * A relaxed load loses AOP_POSTABLE: it needs no probe after it.
 */
void access_plan__add_op_flags(struct access_plan *p, size_t i, __u32 op, __u16 flags);
size_t access_plan__nr_groups(const struct access_plan *p);
/* Instructions with memory operands decoded, planned or not. */
size_t access_plan__nr_memory_insns(const struct access_plan *p);
/* XCHGs with memory probed where they are (recorded before they run): no safe next one. */
size_t access_plan__nr_atomic_before(const struct access_plan *p);
/*
 * Atomics whose release half is recorded before they run (AOP_RELEASE at
 * them or at the instruction before), and those whose release is only
 * recorded with the access, after they ran.
 */
size_t access_plan__nr_release_before(const struct access_plan *p);
size_t access_plan__nr_release_after(const struct access_plan *p);
/*
 * Once the memory orders are flagged (AOP_RELAXED, AOP_ORDERED): drops the
 * operands of plain loads an atomic RMW after them covers (rmw_vaddr), and
 * a site left with none, and numbers the groups again. A load stays when
 * the RMW is relaxed and the load is not (its acquire is the only one),
 * or when the RMW's record was not planned. Returns the loads dropped.
 * Planning more code after it starts a new group.
 */
size_t access_plan__elide_loads(struct access_plan *p);
/* Loads an RMW covers kept by their order (an acquire before a relaxed RMW). */
size_t access_plan__nr_loads_kept(const struct access_plan *p);
size_t access_plan__skipped(const struct access_plan *p, enum access_skip why);
const char *access_skip__name(enum access_skip why);

#endif /* IPCRACE_ACCESS_PLAN_H */
