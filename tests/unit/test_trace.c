// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Trace format: writer → reader round trip, and the reader on cut-off,
 * corrupt and random input, in version 2 (one EVENT record an event, as
 * the writer made them before version 3: those traces must still read)
 * and version 1 (hand-made chunks). Version 3's event blocks:
 * test_trace_v3.c. Run once under -fsanitize=address,undefined:
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
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "analyzer/crc32.h"
#include "analyzer/trace.h"
#include "analyzer/trace_format.h"
#include "analyzer/ustack.h"
#include "tracer/trace_writer.h"

#define HDR_END (sizeof(struct trace_file_prefix) + sizeof(struct trace_header))

#include "tmp_trace.h"

/* Every trace of this file is written in version 2. */
static struct trace_writer *writer_v2(const char *path, const struct trace_header *h)
{
	return trace_writer__open_path_version(path, h, TRACE_VERSION_V2);
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
	w = writer_v2(path, &h);
	assert_non_null(w);
	assert_int_equal(trace_writer__close(w, NULL), 0);
	buf = read_whole(path, &len);
	assert_int_equal(len, HDR_END);
	return buf;
}

/* The same header as version 1 wrote it (its checksum recomputed). */
static void make_v1_header(unsigned char *buf, const char *path)
{
	unsigned char *h = header_only(path);
	struct trace_file_prefix prefix;
	struct trace_header th;

	memcpy(&prefix, h, sizeof(prefix));
	memcpy(&th, h + sizeof(prefix), sizeof(th));
	prefix.version = TRACE_VERSION_V1;
	th.version = TRACE_VERSION_V1;
	prefix.header_crc = ipcrace_crc32(0, &th, sizeof(th));
	memcpy(buf, &prefix, sizeof(prefix));
	memcpy(buf + sizeof(prefix), &th, sizeof(th));
	free(h);
}

/* Hand-made version 1 chunks, to reach checks a correct writer never trips. */
struct chunk_builder {
	unsigned char buf[HDR_END + 4096];
	size_t len;			/* whole file so far */
	size_t chunk_start;
	__u32 nr;
};

static void cb_begin(struct chunk_builder *cb, const char *path)
{
	make_v1_header(cb->buf, path);
	cb->len = HDR_END;
	cb->chunk_start = cb->len;
	cb->len += sizeof(struct trace_v1_chunk_header);
	cb->nr = 0;
}

static void cb_record(struct chunk_builder *cb, __u16 type, const void *data, __u32 len)
{
	struct trace_v1_record_header rh = { .type = type, .len = len };

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
	struct trace_v1_chunk_header ch = {
		.magic = TRACE_V1_CHUNK_MAGIC,
		.payload_len = cb->len - cb->chunk_start - sizeof(ch),
		.nr_records = cb->nr,
	};

	ch.crc = ipcrace_crc32(0, cb->buf + cb->chunk_start + sizeof(ch), ch.payload_len);
	memcpy(cb->buf + cb->chunk_start, &ch, sizeof(ch));
}

/* Hand-made version 2 records: any type, length, sequence number. */
struct record_builder {
	unsigned char buf[HDR_END + 8192];
	size_t len;
	__u32 seq;
};

static void rb_begin(struct record_builder *rb, const char *path)
{
	unsigned char *h = header_only(path);

	memcpy(rb->buf, h, HDR_END);
	free(h);
	rb->len = HDR_END;
	rb->seq = 0;
}

/* Appends a record with a valid checksum; returns its offset. */
static size_t rb_record(struct record_builder *rb, __u16 type, const void *data, __u16 len)
{
	struct trace_record_header rh = {
		.magic = TRACE_RECORD_MAGIC, .type = type, .len = len, .seq = rb->seq++,
	};
	size_t off = rb->len;
	__u32 crc;

	assert_true(rb->len + sizeof(rh) + TRACE_PAD(len) <= sizeof(rb->buf));
	memset(rb->buf + off + sizeof(rh), 0, TRACE_PAD(len));
	memcpy(rb->buf + off + sizeof(rh), data, len);
	crc = ipcrace_crc32(0, &rh, offsetof(struct trace_record_header, crc));
	rh.crc = ipcrace_crc32(crc, rb->buf + off + sizeof(rh), TRACE_PAD(len));
	memcpy(rb->buf + off, &rh, sizeof(rh));
	rb->len += sizeof(rh) + TRACE_PAD(len);
	return off;
}

