// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The watcher's slot schedule: which word each of the 4 slots holds,
 * rotation, parking at the budget, synchronization words (lock objects,
 * words atomics touch) kept out for good, and what must be stopped for it
 * (watch_int.h).
 */
#include "../analyzer/lock_extent.h"
#include "../bpf/watch_maps.h"
#include "ipcrace.skel.h"
#include "watch_int.h"

void watch_update_stops(struct watcher *w)
{
	__u32 on = 0;

	if (w->closing)
		return;		/* the last arming may not turn stops on again */
	if (w->stop_on_map)
		on |= STOP_ON_SHARED_MAP;
	if (w->guessing)
		on |= STOP_ON_SHARED_WRITE;
	if (w->stop_on_exec || w->guessing)
		on |= STOP_ON_EXEC;
	if (w->stop_on_fork)
		on |= STOP_ON_FORK;
	stops__want(w->opts.stops, w->stop_id, on);
}

struct busy_keys {
	struct ipcrace_key keys[BUSY_MAX];
	size_t nr;
};

static void add_busy(struct watcher *w, const struct ipcrace_key *key, void *ctx)
{
	struct busy_keys *b = ctx;

	(void)w;
	if (b->nr < BUSY_MAX)
		b->keys[b->nr++] = *key;
}

void watch_update_fork_stop(struct watcher *w)
{
	bool stop = w->named_fork_stop;

	if (w->closing)
		return;		/* the last arming may not turn stops on again */
	for (int k = 0; k < WATCH_SLOTS && !stop; k++)
		stop = w->slots[k].word.kind == WORD_FILE || w->slots[k].word.kind == WORD_SYMBOL;
	if (stop != w->stop_on_fork) {
		w->stop_on_fork = stop;
		watch_update_stops(w);
	}
}

void watch_assign_slot(struct watcher *w, int k, int i, __u32 guess_pid)
{
	bool guess = guess_pid != 0;
	const struct candidate *c = candidates__get(w->cands, i);
	struct word *wd = &w->slots[k].word;

	watch_for_each_key(w, k, watch_reset_one, NULL);
	memset(wd, 0, sizeof(*wd));
	wd->len = c->len;
	if (c->key.space == KEY_PRIVATE) {
		wd->kind = WORD_PRIVATE;
		wd->pid = c->key.a;
		wd->addr = c->key.b;
	} else {
		wd->kind = WORD_FILE;
		wd->dev = c->key.a;
		wd->ino = c->key.b;
		wd->off = c->key.c;
		wd->resolved = true;
	}
	w->slots[k].key = c->key;
	w->slots[k].since_tick = w->tick;
	w->slots[k].throttled = false;
	w->slots[k].guess = guess;
	w->slots[k].written = false;
	w->slots[k].shared = false;
	w->slots[k].first_tid = 0;
	w->slots[k].guess_pid = guess_pid;
	w->slots[k].window_ns = 0;
	w->slots[k].seq = ++w->seq;
	if (c->picks == 1)
		w->watched_words++;
	if (w->opts.verbose && wd->kind == WORD_PRIVATE)
		fprintf(stderr, "ipcrace: watch: slot %d -> pid %u address 0x%llx%s\n", k, wd->pid,
			(unsigned long long)wd->addr, guess ? " (guess)" : "");
	else if (w->opts.verbose)
		fprintf(stderr, "ipcrace: watch: slot %d -> object %llx:%llu offset 0x%llx%s\n", k,
			(unsigned long long)c->key.a, (unsigned long long)c->key.b,
			(unsigned long long)c->key.c, guess ? " (guess)" : "");
	watch_apply_everywhere(w, k);
	watch_update_fork_stop(w);
}

bool watch_rotate_slot(struct watcher *w, int k)
{
	struct busy_keys busy = { .nr = 0 };
	int i;

	/* every word a slot holds, slot k's own too: it moves on */
	for (int j = 0; j < WATCH_SLOTS; j++)
		watch_for_each_key(w, j, add_busy, &busy);
	i = candidates__pick(w->cands, &w->rng, busy.keys, busy.nr);
	if (i < 0)
		return false;
	watch_assign_slot(w, k, i, 0);
	return true;
}

