// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <dwarf.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <gelf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "../analyzer/array.h"
#include "../analyzer/identity.h"
#include "../analyzer/ustack.h"
#include "buildid.h"
#include "debuginfo.h"
#include "escape.h"
#include "symbolize.h"
#include "unwind.h"
#include "symbolize_internal.h"

/* --- unwinding stack snapshots ----------------------------------------- */

struct snapshot_ctx {
	struct symbolizer *s;
	__u32 pid;
	__u64 ts;
	const struct ustack_snapshot *snap;
};

static int snapshot_read_mem(void *ctx, __u64 addr, void *buf, size_t len)
{
	const struct snapshot_ctx *c = ctx;
	__u64 sp = c->snap->hdr.regs[UREG_SP];

	if (addr < sp || addr - sp > c->snap->have || c->snap->have - (addr - sp) < len)
		return -EFAULT;
	memcpy(buf, c->snap->data + (addr - sp), len);
	return 0;
}

/* The executable mapping of pid at ts holding addr, from the trace. */
static int snapshot_find_module(void *ctx, __u64 addr, struct unwind_module *out)
{
	const struct snapshot_ctx *c = ctx;
	const struct trace_mapping *m;
	struct sym_file *f;
	int idx;

	m = symbolizer__find_mapping(c->s, c->pid, c->ts, addr);
	if (!m || !(m->prot & PROT_EXEC))
		return -ENOENT;
	out->start = m->start;
	out->end = m->end;
	out->base = symbolizer__mapping_base(c->s, m);
	out->elf_path = NULL;
	out->name = NULL;
	idx = sym_file__find_or_add(c->s, symbolizer__module_mapping(c->s, m));
	if (idx < 0)
		return 0;	/* out of memory: the frame stands, its callers are lost */
	f = &c->s->files[idx];
	out->name = f->path;
	out->elf_path = sym_file__binary(c->s, f);
	return 0;
}

static const struct unwind_target_ops snapshot_ops = {
	.read_mem = snapshot_read_mem,
	.find_module = snapshot_find_module,
};

int symbolizer__unwind(struct symbolizer *s, __u32 pid, __u64 ts,
		       const struct ustack_snapshot *snap, struct unwind_frame *out, size_t max)
{
	struct snapshot_ctx c = { .s = s, .pid = pid, .ts = ts, .snap = snap };
	int n;

	if (!s || !snap || !out)
		return -EINVAL;
	if (!s->unwinder) {
		s->unwinder = unwinder__new();
		if (!s->unwinder)
			return -errno;
	}
	n = unwinder__unwind(s->unwinder, &snapshot_ops, &c, snap->hdr.regs, out, max);
	if (n > 0) {
		s->nr_unwound++;
		s->nr_unwound_frames += n;
	}
	return n;
}

/* addr is in an executable mapping of pid at ts (or of its ancestors). */
static bool in_code(const struct symbolizer *s, __u32 pid, __u64 ts, __u64 addr)
{
	const struct trace_mapping *m = symbolizer__find_mapping(s, pid, ts, addr);

	return m && (m->prot & PROT_EXEC);
}

/*
 * The frames of a snapshot as the reports show them, as (ip, is it a
 * return address): first_frame stands for the unwound frame 0 (see
 * events.h): the exact ip of an access, or the return address into the
 * caller of a hooked function, which the walk finds again as its frame 1.
 */
static size_t snapshot_frames(struct symbolizer *s, __u32 pid, __u64 ts,
			      const struct ustack_snapshot *snap, __u64 *ips, bool *is_ret,
			      size_t max)
{
	struct unwind_frame uf[IPCRACE_MAX_STACK + 1];
	size_t i = 0, n = 0;
	int got;

	got = symbolizer__unwind(s, pid, ts, snap, uf, IPCRACE_MAX_STACK + 1);
	if (got < 0)
		got = 0;
	if (snap->hdr.first_frame && max) {
		ips[n] = snap->hdr.first_frame;
		is_ret[n++] = !(snap->hdr.flags & STACKF_EXACT_IP);
		i = got > 1 && uf[1].ip == snap->hdr.first_frame ? 2 : 1;
	}
	for (; i < (size_t)got && n < max; i++) {
		ips[n] = uf[i].ip;
		/* frame 0 is where the registers were: not a return address */
		is_ret[n++] = uf[i].how != UNWIND_REGS;
	}
	return n;
}

size_t symbolizer__stack(struct symbolizer *s, const struct trace *t, __u32 pid, __u64 ts,
			 __u64 stack_id, __u64 exact_ip, struct frame *out, size_t max)
{
	const struct ipcrace_stack *st = stack_id ? trace__find_stack(t, stack_id) : NULL;
	const struct ustack_snapshot *snap = stack_id ? trace__find_ustack(t, stack_id) : NULL;
	__u64 ips[IPCRACE_MAX_STACK];
	bool is_ret_at[IPCRACE_MAX_STACK];
	size_t i, n = 0, nr;
	bool is_ret;

	if (snap && s && max) {
		nr = snapshot_frames(s, pid, ts, snap, ips, is_ret_at,
				     max < IPCRACE_MAX_STACK ? max : IPCRACE_MAX_STACK);
		for (i = 0; i < nr; i++)
			symbolizer__frame(s, pid, ts, ips[i], is_ret_at[i], &out[n++]);
		return n;
	}
	if (!st) {
		if (exact_ip && max) {
			symbolizer__frame(s, pid, ts, exact_ip, false, &out[0]);
			n = 1;
		}
		return n;
	}
	nr = st->nr < IPCRACE_MAX_STACK ? st->nr : IPCRACE_MAX_STACK;
	for (i = 0; i < nr && n < max; i++) {
		/* all frames are return addresses but an exact #0 */
		is_ret = i || !(st->flags & STACKF_EXACT_IP);
		/*
		 * A frame-pointer walk through code built without them reads
		 * whatever the register held: past frame 0, it ends at the
		 * first address outside the process's code.
		 */
		if (i && s && !in_code(s, pid, ts, is_ret ? st->ips[i] - 1 : st->ips[i]))
			break;
		symbolizer__frame(s, pid, ts, st->ips[i], is_ret, &out[n++]);
	}
	return n;
}

