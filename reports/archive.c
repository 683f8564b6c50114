// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>
#include "archive.h"
#include "debuginfo.h"

#define TAR_BLOCK 512
#define TAR_NAME_LEN 100
#define BUILD_ID_HEX (2 * TRACE_BUILD_ID_MAX)

/* The ustar header, as POSIX lays it out. */
struct tar_header {
	char name[100];
	char mode[8];
	char uid[8];
	char gid[8];
	char size[12];
	char mtime[12];
	char chksum[8];
	char typeflag;
	char linkname[100];
	char magic[6];
	char version[2];
	char uname[32];
	char gname[32];
	char devmajor[8];
	char devminor[8];
	char prefix[155];
	char pad[12];
};

_Static_assert(sizeof(struct tar_header) == TAR_BLOCK, "ustar header size");

static unsigned int tar_checksum(const struct tar_header *h)
{
	const unsigned char *p = (const unsigned char *)h;
	unsigned int sum = 0;
	size_t i;

	for (i = 0; i < TAR_BLOCK; i++)
		sum += (i >= offsetof(struct tar_header, chksum) &&
			i < offsetof(struct tar_header, chksum) + sizeof(h->chksum)) ? ' ' : p[i];
	return sum;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;
	ssize_t n;

	while (len) {
		n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= n;
	}
	return 0;
}

/* Appends file src as member name: header, contents, padding. */
static int tar_add(int out, const char *name, const char *src)
{
	char buf[64 * 1024];
	struct tar_header h;
	struct stat st;
	int in, err = 0;
	ssize_t n;
	off_t left;

	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -errno;
	if (fstat(in, &st) || !S_ISREG(st.st_mode) || (unsigned long long)st.st_size > ARCHIVE_FILE_MAX) {
		close(in);
		return -EINVAL;
	}
	memset(&h, 0, sizeof(h));
	snprintf(h.name, sizeof(h.name), "%s", name);
	snprintf(h.mode, sizeof(h.mode), "%07o", 0644);
	snprintf(h.uid, sizeof(h.uid), "%07o", 0);
	snprintf(h.gid, sizeof(h.gid), "%07o", 0);
	snprintf(h.size, sizeof(h.size), "%011llo", (unsigned long long)st.st_size);
	snprintf(h.mtime, sizeof(h.mtime), "%011llo", (unsigned long long)st.st_mtime);
	h.typeflag = '0';
	memcpy(h.magic, "ustar", 6);
	memcpy(h.version, "00", 2);
	snprintf(h.chksum, sizeof(h.chksum), "%06o", tar_checksum(&h));
	err = write_all(out, &h, sizeof(h));
	for (left = st.st_size; !err && left > 0; left -= n) {
		n = read(in, buf, sizeof(buf) < (size_t)left ? sizeof(buf) : (size_t)left);
		if (n <= 0) {
			err = n < 0 ? -errno : -EIO;
			break;
		}
		err = write_all(out, buf, n);
	}
	if (!err && st.st_size % TAR_BLOCK) {
		memset(buf, 0, TAR_BLOCK);
		err = write_all(out, buf, TAR_BLOCK - st.st_size % TAR_BLOCK);
	}
	close(in);
	return err;
}

static void build_id_name(char *out, size_t len, const __u8 *id, size_t n, const char *suffix)
{
	char hex[BUILD_ID_HEX + 1];
	size_t i;

	for (i = 0; i < n; i++)
		snprintf(hex + 2 * i, 3, "%02x", id[i]);
	snprintf(out, len, ".build-id/%.2s/%s%s", hex, hex + 2, suffix);
}

