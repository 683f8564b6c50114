// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Lock probes sampled in time windows under --overhead (lock_sampler.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/libbpf.h>

#include "ipcrace.skel.h"
#include "elf_syms.h"
#include "lock_sampler.h"
#include "probes.h"
#include "trace_writer.h"
#include "uprobe_multi.h"
#include "watch.h"

#define METER_NS 100000000ULL		/* every process metered every 100 ms */
#define MIN_ON_NS 100000000ULL		/* a window on lasts at least one meter */
#define EVENT_NS_DEFAULT 1200		/* when the calibration fails */
#define CALIBRATE_CALLS 256
#define CALIBRATE_BATCHES 4

enum sproc_state {
	SPROC_ON,
	SPROC_OFF,		/* paused; resume_due once the bucket refilled */
};

/* One traced process that made lock events. */
struct sproc {
	__u32 pid;
	bool dead;
	bool metered;			/* cpu_seen valid */
	bool fixed;			/* cannot be sampled (no links of its own, or none made again) */
	bool resume_due;
	enum sproc_state state;
	__u64 cpu_seen;			/* its threads' CPU time when last metered */
	__u64 events;			/* lock events since it was last metered */
	__s64 tokens;			/* its budget, ns */
	__u64 on_since, off_since;
	__u64 settled;			/* probes__pause_settled's mark of its pause */
	__u64 first_ns;			/* first metered */
};

struct lock_sampler {
	struct ipcrace_bpf *skel;
	struct probes *probes;
	struct trace_writer *writer;
	struct lock_sampler_opts opts;
	__u64 event_ns;
	bool measured;
	struct sproc *procs;
	size_t nr_procs, cap_procs;
	__u32 *index;			/* open addressing: pid -> procs index + 1, 0: empty */
	size_t index_size;		/* a power of two */
	__u32 last_pid;
	size_t last_idx;
	bool last_valid;
	__u64 next_meter;
	__u64 watch_seen;
	/* totals for the trace */
	__u64 windows, off_ns, metered_ns, events, sampled_procs, metered_procs;
};

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* --- the price of a lock event ------------------------------------------------ */

/*
 * The probed function of the calibration: a nop the kernel emulates (as
 * the lock functions' probe sites, tracer/probe_site.c; a ret would be
 * single-stepped, ~15 us here), then its return.
 */
__attribute__((noinline, used)) void lock_sampler_trap_target(void);
__attribute__((noinline, used)) void lock_sampler_trap_target(void)
{
	__asm__ volatile("nop" ::: "memory");
}

/*
 * A trap with an empty program, on ipcrace's own function, for this
 * process only: the cheapest of a few batches. 0 when it cannot be made.
 */
static __u64 calibrate_trap(struct ipcrace_bpf *skel)
{
	struct elf_syms *syms = elf_syms__open("/proc/self/exe");
	struct elf_func fn;
	__u64 cookie = 0, best = 0;
	int fd;

	if (!syms)
		return 0;
	if (elf_syms__find(syms, "lock_sampler_trap_target", &fn)) {
		elf_syms__close(syms);
		return 0;
	}
	elf_syms__close(syms);
	fd = uprobe_multi__attach_type(bpf_program__fd(skel->progs.bare_uprobe),
				       ATTACH_TYPE_UPROBE_MULTI, "/proc/self/exe", &fn.offset,
				       &cookie, 1, false, getpid());
	if (fd < 0)
		return 0;
	for (int b = 0; b < CALIBRATE_BATCHES; b++) {
		__u64 t0 = mono_ns(), ns;

		for (int i = 0; i < CALIBRATE_CALLS; i++)
			lock_sampler_trap_target();
		ns = (mono_ns() - t0) / CALIBRATE_CALLS;
		if (!best || ns < best)
			best = ns;
	}
	close(fd);
	return best;
}

/* --- processes ------------------------------------------------------------------ */

static size_t hash_pid(__u32 pid, size_t size)
{
	return (pid * 2654435761u) & (size - 1);
}

