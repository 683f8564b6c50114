// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Output files that never follow a symlink nor change what exists
 * (tracer/output.h).
 *
 * The checks are made on what is opened, not only on what lstat saw: an
 * existing non-regular file is opened with O_NOFOLLOW and must still be
 * non-regular once open (a symlink swapped in fails with ELOOP, a regular
 * file swapped in is refused); a new file is created unnamed (O_TMPFILE)
 * or with O_EXCL under a fresh name, and put in place with rename(2),
 * which replaces a symlink at the destination instead of following it.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "output.h"

__attribute__((format(printf, 4, 5)))
static int output__fail(char *err, size_t errlen, int errnum, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -errnum;
}

static void output__init(struct output *o)
{
	memset(o, 0, sizeof(*o));
	o->fd = -1;
}

/* A name in dir no one uses yet, for a temporary file: ".BASE.ipcrace-PID-N". */
static char *temp_name(const char *dir, const char *base)
{
	static unsigned counter;
	struct timespec ts;
	char *name;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	if (asprintf(&name, "%s/.%s.ipcrace-%d-%lx%u", dir, base, (int)getpid(),
		     (unsigned long)ts.tv_nsec, counter++) < 0)
		return NULL;
	return name;
}

/* Links the unnamed file o->fd at name (which must not exist). */
static int link_unnamed(struct output *o, const char *name)
{
	char proc[64];

	/* AT_EMPTY_PATH needs CAP_DAC_READ_SEARCH; /proc works for the owner */
	if (!linkat(o->fd, "", AT_FDCWD, name, AT_EMPTY_PATH))
		return 0;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", o->fd);
	if (!linkat(AT_FDCWD, proc, AT_FDCWD, name, AT_SYMLINK_FOLLOW))
		return 0;
	return -errno;
}

/* Puts the created file at o->path: rename never follows a symlink there. */
int output__place(struct output *o)
{
	char *dir_copy = NULL, *base_copy = NULL, *name = NULL;
	int err = 0;

	if (o->placed || o->stream)
		return 0;
	if (o->unnamed) {
		dir_copy = strdup(o->path);
		base_copy = strdup(o->path);
		if (!dir_copy || !base_copy) {
			err = -ENOMEM;
			goto out;
		}
		for (int tries = 0; tries < 16; tries++) {
			free(name);
			name = temp_name(dirname(dir_copy), basename(base_copy));
			if (!name) {
				err = -ENOMEM;
				goto out;
			}
			err = link_unnamed(o, name);
			if (err != -EEXIST)
				break;
		}
		if (err)
			goto out;
		o->tmp = name;
		name = NULL;
	}
	if (rename(o->tmp, o->path)) {
		err = -errno;
		unlink(o->tmp);
	}
	free(o->tmp);
	o->tmp = NULL;
	if (!err)
		o->placed = true;
out:
	free(name);
	free(dir_copy);
	free(base_copy);
	return err;
}

/* A new file in path's directory, not yet at path. */
static int output__create(struct output *o, unsigned flags, char *err, size_t errlen)
{
	mode_t mode = flags & OUTPUT_PRIVATE ? 0600 : 0666;
	char *dir_copy = strdup(o->path), *base_copy = strdup(o->path);
	const char *dir;
	int ret = 0;

	if (!dir_copy || !base_copy) {
		ret = -ENOMEM;
		goto out;
	}
	dir = dirname(dir_copy);
	o->fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, mode);
	if (o->fd >= 0) {
		o->unnamed = true;
	} else if (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL) {
		/* no O_TMPFILE on this filesystem: a fresh name, O_EXCL */
		for (int tries = 0; tries < 16 && o->fd < 0; tries++) {
			free(o->tmp);
			o->tmp = temp_name(dir, basename(base_copy));
			if (!o->tmp) {
				ret = -ENOMEM;
				goto out;
			}
			o->fd = open(o->tmp, O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC | O_NOFOLLOW, mode);
			if (o->fd < 0 && errno != EEXIST)
				break;
		}
		if (o->fd < 0) {
			ret = output__fail(err, errlen, errno, "cannot create a file in %s: %s",
					   dir, strerror(errno));
			free(o->tmp);
			o->tmp = NULL;
			goto out;
		}
	} else {
		ret = output__fail(err, errlen, errno, "cannot write %s: %s", o->path,
				   strerror(errno));
		goto out;
	}
	o->readable = true;
