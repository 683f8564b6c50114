// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Trace format: writer → reader round trip, and the reader on cut-off,
 * corrupt and random input. Run once under -fsanitize=address,undefined:
 * every prefix and garbage buffer is given to the reader in a heap block of
 * exactly its size, so an out-of-bounds read shows up there.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "analyzer/crc32.h"
#include "analyzer/trace.h"
#include "analyzer/trace_format.h"
#include "tracer/trace_writer.h"

#define HDR_END (sizeof(struct trace_file_prefix) + sizeof(struct trace_header))

struct fixture {
	char dir[64];
	char path[128];
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	strcpy(f->dir, "/tmp/test_trace.XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/t.trace", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	unlink(f->path);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* Deterministic PRNG (xorshift64*): the same inputs on every run. */
static __u64 rng_state;

static __u64 rng_next(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

static void make_header(struct trace_header *h)
{
	memset(h, 0, sizeof(*h));
	h->start_realtime_ns = 1700000000000000000ull;
	h->start_mono_ns = 123456789;
	strcpy(h->host, "testhost");
	strcpy(h->kernel, "6.1.0-test");
	strcpy(h->cmdline, "./counter --threads 2");
}

static void make_event(struct ipcrace_event *e, unsigned i)
{
	memset(e, 0, sizeof(*e));
	e->hdr.kind = IPCRACE_REC_EVENT;
	e->hdr.size = sizeof(*e);
	e->ts = 1000 + i;
	e->stack_id = i % 3 ? 0x1000 + i % 7 : 0;
	e->addr = 0x7f0000000000ull + i * 8;
	e->arg0 = i * 3;
	e->arg1 = ~(__u64)i;
	e->key.a = 0x803;
	e->key.b = 4242;
	e->key.c = i * 8;
	e->key.space = KEY_FILE;
	e->pid = 100 + i % 2;
	e->tid = 200 + i % 5;
	e->type = 1 + i % (EV_TYPE_MAX - 1);
	e->obj = i % OBJ_KIND_MAX;
	e->result = -(int)(i % 4);
	e->flags = i & (EVF_TRY | EVF_READ);
	snprintf(e->comm, sizeof(e->comm), "worker-%u", i % 10);
}

static void make_stack(struct ipcrace_stack *s, __u64 id, __u32 nr)
{
	memset(s, 0, sizeof(*s));
	s->hdr.kind = IPCRACE_REC_STACK;
	s->hdr.size = sizeof(*s);
	s->id = id;
	s->nr = nr;
	s->flags = id & 1 ? STACKF_EXACT_IP : 0;
	for (__u32 i = 0; i < nr; i++)
		s->ips[i] = 0x400000 + id * 0x100 + i;
}

static void make_mapping(struct trace_mapping *m, unsigned i)
{
	memset(m, 0, sizeof(*m));
	m->ts = 50 + i;
	m->start = 0x7f0000000000ull + i * 0x10000;
	m->end = m->start + 0x10000;
	m->pgoff = i * 0x1000;
	m->dev = 0x803;
	m->ino = 4242 + i;
	m->pid = 100;
	m->prot = 3;
	m->flags = i & 1 ? MAPF_SHARED : 0;
	m->build_id_len = 20;
	for (int j = 0; j < 20; j++)
		m->build_id[j] = (__u8)(i + j);
	snprintf(m->path, sizeof(m->path), "/dev/shm/seg%u", i);
}

static void make_process(struct trace_process *p, __u32 pid, __u32 ppid, int status)
{
	memset(p, 0, sizeof(*p));
	p->ts = pid;
	p->pid = pid;
	p->ppid = ppid;
	p->exit_status = status;
	snprintf(p->comm, sizeof(p->comm), "proc%u", pid);
	snprintf(p->exe, sizeof(p->exe), "/usr/bin/proc%u", pid);
}

static void *read_whole(const char *path, size_t *len)
{
	struct stat st;
	void *buf;
	int fd;

	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc(st.st_size ? st.st_size : 1);
	assert_non_null(buf);
	assert_int_equal(read(fd, buf, st.st_size), st.st_size);
	close(fd);
	*len = st.st_size;
	return buf;
}

static void write_whole(const char *path, const void *buf, size_t len)
{
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, buf, len), (ssize_t)len);
	close(fd);
}

static off_t file_size(const char *path)
{
	struct stat st;

	assert_int_equal(stat(path, &st), 0);
	return st.st_size;
}

/* Reads len bytes from a heap block of exactly that size (for ASan). */
static struct trace *read_exact(const void *buf, size_t len, char *err, size_t errlen)
{
	void *copy = malloc(len ? len : 1);
	struct trace *t;
	int saved;

