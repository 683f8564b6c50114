// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The analyzer driver (analyze.h): one pass over the events in stream order.
 * The event-order rule (DESIGN.md) makes stream order consistent with
 * causality, so each detector sees every event exactly once, in order, with
 * its object already normalized. A new detector adds its state to struct
 * detectors and one call in the loop.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "analyze.h"
#include "hb.h"
#include "identity.h"
#include "lock_defer.h"
#include "lockgraph.h"
#include "lockstate.h"
#include "race.h"
#include "syncvis.h"

struct detectors {
	struct identity *identity;
	struct lockgraph *lockgraph;
	struct lockstate *lockstate;
	struct hb *hb;
	struct racedet *racedet;
	struct syncvis *syncvis;
	struct lock_defer *defer;
	struct findings *out;
};

static void detectors__free(struct detectors *d)
{
	lock_defer__free(d->defer);
	syncvis__free(d->syncvis);
	racedet__free(d->racedet);
	hb__free(d->hb);
	lockstate__free(d->lockstate);
	lockgraph__free(d->lockgraph);
	identity__free(d->identity);
}

static int detectors__init(struct detectors *d, const struct trace *t)
{
	d->identity = identity__new(t);
	if (!d->identity)
		return -errno;
	d->lockgraph = lockgraph__new();
	if (!d->lockgraph)
		return -errno;
	d->lockstate = lockstate__new(d->lockgraph);
	if (!d->lockstate)
		return -errno;
	d->hb = hb__new();
	if (!d->hb)
		return -errno;
	d->racedet = racedet__new(d->hb);
	if (!d->racedet)
		return -errno;
	d->syncvis = syncvis__new();
	if (!d->syncvis)
		return -errno;
	d->defer = lock_defer__new();
	if (!d->defer)
		return -errno;
	return 0;
}

/* A memory access, checked with the locks its thread holds at that point. */
static int race_check(struct detectors *d, const struct ipcrace_event *e,
		      struct findings *out)
{
	struct finding_object held[FINDING_MAX_LOCKS];
	size_t nr = lockstate__held(d->lockstate, e->tid, held, FINDING_MAX_LOCKS);

	if (nr > FINDING_MAX_LOCKS)
		nr = FINDING_MAX_LOCKS;
	return racedet__access(d->racedet, e, held, nr, out);
}

/*
 * First pass: which locations are atomic variables (hb.h). Only memory
 * accesses and static-initialization guards can say so: a trace the
 * reader saw none in (a lock-only recording) needs no such pass.
 */
static int note_atomic(void *ctx, const struct ipcrace_event *ev)
{
	struct detectors *d = ctx;
	struct ipcrace_event e;

	if (ev->type != EV_MEM_ACCESS && ev->type != EV_GUARD_RELEASE &&
	    ev->type != EV_GUARD_ACQUIRE_RET)
		return 0;
	e = *ev;
	identity__event_key(d->identity, ev, &e.key);
	return hb__note_atomic(d->hb, &e);
}

/* An acquisition lock_defer made (lock_defer.h): the lock and order detectors. */
static int detect_acquired(struct detectors *d, const struct ipcrace_event *acquired)
{
	int err = lockstate__on_event(d->lockstate, acquired, &acquired->key, d->out);

	return err ? err : hb__event(d->hb, acquired);
}

/*
 * Is e the release of the lock acquisition acquired names, by its thread?
 * Then nothing can see the lock held in between: no release of a lock
 * its thread does not hold, no access (lock_defer__unheld_release and
 * race_check need not look).
 */
static bool released_by(const struct ipcrace_event *acquired, const struct ipcrace_event *e)
{
	return e->type == EV_LOCK_RELEASE && e->tid == acquired->tid && e->pid == acquired->pid &&
	       e->obj == acquired->obj && ipcrace_key__equal(&e->key, &acquired->key);
}

/*
 * Second pass: every detector, in stream order. Inline in the reader's
 * first pass (analyze_stream__event) too: a call less an event.
 */
