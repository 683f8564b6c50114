// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Decoding for the access-probe planner (access_decode.h). */
#include <capstone/capstone.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "../analyzer/array.h"
#include "access_decode.h"
#include "insn_classify.h"

/* 64-bit general registers (and rip) as enum access_reg; AREG_NONE for anything else. */
__u8 access_decode__reg64(unsigned int r)
{
	switch (r) {
	case X86_REG_RAX: return AREG_RAX;
	case X86_REG_RCX: return AREG_RCX;
	case X86_REG_RDX: return AREG_RDX;
	case X86_REG_RBX: return AREG_RBX;
	case X86_REG_RSP: return AREG_RSP;
	case X86_REG_RBP: return AREG_RBP;
	case X86_REG_RSI: return AREG_RSI;
	case X86_REG_RDI: return AREG_RDI;
	case X86_REG_R8: return AREG_R8;
	case X86_REG_R9: return AREG_R9;
	case X86_REG_R10: return AREG_R10;
	case X86_REG_R11: return AREG_R11;
	case X86_REG_R12: return AREG_R12;
	case X86_REG_R13: return AREG_R13;
	case X86_REG_R14: return AREG_R14;
	case X86_REG_R15: return AREG_R15;
	case X86_REG_RIP: return AREG_RIP;
	default: return AREG_NONE;
	}
}

/* The 64-bit register a sub-register belongs to (for "is it written"). */
__u8 access_decode__reg_any_width(unsigned int r)
{
	static const unsigned int widths[][5] = {
		{ X86_REG_RAX, X86_REG_EAX, X86_REG_AX, X86_REG_AL, X86_REG_AH },
		{ X86_REG_RCX, X86_REG_ECX, X86_REG_CX, X86_REG_CL, X86_REG_CH },
		{ X86_REG_RDX, X86_REG_EDX, X86_REG_DX, X86_REG_DL, X86_REG_DH },
		{ X86_REG_RBX, X86_REG_EBX, X86_REG_BX, X86_REG_BL, X86_REG_BH },
		{ X86_REG_RSP, X86_REG_ESP, X86_REG_SP, X86_REG_SPL, X86_REG_SPL },
		{ X86_REG_RBP, X86_REG_EBP, X86_REG_BP, X86_REG_BPL, X86_REG_BPL },
		{ X86_REG_RSI, X86_REG_ESI, X86_REG_SI, X86_REG_SIL, X86_REG_SIL },
		{ X86_REG_RDI, X86_REG_EDI, X86_REG_DI, X86_REG_DIL, X86_REG_DIL },
		{ X86_REG_R8, X86_REG_R8D, X86_REG_R8W, X86_REG_R8B, X86_REG_R8B },
		{ X86_REG_R9, X86_REG_R9D, X86_REG_R9W, X86_REG_R9B, X86_REG_R9B },
		{ X86_REG_R10, X86_REG_R10D, X86_REG_R10W, X86_REG_R10B, X86_REG_R10B },
		{ X86_REG_R11, X86_REG_R11D, X86_REG_R11W, X86_REG_R11B, X86_REG_R11B },
		{ X86_REG_R12, X86_REG_R12D, X86_REG_R12W, X86_REG_R12B, X86_REG_R12B },
		{ X86_REG_R13, X86_REG_R13D, X86_REG_R13W, X86_REG_R13B, X86_REG_R13B },
		{ X86_REG_R14, X86_REG_R14D, X86_REG_R14W, X86_REG_R14B, X86_REG_R14B },
		{ X86_REG_R15, X86_REG_R15D, X86_REG_R15W, X86_REG_R15B, X86_REG_R15B },
	};

	for (size_t i = 0; i < sizeof(widths) / sizeof(widths[0]); i++)
		for (size_t k = 0; k < 5; k++)
			if (widths[i][k] == r)
				return i + 1;
	return AREG_NONE;
}

/* Instructions with a memory operand that access nothing. */
bool access_decode__accesses_nothing(const cs_insn *insn)
{
	switch (insn->id) {
	case X86_INS_LEA:
	case X86_INS_NOP:
	case X86_INS_PREFETCH:
	case X86_INS_PREFETCHNTA:
	case X86_INS_PREFETCHT0:
	case X86_INS_PREFETCHT1:
	case X86_INS_PREFETCHT2:
	case X86_INS_PREFETCHW:
	case X86_INS_CLFLUSH:
	case X86_INS_CLFLUSHOPT:
	case X86_INS_CLWB:
		return true;
	default:
		return false;
	}
}

