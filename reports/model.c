// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The report model: symbolized, named, suppressed, grouped (model.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "../analyzer/identity.h"
#include "model.h"
#include "objname.h"

/* --- whose code a frame is ------------------------------------------------------ */

bool report__module_is_runtime(const char *module)
{
	static const char *const prefixes[] = {
		"libc.so", "libc-", "ld-linux", "ld64.so", "ld-", "libpthread", "libdl.so",
		"libdl-", "librt.so", "librt-", "libm.so", "libm-", "libgcc_s", "libstdc++",
		"libresolv", "[vdso]", "[vsyscall]",
	};
	const char *base = path__basename(module);
	size_t i;

	if (!base)
		return false;
	for (i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (!strncmp(base, prefixes[i], strlen(prefixes[i])))
			return true;
	return false;
}

/* The first frame in the target's own code, else the top one; NULL if none. */
const struct frame *report_stack__own_frame(const struct report_stack *st)
{
	size_t i;

	if (!st)
		return NULL;
	for (i = 0; i < st->nr; i++)
		if (st->frames[i].module && !report__module_is_runtime(st->frames[i].module))
			return &st->frames[i];
	return st->nr ? &st->frames[0] : NULL;
}

/* --- stacks -------------------------------------------------------------------- */

static int stack_fill(struct report_model *m, struct report_stack *st, __u32 pid, __u64 ts,
		      __u64 stack_id, __u64 ip)
{
	struct frame frames[IPCRACE_MAX_STACK];

	st->nr = report__stack_frames(m->s, m->t, pid, ts, stack_id, ip, frames,
				      IPCRACE_MAX_STACK);
	st->frames = NULL;
	if (!st->nr)
		return 0;
	st->frames = malloc(st->nr * sizeof(*st->frames));
	if (!st->frames)
		return -ENOMEM;
	memcpy(st->frames, frames, st->nr * sizeof(*st->frames));
	return 0;
}

static void stacks_free(struct report_stack *stacks, size_t nr)
{
	size_t i;

	if (!stacks)
		return;
	for (i = 0; i < nr; i++)
		free(stacks[i].frames);
	free(stacks);
}

/* Every stack of f, in the order model.h gives; *nr set. NULL on -ENOMEM. */
static struct report_stack *finding_stacks(struct report_model *m, const struct finding *f,
					   const struct finding_access *cur,
					   const struct finding_access *prev, size_t *nr)
{
	struct report_stack *stacks;
	size_t i, n;
	int err = 0;

	n = f->kind == FINDING_LOCK_ORDER_INVERSION ? 2 * f->nr_cycle : 2;
	stacks = calloc(n ? n : 1, sizeof(*stacks));
	if (!stacks)
		return NULL;
	*nr = n;
	if (f->kind == FINDING_LOCK_ORDER_INVERSION) {
		for (i = 0; i < f->nr_cycle && !err; i++) {
			const struct finding_edge *e = &f->cycle[i];

			err = stack_fill(m, &stacks[2 * i], e->who.pid, e->who.ts,
					 e->who.stack_id, e->who.ip);
			if (!err)
				err = stack_fill(m, &stacks[2 * i + 1], e->who.pid, e->who.ts,
						 e->held_stack_id, 0);
		}
	} else {
		if (cur)
			err = stack_fill(m, &stacks[0], cur->pid, cur->ts, cur->stack_id, cur->ip);
		if (!err && prev)
			err = stack_fill(m, &stacks[1], prev->pid, prev->ts, prev->stack_id,
					 prev->ip);
	}
	if (err) {
		stacks_free(stacks, n);
		return NULL;
	}
	return stacks;
}

/* --- suppression ------------------------------------------------------------------ */

/* The objects a finding is about (its word or lock, every lock of a cycle). */
static size_t finding_objects(const struct finding *f, const struct finding_object **out,
			      size_t max)
{
	size_t i, n = 0;

	if (f->kind != FINDING_LOCK_ORDER_INVERSION) {
		if (max)
			out[n++] = &f->object;
		return n;
	}
	for (i = 0; i < f->nr_cycle && n + 2 <= max; i++) {
		out[n++] = &f->cycle[i].lock;
		out[n++] = &f->cycle[i].held;
	}
	return n;
}

#define MODEL_MAX_SUBJECT_OBJECTS 32

/* The first rule of m's suppressions that silences f, or NULL. */
static const struct suppress_rule *finding_suppressed(struct report_model *m,
						      struct suppressions *supp,
						      const struct finding *f,
						      const struct report_stack *stacks,
						      size_t nr_stacks)
{
	const struct finding_object *objs[MODEL_MAX_SUBJECT_OBJECTS];
	char names[MODEL_MAX_SUBJECT_OBJECTS * 2 + 1][OBJNAME_LEN];
	const char *name_ptrs[MODEL_MAX_SUBJECT_OBJECTS * 2 + 1];
	struct suppress_subject subj = { .kind = f->kind };
	const struct suppress_rule *rule = NULL;
	struct suppress_frame *frames;
	size_t i, k, n = 0, nr_objs, nr_names = 0;
	struct data_sym var;
	struct objname on;

	if (!suppressions__nr_rules(supp))
		return NULL;
	for (i = 0; i < nr_stacks; i++)
		for (k = 0; k < stacks[i].nr; k++)
			n += 1 + stacks[i].frames[k].nr_inlined;
	frames = calloc(n ? n : 1, sizeof(*frames));
	if (!frames)
		return NULL;	/* unsuppressed: a report too many, never one too few */
	n = 0;
	for (i = 0; i < nr_stacks; i++) {
		for (k = 0; k < stacks[i].nr; k++) {
			const struct frame *fr = &stacks[i].frames[k];
			size_t j;

			frames[n++] = (struct suppress_frame){ fr->function, fr->file, fr->module };
			for (j = 0; j < fr->nr_inlined; j++)
				frames[n++] = (struct suppress_frame){
					fr->inlined[j].function, fr->inlined[j].file, fr->module };
		}
	}
	nr_objs = finding_objects(f, objs, MODEL_MAX_SUBJECT_OBJECTS);
	for (i = 0; i < nr_objs; i++) {
		objname__describe(m->t, objs[i], &on);
		memcpy(names[nr_names], on.where, sizeof(on.where));
		name_ptrs[nr_names] = names[nr_names];
		nr_names++;
		objname__format(names[nr_names], sizeof(names[0]), m->t, objs[i]);
		name_ptrs[nr_names] = names[nr_names];
		nr_names++;
	}
	if (!symbolizer__race_object(m->s, f, &var)) {
		snprintf(names[nr_names], sizeof(names[0]), "%s", var.name);
		name_ptrs[nr_names] = names[nr_names];
		nr_names++;
	}
	subj.frames = frames;
	subj.nr_frames = n;
	subj.objects = name_ptrs;
	subj.nr_objects = nr_names;
	rule = suppressions__match(supp, &subj);
	free(frames);
	return rule;
}

/* --- grouping ---------------------------------------------------------------------- */

/* Where a stack is, as a bug's identity: module and offset of its top frame. */
struct site {
	const char *module;
	__u64 where;			/* offset in module, or the ip without one */
};

static struct site stack_site(const struct report_stack *st)
{
	struct site s = { NULL, 0 };

	if (st->nr) {
		s.module = st->frames[0].module;
		s.where = s.module ? st->frames[0].offset : st->frames[0].ip;
	}
	return s;
}

static int site_cmp(const struct site *a, const struct site *b)
{
	int c;

	if (a->module != b->module) {
		if (!a->module || !b->module)
			return a->module ? 1 : -1;
		c = strcmp(a->module, b->module);
		if (c)
			return c;
	}
	return a->where < b->where ? -1 : a->where > b->where;
}

static int site_qsort_cmp(const void *a, const void *b)
{
	return site_cmp(a, b);
}

#define MODEL_MAX_SITES (2 * 64)

/* The sorted sites of a finding's stacks: which came first does not matter. */
static size_t bug_sites(const struct report_stack *stacks, size_t nr, struct site *out)
{
	size_t i;

	if (nr > MODEL_MAX_SITES)
		nr = MODEL_MAX_SITES;
	for (i = 0; i < nr; i++)
		out[i] = stack_site(&stacks[i]);
	qsort(out, nr, sizeof(*out), site_qsort_cmp);
	return nr;
}

static bool same_bug(const struct report_bug *b, enum finding_kind kind,
		     const struct site *sites, size_t nr_sites)
{
	struct site other[MODEL_MAX_SITES];
	size_t i, n;

	if (b->f->kind != kind)
		return false;
	n = bug_sites(b->stacks, b->nr_stacks, other);
	if (n != nr_sites)
		return false;
	for (i = 0; i < n; i++)
		if (site_cmp(&other[i], &sites[i]))
			return false;
	return true;
}

static bool object_same(const struct finding_object *a, const struct finding_object *b)
{
	if (a->key.space == KEY_NONE || b->key.space == KEY_NONE)
		return a->pid == b->pid && a->addr == b->addr;
	return ipcrace_key__equal(&a->key, &b->key);
}

/* The object a bug counts: the word, the lock, a cycle's first lock. */
static const struct finding_object *bug_object(const struct finding *f)
{
	if (f->kind == FINDING_LOCK_ORDER_INVERSION)
		return f->nr_cycle ? &f->cycle[0].held : &f->object;
	return &f->object;
}

/* Counts f's object in b when it is a new one. 0 or -ENOMEM. */
static int bug_add_object(struct report_bug *b, const struct finding *f)
{
	const struct finding_object *o = bug_object(f);
	struct finding_object *v;
	size_t i;

	for (i = 0; i < b->nr_objects; i++)
		if (object_same(&b->objects[i], o))
			return 0;
	if (b->nr_objects == b->cap_objects) {
		size_t cap = b->cap_objects ? b->cap_objects * 2 : 8;

		v = realloc(b->objects, cap * sizeof(*v));
		if (!v)
			return -ENOMEM;
		b->objects = v;
		b->cap_objects = cap;
	}
	b->objects[b->nr_objects++] = *o;
	return 0;
}

/* "race:bump", "deadlock:lock_a_then_b", "race:prog", "object:/dev/shm/x" */
static void bug_suppression(struct report_model *m, struct report_bug *b)
{
	const char *kind = suppress__kind_name_for(b->f->kind);
	struct objname on;

	if (b->has_summary && b->summary.function) {
		snprintf(b->suppression, sizeof(b->suppression), "%s:%s", kind,
			 b->summary.function);
	} else if (b->has_summary && b->summary.module) {
		snprintf(b->suppression, sizeof(b->suppression), "%s:%s", kind,
			 path__basename(b->summary.module));
	} else {
		objname__describe(m->t, bug_object(b->f), &on);
		snprintf(b->suppression, sizeof(b->suppression), "object:%s", on.where);
	}
}

/* The list a finding goes in: the bugs, or the candidates (not counted). */
struct bug_list {
	struct report_bug **items;
	size_t *nr;
	size_t cap;
};

static int bug_new(struct report_model *m, struct bug_list *l, const struct finding *f,
		   const struct finding_access *cur, const struct finding_access *prev,
		   struct report_stack *stacks, size_t nr_stacks)
{
	const struct frame *fr = NULL;
	struct report_bug *b;

	if (*l->nr == l->cap) {
		size_t c = l->cap ? l->cap * 2 : 16;

		b = realloc(*l->items, c * sizeof(*b));
		if (!b)
			return -ENOMEM;
		*l->items = b;
		l->cap = c;
	}
	b = &(*l->items)[(*l->nr)++];
	memset(b, 0, sizeof(*b));
	b->f = f;
	b->cur = cur;
	b->prev = prev;
	b->stacks = stacks;
	b->nr_stacks = nr_stacks;
	b->occurrences = 1;
	if (bug_add_object(b, f)) {
		(*l->nr)--;
		return -ENOMEM;
	}
	/* SUMMARY: the triggering access (a cycle's first request), else the other */
	if (nr_stacks)
		fr = report_stack__own_frame(&stacks[0]);
	if (!fr && nr_stacks > 1 && f->kind != FINDING_LOCK_ORDER_INVERSION)
		fr = report_stack__own_frame(&stacks[1]);
	if (fr) {
		b->has_summary = true;
		b->summary = *fr;
	}
	b->has_var = !symbolizer__race_object(m->s, f, &b->var);
	bug_suppression(m, b);
	return 0;
}

struct symbolizer *report_model__symbolizer(const struct trace *t)
{
	struct symbolizer *s = symbolizer__new(t);
	const char *dir;

	/* debug files elsewhere (another machine's, or none at all) */
	dir = getenv("IPCRACE_DEBUG_DIR");
	if (s && dir && *dir && symbolizer__set_debug_dir(s, dir))
		fprintf(stderr, "ipcrace: IPCRACE_DEBUG_DIR: path too long, using /usr/lib/debug\n");
	return s;
}

struct report_model *report_model__new(const struct trace *t, const struct findings *fs,
				       struct suppressions *supp)
{
	/* without a symbolizer the report still has addresses: go on */
	return report_model__new_with(t, fs, supp, t ? report_model__symbolizer(t) : NULL);
}

struct report_model *report_model__new_with(const struct trace *t, const struct findings *fs,
					    struct suppressions *supp, struct symbolizer *s)
{
	struct site sites[MODEL_MAX_SITES];
	const struct finding_access *cur, *prev;
	struct report_stack *stacks;
	struct report_model *m;
	struct bug_list bugs, candidates, *l;
	size_t i, j, nr_stacks, nr_sites;
	int err = 0;

	if (!t || !fs) {
		symbolizer__free(s);
		errno = EINVAL;
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		symbolizer__free(s);
		return NULL;
	}
	m->t = t;
	m->suppressions = supp;
	m->nr_findings = fs->nr;
	m->s = s;
	bugs = (struct bug_list){ .items = &m->bugs, .nr = &m->nr_bugs };
	candidates = (struct bug_list){ .items = &m->candidates, .nr = &m->nr_candidates };
	report_stats__compute(t, &m->stats);
	for (i = 0; i < fs->nr && !err; i++) {
		const struct finding *f = &fs->items[i];

		finding__order(f, &cur, &prev);
		stacks = finding_stacks(m, f, cur, prev, &nr_stacks);
		if (!stacks) {
			err = -ENOMEM;
			break;
		}
		/* findings count what the analyzer found, candidates apart */
		if (f->status == FINDING_CANDIDATE)
			m->nr_findings--;
		if (finding_suppressed(m, supp, f, stacks, nr_stacks)) {
			/* a rule that silences a candidate drops it from the list */
			if (f->status != FINDING_CANDIDATE)
				m->nr_suppressed++;
			stacks_free(stacks, nr_stacks);
			continue;
		}
		/* unconfirmed candidates are listed apart and count for nothing */
		l = f->status == FINDING_CANDIDATE ? &candidates : &bugs;
		nr_sites = bug_sites(stacks, nr_stacks, sites);
		for (j = 0; j < *l->nr; j++)
			if (same_bug(&(*l->items)[j], f->kind, sites, nr_sites))
				break;
		if (j < *l->nr) {
			(*l->items)[j].occurrences++;
			err = bug_add_object(&(*l->items)[j], f);
			stacks_free(stacks, nr_stacks);
			continue;
		}
		err = bug_new(m, l, f, cur, prev, stacks, nr_stacks);
		if (err)
			stacks_free(stacks, nr_stacks);
	}
	if (err) {
		report_model__free(m);
		errno = -err;
		return NULL;
	}
	return m;
}

void report_model__free(struct report_model *m)
{
	size_t i;

	if (!m)
		return;
	for (i = 0; i < m->nr_bugs; i++) {
		stacks_free(m->bugs[i].stacks, m->bugs[i].nr_stacks);
		free(m->bugs[i].objects);
	}
	free(m->bugs);
	for (i = 0; i < m->nr_candidates; i++) {
		stacks_free(m->candidates[i].stacks, m->candidates[i].nr_stacks);
		free(m->candidates[i].objects);
	}
	free(m->candidates);
	symbolizer__free(m->s);
	free(m);
}

int report_model__write(FILE *out, const struct report_model *m,
			const struct report_opts *opts)
{
	if (!out || !m || !opts)
		return -EINVAL;
	switch (opts->format) {
	case REPORT_TEXT:
		return text_report__write(out, m, opts);
	case REPORT_JSON:
		return json_report__write(out, m, opts);
	case REPORT_SARIF:
		return sarif_report__write(out, m, opts);
	case REPORT_PERFETTO:
		return perfetto_report__write(out, m, opts);
	}
	return -EINVAL;
}