	assert_non_null(copy);
	if (len)
		memcpy(copy, buf, len);
	t = trace__read_mem(copy, len, err, errlen);
	saved = errno;
	free(copy);
	errno = saved;
	return t;
}

/* A valid header-only file: the start of every hand-made trace. */
static unsigned char *header_only(const char *path)
{
	struct trace_header h;
	struct trace_writer *w;
	unsigned char *buf;
	size_t len;

	make_header(&h);
	w = trace_writer__open(path, &h);
	assert_non_null(w);
	assert_int_equal(trace_writer__close(w, NULL), 0);
	buf = read_whole(path, &len);
	assert_int_equal(len, HDR_END);
	return buf;
}

/* Hand-made chunks, to reach checks a correct writer never trips. */
struct chunk_builder {
	unsigned char buf[HDR_END + 4096];
	size_t len;			/* whole file so far */
	size_t chunk_start;
	__u32 nr;
};

static void cb_begin(struct chunk_builder *cb, const char *path)
{
	unsigned char *h = header_only(path);

	memcpy(cb->buf, h, HDR_END);
	free(h);
	cb->len = HDR_END;
	cb->chunk_start = cb->len;
	cb->len += sizeof(struct trace_chunk_header);
	cb->nr = 0;
}

static void cb_record(struct chunk_builder *cb, __u16 type, const void *data, __u32 len)
{
	struct trace_record_header rh = { .type = type, .len = len };

	assert_true(cb->len + sizeof(rh) + TRACE_PAD(len) <= sizeof(cb->buf));
	memcpy(cb->buf + cb->len, &rh, sizeof(rh));
	memset(cb->buf + cb->len + sizeof(rh), 0, TRACE_PAD(len));
	memcpy(cb->buf + cb->len + sizeof(rh), data, len);
	cb->len += sizeof(rh) + TRACE_PAD(len);
	cb->nr++;
}

/* Closes the chunk with a correct checksum and record count. */
static void cb_end(struct chunk_builder *cb)
{
	struct trace_chunk_header ch = {
		.magic = TRACE_CHUNK_MAGIC,
		.payload_len = cb->len - cb->chunk_start - sizeof(ch),
		.nr_records = cb->nr,
	};

	ch.crc = ipcrace_crc32(0, cb->buf + cb->chunk_start + sizeof(ch), ch.payload_len);
	memcpy(cb->buf + cb->chunk_start, &ch, sizeof(ch));
}

static void test_crc32_matches_ieee_check_value(void **state)
{
	(void)state;
	assert_int_equal(ipcrace_crc32(0, "123456789", 9), 0xcbf43926);
	assert_int_equal(ipcrace_crc32(0, "", 0), 0);
	/* chaining two pieces gives the CRC of the whole */
	assert_int_equal(ipcrace_crc32(ipcrace_crc32(0, "1234", 4), "56789", 5), 0xcbf43926);
}

static void test_round_trip_preserves_every_record(void **state)
{
	struct fixture *f = *state;
	enum { NR_EVENTS = 5000, NR_MAPPINGS = 40 };	/* > 256 KiB: several chunks */
	struct trace_header h;
	struct trace_footer foot = {
		.end_mono_ns = 999999, .events = 1, .lost_events = 7, .lost_stacks = 2,
		.target_status = 66 << 8, .flags = TRACEF_TARGET_EXITED,
		.seed = 0x5eed, .watched_words = 12,
	};
	struct ipcrace_stack s, dup;
	struct trace_mapping m;
	struct trace_process p;
	struct ipcrace_event e;
	struct trace_writer *w;
	struct trace *t;
	char err[256];

	make_header(&h);
	w = trace_writer__open(f->path, &h);
	assert_non_null(w);
	/* stack ids written out of order, one id twice: the first must win */
	for (__u64 id = 0x1006; id >= 0x1000; id--) {
		make_stack(&s, id, (__u32)(id - 0x1000) * 5 + 2);
		assert_int_equal(trace_writer__add_stack(w, &s), 0);
	}
	make_stack(&dup, 0x1003, 1);
	dup.ips[0] = 0xdead;
	assert_int_equal(trace_writer__add_stack(w, &dup), 0);
	make_stack(&s, 0x2000, IPCRACE_MAX_STACK);
	assert_int_equal(trace_writer__add_stack(w, &s), 0);
	make_stack(&s, 0x2001, 0);
	assert_int_equal(trace_writer__add_stack(w, &s), 0);
	for (unsigned i = 0; i < NR_MAPPINGS; i++) {
		make_mapping(&m, i);
		assert_int_equal(trace_writer__add_mapping(w, &m), 0);
	}
	make_process(&p, 100, 0, -1);
	assert_int_equal(trace_writer__add_process(w, &p), 0);
	make_process(&p, 101, 100, -1);
	assert_int_equal(trace_writer__add_process(w, &p), 0);
	for (unsigned i = 0; i < NR_EVENTS; i++) {
		make_event(&e, i);
		assert_int_equal(trace_writer__add_event(w, &e), 0);
	}
	/* pid 101 again, now with its exit status: the later record wins */
	make_process(&p, 101, 100, 3 << 8);
	assert_int_equal(trace_writer__add_process(w, &p), 0);
	assert_int_equal(trace_writer__close(w, &foot), 0);
	assert_true(file_size(f->path) > 2 * TRACE_CHUNK_MAX);

	t = trace__read_file(f->path, err, sizeof(err));
	assert_non_null(t);
	assert_true(t->has_footer);
	assert_false(t->truncated);

	assert_int_equal(t->header.version, TRACE_VERSION);
	assert_int_equal(t->header.start_realtime_ns, h.start_realtime_ns);
	assert_int_equal(t->header.start_mono_ns, h.start_mono_ns);
	assert_string_equal(t->header.host, "testhost");
	assert_string_equal(t->header.kernel, "6.1.0-test");
	assert_string_equal(t->header.cmdline, "./counter --threads 2");

	assert_int_equal(t->nr_events, NR_EVENTS);
	for (unsigned i = 0; i < NR_EVENTS; i++) {
		make_event(&e, i);
		assert_memory_equal(&t->events[i], &e, sizeof(e));
	}

	assert_int_equal(t->nr_stacks, 9);
	for (size_t i = 1; i < t->nr_stacks; i++)
		assert_true(t->stacks[i - 1].id < t->stacks[i].id);
	for (__u64 id = 0x1000; id <= 0x1006; id++) {
		const struct ipcrace_stack *got = trace__find_stack(t, id);

		make_stack(&s, id, (__u32)(id - 0x1000) * 5 + 2);
		assert_non_null(got);
		assert_memory_equal(got, &s, sizeof(s));
	}
	assert_int_equal(trace__find_stack(t, 0x2000)->nr, IPCRACE_MAX_STACK);
	assert_int_equal(trace__find_stack(t, 0x2000)->ips[IPCRACE_MAX_STACK - 1],
			 0x400000 + 0x2000 * 0x100 + IPCRACE_MAX_STACK - 1);
	assert_int_equal(trace__find_stack(t, 0x2001)->nr, 0);
	assert_null(trace__find_stack(t, 0x1007));
	assert_null(trace__find_stack(t, 0));

	assert_int_equal(t->nr_mappings, NR_MAPPINGS);
	for (unsigned i = 0; i < NR_MAPPINGS; i++) {
		make_mapping(&m, i);
		assert_memory_equal(&t->mappings[i], &m, sizeof(m));
	}

	assert_int_equal(t->nr_processes, 3);
	assert_int_equal(trace__find_process(t, 100)->exit_status, -1);
	assert_int_equal(trace__find_process(t, 101)->exit_status, 3 << 8);
	assert_string_equal(trace__find_process(t, 101)->exe, "/usr/bin/proc101");
	assert_null(trace__find_process(t, 102));

	/* footer as given, except events: the writer's own count */
	assert_int_equal(t->footer.events, NR_EVENTS);
	assert_int_equal(t->footer.end_mono_ns, 999999);
	assert_int_equal(t->footer.lost_events, 7);
	assert_int_equal(t->footer.lost_stacks, 2);
	assert_int_equal(t->footer.target_status, 66 << 8);
	assert_int_equal(t->footer.flags, TRACEF_TARGET_EXITED);
	assert_int_equal(t->footer.seed, 0x5eed);
	assert_int_equal(t->footer.watched_words, 12);
	trace__free(t);
}

static void test_trace_file_is_created_mode_0600(void **state)
{
	struct fixture *f = *state;
	struct trace_header h;
	struct trace_writer *w;
	struct stat st;
	mode_t old;
	int fd;

	/* an existing world-readable file and a permissive umask */
	fd = open(f->path, O_CREAT | O_WRONLY, 0666);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, 0666), 0);
	assert_int_equal(write(fd, "secret", 6), 6);
	close(fd);
	old = umask(0);
	make_header(&h);
	w = trace_writer__open(f->path, &h);
	umask(old);
	assert_non_null(w);
	assert_int_equal(trace_writer__close(w, NULL), 0);

	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, HDR_END);	/* truncated, not appended */
}