bool access_decode__indirect_branch(const cs_insn *insn)
{
	for (int i = 0; i < insn->detail->groups_count; i++)
		if (insn->detail->groups[i] == CS_GRP_JUMP || insn->detail->groups[i] == CS_GRP_CALL)
			return true;
	return false;
}

static bool is_string_insn(const cs_insn *insn)
{
	switch (insn->id) {
	case X86_INS_MOVSB: case X86_INS_MOVSW: case X86_INS_MOVSD: case X86_INS_MOVSQ:
	case X86_INS_STOSB: case X86_INS_STOSW: case X86_INS_STOSD: case X86_INS_STOSQ:
	case X86_INS_LODSB: case X86_INS_LODSW: case X86_INS_LODSD: case X86_INS_LODSQ:
	case X86_INS_CMPSB: case X86_INS_CMPSW: case X86_INS_CMPSD: case X86_INS_CMPSQ:
	case X86_INS_SCASB: case X86_INS_SCASW: case X86_INS_SCASD: case X86_INS_SCASQ:
		return true;
	default:
		return false;
	}
}

bool access_decode__is_atomic(const cs_insn *insn, bool has_mem)
{
	return insn->detail->x86.prefix[0] == X86_PREFIX_LOCK ||
	       (insn->id == X86_INS_XCHG && has_mem);
}

/* Read/write of memory operand k, as the watchpoint classifier decides it. */
static __u8 operand_rw(const cs_insn *insn, int k)
{
	__u32 rw = insn_classify__operand(insn, k);

	return (rw & EVF_READ ? AOP_READ : 0) | (rw & EVF_WRITE ? AOP_WRITE : 0);
}


static bool is_reg_op(const cs_x86_op *op, unsigned int reg)
{
	return op->type == X86_OP_REG && op->reg == reg;
}

/* Does the function begin (after endbr64) with push rbp; mov rbp, rsp? */
static bool keeps_frame_pointer(const cs_insn *insns, size_t n)
{
	size_t i = 0;

	if (i < n && insns[i].id == X86_INS_ENDBR64)
		i++;
	if (i + 1 >= n || insns[i].id != X86_INS_PUSH ||
	    !is_reg_op(&insns[i].detail->x86.operands[0], X86_REG_RBP))
		return false;
	i++;
	return insns[i].id == X86_INS_MOV && insns[i].detail->x86.op_count == 2 &&
	       is_reg_op(&insns[i].detail->x86.operands[0], X86_REG_RBP) &&
	       is_reg_op(&insns[i].detail->x86.operands[1], X86_REG_RSP);
}

