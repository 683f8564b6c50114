// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The watch rotation schedule is a pure function of the seed and the
 * candidate list: a run can be repeated with --seed, and another seed
 * explores another order. Shared and private words share the slots.
 * The private memory differ finds changed words within its budgets.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tracer/candidates.h"
#include "tracer/private_snapshots.h"
#include "tracer/snapshots.h"

#define NR_WORDS 32
#define NR_PICKS 40

static struct candidates *make_candidates(void)
{
	struct candidates *cs = candidates__new();

	assert_non_null(cs);
	for (int i = 0; i < NR_WORDS; i++) {
		struct ipcrace_key k = { .space = KEY_FILE, .a = 1, .b = 77, .c = i * 8 };

		/* word i changed i+1 times */
		for (int n = 0; n <= i; n++)
			assert_int_equal(candidates__bump(cs, &k, 8), 0);
	}
	return cs;
}

static void schedule(__u64 seed, int *out)
{
	struct candidates *cs = make_candidates();
	struct watch_rng r;

	watch_rng__seed(&r, seed);
	for (int i = 0; i < NR_PICKS; i++) {
		out[i] = candidates__pick(cs, &r, NULL, 0);
		assert_true(out[i] >= 0 && out[i] < NR_WORDS);
	}
	candidates__free(cs);
}

static void test_same_seed_gives_same_schedule(void **state)
{
	int a[NR_PICKS], b[NR_PICKS];

	(void)state;
	schedule(42, a);
	schedule(42, b);
	assert_memory_equal(a, b, sizeof(a));
}

static void test_other_seed_gives_other_schedule(void **state)
{
	int a[NR_PICKS], b[NR_PICKS];

	(void)state;
	schedule(42, a);
	schedule(43, b);
	assert_memory_not_equal(a, b, sizeof(a));
}

static void test_pick_skips_busy_words(void **state)
{
	struct candidates *cs = candidates__new();
	struct ipcrace_key k0 = { .space = KEY_FILE, .a = 1, .b = 2, .c = 0 };
	struct ipcrace_key k1 = { .space = KEY_FILE, .a = 1, .b = 2, .c = 8 };
	struct watch_rng r;

	(void)state;
	candidates__bump(cs, &k0, 8);
	candidates__bump(cs, &k1, 8);
	watch_rng__seed(&r, 7);
	for (int i = 0; i < 20; i++)
		assert_int_equal(candidates__pick(cs, &r, &k0, 1), 1);
	{
		struct ipcrace_key busy[2] = { k0, k1 };

		assert_int_equal(candidates__pick(cs, &r, busy, 2), -ENOENT);
	}
	candidates__free(cs);
}

static void test_frequent_changes_are_picked_more(void **state)
{
	struct candidates *cs = candidates__new();
	struct ipcrace_key hot = { .space = KEY_FILE, .a = 1, .b = 2, .c = 0 };
	struct ipcrace_key cold = { .space = KEY_FILE, .a = 1, .b = 2, .c = 8 };
	struct watch_rng r;
	int hot_picks = 0;

	(void)state;
	for (int n = 0; n < 100; n++)
		candidates__bump(cs, &hot, 8);
	candidates__bump(cs, &cold, 8);
	watch_rng__seed(&r, 1);
	for (int i = 0; i < 10; i++)
		hot_picks += candidates__pick(cs, &r, NULL, 0) == 0;
	/* weights 1601/(1+picks) against 17: the hot word wins most turns */
	assert_true(hot_picks >= 7);
	candidates__free(cs);
}

static void test_bump_counts_repeats_once(void **state)
{
	struct candidates *cs = candidates__new();
	struct ipcrace_key k = { .space = KEY_FILE, .a = 3, .b = 4, .c = 16 };

	(void)state;
	candidates__bump(cs, &k, 8);
	candidates__bump(cs, &k, 8);
	assert_int_equal(candidates__count(cs), 1);
	assert_int_equal(candidates__get(cs, 0)->changes, 2);
	candidates__free(cs);
}

static struct ipcrace_key private_key(__u32 pid, __u64 addr)
{
	return (struct ipcrace_key){ .space = KEY_PRIVATE, .a = pid, .b = addr };
}

