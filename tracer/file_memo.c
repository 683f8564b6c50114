// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Per-file memo (file_memo.h): a list, a few dozen libraries a run. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "file_memo.h"

struct memo_entry {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	void *data;
	size_t len;
	int nr;
};

struct file_memo {
	struct memo_entry *items;
	size_t nr, cap;
};

struct file_memo *file_memo__new(void)
{
	struct file_memo *m = calloc(1, sizeof(*m));

	if (!m)
		errno = ENOMEM;
	return m;
}

void file_memo__free(struct file_memo *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->nr; i++)
		free(m->items[i].data);
	free(m->items);
	free(m);
}

static bool same_file(const struct memo_entry *e, const struct stat *st)
{
	return e->dev == st->st_dev && e->ino == st->st_ino && e->size == st->st_size &&
	       e->mtime.tv_sec == st->st_mtim.tv_sec && e->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

/* The entry of st's inode, whatever its size and mtime; NULL when none. */
static struct memo_entry *entry_of(const struct file_memo *m, const struct stat *st)
{
	for (size_t i = 0; i < m->nr; i++)
		if (m->items[i].dev == st->st_dev && m->items[i].ino == st->st_ino)
			return &m->items[i];
	return NULL;
}

const void *file_memo__find(const struct file_memo *m, const struct stat *st, size_t *len,
			    int *nr)
{
	const struct memo_entry *e = m ? entry_of(m, st) : NULL;

	if (!e || !same_file(e, st))
		return NULL;
	*len = e->len;
	*nr = e->nr;
	/* an empty value is still found: a pointer that is not NULL */
	return e->data ? e->data : (const void *)e;
}

int file_memo__add(struct file_memo *m, const struct stat *st, const void *data, size_t len,
		   int nr)
{
	struct memo_entry *e;
	void *copy = NULL;

	if (!m)
		return -EINVAL;
	e = entry_of(m, st);
	if (len) {
		copy = malloc(len);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, data, len);
	}
	if (!e) {
		if (m->nr == m->cap) {
			size_t cap = m->cap ? 2 * m->cap : 32;
			struct memo_entry *grown = realloc(m->items, cap * sizeof(*grown));

			if (!grown) {
				free(copy);
				return -ENOMEM;
			}
			m->items = grown;
			m->cap = cap;
		}
		e = &m->items[m->nr++];
	} else {
		free(e->data);
	}
	*e = (struct memo_entry){ .dev = st->st_dev, .ino = st->st_ino, .size = st->st_size,
				  .mtime = st->st_mtim, .data = copy, .len = len, .nr = nr };
	return 0;
}

size_t file_memo__nr(const struct file_memo *m)
{
	return m ? m->nr : 0;
}
