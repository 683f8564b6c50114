// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Trace writer: buffers records into one chunk (analyzer/trace_format.h)
 * and writes the chunk whole when it is full, on flush and on close.
 *
 * A chunk is written with a single write loop from one buffer, so a
 * recording killed in the middle leaves at worst one partial chunk at the
 * end, which the reader reports as truncated. After a failed write the
 * writer stays failed (the error is sticky): appending records after a hole
 * would make a file the reader cannot trust.
 *
 * Not thread-safe: the tracer writes from its ring buffer consumer only.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "trace_writer.h"
#include "../analyzer/crc32.h"
#include "../analyzer/trace_format.h"

struct trace_writer {
	int fd;
	int err;			/* sticky: first write error, negative */
	__u64 events;			/* events accepted, for the footer */
	__u32 nr_records;		/* in the pending chunk */
	size_t payload_len;		/* bytes of records in the pending chunk */
	/* chunk header, then payload: written with one write loop */
	unsigned char chunk[sizeof(struct trace_chunk_header) + TRACE_CHUNK_MAX];
};

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

static int writer__write_chunk(struct trace_writer *w)
{
	struct trace_chunk_header ch;
	unsigned char *payload = w->chunk + sizeof(ch);
	int err;

	if (w->err)
		return w->err;
	if (!w->nr_records)
		return 0;

	ch.magic = TRACE_CHUNK_MAGIC;
	ch.payload_len = (__u32)w->payload_len;
	ch.nr_records = w->nr_records;
	ch.crc = ipcrace_crc32(0, payload, w->payload_len);
	memcpy(w->chunk, &ch, sizeof(ch));

	err = write_all(w->fd, w->chunk, sizeof(ch) + w->payload_len);
	if (err)
		w->err = err;
	w->nr_records = 0;
	w->payload_len = 0;
	return err;
}

static int writer__add_record(struct trace_writer *w, enum trace_record_type type,
			      const void *data, size_t len)
{
	struct trace_record_header rh = { .type = type, .len = (__u32)len };
	size_t need = sizeof(rh) + TRACE_PAD(len);
	unsigned char *dst;
	int err;

	if (w->err)
		return w->err;
	if (need > TRACE_CHUNK_MAX)
		return -EINVAL;
	if (w->payload_len + need > TRACE_CHUNK_MAX) {
		err = writer__write_chunk(w);
		if (err)
			return err;
	}

	dst = w->chunk + sizeof(struct trace_chunk_header) + w->payload_len;
	memcpy(dst, &rh, sizeof(rh));
	memcpy(dst + sizeof(rh), data, len);
	/* zero padding: no stale heap bytes in the file */
	memset(dst + sizeof(rh) + len, 0, TRACE_PAD(len) - len);
	w->payload_len += need;
	w->nr_records++;
	return 0;
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

	h = *hdr;
	h.version = TRACE_VERSION;
	h.__pad = 0;
	h.host[sizeof(h.host) - 1] = '\0';
	h.kernel[sizeof(h.kernel) - 1] = '\0';
	h.cmdline[sizeof(h.cmdline) - 1] = '\0';
	prefix.header_crc = ipcrace_crc32(0, &h, sizeof(h));

	err = write_all(fd, &prefix, sizeof(prefix));
	if (!err)
		err = write_all(fd, &h, sizeof(h));
	if (err)
		goto err_free;
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
	int fd;

	if (!path || !hdr) {
		errno = EINVAL;
		return NULL;
	}
	fd = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0)
		return NULL;
	/*
	 * Traces hold memory contents: 0600 even when the file already
	 * existed with a wider mode or the umask is odd.
	 */
	if (fchmod(fd, 0600) < 0) {
		int err = errno;

		close(fd);
		errno = err;
		return NULL;
	}
	return trace_writer__open_fd(fd, hdr);
}

int trace_writer__add_event(struct trace_writer *w, const struct ipcrace_event *e)
{
	int err;

	if (!w || !e)
		return -EINVAL;
	err = writer__add_record(w, TRACE_REC_EVENT, e, sizeof(*e));
	if (!err)
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

int trace_writer__flush(struct trace_writer *w)
{
	if (!w)
		return -EINVAL;
	return writer__write_chunk(w);
}

/*
 * f == NULL closes without a footer, which is how the reader tells a
 * recording that did not finish. footer.events is the writer's own count
 * of events written, whatever the caller put there.
 */
int trace_writer__close(struct trace_writer *w, const struct trace_footer *f)
{
	struct trace_footer footer;
	int err = 0;

	if (!w)
		return 0;
	if (f) {
		footer = *f;
		footer.events = w->events;
		err = writer__add_record(w, TRACE_REC_FOOTER, &footer, sizeof(footer));
	}
	if (!err)
		err = writer__write_chunk(w);
	if (close(w->fd) < 0 && !err)
		err = -errno;
	free(w);
	return err;
}