void symbolizer__print_unwind_stats(const struct symbolizer *s, FILE *out)
{
	if (!s)
		return;
	fprintf(out, "ipcrace: unwind: %llu stack snapshots unwound, %llu frames\n",
		(unsigned long long)s->nr_unwound, (unsigned long long)s->nr_unwound_frames);
	unwinder__print_stats(s->unwinder, out);
	debuginfo__print_stats(s->di, out);
}

/* --- one id per unwound stack ------------------------------------------ */

struct stack_use {
	__u64 id;			/* the snapshot's id */
	__u64 ts;			/* of the first event naming it */
	__u32 pid;
	size_t order;			/* first-use order */
	__u64 frames_hash;		/* of its unwound frames */
	__u64 rep;			/* the id all snapshots with these frames get */
};

static int use_by_frames(const void *a, const void *b)
{
	const struct stack_use *x = a, *y = b;

	if (x->frames_hash != y->frames_hash)
		return x->frames_hash < y->frames_hash ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/*
 * The snapshots events name, each once with the first event naming it:
 * from the reader's summary (trace.stack_uses), or, for a trace built
 * without the reader, from its events.
 */
static int snapshot_uses(const struct trace *t, struct stack_use **out, size_t *nr)
{
	struct trace_stack_use *found = NULL;
	const struct trace_stack_use *src = t->stack_uses;
	struct keymap *seen = NULL;
	struct stack_use *uses;
	size_t i, n = t->nr_stack_uses, cap = 0, k = 0;
	int err = 0;

	if (!src && t->nr_events) {
		seen = keymap__new();
		if (!seen)
			return -ENOMEM;
		n = 0;
		for (i = 0; i < t->nr_events && !err; i++) {
			const struct ipcrace_event *e = &t->events[i];
			struct ipcrace_key key = { .a = e->stack_id };
			__u64 v;

			if (!e->stack_id || keymap__get(seen, &key, &v))
				continue;
			err = keymap__set(seen, &key, 1);
			if (!err)
				err = array__reserve(&found, &cap, n + 1, sizeof(*found));
			if (!err)
				found[n++] = (struct trace_stack_use){
					.id = e->stack_id, .ts = e->ts, .pid = e->pid,
				};
		}
		keymap__free(seen);
		src = found;
	}
	uses = calloc(n ? n : 1, sizeof(*uses));
	if (!uses || err) {
		free(found);
		free(uses);
		return err ? err : -ENOMEM;
	}
	for (i = 0; i < n; i++)
		if (trace__find_ustack(t, src[i].id))
			uses[k++] = (struct stack_use){
				.id = src[i].id, .ts = src[i].ts, .pid = src[i].pid, .order = k,
			};
	free(found);
	*out = uses;
	*nr = k;
	return 0;
}

int symbolizer__merge_stacks(struct symbolizer *s, struct trace *t)
{
	__u64 ips[IPCRACE_MAX_STACK];
	bool is_ret[IPCRACE_MAX_STACK];
	struct keymap *remap = NULL;
	struct stack_use *uses;
	size_t i, k, n, nr;
	int err;

	if (!s || !t)
		return -EINVAL;
	if (!ustack_table__count(t->ustacks))
		return 0;
	/* each snapshot once, unwound with the first event that names it */
	err = snapshot_uses(t, &uses, &n);
	if (err)
		return err;
	for (i = 0; i < n; i++) {
		__u64 h = 0xcbf29ce484222325ULL;

		nr = snapshot_frames(s, uses[i].pid, uses[i].ts,
				     trace__find_ustack(t, uses[i].id), ips, is_ret,
				     IPCRACE_MAX_STACK);
		for (k = 0; k < nr; k++)
			h = (h ^ (ips[k] + is_ret[k])) * 0x100000001b3ULL;
		uses[i].frames_hash = nr ? h : uses[i].id;	/* nothing unwound: itself */
	}
	/* the earliest snapshot of each stack names it */
	qsort(uses, n, sizeof(*uses), use_by_frames);
	for (i = 0; i < n && !err; i++) {
		struct ipcrace_key key = { .a = uses[i].id };

		uses[i].rep = i && uses[i].frames_hash == uses[i - 1].frames_hash ?
			      uses[i - 1].rep : uses[i].id;
		if (uses[i].rep == uses[i].id)
			continue;
		if (!remap) {
			remap = keymap__new();
			if (!remap)
				err = -ENOMEM;
		}
		if (!err)
			err = keymap__set(remap, &key, uses[i].rep);
	}
	free(uses);
	if (err) {
		keymap__free(remap);
		return err;
	}
	keymap__free(t->stack_remap);
	t->stack_remap = remap;
	/* events in memory take their new ids now; a stream's as they are read */
	for (i = 0; remap && i < t->nr_events; i++)
		t->events[i].stack_id = trace__stack_id(t, t->events[i].stack_id);
	return 0;
}
