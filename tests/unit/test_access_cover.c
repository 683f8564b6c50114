// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The planner's plain loads that an atomic RMW after them covers
 * (tracer/access_cover.h, access_plan__elide_loads), on instruction bytes:
 * a compare-and-swap loop's load goes unprobed when every run of it goes
 * on to the RMW of the same bytes with nothing recorded between, and
 * stays when a branch, a store, another address or size, an unplanned
 * RMW record or the memory orders (an acquire before a relaxed RMW) say
 * it must.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "tracer/access_plan.h"

#define VADDR 0x1000
#define OFFSET 0x1000

static struct access_plan *plan_code(const __u8 *code, size_t len)
{
	struct access_plan *p = access_plan__new();

	assert_non_null(p);
	assert_int_equal(access_plan__add_code(p, code, len, VADDR, OFFSET, true), 0);
	return p;
}

#define PLAN(...) ({							\
	static const __u8 code_[] = { __VA_ARGS__ };			\
	plan_code(code_, sizeof(code_));				\
})

/* The site at vaddr, or NULL. */
static const struct access_site *site_at(const struct access_plan *p, __u64 vaddr)
{
	for (size_t i = 0; i < access_plan__count(p); i++)
		if (access_plan__site(p, i)->vaddr == vaddr)
			return access_plan__site(p, i);
	return NULL;
}

static size_t site_index(const struct access_plan *p, __u64 vaddr)
{
	for (size_t i = 0; i < access_plan__count(p); i++)
		if (access_plan__site(p, i)->vaddr == vaddr)
			return i;
	fail_msg("no site at %#llx", (unsigned long long)vaddr);
	return 0;
}

/*
 * atomic_loop's op_cas at -O2 (gcc 12):
 *   0: mov rax, [rdi+8]        the load
 *   4: lea rdx, [rdi+8]        the same address, in another register
 *   8: lea rcx, [rax+1]        (the retry's branch target)
 *   c: lock cmpxchg [rdx], rcx
 *  11: jne 8
 *  13: ret
 */
#define CAS_LOOP 0x48, 0x8b, 0x47, 0x08, 0x48, 0x8d, 0x57, 0x08, 0x48, 0x8d, 0x48, 0x01, \
		 0xf0, 0x48, 0x0f, 0xb1, 0x0a, 0x75, 0xf5, 0xc3

static void test_cas_loop_load_is_left_to_the_rmw(void **state)
{
	struct access_plan *p = PLAN(CAS_LOOP);
	const struct access_site *load, *rel, *rec;

	(void)state;
	/* planned: the load, the release before the RMW, the RMW after it ran */
	assert_int_equal(access_plan__count(p), 3);
	load = site_at(p, VADDR);
	assert_non_null(load);
	assert_int_equal(load->rmw_vaddr, VADDR + 0xc);
	assert_int_equal(load->load_op, 0);
	assert_int_equal(access_plan__elide_loads(p), 1);
	assert_int_equal(access_plan__nr_loads_kept(p), 0);
	assert_int_equal(access_plan__count(p), 2);
	assert_null(site_at(p, VADDR));
	rel = site_at(p, VADDR + 8);
	rec = site_at(p, VADDR + 0x11);
	assert_non_null(rel);
	assert_non_null(rec);
	assert_int_equal(rel->desc.ops[0].flags & AOP_RELEASE, AOP_RELEASE);
	assert_int_equal(rec->desc.ops[0].flags & (AOP_ATOMIC | AOP_RELEASE), AOP_ATOMIC);
	assert_int_equal(rec->desc.ops[0].base, AREG_RDX);
	/* the groups are numbered again from 0, the atomic's still its own */
	assert_int_equal(access_plan__site(p, 0)->desc.group, 0);
	assert_int_equal(access_plan__site(p, 1)->desc.group, 1);
	assert_int_equal(access_plan__nr_groups(p), 2);
	access_plan__free(p);
}

