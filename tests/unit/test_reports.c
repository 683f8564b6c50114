// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * reports/: symbolization against this very executable (its own mappings
 * read from /proc/self/maps, its own noinline functions), object names,
 * escaping of hostile strings, the text, JSON and dump renderers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "analyzer/findings.h"
#include "analyzer/trace.h"
#include "reports/buildid.h"
#include "reports/dump.h"
#include "reports/escape.h"
#include "reports/json_writer.h"
#include "reports/objname.h"
#include "reports/report.h"
#include "reports/symbolize.h"
#include "json_check.h"
#include "self_maps.h"

/* --- code to symbolize --------------------------------------------------- */

static const int probe_target_line = __LINE__ + 2;
__attribute__((noinline)) int reports_probe_target(int x)
{
	__asm__ volatile("" ::: "memory");
	return x * 3 + 1;
}

static __attribute__((noinline)) void *capture_return_address(void)
{
	void *ra = __builtin_return_address(0);

	__asm__ volatile("" : : "r"(ra) : "memory");
	return ra;
}

static int probe_caller_line;
__attribute__((noinline)) void *reports_probe_caller(void)
{
	void *ra;

	probe_caller_line = __LINE__ + 1;
	ra = capture_return_address();
	/* the use after the call keeps it from becoming a tail call */
	__asm__ volatile("" : : "r"(ra) : "memory");
	return ra;
}

static int inlined_call_line, outer_call_line;
static inline __attribute__((always_inline)) void *inlined_probe(void)
{
	void *ra;

	inlined_call_line = __LINE__ + 1;
	ra = capture_return_address();
	__asm__ volatile("" : : "r"(ra) : "memory");
	return ra;
}

__attribute__((noinline)) void *reports_probe_outer(void)
{
	void *ra;

	outer_call_line = __LINE__ + 1;
	ra = inlined_probe();
	__asm__ volatile("" : : "r"(ra) : "memory");
	return ra;
}

/* --- helpers ------------------------------------------------------------- */

#define FAKE_DEV makedev(0, 26)
#define BANK_INO 4242
#define SEM_INO 4343
#define ANON_INO 5151
#define SYSV_INO 6161
#define MEMFD_INO 7171

struct fixture {
	struct trace t;
	struct trace_process procs[2];
	struct ipcrace_stack stacks[2];
	char exe[TRACE_PATH_LEN];
};

static int setup_self(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	ssize_t n;

	assert_non_null(fx);
	fx->t.nr_mappings = read_self_maps(&fx->t.mappings, getpid(), 1);
	fx->procs[0] = (struct trace_process){ .pid = getpid(), .exit_status = -1 };
	strcpy(fx->procs[0].comm, "test_reports");
	/* a child forked without exec, with no snapshot of its own */
	fx->procs[1] = (struct trace_process){ .pid = getpid() + 100000, .ppid = getpid(),
					       .exit_status = -1 };
	fx->t.processes = fx->procs;
	fx->t.nr_processes = 2;
	n = readlink("/proc/self/exe", fx->exe, sizeof(fx->exe) - 1);
	assert_true(n > 0);
	/* stack 1: return address into reports_probe_caller; 2: exact ip */
	fx->stacks[0].id = 1;
	fx->stacks[0].nr = 1;
	fx->stacks[0].ips[0] = (__u64)(uintptr_t)reports_probe_caller();
	fx->stacks[1].id = 2;
	fx->stacks[1].nr = 1;
	fx->stacks[1].flags = STACKF_EXACT_IP;
	fx->stacks[1].ips[0] = (__u64)(uintptr_t)&reports_probe_target;
	fx->t.stacks = fx->stacks;
	fx->t.nr_stacks = 2;
	*state = fx;
	return 0;
}

static int teardown_self(void **state)
{
	struct fixture *fx = *state;

	free(fx->t.mappings);
	free(fx);
	return 0;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && !strcmp(s + n - k, suffix);
}

/* Renders into a string with open_memstream; the caller frees it. */
static char *render(const struct trace *t, const struct findings *fs,
		    enum report_format format, bool color)
{
	struct report_opts opts = { .format = format, .color = color, .seed = 7,
				    .watched_words = 4 };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(report__write(f, t, fs, &opts), 0);
	fclose(f);
	/* REPORTS_TEST_SHOW=1 shows what the assertions look at */
	if (getenv("REPORTS_TEST_SHOW"))
		fputs(buf, stderr);
	return buf;
}

static char *render_dump(const struct trace *t)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(dump__write(f, t), 0);
	fclose(f);
	return buf;
}

/* --- a synthetic trace of two processes sharing /dev/shm/bank ------------ */

static struct finding_object file_lock(__u16 obj, __u64 ino, __u64 off, __u32 pid, __u64 addr)
{
	return (struct finding_object){
		.key = { .a = FAKE_DEV, .b = ino, .c = off, .space = KEY_FILE },
		.addr = addr, .pid = pid, .obj = obj,
	};
}

static struct trace_mapping shared_mapping(__u32 pid, __u64 start, __u64 ino, const char *path)
{
	struct trace_mapping m = {
		.ts = 1, .start = start, .end = start + 0x1000, .dev = FAKE_DEV, .ino = ino,
		.pid = pid, .prot = PROT_READ | PROT_WRITE, .flags = MAPF_SHARED,
	};

