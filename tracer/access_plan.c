// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The access-probe planner (access_plan.h). */
#include <capstone/capstone.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../analyzer/array.h"
#include "access_plan.h"
#include "elf_syms.h"
#include "insn_classify.h"

struct access_plan {
	csh cs;
	struct access_site *sites;
	size_t nr_sites;
	size_t cap_sites;
	size_t nr_groups;
	size_t group_sites;	/* sites in the current group */
	size_t nr_memory_insns;
	size_t nr_atomic_before;	/* XCHGs recorded before they run */
	size_t nr_release_before;	/* atomics whose release is recorded before they run */
	size_t nr_release_after;	/* ... whose release is only recorded after */
	size_t skipped[ASKIP_MAX];
};

static const char *const skip_names[ASKIP_MAX] = {
	[ASKIP_STACK] = "own stack",
	[ASKIP_BRANCH] = "indirect branch",
	[ASKIP_ATOMIC_NEXT] = "atomic with no safe next instruction",
	[ASKIP_VSIB] = "gather/scatter",
	[ASKIP_ADDRESSING] = "unusual addressing",
	[ASKIP_TOO_MANY] = "too many operands",
	[ASKIP_UNDECODABLE] = "undecodable",
};

const char *access_skip__name(enum access_skip why)
{
	return why < ASKIP_MAX ? skip_names[why] : "?";
}

struct access_plan *access_plan__new(void)
{
	struct access_plan *p = calloc(1, sizeof(*p));

	if (!p) {
		errno = ENOMEM;
		return NULL;
	}
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &p->cs) != CS_ERR_OK) {
		free(p);
		errno = EINVAL;
		return NULL;
	}
	cs_option(p->cs, CS_OPT_DETAIL, CS_OPT_ON);
	return p;
}

void access_plan__free(struct access_plan *p)
{
	if (!p)
		return;
	cs_close(&p->cs);
	free(p->sites);
	free(p);
}

size_t access_plan__count(const struct access_plan *p)
{
	return p->nr_sites;
}

const struct access_site *access_plan__site(const struct access_plan *p, size_t i)
{
	return i < p->nr_sites ? &p->sites[i] : NULL;
}

void access_plan__add_op_flags(struct access_plan *p, size_t i, __u32 op, __u16 flags)
{
	if (i < p->nr_sites && op < p->sites[i].desc.nr_ops && op < ACCESS_OPS_MAX)
		p->sites[i].desc.ops[op].flags |= flags;
}

size_t access_plan__nr_groups(const struct access_plan *p)
{
	return p->nr_sites ? p->sites[p->nr_sites - 1].desc.group + 1 : 0;
}

size_t access_plan__nr_memory_insns(const struct access_plan *p)
{
	return p->nr_memory_insns;
}

size_t access_plan__nr_atomic_before(const struct access_plan *p)
{
	return p->nr_atomic_before;
}

size_t access_plan__nr_release_before(const struct access_plan *p)
{
	return p->nr_release_before;
}

size_t access_plan__nr_release_after(const struct access_plan *p)
{
	return p->nr_release_after;
}

size_t access_plan__skipped(const struct access_plan *p, enum access_skip why)
{
	return why < ASKIP_MAX ? p->skipped[why] : 0;
}

/* 64-bit general registers as enum access_reg; AREG_NONE for anything else. */
static __u8 gp_reg(unsigned int r)
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
static __u8 gp_reg_any_width(unsigned int r)
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
static bool accesses_nothing(const cs_insn *insn)
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

static bool is_indirect_branch(const cs_insn *insn)
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

static bool is_atomic(const cs_insn *insn, bool has_mem)
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

static int scan_function(const cs_insn *insns, size_t n, bool known, struct func_info *fi)
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

static bool is_branch_target(const struct func_info *fi, __u64 addr)
{
	return bsearch(&addr, fi->targets, fi->nr_targets, sizeof(addr), cmp_u64) != NULL;
}

/*
 * Decodes memory operand k of insn into op. Returns 0, or the reason it is
 * not planned (+1, so 0 stays "planned").
 */
