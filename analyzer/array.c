// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"

#define ARRAY_MIN 16

int array__reserve(void *itemsp, size_t *cap, size_t need, size_t elem_size)
{
	return array__reserve_min(itemsp, cap, need, elem_size, ARRAY_MIN);
}

int array__reserve_min(void *itemsp, size_t *cap, size_t need, size_t elem_size, size_t first)
{
	void *items, *grown;
	size_t want;

	if (need <= *cap)
		return 0;
	want = *cap ? *cap : first ? first : 1;
	while (want < need) {
		if (want > SIZE_MAX / 2)
			return -ENOMEM;
		want *= 2;
	}
	if (elem_size && want > SIZE_MAX / elem_size)
		return -ENOMEM;
	memcpy(&items, itemsp, sizeof(items));
	grown = realloc(items, want * elem_size);
	if (!grown)
		return -ENOMEM;
	memcpy(itemsp, &grown, sizeof(grown));
	*cap = want;
	return 0;
}

int array__reserve_zero(void *itemsp, size_t *cap, size_t need, size_t elem_size)
{
	size_t old = *cap;
	char *items;
	int err;

	err = array__reserve(itemsp, cap, need, elem_size);
	if (err || *cap == old)
		return err;
	memcpy(&items, itemsp, sizeof(items));
	memset(items + old * elem_size, 0, (*cap - old) * elem_size);
	return 0;
}
