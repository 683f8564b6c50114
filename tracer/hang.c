// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * `ipcrace hang`: reads the threads of the named processes (and of the
 * processes their waits lead to) with a task iterator, says what each one
 * is blocked on, builds the wait-for graph (analyzer/waitgraph.c), and
 * reports its deadlocks and wait chains with symbolized stacks
 * (reports/hang_report.c). Nothing is stopped, probed or left behind.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../analyzer/array.h"
#include "../analyzer/identity.h"
#include "../analyzer/waitgraph.h"
#include "../reports/hang_report.h"
#include "../reports/objname.h"
#include "../reports/symbolize.h"
#include "hang.h"
#include "hang_scan.h"
#include "hang_stack.h"
#include "hang_wait.h"
#include "pidset.h"
#include "preflight.h"
#include "procfs.h"
#include "procmaps.h"

#define EXIT_DEADLOCK 66
#define EXIT_TOOL 1
#define EXIT_USAGE 2
#define SNAPSHOT_TS 1		/* every mapping record of this run: one snapshot */
#define EXPAND_ROUNDS 4		/* follow waits into processes not named, this often */
#define CHAINS_SHOWN 10
#define FRAME_FUNCTIONS 12	/* innermost frames the classifier looks at */
#define CONFIRM_NS (100 * 1000000L)	/* a deadlock is looked at twice, this far apart */

struct hang_run {
	const struct hang_opts *o;
	struct pidset procs;		/* the processes examined */
	struct hang_task *tasks;
	size_t nr_tasks;
	struct hang_wait *waits;
	__u64 (*frame_regs)[HANG_VIEW_FRAMES][UREG_NR];	/* per task: its frames' registers */
	struct trace trace;
	size_t cap_mappings, cap_processes;
	struct procmaps *pm;
	struct hang_host *host;
	struct symbolizer *sym;
	struct identity *id;
	struct hang_stacks *stacks;
	struct hang_view view;
	int *node_of;			/* task index -> graph node */
	struct waitgraph *graph;
};

/* --- which processes -------------------------------------------------------- */

/* ipcrace never examines itself: its own threads would be noise. */
static int add_tgid(struct hang_run *r, __u32 pid)
{
	return pid == (__u32)getpid() ? 0 : pidset__add(&r->procs, pid);
}

static int select_processes(struct hang_run *r)
{
	const struct hang_opts *o = r->o;
	__u32 self = getpid();
	int err = 0;

	for (size_t i = 0; i < o->nr_pids; i++)
		if ((__u32)o->pids[i] == self) {
			fprintf(stderr, "ipcrace: hang: pid %u is ipcrace itself\n", self);
			return -EINVAL;
		}
	if (o->nr_pids) {
		err = pidset__add_trees(&r->procs, o->pids, o->nr_pids);
		if (!err && !r->procs.nr) {
			fprintf(stderr, "ipcrace: hang: no such process: %d\n", o->pids[0]);
			return -ESRCH;
		}
	} else if (o->cgroup) {
		err = pidset__add_cgroup(&r->procs, o->cgroup);
		if (err)
			fprintf(stderr, "ipcrace: hang: cannot read cgroup %s: %s\n", o->cgroup,
				strerror(-err));
	} else if (o->unit) {
		err = pidset__add_unit(&r->procs, o->unit);
		if (err)
			fprintf(stderr, "ipcrace: hang: no cgroup found for unit %s: %s\n", o->unit,
				strerror(-err));
	}
	/* a cgroup holding ipcrace itself, or ipcrace below a -p root */
	for (size_t i = 0; i < r->procs.nr; i++)
		if (r->procs.pids[i] == self)
			r->procs.pids[i--] = r->procs.pids[--r->procs.nr];
	return err;
}

/* --- the address spaces, for stacks and names -------------------------------- */

static int keep_mapping(const struct trace_mapping *m, void *ctx)
{
	struct hang_run *r = ctx;
	struct trace *t = &r->trace;

	if (array__reserve(&t->mappings, &r->cap_mappings, t->nr_mappings + 1, sizeof(*m)))
		return -ENOMEM;
	t->mappings[t->nr_mappings++] = *m;
	return 0;
}

