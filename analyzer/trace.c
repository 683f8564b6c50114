// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Trace reader. The file is hostile: every length is checked against the
 * bytes that are really there before it is used, nothing is allocated from
 * a length field, and each record is copied out with memcpy (the buffer may
 * be unaligned when it comes from trace__read_mem).
 *
 * What is refused (NULL, errno = EINVAL, one line in err):
 *   - not an ipcrace trace (no magic), an unsupported version, a file from
 *     a host of the other byte order, a header of the wrong size or with a
 *     bad checksum, a file that ends inside its header;
 *   - a chunk with a bad magic, an oversized or unaligned payload, a bad
 *     checksum, a record count that does not match, a record overrunning
 *     its chunk, anything after the footer;
 *   - a known record with the wrong length, an event whose type or object
 *     kind is out of range, a stack with more than IPCRACE_MAX_STACK
 *     frames, a mapping with start > end or an oversized build-id. These
 *     passed the checksum, so the writer itself was wrong: refusing is
 *     safer than letting the analyzer index tables with them.
 * What is tolerated:
 *   - records of unknown type inside a valid chunk are skipped (a newer
 *     writer may add record types without a new version);
 *   - a file that ends inside a chunk (short chunk header or payload), or
 *     whose tail is all zero bytes (blocks allocated but never written
 *     before a crash), reads up to its last whole chunk with
 *     truncated = true.
 * Strings (comm, paths, host) are forced to end in NUL.
 *
 * Memory is bounded by the input: every stored record consumed at least
 * 32 bytes of input and is stored in at most 344 bytes, and arrays grow by
 * doubling, so the trace takes at most ~22 times the file size.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trace.h"
#include "trace_format.h"
#include "crc32.h"

/* Larger files are refused rather than mapped: far beyond any recording. */
#define TRACE_FILE_MAX (4ull << 30)

struct reader {
	const unsigned char *buf;
	size_t len;
	const char *name;		/* file name for messages, or NULL */
	char *err;
	size_t errlen;
	struct trace *t;
	size_t cap_events;
	size_t cap_stacks;
	size_t cap_mappings;
	size_t cap_processes;
	bool footer_seen;
	/* where we are, for messages */
	size_t chunk_idx;
	size_t chunk_off;
};

/* Formats "trace: [NAME: ]MESSAGE" into err and returns -errnum. */
__attribute__((format(printf, 3, 4)))
static int reader__fail(struct reader *r, int errnum, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!r->err || !r->errlen)
		return -errnum;
	if (r->name)
		n = snprintf(r->err, r->errlen, "trace: %s: ", r->name);
	else
		n = snprintf(r->err, r->errlen, "trace: ");
	if (n < 0 || (size_t)n >= r->errlen)
		return -errnum;
	va_start(ap, fmt);
	vsnprintf(r->err + n, r->errlen - n, fmt, ap);
	va_end(ap);
	return -errnum;
}