__attribute__((always_inline)) static inline int detect_event(struct detectors *d,
							       const struct ipcrace_event *ev)
{
	const struct ipcrace_event *e = ev;
	const struct ipcrace_event *made;
	struct ipcrace_event copy, acquired;
	int err;

	/*
	 * Detectors see process-independent keys only: a copy with the
	 * normalized key, unless BPF's is that key already (most events).
	 */
	if (ev->key.space == KEY_NONE || (ev->flags & EVF_KEY_UNRESOLVED) || ev->key.__pad) {
		copy = *ev;
		identity__event_key(d->identity, ev, &copy.key);
		copy.flags &= ~EVF_KEY_UNRESOLVED;
		e = &copy;
	}
	/*
	 * Events were lost just before this one: no finding may rest on
	 * them. The hb needs no reset: a lost event only withholds order.
	 */
	if (e->flags & EVF_AFTER_LOSS) {
		lockstate__forget(d->lockstate);
		racedet__forget(d->racedet);
	}
	/*
	 * A sampling window of a process's lock probes (--overhead): what it
	 * held and was taking is unknown at both edges, and a race across it
	 * is only a candidate (lockstate.h, race.h). An exit ends a gap too.
	 */
	if (e->type == EV_LOCK_GAP) {
		lock_defer__gap(d->defer, e->pid);
		err = lockstate__gap(d->lockstate, e);
		return err ? err : racedet__gap(d->racedet, e);
	}
	if (e->type == EV_EXIT && (e->flags & EVF_GROUP_DEAD)) {
		err = lockstate__gap(d->lockstate, e);
		if (!err)
			err = racedet__gap(d->racedet, e);
		if (err)
			return err;
	}
	/* what each process synchronizes with that ipcrace cannot see (any order) */
	err = syncvis__note(d->syncvis, e);
	/* the tracer's word on a process, a hold: no edge, no thread */
	if (err || e->type == EV_SYNC_UNSEEN || e->type == EV_CONFIRM_HOLD)
		return err;
	/* a lock call without a return probe acquired by this event of its thread */
	made = lock_defer__next(d->defer, e);
	if (made && released_by(made, e)) {
		/* most lock pairs: the lock's release completes its acquisition */
		err = lockstate__on_acquired_release(d->lockstate, made, e, &e->key, d->out);
		if (!err)
			err = hb__event(d->hb, made);
		return err ? err : hb__event(d->hb, e);
	}
	if (made) {
		err = detect_acquired(d, made);
		if (err)
			return err;
	}
	/* a lock released by a thread not holding it: another one's deferred acquisition? */
	if (e->type == EV_LOCK_RELEASE && lock_defer__pending(d->defer) &&
	    lockstate__release_unheld(d->lockstate, e->tid, &e->key) &&
	    lock_defer__unheld_release(d->defer, e, &acquired)) {
		err = detect_acquired(d, &acquired);
		if (err)
			return err;
	}
	err = lockstate__on_event(d->lockstate, e, &e->key, d->out);
	if (!err)
		err = hb__event(d->hb, e);
	if (!err && e->type == EV_MEM_ACCESS)
		err = race_check(d, e, d->out);
	return err;
}

static int detect(void *ctx, const struct ipcrace_event *ev)
{
	return detect_event(ctx, ev);
}

/* Everything after the last event: cycles, deferred findings, live state. */
static int detectors__finish(struct detectors *d, const struct analyze_opts *opts,
			     struct findings *out)
{
	int err;

	/* races of processes whose synchronization ipcrace cannot all see */
	err = syncvis__classify(d->syncvis, d->hb, out);
	if (err)
		return err;
	/* cycles only once every edge is known: a semaphore may turn out to signal */
	err = lockgraph__find_cycles(d->lockgraph, LOCKGRAPH_MAX_CYCLES, out);
	/* deferred findings, and "locks held" lists without signalling semaphores */
	if (!err)
		err = lockstate__finish(d->lockstate, out);
	if (!err && opts && opts->live)
		*opts->live = (struct analyze_live){
			.hb_threads = hb__nr_threads(d->hb),
			.hb_objects = hb__nr_objects(d->hb),
			.lock_threads = lockstate__nr_threads(d->lockstate),
			.locks_held = lockstate__nr_held(d->lockstate),
			.lock_nodes = lockgraph__nr_nodes(d->lockgraph),
			.lock_edges = lockgraph__nr_edges(d->lockgraph),
			.race_words = racedet__nr_words(d->racedet),
		};
	return err;
}