/* Recomputes the checksum of the record at off after its bytes were changed. */
static void reseal(unsigned char *buf, size_t off)
{
	struct trace_record_header rh;
	__u32 crc;

	memcpy(&rh, buf + off, sizeof(rh));
	crc = ipcrace_crc32(0, &rh, offsetof(struct trace_record_header, crc));
	rh.crc = ipcrace_crc32(crc, buf + off + sizeof(rh), TRACE_PAD((size_t)rh.len));
	memcpy(buf + off, &rh, sizeof(rh));
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
		.untraced_peer_calls = 5,
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
	w = writer_v2(f->path, &h);
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
	assert_true(file_size(f->path) > 2 * TRACE_WRITER_BUF);

	t = trace__read_file(f->path, err, sizeof(err));
	assert_non_null(t);
	assert_true(t->has_footer);
	assert_false(t->truncated);

	assert_int_equal(t->header.version, TRACE_VERSION_V2);
	assert_int_equal(t->format_version, TRACE_VERSION_V2);
	assert_int_equal(t->skipped_bytes + t->skipped_records + t->damaged_regions, 0);
	/* whole, but its footer says events were lost in the ring buffer */
	assert_false(trace__is_complete(t));
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
	assert_int_equal(t->footer.untraced_peer_calls, 5);
	assert_int_equal(t->footer.target_status, 66 << 8);
	assert_int_equal(t->footer.flags, TRACEF_TARGET_EXITED);
	assert_int_equal(t->footer.seed, 0x5eed);
	assert_int_equal(t->footer.watched_words, 12);
	trace__free(t);
}

static void test_trace_file_is_created_mode_0600(void **state)
{
	struct fixture *f = *state;
	char link_path[160];
	struct trace_header h;
	struct trace_writer *w;
	struct stat st;
	mode_t old;
	int fd;

	/* an existing world-readable file, another name for it, a permissive umask */
	fd = open(f->path, O_CREAT | O_WRONLY, 0666);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, 0666), 0);
	assert_int_equal(write(fd, "secret", 6), 6);
	close(fd);
	snprintf(link_path, sizeof(link_path), "%s/other-name", f->dir);
	assert_int_equal(link(f->path, link_path), 0);
	old = umask(0);
	make_header(&h);
	w = writer_v2(f->path, &h);
	umask(old);
	assert_non_null(w);
	assert_int_equal(trace_writer__close(w, NULL), 0);

	/* a new file at the name, 0600 ... */
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, HDR_END);
	/* ... and the old one untouched: mode and contents */
	assert_int_equal(stat(link_path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0666);
	assert_int_equal(st.st_size, 6);
	unlink(link_path);
}

