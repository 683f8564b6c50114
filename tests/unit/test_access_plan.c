// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The access-probe planner on instruction bytes: which instructions get a
 * probe, and what their operands decode to (what BPF evaluates at the
 * probe), and what is left out and why. Also the instruction classifier's
 * read/write for vector stores.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "tracer/access_plan.h"
#include "tracer/insn_classify.h"

#define VADDR 0x1000
#define OFFSET 0x1000

static struct access_plan *plan_code(const __u8 *code, size_t len, bool known)
{
	struct access_plan *p = access_plan__new();

	assert_non_null(p);
	assert_int_equal(access_plan__add_code(p, code, len, VADDR, OFFSET, known), 0);
	return p;
}

#define PLAN(known, ...) ({						\
	static const __u8 code_[] = { __VA_ARGS__ };			\
	plan_code(code_, sizeof(code_), known);				\
})

static void test_heap_store_through_pointer_is_planned(void **state)
{
	/* mov [rdi+0x20], rsi; ret */
	struct access_plan *p = PLAN(true, 0x48, 0x89, 0x77, 0x20, 0xc3);
	const struct access_site *s;

	(void)state;
	assert_int_equal(access_plan__count(p), 1);
	s = access_plan__site(p, 0);
	assert_int_equal(s->offset, OFFSET);
	assert_int_equal(s->vaddr, VADDR);
	assert_int_equal(s->desc.nr_ops, 1);
	assert_int_equal(s->desc.ops[0].base, AREG_RDI);
	assert_int_equal(s->desc.ops[0].index, AREG_NONE);
	assert_int_equal(s->desc.ops[0].disp, 0x20);
	assert_int_equal(s->desc.ops[0].size, 8);
	assert_int_equal(s->desc.ops[0].flags, AOP_WRITE);
	assert_int_equal(s->desc.ops[0].ip_delta, 0);
	access_plan__free(p);
}

static void test_rip_relative_load_ends_at_its_instruction(void **state)
{
	/* nop; mov eax, [rip+0x100] */
	struct access_plan *p = PLAN(true, 0x90, 0x8b, 0x05, 0x00, 0x01, 0x00, 0x00);
	const struct access_site *s;

	(void)state;
	assert_int_equal(access_plan__count(p), 1);
	s = access_plan__site(p, 0);
	assert_int_equal(s->offset, OFFSET + 1);
	assert_int_equal(s->desc.ops[0].base, AREG_RIP);
	assert_int_equal(s->desc.ops[0].rip_delta, 6);
	assert_int_equal(s->desc.ops[0].disp, 0x100);
	assert_int_equal(s->desc.ops[0].size, 4);
	assert_int_equal(s->desc.ops[0].flags, AOP_READ);
	access_plan__free(p);
}

static void test_index_and_scale_are_kept(void **state)
{
	/* mov dword [rbx + rcx*4 - 8], edx */
	struct access_plan *p = PLAN(false, 0x89, 0x54, 0x8b, 0xf8);
	const struct access_operand *op;

	(void)state;
	assert_int_equal(access_plan__count(p), 1);
	op = &access_plan__site(p, 0)->desc.ops[0];
	assert_int_equal(op->base, AREG_RBX);
	assert_int_equal(op->index, AREG_RCX);
	assert_int_equal(op->scale, 4);
	assert_int_equal(op->disp, -8);
	assert_int_equal(op->flags, AOP_WRITE);
	access_plan__free(p);
}

static void test_own_stack_is_not_planned(void **state)
{
	/* mov [rsp+8], rax; mov rax, [rsp+8]; ret */
	struct access_plan *p = PLAN(true, 0x48, 0x89, 0x44, 0x24, 0x08,
				     0x48, 0x8b, 0x44, 0x24, 0x08, 0xc3);

	(void)state;
	assert_int_equal(access_plan__count(p), 0);
	assert_int_equal(access_plan__skipped(p, ASKIP_STACK), 2);
	access_plan__free(p);
}