out:
	free(dir_copy);
	free(base_copy);
	return ret;
}

/* An existing file that is not a regular one: opened as it is, never created. */
static int output__open_stream(struct output *o, char *err, size_t errlen)
{
	struct stat st;

	o->fd = open(o->path, O_WRONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
	if (o->fd < 0)
		return output__fail(err, errlen, errno, "cannot write %s: %s", o->path,
				    errno == ELOOP ? "is a symbolic link, not followed"
						   : strerror(errno));
	if (fstat(o->fd, &st) < 0 || S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)) {
		close(o->fd);
		o->fd = -1;
		return output__fail(err, errlen, EAGAIN, "cannot write %s: it changed while "
				    "being opened", o->path);
	}
	o->stream = true;
	o->placed = true;
	return 0;
}

int output__open(struct output *o, const char *path, unsigned flags, char *err, size_t errlen)
{
	struct stat st;
	int ret;

	output__init(o);
	if (err && errlen)
		err[0] = '\0';
	if (!path || !*path)
		return output__fail(err, errlen, EINVAL, "empty output file name");
	o->path = strdup(path);
	if (!o->path)
		return output__fail(err, errlen, ENOMEM, "out of memory");
	if (lstat(path, &st) == 0) {
		if (S_ISLNK(st.st_mode))
			ret = output__fail(err, errlen, ELOOP, "cannot write %s: is a symbolic link, "
					   "not followed (remove it, or name the file it points to)",
					   path);
		else if (S_ISDIR(st.st_mode))
			ret = output__fail(err, errlen, EISDIR, "cannot write %s: is a directory",
					   path);
		else if (!S_ISREG(st.st_mode))
			ret = output__open_stream(o, err, errlen);
		else
			ret = output__create(o, flags, err, errlen);
	} else if (errno == ENOENT) {
		ret = output__create(o, flags, err, errlen);
	} else {
		ret = output__fail(err, errlen, errno, "cannot write %s: %s", path, strerror(errno));
	}
	if (!ret && (flags & OUTPUT_NOW)) {
		ret = output__place(o);
		if (ret)
			output__fail(err, errlen, -ret, "cannot write %s: %s", path, strerror(-ret));
	}
	if (ret)
		output__discard(o);
	return ret;
}

int output__open_temp(struct output *o, char *err, size_t errlen)
{
	const char *dir = getenv("TMPDIR");

	output__init(o);
	if (err && errlen)
		err[0] = '\0';
	if (!dir || !*dir)
		dir = "/tmp";
	o->path = strdup("(temporary trace)");
	if (!o->path)
		return output__fail(err, errlen, ENOMEM, "out of memory");
	o->fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (o->fd < 0) {
		int saved = errno;

		output__discard(o);
		return output__fail(err, errlen, saved, "cannot create a temporary trace in %s: %s "
				    "(an unnamed file, O_TMPFILE; set TMPDIR or use -t FILE)",
				    dir, strerror(saved));
	}
	o->unnamed = true;
	o->readable = true;
	o->placed = true;		/* never: it has no name to go to */
	return 0;
}

int output__commit(struct output *o)
{
	int err;

	if (o->fd < 0)
		return -EBADF;
	err = output__place(o);
	if (close(o->fd) < 0 && !err)
		err = -errno;
	o->fd = -1;
	output__discard(o);
	return err;
}

void output__discard(struct output *o)
{
	if (o->fd >= 0)
		close(o->fd);
	o->fd = -1;
	if (o->tmp)
		unlink(o->tmp);
	free(o->tmp);
	o->tmp = NULL;
	free(o->path);
	o->path = NULL;
}

unsigned long long output__free_bytes(const struct output *o)
{
	struct statvfs sv;

	if (o->fd < 0 || fstatvfs(o->fd, &sv) < 0)
		return 0;
	return (unsigned long long)sv.f_bavail * sv.f_frsize;
}