int analyze_trace(const struct trace *t, const struct analyze_opts *opts,
		  struct findings *out)
{
	struct detectors d = { .out = out };
	int err;

	err = detectors__init(&d, t);
	if (err)
		goto out;
	/*
	 * First pass: which locations are atomic variables, so that they are
	 * synchronization from the first event on, not only after the first
	 * atomic access to them (hb.h).
	 */
	if (!t->summarized || t->events_by_type[EV_MEM_ACCESS] ||
	    t->events_by_type[EV_GUARD_RELEASE] || t->events_by_type[EV_GUARD_ACQUIRE_RET])
		err = trace__for_each_event(t, note_atomic, &d);
	if (!err)
		err = trace__for_each_event(t, detect, &d);
	if (!err)
		err = detectors__finish(&d, opts, out);
out:
	detectors__free(&d);
	return err;
}

/* --- in the reader's first pass ----------------------------------------------- */

/*
 * What the first pass does: the detectors' work, or, once an event needs
 * the whole trace, analyze_trace's first pass only (the atomic variables),
 * so that one pass is left for later instead of two; or nothing.
 */
enum stream_mode {
	STREAM_DETECT,
	STREAM_NOTE,
	STREAM_NONE,
};

struct analyze_stream {
	struct detectors d;
	struct findings found;
	enum stream_mode mode;
	__u64 events;			/* handed to it */
};

/* Fresh detectors, as analyze_trace starts with, but for the mappings (none yet). */
static int stream_start(struct analyze_stream *s)
{
	detectors__free(&s->d);
	memset(&s->d, 0, sizeof(s->d));
	findings__clear(&s->found);
	s->d.out = &s->found;
	return detectors__init(&s->d, NULL);
}

struct analyze_stream *analyze_stream__new(void)
{
	struct analyze_stream *s = calloc(1, sizeof(*s));

	if (!s)
		goto err;
	if (stream_start(s))
		goto err_free;
	return s;
err_free:
	analyze_stream__free(s);
err:
	errno = ENOMEM;
	return NULL;
}

void analyze_stream__free(struct analyze_stream *s)
{
	if (!s)
		return;
	detectors__free(&s->d);
	findings__clear(&s->found);
	free(s);
}

/* Gives up: the detectors' memory goes at once, the findings with it. */
static int stream_abandon(struct analyze_stream *s)
{
	s->mode = STREAM_NONE;
	detectors__free(&s->d);
	memset(&s->d, 0, sizeof(s->d));
	findings__clear(&s->found);
	return 1;
}

/*
 * Events whose object no detector looks at (address-space changes, the
 * process lifecycle): their key, resolved or not, changes nothing. A
 * detector that starts using one of these keys must leave this list.
 */
static bool event_key_unused(const struct ipcrace_event *e)
{
	switch ((enum ipcrace_event_type)e->type) {
	case EV_MMAP:
	case EV_MUNMAP:
	case EV_MREMAP:
	case EV_SHMAT:
	case EV_SHMDT:
	case EV_NAME_OBJECT:
	case EV_FORK:
	case EV_THREAD_SPAWN:
	case EV_EXEC:
	case EV_EXIT:
	case EV_THREAD_CREATE_RET:
	case EV_THREAD_JOIN_RET:
	case EV_WAIT_REAPED:
	case EV_SYNC_UNSEEN:
	case EV_LOCK_GAP:
		return true;
	case EV_LOCK_ATTEMPT:
	case EV_LOCK_ACQUIRED:
	case EV_LOCK_RELEASE:
	case EV_LOCK_DESTROY:
	case EV_CHAN_SEND:
	case EV_CHAN_RECV:
	case EV_FUTEX_WAKE:
	case EV_FUTEX_WAIT_RET:
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
	case EV_CONFIRM_HOLD:
	case EV_TYPE_MAX:
		break;
	}
	return false;
}

