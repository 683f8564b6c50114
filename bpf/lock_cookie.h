/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The attach cookie of a probe on a lock or thread function, written by
 * tracer/probes.c and read by bpf/locks.bpf.c (includes nothing, like
 * events.h):
 *
 *   bits  0-15  the object kind (enum ipcrace_obj)
 *   bits 16-47  event flags (EVF_*: trylock, timed, rwlock side, ...)
 *   bit  48     the lock is the call's second argument (pthread_cond_wait)
 *   bit  49     a release whose site is inside the function's retry loop
 *               (sem_post): pending from its first hit to its return
 *   bits 56-63  the function's role (enum lock_role)
 *
 * One program serves the entry of every role and dispatches on the role:
 * the stack capture it calls is verified once, not once per role (each
 * verification of it was 7 ms of every check's start-up).
 */
#ifndef IPCRACE_LOCK_COOKIE_H
#define IPCRACE_LOCK_COOKIE_H

enum lock_role {
	LOCK_ROLE_LOCK,			/* attempt at entry, acquired at return */
	LOCK_ROLE_RELEASE,
	LOCK_ROLE_DESTROY,
	LOCK_ROLE_COND_WAIT,		/* mutex (argument 2) released, then re-acquired */
	LOCK_ROLE_THREAD_CREATE,
	LOCK_ROLE_THREAD_JOIN,
	LOCK_ROLE_SYNC_OBJECT,		/* names a sync object (EV_SYNC_OBJECT), at entry */
	LOCK_ROLE_BARRIER,		/* arrival at entry, departure at return */
	LOCK_ROLE_ONCE,			/* pthread_once: entry and return */
	LOCK_ROLE_GUARD_ACQUIRE,	/* __cxa_guard_acquire: its return */
	LOCK_ROLE_GUARD_RELEASE,	/* __cxa_guard_release: at entry */
};

#define LOCK_COOKIE_ARG2 (1ULL << 48)
#define LOCK_COOKIE_PENDING_RELEASE (1ULL << 49)
#define LOCK_COOKIE_ROLE_SHIFT 56

static inline __u64 lock_cookie(__u16 obj, __u32 flags, enum lock_role role)
{
	return obj | (__u64)flags << 16 | (__u64)role << LOCK_COOKIE_ROLE_SHIFT;
}

static inline __u16 lock_cookie_obj(__u64 c) { return c & 0xffff; }
static inline __u32 lock_cookie_flags(__u64 c) { return (c >> 16) & 0xffffffff; }
static inline enum lock_role lock_cookie_role(__u64 c)
{
	return (enum lock_role)(c >> LOCK_COOKIE_ROLE_SHIFT);
}

#endif /* IPCRACE_LOCK_COOKIE_H */
