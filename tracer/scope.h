/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Probes that trap only the traced tree. A uprobe belongs to an inode: on
 * the host's libc it traps in every process on the host. So before the
 * target's exec, the target (and every descendant it will have) moves to a
 * mount namespace of its own in which a private copy (tmpfs) of each file
 * ipcrace will probe -- libc, the executable -- is bind-mounted over the
 * original path. The probes go on the private inodes: only the tree runs
 * that code, so only the tree traps, children included, with no stop and
 * no window. Paths stay the real ones (/proc/PID/maps, the BPF path walk)
 * and the copies keep their build-ids, so symbols resolve as before.
 *
 * Needs CAP_SYS_ADMIN (unshare(CLONE_NEWNS)) and the new mount API (Linux
 * 6.15 or later for a file of an fsmount()ed tmpfs to be cloned with
 * open_tree); without it the caller probes host-wide and says why.
 */
#ifndef IPCRACE_SCOPE_H
#define IPCRACE_SCOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#define SCOPE_MAX_FILES 4
#define SCOPE_PATH_LEN 4096

/* What the child tells the parent about its namespace (one pipe write). */
struct scope_report {
	int err;		/* 0: every file is private, else a negative errno */
	char why[200];		/* the failing step, when err */
};

struct scope_file {
	char path[SCOPE_PATH_LEN];	/* canonical path, as the tree sees it */
	int fd;				/* ipcrace's descriptor of the private copy */
};

struct scope {
	bool active;		/* the tree runs with private copies */
	size_t nr;
	struct scope_file files[SCOPE_MAX_FILES];
	char why[240];		/* why not active (for -v) */
};

/*
 * Parent, before the fork: the canonical paths of the files to make private
 * (nonexistent or duplicate ones dropped). Returns the number kept.
 */
size_t scope__plan(struct scope *s, const char *const *paths, size_t nr);

/*
 * Child, after the fork and before exec: new mount namespace (propagation
 * slave: nothing it mounts reaches the host), private copies over the
 * planned paths. Uses no heap. Fills *r; returns r->err.
 */
int scope__enter(const struct scope *s, struct scope_report *r);

/*
 * Parent, once the child reported success: opens each private copy through
 * /proc/CHILD/root. On failure the scope is inactive (s->why says why).
 */
int scope__open(struct scope *s, pid_t child);

/*
 * The path to probe for `path`: "/proc/self/fd/N" of its private copy when
 * it has one (written to buf), else NULL: probing it would trap host-wide.
 */
const char *scope__probe_path(const struct scope *s, const char *path, char *buf, size_t len);

void scope__close(struct scope *s);

#endif /* IPCRACE_SCOPE_H */