	snprintf(m.path, sizeof(m.path), "%s", path);
	return m;
}

/* Appends the shared-memory mappings of pids 10 and 11 to fx's trace. */
static void add_shared_mappings(struct fixture *fx)
{
	struct trace_mapping extra[] = {
		shared_mapping(10, 0x7f0000000000, BANK_INO, "/dev/shm/bank"),
		shared_mapping(11, 0x7f1000000000, BANK_INO, "/dev/shm/bank"),
		shared_mapping(10, 0x7f0000010000, SEM_INO, "/dev/shm/sem.forks"),
		shared_mapping(10, 0x7f0000020000, ANON_INO, "/dev/zero (deleted)"),
		shared_mapping(10, 0x7f0000030000, SYSV_INO, "/SYSV0000162e (deleted)"),
		shared_mapping(10, 0x7f0000040000, MEMFD_INO, "/memfd:ring (deleted)"),
	};
	size_t n = sizeof(extra) / sizeof(extra[0]);

	fx->t.mappings = realloc(fx->t.mappings, (fx->t.nr_mappings + n) * sizeof(extra[0]));
	assert_non_null(fx->t.mappings);
	memcpy(fx->t.mappings + fx->t.nr_mappings, extra, sizeof(extra));
	fx->t.nr_mappings += n;
}

static struct finding_access access_of(__u32 pid, __u32 tid, const char *comm, __u64 ts,
				       __u64 stack_id)
{
	struct finding_access a = { .ts = ts, .stack_id = stack_id, .pid = pid, .tid = tid };

	/* like the kernel's comm, not NUL-terminated when it is 16 bytes */
	memcpy(a.comm, comm, strnlen(comm, sizeof(a.comm)));
	return a;
}

/* M1 => M2 by pid 10 (in this process's address space: real stacks) */
static struct finding lock_order_finding(__u32 pid, const char *comm)
{
	struct finding f = { .kind = FINDING_LOCK_ORDER_INVERSION };
	struct finding_edge *e = calloc(2, sizeof(*e));

	assert_non_null(e);
	e[0].held = file_lock(OBJ_MUTEX, BANK_INO, 0x0, pid, 0x7f0000000000);
	e[0].lock = file_lock(OBJ_MUTEX, BANK_INO, 0x40, pid, 0x7f0000000040);
	e[0].who = access_of(pid, pid, comm, 2000, 1);
	e[0].held_stack_id = 2;
	e[1].held = e[0].lock;
	e[1].lock = e[0].held;
	e[1].who = access_of(pid, pid + 1, comm, 3000, 1);
	e[1].held_stack_id = 2;
	f.cycle = e;
	f.nr_cycle = 2;
	return f;
}

/* --- symbolizer ----------------------------------------------------------- */

static void test_symbolizer_names_function_file_and_line_of_exact_ip(void **state)
{
	struct fixture *fx = *state;
	struct symbolizer *s = symbolizer__new(&fx->t);
	__u64 ip = (__u64)(uintptr_t)&reports_probe_target;
	struct frame fr;

	assert_non_null(s);
	assert_int_equal(symbolizer__frame(s, getpid(), 10, ip, false, &fr), 0);
	assert_non_null(fr.function);
	assert_string_equal(fr.function, "reports_probe_target");
	assert_non_null(fr.file);
	assert_true(ends_with(fr.file, "test_reports.c"));
	/* the entry is on the declaration, the brace or, optimized, the body */
	assert_in_range(fr.line, probe_target_line - 1, probe_target_line + 3);
	assert_non_null(fr.module);
	assert_string_equal(fr.module, fx->exe);
	assert_int_equal(fr.ip, ip);
	symbolizer__free(s);
}

static void test_symbolizer_return_address_resolves_to_call_line(void **state)
{
	struct fixture *fx = *state;
	struct symbolizer *s = symbolizer__new(&fx->t);
	__u64 ra = (__u64)(uintptr_t)reports_probe_caller();
	struct frame fr;

	assert_non_null(s);
	assert_int_equal(symbolizer__frame(s, getpid(), 10, ra, true, &fr), 0);
	assert_string_equal(fr.function, "reports_probe_caller");
	assert_int_equal(fr.line, probe_caller_line);
	/* the same address from the cache gives the same answer */
	assert_int_equal(symbolizer__frame(s, getpid(), 10, ra, true, &fr), 0);
	assert_int_equal(fr.line, probe_caller_line);
	symbolizer__free(s);
}

static void test_symbolizer_expands_inlined_call_into_caller_frames(void **state)
{
	struct fixture *fx = *state;
	struct symbolizer *s = symbolizer__new(&fx->t);
	__u64 ra = (__u64)(uintptr_t)reports_probe_outer();
	struct frame fr;

	assert_non_null(s);
	assert_int_equal(symbolizer__frame(s, getpid(), 10, ra, true, &fr), 0);
	assert_string_equal(fr.function, "inlined_probe");
	assert_int_equal(fr.line, inlined_call_line);
	assert_int_equal(fr.nr_inlined, 1);
	assert_string_equal(fr.inlined[0].function, "reports_probe_outer");
	assert_int_equal(fr.inlined[0].line, outer_call_line);
	assert_true(ends_with(fr.inlined[0].file, "test_reports.c"));
	symbolizer__free(s);
}

