// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Trace writer (version 3, analyzer/trace_format.h; version 2 on request,
 * for tests of the reader). Events are coded into an open block
 * (analyzer/trace_block.h), consecutive mappings into one of theirs
 * (analyzer/trace_maps.h), closed into an EVENTS or MAPPINGS record when it is full,
 * before any other record (so the file keeps the order records came in),
 * on tick, flush and close. Records are framed and checksummed as they are
 * added, into one buffer that is written with a single write loop when it
 * is full, when it is 100 ms old, on flush and on close. Nothing depends on a write being whole: a recording killed in
 * the middle of one leaves whole records and one partial record at the
 * end, which the reader counts as the cut.
 *
 * After a failed write the writer stays failed (the error is sticky): the
 * sequence numbers would say how many records were lost, but a file with a
 * hole from a full disk is better reported as a failed recording.
 *
 * Not thread-safe: the tracer writes from its ring buffer consumer only.
 */
#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "flight.h"
#include "output.h"
#include "trace_writer.h"
#include "../analyzer/crc32.h"
#include "../analyzer/trace_block.h"
#include "../analyzer/trace_format.h"
#include "../analyzer/trace_maps.h"
#include "../analyzer/ustack.h"

/* A footer record and its header: always kept free below the limit. */
#define FOOTER_RECORD_BYTES (sizeof(struct trace_record_header) + TRACE_PAD(sizeof(struct trace_footer)))

struct trace_writer {
	int fd;
	__u32 version;			/* TRACE_VERSION, or TRACE_VERSION_V2 */
	int err;			/* sticky: first write error, negative */
	__u32 seq;			/* sequence number of the next record */
	__u64 events;			/* events accepted, for the footer */
	__u64 dropped_events;		/* refused at the size limit */
	__u64 dropped_records;
	__u64 written;			/* bytes in the file */
	__u64 limit;			/* bytes the file may reach */
	__u64 oldest_ns;		/* when the first buffered record was added */
	/* flight recorder (--flight): records go to memory, windows to files */
	struct flight *flight;
	char *flight_base;		/* windows before the end: BASE.1, BASE.2... */
	unsigned flight_windows;
	bool window_requested;
	struct trace_header hdr;
	__u64 block_oldest_ns;		/* when the open block got its first entry */
	/* version 3: the open block, of events or of mappings (one at a time) */
	struct trace_block_enc block;
	struct trace_maps_enc maps;
	size_t used;			/* bytes in buf */
	unsigned char buf[TRACE_WRITER_BUF];
};

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;	/* no progress and no error: do not spin */
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int writer__write_buf(struct trace_writer *w)
{
	int err;

	if (w->err)
		return w->err;
	if (!w->used)
		return 0;
	err = write_all(w->fd, w->buf, w->used);
	if (err)
		w->err = err;
	else
		w->written += w->used;
	w->used = 0;
	return err;
}

/* One record framed into the buffer (or the flight recorder's memory). */
static int writer__frame(struct trace_writer *w, enum trace_record_type type,
			 const void *data, size_t len)
{
	struct trace_record_header rh = {
		.magic = TRACE_RECORD_MAGIC,
		.type = type,
		.len = (__u16)len,
	};
	size_t need = sizeof(rh) + TRACE_PAD(len);
	unsigned char *dst;
	__u32 crc;
	int err;

	if (w->err)
		return w->err;
	if (len > TRACE_RECORD_MAX)
		return -EINVAL;
	if (w->flight)
		return flight__add(w->flight, type, data, len);
	/* the footer always fits: the limit keeps its room */
	if (type != TRACE_REC_FOOTER &&
	    w->written + w->used + need + FOOTER_RECORD_BYTES > w->limit) {
		w->dropped_records++;
		if (type == TRACE_REC_EVENT)
			w->dropped_events++;
		return 0;
	}
	if (w->used + need > sizeof(w->buf)) {
		err = writer__write_buf(w);
		if (err)
			return err;
	}
	if (!w->used)
		w->oldest_ns = mono_ns();

	rh.seq = w->seq++;
	dst = w->buf + w->used;
	memcpy(dst + sizeof(rh), data, len);
	/* zero padding: no stale heap bytes in the file */
	memset(dst + sizeof(rh) + len, 0, TRACE_PAD(len) - len);
	crc = ipcrace_crc32(0, &rh, offsetof(struct trace_record_header, crc));
	rh.crc = ipcrace_crc32(crc, dst + sizeof(rh), TRACE_PAD(len));
	memcpy(dst, &rh, sizeof(rh));
	w->used += need;
	return 0;
}

