// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <capstone/capstone.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "elf_syms.h"
#include "insn_classify.h"
#include "memorder.h"
#include "../bpf/events.h"

#define FILES_MAX 64
/*
 * Each file's answers by next instruction, direct-mapped: a watched word is
 * hit from a few instructions, again and again, and decoding one again cost
 * a function's disassembly (or fifteen capstone sessions in stripped code):
 * 70% of ipcrace's CPU attached to nginx before the cache.
 */
#define CACHE_SLOTS 1024

struct classified {
	__u64 next_off;		/* + 1: 0 is an empty slot */
	__u32 flags;
	int err;
};

struct elf_file {
	char *path;
	struct elf_syms *syms;
	struct memorder *orders;	/* NULL: no line table (nothing is relaxed) */
	bool orders_tried;
	struct classified *cache;	/* CACHE_SLOTS, allocated at the first hit */
};

struct insn_classifier {
	struct elf_file files[FILES_MAX];
	size_t nr_files;
	csh cs;
};

static int load_file(struct elf_file *f, const char *path)
{
	memset(f, 0, sizeof(*f));
	f->path = strdup(path);
	if (!f->path)
		return -ENOMEM;
	f->syms = elf_syms__open(path);
	return f->syms ? 0 : -errno;
}

static void free_file(struct elf_file *f)
{
	free(f->path);
	elf_syms__close(f->syms);
	memorder__free(f->orders);
	free(f->cache);
}

/*
 * A relaxed atomic's access is atomic and orders nothing; a plain one
 * that is the atomic of a statement naming an ordered order (a store of
 * one that stores, a load of one that loads or updates) makes its word an
 * atomic variable (tracer/memorder.h).
 */
static void classify_order(struct elf_file *f, __u64 vaddr, __u32 *flags)
{
	enum memorder_kind order;
	unsigned int ops;

	if (!f->orders_tried) {
		f->orders = memorder__open(f->path);
		f->orders_tried = true;
	}
	order = memorder__order_ops_at(f->orders, vaddr, &ops);
	if (order == MEMORDER_RELAXED)
		*flags |= EVF_RELAXED;
	else if (order == MEMORDER_ORDERED && !(*flags & EVF_ATOMIC) &&
		 (*flags & EVF_WRITE ? ops & MEMORDER_OP_STORE :
				       ops & (MEMORDER_OP_LOAD | MEMORDER_OP_RMW)))
		*flags |= EVF_ORDERED;
}

struct insn_classifier *insn_classifier__new(void)
{
	struct insn_classifier *c;

	c = calloc(1, sizeof(*c));
	if (!c) {
		errno = ENOMEM;
		return NULL;
	}
	if (cs_open(CS_ARCH_X86, CS_MODE_64, &c->cs) != CS_ERR_OK) {
		free(c);
		errno = EINVAL;
		return NULL;
	}
	cs_option(c->cs, CS_OPT_DETAIL, CS_OPT_ON);
	return c;
}

void insn_classifier__free(struct insn_classifier *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nr_files; i++)
		free_file(&c->files[i]);
	cs_close(&c->cs);
	free(c);
}

static struct elf_file *get_file(struct insn_classifier *c, const char *path)
{
	struct elf_file *f;

	for (size_t i = 0; i < c->nr_files; i++)
		if (!strcmp(c->files[i].path, path))
			return &c->files[i];
	if (c->nr_files == FILES_MAX)
		return NULL;
	f = &c->files[c->nr_files];
	if (load_file(f, path)) {
		free_file(f);
		return NULL;
	}
	c->nr_files++;
	return f;
}

static bool is_vex_or_evex(const cs_insn *insn)
{
	/* capstone's opcode bytes leave VEX/EVEX out; its groups name them */
	for (int i = 0; i < insn->detail->groups_count; i++)
		switch (insn->detail->groups[i]) {
		case X86_GRP_AVX:
		case X86_GRP_AVX2:
		case X86_GRP_AVX512:
		case X86_GRP_FMA:
		case X86_GRP_FMA4:
		case X86_GRP_F16C:
			return true;
		default:
			break;
		}
	return false;
}

/* A legacy SSE/MMX instruction (no VEX): capstone's groups name it. */
static bool is_legacy_vector(const cs_insn *insn)
{
	for (int i = 0; i < insn->detail->groups_count; i++)
		switch (insn->detail->groups[i]) {
		case X86_GRP_SSE1:
		case X86_GRP_SSE2:
		case X86_GRP_SSE3:
		case X86_GRP_SSE41:
		case X86_GRP_SSE42:
		case X86_GRP_SSE4A:
		case X86_GRP_SSSE3:
		case X86_GRP_MMX:
			return true;
		default:
			break;
		}
	return false;
}

/*
 * capstone 4 gets some wrong: a legacy SSE store ("movups xmmword ptr
 * [rdi], xmm0", movaps, movdqa, movq, movlps, movhps, movntdq, extractps:
 * what gcc makes of a 16-byte memset or struct copy) comes out as a read,
 * as does a VEX/EVEX store ("vmovdqu ymmword ptr
 * [rdi], ymm0", every AVX-512 store) comes out as a read, cmpxchg's
 * operand as a read only. A VEX/EVEX instruction writes memory exactly
 * when memory is its destination (operand 0 of two or more).
 */
