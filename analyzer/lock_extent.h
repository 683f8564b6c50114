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
 * (file locks, SysV semaphores, channels). Inline: the analyzer asks for
 * most events.
 */
static inline __u64 lock_extent__size(__u16 obj)
{
	switch ((enum ipcrace_obj_kind)obj) {
	case OBJ_MUTEX:
		return 40;
	case OBJ_RWLOCK:
		return 56;
	case OBJ_SPIN:
		return 4;
	case OBJ_SEM:
		return 32;
	case OBJ_FUTEX:
		/* a futex word is synchronization, whoever built the lock on it */
		return 4;
	case OBJ_COND:
		return 48;
	case OBJ_BARRIER:
		return 32;
	case OBJ_ONCE:
		return 4;
	case OBJ_NONE:
	case OBJ_SYSV_SEM:
	case OBJ_FLOCK:
	case OBJ_FCNTL_LOCK:
	case OBJ_PIPE:
	case OBJ_FIFO:
	case OBJ_SOCKET:
	case OBJ_MQ:
	case OBJ_SYSV_MSG:
	case OBJ_EVENTFD:
	case OBJ_MEMORY:
	/*
	 * A guard's first byte is loaded by the compiler's inline fast path:
	 * an acquire the race detector must see (hb.h), not a word to skip.
	 */
	case OBJ_GUARD:
	case OBJ_SIGNAL:
	case OBJ_KIND_MAX:
		break;
	}
	return 0;
}

#endif /* IPCRACE_LOCK_EXTENT_H */
