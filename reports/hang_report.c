// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdint.h>

#include "escape.h"
#include "frames_out.h"
#include "hang_report.h"
#include "json_writer.h"
#include "model.h"

#define RULE "=================="
#define COLOR_WARN "\033[1;31m"
#define COLOR_RESET "\033[0m"

static void put_thread(FILE *out, const struct hang_view_thread *t)
{
	fprintf(out, "Thread T%u (pid %u, comm '", t->tid, t->pid);
	escape__text(out, t->comm, sizeof(t->comm));
	fputc('\'', out);
	fputc(')', out);
}

static void put_short_thread(FILE *out, const struct hang_view_thread *t)
{
	fprintf(out, "thread T%u (pid %u)", t->tid, t->pid);
}

static void put_stack(FILE *out, const struct hang_view_thread *t)
{
	if (!t->nr_frames)
		fputs("    <no stack>\n", out);
	frames_out__text(out, t->frames, t->nr_frames);
}

/* "  Thread T1 (...) waits for mutex ..., held by thread T2 (pid 5):" */
static void put_wait_line(FILE *out, const struct hang_view_thread *t,
			  const struct hang_view_thread *next)
{
	fputs("  ", out);
	put_thread(out, t);
	fputs(" ", out);
	if (t->waits[0]) {
		escape__text(out, t->waits, sizeof(t->waits));
		if (t->syscall[0])
			fprintf(out, " (in %s)", t->syscall);
	} else {
		fprintf(out, "is %s", t->state);
		if (t->syscall[0])
			fprintf(out, " in %s", t->syscall);
		if (t->stack_sampled)
			fputs(" (stack sampled while it ran)", out);
	}
	if (next && t->relation[0]) {
		fputs(", ", out);
		escape__text(out, t->relation, sizeof(t->relation));
		fputc(' ', out);
		put_short_thread(out, next);
	}
	fputs(":\n", out);
}

/* The first thread that could end t's wait, when it is one we show. */
static const struct hang_view_thread *first_target(const struct hang_view *v,
						  const struct hang_view_thread *t)
{
	for (size_t k = 0; k < t->nr_targets; k++)
		for (size_t i = 0; i < v->nr_threads; i++)
			if (v->threads[i].pid == t->target_pid[k] &&
			    (!t->target_tid[k] || v->threads[i].tid == t->target_tid[k]))
				return &v->threads[i];
	return NULL;
}

static void put_headline(FILE *out, bool color, const char *what)
{
	fputs(RULE "\n", out);
	if (color)
		fputs(COLOR_WARN, out);
	fprintf(out, "WARNING: ipcrace: %s", what);
	if (color)
		fputs(COLOR_RESET, out);
}

static void put_summary(FILE *out, const char *what, const struct hang_view_thread *t)
{
	struct report_stack st = { .frames = (struct frame *)t->frames, .nr = t->nr_frames };
	const struct frame *fr = report_stack__own_frame(&st);

	fprintf(out, "SUMMARY: ipcrace: %s", what);
	if (fr && fr->file) {
		fputc(' ', out);
		escape__text(out, path__basename(fr->file), SIZE_MAX);
		if (fr->line)
			fprintf(out, ":%d", fr->line);
		if (fr->function) {
			fputs(" in ", out);
			escape__text(out, fr->function, SIZE_MAX);
		}
	} else if (fr && fr->module) {
		fputc(' ', out);
		escape__text(out, path__basename(fr->module), SIZE_MAX);
		fprintf(out, "+0x%llx", (unsigned long long)fr->offset);
		if (fr->function) {
			fputs(" in ", out);
			escape__text(out, fr->function, SIZE_MAX);
		}
	}
	fputc('\n', out);
}

static size_t processes_in(const struct hang_view *v, const struct hang_view_list *l)
{
	size_t n = 0;

	for (size_t i = 0; i < l->nr; i++) {
		bool seen = false;

		for (size_t j = 0; j < i; j++)
			seen |= v->threads[l->threads[j]].pid == v->threads[l->threads[i]].pid;
		n += !seen;
	}
	return n;
}

