// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The JSON report, schema 1 (DESIGN.md); more keys may be added, none removed. */
#include <errno.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include "../analyzer/syncvis.h"
#include "candidates.h"
#include "frames_out.h"
#include "json_writer.h"
#include "objname.h"
#include "model.h"

#define JSON_SCHEMA 1

struct json_ctx {
	struct json_writer *w;
	const struct trace *t;
	const struct report_model *m;
};

static void write_key(struct json_ctx *c, const struct ipcrace_key *k)
{
	struct json_writer *w = c->w;

	json_writer__name(w, "key");
	json_writer__start_object(w);
	switch ((enum ipcrace_key_space)k->space) {
	case KEY_FILE:
		json_writer__kv_string(w, "space", "file");
		json_writer__kv_uint(w, "dev_major", major(k->a));
		json_writer__kv_uint(w, "dev_minor", minor(k->a));
		json_writer__kv_uint(w, "ino", k->b);
		json_writer__kv_uint(w, "offset", k->c);
		break;
	case KEY_PRIVATE:
		json_writer__kv_string(w, "space", "private");
		json_writer__kv_uint(w, "pid", k->a);
		json_writer__kv_uint(w, "address", k->b);
		break;
	case KEY_SYSV_SEM:
		json_writer__kv_string(w, "space", "sysv-sem");
		json_writer__kv_uint(w, "semid", k->a);
		json_writer__kv_uint(w, "semnum", k->b);
		break;
	case KEY_SYSV_MSG:
		json_writer__kv_string(w, "space", "sysv-msg");
		json_writer__kv_uint(w, "msqid", k->a);
		break;
	case KEY_NONE:
		json_writer__kv_string(w, "space", "none");
		break;
	}
	json_writer__end_object(w);
}

/* A lock: {"kind": "mutex", "name": "mutex in /dev/shm/bank +0x40", ...} */
static void write_lock(struct json_ctx *c, const struct finding_object *o)
{
	struct json_writer *w = c->w;
	char name[OBJNAME_LEN];
	struct objname n;

	objname__describe(c->t, o, &n);
	objname__format(name, sizeof(name), c->t, o);
	json_writer__start_object(w);
	json_writer__kv_string(w, "kind", objname__kind_id(o->obj));
	json_writer__kv_string(w, "name", name);
	json_writer__kv_string(w, "space", n.space);
	json_writer__kv_string(w, "location", n.where);
	if (n.has_offset)
		json_writer__kv_uint(w, "offset", n.offset);
	else
		json_writer__kv_null(w, "offset");
	json_writer__kv_uint(w, "pid", o->pid);
	json_writer__kv_uint(w, "address", o->addr);
	write_key(c, &o->key);
	json_writer__end_object(w);
}

/* The memory a data race is about: {"kind": "anon-shared", "name", ...} */
static void write_memory_object(struct json_ctx *c, const struct report_bug *b,
				const struct finding_object *o)
{
	struct json_writer *w = c->w;
	struct objname n;

	objname__describe(c->t, o, &n);
	json_writer__start_object(w);
	json_writer__kv_string(w, "kind", n.space);
	json_writer__kv_string(w, "name", n.where);
	json_writer__kv_uint(w, "offset", n.has_offset ? n.offset : o->addr);
	json_writer__kv_uint(w, "size", o->size);
	/* the global variable, "counters.hits"; null for shared memory and heap */
	if (b && b->has_var)
		json_writer__kv_string(w, "symbol", b->var.name);
	else
		json_writer__kv_null(w, "symbol");
	json_writer__kv_uint(w, "pid", o->pid);
	json_writer__kv_uint(w, "address", o->addr);
	write_key(c, &o->key);
	json_writer__end_object(w);
}

/* "stack": [...], inlined callers flattened in, innermost first */
static void write_stack(struct json_ctx *c, const char *name, const struct report_stack *st)
{
	frames_out__json(c->w, name, st ? st->frames : NULL, st ? st->nr : 0);
}

