/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * `ipcrace archive` (perf archive's job): the modules a trace needs, packed
 * by build-id, so that the trace analyzes elsewhere with the same stacks.
 * The archive is a plain ustar file of .build-id/xx/rest (each module's own
 * ELF: code and .eh_frame, for unwinding) and .build-id/xx/rest.debug (its
 * separate debug file, when there is one): the layout --debug-dir reads.
 * `analyze --archive FILE` unpacks it into a temporary directory used as a
 * debug directory. Unpacking treats the file as hostile: only regular files
 * with build-id names, bounded sizes.
 */
#ifndef IPCRACE_ARCHIVE_H
#define IPCRACE_ARCHIVE_H

#include <stddef.h>
#include "../analyzer/trace.h"
#include "report.h"

#define ARCHIVE_FILE_MAX (1ull << 32)	/* largest member unpacked */

/*
 * Writes the archive of t's modules to path (mode 0600), finding them as
 * analyze would (opts' --debug-dir and --sysroot). *nr_files and *missing
 * get how many files went in and how many modules had none. 0 or a
 * negative errno with a one-line reason in err.
 */
int archive__write(const struct trace *t, const struct report_opts *opts, const char *path,
		   size_t *nr_files, size_t *missing, char *err, size_t errlen);

/* Unpacks archive path into directory dir. 0 or a negative errno + err. */
int archive__extract(const char *path, const char *dir, char *err, size_t errlen);

/* Removes what archive__extract put in dir, and dir. NULL-safe. */
void archive__remove(const char *dir);

#endif /* IPCRACE_ARCHIVE_H */