static int cmp_u64(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

int access_decode__scan_function(const cs_insn *insns, size_t n, bool known, struct func_info *fi)
{
	__u64 lo = n ? insns[0].address : 0, hi = n ? insns[n - 1].address + insns[n - 1].size : 0;

	fi->frame_pointer = known && keeps_frame_pointer(insns, n);
	fi->min_rsp_leak = LLONG_MAX;
	fi->min_rbp_leak = LLONG_MAX;
	for (size_t i = 0; i < n; i++) {
		const cs_x86 *x = &insns[i].detail->x86;

		if (insns[i].id == X86_INS_LEA && x->op_count == 2 && x->operands[1].type == X86_OP_MEM) {
			const x86_op_mem *m = &x->operands[1].mem;

			if (m->base == X86_REG_RSP) {
				fi->leaks_rsp = true;
				if (m->disp < fi->min_rsp_leak)
					fi->min_rsp_leak = m->disp;
			} else if (m->base == X86_REG_RBP) {
				fi->leaks_rbp = true;
				if (m->disp < fi->min_rbp_leak)
					fi->min_rbp_leak = m->disp;
			}
		}
		/* mov reg, rsp / mov reg, rbp (not the prologue's mov rbp, rsp) */
		if (insns[i].id == X86_INS_MOV && x->op_count == 2 && x->operands[0].type == X86_OP_REG &&
		    (is_reg_op(&x->operands[1], X86_REG_RSP) || is_reg_op(&x->operands[1], X86_REG_RBP)) &&
		    !(x->operands[0].reg == X86_REG_RBP && x->operands[1].reg == X86_REG_RSP)) {
			if (x->operands[1].reg == X86_REG_RSP) {
				fi->leaks_rsp = true;
				fi->min_rsp_leak = fi->min_rsp_leak < 0 ? fi->min_rsp_leak : 0;
			} else {
				fi->leaks_rbp = true;
				fi->min_rbp_leak = LLONG_MIN;
			}
		}
		for (int k = 0; k < insns[i].detail->groups_count; k++) {
			__u8 g = insns[i].detail->groups[k];
			__u64 t;

			if (g != CS_GRP_JUMP && g != CS_GRP_CALL)
				continue;
			if (x->op_count != 1 || x->operands[0].type != X86_OP_IMM)
				break;
			t = x->operands[0].imm;
			if (t < lo || t >= hi)
				break;
			if (array__reserve(&fi->targets, &fi->cap_targets, fi->nr_targets + 1,
					   sizeof(*fi->targets)))
				return -ENOMEM;
			fi->targets[fi->nr_targets++] = t;
			break;
		}
	}
	if (!fi->frame_pointer) {
		/* rbp is just another register: rbp-based operands are data */
		fi->leaks_rbp = false;
	}
	qsort(fi->targets, fi->nr_targets, sizeof(*fi->targets), cmp_u64);
	return 0;
}

bool access_decode__branch_target(const struct func_info *fi, __u64 addr)
{
	return bsearch(&addr, fi->targets, fi->nr_targets, sizeof(addr), cmp_u64) != NULL;
}

/*
 * Decodes memory operand k of insn into op. Returns 0, or the reason it is
 * not planned (+1, so 0 stays "planned").
 */
int access_decode__operand(const struct func_info *fi, const cs_insn *insn, int k,
			   struct access_operand *op)
{
	const cs_x86_op *o = &insn->detail->x86.operands[k];
	const x86_op_mem *m = &o->mem;

	memset(op, 0, sizeof(*op));
	if (strstr(insn->mnemonic, "gather") || strstr(insn->mnemonic, "scatter"))
		return ASKIP_VSIB + 1;
	if (m->disp < INT32_MIN || m->disp > INT32_MAX)
		return ASKIP_ADDRESSING + 1;
	op->disp = m->disp;
	op->scale = m->scale ? m->scale : 1;
	if (m->base != X86_REG_INVALID) {
		op->base = access_decode__reg64(m->base);
		if (op->base == AREG_NONE)
			return ASKIP_ADDRESSING + 1;
	}
	if (m->index != X86_REG_INVALID) {
		op->index = access_decode__reg64(m->index);
		if (op->index == AREG_NONE || op->index == AREG_RIP)
			return ASKIP_ADDRESSING + 1;
	}
	switch ((unsigned int)m->segment) {
	case X86_REG_FS:
		op->seg = ASEG_FS;
		break;
	case X86_REG_GS:
		op->seg = ASEG_GS;
		break;
	default:
		op->seg = ASEG_NONE;	/* cs, ds, es, ss: base 0 in 64-bit mode */
		break;
	}
	if (op->seg == ASEG_NONE && op->base == AREG_RSP) {
		if (!fi->leaks_rsp || m->disp < fi->min_rsp_leak)
			return ASKIP_STACK + 1;
		op->flags |= AOP_FRAME;
	} else if (op->seg == ASEG_NONE && op->base == AREG_RBP && fi->frame_pointer) {
		if (!fi->leaks_rbp || m->disp < fi->min_rbp_leak)
			return ASKIP_STACK + 1;
		op->flags |= AOP_FRAME;
	}
	op->size = o->size ? o->size : 1;
	op->flags |= operand_rw(insn, k);
	if (is_string_insn(insn) && insn->detail->x86.prefix[0] != 0 &&
	    insn->detail->x86.prefix[0] != X86_PREFIX_LOCK)
		op->flags |= AOP_REP;
	op->rip_delta = insn->size;
	return 0;
}
