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

/*
 * Whether any instruction of the function but a return can change what a
 * probe reads (a call clobbers the argument registers): a loop back to
 * the site could then show it other values than the call's.
 */
static bool changes_protected_regs(const cs_insn *insns, size_t count, bool arg2)
{
	for (size_t j = 0; j < count; j++) {
		if (insns[j].id == X86_INS_RET)
			continue;
		if (insns[j].id == X86_INS_CALL || writes_protected_reg(&insns[j], arg2))
			return true;
	}
	return false;
}

/*
 * A probe *on* a push still sees the entry state; the scan stops at the
 * first emulated instruction, so no earlier push can have moved rsp.
 */
__u64 probe_site__pick(const __u8 *code, size_t len, __u64 vaddr, bool arg2, bool rehit_ok)
{
	cs_insn *insns = NULL;
	bool rehit = false;
	size_t count, i, j, k;
	__u64 site = 0;
	csh cs;

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
	 * long as nothing in the function changes what the probe reads.
	 */
	for (j = 0; j < count; j++) {
		const cs_x86 *x = &insns[j].detail->x86;

		if (!is_branch(&insns[j]))
			continue;
		for (k = 0; k < x->op_count; k++) {
			if (x->operands[k].type != X86_OP_IMM)
				continue;
			if ((__u64)x->operands[k].imm > vaddr &&
			    (__u64)x->operands[k].imm <= insns[i].address)
				rehit = true;
		}
	}
	if (rehit && (!rehit_ok || changes_protected_regs(insns, count, arg2)))
		goto out_close;
	site = insns[i].address - vaddr;
out_close:
	cs_free(insns, count);
	cs_close(&cs);
	return site;
}

__u64 probe_site__choose(const struct elf_syms *s, const struct elf_func *fn, bool arg2,
			 bool rehit_ok)
{
	__u64 site = fn->offset, len = fn->size;
	__u8 *code;

	if (!len || len > MAX_FUNC_BYTES)
		len = len ? MAX_FUNC_BYTES : 64;
	code = malloc(len);
	if (code && !elf_syms__read(s, fn->offset, code, len))
		site += probe_site__pick(code, len, fn->vaddr, arg2, rehit_ok);
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
