// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Names of global variables in reports: symbolizer__data against this very
 * executable (its own mappings from /proc/self/maps, its own globals and
 * their DWARF), libc without debug files, and memory that belongs to no
 * variable; then the race renderers showing the name.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analyzer/findings.h"
#include "analyzer/trace.h"
#include "reports/report.h"
#include "reports/symbolize.h"
#include "json_check.h"
#include "self_maps.h"

/* --- the variables to name ------------------------------------------------ */

struct {
	long hits;
	long misses;
} counters;

struct slot {
	int owner;
	int state;
};
struct slot table[4];

long plain_global;

typedef struct {
	const volatile int flags;
	union {
		long as_long;
		char bytes[8];
	};
	long per_cpu[4];
} stats_t;
stats_t stats;

/* far larger than a page: its end lies in the anonymous tail of .bss */
long big_table[65536][2];

/* initialized: its first image is in the file, at a known offset */
long seeded_global = 42;

static long static_counter;

/* every variable is used, so that none is optimized away */
__attribute__((noinline)) static long touch_all(void)
{
	__asm__ volatile("" ::: "memory");
	return counters.hits + counters.misses + table[2].state + plain_global + stats.flags +
	       stats.as_long + stats.per_cpu[1] + big_table[65535][1] + seeded_global +
	       static_counter;
}

/* --- fixture --------------------------------------------------------------- */

struct fixture {
	struct trace t;
	struct trace_process proc;
	char exe[TRACE_PATH_LEN];
	struct symbolizer *s;
};

static int setup_self(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	ssize_t n;

	assert_non_null(fx);
	touch_all();
	fx->t.nr_mappings = read_self_maps(&fx->t.mappings, getpid(), 1);
	fx->proc = (struct trace_process){ .pid = getpid(), .exit_status = -1 };
	strcpy(fx->proc.comm, "test_varname");
	fx->t.processes = &fx->proc;
	fx->t.nr_processes = 1;
	n = readlink("/proc/self/exe", fx->exe, sizeof(fx->exe) - 1);
	assert_true(n > 0);
	fx->s = symbolizer__new(&fx->t);
	assert_non_null(fx->s);
	*state = fx;
	return 0;
}

static int teardown_self(void **state)
{
	struct fixture *fx = *state;

	symbolizer__free(fx->s);
	free(fx->t.mappings);
	free(fx);
	return 0;
}

static void assert_data_name(struct symbolizer *s, const void *p, const char *want)
{
	char name[DATA_SYM_NAME_LEN];
	int err;

	err = symbolizer__data(s, getpid(), 10, (__u64)(uintptr_t)p, name, sizeof(name));
	if (err)
		fail_msg("%p (want %s): %s", p, want, strerror(-err));
	if (strcmp(name, want))
		fail_msg("%p: got '%s', want '%s'", p, name, want);
}

static const struct trace_mapping *self_mapping_of(const struct fixture *fx, const void *p)
{
	__u64 a = (__u64)(uintptr_t)p;
	size_t i;

	for (i = 0; i < fx->t.nr_mappings; i++)
		if (fx->t.mappings[i].start <= a && a < fx->t.mappings[i].end)
			return &fx->t.mappings[i];
	return NULL;
}

/* --- symbolizer__data ------------------------------------------------------ */

static void test_data_names_struct_member_of_global(void **state)
{
	struct fixture *fx = *state;

	assert_data_name(fx->s, &counters.misses, "counters.misses");
	assert_data_name(fx->s, &counters.hits, "counters.hits");
}

static void test_data_names_array_element_and_its_member(void **state)
{
	struct fixture *fx = *state;

	assert_data_name(fx->s, &table[2].state, "table[2].state");
	assert_data_name(fx->s, &table[0].owner, "table[0].owner");
	assert_data_name(fx->s, &table[3], "table[3].owner");
}

static void test_data_names_scalar_global_by_itself(void **state)
{
	struct fixture *fx = *state;

	assert_data_name(fx->s, &plain_global, "plain_global");
	assert_data_name(fx->s, &seeded_global, "seeded_global");
	/* a byte inside a scalar: the rest is an offset */
	assert_data_name(fx->s, (char *)&plain_global + 4, "plain_global+0x4");
}

