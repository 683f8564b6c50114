// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Where a recording goes (tracer/trace_dest.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../analyzer/trace_format.h"
#include "trace_dest.h"

static void trace_dest__init(struct trace_dest *d)
{
	memset(d, 0, sizeof(*d));
	d->keep.fd = -1;
	d->temp.fd = -1;
	d->record_fd = -1;
	d->read_fd = -1;
}

static int trace_dest__open_temp(struct trace_dest *d, char *err, size_t errlen)
{
	unsigned long long room;
	int ret;

	ret = output__open_temp(&d->temp, err, errlen);
	if (ret)
		return ret;
	/* a recording must not fill /tmp (often RAM): half of what is free */
	room = output__free_bytes(&d->temp) / 2;
	d->limit = room && room < TRACE_FILE_MAX ? room : TRACE_FILE_MAX;
	d->record_fd = d->temp.fd;
	d->read_fd = d->temp.fd;
	return 0;
}

int trace_dest__open(struct trace_dest *d, const char *path, bool analyze, char *err,
		     size_t errlen)
{
	int ret;

	trace_dest__init(d);
	d->name = path ? path : "temporary trace";
	if (!path)
		return trace_dest__open_temp(d, err, errlen);
	ret = output__open(&d->keep, path, OUTPUT_PRIVATE, err, errlen);
	if (ret)
		return ret;
	if (d->keep.stream && analyze) {
		/* a FIFO or /dev/null cannot be read back: record aside, copy after */
		ret = trace_dest__open_temp(d, err, errlen);
		if (ret)
			trace_dest__close(d);
		return ret;
	}
	d->record_fd = d->keep.fd;
	d->read_fd = analyze ? d->keep.fd : -1;
	return 0;
}

int trace_dest__start(struct trace_dest *d, char *err, size_t errlen)
{
	int ret = 0;

	if (d->keep.fd >= 0 && !d->started) {
		ret = output__place(&d->keep);
		if (ret)
			snprintf(err, errlen, "cannot write %s: %s", d->name, strerror(-ret));
	}
	d->started = !ret;
	return ret;
}

int trace_dest__finish(struct trace_dest *d, char *err, size_t errlen)
{
	char buf[65536];
	off_t off = 0;

	if (d->temp.fd < 0 || d->keep.fd < 0)
		return 0;
	for (;;) {
		ssize_t n = pread(d->temp.fd, buf, sizeof(buf), off);
		const char *p = buf;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int e = errno;

			snprintf(err, errlen, "cannot read the temporary trace: %s", strerror(e));
			return -e;
		}
		if (n == 0)
			return 0;
		off += n;
		while (n > 0) {
			ssize_t w = write(d->keep.fd, p, n);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				int e = w < 0 ? errno : EIO;

				snprintf(err, errlen, "cannot write %s: %s", d->name, strerror(e));
				return -e;
			}
			p += w;
			n -= w;
		}
	}
}

struct trace *trace_dest__read(struct trace_dest *d, char *err, size_t errlen)
{
	if (d->read_fd < 0) {
		snprintf(err, errlen, "trace: %s: not readable", d->name);
		errno = EBADF;
		return NULL;
	}
	return trace__open_fd(d->read_fd, d->name, err, errlen);
}

void trace_dest__close(struct trace_dest *d)
{
	/* in place since the start: closes it; never started: FILE untouched */
	if (d->keep.path && d->started)
		output__commit(&d->keep);
	output__discard(&d->keep);
	output__discard(&d->temp);
	d->record_fd = -1;
	d->read_fd = -1;
}