__u32 insn_classify__operand(const cs_insn *insn, int k)
{
	const cs_x86_op *op = &insn->detail->x86.operands[k];
	__u32 rw = 0;

	if (is_vex_or_evex(insn))
		return k == 0 && insn->detail->x86.op_count > 1 ? EVF_WRITE : EVF_READ;
	/* legacy SSE/MMX: memory as the destination is always a plain store */
	if (is_legacy_vector(insn) && k == 0 && insn->detail->x86.op_count > 1)
		return EVF_WRITE;
	switch (insn->id) {
	case X86_INS_CMPXCHG:
	case X86_INS_CMPXCHG8B:
	case X86_INS_CMPXCHG16B:
	case X86_INS_XADD:
	case X86_INS_XCHG:
		return EVF_READ | EVF_WRITE;
	default:
		break;
	}
	if (op->access & CS_AC_READ)
		rw |= EVF_READ;
	if (op->access & CS_AC_WRITE)
		rw |= EVF_WRITE;
	/* capstone leaves access unset for some forms: a memory operand then reads */
	return rw ? rw : EVF_READ;
}

static void classify_insn(const cs_insn *insn, __u32 *flags)
{
	const cs_x86 *x = &insn->detail->x86;
	__u32 rw = 0;

	for (int i = 0; i < x->op_count; i++)
		if (x->operands[i].type == X86_OP_MEM)
			rw |= insn_classify__operand(insn, i);
	*flags = rw & EVF_WRITE ? EVF_WRITE : rw & EVF_READ ? EVF_READ : 0;
	if (x->prefix[0] == X86_PREFIX_LOCK)
		*flags |= EVF_ATOMIC;
	if (insn->id == X86_INS_XCHG && rw)
		*flags |= EVF_ATOMIC;	/* xchg with memory is locked implicitly */
}

int insn_classify__bytes(const __u8 *code, size_t len, __u32 *flags, size_t *insn_len)
{
	cs_insn *insn;
	csh cs;
	int err = -EINVAL;

	if (cs_open(CS_ARCH_X86, CS_MODE_64, &cs) != CS_ERR_OK)
		return -EINVAL;
	cs_option(cs, CS_OPT_DETAIL, CS_OPT_ON);
	if (cs_disasm(cs, code, len, 0, 1, &insn) == 1) {
		classify_insn(insn, flags);
		*insn_len = insn->size;
		cs_free(insn, 1);
		err = 0;
	}
	cs_close(&cs);
	return err;
}

/*
 * No symbol covers the access (stripped code): the longest instruction
 * with a memory operand that decodes to end exactly at next. A guess, but
 * x86 encodings rarely allow two such parses.
 */
static int classify_backwards(struct elf_file *f, __u64 next_off, __u32 *flags)
{
	__u8 code[15];
	size_t k, len;
	__u32 fl;

	if (next_off < sizeof(code) ||
	    elf_syms__read(f->syms, next_off - sizeof(code), code, sizeof(code)))
		return -ENOENT;
	for (k = sizeof(code); k > 0; k--) {
		if (insn_classify__bytes(code + sizeof(code) - k, k, &fl, &len) || len != k)
			continue;
		if (fl & (EVF_READ | EVF_WRITE)) {
			*flags = fl;
			return 0;
		}
	}
	return -ENOENT;
}

static int classify_uncached(struct insn_classifier *c, struct elf_file *f, __u64 next_off,
			     __u32 *flags)
{
	struct elf_func fn;
	__u64 next;
	const __u8 *p;
	__u8 *code;
	size_t size, n;
	uint64_t addr;
	cs_insn *insn;
	int err = -ENOENT;

	if (elf_syms__offset_to_vaddr(f->syms, next_off, &next))
		return -ENOENT;
	/* the function whose body holds the byte just before next (the access) */
	if (!next || elf_syms__func_at(f->syms, next - 1, &fn))
		return classify_backwards(f, next_off, flags);
	size = next - fn.vaddr;
	code = malloc(size);
	if (!code)
		return -ENOMEM;
	if (elf_syms__read(f->syms, fn.offset, code, size))
		goto out_free;
	insn = cs_malloc(c->cs);
	if (!insn)
		goto out_free;
	p = code;
	n = size;
	addr = fn.vaddr;
	/* walk instruction by instruction until one ends at next */
	while (cs_disasm_iter(c->cs, &p, &n, &addr, insn)) {
		if (addr == next) {
			classify_insn(insn, flags);
			classify_order(f, insn->address, flags);
			err = 0;
			break;
		}
		if (addr > next)
			break;
	}
	cs_free(insn, 1);
out_free:
	free(code);
	return err;
}

int insn_classifier__classify(struct insn_classifier *c, const char *path, __u64 next_off,
			      __u32 *flags)
{
	struct elf_file *f = get_file(c, path);
	struct classified *slot;
	__u32 fl = 0;
	int err;

	if (!f)
		return -ENOENT;
	if (!f->cache)
		f->cache = calloc(CACHE_SLOTS, sizeof(*f->cache));
	if (!f->cache)
		return classify_uncached(c, f, next_off, flags);
	slot = &f->cache[(next_off * 0x9e3779b97f4a7c15ULL) >> 54];
	if (slot->next_off == next_off + 1) {
		if (!slot->err)
			*flags = slot->flags;
		return slot->err;
	}
	err = classify_uncached(c, f, next_off, &fl);
	if (err == -ENOMEM)
		return err;	/* not an answer about the instruction */
	*slot = (struct classified){ .next_off = next_off + 1, .flags = fl, .err = err };
	if (!err)
		*flags = fl;
	return err;
}