static void test_data_sees_through_typedef_qualifiers_and_anonymous_union(void **state)
{
	struct fixture *fx = *state;

	assert_data_name(fx->s, (const void *)(uintptr_t)&stats.flags, "stats.flags");
	/* the first member of an anonymous union, with no name of its own */
	assert_data_name(fx->s, &stats.as_long, "stats.as_long");
	assert_data_name(fx->s, &stats.per_cpu[1], "stats.per_cpu[1]");
}

static void test_data_names_static_variable_by_its_source_name(void **state)
{
	struct fixture *fx = *state;

	assert_data_name(fx->s, &static_counter, "static_counter");
}

static void test_data_names_bss_past_the_file_in_anonymous_tail(void **state)
{
	struct fixture *fx = *state;
	const struct trace_mapping *m = self_mapping_of(fx, &big_table[65535][1]);
	struct data_sym d;

	/* the case this test is about: the word is in a mapping with no path */
	assert_non_null(m);
	assert_string_equal(m->path, "");
	assert_data_name(fx->s, &big_table[65535][1], "big_table[65535][1]");
	assert_data_name(fx->s, &big_table[3][0], "big_table[3][0]");
	assert_int_equal(symbolizer__data_sym(fx->s, getpid(), 10,
					      (__u64)(uintptr_t)&big_table[65535][1], &d), 0);
	assert_string_equal(d.module, fx->exe);
}

static void test_data_module_offset_counts_from_the_origin_frames_use(void **state)
{
	struct fixture *fx = *state;
	__u64 code = (__u64)(uintptr_t)touch_all, data = (__u64)(uintptr_t)&counters.misses;
	struct data_sym d;
	struct frame fr;

	assert_int_equal(symbolizer__data_sym(fx->s, getpid(), 10, data, &d), 0);
	assert_int_equal(symbolizer__frame(fx->s, getpid(), 10, code, false, &fr), 0);
	/* module+offset of a variable and of a function: one origin */
	assert_string_equal(d.module, fr.module);
	assert_int_equal(d.offset - fr.offset, data - code);
}

static void test_data_heap_stack_and_shared_memory_have_no_name(void **state)
{
	struct fixture *fx = *state;
	char name[DATA_SYM_NAME_LEN] = "x";
	long on_stack = 0;
	long *heap = malloc(64);
	void *shared;

	assert_non_null(heap);
	shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(shared != MAP_FAILED);
	/* the snapshot taken now holds both the heap and the new mapping */
	free(fx->t.mappings);
	fx->t.nr_mappings = read_self_maps(&fx->t.mappings, getpid(), 1);
	symbolizer__free(fx->s);
	fx->s = symbolizer__new(&fx->t);
	assert_non_null(fx->s);

	assert_int_equal(symbolizer__data(fx->s, getpid(), 10, (__u64)(uintptr_t)heap, name,
					  sizeof(name)), -ENOENT);
	assert_string_equal(name, "");
	assert_int_equal(symbolizer__data(fx->s, getpid(), 10, (__u64)(uintptr_t)&on_stack,
					  name, sizeof(name)), -ENOENT);
	assert_int_equal(symbolizer__data(fx->s, getpid(), 10, (__u64)(uintptr_t)shared, name,
					  sizeof(name)), -ENOENT);
	/* a function is no variable */
	assert_int_equal(symbolizer__data(fx->s, getpid(), 10, (__u64)(uintptr_t)touch_all,
					  name, sizeof(name)), -ENOENT);
	/* in no mapping, and a process the trace does not know */
	assert_int_equal(symbolizer__data(fx->s, getpid(), 10, 0x10, name, sizeof(name)),
			 -ENOENT);
	assert_int_equal(symbolizer__data(fx->s, 1, 10, (__u64)(uintptr_t)&plain_global, name,
					  sizeof(name)), -ENOENT);
	munmap(shared, 4096);
	free(heap);
}

struct rw_segment {
	ElfW(Addr) load_bias;
	ElfW(Phdr) ph;
	bool found;
};

