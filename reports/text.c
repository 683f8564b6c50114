// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The text report, laid out like ThreadSanitizer's: one block per finding
 * between ==== lines, a WARNING headline, each thread's part with its
 * stack, the locks and the object, then a SUMMARY line a script can grep.
 */
#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include "candidates.h"
#include "escape.h"
#include "frames_out.h"
#include "objname.h"
#include "model.h"

#define TEXT_RULE "=================="
#define TEXT_MAX_LOCK_NAMES 64
#define COLOR_WARN "\033[1;31m"
#define COLOR_RESET "\033[0m"

struct text_ctx {
	FILE *out;
	const struct trace *t;
	const struct report_opts *opts;
	const struct report_model *m;
	/* M1, M2...: the locks named so far in the current finding */
	struct finding_object locks[TEXT_MAX_LOCK_NAMES];
	size_t nr_locks;
};

static void put_escaped(struct text_ctx *c, const char *s, size_t maxlen)
{
	escape__text(c->out, s, maxlen);
}

static void put_comm(struct text_ctx *c, const char *comm)
{
	put_escaped(c, comm, IPCRACE_COMM_LEN);
}

static bool key_equal(const struct finding_object *a, const struct finding_object *b)
{
	return a->key.space == b->key.space && a->key.a == b->key.a &&
	       a->key.b == b->key.b && a->key.c == b->key.c &&
	       (a->key.space != KEY_NONE || (a->addr == b->addr && a->pid == b->pid));
}

/* The M-number of a lock in this finding, naming it if new; *is_new tells. */
static size_t lock_number(struct text_ctx *c, const struct finding_object *o, bool *is_new)
{
	size_t i;

	*is_new = false;
	for (i = 0; i < c->nr_locks; i++)
		if (key_equal(&c->locks[i], o))
			return i + 1;
	if (c->nr_locks == TEXT_MAX_LOCK_NAMES)
		return 0;
	c->locks[c->nr_locks++] = *o;
	*is_new = true;
	return c->nr_locks;
}

static void put_object(struct text_ctx *c, const struct finding_object *o)
{
	char name[OBJNAME_LEN];

	objname__format(name, sizeof(name), c->t, o);
	put_escaped(c, name, sizeof(name));
}

/* "M1" the first time followed by " (mutex in /dev/shm/bank +0x0)" */
static void put_lock_ref(struct text_ctx *c, const struct finding_object *o, bool describe)
{
	bool is_new;
	size_t n = lock_number(c, o, &is_new);

	if (!n) {
		put_object(c, o);
		return;
	}
	fprintf(c->out, "M%zu", n);
	if (is_new || describe) {
		fputs(" (", c->out);
		put_object(c, o);
		fputc(')', c->out);
	}
}

/* "Mutex", "SysV semaphore": the kind at the start of a sentence */
static void put_kind_capitalized(struct text_ctx *c, __u16 obj)
{
	const char *k = objname__kind_name(obj);

	fputc(toupper((unsigned char)k[0]), c->out);
	fputs(k + 1, c->out);
}

static void put_stack(struct text_ctx *c, const struct report_stack *st)
{
	if (!st || !st->nr) {
		fputs("    <no stack recorded>\n", c->out);
		return;
	}
	frames_out__text(c->out, st->frames, st->nr);
}

/* stack i of bug b, or NULL */
static const struct report_stack *bug_stack(const struct report_bug *b, size_t i)
{
	return i < b->nr_stacks ? &b->stacks[i] : NULL;
}

static void put_thread(struct text_ctx *c, const struct finding_access *a)
{
	fprintf(c->out, "thread T%u (pid %u, comm '", a->tid, a->pid);
	put_comm(c, a->comm);
	fputs("')", c->out);
}

static void put_locks_held(struct text_ctx *c, const struct finding_access *a)
{
	size_t i, nr = a->nr_locks < FINDING_MAX_LOCKS ? a->nr_locks : FINDING_MAX_LOCKS;

	fputs("    Locks held: ", c->out);
	if (!nr)
		fputs("none", c->out);
	for (i = 0; i < nr; i++) {
		if (i)
			fputs(", ", c->out);
		put_lock_ref(c, &a->locks_held[i], false);
	}
	fputc('\n', c->out);
}