/* Events 0..nr-1 in five flushed chunks, then the footer; chunk ends in bounds[]. */
static unsigned char *small_multichunk(const char *path, size_t *len, size_t *nr,
				       off_t *bounds, size_t *nr_bounds)
{
	struct trace_header h;
	struct trace_footer foot = { .end_mono_ns = 1 };
	struct ipcrace_stack s;
	struct ipcrace_event e;
	struct trace_writer *w;
	unsigned ev = 0;

	make_header(&h);
	w = trace_writer__open(path, &h);
	assert_non_null(w);
	*nr_bounds = 0;
	bounds[(*nr_bounds)++] = file_size(path);
	for (int c = 0; c < 5; c++) {
		make_stack(&s, 0x1000 + c, c + 1);
		assert_int_equal(trace_writer__add_stack(w, &s), 0);
		for (int i = 0; i < 3; i++) {
			make_event(&e, ev++);
			assert_int_equal(trace_writer__add_event(w, &e), 0);
		}
		assert_int_equal(trace_writer__flush(w), 0);
		bounds[(*nr_bounds)++] = file_size(path);
	}
	assert_int_equal(trace_writer__close(w, &foot), 0);
	*nr = ev;
	return read_whole(path, len);
}

static bool is_bound(const off_t *bounds, size_t n, size_t len)
{
	for (size_t i = 0; i < n; i++)
		if ((size_t)bounds[i] == len)
			return true;
	return false;
}