static void test_frame_shared_by_address_is_planned(void **state)
{
	/*
	 * lea rdi, [rsp+0x10]; mov [rsp+0x10], eax (the shared local);
	 * mov [rsp+8], rax (a spill below the shared one); ret
	 */
	struct access_plan *p = PLAN(true, 0x48, 0x8d, 0x7c, 0x24, 0x10,
				     0x89, 0x44, 0x24, 0x10,
				     0x48, 0x89, 0x44, 0x24, 0x08, 0xc3);
	const struct access_operand *op;

	(void)state;
	assert_int_equal(access_plan__count(p), 1);
	op = &access_plan__site(p, 0)->desc.ops[0];
	assert_int_equal(access_plan__site(p, 0)->offset, OFFSET + 5);
	assert_int_equal(op->base, AREG_RSP);
	assert_int_equal(op->flags, AOP_WRITE | AOP_FRAME);
	assert_int_equal(access_plan__skipped(p, ASKIP_STACK), 1);
	access_plan__free(p);
}

static void test_frame_sites_go_last_in_a_group_of_their_own(void **state)
{
	/*
	 * lea rdi, [rsp+0x10]; mov [rsp+0x10], eax (frame); mov [rdi+0x20], rsi
	 * (heap); mov eax, [rsp+0x18] (frame); mov [rdi], eax (heap); ret
	 */
	struct access_plan *p = PLAN(true, 0x48, 0x8d, 0x7c, 0x24, 0x10,
				     0x89, 0x44, 0x24, 0x10,
				     0x48, 0x89, 0x77, 0x20,
				     0x8b, 0x44, 0x24, 0x18,
				     0x89, 0x07, 0xc3);
	const struct access_site *s[4];

	(void)state;
	assert_int_equal(access_plan__count(p), 4);
	for (int i = 0; i < 4; i++)
		s[i] = access_plan__site(p, i);
	/* the heap stores first, in address order, then the frame accesses */
	assert_int_equal(s[0]->vaddr, VADDR + 9);
	assert_int_equal(s[1]->vaddr, VADDR + 17);
	assert_int_equal(s[2]->vaddr, VADDR + 5);
	assert_int_equal(s[2]->offset, OFFSET + 5);
	assert_int_equal(s[3]->vaddr, VADDR + 13);
	assert_int_equal(s[0]->desc.ops[0].flags, AOP_WRITE);
	assert_int_equal(s[2]->desc.ops[0].flags, AOP_WRITE | AOP_FRAME);
	assert_int_equal(s[3]->desc.ops[0].flags, AOP_READ | AOP_FRAME);
	assert_int_equal(s[0]->desc.group, 0);
	assert_int_equal(s[1]->desc.group, 0);
	assert_int_equal(s[2]->desc.group, 1);
	assert_int_equal(s[3]->desc.group, 1);
	assert_int_equal(access_plan__nr_groups(p), 2);
	access_plan__free(p);
}

static void test_frame_split_keeps_atomics_alone_and_the_next_function_apart(void **state)
{
	/*
	 * lea rdi, [rsp+0x10]; mov [rsp+0x14], eax (frame); mov [rsp+0x10],
	 * eax (frame, and the release of the atomic after it); lock add
	 * [rdi], eax (atomic, evaluated at the next instruction); mov
	 * [rdi+8], eax (heap, with the atomic); mov [rsp+0x18], eax (frame);
	 * ret. Then a second function: mov eax, [rdi]; ret.
	 */
	static const __u8 f1[] = { 0x48, 0x8d, 0x7c, 0x24, 0x10,
				   0x89, 0x44, 0x24, 0x14,
				   0x89, 0x44, 0x24, 0x10,
				   0xf0, 0x01, 0x07,
				   0x89, 0x47, 0x08,
				   0x89, 0x44, 0x24, 0x18, 0xc3 };
	static const __u8 f2[] = { 0x8b, 0x07, 0xc3 };
	struct access_plan *p = access_plan__new();
	static const struct {
		__u64 vaddr;
		__u32 group;
		__u16 flags0;
	} want[] = {
		{ VADDR + 9, 0, AOP_WRITE | AOP_FRAME },	/* + the release: alone */
		{ VADDR + 16, 1, AOP_READ | AOP_WRITE | AOP_ATOMIC },	/* alone */
		{ VADDR + 5, 2, AOP_WRITE | AOP_FRAME },	/* the frame-only ones */
		{ VADDR + 19, 2, AOP_WRITE | AOP_FRAME },
		{ VADDR + 0x100, 3, AOP_READ | AOP_POSTABLE },	/* the next function */
	};

	(void)state;
	assert_int_equal(access_plan__add_code(p, f1, sizeof(f1), VADDR, OFFSET, true), 0);
	assert_int_equal(access_plan__add_code(p, f2, sizeof(f2), VADDR + 0x100, OFFSET + 0x100,
					       true), 0);
	assert_int_equal(access_plan__count(p), 5);
	for (size_t i = 0; i < 5; i++) {
		const struct access_site *s = access_plan__site(p, i);

		assert_int_equal(s->vaddr, want[i].vaddr);
		assert_int_equal(s->offset, want[i].vaddr - VADDR + OFFSET);
		assert_int_equal(s->desc.group, want[i].group);
		assert_int_equal(s->desc.ops[0].flags, want[i].flags0);
	}
	assert_int_equal(access_plan__site(p, 0)->desc.nr_ops, 2);
	assert_true(access_plan__site(p, 0)->desc.ops[1].flags & AOP_RELEASE);
	assert_int_equal(access_plan__nr_groups(p), 4);
	access_plan__free(p);
}