static void put_cycle(FILE *out, const struct hang_view *v, size_t c, bool color)
{
	const struct hang_view_list *l = &v->cycles[c];
	bool any_blocked = false;

	put_headline(out, color, "deadlock");
	fprintf(out, " (%zu thread%s in %zu process%s)\n", l->nr, l->nr == 1 ? "" : "s",
		processes_in(v, l), processes_in(v, l) == 1 ? "" : "es");
	fputs("  Cycle: ", out);
	for (size_t i = 0; i < l->nr; i++)
		fprintf(out, "T%u => ", v->threads[l->threads[i]].tid);
	fprintf(out, "T%u\n\n", v->threads[l->threads[0]].tid);
	for (size_t i = 0; i < l->nr; i++) {
		const struct hang_view_thread *t = &v->threads[l->threads[i]];

		put_wait_line(out, t, &v->threads[l->threads[(i + 1) % l->nr]]);
		put_stack(out, t);
		fputc('\n', out);
	}
	for (size_t i = 0; i < v->nr_threads; i++) {
		const struct hang_view_thread *t = &v->threads[i];

		if (!t->deadlocked || t->in_cycle || t->cycle != (int)c)
			continue;
		if (!any_blocked)
			fputs("  Blocked by this deadlock:\n", out);
		any_blocked = true;
		fputs("  ", out);
		put_wait_line(out, t, first_target(v, t));
		put_stack(out, t);
	}
	if (any_blocked)
		fputc('\n', out);
	put_summary(out, "deadlock", &v->threads[l->threads[0]]);
}

static void put_chain(FILE *out, const struct hang_view *v, const struct hang_view_list *l,
		      const char *what, bool warn, bool color)
{
	const struct hang_view_thread *end = &v->threads[l->threads[l->nr - 1]];
	/* a wait nothing can end, on a thread that will never act (a zombie): shown */
	const struct hang_view_thread *beyond = warn ? first_target(v, end) : NULL;

	if (warn) {
		put_headline(out, color, what);
		fputc('\n', out);
	} else {
		fprintf(out, RULE "\nipcrace: %s (%zu thread%s)\n", what, l->nr, l->nr == 1 ? "" : "s");
	}
	for (size_t i = 0; i < l->nr; i++) {
		const struct hang_view_thread *t = &v->threads[l->threads[i]];

		put_wait_line(out, t, i + 1 < l->nr ? &v->threads[l->threads[i + 1]] : beyond);
		put_stack(out, t);
	}
	if (beyond)
		end = beyond;
	if (!warn || beyond) {
		fputs("  End of the chain: ", out);
		put_short_thread(out, end);
		if (end->waits[0]) {
			fputc(' ', out);
			escape__text(out, end->waits, sizeof(end->waits));
			fputs(end->waker_known ? "" : " (who can end that wait is not known)", out);
		} else {
			fprintf(out, " is %s", end->state);
			if (end->syscall[0])
				fprintf(out, " in %s", end->syscall);
		}
		fputc('\n', out);
	}
	if (warn)
		put_summary(out, what, &v->threads[l->threads[0]]);
}

int hang_view__write_text(FILE *out, const struct hang_view *v, bool color)
{
	for (size_t c = 0; c < v->nr_cycles; c++)
		put_cycle(out, v, c, color);
	for (size_t i = 0; i < v->stuck.nr; i++) {
		struct hang_view_list one = { .threads = &v->stuck.threads[i], .nr = 1 };

		put_chain(out, v, &one, "wait that nothing can end", true, color);
	}
	for (size_t c = 0; c < v->nr_chains; c++)
		put_chain(out, v, &v->chains[c], "wait chain, no deadlock", false, color);
	if (v->nr_cycles || v->stuck.nr || v->nr_chains)
		fputs(RULE "\n", out);
	fprintf(out, "ipcrace: %zu thread%s in %zu process%s: %zu blocked, %zu deadlock%s\n",
		v->nr_threads, v->nr_threads == 1 ? "" : "s", v->nr_processes,
		v->nr_processes == 1 ? "" : "es", v->nr_blocked, v->nr_cycles + v->stuck.nr,
		v->nr_cycles + v->stuck.nr == 1 ? "" : "s");
	return ferror(out) ? -EIO : 0;
}

static void json_thread_ref(struct json_writer *w, const struct hang_view_thread *t)
{
	json_writer__start_object(w);
	json_writer__kv_uint(w, "pid", t->pid);
	json_writer__kv_uint(w, "tid", t->tid);
	json_writer__end_object(w);
}