static void test_cut_at_every_length_reads_a_prefix_or_fails(void **state)
{
	struct fixture *f = *state;
	off_t bounds[8];
	size_t len, nr, nr_bounds;
	unsigned char *buf = small_multichunk(f->path, &len, &nr, bounds, &nr_bounds);
	char err[256];

	assert_int_equal(nr_bounds, 6);
	for (size_t cut = 0; cut <= len; cut++) {
		struct trace *t;
		struct ipcrace_event e;

		err[0] = 'x';
		t = read_exact(buf, cut, err, sizeof(err));
		if (cut < HDR_END) {
			/* no header, nothing to return */
			assert_null(t);
			assert_int_equal(errno, EINVAL);
			assert_true(strncmp(err, "trace: ", 7) == 0);
			continue;
		}
		assert_non_null(t);
		assert_true(t->nr_events <= nr);
		for (size_t i = 0; i < t->nr_events; i++) {
			make_event(&e, i);
			assert_memory_equal(&t->events[i], &e, sizeof(e));
		}
		if (cut == len) {
			assert_true(t->has_footer);
			assert_false(t->truncated);
			assert_int_equal(t->nr_events, nr);
		} else {
			assert_false(t->has_footer);
			assert_int_equal(t->truncated, !is_bound(bounds, nr_bounds, cut));
		}
		trace__free(t);
	}
	free(buf);
}

static void test_flipped_payload_byte_reports_checksum_mismatch(void **state)
{
	struct fixture *f = *state;
	off_t bounds[8];
	size_t len, nr, nr_bounds;
	unsigned char *buf = small_multichunk(f->path, &len, &nr, bounds, &nr_bounds);
	size_t chunk_off = bounds[2];	/* chunk 2 */
	char err[256], want[64];

	snprintf(want, sizeof(want), "chunk 2 at offset %zu: checksum mismatch", chunk_off);
	for (size_t i = chunk_off + sizeof(struct trace_chunk_header); i < (size_t)bounds[3]; i++) {
		struct trace *t;

		buf[i] ^= 0x10;
		t = read_exact(buf, len, err, sizeof(err));
		assert_null(t);
		assert_int_equal(errno, EINVAL);
		assert_non_null(strstr(err, want));
		assert_null(strchr(err, '\n'));
		buf[i] ^= 0x10;
	}
	free(buf);
}

