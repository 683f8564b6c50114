// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The watcher (watch.h): the facade the session uses, over
 * watch_procs.c, watch_hw.c, watch_snapshot.c, watch_slots.c,
 * watch_guess.c and watch_learn.c (their shared state: watch_int.h).
 */
#include <signal.h>
#include "ipcrace.skel.h"
#include "insn_classify.h"
#include "procmaps.h"
#include "../analyzer/trace.h"
#include "watch_int.h"

/*
 * A process stopped (tracer/stops.c) where a word it is about to touch
 * may need a breakpoint: arm it as it is now (the stops module drained
 * the events before its stop and continues it afterwards).
 */
static void on_stop(void *ctx, __u32 pid, const struct arm_stop *st)
{
	struct watcher *w = ctx;
	struct wproc *p = watch_get_proc(w, pid);

	if (!p)
		return;
	watch_sync_proc(w, p);
	watch_guess_after_stop(w, p, st);
}


static int add_named(struct watcher *w, int k, const char *spec)
{
	struct slot *s = &w->slots[k];
	char path[PATH_MAX];
	bool is_symbol;
	__u64 off;
	__u32 len;

	if (watch_spec__parse(spec, path, sizeof(path), &off, &len, &is_symbol)) {
		fprintf(stderr, "ipcrace: watch: bad spec '%s' (PATH+OFFSET:LEN with LEN 1, 2, 4 "
			"or 8 and OFFSET a multiple of LEN, or a global variable name, "
			"SYMBOL[+OFFSET])\n", spec);
		return -EINVAL;
	}
	s->named = true;
	s->word.len = len;
	if (is_symbol) {
		if (strlen(path) >= sizeof(s->word.symbol)) {
			fprintf(stderr, "ipcrace: watch: symbol name too long\n");
			return -EINVAL;
		}
		s->word.kind = WORD_SYMBOL;
		s->word.off = off;
		memcpy(s->word.symbol, path, strlen(path) + 1);
	} else {
		s->word.kind = WORD_FILE;
		s->word.off = off;
		snprintf(s->word.path, sizeof(s->word.path), "%s", path);
	}
	w->watched_words++;
	return 0;
}

/* NAME=1 (documented in ipcrace help); unset, "" or "0" keep the feature on. */
static bool env_disables(const char *name)
{
	const char *v = getenv(name);

	return v && v[0] && strcmp(v, "0");
}

struct watcher *watcher__new(struct ipcrace_bpf *skel, const struct watch_opts *opts)
{
	struct watcher *w;
	struct timespec ts;
	bool files = false, symbols = false;
	int err = -ENOMEM;

	w = calloc(1, sizeof(*w));
	if (!w) {
		errno = ENOMEM;
		return NULL;
	}
	w->skel = skel;
	w->opts = *opts;
	w->warm_fd = -1;
	w->cands = candidates__new();
	/*
	 * Attached, a quarter of the bytes diffed a tick: a service runs long
	 * enough to find its busy words anyway, and the diff is memory-bound
	 * (PostgreSQL's shared buffers: the differ and its candidate lookups
	 * were 40% of ipcrace's CPU under pgbench).
	 */
	w->snaps = snapshots__new(SNAP_PER_OBJECT / (opts->attached ? SNAP_ATTACHED_DIV : 1),
				  SNAP_TOTAL / (opts->attached ? SNAP_ATTACHED_DIV : 1));
	if (!env_disables(PRIV_DISABLE_ENV)) {
		w->priv = private_snapshots__new(PRIV_TICK_BYTES /
						 (opts->attached ? SNAP_ATTACHED_DIV : 1),
						 PRIV_KEPT, PRIV_REGION_MAX);
		if (!w->priv)
			goto err_free;
	}
	w->insns = insn_classifier__new();
	w->pm = procmaps__new();
	if (!w->cands || !w->snaps || !w->insns || !w->pm)
		goto err_free;
	if (opts->nr_specs > WATCH_SLOTS) {
		fprintf(stderr, "ipcrace: watch: at most %d --watch (one debug register each)\n",
			WATCH_SLOTS);
		err = -EINVAL;
		goto err_free;
	}
	for (size_t i = 0; i < opts->nr_specs; i++) {
		err = add_named(w, i, opts->specs[i]);
		if (err)
			goto err_free;
		files |= w->slots[i].word.kind == WORD_FILE;
		symbols |= w->slots[i].word.kind == WORD_SYMBOL;
	}
	if (opts->seed_set) {
		w->seed = opts->seed;
	} else {
		clock_gettime(CLOCK_REALTIME, &ts);
		w->seed = ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	}
	watch_rng__seed(&w->rng, w->seed);
	watch_rng__seed(&w->guess_rng, w->seed ^ GUESS_SEED_SALT);
	if (opts->verbose)
		fprintf(stderr, "ipcrace: watch: seed %llu\n", (unsigned long long)w->seed);
	w->guessing = watch_guess_limit(w) > 0 && !env_disables(GUESS_DISABLE_ENV);
	/*
	 * The first per-task perf event of the system makes the kernel wait
	 * for an RCU grace period (perf_sched_events, 10-20 ms here), and the
	 * next first one after they are all closed again: taken now, with a
	 * parked breakpoint on ourselves kept open, not while a target is
	 * stopped for arming.
	 */
	{
		struct perf_event_attr a;

		watch_attr_init(&a);
		a.disabled = 1;
		a.inherit = 0;
		a.inherit_thread = 0;
		w->warm_fd = watch_perf_event_open(&a, 0);
	}
	/*
	 * Named words may be written right after their mapping appears or
	 * the program starts, and so may the words guessed there (a short
	 * program is over before a snapshot learns anything): stop the
	 * process there until it is armed. A new process is stopped while a
	 * slot holds a word it can reach (watch_update_fork_stop).
	 */
	w->stop_on_map = files;
	w->stop_on_exec = symbols;
	w->named_fork_stop = files || symbols;
	w->stop_id = stops__add_handler(opts->stops, 1u << ARM_MAP | 1u << ARM_EXEC |
					1u << ARM_FORK, on_stop, w);
	if (w->stop_id < 0) {
		err = w->stop_id;
		goto err_free;
	}
	watch_update_fork_stop(w);
	watch_update_stops(w);
	/* a budget spends traps and armed switches at this machine's prices */
	w->cost.budgeted = opts->trap_rate || opts->overhead_pct;
	if (w->cost.budgeted && !opts->disabled) {
		watch_cost_calibrate(w);
		w->cost.self_start_ns = watch_cost_self_ns();
	}
	/* for a hit at an address with no watch_info (not armed by us) */
	skel->data->watch_hit_budget = ROTATE_BUDGET;
	return w;

err_free:
	watcher__free(w);
	errno = -err;
	return NULL;
}

