// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <capstone/capstone.h>
#include <stdbool.h>
#include <stdlib.h>

#include "probe_site.h"

/* How far into a function a probe may move, in instructions. */
#define MAX_PROLOGUE_INSNS 8
#define MAX_FUNC_BYTES 4096

/* The registers the BPF programs read: rsp, argument 1, maybe argument 2. */
static bool is_protected_reg(unsigned int reg, bool arg2)
{
	static const unsigned int regs[] = {
		X86_REG_RSP, X86_REG_ESP, X86_REG_SP, X86_REG_SPL,
		X86_REG_RDI, X86_REG_EDI, X86_REG_DI, X86_REG_DIL,
		X86_REG_RSI, X86_REG_ESI, X86_REG_SI, X86_REG_SIL,
	};
	size_t i, n = arg2 ? 12 : 8;

	for (i = 0; i < n; i++)
		if (reg == regs[i])
			return true;
	return false;
}

static bool writes_protected_reg(const cs_insn *insn, bool arg2)
{
	const cs_detail *d = insn->detail;
	int i;

	for (i = 0; i < d->regs_write_count; i++)
		if (is_protected_reg(d->regs_write[i], arg2))
			return true;
	for (i = 0; i < d->x86.op_count; i++) {
		const cs_x86_op *op = &d->x86.operands[i];

		if (op->type == X86_OP_REG && (op->access & CS_AC_WRITE) &&
		    is_protected_reg(op->reg, arg2))
			return true;
	}
	return false;
}

static bool is_branch(const cs_insn *insn)
{
	const cs_detail *d = insn->detail;
	int i;

	for (i = 0; i < d->groups_count; i++) {
		switch (d->groups[i]) {
		case CS_GRP_JUMP:
		case CS_GRP_CALL:
		case CS_GRP_RET:
		case CS_GRP_INT:
		case CS_GRP_IRET:
			return true;
		default:
			break;
		}
	}
	return false;
}

/* What arch/x86/kernel/uprobes.c emulates instead of single-stepping. */
static bool is_emulated(const cs_insn *insn)
{
	switch (insn->id) {
	case X86_INS_JMP:
		return insn->detail->x86.operands[0].type == X86_OP_IMM;
	case X86_INS_NOP:
		return true;
	case X86_INS_PUSH:
		return insn->detail->x86.operands[0].type == X86_OP_REG;
	case X86_INS_JAE: case X86_INS_JA: case X86_INS_JBE: case X86_INS_JB:
	case X86_INS_JE: case X86_INS_JGE: case X86_INS_JG: case X86_INS_JLE:
	case X86_INS_JL: case X86_INS_JNE: case X86_INS_JNO: case X86_INS_JNP:
	case X86_INS_JNS: case X86_INS_JO: case X86_INS_JP: case X86_INS_JS:
		return true;
	default:
		return false;
	}
}

