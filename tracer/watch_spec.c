// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Watch specs and the learn file (watch_spec.h). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "output.h"
#include "watch_spec.h"

/* OFFSET: a number strtoull reads whole (decimal, 0x hex, 0 octal); 0 or -EINVAL. */
static int parse_offset(const char *s, const char *end_want, __u64 *off)
{
	char *end;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	*off = strtoull(s, &end, 0);
	return errno || end != end_want ? -EINVAL : 0;
}

/* What symbol names are made of (C, mangled C++, versioned: name@VER). */
#define SYMBOL_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.$@"

static int parse_symbol(const char *spec, char *name, size_t name_len, __u64 *off, __u32 *len)
{
	const char *plus = strchr(spec, '+');
	size_t n = plus ? (size_t)(plus - spec) : strlen(spec);

	if (!n || n >= name_len || strspn(spec, SYMBOL_CHARS) != n)
		return -EINVAL;
	*off = 0;
	if (plus && parse_offset(plus + 1, plus + 1 + strlen(plus + 1), off))
		return -EINVAL;
	memcpy(name, spec, n);
	name[n] = '\0';
	*len = 8;
	return 0;
}

int watch_spec__parse(const char *spec, char *path, size_t path_len, __u64 *off,
		      __u32 *len, bool *is_symbol)
{
	const char *plus, *colon;
	char *end;
	unsigned long l;

	*is_symbol = spec[0] != '/';
	if (*is_symbol)
		return parse_symbol(spec, path, path_len, off, len);
	plus = strrchr(spec, '+');
	colon = strrchr(spec, ':');
	if (!plus || !colon || colon < plus || (size_t)(plus - spec) >= path_len)
		return -EINVAL;
	if (parse_offset(plus + 1, colon, off))
		return -EINVAL;
	l = strtoul(colon + 1, &end, 0);
	if (*end || (l != 1 && l != 2 && l != 4 && l != 8) || *off % l)
		return -EINVAL;
	*len = l;
	memcpy(path, spec, plus - spec);
	path[plus - spec] = '\0';
	return 0;
}

bool watch_spec__valid(const char *spec)
{
	char path[WATCH_SPEC_LEN];
	bool is_symbol;
	__u64 off;
	__u32 len;

	return !watch_spec__parse(spec, path, sizeof(path), &off, &len, &is_symbol);
}

/* Printable ASCII only: a spec is one line of a text file. */
static bool printable(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			return false;
	return true;
}

/* At most n bytes of s, with non-printable bytes as \xNN, for a message. */
static void escape(char *out, size_t out_len, const char *s, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 5 < out_len; i++) {
		unsigned char c = s[i];

		if (c >= 0x20 && c <= 0x7e && c != '\\')
			out[o++] = c;
		else
			o += snprintf(out + o, out_len - o, "\\x%02x", c);
	}
	out[o] = '\0';
}

/* Trims blanks at both ends, in place. */
static char *trim(char *s, size_t *n)
{
	while (*n && (s[*n - 1] == ' ' || s[*n - 1] == '\t' || s[*n - 1] == '\r'))
		s[--*n] = '\0';
	while (*n && (*s == ' ' || *s == '\t')) {
		s++;
		--*n;
	}
	return s;
}

bool watch_spec__storable(const char *spec)
{
	return strlen(spec) < WATCH_SPEC_LEN && printable(spec) && watch_spec__valid(spec);
}

int watch_spec__read_file(const char *path, char (*specs)[WATCH_SPEC_LEN], size_t max,
			  size_t *nr, char *err, size_t err_len)
{
	char *line = NULL, shown[96];
	size_t cap = 0, lineno = 0;
	ssize_t got;
	FILE *f;
	int ret = 0;

	*nr = 0;
	if (err_len)
		err[0] = '\0';
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while ((got = getline(&line, &cap, f)) >= 0) {
		size_t n = got;
		char *s;

		lineno++;
		if (n && line[n - 1] == '\n')
			line[--n] = '\0';
		s = trim(line, &n);
		if (!n || s[0] == '#')
			continue;
		/* a NUL inside the line (a binary file) shortens strlen: garbled too */
		if (n >= WATCH_SPEC_LEN || strlen(s) != n || !printable(s) || !watch_spec__valid(s)) {
			escape(shown, sizeof(shown), s, n < 64 ? n : 64);
			snprintf(err, err_len, "line %zu: not a watch spec: '%s%s'", lineno, shown,
				 n > 64 ? "..." : "");
			ret = -EINVAL;
			goto out;
		}
		if (*nr < max)
			memcpy(specs[(*nr)++], s, n + 1);
	}
	if (ferror(f))
		ret = -EIO;
out:
	free(line);
	fclose(f);
	return ret;
}

static const char header[] =
	"# ipcrace --learn: words worth a debug register, learnt from earlier runs.\n"
	"# One watch spec a line (PATH+OFFSET:LEN or SYMBOL[+OFFSET]), best first;\n"
	"# the next run with --learn watches them from its start, like --watch.\n";

/*
 * Through tracer/output.h: never through a symlink, a FIFO or /dev/null
 * written as it is, otherwise a new 0600 file put in place whole.
 */
int watch_spec__write_file(const char *path, const char *const *specs, size_t nr)
{
	struct output o;
	FILE *f;
	int fd, err;

	for (size_t i = 0; i < nr; i++)
		if (!watch_spec__storable(specs[i]))
			return -EINVAL;
	err = output__open(&o, path, OUTPUT_PRIVATE, NULL, 0);
	if (err)
		return err;
	fd = dup(o.fd);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		err = -errno;
		if (fd >= 0)
			close(fd);
		goto out_discard;
	}
	fputs(header, f);
	for (size_t i = 0; i < nr; i++)
		fprintf(f, "%s\n", specs[i]);
	if (fflush(f) || (!o.stream && fsync(fileno(f))))
		err = -errno;
	if (fclose(f) && !err)
		err = -errno;
	if (!err)
		err = output__commit(&o);
out_discard:
	output__discard(&o);
	return err;
}
