// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <capstone/capstone.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>

#include "../analyzer/array.h"
#include "../bpf/events.h"
#include "elf_syms.h"
#include "hang_cond.h"

#define DECODE_BYTES 256	/* the straight-line start of a function is shorter */
#define DECODE_INSNS 48
#define CACHE_MAX 64		/* decoded functions kept per run */

/* The registers the decoder follows: the two argument registers, then the callee-saved ones. */
enum track_reg { T_RDI, T_RSI, T_RBX, T_RBP, T_R12, T_R13, T_R14, T_R15, T_NR, T_NONE = -1 };

static const int track_ureg[T_NR] = {
	[T_RDI] = HANG_COND_NO_REG, [T_RSI] = HANG_COND_NO_REG, [T_RBX] = UREG_BX,
	[T_RBP] = UREG_BP, [T_R12] = UREG_R12, [T_R13] = UREG_R13, [T_R14] = UREG_R14,
	[T_R15] = UREG_R15,
};

/* Which tracked register reg (any width) is part of; full: only the 64-bit name. */
static enum track_reg track_of(unsigned int reg, bool full)
{
	static const struct {
		unsigned int r64, r32, r16, r8;
		enum track_reg t;
	} regs[] = {
		{ X86_REG_RDI, X86_REG_EDI, X86_REG_DI, X86_REG_DIL, T_RDI },
		{ X86_REG_RSI, X86_REG_ESI, X86_REG_SI, X86_REG_SIL, T_RSI },
		{ X86_REG_RBX, X86_REG_EBX, X86_REG_BX, X86_REG_BL, T_RBX },
		{ X86_REG_RBP, X86_REG_EBP, X86_REG_BP, X86_REG_BPL, T_RBP },
		{ X86_REG_R12, X86_REG_R12D, X86_REG_R12W, X86_REG_R12B, T_R12 },
		{ X86_REG_R13, X86_REG_R13D, X86_REG_R13W, X86_REG_R13B, T_R13 },
		{ X86_REG_R14, X86_REG_R14D, X86_REG_R14W, X86_REG_R14B, T_R14 },
		{ X86_REG_R15, X86_REG_R15D, X86_REG_R15W, X86_REG_R15B, T_R15 },
	};

	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++) {
		if (reg == regs[i].r64)
			return regs[i].t;
		if (!full && (reg == regs[i].r32 || reg == regs[i].r16 || reg == regs[i].r8 ||
			      (regs[i].t == T_RBX && reg == X86_REG_BH)))
			return regs[i].t;
	}
	return T_NONE;
}

static bool ends_straight_line(const cs_insn *insn)
{
	const cs_detail *d = insn->detail;

	for (int i = 0; i < d->groups_count; i++)
		if (d->groups[i] == CS_GRP_JUMP || d->groups[i] == CS_GRP_CALL ||
		    d->groups[i] == CS_GRP_RET || d->groups[i] == CS_GRP_INT ||
		    d->groups[i] == CS_GRP_IRET)
			return true;
	return false;
}

/* holds[r]: which argument (1, 2) register r holds, 0 none. */
static void step(const cs_insn *insn, int holds[T_NR])
{
	const cs_detail *d = insn->detail;
	const cs_x86_op *ops = d->x86.operands;

	if (insn->id == X86_INS_MOV && d->x86.op_count == 2 && ops[0].type == X86_OP_REG &&
	    ops[1].type == X86_OP_REG) {
		enum track_reg dst = track_of(ops[0].reg, false);
		enum track_reg src = track_of(ops[1].reg, true);
		enum track_reg dst64 = track_of(ops[0].reg, true);

		if (dst != T_NONE)
			holds[dst] = dst64 != T_NONE && src != T_NONE ? holds[src] : 0;
		return;
	}
	for (int i = 0; i < d->regs_write_count; i++) {
		enum track_reg t = track_of(d->regs_write[i], false);

		if (t != T_NONE)
			holds[t] = 0;
	}
	for (int i = 0; i < d->x86.op_count; i++) {
		enum track_reg t;

		if (ops[i].type != X86_OP_REG || !(ops[i].access & CS_AC_WRITE))
			continue;
		t = track_of(ops[i].reg, false);
		if (t != T_NONE)
			holds[t] = 0;
	}
}