static void test_flipped_header_byte_is_refused(void **state)
{
	struct fixture *f = *state;
	unsigned char *buf = header_only(f->path);
	char err[256];

	buf[sizeof(struct trace_file_prefix) + 20] ^= 1;	/* in host[] */
	assert_null(read_exact(buf, HDR_END, err, sizeof(err)));
	assert_string_equal(err, "trace: header checksum mismatch");
	free(buf);
}

static void test_random_garbage_never_crashes(void **state)
{
	struct fixture *f = *state;
	off_t bounds[8];
	size_t len, nr, nr_bounds;
	unsigned char *valid = small_multichunk(f->path, &len, &nr, bounds, &nr_bounds);
	unsigned char *buf = malloc(len);
	size_t accepted = 0, refused = 0;
	char err[256];

	assert_non_null(buf);
	rng_state = 0x9e3779b97f4a7c15ull;
	for (int iter = 0; iter < 6000; iter++) {
		size_t n, flips;
		struct trace *t;

		switch (iter % 3) {
		case 0:	/* pure garbage, sometimes behind the real magic */
			n = rng_next() % len;
			for (size_t i = 0; i < n; i++)
				buf[i] = (unsigned char)rng_next();
			if (n >= 8 && iter % 2)
				memcpy(buf, TRACE_MAGIC, TRACE_MAGIC_LEN);
			break;
		case 1:	/* a valid trace with a few bytes changed anywhere */
			n = len;
			memcpy(buf, valid, len);
			flips = 1 + rng_next() % 8;
			while (flips--)
				buf[rng_next() % n] = (unsigned char)rng_next();
			break;
		default: /* changed records behind a recomputed checksum */
			n = len;
			memcpy(buf, valid, len);
			for (size_t c = 0; c + 1 < nr_bounds; c++) {
				size_t off = bounds[c];
				struct trace_chunk_header ch;

				memcpy(&ch, buf + off, sizeof(ch));
				flips = rng_next() % 4;
				while (flips--) {
					size_t at = rng_next() % ch.payload_len;
					/* sometimes a whole field, to reach big values */
					__u32 v = (__u32)rng_next();

					if (at + 4 <= ch.payload_len && rng_next() % 2)
						memcpy(buf + off + sizeof(ch) + at, &v, 4);
					else
						buf[off + sizeof(ch) + at] = (unsigned char)v;
				}
				ch.crc = ipcrace_crc32(0, buf + off + sizeof(ch), ch.payload_len);
				memcpy(buf + off, &ch, sizeof(ch));
			}
			break;
		}
		err[0] = '\0';
		t = read_exact(buf, n, err, sizeof(err));
		if (t) {
			accepted++;
			assert_true(t->nr_events <= n / sizeof(struct ipcrace_event));
			for (size_t i = 0; i < t->nr_events; i++) {
				assert_true(t->events[i].type > 0 && t->events[i].type < EV_TYPE_MAX);
				assert_true(t->events[i].obj < OBJ_KIND_MAX);
			}
			for (size_t i = 0; i < t->nr_stacks; i++) {
				assert_true(t->stacks[i].nr <= IPCRACE_MAX_STACK);
				if (i)
					assert_true(t->stacks[i - 1].id < t->stacks[i].id);
			}
			trace__free(t);
		} else {
			refused++;
			assert_true(errno == EINVAL);
			assert_true(strncmp(err, "trace: ", 7) == 0);
		}
	}
	/* both outcomes must really have been exercised */
	assert_true(accepted > 100);
	assert_true(refused > 1000);
	free(buf);
	free(valid);
}

static void test_missing_footer_reads_without_footer(void **state)
{
	struct fixture *f = *state;
	struct trace_header h;
	struct ipcrace_event e;
	struct trace_writer *w;
	struct trace *t;
	char err[256];

	make_header(&h);
	w = trace_writer__open(f->path, &h);
	assert_non_null(w);
	make_event(&e, 1);
	assert_int_equal(trace_writer__add_event(w, &e), 0);
	assert_int_equal(trace_writer__close(w, NULL), 0);

	t = trace__read_file(f->path, err, sizeof(err));
	assert_non_null(t);
	assert_false(t->has_footer);
	assert_false(t->truncated);
	assert_int_equal(t->nr_events, 1);
	trace__free(t);
}

