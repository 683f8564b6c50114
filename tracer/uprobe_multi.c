// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/bpf.h>

#include "link_closer.h"
#include "uprobe_multi.h"

#define UPROBE_MULTI_RETURN 1u

/* union bpf_attr's link_create for BPF_TRACE_UPROBE_MULTI. */
struct uprobe_multi_attr {
	__u32 prog_fd;
	__u32 target_fd;
	__u32 attach_type;
	__u32 flags;
	__u64 path;
	__u64 offsets;
	__u64 ref_ctr_offsets;
	__u64 cookies;
	__u32 cnt;
	__u32 multi_flags;
	__u32 pid;
	__u32 __pad;
};

int uprobe_multi__attach_here(int prog_fd, __u32 attach_type, const char *path,
			      const __u64 *offsets, const __u64 *cookies, __u32 cnt, bool ret, int pid)
{
	struct uprobe_multi_attr a = {
		.prog_fd = prog_fd,
		.attach_type = attach_type,
		.path = (__u64)(unsigned long)path,
		.offsets = (__u64)(unsigned long)offsets,
		.cookies = (__u64)(unsigned long)cookies,
		.cnt = cnt,
		.multi_flags = ret ? UPROBE_MULTI_RETURN : 0,
		.pid = pid,
	};
	int fd = syscall(__NR_bpf, BPF_LINK_CREATE, &a, sizeof(a));

	return fd < 0 ? -errno : fd;
}

int uprobe_multi__attach_type(int prog_fd, __u32 attach_type, const char *path,
			      const __u64 *offsets, const __u64 *cookies, __u32 cnt, bool ret, int pid)
{
	int fd = link_closer__attach(link_closer__shared(), prog_fd, attach_type, path, offsets,
				     cookies, cnt, ret, pid);

	if (fd != -EPIPE)
		return fd;
	return uprobe_multi__attach_here(prog_fd, attach_type, path, offsets, cookies, cnt, ret, pid);
}

int uprobe_multi__attach(int prog_fd, const char *path, const __u64 *offsets,
			 const __u64 *cookies, __u32 cnt, bool ret, int pid)
{
	return uprobe_multi__attach_type(prog_fd, ATTACH_TYPE_UPROBE_MULTI, path, offsets, cookies,
					 cnt, ret, pid);
}
