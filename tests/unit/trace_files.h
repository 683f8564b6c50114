/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * For the version 3 trace tests: whole files read and split into their
 * records. Include after <cmocka.h>.
 */
#ifndef IPCRACE_TEST_TRACE_FILES_H
#define IPCRACE_TEST_TRACE_FILES_H

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "analyzer/trace.h"
#include "analyzer/trace_format.h"

#define HDR_END (sizeof(struct trace_file_prefix) + sizeof(struct trace_header))

static void make_header(struct trace_header *h)
{
	memset(h, 0, sizeof(*h));
	h->start_mono_ns = 123456789;
	strcpy(h->host, "testhost");
	strcpy(h->cmdline, "./lock_ops");
}

static void *read_whole(const char *path, size_t *len)
{
	struct stat st;
	void *buf;
	int fd = open(path, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc(st.st_size ? st.st_size : 1);
	assert_non_null(buf);
	assert_int_equal(read(fd, buf, st.st_size), st.st_size);
	close(fd);
	*len = st.st_size;
	return buf;
}

static struct trace *read_exact(const void *buf, size_t len, char *err, size_t errlen)
{
	void *copy = malloc(len ? len : 1);
	struct trace *t;

	assert_non_null(copy);
	memcpy(copy, buf, len);
	t = trace__read_mem(copy, len, err, errlen);
	free(copy);
	return t;
}

struct rec {
	size_t end;
	__u16 type;
	unsigned events;	/* events of EVENTS records */
};

/* The records of a well-formed file. */
static size_t records_of(const unsigned char *buf, size_t len, struct rec *recs, size_t max)
{
	struct trace_record_header rh;
	size_t off = HDR_END, n = 0;

	while (off < len) {
		__u16 nr = 0;

		memcpy(&rh, buf + off, sizeof(rh));
		assert_int_equal(rh.magic, TRACE_RECORD_MAGIC);
		if (rh.type == TRACE_REC_EVENTS)
			memcpy(&nr, buf + off + sizeof(rh), sizeof(nr));
		off += sizeof(rh) + TRACE_PAD((size_t)rh.len);
		assert_true(n < max);
		recs[n++] = (struct rec){ .end = off, .type = rh.type, .events = nr };
	}
	assert_int_equal(off, len);
	return n;
}

#endif /* IPCRACE_TEST_TRACE_FILES_H */