static void test_version_2_is_refused(void **state)
{
	struct fixture *f = *state;
	unsigned char *buf = header_only(f->path);
	__u32 v = 2;
	char err[256];

	memcpy(buf + offsetof(struct trace_file_prefix, version), &v, sizeof(v));
	write_whole(f->path, buf, HDR_END);
	errno = 0;
	assert_null(trace__read_file(f->path, err, sizeof(err)));
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(err, "version 2 is not supported"));
	assert_non_null(strstr(err, f->path));
	free(buf);
}

static void test_foreign_byte_order_is_refused(void **state)
{
	struct fixture *f = *state;
	unsigned char *buf = header_only(f->path);
	__u32 v = __builtin_bswap32(TRACE_VERSION);
	__u32 bo = TRACE_BYTE_ORDER_SWAPPED;
	char err[256];

	memcpy(buf + offsetof(struct trace_file_prefix, version), &v, sizeof(v));
	memcpy(buf + offsetof(struct trace_file_prefix, byte_order), &bo, sizeof(bo));
	assert_null(read_exact(buf, HDR_END, err, sizeof(err)));
	assert_non_null(strstr(err, "other byte order"));
	free(buf);
}

static void test_wrong_header_size_is_refused(void **state)
{
	struct fixture *f = *state;
	unsigned char *buf = header_only(f->path);
	__u32 sz = sizeof(struct trace_header) - 8;
	char err[256];

	memcpy(buf + offsetof(struct trace_file_prefix, header_size), &sz, sizeof(sz));
	assert_null(read_exact(buf, HDR_END, err, sizeof(err)));
	assert_int_equal(errno, EINVAL);
	assert_string_equal(err, "trace: header of 656 bytes, expected 664");
	free(buf);
}

static void test_not_a_trace_is_refused(void **state)
{
	struct fixture *f = *state;
	static const char elf[] = "\177ELF\2\1\1\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0";
	char err[256];

	(void)f;
	assert_null(read_exact("", 0, err, sizeof(err)));
	assert_string_equal(err, "trace: not an ipcrace trace");
	assert_null(read_exact(elf, sizeof(elf), err, sizeof(err)));
	assert_string_equal(err, "trace: not an ipcrace trace");
	write_whole(f->path, "", 0);
	assert_null(trace__read_file(f->path, err, sizeof(err)));
	assert_non_null(strstr(err, "not an ipcrace trace"));
	/* a tiny err buffer is truncated, never overrun */
	assert_null(read_exact("", 0, err, 4));
	assert_string_equal(err, "tra");
}

static void test_directory_and_missing_file_are_refused(void **state)
{
	struct fixture *f = *state;
	char err[256];

	assert_null(trace__read_file(f->dir, err, sizeof(err)));
	assert_non_null(strstr(err, "not a regular file"));
	assert_null(trace__read_file(f->path, err, sizeof(err)));	/* not created */
	assert_int_equal(errno, ENOENT);
	assert_non_null(strstr(err, f->path));
}

static void test_bad_chunk_magic_names_chunk_and_offset(void **state)
{
	struct fixture *f = *state;
	off_t bounds[8];
	size_t len, nr, nr_bounds;
	unsigned char *buf = small_multichunk(f->path, &len, &nr, bounds, &nr_bounds);
	char err[256], want[80];

	buf[bounds[3]] ^= 0xff;
	assert_null(read_exact(buf, len, err, sizeof(err)));
	snprintf(want, sizeof(want), "chunk 3 at offset %zu: bad magic", (size_t)bounds[3]);
	assert_non_null(strstr(err, want));
	free(buf);
}

static void test_zero_filled_tail_reads_as_truncated(void **state)
{
	struct fixture *f = *state;
	off_t bounds[8];
	size_t len, nr, nr_bounds;
	unsigned char *buf = small_multichunk(f->path, &len, &nr, bounds, &nr_bounds);
	struct trace *t;
	char err[256];

	/* what a crash can leave: blocks allocated past the last write */
	memset(buf + bounds[2], 0, len - bounds[2]);
	t = read_exact(buf, len, err, sizeof(err));
	assert_non_null(t);
	assert_true(t->truncated);
	assert_int_equal(t->nr_events, 6);
	trace__free(t);
	free(buf);
}

