// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../reports/symbolize.h"
#include "hang_futex.h"
#include "procfs.h"

#define FUTEX_CMD_MASK 0x7f
#define FUTEX_PRIVATE_FLAG 128
#define FUTEX_WAIT 0
#define FUTEX_LOCK_PI 6
#define FUTEX_WAIT_BITSET 9
#define FUTEX_WAIT_REQUEUE_PI 11
#define FUTEX_LOCK_PI2 13
#define FUTEX_TID_MASK 0x3fffffff
/* glibc's pthread_mutex_t: __lock at 0, __owner (tid) at 8, __kind at 16 */
#define MUTEX_OWNER_OFF 8
#define MUTEX_KIND_OFF 16
#define MUTEX_KIND_MAX 0x3ff	/* type (0..3) and the robust, PI, PP, pshared bits */
/* glibc's rwlock: __cur_writer at 24 from the start; the futex words at 0, 8, 12 */
#define RWLOCK_WRITER_OFF 24
/* glibc's pthread_cond_t: 48 bytes, the futex words (__g_signals) inside */
#define COND_SIZE 48

static bool any_function(const char *const *functions, size_t nr, const char *pattern)
{
	for (size_t i = 0; i < nr; i++)
		if (functions[i] && !fnmatch(pattern, functions[i], 0))
			return true;
	return false;
}

static void owner_target(struct hang_wait *w, __u32 tid)
{
	__u32 pid = hang_wait__tgid_of(tid);

	if (pid)
		hang_wait__add_target(w, pid, tid);
}

/* --- condition variables ------------------------------------------------- */

static bool frame_in_cond_wait(const struct frame *f)
{
	static const char *const pattern = "*pthread_cond_*wait*";

	if (f->function && !fnmatch(pattern, f->function, 0))
		return true;
	for (size_t i = 0; i < f->nr_inlined; i++)
		if (f->inlined[i].function && !fnmatch(pattern, f->inlined[i].function, 0))
			return true;
	return false;
}

/*
 * The condition variable and mutex t's pthread_cond_*wait frame keeps in
 * its registers (hang_cond.h), checked: the futex word waited on is inside
 * the condition variable, the mutex reads as one. 0 or -ENOENT.
 */
static int cond_and_mutex(struct hang_conds *conds, const struct hang_task *t,
			  const struct hang_wait_stack *s, __u64 *cond, __u64 *mutex)
{
	int arg1, arg2;
	__s32 m[MUTEX_KIND_OFF / 4 + 1];

	for (size_t k = 0; k < s->nr_frames && s->regs; k++) {
		const struct frame *f = &s->frames[k];

		if (!frame_in_cond_wait(f))
			continue;
		if (!f->module || hang_conds__arg_regs(conds, t->tgid, f->module, f->offset, k > 0,
						       &arg1, &arg2) ||
		    arg1 == HANG_COND_NO_REG)
			return -ENOENT;
		*cond = s->regs[k][arg1];
		if (t->regs.di < *cond || t->regs.di >= *cond + COND_SIZE)
			return -ENOENT;	/* the register no longer holds it: trust neither */
		*mutex = arg2 == HANG_COND_NO_REG ? 0 : s->regs[k][arg2];
		if (*mutex && (hang_wait__read(t->tgid, *mutex, m, sizeof(m)) ||
			       (__u32)m[MUTEX_KIND_OFF / 4] > MUTEX_KIND_MAX))
			*mutex = 0;
		return 0;
	}
	return -ENOENT;
}

/*
 * A wait on a private futex (FUTEX_PRIVATE_FLAG: a condition variable,
 * semaphore or barrier not shared between processes) can only be ended
 * from its own process: by any other thread of it. Shared: unknown.
 */
static void private_wakers(const struct hang_task *t, const char *relation, struct hang_wait *w)
{
	int *tids = NULL;
	size_t nr = 0;

	if (!(t->regs.si & FUTEX_PRIVATE_FLAG) || procfs__threads(t->tgid, &tids, &nr)) {
		w->unknown = true;	/* whoever wakes it: not recorded anywhere */
		return;
	}
	snprintf(w->relation, sizeof(w->relation), "%s", relation);
	for (size_t i = 0; i < nr; i++)
		if ((__u32)tids[i] != t->tid)
			hang_wait__add_target(w, t->tgid, tids[i]);
	free(tids);
	if (!w->nr_targets)
		w->unknown = true;
}

/*
 * A condition variable's waiter needs a signal, then its mutex. Held by
 * another thread: that thread must release it first, so the wait cannot
 * end before it acts. Free: a private futex (FUTEX_PRIVATE_FLAG) can only
 * be woken from its own process, so any other thread of it can end the
 * wait; a process-shared one from any process mapping it (not known).
 */
