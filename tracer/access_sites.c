// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Where an access probe may be moved off its instruction (access_sites.h). */
#include <capstone/capstone.h>
#include <stdbool.h>

#include "access_cover.h"
#include "access_decode.h"
#include "access_sites.h"

/* Is r one of the registers the operands' addresses are computed from? */
static bool address_reg(__u8 r, const struct access_operand *ops, size_t nr)
{
	for (size_t j = 0; r != AREG_NONE && j < nr; j++)
		if ((ops[j].base != AREG_RIP && r == ops[j].base) || r == ops[j].index)
			return true;
	return false;
}

/*
 * May insn change an address register of ops (capstone's full list of
 * registers written, implicit ones too)? Yes when capstone cannot tell.
 */
static bool writes_address_reg(csh cs, const cs_insn *insn, const struct access_operand *ops,
			       size_t nr)
{
	cs_regs read, written;
	uint8_t nr_read, nr_written;

	if (cs_regs_access(cs, insn, read, &nr_read, written, &nr_written) != CS_ERR_OK)
		return true;
	for (uint8_t k = 0; k < nr_written; k++)
		if (address_reg(access_decode__reg_any_width(written[k]), ops, nr))
			return true;
	return false;
}

bool access_sites__atomic_next(const struct func_info *fi, const cs_insn *insns, size_t n, size_t i,
			       const struct access_operand *ops, size_t nr)
{
	const cs_x86 *x = &insns[i].detail->x86;
	bool written[AREG_RIP + 1] = { false };
	unsigned int id = insns[i].id;

	if (i + 1 >= n || access_decode__branch_target(fi, insns[i + 1].address) ||
	    insns[i + 1].detail->x86.prefix[0] == X86_PREFIX_LOCK)
		return false;
	if (id == X86_INS_CMPXCHG || id == X86_INS_CMPXCHG8B || id == X86_INS_CMPXCHG16B)
		written[AREG_RAX] = true;
	if (id == X86_INS_CMPXCHG8B || id == X86_INS_CMPXCHG16B)
		written[AREG_RDX] = true;
	for (int k = 0; k < x->op_count; k++)
		if (x->operands[k].type == X86_OP_REG)
			written[access_decode__reg_any_width(x->operands[k].reg)] = true;
	for (size_t k = 0; k < nr; k++)
		if ((ops[k].base != AREG_RIP && written[ops[k].base]) || written[ops[k].index])
			return false;
	return true;
}

/* A direct jump or conditional jump: the kernel emulates a uprobe there (no single-step). */
static bool emulated_jump(const cs_insn *insn)
{
	const cs_x86 *x = &insn->detail->x86;

	switch (insn->id) {
	case X86_INS_JMP: case X86_INS_JA: case X86_INS_JAE: case X86_INS_JB: case X86_INS_JBE:
	case X86_INS_JE: case X86_INS_JG: case X86_INS_JGE: case X86_INS_JL: case X86_INS_JLE:
	case X86_INS_JNE: case X86_INS_JNO: case X86_INS_JNP: case X86_INS_JNS: case X86_INS_JO:
	case X86_INS_JP: case X86_INS_JS:
		return x->op_count == 1 && x->operands[0].type == X86_OP_IMM;
	default:
		return false;
	}
}

#define RECORD_REACH 3	/* instructions after the atomic, at most */

size_t access_sites__atomic_record_at(csh cs, const struct func_info *fi, const cs_insn *insns,
				      size_t n, size_t i, const struct access_operand *ops, size_t nr)
{
	for (size_t k = i + 1; k < n && k <= i + RECORD_REACH; k++) {
		const cs_insn *insn = &insns[k];
		const cs_x86 *x = &insn->detail->x86;

		if (k > i + 1 && (access_decode__branch_target(fi, insn->address) ||
				  insns[k - 1].address + insns[k - 1].size != insn->address))
			break;
		if (emulated_jump(insn))
			return k;
		if (!access_cover__register_only(insn) || x->prefix[0] == X86_PREFIX_LOCK)
			break;
		for (int o = 0; o < x->op_count; o++)
			if (x->operands[o].type == X86_OP_MEM)
				return i + 1;
		if (writes_address_reg(cs, insn, ops, nr))
			break;
	}
	return i + 1;
}

bool access_sites__load_next(csh cs, const struct func_info *fi, const cs_insn *insns, size_t n,
			     size_t i, const struct access_operand *op)
{
	if (!(op->flags & AOP_READ) || (op->flags & (AOP_WRITE | AOP_ATOMIC | AOP_REP | AOP_FRAME)))
		return false;
	if (i + 1 >= n || access_decode__branch_target(fi, insns[i + 1].address) ||
	    insns[i + 1].detail->x86.prefix[0] == X86_PREFIX_LOCK ||
	    access_decode__indirect_branch(&insns[i]))
		return false;
	return !writes_address_reg(cs, &insns[i], op, 1);
}

bool access_sites__release_before(csh cs, const struct func_info *fi, const cs_insn *insns,
				  size_t i, const struct access_operand *ops, size_t nr)
{
	const cs_insn *prev;

	if (i == 0)
		return false;
	prev = &insns[i - 1];
	if (access_decode__branch_target(fi, insns[i].address) ||
	    prev->detail->x86.prefix[0] == X86_PREFIX_LOCK ||
	    prev->address + prev->size != insns[i].address)
		return false;
	if (cs_insn_group(cs, prev, CS_GRP_JUMP) || cs_insn_group(cs, prev, CS_GRP_CALL) ||
	    cs_insn_group(cs, prev, CS_GRP_RET) || cs_insn_group(cs, prev, CS_GRP_INT) ||
	    cs_insn_group(cs, prev, CS_GRP_IRET))
		return false;
	return !writes_address_reg(cs, prev, ops, nr);
}