static void test_symbolizer_names_libc_function_without_debuginfo(void **state)
{
	struct fixture *fx = *state;
	struct symbolizer *s = symbolizer__new(&fx->t);
	__u64 ip = (__u64)(uintptr_t)&pthread_mutex_lock;
	struct frame fr;

	assert_non_null(s);
	assert_int_equal(symbolizer__frame(s, getpid(), 10, ip, false, &fr), 0);
	assert_non_null(fr.module);
	assert_non_null(strstr(fr.module, "libc.so"));
	assert_non_null(fr.function);
	assert_non_null(strstr(fr.function, "pthread_mutex_lock"));
	symbolizer__free(s);
}

static void test_symbolizer_child_without_maps_uses_parent_layout(void **state)
{
	struct fixture *fx = *state;
	struct symbolizer *s = symbolizer__new(&fx->t);
	__u64 ip = (__u64)(uintptr_t)&reports_probe_target;
	struct frame fr;

	assert_non_null(s);
	assert_int_equal(symbolizer__frame(s, fx->procs[1].pid, 10, ip, false, &fr), 0);
	assert_string_equal(fr.function, "reports_probe_target");
	/* a pid the trace knows nothing about resolves nothing */
	assert_int_equal(symbolizer__frame(s, 1, 10, ip, false, &fr), -ENOENT);
	assert_null(fr.function);
	assert_null(fr.module);
	symbolizer__free(s);
}

static void test_symbolizer_build_id_mismatch_gives_module_and_offset(void **state)
{
	struct fixture *fx = *state;
	__u64 ip = (__u64)(uintptr_t)&reports_probe_target, base = UINT64_MAX;
	struct symbolizer *s;
	struct frame fr;
	size_t i;

	/* as if the binary had been rebuilt since the recording */
	for (i = 0; i < fx->t.nr_mappings; i++) {
		struct trace_mapping *m = &fx->t.mappings[i];

		if (strcmp(m->path, fx->exe))
			continue;
		assert_true(m->build_id_len > 0);
		m->build_id[0] ^= 0xff;
		if (m->start - m->pgoff < base)
			base = m->start - m->pgoff;
	}
	s = symbolizer__new(&fx->t);
	assert_non_null(s);
	assert_int_equal(symbolizer__set_debug_dir(s, "/nonexistent-ipcrace-debug"), 0);
	assert_int_equal(symbolizer__frame(s, getpid(), 10, ip, false, &fr), 0);
	assert_null(fr.function);
	assert_null(fr.file);
	assert_string_equal(fr.module, fx->exe);
	assert_int_equal(fr.offset, ip - base);
	symbolizer__free(s);
}

static void test_symbolizer_uses_latest_snapshot_before_event(void **state)
{
	struct fixture *fx = *state;
	__u64 ip = (__u64)(uintptr_t)&reports_probe_target;
	struct trace_mapping *m;
	struct symbolizer *s;
	struct frame fr;

	/* a later snapshot maps something else over the same address */
	fx->t.mappings = realloc(fx->t.mappings, (fx->t.nr_mappings + 1) * sizeof(*m));
	assert_non_null(fx->t.mappings);
	m = &fx->t.mappings[fx->t.nr_mappings++];
	*m = (struct trace_mapping){ .ts = 500, .start = ip & ~0xfffull, .end = (ip & ~0xfffull) + 0x1000,
				     .pid = getpid(), .prot = PROT_EXEC };
	strcpy(m->path, "/nonexistent/later.so");
	s = symbolizer__new(&fx->t);
	assert_non_null(s);
	assert_int_equal(symbolizer__frame(s, getpid(), 10, ip, false, &fr), 0);
	assert_string_equal(fr.function, "reports_probe_target");
	assert_int_equal(symbolizer__frame(s, getpid(), 600, ip, false, &fr), 0);
	assert_null(fr.function);
	assert_string_equal(fr.module, "/nonexistent/later.so");
	symbolizer__free(s);
}

/* --- build-id -------------------------------------------------------------- */

static void test_elf_build_id_reads_20_bytes_from_self(void **state)
{
	__u8 id[TRACE_BUILD_ID_MAX], again[TRACE_BUILD_ID_MAX], zero[TRACE_BUILD_ID_MAX] = { 0 };

	(void)state;
	assert_int_equal(elf_build_id__read("/proc/self/exe", id, sizeof(id)), 20);
	assert_memory_not_equal(id, zero, sizeof(id));
	assert_int_equal(elf_build_id__read("/proc/self/exe", again, sizeof(again)), 20);
	assert_memory_equal(id, again, sizeof(id));
	assert_int_equal(elf_build_id__read("/proc/self/exe", id, 8), -ENOSPC);
}

static void test_elf_build_id_fails_on_missing_and_non_elf_files(void **state)
{
	__u8 id[TRACE_BUILD_ID_MAX];

	(void)state;
	assert_int_equal(elf_build_id__read("/nonexistent/file", id, sizeof(id)), -ENOENT);
	assert_int_equal(elf_build_id__read("/proc/self/maps", id, sizeof(id)), -ENOEXEC);
}

/* --- object names --------------------------------------------------------- */

static void assert_objname(struct fixture *fx, struct finding_object o, const char *want)
{
	char buf[OBJNAME_LEN];

	assert_string_equal(objname__format(buf, sizeof(buf), &fx->t, &o), want);
}

