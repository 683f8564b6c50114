/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Where a traced module's files are found when a trace is analyzed,
 * possibly on another machine: the module's own ELF (its code and
 * .eh_frame, for unwinding) and a file with its DWARF (for function names,
 * lines and variables), both by the build-id the trace recorded. A file is
 * never used unless its build-id matches.
 *
 * The binary: the recorded path; SYSROOT/path (--sysroot); in each debug
 * directory, .build-id/xx/rest (perf's and `ipcrace archive`'s layout) and
 * the file's base name; debuginfod. The DWARF: the binary itself when it
 * has .debug_info; .build-id/xx/rest.debug in each debug directory
 * (--debug-dir, then /usr/lib/debug and SYSROOT/usr/lib/debug: Debian's
 * -dbgsym packages); debuginfod.
 *
 * debuginfod (elfutils' libdebuginfod) is asked only when DEBUGINFOD_URLS
 * is set, once per build-id, with DEBUGINFOD_TIMEOUT 5 seconds unless the
 * user chose one: an unreachable server costs that, never a hang.
 */
#ifndef IPCRACE_DEBUGINFO_H
#define IPCRACE_DEBUGINFO_H

#include <linux/types.h>
#include <stddef.h>
#include <stdio.h>

#define DEBUGINFO_DIRS_MAX 8

struct debuginfo;

/* NULL + errno on error. Starts with /usr/lib/debug as its debug directory. */
struct debuginfo *debuginfo__new(void);
void debuginfo__free(struct debuginfo *d);

/* --debug-dir: searched before the defaults, in the order added. 0, -EINVAL, -E2BIG. */
int debuginfo__add_debug_dir(struct debuginfo *d, const char *dir);
/* Forgets the default directories (tests: a machine's /usr/lib/debug must not answer). */
void debuginfo__no_default_dirs(struct debuginfo *d);
/* --sysroot: a copy of the traced machine's files. */
int debuginfo__set_sysroot(struct debuginfo *d, const char *dir);

/*
 * The module's own ELF: 0 and its path in out, or -ENOENT. path is the
 * module as the trace recorded it; id/len its build-id (len 0: none
 * recorded, the path is taken as it is).
 */
int debuginfo__find_binary(struct debuginfo *d, const char *path, const __u8 *id, size_t len,
			   char *out, size_t outlen);

/* A separate debug file for build-id id: 0 and its path in out, or -ENOENT. */
int debuginfo__find_debug(struct debuginfo *d, const __u8 *id, size_t len, char *out,
			  size_t outlen);

/* -v: what debuginfod was asked and answered. */
void debuginfo__print_stats(const struct debuginfo *d, FILE *out);

#endif /* IPCRACE_DEBUGINFO_H */