static const struct report_stack *bug_stack(const struct report_bug *b, size_t i)
{
	return i < b->nr_stacks ? &b->stacks[i] : NULL;
}

static void write_thread(struct json_ctx *c, const struct finding_access *a)
{
	struct json_writer *w = c->w;

	json_writer__kv_uint(w, "pid", a->pid);
	json_writer__kv_uint(w, "tid", a->tid);
	json_writer__name(w, "comm");
	json_writer__string_n(w, a->comm, IPCRACE_COMM_LEN);
	json_writer__kv_uint(w, "ts", a->ts);
}

static void write_access(struct json_ctx *c, const struct finding_access *a,
			 const struct report_stack *st)
{
	struct json_writer *w = c->w;
	size_t i, nr = a->nr_locks < FINDING_MAX_LOCKS ? a->nr_locks : FINDING_MAX_LOCKS;

	json_writer__start_object(w);
	write_thread(c, a);
	json_writer__kv_string(w, "op", access__op(a));
	json_writer__kv_bool(w, "atomic", a->flags & EVF_ATOMIC);
	json_writer__name(w, "locks_held");
	json_writer__start_array(w);
	for (i = 0; i < nr; i++)
		write_lock(c, &a->locks_held[i]);
	json_writer__end_array(w);
	write_stack(c, "stack", st);
	json_writer__end_object(w);
}

/* accesses in report order: the triggering one first */
static void write_accesses(struct json_ctx *c, const struct report_bug *b)
{
	json_writer__name(c->w, "accesses");
	json_writer__start_array(c->w);
	if (b->cur)
		write_access(c, b->cur, bug_stack(b, 0));
	if (b->prev)
		write_access(c, b->prev, bug_stack(b, 1));
	json_writer__end_array(c->w);
}

static void write_cycle(struct json_ctx *c, const struct report_bug *b)
{
	const struct finding *f = b->f;
	struct json_writer *w = c->w;
	size_t i;

	json_writer__name(w, "cycle");
	json_writer__start_array(w);
	for (i = 0; i < f->nr_cycle; i++) {
		const struct finding_edge *e = &f->cycle[i];

		json_writer__start_object(w);
		json_writer__name(w, "lock");
		write_lock(c, &e->lock);
		json_writer__name(w, "acquired_while_holding");
		write_lock(c, &e->held);
		write_thread(c, &e->who);
		write_stack(c, "stack", bug_stack(b, 2 * i));
		write_stack(c, "held_stack", bug_stack(b, 2 * i + 1));
		json_writer__end_object(w);
	}
	json_writer__end_array(w);
}

static const char *finding_kind_id(enum finding_kind k)
{
	switch (k) {
	case FINDING_DATA_RACE:			return "data-race";
	case FINDING_LOCK_ORDER_INVERSION:	return "lock-order-inversion";
	case FINDING_DOUBLE_LOCK:		return "double-lock";
	case FINDING_UNLOCK_NOT_HELD:		return "unlock-not-held";
	case FINDING_LOCK_HELD_AT_EXIT:		return "lock-held-at-exit";
	}
	return "unknown";
}

/* The frame SUMMARY names: the first in the target's own code. */
static void write_summary_frame(struct json_ctx *c, const struct report_bug *b)
{
	const struct frame *fr = &b->summary;

	json_writer__name(c->w, "summary_frame");
	if (b->has_summary)
		frames_out__json_frame(c->w, fr, fr->function, fr->file, fr->line, false);
	else
		json_writer__null(c->w);
}

/* How many findings this report stands for, and the first objects. */
static void write_occurrences(struct json_ctx *c, const struct report_bug *b)
{
	struct json_writer *w = c->w;
	size_t i, nr = b->nr_objects < REPORT_MAX_OBJECTS ? b->nr_objects : REPORT_MAX_OBJECTS;

	json_writer__kv_uint(w, "occurrences", b->occurrences);
	json_writer__kv_uint(w, "nr_objects", b->nr_objects);
	json_writer__name(w, "objects");
	json_writer__start_array(w);
	for (i = 0; i < nr; i++) {
		if (b->f->kind == FINDING_DATA_RACE)
			write_memory_object(c, NULL, &b->objects[i]);
		else
			write_lock(c, &b->objects[i]);
	}
	json_writer__end_array(w);
}

