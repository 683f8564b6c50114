/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Vector clocks (DESIGN.md, "Happens-before"): one component per thread of
 * every traced process, all in one index space. A clock stores components
 * up to its highest one set and reads missing ones as 0, so a thread that
 * only ever talks to a few others stays small however many threads exist.
 */
#ifndef IPCRACE_VCLOCK_H
#define IPCRACE_VCLOCK_H

#include <errno.h>
#include <linux/types.h>
#include <stdbool.h>

struct vclock {
	__u32 *c;		/* components 0..len-1; the rest are 0 */
	__u32 len;
	__u32 cap;
};

enum vclock_order {
	VCLOCK_EQUAL,
	VCLOCK_BEFORE,		/* a < b: every component <=, one < */
	VCLOCK_AFTER,		/* a > b */
	VCLOCK_CONCURRENT,
};

/* An empty clock (all components 0); needs no allocation. */
#define VCLOCK_INIT { NULL, 0, 0 }

void vclock__init(struct vclock *vc);
/* Frees the components; vc is empty again. Accepts NULL. */
void vclock__fini(struct vclock *vc);

/* Inline, as tick and join's common case: the detectors call them on every sync event. */
static inline __u32 vclock__get(const struct vclock *vc, __u32 idx)
{
	return idx < vc->len ? vc->c[idx] : 0;
}

/* 0 or -ENOMEM (growing) or -EOVERFLOW (component at UINT32_MAX). */
int vclock__set(struct vclock *vc, __u32 idx, __u32 val);

static inline int vclock__tick(struct vclock *vc, __u32 idx)
{
	if (idx < vc->len) {
		if (vc->c[idx] == (__u32)-1)
			return -EOVERFLOW;
		vc->c[idx]++;
		return 0;
	}
	/* a component it does not store is 0 */
	return vclock__set(vc, idx, 1);
}
int vclock__join_grow(struct vclock *dst, const struct vclock *src);

/* dst = dst ⊔ src (component-wise max). 0 or -ENOMEM. */
static inline int vclock__join(struct vclock *dst, const struct vclock *src)
{
	__u32 i;

	/* dst has every component src has: nothing to grow */
	if (src->len > dst->len)
		return vclock__join_grow(dst, src);
	for (i = 0; i < src->len; i++)
		if (src->c[i] > dst->c[i])
			dst->c[i] = src->c[i];
	return 0;
}
/* dst = src. 0 or -ENOMEM. */
int vclock__copy(struct vclock *dst, const struct vclock *src);
/* Every component of a <= the same one of b. */
bool vclock__leq(const struct vclock *a, const struct vclock *b);
enum vclock_order vclock__compare(const struct vclock *a, const struct vclock *b);

/* Hands out component indices, one per thread incarnation, never reused. */
struct vclock_ids {
	__u32 nr;
};

/* 0 and *idx set, or -EOVERFLOW once 2^32 - 1 threads were handed out. */
int vclock_ids__alloc(struct vclock_ids *ids, __u32 *idx);

#endif /* IPCRACE_VCLOCK_H */