static void test_rbp_is_stack_only_with_a_frame_pointer(void **state)
{
	/* push rbp; mov rbp, rsp; mov eax, [rbp-4]; pop rbp; ret */
	static const __u8 code[] = { 0x55, 0x48, 0x89, 0xe5, 0x8b, 0x45, 0xfc, 0x5d, 0xc3 };
	/* mov eax, [rbp-4]; ret: rbp is a general register here */
	static const __u8 no_fp[] = { 0x8b, 0x45, 0xfc, 0xc3 };
	struct access_plan *p = plan_code(code, sizeof(code), true);
	struct access_plan *q = plan_code(no_fp, sizeof(no_fp), true);

	(void)state;
	assert_int_equal(access_plan__count(p), 0);
	assert_int_equal(access_plan__skipped(p, ASKIP_STACK), 1);
	assert_int_equal(access_plan__count(q), 1);
	assert_int_equal(access_plan__site(q, 0)->desc.ops[0].base, AREG_RBP);
	access_plan__free(p);
	access_plan__free(q);
}

static void test_lea_nop_prefetch_access_nothing(void **state)
{
	/* lea rax, [rdi+8]; nop dword [rax+rax]; prefetcht0 [rdi]; ret */
	struct access_plan *p = PLAN(true, 0x48, 0x8d, 0x47, 0x08,
				     0x0f, 0x1f, 0x44, 0x00, 0x00,
				     0x0f, 0x18, 0x0f, 0xc3);

	(void)state;
	assert_int_equal(access_plan__count(p), 0);
	access_plan__free(p);
}

static void test_vector_stores_are_writes_of_their_width(void **state)
{
	/* vmovdqu64 [rdi], zmm0; vmovdqu [rdi], ymm0; movdqu [rdi], xmm0; vmovdqu64 zmm0, [rsi] */
	struct access_plan *p = PLAN(true, 0x62, 0xf1, 0xfe, 0x48, 0x7f, 0x07,
				     0xc5, 0xfe, 0x7f, 0x07,
				     0xf3, 0x0f, 0x7f, 0x07,
				     0x62, 0xf1, 0xfe, 0x48, 0x6f, 0x06);

	(void)state;
	assert_int_equal(access_plan__count(p), 4);
	assert_int_equal(access_plan__site(p, 0)->desc.ops[0].flags, AOP_WRITE);
	assert_int_equal(access_plan__site(p, 0)->desc.ops[0].size, 64);
	assert_int_equal(access_plan__site(p, 1)->desc.ops[0].flags, AOP_WRITE);
	assert_int_equal(access_plan__site(p, 1)->desc.ops[0].size, 32);
	assert_int_equal(access_plan__site(p, 2)->desc.ops[0].flags, AOP_WRITE);
	assert_int_equal(access_plan__site(p, 2)->desc.ops[0].size, 16);
	assert_int_equal(access_plan__site(p, 3)->desc.ops[0].flags, AOP_READ);
	assert_int_equal(access_plan__site(p, 3)->desc.ops[0].base, AREG_RSI);
	access_plan__free(p);
}

