// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Trace writer (version 2, analyzer/trace_format.h). Records are framed
 * and checksummed as they are added, into one buffer that is written with
 * a single write loop when it is full, when it is 100 ms old, on flush and
 * on close. Nothing depends on a write being whole: a recording killed in
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
#include "../analyzer/trace_format.h"
#include "../analyzer/ustack.h"

/* A footer record and its header: always kept free below the limit. */
#define FOOTER_RECORD_BYTES (sizeof(struct trace_record_header) + TRACE_PAD(sizeof(struct trace_footer)))

struct trace_writer {
	int fd;
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

static int writer__add_record(struct trace_writer *w, enum trace_record_type type,
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

/* The header as written: this format's version, strings terminated. */
static struct trace_header header_normalized(const struct trace_header *hdr)
{
	struct trace_header h = *hdr;

	h.version = TRACE_VERSION;
	h.__pad = 0;
	h.host[sizeof(h.host) - 1] = '\0';
	h.kernel[sizeof(h.kernel) - 1] = '\0';
	h.cmdline[sizeof(h.cmdline) - 1] = '\0';
	return h;
}

struct trace_writer *trace_writer__open_fd(int fd, const struct trace_header *hdr)
{
	struct trace_file_prefix prefix = {
		.magic = TRACE_MAGIC,
		.version = TRACE_VERSION,
		.header_size = sizeof(struct trace_header),
		.byte_order = TRACE_BYTE_ORDER,
	};
	struct trace_header h;
	struct trace_writer *w = NULL;
	int err;

	if (fd < 0 || !hdr) {
		err = -EINVAL;
		goto err_close;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		err = -ENOMEM;
		goto err_close;
	}
	w->fd = fd;
	w->limit = TRACE_FILE_MAX;

	h = header_normalized(hdr);
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

struct trace_writer *trace_writer__open(const char *path, const struct trace_header *hdr)
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
	return trace_writer__open_fd(fd, hdr);
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
	w->limit = TRACE_FILE_MAX;
	h = header_normalized(hdr);
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

int trace_writer__add_event(struct trace_writer *w, const struct ipcrace_event *e)
{
	__u64 dropped;
	int err;

	if (!w || !e)
		return -EINVAL;
	dropped = w->dropped_events;
	err = writer__add_record(w, TRACE_REC_EVENT, e, sizeof(*e));
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

int trace_writer__add_mapping(struct trace_writer *w, const struct trace_mapping *m)
{
	if (!w || !m || m->build_id_len > TRACE_BUILD_ID_MAX)
		return -EINVAL;
	return writer__add_record(w, TRACE_REC_MAPPING, m, sizeof(*m));
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
	if (!w->used || now_ns - w->oldest_ns < TRACE_WRITER_MAX_DELAY_NS)
		return w->err;
	return writer__write_buf(w);
}

int trace_writer__flush(struct trace_writer *w)
{
	if (!w)
		return -EINVAL;
	return writer__write_buf(w);
}

__u64 trace_writer__size(const struct trace_writer *w)
{
	return w ? w->written + w->used : 0;
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
	if (f) {
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