static int index_insert(struct lock_sampler *ls, __u32 pid, size_t idx)
{
	size_t i;

	if ((ls->nr_procs + 1) * 2 > ls->index_size) {
		size_t size = ls->index_size ? ls->index_size * 2 : 256;
		__u32 *grown = calloc(size, sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		for (size_t k = 0; k < ls->index_size; k++) {
			__u32 v = ls->index[k];

			if (!v)
				continue;
			for (i = hash_pid(ls->procs[v - 1].pid, size); grown[i]; i = (i + 1) & (size - 1))
				;
			grown[i] = v;
		}
		free(ls->index);
		ls->index = grown;
		ls->index_size = size;
	}
	for (i = hash_pid(pid, ls->index_size); ls->index[i]; i = (i + 1) & (ls->index_size - 1))
		;
	ls->index[i] = idx + 1;
	return 0;
}

/* pid's process, NULL when unknown. */
static struct sproc *sproc_find(struct lock_sampler *ls, __u32 pid)
{
	size_t i;

	if (ls->last_valid && ls->last_pid == pid)
		return &ls->procs[ls->last_idx];
	if (!ls->index_size)
		return NULL;
	for (i = hash_pid(pid, ls->index_size); ls->index[i]; i = (i + 1) & (ls->index_size - 1)) {
		if (ls->procs[ls->index[i] - 1].pid == pid) {
			ls->last_pid = pid;
			ls->last_idx = ls->index[i] - 1;
			ls->last_valid = true;
			return &ls->procs[ls->last_idx];
		}
	}
	return NULL;
}

static struct sproc *sproc_get(struct lock_sampler *ls, __u32 pid)
{
	struct sproc *p = sproc_find(ls, pid), *grown;

	if (p) {
		/* the pid of a process gone, taken by a new one */
		if (p->dead)
			*p = (struct sproc){ .pid = pid, .on_since = mono_ns() };
		return p;
	}
	if (ls->nr_procs == ls->cap_procs) {
		size_t cap = ls->cap_procs ? ls->cap_procs * 2 : 16;

		grown = realloc(ls->procs, cap * sizeof(*grown));
		if (!grown)
			return NULL;
		ls->procs = grown;
		ls->cap_procs = cap;
	}
	if (index_insert(ls, pid, ls->nr_procs))
		return NULL;
	p = &ls->procs[ls->nr_procs];
	*p = (struct sproc){ .pid = pid, .on_since = mono_ns() };
	ls->last_valid = false;
	ls->nr_procs++;
	return p;
}

/* The CPU time of pid's threads (schedstat's first field); false when gone. */
static bool read_cpu(__u32 pid, __u64 *out)
{
	char path[96], buf[96];
	struct dirent *d;
	bool any = false;
	DIR *dir;

	*out = 0;
	snprintf(path, sizeof(path), "/proc/%u/task", pid);
	dir = opendir(path);
	if (!dir)
		return false;
	while ((d = readdir(dir))) {
		unsigned long long run;
		ssize_t len;
		int fd;

		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%u/task/%.16s/schedstat", pid, d->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		len = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (len <= 0)
			continue;
		buf[len] = '\0';
		if (sscanf(buf, "%llu", &run) == 1) {
			*out += run;
			any = true;
		}
	}
	closedir(dir);
	return any;
}

/* --- windows ---------------------------------------------------------------------- */

static int write_edge(struct lock_sampler *ls, __u32 pid, enum ipcrace_lock_gap_edge edge,
		      __u64 ts, __u64 since)
{
	struct ipcrace_event e;

	memset(&e, 0, sizeof(e));
	e.hdr.kind = IPCRACE_REC_EVENT;
	e.hdr.size = sizeof(e);
	e.ts = ts;
	e.pid = pid;
	e.tid = pid;
	e.type = EV_LOCK_GAP;
	e.arg0 = edge;
	e.arg1 = since;
	return trace_writer__add_event(ls->writer, &e);
}

/*
 * Closes p's links first, then writes the begin: the consumer has not read
 * anything since, so every call the closed links miss comes after it.
 */
static int window_begin(struct lock_sampler *ls, struct sproc *p, __u64 now)
{
	int n = probes__pause_pid(ls->probes, p->pid, &p->settled);

	if (n <= 0) {
		/* probed per file (a command's tree): never sampled */
		p->fixed = true;
		return 0;
	}
	p->state = SPROC_OFF;
	p->off_since = now;
	p->resume_due = false;
	ls->windows++;
	if (ls->opts.verbose)
		fprintf(stderr, "ipcrace: locks: pid %u: lock probes off (%d links)\n", p->pid, n);
	return write_edge(ls, p->pid, LOCK_GAP_BEGIN, now, 0);
}

/*
 * Makes p's links again once the old ones are closed (a call must not be
 * recorded twice), drains what the ring buffer holds, then writes the end:
 * every call of the gap was before it. *idx: p's index (a drain may move
 * the array).
 */
static int window_end(struct lock_sampler *ls, size_t idx)
{
	struct sproc *p = &ls->procs[idx];
	__u64 since = p->off_since, now;
	__u32 pid = p->pid;
	int n;

	if (!probes__pause_settled(ls->probes, p->settled))
		return 0;
	n = probes__resume_pid(ls->probes, pid);
	if (n < 0) {
		/* stays off: its gap ends with it (the analyzer closes it at its exit) */
		p->fixed = true;
		p->resume_due = false;
		return 0;
	}
	if (ls->opts.drain)
		ls->opts.drain(ls->opts.drain_ctx);
	p = &ls->procs[idx];
	now = mono_ns();
	ls->off_ns += now - since;
	p->state = SPROC_ON;
	p->on_since = now;
	p->resume_due = false;
	if (ls->opts.verbose)
		fprintf(stderr, "ipcrace: locks: pid %u: lock probes on again after %.0f ms\n", pid,
			(now - since) / 1e6);
	return write_edge(ls, pid, LOCK_GAP_END, now, since);
}

/* As watch_cost.c's: at most cap saved up, a debt of at most two caps. */
static void bucket(__s64 *tokens, __s64 income, __s64 spent, __s64 cap)
{
	*tokens += income - spent;
	if (*tokens > cap)
		*tokens = cap;
	if (*tokens < -2 * cap)
		*tokens = -2 * cap;
}

/* Every live process: its CPU and events since the last meter against its share. */
static int meter(struct lock_sampler *ls, __u64 now, __u64 watch_cost_ns)
{
	__s64 cap = (__s64)ls->opts.overhead_pct * 10000000LL;
	__u64 watch = watch_cost_ns > ls->watch_seen ? watch_cost_ns - ls->watch_seen : 0;
	__u64 total_cpu = 0, *cpu_delta;
	size_t i;
	int err = 0;

	ls->watch_seen = watch_cost_ns;
	cpu_delta = calloc(ls->nr_procs ? ls->nr_procs : 1, sizeof(*cpu_delta));
	if (!cpu_delta)
		return -ENOMEM;
	for (i = 0; i < ls->nr_procs; i++) {
		struct sproc *p = &ls->procs[i];
		__u64 cpu;

		if (p->dead || !read_cpu(p->pid, &cpu))
			continue;
		if (p->metered && cpu >= p->cpu_seen)
			cpu_delta[i] = cpu - p->cpu_seen;
		if (!p->metered) {
			/* a full bucket to start with: a window on first */
			p->tokens = (__s64)ls->opts.overhead_pct * 10000000LL;
			p->first_ns = now;
			ls->metered_procs++;
		}
		p->cpu_seen = cpu;
		p->metered = true;
		total_cpu += cpu_delta[i];
	}
	for (i = 0; i < ls->nr_procs && !err; i++) {
		struct sproc *p = &ls->procs[i];
		__s64 income, spent;

		if (p->dead || !p->metered)
			continue;
		/* the watching spends first, each process its share by CPU */
		income = (__s64)(cpu_delta[i] * ls->opts.overhead_pct / 100) -
			 (__s64)(total_cpu ? watch * cpu_delta[i] / total_cpu : 0);
		spent = (__s64)(p->events * ls->event_ns);
		p->events = 0;
		bucket(&p->tokens, income, spent, cap);
		if (p->fixed)
			continue;
		if (p->state == SPROC_ON && p->tokens < 0 && now - p->on_since >= MIN_ON_NS)
			err = window_begin(ls, p, now);
		else if (p->state == SPROC_OFF && p->tokens >= cap / 2)
			p->resume_due = true;
	}
	free(cpu_delta);
	return err;
}

/* --- the interface ------------------------------------------------------------------ */

struct lock_sampler *lock_sampler__new(struct ipcrace_bpf *skel, struct probes *p,
				       struct trace_writer *w, const struct lock_sampler_opts *o)
{
	struct lock_sampler *ls = calloc(1, sizeof(*ls));
	__u64 trap;

	if (!ls) {
		errno = ENOMEM;
		return NULL;
	}
	ls->skel = skel;
	ls->probes = p;
	ls->writer = w;
	ls->opts = *o;
	trap = calibrate_trap(skel);
	ls->measured = trap != 0;
	ls->event_ns = trap ? trap + LOCK_SAMPLER_BPF_NS : EVENT_NS_DEFAULT;
	if (o->verbose)
		fprintf(stderr, "ipcrace: locks: a lock event priced at %llu ns (%s)\n",
			(unsigned long long)ls->event_ns,
			trap ? "a trap measured, plus its program's work" : "not measured: a default");
	ls->next_meter = mono_ns() + METER_NS;
	return ls;
}

void lock_sampler__free(struct lock_sampler *ls)
{
	if (!ls)
		return;
	free(ls->procs);
	free(ls->index);
	free(ls);
}

/* The events the lock probes make (bpf/locks.bpf.c). */
static bool lock_probe_event(__u16 type)
{
	switch (type) {
	case EV_THREAD_CREATE_RET:
	case EV_THREAD_JOIN_RET:
	case EV_LOCK_ATTEMPT:
	case EV_LOCK_ACQUIRED:
	case EV_LOCK_RELEASE:
	case EV_LOCK_DESTROY:
	case EV_SYNC_OBJECT:
	case EV_BARRIER_ARRIVE:
	case EV_BARRIER_DEPART:
	case EV_ONCE_ENTER:
	case EV_ONCE_RET:
	case EV_GUARD_ACQUIRE_RET:
	case EV_GUARD_RELEASE:
		return true;
	default:
		return false;
	}
}

void lock_sampler__on_event(struct lock_sampler *ls, const struct ipcrace_event *e)
{
	struct sproc *p;

	if (!ls || !lock_probe_event(e->type))
		return;
	p = sproc_get(ls, e->pid);
	if (!p)
		return;
	p->events++;
	ls->events++;
}

int lock_sampler__tick(struct lock_sampler *ls, __u64 now)
{
	struct trace_watch_stats ws;
	int err = 0;

	if (!ls)
		return 0;
	if (now >= ls->next_meter) {
		ls->next_meter = now + METER_NS;
		if (!watcher__stats(ls->opts.watcher, &ws))
			ws.cost_ns = 0;
		err = meter(ls, now, ws.cost_ns);
	}
	for (size_t i = 0; i < ls->nr_procs && !err; i++)
		if (ls->procs[i].resume_due && !ls->procs[i].dead)
			err = window_end(ls, i);
	return err;
}

void lock_sampler__exited(struct lock_sampler *ls, __u32 pid)
{
	struct sproc *p = ls ? sproc_find(ls, pid) : NULL;
	__u64 now;

	if (!p || p->dead)
		return;
	now = mono_ns();
	if (p->state == SPROC_OFF)
		ls->off_ns += now - p->off_since;
	if (p->metered)
		ls->metered_ns += now - p->first_ns;
	if (p->state == SPROC_OFF || p->off_since)
		ls->sampled_procs++;
	p->dead = true;
}

void lock_sampler__stats(const struct lock_sampler *ls, __u64 now,
			 struct trace_lock_sampling *st)
{
	__u64 off = ls->off_ns, metered = ls->metered_ns, sampled = ls->sampled_procs;

	memset(st, 0, sizeof(*st));
	for (size_t i = 0; i < ls->nr_procs; i++) {
		const struct sproc *p = &ls->procs[i];

		if (p->dead)
			continue;
		if (p->state == SPROC_OFF)
			off += now - p->off_since;
		if (p->metered)
			metered += now - p->first_ns;
		if (p->state == SPROC_OFF || p->off_since)
			sampled++;
	}
	st->windows = ls->windows;
	st->off_ns = off;
	st->metered_ns = metered;
	st->events = ls->events;
	st->cost_ns = ls->events * ls->event_ns;
	st->processes = sampled;
	st->metered = ls->metered_procs;
	st->event_ns = ls->measured ? ls->event_ns : 0;
	st->overhead_pct = ls->opts.overhead_pct;
}