static struct ipcrace_key shared_key(__u64 off)
{
	return (struct ipcrace_key){ .space = KEY_FILE, .a = 1, .b = 2, .c = off };
}

static void test_many_hot_private_words_leave_shared_words_half_the_picks(void **state)
{
	struct candidates *cs = candidates__new();
	struct ipcrace_key k = shared_key(0);
	struct watch_rng r;
	int shared = 0;

	(void)state;
	/* one shared word seen changing once, against 100 busy private ones */
	candidates__bump(cs, &k, 8);
	for (int i = 0; i < 100; i++) {
		k = private_key(10, 0x1000 + i * 8);
		for (int n = 0; n < 1000; n++)
			candidates__bump(cs, &k, 8);
	}
	watch_rng__seed(&r, 5);
	for (int i = 0; i < 400; i++)
		shared += candidates__get(cs, candidates__pick(cs, &r, NULL, 0))->key.space == KEY_FILE;
	/* by weight alone it would get about 1 pick in 16000 */
	assert_in_range(shared, 140, 260);
	candidates__free(cs);
}

static void mixed_schedule(__u64 seed, int *out)
{
	struct candidates *cs = make_candidates();
	struct watch_rng r;

	for (int i = 0; i < 8; i++) {
		struct ipcrace_key k = private_key(20 + i % 2, 0x4000 + i * 8);

		for (int n = 0; n <= i; n++)
			candidates__bump(cs, &k, 8);
	}
	watch_rng__seed(&r, seed);
	for (int i = 0; i < NR_PICKS; i++)
		out[i] = candidates__pick(cs, &r, NULL, 0);
	candidates__free(cs);
}

static void test_mixed_schedule_depends_on_seed_only(void **state)
{
	int a[NR_PICKS], b[NR_PICKS], c[NR_PICKS];

	(void)state;
	mixed_schedule(9, a);
	mixed_schedule(9, b);
	mixed_schedule(10, c);
	assert_memory_equal(a, b, sizeof(a));
	assert_memory_not_equal(a, c, sizeof(a));
}

static void test_private_words_fill_at_most_half_the_list(void **state)
{
	struct candidates *cs = candidates__new();
	struct ipcrace_key k;

	(void)state;
	for (int i = 0; i < CANDIDATES_PRIVATE_MAX; i++) {
		k = private_key(7, i * 8);
		assert_int_equal(candidates__bump(cs, &k, 8), 0);
	}
	k = private_key(7, 1 << 30);
	assert_int_equal(candidates__bump(cs, &k, 8), -ENOSPC);
	/* a known private word still counts, and shared words still enter */
	k = private_key(7, 0);
	assert_int_equal(candidates__bump(cs, &k, 8), 0);
	assert_int_equal(candidates__get(cs, 0)->changes, 2);
	k = shared_key(0);
	assert_int_equal(candidates__bump(cs, &k, 8), 0);
	assert_int_equal(candidates__count(cs), CANDIDATES_PRIVATE_MAX + 1);
	candidates__free(cs);
}

static void test_forget_pid_drops_only_that_process_private_words(void **state)
{
	struct candidates *cs = candidates__new();
	struct ipcrace_key a = private_key(30, 0x10), b = private_key(31, 0x10);
	struct ipcrace_key s = shared_key(30);	/* a = 1: not pid 30's */

	(void)state;
	candidates__bump(cs, &a, 8);
	candidates__bump(cs, &s, 8);
	candidates__bump(cs, &b, 8);
	candidates__forget_pid(cs, 30);
	assert_int_equal(candidates__count(cs), 2);
	assert_int_equal(candidates__get(cs, 0)->key.space, KEY_FILE);
	assert_int_equal(candidates__get(cs, 1)->key.a, 31);
	/* the index was rebuilt: known words are found, the forgotten one is new */
	candidates__bump(cs, &b, 8);
	candidates__bump(cs, &s, 8);
	assert_int_equal(candidates__count(cs), 2);
	assert_int_equal(candidates__get(cs, 1)->changes, 2);
	candidates__bump(cs, &a, 8);
	assert_int_equal(candidates__count(cs), 3);
	assert_int_equal(candidates__get(cs, 2)->changes, 1);
	candidates__free(cs);
}