static void test_objname_names_shared_private_and_semaphore_keys(void **state)
{
	struct fixture *fx = *state;
	struct finding_object priv = {
		.key = { .a = 10, .b = 0x55d0c0a0, .space = KEY_PRIVATE },
		.addr = 0x55d0c0a0, .pid = 10, .obj = OBJ_MUTEX,
	};
	struct finding_object sysv = {
		.key = { .a = 3, .b = 1, .space = KEY_SYSV_SEM }, .obj = OBJ_SYSV_SEM,
	};

	add_shared_mappings(fx);
	assert_objname(fx, file_lock(OBJ_MUTEX, BANK_INO, 0x40, 11, 0), "mutex in /dev/shm/bank +0x40");
	assert_objname(fx, priv, "mutex 0x55d0c0a0 in pid 10");
	assert_objname(fx, file_lock(OBJ_SEM, SEM_INO, 0, 10, 0), "semaphore /dev/shm/sem.forks +0x0");
	assert_objname(fx, file_lock(OBJ_RWLOCK, ANON_INO, 8, 11, 0),
		       "rwlock in anonymous shared memory (from pid 10) +0x8");
	assert_objname(fx, file_lock(OBJ_MUTEX, SYSV_INO, 0, 10, 0),
		       "mutex in SysV shm key 0x0000162e +0x0");
	assert_objname(fx, file_lock(OBJ_SPIN, MEMFD_INO, 0x10, 10, 0), "spinlock in memfd:ring +0x10");
	assert_objname(fx, file_lock(OBJ_MEMORY, BANK_INO, 0x18, 10, 0), "/dev/shm/bank +0x18");
	assert_objname(fx, sysv, "SysV semaphore 3 #1");
	/* a key no mapping explains still gets a stable name */
	assert_objname(fx, file_lock(OBJ_MUTEX, 99, 0, 10, 0), "mutex in file dev 0:26 inode 99 +0x0");
}

/* --- escaping --------------------------------------------------------------- */

static char *escape_to_string(bool json, const char *s)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(json ? escape__json(f, s, SIZE_MAX) : escape__text(f, s, SIZE_MAX), 0);
	fclose(f);
	return buf;
}

static void test_escape_keeps_escape_sequences_out_of_text_and_json(void **state)
{
	const char *evil = "\x1b[31mred\"q\\\x9b\xc2\x9b\xe2\x80\xae\xff";
	char *text = escape_to_string(false, evil);
	char *json = escape_to_string(true, evil);
	char small[5];

	(void)state;
	assert_null(strchr(text, '\x1b'));
	assert_false(has_raw_control(text, false));
	assert_string_equal(text, "\\x1b[31mred\"q\\\\\\x9b\\xc2\\x9b\\xe2\\x80\\xae\\xff");
	assert_true(json_is_valid(json));
	assert_false(has_raw_control(json, false));
	assert_string_equal(json, "\"\\u001b[31mred\\\"q\\\\\\\\x9b\\u009b\\u202e\\\\xff\"");
	/* readable UTF-8 passes untouched */
	free(text);
	text = escape_to_string(false, "caf\xc3\xa9");
	assert_string_equal(text, "caf\xc3\xa9");
	/* a buffer too small never gets half an escape */
	assert_string_equal(escape__text_buf(small, sizeof(small), "ab\x1b", SIZE_MAX), "ab");
	free(text);
	free(json);
}

static void test_json_writer_places_commas_and_rejects_misuse(void **state)
{
	struct json_writer *w;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	(void)state;
	w = json_writer__new(f, false);
	json_writer__start_object(w);
	json_writer__name(w, "a");
	json_writer__start_array(w);
	json_writer__uint(w, 1);
	json_writer__int(w, -2);
	json_writer__null(w);
	json_writer__end_array(w);
	json_writer__name(w, "b");
	json_writer__start_object(w);
	json_writer__end_object(w);
	json_writer__kv_string(w, "c\n", "x\"y");
	json_writer__end_object(w);
	assert_int_equal(json_writer__free(w), 0);
	fclose(f);
	assert_string_equal(buf, "{\"a\":[1,-2,null],\"b\":{},\"c\\n\":\"x\\\"y\"}\n");
	free(buf);

	f = open_memstream(&buf, &len);
	w = json_writer__new(f, false);
	json_writer__start_object(w);
	json_writer__uint(w, 1);		/* a value without a name */
	json_writer__end_array(w);		/* the wrong closer */
	assert_int_equal(json_writer__free(w), -EINVAL);
	fclose(f);
	free(buf);
}

/* --- renderers ------------------------------------------------------------ */

