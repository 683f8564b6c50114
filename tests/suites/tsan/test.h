/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * ipcrace's stand-in for the "test.h" that ThreadSanitizer's own tests
 * include (tests/suites/run_tsan_suite.sh builds them with it, with gcc
 * and with clang -fsanitize=thread alike). Same names, own code:
 *
 * - barrier_init / barrier_wait on an invisible_barrier_t, and a default
 *   instance `barrier`: a spinning barrier made of relaxed atomics only,
 *   so it holds threads back in time without ordering anything (C11
 *   relaxed: no happens-before, for TSan as for ipcrace, which reads the
 *   order spelled on the line of each atomic);
 * - monotonic_clock_ns, kPCInc, ASM_SYMBOL, print_address.
 *
 * The TSan-only interfaces (__tsan_*, Annotate*) are not provided: the
 * harness skips the tests that use them.
 */
#ifndef IPCRACE_TSAN_SUITE_TEST_H
#define IPCRACE_TSAN_SUITE_TEST_H

#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <unistd.h>
#include <dlfcn.h>
#include <stddef.h>
#include <sched.h>
#include <stdarg.h>
#include <time.h>

/* Low 16 bits: participants; above them: arrivals so far (all rounds). */
typedef unsigned long long invisible_barrier_t;

#define IPCRACE_BARRIER_SHIFT 16

static inline unsigned long long ipcrace_barrier_round(unsigned long long v)
{
	return (v >> IPCRACE_BARRIER_SHIFT) / (v & 0xffff);
}

static inline void barrier_init(invisible_barrier_t *b, unsigned count)
{
	__atomic_store_n(b, (unsigned long long)count, __ATOMIC_RELAXED);
}

static inline void barrier_wait(invisible_barrier_t *b)
{
	unsigned long long mine = __atomic_fetch_add(b, 1ull << IPCRACE_BARRIER_SHIFT, __ATOMIC_RELAXED);

	while (ipcrace_barrier_round(__atomic_load_n(b, __ATOMIC_RELAXED)) == ipcrace_barrier_round(mine))
		usleep(100);
}

#ifdef __cplusplus
#define IPCRACE_WEAK_INSTANCE __attribute__((weak))
#else
#define IPCRACE_WEAK_INSTANCE
#endif
IPCRACE_WEAK_INSTANCE invisible_barrier_t barrier;

static inline unsigned long long monotonic_clock_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (unsigned long long)t.tv_sec * 1000000000ull + (unsigned long long)t.tv_nsec;
}

static const int kPCInc = 1;

#define ASM_SYMBOL(symbol) #symbol

/* str, then n pointers in hex, on stderr. */
static inline void print_address(const char *str, int n, ...)
{
	va_list ap;

	fputs(str, stderr);
	va_start(ap, n);
	while (n-- > 0)
		fprintf(stderr, "0x%016lx ", (unsigned long)va_arg(ap, void *));
	va_end(ap);
	fputc('\n', stderr);
}

#endif /* IPCRACE_TSAN_SUITE_TEST_H */