static void json_list(struct json_writer *w, const char *name, const struct hang_view *v,
		      const struct hang_view_list *l)
{
	json_writer__name(w, name);
	json_writer__start_array(w);
	for (size_t i = 0; i < l->nr; i++)
		json_thread_ref(w, &v->threads[l->threads[i]]);
	json_writer__end_array(w);
}

static void json_thread(struct json_writer *w, const struct hang_view_thread *t)
{
	json_writer__start_object(w);
	json_writer__kv_uint(w, "pid", t->pid);
	json_writer__kv_uint(w, "tid", t->tid);
	json_writer__name(w, "comm");
	json_writer__string_n(w, t->comm, sizeof(t->comm));
	json_writer__kv_string(w, "state", t->state);
	json_writer__name(w, "wait");
	if (!t->kind[0]) {
		json_writer__null(w);
	} else {
		json_writer__start_object(w);
		json_writer__kv_string(w, "kind", t->kind);
		json_writer__kv_string(w, "syscall", t->syscall);
		json_writer__kv_string(w, "description", t->waits);
		json_writer__kv_string(w, "relation", t->relation);
		json_writer__kv_bool(w, "wakers_known", t->waker_known);
		json_writer__name(w, "wakers");
		json_writer__start_array(w);
		for (size_t i = 0; i < t->nr_targets; i++) {
			json_writer__start_object(w);
			json_writer__kv_uint(w, "pid", t->target_pid[i]);
			if (t->target_tid[i])
				json_writer__kv_uint(w, "tid", t->target_tid[i]);
			else
				json_writer__kv_null(w, "tid");
			json_writer__end_object(w);
		}
		json_writer__end_array(w);
		json_writer__end_object(w);
	}
	json_writer__kv_bool(w, "deadlocked", t->deadlocked);
	json_writer__kv_bool(w, "stack_sampled", t->stack_sampled);
	frames_out__json(w, "stack", t->frames, t->nr_frames);
	json_writer__end_object(w);
}

int hang_view__write_json(FILE *out, const struct hang_view *v)
{
	struct json_writer *w = json_writer__new(out, true);

	if (!w)
		return -ENOMEM;
	json_writer__start_object(w);
	json_writer__kv_uint(w, "schema", 1);
	json_writer__name(w, "tool");
	json_writer__start_object(w);
	json_writer__kv_string(w, "name", "ipcrace");
	json_writer__kv_string(w, "version", IPCRACE_VERSION);
	json_writer__end_object(w);
	json_writer__name(w, "stats");
	json_writer__start_object(w);
	json_writer__kv_uint(w, "processes", v->nr_processes);
	json_writer__kv_uint(w, "threads", v->nr_threads);
	json_writer__kv_uint(w, "blocked", v->nr_blocked);
	json_writer__kv_uint(w, "deadlocks", v->nr_cycles + v->stuck.nr);
	json_writer__end_object(w);
	json_writer__name(w, "deadlocks");
	json_writer__start_array(w);
	for (size_t c = 0; c < v->nr_cycles; c++) {
		json_writer__start_object(w);
		json_writer__kv_string(w, "kind", "cycle");
		json_list(w, "cycle", v, &v->cycles[c]);
		json_writer__name(w, "blocked");
		json_writer__start_array(w);
		for (size_t i = 0; i < v->nr_threads; i++)
			if (v->threads[i].deadlocked && !v->threads[i].in_cycle &&
			    v->threads[i].cycle == (int)c)
				json_thread_ref(w, &v->threads[i]);
		json_writer__end_array(w);
		json_writer__end_object(w);
	}
	for (size_t i = 0; i < v->stuck.nr; i++) {
		struct hang_view_list one = { .threads = &v->stuck.threads[i], .nr = 1 };

		json_writer__start_object(w);
		json_writer__kv_string(w, "kind", "orphaned-wait");
		json_list(w, "cycle", v, &one);
		json_writer__end_object(w);
	}
	json_writer__end_array(w);
	json_writer__name(w, "chains");
	json_writer__start_array(w);
	for (size_t c = 0; c < v->nr_chains; c++) {
		json_writer__start_object(w);
		json_list(w, "threads", v, &v->chains[c]);
		json_writer__end_object(w);
	}
	json_writer__end_array(w);
	json_writer__name(w, "threads");
	json_writer__start_array(w);
	for (size_t i = 0; i < v->nr_threads; i++)
		json_thread(w, &v->threads[i]);
	json_writer__end_array(w);
	json_writer__end_object(w);
	return json_writer__free(w);
}
