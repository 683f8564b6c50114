// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdlib.h>

#include "hang_stack.h"

struct hang_stacks {
	const struct trace *t;
};

struct hang_stacks *hang_stacks__new(const struct trace *t)
{
	struct hang_stacks *hs = calloc(1, sizeof(*hs));

	if (!hs) {
		errno = ENOMEM;
		return NULL;
	}
	hs->t = t;
	return hs;
}

void hang_stacks__free(struct hang_stacks *hs)
{
	free(hs);
}

size_t hang_stacks__unwind(struct hang_stacks *hs, const struct hang_task *task, __u64 *ips,
			   size_t max)
{
	(void)hs;
	if (!max || !task->regs.ip)
		return 0;
	ips[0] = task->regs.ip;
	return 1;
}
