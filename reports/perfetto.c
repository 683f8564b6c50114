// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The perfetto report: Chrome trace-event JSON, which ui.perfetto.dev and
 * chrome://tracing open. One track per thread, grouped by process; lock
 * waits and holds as slices; each message on a channel as a flow arrow
 * from the send to the receive that consumed it; process lifecycle and
 * findings as instant markers.
 *
 * Times are microseconds (3 decimals: the event clock's nanoseconds) from
 * the start of recording. Slices ("X") are written when they end, so the
 * document is not sorted by time: the trace-event format does not need it.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include "../analyzer/identity.h"
#include "json_writer.h"
#include "objname.h"
#include "model.h"
#include "perfetto_flows.h"
#include "perfetto_stacks.h"

/* A send or receive slice lasts 1 µs, or up to the thread's next event. */
#define PF_SHORT_NS 1000ull
/* Object names cached by key: naming walks the mapping records. */
#define PF_NAME_CACHE 256

enum pf_slice_kind {
	PF_WAIT,		/* lock attempt .. acquired */
	PF_HOLD,		/* acquired .. released */
	PF_SEND,		/* a message sent: short, a flow starts here */
	PF_RECV,		/* a message received: short, a flow ends here */
};

struct pf_slice {
	__u64 start;
	size_t ev;			/* index of the event that opened it */
	enum pf_slice_kind kind;
	bool continued;			/* reopened after a misnested close */
};

/* A thread's track: the slices open on it, innermost last. */
struct pf_thread {
	__u32 pid;
	__u32 tid;
	char comm[IPCRACE_COMM_LEN];	/* the latest the thread had */
	struct pf_slice *open;
	size_t nr_open;
	size_t cap_open;
};

struct pf_name {
	struct ipcrace_key key;
	__u64 addr;
	__u32 pid;
	__u16 obj;
	bool used;
	char name[OBJNAME_LEN];
};

struct pf_ctx {
	struct json_writer *w;
	const struct trace *t;
	struct symbolizer *s;		
	__u64 base;
	__u64 end;			/* the last time the trace knows of */
	struct pf_thread *threads;	/* sorted by (pid, tid) */
	size_t nr_threads;
	struct pf_flows flows;		/* the messages, send to receive */
	struct pf_name *names;		/* PF_NAME_CACHE entries */
	struct pf_stacks *stacks;	/* event stacks, symbolized once */
};

/* --- time ----------------------------------------------------------------- */

static __u64 pf_rel(const struct pf_ctx *c, __u64 ts)
{
	return ts > c->base ? ts - c->base : 0;
}

static void pf_kv_ts(struct pf_ctx *c, __u64 ts)
{
	json_writer__kv_decimal(c->w, "ts", pf_rel(c, ts), 3);
}

/* --- object names ----------------------------------------------------------- */

static __u64 key_hash(const struct ipcrace_key *k, __u16 obj)
{
	__u64 h = k->a * 0x9e3779b97f4a7c15ull;

	h ^= (k->b + obj) * 0xc2b2ae3d27d4eb4full;
	h ^= (k->c + k->space) * 0x165667b19e3779f9ull;
	return h ^ (h >> 29);
}

/* The readable name of an event's object, from the cache when it can. */
static const char *pf_object_name(struct pf_ctx *c, const struct ipcrace_event *e)
{
	struct finding_object o = { .key = e->key, .addr = e->addr, .pid = e->pid, .obj = e->obj };
	/* an unresolved key is named by its address in its process */
	bool by_addr = e->key.space == KEY_NONE;
	struct pf_name *n = &c->names[key_hash(&e->key, e->obj) % PF_NAME_CACHE];

	if (n->used && ipcrace_key__equal(&n->key, &e->key) && n->obj == e->obj &&
	    (!by_addr || (n->addr == e->addr && n->pid == e->pid)))
		return n->name;
	n->used = true;
	n->key = e->key;
	n->obj = e->obj;
	n->addr = e->addr;
	n->pid = e->pid;
	objname__format(n->name, sizeof(n->name), c->t, &o);
	return n->name;
}

/* --- threads ---------------------------------------------------------------- */

static int pf_thread_cmp(const void *a, const void *b)
{
	const struct pf_thread *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

static struct pf_thread *pf_thread_find(struct pf_ctx *c, __u32 pid, __u32 tid)
{
	struct pf_thread key = { .pid = pid, .tid = tid };

	return bsearch(&key, c->threads, c->nr_threads, sizeof(key), pf_thread_cmp);
}

/* Every (pid, tid) of the trace's events, with the latest comm of each. */
static int pf_collect_threads(struct pf_ctx *c)
{
	const struct trace *t = c->t;
	struct pf_thread *th;
	size_t i, n = 0;

	c->threads = calloc(t->nr_events ? t->nr_events : 1, sizeof(*c->threads));
	if (!c->threads)
		return -ENOMEM;
	for (i = 0; i < t->nr_events; i++) {
		c->threads[i].pid = t->events[i].pid;
		c->threads[i].tid = t->events[i].tid;
	}
	qsort(c->threads, t->nr_events, sizeof(*c->threads), pf_thread_cmp);
	for (i = 0; i < t->nr_events; i++)
		if (!n || pf_thread_cmp(&c->threads[i], &c->threads[n - 1]))
			c->threads[n++] = c->threads[i];
	c->nr_threads = n;
	for (i = 0; i < t->nr_events; i++) {
		th = pf_thread_find(c, t->events[i].pid, t->events[i].tid);
		memcpy(th->comm, t->events[i].comm, sizeof(th->comm));
	}
	return 0;
}

/* --- trace events ------------------------------------------------------------ */

static void pf_begin_event(struct pf_ctx *c, const char *name, const char *cat,
			  const char *ph, __u32 pid, __u32 tid, __u64 ts)
{
	struct json_writer *w = c->w;

	json_writer__start_object(w);
	json_writer__kv_string(w, "name", name);
	if (cat)
		json_writer__kv_string(w, "cat", cat);
	json_writer__kv_string(w, "ph", ph);
	pf_kv_ts(c, ts);
	json_writer__kv_uint(w, "pid", pid);
	json_writer__kv_uint(w, "tid", tid);
}

static void pf_metadata(struct pf_ctx *c, const char *what, __u32 pid, __u32 tid,
			const char *name, size_t maxlen)
{
	struct json_writer *w = c->w;

	json_writer__start_object(w);
	json_writer__kv_string(w, "name", what);
	json_writer__kv_string(w, "ph", "M");
	json_writer__kv_uint(w, "pid", pid);
	json_writer__kv_uint(w, "tid", tid);
	json_writer__name(w, "args");
	json_writer__start_object(w);
	json_writer__name(w, "name");
	json_writer__string_n(w, name, maxlen);
	json_writer__end_object(w);
	json_writer__end_object(w);
}

static int u32_cmp(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

/* The latest record of pid: a process has one before and one after exec. */
static const struct trace_process *pf_last_record(const struct trace *t, __u32 pid)
{
	const struct trace_process *p = NULL;
	size_t i;

	for (i = 0; i < t->nr_processes; i++)
		if (t->processes[i].pid == pid && (!p || t->processes[i].ts >= p->ts))
			p = &t->processes[i];
	return p;
}

/*
 * A process is named by its main thread's latest comm (after exec), else
 * its record's comm, else any thread's; the executable's name replaces the
 * comm when the comm is that name cut to 15 bytes.
 */
static void pf_write_process_name(struct pf_ctx *c, __u32 pid)
{
	const struct trace_process *p = pf_last_record(c->t, pid);
	const struct pf_thread *main = pf_thread_find(c, pid, pid);
	char name[IPCRACE_COMM_LEN + 1] = "";
	const char *exe;
	size_t i;

	if (main)
		memcpy(name, main->comm, IPCRACE_COMM_LEN);
	else if (p && p->comm[0])
		memcpy(name, p->comm, IPCRACE_COMM_LEN);
	for (i = 0; !name[0] && i < c->nr_threads; i++)
		if (c->threads[i].pid == pid)
			memcpy(name, c->threads[i].comm, IPCRACE_COMM_LEN);
	exe = p && p->exe[0] ? path__basename(p->exe) : NULL;
	if (exe && !strncmp(exe, name, strlen(name)))
		pf_metadata(c, "process_name", pid, pid, exe, sizeof(p->exe));
	else
		pf_metadata(c, "process_name", pid, pid, name, sizeof(name));
}

static int pf_write_track_names(struct pf_ctx *c)
{
	const struct trace *t = c->t;
	size_t i, n = 0, nr = 0;
	__u32 *pids;

	pids = malloc((c->nr_threads + t->nr_processes + 1) * sizeof(*pids));
	if (!pids)
		return -ENOMEM;
	for (i = 0; i < c->nr_threads; i++)
		pids[n++] = c->threads[i].pid;
	for (i = 0; i < t->nr_processes; i++)
		pids[n++] = t->processes[i].pid;
	qsort(pids, n, sizeof(*pids), u32_cmp);
	for (i = 0; i < n; i++)
		if (!i || pids[i] != pids[i - 1])
			pids[nr++] = pids[i];
	for (i = 0; i < nr; i++)
		pf_write_process_name(c, pids[i]);
	for (i = 0; i < c->nr_threads; i++)
		pf_metadata(c, "thread_name", c->threads[i].pid, c->threads[i].tid,
			    c->threads[i].comm, sizeof(c->threads[i].comm));
	free(pids);
	return 0;
}

static const char *pf_slice_verb(enum pf_slice_kind k)
{
	switch (k) {
	case PF_WAIT:	return "wait";
	case PF_HOLD:	return "hold";
	case PF_SEND:	return "send";
	case PF_RECV:	return "recv";
	}
	return "?";
}

static void pf_write_flow_ends(struct pf_ctx *c, const struct pf_slice *sl,
			       const struct ipcrace_event *e)
{
	const struct pf_flow *f;
	bool is_send = sl->kind == PF_SEND;
	size_t i, n;

	n = pf_flows__of(&c->flows, sl->ev, is_send, &f);
	/* written after their slice, at its start, so they bind to it */
	for (i = 0; i < n; i++) {
		pf_begin_event(c, "message", "ipc", is_send ? "s" : "f", e->pid, e->tid,
			       sl->start);
		json_writer__kv_uint(c->w, "id", f[i].id);
		if (!is_send)
			json_writer__kv_string(c->w, "bp", "e");
		json_writer__end_object(c->w);
	}
}

/*
 * Writes the slice sl ending at end. at_exit: the thread exited with it
 * open; unfinished: the trace ended with it open.
 */
static void pf_write_slice(struct pf_ctx *c, const struct pf_slice *sl, __u64 end,
			   const struct ipcrace_event *closer, bool at_exit, bool unfinished)
{
	const struct ipcrace_event *e = &c->t->events[sl->ev];
	struct json_writer *w = c->w;
	const char *obj = pf_object_name(c, e);
	const struct frame *frames;
	size_t nr;
	char name[OBJNAME_LEN + 64];
	bool is_msg = sl->kind == PF_SEND || sl->kind == PF_RECV;

	if (is_msg)
		snprintf(name, sizeof(name), "%s %s, %llu bytes", pf_slice_verb(sl->kind), obj,
			 (unsigned long long)e->arg0);
	else
		snprintf(name, sizeof(name), "%s %s", pf_slice_verb(sl->kind), obj);
	pf_begin_event(c, name, is_msg ? "ipc" : "lock", "X", e->pid, e->tid, sl->start);
	json_writer__kv_decimal(w, "dur", end > sl->start ? end - sl->start : 0, 3);
	json_writer__name(w, "args");
	json_writer__start_object(w);
	json_writer__kv_string(w, "object", obj);
	json_writer__kv_string(w, "kind", objname__kind_id(e->obj));
	json_writer__kv_uint(w, "address", e->addr);
	if (e->flags & (EVF_READ | EVF_WRITE))
		json_writer__kv_string(w, "mode", e->flags & EVF_WRITE ? "write" : "read");
	if (is_msg) {
		json_writer__kv_uint(w, "bytes", e->arg0);
		json_writer__kv_int(w, "fd", (__s64)e->arg1);
	}
	if (sl->kind == PF_WAIT && closer)
		json_writer__kv_int(w, "result", closer->result);
	if (sl->kind == PF_WAIT)
		json_writer__kv_bool(w, "acquired", closer && !closer->result);
	if (sl->kind == PF_HOLD)
		json_writer__kv_bool(w, "released", closer != NULL);
	if (at_exit)
		json_writer__kv_bool(w, "open_at_thread_exit", true);
	if (unfinished)
		json_writer__kv_bool(w, "open_at_trace_end", true);
	if (sl->continued)
		json_writer__kv_bool(w, "continued", true);
	nr = pf_stacks__of_event(c->stacks, e, &frames);
	if (nr)
		pf_write_frames(w, "stack", frames, nr);
	json_writer__end_object(w);
	json_writer__end_object(w);
	if (is_msg)
		pf_write_flow_ends(c, sl, e);
}

static int pf_push(struct pf_thread *th, enum pf_slice_kind kind, size_t ev, __u64 start)
{
	struct pf_slice *s;

	if (th->nr_open == th->cap_open) {
		size_t cap = th->cap_open ? th->cap_open * 2 : 8;

		s = realloc(th->open, cap * sizeof(*s));
		if (!s)
			return -ENOMEM;
		th->open = s;
		th->cap_open = cap;
	}
	th->open[th->nr_open++] = (struct pf_slice){ .start = start, .ev = ev, .kind = kind };
	return 0;
}

/*
 * Closes the open slice at index i at time end. Slices on one track must
 * nest: when a lock is released before one taken after it (hand over
 * hand), the inner slices are cut at end and reopened there ("continued").
 */
static void pf_close(struct pf_ctx *c, struct pf_thread *th, size_t i, __u64 end,
		     const struct ipcrace_event *closer)
{
	size_t j;

	for (j = th->nr_open; j-- > i + 1;)
		pf_write_slice(c, &th->open[j], end, NULL, false, false);
	pf_write_slice(c, &th->open[i], end, closer, false, false);
	memmove(&th->open[i], &th->open[i + 1], (th->nr_open - i - 1) * sizeof(th->open[0]));
	th->nr_open--;
	for (j = i; j < th->nr_open; j++) {
		th->open[j].start = end;
		th->open[j].continued = true;
	}
}

/* Closes every open slice of th at end, innermost first. */
static void pf_close_all(struct pf_ctx *c, struct pf_thread *th, __u64 end, bool at_exit)
{
	while (th->nr_open) {
		struct pf_slice *sl = &th->open[th->nr_open - 1];
		bool is_msg = sl->kind == PF_SEND || sl->kind == PF_RECV;
		__u64 e = is_msg ? sl->start + PF_SHORT_NS : end;

		pf_write_slice(c, sl, e, NULL, at_exit && !is_msg, !at_exit && !is_msg);
		th->nr_open--;
	}
}

/* A send or receive slice lasts until now at most: the thread went on. */
static void pf_close_short(struct pf_ctx *c, struct pf_thread *th, __u64 now)
{
	struct pf_slice *sl;
	__u64 end;

	while (th->nr_open) {
		sl = &th->open[th->nr_open - 1];
		if (sl->kind != PF_SEND && sl->kind != PF_RECV)
			break;
		end = sl->start + PF_SHORT_NS < now ? sl->start + PF_SHORT_NS : now;
		pf_write_slice(c, sl, end, NULL, false, false);
		th->nr_open--;
	}
}

/* The innermost open slice of kind k on the object of e, or -1. */
static ssize_t pf_find_open(const struct pf_ctx *c, const struct pf_thread *th,
			    enum pf_slice_kind k, const struct ipcrace_event *e)
{
	size_t i;

	for (i = th->nr_open; i-- > 0;) {
		const struct ipcrace_event *o = &c->t->events[th->open[i].ev];

		if (th->open[i].kind != k || !ipcrace_key__equal(&o->key, &e->key))
			continue;
		/* unresolved keys: the same address in the same process */
		if (e->key.space == KEY_NONE && (o->addr != e->addr || o->pid != e->pid))
			continue;
		return i;
	}
	return -1;
}

/* Semaphores are signals as often as locks: their waits are shown, not holds. */
static bool pf_obj_is_lock(__u16 obj)
{
	return obj != OBJ_SEM && obj != OBJ_SYSV_SEM;
}

static void pf_instant(struct pf_ctx *c, const struct ipcrace_event *e, const char *name,
		       const char *scope)
{
	pf_begin_event(c, name, "process", "i", e->pid, e->tid, e->ts);
	json_writer__kv_string(c->w, "s", scope);
}

static void pf_fork(struct pf_ctx *c, const struct ipcrace_event *e)
{
	struct json_writer *w = c->w;
	char name[64];

	if (e->type == EV_FORK) {
		snprintf(name, sizeof(name), "fork pid %llu", (unsigned long long)e->arg0);
		pf_instant(c, e, name, "t");
		json_writer__name(w, "args");
		json_writer__start_object(w);
		json_writer__kv_uint(w, "child_pid", e->arg0);
		json_writer__end_object(w);
	} else {
		snprintf(name, sizeof(name), "new thread %llu", (unsigned long long)e->arg1);
		pf_instant(c, e, name, "t");
	}
	json_writer__end_object(w);
}

static void pf_exec(struct pf_ctx *c, const struct ipcrace_event *e)
{
	struct json_writer *w = c->w;

	pf_instant(c, e, "exec", "p");
	json_writer__name(w, "args");
	json_writer__start_object(w);
	json_writer__name(w, "comm");
	json_writer__string_n(w, e->comm, sizeof(e->comm));
	json_writer__end_object(w);
	json_writer__end_object(w);
}

static void pf_exit(struct pf_ctx *c, const struct ipcrace_event *e)
{
	struct json_writer *w = c->w;

	if (e->flags & EVF_GROUP_DEAD)
		pf_instant(c, e, "process exit", "p");
	else
		pf_instant(c, e, "thread exit", "t");
	json_writer__name(w, "args");
	json_writer__start_object(w);
	json_writer__kv_int(w, "code", (__s64)e->arg0);
	json_writer__end_object(w);
	json_writer__end_object(w);
}

static int pf_event(struct pf_ctx *c, size_t i)
{
	const struct ipcrace_event *e = &c->t->events[i];
	struct pf_thread *th = pf_thread_find(c, e->pid, e->tid);
	ssize_t k;

	pf_close_short(c, th, e->ts);
	switch ((enum ipcrace_event_type)e->type) {
	case EV_LOCK_ATTEMPT:
		/* a trylock never blocks: nothing to wait for */
		if (e->flags & EVF_TRY)
			return 0;
		/* no return probe: the hold starts at the call, its wait (if any) included */
		if (e->flags & EVF_ACQUIRE_DEFERRED)
			return pf_obj_is_lock(e->obj) ? pf_push(th, PF_HOLD, i, e->ts) : 0;
		return pf_push(th, PF_WAIT, i, e->ts);
	case EV_LOCK_ACQUIRED:
		k = pf_find_open(c, th, PF_WAIT, e);
		if (k >= 0)
			pf_close(c, th, k, e->ts, e);
		if (e->result || !pf_obj_is_lock(e->obj))
			return 0;
		return pf_push(th, PF_HOLD, i, e->ts);
	case EV_LOCK_RELEASE:
		k = pf_find_open(c, th, PF_HOLD, e);
		if (k >= 0)
			pf_close(c, th, k, e->ts, e);
		return 0;
	case EV_CHAN_SEND:
		return pf_push(th, PF_SEND, i, e->ts);
	case EV_CHAN_RECV:
		return pf_recv_got_data(e) ? pf_push(th, PF_RECV, i, e->ts) : 0;
	case EV_EXIT:
		pf_close_all(c, th, e->ts, true);
		pf_exit(c, e);
		return 0;
	case EV_FORK:
	case EV_THREAD_SPAWN:
		pf_fork(c, e);
		return 0;
	case EV_EXEC:
		pf_exec(c, e);
		return 0;
	case EV_THREAD_CREATE_RET:
	case EV_THREAD_JOIN_RET:
	case EV_LOCK_DESTROY:
	case EV_MMAP:
	case EV_MUNMAP:
	case EV_MREMAP:
	case EV_SHMAT:
	case EV_SHMDT:
	case EV_FUTEX_WAKE:
	case EV_FUTEX_WAIT_RET:
	case EV_WAIT_REAPED:
	case EV_NAME_OBJECT:
	case EV_MEM_ACCESS:
	case EV_ATOMIC_RELEASE:
	case EV_SIGNAL_SEND:
	case EV_SIGNAL_DELIVER:
	case EV_CHAN_OPEN:
	case EV_SYNC_OBJECT:
	case EV_BARRIER_ARRIVE:
	case EV_BARRIER_DEPART:
	case EV_ONCE_ENTER:
	case EV_ONCE_RET:
	case EV_GUARD_ACQUIRE_RET:
	case EV_GUARD_RELEASE:
	case EV_CHAN_CONNECT:
	case EV_CHAN_ACCEPT:
	case EV_SYNC_UNSEEN:
	case EV_CONFIRM_HOLD:
	case EV_LOCK_GAP:
	case EV_TYPE_MAX:
		break;
	}
	return 0;
}

/* --- findings ---------------------------------------------------------------- */

/* "stack": the top frames of a finding's stack idx. */
static void pf_write_stack(struct pf_ctx *c, const char *key, const struct report_bug *b,
			   size_t idx)
{
	const struct report_stack *st = idx < b->nr_stacks ? &b->stacks[idx] : NULL;

	pf_write_frames(c->w, key, st ? st->frames : NULL, st ? st->nr : 0);
}

static void pf_write_who(struct pf_ctx *c, const struct finding_access *a)
{
	struct json_writer *w = c->w;

	json_writer__kv_uint(w, "pid", a->pid);
	json_writer__kv_uint(w, "tid", a->tid);
	json_writer__name(w, "comm");
	json_writer__string_n(w, a->comm, sizeof(a->comm));
	json_writer__kv_decimal(w, "ts_us", pf_rel(c, a->ts), 3);
}

static void pf_write_access(struct pf_ctx *c, const struct finding_access *a,
			    const struct report_bug *b, size_t idx)
{
	struct json_writer *w = c->w;

	json_writer__start_object(w);
	pf_write_who(c, a);
	json_writer__kv_string(w, "op", access__op(a));
	pf_write_stack(c, "stack", b, idx);
	json_writer__end_object(w);
}

static void pf_write_finding_details(struct pf_ctx *c, const struct report_bug *b)
{
	const struct finding *f = b->f;
	struct json_writer *w = c->w;
	char name[OBJNAME_LEN];
	size_t i;

	switch (f->kind) {
	case FINDING_LOCK_ORDER_INVERSION:
		json_writer__name(w, "cycle");
		json_writer__start_array(w);
		for (i = 0; i < f->nr_cycle; i++) {
			const struct finding_edge *e = &f->cycle[i];

			json_writer__start_object(w);
			objname__format(name, sizeof(name), c->t, &e->lock);
			json_writer__kv_string(w, "lock", name);
			objname__format(name, sizeof(name), c->t, &e->held);
			json_writer__kv_string(w, "acquired_while_holding", name);
			pf_write_who(c, &e->who);
			pf_write_stack(c, "stack", b, 2 * i);
			json_writer__end_object(w);
		}
		json_writer__end_array(w);
		break;
	case FINDING_DATA_RACE:
	case FINDING_DOUBLE_LOCK:
	case FINDING_UNLOCK_NOT_HELD:
	case FINDING_LOCK_HELD_AT_EXIT:
		objname__format(name, sizeof(name), c->t, &f->object);
		json_writer__kv_string(w, "object", name);
		/* data races only: the global variable of the word, when known */
		if (b->has_var)
			json_writer__kv_string(w, "symbol", b->var.name);
		json_writer__name(w, "accesses");
		json_writer__start_array(w);
		if (b->cur)
			pf_write_access(c, b->cur, b, 0);
		if (b->prev)
			pf_write_access(c, b->prev, b, 1);
		json_writer__end_array(w);
		break;
	}
}

/* Where a finding's marker goes: its latest access or edge. */
static const struct finding_access *pf_finding_anchor(const struct finding *f)
{
	const struct finding_access *cur, *prev, *a = NULL;
	size_t i;

	if (f->kind == FINDING_LOCK_ORDER_INVERSION) {
		for (i = 0; i < f->nr_cycle; i++)
			if (!a || f->cycle[i].who.ts > a->ts)
				a = &f->cycle[i].who;
		return a;
	}
	finding__order(f, &cur, &prev);
	return cur;
}

static void pf_write_finding(struct pf_ctx *c, const struct report_bug *b)
{
	const struct finding *f = b->f;
	const struct finding_access *a = pf_finding_anchor(f);
	struct json_writer *w = c->w;
	char summary[2048], name[2100];

	finding__describe(summary, sizeof(summary), c->t, f);
	snprintf(name, sizeof(name), "%s: %s", finding_kind__name(f->kind), summary);
	pf_begin_event(c, name, "finding", "i", a ? a->pid : f->object.pid, a ? a->tid : 0,
		       a ? a->ts : c->end);
	/* global: a vertical marker across every track */
	json_writer__kv_string(w, "s", "g");
	json_writer__name(w, "args");
	json_writer__start_object(w);
	json_writer__kv_string(w, "kind", finding_kind__name(f->kind));
	json_writer__kv_string(w, "summary", summary);
	json_writer__kv_uint(w, "occurrences", b->occurrences);
	json_writer__kv_uint(w, "nr_objects", b->nr_objects);
	pf_write_finding_details(c, b);
	json_writer__end_object(w);
	json_writer__end_object(w);
}

/* --- the document -------------------------------------------------------------- */

static void pf_write_incomplete_marker(struct pf_ctx *c, const struct report_stats *st)
{
	struct json_writer *w = c->w;

	if (!st->incomplete)
		return;
	pf_begin_event(c, "INCOMPLETE trace: results may be missing events", "trace", "i",
		       0, 0, c->end);
	json_writer__kv_string(w, "s", "g");
	json_writer__name(w, "args");
	json_writer__start_object(w);
	json_writer__kv_uint(w, "lost_events", st->lost_events);
	json_writer__kv_bool(w, "cut_off", !c->t->has_footer);
	json_writer__kv_bool(w, "truncated", c->t->truncated);
	json_writer__kv_string(w, "missing", st->missing);
	json_writer__end_object(w);
	json_writer__end_object(w);
}

static void pf_write_other_data(struct pf_ctx *c, const struct report_stats *st)
{
	struct json_writer *w = c->w;

	json_writer__name(w, "otherData");
	json_writer__start_object(w);
	json_writer__kv_string(w, "tool", "ipcrace");
	json_writer__kv_string(w, "version", IPCRACE_VERSION);
	json_writer__name(w, "command");
	json_writer__string_n(w, c->t->header.cmdline, sizeof(c->t->header.cmdline));
	json_writer__kv_uint(w, "events", st->events);
	json_writer__kv_uint(w, "lost_events", st->lost_events);
	json_writer__kv_bool(w, "complete", !st->incomplete);
	json_writer__kv_uint(w, "messages", c->flows.nr);
	json_writer__end_object(w);
}

static void pf_ctx_free(struct pf_ctx *c)
{
	size_t i;

	for (i = 0; i < c->nr_threads; i++)
		free(c->threads[i].open);
	free(c->threads);
	pf_flows__free(&c->flows);
	free(c->names);
	pf_stacks__free(c->stacks);
}

int perfetto_report__write(FILE *out, const struct report_model *m,
			   const struct report_opts *opts)
{
	const struct trace *t = m->t;
	struct pf_ctx c = { .t = t, .s = m->s };
	const struct report_stats *st = &m->stats;
	size_t i;
	int err, werr;

	(void)opts;
	c.base = report__time_base(t);
	c.end = t->nr_events ? t->events[t->nr_events - 1].ts : c.base;
	if (t->has_footer && t->footer.end_mono_ns > c.end)
		c.end = t->footer.end_mono_ns;
	c.names = calloc(PF_NAME_CACHE, sizeof(*c.names));
	c.stacks = pf_stacks__new(m->s, t);
	err = c.names && c.stacks ? pf_collect_threads(&c) : -ENOMEM;
	if (!err)
		err = pf_flows__match(&c.flows, t);
	if (err)
		goto out_free;
	c.w = json_writer__new(out, false);
	if (!c.w) {
		err = -errno;
		goto out_free;
	}
	json_writer__start_object(c.w);
	json_writer__name(c.w, "traceEvents");
	json_writer__start_array(c.w);
	err = pf_write_track_names(&c);
	for (i = 0; i < t->nr_events && !err; i++)
		err = pf_event(&c, i);
	for (i = 0; i < c.nr_threads; i++)
		pf_close_all(&c, &c.threads[i], c.end, false);
	for (i = 0; i < m->nr_bugs; i++)
		pf_write_finding(&c, &m->bugs[i]);
	pf_write_incomplete_marker(&c, st);
	json_writer__end_array(c.w);
	json_writer__kv_string(c.w, "displayTimeUnit", "ns");
	pf_write_other_data(&c, st);
	json_writer__end_object(c.w);

	/* the document is closed even after an error, and the error wins */
	werr = json_writer__free(c.w);
	if (!err)
		err = werr;
	if (!err && (fflush(out) || ferror(out)))
		err = -EIO;
out_free:
	pf_ctx_free(&c);
	return err;
}
