// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include "../analyzer/array.h"
#include "unwind_live.h"

struct live_map {
	__u64 start, end, offset;
	bool exec;
	char path[256];			/* as maps shows it */
	char file[64];			/* /proc/PID/map_files/START-END */
};

struct live_ctx {
	pid_t pid;
	const struct unwind_patch *patches;
	size_t nr_patches;
	struct live_map *maps;
	size_t nr, cap;
};

static int live_read_maps(struct live_ctx *c)
{
	char name[64], line[512], perms[8];
	unsigned long long s, e, off;
	struct live_map *m;
	FILE *f;
	int n;

	snprintf(name, sizeof(name), "/proc/%d/maps", c->pid);
	f = fopen(name, "re");
	if (!f)
		return errno == ENOENT ? -ESRCH : -errno;
	while (fgets(line, sizeof(line), f)) {
		n = 0;
		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %n", &s, &e, perms, &off, &n) < 4)
			continue;
		if (array__reserve(&c->maps, &c->cap, c->nr + 1, sizeof(*c->maps))) {
			fclose(f);
			return -ENOMEM;
		}
		m = &c->maps[c->nr++];
		m->start = s;
		m->end = e;
		m->offset = off;
		m->exec = perms[2] == 'x';
		snprintf(m->path, sizeof(m->path), "%s", n ? line + n : "");
		m->path[strcspn(m->path, "\n")] = '\0';
		snprintf(m->file, sizeof(m->file), "/proc/%d/map_files/%llx-%llx", c->pid, s, e);
	}
	fclose(f);
	return 0;
}

static int live_read_mem(void *ctx, __u64 addr, void *buf, size_t len)
{
	const struct live_ctx *c = ctx;
	struct iovec local = { .iov_base = buf, .iov_len = len };
	struct iovec remote = { .iov_base = (void *)(uintptr_t)addr, .iov_len = len };

	if (process_vm_readv(c->pid, &local, 1, &remote, 1, 0) != (ssize_t)len)
		return -EFAULT;
	/* whole patched words only: the unwinder reads aligned 8-byte words */
	for (size_t i = 0; i < c->nr_patches; i++) {
		const struct unwind_patch *p = &c->patches[i];

		if (len >= sizeof(p->value) && p->addr >= addr &&
		    p->addr - addr <= len - sizeof(p->value))
			memcpy((char *)buf + (p->addr - addr), &p->value, sizeof(p->value));
	}
	return 0;
}

static int live_find_module(void *ctx, __u64 addr, struct unwind_module *out)
{
	const struct live_ctx *c = ctx;
	size_t i, j;

	for (i = 0; i < c->nr; i++) {
		const struct live_map *m = &c->maps[i];

		if (!m->exec || addr < m->start || addr >= m->end)
			continue;
		out->start = m->start;
		out->end = m->end;
		out->base = m->start - m->offset;
		/* offset 0 of the same file: where the loader put its first segment */
		for (j = 0; j < c->nr; j++)
			if (c->maps[j].offset == 0 && !strcmp(c->maps[j].path, m->path)) {
				out->base = c->maps[j].start;
				break;
			}
		out->elf_path = m->path[0] == '/' ? m->file : NULL;
		out->name = m->path;
		return 0;
	}
	return -ENOENT;
}

static const struct unwind_target_ops live_ops = {
	.read_mem = live_read_mem,
	.find_module = live_find_module,
};

int unwind_live__stack(struct unwinder *u, pid_t pid, const __u64 regs[UREG_NR],
		       struct unwind_frame *out, size_t max)
{
	return unwind_live__stack_patched(u, pid, regs, NULL, 0, out, max);
}

int unwind_live__stack_patched(struct unwinder *u, pid_t pid, const __u64 regs[UREG_NR],
			       const struct unwind_patch *patches, size_t nr_patches,
			       struct unwind_frame *out, size_t max)
{
	return unwind_live__stack_regs(u, pid, regs, patches, nr_patches, out, NULL, max);
}

int unwind_live__stack_regs(struct unwinder *u, pid_t pid, const __u64 regs[UREG_NR],
			    const struct unwind_patch *patches, size_t nr_patches,
			    struct unwind_frame *out, __u64 (*frame_regs)[UREG_NR], size_t max)
{
	struct live_ctx c = { .pid = pid, .patches = patches, .nr_patches = nr_patches };
	int ret;

	if (!u || pid <= 0 || !regs || !out || (nr_patches && !patches))
		return -EINVAL;
	ret = live_read_maps(&c);
	if (!ret)
		ret = frame_regs ? unwinder__unwind_regs(u, &live_ops, &c, regs, out, frame_regs, max) :
		      unwinder__unwind(u, &live_ops, &c, regs, out, max);
	free(c.maps);
	return ret;
}
