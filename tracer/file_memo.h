/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What was worked out once from a file's bytes, kept for the run by the
 * file's identity: the probes' plan for a library (tracer/probes.c), which
 * every process of a forking service maps again. A file is the same while
 * its device, inode, size and modification time are: one rewritten in
 * place (a new size or mtime) is worked out again.
 *
 * Not thread-safe: the tracer's consumer thread alone uses it.
 */
#ifndef IPCRACE_FILE_MEMO_H
#define IPCRACE_FILE_MEMO_H

#include <stddef.h>
#include <sys/stat.h>

struct file_memo;

/* NULL + errno. */
struct file_memo *file_memo__new(void);
/* NULL-safe. */
void file_memo__free(struct file_memo *m);

/*
 * The value kept for the file st describes (its bytes in *len, its count in
 * *nr), or NULL when there is none. An empty value (len 0) is a value: the
 * file was worked out and holds nothing. Valid until the next add or free.
 */
const void *file_memo__find(const struct file_memo *m, const struct stat *st, size_t *len,
			    int *nr);

/*
 * Keeps a copy of len bytes (and nr) for the file st describes, replacing
 * any. 0, -ENOMEM, or -EINVAL without a memo (m NULL: nothing is kept).
 */
int file_memo__add(struct file_memo *m, const struct stat *st, const void *data, size_t len,
		   int nr);

/* Files kept (-v). */
size_t file_memo__nr(const struct file_memo *m);

#endif /* IPCRACE_FILE_MEMO_H */