#define RW (PROT_READ | PROT_WRITE)
#define MIB (1ULL << 20)
#define EXE_DEV 0x801
#define EXE_INO 4242

static void test_pick_regions_takes_globals_heap_arenas_not_stacks(void **state)
{
	const struct private_map maps[] = {
		{ 0x10000, 0x11000, EXE_DEV, EXE_INO, PROT_READ, false, "/bin/prog" },
		{ 0x11000, 0x12000, EXE_DEV, EXE_INO, PROT_READ | PROT_EXEC, false, "/bin/prog" },
		{ 0x13000, 0x14000, EXE_DEV, EXE_INO, RW, false, "/bin/prog" },		/* .data */
		{ 0x14000, 0x16000, 0, 0, RW, false, "" },				/* .bss */
		{ 0x20000, 0x41000, 0, 0, RW, false, "[heap]" },
		{ 0x100000, 0x121000, 0, 0, RW, false, "" },				/* arena */
		{ 0x121000, 0x4100000, 0, 0, 0, false, "" },				/* its reserve */
		{ 0x5000000, 0x5001000, 0, 0, 0, false, "" },				/* guard */
		{ 0x5001000, 0x5801000, 0, 0, RW, false, "" },				/* thread stack */
		{ 0x6000000, 0x6010000, 0, 0, RW, true, "" },				/* MAP_SHARED */
		{ 0x7000000, 0x7100000, 0x801, 99, PROT_READ | PROT_EXEC, false, "/lib/libc.so.6" },
		{ 0x7100000, 0x7102000, 0x801, 99, RW, false, "/lib/libc.so.6" },	/* libc .data */
		{ 0x7102000, 0x7104000, 0, 0, RW, false, "" },				/* libc .bss */
		{ 0x7200000, 0x7203000, 0, 0, RW, false, "" },				/* plain anonymous */
		{ 0x7ff000000, 0x7ff021000, 0, 0, RW, false, "[stack]" },
	};
	const struct private_range want[] = {
		{ 0x13000, 0x14000 }, { 0x14000, 0x16000 }, { 0x20000, 0x41000 },
		{ 0x100000, 0x121000 }, { 0x7200000, 0x7203000 },
	};
	struct private_range out[16];
	size_t n;

	(void)state;
	n = private_regions__pick(maps, sizeof(maps) / sizeof(maps[0]), EXE_DEV, EXE_INO, out, 16);
	assert_int_equal(n, sizeof(want) / sizeof(want[0]));
	assert_memory_equal(out, want, sizeof(want));
	/* max bounds the output, the most useful regions first */
	n = private_regions__pick(maps, sizeof(maps) / sizeof(maps[0]), EXE_DEV, EXE_INO, out, 3);
	assert_int_equal(n, 3);
	assert_int_equal(out[2].start, 0x20000);
}

#define PAGE 4096