static void put_headline(struct text_ctx *c, const char *what, __u32 pid)
{
	fputs(TEXT_RULE "\n", c->out);
	if (c->opts->color)
		fputs(COLOR_WARN, c->out);
	fprintf(c->out, "WARNING: ipcrace: %s (pid=%u)", what, pid);
	if (c->opts->color)
		fputs(COLOR_RESET, c->out);
	fputc('\n', c->out);
}

/*
 * "N occurrences on M words: NAME, NAME..." when the bug was seen more
 * than once (one report per bug, TSan's deduplication).
 */
static void put_occurrences(struct text_ctx *c, const struct report_bug *b, const char *unit)
{
	size_t i, nr = b->nr_objects < REPORT_MAX_OBJECTS ? b->nr_objects : REPORT_MAX_OBJECTS;

	if (b->occurrences < 2 && b->nr_objects < 2)
		return;
	fprintf(c->out, "\n  Same code locations: %zu occurrence%s on %zu %s%s", b->occurrences,
		b->occurrences == 1 ? "" : "s", b->nr_objects, unit,
		b->nr_objects == 1 ? "" : "s");
	for (i = 0; i < nr; i++) {
		fputs(i ? ", " : ": ", c->out);
		put_object(c, &b->objects[i]);
	}
	if (b->nr_objects > nr)
		fputs(", ...", c->out);
	fputs("\n", c->out);
}

/*
 * "SUMMARY: ipcrace: data race counter.c:21 in bump", from the first frame
 * in the target's own code (the model chose it), or "(prog+0x1139) in bump"
 * when that code has no line information.
 */
static void put_summary(struct text_ctx *c, const char *what, const struct report_bug *b)
{
	const struct frame *fr = b->has_summary ? &b->summary : NULL;

	if (c->opts->print_suppressions) {
		fputs("\n  Suppression: ", c->out);
		put_escaped(c, b->suppression, sizeof(b->suppression));
		fputc('\n', c->out);
	}
	fprintf(c->out, "\nSUMMARY: ipcrace: %s", what);
	if (fr && fr->file) {
		fputc(' ', c->out);
		put_escaped(c, path__basename(fr->file), SIZE_MAX);
		if (fr->line)
			fprintf(c->out, ":%d", fr->line);
	} else if (fr && fr->module) {
		fputs(" (", c->out);
		put_escaped(c, path__basename(fr->module), SIZE_MAX);
		fprintf(c->out, "+0x%llx)", (unsigned long long)fr->offset);
	} else if (fr) {
		fprintf(c->out, " 0x%llx", (unsigned long long)fr->ip);
	}
	if (fr && fr->function) {
		fputs(" in ", c->out);
		put_escaped(c, fr->function, SIZE_MAX);
	}
	fputs("\n" TEXT_RULE "\n", c->out);
}

static void write_data_race(struct text_ctx *c, const struct report_bug *b)
{
	const struct finding_access *cur = b->cur, *prev = b->prev;
	const struct data_sym *var = &b->var;
	const struct finding *f = b->f;
	const char *op;

	put_headline(c, "data race", cur ? cur->pid : f->object.pid);
	if (cur) {
		op = access__op(cur);
		fprintf(c->out, "  %c%s of size %llu by ", toupper((unsigned char)op[0]), op + 1,
			(unsigned long long)f->object.size);
		put_thread(c, cur);
		fputs(":\n", c->out);
		put_stack(c, bug_stack(b, 0));
		put_locks_held(c, cur);
	}
	if (prev) {
		fprintf(c->out, "\n  Previous %s of size %llu by ", access__op(prev),
			(unsigned long long)f->object.size);
		put_thread(c, prev);
		fputs(":\n", c->out);
		put_stack(c, bug_stack(b, 1));
		put_locks_held(c, prev);
	}
	fputs("\n  Location is ", c->out);
	if (b->has_var) {
		/* TSan's words: "global 'counters.hits' of size 8 at 0x... (bin+0x...)" */
		fputs("global '", c->out);
		put_escaped(c, var->name, sizeof(var->name));
		fputc('\'', c->out);
		if (f->object.size)
			fprintf(c->out, " of size %llu", (unsigned long long)f->object.size);
		fprintf(c->out, " at 0x%llx (", (unsigned long long)f->object.addr);
		put_escaped(c, path__basename(var->module), SIZE_MAX);
		fprintf(c->out, "+0x%llx)", (unsigned long long)var->offset);
	} else {
		put_object(c, &f->object);
		if (f->object.size)
			fprintf(c->out, ", %llu bytes", (unsigned long long)f->object.size);
	}
	fputs(".\n", c->out);
	if (f->status == FINDING_CONFIRMED) {
		char why[TRACE_PATH_LEN + 256];

		candidate__why(why, sizeof(why), c->m, f);
		fputs("  " CANDIDATE_CONFIRMED_TEXT " (", c->out);
		put_escaped(c, why, SIZE_MAX);
		fputs(").\n", c->out);
	}
	put_occurrences(c, b, "word");
	put_summary(c, "data race", b);
}