static int find_main_rw_segment(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct rw_segment *seg = arg;
	int i;

	(void)size;
	for (i = 0; i < info->dlpi_phnum; i++) {
		if (info->dlpi_phdr[i].p_type == PT_LOAD && (info->dlpi_phdr[i].p_flags & PF_W)) {
			seg->load_bias = info->dlpi_addr;
			seg->ph = info->dlpi_phdr[i];
			seg->found = true;
		}
	}
	return 1;	/* the first object is the executable */
}

static void test_data_whole_elf_file_mapped_as_data_is_not_guessed(void **state)
{
	struct fixture *fx = *state;
	char name[DATA_SYM_NAME_LEN];
	struct rw_segment seg = { 0 };
	struct stat st;
	__u64 file_off;
	char *map;
	int fd;

	dl_iterate_phdr(find_main_rw_segment, &seg);
	assert_true(seg.found);
	file_off = (__u64)(uintptr_t)&seeded_global - seg.load_bias - seg.ph.p_vaddr +
		   seg.ph.p_offset;
	fd = open(fx->exe, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	map = mmap(NULL, st.st_size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	close(fd);
	assert_true(map != MAP_FAILED);
	/* the bytes are seeded_global's initial image, but no variable */
	assert_int_equal(*(long *)(map + file_off), 42);
	free(fx->t.mappings);
	fx->t.nr_mappings = read_self_maps(&fx->t.mappings, getpid(), 1);
	symbolizer__free(fx->s);
	fx->s = symbolizer__new(&fx->t);
	assert_non_null(fx->s);
	assert_int_equal(symbolizer__data(fx->s, getpid(), 10, (__u64)(uintptr_t)(map + file_off),
					  name, sizeof(name)), -ENOENT);
	/* the loaded variable still has its name */
	assert_data_name(fx->s, &seeded_global, "seeded_global");
	munmap(map, st.st_size);
}

static void test_data_without_dwarf_is_symbol_plus_offset(void **state)
{
	struct fixture *fx = *state;
	const char *in_stdout = (const char *)stdout + 8;

	/* libc's own file has no DWARF; no debug file where we look */
	assert_int_equal(symbolizer__set_debug_dir(fx->s, "/nonexistent-ipcrace-debug"), 0);
	assert_data_name(fx->s, in_stdout, "_IO_2_1_stdout_+0x8");
}

static void test_data_with_debug_file_names_libc_member(void **state)
{
	struct fixture *fx = *state;
	const char *in_stdout = (const char *)&stdout->_IO_read_ptr;
	char name[DATA_SYM_NAME_LEN];

	assert_int_equal(symbolizer__data(fx->s, getpid(), 10, (__u64)(uintptr_t)in_stdout,
					  name, sizeof(name)), 0);
	if (!strcmp(name, "_IO_2_1_stdout_+0x8"))
		skip();		/* no libc debug file on this machine */
	/* struct _IO_FILE_plus { FILE file; ... }: the path goes through it */
	assert_string_equal(name, "_IO_2_1_stdout_.file._IO_read_ptr");
}

static void test_data_truncates_name_to_buffer(void **state)
{
	struct fixture *fx = *state;
	char name[8];

	assert_int_equal(symbolizer__data(fx->s, getpid(), 10,
					  (__u64)(uintptr_t)&counters.misses, name, sizeof(name)), 0);
	assert_string_equal(name, "counter");
	assert_int_equal(symbolizer__data(NULL, getpid(), 10, 0, name, sizeof(name)), -EINVAL);
}

/* --- renderers ------------------------------------------------------------- */

static char *render(const struct trace *t, const struct findings *fs, enum report_format format)
{
	struct report_opts opts = { .format = format, .seed = 7, .watched_words = 1 };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(report__write(f, t, fs, &opts), 0);
	fclose(f);
	if (getenv("REPORTS_TEST_SHOW"))
		fputs(buf, stderr);
	return buf;
}

/* A write/write race of two threads of this process on addr. */
static struct finding race_on(__u64 addr)
{
	struct finding f = { .kind = FINDING_DATA_RACE, .nr_accesses = 2 };
	int i;

	f.object = (struct finding_object){
		.key = { .space = KEY_PRIVATE, .a = getpid(), .b = addr },
		.addr = addr, .size = 8, .pid = getpid(), .obj = OBJ_MEMORY,
	};
	for (i = 0; i < 2; i++) {
		f.accesses[i].ts = 100 + i;
		f.accesses[i].pid = getpid();
		f.accesses[i].tid = getpid() + i;
		f.accesses[i].flags = EVF_WRITE;
		strcpy(f.accesses[i].comm, "worker");
	}
	return f;
}

static void test_reports_name_the_global_of_a_race(void **state)
{
	struct fixture *fx = *state;
	struct finding f = race_on((__u64)(uintptr_t)&counters.misses);
	struct findings fs = { .items = &f, .nr = 1 };
	char want[256], *out;
	const char *base = strrchr(fx->exe, '/') + 1;
	struct data_sym d;

	assert_int_equal(symbolizer__race_object(fx->s, &f, &d), 0);
	snprintf(want, sizeof(want),
		 "  Location is global 'counters.misses' of size 8 at 0x%llx (%s+0x%llx).\n",
		 (unsigned long long)(uintptr_t)&counters.misses, base,
		 (unsigned long long)d.offset);
	out = render(&fx->t, &fs, REPORT_TEXT);
	if (!strstr(out, want))
		fail_msg("missing %s in\n%s", want, out);
	free(out);

	out = render(&fx->t, &fs, REPORT_JSON);
	assert_true(json_is_valid(out));
	assert_non_null(strstr(out, "\"symbol\": \"counters.misses\""));
	free(out);

	out = render(&fx->t, &fs, REPORT_SARIF);
	assert_true(json_is_valid(out));
	assert_non_null(strstr(out, "\"fullyQualifiedName\": \"counters.misses\""));
	assert_non_null(strstr(out, "\"kind\": \"variable\""));
	free(out);

	out = render(&fx->t, &fs, REPORT_PERFETTO);
	assert_true(json_is_valid(out));
	assert_non_null(strstr(out, "\"symbol\":\"counters.misses\""));
	free(out);
}

static void test_reports_leave_symbol_null_for_heap_race(void **state)
{
	struct fixture *fx = *state;
	long *heap = malloc(64);
	struct finding f;
	struct findings fs;
	char *out;

	assert_non_null(heap);
	f = race_on((__u64)(uintptr_t)heap);
	fs = (struct findings){ .items = &f, .nr = 1 };
	out = render(&fx->t, &fs, REPORT_JSON);
	assert_non_null(strstr(out, "\"symbol\": null"));
	free(out);
	out = render(&fx->t, &fs, REPORT_TEXT);
	assert_null(strstr(out, "Location is global"));
	assert_non_null(strstr(out, "  Location is 0x"));
	free(out);
	out = render(&fx->t, &fs, REPORT_SARIF);
	assert_null(strstr(out, "fullyQualifiedName"));
	free(out);
	free(heap);
}

#define SELF_TEST(fn) cmocka_unit_test_setup_teardown(fn, setup_self, teardown_self)

int main(void)
{
	const struct CMUnitTest tests[] = {
		SELF_TEST(test_data_names_struct_member_of_global),
		SELF_TEST(test_data_names_array_element_and_its_member),
		SELF_TEST(test_data_names_scalar_global_by_itself),
		SELF_TEST(test_data_sees_through_typedef_qualifiers_and_anonymous_union),
		SELF_TEST(test_data_names_static_variable_by_its_source_name),
		SELF_TEST(test_data_names_bss_past_the_file_in_anonymous_tail),
		SELF_TEST(test_data_module_offset_counts_from_the_origin_frames_use),
		SELF_TEST(test_data_heap_stack_and_shared_memory_have_no_name),
		SELF_TEST(test_data_whole_elf_file_mapped_as_data_is_not_guessed),
		SELF_TEST(test_data_without_dwarf_is_symbol_plus_offset),
		SELF_TEST(test_data_with_debug_file_names_libc_member),
		SELF_TEST(test_data_truncates_name_to_buffer),
		SELF_TEST(test_reports_name_the_global_of_a_race),
		SELF_TEST(test_reports_leave_symbol_null_for_heap_race),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
