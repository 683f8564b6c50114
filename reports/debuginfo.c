// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <elfutils/debuginfod.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "../analyzer/array.h"
#include "../analyzer/trace.h"
#include "buildid.h"
#include "debuginfo.h"

#define DEFAULT_DEBUG_DIR "/usr/lib/debug"
#define DEBUGINFOD_TIMEOUT_S "5"

/* One debuginfod answer, kept so that a build-id is asked once. */
struct remote_answer {
	__u8 id[TRACE_BUILD_ID_MAX];
	size_t len;
	bool executable;		/* which query */
	char *path;			/* NULL: not found */
};

struct debuginfo {
	char *dirs[DEBUGINFO_DIRS_MAX];	/* --debug-dir, in order */
	size_t nr_dirs;
	bool no_defaults;
	char *sysroot;
	debuginfod_client *client;	/* NULL until first asked */
	bool remote_off;		/* DEBUGINFOD_URLS unset, or the client failed */
	struct remote_answer *answers;
	size_t nr_answers, cap_answers;
	size_t asked, found;
};

struct debuginfo *debuginfo__new(void)
{
	struct debuginfo *d = calloc(1, sizeof(*d));
	const char *urls = getenv("DEBUGINFOD_URLS");

	if (!d)
		return NULL;
	d->remote_off = !urls || !*urls;
	return d;
}

void debuginfo__free(struct debuginfo *d)
{
	size_t i;

	if (!d)
		return;
	for (i = 0; i < d->nr_dirs; i++)
		free(d->dirs[i]);
	for (i = 0; i < d->nr_answers; i++)
		free(d->answers[i].path);
	free(d->answers);
	free(d->sysroot);
	if (d->client)
		debuginfod_end(d->client);
	free(d);
}

int debuginfo__add_debug_dir(struct debuginfo *d, const char *dir)
{
	if (!d || !dir || !*dir || strlen(dir) >= TRACE_PATH_LEN)
		return -EINVAL;
	if (d->nr_dirs == DEBUGINFO_DIRS_MAX)
		return -E2BIG;
	d->dirs[d->nr_dirs] = strdup(dir);
	if (!d->dirs[d->nr_dirs])
		return -ENOMEM;
	d->nr_dirs++;
	return 0;
}

void debuginfo__no_default_dirs(struct debuginfo *d)
{
	if (d)
		d->no_defaults = true;
}

int debuginfo__set_sysroot(struct debuginfo *d, const char *dir)
{
	char *p;

	if (!d || !dir || !*dir || strlen(dir) >= TRACE_PATH_LEN)
		return -EINVAL;
	p = strdup(dir);
	if (!p)
		return -ENOMEM;
	free(d->sysroot);
	d->sysroot = p;
	return 0;
}

/* A regular file whose build-id is id (any, when len is 0). */
static bool file_matches(const char *path, const __u8 *id, size_t len)
{
	__u8 got[TRACE_BUILD_ID_MAX];
	struct stat st;
	int n;

	if (stat(path, &st) || !S_ISREG(st.st_mode) || access(path, R_OK))
		return false;
	if (!len)
		return true;
	n = elf_build_id__read(path, got, sizeof(got));
	return n > 0 && (size_t)n == len && !memcmp(got, id, len);
}

static bool try_path(char *out, size_t outlen, const __u8 *id, size_t len,
		     const char *fmt, const char *a, const char *b)
{
	int n = snprintf(out, outlen, fmt, a, b);

	return n > 0 && (size_t)n < outlen && file_matches(out, id, len);
}

/* dir/.build-id/xx/rest[suffix] */
static bool try_build_id_path(char *out, size_t outlen, const char *dir, const __u8 *id,
			      size_t len, const char *suffix)
{
	char hex[2 * TRACE_BUILD_ID_MAX + 2];
	size_t i, n = 0;
	int r;

	if (len < 2)
		return false;
	for (i = 0; i < len; i++) {
		n += snprintf(hex + n, sizeof(hex) - n, "%02x", id[i]);
		if (i == 0)
			hex[n++] = '/';
	}
	hex[n] = '\0';
	r = snprintf(out, outlen, "%s/.build-id/%s%s", dir, hex, suffix);
	return r > 0 && (size_t)r < outlen && file_matches(out, id, len);
}

