// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * What the watching costs the traced processes, and the budget that bounds
 * it (watch_int.h). Two prices: a trap (the debug exception of a thread
 * that touched a watched word: a VM exit on a virtual machine, 15-130 us
 * on the 2-core test VM), and a context switch of a thread with slots
 * armed (the kernel writes the debug registers as it switches the thread
 * in and out: about 0.4 us a slot there, also VM exits; a thread whose
 * slots are all parked pays none of it). Both are measured when the
 * watcher starts, on threads of ipcrace's own; during the run BPF counts
 * the traps, and the context switches of the processes with slots armed
 * are read from /proc/PID/task/TID/schedstat (timeslices run). One budget
 * in nanoseconds spends both: --watch-rate N allows N traps' worth a
 * second, --overhead PCT that share of the traced processes' CPU time
 * (schedstat too) less ipcrace's own. Best effort: a process whose
 * counters cannot be read (gone) is charged nothing, counted in unread.
 */
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <linux/hw_breakpoint.h>
#include "ipcrace.skel.h"
#include "../analyzer/trace.h"
#include "watch_int.h"

#define COST_METER_TICKS 4		/* counters read every 100 ms */
#define TRAP_NS_DEFAULT 20000		/* when a calibration fails */
#define SWITCH_NS_DEFAULT 400
#define CALIBRATE_TRAPS 16		/* a batch; the cheapest of CALIBRATE_BATCHES */
#define CALIBRATE_ROUNDS 64		/* ping-pong round trips a batch */
#define CALIBRATE_BATCHES 4

/* Never touched: the calibration's breakpoints are armed on these. */
static volatile __u64 idle_words[WATCH_SLOTS];
static volatile __u64 trap_word;

static __u64 ns_between(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1000000000ULL + b->tv_nsec - a->tv_nsec;
}

/* An armed breakpoint on the calling thread only. */
static int open_self_breakpoint(volatile __u64 *word)
{
	struct perf_event_attr a;

	watch_attr_init(&a);
	a.bp_addr = (__u64)(unsigned long)word;
	a.inherit = 0;
	a.inherit_thread = 0;
	return watch_perf_event_open(&a, 0);
}

static __u64 calibrate_trap(void)
{
	__u64 best = 0;
	int fd = open_self_breakpoint(&trap_word);

	if (fd < 0)
		return 0;
	for (int b = 0; b < CALIBRATE_BATCHES; b++) {
		struct timespec t0, t1;
		__u64 ns, sum = 0;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		/* one load an iteration, one trap (an increment would be two) */
		for (int i = 0; i < CALIBRATE_TRAPS; i++)
			sum += trap_word;
		clock_gettime(CLOCK_MONOTONIC, &t1);
		__asm__ volatile("" : : "r"(sum));
		ns = ns_between(&t0, &t1) / CALIBRATE_TRAPS;
		if (!best || ns < best)
			best = ns;
	}
	close(fd);
	return best;
}

struct pingpong {
	int to_pong[2], to_ping[2];
	int cpu;
	int slots;			/* breakpoints each thread arms */
	__u64 best_ns;			/* ping: the cheapest batch's round trip */
	bool failed;
};

