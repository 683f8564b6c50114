// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * What lockstate knows of a lock's history (lockstate.h): events lost
 * (lockstate__forget), sampling gaps of a process (lockstate__forget_process), threads whose birth the trace did not see (attach
 * mode), and the exclusive acquisitions that make a lock's state known
 * again after either. lockstate.c replays the events with them.
 */
#include <errno.h>
#include <stdlib.h>
#include "array.h"
#include "identity.h"
#include "lockstate_internal.h"

/* One increment makes every known_since entry stale at once; 0 is "never". */
static void epoch_advance(struct lockstate *ls)
{
	if (!++ls->epoch)
		ls->epoch = 1;
}

void lockstate__forget(struct lockstate *ls)
{
	struct lock_thread *t;
	size_t i, j;

	/*
	 * Not dropped: a gate lock held across the loss still protects the
	 * edges taken after it, and without it a cycle would look ungated.
	 */
	for (i = 0; i < ls->nr_threads; i++) {
		t = &ls->threads[i];
		for (j = 0; j < t->nr_held; j++)
			t->held[j].maybe_released = true;
		t->pending = false;
		t->gates_unknown = true;
	}
	if (!++ls->losses)
		ls->losses = 1;
	epoch_advance(ls);
}

bool lock_gap_open(const struct lockstate *ls, __u32 pid)
{
	for (size_t i = 0; i < ls->nr_open_gaps; i++)
		if (ls->open_gaps[i] == pid)
			return true;
	return false;
}

/* Opens pid's gap (begin) or closes it (end, exit). 0 or -ENOMEM. */
static int gap_mark(struct lockstate *ls, __u32 pid, bool open)
{
	size_t i;

	for (i = 0; i < ls->nr_open_gaps && ls->open_gaps[i] != pid; i++)
		;
	if (!open) {
		if (i < ls->nr_open_gaps)
			ls->open_gaps[i] = ls->open_gaps[--ls->nr_open_gaps];
		return 0;
	}
	if (i < ls->nr_open_gaps)
		return 0;
	if (array__reserve(&ls->open_gaps, &ls->cap_open_gaps, ls->nr_open_gaps + 1,
			   sizeof(*ls->open_gaps)))
		return -ENOMEM;
	ls->open_gaps[ls->nr_open_gaps++] = pid;
	return 0;
}

int lockstate__gap(struct lockstate *ls, const struct ipcrace_event *e)
{
	__u32 pid = e->pid;
	struct ipcrace_key k = { .space = KEY_NONE, .a = pid };
	struct lock_thread *t;
	size_t i, j;

	if (e->type == EV_EXIT)
		return gap_mark(ls, pid, false);
	if (gap_mark(ls, pid, e->arg0 == LOCK_GAP_BEGIN))
		return -ENOMEM;

	if (!ls->gap_pids)
		ls->gap_pids = keymap__new();
	if (!ls->gap_pids || keymap__set(ls->gap_pids, &k, 1))
		return -ENOMEM;

	for (i = 0; i < ls->nr_threads; i++) {
		t = &ls->threads[i];
		if (t->pid != pid)
			continue;
		for (j = 0; j < t->nr_held; j++)
			t->held[j].maybe_released = true;
		t->pending = false;
		t->gates_unknown = true;
		/*
		 * It may be blocked in a lock call whose entry was unseen: its
		 * return is an acquisition never seen, as for a thread that was
		 * in one when attach mode's probes came (open_call_took).
		 */
		t->call_open = true;
		keymap__free(t->tried);
		t->tried = NULL;
	}
	/* any lock may have passed through the gap: known again only when taken exclusively */
	ls->gaps = true;
	epoch_advance(ls);
	return 0;
}

bool lock_thread_after_gap(const struct lockstate *ls, __u32 pid)
{
	struct ipcrace_key k = { .space = KEY_NONE, .a = pid };
	__u64 one;

	return ls->gap_pids && keymap__get(ls->gap_pids, &k, &one);
}

/*
 * Thread t took lock key exclusively: nobody else holds it now, so its
 * state is known again after a loss, but for the recursion levels t itself
 * may have taken before the loss (a recursive mutex). Once another thread
 * takes it too, t's hidden levels are proven gone.
 */
int lock_known_take(struct lockstate *ls, const struct lock_thread *t,
			   const struct ipcrace_key *key)
{
	__u64 v;

	if (!ls->losses && !ls->start_unknown && !ls->gaps)
		return 0;
	if (keymap__get(ls->known_since, key, &v) && KNOWN_LOSSES(v) == ls->epoch) {
		if (KNOWN_TID1(v) == t->tid + 1 || !KNOWN_TID1(v))
			return 0;
		return keymap__set(ls->known_since, key, KNOWN(ls->epoch, 0));
	}
	return keymap__set(ls->known_since, key, KNOWN(ls->epoch, t->tid + 1));
}

/*
 * May thread t, which does not hold lock key, be releasing a hold we did
 * not see? Never without losses. After one: yes until an exclusive
 * acquisition since the last loss (a shared, read, acquisition says nothing
 * of the other readers); after it, only its acquirer, on a recursive mutex.
 */
bool lock_hold_maybe_lost(const struct lockstate *ls, const struct lock_thread *t,
				 const struct ipcrace_event *e, const struct ipcrace_key *key)
{
	__u64 v;

	if (!ls->losses && !ls->start_unknown && !ls->gaps)
		return false;
	if (!keymap__get(ls->known_since, key, &v) || KNOWN_LOSSES(v) != ls->epoch)
		return true;
	return KNOWN_TID1(v) == t->tid + 1 && e->obj == OBJ_MUTEX &&
	       mutex_is_recursive(e->arg0);
}

/*
 * Did the lock call t was blocked in when the recording began (attach mode)
 * return with lock key, unseen? Not if t has tried that lock since: that
 * call had returned by then, and trying a lock it held would have
 * deadlocked (or, a try, failed).
 */
bool open_call_took(const struct lock_thread *t, const struct ipcrace_key *key)
{
	__u64 v;

	return t->call_open && !(t->tried && keymap__get(t->tried, key, &v));
}

/* Its first stray release: the lock call open at the start is accounted for. */
void open_call_close(struct lock_thread *t)
{
	t->call_open = false;
	keymap__free(t->tried);
	t->tried = NULL;
}

/*
 * The first lock event of a thread whose birth the trace did not see
 * (attach mode): it may hold, and release, locks taken before the
 * recording. For releases the start of the trace then counts as a loss:
 * a release by a thread not holding the lock is no finding until an
 * exclusive acquisition has made that lock's state known
 * (lock_hold_maybe_lost) since its process's start, which in attach mode
 * may come after other processes' (each is probed in turn: a lock another
 * process took before then may be one this thread holds from before its
 * probes). Lock order is left alone: an edge it adds was
 * observed, and only a lock it took before the recording could have been
 * a gate, as after any loss a thread's first edges can be.
 */
/* Has another thread of t's process had its first lock event? */
static bool process_judged(const struct lockstate *ls, const struct lock_thread *t)
{
	for (size_t i = 0; i < ls->nr_threads; i++)
		if (&ls->threads[i] != t && ls->threads[i].pid == t->pid &&
		    ls->threads[i].history_judged)
			return true;
	return false;
}

void judge_history(struct lockstate *ls, struct lock_thread *t)
{
	t->history_judged = true;
	if (!t->history_known) {
		t->call_open = true;
		ls->start_unknown = true;
		/* a process's threads are probed at once: its first one starts it */
		if (!process_judged(ls, t))
			epoch_advance(ls);
	}
}