static void test_legacy_sse_stores_are_writes(void **state)
{
	/* capstone 4 calls these stores reads: movups [rdi], xmm0; movaps [rdi], xmm0;
	 * movdqa [rdi], xmm0; movq [rdi], xmm0; movlps [rdi], xmm0; movntdq [rdi], xmm0;
	 * extractps [rdi], xmm0, 1; and a load that stays one: movups xmm0, [rsi] */
	struct access_plan *p = PLAN(true, 0x0f, 0x11, 0x07,
				     0x0f, 0x29, 0x07,
				     0x66, 0x0f, 0x7f, 0x07,
				     0x66, 0x0f, 0xd6, 0x07,
				     0x0f, 0x13, 0x07,
				     0x66, 0x0f, 0xe7, 0x07,
				     0x66, 0x0f, 0x3a, 0x17, 0x07, 0x01,
				     0x0f, 0x10, 0x06);

	(void)state;
	assert_int_equal(access_plan__count(p), 8);
	for (size_t i = 0; i < 7; i++)
		assert_int_equal(access_plan__site(p, i)->desc.ops[0].flags, AOP_WRITE);
	assert_int_equal(access_plan__site(p, 0)->desc.ops[0].size, 16);
	assert_int_equal(access_plan__site(p, 3)->desc.ops[0].size, 8);
	assert_int_equal(access_plan__site(p, 6)->desc.ops[0].size, 4);
	assert_int_equal(access_plan__site(p, 7)->desc.ops[0].flags, AOP_READ);
	access_plan__free(p);
}

static void test_classifier_calls_an_avx512_store_a_write(void **state)
{
	static const __u8 store[] = { 0x62, 0xf1, 0xfe, 0x48, 0x7f, 0x07 };
	static const __u8 load[] = { 0x62, 0xf1, 0xfe, 0x48, 0x6f, 0x07 };
	static const __u8 cas[] = { 0xf0, 0x0f, 0xb1, 0x37 };	/* lock cmpxchg [rdi], esi */
	__u32 flags;
	size_t len;

	(void)state;
	assert_int_equal(insn_classify__bytes(store, sizeof(store), &flags, &len), 0);
	assert_int_equal(flags, EVF_WRITE);
	assert_int_equal(len, sizeof(store));
	assert_int_equal(insn_classify__bytes(load, sizeof(load), &flags, &len), 0);
	assert_int_equal(flags, EVF_READ);
	assert_int_equal(insn_classify__bytes(cas, sizeof(cas), &flags, &len), 0);
	assert_int_equal(flags, EVF_WRITE | EVF_ATOMIC);
}

static void test_rep_string_ops_scale_with_rcx(void **state)
{
	/* rep stosq; rep movsb */
	struct access_plan *p = PLAN(true, 0xf3, 0x48, 0xab, 0xf3, 0xa4);
	const struct access_site *stos, *movs;

	(void)state;
	assert_int_equal(access_plan__count(p), 2);
	stos = access_plan__site(p, 0);
	movs = access_plan__site(p, 1);
	assert_int_equal(stos->desc.nr_ops, 1);
	assert_int_equal(stos->desc.ops[0].base, AREG_RDI);
	assert_int_equal(stos->desc.ops[0].size, 8);
	assert_int_equal(stos->desc.ops[0].flags, AOP_WRITE | AOP_REP);
	assert_int_equal(movs->desc.nr_ops, 2);
	assert_int_equal(movs->desc.ops[0].base, AREG_RDI);
	assert_int_equal(movs->desc.ops[0].flags, AOP_WRITE | AOP_REP);
	assert_int_equal(movs->desc.ops[1].base, AREG_RSI);
	assert_int_equal(movs->desc.ops[1].flags, AOP_READ | AOP_REP);
	access_plan__free(p);
}

static void test_atomic_is_evaluated_at_the_next_instruction(void **state)
{
	/* lock add dword [rip+0x10], 1; mov eax, [rdi]; ret */
	struct access_plan *p = PLAN(true, 0xf0, 0x83, 0x05, 0x10, 0x00, 0x00, 0x00, 0x01,
				     0x8b, 0x07, 0xc3);
	const struct access_site *s;

	(void)state;
	assert_int_equal(access_plan__count(p), 1);
	s = access_plan__site(p, 0);
	assert_int_equal(s->offset, OFFSET + 8);
	assert_int_equal(s->desc.nr_ops, 2);
	assert_int_equal(s->desc.ops[0].base, AREG_RIP);
	assert_int_equal(s->desc.ops[0].rip_delta, 0);
	assert_int_equal(s->desc.ops[0].ip_delta, -8);
	assert_int_equal(s->desc.ops[0].disp, 0x10);
	assert_int_equal(s->desc.ops[0].flags, AOP_READ | AOP_WRITE | AOP_ATOMIC);
	assert_int_equal(s->desc.ops[1].base, AREG_RDI);
	assert_int_equal(s->desc.ops[1].flags, AOP_READ | AOP_POSTABLE);
	access_plan__free(p);
}