/* A message about the record at index idx of the current chunk. */
#define reader__fail_rec(r, idx, fmt, ...)					\
	reader__fail(r, EINVAL, "chunk %zu at offset %zu: record %u: " fmt,	\
		     (r)->chunk_idx, (r)->chunk_off, (idx), ##__VA_ARGS__)

static bool all_zero(const unsigned char *p, size_t len)
{
	while (len--)
		if (*p++)
			return false;
	return true;
}

/* Makes room for one more element; arrays only grow by doubling. */
static int array__reserve(void **arr, size_t *cap, size_t nr, size_t elem)
{
	size_t new_cap;
	void *p;

	if (nr < *cap)
		return 0;
	new_cap = *cap ? *cap * 2 : 64;
	p = reallocarray(*arr, new_cap, elem);
	if (!p)
		return -ENOMEM;
	*arr = p;
	*cap = new_cap;
	return 0;
}

static int reader__nomem(struct reader *r)
{
	return reader__fail(r, ENOMEM, "out of memory");
}

static int reader__event(struct reader *r, __u32 idx, const unsigned char *data, __u32 len)
{
	struct trace *t = r->t;
	struct ipcrace_event e;

	if (len != sizeof(e))
		return reader__fail_rec(r, idx, "event of %u bytes, expected %zu", len, sizeof(e));
	memcpy(&e, data, sizeof(e));
	if (e.type == 0 || e.type >= EV_TYPE_MAX)
		return reader__fail_rec(r, idx, "event type %u out of range", e.type);
	if (e.obj >= OBJ_KIND_MAX)
		return reader__fail_rec(r, idx, "event object kind %u out of range", e.obj);
	e.hdr.kind = IPCRACE_REC_EVENT;
	e.hdr.size = sizeof(e);
	e.comm[sizeof(e.comm) - 1] = '\0';

	if (array__reserve((void **)&t->events, &r->cap_events, t->nr_events, sizeof(e)))
		return reader__nomem(r);
	t->events[t->nr_events++] = e;
	return 0;
}

static int reader__stack(struct reader *r, __u32 idx, const unsigned char *data, __u32 len)
{
	struct trace *t = r->t;
	struct ipcrace_stack s;

	if (len < TRACE_STACK_LEN(0))
		return reader__fail_rec(r, idx, "stack of %u bytes, shorter than its header", len);
	memset(&s, 0, sizeof(s));
	memcpy(&s, data, TRACE_STACK_LEN(0));
	if (s.nr > IPCRACE_MAX_STACK)
		return reader__fail_rec(r, idx, "stack of %u frames, more than %u",
					s.nr, IPCRACE_MAX_STACK);
	if (len != TRACE_STACK_LEN(s.nr))
		return reader__fail_rec(r, idx, "stack of %u frames in %u bytes, expected %zu",
					s.nr, len, TRACE_STACK_LEN(s.nr));
	memcpy(s.ips, data + TRACE_STACK_LEN(0), (size_t)s.nr * sizeof(s.ips[0]));
	s.hdr.kind = IPCRACE_REC_STACK;
	s.hdr.size = sizeof(s);

	if (array__reserve((void **)&t->stacks, &r->cap_stacks, t->nr_stacks, sizeof(s)))
		return reader__nomem(r);
	t->stacks[t->nr_stacks++] = s;
	return 0;
}

static int reader__mapping(struct reader *r, __u32 idx, const unsigned char *data, __u32 len)
{
	struct trace *t = r->t;
	struct trace_mapping m;

	if (len != sizeof(m))
		return reader__fail_rec(r, idx, "mapping of %u bytes, expected %zu", len, sizeof(m));
	memcpy(&m, data, sizeof(m));
	if (m.start > m.end)
		return reader__fail_rec(r, idx, "mapping starts at 0x%llx after its end 0x%llx",
					(unsigned long long)m.start, (unsigned long long)m.end);
	if (m.build_id_len > TRACE_BUILD_ID_MAX)
		return reader__fail_rec(r, idx, "build-id of %u bytes, more than %u",
					m.build_id_len, TRACE_BUILD_ID_MAX);
	m.path[sizeof(m.path) - 1] = '\0';

	if (array__reserve((void **)&t->mappings, &r->cap_mappings, t->nr_mappings, sizeof(m)))
		return reader__nomem(r);
	t->mappings[t->nr_mappings++] = m;
	return 0;
}

static int reader__process(struct reader *r, __u32 idx, const unsigned char *data, __u32 len)
{
	struct trace *t = r->t;
	struct trace_process p;

	if (len != sizeof(p))
		return reader__fail_rec(r, idx, "process of %u bytes, expected %zu", len, sizeof(p));
	memcpy(&p, data, sizeof(p));
	p.comm[sizeof(p.comm) - 1] = '\0';
	p.exe[sizeof(p.exe) - 1] = '\0';

	if (array__reserve((void **)&t->processes, &r->cap_processes, t->nr_processes, sizeof(p)))
		return reader__nomem(r);
	t->processes[t->nr_processes++] = p;
	return 0;
}

static int reader__footer(struct reader *r, __u32 idx, const unsigned char *data, __u32 len)
{
	if (len != sizeof(r->t->footer))
		return reader__fail_rec(r, idx, "footer of %u bytes, expected %zu",
					len, sizeof(r->t->footer));
	memcpy(&r->t->footer, data, sizeof(r->t->footer));
	r->t->has_footer = true;
	r->footer_seen = true;
	return 0;
}

/* The records of one chunk whose checksum has been verified. */
static int reader__records(struct reader *r, const unsigned char *p, size_t len, __u32 nr_records)
{
	struct trace_record_header rh;
	size_t pos = 0;
	__u32 idx = 0;
	int err;

	while (pos < len) {
		const unsigned char *data;
		size_t room;

		if (r->footer_seen)
			return reader__fail_rec(r, idx, "record after the footer");
		if (len - pos < sizeof(rh))
			return reader__fail_rec(r, idx, "header cut off at the end of the chunk");
		memcpy(&rh, p + pos, sizeof(rh));
		data = p + pos + sizeof(rh);
		room = len - pos - sizeof(rh);
		if (TRACE_PAD((size_t)rh.len) > room)
			return reader__fail_rec(r, idx, "%u bytes overrun the chunk", rh.len);

		switch (rh.type) {
		case TRACE_REC_EVENT:
			err = reader__event(r, idx, data, rh.len);
			break;
		case TRACE_REC_STACK:
			err = reader__stack(r, idx, data, rh.len);
			break;
		case TRACE_REC_MAPPING:
			err = reader__mapping(r, idx, data, rh.len);
			break;
		case TRACE_REC_PROCESS:
			err = reader__process(r, idx, data, rh.len);
			break;
		case TRACE_REC_FOOTER:
			err = reader__footer(r, idx, data, rh.len);
			break;
		default:
			/* forward compatibility: a newer writer's record type */
			err = 0;
			break;
		}
		if (err)
			return err;
		pos += sizeof(rh) + TRACE_PAD((size_t)rh.len);
		idx++;	/* at most TRACE_CHUNK_MAX / 8: no overflow */
	}
	if (idx != nr_records)
		return reader__fail(r, EINVAL, "chunk %zu at offset %zu: %u records, its header says %u",
				    r->chunk_idx, r->chunk_off, idx, nr_records);
	return 0;
}

static int reader__header(struct reader *r, size_t *off)
{
	struct trace_file_prefix prefix;
	struct trace_header *h = &r->t->header;

	if (r->len < TRACE_MAGIC_LEN || memcmp(r->buf, TRACE_MAGIC, TRACE_MAGIC_LEN))
		return reader__fail(r, EINVAL, "not an ipcrace trace");
	if (r->len < sizeof(prefix))
		return reader__fail(r, EINVAL, "file header cut off");
	memcpy(&prefix, r->buf, sizeof(prefix));
	/* byte order first: on a foreign host the version reads as garbage */
	if (prefix.byte_order == TRACE_BYTE_ORDER_SWAPPED)
		return reader__fail(r, EINVAL, "written on a host of the other byte order, "
				    "not supported");
	if (prefix.version != TRACE_VERSION)
		return reader__fail(r, EINVAL, "version %u is not supported (this ipcrace "
				    "reads version %u)", prefix.version, TRACE_VERSION);
	if (prefix.byte_order != TRACE_BYTE_ORDER)
		return reader__fail(r, EINVAL, "bad byte order mark 0x%08x", prefix.byte_order);
	if (prefix.header_size != sizeof(*h))
		return reader__fail(r, EINVAL, "header of %u bytes, expected %zu",
				    prefix.header_size, sizeof(*h));
	if (r->len - sizeof(prefix) < sizeof(*h))
		return reader__fail(r, EINVAL, "file header cut off");
	if (ipcrace_crc32(0, r->buf + sizeof(prefix), sizeof(*h)) != prefix.header_crc)
		return reader__fail(r, EINVAL, "header checksum mismatch");
	memcpy(h, r->buf + sizeof(prefix), sizeof(*h));
	if (h->version != TRACE_VERSION)
		return reader__fail(r, EINVAL, "header says version %u, the file %u",
				    h->version, TRACE_VERSION);
	h->host[sizeof(h->host) - 1] = '\0';
	h->kernel[sizeof(h->kernel) - 1] = '\0';
	h->cmdline[sizeof(h->cmdline) - 1] = '\0';
	*off = sizeof(prefix) + sizeof(*h);
	return 0;
}

static int reader__chunks(struct reader *r, size_t off)
{
	struct trace_chunk_header ch;
	const unsigned char *payload;
	int err;

	for (r->chunk_idx = 0; off < r->len; r->chunk_idx++) {
		size_t left = r->len - off;

		r->chunk_off = off;
		/* blocks allocated but never written before a crash read as zeros */
		if (all_zero(r->buf + off, left)) {
			r->t->truncated = true;
			return 0;
		}
		if (left < sizeof(ch)) {
			r->t->truncated = true;
			return 0;
		}
		memcpy(&ch, r->buf + off, sizeof(ch));
		if (ch.magic != TRACE_CHUNK_MAGIC)
			return reader__fail(r, EINVAL, "chunk %zu at offset %zu: bad magic 0x%08x",
					    r->chunk_idx, off, ch.magic);
		if (ch.payload_len > TRACE_CHUNK_MAX)
			return reader__fail(r, EINVAL, "chunk %zu at offset %zu: payload of %u bytes, "
					    "more than %u", r->chunk_idx, off, ch.payload_len,
					    TRACE_CHUNK_MAX);
		if (ch.payload_len % TRACE_ALIGN)
			return reader__fail(r, EINVAL, "chunk %zu at offset %zu: payload of %u bytes "
					    "is not a multiple of %u", r->chunk_idx, off,
					    ch.payload_len, TRACE_ALIGN);
		if (ch.payload_len > left - sizeof(ch)) {
			r->t->truncated = true;
			return 0;
		}
		payload = r->buf + off + sizeof(ch);
		if (ipcrace_crc32(0, payload, ch.payload_len) != ch.crc)
			return reader__fail(r, EINVAL, "chunk %zu at offset %zu: checksum mismatch",
					    r->chunk_idx, off);
		if (r->footer_seen)
			return reader__fail(r, EINVAL, "chunk %zu at offset %zu: chunk after the footer",
					    r->chunk_idx, off);
		err = reader__records(r, payload, ch.payload_len, ch.nr_records);
		if (err)
			return err;
		off += sizeof(ch) + ch.payload_len;
	}
	return 0;
}

struct stack_key {
	__u64 id;
	size_t idx;			/* file order, to keep the first of duplicates */
};

static int stack_key__cmp(const void *a, const void *b)
{
	const struct stack_key *x = a, *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Sorts stacks by id for bsearch; of several with one id, the first read wins. */
static int reader__sort_stacks(struct reader *r)
{
	struct trace *t = r->t;
	struct ipcrace_stack *sorted = NULL;
	struct stack_key *keys = NULL;
	size_t i, n = 0;
	int err = 0;

	if (t->nr_stacks < 2)
		return 0;
	keys = calloc(t->nr_stacks, sizeof(*keys));
	sorted = calloc(t->nr_stacks, sizeof(*sorted));
	if (!keys || !sorted) {
		err = reader__nomem(r);
		goto out;
	}
	for (i = 0; i < t->nr_stacks; i++) {
		keys[i].id = t->stacks[i].id;
		keys[i].idx = i;
	}
	qsort(keys, t->nr_stacks, sizeof(*keys), stack_key__cmp);
	for (i = 0; i < t->nr_stacks; i++) {
		if (n && sorted[n - 1].id == keys[i].id)
			continue;
		sorted[n++] = t->stacks[keys[i].idx];
	}
	free(t->stacks);
	t->stacks = sorted;
	t->nr_stacks = n;
	r->cap_stacks = t->nr_stacks;
	sorted = NULL;
out:
	free(sorted);
	free(keys);
	return err;
}

static struct trace *trace__parse(const void *buf, size_t len, const char *name,
				  char *err, size_t errlen)
{
	struct reader r = {
		.buf = buf,
		.len = len,
		.name = name,
		.err = err,
		.errlen = errlen,
	};
	size_t off;
	int ret;

	if (err && errlen)
		err[0] = '\0';
	if (!buf && len) {
		ret = reader__fail(&r, EINVAL, "no buffer");
		goto err_out;
	}
	r.t = calloc(1, sizeof(*r.t));
	if (!r.t) {
		ret = reader__nomem(&r);
		goto err_out;
	}
	ret = reader__header(&r, &off);
	if (ret)
		goto err_free;
	ret = reader__chunks(&r, off);
	if (ret)
		goto err_free;
	ret = reader__sort_stacks(&r);
	if (ret)
		goto err_free;
	return r.t;

err_free:
	trace__free(r.t);
err_out:
	errno = -ret;
	return NULL;
}

struct trace *trace__read_mem(const void *buf, size_t len, char *err, size_t errlen)
{
	return trace__parse(buf, len, NULL, err, errlen);
}

/*
 * The file is mapped, not read: a trace can be large and is parsed once.
 * The mapping lives only while parsing; everything is copied out of it.
 */
struct trace *trace__read_file(const char *path, char *err, size_t errlen)
{
	struct trace *t = NULL;
	void *map = NULL;
	struct stat st;
	int fd, saved;

	if (err && errlen)
		err[0] = '\0';
	if (!path) {
		errno = EINVAL;
		return NULL;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		saved = errno;
		if (err && errlen)
			snprintf(err, errlen, "trace: %s: %s", path, strerror(saved));
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		saved = errno;
		if (err && errlen)
			snprintf(err, errlen, "trace: %s: %s", path, strerror(saved));
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		saved = EINVAL;
		if (err && errlen)
			snprintf(err, errlen, "trace: %s: not a regular file", path);
		goto out_close;
	}
	if ((unsigned long long)st.st_size > TRACE_FILE_MAX) {
		saved = EFBIG;
		if (err && errlen)
			snprintf(err, errlen, "trace: %s: %lld bytes, more than the 4 GiB limit",
				 path, (long long)st.st_size);
		goto out_close;
	}
	if (st.st_size > 0) {
		map = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map == MAP_FAILED) {
			saved = errno;
			map = NULL;
			if (err && errlen)
				snprintf(err, errlen, "trace: %s: mmap: %s", path, strerror(saved));
			goto out_close;
		}
	}
	t = trace__parse(map, st.st_size, path, err, errlen);
	saved = t ? 0 : errno;
	if (map)
		munmap(map, st.st_size);
out_close:
	close(fd);
out:
	if (!t)
		errno = saved;
	return t;
}

void trace__free(struct trace *t)
{
	if (!t)
		return;
	free(t->events);
	free(t->stacks);
	free(t->mappings);
	free(t->processes);
	free(t);
}

static int stack__cmp_id(const void *key, const void *elem)
{
	__u64 id = *(const __u64 *)key;
	const struct ipcrace_stack *s = elem;

	if (id != s->id)
		return id < s->id ? -1 : 1;
	return 0;
}

/* Stack id 0 means "no stack" in an event: never a match. */
const struct ipcrace_stack *trace__find_stack(const struct trace *t, __u64 id)
{
	if (!t || !id || !t->nr_stacks)
		return NULL;
	return bsearch(&id, t->stacks, t->nr_stacks, sizeof(*t->stacks), stack__cmp_id);
}

/*
 * The last record of that pid: the tracer may write a process again when
 * it learns more (exec, exit status), and the latest is the most complete.
 * Processes are few; a linear scan is enough.
 */
const struct trace_process *trace__find_process(const struct trace *t, __u32 pid)
{
	size_t i;

	if (!t)
		return NULL;
	for (i = t->nr_processes; i > 0; i--)
		if (t->processes[i - 1].pid == pid)
			return &t->processes[i - 1];
	return NULL;
}