static int add_process_record(struct hang_run *r, const struct hang_task *task)
{
	struct trace *t = &r->trace;
	struct trace_process *p;
	char link[64];
	ssize_t n;

	if (trace__find_process(t, task->tgid))
		return 0;
	if (array__reserve(&t->processes, &r->cap_processes, t->nr_processes + 1,
			   sizeof(*t->processes)))
		return -ENOMEM;
	p = &t->processes[t->nr_processes++];
	memset(p, 0, sizeof(*p));
	p->ts = SNAPSHOT_TS;
	p->pid = task->tgid;
	p->ppid = procfs__ppid(task->tgid);
	p->exit_status = -1;
	memcpy(p->comm, task->comm, sizeof(p->comm));
	snprintf(link, sizeof(link), "/proc/%u/exe", task->tgid);
	n = readlink(link, p->exe, sizeof(p->exe) - 1);
	p->exe[n > 0 ? n : 0] = '\0';
	/* a process that exits meanwhile has no mappings: its frames stay addresses */
	procmaps__snapshot(r->pm, task->tgid, SNAPSHOT_TS, keep_mapping, r);
	return 0;
}

static void reset_round(struct hang_run *r)
{
	hang_stacks__free(r->stacks);
	identity__free(r->id);
	symbolizer__free(r->sym);
	r->stacks = NULL;
	r->id = NULL;
	r->sym = NULL;
	free(r->tasks);
	free(r->waits);
	free(r->frame_regs);
	r->tasks = NULL;
	r->waits = NULL;
	r->frame_regs = NULL;
	r->nr_tasks = 0;
	r->trace.nr_mappings = 0;
	r->trace.nr_processes = 0;
	free(r->view.threads);
	r->view.threads = NULL;
	r->view.nr_threads = 0;
	hang_host__free(r->host);
	r->host = NULL;
}

/* Drops kernel threads and ipcrace's own threads: nothing to say about them. */
static void keep_user_threads(struct hang_run *r)
{
	size_t n = 0;

	for (size_t i = 0; i < r->nr_tasks; i++)
		if (!r->tasks[i].kthread && r->tasks[i].tgid != (__u32)getpid())
			r->tasks[n++] = r->tasks[i];
	r->nr_tasks = n;
}

static bool task_blocked(const struct hang_task *t)
{
	return !t->exit_state && t->state != 0 && (long)t->regs.orig_ax >= 0;
}

#define SYS_FUTEX 202
#define TASK_RUNNING_STATE 0	/* task->__state of a thread on a CPU or waiting for one */

/* A futex waiter's frames' registers are read: a condition variable's mutex is in one. */
static bool wants_frame_regs(const struct hang_task *t)
{
	return task_blocked(t) && t->regs.orig_ax == SYS_FUTEX;
}

/* Stack of every thread, symbolized into the view. */
static void fill_stacks(struct hang_run *r)
{
	for (size_t i = 0; i < r->nr_tasks; i++) {
		struct hang_view_thread *v = &r->view.threads[i];
		__u64 ips[HANG_VIEW_FRAMES];
		size_t nr = hang_stacks__unwind(r->stacks, &r->tasks[i], ips,
						wants_frame_regs(&r->tasks[i]) ? r->frame_regs[i] : NULL,
						HANG_VIEW_FRAMES);

		for (size_t k = 0; k < nr; k++) {
			/* frame 0 of a thread in a system call: the instruction after it */
			bool ret = k > 0 || task_blocked(&r->tasks[i]);

			if (r->sym)
				symbolizer__frame(r->sym, r->tasks[i].tgid, SNAPSHOT_TS, ips[k], ret,
						  &v->frames[k]);
			else
				v->frames[k] = (struct frame){ .ip = ips[k] };
		}
		v->nr_frames = nr;
	}
}