/* Would the detectors see a key looked up in the mappings? */
static bool event_needs_mappings(const struct ipcrace_event *e)
{
	/* most events: BPF's key (identity__event_needs_mappings, inline) */
	if (e->key.space != KEY_NONE && !(e->flags & EVF_KEY_UNRESOLVED))
		return false;
	return !event_key_unused(e) && identity__event_needs_mappings(e);
}

/* An event hb__note_atomic learns from (an atomic RMW, a guard). */
static bool event_marks_atomics(const struct ipcrace_event *e)
{
	return (e->type == EV_MEM_ACCESS && (e->flags & (EVF_ATOMIC | EVF_ORDERED))) ||
	       e->type == EV_GUARD_RELEASE || e->type == EV_GUARD_ACQUIRE_RET;
}

/*
 * What only the whole trace can say: an atomic variable is one from its
 * first access (note_atomic's pass), and an object named by an address
 * BPF did not resolve is looked up in mapping snapshots, later ones
 * included. Plain memory accesses are detected here as long as no event
 * made a variable atomic: with none in the whole trace, analyze_trace's
 * first pass learns nothing. The first event that does (or that names an
 * address to look up) ends the detection here; the atomic variables are
 * still noted, as analyze_trace's first pass does, from a fresh start
 * (no atomic access came before this event), unless one of them has an
 * address to look up.
 */
int analyze_stream__event(void *ctx, const struct ipcrace_event *ev)
{
	struct analyze_stream *s = ctx;

	if (s->mode == STREAM_DETECT) {
		if (!event_marks_atomics(ev) && !event_needs_mappings(ev)) {
			s->events++;
			/* an error (memory) is the usual passes' to report */
			return detect_event(&s->d, ev) ? stream_abandon(s) : 0;
		}
		s->mode = STREAM_NOTE;
		if (stream_start(s))
			return stream_abandon(s);
	}
	if (s->mode == STREAM_NONE)
		return 1;
	if (event_marks_atomics(ev) && identity__event_needs_mappings(ev))
		return stream_abandon(s);
	if (note_atomic(&s->d, ev))
		return stream_abandon(s);
	s->events++;
	return 0;
}

int analyze_stream__passes_left(const struct analyze_stream *s, const struct trace *t)
{
	if (!s || !t->streamed || s->events != t->event_count)
		return 2;
	if (s->mode == STREAM_DETECT && !t->stack_remap)
		return 0;
	/*
	 * Merged stack snapshots renumber stacks, and the first pass's
	 * findings name the old ids: the detection again, from fresh
	 * detectors (no atomic variable to learn first: none was seen).
	 */
	return s->mode == STREAM_NONE ? 2 : 1;
}

int analyze_stream__finish(struct analyze_stream *s, const struct trace *t,
			   const struct analyze_opts *opts, struct findings *out)
{
	int left = analyze_stream__passes_left(s, t);
	int err = 0;

	if (left == 0) {
		err = detectors__finish(&s->d, opts, &s->found);
	} else if (left == 1) {
		/* the first pass's findings name stacks merged since: start afresh */
		if (s->mode == STREAM_DETECT)
			err = stream_start(s);
		/* analyze_trace's second pass, the mappings known now */
		if (!err) {
			identity__free(s->d.identity);
			s->d.identity = identity__new(t);
			err = s->d.identity ? 0 : -errno;
		}
		if (!err)
			err = trace__for_each_event(t, detect, &s->d);
		if (!err)
			err = detectors__finish(&s->d, opts, &s->found);
	} else {
		return analyze_trace(t, opts, out);
	}
	if (err) {
		findings__clear(&s->found);
		return err;
	}
	findings__clear(out);
	*out = s->found;
	memset(&s->found, 0, sizeof(s->found));
	return 0;
}