static const char *status_id(enum finding_status s)
{
	switch (s) {
	case FINDING_PREDICTED:
		return "predicted";
	case FINDING_CANDIDATE:
		return "candidate";
	case FINDING_CONFIRMED:
		return "confirmed";
	}
	return "unknown";
}

/*
 * Data races: "status" (predicted, candidate, confirmed) and, when one of
 * its processes synchronizes in ways ipcrace cannot see, "unseen": {"why":
 * "unprobed-code", "pid", "address", "description"}; "confirmation" says
 * what confirmed it.
 */
static void write_status(struct json_ctx *c, const struct finding *f)
{
	struct json_writer *w = c->w;
	char why[TRACE_PATH_LEN + 256];

	json_writer__kv_string(w, "status", status_id(f->status));
	if (f->status == FINDING_CONFIRMED)
		json_writer__kv_string(w, "confirmation", CANDIDATE_CONFIRMED_TEXT);
	if (f->unseen.why == SYNCVIS_VISIBLE) {
		json_writer__kv_null(w, "unseen");
		return;
	}
	candidate__why(why, sizeof(why), c->m, f);
	json_writer__name(w, "unseen");
	json_writer__start_object(w);
	json_writer__kv_string(w, "why", syncvis_why__name((enum syncvis_why)f->unseen.why));
	json_writer__kv_uint(w, "pid", f->unseen.pid);
	json_writer__kv_uint(w, "address", f->unseen.addr);
	json_writer__kv_string(w, "description", why);
	json_writer__end_object(w);
}

static void write_finding(struct json_ctx *c, const struct report_bug *b)
{
	const struct finding *f = b->f;
	struct json_writer *w = c->w;
	char summary[2048];

	finding__describe(summary, sizeof(summary), c->t, f);
	json_writer__start_object(w);
	json_writer__kv_string(w, "kind", finding_kind_id(f->kind));
	json_writer__kv_string(w, "summary", summary);
	write_summary_frame(c, b);
	json_writer__kv_string(w, "suppression", b->suppression);
	write_occurrences(c, b);
	switch (f->kind) {
	case FINDING_DATA_RACE:
		write_status(c, f);
		json_writer__name(w, "object");
		write_memory_object(c, b, &f->object);
		write_accesses(c, b);
		break;
	case FINDING_LOCK_ORDER_INVERSION:
		write_cycle(c, b);
		break;
	case FINDING_DOUBLE_LOCK:
	case FINDING_UNLOCK_NOT_HELD:
	case FINDING_LOCK_HELD_AT_EXIT:
		json_writer__name(w, "lock");
		write_lock(c, &f->object);
		write_accesses(c, b);
		break;
	}
	json_writer__end_object(w);
}

/*
 * "suppressions": {"suppressed": 3, "rules": [{"rule": "race:bump", "file",
 * "line", "suppressed": 2}, ...], "unmatched": ["deadlock:old (f:3)"]}
 */
static void write_suppressions(struct json_ctx *c)
{
	const struct suppressions *supp = c->m->suppressions;
	struct json_writer *w = c->w;
	size_t i, nr = suppressions__nr_rules(supp);

	json_writer__name(w, "suppressions");
	json_writer__start_object(w);
	json_writer__kv_uint(w, "suppressed", c->m->nr_suppressed);
	json_writer__name(w, "rules");
	json_writer__start_array(w);
	for (i = 0; i < nr; i++) {
		const struct suppress_rule *r = suppressions__rule(supp, i);

		json_writer__start_object(w);
		json_writer__kv_string(w, "rule", r->text);
		json_writer__kv_string(w, "file", r->file);
		json_writer__kv_uint(w, "line", r->line);
		json_writer__kv_uint(w, "suppressed", r->hits);
		json_writer__end_object(w);
	}
	json_writer__end_array(w);
	json_writer__name(w, "unmatched");
	json_writer__start_array(w);
	for (i = 0; i < nr; i++) {
		const struct suppress_rule *r = suppressions__rule(supp, i);

		if (!r->hits)
			json_writer__string(w, r->text);
	}
	json_writer__end_array(w);
	json_writer__end_object(w);
}

