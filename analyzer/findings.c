// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The findings list (findings.h). */
#include <errno.h>
#include <stdlib.h>
#include "findings.h"

int findings__add(struct findings *fs, const struct finding *f)
{
	struct finding *items;
	size_t cap;

	if (fs->nr == fs->cap) {
		cap = fs->cap ? fs->cap * 2 : 16;
		items = realloc(fs->items, cap * sizeof(*items));
		if (!items)
			return -ENOMEM;
		fs->items = items;
		fs->cap = cap;
	}
	fs->items[fs->nr++] = *f;
	return 0;
}

void findings__clear(struct findings *fs)
{
	size_t i;

	if (!fs)
		return;
	for (i = 0; i < fs->nr; i++)
		free(fs->items[i].cycle);
	free(fs->items);
	fs->items = NULL;
	fs->nr = 0;
	fs->cap = 0;
}

const char *finding_kind__name(enum finding_kind k)
{
	switch (k) {
	case FINDING_DATA_RACE:
		return "data-race";
	case FINDING_LOCK_ORDER_INVERSION:
		return "lock-order-inversion";
	case FINDING_DOUBLE_LOCK:
		return "double-lock";
	case FINDING_UNLOCK_NOT_HELD:
		return "unlock-not-held";
	case FINDING_LOCK_HELD_AT_EXIT:
		return "lock-held-at-exit";
	}
	return "unknown";
}