/* The buffer is as old as the block's first entry. */
static void writer__block_written(struct trace_writer *w, bool was_empty)
{
	if (was_empty && w->used)
		w->oldest_ns = w->block_oldest_ns;
}

/*
 * The open block as an EVENTS or MAPPINGS record. Its events count as
 * written, or as dropped when the size limit refuses the record (adding
 * keeps room for it, so only a limit lowered since refuses it).
 */
static int writer__close_block(struct trace_writer *w)
{
	__u64 dropped = w->dropped_records;
	bool was_empty = !w->used;
	unsigned nr;
	const void *data;
	size_t len;
	int err;

	if (w->maps.nr) {
		nr = w->maps.nr;
		data = trace_maps_enc__finish(&w->maps, &len);
		err = writer__frame(w, TRACE_REC_MAPPINGS, data, len);
		trace_maps_enc__reset(&w->maps);
		if (err)
			return err;
		if (dropped != w->dropped_records)
			w->dropped_records += nr - 1;
		writer__block_written(w, was_empty);
		return 0;
	}
	nr = w->block.nr;
	if (!nr)
		return w->err;
	data = trace_block_enc__finish(&w->block, &len);
	err = writer__frame(w, TRACE_REC_EVENTS, data, len);
	trace_block_enc__reset(&w->block);
	if (err)
		return err;
	if (dropped != w->dropped_records) {
		w->dropped_records += nr - 1;
		w->dropped_events += nr;
		return 0;
	}
	w->events += nr;
	writer__block_written(w, was_empty);
	return 0;
}

/*
 * Version 3 stores a stack snapshot's bytes with their zero runs taken
 * out (USTACK_ZDATA, analyzer/trace_format.h): about half of a stack is
 * zero bytes. Returns the record's length in out, or 0 when that would
 * not be shorter than the part as it is.
 */
static size_t writer__zero_runs(const unsigned char *part, size_t len, unsigned char *out)
{
	const unsigned char *p, *end;
	size_t n = sizeof(struct trace_ustack_data);
	unsigned char *o;

	if (len < n)
		return 0;
	memcpy(out, part, n);
	o = out + n;
	p = part + n;
	end = part + len;
	while (p < end) {
		const unsigned char *z = p, *lit;
		size_t zeros, lits;

		while (z < end && !*z)
			z++;
		zeros = (size_t)(z - p);
		/* literals up to the next run of 3 zero bytes or more */
		lit = z;
		while (lit < end && !(lit + 2 < end && !lit[0] && !lit[1] && !lit[2]))
			lit++;
		if (lit + 2 >= end)
			lit = end;
		lits = (size_t)(lit - z);
		if ((size_t)(o - out) + 2 * 3 + lits >= len)
			return 0;	/* no gain */
		o = trace_block__put_varint(o, zeros);
		o = trace_block__put_varint(o, lits);
		memcpy(o, z, lits);
		o += lits;
		p = lit;
	}
	return (size_t)(o - out);
}

/*
 * A mapping without the unused end of its path (version 3): the reader
 * fills it with zeros.
 */
static size_t writer__mapping_len(const struct trace_mapping *m)
{
	return offsetof(struct trace_mapping, path) + strnlen(m->path, sizeof(m->path) - 1) + 1;
}

