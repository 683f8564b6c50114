// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Streamed traces (trace.h): the events stay in the file. The first pass
 * (READER_META) keeps every other record and summarizes the events; each
 * later pass maps the file again and hands its events to a callback one
 * at a time (READER_EVENTS), giving the pages behind it back as it goes,
 * so memory is bounded by the live state of whoever consumes them, not by
 * the length of the trace.
 *
 * A later pass must see the events the first pass saw: the file is
 * checked to be the one opened (size, modification time, inode), and
 * each pass counts its events against the first's (-ESTALE otherwise).
 * Gaps found by the first pass in records other than events are applied
 * from its after_loss list, so the EVF_AFTER_LOSS flags are the same as
 * when the whole trace is read at once.
 *
 * The first pass checked every record's CRC; a later one skips the byte
 * ranges the first did not take (t->damage) and checks no checksum,
 * only what keeps it in bounds (magic, length, the file's end) and what
 * every record is decoded with (event type and object in range): bytes
 * changed behind the file's back without changing its size or time make
 * a pass fail with -ESTALE or see other events, never read out of bounds.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trace.h"
#include "trace_format.h"
#include "trace_read.h"
#include "identity.h"

static int stream_map(int fd, const char *name, const void **map, size_t *len,
		      struct stat *st, char *err, size_t errlen)
{
	int saved;

	*map = NULL;
	*len = 0;
	if (fstat(fd, st) < 0) {
		saved = errno;
		snprintf(err, errlen, "trace: %s: %s", name, strerror(saved));
		return -saved;
	}
	if (!S_ISREG(st->st_mode)) {
		snprintf(err, errlen, "trace: %s: not a regular file", name);
		return -EINVAL;
	}
	if ((unsigned long long)st->st_size > TRACE_FILE_MAX) {
		snprintf(err, errlen, "trace: %s: %lld bytes, more than the 4 GiB limit", name,
			 (long long)st->st_size);
		return -EFBIG;
	}
	if (!st->st_size)
		return 0;
	*map = mmap(NULL, st->st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (*map == MAP_FAILED) {
		saved = errno;
		*map = NULL;
		snprintf(err, errlen, "trace: %s: mmap: %s", name, strerror(saved));
		return -saved;
	}
	/* read once, front to back */
	madvise((void *)*map, st->st_size, MADV_SEQUENTIAL);
	*len = st->st_size;
	return 0;
}

struct trace *trace__open_fd_each(int fd, const char *name, trace_event_fn fn, void *ctx,
				  char *err, size_t errlen)
{
	char dummy[1];
	struct reader r = {
		.mode = READER_META,
		.on_event = fn,
		.ctx = ctx,
		.mapped = true,
		.name = name,
		.err = err ? err : dummy,
		.errlen = err ? errlen : sizeof(dummy),
	};
	const void *map;
	struct stat st;
	size_t len;
	int ret;

	r.err[0] = '\0';
	if (fd < 0 || !name) {
		errno = EINVAL;
		return NULL;
	}
	ret = stream_map(fd, name, &map, &len, &st, r.err, r.errlen);
	if (ret)
		goto err_out;
	r.buf = map;
	r.len = len;
	ret = reader__parse(&r);
	if (map)
		munmap((void *)map, len);
	if (ret)
		goto err_out;
	r.t->stream_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (r.t->stream_fd < 0) {
		ret = -errno;
		snprintf(r.err, r.errlen, "trace: %s: %s", name, strerror(-ret));
		trace__free(r.t);
		goto err_out;
	}
	r.t->streamed = true;
	r.t->stream_len = len;
	r.t->stream_dev = st.st_dev;
	r.t->stream_ino = st.st_ino;
	r.t->stream_mtime_ns = st.st_mtim.tv_sec * 1000000000ull + st.st_mtim.tv_nsec;
	return r.t;

err_out:
	errno = -ret;
	return NULL;
}

struct trace *trace__open_fd(int fd, const char *name, char *err, size_t errlen)
{
	return trace__open_fd_each(fd, name, NULL, NULL, err, errlen);
}

struct trace *trace__open_file(const char *path, char *err, size_t errlen)
{
	return reader__from_path(path, trace__open_fd, err, errlen);
}

struct trace *trace__open_file_each(const char *path, trace_event_fn fn, void *ctx, char *err,
				    size_t errlen)
{
	struct trace *t;
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
		errno = saved;
		return NULL;
	}
	t = trace__open_fd_each(fd, path, fn, ctx, err, errlen);
	saved = errno;
	close(fd);
	errno = saved;
	return t;
}

__u64 trace__stack_id(const struct trace *t, __u64 id)
{
	struct ipcrace_key k = { .a = id };
	__u64 rep;

	if (!id || !t->stack_remap || !keymap__get(t->stack_remap, &k, &rep))
		return id;
	return rep;
}

int reader__replay_records(struct reader *r, size_t off)
{
	const struct trace *src = r->source;
	struct trace_record_header rh;
	size_t next = 0;
	int err;

	while (off < r->len) {
		if (next < src->nr_damage && off == src->damage[next].start) {
			off = src->damage[next++].end;
			continue;
		}
		if (r->len - off < sizeof(rh))
			return -ESTALE;
		memcpy(&rh, r->buf + off, sizeof(rh));
		if (rh.magic != TRACE_RECORD_MAGIC || rh.len > TRACE_RECORD_MAX ||
		    TRACE_PAD((size_t)rh.len) > r->len - off - sizeof(rh))
			return -ESTALE;
		r->chunk_off = off;
		err = reader__record(r, rh.seq, rh.type, r->buf + off + sizeof(rh), rh.len);
		if (err == -EINVAL)
			return -ESTALE;	/* the first pass took it */
		if (err)
			return err;
		off += sizeof(rh) + TRACE_PAD((size_t)rh.len);
		reader__drop_behind(r, off);
	}
	return 0;
}

/* A later pass over a streamed trace. */
static int stream_pass(const struct trace *t, trace_event_fn fn, void *ctx)
{
	struct trace scratch = { .stream_fd = -1 };
	struct reader r = {
		.mode = READER_EVENTS,
		.on_event = fn,
		.ctx = ctx,
		.source = t,
		.mapped = true,
		.t = &scratch,
	};
	char msg[256];
	const void *map;
	struct stat st;
	size_t len;
	int ret;

	ret = stream_map(t->stream_fd, "trace", &map, &len, &st, msg, sizeof(msg));
	if (ret)
		return ret == -EFBIG || ret == -EINVAL ? -ESTALE : ret;
	if (len != t->stream_len || st.st_dev != t->stream_dev || st.st_ino != t->stream_ino ||
	    st.st_mtim.tv_sec * 1000000000ull + st.st_mtim.tv_nsec != t->stream_mtime_ns) {
		ret = -ESTALE;
		goto out;
	}
	r.buf = map;
	r.len = len;
	r.err = msg;
	r.errlen = sizeof(msg);
	ret = reader__parse(&r);
	if (ret == -ECANCELED)
		ret = r.event_ret;
	else if (!ret && r.events_seen != t->event_count)
		ret = -ESTALE;
	else if (ret == -EINVAL)
		ret = -ESTALE;	/* it parsed the first time */
out:
	if (map)
		munmap((void *)map, len);
	return ret;
}

int trace__for_each_event(const struct trace *t, trace_event_fn fn, void *ctx)
{
	size_t i;
	int ret;

	if (!t || !fn)
		return -EINVAL;
	if (t->streamed && !t->events)
		return stream_pass(t, fn, ctx);
	for (i = 0; i < t->nr_events; i++) {
		ret = fn(ctx, &t->events[i]);
		if (ret)
			return ret;
	}
	return 0;
}

struct load_ctx {
	struct trace *t;
	size_t cap;
};

static int load_one(void *ctx, const struct ipcrace_event *e)
{
	struct load_ctx *c = ctx;
	struct trace *t = c->t;

	if (t->nr_events == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 1024;
		void *p = reallocarray(t->events, cap, sizeof(*t->events));

		if (!p)
			return -ENOMEM;
		t->events = p;
		c->cap = cap;
	}
	t->events[t->nr_events++] = *e;
	return 0;
}

int trace__load_events(struct trace *t)
{
	struct load_ctx c = { .t = t };
	int ret;

	if (!t)
		return -EINVAL;
	if (!t->streamed || t->events)
		return 0;
	ret = stream_pass(t, load_one, &c);
	if (ret) {
		free(t->events);
		t->events = NULL;
		t->nr_events = 0;
	}
	return ret;
}