void watcher__free(struct watcher *w)
{
	if (!w)
		return;
	if (w->skel) {
		if (w->opts.verbose)
			fprintf(stderr, "ipcrace: watch: %llu hits trapped past a budget (not recorded)\n",
				(unsigned long long)w->skel->bss->watch_over_budget);
		/* sampling is never silent: said whenever the budget held the rotation back */
		if (w->rate_waits || w->opts.verbose) {
			struct trace_watch_stats st;

			watcher__stats(w, &st);
			fprintf(stderr, "ipcrace: watch: %s%llu traps, %llu context switches x slots "
				"armed%s", w->rate_waits ? "sampled: " : "",
				(unsigned long long)st.traps, (unsigned long long)st.slot_switches,
				w->cost.budgeted ? "" : " (not metered)\n");
			if (w->cost.budgeted)
				fprintf(stderr, ", about %.1f ms of the traced processes' time "
					"(%.1f ms of CPU metered, ipcrace %.1f ms); the budget "
					"(--watch-rate %u, --overhead %u%%) held the rotation in %llu of "
					"%llu ticks (%.0f%%)\n", st.cost_ns / 1e6, st.traced_ns / 1e6,
					st.self_ns / 1e6, st.watch_rate, st.overhead_pct,
					(unsigned long long)st.held_ticks, (unsigned long long)st.ticks,
					st.ticks ? 100.0 * st.held_ticks / st.ticks : 0.0);
		}
		if (w->opts.verbose)
			fprintf(stderr, "ipcrace: watch: %llu hits repeated a spin's last recorded "
				"one (not recorded)\n",
				(unsigned long long)w->skel->bss->watch_coalesced);
		/* no new stop for us; what is stopped, stops__finish continues */
		stops__want(w->opts.stops, w->stop_id, 0);
		w->closing = true;
		w->guessing = false;
	}
	while (w->procs) {
		struct wproc *p = w->procs;

		w->procs = p->next;
		watch_free_proc(w, p);
	}
	for (size_t i = 0; i < w->nr_obj_paths; i++)
		free(w->obj_paths[i].path);
	if (w->warm_fd >= 0)
		close(w->warm_fd);
	candidates__free(w->cands);
	snapshots__free(w->snaps);
	private_snapshots__free(w->priv);
	insn_classifier__free(w->insns);
	procmaps__free(w->pm);
	free(w);
}

void watcher__adopt(struct watcher *w, __u32 pid)
{
	struct wproc *p;

	if (!w || w->opts.disabled)
		return;
	p = watch_get_proc(w, pid);
	if (p)
		p->dirty = true;
}

