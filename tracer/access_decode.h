/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Instruction decoding for the access-probe planner (tracer/access_plan.c):
 * capstone operands as struct access_operand, what a function looks like
 * (frame pointer, addresses of its own frame it takes, its direct branch
 * targets) and the instruction classes the planner skips or treats apart.
 * Pure: no ELF, no plan.
 */
#ifndef IPCRACE_ACCESS_DECODE_H
#define IPCRACE_ACCESS_DECODE_H

#include <capstone/capstone.h>
#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "access_plan.h"

/* What one function looks like, for the stack rules. */
struct func_info {
	bool frame_pointer;	/* push rbp; mov rbp, rsp at its start */
	bool leaks_rsp;		/* takes the address of an rsp-based slot */
	bool leaks_rbp;
	__s64 min_rsp_leak;	/* lowest displacement whose address it takes */
	__s64 min_rbp_leak;
	__u64 *targets;		/* direct branch targets inside it, sorted */
	size_t nr_targets;
	size_t cap_targets;
};

/* A 64-bit general register (or rip) as its enum access_reg, else AREG_NONE. */
__u8 access_decode__reg64(unsigned int r);
/* A general register of any width (eax, ax, al) as its 64-bit enum access_reg, else AREG_NONE. */
__u8 access_decode__reg_any_width(unsigned int r);
/* A memory operand that is no access: lea, nop, prefetch and cache hints. */
bool access_decode__accesses_nothing(const cs_insn *insn);
/* A call or jump through memory. */
bool access_decode__indirect_branch(const cs_insn *insn);
/* LOCK-prefixed, or XCHG with a memory operand (has_mem). */
bool access_decode__is_atomic(const cs_insn *insn, bool has_mem);
/*
 * What the n instructions of one function look like (known: they are one
 * function from a symbol, else a stretch no symbol covers). 0 or -ENOMEM;
 * fi->targets is the caller's to free.
 */
int access_decode__scan_function(const cs_insn *insns, size_t n, bool known, struct func_info *fi);
/* Does a direct branch of the function go to addr? */
bool access_decode__branch_target(const struct func_info *fi, __u64 addr);
/*
 * Decodes memory operand k of insn into *op: 0, or enum access_skip + 1 when
 * it is not planned (own stack, unusual addressing, gather/scatter).
 */
int access_decode__operand(const struct func_info *fi, const cs_insn *insn, int k,
			   struct access_operand *op);

#endif /* IPCRACE_ACCESS_DECODE_H */