static void test_text_report_shows_cycle_stacks_and_summary(void **state)
{
	struct fixture *fx = *state;
	struct findings fs = { 0 };
	struct finding f;
	char *out, want[128];

	add_shared_mappings(fx);
	f = lock_order_finding(getpid(), "abba");
	fs.items = &f;
	fs.nr = 1;
	out = render(&fx->t, &fs, REPORT_TEXT, false);
	snprintf(want, sizeof(want),
		 "WARNING: ipcrace: lock-order-inversion (potential deadlock) (pid=%d)\n", getpid());
	assert_non_null(strstr(out, "==================\n"));
	assert_non_null(strstr(out, want));
	assert_non_null(strstr(out, "Cycle in lock order graph: M1 (mutex in /dev/shm/bank +0x0)"
				    " => M2 (mutex in /dev/shm/bank +0x40) => M1\n"));
	snprintf(want, sizeof(want),
		 "Mutex M2 acquired here while holding mutex M1 by thread T%d (pid %d, comm 'abba'):\n",
		 getpid(), getpid());
	assert_non_null(strstr(out, want));
	assert_non_null(strstr(out, "Mutex M1 previously acquired by the same thread here:\n"));
	assert_non_null(strstr(out, "    #0 reports_probe_caller "));
	assert_non_null(strstr(out, "    #0 reports_probe_target "));
	snprintf(want, sizeof(want), "SUMMARY: ipcrace: lock-order-inversion test_reports.c:%d in reports_probe_caller\n",
		 probe_caller_line);
	assert_non_null(strstr(out, want));
	assert_non_null(strstr(out, "ipcrace: 1 report (1 finding) in "));
	/* no footer: the reader must be told the trace is incomplete */
	assert_non_null(strstr(out, "ipcrace: INCOMPLETE trace: no footer: the recording was cut off"));
	assert_null(strchr(out, '\x1b'));
	free(out);
	free(f.cycle);
}

static void test_text_report_escapes_hostile_comm_and_colors_only_headline(void **state)
{
	struct fixture *fx = *state;
	struct findings fs = { 0 };
	struct finding f;
	char *out, *p;
	size_t nr_esc = 0;

	f = lock_order_finding(getpid(), "\x1b]0;pwn\a\"x");
	fs.items = &f;
	fs.nr = 1;
	out = render(&fx->t, &fs, REPORT_TEXT, false);
	assert_null(strchr(out, '\x1b'));
	assert_null(strchr(out, '\a'));
	assert_non_null(strstr(out, "comm '\\x1b]0;pwn\\x07\"x'"));
	free(out);

	out = render(&fx->t, &fs, REPORT_TEXT, true);
	for (p = out; (p = strchr(p, '\x1b')); p++)
		nr_esc++;
	/* one colour on, one reset, around the single headline */
	assert_int_equal(nr_esc, 2);
	assert_non_null(strstr(out, "\x1b[1;31mWARNING: ipcrace:"));
	free(out);
	free(f.cycle);
}

static void test_text_report_data_race_shows_both_accesses_and_location(void **state)
{
	struct fixture *fx = *state;
	struct findings fs = { 0 };
	struct finding f = { .kind = FINDING_DATA_RACE };
	char *out;

	add_shared_mappings(fx);
	f.object = file_lock(OBJ_MEMORY, ANON_INO, 8, 11, 0x7f1000000008);
	f.object.size = 8;
	f.accesses[0] = access_of(getpid(), getpid(), "worker", 100, 2);
	f.accesses[0].flags = EVF_READ;
	f.accesses[1] = access_of(11, 11, "worker", 200, 0);
	f.accesses[1].flags = EVF_WRITE;
	f.accesses[1].nr_locks = 1;
	f.accesses[1].locks_held[0] = file_lock(OBJ_MUTEX, BANK_INO, 0, 11, 0x7f1000000000);
	f.nr_accesses = 2;
	fs.items = &f;
	fs.nr = 1;
	out = render(&fx->t, &fs, REPORT_TEXT, false);
	assert_non_null(strstr(out, "WARNING: ipcrace: data race (pid=11)\n"));
	assert_non_null(strstr(out, "  Write of size 8 by thread T11 (pid 11, comm 'worker'):\n"
				    "    <no stack recorded>\n"
				    "    Locks held: M1 (mutex in /dev/shm/bank +0x0)\n"));
	assert_non_null(strstr(out, "  Previous read of size 8 by thread T"));
	assert_non_null(strstr(out, "    Locks held: none\n"));
	assert_non_null(strstr(out, "  Location is anonymous shared memory (from pid 10) +0x8, 8 bytes.\n"));
	/* the writer has no stack: the summary points at the reader's code */
	assert_non_null(strstr(out, "SUMMARY: ipcrace: data race test_reports.c:"));
	assert_non_null(strstr(out, " in reports_probe_target\n"));
	free(out);
}

static void test_text_report_without_findings_prints_stats_and_exit_status(void **state)
{
	struct fixture *fx = *state;
	struct findings fs = { 0 };
	struct ipcrace_event ev[2] = {
		{ .ts = 10, .pid = 10, .tid = 10, .type = EV_LOCK_ACQUIRED },
		{ .ts = 11, .pid = 10, .tid = 12, .type = EV_LOCK_RELEASE },
	};
	char *out;

	fx->t.events = ev;
	fx->t.nr_events = 2;
	fx->t.has_footer = true;
	fx->t.footer.flags = TRACEF_TARGET_EXITED;
	fx->t.footer.target_status = 3 << 8;	/* exit(3) */
	/* processes: 10 and the two process records */
	out = render(&fx->t, &fs, REPORT_TEXT, false);
	assert_non_null(strstr(out, "ipcrace: no findings (3 processes, 2 threads, 2 events, 0 lost)\n"));
	assert_null(strstr(out, "INCOMPLETE"));
	assert_non_null(strstr(out, "ipcrace: target exited with status 3\n"));
	free(out);

	fx->t.footer.target_status = 11;	/* SIGSEGV */
	fx->t.footer.lost_events = 5;
	out = render(&fx->t, &fs, REPORT_TEXT, false);
	assert_non_null(strstr(out, "ipcrace: INCOMPLETE trace: 5 events lost (ring buffer full). "
				    "No findings in what was read proves nothing\n"));
	assert_non_null(strstr(out, "ipcrace: target killed by signal 11 (SIGSEGV)\n"));
	free(out);
	fx->t.events = NULL;
	fx->t.nr_events = 0;
}

