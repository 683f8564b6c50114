// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Traces from pipes: analyzer/trace.c maps a regular file, so a stream is
 * copied into a regular file and read from there: for trace_input__read a
 * memfd (in memory: the reader holds the whole trace anyway), for
 * trace_input__open an unnamed file in $TMPDIR or /tmp (O_TMPFILE: page
 * cache the kernel can write out, so streamed analysis stays bounded in
 * memory; a memfd where the filesystem has no O_TMPFILE).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "trace_input.h"

#define SPOOL_MAX (4ull << 30)		/* the reader's limit (TRACE_FILE_MAX) */
#define SPOOL_CHUNK (1 << 16)

/* An unnamed file on disk, mode 0600 (traces hold memory contents), or -1. */
static int spool_tmpfile(void)
{
	const char *dir = getenv("TMPDIR");
	int fd = -1;

	if (dir && *dir)
		fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd < 0)
		fd = open("/tmp", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	return fd;
}

/* Copies in to a new file until end of file: that file, or -errno. */
static int spool(int in, bool on_disk, const char *name, char *err, size_t errlen)
{
	static char buf[SPOOL_CHUNK];
	unsigned long long total = 0;
	ssize_t n, done, w;
	int fd, ret;

	fd = on_disk ? spool_tmpfile() : -1;
	if (fd < 0)
		fd = memfd_create("ipcrace-trace", MFD_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "trace: %s: memfd_create: %s", name, strerror(-ret));
		return ret;
	}
	for (;;) {
		n = read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = -errno;
			snprintf(err, errlen, "trace: %s: %s", name, strerror(-ret));
			goto out_close;
		}
		if (n == 0)
			return fd;
		total += n;
		if (total > SPOOL_MAX) {
			ret = -EFBIG;
			snprintf(err, errlen, "trace: %s: more than the 4 GiB limit", name);
			goto out_close;
		}
		for (done = 0; done < n; done += w) {
			w = write(fd, buf + done, n - done);
			if (w < 0 && errno == EINTR) {
				w = 0;
				continue;
			}
			if (w < 0) {
				ret = -errno;
				snprintf(err, errlen, "trace: %s: spooling: %s", name,
					 strerror(-ret));
				goto out_close;
			}
		}
	}
out_close:
	close(fd);
	return ret;
}

/* err names proc (the memfd) where the user named name: put name back. */
static void rename_in_message(char *err, size_t errlen, const char *proc, const char *name)
{
	char rest[256];
	char *at = strstr(err, proc);

	if (!at)
		return;
	snprintf(rest, sizeof(rest), "%s", at + strlen(proc));
	snprintf(at, errlen - (at - err), "%s%s", name, rest);
}

static struct trace *input(const char *path, bool stream, trace_event_fn fn, void *ctx,
			   char *err, size_t errlen)
{
	const char *name = strcmp(path, "-") ? path : "stdin";
	struct trace *t = NULL;
	char proc[32];
	struct stat st;
	int in, fd, saved;

	if (strcmp(path, "-") && stat(path, &st) == 0 && S_ISREG(st.st_mode))
		return stream ? trace__open_file_each(path, fn, ctx, err, errlen)
			      : trace__read_file(path, err, errlen);
	in = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;
	if (in < 0) {
		saved = errno;
		snprintf(err, errlen, "trace: %s: %s", name, strerror(saved));
		errno = saved;
		return NULL;
	}
	fd = spool(in, stream, name, err, errlen);
	if (in != STDIN_FILENO)
		close(in);
	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	t = stream ? trace__open_fd_each(fd, proc, fn, ctx, err, errlen)
		   : trace__read_file(proc, err, errlen);
	saved = errno;
	if (!t)
		rename_in_message(err, errlen, proc, name);
	close(fd);
	errno = saved;
	return t;
}

struct trace *trace_input__read(const char *path, char *err, size_t errlen)
{
	return input(path, false, NULL, NULL, err, errlen);
}

struct trace *trace_input__open(const char *path, char *err, size_t errlen)
{
	return input(path, true, NULL, NULL, err, errlen);
}

struct trace *trace_input__open_each(const char *path, trace_event_fn fn, void *ctx, char *err,
				     size_t errlen)
{
	return input(path, true, fn, ctx, err, errlen);
}