/* Any record but an event: after the events that came before it. */
static int writer__add_record(struct trace_writer *w, enum trace_record_type type,
			      const void *data, size_t len)
{
	unsigned char packed[TRACE_RECORD_MAX];
	int err = writer__close_block(w);
	size_t n;

	if (err)
		return err;
	if (w->version == TRACE_VERSION && !w->flight) {
		/* a mapping the block refuses (the reader will too): shortened */
		if (type == TRACE_REC_MAPPING && len == sizeof(struct trace_mapping))
			return writer__frame(w, type, data, writer__mapping_len(data));
		if (type == TRACE_REC_USTACK_DATA && len <= sizeof(packed) &&
		    (n = writer__zero_runs(data, len, packed)))
			return writer__frame(w, TRACE_REC_USTACK_ZDATA, packed, n);
	}
	return writer__frame(w, type, data, len);
}

/* The header as written: this format's version, strings terminated. */
static struct trace_header header_normalized(const struct trace_header *hdr)
{
	struct trace_header h = *hdr;

	h.__pad = 0;
	h.host[sizeof(h.host) - 1] = '\0';
	h.kernel[sizeof(h.kernel) - 1] = '\0';
	h.cmdline[sizeof(h.cmdline) - 1] = '\0';
	return h;
}

struct trace_writer *trace_writer__open_version(int fd, const struct trace_header *hdr,
					       __u32 version)
{
	struct trace_file_prefix prefix = {
		.magic = TRACE_MAGIC,
		.version = version,
		.header_size = sizeof(struct trace_header),
		.byte_order = TRACE_BYTE_ORDER,
	};
	struct trace_header h;
	struct trace_writer *w = NULL;
	int err;

	if (fd < 0 || !hdr || (version != TRACE_VERSION && version != TRACE_VERSION_V2)) {
		err = -EINVAL;
		goto err_close;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		err = -ENOMEM;
		goto err_close;
	}
	w->fd = fd;
	w->version = version;
	w->limit = TRACE_FILE_MAX;
	trace_block_enc__reset(&w->block);
	trace_maps_enc__reset(&w->maps);

	h = header_normalized(hdr);
	h.version = version;
	prefix.header_crc = ipcrace_crc32(0, &h, sizeof(h));
	w->hdr = h;

	err = write_all(fd, &prefix, sizeof(prefix));
	if (!err)
		err = write_all(fd, &h, sizeof(h));
	if (err)
		goto err_free;
	w->written = sizeof(prefix) + sizeof(h);
	return w;

err_free:
	free(w);
err_close:
	/* the writer owns fd from the call on, failure included */
	if (fd >= 0)
		close(fd);
	errno = -err;
	return NULL;
}

struct trace_writer *trace_writer__open_fd(int fd, const struct trace_header *hdr)
{
	return trace_writer__open_version(fd, hdr, TRACE_VERSION);
}

struct trace_writer *trace_writer__open_path_version(const char *path,
						    const struct trace_header *hdr,
						    __u32 version)
{
	struct output o;
	int err, fd;

	if (!path || !hdr) {
		errno = EINVAL;
		return NULL;
	}
	err = output__open(&o, path, OUTPUT_PRIVATE | OUTPUT_NOW, NULL, 0);
	if (err) {
		errno = -err;
		return NULL;
	}
	/* in place already: the writer keeps the descriptor, o the rest */
	fd = o.fd;
	o.fd = -1;
	output__discard(&o);
	return trace_writer__open_version(fd, hdr, version);
}

struct trace_writer *trace_writer__open(const char *path, const struct trace_header *hdr)
{
	return trace_writer__open_path_version(path, hdr, TRACE_VERSION);
}

struct trace_writer *trace_writer__open_flight(int fd, const struct trace_header *hdr,
					      size_t bytes, const char *base)
{
	struct trace_writer *w = NULL;
	struct trace_header h;
	int err;

	if (fd < 0 || !hdr || !base) {
		err = -EINVAL;
		goto err;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		err = -ENOMEM;
		goto err;
	}
	w->fd = fd;
	w->version = TRACE_VERSION;
	w->limit = TRACE_FILE_MAX;
	trace_block_enc__reset(&w->block);
	trace_maps_enc__reset(&w->maps);
	h = header_normalized(hdr);
	h.version = TRACE_VERSION;
	w->hdr = h;
	w->flight = flight__new(bytes);
	w->flight_base = strdup(base);
	if (!w->flight || !w->flight_base) {
		err = -ENOMEM;
		goto err;
	}
	return w;
err:
	if (w) {
		flight__free(w->flight);
		free(w->flight_base);
		free(w);
	}
	if (fd >= 0)
		close(fd);
	errno = -err;
	return NULL;
}

