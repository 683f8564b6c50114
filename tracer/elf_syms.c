// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elf_syms.h"

/* Names point into the section data of elf, which lives as long as s. */
struct sym_entry {
	const char *name;
	__u64 vaddr;
	__u64 size;
	bool default_version;	/* unversioned, or the @@ version */
	bool ifunc;		/* STT_GNU_IFUNC: the resolver, found by name only */
};

struct obj_entry {
	const char *name;
	__u64 value;
	__u64 size;
	bool defined;		/* st_shndx != SHN_UNDEF */
};

struct elf_syms {
	int fd;
	Elf *elf;
	bool is_static_exec;
	bool is_pie;
	struct sym_entry *syms;		/* functions, in file order (find's tie-break) */
	size_t nr_syms;
	const struct sym_entry **by_addr;	/* the same, sorted by vaddr */
	struct obj_entry *objs;		/* STT_OBJECT, in file order */
	size_t nr_objs;
	GElf_Phdr *loads;	/* PT_LOAD headers, to turn vaddr into offset */
	size_t nr_loads;
};

/* arr, with room for one more of sz bytes after its nr; NULL when out of memory. */
static void *grow(void *arr, size_t nr, size_t sz)
{
	if (nr % 1024)
		return arr;
	return realloc(arr, (nr + 1024) * sz);
}

static int add_object(struct elf_syms *s, const char *name, const GElf_Sym *sym)
{
	struct obj_entry *e = grow(s->objs, s->nr_objs, sizeof(*e));

	if (!e)
		return -ENOMEM;
	s->objs = e;
	e = &s->objs[s->nr_objs++];
	e->name = name;
	e->value = sym->st_value;
	e->size = sym->st_size;
	e->defined = sym->st_shndx != SHN_UNDEF;
	return 0;
}

static int add_symbols(struct elf_syms *s, Elf_Scn *scn, GElf_Shdr *sh, Elf_Data *versym)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t n, i;

	if (!data || !sh->sh_entsize)
		return 0;
	n = sh->sh_size / sh->sh_entsize;
	for (i = 0; i < n; i++) {
		struct sym_entry *e;
		const char *name;
		GElf_Sym sym;
		GElf_Versym ver = 0;
		int type;

		if (!gelf_getsym(data, i, &sym))
			continue;
		type = GELF_ST_TYPE(sym.st_info);
		name = elf_strptr(s->elf, sh->sh_link, sym.st_name);
		if (type == STT_OBJECT) {
			if (name && *name && add_object(s, name, &sym))
				return -ENOMEM;
			continue;
		}
		if (type != STT_FUNC && type != STT_GNU_IFUNC)
			continue;
		if (sym.st_shndx == SHN_UNDEF || !sym.st_value)
			continue;
		/* a nameless function still bounds code for elf_syms__func_at */
		if (!name)
			name = "";
		if (versym)
			gelf_getversym(versym, i, &ver);
		e = grow(s->syms, s->nr_syms, sizeof(*e));
		if (!e)
			return -ENOMEM;
		s->syms = e;
		e = &s->syms[s->nr_syms];
		e->name = name;
		e->vaddr = sym.st_value;
		e->size = sym.st_size;
		/* bit 15 of versym marks a hidden (non-default, "@") version */
		e->default_version = !(ver & 0x8000);
		e->ifunc = type == STT_GNU_IFUNC;
		s->nr_syms++;
	}
	return 0;
}

static int cmp_addr(const void *a, const void *b)
{
	const struct sym_entry *x = *(const struct sym_entry *const *)a;
	const struct sym_entry *y = *(const struct sym_entry *const *)b;

	if (x->vaddr != y->vaddr)
		return x->vaddr < y->vaddr ? -1 : 1;
	/* file order among equals, so lookups do not depend on qsort */
	return x < y ? -1 : x > y;
}

static int sort_by_addr(struct elf_syms *s)
{
	s->by_addr = calloc(s->nr_syms ? s->nr_syms : 1, sizeof(*s->by_addr));
	if (!s->by_addr)
		return -ENOMEM;
	for (size_t i = 0; i < s->nr_syms; i++)
		s->by_addr[i] = &s->syms[i];
	qsort(s->by_addr, s->nr_syms, sizeof(*s->by_addr), cmp_addr);
	return 0;
}

struct elf_syms *elf_syms__open(const char *path)
{
	struct elf_syms *s;
	Elf_Scn *scn = NULL;
	Elf_Data *versym = NULL;
	size_t nphdr, i;
	GElf_Ehdr eh;
	int err = -EINVAL;