static void test_reports_say_what_was_traced_by_name(void **state)
{
	struct fixture *fx = *state;
	struct findings fs = { 0 };
	struct trace_process procs[6] = {
		/* the root before and after its exec: the last record names it */
		{ .pid = 20, .comm = "", .exe = "/usr/bin/ipcrace" },
		{ .pid = 21, .comm = "worker_of_nginx", .exe = "/usr/sbin/worker_of_nginx_v2" },
		{ .pid = 22, .comm = "worker_of_nginx", .exe = "/usr/sbin/worker_of_nginx_v2" },
		{ .pid = 20, .comm = "master", .exe = "/usr/sbin/master" },
		{ .pid = 23, .comm = "\x1b[31mevil", .exe = "/tmp/evil" },
		{ .pid = 24, .comm = "", .exe = "/bin/sh" },
	};
	char *out;

	fx->t.processes = procs;
	fx->t.nr_processes = 6;
	out = render(&fx->t, &fs, REPORT_TEXT, false);
	/* the most processes first; a comm the kernel cut: the executable's name */
	assert_non_null(strstr(out, "ipcrace: traced: worker_of_nginx_v2 (2 processes), "
				    "\\x1b[31mevil (1 process), master (1 process), sh (1 process)\n"));
	free(out);
	out = render(&fx->t, &fs, REPORT_JSON, false);
	assert_non_null(strstr(out, "\"traced\": [\n      {\n        \"name\": \"worker_of_nginx_v2\",\n"
				    "        \"processes\": 2\n"));
	assert_non_null(strstr(out, "\"traced_other_processes\": 0"));
	free(out);
	fx->t.processes = fx->procs;
	fx->t.nr_processes = 2;
}

/* A budget that held the watch rotation back is said in text and JSON, never only on stderr. */
static void test_reports_say_when_the_watching_was_sampled(void **state)
{
	struct fixture *fx = *state;
	struct findings fs = { 0 };
	char *out;

	fx->t.has_watch_stats = true;
	fx->t.watch_stats = (struct trace_watch_stats){
		.traps = 2982, .slot_switches = 72224, .ticks = 409, .held_ticks = 277,
		.cost_ns = 113200000, .traced_ns = 2884100000ull, .trap_ns = 30442,
		.switch_ns = 311, .watch_rate = 400,
	};
	out = render(&fx->t, &fs, REPORT_TEXT, false);
	assert_non_null(strstr(out, "ipcrace: watch: sampled: the budget (--watch-rate 400, "
				    "--overhead 0%) held the rotation in 277 of 409 ticks (68%): "
				    "fewer words were watched (2982 traps, 72224 context switches x "
				    "slots armed, about 113.2 ms against 2884.1 ms of the traced "
				    "processes' CPU)\n"));
	free(out);
	out = render(&fx->t, &fs, REPORT_JSON, false);
	assert_non_null(strstr(out, "\"watch_sampling\": {\n      \"sampled\": true,\n"
				    "      \"traps\": 2982,\n      \"slot_switches\": 72224,\n"
				    "      \"ticks\": 409,\n      \"held_ticks\": 277,\n"));
	free(out);

	/* not held back: JSON says so, text says nothing */
	fx->t.watch_stats.held_ticks = 0;
	out = render(&fx->t, &fs, REPORT_TEXT, false);
	assert_null(strstr(out, "sampled"));
	free(out);
	out = render(&fx->t, &fs, REPORT_JSON, false);
	assert_non_null(strstr(out, "\"sampled\": false"));
	free(out);
	fx->t.has_watch_stats = false;
	out = render(&fx->t, &fs, REPORT_JSON, false);
	assert_null(strstr(out, "watch_sampling"));
	free(out);
}

/* Lock probes taken off by the budget: said in text and JSON. */
static void test_reports_say_when_the_locks_were_sampled(void **state)
{
	struct fixture *fx = *state;
	struct findings fs = { 0 };
	char *out;

	fx->t.has_lock_sampling = true;
	fx->t.lock_sampling = (struct trace_lock_sampling){
		.windows = 31, .off_ns = 12000000000ull, .metered_ns = 15000000000ull,
		.cost_ns = 1300000000ull, .events = 1100000, .processes = 1, .metered = 2,
		.event_ns = 1180, .overhead_pct = 10,
	};
	out = render(&fx->t, &fs, REPORT_TEXT, false);
	assert_non_null(strstr(out, "ipcrace: locks: sampled: the budget (--overhead 10%) took the "
				    "lock probes of 1 of 2 processes off in 31 windows: on 20% of the "
				    "time (3.0 of 15.0 s); 1100000 lock events at 1180 ns, about "
				    "1300.0 ms; races across a window are candidates (sampled)\n"));
	free(out);
	out = render(&fx->t, &fs, REPORT_JSON, false);
	assert_non_null(strstr(out, "\"lock_sampling\": {\n      \"sampled\": true,\n"
				    "      \"processes\": 1,\n      \"metered_processes\": 2,\n"
				    "      \"windows\": 31,\n      \"on_share\": 0.200,\n"));
	free(out);
	/* never off: JSON says so, text says nothing */
	fx->t.lock_sampling.windows = 0;
	out = render(&fx->t, &fs, REPORT_TEXT, false);
	assert_null(strstr(out, "locks: sampled"));
	free(out);
	fx->t.has_lock_sampling = false;
	out = render(&fx->t, &fs, REPORT_JSON, false);
	assert_null(strstr(out, "lock_sampling"));
	free(out);
}

