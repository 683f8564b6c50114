// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Plain loads an atomic RMW after them covers (access_cover.h). */
#include <capstone/capstone.h>
#include <stdbool.h>
#include <string.h>

#include "access_cover.h"
#include "access_decode.h"

/*
 * What a register holds on the path from the load: the value register
 * origin had at the load plus off, or (origin AREG_RIP) the constant off;
 * unknown once an instruction wrote it in a way not followed here.
 */
struct sym {
	bool known;
	__u8 origin;
	__s64 off;
};

/* An address in those terms: origin's value + off + index's value * scale. */
struct sym_addr {
	__u8 origin;		/* AREG_RIP: off is the whole address (but the index) */
	__u8 index;		/* a register's value at the load, or AREG_NONE */
	__u8 scale;
	__u8 seg;
	__s64 off;
};

/*
 * The address operand op of insn names, in terms of the registers at the
 * load (regs: what each holds now). False when a register it uses holds
 * something not followed.
 */
static bool sym_address(const struct sym *regs, const cs_insn *insn,
			const struct access_operand *op, struct sym_addr *a)
{
	memset(a, 0, sizeof(*a));
	a->seg = op->seg;
	if (op->base == AREG_RIP) {
		a->origin = AREG_RIP;
		a->off = (__s64)(insn->address + (__u64)(__s64)op->rip_delta) + op->disp;
	} else if (op->base == AREG_NONE) {
		a->origin = AREG_RIP;
		a->off = op->disp;
	} else {
		if (!regs[op->base].known)
			return false;
		a->origin = regs[op->base].origin;
		a->off = regs[op->base].off + op->disp;
	}
	if (op->index != AREG_NONE) {
		const struct sym *x = &regs[op->index];

		if (!x->known)
			return false;
		a->off += x->off * op->scale;
		if (x->origin != AREG_RIP) {
			a->index = x->origin;
			a->scale = op->scale;
		}
	}
	return true;
}

static bool sym_same(const struct sym_addr *a, const struct sym_addr *b)
{
	return a->origin == b->origin && a->index == b->index && a->seg == b->seg &&
	       a->off == b->off && (a->index == AREG_NONE || a->scale == b->scale);
}

bool access_cover__register_only(const cs_insn *insn)
{
	const cs_x86 *x = &insn->detail->x86;

	switch (insn->id) {
	case X86_INS_MOV: case X86_INS_MOVABS: case X86_INS_MOVZX: case X86_INS_MOVSX:
	case X86_INS_MOVSXD: case X86_INS_LEA: case X86_INS_ADD: case X86_INS_SUB:
	case X86_INS_ADC: case X86_INS_SBB: case X86_INS_INC: case X86_INS_DEC:
	case X86_INS_AND: case X86_INS_OR: case X86_INS_XOR: case X86_INS_NOT:
	case X86_INS_NEG: case X86_INS_SHL: case X86_INS_SHR: case X86_INS_SAR:
	case X86_INS_SAL: case X86_INS_ROL: case X86_INS_ROR: case X86_INS_IMUL:
	case X86_INS_CMP: case X86_INS_TEST: case X86_INS_CDQE: case X86_INS_CDQ:
	case X86_INS_CQO: case X86_INS_CWDE: case X86_INS_BSWAP: case X86_INS_XCHG:
	case X86_INS_NOP: case X86_INS_PAUSE: case X86_INS_ENDBR64:
		break;
	default:
		return false;
	}
	if (x->prefix[0] == X86_PREFIX_LOCK)
		return false;
	/* general registers only: a segment or control register load can fault */
	for (int k = 0; k < x->op_count; k++)
		if (x->operands[k].type == X86_OP_REG &&
		    access_decode__reg_any_width(x->operands[k].reg) == AREG_NONE)
			return false;
	return true;
}

/* Every register insn writes (capstone's full list, implicit ones too) holds something else. */
static bool forget_written(csh cs, const cs_insn *insn, struct sym *regs)
{
	cs_regs read, written;
	uint8_t nr_read, nr_written;

	if (cs_regs_access(cs, insn, read, &nr_read, written, &nr_written) != CS_ERR_OK)
		return false;
	for (uint8_t k = 0; k < nr_written; k++) {
		__u8 r = access_decode__reg_any_width(written[k]);

		if (r != AREG_NONE)
			regs[r].known = false;
	}
	return true;
}

