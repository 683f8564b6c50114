/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The kernel's BTF for libbpf's CO-RE relocations, cut down to what they
 * can name, in a memfd whose /proc/self/fd path libbpf is given as
 * btf_custom_path.
 *
 * libbpf parses the BTF it relocates against once per object and, for each
 * type a relocation starts from, compares that type's name with every one
 * of the kernel's (about 126,000 types): with two objects that was 70 ms of
 * CPU in every check's start-up. What a relocation can reach is far less: a
 * type whose name one of the objects uses, and what it embeds (members,
 * array elements, typedef targets; not what it points to, which CO-RE
 * compares as "a pointer" only). kernel_btf__fill writes that part, a few
 * thousand types, parsed once from the mapped file (kernels >= 6.16 allow
 * mapping it; older ones are read).
 */
#ifndef IPCRACE_KERNEL_BTF_H
#define IPCRACE_KERNEL_BTF_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

struct bpf_object;
struct btf;

/*
 * What the syscall programs that name channels with direct loads need
 * (bpf/chan_direct.bpf.h): the kfunc, and the ids in the kernel's own BTF
 * (not the cut one's) of the structs they cast to; 0 when absent.
 */
struct kernel_btf_ids {
	__u32 file;
	__u32 socket;
	__u32 unix_sock;
	bool rdonly_cast;	/* the kernel has bpf_rdonly_cast (Linux 6.2) */
};

struct kernel_btf {
	int fd;			/* the memfd, -1 when none */
	char path[32];		/* "/proc/self/fd/N" */
	struct kernel_btf_ids ids;	/* found by kernel_btf__fill */
};

/*
 * Creates kb's memfd, empty, and its path (for bpf_object_open_opts: libbpf
 * reads it at load time, not at open). 0, or -errno: then kb->fd is -1 and
 * libbpf reads the kernel's file itself.
 */
int kernel_btf__open(struct kernel_btf *kb);

/*
 * Writes into kb's memfd the kernel's types the opened objects' CO-RE
 * relocations can reach (the whole BTF if it cannot tell), and finds
 * kb->ids. 0 or -errno; on error kb is closed (fd -1) and libbpf must be
 * given no custom path.
 */
int kernel_btf__fill(struct kernel_btf *kb, struct bpf_object *const *objs, size_t nr_objs);

void kernel_btf__close(struct kernel_btf *kb);

/* kernel's ids (in one pass over its types). */
void kernel_btf__find_ids(const struct btf *kernel, struct kernel_btf_ids *ids);

/* True when ids has all a direct-load program needs. */
bool kernel_btf_ids__complete(const struct kernel_btf_ids *ids);

/*
 * The part of kernel that CO-RE relocations of programs with the local
 * BTFs can reach (what kernel_btf__fill writes): a new BTF, or NULL with
 * errno set.
 */
struct btf *kernel_btf__cut(const struct btf *kernel, const struct btf *const *locals,
			    size_t nr_locals);

#endif /* IPCRACE_KERNEL_BTF_H */