/* The lock or word name reports use: "mutex in /dev/shm/x +0x28 (lock_a)". */
static void name_lock(struct hang_run *r, __u32 pid, __u64 addr, __u16 obj, char *out, size_t len)
{
	struct finding_object fo = { .addr = addr, .pid = pid, .obj = obj };
	char var[DATA_SYM_NAME_LEN] = "";
	size_t used;

	if (!r->id || identity__resolve(r->id, pid, addr, SNAPSHOT_TS, &fo.key))
		fo.key = (struct ipcrace_key){ .space = KEY_PRIVATE, .a = pid, .b = addr };
	objname__format(out, len, &r->trace, &fo);
	if (r->sym && !symbolizer__data(r->sym, pid, SNAPSHOT_TS, addr, var, sizeof(var))) {
		char *inner = strstr(var, ".__");

		/* "lock_a.__data.__lock": the lock is lock_a, not glibc's field */
		if (inner)
			*inner = '\0';
		used = strlen(out);
		snprintf(out + used, len - used, " (%s)", var);
	}
}

/* What t waits on, named: a lock, a channel, a condition variable and its mutex. */
static void name_object(struct hang_run *r, const struct hang_task *t, const struct hang_wait *w,
			char *out, size_t len)
{
	size_t used;

	if (w->object[0]) {
		snprintf(out, len, "%s", w->object);
		return;
	}
	name_lock(r, t->tgid, w->addr, w->obj, out, len);
	used = strlen(out);
	if (w->kind == HW_COND && w->mutex) {
		snprintf(out + used, len - used, ", then needs ");
		used = strlen(out);
		name_lock(r, t->tgid, w->mutex, OBJ_MUTEX, out + used, len - used);
	} else if (w->kind == HW_MUTEX && w->cond_reacquire) {
		snprintf(out + used, len - used, " (re-acquired after a condition-variable wait)");
	}
}

static const char *wait_verb(enum hang_wait_kind k)
{
	switch (k) {
	case HW_CHANNEL_READ: return "waits to read";
	case HW_CHANNEL_WRITE: return "waits to write";
	case HW_POLL: return "waits in poll on";
	case HW_JOIN: return "waits to join a thread";
	case HW_COND: return "waits on";
	case HW_BARRIER: return "waits at a barrier,";
	case HW_FUTEX: return "waits on";
	case HW_RUNNING:
	case HW_STOPPED:
	case HW_SLEEP:
	case HW_SYSCALL:
	case HW_EXITED:
		return "";
	case HW_MUTEX:
	case HW_RWLOCK:
	case HW_SEM:
	case HW_FLOCK:
	case HW_POSIX_LOCK:
	case HW_OFD_LOCK:
	case HW_SYSV_SEM:
	case HW_CHILD:
		break;
	}
	return "waits for";
}

/* What a thread not waiting on another one is doing; every wait is "blocked". */
static const char *state_name(const struct hang_wait *w)
{
	if (w->kind == HW_RUNNING)
		return "running";
	if (w->kind == HW_STOPPED)
		return "stopped";
	if (w->kind == HW_SLEEP)
		return "sleeping";
	if (w->kind == HW_EXITED)
		return "zombie";
	return "blocked";
}

