// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* DT_NEEDED libraries of an executable, resolved by our loader (needed_libs.h). */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <link.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "needed_libs.h"

static bool elf_needs(Elf *elf, const char *soname)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr shdr;
	GElf_Dyn dyn;
	Elf_Data *data;
	size_t i;

	while ((scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &shdr) || shdr.sh_type != SHT_DYNAMIC)
			continue;
		data = elf_getdata(scn, NULL);
		for (i = 0; data && shdr.sh_entsize && i < shdr.sh_size / shdr.sh_entsize; i++) {
			const char *name;

			if (!gelf_getdyn(data, i, &dyn) || dyn.d_tag != DT_NEEDED)
				continue;
			name = elf_strptr(elf, shdr.sh_link, dyn.d_un.d_val);
			if (name && !strcmp(name, soname))
				return true;
		}
	}
	return false;
}

int needed_libs__path(const char *exe, const char *soname, char *out, size_t len)
{
	struct link_map *map = NULL;
	bool needed = false;
	void *handle;
	Elf *elf;
	int fd, err = -ENOENT;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return -ENOENT;
	fd = open(exe, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -ENOENT;
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (elf)
		needed = elf_needs(elf, soname);
	elf_end(elf);
	close(fd);
	if (!needed)
		return -ENOENT;
	/* our loader finds it where the target's will: same cache, same paths */
	handle = dlopen(soname, RTLD_LAZY | RTLD_LOCAL);
	if (!handle)
		return -ENOENT;
	if (!dlinfo(handle, RTLD_DI_LINKMAP, &map) && map && map->l_name && map->l_name[0]) {
		err = 0;
		if (snprintf(out, len, "%s", map->l_name) >= (int)len)
			err = -ENAMETOOLONG;
	}
	dlclose(handle);
	return err;
}
