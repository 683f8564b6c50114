// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Vector clocks (vclock.h). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "vclock.h"

void vclock__init(struct vclock *vc)
{
	vc->c = NULL;
	vc->len = 0;
	vc->cap = 0;
}

void vclock__fini(struct vclock *vc)
{
	if (!vc)
		return;
	free(vc->c);
	vclock__init(vc);
}

/* Makes components 0..len-1 addressable, new ones 0. */
static int vclock_grow(struct vclock *vc, __u32 len)
{
	__u32 cap;
	__u32 *c;

	if (len <= vc->len)
		return 0;
	if (len > vc->cap) {
		cap = vc->cap ? vc->cap : 4;
		while (cap < len)
			cap = cap > UINT32_MAX / 2 ? len : cap * 2;
		c = realloc(vc->c, (size_t)cap * sizeof(*c));
		if (!c)
			return -ENOMEM;
		vc->c = c;
		vc->cap = cap;
	}
	memset(vc->c + vc->len, 0, (size_t)(len - vc->len) * sizeof(*vc->c));
	vc->len = len;
	return 0;
}

int vclock__set(struct vclock *vc, __u32 idx, __u32 val)
{
	int err;

	if (idx == UINT32_MAX)
		return -EOVERFLOW;
	if (idx >= vc->len) {
		if (!val)
			return 0;	/* missing components already read as 0 */
		err = vclock_grow(vc, idx + 1);
		if (err)
			return err;
	}
	vc->c[idx] = val;
	return 0;
}

/* vclock__join when src has more components than dst (trailing zeros maybe). */
int vclock__join_grow(struct vclock *dst, const struct vclock *src)
{
	__u32 i, len = src->len;
	int err;

	/* trailing zeros of src change nothing: do not grow dst for them */
	while (len && !src->c[len - 1])
		len--;
	err = vclock_grow(dst, len);
	if (err)
		return err;
	for (i = 0; i < len; i++)
		if (src->c[i] > dst->c[i])
			dst->c[i] = src->c[i];
	return 0;
}

int vclock__copy(struct vclock *dst, const struct vclock *src)
{
	int err;

	if (dst == src)
		return 0;
	dst->len = 0;
	err = vclock_grow(dst, src->len);
	if (err)
		return err;
	if (src->len)
		memcpy(dst->c, src->c, (size_t)src->len * sizeof(*src->c));
	return 0;
}

bool vclock__leq(const struct vclock *a, const struct vclock *b)
{
	__u32 i;

	for (i = 0; i < a->len; i++)
		if (a->c[i] > vclock__get(b, i))
			return false;
	return true;
}

enum vclock_order vclock__compare(const struct vclock *a, const struct vclock *b)
{
	bool le = vclock__leq(a, b), ge = vclock__leq(b, a);

	if (le && ge)
		return VCLOCK_EQUAL;
	if (le)
		return VCLOCK_BEFORE;
	if (ge)
		return VCLOCK_AFTER;
	return VCLOCK_CONCURRENT;
}

int vclock_ids__alloc(struct vclock_ids *ids, __u32 *idx)
{
	/* UINT32_MAX stays free: vclock__set cannot address it */
	if (ids->nr == UINT32_MAX)
		return -EOVERFLOW;
	*idx = ids->nr++;
	return 0;
}