static void classify(struct hang_run *r)
{
	for (size_t i = 0; i < r->nr_tasks; i++) {
		struct hang_view_thread *v = &r->view.threads[i];
		const char *functions[FRAME_FUNCTIONS];
		struct hang_wait *w = &r->waits[i];
		struct hang_wait_stack stack;
		size_t nr = 0;
		char object[OBJNAME_LEN];
		const char *verb;

		for (size_t k = 0; k < v->nr_frames && nr < FRAME_FUNCTIONS; k++) {
			functions[nr++] = v->frames[k].function;
			for (size_t j = 0; j < v->frames[k].nr_inlined && nr < FRAME_FUNCTIONS; j++)
				functions[nr++] = v->frames[k].inlined[j].function;
		}
		stack = (struct hang_wait_stack){
			.functions = functions, .nr_functions = nr, .frames = v->frames,
			.regs = wants_frame_regs(&r->tasks[i]) ?
				(const __u64 (*)[UREG_NR])r->frame_regs[i] : NULL,
			.nr_frames = v->nr_frames,
		};
		hang_wait__classify(r->host, &r->tasks[i], &stack, w);
		v->pid = r->tasks[i].tgid;
		v->tid = r->tasks[i].tid;
		memcpy(v->comm, r->tasks[i].comm, sizeof(v->comm));
		v->state = state_name(w);
		/* blocked (or stopped) threads cannot move their stack while it is read */
		v->stack_sampled = r->tasks[i].state == TASK_RUNNING_STATE && !r->tasks[i].exit_state;
		v->syscall = w->syscall;
		verb = wait_verb(w->kind);
		v->kind = verb[0] ? hang_wait__kind_name(w->kind) : "";
		v->waits[0] = '\0';
		if (verb[0]) {
			name_object(r, &r->tasks[i], w, object, sizeof(object));
			snprintf(v->waits, sizeof(v->waits), "%s%s%s", verb, object[0] ? " " : "",
				 object);
		}
		snprintf(v->relation, sizeof(v->relation), "%s", w->relation);
		v->waker_known = !w->unknown;
		v->nr_targets = 0;
		for (size_t k = 0; k < w->nr_targets && k < HANG_VIEW_TARGETS; k++) {
			v->target_pid[k] = w->targets[k].pid;
			v->target_tid[k] = w->targets[k].tid;
			v->nr_targets++;
		}
		v->cycle = -1;
	}
}

/* One round: read the threads, their address spaces, stacks and waits. */
static int examine(struct hang_run *r)
{
	int err;

	err = hang_scan__threads(r->procs.pids, r->procs.nr, r->o->all, &r->tasks, &r->nr_tasks);
	if (err)
		return err;
	keep_user_threads(r);
	r->waits = calloc(r->nr_tasks + 1, sizeof(*r->waits));
	r->view.threads = calloc(r->nr_tasks + 1, sizeof(*r->view.threads));
	r->frame_regs = calloc(r->nr_tasks + 1, sizeof(*r->frame_regs));
	r->host = hang_host__new();
	if (!r->waits || !r->view.threads || !r->frame_regs || !r->host)
		return -ENOMEM;
	r->view.nr_threads = r->nr_tasks;
	for (size_t i = 0; i < r->nr_tasks; i++) {
		if (r->o->all)
			add_tgid(r, r->tasks[i].tgid);
		if (i && r->tasks[i].tgid == r->tasks[i - 1].tgid)
			continue;
		err = add_process_record(r, &r->tasks[i]);
		if (err)
			return err;
	}
	r->sym = symbolizer__new(&r->trace);
	r->id = identity__new(&r->trace);
	r->stacks = hang_stacks__new(&r->trace);
	if (!r->stacks)
		return -ENOMEM;
	fill_stacks(r);
	classify(r);
	return 0;
}

/* Processes a wait leads to that were not examined: examined next round. */
static int expand(struct hang_run *r, bool *grew)
{
	size_t before = r->procs.nr;
	int err;

	for (size_t i = 0; i < r->nr_tasks; i++)
		for (size_t k = 0; k < r->waits[i].nr_targets; k++) {
			err = add_tgid(r, r->waits[i].targets[k].pid);
			if (err)
				return err;
		}
	*grew = r->procs.nr > before;
	return 0;
}

static enum waitgraph_state node_state(const struct hang_wait *w)
{
	switch (w->kind) {
	case HW_RUNNING:
	case HW_STOPPED:
	case HW_SLEEP:
		return WG_PROGRESS;
	case HW_SYSCALL:
		return WG_WAITS_UNKNOWN;
	case HW_EXITED:
		return WG_DEAD;
	case HW_MUTEX:
	case HW_RWLOCK:
	case HW_SEM:
	case HW_COND:
	case HW_BARRIER:
	case HW_JOIN:
	case HW_FUTEX:
	case HW_FLOCK:
	case HW_POSIX_LOCK:
	case HW_OFD_LOCK:
	case HW_CHANNEL_READ:
	case HW_CHANNEL_WRITE:
	case HW_POLL:
	case HW_SYSV_SEM:
	case HW_CHILD:
		break;
	}
	return w->unknown ? WG_WAITS_UNKNOWN : WG_WAITS;
}