/* The index of the instruction at addr, or -1 (outside the code, or inside an instruction). */
static long insn_at(const cs_insn *insns, size_t count, __u64 addr)
{
	size_t lo = 0, hi = count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (insns[mid].address == addr)
			return (long)mid;
		if (insns[mid].address < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/*
 * The instructions that can run after instruction j, up to two (-1: it
 * leaves the code, by a return, a jump to another function or the end of
 * the function after a call that does not come back). *unknown: where it
 * goes is not known (an indirect jump, a jump into an instruction).
 */
static void successors(const cs_insn *insns, size_t count, size_t j, long succ[2], bool *unknown)
{
	const cs_insn *in = &insns[j];
	const cs_x86 *x = &in->detail->x86;
	__u64 lo = insns[0].address, hi = insns[count - 1].address + insns[count - 1].size;
	bool jump = in->id == X86_INS_JMP, cond = is_emulated(in) && !jump && in->id != X86_INS_NOP &&
		    in->id != X86_INS_PUSH;

	succ[0] = succ[1] = -1;
	if (in->id == X86_INS_RET)
		return;
	if (!jump)
		succ[0] = j + 1 < count ? (long)(j + 1) : -1;
	if (jump || cond) {
		if (x->op_count < 1 || x->operands[0].type != X86_OP_IMM) {
			*unknown = true;
			return;
		}
		if ((__u64)x->operands[0].imm >= lo && (__u64)x->operands[0].imm < hi) {
			succ[1] = insn_at(insns, count, x->operands[0].imm);
			if (succ[1] < 0)
				*unknown = true;
		}
	}
}

#define MAX_LOOP_INSNS 2048

/*
 * Whether an instruction that can run between two hits of the site in one
 * call (one reachable from the site and from which the site is reachable)
 * can change what the probe reads: a call (it clobbers the argument
 * registers) or a write of a protected register. The loop could then show
 * the site other values than the call's. Paths that leave the function
 * do not count: sem_post's overflow path calls __libc_fatal with a new
 * rdi, and never comes back. The code must be the whole function.
 */
static bool loop_changes_protected_regs(const cs_insn *insns, size_t count, size_t site,
					bool arg2)
{
	bool from_site[MAX_LOOP_INSNS] = { false }, to_site[MAX_LOOP_INSNS] = { false };
	bool unknown = false, grew = true;
	long succ[2];
	size_t j;
	int k;

	if (count > MAX_LOOP_INSNS)
		return true;
	from_site[site] = true;
	while (grew) {
		grew = false;
		for (j = 0; j < count; j++) {
			successors(insns, count, j, succ, &unknown);
			for (k = 0; k < 2; k++) {
				if (succ[k] < 0)
					continue;
				if (from_site[j] && !from_site[succ[k]])
					from_site[succ[k]] = grew = true;
				if ((succ[k] == (long)site || to_site[succ[k]]) && !to_site[j])
					to_site[j] = grew = true;
			}
			if (unknown && from_site[j])
				return true;
			unknown = false;
		}
	}
	for (j = 0; j < count; j++)
		if (from_site[j] && to_site[j] &&
		    (insns[j].id == X86_INS_CALL || writes_protected_reg(&insns[j], arg2)))
			return true;
	return false;
}

/*
 * A probe *on* a push still sees the entry state; the scan stops at the
 * first emulated instruction, so no earlier push can have moved rsp.
 */
__u64 probe_site__pick(const __u8 *code, size_t len, __u64 vaddr, bool arg2, bool rehit_ok,
		       bool *in_loop)
{
	cs_insn *insns = NULL;
	bool rehit = false, reenter = false;
	size_t count, i, j, k;
	__u64 site = 0;
	csh cs;

	if (in_loop)
		*in_loop = false;
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK)
		return 0;
	cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);
	count = cs_disasm(cs, code, len, vaddr, 0, &insns);
	for (i = 0; i < count && i < MAX_PROLOGUE_INSNS; i++) {
		if (is_emulated(&insns[i]))
			break;
		if (is_branch(&insns[i]) || writes_protected_reg(&insns[i], arg2))
			goto out_close;
	}
	if (i == 0 || i == count || i == MAX_PROLOGUE_INSNS)
		goto out_close;
	/*
	 * No branch may land in (entry, site]: a jump there from later code is
	 * a loop that hits the site again without a new call. A jump back to
	 * the entry itself (pthread_spin_lock's retry loop) re-runs the entry
	 * probe just the same, so it is no worse here; lock_enter ignores a
	 * second hit while the thread's attempt is pending. That is also why
	 * a lock attempt with a return (rehit_ok: sem_trywait's and
	 * pthread_rwlock_trywrlock's compare-and-swap retry loops go back to
	 * their second instruction) may have its site inside such a loop, as
	 * long as nothing in the function changes what the probe reads; and
	 * a release that is kept pending until its return when its site is
	 * in a loop (sem_post: in_loop tells the caller to do so).
	 */
	for (j = 0; j < count; j++) {
		const cs_x86 *x = &insns[j].detail->x86;

		if (!is_branch(&insns[j]))
			continue;
		for (k = 0; k < x->op_count; k++) {
			__u64 target = x->operands[k].imm;

			if (x->operands[k].type != X86_OP_IMM || target > insns[i].address)
				continue;
			if (target > vaddr)
				rehit = true;
			else if (target == vaddr)
				reenter = true;
		}
	}
	if (rehit && (!rehit_ok || loop_changes_protected_regs(insns, count, i, arg2)))
		goto out_close;
	site = insns[i].address - vaddr;
	/* a jump back to the entry hits the site again as well */
	if (in_loop)
		*in_loop = rehit || reenter;
out_close:
	cs_free(insns, count);
	cs_close(&cs);
	return site;
}

__u64 probe_site__choose(const struct elf_syms *s, const struct elf_func *fn, bool arg2,
			 bool rehit_ok, bool *in_loop)
{
	__u64 site = fn->offset, len = fn->size;
	__u8 *code;

	/* a site inside a loop needs the whole function to know what runs in the loop */
	if (!len || len > MAX_FUNC_BYTES) {
		len = len ? MAX_FUNC_BYTES : 64;
		rehit_ok = false;
	}
	if (in_loop)
		*in_loop = false;
	code = malloc(len);
	if (code && !elf_syms__read(s, fn->offset, code, len))
		site += probe_site__pick(code, len, fn->vaddr, arg2, rehit_ok, in_loop);
	free(code);
	return site;
}

/*
 * The kernel refuses to probe instructions with some prefixes
 * (arch/x86/kernel/uprobes.c: LOCK and the es/cs/ss/ds overrides), e.g.
 * pthread_spin_lock's first instruction, `lock decl (%rdi)`.
 */
bool probe_site__probeable(const struct elf_syms *s, __u64 offset)
{
	static const __u8 bad[] = { 0xf0, 0x26, 0x2e, 0x36, 0x3e };
	__u8 code[16];
	cs_insn *insn = NULL;
	bool ok = true;
	size_t i, k;
	csh cs;

	if (elf_syms__read(s, offset, code, sizeof(code)))
		return true;	/* let the kernel decide */
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK)
		return true;
	cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);
	if (cs_disasm(cs, code, sizeof(code), 0, 1, &insn) == 1) {
		for (i = 0; i < 4; i++)
			for (k = 0; k < sizeof(bad); k++)
				if (insn->detail->x86.prefix[i] == bad[k])
					ok = false;
		cs_free(insn, 1);
	}
	cs_close(&cs);
	return ok;
}
