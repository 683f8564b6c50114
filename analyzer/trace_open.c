// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Traces opened whole (trace.h): from memory, a descriptor (mapped when it
 * is a file, read when it is a pipe) or a path; freed; and the lookups the
 * reports make in them (stacks, stack snapshots, processes). The reading
 * itself is trace.c's.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "identity.h"
#include "trace.h"
#include "trace_format.h"
#include "trace_read.h"
#include "ustack.h"

static struct trace *trace__parse(const void *buf, size_t len, bool mapped, const char *name,
				  char *err, size_t errlen)
{
	struct reader r = {
		.mode = READER_ALL,
		.buf = buf,
		.len = len,
		.mapped = mapped,
		.name = name,
		.err = err,
		.errlen = errlen,
	};
	int ret;

	ret = reader__parse(&r);
	if (ret) {
		errno = -ret;
		return NULL;
	}
	return r.t;
}

struct trace *trace__read_mem(const void *buf, size_t len, char *err, size_t errlen)
{
	return trace__parse(buf, len, false, NULL, err, errlen);
}

/*
 * The file is mapped, not read: a trace can be large and is parsed once.
 * The mapping lives only while parsing; everything is copied out of it.
 */
struct trace *trace__read_fd(int fd, const char *name, char *err, size_t errlen)
{
	struct trace *t = NULL;
	void *map = NULL;
	struct stat st;
	int saved;

	if (err && errlen)
		err[0] = '\0';
	if (fd < 0 || !name) {
		errno = EINVAL;
		return NULL;
	}
	if (fstat(fd, &st) < 0) {
		saved = errno;
		if (err && errlen)
			snprintf(err, errlen, "trace: %s: %s", name, strerror(saved));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		saved = EINVAL;
		if (err && errlen)
			snprintf(err, errlen, "trace: %s: not a regular file", name);
		goto out;
	}
	if ((unsigned long long)st.st_size > TRACE_FILE_MAX) {
		saved = EFBIG;
		if (err && errlen)
			snprintf(err, errlen, "trace: %s: %lld bytes, more than the 4 GiB limit",
				 name, (long long)st.st_size);
		goto out;
	}
	if (st.st_size > 0) {
		map = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map == MAP_FAILED) {
			saved = errno;
			map = NULL;
			if (err && errlen)
				snprintf(err, errlen, "trace: %s: mmap: %s", name, strerror(saved));
			goto out;
		}
	}
	t = trace__parse(map, st.st_size, true, name, err, errlen);
	saved = t ? 0 : errno;
	if (map)
		munmap(map, st.st_size);
out:
	if (!t)
		errno = saved;
	return t;
}

struct trace *reader__from_path(const char *path, reader_from_fd_fn from_fd, char *err,
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
	t = from_fd(fd, path, err, errlen);
	saved = errno;
	close(fd);
	errno = saved;
	return t;
}

struct trace *trace__read_file(const char *path, char *err, size_t errlen)
{
	return reader__from_path(path, trace__read_fd, err, errlen);
}

void trace__free(struct trace *t)
{
	if (!t)
		return;
	free(t->events);
	free(t->event_pids);
	free(t->stack_uses);
	free(t->after_loss);
	free(t->damage);
	keymap__free(t->stack_remap);
	if (t->streamed && t->stream_fd >= 0)
		close(t->stream_fd);
	free(t->stacks);
	free(t->mappings);
	free(t->processes);
	ustack_table__free(t->ustacks);
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
const struct ustack_snapshot *trace__find_ustack(const struct trace *t, __u64 id)
{
	return t ? ustack_table__find(t->ustacks, id) : NULL;
}

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