int trace_writer__set_limit(struct trace_writer *w, __u64 max_bytes)
{
	if (!w)
		return -EINVAL;
	w->limit = max_bytes && max_bytes < TRACE_FILE_MAX ? max_bytes : TRACE_FILE_MAX;
	return 0;
}

/*
 * Bytes the file would have with the open blocks closed, the events' one
 * holding ev_extra more bytes and the mappings' map_extra.
 */
static __u64 writer__size_with_block(const struct trace_writer *w, size_t ev_extra,
				     size_t map_extra)
{
	__u64 n = w->written + w->used;

	if (w->block.nr || ev_extra)
		n += sizeof(struct trace_record_header) + TRACE_PAD(w->block.len + ev_extra);
	if (w->maps.nr || map_extra)
		n += sizeof(struct trace_record_header) + TRACE_PAD(w->maps.len + map_extra);
	return n;
}

/*
 * Version 3: the event goes into the open block. The limit is kept with
 * room for the largest event: when the block might not fit with it, the
 * block is closed, and an event that an empty block could not hold under
 * the limit is dropped.
 */
static int writer__block_event(struct trace_writer *w, const struct ipcrace_event *e)
{
	int err;

	if (w->err)
		return w->err;
	if (w->maps.nr || (w->block.nr &&
	    writer__size_with_block(w, TRACE_BLOCK_EVENT_MAX, 0) + FOOTER_RECORD_BYTES > w->limit)) {
		err = writer__close_block(w);
		if (err)
			return err;
	}
	if (!w->block.nr &&
	    writer__size_with_block(w, TRACE_BLOCK_EVENT_MAX, 0) + FOOTER_RECORD_BYTES > w->limit) {
		if (!e->type || e->type >= EV_TYPE_MAX || e->obj >= OBJ_KIND_MAX)
			return -EINVAL;
		w->dropped_records++;
		w->dropped_events++;
		return 0;
	}
	err = trace_block_enc__add(&w->block, e);
	if (err == -ENOSPC) {
		err = writer__close_block(w);
		if (err)
			return err;
		err = trace_block_enc__add(&w->block, e);
	}
	if (err)
		return err;
	if (w->block.nr == 1)
		w->block_oldest_ns = w->used ? w->oldest_ns : mono_ns();
	return 0;
}

int trace_writer__add_event(struct trace_writer *w, const struct ipcrace_event *e)
{
	__u64 dropped;
	int err;

	if (!w || !e)
		return -EINVAL;
	if (w->version == TRACE_VERSION && !w->flight)
		return writer__block_event(w, e);
	dropped = w->dropped_events;
	err = writer__frame(w, TRACE_REC_EVENT, e, sizeof(*e));
	if (!err && dropped == w->dropped_events)
		w->events++;
	return err;
}

int trace_writer__add_stack(struct trace_writer *w, const struct ipcrace_stack *s)
{
	if (!w || !s || s->nr > IPCRACE_MAX_STACK)
		return -EINVAL;
	/* only the frames in use: most stacks are far shorter than the max */
	return writer__add_record(w, TRACE_REC_STACK, s, TRACE_STACK_LEN(s->nr));
}

int trace_writer__add_ustack_record(struct trace_writer *w, __u16 type, const void *data,
				    size_t len)
{
	if (!w || !data || (type != TRACE_REC_USTACK && type != TRACE_REC_USTACK_DATA))
		return -EINVAL;
	return writer__add_record(w, type, data, len);
}

/*
 * A snapshot as one USTACK record and its bytes in USTACK_DATA parts
 * (analyzer/ustack.h): no record is larger than a part.
 */
