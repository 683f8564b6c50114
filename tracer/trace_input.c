// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Traces from pipes: analyzer/trace.c maps a regular file, so a stream is
 * copied into a memfd (a regular file in memory) and read from there.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "trace_input.h"

#define SPOOL_MAX (4ull << 30)		/* the reader's limit (TRACE_FILE_MAX) */
#define SPOOL_CHUNK (1 << 16)

/* Copies in to a new memfd until end of file: the memfd, or -errno. */
static int spool(int in, const char *name, char *err, size_t errlen)
{
	static char buf[SPOOL_CHUNK];
	unsigned long long total = 0;
	ssize_t n, done, w;
	int fd, ret;

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
				snprintf(err, errlen, "trace: %s: spooling into memory: %s", name,
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

struct trace *trace_input__read(const char *path, char *err, size_t errlen)
{
	const char *name = strcmp(path, "-") ? path : "stdin";
	struct trace *t = NULL;
	char proc[32];
	struct stat st;
	int in, fd, saved;

	if (strcmp(path, "-") && stat(path, &st) == 0 && S_ISREG(st.st_mode))
		return trace__read_file(path, err, errlen);
	in = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;
	if (in < 0) {
		saved = errno;
		snprintf(err, errlen, "trace: %s: %s", name, strerror(saved));
		errno = saved;
		return NULL;
	}
	fd = spool(in, name, err, errlen);
	if (in != STDIN_FILENO)
		close(in);
	if (fd < 0) {
		errno = -fd;
		return NULL;
	}
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	t = trace__read_file(proc, err, errlen);
	saved = errno;
	if (!t)
		rename_in_message(err, errlen, proc, name);
	close(fd);
	errno = saved;
	return t;
}