/*
 * Every target must be a thread we examined: a waker we could not look at
 * might be able to act, so such a wait proves nothing (WG_WAITS_UNKNOWN).
 */
static bool targets_examined(const struct hang_run *r, const struct hang_wait *w)
{
	for (size_t k = 0; k < w->nr_targets; k++) {
		bool found = false;

		for (size_t j = 0; j < r->nr_tasks && !found; j++)
			found = r->tasks[j].tgid == w->targets[k].pid &&
				(!w->targets[k].tid || r->tasks[j].tid == w->targets[k].tid);
		if (!found && (!w->targets[k].tid || pidset__has(&r->procs, w->targets[k].pid)))
			return false;
	}
	return true;
}

static int build_graph(struct hang_run *r)
{
	int err;

	r->graph = waitgraph__new();
	if (!r->graph)
		return -ENOMEM;
	for (size_t i = 0; i < r->nr_tasks; i++) {
		enum waitgraph_state st = node_state(&r->waits[i]);

		if (st == WG_WAITS && !targets_examined(r, &r->waits[i]))
			st = WG_WAITS_UNKNOWN;
		if (waitgraph__add_node(r->graph, st) < 0)
			return -ENOMEM;
	}
	for (size_t i = 0; i < r->nr_tasks; i++) {
		const struct hang_wait *w = &r->waits[i];

		if (node_state(w) != WG_WAITS || !targets_examined(r, w))
			continue;
		for (size_t k = 0; k < w->nr_targets; k++)
			for (size_t j = 0; j < r->nr_tasks; j++) {
				if (r->tasks[j].tgid != w->targets[k].pid ||
				    (w->targets[k].tid && r->tasks[j].tid != w->targets[k].tid))
					continue;
				err = waitgraph__add_target(r->graph, i, j);
				if (err)
					return err;
			}
	}
	return waitgraph__solve(r->graph);
}

static int list_take(struct hang_view_list *l, const int *nodes, size_t nr)
{
	l->threads = malloc((nr + 1) * sizeof(*l->threads));
	if (!l->threads)
		return -ENOMEM;
	memcpy(l->threads, nodes, nr * sizeof(*nodes));
	l->nr = nr;
	return 0;
}

/* The wait chains worth showing: from blocked threads nobody waits on, longest first. */
static int fill_chains(struct hang_run *r, int *buf, size_t max)
{
	struct hang_view *v = &r->view;

	for (size_t i = 0; i < r->nr_tasks && v->nr_chains < CHAINS_SHOWN; i++) {
		bool waited_on = false;
		size_t len;

		if (v->threads[i].deadlocked || node_state(&r->waits[i]) != WG_WAITS)
			continue;
		for (size_t j = 0; j < r->nr_tasks && !waited_on; j++) {
			if (j == i || v->threads[j].deadlocked)
				continue;
			len = waitgraph__chain(r->graph, j, buf, max);
			for (size_t k = 1; k < len; k++)
				waited_on |= buf[k] == (int)i;
		}
		if (waited_on)
			continue;
		len = waitgraph__chain(r->graph, i, buf, max);
		if (len < 2)
			continue;
		if (list_take(&v->chains[v->nr_chains], buf, len))
			return -ENOMEM;
		v->nr_chains++;
	}
	return 0;
}

