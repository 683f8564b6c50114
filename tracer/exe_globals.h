/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The global variables an executable defines itself, from its ELF symbol
 * table: what the threads of a short program most likely share, and so
 * the words worth watching from its first instruction, before any
 * snapshot could have seen them change. Left out: what the C runtime
 * puts there (objects copy-relocated from libc such as stdout or environ,
 * crt bookkeeping such as completed.0 or __dso_handle, reserved names)
 * and anything outside .data and .bss (RELRO, GOT, TLS).
 */
#ifndef IPCRACE_EXE_GLOBALS_H
#define IPCRACE_EXE_GLOBALS_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>

struct exe_global {
	__u64 vaddr;		/* st_value: relative to the load base when relative */
	__u64 size;		/* st_size, at least 1 */
};

/*
 * Writes the executable's own data objects to out (at most max, in
 * symbol table order) and returns how many; *relative is set for a PIE
 * (ET_DYN), whose addresses are relative to its load base. -errno when
 * path cannot be read as ELF.
 */
int exe_globals__list(const char *path, struct exe_global *out, size_t max, bool *relative);

/* Is name one the C runtime or the compiler gives its own objects? */
bool exe_globals__runtime_name(const char *name);

#endif /* IPCRACE_EXE_GLOBALS_H */