void watcher__on_event(struct watcher *w, const struct ipcrace_event *e)
{
	struct wproc *p;

	if (!w || w->opts.disabled)
		return;
	switch (e->type) {
	case EV_LOCK_ATTEMPT:
	case EV_LOCK_ACQUIRED:
	case EV_LOCK_RELEASE:
	case EV_LOCK_DESTROY:
	case EV_FUTEX_WAKE:
	case EV_FUTEX_WAIT_RET:
	case EV_SYNC_OBJECT:
	case EV_BARRIER_ARRIVE:
	case EV_BARRIER_DEPART:
	case EV_ONCE_ENTER:
	case EV_ONCE_RET:
		watch_learn_lock(w, e);
		break;
	case EV_FORK:
		p = watch_get_proc(w, e->arg0);
		if (p)
			p->dirty = true;
		break;
	case EV_THREAD_SPAWN:
		p = watch_get_proc(w, e->pid);
		if (p && !p->threaded) {
			p->threaded = true;
			p->dirty = true;
		}
		/* a second thread that can touch a guess: its window opens */
		for (int k = 0; p && k < WATCH_SLOTS; k++)
			if (w->slots[k].guess && !w->slots[k].window_ns && p->slots[k].addr)
				w->slots[k].window_ns = mono_ns();
		break;
	case EV_EXEC:
		watch_forget_private(w, e->pid);
		p = watch_get_proc(w, e->pid);
		if (p) {
			watch_close_slots(w, p);
			p->synced = false;	/* its maps are the old image's until read */
			free(p->exe);		/* another program: read again when needed */
			p->exe = NULL;
			p->threaded = false;	/* exec leaves one thread */
			p->dirty = true;
		}
		break;
	case EV_MMAP:
	case EV_MUNMAP:
	case EV_MREMAP:
	case EV_SHMAT:
	case EV_SHMDT:
		p = watch_get_proc(w, e->pid);
		if (p)
			p->dirty = true;
		break;
	case EV_EXIT:
		if (e->flags & EVF_GROUP_DEAD) {
			watch_forget_private(w, e->pid);
			watch_drop_proc(w, e->pid);
		}
		break;
	default:
		break;
	}
}

void watcher__promote(struct watcher *w, const struct ipcrace_key *word)
{
	if (w)
		candidates__promote(w->cands, word, 8);
}

void watcher__annotate(struct watcher *w, struct ipcrace_event *e)
{
	struct wproc *p;
	__u32 flags = 0;
	__u64 at;

	if (!w || e->type != EV_MEM_ACCESS)
		return;
	/* an access probe decoded its own operand; a watchpoint hit is decoded here */
	p = e->flags & EVF_PROBE ? NULL : watch_find_proc(w, e->pid);
	/* the last byte of the accessing instruction is just before ip */
	at = e->arg0 - 1;
	for (size_t i = 0; p && i < p->nr_maps; i++) {
		const struct pmap *m = &p->maps[i];

		if (at < m->start || at >= m->end || m->path[0] != '/')
			continue;
		if (!insn_classifier__classify(w->insns, m->path, m->pgoff + (e->arg0 - m->start),
					       &flags)) {
			e->flags &= ~(EVF_READ | EVF_WRITE | EVF_ATOMIC);
			e->flags |= flags;
		}
		break;
	}
	/* not decodable and no value compared: taken as a read, never a write invented */
	if (!(e->flags & (EVF_READ | EVF_WRITE)))
		e->flags |= EVF_READ;
	if (e->flags & EVF_ATOMIC) {
		watch_learn_atomic(w, e);
		return;
	}
	/* who writes a shared word: two processes make it the best word to learn */
	if ((e->flags & EVF_WRITE) && e->key.space == KEY_FILE)
		candidates__note_write(w->cands, &e->key, e->pid);
	for (int k = 0; k < WATCH_SLOTS; k++) {
		struct slot *s = &w->slots[k];

		if (!s->guess || !key_eq(&s->key, &e->key))
			continue;
		s->written |= !!(e->flags & EVF_WRITE);
		if (!s->first_tid)
			s->first_tid = e->tid;
		else if (s->first_tid != e->tid)
			s->shared = true;
	}
}

void watcher__check_caps(struct watcher *w)
{
	__u64 capped;

	if (!w || w->opts.disabled)
		return;
	/* BPF counts the words that reached their budget in mapped .bss: no syscall */
	capped = __atomic_load_n(&w->skel->bss->watch_capped, __ATOMIC_RELAXED);
	if (capped == w->capped_seen)
		return;
	w->capped_seen = capped;
	watch_park_capped(w);
}

void watcher__tick(struct watcher *w, __u64 now_ns)
{
	if (!w || w->opts.disabled)
		return;
	/* a cap reached on a hit not recorded wakes us with no record in between */
	watcher__check_caps(w);
	watch_check_guesses(w, mono_ns());
	for (struct wproc *p = w->procs; p; p = p->next)
		if (p->dirty)
			watch_sync_proc(w, p);
	if (now_ns - w->last_tick_ns < TICK_NS)
		return;
	w->last_tick_ns = now_ns;
	w->tick++;
	if (w->priv && w->tick % PRIV_RESYNC_TICKS == 0)
		for (struct wproc *p = w->procs; p; p = p->next)
			if (p->threaded)
				watch_sync_proc(w, p);
	snapshots__diff(w->snaps, w->cands);
	if (w->priv)
		private_snapshots__diff(w->priv, w->cands);
	watch_schedule_tick(w);
}

bool watcher__stats(const struct watcher *w, struct trace_watch_stats *st)
{
	if (!w || w->opts.disabled)
		return false;
	watch_cost_stats(w, st);
	return true;
}

__u64 watcher__watched_words(const struct watcher *w)
{
	return w ? w->watched_words : 0;
}

__u64 watcher__seed(const struct watcher *w)
{
	return w ? w->seed : 0;
}