/* "write in f a.c:12" of one side of a candidate, from its stack. */
static void put_candidate_side(struct text_ctx *c, const struct finding_access *a,
			       const struct report_stack *st)
{
	const struct frame *fr = st ? report_stack__own_frame(st) : NULL;

	fputs(access__op(a), c->out);
	if (fr && fr->function) {
		fputs(" in ", c->out);
		put_escaped(c, fr->function, SIZE_MAX);
	}
	if (fr && fr->file) {
		fputc(' ', c->out);
		put_escaped(c, path__basename(fr->file), SIZE_MAX);
		fprintf(c->out, ":%d", fr->line);
	}
	fprintf(c->out, " (pid %u)", a->pid);
}

/*
 * One line per candidate: a race happens-before could not exclude in
 * processes whose synchronization ipcrace cannot all see, not confirmed,
 * so not a finding.
 */
static void write_candidate(struct text_ctx *c, const struct report_bug *b)
{
	char why[TRACE_PATH_LEN + 256];

	fputs("ipcrace: candidate data race, not confirmed (not counted): ", c->out);
	if (b->cur)
		put_candidate_side(c, b->cur, bug_stack(b, 0));
	if (b->prev) {
		fputs(" vs ", c->out);
		put_candidate_side(c, b->prev, bug_stack(b, 1));
	}
	fputs(" on ", c->out);
	if (b->has_var) {
		put_escaped(c, b->var.name, sizeof(b->var.name));
	} else {
		put_object(c, &b->f->object);
	}
	candidate__why(why, sizeof(why), c->m, b->f);
	fputs("; ", c->out);
	put_escaped(c, why, SIZE_MAX);
	if (b->occurrences > 1)
		fprintf(c->out, " (%zu times)", b->occurrences);
	fputc('\n', c->out);
}

static void write_lock_order(struct text_ctx *c, const struct report_bug *b)
{
	const struct finding *f = b->f;
	const struct finding_edge *e;
	bool is_new;
	size_t i;

	put_headline(c, "lock-order-inversion (potential deadlock)",
		     f->nr_cycle ? f->cycle[0].who.pid : f->object.pid);
	fputs("  Cycle in lock order graph: ", c->out);
	if (f->nr_cycle)
		put_lock_ref(c, &f->cycle[0].held, false);
	for (i = 0; i < f->nr_cycle; i++) {
		fputs(" => ", c->out);
		put_lock_ref(c, &f->cycle[i].lock, false);
	}
	fputs("\n", c->out);
	for (i = 0; i < f->nr_cycle; i++) {
		e = &f->cycle[i];
		fputs("\n  ", c->out);
		put_kind_capitalized(c, e->lock.obj);
		fprintf(c->out, " M%zu acquired here while holding %s M%zu by ",
			lock_number(c, &e->lock, &is_new), objname__kind_name(e->held.obj),
			lock_number(c, &e->held, &is_new));
		put_thread(c, &e->who);
		fputs(":\n", c->out);
		put_stack(c, bug_stack(b, 2 * i));
		fputs("\n  ", c->out);
		put_kind_capitalized(c, e->held.obj);
		fprintf(c->out, " M%zu previously acquired by the same thread here:\n",
			lock_number(c, &e->held, &is_new));
		put_stack(c, bug_stack(b, 2 * i + 1));
	}
	put_occurrences(c, b, "lock cycle");
	put_summary(c, "lock-order-inversion", b);
}

