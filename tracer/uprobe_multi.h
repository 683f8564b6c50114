/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * uprobe_multi links (Linux 6.6) by the raw bpf() syscall: libbpf 1.1
 * predates them. One link attaches one program at many offsets of one file,
 * each with its own cookie, and is detached as a whole by closing it.
 */
#ifndef IPCRACE_UPROBE_MULTI_H
#define IPCRACE_UPROBE_MULTI_H

#include <linux/types.h>
#include <stdbool.h>

/*
 * Attaches prog_fd at offsets[0..cnt) of path (cookies[i] for offsets[i]),
 * for process pid only (0: every process mapping the file), as return
 * probes when ret. Returns the link fd, or a negative errno (-524,
 * ENOTSUPP: the kernel cannot probe one of the instructions).
 */
int uprobe_multi__attach(int prog_fd, const char *path, const __u64 *offsets,
			 const __u64 *cookies, __u32 cnt, bool ret, int pid);

#define ATTACH_TYPE_UPROBE_MULTI 48
#define ATTACH_TYPE_UPROBE_SESSION 57	/* Linux 6.13: entry and return, one program */

/*
 * The same for an attach type of the two above. The kernel registers the
 * probes in the closer process (link_closer__attach), so that a SIGKILL of
 * ipcrace cannot interrupt it; here, when that process cannot be asked.
 */
int uprobe_multi__attach_type(int prog_fd, __u32 attach_type, const char *path,
			      const __u64 *offsets, const __u64 *cookies, __u32 cnt, bool ret, int pid);
/* The bpf() call itself, in this process. */
int uprobe_multi__attach_here(int prog_fd, __u32 attach_type, const char *path,
			      const __u64 *offsets, const __u64 *cookies, __u32 cnt, bool ret, int pid);

#endif /* IPCRACE_UPROBE_MULTI_H */
