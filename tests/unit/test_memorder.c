// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * tracer/memorder.c: which memory order a statement names, and which
 * instructions of this very executable are relaxed atomics, found through
 * its own line table (the functions below are on one line each, so every
 * instruction of theirs maps to the line that names the order), directly
 * and through an inlined wrapper whose body names no order.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdatomic.h>
#include <linux/types.h>

#include "tracer/elf_syms.h"
#include "tracer/memorder.h"

atomic_int word;

/* clang-format off */
__attribute__((noinline, used)) int load_relaxed(void) { return atomic_load_explicit(&word, memory_order_relaxed); }
__attribute__((noinline, used)) int load_acquire(void) { return atomic_load_explicit(&word, memory_order_acquire); }
__attribute__((noinline, used)) int add_builtin_relaxed(void) { return __atomic_fetch_add(&word, 1, __ATOMIC_RELAXED); }
__attribute__((noinline, used)) int add_seq_cst(void) { return atomic_fetch_add(&word, 1); }
static inline int wrapped_load(atomic_int *p, memory_order mo) { return atomic_load_explicit(p, mo); }
__attribute__((noinline, used)) int via_wrapper_relaxed(void) { return wrapped_load(&word, memory_order_relaxed); }
__attribute__((noinline, used)) int via_wrapper_acquire(void) { return wrapped_load(&word, memory_order_acquire); }
/* clang-format on */

static void test_classify_text(void **state)
{
	(void)state;
	assert_int_equal(memorder__classify_text("x = atomic_load_explicit(&a, memory_order_relaxed);"),
			 MEMORDER_RELAXED);
	assert_int_equal(memorder__classify_text("__atomic_store_n(b, 1, __ATOMIC_RELAXED);"),
			 MEMORDER_RELAXED);
	assert_int_equal(memorder__classify_text("c.load(std::memory_order::relaxed);"),
			 MEMORDER_RELAXED);
	/* a CAS that fails relaxed but succeeds acq_rel orders */
	assert_int_equal(memorder__classify_text("atomic_compare_exchange_strong_explicit(p, &e, 1, "
						 "memory_order_acq_rel, memory_order_relaxed);"),
			 MEMORDER_ORDERED);
	assert_int_equal(memorder__classify_text("__atomic_load_n(p, __ATOMIC_ACQUIRE);"),
			 MEMORDER_ORDERED);
	assert_int_equal(memorder__classify_text("return __atomic_load_n(&_M_i, int(__m));"),
			 MEMORDER_NONE);
	/* a name that only starts like an order is none */
	assert_int_equal(memorder__classify_text("int memory_order_relaxed_count = 0;"),
			 MEMORDER_NONE);
	assert_int_equal(memorder__classify_text("f(__ATOMIC_RELAXED_X);"), MEMORDER_NONE);
}

static void test_classify_ops(void **state)
{
	(void)state;
	assert_int_equal(memorder__classify_ops("v = atomic_load_explicit(&a, memory_order_relaxed);"),
			 MEMORDER_OP_LOAD);
	assert_int_equal(memorder__classify_ops("atomic_store_explicit(&a, v, memory_order_relaxed);"),
			 MEMORDER_OP_STORE);
	assert_int_equal(memorder__classify_ops("__atomic_fetch_add(&w, 1, __ATOMIC_RELAXED);"),
			 MEMORDER_OP_RMW);
	assert_int_equal(memorder__classify_ops("c.store(c.load(std::memory_order::relaxed) + 1, "
						"std::memory_order::relaxed);"),
			 MEMORDER_OP_LOAD | MEMORDER_OP_STORE);
	assert_int_equal(memorder__classify_ops("atomic_compare_exchange_weak_explicit(p, &e, 1, "
						"memory_order_relaxed, memory_order_relaxed);"),
			 MEMORDER_OP_RMW);
	/* a wrapper's body spells no operation: any of its instructions may be it */
	assert_int_equal(memorder__classify_ops("return __c11_x(&_M_i, int(__m));"), MEMORDER_OP_ANY);
}

/* Is any instruction of this executable's function name relaxed? All of them? */
static void relaxed_in(struct memorder *m, const char *name, bool *any, bool *all)
{
	struct elf_syms *syms = elf_syms__open("/proc/self/exe");
	struct elf_func fn;

	assert_non_null(syms);
	assert_int_equal(elf_syms__find(syms, name, &fn), 0);
	assert_true(fn.size > 0);
	*any = false;
	*all = true;
	for (__u64 off = 0; off < fn.size; off++) {
		bool r = memorder__relaxed_at(m, fn.vaddr + off);

		*any |= r;
		*all &= r;
	}
	elf_syms__close(syms);
}

static void test_line_table(void **state)
{
	struct memorder *m = memorder__open("/proc/self/exe");
	bool any, all;

	(void)state;
	assert_non_null(m);
	relaxed_in(m, "load_relaxed", &any, &all);
	assert_true(any && all);
	relaxed_in(m, "add_builtin_relaxed", &any, &all);
	assert_true(any && all);
	relaxed_in(m, "load_acquire", &any, &all);
	assert_false(any);
	relaxed_in(m, "add_seq_cst", &any, &all);
	assert_false(any);
	memorder__free(m);
}

static void test_inlined_wrapper(void **state)
{
	struct memorder *m = memorder__open("/proc/self/exe");
	bool any, all;

	(void)state;
	assert_non_null(m);
	/* the load is the wrapper's line ("atomic", no order): its call site says */
	relaxed_in(m, "via_wrapper_relaxed", &any, &all);
	assert_true(any && all);
	relaxed_in(m, "via_wrapper_acquire", &any, &all);
	assert_false(any);
	memorder__free(m);
}

static void test_no_dwarf(void **state)
{
	(void)state;
	/* a file with no line table relaxes nothing; NULL is no table */
	assert_null(memorder__open("/nonexistent/ipcrace-memorder"));
	assert_false(memorder__relaxed_at(NULL, 0x1000));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_classify_text),
		cmocka_unit_test(test_classify_ops),
		cmocka_unit_test(test_line_table),
		cmocka_unit_test(test_inlined_wrapper),
		cmocka_unit_test(test_no_dwarf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