void watch_release_slot(struct watcher *w, int k)
{
	struct slot *s = &w->slots[k];

	watch_for_each_key(w, k, watch_reset_one, NULL);
	memset(&s->word, 0, sizeof(s->word));
	s->throttled = false;
	s->guess = false;
	s->written = false;
	s->shared = false;
	s->first_tid = 0;
	s->guess_pid = 0;
	s->window_ns = 0;
	watch_apply_everywhere(w, k);		/* parks the slot wherever it was armed */
	watch_update_fork_stop(w);
}

void watch_forget_private(struct watcher *w, __u32 pid)
{
	struct wproc *p = watch_find_proc(w, pid);

	if (p)
		watch_harvest_private(w, p);
	for (int k = 0; k < WATCH_SLOTS; k++) {
		struct slot *s = &w->slots[k];

		if (s->named || s->word.kind != WORD_PRIVATE || s->word.pid != pid)
			continue;
		watch_release_slot(w, k);
	}
	candidates__forget_pid(w->cands, pid);
	if (w->priv)
		private_snapshots__drop(w->priv, pid);
}

/*
 * Excludes the size bytes of obj from the rotation for good (never
 * candidates again, slots holding them move on): words that are
 * synchronization, never data. False when they were already.
 */
static bool exclude_sync(struct watcher *w, const struct ipcrace_event *e, __u64 size,
			 struct ipcrace_key *obj)
{
	*obj = e->key;
	if (obj->space == KEY_NONE) {
		/* unresolved: the analyzer takes (pid, address) too */
		if (!e->addr)
			return false;
		*obj = (struct ipcrace_key){ .space = KEY_PRIVATE, .a = e->pid, .b = e->addr };
	}
	if (!candidates__exclude(w->cands, obj, size))
		return false;
	for (int k = 0; k < WATCH_SLOTS; k++) {
		struct slot *s = &w->slots[k];

		if (s->named || (s->word.kind != WORD_FILE && s->word.kind != WORD_PRIVATE) ||
		    !candidates__excluded(w->cands, &s->key))
			continue;
		if (w->opts.verbose)
			fprintf(stderr, "ipcrace: watch: slot %d: a lock word, moving on\n", k);
		watch_release_slot(w, k);
	}
	return true;
}

void watch_learn_lock(struct watcher *w, const struct ipcrace_event *e)
{
	__u64 size = lock_extent__size(e->obj);
	struct ipcrace_key obj;

	if (size)
		exclude_sync(w, e, size, &obj);
}

/*
 * A word an atomic (LOCK-prefixed, XCHG) touched: a hand-made lock's
 * word, a flag, a counter. Every access to it is synchronization for the
 * analyzer (hb.h), never in a report, so a debug register on it is
 * wasted (nginx's lock word took 18,000 traps a run): it leaves the
 * rotation for good, and -v names it (the first LOCK_LIKE_NAMED words).
 */
#define LOCK_LIKE_NAMED 32

void watch_learn_atomic(struct watcher *w, const struct ipcrace_event *e)
{
	struct ipcrace_key obj;
	char name[PATH_MAX + 32];
	struct wproc *p;
	const char *path;

	if (!exclude_sync(w, e, e->arg1 ? e->arg1 : 8, &obj))
		return;
	w->lock_like_words++;
	if (!w->opts.verbose || w->lock_like_words > LOCK_LIKE_NAMED)
		return;
	name[0] = '\0';
	if (obj.space == KEY_FILE) {
		path = watch_object_path(w, obj.a, obj.b);
		if (path)
			snprintf(name, sizeof(name), "%s+0x%llx ", path, (unsigned long long)obj.c);
		fprintf(stderr, "ipcrace: watch: lock-like word %s(object %llx:%llu offset 0x%llx): "
			"atomic accesses, out of the rotation\n", name, (unsigned long long)obj.a,
			(unsigned long long)obj.b, (unsigned long long)obj.c);
		return;
	}
	p = watch_find_proc(w, obj.a);
	if (p && !p->exe)
		p->exe = watch_exe_path(p->pid);	/* kept only with --learn otherwise */
	if (p && !p->nr_maps)
		watch_read_maps(w, p);		/* before its first tick */
	if (p && watch_private_word_spec(p, obj.b, name, sizeof(name) - 1))
		strcat(name, " ");
	else
		name[0] = '\0';
	fprintf(stderr, "ipcrace: watch: lock-like word %s(pid %llu address 0x%llx): atomic "
		"accesses, out of the rotation\n", name, (unsigned long long)obj.a,
		(unsigned long long)obj.b);
}