static void test_load_is_postable_when_the_next_instruction_has_its_address(void **state)
{
	/* mov eax, [rdi]; ret: an acquire can be recorded at the ret, after it ran */
	struct access_plan *p = PLAN(true, 0x8b, 0x07, 0xc3);
	const struct access_site *s;

	(void)state;
	assert_int_equal(access_plan__count(p), 1);
	s = access_plan__site(p, 0);
	assert_int_equal(s->desc.ops[0].flags, AOP_READ | AOP_POSTABLE);
	assert_int_equal(s->next_offset, OFFSET + 2);
	access_plan__free(p);
}

static void test_relaxed_load_needs_no_probe_after_it(void **state)
{
	/* mov eax, [rdi]; ret: postable, until its source says relaxed */
	struct access_plan *p = PLAN(true, 0x8b, 0x07, 0xc3);
	const struct access_operand *op = &access_plan__site(p, 0)->desc.ops[0];

	(void)state;
	assert_int_equal(op->flags, AOP_READ | AOP_POSTABLE);
	access_plan__add_op_flags(p, 0, 0, AOP_ORDERED);
	assert_int_equal(op->flags, AOP_READ | AOP_POSTABLE | AOP_ORDERED);
	access_plan__add_op_flags(p, 0, 0, AOP_RELAXED);
	assert_int_equal(op->flags & (AOP_POSTABLE | AOP_RELAXED), AOP_RELAXED);
	access_plan__free(p);
}

static void test_load_is_not_postable_when_it_loses_its_address(void **state)
{
	/* mov rdi, [rdi]; ret | mov [rdi], eax; ret (a store) | mov eax, [rdi]; ret; jmp 2 */
	struct access_plan *own = PLAN(true, 0x48, 0x8b, 0x3f, 0xc3);
	struct access_plan *store = PLAN(true, 0x89, 0x07, 0xc3);
	struct access_plan *target = PLAN(true, 0x8b, 0x07, 0xc3, 0xeb, 0xfd);

	(void)state;
	assert_int_equal(access_plan__site(own, 0)->desc.ops[0].flags, AOP_READ);
	assert_int_equal(access_plan__site(store, 0)->desc.ops[0].flags, AOP_WRITE);
	assert_int_equal(access_plan__site(target, 0)->desc.ops[0].flags, AOP_READ);
	access_plan__free(own);
	access_plan__free(store);
	access_plan__free(target);
}

static void test_atomic_that_writes_its_address_register_is_not_planned(void **state)
{
	/* lock cmpxchg [rax], ecx (rax is written on failure); ret */
	struct access_plan *p = PLAN(true, 0xf0, 0x0f, 0xb1, 0x08, 0xc3);

	(void)state;
	assert_int_equal(access_plan__count(p), 0);
	assert_int_equal(access_plan__skipped(p, ASKIP_ATOMIC_NEXT), 1);
	access_plan__free(p);
}

static void test_atomic_before_a_branch_target_is_not_planned(void **state)
{
	/* 0: lock inc dword [rdi]; 3: dec esi; 5: jnz 0 -> fine;  then one before a target */
	/* 0: jmp 5; 2: lock inc dword [rdi]; 5: ret (a branch target) */
	struct access_plan *p = PLAN(true, 0xeb, 0x03, 0xf0, 0xff, 0x07, 0xc3);

	(void)state;
	assert_int_equal(access_plan__count(p), 0);
	assert_int_equal(access_plan__skipped(p, ASKIP_ATOMIC_NEXT), 1);
	access_plan__free(p);
}

static void test_xchg_is_atomic_and_evaluated_after_it(void **state)
{
	/*
	 * xchg [rdi], eax; ret: recorded at the ret, after the xchg ran; its
	 * release at the xchg itself, before it runs (no LOCK prefix: the
	 * kernel takes a probe there)
	 */
	struct access_plan *p = PLAN(true, 0x87, 0x07, 0xc3);
	const struct access_site *s;

	(void)state;
	assert_int_equal(access_plan__count(p), 2);
	s = access_plan__site(p, 0);
	assert_int_equal(s->offset, OFFSET);
	assert_int_equal(s->desc.nr_ops, 1);
	assert_int_equal(s->desc.ops[0].ip_delta, 0);
	assert_int_equal(s->desc.ops[0].base, AREG_RDI);
	assert_int_equal(s->desc.ops[0].flags, AOP_READ | AOP_WRITE | AOP_ATOMIC | AOP_RELEASE);
	s = access_plan__site(p, 1);
	assert_int_equal(s->offset, OFFSET + 2);
	assert_int_equal(s->desc.ops[0].ip_delta, -2);
	assert_int_equal(s->desc.ops[0].flags, AOP_READ | AOP_WRITE | AOP_ATOMIC);
	assert_int_equal(access_plan__nr_atomic_before(p), 0);
	assert_int_equal(access_plan__nr_release_before(p), 1);
	/* each in a group of its own: an atomic's probes are never detached */
	assert_int_not_equal(access_plan__site(p, 0)->desc.group, s->desc.group);
	access_plan__free(p);
}