/*
 * What the register-only insn leaves in the registers: a 64-bit lea of a
 * base and displacement, a 64-bit register move, an add or sub of a
 * constant are followed; anything else it writes is forgotten.
 */
static bool sym_step(csh cs, const cs_insn *insn, struct sym *regs)
{
	const cs_x86 *x = &insn->detail->x86;
	const cs_x86_op *o = x->operands;
	struct sym before[AREG_RIP + 1];
	__u8 dst = AREG_NONE;

	memcpy(before, regs, sizeof(before));
	if (!forget_written(cs, insn, regs))
		return false;
	if (x->op_count == 2 && o[0].type == X86_OP_REG && o[0].size == 8)
		dst = access_decode__reg64(o[0].reg);
	if (dst == AREG_NONE || dst == AREG_RIP)
		return true;
	if (insn->id == X86_INS_LEA && o[1].type == X86_OP_MEM && o[1].mem.index == X86_REG_INVALID &&
	    o[1].mem.segment == X86_REG_INVALID) {
		__u8 base = o[1].mem.base == X86_REG_INVALID ? AREG_NONE :
			    access_decode__reg64(o[1].mem.base);

		if (base == AREG_RIP)
			regs[dst] = (struct sym){ true, AREG_RIP,
						  (__s64)(insn->address + insn->size) + o[1].mem.disp };
		else if (base != AREG_NONE && before[base].known)
			regs[dst] = (struct sym){ true, before[base].origin,
						  before[base].off + o[1].mem.disp };
	} else if ((insn->id == X86_INS_MOV || insn->id == X86_INS_MOVABS) && o[1].type == X86_OP_IMM) {
		regs[dst] = (struct sym){ true, AREG_RIP, o[1].imm };
	} else if (insn->id == X86_INS_MOV && o[1].type == X86_OP_REG && o[1].size == 8) {
		__u8 src = access_decode__reg64(o[1].reg);

		if (src != AREG_NONE && src != AREG_RIP)
			regs[dst] = before[src];
	} else if ((insn->id == X86_INS_ADD || insn->id == X86_INS_SUB) && o[1].type == X86_OP_IMM &&
		   before[dst].known) {
		regs[dst] = before[dst];
		regs[dst].off += insn->id == X86_INS_ADD ? o[1].imm : -o[1].imm;
	}
	return true;
}

static int mem_ops(const cs_insn *insn, int *k_mem)
{
	const cs_x86 *x = &insn->detail->x86;
	int nr = 0;

	for (int k = 0; k < x->op_count; k++)
		if (x->operands[k].type == X86_OP_MEM) {
			*k_mem = k;
			nr++;
		}
	return nr;
}

size_t access_cover__rmw_after(csh cs, const struct func_info *fi, const cs_insn *insns, size_t n,
			       size_t i, const struct access_operand *load)
{
	struct sym regs[AREG_RIP + 1];
	struct sym_addr want, got;
	struct access_operand rop;
	int k = -1;

	if (!(load->flags & AOP_READ) ||
	    (load->flags & (AOP_WRITE | AOP_ATOMIC | AOP_REP | AOP_FRAME | AOP_RELEASE)) ||
	    access_decode__indirect_branch(&insns[i]) || access_decode__is_atomic(&insns[i], true))
		return 0;
	for (__u8 r = 0; r <= AREG_RIP; r++)
		regs[r] = (struct sym){ r != AREG_NONE && r != AREG_RIP, r, 0 };
	if (!sym_address(regs, &insns[i], load, &want) || !forget_written(cs, &insns[i], regs))
		return 0;
	for (size_t j = i + 1; j < n && j <= i + ACCESS_COVER_WINDOW; j++) {
		const cs_insn *insn = &insns[j];
		int nr_mem;

		/* bytes skipped in between: not one path */
		if (insns[j - 1].address + insns[j - 1].size != insn->address)
			return 0;
		nr_mem = mem_ops(insn, &k);
		if (nr_mem && access_decode__is_atomic(insn, true)) {
			if (nr_mem != 1 || access_decode__operand(fi, insn, k, &rop) ||
			    rop.size != load->size || !sym_address(regs, insn, &rop, &got))
				return 0;
			return sym_same(&want, &got) ? j : 0;
		}
		if (!access_cover__register_only(insn) ||
		    (nr_mem && !access_decode__accesses_nothing(insn)) || !sym_step(cs, insn, regs))
			return 0;
	}
	return 0;
}
