// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The cost of one observed atomic operation, by kind, on a word of a
 * MAP_SHARED mapping (a shared word: ipcrace records its atomics):
 *   xadd  lock xadd (a counter: __atomic_fetch_add)
 *   cas   lock cmpxchg and the jump after it (a compare-and-swap loop,
 *         nginx's and PostgreSQL's lock shape)
 *   xchg  xchg with memory (no LOCK prefix: the kernel probes it itself)
 *   spin  a test-and-set spinlock pair: xchg to take it, a plain release
 *         store to give it back, one plain increment of a counter under it
 * Each kind runs N times in one thread; prints ns per operation in CPU time
 * of the thread (user and kernel: the traps are kernel time), so other load
 * on the machine does not count. Natively each costs a few ns.
 *
 *   atomic_loop N
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>

struct shared {
	long counter;
	long word;
	int flag;
	long guarded;
};

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static __attribute__((noinline)) void op_xadd(struct shared *s)
{
	__atomic_fetch_add(&s->counter, 1, __ATOMIC_SEQ_CST);
}

static __attribute__((noinline)) void op_cas(struct shared *s)
{
	long old = __atomic_load_n(&s->word, __ATOMIC_RELAXED);

	while (!__atomic_compare_exchange_n(&s->word, &old, old + 1, 0, __ATOMIC_ACQ_REL,
					    __ATOMIC_RELAXED))
		;
}

static __attribute__((noinline)) void op_xchg(struct shared *s, long i)
{
	__atomic_exchange_n(&s->word, i, __ATOMIC_ACQ_REL);
}

static __attribute__((noinline)) void op_spin(struct shared *s)
{
	while (__atomic_exchange_n(&s->flag, 1, __ATOMIC_ACQUIRE))
		;
	s->guarded++;
	__atomic_store_n(&s->flag, 0, __ATOMIC_RELEASE);
}

int main(int argc, char **argv)
{
	long n = argc == 2 ? atol(argv[1]) : 0;
	struct shared *s;
	double t0, xadd, cas, xchg, spin;

	if (n <= 0) {
		fprintf(stderr, "usage: atomic_loop N (N > 0)\n");
		return 2;
	}
	s = mmap(NULL, sizeof(*s), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (s == MAP_FAILED) {
		perror("atomic_loop: mmap");
		return 1;
	}
	t0 = now_ns();
	for (long i = 0; i < n; i++)
		op_xadd(s);
	xadd = (now_ns() - t0) / n;
	t0 = now_ns();
	for (long i = 0; i < n; i++)
		op_cas(s);
	cas = (now_ns() - t0) / n;
	t0 = now_ns();
	for (long i = 0; i < n; i++)
		op_xchg(s, i);
	xchg = (now_ns() - t0) / n;
	t0 = now_ns();
	for (long i = 0; i < n; i++)
		op_spin(s);
	spin = (now_ns() - t0) / n;
	printf("ns_xadd=%.1f ns_cas=%.1f ns_xchg=%.1f ns_spin=%.1f\n", xadd, cas, xchg, spin);
	return s->counter != n || s->guarded != n;
}