static void test_locked_atomic_releases_at_the_instruction_before_it(void **state)
{
	/*
	 * mov eax, 1; lock xadd [rdi+8], eax; ret: the release at the mov
	 * (it runs the xadd next, and leaves rdi alone), the access at the ret
	 */
	struct access_plan *p = PLAN(true, 0xb8, 0x01, 0x00, 0x00, 0x00,
				     0xf0, 0x0f, 0xc1, 0x47, 0x08, 0xc3);
	const struct access_site *rel, *after;

	(void)state;
	assert_int_equal(access_plan__count(p), 2);
	rel = access_plan__site(p, 0);
	after = access_plan__site(p, 1);
	assert_int_equal(rel->offset, OFFSET);
	assert_int_equal(rel->desc.nr_ops, 1);
	assert_int_equal(rel->desc.ops[0].ip_delta, 5);
	assert_int_equal(rel->desc.ops[0].rip_delta, 5 + 5);
	assert_int_equal(rel->desc.ops[0].base, AREG_RDI);
	assert_int_equal(rel->desc.ops[0].disp, 8);
	assert_true(rel->desc.ops[0].flags & AOP_RELEASE);
	assert_int_equal(after->offset, OFFSET + 10);
	assert_int_equal(after->desc.ops[0].ip_delta, -5);
	assert_false(after->desc.ops[0].flags & AOP_RELEASE);
	assert_int_equal(access_plan__nr_release_before(p), 1);
	assert_int_equal(access_plan__nr_release_after(p), 0);
	access_plan__free(p);
}

static void test_release_joins_the_probe_of_a_load_before_it(void **state)
{
	/*
	 * mov rdx, [rsi]; lock inc dword [rdi]; ret: the load's probe
	 * evaluates the release too, and leaves the load's group
	 */
	struct access_plan *p = PLAN(true, 0x48, 0x8b, 0x16, 0xf0, 0xff, 0x07, 0xc3);
	const struct access_site *s;

	(void)state;
	assert_int_equal(access_plan__count(p), 2);
	s = access_plan__site(p, 0);
	assert_int_equal(s->desc.nr_ops, 2);
	assert_int_equal(s->desc.ops[0].base, AREG_RSI);
	assert_false(s->desc.ops[0].flags & AOP_RELEASE);
	assert_int_equal(s->desc.ops[1].base, AREG_RDI);
	assert_int_equal(s->desc.ops[1].ip_delta, 3);
	assert_true(s->desc.ops[1].flags & AOP_RELEASE);
	access_plan__free(p);
}

static void test_release_stays_after_when_the_one_before_is_unsafe(void **state)
{
	/*
	 * mov rdi, rsi; lock inc dword [rdi]; ret: the mov writes the address
	 * register. jmp 2; lock inc dword [rdi]; ret: the atomic is a branch
	 * target (its "before" may not have run).
	 */
	struct access_plan *writes = PLAN(true, 0x48, 0x89, 0xf7, 0xf0, 0xff, 0x07, 0xc3);
	struct access_plan *target = PLAN(true, 0xeb, 0x00, 0xf0, 0xff, 0x07, 0xc3);

	(void)state;
	assert_int_equal(access_plan__count(writes), 1);
	assert_int_equal(access_plan__nr_release_before(writes), 0);
	assert_int_equal(access_plan__nr_release_after(writes), 1);
	assert_int_equal(access_plan__count(target), 1);
	assert_int_equal(access_plan__nr_release_after(target), 1);
	access_plan__free(writes);
	access_plan__free(target);
}