static void test_unknown_record_type_is_skipped(void **state)
{
	struct fixture *f = *state;
	static struct chunk_builder cb;
	struct ipcrace_event e0, e1;
	char future[20] = "from a newer writer";
	struct trace *t;
	char err[256];

	make_event(&e0, 0);
	make_event(&e1, 1);
	cb_begin(&cb, f->path);
	cb_record(&cb, TRACE_REC_EVENT, &e0, sizeof(e0));
	cb_record(&cb, 77, future, sizeof(future));
	cb_record(&cb, TRACE_REC_EVENT, &e1, sizeof(e1));
	cb_end(&cb);
	t = read_exact(cb.buf, cb.len, err, sizeof(err));
	assert_non_null(t);
	assert_int_equal(t->nr_events, 2);
	assert_int_equal(t->events[1].ts, e1.ts);
	trace__free(t);
}

static void test_stack_over_max_frames_is_refused(void **state)
{
	struct fixture *f = *state;
	static struct chunk_builder cb;
	struct {
		struct ipcrace_stack s;
		__u64 extra;
	} big;
	char err[256];

	make_stack(&big.s, 1, IPCRACE_MAX_STACK);
	big.s.nr = IPCRACE_MAX_STACK + 1;
	cb_begin(&cb, f->path);
	cb_record(&cb, TRACE_REC_STACK, &big, TRACE_STACK_LEN(IPCRACE_MAX_STACK + 1));
	cb_end(&cb);
	assert_null(read_exact(cb.buf, cb.len, err, sizeof(err)));
	assert_non_null(strstr(err, "stack of 33 frames, more than 32"));

	/* the writer refuses to produce one */
	{
		struct trace_header h;
		struct trace_writer *w;

		make_header(&h);
		w = trace_writer__open(f->path, &h);
		assert_non_null(w);
		assert_int_equal(trace_writer__add_stack(w, &big.s), -EINVAL);
		assert_int_equal(trace_writer__close(w, NULL), 0);
	}
}

static void test_stack_length_must_match_frames(void **state)
{
	struct fixture *f = *state;
	static struct chunk_builder cb;
	struct ipcrace_stack s;
	char err[256];

	make_stack(&s, 1, 4);
	cb_begin(&cb, f->path);
	cb_record(&cb, TRACE_REC_STACK, &s, TRACE_STACK_LEN(3));
	cb_end(&cb);
	assert_null(read_exact(cb.buf, cb.len, err, sizeof(err)));
	assert_non_null(strstr(err, "stack of 4 frames in 48 bytes, expected 56"));
}

static void test_event_out_of_range_is_refused(void **state)
{
	struct fixture *f = *state;
	static struct chunk_builder cb;
	struct ipcrace_event e;
	char err[256];

	make_event(&e, 0);
	e.type = EV_TYPE_MAX;
	cb_begin(&cb, f->path);
	cb_record(&cb, TRACE_REC_EVENT, &e, sizeof(e));
	cb_end(&cb);
	assert_null(read_exact(cb.buf, cb.len, err, sizeof(err)));
	assert_non_null(strstr(err, "record 0: event type"));

	make_event(&e, 0);
	e.obj = OBJ_KIND_MAX;
	cb_begin(&cb, f->path);
	cb_record(&cb, TRACE_REC_EVENT, &e, sizeof(e));
	cb_end(&cb);
	assert_null(read_exact(cb.buf, cb.len, err, sizeof(err)));
	assert_non_null(strstr(err, "object kind"));
}

static void test_record_length_must_match_type(void **state)
{
	struct fixture *f = *state;
	static struct chunk_builder cb;
	struct trace_process p;
	char err[256];

	make_process(&p, 1, 0, -1);
	cb_begin(&cb, f->path);
	cb_record(&cb, TRACE_REC_PROCESS, &p, sizeof(p) - 8);
	cb_end(&cb);
	assert_null(read_exact(cb.buf, cb.len, err, sizeof(err)));
	assert_non_null(strstr(err, "process of 288 bytes, expected 296"));
}

static void test_huge_record_length_is_refused_without_allocating(void **state)
{
	struct fixture *f = *state;
	static struct chunk_builder cb;
	struct trace_record_header rh = { .type = TRACE_REC_EVENT, .len = UINT32_MAX };
	char err[256];

	cb_begin(&cb, f->path);
	cb_record(&cb, TRACE_REC_EVENT, "12345678", 8);
	memcpy(cb.buf + cb.len - 16, &rh, sizeof(rh));
	cb_end(&cb);
	assert_null(read_exact(cb.buf, cb.len, err, sizeof(err)));
	assert_non_null(strstr(err, "4294967295 bytes overrun the chunk"));
}