static void test_orders_decide_which_loads_stay(void **state)
{
	static const struct {
		__u16 load, rmw;	/* AOP_* the source lines give them */
		bool dropped;
	} cases[] = {
		{ 0, 0, true },				/* plain load, ordered RMW */
		{ AOP_ORDERED, 0, true },		/* acquire load, ordered RMW */
		{ AOP_RELAXED, 0, true },		/* relaxed load orders nothing */
		{ AOP_RELAXED, AOP_RELAXED, true },
		{ AOP_ORDERED, AOP_RELAXED, false },	/* the only acquire is the load's */
		{ 0, AOP_RELAXED, false },		/* a plain load is one on x86 */
	};

	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct access_plan *p = PLAN(CAS_LOOP);

		if (cases[c].load)
			access_plan__add_op_flags(p, site_index(p, VADDR), 0, cases[c].load);
		if (cases[c].rmw)
			access_plan__add_op_flags(p, site_index(p, VADDR + 0x11), 0, cases[c].rmw);
		assert_int_equal(access_plan__elide_loads(p), cases[c].dropped);
		assert_int_equal(access_plan__nr_loads_kept(p), !cases[c].dropped);
		assert_int_equal(site_at(p, VADDR) == NULL, cases[c].dropped);
		access_plan__free(p);
	}
}

static void test_address_is_followed_through_an_add(void **state)
{
	/* mov rax, [rdi+8]; add rdi, 8; lea rcx, [rax+1]; lock cmpxchg [rdi], rcx; jne; ret */
	struct access_plan *same = PLAN(0x48, 0x8b, 0x47, 0x08, 0x48, 0x83, 0xc7, 0x08,
					0x48, 0x8d, 0x48, 0x01, 0xf0, 0x48, 0x0f, 0xb1, 0x0f,
					0x75, 0x00, 0xc3);
	/* mov rax, [rdi]; add rdi, 8; ...: the RMW is of the next word */
	struct access_plan *other = PLAN(0x48, 0x8b, 0x07, 0x48, 0x83, 0xc7, 0x08,
					 0x48, 0x8d, 0x48, 0x01, 0xf0, 0x48, 0x0f, 0xb1, 0x0f,
					 0x75, 0x00, 0xc3);

	(void)state;
	assert_int_equal(site_at(same, VADDR)->rmw_vaddr, VADDR + 0xc);
	assert_int_equal(access_plan__elide_loads(same), 1);
	assert_int_equal(site_at(other, VADDR)->rmw_vaddr, 0);
	assert_int_equal(access_plan__elide_loads(other), 0);
	assert_non_null(site_at(other, VADDR));
	access_plan__free(same);
	access_plan__free(other);
}

static void test_rip_relative_load_and_rmw_of_one_global(void **state)
{
	/* mov rax, [rip+0x100] (0x1107); lea rcx, [rax+1]; lock cmpxchg [rip+0xf3], rcx (0x1107) */
	struct access_plan *p = PLAN(0x48, 0x8b, 0x05, 0x00, 0x01, 0x00, 0x00,
				     0x48, 0x8d, 0x48, 0x01,
				     0xf0, 0x48, 0x0f, 0xb1, 0x0d, 0xf3, 0x00, 0x00, 0x00,
				     0x75, 0x00, 0xc3);

	(void)state;
	assert_int_equal(site_at(p, VADDR)->rmw_vaddr, VADDR + 0xb);
	assert_int_equal(access_plan__elide_loads(p), 1);
	access_plan__free(p);
}