int archive__write(const struct trace *t, const struct report_opts *opts, const char *path,
		   size_t *nr_files, size_t *missing, char *err, size_t errlen)
{
	char name[TAR_NAME_LEN], found[TRACE_PATH_LEN + 64], end[2 * TAR_BLOCK];
	struct debuginfo *d;
	size_t i, j;
	int out, ret = 0;
	bool any;

	*nr_files = *missing = 0;
	d = debuginfo__new();
	if (!d)
		return -ENOMEM;
	for (i = 0; i < opts->nr_debug_dirs && !ret; i++)
		ret = debuginfo__add_debug_dir(d, opts->debug_dirs[i]);
	if (!ret && opts->sysroot)
		ret = debuginfo__set_sysroot(d, opts->sysroot);
	if (ret) {
		snprintf(err, errlen, "archive: bad debug directory or sysroot");
		goto free_d;
	}
	out = open(path, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (out < 0) {
		ret = -errno;
		snprintf(err, errlen, "archive: cannot write %s: %s", path, strerror(errno));
		goto free_d;
	}
	for (i = 0; i < t->nr_mappings && !ret; i++) {
		const struct trace_mapping *m = &t->mappings[i];

		if (!m->build_id_len || m->build_id_len > TRACE_BUILD_ID_MAX || m->path[0] != '/')
			continue;
		/* each build-id once */
		for (j = 0; j < i; j++)
			if (t->mappings[j].build_id_len == m->build_id_len &&
			    !memcmp(t->mappings[j].build_id, m->build_id, m->build_id_len))
				break;
		if (j < i)
			continue;
		any = false;
		if (!debuginfo__find_binary(d, m->path, m->build_id, m->build_id_len, found,
					    sizeof(found))) {
			build_id_name(name, sizeof(name), m->build_id, m->build_id_len, "");
			ret = tar_add(out, name, found);
			*nr_files += !ret;
			any = true;
		}
		if (!ret && !debuginfo__find_debug(d, m->build_id, m->build_id_len, found,
						   sizeof(found))) {
			build_id_name(name, sizeof(name), m->build_id, m->build_id_len, ".debug");
			ret = tar_add(out, name, found);
			*nr_files += !ret;
			any = true;
		}
		*missing += !any;
		if (ret)
			snprintf(err, errlen, "archive: cannot pack %s: %s", found, strerror(-ret));
	}
	if (!ret) {
		memset(end, 0, sizeof(end));
		ret = write_all(out, end, sizeof(end));
		if (ret)
			snprintf(err, errlen, "archive: cannot write %s: %s", path, strerror(-ret));
	}
	if (close(out) && !ret) {
		ret = -errno;
		snprintf(err, errlen, "archive: cannot write %s: %s", path, strerror(errno));
	}
free_d:
	debuginfo__free(d);
	return ret;
}

/* ".build-id/xx/HEX" or ".build-id/xx/HEX.debug", lower-case hex only. */
static bool member_name_ok(const char *name)
{
	size_t i, n = strlen(name), hex_end;

	if (n < 14 || strncmp(name, ".build-id/", 10) || name[12] != '/')
		return false;
	hex_end = n >= 6 && !strcmp(name + n - 6, ".debug") ? n - 6 : n;
	if (hex_end - 13 < 2 || hex_end - 13 > BUILD_ID_HEX)
		return false;
	for (i = 10; i < hex_end; i++) {
		if (i == 12)
			continue;
		if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
			return false;
	}
	return true;
}

static int read_full(int fd, void *buf, size_t len)
{
	char *p = buf;
	ssize_t n;

	while (len) {
		n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		p += n;
		len -= n;
	}
	return 0;
}

static int extract_member(int in, const char *dir, const char *name, unsigned long long size)
{
	char path[TRACE_PATH_LEN + 2 * TAR_NAME_LEN + 16], buf[64 * 1024];
	unsigned long long left = size, chunk;
	int out, err = 0;

	snprintf(path, sizeof(path), "%s/.build-id", dir);
	if (mkdir(path, 0700) && errno != EEXIST)
		return -errno;
	snprintf(path, sizeof(path), "%s/%.12s", dir, name);
	if (mkdir(path, 0700) && errno != EEXIST)
		return -errno;
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	out = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (out < 0)
		return -errno;
	while (!err && left) {
		chunk = left < sizeof(buf) ? left : sizeof(buf);
		err = read_full(in, buf, chunk);
		if (!err)
			err = write_all(out, buf, chunk);
		left -= chunk;
	}
	if (!err && size % TAR_BLOCK)
		err = read_full(in, buf, TAR_BLOCK - size % TAR_BLOCK);
	if (close(out) && !err)
		err = -errno;
	return err;
}

int archive__extract(const char *path, const char *dir, char *err, size_t errlen)
{
	char name[TAR_NAME_LEN + 1], size_text[13], *end;
	unsigned long long size;
	struct tar_header h;
	int in, ret = 0;
	unsigned long sum;

	if (strlen(dir) >= TRACE_PATH_LEN) {
		snprintf(err, errlen, "archive: directory name too long");
		return -ENAMETOOLONG;
	}
	in = open(path, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		snprintf(err, errlen, "archive: cannot read %s: %s", path, strerror(errno));
		return -errno;
	}
	for (;;) {
		ret = read_full(in, &h, sizeof(h));
		if (ret) {
			snprintf(err, errlen, "archive: %s ends inside a member", path);
			break;
		}
		if (!h.name[0])
			break;		/* the end blocks */
		memcpy(size_text, h.size, sizeof(h.size));
		size_text[12] = '\0';
		memcpy(name, h.name, TAR_NAME_LEN);
		name[TAR_NAME_LEN] = '\0';
		size = strtoull(size_text, &end, 8);
		sum = strtoul(h.chksum, NULL, 8);
		if (sum != tar_checksum(&h) || end == size_text || size > ARCHIVE_FILE_MAX ||
		    h.typeflag != '0' || !member_name_ok(name)) {
			snprintf(err, errlen, "archive: %s is not an ipcrace archive (bad member)",
				 path);
			ret = -EINVAL;
			break;
		}
		ret = extract_member(in, dir, name, size);
		if (ret) {
			snprintf(err, errlen, "archive: cannot unpack %s from %s: %s", name, path,
				 strerror(-ret));
			break;
		}
	}
	close(in);
	return ret;
}

/* Unlinks the files of dir/sub (one level: what archive__extract made). */
static void remove_level(const char *dir)
{
	char path[3 * TRACE_PATH_LEN + 2 * TAR_NAME_LEN];
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (de->d_type == DT_DIR)
			rmdir(path);
		else
			unlink(path);
	}
	closedir(d);
}

void archive__remove(const char *dir)
{
	char path[TRACE_PATH_LEN + TAR_NAME_LEN], sub[2 * TRACE_PATH_LEN + 2 * TAR_NAME_LEN];
	struct dirent *de;
	DIR *d;

	if (!dir)
		return;
	snprintf(path, sizeof(path), "%s/.build-id", dir);
	d = opendir(path);
	if (d) {
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
			remove_level(sub);
			rmdir(sub);
		}
		closedir(d);
	}
	rmdir(path);
	rmdir(dir);
}