static void write_target(struct json_ctx *c)
{
	struct json_writer *w = c->w;
	const struct trace *t = c->t;
	bool exited = t->has_footer && (t->footer.flags & TRACEF_TARGET_EXITED);
	int status = t->footer.target_status;

	json_writer__name(w, "target");
	json_writer__start_object(w);
	json_writer__name(w, "command");
	json_writer__string_n(w, t->header.cmdline, sizeof(t->header.cmdline));
	if (exited && WIFEXITED(status))
		json_writer__kv_int(w, "exit_status", WEXITSTATUS(status));
	else
		json_writer__kv_null(w, "exit_status");
	if (exited && WIFSIGNALED(status))
		json_writer__kv_int(w, "signal", WTERMSIG(status));
	else
		json_writer__kv_null(w, "signal");
	json_writer__end_object(w);
}

/*
 * What the watchpoints cost and whether a budget held them back: sampled
 * is true when fewer words were watched than the schedule wanted.
 */
static void write_watch_sampling(struct json_writer *w, const struct trace_watch_stats *ws)
{
	json_writer__name(w, "watch_sampling");
	json_writer__start_object(w);
	json_writer__kv_bool(w, "sampled", ws->held_ticks > 0);
	json_writer__kv_uint(w, "traps", ws->traps);
	json_writer__kv_uint(w, "slot_switches", ws->slot_switches);
	json_writer__kv_uint(w, "ticks", ws->ticks);
	json_writer__kv_uint(w, "held_ticks", ws->held_ticks);
	json_writer__kv_uint(w, "cost_ns", ws->cost_ns);
	json_writer__kv_uint(w, "traced_ns", ws->traced_ns);
	json_writer__kv_uint(w, "self_ns", ws->self_ns);
	json_writer__kv_uint(w, "trap_ns", ws->trap_ns);
	json_writer__kv_uint(w, "switch_ns", ws->switch_ns);
	json_writer__kv_uint(w, "watch_rate", ws->watch_rate);
	json_writer__kv_uint(w, "overhead_pct", ws->overhead_pct);
	json_writer__end_object(w);
}

/*
 * What the lock sampling did: sampled when a process's lock probes were
 * off for a window; on_share the share of the metered time they were on.
 */
static void write_lock_sampling(struct json_writer *w, const struct trace_lock_sampling *ls)
{
	json_writer__name(w, "lock_sampling");
	json_writer__start_object(w);
	json_writer__kv_bool(w, "sampled", ls->windows > 0);
	json_writer__kv_uint(w, "processes", ls->processes);
	json_writer__kv_uint(w, "metered_processes", ls->metered);
	json_writer__kv_uint(w, "windows", ls->windows);
	/* 0.000 to 1.000 */
	json_writer__kv_decimal(w, "on_share", ls->metered_ns ?
				(ls->metered_ns - (ls->off_ns < ls->metered_ns ? ls->off_ns :
						   ls->metered_ns)) * 1000 / ls->metered_ns : 1000,
				3);
	json_writer__kv_uint(w, "off_ns", ls->off_ns);
	json_writer__kv_uint(w, "metered_ns", ls->metered_ns);
	json_writer__kv_uint(w, "events", ls->events);
	json_writer__kv_uint(w, "event_ns", ls->event_ns);
	json_writer__kv_uint(w, "cost_ns", ls->cost_ns);
	json_writer__kv_uint(w, "overhead_pct", ls->overhead_pct);
	json_writer__end_object(w);
}