/* The directories searched for debug files, --debug-dir first. */
static size_t search_dirs(const struct debuginfo *d, char dirs[][TRACE_PATH_LEN + 32])
{
	size_t i, n = 0;

	for (i = 0; i < d->nr_dirs; i++)
		snprintf(dirs[n++], TRACE_PATH_LEN + 32, "%s", d->dirs[i]);
	if (d->sysroot)
		snprintf(dirs[n++], TRACE_PATH_LEN + 32, "%s%s", d->sysroot, DEFAULT_DEBUG_DIR);
	if (!d->no_defaults)
		snprintf(dirs[n++], TRACE_PATH_LEN + 32, "%s", DEFAULT_DEBUG_DIR);
	return n;
}

static int remote_find(struct debuginfo *d, const __u8 *id, size_t len, bool executable,
		       char *out, size_t outlen)
{
	struct remote_answer *a;
	char *path = NULL;
	size_t i;
	int fd;

	if (d->remote_off || !len || len > TRACE_BUILD_ID_MAX)
		return -ENOENT;
	for (i = 0; i < d->nr_answers; i++) {
		a = &d->answers[i];
		if (a->executable == executable && a->len == len && !memcmp(a->id, id, len)) {
			if (!a->path)
				return -ENOENT;
			snprintf(out, outlen, "%s", a->path);
			return 0;
		}
	}
	if (!d->client) {
		/* an unreachable server must cost seconds, not its 90 s default */
		setenv("DEBUGINFOD_TIMEOUT", DEBUGINFOD_TIMEOUT_S, 0);
		d->client = debuginfod_begin();
		if (!d->client) {
			d->remote_off = true;
			return -ENOENT;
		}
	}
	if (array__reserve(&d->answers, &d->cap_answers, d->nr_answers + 1, sizeof(*d->answers)))
		return -ENOMEM;
	d->asked++;
	fd = executable ? debuginfod_find_executable(d->client, id, len, &path)
			: debuginfod_find_debuginfo(d->client, id, len, &path);
	a = &d->answers[d->nr_answers++];
	memset(a, 0, sizeof(*a));
	memcpy(a->id, id, len);
	a->len = len;
	a->executable = executable;
	if (fd >= 0)
		close(fd);
	if (fd < 0 || !path || !file_matches(path, id, len)) {
		free(path);
		return -ENOENT;
	}
	d->found++;
	a->path = path;
	snprintf(out, outlen, "%s", path);
	return 0;
}

int debuginfo__find_binary(struct debuginfo *d, const char *path, const __u8 *id, size_t len,
			   char *out, size_t outlen)
{
	char dirs[DEBUGINFO_DIRS_MAX + 2][TRACE_PATH_LEN + 32];
	const char *base;
	size_t i, n;

	if (!d || !path || !out)
		return -EINVAL;
	if (path[0] == '/' && try_path(out, outlen, id, len, "%s%s", "", path))
		return 0;
	if (!len)
		return -ENOENT;		/* anything else is a guess without a build-id */
	if (d->sysroot && path[0] == '/' && try_path(out, outlen, id, len, "%s%s", d->sysroot, path))
		return 0;
	base = strrchr(path, '/');
	base = base ? base + 1 : path;
	n = search_dirs(d, dirs);
	for (i = 0; i < n; i++) {
		if (try_build_id_path(out, outlen, dirs[i], id, len, ""))
			return 0;
		if (*base && try_path(out, outlen, id, len, "%s/%s", dirs[i], base))
			return 0;
	}
	return remote_find(d, id, len, true, out, outlen);
}

int debuginfo__find_debug(struct debuginfo *d, const __u8 *id, size_t len, char *out,
			  size_t outlen)
{
	char dirs[DEBUGINFO_DIRS_MAX + 2][TRACE_PATH_LEN + 32];
	size_t i, n;

	if (!d || !out)
		return -EINVAL;
	if (!len)
		return -ENOENT;
	n = search_dirs(d, dirs);
	for (i = 0; i < n; i++)
		if (try_build_id_path(out, outlen, dirs[i], id, len, ".debug"))
			return 0;
	return remote_find(d, id, len, false, out, outlen);
}

void debuginfo__print_stats(const struct debuginfo *d, FILE *out)
{
	if (!d || d->remote_off)
		return;
	fprintf(out, "ipcrace: debuginfod: %zu build-ids asked, %zu files found\n",
		d->asked, d->found);
}