static void test_xchg_writing_its_address_register_is_probed_where_it_is(void **state)
{
	/* xchg [rax], eax; ret: eax is written, the address gone after it */
	struct access_plan *p = PLAN(true, 0x87, 0x00, 0xc3);
	const struct access_site *s;

	(void)state;
	assert_int_equal(access_plan__count(p), 1);
	s = access_plan__site(p, 0);
	assert_int_equal(s->offset, OFFSET);
	assert_int_equal(s->desc.ops[0].ip_delta, 0);
	assert_int_equal(s->desc.ops[0].flags, AOP_READ | AOP_WRITE | AOP_ATOMIC);
	assert_int_equal(access_plan__nr_atomic_before(p), 1);
	access_plan__free(p);
}

static void test_atomic_record_moves_on_to_an_emulated_jump(void **state)
{
	/*
	 * xchg [rax], edx; test edx, edx; jne +5; add qword [rdi+0x18], 1; ret:
	 * a test-and-set's acquire is recorded at the jne (the kernel
	 * emulates it), not at the test (single-stepped), pointing back at
	 * the xchg.
	 */
	struct access_plan *p = PLAN(true, 0x87, 0x10, 0x85, 0xd2, 0x75, 0x05,
				     0x48, 0x83, 0x47, 0x18, 0x01, 0xc3);
	/* xchg [rip+0x10], edx; test edx, edx; jne +0; ret: rip-relative from the jne */
	struct access_plan *rip = PLAN(true, 0x87, 0x15, 0x10, 0x00, 0x00, 0x00, 0x85, 0xd2,
				       0x75, 0x00, 0xc3);
	/* xchg [rax], edx; mov eax, edx (writes the address register); jne +0; ret */
	struct access_plan *writes = PLAN(true, 0x87, 0x10, 0x89, 0xd0, 0x75, 0x00, 0xc3);
	/* xchg [rax], edx; test edx, edx; 1: jne 1b (a branch target); ret */
	struct access_plan *target = PLAN(true, 0x87, 0x10, 0x85, 0xd2, 0x75, 0xfe, 0xc3);
	const struct access_site *s;

	(void)state;
	assert_int_equal(access_plan__count(p), 3);	/* the release, the record, the add */
	s = access_plan__site(p, 1);
	assert_int_equal(s->offset, OFFSET + 4);
	assert_int_equal(s->desc.ops[0].flags, AOP_READ | AOP_WRITE | AOP_ATOMIC);
	assert_int_equal(s->desc.ops[0].base, AREG_RAX);
	assert_int_equal(s->desc.ops[0].ip_delta, -4);
	assert_int_equal(s->desc.ops[0].rip_delta, -2);
	s = access_plan__site(rip, 1);
	assert_int_equal(s->offset, OFFSET + 8);
	assert_int_equal(s->desc.ops[0].base, AREG_RIP);
	assert_int_equal(s->desc.ops[0].ip_delta, -8);
	/* BPF adds rip_delta to the probe's address: the xchg's end, 6 */
	assert_int_equal(s->desc.ops[0].rip_delta, -2);
	s = access_plan__site(writes, 1);
	assert_int_equal(s->offset, OFFSET + 2);
	assert_int_equal(s->desc.ops[0].ip_delta, -2);
	assert_int_equal(s->desc.ops[0].rip_delta, 0);
	s = access_plan__site(target, 1);
	assert_int_equal(s->offset, OFFSET + 2);
	access_plan__free(p);
	access_plan__free(rip);
	access_plan__free(writes);
	access_plan__free(target);
}

static void test_indirect_call_and_gather_are_counted(void **state)
{
	/* call [rax+8]; vpgatherdd ymm0, [rdi+ymm1*4], ymm2; ret */
	struct access_plan *p = PLAN(true, 0xff, 0x50, 0x08,
				     0xc4, 0xe2, 0x6d, 0x90, 0x04, 0x8f, 0xc3);

	(void)state;
	assert_int_equal(access_plan__count(p), 0);
	assert_int_equal(access_plan__skipped(p, ASKIP_BRANCH), 1);
	assert_int_equal(access_plan__skipped(p, ASKIP_VSIB), 1);
	assert_int_equal(access_plan__nr_memory_insns(p), 2);
	access_plan__free(p);
}