int json_report__write(FILE *out, const struct report_model *m,
		       const struct report_opts *opts)
{
	struct json_ctx c = { .t = m->t, .m = m };
	const struct report_stats *st = &m->stats;
	size_t i;
	int err;

	c.w = json_writer__new(out, true);
	if (!c.w)
		return -errno;

	json_writer__start_object(c.w);
	json_writer__kv_int(c.w, "schema", JSON_SCHEMA);
	json_writer__name(c.w, "tool");
	json_writer__start_object(c.w);
	json_writer__kv_string(c.w, "name", "ipcrace");
	json_writer__kv_string(c.w, "version", IPCRACE_VERSION);
	json_writer__end_object(c.w);

	json_writer__name(c.w, "stats");
	json_writer__start_object(c.w);
	json_writer__kv_uint(c.w, "processes", st->processes);
	json_writer__kv_uint(c.w, "threads", st->threads);
	/* what was traced, by name (the most frequent 8), and the processes of other names */
	json_writer__name(c.w, "traced");
	json_writer__start_array(c.w);
	for (size_t i = 0; i < st->nr_names; i++) {
		json_writer__start_object(c.w);
		json_writer__kv_string(c.w, "name", st->names[i].name);
		json_writer__kv_uint(c.w, "processes", st->names[i].processes);
		json_writer__end_object(c.w);
	}
	json_writer__end_array(c.w);
	json_writer__kv_uint(c.w, "traced_other_processes", st->other_processes);
	json_writer__kv_uint(c.w, "events", st->events);
	json_writer__kv_uint(c.w, "lost_events", st->lost_events);
	json_writer__kv_uint(c.w, "lost_stacks", st->lost_stacks);
	json_writer__kv_uint(c.w, "untraced_peer_calls", st->untraced_peer_calls);
	json_writer__kv_uint(c.w, "watched_words", opts->watched_words);
	if (m->t->has_watch_stats)
		write_watch_sampling(c.w, &m->t->watch_stats);
	if (m->t->has_lock_sampling)
		write_lock_sampling(c.w, &m->t->lock_sampling);
	json_writer__kv_bool(c.w, "complete", !st->incomplete);
	json_writer__kv_string(c.w, "missing", st->missing);
	json_writer__kv_uint(c.w, "skipped_bytes", m->t->skipped_bytes);
	json_writer__kv_uint(c.w, "skipped_records", m->t->skipped_records);
	json_writer__kv_uint(c.w, "dropped_events", m->t->footer.dropped_events);
	json_writer__kv_bool(c.w, "truncated", m->t->truncated);
	json_writer__kv_bool(c.w, "has_footer", m->t->has_footer);
	json_writer__kv_uint(c.w, "findings", m->nr_findings);
	json_writer__kv_uint(c.w, "reports", m->nr_bugs);
	json_writer__kv_uint(c.w, "suppressed", m->nr_suppressed);
	json_writer__kv_uint(c.w, "candidates", m->nr_candidates);
	json_writer__end_object(c.w);

	write_target(&c);
	json_writer__kv_uint(c.w, "seed", opts->seed);

	json_writer__name(c.w, "findings");
	json_writer__start_array(c.w);
	for (i = 0; i < m->nr_bugs; i++)
		write_finding(&c, &m->bugs[i]);
	json_writer__end_array(c.w);
	/* races not confirmed where synchronization is not all visible: no findings */
	json_writer__name(c.w, "candidates");
	json_writer__start_array(c.w);
	for (i = 0; i < m->nr_candidates; i++)
		write_finding(&c, &m->candidates[i]);
	json_writer__end_array(c.w);
	write_suppressions(&c);
	json_writer__end_object(c.w);

	err = json_writer__free(c.w);
	if (!err && (fflush(out) || ferror(out)))
		err = -EIO;
	return err;
}