static void test_json_report_of_lock_order_inversion_is_valid_with_design_keys(void **state)
{
	static const char *const keys[] = {
		"\"schema\": 1", "\"tool\": {", "\"name\": \"ipcrace\"",
		"\"version\": \"" IPCRACE_VERSION "\"", "\"stats\": {", "\"processes\": ",
		"\"threads\": ", "\"events\": ", "\"lost_events\": ", "\"watched_words\": 4",
		"\"target\": {", "\"exit_status\": null", "\"seed\": 7", "\"findings\": [",
		"\"kind\": \"lock-order-inversion\"", "\"summary\": \"lock-order inversion",
		"\"cycle\": [", "\"lock\": {", "\"kind\": \"mutex\"",
		"\"name\": \"mutex in /dev/shm/bank +0x40\"", "\"acquired_while_holding\": {",
		"\"stack\": [", "\"held_stack\": [", "\"function\": \"reports_probe_caller\"",
		"\"function\": \"reports_probe_target\"", "\"comm\": \"ab\\\"ba\\u001b\"",
	};
	struct fixture *fx = *state;
	struct findings fs = { 0 };
	struct finding f;
	char *out;
	size_t i;

	add_shared_mappings(fx);
	f = lock_order_finding(getpid(), "ab\"ba\x1b");
	fs.items = &f;
	fs.nr = 1;
	out = render(&fx->t, &fs, REPORT_JSON, false);
	assert_true(json_is_valid(out));
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (!strstr(out, keys[i]))
			fail_msg("missing %s in\n%s", keys[i], out);
	}
	assert_false(has_raw_control(out, true));
	free(out);
	free(f.cycle);
}

static void test_json_report_of_data_race_has_object_and_accesses(void **state)
{
	static const char *const keys[] = {
		"\"kind\": \"data-race\"", "\"object\": {", "\"kind\": \"anon-shared\"",
		"\"name\": \"anonymous shared memory (from pid 10)\"", "\"offset\": 8",
		"\"size\": 8", "\"symbol\": null", "\"accesses\": [", "\"op\": \"write\"",
		"\"op\": \"read\"", "\"locks_held\": [", "\"line\": null", "\"file\": null",
		"\"summary\": \"read/write race on anonymous shared memory (from pid 10) +0x8 between pid",
	};
	struct fixture *fx = *state;
	struct findings fs = { 0 };
	struct finding f = { .kind = FINDING_DATA_RACE };
	char *out;
	size_t i;

	add_shared_mappings(fx);
	f.object = file_lock(OBJ_MEMORY, ANON_INO, 8, 11, 0x7f1000000008);
	f.object.size = 8;
	f.accesses[0] = access_of(getpid(), getpid(), "worker", 100, 2);
	f.accesses[0].flags = EVF_READ;
	/* an ip in no mapping: every field unknown but the address */
	f.accesses[1] = access_of(11, 11, "worker", 200, 0);
	f.accesses[1].ip = 0x10;
	f.accesses[1].flags = EVF_WRITE;
	f.nr_accesses = 2;
	fs.items = &f;
	fs.nr = 1;
	out = render(&fx->t, &fs, REPORT_JSON, false);
	assert_true(json_is_valid(out));
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (!strstr(out, keys[i]))
			fail_msg("missing %s in\n%s", keys[i], out);
	}
	free(out);
}

static void test_misuse_findings_have_headlines_and_json_kinds(void **state)
{
	static const struct {
		enum finding_kind kind;
		const char *headline;
		const char *json_kind;
	} cases[] = {
		{ FINDING_DOUBLE_LOCK, "WARNING: ipcrace: double lock (pid=10)\n", "\"kind\": \"double-lock\"" },
		{ FINDING_UNLOCK_NOT_HELD, "WARNING: ipcrace: unlock of a lock not held (pid=10)\n",
		  "\"kind\": \"unlock-not-held\"" },
		{ FINDING_LOCK_HELD_AT_EXIT, "WARNING: ipcrace: lock held at exit (pid=10)\n",
		  "\"kind\": \"lock-held-at-exit\"" },
	};
	struct fixture *fx = *state;
	struct findings fs = { 0 };
	struct finding f = { 0 };
	char *out;
	size_t i;

	add_shared_mappings(fx);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		f = (struct finding){ .kind = cases[i].kind, .nr_accesses = 1 };
		f.object = file_lock(OBJ_MUTEX, BANK_INO, 0x40, 10, 0x7f0000000040);
		f.accesses[0] = access_of(10, 10, "bank", 100, 0);
		fs.items = &f;
		fs.nr = 1;
		out = render(&fx->t, &fs, REPORT_TEXT, false);
		assert_non_null(strstr(out, cases[i].headline));
		assert_non_null(strstr(out, "  Mutex M1 (mutex in /dev/shm/bank +0x40) "));
		free(out);
		out = render(&fx->t, &fs, REPORT_JSON, false);
		assert_true(json_is_valid(out));
		assert_non_null(strstr(out, cases[i].json_kind));
		assert_non_null(strstr(out, "\"lock\": {"));
		assert_non_null(strstr(out, "\"accesses\": ["));
		free(out);
	}
}

