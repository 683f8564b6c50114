// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * kernel_btf__cut on synthetic BTF: what CO-RE relocations can reach from
 * the names a program uses is kept, renumbered; what they cannot is not.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include <bpf/btf.h>
#include "tracer/kernel_btf.h"

/* The id of the type named name of kind kind in b, 0 when there is none. */
static __u32 find(const struct btf *b, const char *name, __u16 kind)
{
	int id = btf__find_by_name_kind(b, name, kind);

	return id > 0 ? (__u32)id : 0;
}

/*
 * A "kernel": task_struct embeds sched_entity (which embeds load_weight
 * through an array) and points to mm_struct and to files_struct; an
 * unrelated struct; a typedef chain; an enum.
 */
static struct btf *kernel_btf(void)
{
	struct btf *k = btf__new_empty();
	int u32, u64, lw, lw_arr, se, mm, mm_ptr, files, files_ptr, task, unrelated, td, e;

	u32 = btf__add_int(k, "unsigned int", 4, 0);
	u64 = btf__add_int(k, "long long unsigned int", 8, 0);
	lw = btf__add_struct(k, "load_weight", 8);
	btf__add_field(k, "weight", u64, 0, 0);
	lw_arr = btf__add_array(k, u32, lw, 2);
	se = btf__add_struct(k, "sched_entity", 16);
	btf__add_field(k, "loads", lw_arr, 0, 0);
	mm = btf__add_struct(k, "mm_struct", 16);
	btf__add_field(k, "start_code", u64, 0, 0);
	btf__add_field(k, "end_code", u64, 64, 0);
	mm_ptr = btf__add_ptr(k, mm);
	files = btf__add_struct(k, "files_struct", 4);
	btf__add_field(k, "count", u32, 0, 0);
	files_ptr = btf__add_ptr(k, files);
	task = btf__add_struct(k, "task_struct", 40);
	btf__add_field(k, "pid", u32, 0, 0);
	btf__add_field(k, "se", se, 64, 0);
	btf__add_field(k, "mm", mm_ptr, 192, 0);
	btf__add_field(k, "files", files_ptr, 256, 0);
	unrelated = btf__add_struct(k, "unrelated", 4);
	btf__add_field(k, "x", u32, 0, 0);
	td = btf__add_typedef(k, "pid_t", u32);
	e = btf__add_enum(k, "pid_type", 4);
	btf__add_enum_value(k, "PIDTYPE_PID", 0);
	btf__add_enum_value(k, "PIDTYPE_TGID", 1);
	assert_true(u32 > 0 && u64 > 0 && task > 0 && unrelated > 0 && td > 0 && e > 0);
	return k;
}

/* A program's BTF: a flavoured task_struct, mm_struct, an enum. */
static struct btf *local_btf(void)
{
	struct btf *l = btf__new_empty();
	int u64 = btf__add_int(l, "long long unsigned int", 8, 0);

	btf__add_struct(l, "task_struct___v2", 8);
	btf__add_field(l, "pid", u64, 0, 0);
	btf__add_struct(l, "mm_struct", 8);
	btf__add_field(l, "start_code", u64, 0, 0);
	btf__add_enum(l, "pid_type", 4);
	btf__add_enum_value(l, "PIDTYPE_TGID", 1);
	return l;
}

