/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What a thread blocked in futex(2) waits on, for `ipcrace hang`: the
 * glibc object around the futex word (mutex, rwlock, condition variable
 * and its mutex, thread join, semaphore, barrier), told apart by the
 * functions on its stack or, with none, by the word itself, and who can
 * end the wait (a mutex's owner, the writer of an rwlock, ...).
 */
#ifndef IPCRACE_HANG_FUTEX_H
#define IPCRACE_HANG_FUTEX_H

#include "hang_cond.h"
#include "hang_wait.h"

/* t is in futex(2): fills w (memset by the caller). conds: the run's decoded functions. */
void hang_futex__classify(struct hang_conds *conds, const struct hang_task *t,
			  const struct hang_wait_stack *stack, struct hang_wait *w);

#endif /* IPCRACE_HANG_FUTEX_H */
