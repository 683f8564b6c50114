// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <string.h>
#include <unistd.h>
#include "buildid.h"

/* Looks for the note in one note block; length, 0 if absent, or -ENOSPC. */
static int note_block__build_id(Elf_Data *data, __u8 *out, size_t max)
{
	size_t off = 0, next, name_off, desc_off;
	GElf_Nhdr nhdr;

	while (off < data->d_size &&
	       (next = gelf_getnote(data, off, &nhdr, &name_off, &desc_off)) > 0) {
		if (nhdr.n_type == NT_GNU_BUILD_ID && nhdr.n_namesz == sizeof("GNU") &&
		    !memcmp((char *)data->d_buf + name_off, "GNU", sizeof("GNU"))) {
			if (nhdr.n_descsz > max)
				return -ENOSPC;
			if (!nhdr.n_descsz)
				return 0;
			memcpy(out, (char *)data->d_buf + desc_off, nhdr.n_descsz);
			return nhdr.n_descsz;
		}
		off = next;
	}
	return 0;
}

/* Section headers first; program headers when sections were stripped. */
static int elf__build_id(Elf *elf, __u8 *out, size_t max)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr shdr;
	GElf_Phdr phdr;
	Elf_Data *data;
	size_t i, phnum;
	int ret;

	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_NOTE)
			continue;
		data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		ret = note_block__build_id(data, out, max);
		if (ret)
			return ret;
	}
	if (elf_getphdrnum(elf, &phnum))
		return -ENOENT;
	for (i = 0; i < phnum; i++) {
		if (!gelf_getphdr(elf, i, &phdr) || phdr.p_type != PT_NOTE)
			continue;
		data = elf_getdata_rawchunk(elf, phdr.p_offset, phdr.p_filesz,
					    phdr.p_align == 8 ? ELF_T_NHDR8 : ELF_T_NHDR);
		if (!data)
			continue;
		ret = note_block__build_id(data, out, max);
		if (ret)
			return ret;
	}
	return -ENOENT;
}

int elf_build_id__read(const char *path, __u8 *out, size_t max)
{
	Elf *elf;
	int fd, ret;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return -ENOSYS;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf) {
		ret = -ENOEXEC;
		goto close_fd;
	}
	if (elf_kind(elf) != ELF_K_ELF) {
		ret = -ENOEXEC;
		goto end_elf;
	}
	ret = elf__build_id(elf, out, max);
end_elf:
	elf_end(elf);
close_fd:
	close(fd);
	return ret;
}