static int decode_operand(const struct func_info *fi, const cs_insn *insn, int k,
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
		op->base = gp_reg(m->base);
		if (op->base == AREG_NONE)
			return ASKIP_ADDRESSING + 1;
	}
	if (m->index != X86_REG_INVALID) {
		op->index = gp_reg(m->index);
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

static bool any_atomic(const struct access_operand *ops, size_t nr)
{
	for (size_t i = 0; i < nr; i++)
		if (ops[i].flags & AOP_ATOMIC)
			return true;
	return false;
}

/*
 * A site with an atomic operand is a group of its own: its probe is never
 * detached (bpf/access.bpf.c never caps it), and a plain group's detach
 * must not take it along.
 */
static int site_add(struct access_plan *p, __u64 vaddr, __u64 offset, __u64 next_offset,
		    const struct access_operand *ops, size_t nr)
{
	bool atomic = any_atomic(ops, nr);
	struct access_site *s;
	int err;

	if (p->group_sites == ACCESS_GROUP_SITES || (atomic && p->group_sites)) {
		p->nr_groups++;
		p->group_sites = 0;
	}
	err = array__reserve(&p->sites, &p->cap_sites, p->nr_sites + 1, sizeof(*p->sites));
	if (err)
		return err;
	s = &p->sites[p->nr_sites++];
	memset(s, 0, sizeof(*s));
	s->vaddr = vaddr;
	s->offset = offset;
	s->next_offset = next_offset;
	s->desc.nr_ops = nr;
	s->desc.group = p->nr_groups;
	memcpy(s->desc.ops, ops, nr * sizeof(*ops));
	p->group_sites++;
	if (atomic) {
		p->nr_groups++;
		p->group_sites = 0;
	}
	return 0;
}

/*
 * May the operands of the atomic insns[i] be evaluated at insns[i + 1]?
 * Only when nothing jumps there (the registers would be another path's)
 * and the atomic leaves the address registers as they were: cmpxchg
 * writes rax, cmpxchg8b/16b rdx:rax, xadd and xchg their register
 * operand (taken as written whatever capstone says); the others (add,
 * inc, or, bts, ...) no register.
 */
static bool atomic_next_safe(const struct func_info *fi, const cs_insn *insns, size_t n, size_t i,
			     const struct access_operand *ops, size_t nr)
{
	const cs_x86 *x = &insns[i].detail->x86;
	bool written[AREG_RIP + 1] = { false };
	unsigned int id = insns[i].id;

	if (i + 1 >= n || is_branch_target(fi, insns[i + 1].address) ||
	    insns[i + 1].detail->x86.prefix[0] == X86_PREFIX_LOCK)
		return false;
	if (id == X86_INS_CMPXCHG || id == X86_INS_CMPXCHG8B || id == X86_INS_CMPXCHG16B)
		written[AREG_RAX] = true;
	if (id == X86_INS_CMPXCHG8B || id == X86_INS_CMPXCHG16B)
		written[AREG_RDX] = true;
	for (int k = 0; k < x->op_count; k++)
		if (x->operands[k].type == X86_OP_REG)
			written[gp_reg_any_width(x->operands[k].reg)] = true;
	for (size_t k = 0; k < nr; k++)
		if ((ops[k].base != AREG_RIP && written[ops[k].base]) || written[ops[k].index])
			return false;
	return true;
}

/*
 * May plain load op of insns[i] be evaluated at insns[i + 1] (AOP_POSTABLE)?
 * As for an atomic, only when nothing jumps there, the next instruction
 * can be probed (no LOCK prefix) and the load writes none of the address
 * registers (capstone's full list of registers written, implicit ones too).
 */
static bool load_next_safe(csh cs, const struct func_info *fi, const cs_insn *insns, size_t n,
			   size_t i, const struct access_operand *op)
{
	cs_regs read, written;
	uint8_t nr_read, nr_written;

	if (!(op->flags & AOP_READ) || (op->flags & (AOP_WRITE | AOP_ATOMIC | AOP_REP | AOP_FRAME)))
		return false;
	if (i + 1 >= n || is_branch_target(fi, insns[i + 1].address) ||
	    insns[i + 1].detail->x86.prefix[0] == X86_PREFIX_LOCK || is_indirect_branch(&insns[i]))
		return false;
	if (cs_regs_access(cs, &insns[i], read, &nr_read, written, &nr_written) != CS_ERR_OK)
		return false;
	for (uint8_t k = 0; k < nr_written; k++) {
		__u8 r = gp_reg_any_width(written[k]);

		if (r != AREG_NONE && ((op->base != AREG_RIP && r == op->base) || r == op->index))
			return false;
	}
	return true;
}

/*
 * May the release half of the atomic insns[i] (AOP_RELEASE) be evaluated
 * at insns[i - 1]? Only when running insns[i - 1] means running insns[i]
 * next: it is no jump, call or return and nothing jumps to insns[i]; when
 * the kernel takes a probe there (no LOCK prefix); and when it writes none
 * of the atomic's address registers.
 */
static bool release_before_safe(csh cs, const struct func_info *fi, const cs_insn *insns,
				size_t i, const struct access_operand *ops, size_t nr)
{
	const cs_insn *prev;
	cs_regs read, written;
	uint8_t nr_read, nr_written;

	if (i == 0)
		return false;
	prev = &insns[i - 1];
	if (is_branch_target(fi, insns[i].address) ||
	    prev->detail->x86.prefix[0] == X86_PREFIX_LOCK ||
	    prev->address + prev->size != insns[i].address)
		return false;
	if (cs_insn_group(cs, prev, CS_GRP_JUMP) || cs_insn_group(cs, prev, CS_GRP_CALL) ||
	    cs_insn_group(cs, prev, CS_GRP_RET) || cs_insn_group(cs, prev, CS_GRP_INT) ||
	    cs_insn_group(cs, prev, CS_GRP_IRET))
		return false;
	if (cs_regs_access(cs, prev, read, &nr_read, written, &nr_written) != CS_ERR_OK)
		return false;
	for (uint8_t k = 0; k < nr_written; k++) {
		__u8 r = gp_reg_any_width(written[k]);

		for (size_t j = 0; r != AREG_NONE && j < nr; j++)
			if ((ops[j].base != AREG_RIP && r == ops[j].base) || r == ops[j].index)
				return false;
	}
	return true;
}

/*
 * The last site planned is insns[i - 1]'s: it takes the release operands
 * too when there is room, in a group of its own (an atomic site is never
 * detached, plain sites around it may be).
 */
static bool release_join_last(struct access_plan *p, __u64 vaddr,
			      const struct access_operand *rel, size_t nr)
{
	struct access_site *s = p->nr_sites ? &p->sites[p->nr_sites - 1] : NULL;

	if (!s || s->vaddr != vaddr || s->desc.nr_ops + nr > ACCESS_OPS_MAX)
		return false;
	memcpy(&s->desc.ops[s->desc.nr_ops], rel, nr * sizeof(*rel));
	s->desc.nr_ops += nr;
	if (p->group_sites > 1) {
		p->group_sites--;
		s->desc.group = ++p->nr_groups;
	}
	if (p->group_sites) {
		p->nr_groups++;
		p->group_sites = 0;
	}
	return true;
}

/*
 * Plans where the release half of the atomic insns[i] is recorded before
 * it runs (AOP_RELEASE): at the atomic itself when it has no LOCK prefix
 * (returned in own, for its own site), else at insns[i - 1]. carry: its
 * operands as evaluated after it, at insns[i + 1].
 */
static int plan_release(struct access_plan *p, const struct func_info *fi, const cs_insn *insns,
			size_t i, __u64 vaddr0, __u64 offset0, const struct access_operand *carry,
			size_t nr_carry, struct access_operand *own, size_t *nr_own)
{
	const cs_insn *insn = &insns[i];
	struct access_operand rel[ACCESS_OPS_MAX];
	__s8 back;

	for (size_t k = 0; k < nr_carry; k++) {
		rel[k] = carry[k];
		rel[k].flags |= AOP_RELEASE;
		rel[k].ip_delta = 0;
		rel[k].rip_delta = (__s8)insn->size;
	}
	if (insn->detail->x86.prefix[0] != X86_PREFIX_LOCK) {
		if (*nr_own + nr_carry > ACCESS_OPS_MAX) {
			p->nr_release_after++;
			return 0;
		}
		memcpy(&own[*nr_own], rel, nr_carry * sizeof(*rel));
		*nr_own += nr_carry;
		p->nr_release_before++;
		return 0;
	}
	if (!release_before_safe(p->cs, fi, insns, i, carry, nr_carry)) {
		p->nr_release_after++;
		return 0;
	}
	back = (__s8)insns[i - 1].size;
	for (size_t k = 0; k < nr_carry; k++) {
		rel[k].ip_delta = back;
		rel[k].rip_delta = (__s8)(back + insn->size);
	}
	p->nr_release_before++;
	if (release_join_last(p, insns[i - 1].address, rel, nr_carry))
		return 0;
	if (p->nr_sites && p->sites[p->nr_sites - 1].vaddr == insns[i - 1].address) {
		/* its probe is full: the release is recorded after the atomic */
		p->nr_release_before--;
		p->nr_release_after++;
		return 0;
	}
	return site_add(p, insns[i - 1].address, offset0 + (insns[i - 1].address - vaddr0), 0,
			rel, nr_carry);
}

/* Plans the memory operands of insns[i]; pending: an atomic's, carried over. */
static int plan_insn(struct access_plan *p, const struct func_info *fi, const cs_insn *insns,
		     size_t n, size_t i, __u64 vaddr0, __u64 offset0,
		     struct access_operand *pending, size_t *nr_pending)
{
	const cs_insn *insn = &insns[i];
	const cs_x86 *x = &insn->detail->x86;
	struct access_operand ops[ACCESS_OPS_MAX * 2];
	size_t nr = 0, nr_mem = 0;
	bool atomic;
	int why, err;

	/* what the atomic before this instruction left to evaluate here */
	memcpy(ops, pending, *nr_pending * sizeof(*ops));
	nr = *nr_pending;
	*nr_pending = 0;
	for (int k = 0; k < x->op_count; k++)
		nr_mem += x->operands[k].type == X86_OP_MEM;
	if (nr_mem)
		p->nr_memory_insns++;
	if (nr_mem && accesses_nothing(insn))
		nr_mem = 0;
	if (nr_mem && is_indirect_branch(insn)) {
		p->skipped[ASKIP_BRANCH]++;
		nr_mem = 0;
	}
	atomic = nr_mem && is_atomic(insn, true);
	if (atomic) {
		/*
		 * An atomic is recorded after it ran, at the next instruction:
		 * recorded before, a compare-exchange that wins only after
		 * another thread's release would come before that release in
		 * the trace, unordered by it. The kernel refuses a uprobe on a
		 * LOCK-prefixed instruction anyway; an XCHG whose next
		 * instruction is no safe probe is probed where it is (recorded
		 * before it runs: better than not at all).
		 */
		struct access_operand carry[ACCESS_OPS_MAX];
		size_t nr_carry = 0;

		for (int k = 0; k < x->op_count && nr_carry < ACCESS_OPS_MAX; k++) {
			if (x->operands[k].type != X86_OP_MEM)
				continue;
			why = decode_operand(fi, insn, k, &carry[nr_carry]);
			if (why) {
				p->skipped[why - 1]++;
				continue;
			}
			carry[nr_carry].flags |= AOP_ATOMIC;
			carry[nr_carry].ip_delta = -(__s8)insn->size;
			carry[nr_carry].rip_delta = 0;
			nr_carry++;
		}
		if (nr_carry && atomic_next_safe(fi, insns, n, i, carry, nr_carry)) {
			memcpy(pending, carry, nr_carry * sizeof(*carry));
			*nr_pending = nr_carry;
			nr_mem = 0;
			err = plan_release(p, fi, insns, i, vaddr0, offset0, carry, nr_carry, ops,
					   &nr);
			if (err)
				return err;
		} else if (x->prefix[0] == X86_PREFIX_LOCK) {
			p->skipped[ASKIP_ATOMIC_NEXT] += nr_carry;
			nr_mem = 0;
		} else if (nr_carry) {
			p->nr_atomic_before++;
		}
	}
	for (int k = 0; k < x->op_count && nr_mem; k++) {
		if (x->operands[k].type != X86_OP_MEM)
			continue;
		if (nr == ACCESS_OPS_MAX) {
			p->skipped[ASKIP_TOO_MANY]++;
			continue;
		}
		why = decode_operand(fi, insn, k, &ops[nr]);
		if (why) {
			p->skipped[why - 1]++;
			continue;
		}
		if (atomic)
			ops[nr].flags |= AOP_ATOMIC;
		else if (load_next_safe(p->cs, fi, insns, n, i, &ops[nr]))
			ops[nr].flags |= AOP_POSTABLE;
		nr++;
	}
	if (!nr)
		return 0;
	err = site_add(p, insn->address, offset0 + (insn->address - vaddr0),
		       i + 1 < n ? offset0 + (insns[i + 1].address - vaddr0) : 0, ops, nr);
	return err;
}

int access_plan__add_code(struct access_plan *p, const __u8 *code, size_t len, __u64 vaddr,
			  __u64 offset, bool known_function)
{
	struct access_operand pending[ACCESS_OPS_MAX];
	struct func_info fi = {};
	cs_insn *insns = NULL, *one;
	size_t n = 0, cap = 0, nr_pending = 0;
	const __u8 *at = code;
	size_t left = len;
	uint64_t addr = vaddr;
	int err = 0;

	one = cs_malloc(p->cs);
	if (!one)
		return -ENOMEM;
	while (left) {
		if (!cs_disasm_iter(p->cs, &at, &left, &addr, one)) {
			/* padding or data: skip a byte, try again */
			p->skipped[ASKIP_UNDECODABLE]++;
			at++;
			left--;
			addr++;
			continue;
		}
		err = array__reserve(&insns, &cap, n + 1, sizeof(*insns));
		if (err)
			goto out;
		insns[n] = *one;
		/* each keeps its own detail: copy it out of the iterator's */
		insns[n].detail = malloc(sizeof(*one->detail));
		if (!insns[n].detail) {
			err = -ENOMEM;
			goto out;
		}
		memcpy(insns[n].detail, one->detail, sizeof(*one->detail));
		n++;
	}
	err = scan_function(insns, n, known_function, &fi);
	if (err)
		goto out;
	if (p->group_sites) {
		p->nr_groups++;
		p->group_sites = 0;
	}
	for (size_t i = 0; i < n && !err; i++)
		err = plan_insn(p, &fi, insns, n, i, vaddr, offset, pending, &nr_pending);
	if (nr_pending)
		p->skipped[ASKIP_ATOMIC_NEXT] += nr_pending;
out:
	for (size_t i = 0; i < n; i++)
		free(insns[i].detail);
	free(insns);
	free(fi.targets);
	cs_free(one, 1);
	return err;
}

/* Sections whose code is not the program's own: lazy binding stubs, crt. */
static bool section_skipped(const char *name)
{
	return !name || !strncmp(name, ".plt", 4) || !strcmp(name, ".init") ||
	       !strcmp(name, ".fini");
}

/* Plans [lo, hi) of one section: function bodies from the symbols, and the gaps. */
static int plan_section(struct access_plan *p, const struct elf_syms *syms, const __u8 *data,
			__u64 sec_vaddr, __u64 sec_offset, __u64 size)
{
	__u64 at = sec_vaddr, end = sec_vaddr + size;
	int err = 0;

	while (at < end && !err) {
		struct elf_func fn;
		__u64 stop;

		if (!elf_syms__func_at(syms, at, &fn) && fn.vaddr == at && fn.size) {
			stop = fn.vaddr + fn.size < end ? fn.vaddr + fn.size : end;
			err = access_plan__add_code(p, data + (at - sec_vaddr), stop - at, at,
						    sec_offset + (at - sec_vaddr), true);
			at = stop;
			continue;
		}
		/* no function starts here: code up to the next one that does */
		for (stop = at + 1; stop < end; stop++)
			if (!elf_syms__func_at(syms, stop, &fn) && fn.vaddr == stop)
				break;
		if (!elf_syms__func_at(syms, at, &fn) && fn.vaddr < at) {
			/* inside a symbol that started earlier (aliases, nesting): done */
			at = fn.vaddr + fn.size > at && fn.vaddr + fn.size < stop ?
			     fn.vaddr + fn.size : stop;
			continue;
		}
		err = access_plan__add_code(p, data + (at - sec_vaddr), stop - at, at,
					    sec_offset + (at - sec_vaddr), false);
		at = stop;
	}
	return err;
}

int access_plan__add_file(struct access_plan *p, const char *path)
{
	struct elf_syms *syms;
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	Elf *elf = NULL;
	int fd, err = 0;

	syms = elf_syms__open(path);
	if (!syms)
		return -errno;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = -errno;
		goto out_syms;
	}
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF || elf_getshdrstrndx(elf, &shstrndx)) {
		err = -EINVAL;
		goto out_close;
	}
	while ((scn = elf_nextscn(elf, scn)) && !err) {
		Elf_Data *data;
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS ||
		    !(sh.sh_flags & SHF_EXECINSTR) ||
		    section_skipped(elf_strptr(elf, shstrndx, sh.sh_name)))
			continue;
		data = elf_getdata(scn, NULL);
		if (!data || !data->d_buf || data->d_size < sh.sh_size)
			continue;
		err = plan_section(p, syms, data->d_buf, sh.sh_addr, sh.sh_offset, sh.sh_size);
	}
out_close:
	if (elf)
		elf_end(elf);
	close(fd);
out_syms:
	elf_syms__close(syms);
	return err;
}