static void test_symlink_at_trace_path_is_refused(void **state)
{
	struct fixture *f = *state;
	char victim[160];
	struct trace_header h;
	struct stat st;
	int fd;

	snprintf(victim, sizeof(victim), "%s/victim", f->dir);
	fd = open(victim, O_CREAT | O_WRONLY, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "keep", 4), 4);
	close(fd);
	assert_int_equal(symlink(victim, f->path), 0);
	make_header(&h);
	errno = 0;
	assert_null(writer_v2(f->path, &h));
	assert_int_equal(errno, ELOOP);
	assert_int_equal(stat(victim, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(st.st_size, 4);
	assert_int_equal(lstat(f->path, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	unlink(victim);
}

/* Events 0..nr-1 and a stack every three, flushed now and then, then the footer. */
static unsigned char *small_trace(const char *path, size_t *len, size_t *nr)
{
	struct trace_header h;
	struct trace_footer foot = { .end_mono_ns = 1 };
	struct ipcrace_stack s;
	struct ipcrace_event e;
	struct trace_writer *w;
	unsigned ev = 0;

	make_header(&h);
	w = writer_v2(path, &h);
	assert_non_null(w);
	for (int c = 0; c < 5; c++) {
		make_stack(&s, 0x1000 + c, c + 1);
		assert_int_equal(trace_writer__add_stack(w, &s), 0);
		for (int i = 0; i < 3; i++) {
			make_event(&e, ev++);
			assert_int_equal(trace_writer__add_event(w, &e), 0);
		}
		if (c % 2)
			assert_int_equal(trace_writer__flush(w), 0);
	}
	assert_int_equal(trace_writer__close(w, &foot), 0);
	*nr = ev;
	return read_whole(path, len);
}

/* Where each record of a well-formed version 2 file ends, and its type. */
static size_t record_ends(const unsigned char *buf, size_t len, size_t *ends, __u16 *types,
			  size_t max)
{
	struct trace_record_header rh;
	size_t off = HDR_END, n = 0;

	while (off < len) {
		memcpy(&rh, buf + off, sizeof(rh));
		assert_int_equal(rh.magic, TRACE_RECORD_MAGIC);
		off += sizeof(rh) + TRACE_PAD((size_t)rh.len);
		assert_true(n < max);
		types[n] = rh.type;
		ends[n++] = off;
	}
	assert_int_equal(off, len);
	return n;
}

static void test_cut_anywhere_keeps_every_whole_record(void **state)
{
	struct fixture *f = *state;
	size_t len, nr, ends[64];
	__u16 types[64];
	unsigned char *buf = small_trace(f->path, &len, &nr);
	size_t nr_records = record_ends(buf, len, ends, types, 64);
	char err[256];

	assert_int_equal(nr_records, 5 + 15 + 1);
	for (size_t cut = 0; cut <= len; cut++) {
		size_t whole = 0, events = 0;
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
		while (whole < nr_records && ends[whole] <= cut) {
			events += types[whole] == TRACE_REC_EVENT;
			whole++;
		}
		/* exactly the events of the whole records before the cut */
		assert_int_equal(t->nr_events, events);
		for (size_t i = 0; i < t->nr_events; i++) {
			make_event(&e, i);
			assert_memory_equal(&t->events[i], &e, sizeof(e));
		}
		assert_int_equal(t->skipped_bytes, 0);
		assert_int_equal(t->skipped_records, 0);
		if (cut == len) {
			assert_true(t->has_footer);
			assert_false(t->truncated);
			assert_true(trace__is_complete(t));
			assert_int_equal(trace__exit_status(t, 0), 0);
		} else {
			size_t last = whole ? ends[whole - 1] : HDR_END;

			assert_false(t->has_footer);
			assert_int_equal(t->truncated, cut != last);
			assert_int_equal(t->tail_bytes, cut - last);
			assert_false(trace__is_complete(t));
			/* never clean: 1 without findings, 66 with */
			assert_int_equal(trace__exit_status(t, 0), 1);
			assert_int_equal(trace__exit_status(t, 3), 66);
		}
		trace__free(t);
	}
	free(buf);
}

static void test_flipped_bit_loses_only_its_record(void **state)
{
	struct fixture *f = *state;
	size_t len, nr, ends[64];
	__u16 types[64];
	unsigned char *buf = small_trace(f->path, &len, &nr);
	size_t nr_records = record_ends(buf, len, ends, types, 64);
	char err[256];

	for (size_t i = HDR_END; i < len; i++) {
		size_t rec = 0, events_before = 0;
		struct ipcrace_event e;
		struct trace *t;

		while (ends[rec] <= i)
			events_before += types[rec++] == TRACE_REC_EVENT;
		buf[i] ^= 1u << (i % 8);
		t = read_exact(buf, len, err, sizeof(err));
		assert_non_null(t);
		assert_false(trace__is_complete(t));
		assert_int_equal(trace__exit_status(t, 0), 1);
		if (rec == nr_records - 1) {
			/* the footer: the file ends in a record that does not hold */
			assert_false(t->has_footer);
			assert_true(t->truncated);
			assert_int_equal(t->nr_events, nr);
		} else {
			bool lost_event = types[rec] == TRACE_REC_EVENT;

			assert_true(t->has_footer);
			assert_int_equal(t->damaged_regions, 1);
			assert_int_equal(t->skipped_records, 1);
			assert_int_equal(t->skipped_bytes, ends[rec] - (rec ? ends[rec - 1] : HDR_END));
			assert_int_equal(t->nr_events, nr - lost_event);
			/* every other event intact, in order */
			for (size_t k = 0, ev = 0; k < t->nr_events; k++, ev++) {
				if (lost_event && ev == events_before)
					ev++;
				make_event(&e, ev);
				e.flags |= k == events_before ? EVF_AFTER_LOSS : 0;
				assert_memory_equal(&t->events[k], &e, sizeof(e));
			}
		}
		trace__free(t);
		buf[i] ^= 1u << (i % 8);
	}
	free(buf);
}

static void test_damaged_header_keeps_the_records(void **state)
{
	struct fixture *f = *state;
	size_t len, nr;
	unsigned char *buf = small_trace(f->path, &len, &nr);
	struct trace *t;
	char err[256];

	buf[sizeof(struct trace_file_prefix) + 20] ^= 1;	/* in host[] */
	t = read_exact(buf, len, err, sizeof(err));
	assert_non_null(t);
	assert_true(t->header_damaged);
	assert_int_equal(t->nr_events, nr);
	assert_false(trace__is_complete(t));
	trace__describe_gaps(t, err, sizeof(err));
	assert_non_null(strstr(err, "header is damaged"));
	trace__free(t);
	free(buf);
}

static void test_gaps_are_described(void **state)
{
	struct trace t = { .has_footer = false, .truncated = true, .tail_bytes = 40,
			   .damaged_regions = 2, .skipped_bytes = 272, .skipped_records = 3 };
	char buf[512], tiny[10];
	size_t need;

	(void)state;
	t.footer.lost_events = 5;
	need = trace__describe_gaps(&t, buf, sizeof(buf));
	assert_int_equal(need, strlen(buf));
	assert_string_equal(buf, "no footer: the recording was cut off, later events are missing; "
			    "the file ends inside a record (40 bytes after the last whole one); "
			    "2 damaged regions skipped (272 bytes, 3 records lost); "
			    "5 events lost (ring buffer full)");
	/* cut, never overrun, and the length needed still told */
	assert_int_equal(trace__describe_gaps(&t, tiny, sizeof(tiny)), need);
	assert_int_equal(strlen(tiny), sizeof(tiny) - 1);
	memset(&t, 0, sizeof(t));
	t.has_footer = true;
	assert_int_equal(trace__describe_gaps(&t, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "");
	assert_true(trace__is_complete(&t));
	t.footer.lost_events = 1;
	assert_false(trace__is_complete(&t));
	assert_int_equal(trace__exit_status(&t, 0), TRACE_EXIT_INCOMPLETE);
	assert_false(trace__is_complete(NULL));
}

static void test_flipped_header_prefix_is_refused(void **state)
{
	struct fixture *f = *state;
	unsigned char *buf = header_only(f->path);
	char err[256];

	buf[0] ^= 1;	/* the magic */
	assert_null(read_exact(buf, HDR_END, err, sizeof(err)));
	assert_string_equal(err, "trace: not an ipcrace trace");
	free(buf);
}

static void test_tick_writes_records_older_than_100ms(void **state)
{
	struct fixture *f = *state;
	struct trace_header h;
	struct ipcrace_event e;
	struct trace_writer *w;
	struct timespec ts;
	__u64 now;

	make_header(&h);
	w = writer_v2(f->path, &h);
	assert_non_null(w);
	make_event(&e, 0);
	assert_int_equal(trace_writer__add_event(w, &e), 0);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = ts.tv_sec * 1000000000ull + ts.tv_nsec;
	assert_int_equal(trace_writer__size(w), HDR_END + 16 + sizeof(e));
	/* buffered while young ... */
	assert_int_equal(trace_writer__tick(w, now), 0);
	assert_int_equal(file_size(f->path), HDR_END);
	/* ... on disk once 100 ms old, without a footer: a killed recording */
	assert_int_equal(trace_writer__tick(w, now + TRACE_WRITER_MAX_DELAY_NS + 1), 0);
	assert_int_equal(file_size(f->path), HDR_END + 16 + sizeof(e));
	{
		char err[256];
		struct trace *t = trace__read_file(f->path, err, sizeof(err));

		assert_non_null(t);
		assert_int_equal(t->nr_events, 1);
		assert_false(t->has_footer);
		trace__free(t);
	}
	assert_int_equal(trace_writer__close(w, NULL), 0);
}

static void test_size_limit_drops_and_counts(void **state)
{
	struct fixture *f = *state;
	struct trace_footer foot = { .end_mono_ns = 1 };
	struct trace_header h;
	struct ipcrace_event e;
	struct trace_writer *w;
	struct trace *t;
	char err[256];

	make_header(&h);
	w = writer_v2(f->path, &h);
	assert_non_null(w);
	/* room for the footer and 10 events */
	assert_int_equal(trace_writer__set_limit(w, HDR_END + 16 + sizeof(struct trace_footer) +
						 10 * (16 + sizeof(e))), 0);
	for (unsigned i = 0; i < 25; i++) {
		make_event(&e, i);
		assert_int_equal(trace_writer__add_event(w, &e), 0);
	}
	assert_int_equal(trace_writer__close(w, &foot), 0);
	t = trace__read_file(f->path, err, sizeof(err));
	assert_non_null(t);
	assert_true(t->has_footer);
	assert_int_equal(t->nr_events, 10);
	assert_int_equal(t->footer.events, 10);
	assert_int_equal(t->footer.dropped_events, 15);
	assert_int_equal(t->footer.dropped_records, 15);
	assert_false(trace__is_complete(t));
	trace__describe_gaps(t, err, sizeof(err));
	assert_non_null(strstr(err, "15 events (15 records) not written"));
	trace__free(t);
}

static void test_random_garbage_never_crashes(void **state)
{
	struct fixture *f = *state;
	size_t len, nr, ends[64];
	__u16 types[64];
	unsigned char *valid = small_trace(f->path, &len, &nr);
	size_t nr_records = record_ends(valid, len, ends, types, 64);
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
			for (size_t r = 0; r < nr_records; r++) {
				size_t start = r ? ends[r - 1] : HDR_END;
				size_t data = start + sizeof(struct trace_record_header);
				size_t dlen = ends[r] - data;

				flips = rng_next() % 3;
				while (flips--) {
					size_t at = rng_next() % dlen;
					/* sometimes a whole field, to reach big values */
					__u32 v = (__u32)rng_next();

					if (at + 4 <= dlen && rng_next() % 2)
						memcpy(buf + data + at, &v, 4);
					else
						buf[data + at] = (unsigned char)v;
				}
				if (rng_next() % 8 == 0) {
					/* a length or sequence number changed too */
					__u16 l = (__u16)rng_next();
					__u32 q = (__u32)rng_next();

					if (rng_next() % 2)
						memcpy(buf + start + offsetof(struct trace_record_header, len),
						       &l, 2);
					else
						memcpy(buf + start + offsetof(struct trace_record_header, seq),
						       &q, 4);
					if (TRACE_PAD((size_t)l) > n - data)
						continue;
				}
				reseal(buf, start);
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
			assert_true(t->skipped_bytes + t->tail_bytes <= n);
			trace__free(t);
		} else {
			refused++;
			assert_true(errno == EINVAL);
			assert_true(strncmp(err, "trace: ", 7) == 0);
		}
	}
	/* both outcomes must really have been exercised */
	assert_true(accepted > 1000);
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
	w = writer_v2(f->path, &h);
	assert_non_null(w);
	make_event(&e, 1);
	assert_int_equal(trace_writer__add_event(w, &e), 0);
	assert_int_equal(trace_writer__close(w, NULL), 0);

	t = trace__read_file(f->path, err, sizeof(err));
	assert_non_null(t);
	assert_false(t->has_footer);
	assert_false(t->truncated);
	assert_int_equal(t->nr_events, 1);
	assert_false(trace__is_complete(t));
	trace__free(t);
}

static void test_version_4_is_refused(void **state)
{
	struct fixture *f = *state;
	unsigned char *buf = header_only(f->path);
	__u32 v = TRACE_VERSION + 1;
	char err[256];

	memcpy(buf + offsetof(struct trace_file_prefix, version), &v, sizeof(v));
	write_whole(f->path, buf, HDR_END);
	errno = 0;
	assert_null(trace__read_file(f->path, err, sizeof(err)));
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(err, "version 4 is not supported"));
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

static void test_v1_bad_chunk_magic_names_chunk_and_offset(void **state)
{
	struct fixture *f = *state;
	static struct chunk_builder cb;
	struct ipcrace_event e;
	char err[256], want[80];
	size_t second;

	make_event(&e, 0);
	cb_begin(&cb, f->path);
	cb_record(&cb, TRACE_REC_EVENT, &e, sizeof(e));
	cb_end(&cb);
	second = cb.len;
	cb.chunk_start = cb.len;
	cb.len += sizeof(struct trace_v1_chunk_header);
	cb.nr = 0;
	cb_record(&cb, TRACE_REC_EVENT, &e, sizeof(e));
	cb_end(&cb);
	cb.buf[second] ^= 0xff;
	assert_null(read_exact(cb.buf, cb.len, err, sizeof(err)));
	snprintf(want, sizeof(want), "chunk 1 at offset %zu: bad magic", second);
	assert_non_null(strstr(err, want));
}

static void test_v1_trace_still_reads(void **state)
{
	struct fixture *f = *state;
	static struct chunk_builder cb;
	struct trace_footer foot = { .end_mono_ns = 5, .lost_events = 0, .seed = 9 };
	struct ipcrace_event e0, e1;
	struct trace *t;
	char err[256];

	make_event(&e0, 0);
	make_event(&e1, 1);
	cb_begin(&cb, f->path);
	cb_record(&cb, TRACE_REC_EVENT, &e0, sizeof(e0));
	cb_record(&cb, TRACE_REC_EVENT, &e1, sizeof(e1));
	cb_record(&cb, TRACE_REC_FOOTER, &foot, TRACE_V1_FOOTER_LEN);
	cb_end(&cb);
	t = read_exact(cb.buf, cb.len, err, sizeof(err));
	assert_non_null(t);
	assert_int_equal(t->format_version, TRACE_VERSION_V1);
	assert_int_equal(t->nr_events, 2);
	assert_memory_equal(&t->events[1], &e1, sizeof(e1));
	assert_true(t->has_footer);
	assert_int_equal(t->footer.seed, 9);
	assert_int_equal(t->footer.dropped_records, 0);
	assert_true(trace__is_complete(t));
	trace__free(t);

	/* cut inside its only chunk: nothing of it, truncated */
	t = read_exact(cb.buf, cb.len - 1, err, sizeof(err));
	assert_non_null(t);
	assert_int_equal(t->nr_events, 0);
	assert_true(t->truncated);
	assert_false(trace__is_complete(t));
	trace__free(t);
}

static void test_zero_filled_tail_reads_as_truncated(void **state)
{
	struct fixture *f = *state;
	size_t len, nr, ends[64];
	__u16 types[64];
	unsigned char *buf = small_trace(f->path, &len, &nr);
	size_t nr_records = record_ends(buf, len, ends, types, 64), events = 0;
	struct trace *t;
	char err[256];

	/* what a crash can leave: blocks allocated past the last write */
	assert_true(nr_records > 8);
	memset(buf + ends[7], 0, len - ends[7]);
	for (size_t r = 0; r < 8; r++)
		events += types[r] == TRACE_REC_EVENT;
	t = read_exact(buf, len, err, sizeof(err));
	assert_non_null(t);
	assert_true(t->truncated);
	assert_int_equal(t->tail_bytes, len - ends[7]);
	assert_int_equal(t->nr_events, events);
	assert_int_equal(t->skipped_bytes, 0);
	trace__free(t);
	free(buf);
}

static void test_sequence_gap_counts_lost_records(void **state)
{
	struct fixture *f = *state;
	static struct record_builder rb;
	struct trace_footer foot = { 0 };
	struct ipcrace_event e0, e1;
	struct trace *t;
	char err[256];

	make_event(&e0, 0);
	make_event(&e1, 1);
	rb_begin(&rb, f->path);
	rb_record(&rb, TRACE_REC_EVENT, &e0, sizeof(e0));
	rb.seq += 4;	/* four records never made it */
	rb_record(&rb, TRACE_REC_EVENT, &e1, sizeof(e1));
	rb_record(&rb, TRACE_REC_FOOTER, &foot, sizeof(foot));
	t = read_exact(rb.buf, rb.len, err, sizeof(err));
	assert_non_null(t);
	assert_int_equal(t->skipped_records, 4);
	assert_int_equal(t->skipped_bytes, 0);
	assert_int_equal(t->damaged_regions, 1);
	assert_int_equal(t->nr_events, 2);
	assert_false(t->events[0].flags & EVF_AFTER_LOSS);
	assert_true(t->events[1].flags & EVF_AFTER_LOSS);
	assert_false(trace__is_complete(t));
	trace__free(t);
}

static void test_intact_but_invalid_record_is_skipped(void **state)
{
	struct fixture *f = *state;
	static struct record_builder rb;
	struct trace_footer foot = { 0 };
	struct ipcrace_event e;
	struct ipcrace_stack s;
	struct trace *t;
	char err[256];

	make_event(&e, 0);
	rb_begin(&rb, f->path);
	e.type = EV_TYPE_MAX;
	rb_record(&rb, TRACE_REC_EVENT, &e, sizeof(e));
	make_event(&e, 0);
	e.obj = OBJ_KIND_MAX;
	rb_record(&rb, TRACE_REC_EVENT, &e, sizeof(e));
	make_stack(&s, 1, 4);
	rb_record(&rb, TRACE_REC_STACK, &s, TRACE_STACK_LEN(3));
	rb_record(&rb, TRACE_REC_PROCESS, "short", 5);
	make_event(&e, 1);
	rb_record(&rb, TRACE_REC_EVENT, &e, sizeof(e));
	rb_record(&rb, TRACE_REC_FOOTER, &foot, sizeof(foot));
	t = read_exact(rb.buf, rb.len, err, sizeof(err));
	assert_non_null(t);
	assert_int_equal(t->skipped_records, 4);
	assert_int_equal(t->nr_events, 1);
	assert_int_equal(t->nr_stacks, 0);
	assert_int_equal(t->nr_processes, 0);
	assert_true(t->events[0].flags & EVF_AFTER_LOSS);
	assert_true(t->has_footer);
	assert_string_equal(err, "");
	trace__free(t);
}

static void test_records_after_footer_are_damage(void **state)
{
	struct fixture *f = *state;
	static struct record_builder rb;
	struct trace_footer foot = { 0 };
	struct ipcrace_event e;
	struct trace *t;
	char err[256];

	make_event(&e, 0);
	rb_begin(&rb, f->path);
	rb_record(&rb, TRACE_REC_FOOTER, &foot, sizeof(foot));
	rb_record(&rb, TRACE_REC_EVENT, &e, sizeof(e));
	t = read_exact(rb.buf, rb.len, err, sizeof(err));
	assert_non_null(t);
	assert_int_equal(t->nr_events, 0);
	assert_int_equal(t->skipped_bytes, 16 + sizeof(e));
	assert_false(trace__is_complete(t));
	trace__free(t);
}

static void test_oversized_record_length_is_damage(void **state)
{
	struct fixture *f = *state;
	static struct record_builder rb;
	struct ipcrace_event e;
	struct trace *t;
	char err[256];
	size_t off;
	__u16 big = TRACE_RECORD_MAX + 8;

	make_event(&e, 0);
	rb_begin(&rb, f->path);
	off = rb_record(&rb, TRACE_REC_EVENT, &e, sizeof(e));
	memcpy(rb.buf + off + offsetof(struct trace_record_header, len), &big, 2);
	reseal(rb.buf, off);	/* its checksum would hold, if it fitted */
	rb_record(&rb, TRACE_REC_EVENT, &e, sizeof(e));
	t = read_exact(rb.buf, rb.len, err, sizeof(err));
	assert_non_null(t);
	assert_int_equal(t->nr_events, 1);
	assert_int_equal(t->skipped_records, 1);
	trace__free(t);
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

static void test_v2_unknown_record_type_is_skipped(void **state)
{
	struct fixture *f = *state;
	static struct record_builder rb;
	struct ipcrace_event e0, e1;
	char future[20] = "from a newer writer";
	struct trace *t;
	char err[256];

	make_event(&e0, 0);
	make_event(&e1, 1);
	rb_begin(&rb, f->path);
	rb_record(&rb, TRACE_REC_EVENT, &e0, sizeof(e0));
	rb_record(&rb, 77, future, sizeof(future));
	rb_record(&rb, TRACE_REC_EVENT, &e1, sizeof(e1));
	t = read_exact(rb.buf, rb.len, err, sizeof(err));
	assert_non_null(t);
	assert_int_equal(t->nr_events, 2);
	assert_int_equal(t->events[1].ts, e1.ts);
	assert_int_equal(t->skipped_records, 0);
	assert_false(t->events[1].flags & EVF_AFTER_LOSS);
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
		w = writer_v2(f->path, &h);
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
	struct trace_v1_record_header rh = { .type = TRACE_REC_EVENT, .len = UINT32_MAX };
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
	struct trace_v1_chunk_header ch;
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
	cb_record(&cb, TRACE_REC_FOOTER, &foot, TRACE_V1_FOOTER_LEN);
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

/*
 * Stack snapshots beside frame-pointer stacks: the snapshot table outlives
 * the stack sort (it was once freed there, and the reader then used it).
 */
static void test_stack_snapshots_survive_the_stack_sort(void **state)
{
	struct fixture *f = *state;
	static struct ipcrace_ustack u;
	const struct ustack_snapshot *snap;
	struct trace_header h;
	struct ipcrace_stack s;
	struct ipcrace_event e;
	struct trace_writer *w;
	struct trace *t;
	char err[256];

	make_header(&h);
	w = writer_v2(f->path, &h);
	assert_non_null(w);
	for (__u64 id = 0x1003; id >= 0x1000; id--) {
		make_stack(&s, id, 3);
		assert_int_equal(trace_writer__add_stack(w, &s), 0);
	}
	for (__u64 id = 3; id >= 1; id--) {
		memset(&u, 0, sizeof(u));
		u.id = 0x5000 + id;
		u.size = (__u32)(id * 3000);	/* several parts from 3000 up */
		u.regs[0] = id;
		for (__u32 i = 0; i < u.size; i++)
			u.data[i] = (__u8)(i * 7 + id);
		assert_int_equal(trace_writer__add_ustack(w, &u), 0);
	}
	make_event(&e, 0);
	assert_int_equal(trace_writer__add_event(w, &e), 0);
	assert_int_equal(trace_writer__close(w, NULL), 0);

	t = trace__read_file(f->path, err, sizeof(err));
	assert_non_null(t);
	assert_non_null(trace__find_stack(t, 0x1002));
	for (__u64 id = 1; id <= 3; id++) {
		snap = trace__find_ustack(t, 0x5000 + id);
		assert_non_null(snap);
		assert_int_equal(snap->hdr.size, id * 3000);
		assert_int_equal(snap->have, id * 3000);
		assert_int_equal(snap->hdr.regs[0], id);
		for (__u32 i = 0; i < snap->have; i++)
			assert_int_equal(snap->data[i], (__u8)(i * 7 + id));
	}
	assert_null(trace__find_ustack(t, 0x5004));
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
		tmp_trace_test(test_round_trip_preserves_every_record),
		tmp_trace_test(test_stack_snapshots_survive_the_stack_sort),
		tmp_trace_test(test_trace_file_is_created_mode_0600),
		tmp_trace_test(test_symlink_at_trace_path_is_refused),
		tmp_trace_test(test_cut_anywhere_keeps_every_whole_record),
		tmp_trace_test(test_flipped_bit_loses_only_its_record),
		tmp_trace_test(test_damaged_header_keeps_the_records),
		cmocka_unit_test(test_gaps_are_described),
		tmp_trace_test(test_flipped_header_prefix_is_refused),
		tmp_trace_test(test_tick_writes_records_older_than_100ms),
		tmp_trace_test(test_size_limit_drops_and_counts),
		tmp_trace_test(test_random_garbage_never_crashes),
		tmp_trace_test(test_missing_footer_reads_without_footer),
		tmp_trace_test(test_version_4_is_refused),
		tmp_trace_test(test_foreign_byte_order_is_refused),
		tmp_trace_test(test_wrong_header_size_is_refused),
		tmp_trace_test(test_not_a_trace_is_refused),
		tmp_trace_test(test_directory_and_missing_file_are_refused),
		tmp_trace_test(test_v1_bad_chunk_magic_names_chunk_and_offset),
		tmp_trace_test(test_v1_trace_still_reads),
		tmp_trace_test(test_zero_filled_tail_reads_as_truncated),
		tmp_trace_test(test_sequence_gap_counts_lost_records),
		tmp_trace_test(test_intact_but_invalid_record_is_skipped),
		tmp_trace_test(test_records_after_footer_are_damage),
		tmp_trace_test(test_oversized_record_length_is_damage),
		tmp_trace_test(test_unknown_record_type_is_skipped),
		tmp_trace_test(test_v2_unknown_record_type_is_skipped),
		tmp_trace_test(test_stack_over_max_frames_is_refused),
		tmp_trace_test(test_stack_length_must_match_frames),
		tmp_trace_test(test_event_out_of_range_is_refused),
		tmp_trace_test(test_record_length_must_match_type),
		tmp_trace_test(test_huge_record_length_is_refused_without_allocating),
		tmp_trace_test(test_record_count_must_match_chunk_header),
		tmp_trace_test(test_oversized_chunk_is_refused_not_truncated),
		tmp_trace_test(test_anything_after_footer_is_refused),
		tmp_trace_test(test_strings_are_nul_terminated_on_read),
		cmocka_unit_test(test_free_accepts_null),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