static int fill_view(struct hang_run *r)
{
	struct hang_view *v = &r->view;
	size_t nr = r->nr_tasks + 1, nr_stuck = 0;
	int *buf;
	int err = 0;

	buf = malloc(nr * sizeof(*buf));
	v->cycles = calloc(waitgraph__nr_cycles(r->graph) + 1, sizeof(*v->cycles));
	v->chains = calloc(CHAINS_SHOWN, sizeof(*v->chains));
	v->stuck.threads = malloc(nr * sizeof(*v->stuck.threads));
	if (!buf || !v->cycles || !v->chains || !v->stuck.threads) {
		free(buf);
		return -ENOMEM;
	}
	v->nr_processes = 0;
	v->nr_blocked = 0;
	for (size_t i = 0; i < r->nr_tasks; i++) {
		struct hang_view_thread *t = &v->threads[i];

		t->deadlocked = waitgraph__deadlocked(r->graph, i);
		t->cycle = waitgraph__cycle_of(r->graph, i, &t->in_cycle);
		v->nr_blocked += node_state(&r->waits[i]) == WG_WAITS ||
				 node_state(&r->waits[i]) == WG_WAITS_UNKNOWN;
		v->nr_processes += !i || r->tasks[i].tgid != r->tasks[i - 1].tgid;
		if (t->deadlocked && t->cycle < 0)
			v->stuck.threads[nr_stuck++] = i;
	}
	v->stuck.nr = nr_stuck;
	for (size_t c = 0; c < waitgraph__nr_cycles(r->graph); c++) {
		size_t len = waitgraph__cycle(r->graph, c, buf, nr);

		err = list_take(&v->cycles[c], buf, len);
		if (err)
			goto out;
		v->nr_cycles++;
	}
	err = fill_chains(r, buf, nr);
out:
	free(buf);
	return err;
}

static void free_view(struct hang_view *v)
{
	for (size_t c = 0; c < v->nr_cycles; c++)
		free(v->cycles[c].threads);
	for (size_t c = 0; c < v->nr_chains; c++)
		free(v->chains[c].threads);
	free(v->cycles);
	free(v->chains);
	free(v->stuck.threads);
	free(v->threads);
	memset(v, 0, sizeof(*v));
}

static int write_report(struct hang_run *r)
{
	FILE *out = stdout;
	int err;

	if (r->o->output) {
		out = fopen(r->o->output, "we");
		if (!out) {
			fprintf(stderr, "ipcrace: hang: cannot write %s: %m\n", r->o->output);
			return -errno;
		}
	}
	err = r->o->json ? hang_view__write_json(out, &r->view) :
	      hang_view__write_text(out, &r->view, !r->o->output && isatty(fileno(out)) &&
				    !getenv("NO_COLOR"));
	if (out != stdout && fclose(out) && !err)
		err = -EIO;
	fflush(stdout);
	if (err)
		fprintf(stderr, "ipcrace: hang: writing the report failed\n");
	return err;
}

/* What a deadlocked thread waited on, to see whether a second look finds it the same. */
struct hang_mark {
	__u32 tid;
	enum hang_wait_kind kind;
	__u64 addr;
	__u64 nr_switches;
	char object[sizeof(((struct hang_wait *)0)->object)];
};

static bool same_mark(const struct hang_mark *m, const struct hang_task *t, const struct hang_wait *w)
{
	return m->tid == t->tid && m->kind == w->kind && m->addr == w->addr &&
	       m->nr_switches == t->nr_switches && !strcmp(m->object, w->object);
}

static int take_marks(const struct hang_run *r, struct hang_mark **marks, size_t *nr)
{
	*nr = 0;
	*marks = calloc(r->nr_tasks + 1, sizeof(**marks));
	if (!*marks)
		return -ENOMEM;
	for (size_t i = 0; i < r->nr_tasks; i++) {
		struct hang_mark *m = &(*marks)[*nr];

		if (!r->view.threads[i].deadlocked)
			continue;
		m->tid = r->tasks[i].tid;
		m->kind = r->waits[i].kind;
		m->addr = r->waits[i].addr;
		m->nr_switches = r->tasks[i].nr_switches;
		memcpy(m->object, r->waits[i].object, sizeof(m->object));
		(*nr)++;
	}
	return 0;
}