int hang_cond__decode(const __u8 *code, size_t len, int *arg1, int *arg2)
{
	int holds[T_NR] = { [T_RDI] = 1, [T_RSI] = 2 };
	const uint8_t *p = code;
	uint64_t addr = 0;
	cs_insn *insn;
	csh cs;

	if (!code || !len || !arg1 || !arg2)
		return -EINVAL;
	*arg1 = *arg2 = HANG_COND_NO_REG;
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK)
		return -ENOMEM;
	cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);
	insn = cs_malloc(cs);
	if (!insn) {
		cs_close(&cs);
		return -ENOMEM;
	}
	for (int n = 0; n < DECODE_INSNS && cs_disasm_iter(cs, &p, &len, &addr, insn); n++) {
		if (ends_straight_line(insn))
			break;
		step(insn, holds);
	}
	cs_free(insn, 1);
	cs_close(&cs);
	for (int r = T_RBX; r < T_NR; r++) {
		if (holds[r] == 1 && *arg1 == HANG_COND_NO_REG)
			*arg1 = track_ureg[r];
		if (holds[r] == 2 && *arg2 == HANG_COND_NO_REG)
			*arg2 = track_ureg[r];
	}
	return *arg1 == HANG_COND_NO_REG && *arg2 == HANG_COND_NO_REG ? -ENOENT : 0;
}

/* --- functions of the processes' files ------------------------------------ */

struct cond_func {
	char path[PATH_MAX];
	__u64 start, end;	/* [start, end): addresses relative to the load of offset 0 */
	int arg1, arg2;
	int err;
};

struct hang_conds {
	struct cond_func *funcs;
	size_t nr, cap;
};

struct hang_conds *hang_conds__new(void)
{
	return calloc(1, sizeof(struct hang_conds));
}

void hang_conds__free(struct hang_conds *c)
{
	if (!c)
		return;
	free(c->funcs);
	free(c);
}

/* Decodes the function of file path holding the address (relative to offset 0's load) at. */
static void decode_at(const char *path, __u64 at, struct cond_func *f)
{
	struct elf_syms *s = elf_syms__open(path);
	__u8 code[DECODE_BYTES];
	struct elf_func fn;
	__u64 link_base = 0, len;

	f->err = -ENOENT;
	if (!s) {
		f->err = -errno;
		return;
	}
	/* symbol values are link-time addresses: offset 0 is linked at link_base */
	if (elf_syms__offset_to_vaddr(s, 0, &link_base))
		link_base = 0;
	if (!elf_syms__func_at(s, at + link_base, &fn)) {
		f->start = fn.vaddr - link_base;
		f->end = f->start + (fn.size ? fn.size : 1);
		len = fn.size && fn.size < sizeof(code) ? fn.size : sizeof(code);
		if (elf_syms__read(s, fn.offset, code, len))
			f->err = -EIO;
		else
			f->err = hang_cond__decode(code, len, &f->arg1, &f->arg2);
	}
	elf_syms__close(s);
}

int hang_conds__arg_regs(struct hang_conds *c, __u32 pid, const char *module, __u64 offset,
			 bool ret_addr, int *arg1, int *arg2)
{
	__u64 at = ret_addr && offset ? offset - 1 : offset;
	char path[PATH_MAX];
	struct cond_func *f;

	if (!c || !module || module[0] != '/' || !arg1 || !arg2)
		return -EINVAL;
	if (snprintf(path, sizeof(path), "/proc/%u/root%s", pid, module) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	for (size_t i = 0; i < c->nr; i++) {
		f = &c->funcs[i];
		/* the same file seen from another process's root: its own path */
		if (at >= f->start && at < f->end && !strcmp(f->path, path))
			goto found;
	}
	if (c->nr == CACHE_MAX)
		c->nr = 0;	/* a run meets a few condition-variable functions, not 64 */
	if (array__reserve(&c->funcs, &c->cap, c->nr + 1, sizeof(*c->funcs)))
		return -ENOMEM;
	f = &c->funcs[c->nr];
	memset(f, 0, sizeof(*f));
	f->arg1 = f->arg2 = HANG_COND_NO_REG;
	snprintf(f->path, sizeof(f->path), "%s", path);
	decode_at(path, at, f);
	if (f->end <= f->start) {
		/* no function there: remembered for this address only */
		f->start = at;
		f->end = at + 1;
	}
	c->nr++;
found:
	*arg1 = f->arg1;
	*arg2 = f->arg2;
	return f->err;
}
