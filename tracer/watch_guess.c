// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The watcher's guesses: words armed before any snapshot saw them
 * change (the first words of a new shared mapping, a new executable's
 * globals), given back when no two threads touch them
 * (watch_int.h).
 */
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include "exe_globals.h"
#include "procmaps.h"
#include "watch_int.h"

int watch_guess_limit(const struct watcher *w)
{
	int rotating = WATCH_SLOTS - (int)w->opts.nr_specs;
	int limit = rotating - ROTATION_SLOTS_MIN;

	return limit < GUESS_SLOTS_MAX ? (limit > 0 ? limit : 0) : GUESS_SLOTS_MAX;
}

/*
 * The slot a new guess takes: a free one while guesses hold fewer than
 * their limit, else the rotating slot that has held its word longest;
 * at the limit, the oldest guess (a newer mapping or program is the more
 * likely to be written now). -1 when guesses have no slot.
 */
static int guess_slot(const struct watcher *w)
{
	int nr_guess = 0, oldest_guess = -1, free_slot = -1, oldest = -1;

	for (int k = 0; k < WATCH_SLOTS; k++) {
		const struct slot *s = &w->slots[k];

		if (s->named)
			continue;
		if (s->word.kind == WORD_NONE) {
			if (free_slot < 0)
				free_slot = k;
		} else if (s->guess) {
			nr_guess++;
			if (oldest_guess < 0 || s->seq < w->slots[oldest_guess].seq)
				oldest_guess = k;
		} else if (oldest < 0 || s->seq < w->slots[oldest].seq) {
			oldest = k;
		}
	}
	if (nr_guess >= watch_guess_limit(w))
		return oldest_guess;
	return free_slot >= 0 ? free_slot : oldest;
}

static bool slot_holds(const struct watcher *w, const struct ipcrace_key *key)
{
	for (int k = 0; k < WATCH_SLOTS; k++)
		if (w->slots[k].word.kind != WORD_NONE && key_eq(&w->slots[k].key, key))
			return true;
	return false;
}

/*
 * Arms key, guessed in process p, in a slot of its own. False when it
 * cannot (a lock word, no slot).
 */
static bool arm_guess(struct watcher *w, struct wproc *p, const struct ipcrace_key *key)
{
	int k, i;

	if (slot_holds(w, key))
		return true;	/* watched already: nothing to do, counted as done */
	k = guess_slot(w);
	if (k < 0)
		return false;
	i = candidates__guess(w->cands, key, 8);
	if (i < 0)
		return false;
	watch_assign_slot(w, k, i, p->pid);
	/* with threads already there, the window is open at once */
	if (p->threaded || p->nr_threads > 1)
		w->slots[k].window_ns = mono_ns();
	return true;
}

/*
 * A shared writable mapping appeared at addr in p: its first words are
 * the likeliest to be written by the processes it is shared with (a
 * counter, a header, a flag), before a snapshot could see them change.
 * Lock words (known from earlier lock events) are skipped.
 */
static void guess_mapping(struct watcher *w, struct wproc *p, __u64 addr)
{
	const struct pmap *m = NULL;
	int armed = 0, max = watch_guess_limit(w);

	if (max > GUESS_MAP_WORDS)
		max = GUESS_MAP_WORDS;

	for (size_t i = 0; i < p->nr_maps && !m; i++)
		if (addr >= p->maps[i].start && addr < p->maps[i].end)
			m = &p->maps[i];
	if (!m || !(m->flags & MAPF_SHARED) || !(m->prot & PROT_WRITE) || !m->ino)
		return;
	/* (the maps may show it merged with a mapping of the same file before it) */
	addr &= ~7ULL;
	/* not far: a mapping whose first words are all locks is a lock table */
	for (__u64 off = 0; addr + off + 8 <= m->end && armed < max && off < 64 * 8; off += 8) {
		struct ipcrace_key key = { .space = KEY_FILE, .a = m->dev, .b = m->ino,
					   .c = m->pgoff + (addr - m->start) + off };

		if (candidates__excluded(w->cands, &key))
			continue;
		if (!arm_guess(w, p, &key))
			break;
		armed++;
	}
}

/*
 * p has just exec'd: watch a few of its executable's own globals (chosen
 * by the seed among them), which its threads may share from their first
 * instruction on. New threads inherit the slots.
 */
static void guess_globals(struct watcher *w, struct wproc *p)
{
	char link[64], exe[PATH_MAX];
	struct exe_global *g;
	bool relative = false;
	__u64 base = 0;
	ssize_t len;
	int n, armed = 0, max = watch_guess_limit(w);

	if (max > GUESS_GLOBALS)
		max = GUESS_GLOBALS;

	snprintf(link, sizeof(link), "/proc/%u/exe", p->pid);
	len = readlink(link, exe, sizeof(exe) - 1);
	if (len <= 0)
		return;
	exe[len] = '\0';
	g = malloc(EXE_GLOBALS_MAX * sizeof(*g));
	if (!g)
		return;
	/* the link, not the path: it opens the very file, deleted or in a container */
	n = exe_globals__list(link, g, EXE_GLOBALS_MAX, &relative);
	if (n > 0 && relative) {
		base = watch_exe_base(p, exe);
		if (!base)
			n = 0;
	}
	while (n > 0 && armed < max) {
		int i = watch_rng__next(&w->guess_rng) % n;
		__u64 addr = (g[i].vaddr + base) & ~7ULL;
		struct ipcrace_key key = { .space = KEY_PRIVATE, .a = p->pid, .b = addr };

		/* drawn without replacement */
		g[i] = g[--n];
		if (candidates__excluded(w->cands, &key) || slot_holds(w, &key))
			continue;
		if (arm_guess(w, p, &key))
			armed++;
	}
	free(g);
}

void watch_guess_after_stop(struct watcher *w, struct wproc *p, const struct arm_stop *st)
{
	if (!w->guessing || !p->synced)
		return;
	if (st->reason == ARM_MAP)
		guess_mapping(w, p, st->addr);
	else if (st->reason == ARM_EXEC)
		guess_globals(w, p);
}

void watch_check_guesses(struct watcher *w, __u64 now_ns)
{
	for (int k = 0; k < WATCH_SLOTS; k++) {
		struct slot *s = &w->slots[k];

		if (!s->guess || (s->written && s->shared) || !s->window_ns ||
		    now_ns - s->window_ns < GUESS_WINDOW_NS)
			continue;
		if (w->opts.verbose)
			fprintf(stderr, "ipcrace: watch: slot %d: guess not shared by writers, "
				"moving on\n", k);
		candidates__drop_unchanged(w->cands, &s->key);
		watch_release_slot(w, k);
		watch_rotate_slot(w, k);
	}
}