static bool confirmed(const struct hang_run *r, size_t i, const struct hang_mark *marks, size_t nr)
{
	for (size_t k = 0; k < nr; k++)
		if (same_mark(&marks[k], &r->tasks[i], &r->waits[i]))
			return true;
	return false;
}

/*
 * Keeps the deadlocks whose every thread waited on the same thing at the
 * first look and was not switched in or out since (the same context
 * switch count): a look at a busy system is not atomic and can catch
 * waits in motion (a lock word read after its owner released it and took
 * it again, a pipe ring read while its token travels), and the same
 * motion can be caught twice; a deadlocked thread does not run at all.
 */
static void keep_confirmed(struct hang_run *r, const struct hang_mark *marks, size_t nr)
{
	struct hang_view *v = &r->view;
	size_t kept = 0, stuck = 0;

	for (size_t c = 0; c < v->nr_cycles; c++) {
		struct hang_view_list *l = &v->cycles[c];
		bool ok = true;

		for (size_t k = 0; k < l->nr && ok; k++)
			ok = confirmed(r, l->threads[k], marks, nr);
		for (size_t i = 0; i < v->nr_threads; i++) {
			struct hang_view_thread *t = &v->threads[i];

			if (t->cycle != (int)c)
				continue;
			t->cycle = ok ? (int)kept : -1;
			t->deadlocked &= ok;
			t->in_cycle &= ok;
		}
		if (ok)
			v->cycles[kept++] = *l;
		else
			free(l->threads);
	}
	v->nr_cycles = kept;
	for (size_t k = 0; k < v->stuck.nr; k++) {
		int i = v->stuck.threads[k];

		if (confirmed(r, i, marks, nr))
			v->stuck.threads[stuck++] = i;
		else
			v->threads[i].deadlocked = false;
	}
	v->stuck.nr = stuck;
}

/* One look: the threads (following waits into other processes), the graph, the view. */
static int look(struct hang_run *r)
{
	bool grew = true;
	int err;

	waitgraph__free(r->graph);
	r->graph = NULL;
	free_view(&r->view);
	for (int round = 0; grew && round < EXPAND_ROUNDS; round++) {
		reset_round(r);
		err = examine(r);
		if (err)
			return err;
		if (r->o->all)
			break;
		err = expand(r, &grew);
		if (err)
			return err;
	}
	err = build_graph(r);
	return err ? err : fill_view(r);
}

static int run(struct hang_run *r)
{
	struct timespec pause = { .tv_nsec = CONFIRM_NS };
	struct hang_mark *marks = NULL;
	size_t nr_marks = 0;
	int err;

	err = select_processes(r);
	if (!err)
		err = look(r);
	if (!err && (r->view.nr_cycles || r->view.stuck.nr)) {
		err = take_marks(r, &marks, &nr_marks);
		nanosleep(&pause, NULL);
		if (!err)
			err = look(r);
		if (!err)
			keep_confirmed(r, marks, nr_marks);
		free(marks);
	}
	if (err)
		return err;
	if (r->o->verbose)
		fprintf(stderr, "ipcrace: hang: examined %zu threads of %zu processes\n",
			r->nr_tasks, r->procs.nr);
	return write_report(r);
}

int hang__run(const struct hang_opts *o)
{
	struct hang_run r = { .o = o };
	int ret, err;

	if (preflight__check())
		return EXIT_TOOL;
	r.pm = procmaps__new();
	if (!r.pm)
		return EXIT_TOOL;
	err = run(&r);
	if (err == -ENOMEM)
		fprintf(stderr, "ipcrace: hang: out of memory\n");
	ret = err == -EINVAL ? EXIT_USAGE : err ? EXIT_TOOL :
	      r.view.nr_cycles || r.view.stuck.nr ? EXIT_DEADLOCK : 0;
	waitgraph__free(r.graph);
	reset_round(&r);
	free_view(&r.view);
	free(r.trace.mappings);
	free(r.trace.processes);
	procmaps__free(r.pm);
	pidset__free(&r.procs);
	return ret;
}