/* Page-aligned memory of our own to diff (process_vm_readv on ourselves). */
static __u64 *own_pages(size_t pages)
{
	void *p = mmap(NULL, pages * PAGE, RW, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_true(p != MAP_FAILED);
	return p;
}

static bool has_private_word(const struct candidates *cs, const void *addr)
{
	for (size_t i = 0; i < candidates__count(cs); i++) {
		const struct candidate *c = candidates__get(cs, i);

		if (c->key.space == KEY_PRIVATE && c->key.a == (__u32)getpid() &&
		    c->key.b == (__u64)(uintptr_t)addr)
			return true;
	}
	return false;
}

static void set_own(struct private_snapshots *ps, const void *start, size_t pages)
{
	struct private_range r = { (uintptr_t)start, (uintptr_t)start + pages * PAGE };

	assert_int_equal(private_snapshots__set(ps, getpid(), &r, 1), 0);
}

static void test_private_diff_reports_changed_word_at_its_address(void **state)
{
	struct private_snapshots *ps = private_snapshots__new(MIB, 16 * MIB, 8 * MIB);
	struct candidates *cs = candidates__new();
	__u64 *mem = own_pages(4);

	(void)state;
	mem[600] = 1;
	set_own(ps, mem, 4);
	/* the first read is the baseline: nothing changed yet */
	assert_int_equal(private_snapshots__diff(ps, cs), 0);
	assert_int_equal(private_snapshots__diff(ps, cs), 0);
	mem[600] = 2;
	mem[1000] = 3;
	assert_int_equal(private_snapshots__diff(ps, cs), 2);
	assert_true(has_private_word(cs, &mem[600]));
	assert_true(has_private_word(cs, &mem[1000]));
	assert_int_equal(candidates__get(cs, 0)->len, 8);
	/* unchanged since: nothing new */
	assert_int_equal(private_snapshots__diff(ps, cs), 0);
	munmap(mem, 4 * PAGE);
	candidates__free(cs);
	private_snapshots__free(ps);
}

static void test_private_diff_reads_at_most_tick_bytes_and_goes_round(void **state)
{
	struct private_snapshots *ps = private_snapshots__new(4 * PAGE, 16 * MIB, 8 * MIB);
	struct candidates *cs = candidates__new();
	__u64 *mem = own_pages(16);
	const size_t per_page = PAGE / 8;

	(void)state;
	set_own(ps, mem, 16);
	for (int t = 0; t < 4; t++)		/* 4 ticks of 4 pages: baseline */
		private_snapshots__diff(ps, cs);
	mem[0] = 1;
	mem[15 * per_page] = 1;
	/* the next tick reads pages 0-3 only */
	assert_int_equal(private_snapshots__diff(ps, cs), 1);
	assert_true(has_private_word(cs, &mem[0]));
	assert_false(has_private_word(cs, &mem[15 * per_page]));
	private_snapshots__diff(ps, cs);
	private_snapshots__diff(ps, cs);
	assert_int_equal(private_snapshots__diff(ps, cs), 1);	/* pages 12-15 */
	assert_true(has_private_word(cs, &mem[15 * per_page]));
	munmap(mem, 16 * PAGE);
	candidates__free(cs);
	private_snapshots__free(ps);
}

static void test_private_copies_stay_within_kept_bytes_in_priority_order(void **state)
{
	struct private_snapshots *ps = private_snapshots__new(MIB, 8 * PAGE, 8 * MIB);
	struct candidates *cs = candidates__new();
	__u64 *a = own_pages(6), *b = own_pages(6);
	struct private_range r[2] = {
		{ (uintptr_t)a, (uintptr_t)a + 6 * PAGE },
		{ (uintptr_t)b, (uintptr_t)b + 6 * PAGE },
	};

	(void)state;
	assert_int_equal(private_snapshots__set(ps, getpid(), r, 2), 0);
	assert_int_equal(private_snapshots__kept(ps), 8 * PAGE);
	private_snapshots__diff(ps, cs);
	a[5 * PAGE / 8] = 1;	/* the first region is kept whole */
	b[1 * PAGE / 8] = 1;	/* the second for 2 pages */
	b[2 * PAGE / 8] = 1;	/* ... so not this one */
	assert_int_equal(private_snapshots__diff(ps, cs), 2);
	assert_false(has_private_word(cs, &b[2 * PAGE / 8]));
	/* another process's regions get what is left: nothing */
	assert_int_equal(private_snapshots__set(ps, getpid() + 1, r, 1), 0);
	assert_int_equal(private_snapshots__kept(ps), 8 * PAGE);
	private_snapshots__drop(ps, getpid());
	assert_int_equal(private_snapshots__kept(ps), 0);
	assert_false(private_snapshots__has(ps, getpid()));
	munmap(a, 6 * PAGE);
	munmap(b, 6 * PAGE);
	candidates__free(cs);
	private_snapshots__free(ps);
}

static void test_private_copy_survives_new_region_list(void **state)
{
	struct private_snapshots *ps = private_snapshots__new(MIB, 16 * MIB, 8 * MIB);
	struct candidates *cs = candidates__new();
	__u64 *a = own_pages(2), *b = own_pages(2);
	struct private_range r[2] = {
		{ (uintptr_t)b, (uintptr_t)b + 2 * PAGE },
		{ (uintptr_t)a, (uintptr_t)a + 2 * PAGE },
	};

	(void)state;
	set_own(ps, a, 2);
	private_snapshots__diff(ps, cs);
	a[3] = 7;
	/* a new mapping appeared: a keeps its copy, so the change shows at once */
	assert_int_equal(private_snapshots__set(ps, getpid(), r, 2), 0);
	assert_int_equal(private_snapshots__diff(ps, cs), 1);
	assert_true(has_private_word(cs, &a[3]));
	munmap(a, 2 * PAGE);
	munmap(b, 2 * PAGE);
	candidates__free(cs);
	private_snapshots__free(ps);
}

static void test_private_diff_skips_unreadable_page(void **state)
{
	struct private_snapshots *ps = private_snapshots__new(MIB, 16 * MIB, 8 * MIB);
	struct candidates *cs = candidates__new();
	__u64 *mem = own_pages(4);
	const size_t per_page = PAGE / 8;

	(void)state;
	set_own(ps, mem, 4);
	private_snapshots__diff(ps, cs);
	/* as if page 1 were unmapped since the maps were read */
	assert_int_equal(mprotect((char *)mem + PAGE, PAGE, PROT_NONE), 0);
	mem[0] = 1;
	mem[2 * per_page] = 1;
	mem[3 * per_page + 5] = 1;
	assert_int_equal(private_snapshots__diff(ps, cs), 3);
	munmap(mem, 4 * PAGE);
	candidates__free(cs);
	private_snapshots__free(ps);
}

static void test_small_first_region_is_diffed_every_tick(void **state)
{
	/* 16 pages a tick, 4 of them for the regions read every time */
	struct private_snapshots *ps = private_snapshots__new(16 * PAGE, 16 * MIB, 8 * MIB);
	struct candidates *cs = candidates__new();
	__u64 *globals = own_pages(2), *buffer = own_pages(64);
	struct private_range r[2] = {
		{ (uintptr_t)globals, (uintptr_t)globals + 2 * PAGE },
		{ (uintptr_t)buffer, (uintptr_t)buffer + 64 * PAGE },
	};

	(void)state;
	assert_int_equal(private_snapshots__set(ps, getpid(), r, 2), 0);
	for (int t = 0; t < 5; t++)	/* the buffer takes 5 ticks to go round */
		private_snapshots__diff(ps, cs);
	for (int t = 1; t <= 4; t++) {
		globals[1] = t;
		buffer[60 * PAGE / 8] = t;
		private_snapshots__diff(ps, cs);
	}
	/* the global was counted at each change, the buffer word at most once */
	assert_int_equal(candidates__count(cs), 2);
	assert_int_equal(candidates__get(cs, 0)->key.b, (uintptr_t)&globals[1]);
	assert_int_equal(candidates__get(cs, 0)->changes, 4);
	assert_int_equal(candidates__get(cs, 1)->changes, 1);
	munmap(globals, 2 * PAGE);
	munmap(buffer, 64 * PAGE);
	candidates__free(cs);
	private_snapshots__free(ps);
}

static void test_private_word_changing_often_outweighs_many_changed_once(void **state)
{
	struct candidates *cs = candidates__new();
	struct ipcrace_key k = private_key(40, 0x10);
	struct watch_rng r;
	int counter = 0;

	(void)state;
	for (int n = 0; n < 80; n++)	/* a counter, changed at every diff */
		candidates__bump(cs, &k, 8);
	for (int i = 0; i < 2000; i++) {	/* a buffer, filled once */
		k = private_key(40, 0x100000 + i * 8);
		candidates__bump(cs, &k, 8);
	}
	watch_rng__seed(&r, 3);
	for (int i = 0; i < 16; i++)
		counter += candidates__pick(cs, &r, NULL, 0) == 0;
	/* linear weights would give it 1281 against 34000: about 1 pick in 27 */
	assert_true(counter >= 4);
	candidates__free(cs);
}

static struct ipcrace_key file_key(__u64 off)
{
	return (struct ipcrace_key){ .space = KEY_FILE, .a = 1, .b = 9, .c = off };
}

static void test_lock_object_words_leave_and_never_return(void **state)
{
	struct candidates *cs = candidates__new();
	struct ipcrace_key mutex = file_key(0), counter = file_key(0x40), k;
	struct watch_rng r;

	(void)state;
	/* a mutex at +0 (40 bytes: words 0x0..0x20) changes more than the counter */
	for (int n = 0; n < 50; n++)
		for (__u64 off = 0; off < 40; off += 8) {
			k = file_key(off);
			candidates__bump(cs, &k, 8);
		}
	candidates__bump(cs, &counter, 8);
	assert_int_equal(candidates__count(cs), 6);
	assert_true(candidates__exclude(cs, &mutex, 40));
	assert_int_equal(candidates__count(cs), 1);
	assert_int_equal(candidates__get(cs, 0)->key.c, 0x40);
	/* changes seen later are ignored; the object is known: nothing new */
	k = file_key(0x10);
	candidates__bump(cs, &k, 8);
	assert_int_equal(candidates__count(cs), 1);
	assert_false(candidates__exclude(cs, &mutex, 40));
	assert_true(candidates__excluded(cs, &k));
	assert_false(candidates__excluded(cs, &counter));
	watch_rng__seed(&r, 5);
	for (int i = 0; i < 8; i++)
		assert_int_equal(candidates__pick(cs, &r, NULL, 0), 0);
	candidates__free(cs);
}

static void test_guess_weighs_less_than_a_word_seen_changing(void **state)
{
	struct ipcrace_key seen = file_key(0x40), guessed = file_key(0x0);
	int seen_first = 0;

	(void)state;
	/* over many seeds, the first pick prefers the word a snapshot saw change once */
	for (__u64 seed = 1; seed <= 200; seed++) {
		struct candidates *cs = candidates__new();
		struct watch_rng r;

		assert_int_equal(candidates__guess(cs, &guessed, 8), 0);
		assert_int_equal(candidates__bump(cs, &seen, 8), 0);
		watch_rng__seed(&r, seed);
		seen_first += candidates__pick(cs, &r, NULL, 0) == 1;
		candidates__free(cs);
	}
	assert_true(seen_first >= 170);
}

static void test_guess_counts_a_pick_and_no_change(void **state)
{
	struct candidates *cs = candidates__new();
	struct ipcrace_key k = file_key(0x8);

	(void)state;
	assert_int_equal(candidates__guess(cs, &k, 8), 0);
	assert_int_equal(candidates__get(cs, 0)->changes, 0);
	assert_int_equal(candidates__get(cs, 0)->picks, 1);
	/* a word already known is found, not added again */
	candidates__bump(cs, &k, 8);
	assert_int_equal(candidates__guess(cs, &k, 8), 0);
	assert_int_equal(candidates__count(cs), 1);
	assert_int_equal(candidates__get(cs, 0)->changes, 1);
	assert_int_equal(candidates__get(cs, 0)->picks, 2);
	candidates__free(cs);
}

static void test_guess_of_a_lock_word_is_refused(void **state)
{
	struct candidates *cs = candidates__new();
	struct ipcrace_key mutex = file_key(0x8), inside = file_key(0x10);

	(void)state;
	assert_true(candidates__exclude(cs, &mutex, 40));
	assert_int_equal(candidates__guess(cs, &inside, 8), -EPERM);
	assert_int_equal(candidates__count(cs), 0);
	candidates__free(cs);
}

static void test_lost_guess_leaves_unless_seen_changing(void **state)
{
	struct candidates *cs = candidates__new();
	struct ipcrace_key flag = file_key(0x0), counter = file_key(0x8);

	(void)state;
	candidates__guess(cs, &flag, 8);
	candidates__guess(cs, &counter, 8);
	candidates__bump(cs, &counter, 8);
	candidates__drop_unchanged(cs, &counter);
	assert_int_equal(candidates__count(cs), 2);
	candidates__drop_unchanged(cs, &flag);
	assert_int_equal(candidates__count(cs), 1);
	assert_int_equal(candidates__get(cs, 0)->key.c, 0x8);
	/* it comes back once a snapshot sees it change */
	candidates__bump(cs, &flag, 8);
	assert_int_equal(candidates__count(cs), 2);
	candidates__free(cs);
}

static void test_unaligned_lock_object_excludes_the_word_it_ends_in(void **state)
{
	struct candidates *cs = candidates__new();
	/* a 4-byte spinlock at 0x44 and a 32-byte sem_t at 0x104 */
	struct ipcrace_key spin = file_key(0x44), sem = file_key(0x104), k;

	(void)state;
	assert_true(candidates__exclude(cs, &spin, 4));
	assert_true(candidates__exclude(cs, &sem, 32));
	k = file_key(0x40);
	assert_true(candidates__excluded(cs, &k));
	k = file_key(0x48);
	assert_false(candidates__excluded(cs, &k));
	k = file_key(0x120);	/* holds the sem's last 4 bytes */
	assert_true(candidates__excluded(cs, &k));
	k = file_key(0x128);
	assert_false(candidates__excluded(cs, &k));
	k = file_key(0xf8);
	assert_false(candidates__excluded(cs, &k));
	candidates__free(cs);
}

static void test_private_lock_objects_go_with_their_process(void **state)
{
	struct candidates *cs = candidates__new();
	struct ipcrace_key lock = private_key(40, 0x1000), word = private_key(40, 0x1008);

	(void)state;
	assert_true(candidates__exclude(cs, &lock, 40));
	candidates__bump(cs, &word, 8);
	assert_int_equal(candidates__count(cs), 0);
	/* a later process with that pid has its own memory */
	candidates__forget_pid(cs, 40);
	candidates__bump(cs, &word, 8);
	assert_int_equal(candidates__count(cs), 1);
	candidates__free(cs);
}

static void test_many_lock_objects_grow_the_excluded_set(void **state)
{
	struct candidates *cs = candidates__new();
	struct ipcrace_key k;

	(void)state;
	for (__u64 i = 0; i < 3000; i++) {
		k = file_key(i * 64);
		assert_true(candidates__exclude(cs, &k, 40));
	}
	for (__u64 i = 0; i < 3000; i++) {
		k = file_key(i * 64 + 0x20);
		assert_true(candidates__excluded(cs, &k));
		k = file_key(i * 64 + 0x28);
		assert_false(candidates__excluded(cs, &k));
	}
	candidates__free(cs);
}

static void test_rank_puts_words_two_processes_wrote_first(void **state)
{
	struct candidates *cs = candidates__new();
	struct ipcrace_key busy = file_key(0x8), shared = file_key(0x10), other = file_key(0x18);
	size_t idx[8], n;

	(void)state;
	for (int i = 0; i < 10; i++)
		candidates__bump(cs, &busy, 8);
	candidates__bump(cs, &shared, 8);
	candidates__bump(cs, &other, 8);
	candidates__bump(cs, &other, 8);
	candidates__note_write(cs, &busy, 100);
	candidates__note_write(cs, &busy, 100);
	candidates__note_write(cs, &shared, 100);
	candidates__note_write(cs, &shared, 101);
	n = candidates__rank(cs, KEY_FILE, 0, idx);
	assert_int_equal(n, 3);
	assert_int_equal(candidates__get(cs, idx[0])->key.c, 0x10);	/* two writers */
	assert_int_equal(candidates__get(cs, idx[1])->key.c, 0x8);	/* 10 changes */
	assert_int_equal(candidates__get(cs, idx[2])->key.c, 0x18);	/* 2 changes */
	candidates__free(cs);
}

static void test_note_write_adds_a_word_never_seen_changing(void **state)
{
	struct candidates *cs = candidates__new();
	struct ipcrace_key k = file_key(0x24);	/* a 4-byte watch: its 8-byte word */

	(void)state;
	candidates__note_write(cs, &k, 7);
	assert_int_equal(candidates__count(cs), 1);
	assert_int_equal(candidates__get(cs, 0)->key.c, 0x20);
	assert_int_equal(candidates__get(cs, 0)->changes, 0);
	assert_int_equal(candidates__get(cs, 0)->writer, 7);
	assert_false(candidates__get(cs, 0)->multi_writer);
	candidates__free(cs);
}

/*
 * The shared object differ: words changed since the last look, wherever
 * they are in a run of compared words (first, last, both ends of the
 * object), within its per-object budget, its cursor going round.
 */
static void test_shared_differ_finds_changed_words_within_its_budget(void **state)
{
	enum { OBJ = 3 * 4096 };
	static const size_t changed_at[] = { 0, 8, 248, 256, 4096 - 8, OBJ - 8 };
	struct snapshots *ss = snapshots__new(2 * 4096, 1u << 20);
	struct candidates *cs = candidates__new();
	int fd = memfd_create("differ", 0);
	__u64 *mem;

	(void)state;
	assert_non_null(ss);
	assert_non_null(cs);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, OBJ), 0);
	mem = mmap(NULL, OBJ, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(mem != MAP_FAILED);
	assert_int_equal(snapshots__add(ss, 5, 99, 0, OBJ, fd), 0);
	assert_int_equal(snapshots__diff(ss, cs), 0);
	assert_int_equal(snapshots__diff(ss, cs), 0);	/* the whole object seen: nothing changed */
	for (size_t i = 0; i < sizeof(changed_at) / sizeof(changed_at[0]); i++)
		mem[changed_at[i] / 8] = 1 + i;
	/* 2 of its 3 pages a tick: the cursor is at 4096 after two ticks of 8192 */
	assert_int_equal(snapshots__diff(ss, cs), 1);		/* 4096 on: OBJ - 8 */
	assert_int_equal(snapshots__diff(ss, cs), 5);		/* from 0: the others */
	assert_int_equal(snapshots__diff(ss, cs), 0);
	assert_int_equal(candidates__count(cs), 6);
	for (size_t i = 0; i < candidates__count(cs); i++) {
		const struct candidate *c = candidates__get(cs, i);
		bool listed = false;

		assert_int_equal(c->key.space, KEY_FILE);
		assert_int_equal(c->key.a, 5);
		assert_int_equal(c->key.b, 99);
		for (size_t j = 0; j < sizeof(changed_at) / sizeof(changed_at[0]); j++)
			listed |= c->key.c == changed_at[j];
		assert_true(listed);
		assert_int_equal(c->changes, 1);
	}
	munmap(mem, OBJ);
	close(fd);
	snapshots__free(ss);
	candidates__free(cs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_seed_gives_same_schedule),
		cmocka_unit_test(test_other_seed_gives_other_schedule),
		cmocka_unit_test(test_pick_skips_busy_words),
		cmocka_unit_test(test_frequent_changes_are_picked_more),
		cmocka_unit_test(test_bump_counts_repeats_once),
		cmocka_unit_test(test_many_hot_private_words_leave_shared_words_half_the_picks),
		cmocka_unit_test(test_mixed_schedule_depends_on_seed_only),
		cmocka_unit_test(test_private_words_fill_at_most_half_the_list),
		cmocka_unit_test(test_forget_pid_drops_only_that_process_private_words),
		cmocka_unit_test(test_pick_regions_takes_globals_heap_arenas_not_stacks),
		cmocka_unit_test(test_private_diff_reports_changed_word_at_its_address),
		cmocka_unit_test(test_private_diff_reads_at_most_tick_bytes_and_goes_round),
		cmocka_unit_test(test_private_copies_stay_within_kept_bytes_in_priority_order),
		cmocka_unit_test(test_private_copy_survives_new_region_list),
		cmocka_unit_test(test_private_diff_skips_unreadable_page),
		cmocka_unit_test(test_small_first_region_is_diffed_every_tick),
		cmocka_unit_test(test_private_word_changing_often_outweighs_many_changed_once),
		cmocka_unit_test(test_lock_object_words_leave_and_never_return),
		cmocka_unit_test(test_unaligned_lock_object_excludes_the_word_it_ends_in),
		cmocka_unit_test(test_private_lock_objects_go_with_their_process),
		cmocka_unit_test(test_many_lock_objects_grow_the_excluded_set),
		cmocka_unit_test(test_rank_puts_words_two_processes_wrote_first),
		cmocka_unit_test(test_note_write_adds_a_word_never_seen_changing),
		cmocka_unit_test(test_guess_weighs_less_than_a_word_seen_changing),
		cmocka_unit_test(test_guess_counts_a_pick_and_no_change),
		cmocka_unit_test(test_guess_of_a_lock_word_is_refused),
		cmocka_unit_test(test_lost_guess_leaves_unless_seen_changing),
		cmocka_unit_test(test_shared_differ_finds_changed_words_within_its_budget),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