static void test_load_stays_when_its_run_may_not_reach_the_rmw(void **state)
{
	/* mov rax, [rdi]; test rax, rax; jne 0xd; lock cmpxchg [rdi], rcx; ret */
	struct access_plan *branch = PLAN(0x48, 0x8b, 0x07, 0x48, 0x85, 0xc0, 0x75, 0x05,
					  0xf0, 0x48, 0x0f, 0xb1, 0x0f, 0xc3);
	/* mov rax, [rdi]; mov [rsi], rax (recorded between); lea; lock cmpxchg [rdi], rcx; jne; ret */
	struct access_plan *store = PLAN(0x48, 0x8b, 0x07, 0x48, 0x89, 0x06, 0x48, 0x8d, 0x48, 0x01,
					 0xf0, 0x48, 0x0f, 0xb1, 0x0f, 0x75, 0x00, 0xc3);
	/* mov eax, [rdi] (4 bytes); lea; lock cmpxchg qword [rdi], rcx; jne; ret */
	struct access_plan *size = PLAN(0x8b, 0x07, 0x48, 0x8d, 0x48, 0x01,
					0xf0, 0x48, 0x0f, 0xb1, 0x0f, 0x75, 0x00, 0xc3);
	/* mov rax, [rdi]; div rsi (may fault); lock cmpxchg [rdi], rcx; jne; ret */
	struct access_plan *fault = PLAN(0x48, 0x8b, 0x07, 0x48, 0xf7, 0xf6,
					 0xf0, 0x48, 0x0f, 0xb1, 0x0f, 0x75, 0x00, 0xc3);
	struct access_plan *all[] = { branch, store, size, fault };

	(void)state;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		assert_non_null(site_at(all[i], VADDR));
		assert_int_equal(site_at(all[i], VADDR)->rmw_vaddr, 0);
		assert_int_equal(access_plan__elide_loads(all[i]), 0);
		assert_non_null(site_at(all[i], VADDR));
		access_plan__free(all[i]);
	}
}

static void test_load_stays_when_the_rmw_record_is_not_planned(void **state)
{
	/*
	 * mov rdx, [rax]; lock cmpxchg [rax], rcx; ret: the same word, but
	 * cmpxchg writes rax, so its access cannot be evaluated after it.
	 */
	struct access_plan *p = PLAN(0x48, 0x8b, 0x10, 0xf0, 0x48, 0x0f, 0xb1, 0x08, 0xc3);

	(void)state;
	assert_int_equal(site_at(p, VADDR)->rmw_vaddr, VADDR + 3);
	assert_int_equal(access_plan__skipped(p, ASKIP_ATOMIC_NEXT), 1);
	assert_int_equal(access_plan__elide_loads(p), 0);
	assert_non_null(site_at(p, VADDR));
	access_plan__free(p);
}

static void test_load_before_the_rmw_keeps_the_release_it_carries(void **state)
{
	/*
	 * mov rdx, [rdi]; lock add qword [rdi], 1; ret: the load's probe
	 * also records the add's release, before it runs; only the load's
	 * operand goes.
	 */
	struct access_plan *p = PLAN(0x48, 0x8b, 0x17, 0xf0, 0x48, 0x83, 0x07, 0x01, 0xc3);
	const struct access_site *s;

	(void)state;
	s = site_at(p, VADDR);
	assert_int_equal(s->desc.nr_ops, 2);
	assert_int_equal(access_plan__elide_loads(p), 1);
	s = site_at(p, VADDR);
	assert_non_null(s);
	assert_int_equal(s->desc.nr_ops, 1);
	assert_int_equal(s->desc.ops[0].flags & AOP_RELEASE, AOP_RELEASE);
	assert_int_equal(s->desc.ops[0].ip_delta, 3);
	access_plan__free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cas_loop_load_is_left_to_the_rmw),
		cmocka_unit_test(test_orders_decide_which_loads_stay),
		cmocka_unit_test(test_address_is_followed_through_an_add),
		cmocka_unit_test(test_rip_relative_load_and_rmw_of_one_global),
		cmocka_unit_test(test_load_stays_when_its_run_may_not_reach_the_rmw),
		cmocka_unit_test(test_load_stays_when_the_rmw_record_is_not_planned),
		cmocka_unit_test(test_load_before_the_rmw_keeps_the_release_it_carries),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
