// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "kernel_btf.h"

#define VMLINUX_BTF "/sys/kernel/btf/vmlinux"

int kernel_btf__open(struct kernel_btf *kb)
{
	struct stat st;
	void *map = MAP_FAILED;
	int src, err = 0;
	ssize_t n;

	kb->fd = -1;
	kb->path[0] = '\0';
	src = open(VMLINUX_BTF, O_RDONLY | O_CLOEXEC);
	if (src < 0)
		return -errno;
	if (fstat(src, &st) || st.st_size <= 0) {
		err = -EINVAL;
		goto out;
	}
	map = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, src, 0);
	if (map == MAP_FAILED) {
		err = -errno;
		goto out;
	}
	kb->fd = memfd_create("ipcrace-vmlinux-btf", MFD_CLOEXEC);
	if (kb->fd < 0) {
		err = -errno;
		goto out;
	}
	n = write(kb->fd, map, st.st_size);
	if (n != st.st_size) {
		err = n < 0 ? -errno : -EIO;
		close(kb->fd);
		kb->fd = -1;
		goto out;
	}
	snprintf(kb->path, sizeof(kb->path), "/proc/self/fd/%d", kb->fd);
out:
	if (map != MAP_FAILED)
		munmap(map, st.st_size);
	close(src);
	return err;
}

void kernel_btf__close(struct kernel_btf *kb)
{
	if (kb->fd >= 0)
		close(kb->fd);
	kb->fd = -1;
	kb->path[0] = '\0';
}