void watch_park_capped(struct watcher *w)
{
	for (int k = 0; k < WATCH_SLOTS; k++) {
		struct slot *s = &w->slots[k];
		struct word_count sum = {};

		if (s->word.kind == WORD_NONE || s->throttled)
			continue;
		watch_for_each_key(w, k, watch_sum_counts, &sum);
		/* BPF decides: a budget spent by two threads, or a lone thread's trap cap */
		if (!sum.capped)
			continue;
		s->throttled = true;
		watch_apply_everywhere(w, k);
		if (w->opts.verbose)
			fprintf(stderr, "ipcrace: watch: slot %d parked after %llu hits, %u from "
				"other threads than the first\n", k, (unsigned long long)sum.hits,
				sum.others);
	}
}

/*
 * The budget is overspent by more than a second's worth (a hot word's
 * traps, or armed slots in threads that switch often): every rotating
 * slot is parked now, not at its next move, and waits for the budget.
 */
static void park_rotating(struct watcher *w)
{
	for (int k = 0; k < WATCH_SLOTS; k++) {
		struct slot *s = &w->slots[k];

		if (s->named || s->word.kind == WORD_NONE || s->throttled)
			continue;
		s->throttled = true;
		watch_apply_everywhere(w, k);
	}
}

void watch_schedule_tick(struct watcher *w)
{
	int budget = watch_cost_tick(w);
	bool may_move = budget > 0, waited = false;

	if (budget < 0)
		park_rotating(w);

	for (int k = 0; k < WATCH_SLOTS; k++) {
		struct slot *s = &w->slots[k];
		__u64 hits = 0;

		if (s->word.kind != WORD_NONE)
			watch_for_each_key(w, k, watch_sum_hits, &hits);
		if (s->named) {
			/* never rotated out; rate-capped per window */
			if (w->tick - s->since_tick >= NAMED_WINDOW_TICKS) {
				s->since_tick = w->tick;
				watch_for_each_key(w, k, watch_reset_one, NULL);
				if (s->throttled) {
					s->throttled = false;
					watch_apply_everywhere(w, k);
				}
			} else if (!s->throttled && hits >= NAMED_BUDGET) {
				s->throttled = true;
				watch_apply_everywhere(w, k);
			}
			continue;
		}
		if (s->word.kind != WORD_NONE && hits < ROTATE_BUDGET &&
		    w->tick - s->since_tick < HOLD_TICKS)
			continue;
		/*
		 * A running service's hot words spend a budget in milliseconds:
		 * re-arming every slot in every process at every tick would cost
		 * more than the watching (nginx: 110 moves a second, 0.43 of a
		 * core for ipcrace alone). Parked at its budget, a slot waits.
		 */
		if (w->opts.attached && s->word.kind != WORD_NONE &&
		    w->tick - s->since_tick < ATTACHED_DWELL_TICKS)
			continue;
		/*
		 * The budget is spent: the slot waits for it parked, its word
		 * watched long enough (armed, it would cost every context
		 * switch of the threads it is armed in).
		 */
		if (!may_move && s->word.kind != WORD_NONE) {
			if (!s->throttled) {
				s->throttled = true;
				watch_apply_everywhere(w, k);
			}
			w->rate_waits++;
			waited = true;
			continue;
		}
		if (watch_rotate_slot(w, k) || s->word.kind == WORD_NONE)
			continue;
		/* nothing else to watch: keep the word, within the same rate cap */
		if (w->tick - s->since_tick >= HOLD_TICKS) {
			s->since_tick = w->tick;
			watch_for_each_key(w, k, watch_reset_one, NULL);
			if (s->throttled) {
				s->throttled = false;
				watch_apply_everywhere(w, k);
			}
		} else if (!s->throttled) {
			s->throttled = true;
			watch_apply_everywhere(w, k);
		}
	}
	w->rate_ticks += waited;
}
