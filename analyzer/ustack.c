// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "array.h"
#include "ustack.h"

struct ustack_table {
	struct ustack_snapshot *snaps;
	size_t nr, cap;
	bool sorted;
};

static int table_get(struct ustack_table **tp)
{
	if (!*tp) {
		*tp = calloc(1, sizeof(**tp));
		if (!*tp)
			return -ENOMEM;
	}
	return 0;
}

int ustack_table__add_header(struct ustack_table **tp, const void *data, size_t len,
			     char *err, size_t errlen)
{
	struct ustack_snapshot *s;
	struct ustack_table *t;
	int ret;

	if (len != sizeof(struct trace_ustack)) {
		snprintf(err, errlen, "stack snapshot of %zu bytes, expected %zu",
			 len, sizeof(struct trace_ustack));
		return -EINVAL;
	}
	ret = table_get(tp);
	if (ret)
		return ret;
	t = *tp;
	if (array__reserve(&t->snaps, &t->cap, t->nr + 1, sizeof(*t->snaps)))
		return -ENOMEM;
	s = &t->snaps[t->nr];
	memset(s, 0, sizeof(*s));
	memcpy(&s->hdr, data, sizeof(s->hdr));
	if (s->hdr.size > IPCRACE_USTACK_MAX) {
		snprintf(err, errlen, "stack snapshot of %u bytes, more than %u",
			 s->hdr.size, IPCRACE_USTACK_MAX);
		return -EINVAL;
	}
	if (s->hdr.size) {
		s->data = calloc(1, s->hdr.size);
		if (!s->data)
			return -ENOMEM;
	}
	t->nr++;
	t->sorted = false;
	return 0;
}

int ustack_table__add_data(struct ustack_table **tp, const void *data, size_t len,
			   char *err, size_t errlen)
{
	struct trace_ustack_data d;
	struct ustack_snapshot *s;

	if (len < sizeof(d)) {
		snprintf(err, errlen, "stack snapshot part of %zu bytes, shorter than its header",
			 len);
		return -EINVAL;
	}
	memcpy(&d, data, sizeof(d));
	if (d.len != len - sizeof(d) || d.len > USTACK_PART_MAX) {
		snprintf(err, errlen, "stack snapshot part of %u bytes in a record of %zu",
			 d.len, len);
		return -EINVAL;
	}
	if (!*tp || !(*tp)->nr)
		return 0;	/* its header was lost */
	s = &(*tp)->snaps[(*tp)->nr - 1];
	/* only the next bytes of the last snapshot: anything else lost its way */
	if (s->hdr.id != d.id || d.offset != s->have || d.len > s->hdr.size - s->have)
		return 0;
	memcpy(s->data + s->have, (const unsigned char *)data + sizeof(d), d.len);
	s->have += d.len;
	return 0;
}

struct snap_key {
	__u64 id;
	size_t idx;
};

static int snap_key__cmp(const void *a, const void *b)
{
	const struct snap_key *x = a, *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

int ustack_table__finish(struct ustack_table *t)
{
	struct ustack_snapshot *sorted;
	struct snap_key *keys;
	size_t i, n = 0;

	if (!t || t->sorted)
		return 0;
	keys = calloc(t->nr ? t->nr : 1, sizeof(*keys));
	sorted = calloc(t->nr ? t->nr : 1, sizeof(*sorted));
	if (!keys || !sorted) {
		free(keys);
		free(sorted);
		return -ENOMEM;
	}
	for (i = 0; i < t->nr; i++) {
		keys[i].id = t->snaps[i].hdr.id;
		keys[i].idx = i;
	}
	qsort(keys, t->nr, sizeof(*keys), snap_key__cmp);
	for (i = 0; i < t->nr; i++) {
		if (i && keys[i].id == keys[i - 1].id) {
			free(t->snaps[keys[i].idx].data);
			continue;
		}
		sorted[n++] = t->snaps[keys[i].idx];
	}
	free(keys);
	free(t->snaps);
	t->snaps = sorted;
	t->nr = n;
	t->cap = t->nr ? t->nr : 1;
	t->sorted = true;
	return 0;
}

static int snap__cmp_id(const void *key, const void *elem)
{
	__u64 id = *(const __u64 *)key;
	const struct ustack_snapshot *s = elem;

	return id < s->hdr.id ? -1 : id > s->hdr.id;
}

const struct ustack_snapshot *ustack_table__find(const struct ustack_table *t, __u64 id)
{
	if (!t || !t->nr || !t->sorted || !id)
		return NULL;
	return bsearch(&id, t->snaps, t->nr, sizeof(*t->snaps), snap__cmp_id);
}

size_t ustack_table__count(const struct ustack_table *t)
{
	return t ? t->nr : 0;
}

void ustack_table__free(struct ustack_table *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->nr; i++)
		free(t->snaps[i].data);
	free(t->snaps);
	free(t);
}