/* double lock, unlock not held, held at exit: one lock, one or two events */
static void write_misuse(struct text_ctx *c, const struct report_bug *b, const char *what,
			 const char *cur_verb)
{
	const struct finding_access *cur = b->cur, *prev = b->prev;
	const struct finding *f = b->f;

	put_headline(c, what, cur ? cur->pid : f->object.pid);
	fputs("  ", c->out);
	put_kind_capitalized(c, f->object.obj);
	fputc(' ', c->out);
	put_lock_ref(c, &f->object, true);
	fprintf(c->out, " %s", cur_verb);
	if (cur) {
		fputs(" by ", c->out);
		put_thread(c, cur);
		fputs(":\n", c->out);
		put_stack(c, bug_stack(b, 0));
		put_locks_held(c, cur);
	} else {
		fputs(".\n", c->out);
	}
	if (prev) {
		fputs("\n  Earlier operation on M1 by ", c->out);
		put_thread(c, prev);
		fputs(":\n", c->out);
		put_stack(c, bug_stack(b, 1));
	}
	put_occurrences(c, b, "lock");
	put_summary(c, what, b);
}

static void write_bug(struct text_ctx *c, const struct report_bug *b)
{
	c->nr_locks = 0;
	switch (b->f->kind) {
	case FINDING_DATA_RACE:
		write_data_race(c, b);
		break;
	case FINDING_LOCK_ORDER_INVERSION:
		write_lock_order(c, b);
		break;
	case FINDING_DOUBLE_LOCK:
		write_misuse(c, b, "double lock", "acquired again, already held");
		break;
	case FINDING_UNLOCK_NOT_HELD:
		write_misuse(c, b, "unlock of a lock not held", "released, not held");
		break;
	case FINDING_LOCK_HELD_AT_EXIT:
		write_misuse(c, b, "lock held at exit", "still held at process exit, acquired");
		break;
	}
}

/*
 * "ipcrace: suppressed 3 findings: race:bump (2, file:4), ..." and the rules
 * that matched nothing, so a stale suppressions file shows.
 */
static void write_suppressions(struct text_ctx *c)
{
	const struct suppressions *supp = c->m->suppressions;
	size_t i, nr = suppressions__nr_rules(supp), unused = 0;
	const char *sep = ": ";

	if (c->m->nr_suppressed) {
		fprintf(c->out, "ipcrace: suppressed %zu finding%s", c->m->nr_suppressed,
			c->m->nr_suppressed == 1 ? "" : "s");
		for (i = 0; i < nr; i++) {
			const struct suppress_rule *r = suppressions__rule(supp, i);

			if (!r->hits)
				continue;
			fputs(sep, c->out);
			put_escaped(c, r->text, SIZE_MAX);
			fprintf(c->out, " (%zu, ", r->hits);
			put_escaped(c, r->file, SIZE_MAX);
			fprintf(c->out, ":%zu)", r->line);
			sep = ", ";
		}
		fputc('\n', c->out);
	}
	for (i = 0; i < nr; i++) {
		const struct suppress_rule *r = suppressions__rule(supp, i);

		if (r->hits)
			continue;
		fputs(unused++ ? ", " : "ipcrace: suppressions that matched nothing: ", c->out);
		put_escaped(c, r->text, SIZE_MAX);
		fputs(" (", c->out);
		put_escaped(c, r->file, SIZE_MAX);
		fprintf(c->out, ":%zu)", r->line);
	}
	if (unused)
		fputc('\n', c->out);
}

/* "ipcrace: traced: nginx (3 processes), sh (1 process)": what the counts are made of. */
static void write_traced(struct text_ctx *c, const struct report_stats *st)
{
	if (!st->nr_names)
		return;
	fputs("ipcrace: traced: ", c->out);
	for (size_t i = 0; i < st->nr_names; i++) {
		fputs(i ? ", " : "", c->out);
		put_escaped(c, st->names[i].name, sizeof(st->names[i].name));
		fprintf(c->out, " (%zu process%s)", st->names[i].processes,
			st->names[i].processes == 1 ? "" : "es");
	}
	if (st->other_processes)
		fprintf(c->out, ", and %zu process%s of %zu other name%s", st->other_processes,
			st->other_processes == 1 ? "" : "es", st->other_names,
			st->other_names == 1 ? "" : "s");
	fputc('\n', c->out);
}

