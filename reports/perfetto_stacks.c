// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Stacks in the perfetto report (perfetto_stacks.h). */
#include <stdio.h>
#include <stdlib.h>
#include "perfetto_stacks.h"
#include "render.h"

/* Direct-mapped by (process, stack id): a trace's call sites are few. */
#define PF_STACK_CACHE 256

struct pf_stack {
	__u64 id;
	__u32 pid;
	bool used;
	size_t nr;
	struct frame frames[PF_STACK_FRAMES];
};

struct pf_stacks {
	struct symbolizer *s;
	const struct trace *t;
	struct pf_stack slots[PF_STACK_CACHE];
};

struct pf_stacks *pf_stacks__new(struct symbolizer *s, const struct trace *t)
{
	struct pf_stacks *c = calloc(1, sizeof(*c));

	if (c) {
		c->s = s;
		c->t = t;
	}
	return c;
}

size_t pf_stacks__of_event(struct pf_stacks *c, const struct ipcrace_event *e,
			   const struct frame **frames)
{
	struct pf_stack *st;

	if (!e->stack_id || !c->s)
		return 0;
	st = &c->slots[(e->stack_id ^ e->pid * 0x9e3779b97f4a7c15ull) % PF_STACK_CACHE];
	if (!st->used || st->id != e->stack_id || st->pid != e->pid) {
		/* a process's stack ids keep their frames: the first event names them */
		st->used = true;
		st->id = e->stack_id;
		st->pid = e->pid;
		st->nr = symbolizer__stack(c->s, c->t, e->pid, e->ts, e->stack_id, 0, st->frames,
					   PF_STACK_FRAMES);
	}
	*frames = st->frames;
	return st->nr;
}

void pf_stacks__free(struct pf_stacks *c)
{
	free(c);
}

void pf_write_frames(struct json_writer *w, const char *key, const struct frame *frames,
		     size_t nr)
{
	char line[TRACE_PATH_LEN * 2 + 64];
	size_t i;

	json_writer__name(w, key);
	json_writer__start_array(w);
	for (i = 0; i < nr && i < PF_STACK_FRAMES; i++) {
		const struct frame *fr = &frames[i];
		int n;

		if (fr->function)
			n = snprintf(line, sizeof(line), "%s", fr->function);
		else
			n = snprintf(line, sizeof(line), "0x%llx", (unsigned long long)fr->ip);
		if (fr->file && n >= 0 && (size_t)n < sizeof(line))
			n += snprintf(line + n, sizeof(line) - n, " %s:%d",
				      path__basename(fr->file), fr->line);
		if (fr->module && n >= 0 && (size_t)n < sizeof(line))
			snprintf(line + n, sizeof(line) - n, " (%s+0x%llx)",
				 path__basename(fr->module), (unsigned long long)fr->offset);
		json_writer__string(w, line);
	}
	json_writer__end_array(w);
}
