// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elf_syms.h"

struct sym_entry {
	char *name;
	__u64 vaddr;
	__u64 size;
	bool default_version;	/* unversioned, or the @@ version */
};

struct elf_syms {
	int fd;
	Elf *elf;
	bool is_static_exec;
	struct sym_entry *syms;
	size_t nr_syms;
	GElf_Phdr *loads;	/* PT_LOAD headers, to turn vaddr into offset */
	size_t nr_loads;
};

static int add_symbols(struct elf_syms *s, Elf_Scn *scn, GElf_Shdr *sh, Elf_Data *versym)
{
	Elf_Data *data = elf_getdata(scn, NULL);
	size_t n, i;

	if (!data || !sh->sh_entsize)
		return 0;
	n = sh->sh_size / sh->sh_entsize;
	for (i = 0; i < n; i++) {
		struct sym_entry *grown, *e;
		const char *name;
		GElf_Sym sym;
		GElf_Versym ver = 0;

		if (!gelf_getsym(data, i, &sym))
			continue;
		if (GELF_ST_TYPE(sym.st_info) != STT_FUNC && GELF_ST_TYPE(sym.st_info) != STT_GNU_IFUNC)
			continue;
		if (sym.st_shndx == SHN_UNDEF || !sym.st_value)
			continue;
		name = elf_strptr(s->elf, sh->sh_link, sym.st_name);
		if (!name || !*name)
			continue;
		if (versym)
			gelf_getversym(versym, i, &ver);
		if (s->nr_syms % 1024 == 0) {
			grown = realloc(s->syms, (s->nr_syms + 1024) * sizeof(*grown));
			if (!grown)
				return -ENOMEM;
			s->syms = grown;
		}
		e = &s->syms[s->nr_syms];
		e->name = strdup(name);
		if (!e->name)
			return -ENOMEM;
		e->vaddr = sym.st_value;
		e->size = sym.st_size;
		/* bit 15 of versym marks a hidden (non-default, "@") version */
		e->default_version = !(ver & 0x8000);
		s->nr_syms++;
	}
	return 0;
}

struct elf_syms *elf_syms__open(const char *path)
{
	struct elf_syms *s;
	Elf_Scn *scn = NULL;
	Elf_Data *versym = NULL;
	size_t nphdr, i;
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
	if (!s->elf || elf_kind(s->elf) != ELF_K_ELF)
		goto err_free;
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
	return s;

err_free:
	elf_syms__close(s);
	errno = -err;
	return NULL;
}

void elf_syms__close(struct elf_syms *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->nr_syms; i++)
		free(s->syms[i].name);
	free(s->syms);
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

		if (strcmp(e->name, name))
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