/* Sampling is never silent: one line when a budget held the watch rotation back. */
static void write_watch_sampling(struct text_ctx *c, const struct trace_watch_stats *ws)
{
	if (!ws->held_ticks)
		return;
	fprintf(c->out, "ipcrace: watch: sampled: the budget (--watch-rate %u, --overhead %u%%) held "
		"the rotation in %llu of %llu ticks (%.0f%%): fewer words were watched (%llu traps, "
		"%llu context switches x slots armed", ws->watch_rate, ws->overhead_pct,
		(unsigned long long)ws->held_ticks, (unsigned long long)ws->ticks,
		ws->ticks ? 100.0 * ws->held_ticks / ws->ticks : 0.0,
		(unsigned long long)ws->traps, (unsigned long long)ws->slot_switches);
	if (ws->traced_ns)
		fprintf(c->out, ", about %.1f ms against %.1f ms of the traced processes' CPU",
			ws->cost_ns / 1e6, ws->traced_ns / 1e6);
	fputs(")\n", c->out);
}

/* Nor is lock sampling: one line when a process's lock probes were off for a while. */
static void write_lock_sampling(struct text_ctx *c, const struct trace_lock_sampling *ls)
{
	if (!ls->windows)
		return;
	fprintf(c->out, "ipcrace: locks: sampled: the budget (--overhead %u%%) took the lock probes "
		"of %u of %u processes off in %llu windows: on %.0f%% of the time (%.1f of %.1f s); "
		"%llu lock events at %u ns, about %.1f ms; races across a window are candidates "
		"(sampled)\n", ls->overhead_pct, ls->processes, ls->metered,
		(unsigned long long)ls->windows,
		ls->metered_ns ? 100.0 * (1.0 - (double)ls->off_ns / ls->metered_ns) : 100.0,
		(ls->metered_ns - (ls->off_ns < ls->metered_ns ? ls->off_ns : ls->metered_ns)) / 1e9,
		ls->metered_ns / 1e9, (unsigned long long)ls->events, ls->event_ns,
		ls->cost_ns / 1e6);
}

static void write_trailer(struct text_ctx *c)
{
	const struct report_model *m = c->m;
	const struct report_stats *st = &m->stats;
	const struct trace *t = c->t;
	size_t unsuppressed = m->nr_findings - m->nr_suppressed;
	int status;

	if (m->nr_bugs)
		fprintf(c->out, "ipcrace: %zu report%s (%zu finding%s) in %zu processes, %zu threads, "
			"%zu events (%llu lost)\n", m->nr_bugs, m->nr_bugs == 1 ? "" : "s",
			unsuppressed, unsuppressed == 1 ? "" : "s", st->processes, st->threads,
			st->events, (unsigned long long)st->lost_events);
	else
		fprintf(c->out, "ipcrace: no findings (%zu processes, %zu threads, %zu events, %llu lost)\n",
			st->processes, st->threads, st->events, (unsigned long long)st->lost_events);
	write_traced(c, st);
	if (st->untraced_peer_calls)
		fprintf(c->out, "ipcrace: %llu Unix-socket calls with an untraced peer not recorded "
			"(they could make no edge)\n", (unsigned long long)st->untraced_peer_calls);
	if (t->has_watch_stats)
		write_watch_sampling(c, &t->watch_stats);
	if (t->has_lock_sampling)
		write_lock_sampling(c, &t->lock_sampling);
	write_suppressions(c);
	if (st->incomplete)
		fprintf(c->out, "ipcrace: INCOMPLETE trace: %s.%s\n", st->missing,
			m->nr_bugs ? "" : " No findings in what was read proves nothing");
	if (t->has_footer && (t->footer.flags & TRACEF_TARGET_EXITED)) {
		status = t->footer.target_status;
		if (WIFEXITED(status))
			fprintf(c->out, "ipcrace: target exited with status %d\n", WEXITSTATUS(status));
		else if (WIFSIGNALED(status))
			fprintf(c->out, "ipcrace: target killed by signal %d (SIG%s)\n",
				WTERMSIG(status), sigabbrev_np(WTERMSIG(status)) ?: "?");
	}
}

int text_report__write(FILE *out, const struct report_model *m,
		       const struct report_opts *opts)
{
	struct text_ctx *c;
	size_t i;
	int err = 0;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->out = out;
	c->t = m->t;
	c->opts = opts;
	c->m = m;
	for (i = 0; i < m->nr_bugs; i++)
		write_bug(c, &m->bugs[i]);
	for (i = 0; i < m->nr_candidates; i++)
		write_candidate(c, &m->candidates[i]);
	write_trailer(c);
	if (fflush(out) || ferror(out))
		err = -EIO;
	free(c);
	return err;
}
