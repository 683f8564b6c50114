/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The kernel's own BTF, for libbpf's CO-RE relocations, without libbpf's
 * 4 KiB reads of /sys/kernel/btf/vmlinux (1,300 read calls, about 20 ms of
 * every check): mapped (kernels >= 6.16 allow it) and copied into a memfd
 * whose /proc/self/fd path libbpf is given as btf_custom_path.
 */
#ifndef IPCRACE_KERNEL_BTF_H
#define IPCRACE_KERNEL_BTF_H

#include <stddef.h>

struct kernel_btf {
	int fd;			/* the memfd, -1 when none */
	char path[32];		/* "/proc/self/fd/N" */
};

/*
 * Fills kb. 0, or -errno when the BTF cannot be mapped (an older kernel):
 * then kb->fd is -1 and libbpf reads the file itself, as without this.
 */
int kernel_btf__open(struct kernel_btf *kb);
void kernel_btf__close(struct kernel_btf *kb);

#endif /* IPCRACE_KERNEL_BTF_H */
