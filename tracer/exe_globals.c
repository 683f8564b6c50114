// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "exe_globals.h"

#define COPIES_MAX 256		/* copy relocations remembered, at most */

bool exe_globals__runtime_name(const char *name)
{
	/*
	 * libc objects a non-PIC executable may hold under their own name
	 * when its copy relocations were not seen (an old linker, a
	 * stripped .rela.dyn), and crtstuff's statics.
	 */
	static const char *const runtime[] = {
		"stdin", "stdout", "stderr", "environ", "optarg", "optind", "opterr",
		"optopt", "program_invocation_name", "program_invocation_short_name",
		"timezone", "daylight", "tzname", "signgam",
	};
	static const char *const crt_statics[] = { "completed.", "dtor_idx.", "object." };

	/* reserved for the implementation (C11 7.1.3); C++ names (_Z) stay */
	if (name[0] == '_' && (name[1] == '_' || (name[1] >= 'A' && name[1] <= 'Y')))
		return true;
	/* versioned: a copy of a shared library's object */
	if (strchr(name, '@'))
		return true;
	for (size_t i = 0; i < sizeof(runtime) / sizeof(runtime[0]); i++)
		if (!strcmp(name, runtime[i]))
			return true;
	for (size_t i = 0; i < sizeof(crt_statics) / sizeof(crt_statics[0]); i++)
		if (!strncmp(name, crt_statics[i], strlen(crt_statics[i])))
			return true;
	return false;
}

/* .data, .bss and their per-object variants; not .data.rel.ro (read-only after relocation). */
static bool data_section(const char *name)
{
	if (!strcmp(name, ".data") || !strcmp(name, ".bss") || !strncmp(name, ".bss.", 5))
		return true;
	return !strncmp(name, ".data.", 6) && strncmp(name, ".data.rel.ro", 12);
}

/* The addresses R_X86_64_COPY relocations fill: libraries' objects, not the program's. */
static size_t copy_targets(Elf *elf, __u64 *out, size_t max)
{
	Elf_Scn *scn = NULL;
	size_t n = 0;

	while ((scn = elf_nextscn(elf, scn)) && n < max) {
		Elf_Data *data;
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA || !sh.sh_entsize)
			continue;
		data = elf_getdata(scn, NULL);
		for (size_t i = 0; data && i < sh.sh_size / sh.sh_entsize && n < max; i++) {
			GElf_Rela r;

			if (gelf_getrela(data, i, &r) && GELF_R_TYPE(r.r_info) == R_X86_64_COPY)
				out[n++] = r.r_offset;
		}
	}
	return n;
}

static bool is_copy(const __u64 *copies, size_t nr, __u64 vaddr)
{
	for (size_t i = 0; i < nr; i++)
		if (copies[i] == vaddr)
			return true;
	return false;
}

/* The symbol table: .symtab, or .dynsym when stripped. */
static Elf_Scn *symbol_table(Elf *elf, GElf_Shdr *out)
{
	Elf_Scn *scn = NULL, *dyn = NULL;
	GElf_Shdr sh, dyn_sh;

	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh))
			continue;
		if (sh.sh_type == SHT_SYMTAB) {
			*out = sh;
			return scn;
		}
		if (sh.sh_type == SHT_DYNSYM && !dyn) {
			dyn = scn;
			dyn_sh = sh;
		}
	}
	if (dyn)
		*out = dyn_sh;
	return dyn;
}

int exe_globals__list(const char *path, struct exe_global *out, size_t max, bool *relative)
{
	__u64 *copies = NULL;
	size_t nr_copies, shstrndx, n = 0;
	Elf_Scn *symtab;
	Elf_Data *data;
	GElf_Ehdr eh;
	GElf_Shdr sh;
	Elf *elf = NULL;
	int fd, err = -ENOEXEC;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh) ||
	    elf_getshdrstrndx(elf, &shstrndx))
		goto out;
	*relative = eh.e_type == ET_DYN;
	err = -ENOMEM;
	copies = malloc(COPIES_MAX * sizeof(*copies));
	if (!copies)
		goto out;
	err = 0;
	nr_copies = copy_targets(elf, copies, COPIES_MAX);
	symtab = symbol_table(elf, &sh);
	data = symtab ? elf_getdata(symtab, NULL) : NULL;
	for (size_t i = 0; data && sh.sh_entsize && i < sh.sh_size / sh.sh_entsize && n < max; i++) {
		const char *name, *sec_name;
		GElf_Shdr sec;
		GElf_Sym sym;

		if (!gelf_getsym(data, i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_OBJECT ||
		    !sym.st_size || sym.st_shndx == SHN_UNDEF || sym.st_shndx >= SHN_LORESERVE)
			continue;
		name = elf_strptr(elf, sh.sh_link, sym.st_name);
		if (!name || !name[0] || exe_globals__runtime_name(name) ||
		    is_copy(copies, nr_copies, sym.st_value))
			continue;
		if (!gelf_getshdr(elf_getscn(elf, sym.st_shndx), &sec) ||
		    (sec.sh_flags & (SHF_WRITE | SHF_ALLOC | SHF_TLS)) != (SHF_WRITE | SHF_ALLOC))
			continue;
		sec_name = elf_strptr(elf, shstrndx, sec.sh_name);
		if (!sec_name || !data_section(sec_name))
			continue;
		out[n].vaddr = sym.st_value;
		out[n].size = sym.st_size;
		n++;
	}
out:
	free(copies);
	if (elf)
		elf_end(elf);
	close(fd);
	return err ? err : (int)n;
}
