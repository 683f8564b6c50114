/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Libraries an executable links (DT_NEEDED), found where the loader will
 * find them: ipcrace asks its own loader (same cache, same machine), as it
 * does for libc, so that their probes are in place before the target's
 * first instruction.
 */
#ifndef IPCRACE_NEEDED_LIBS_H
#define IPCRACE_NEEDED_LIBS_H

#include <stddef.h>

/*
 * When exe names soname in its DT_NEEDED entries, writes the path the
 * loader resolves it to into out. 0, or -ENOENT (not needed, not found,
 * exe not a dynamic ELF file), -ENAMETOOLONG.
 */
int needed_libs__path(const char *exe, const char *soname, char *out, size_t len);

#endif /* IPCRACE_NEEDED_LIBS_H */