	if (elf_version(EV_CURRENT) == EV_NONE) {
		errno = EINVAL;
		return NULL;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		errno = ENOMEM;
		return NULL;
	}
	s->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (s->fd < 0) {
		err = -errno;
		goto err_free;
	}
	s->elf = elf_begin(s->fd, ELF_C_READ_MMAP, NULL);
	if (!s->elf || elf_kind(s->elf) != ELF_K_ELF || !gelf_getehdr(s->elf, &eh))
		goto err_free;
	s->is_pie = eh.e_type == ET_DYN;
	if (elf_getphdrnum(s->elf, &nphdr))
		goto err_free;
	s->loads = calloc(nphdr ? nphdr : 1, sizeof(*s->loads));
	if (!s->loads) {
		err = -ENOMEM;
		goto err_free;
	}
	s->is_static_exec = true;
	for (i = 0; i < nphdr; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(s->elf, i, &ph))
			continue;
		if (ph.p_type == PT_INTERP || ph.p_type == PT_DYNAMIC)
			s->is_static_exec = false;
		if (ph.p_type == PT_LOAD)
			s->loads[s->nr_loads++] = ph;
	}
	/* the version table applies to .dynsym only */
	while ((scn = elf_nextscn(s->elf, scn))) {
		GElf_Shdr sh;

		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_GNU_versym)
			versym = elf_getdata(scn, NULL);
	}
	scn = NULL;
	while ((scn = elf_nextscn(s->elf, scn))) {
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_DYNSYM)
			err = add_symbols(s, scn, &sh, versym);
		else if (sh.sh_type == SHT_SYMTAB)
			err = add_symbols(s, scn, &sh, NULL);
		else
			continue;
		if (err)
			goto err_free;
	}
	err = sort_by_addr(s);
	if (err)
		goto err_free;
	return s;

err_free:
	elf_syms__close(s);
	errno = -err;
	return NULL;
}

void elf_syms__close(struct elf_syms *s)
{
	if (!s)
		return;
	free(s->syms);
	free(s->by_addr);
	free(s->objs);
	free(s->loads);
	if (s->elf)
		elf_end(s->elf);
	if (s->fd >= 0)
		close(s->fd);
	free(s);
}

static int vaddr_to_offset(const struct elf_syms *s, __u64 vaddr, __u64 *off)
{
	size_t i;

	for (i = 0; i < s->nr_loads; i++) {
		const GElf_Phdr *ph = &s->loads[i];

		if (vaddr >= ph->p_vaddr && vaddr < ph->p_vaddr + ph->p_filesz) {
			*off = vaddr - ph->p_vaddr + ph->p_offset;
			return 0;
		}
	}
	return -ENOENT;
}

/*
 * Several entries may match: the same symbol in .dynsym and .symtab, or two
 * versions (pthread_cond_wait@GLIBC_2.2.5 and @@GLIBC_2.3.2) at different
 * addresses. The default version wins; among equals, the first.
 */
int elf_syms__find(const struct elf_syms *s, const char *name, struct elf_func *out)
{
	const struct sym_entry *best = NULL;
	size_t i;

	for (i = 0; i < s->nr_syms; i++) {
		const struct sym_entry *e = &s->syms[i];

		if (!*e->name || strcmp(e->name, name))
			continue;
		if (!best || (e->default_version && !best->default_version))
			best = e;
	}
	if (!best)
		return -ENOENT;
	out->vaddr = best->vaddr;
	out->size = best->size;
	return vaddr_to_offset(s, best->vaddr, &out->offset);
}

bool elf_syms__is_static_exec(const struct elf_syms *s)
{
	return s->is_static_exec;
}

int elf_syms__read(const struct elf_syms *s, __u64 off, void *buf, size_t len)
{
	ssize_t n = pread(s->fd, buf, len, off);

	if (n < 0)
		return -errno;
	return n == (ssize_t)len ? 0 : -EIO;
}

bool elf_syms__is_pie(const struct elf_syms *s)
{
	return s->is_pie;
}

int elf_syms__for_each_object(const struct elf_syms *s,
			      bool (*fn)(const char *name, __u64 value, __u64 size, void *ctx),
			      void *ctx)
{
	for (size_t i = 0; i < s->nr_objs; i++) {
		const struct obj_entry *o = &s->objs[i];

		if (o->defined && fn(o->name, o->value, o->size, ctx))
			return 0;
	}
	return -ENOENT;
}

/*
 * Symbols may nest or overlap (aliases, local labels with sizes), so the
 * containing one need not start right before vaddr: walk back from there,
 * but no further than any sane function is long.
 */
#define FUNC_MAX_BYTES (1u << 20)

int elf_syms__func_at(const struct elf_syms *s, __u64 vaddr, struct elf_func *out)
{
	size_t lo = 0, hi = s->nr_syms;

	/* the first symbol starting after vaddr */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (s->by_addr[mid]->vaddr <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	while (lo-- > 0) {
		const struct sym_entry *e = s->by_addr[lo];

		if (!e->ifunc && vaddr - e->vaddr < e->size) {
			out->vaddr = e->vaddr;
			out->size = e->size;
			return vaddr_to_offset(s, e->vaddr, &out->offset);
		}
		if (vaddr - e->vaddr >= FUNC_MAX_BYTES)
			break;
	}
	return -ENOENT;
}

int elf_syms__offset_to_vaddr(const struct elf_syms *s, __u64 off, __u64 *vaddr)
{
	for (size_t i = 0; i < s->nr_loads; i++) {
		const GElf_Phdr *ph = &s->loads[i];

		/* inclusive end: the address right after a segment's last instruction */
		if (off >= ph->p_offset && off <= ph->p_offset + ph->p_filesz) {
			*vaddr = off - ph->p_offset + ph->p_vaddr;
			return 0;
		}
	}
	return -ENOENT;
}