int trace_writer__add_ustack(struct trace_writer *w, const struct ipcrace_ustack *u)
{
	unsigned char part[sizeof(struct trace_ustack_data) + USTACK_PART_MAX];
	struct trace_ustack_data d = { .id = u ? u->id : 0 };
	struct trace_ustack h;
	__u32 off;
	int err;

	if (!w || !u || u->size > IPCRACE_USTACK_MAX)
		return -EINVAL;
	h.id = u->id;
	memcpy(h.regs, u->regs, sizeof(h.regs));
	h.first_frame = u->first_frame;
	h.size = u->size;
	h.flags = u->flags;
	err = writer__add_record(w, TRACE_REC_USTACK, &h, sizeof(h));
	for (off = 0; !err && off < u->size; off += d.len) {
		d.offset = off;
		d.len = u->size - off < USTACK_PART_MAX ? u->size - off : USTACK_PART_MAX;
		memcpy(part, &d, sizeof(d));
		memcpy(part + sizeof(d), u->data + off, d.len);
		err = writer__add_record(w, TRACE_REC_USTACK_DATA, part, sizeof(d) + d.len);
	}
	return err;
}

/* Most bytes one mapping takes in a block. */
#define MAPS_ENTRY_MAX (1 + 9 * 10 + 2 + TRACE_BUILD_ID_MAX + TRACE_PATH_LEN)

/*
 * Version 3: the mapping goes into the open block of mappings, with the
 * size limit kept as for events (writer__block_event).
 */
static int writer__block_mapping(struct trace_writer *w, const struct trace_mapping *m)
{
	int err;

	if (w->err)
		return w->err;
	if (w->block.nr || (w->maps.nr &&
	    writer__size_with_block(w, 0, MAPS_ENTRY_MAX) + FOOTER_RECORD_BYTES > w->limit)) {
		err = writer__close_block(w);
		if (err)
			return err;
	}
	if (!w->maps.nr &&
	    writer__size_with_block(w, 0, MAPS_ENTRY_MAX) + FOOTER_RECORD_BYTES > w->limit) {
		w->dropped_records++;
		return 0;
	}
	err = trace_maps_enc__add(&w->maps, m);
	if (err == -ENOSPC) {
		err = writer__close_block(w);
		if (err)
			return err;
		err = trace_maps_enc__add(&w->maps, m);
	}
	if (err == -EINVAL)	/* refused by the reader anyway: as a record of its own */
		return writer__add_record(w, TRACE_REC_MAPPING, m, sizeof(*m));
	if (err)
		return err;
	if (w->maps.nr == 1)
		w->block_oldest_ns = w->used ? w->oldest_ns : mono_ns();
	return 0;
}

int trace_writer__add_mapping(struct trace_writer *w, const struct trace_mapping *m)
{
	if (!w || !m || m->build_id_len > TRACE_BUILD_ID_MAX)
		return -EINVAL;
	if (w->version == TRACE_VERSION && !w->flight)
		return writer__block_mapping(w, m);
	return writer__add_record(w, TRACE_REC_MAPPING, m, sizeof(*m));
}

int trace_writer__add_watch_stats(struct trace_writer *w, const struct trace_watch_stats *st)
{
	if (!w || !st)
		return -EINVAL;
	/* a version 3 record: the tests' older formats go without */
	if (w->version != TRACE_VERSION)
		return 0;
	return writer__add_record(w, TRACE_REC_WATCH_STATS, st, sizeof(*st));
}

int trace_writer__add_lock_sampling(struct trace_writer *w, const struct trace_lock_sampling *st)
{
	if (!w || !st)
		return -EINVAL;
	if (w->version != TRACE_VERSION)
		return 0;
	return writer__add_record(w, TRACE_REC_LOCK_SAMPLING, st, sizeof(*st));
}

int trace_writer__add_process(struct trace_writer *w, const struct trace_process *p)
{
	if (!w || !p)
		return -EINVAL;
	return writer__add_record(w, TRACE_REC_PROCESS, p, sizeof(*p));
}