/* Both threads on one CPU, so that every message is a context switch. */
static int pingpong_enter(struct pingpong *pp, int *fds)
{
	cpu_set_t set;
	int n = 0;

	CPU_ZERO(&set);
	CPU_SET(pp->cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		return -errno;
	for (; n < pp->slots; n++) {
		fds[n] = open_self_breakpoint(&idle_words[n]);
		if (fds[n] < 0)
			return -errno;
	}
	return 0;
}

static void pingpong_leave(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
}

static void *pong_main(void *arg)
{
	struct pingpong *pp = arg;
	int fds[WATCH_SLOTS] = { -1, -1, -1, -1 };
	char c;

	if (pingpong_enter(pp, fds))
		pp->failed = true;
	/* ping stops when its write end closes */
	while (read(pp->to_pong[0], &c, 1) == 1)
		if (write(pp->to_ping[1], &c, 1) != 1)
			break;
	pingpong_leave(fds, pp->slots);
	return NULL;
}

static void *ping_main(void *arg)
{
	struct pingpong *pp = arg;
	int fds[WATCH_SLOTS] = { -1, -1, -1, -1 };
	char c = 0;

	if (pingpong_enter(pp, fds)) {
		pp->failed = true;
		goto out;
	}
	for (int b = 0; b < CALIBRATE_BATCHES && !pp->failed; b++) {
		struct timespec t0, t1;
		__u64 ns;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (int i = 0; i < CALIBRATE_ROUNDS; i++) {
			if (write(pp->to_pong[1], &c, 1) != 1 || read(pp->to_ping[0], &c, 1) != 1) {
				pp->failed = true;
				break;
			}
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		ns = ns_between(&t0, &t1) / CALIBRATE_ROUNDS;
		if (!pp->best_ns || ns < pp->best_ns)
			pp->best_ns = ns;
	}
out:
	pingpong_leave(fds, pp->slots);
	return NULL;
}

/* The cheapest round trip of two threads with slots breakpoints each; 0: failed. */
static __u64 pingpong_round_trip(int slots)
{
	struct pingpong pp = { .to_pong = { -1, -1 }, .to_ping = { -1, -1 }, .slots = slots };
	pthread_t ping, pong;
	__u64 ns = 0;

	pp.cpu = sched_getcpu();
	if (pp.cpu < 0 || pipe2(pp.to_pong, O_CLOEXEC))
		return 0;
	if (pipe2(pp.to_ping, O_CLOEXEC))
		goto out_close;
	if (pthread_create(&pong, NULL, pong_main, &pp))
		goto out_close;
	if (!pthread_create(&ping, NULL, ping_main, &pp)) {
		pthread_join(ping, NULL);
		ns = pp.failed ? 0 : pp.best_ns;
	}
	close(pp.to_pong[1]);		/* pong's read sees the end */
	pp.to_pong[1] = -1;
	pthread_join(pong, NULL);
out_close:
	for (int i = 0; i < 2; i++) {
		if (pp.to_pong[i] >= 0)
			close(pp.to_pong[i]);
		if (pp.to_ping[i] >= 0)
			close(pp.to_ping[i]);
	}
	return ns;
}

/*
 * A round trip switches each thread in and out once: with WATCH_SLOTS
 * armed in both, the difference is 2 x WATCH_SLOTS slot switches.
 */
static __u64 calibrate_switch(void)
{
	__u64 bare = pingpong_round_trip(0), armed = bare ? pingpong_round_trip(WATCH_SLOTS) : 0;

	if (!bare || !armed)
		return 0;
	return armed > bare ? (armed - bare) / (2 * WATCH_SLOTS) : 1;
}

void watch_cost_calibrate(struct watcher *w)
{
	struct watch_cost *c = &w->cost;

	c->trap_ns = calibrate_trap();
	c->switch_ns = calibrate_switch();
	if (w->opts.verbose)
		fprintf(stderr, "ipcrace: watch: measured a trap at %llu ns, a slot armed in a "
			"thread switched in and out at %llu ns%s\n", (unsigned long long)c->trap_ns,
			(unsigned long long)c->switch_ns,
			!c->trap_ns || !c->switch_ns ? " (not measured: a default taken)" : "");
	if (!c->trap_ns)
		c->trap_ns = TRAP_NS_DEFAULT;
	if (!c->switch_ns)
		c->switch_ns = SWITCH_NS_DEFAULT;
}

/* "run_ns wait_ns timeslices" of one task; false when unreadable. */
static bool read_schedstat(const char *path, __u64 *run_ns, __u64 *slices)
{
	unsigned long long run, wait, n;
	char buf[96];
	ssize_t len;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return false;
	buf[len] = '\0';
	if (sscanf(buf, "%llu %llu %llu", &run, &wait, &n) != 3)
		return false;
	*run_ns += run;
	*slices += n;
	return true;
}

/* p's threads' CPU time and timeslices (context switches in); false when gone. */
static bool read_counters(const struct wproc *p, __u64 *run_ns, __u64 *slices)
{
	char path[64];
	struct dirent *d;
	bool any = false;
	DIR *dir;

	*run_ns = *slices = 0;
	if (!p->threaded && p->nr_threads <= 1) {
		snprintf(path, sizeof(path), "/proc/%u/schedstat", p->pid);
		return read_schedstat(path, run_ns, slices);
	}
	snprintf(path, sizeof(path), "/proc/%u/task", p->pid);
	dir = opendir(path);
	if (!dir)
		return false;
	while ((d = readdir(dir))) {
		char task[96];

		if (d->d_name[0] == '.')
			continue;
		snprintf(task, sizeof(task), "/proc/%u/task/%.16s/schedstat", p->pid, d->d_name);
		any |= read_schedstat(task, run_ns, slices);
	}
	closedir(dir);
	return any;
}

/*
 * Charges p's context switches since it was last read at its armed count
 * then. A count that went down (threads exited) starts over uncharged.
 */
static void charge(struct watcher *w, struct wproc *p)
{
	__u64 run_ns, slices;

	if (!read_counters(p, &run_ns, &slices)) {
		w->cost.unread++;
		return;
	}
	if (p->metered && slices >= p->switches_seen)
		w->cost.slot_switches += (slices - p->switches_seen) * p->armed;
	if (p->metered && run_ns >= p->run_ns_seen)
		w->cost.traced_ns += run_ns - p->run_ns_seen;
	p->switches_seen = slices;
	p->run_ns_seen = run_ns;
	p->metered = true;
}

void watch_cost_set_armed(struct watcher *w, struct wproc *p, __u32 armed)
{
	if (armed == p->armed)
		return;
	if (w->cost.budgeted && (p->armed || !p->metered))
		charge(w, p);
	p->armed = armed;
}

__u64 watch_cost_self_ns(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		return 0;
	return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000ULL +
	       (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000ULL;
}

/*
 * Adds income to a bucket of at most cap, spends spent. Its debt is
 * bounded too (two caps): a one-off cost (attaching to a service reads
 * all its processes' maps and copies its shared objects) must not keep
 * the watching off for longer than a few seconds.
 */
static void bucket(__s64 *tokens, __s64 income, __s64 spent, __s64 cap)
{
	*tokens += income - spent;
	if (*tokens > cap)
		*tokens = cap;
	if (*tokens < -2 * cap)
		*tokens = -2 * cap;
}

int watch_cost_tick(struct watcher *w)
{
	struct watch_cost *c = &w->cost;
	__u64 traps, spent, traced, self;
	__s64 rate_cap = 0, overhead_cap = 0;
	int verdict = 1;

	if (!c->budgeted || !w->skel)
		return 1;
	/* all of them: their CPU time is what the cost is measured against */
	if (w->tick % COST_METER_TICKS == 0)
		for (struct wproc *p = w->procs; p; p = p->next)
			charge(w, p);
	traps = w->skel->bss->watch_traps;
	spent = (traps - c->traps_seen) * c->trap_ns +
		(c->slot_switches - c->switches_seen) * c->switch_ns;
	c->traps_seen = traps;
	c->switches_seen = c->slot_switches;
	if (w->opts.trap_rate) {
		/* a second's worth at most saved up */
		rate_cap = (__s64)(w->opts.trap_rate * c->trap_ns);
		bucket(&c->rate_tokens, rate_cap * (__s64)TICK_NS / 1000000000LL, spent, rate_cap);
		if (c->rate_tokens <= 0)
			verdict = c->rate_tokens < -rate_cap ? -1 : 0;
	}
	if (w->opts.overhead_pct) {
		self = watch_cost_self_ns() - c->self_start_ns;
		traced = c->traced_ns - c->traced_seen;
		/* ipcrace's own CPU counts against the budget before the watching */
		/* a second of one CPU's share saved up at most */
		overhead_cap = (__s64)(w->opts.overhead_pct * 10000000ULL);
		bucket(&c->overhead_tokens, (__s64)(traced * w->opts.overhead_pct / 100),
		       spent + (self - c->self_seen), overhead_cap);
		c->traced_seen = c->traced_ns;
		c->self_seen = self;
		if (c->overhead_tokens <= 0 && verdict > 0)
			verdict = 0;
		if (c->overhead_tokens < -overhead_cap)
			verdict = -1;
	}
	return verdict;
}

void watch_cost_stats(const struct watcher *w, struct trace_watch_stats *st)
{
	const struct watch_cost *c = &w->cost;
	__u64 traps = w->skel ? w->skel->bss->watch_traps : 0;

	memset(st, 0, sizeof(*st));
	st->traps = traps;
	st->slot_switches = c->slot_switches;
	st->ticks = w->tick;
	st->held_ticks = w->rate_ticks;
	st->traced_ns = c->traced_ns;
	if (c->budgeted) {
		st->self_ns = watch_cost_self_ns() - c->self_start_ns;
		st->cost_ns = traps * c->trap_ns + c->slot_switches * c->switch_ns;
		st->trap_ns = c->trap_ns;
		st->switch_ns = c->switch_ns;
	}
	st->watch_rate = w->opts.trap_rate;
	st->overhead_pct = w->opts.overhead_pct;
}