static void test_keeps_what_relocations_reach(void **state)
{
	struct btf *k = kernel_btf(), *l = local_btf(), *cut;
	const struct btf *locals[] = { l };
	const struct btf_type *task, *t;
	const struct btf_member *m;
	__u32 id;

	(void)state;
	cut = kernel_btf__cut(k, locals, 1);
	assert_non_null(cut);
	/* named by the program (task_struct by its essential name) */
	id = find(cut, "task_struct", BTF_KIND_STRUCT);
	assert_int_not_equal(id, 0);
	assert_int_not_equal(find(cut, "mm_struct", BTF_KIND_STRUCT), 0);
	assert_int_not_equal(find(cut, "pid_type", BTF_KIND_ENUM), 0);
	/* embedded, through an array: kept */
	assert_int_not_equal(find(cut, "sched_entity", BTF_KIND_STRUCT), 0);
	assert_int_not_equal(find(cut, "load_weight", BTF_KIND_STRUCT), 0);
	/* only pointed to, or not reachable: left out */
	assert_int_equal(find(cut, "files_struct", BTF_KIND_STRUCT), 0);
	assert_int_equal(find(cut, "unrelated", BTF_KIND_STRUCT), 0);
	assert_int_equal(find(cut, "pid_t", BTF_KIND_TYPEDEF), 0);

	/* the layout is intact, references renumbered */
	task = btf__type_by_id(cut, id);
	assert_int_equal(btf_vlen(task), 4);
	assert_int_equal(task->size, 40);
	m = btf_members(task);
	assert_string_equal(btf__name_by_offset(cut, m[1].name_off), "se");
	assert_int_equal(m[1].type, find(cut, "sched_entity", BTF_KIND_STRUCT));
	assert_int_equal(btf_member_bit_offset(task, 1), 64);
	/* a pointer to a kept type still points to it; to a dropped one, to void */
	t = btf__type_by_id(cut, m[2].type);
	assert_true(btf_is_ptr(t));
	assert_int_equal(t->type, find(cut, "mm_struct", BTF_KIND_STRUCT));
	t = btf__type_by_id(cut, m[3].type);
	assert_true(btf_is_ptr(t));
	assert_int_equal(t->type, 0);
	/* the enum keeps every value */
	t = btf__type_by_id(cut, find(cut, "pid_type", BTF_KIND_ENUM));
	assert_int_equal(btf_vlen(t), 2);
	assert_true(btf__type_cnt(cut) < btf__type_cnt(k));

	btf__free(cut);
	btf__free(l);
	btf__free(k);
}

static void test_nothing_named_keeps_nothing(void **state)
{
	struct btf *k = kernel_btf(), *l = btf__new_empty(), *cut;
	const struct btf *locals[] = { l };

	(void)state;
	btf__add_struct(l, "not_in_the_kernel", 4);
	cut = kernel_btf__cut(k, locals, 1);
	assert_non_null(cut);
	assert_int_equal(btf__type_cnt(cut), 1);	/* void only */
	btf__free(cut);
	btf__free(l);
	btf__free(k);
}

/*
 * The direct-load programs' ids: structs by name and kind (a union or a
 * function named "file" is not the struct), the kfunc by its function.
 */
static void test_finds_the_direct_load_ids(void **state)
{
	struct btf *k = btf__new_empty();
	struct kernel_btf_ids ids;
	int u32, proto, file, socket, unix_sock;

	(void)state;
	u32 = btf__add_int(k, "unsigned int", 4, 0);
	btf__add_union(k, "file", 4);
	btf__add_field(k, "x", u32, 0, 0);
	file = btf__add_struct(k, "file", 4);
	btf__add_field(k, "f_flags", u32, 0, 0);
	socket = btf__add_struct(k, "socket", 4);
	btf__add_field(k, "state", u32, 0, 0);
	proto = btf__add_func_proto(k, u32);
	btf__add_func(k, "socket", BTF_FUNC_GLOBAL, proto);
	kernel_btf__find_ids(k, &ids);
	assert_int_equal(ids.file, file);
	assert_int_equal(ids.socket, socket);
	assert_int_equal(ids.unix_sock, 0);
	assert_false(ids.rdonly_cast);
	assert_false(kernel_btf_ids__complete(&ids));

	unix_sock = btf__add_struct(k, "unix_sock", 4);
	btf__add_field(k, "peer", u32, 0, 0);
	btf__add_func(k, "bpf_rdonly_cast", BTF_FUNC_STATIC, proto);
	kernel_btf__find_ids(k, &ids);
	assert_int_equal(ids.unix_sock, unix_sock);
	assert_true(ids.rdonly_cast);
	assert_true(kernel_btf_ids__complete(&ids));
	btf__free(k);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keeps_what_relocations_reach),
		cmocka_unit_test(test_nothing_named_keeps_nothing),
		cmocka_unit_test(test_finds_the_direct_load_ids),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
