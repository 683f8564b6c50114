/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Watch specs (`--watch`): PATH+OFFSET:LEN names a word of a shared object
 * by its path, SYMBOL[+OFFSET] a word of a global variable of the traced
 * executable. And the file `--learn` keeps them in between runs: one spec a
 * line, best first, '#' comments; written atomically, mode 0600.
 */
#ifndef IPCRACE_WATCH_SPEC_H
#define IPCRACE_WATCH_SPEC_H

#include <limits.h>
#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>

#define WATCH_SPECS_MAX 4		/* one debug register each */
#define WATCH_SPEC_LEN (PATH_MAX + 32)	/* a spec, its NUL included */

/*
 * PATH+OFFSET:LEN (LEN 1, 2, 4 or 8, OFFSET a multiple of LEN) or
 * SYMBOL[+OFFSET] (8 bytes at the variable's address plus OFFSET). path
 * gets PATH or SYMBOL. 0 or -EINVAL.
 */
int watch_spec__parse(const char *spec, char *path, size_t path_len, __u64 *off,
		      __u32 *len, bool *is_symbol);

/* Is spec a string watch_spec__parse accepts? */
bool watch_spec__valid(const char *spec);

/*
 * Can spec go in a learn file: valid, shorter than WATCH_SPEC_LEN, and
 * printable ASCII (a path from a traced program may hold anything)?
 */
bool watch_spec__storable(const char *spec);

/*
 * Reads the specs of a learn file into specs[0..max): blank lines and
 * lines starting with '#' are skipped; more than max specs are checked
 * but not kept. *nr gets how many were kept. 0; -ENOENT when the file
 * does not exist (nothing learnt yet); another -errno when it cannot be
 * read; -EINVAL for a line that is not a spec, err then says which line
 * (one line, without the file name, non-printable bytes escaped).
 */
int watch_spec__read_file(const char *path, char (*specs)[WATCH_SPEC_LEN], size_t max,
			  size_t *nr, char *err, size_t err_len);

/*
 * Writes specs[0..nr) to path, one a line after a comment header, through
 * a temporary file in the same directory renamed over it: a reader sees
 * the old file or the new one, never half of one. Mode 0600. A spec that
 * is not storable is refused (-EINVAL, nothing written). 0 or -errno.
 */
int watch_spec__write_file(const char *path, const char *const *specs, size_t nr);

#endif /* IPCRACE_WATCH_SPEC_H */