static void cond_wait(struct hang_conds *conds, const struct hang_task *t,
		      const struct hang_wait_stack *s, struct hang_wait *w)
{
	__u64 cond = 0, mutex = 0;
	__s32 m[MUTEX_OWNER_OFF / 4 + 1];

	w->kind = HW_COND;
	w->obj = OBJ_COND;
	if (!cond_and_mutex(conds, t, s, &cond, &mutex)) {
		w->addr = cond;
		w->mutex = mutex;
	}
	if (mutex && !hang_wait__read(t->tgid, mutex, m, sizeof(m)) && m[0] &&
	    m[MUTEX_OWNER_OFF / 4] > 0 && (__u32)m[MUTEX_OWNER_OFF / 4] != t->tid &&
	    hang_wait__tgid_of(m[MUTEX_OWNER_OFF / 4])) {
		snprintf(w->relation, sizeof(w->relation), "which is held by");
		owner_target(w, m[MUTEX_OWNER_OFF / 4]);
		return;
	}
	private_wakers(t, "which can be signalled by", w);
}

/* --- the futex word ------------------------------------------------------ */

void hang_futex__classify(struct hang_conds *conds, const struct hang_task *t,
			  const struct hang_wait_stack *s, struct hang_wait *w)
{
	const char *const *functions = s->functions;
	size_t nr = s->nr_functions;
	__u64 uaddr = t->regs.di;
	unsigned int op = t->regs.si & FUTEX_CMD_MASK;
	__s32 word[8] = {};
	bool have = !hang_wait__read(t->tgid, uaddr, word, sizeof(word));

	w->addr = uaddr;
	if (op == FUTEX_LOCK_PI || op == FUTEX_LOCK_PI2) {
		/* a priority-inheritance mutex: the owner's tid is in the word */
		w->kind = HW_MUTEX;
		w->obj = OBJ_MUTEX;
		snprintf(w->relation, sizeof(w->relation), "held by");
		if (have)
			owner_target(w, word[0] & FUTEX_TID_MASK);
		return;
	}
	if (op != FUTEX_WAIT && op != FUTEX_WAIT_BITSET && op != FUTEX_WAIT_REQUEUE_PI) {
		w->kind = HW_FUTEX;
		w->obj = OBJ_FUTEX;
		w->unknown = true;
		return;
	}
	if (any_function(functions, nr, "*mutex*lock*") || any_function(functions, nr, "__lll_lock_wait*") ||
	    (!nr && have && (word[0] == 1 || word[0] == 2) &&
	     hang_wait__tgid_of(word[MUTEX_OWNER_OFF / 4]))) {
		w->kind = HW_MUTEX;
		w->obj = OBJ_MUTEX;
		/* woken from pthread_cond_wait, it takes the mutex back before returning */
		w->cond_reacquire = any_function(functions, nr, "*pthread_cond_*wait*");
		snprintf(w->relation, sizeof(w->relation), "held by");
		if (have && word[MUTEX_OWNER_OFF / 4] > 0)
			owner_target(w, word[MUTEX_OWNER_OFF / 4]);
		return;
	}
	if (any_function(functions, nr, "*rwlock*")) {
		/* the futex is one of the words at 0, 8 or 12 of the rwlock */
		static const int bases[] = { 0, 8, 12 };

		w->kind = HW_RWLOCK;
		w->obj = OBJ_RWLOCK;
		snprintf(w->relation, sizeof(w->relation), "write-locked by");
		for (size_t i = 0; i < 3; i++) {
			__s32 writer;

			if (hang_wait__read(t->tgid, uaddr - bases[i] + RWLOCK_WRITER_OFF, &writer,
					    sizeof(writer)) || writer <= 0 || !hang_wait__tgid_of(writer))
				continue;
			w->addr = uaddr - bases[i];
			owner_target(w, writer);
			return;
		}
		w->unknown = true;	/* held by readers: they are not recorded */
		return;
	}
	if (any_function(functions, nr, "*join*") ||
	    (!nr && have && word[0] > 0 && hang_wait__tgid_of(word[0]) == t->tgid &&
	     (__u32)word[0] != t->tid)) {
		w->kind = HW_JOIN;
		w->obj = OBJ_NONE;
		snprintf(w->relation, sizeof(w->relation), "namely");
		if (have && word[0] > 0)
			owner_target(w, word[0]);
		else
			w->unknown = true;
		return;
	}
	if (any_function(functions, nr, "*cond*wait*")) {
		cond_wait(conds, t, s, w);
		return;
	}
	if (any_function(functions, nr, "*barrier_wait*")) {
		w->kind = HW_BARRIER;
		w->obj = OBJ_NONE;
		private_wakers(t, "which can be completed by", w);
		return;
	}
	if (any_function(functions, nr, "sem_*wait*") || any_function(functions, nr, "*new_sem_wait*")) {
		w->kind = HW_SEM;
		w->obj = OBJ_SEM;
		private_wakers(t, "which can be posted by", w);
		return;
	}
	w->kind = HW_FUTEX;
	w->obj = OBJ_FUTEX;
	w->unknown = true;
}
