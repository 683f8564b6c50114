/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * How many bytes a lock object spans in memory, by kind: the one table the
 * analyzer (hb.c: accesses inside a lock are the lock library's own) and
 * the tracer (watch.c: such words are not worth a debug register) share.
 */
#ifndef IPCRACE_LOCK_EXTENT_H
#define IPCRACE_LOCK_EXTENT_H

#include <linux/types.h>
#include "../bpf/events.h"

/*
 * glibc on x86-64: sizeof pthread_mutex_t, pthread_rwlock_t,
 * pthread_spinlock_t, sem_t, pthread_cond_t, pthread_barrier_t,
 * pthread_once_t. 0 for objects that are not words in memory
 * (file locks, SysV semaphores, channels).
 */
__u64 lock_extent__size(__u16 obj);

#endif /* IPCRACE_LOCK_EXTENT_H */
