// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <capstone/capstone.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "insn_classify.h"
#include "../bpf/events.h"

#define FILES_MAX 64
#define FUNC_MAX_BYTES (1u << 20)

struct func_sym {
	__u64 vaddr;
	__u64 size;
};

struct elf_file {
	char *path;
	int fd;
	struct func_sym *funcs;		/* sorted by vaddr */
	size_t nr_funcs;
	GElf_Phdr *loads;
	size_t nr_loads;
};

struct insn_classifier {
	struct elf_file files[FILES_MAX];
	size_t nr_files;
	csh cs;
};

static int cmp_func(const void *a, const void *b)
{
	const struct func_sym *x = a, *y = b;

	return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

static int load_file(struct elf_file *f, const char *path)
{
	Elf_Scn *scn = NULL;
	size_t nphdr, i, cap = 0;
	Elf *elf;
	int err = -EINVAL;

	memset(f, 0, sizeof(*f));
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->fd < 0)
		return -errno;
	f->path = strdup(path);
	elf = elf_begin(f->fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF || elf_getphdrnum(elf, &nphdr) || !f->path)
		goto out;
	f->loads = calloc(nphdr ? nphdr : 1, sizeof(*f->loads));
	if (!f->loads)
		goto out;
	for (i = 0; i < nphdr; i++) {
		GElf_Phdr ph;

		if (gelf_getphdr(elf, i, &ph) && ph.p_type == PT_LOAD)
			f->loads[f->nr_loads++] = ph;
	}
	while ((scn = elf_nextscn(elf, scn))) {
		Elf_Data *data;
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM))
			continue;
		data = elf_getdata(scn, NULL);
		if (!data || !sh.sh_entsize)
			continue;
		for (i = 0; i < sh.sh_size / sh.sh_entsize; i++) {
			GElf_Sym sym;

			if (!gelf_getsym(data, i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
			    sym.st_shndx == SHN_UNDEF || !sym.st_value || !sym.st_size)
				continue;
			if (f->nr_funcs == cap) {
				struct func_sym *grown;

				cap = cap ? cap * 2 : 256;
				grown = realloc(f->funcs, cap * sizeof(*grown));
				if (!grown) {
					err = -ENOMEM;
					goto out;
				}
				f->funcs = grown;
			}
			f->funcs[f->nr_funcs].vaddr = sym.st_value;
			f->funcs[f->nr_funcs].size = sym.st_size;
			f->nr_funcs++;
		}
	}
	qsort(f->funcs, f->nr_funcs, sizeof(*f->funcs), cmp_func);
	err = 0;
out:
	if (elf)
		elf_end(elf);
	return err;
}

static void free_file(struct elf_file *f)
{
	free(f->path);
	free(f->funcs);
	free(f->loads);
	if (f->fd >= 0)
		close(f->fd);
}

struct insn_classifier *insn_classifier__new(void)
{
	struct insn_classifier *c;

	if (elf_version(EV_CURRENT) == EV_NONE) {
		errno = EINVAL;
		return NULL;
	}
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

static int off_to_vaddr(const struct elf_file *f, __u64 off, __u64 *vaddr)
{
	for (size_t i = 0; i < f->nr_loads; i++) {
		const GElf_Phdr *ph = &f->loads[i];

		if (off >= ph->p_offset && off <= ph->p_offset + ph->p_filesz) {
			*vaddr = off - ph->p_offset + ph->p_vaddr;
			return 0;
		}
	}
	return -ENOENT;
}

static int vaddr_to_off(const struct elf_file *f, __u64 vaddr, __u64 *off)
{
	for (size_t i = 0; i < f->nr_loads; i++) {
		const GElf_Phdr *ph = &f->loads[i];

		if (vaddr >= ph->p_vaddr && vaddr < ph->p_vaddr + ph->p_filesz) {
			*off = vaddr - ph->p_vaddr + ph->p_offset;
			return 0;
		}
	}
	return -ENOENT;
}

/* The function whose body holds the byte just before next (the access). */
static const struct func_sym *find_func(const struct elf_file *f, __u64 next)
{
	size_t lo = 0, hi = f->nr_funcs;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (f->funcs[mid].vaddr < next)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* several symbols may start at one address: any that covers it */
	while (lo-- > 0) {
		const struct func_sym *fn = &f->funcs[lo];

		if (next > fn->vaddr && next <= fn->vaddr + fn->size)
			return fn;
		if (next - fn->vaddr > FUNC_MAX_BYTES)
			break;
	}
	return NULL;
}

static void classify_insn(const cs_insn *insn, __u32 *flags)
{
	const cs_x86 *x = &insn->detail->x86;
	bool reads = false, writes = false;

	for (int i = 0; i < x->op_count; i++) {
		if (x->operands[i].type != X86_OP_MEM)
			continue;
		if (x->operands[i].access & CS_AC_WRITE)
			writes = true;
		if (x->operands[i].access & CS_AC_READ)
			reads = true;
	}
	/* capstone leaves access unset for some forms: a memory operand then reads */
	if (!reads && !writes)
		for (int i = 0; i < x->op_count; i++)
			if (x->operands[i].type == X86_OP_MEM)
				reads = true;
	*flags = writes ? EVF_WRITE : reads ? EVF_READ : 0;
	if (x->prefix[0] == X86_PREFIX_LOCK)
		*flags |= EVF_ATOMIC;
	if (insn->id == X86_INS_XCHG && (reads || writes))
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
	    pread(f->fd, code, sizeof(code), next_off - sizeof(code)) != sizeof(code))
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

int insn_classifier__classify(struct insn_classifier *c, const char *path, __u64 next_off,
			      __u32 *flags)
{
	const struct func_sym *fn;
	struct elf_file *f;
	__u64 next, off;
	const __u8 *p;
	__u8 *code;
	size_t size, n;
	uint64_t addr;
	cs_insn *insn;
	int err = -ENOENT;

	f = get_file(c, path);
	if (!f || off_to_vaddr(f, next_off, &next))
		return -ENOENT;
	fn = find_func(f, next);
	if (!fn || vaddr_to_off(f, fn->vaddr, &off))
		return classify_backwards(f, next_off, flags);
	size = next - fn->vaddr;
	code = malloc(size);
	if (!code)
		return -ENOMEM;
	if (pread(f->fd, code, size, off) != (ssize_t)size)
		goto out_free;
	insn = cs_malloc(c->cs);
	if (!insn)
		goto out_free;
	p = code;
	n = size;
	addr = fn->vaddr;
	/* walk instruction by instruction until one ends at next */
	while (cs_disasm_iter(c->cs, &p, &n, &addr, insn)) {
		if (addr == next) {
			classify_insn(insn, flags);
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
