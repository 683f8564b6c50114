// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "objname.h"
#include "model.h"

int report_format__parse(const char *s, enum report_format *out)
{
	if (!s)
		return -EINVAL;
	if (!strcmp(s, "text"))
		*out = REPORT_TEXT;
	else if (!strcmp(s, "json"))
		*out = REPORT_JSON;
	else if (!strcmp(s, "sarif"))
		*out = REPORT_SARIF;
	else if (!strcmp(s, "perfetto"))
		*out = REPORT_PERFETTO;
	else
		return -EINVAL;
	return 0;
}

static int u32_cmp(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

static size_t count_distinct(__u32 *v, size_t n)
{
	size_t i, nr = 0;

	qsort(v, n, sizeof(*v), u32_cmp);
	for (i = 0; i < n; i++)
		if (!i || v[i] != v[i - 1])
			nr++;
	return nr;
}

/* A process record's place in t->processes, sorted by pid, then by order in the trace. */
struct pid_record {
	__u32 pid;
	size_t index;
};

static int pid_record_cmp(const void *a, const void *b)
{
	const struct pid_record *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

static int traced_name_cmp(const void *a, const void *b)
{
	const struct report_traced_name *x = a, *y = b;

	if (x->processes != y->processes)
		return x->processes > y->processes ? -1 : 1;
	return strcmp(x->name, y->name);
}

#define TRACED_NAMES_SEEN 256	/* names told apart; more are counted together */

/*
 * What the trace followed, by name: each process's last record (after its
 * exec) gives its comm, or the base name of its executable when it had
 * none or the comm is that name cut short. Best effort: out of memory, no
 * names.
 */
static void compute_names(const struct trace *t, struct report_stats *st)
{
	struct report_traced_name *seen;
	struct pid_record *recs;
	size_t i, j, nr_seen = 0, overflow = 0;

	if (!t->nr_processes)
		return;
	recs = malloc(t->nr_processes * sizeof(*recs));
	seen = calloc(TRACED_NAMES_SEEN, sizeof(*seen));
	if (!recs || !seen)
		goto out;
	for (i = 0; i < t->nr_processes; i++)
		recs[i] = (struct pid_record){ .pid = t->processes[i].pid, .index = i };
	qsort(recs, t->nr_processes, sizeof(*recs), pid_record_cmp);
	for (i = 0; i < t->nr_processes; i++) {
		const struct trace_process *p;
		const char *name, *exe;
		char buf[REPORT_NAME_LEN];

		if (i + 1 < t->nr_processes && recs[i + 1].pid == recs[i].pid)
			continue;	/* not its last record */
		p = &t->processes[recs[i].index];
		exe = path__basename(p->exe);
		name = p->comm[0] ? p->comm : exe;
		/* the kernel cut the comm at 15 bytes: the executable's whole name */
		if (p->comm[0] && exe && strlen(p->comm) == IPCRACE_COMM_LEN - 1 &&
		    !strncmp(exe, p->comm, IPCRACE_COMM_LEN - 1))
			name = exe;
		snprintf(buf, sizeof(buf), "%.*s", (int)sizeof(buf) - 1, name && *name ? name : "?");
		for (j = 0; j < nr_seen && strcmp(seen[j].name, buf); j++)
			;
		if (j == nr_seen && nr_seen == TRACED_NAMES_SEEN) {
			overflow++;
			continue;
		}
		if (j == nr_seen)
			memcpy(seen[nr_seen++].name, buf, sizeof(buf));
		seen[j].processes++;
	}
	qsort(seen, nr_seen, sizeof(*seen), traced_name_cmp);
	st->nr_names = nr_seen < REPORT_TRACED_NAMES ? nr_seen : REPORT_TRACED_NAMES;
	memcpy(st->names, seen, st->nr_names * sizeof(*seen));
	st->other_processes = overflow;
	st->other_names = nr_seen - st->nr_names + (overflow ? 1 : 0);
	for (i = st->nr_names; i < nr_seen; i++)
		st->other_processes += seen[i].processes;
out:
	free(recs);
	free(seen);
}

void report_stats__compute(const struct trace *t, struct report_stats *st)
{
	size_t i, n, nr_events = t->streamed ? 0 : t->nr_events;
	const __u32 *pids = t->streamed ? t->event_pids : NULL;
	size_t nr_pids = t->streamed ? t->nr_event_pids : 0;
	__u32 *ids;

	memset(st, 0, sizeof(*st));
	st->events = t->streamed ? t->event_count : t->nr_events;
	if (t->has_footer) {
		st->lost_events = t->footer.lost_events;
		st->lost_stacks = t->footer.lost_stacks;
		st->untraced_peer_calls = t->footer.untraced_peer_calls;
	}
	st->incomplete = !trace__is_complete(t);
	trace__describe_gaps(t, st->missing, sizeof(st->missing));
	/* a streamed trace's reader counted its threads and processes */
	n = nr_events + nr_pids + t->nr_processes;
	ids = malloc((n ? n : 1) * sizeof(*ids));
	if (!ids)
		return;		/* counts stay 0: a report without them is still a report */
	if (t->streamed) {
		st->threads = t->nr_event_threads;
	} else {
		for (i = 0; i < nr_events; i++)
			ids[i] = t->events[i].tid;
		st->threads = count_distinct(ids, nr_events);
	}
	for (i = 0; i < nr_events; i++)
		ids[i] = t->events[i].pid;
	for (i = 0; i < nr_pids; i++)
		ids[nr_events + i] = pids[i];
	for (i = 0; i < t->nr_processes; i++)
		ids[nr_events + nr_pids + i] = t->processes[i].pid;
	st->processes = count_distinct(ids, n);
	free(ids);
	compute_names(t, st);
}

size_t report__stack_frames(struct symbolizer *s, const struct trace *t, __u32 pid,
			    __u64 ts, __u64 stack_id, __u64 exact_ip,
			    struct frame *out, size_t max)
{
	return symbolizer__stack(s, t, pid, ts, stack_id, exact_ip, out, max);
}

void finding__order(const struct finding *f, const struct finding_access **cur,
		    const struct finding_access **prev)
{
	*cur = f->nr_accesses ? &f->accesses[0] : NULL;
	*prev = f->nr_accesses > 1 ? &f->accesses[1] : NULL;
	if (*prev && (*prev)->ts > (*cur)->ts) {
		const struct finding_access *tmp = *cur;

		*cur = *prev;
		*prev = tmp;
	}
}

const char *access__op(const struct finding_access *a)
{
	bool atomic = a->flags & EVF_ATOMIC;

	if (a->flags & EVF_WRITE)
		return atomic ? "atomic write" : "write";
	if (a->flags & EVF_READ)
		return atomic ? "atomic read" : "read";
	return "access";
}

const char *path__basename(const char *path)
{
	const char *slash;

	if (!path)
		return NULL;
	slash = strrchr(path, '/');
	return slash && slash[1] ? slash + 1 : path;
}

const struct frame *frames__first_with_source(const struct frame *frames, size_t nr)
{
	size_t i;

	for (i = 0; i < nr; i++)
		if (frames[i].file)
			return &frames[i];
	return NULL;
}

__u64 report__time_base(const struct trace *t)
{
	__u64 base = t->header.start_mono_ns;
	__u64 first;

	if (t->streamed ? !t->event_count : !t->nr_events)
		return base;
	first = t->streamed ? t->first_event_ts : t->events[0].ts;
	if (!base || first < base)
		base = first;
	return base;
}

void finding__describe(char *buf, size_t len, const struct trace *t,
		       const struct finding *f)
{
	const struct finding_access *cur, *prev;
	char name[OBJNAME_LEN], name2[OBJNAME_LEN];
	size_t i, n;

	finding__order(f, &cur, &prev);
	objname__format(name, sizeof(name), t, &f->object);
	switch (f->kind) {
	case FINDING_DATA_RACE:
		if (cur && prev)
			snprintf(buf, len, "%s/%s race on %s between pid %u and pid %u",
				 access__op(prev), access__op(cur), name, prev->pid, cur->pid);
		else
			snprintf(buf, len, "race on %s", name);
		break;
	case FINDING_LOCK_ORDER_INVERSION:
		if (!f->nr_cycle) {
			snprintf(buf, len, "lock-order inversion");
			break;
		}
		objname__format(name, sizeof(name), t, &f->cycle[0].held);
		n = snprintf(buf, len, "lock-order inversion between %zu locks: %s", f->nr_cycle, name);
		for (i = 0; i < f->nr_cycle && n < len; i++) {
			objname__format(name2, sizeof(name2), t, &f->cycle[i].lock);
			n += snprintf(buf + n, len - n, " => %s", name2);
		}
		break;
	case FINDING_DOUBLE_LOCK:
		snprintf(buf, len, "double lock of %s by pid %u tid %u", name,
			 cur ? cur->pid : f->object.pid, cur ? cur->tid : 0);
		break;
	case FINDING_UNLOCK_NOT_HELD:
		snprintf(buf, len, "unlock of %s not held by pid %u tid %u", name,
			 cur ? cur->pid : f->object.pid, cur ? cur->tid : 0);
		break;
	case FINDING_LOCK_HELD_AT_EXIT:
		snprintf(buf, len, "%s still held when pid %u exited", name,
			 cur ? cur->pid : f->object.pid);
		break;
	}
}

static struct symbolizer *report__symbolizer(const struct trace *t,
					     const struct report_opts *opts)
{
	struct symbolizer *s = report_model__symbolizer(t);

	for (size_t i = 0; s && i < opts->nr_debug_dirs; i++)
		symbolizer__add_debug_dir(s, opts->debug_dirs[i]);
	if (s && opts->sysroot)
		symbolizer__set_sysroot(s, opts->sysroot);
	return s;
}

int report__merge_stacks(struct trace *t, const struct report_opts *opts)
{
	struct symbolizer *s;
	int err;

	if (!t || !opts)
		return -EINVAL;
	s = report__symbolizer(t, opts);
	if (!s)
		return -errno;
	err = symbolizer__merge_stacks(s, t);
	symbolizer__free(s);
	return err;
}

int report__write_counted(FILE *out, const struct trace *t, const struct findings *fs,
			  const struct report_opts *opts, size_t *nr_reported)
{
	struct report_model *m;
	int err;

	if (!out || !t || !fs || !opts)
		return -EINVAL;
	/* without a symbolizer the report still has addresses: go on */
	m = report_model__new_with(t, fs, opts->suppressions, report__symbolizer(t, opts));
	if (!m)
		return -errno;
	err = report_model__write(out, m, opts);
	if (nr_reported)
		*nr_reported = m->nr_bugs;
	if (opts->verbose)
		symbolizer__print_unwind_stats(m->s, stderr);
	report_model__free(m);
	return err;
}

int report__write(FILE *out, const struct trace *t, const struct findings *fs,
		  const struct report_opts *opts)
{
	return report__write_counted(out, t, fs, opts, NULL);
}