static void test_record_count_must_match_chunk_header(void **state)
{
	struct fixture *f = *state;
	static struct chunk_builder cb;
	struct ipcrace_event e;
	char err[256];

	make_event(&e, 0);
	cb_begin(&cb, f->path);
	cb_record(&cb, TRACE_REC_EVENT, &e, sizeof(e));
	cb.nr = 2;
	cb_end(&cb);
	assert_null(read_exact(cb.buf, cb.len, err, sizeof(err)));
	assert_non_null(strstr(err, "1 records, its header says 2"));
}

static void test_oversized_chunk_is_refused_not_truncated(void **state)
{
	struct fixture *f = *state;
	static struct chunk_builder cb;
	struct trace_chunk_header ch;
	char err[256];

	cb_begin(&cb, f->path);
	cb_record(&cb, 77, "x", 1);
	cb_end(&cb);
	memcpy(&ch, cb.buf + cb.chunk_start, sizeof(ch));
	ch.payload_len = 0x80000000u;
	memcpy(cb.buf + cb.chunk_start, &ch, sizeof(ch));
	assert_null(read_exact(cb.buf, cb.len, err, sizeof(err)));
	assert_non_null(strstr(err, "payload of 2147483648 bytes, more than 262144"));
}

static void test_anything_after_footer_is_refused(void **state)
{
	struct fixture *f = *state;
	static struct chunk_builder cb;
	struct trace_footer foot = { 0 };
	struct ipcrace_event e;
	char err[256];

	make_event(&e, 0);
	cb_begin(&cb, f->path);
	cb_record(&cb, TRACE_REC_FOOTER, &foot, sizeof(foot));
	cb_record(&cb, TRACE_REC_EVENT, &e, sizeof(e));
	cb_end(&cb);
	assert_null(read_exact(cb.buf, cb.len, err, sizeof(err)));
	assert_non_null(strstr(err, "record 1: record after the footer"));
}

static void test_strings_are_nul_terminated_on_read(void **state)
{
	struct fixture *f = *state;
	static struct chunk_builder cb;
	struct trace_process p;
	struct trace *t;
	char err[256];

	memset(&p, 'A', sizeof(p));
	p.pid = 7;
	cb_begin(&cb, f->path);
	cb_record(&cb, TRACE_REC_PROCESS, &p, sizeof(p));
	cb_end(&cb);
	t = read_exact(cb.buf, cb.len, err, sizeof(err));
	assert_non_null(t);
	assert_int_equal(strlen(t->processes[0].comm), IPCRACE_COMM_LEN - 1);
	assert_int_equal(strlen(t->processes[0].exe), TRACE_PATH_LEN - 1);
	trace__free(t);
}

static void test_free_accepts_null(void **state)
{
	(void)state;
	trace__free(NULL);
	assert_int_equal(trace_writer__close(NULL, NULL), 0);
	assert_null(trace__find_stack(NULL, 1));
	assert_null(trace__find_process(NULL, 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32_matches_ieee_check_value),
		cmocka_unit_test_setup_teardown(test_round_trip_preserves_every_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trace_file_is_created_mode_0600, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cut_at_every_length_reads_a_prefix_or_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flipped_payload_byte_reports_checksum_mismatch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flipped_header_byte_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_random_garbage_never_crashes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_footer_reads_without_footer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_version_2_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_foreign_byte_order_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrong_header_size_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_a_trace_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_directory_and_missing_file_are_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_chunk_magic_names_chunk_and_offset, setup, teardown),
		cmocka_unit_test_setup_teardown(test_zero_filled_tail_reads_as_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unknown_record_type_is_skipped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stack_over_max_frames_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stack_length_must_match_frames, setup, teardown),
		cmocka_unit_test_setup_teardown(test_event_out_of_range_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_length_must_match_type, setup, teardown),
		cmocka_unit_test_setup_teardown(test_huge_record_length_is_refused_without_allocating, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_count_must_match_chunk_header, setup, teardown),
		cmocka_unit_test_setup_teardown(test_oversized_chunk_is_refused_not_truncated, setup, teardown),
		cmocka_unit_test_setup_teardown(test_anything_after_footer_is_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_strings_are_nul_terminated_on_read, setup, teardown),
		cmocka_unit_test(test_free_accepts_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