/*
 * A window of the flight recorder written now to BASE.N (N = 1, 2...),
 * through tracer/output.h: whole or not at all.
 */
static int writer__flight_window(struct trace_writer *w, const char *why)
{
	struct trace_footer foot = { .end_mono_ns = mono_ns() };
	struct trace_writer *out;
	struct output o;
	char *path;
	int err, fd;

	if (asprintf(&path, "%s.%u", w->flight_base, ++w->flight_windows) < 0)
		return -ENOMEM;
	err = output__open(&o, path, OUTPUT_PRIVATE, NULL, 0);
	if (err)
		goto out;
	fd = fcntl(o.fd, F_DUPFD_CLOEXEC, 3);
	out = trace_writer__open_fd(fd, &w->hdr);
	err = out ? flight__write(w->flight, out, &foot) : -errno;
	if (!err)
		err = output__commit(&o);
	output__discard(&o);
out:
	if (err)
		fprintf(stderr, "ipcrace: flight recorder: cannot write %s: %s\n", path,
			strerror(-err));
	else
		fprintf(stderr, "ipcrace: flight recorder: %s: window written to %s\n", why, path);
	free(path);
	return err;
}

int trace_writer__request_window(struct trace_writer *w)
{
	if (!w || !w->flight)
		return -EINVAL;
	w->window_requested = true;
	return 0;
}

int trace_writer__tick(struct trace_writer *w, __u64 now_ns)
{
	if (!w)
		return -EINVAL;
	if (w->flight) {
		char why[64];
		__u32 pid;
		int sig;

		if (flight__take_crash(w->flight, &pid, &sig)) {
			snprintf(why, sizeof(why), "pid %u died of SIG%s", pid,
				 sigabbrev_np(sig) ?: "?");
			writer__flight_window(w, why);
		}
		if (w->window_requested) {
			w->window_requested = false;
			writer__flight_window(w, "asked (SIGUSR1)");
		}
		return 0;
	}
	if ((w->block.nr || w->maps.nr) &&
	    (w->used ? w->oldest_ns : w->block_oldest_ns) + TRACE_WRITER_MAX_DELAY_NS <= now_ns) {
		int err = writer__close_block(w);

		if (err)
			return err;
	}
	if (!w->used || now_ns - w->oldest_ns < TRACE_WRITER_MAX_DELAY_NS)
		return w->err;
	return writer__write_buf(w);
}

int trace_writer__flush(struct trace_writer *w)
{
	int err;

	if (!w)
		return -EINVAL;
	err = writer__close_block(w);
	return err ? err : writer__write_buf(w);
}

__u64 trace_writer__size(const struct trace_writer *w)
{
	if (!w)
		return 0;
	return writer__size_with_block(w, 0, 0);
}

/*
 * f == NULL closes without a footer, which is how the reader tells a
 * recording that did not finish. footer.events and the dropped counts are
 * the writer's own, whatever the caller put there.
 */
int trace_writer__close(struct trace_writer *w, const struct trace_footer *f)
{
	struct trace_footer footer;
	int err = 0;

	if (!w)
		return 0;
	if (w->flight) {
		/* the last window goes to the file named on the command line */
		struct trace_writer *out;

		/* a crash seen in the last events still gets its own window */
		trace_writer__tick(w, mono_ns());
		out = f ? trace_writer__open_fd(w->fd, &w->hdr) : NULL;

		if (out)
			err = flight__write(w->flight, out, f);
		else if (f)
			err = -errno;
		else
			close(w->fd);
		flight__free(w->flight);
		free(w->flight_base);
		free(w);
		return err;
	}
	/* the last events first: the footer counts them */
	err = writer__close_block(w);
	if (f && !err) {
		footer = *f;
		footer.events = w->events;
		footer.dropped_events = w->dropped_events;
		footer.dropped_records = w->dropped_records;
		err = writer__add_record(w, TRACE_REC_FOOTER, &footer, sizeof(footer));
	}
	if (!err)
		err = writer__write_buf(w);
	if (close(w->fd) < 0 && !err)
		err = -errno;
	free(w);
	return err;
}
