// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "scope.h"

/*
 * A copy costs its size in memory for the run (tmpfs): an executable
 * larger than this is left shared (probed host-wide) rather than copied.
 */
#define SCOPE_MAX_COPY (256ull << 20)

size_t scope__plan(struct scope *s, const char *const *paths, size_t nr)
{
	size_t i, k;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < nr && s->nr < SCOPE_MAX_FILES; i++) {
		char real[PATH_MAX];
		struct stat st;
		bool dup = false;

		if (!paths[i] || !realpath(paths[i], real) || stat(real, &st) ||
		    !S_ISREG(st.st_mode))
			continue;
		if ((unsigned long long)st.st_size > SCOPE_MAX_COPY) {
			snprintf(s->why, sizeof(s->why), "%.160s is larger than %llu MiB: not copied",
				 real, SCOPE_MAX_COPY >> 20);
			continue;
		}
		for (k = 0; k < s->nr; k++)
			dup |= !strcmp(s->files[k].path, real);
		if (dup)
			continue;
		snprintf(s->files[s->nr].path, sizeof(s->files[s->nr].path), "%s", real);
		s->files[s->nr++].fd = -1;
	}
	return s->nr;
}

static int fail(struct scope_report *r, int err, const char *step, const char *path)
{
	r->err = err;
	snprintf(r->why, sizeof(r->why), "%s%s%.120s: %s", step, path ? " " : "", path ? path : "",
		 strerror(-err));
	return err;
}

/* Copies src to dst: contents, owner, mode (set-id bits included), file capabilities. */
static int copy_file(int src, int dst, const struct stat *st)
{
	char caps[64];
	off_t off = 0;
	ssize_t n;

	while (off < st->st_size) {
		n = sendfile(dst, src, &off, st->st_size - off);
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
	}
	/* fchown drops set-id bits: the mode comes after it */
	if (fchown(dst, st->st_uid, st->st_gid) || fchmod(dst, st->st_mode & 07777))
		return -errno;
	n = fgetxattr(src, "security.capability", caps, sizeof(caps));
	if (n > 0 && fsetxattr(dst, "security.capability", caps, n, 0))
		return -errno;
	return 0;
}

/* One private copy: a file of the tmpfs, cloned as a mount over path. */
static int privatize(int mnt, size_t i, const char *path, struct scope_report *r)
{
	char name[32];
	struct stat st;
	int src, dst, tree, err;

	snprintf(name, sizeof(name), "%zu", i);
	src = open(path, O_RDONLY | O_CLOEXEC);
	if (src < 0)
		return fail(r, -errno, "open", path);
	if (fstat(src, &st)) {
		err = fail(r, -errno, "stat", path);
		goto out_src;
	}
	dst = openat(mnt, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0700);
	if (dst < 0) {
		err = fail(r, -errno, "create a copy of", path);
		goto out_src;
	}
	err = copy_file(src, dst, &st);
	close(dst);
	if (err) {
		fail(r, err, "copy", path);
		goto out_src;
	}
	tree = open_tree(mnt, name, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC);
	if (tree < 0) {
		err = fail(r, -errno, "open_tree (Linux 6.15 or later clones an fsmount file)", NULL);
		goto out_src;
	}
	err = move_mount(tree, "", AT_FDCWD, path, MOVE_MOUNT_F_EMPTY_PATH) ? -errno : 0;
	if (err)
		fail(r, err, "bind the copy over", path);
	close(tree);
out_src:
	close(src);
	return err;
}

int scope__enter(const struct scope *s, struct scope_report *r)
{
	int fs, mnt = -1;
	size_t i;

	memset(r, 0, sizeof(*r));
	if (s->nr == 0)
		return fail(r, -ENOENT, "nothing to make private", NULL);
	if (unshare(CLONE_NEWNS))
		return fail(r, -errno, "unshare(CLONE_NEWNS)", NULL);
	/* slave: the host's later mounts still reach the tree, nothing goes back */
	if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL))
		return fail(r, -errno, "make / a slave mount", NULL);
	/* a detached tmpfs: no directory of it is visible anywhere */
	fs = fsopen("tmpfs", FSOPEN_CLOEXEC);
	if (fs < 0)
		return fail(r, -errno, "fsopen(tmpfs)", NULL);
	if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0)) {
		fail(r, -errno, "create a tmpfs", NULL);
		goto out;
	}
	mnt = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NODEV);
	if (mnt < 0) {
		fail(r, -errno, "fsmount(tmpfs)", NULL);
		goto out;
	}
	for (i = 0; i < s->nr && !r->err; i++)
		privatize(mnt, i, s->files[i].path, r);
	/*
	 * All or nothing: the parent then probes the host's files, which a
	 * private copy left in place would hide from the tree.
	 */
	if (r->err)
		while (i-- > 0)
			umount2(s->files[i].path, MNT_DETACH);
out:
	if (mnt >= 0)
		close(mnt);
	close(fs);
	return r->err;
}

int scope__open(struct scope *s, pid_t child)
{
	char path[SCOPE_PATH_LEN + 64];
	struct stat host, priv;
	size_t i;
	int err = 0;

	for (i = 0; i < s->nr; i++) {
		snprintf(path, sizeof(path), "/proc/%d/root%s", child, s->files[i].path);
		s->files[i].fd = open(path, O_RDONLY | O_CLOEXEC);
		if (s->files[i].fd < 0) {
			err = -errno;
			break;
		}
		/* the same inode as the host's would trap host-wide */
		if (fstat(s->files[i].fd, &priv) || stat(s->files[i].path, &host) ||
		    (priv.st_dev == host.st_dev && priv.st_ino == host.st_ino)) {
			err = -EXDEV;
			break;
		}
	}
	if (err) {
		snprintf(s->why, sizeof(s->why), "the private copy of %.160s cannot be opened: %s",
			 s->files[i].path, strerror(-err));
		scope__close(s);
		return err;
	}
	s->active = true;
	return 0;
}

const char *scope__probe_path(const struct scope *s, const char *path, char *buf, size_t len)
{
	char real[PATH_MAX];
	size_t i;

	if (!s->active)
		return NULL;
	if (!realpath(path, real))
		snprintf(real, sizeof(real), "%s", path);
	for (i = 0; i < s->nr; i++)
		if (!strcmp(real, s->files[i].path) && s->files[i].fd >= 0) {
			snprintf(buf, len, "/proc/self/fd/%d", s->files[i].fd);
			return buf;
		}
	return NULL;
}

void scope__close(struct scope *s)
{
	size_t i;

	for (i = 0; i < s->nr; i++) {
		if (s->files[i].fd >= 0)
			close(s->files[i].fd);
		s->files[i].fd = -1;
	}
	s->active = false;
}