static void test_tls_operand_names_fs(void **state)
{
	/* mov eax, fs:[0xfffffffffffffffc] */
	struct access_plan *p = PLAN(true, 0x64, 0x8b, 0x04, 0x25, 0xfc, 0xff, 0xff, 0xff);
	const struct access_operand *op;

	(void)state;
	assert_int_equal(access_plan__count(p), 1);
	op = &access_plan__site(p, 0)->desc.ops[0];
	assert_int_equal(op->seg, ASEG_FS);
	assert_int_equal(op->base, AREG_NONE);
	assert_int_equal(op->disp, -4);
	access_plan__free(p);
}

static void test_groups_split_long_functions_and_start_per_function(void **state)
{
	__u8 code[ACCESS_GROUP_SITES + 10][2];
	struct access_plan *p = access_plan__new();
	size_t n = ACCESS_GROUP_SITES + 10;

	(void)state;
	for (size_t i = 0; i < n; i++) {
		code[i][0] = 0x8b;	/* mov eax, [rdi] */
		code[i][1] = 0x07;
	}
	assert_int_equal(access_plan__add_code(p, &code[0][0], sizeof(code), VADDR, OFFSET, true), 0);
	assert_int_equal(access_plan__add_code(p, &code[0][0], 2, VADDR + 0x1000, OFFSET + 0x1000,
					       true), 0);
	assert_int_equal(access_plan__count(p), n + 1);
	assert_int_equal(access_plan__site(p, 0)->desc.group, 0);
	assert_int_equal(access_plan__site(p, ACCESS_GROUP_SITES - 1)->desc.group, 0);
	assert_int_equal(access_plan__site(p, ACCESS_GROUP_SITES)->desc.group, 1);
	assert_int_equal(access_plan__site(p, n)->desc.group, 2);
	assert_int_equal(access_plan__nr_groups(p), 3);
	access_plan__free(p);
}

static void test_own_executable_plans_without_error(void **state)
{
	struct access_plan *p = access_plan__new();

	(void)state;
	assert_int_equal(access_plan__add_file(p, "/proc/self/exe"), 0);
	assert_true(access_plan__count(p) > 0);
	assert_true(access_plan__nr_memory_insns(p) >= access_plan__count(p));
	assert_int_equal(access_plan__add_file(p, "/nonexistent"), -ENOENT);
	access_plan__free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_heap_store_through_pointer_is_planned),
		cmocka_unit_test(test_rip_relative_load_ends_at_its_instruction),
		cmocka_unit_test(test_index_and_scale_are_kept),
		cmocka_unit_test(test_own_stack_is_not_planned),
		cmocka_unit_test(test_frame_shared_by_address_is_planned),
		cmocka_unit_test(test_frame_sites_go_last_in_a_group_of_their_own),
		cmocka_unit_test(test_frame_split_keeps_atomics_alone_and_the_next_function_apart),
		cmocka_unit_test(test_rbp_is_stack_only_with_a_frame_pointer),
		cmocka_unit_test(test_lea_nop_prefetch_access_nothing),
		cmocka_unit_test(test_vector_stores_are_writes_of_their_width),
		cmocka_unit_test(test_legacy_sse_stores_are_writes),
		cmocka_unit_test(test_classifier_calls_an_avx512_store_a_write),
		cmocka_unit_test(test_rep_string_ops_scale_with_rcx),
		cmocka_unit_test(test_atomic_is_evaluated_at_the_next_instruction),
		cmocka_unit_test(test_atomic_that_writes_its_address_register_is_not_planned),
		cmocka_unit_test(test_atomic_before_a_branch_target_is_not_planned),
		cmocka_unit_test(test_load_is_postable_when_the_next_instruction_has_its_address),
		cmocka_unit_test(test_load_is_not_postable_when_it_loses_its_address),
		cmocka_unit_test(test_relaxed_load_needs_no_probe_after_it),
		cmocka_unit_test(test_xchg_is_atomic_and_evaluated_after_it),
		cmocka_unit_test(test_locked_atomic_releases_at_the_instruction_before_it),
		cmocka_unit_test(test_release_joins_the_probe_of_a_load_before_it),
		cmocka_unit_test(test_release_stays_after_when_the_one_before_is_unsafe),
		cmocka_unit_test(test_xchg_writing_its_address_register_is_probed_where_it_is),
		cmocka_unit_test(test_atomic_record_moves_on_to_an_emulated_jump),
		cmocka_unit_test(test_indirect_call_and_gather_are_counted),
		cmocka_unit_test(test_tls_operand_names_fs),
		cmocka_unit_test(test_groups_split_long_functions_and_start_per_function),
		cmocka_unit_test(test_own_executable_plans_without_error),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