static void test_dump_lists_events_with_times_objects_and_footer(void **state)
{
	struct fixture *fx = *state;
	struct ipcrace_event ev[2] = {
		{ .ts = 1000 + 1500, .pid = 10, .tid = 11, .type = EV_LOCK_ACQUIRED, .obj = OBJ_MUTEX,
		  .key = { .a = FAKE_DEV, .b = BANK_INO, .c = 0x40, .space = KEY_FILE } },
		{ .ts = 1000 + 2000000, .pid = 10, .tid = 11, .type = EV_LOCK_RELEASE,
		  .obj = OBJ_MUTEX, .flags = EVF_TRY,
		  .key = { .a = FAKE_DEV, .b = BANK_INO, .c = 0x40, .space = KEY_FILE } },
	};
	char *out;

	add_shared_mappings(fx);
	strcpy(ev[0].comm, "bank\x1b[2J");
	strcpy(ev[1].comm, "bank");
	fx->t.header.start_mono_ns = 1000;
	fx->t.events = ev;
	fx->t.nr_events = 2;
	out = render_dump(&fx->t);
	assert_non_null(strstr(out, "   0.000001 10/11 bank\\x1b[2J lock-acquired mutex in /dev/shm/bank +0x40 = 0\n"));
	assert_non_null(strstr(out, "   0.002000 10/11 bank lock-release [try] mutex in /dev/shm/bank +0x40\n"));
	assert_non_null(strstr(out, "# process "));
	assert_non_null(strstr(out, "/dev/shm/bank\n"));
	assert_non_null(strstr(out, "# no footer"));
	assert_null(strchr(out, '\x1b'));
	free(out);

	fx->t.has_footer = true;
	fx->t.footer.events = 2;
	fx->t.footer.lost_events = 1;
	out = render_dump(&fx->t);
	assert_non_null(strstr(out, "# footer: 2 events written, 1 lost events, 0 lost stacks\n"));
	free(out);
	fx->t.events = NULL;
	fx->t.nr_events = 0;
}

static void test_report_format_parse_accepts_text_and_json_only(void **state)
{
	enum report_format f;

	(void)state;
	assert_int_equal(report_format__parse("json", &f), 0);
	assert_int_equal(f, REPORT_JSON);
	assert_int_equal(report_format__parse("text", &f), 0);
	assert_int_equal(f, REPORT_TEXT);
	assert_int_equal(report_format__parse("xml", &f), -EINVAL);
	assert_int_equal(report_format__parse(NULL, &f), -EINVAL);
}

#define SELF_TEST(fn) cmocka_unit_test_setup_teardown(fn, setup_self, teardown_self)

int main(void)
{
	const struct CMUnitTest tests[] = {
		SELF_TEST(test_symbolizer_names_function_file_and_line_of_exact_ip),
		SELF_TEST(test_symbolizer_return_address_resolves_to_call_line),
		SELF_TEST(test_symbolizer_expands_inlined_call_into_caller_frames),
		SELF_TEST(test_symbolizer_names_libc_function_without_debuginfo),
		SELF_TEST(test_symbolizer_child_without_maps_uses_parent_layout),
		SELF_TEST(test_symbolizer_build_id_mismatch_gives_module_and_offset),
		SELF_TEST(test_symbolizer_uses_latest_snapshot_before_event),
		cmocka_unit_test(test_elf_build_id_reads_20_bytes_from_self),
		cmocka_unit_test(test_elf_build_id_fails_on_missing_and_non_elf_files),
		SELF_TEST(test_objname_names_shared_private_and_semaphore_keys),
		cmocka_unit_test(test_escape_keeps_escape_sequences_out_of_text_and_json),
		cmocka_unit_test(test_json_writer_places_commas_and_rejects_misuse),
		SELF_TEST(test_text_report_shows_cycle_stacks_and_summary),
		SELF_TEST(test_text_report_escapes_hostile_comm_and_colors_only_headline),
		SELF_TEST(test_text_report_data_race_shows_both_accesses_and_location),
		SELF_TEST(test_text_report_without_findings_prints_stats_and_exit_status),
		SELF_TEST(test_reports_say_what_was_traced_by_name),
		SELF_TEST(test_reports_say_when_the_watching_was_sampled),
		SELF_TEST(test_reports_say_when_the_locks_were_sampled),
		SELF_TEST(test_json_report_of_lock_order_inversion_is_valid_with_design_keys),
		SELF_TEST(test_json_report_of_data_race_has_object_and_accesses),
		SELF_TEST(test_misuse_findings_have_headlines_and_json_kinds),
		SELF_TEST(test_dump_lists_events_with_times_objects_and_footer),
		cmocka_unit_test(test_report_format_parse_accepts_text_and_json_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
