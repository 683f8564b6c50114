/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The path of a file, sent once per (device, inode) as an IPCRACE_REC_PATH
 * record so that reports can name files, FIFOs and shared mappings.
 */
#ifndef IPCRACE_FILE_PATH_BPF_H
#define IPCRACE_FILE_PATH_BPF_H

#include "common.bpf.h"

/* Files whose path was already sent. */
struct file_id {
	__u64 dev;
	__u64 ino;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, struct file_id);
	__type(value, __u8);
} paths_seen SEC(".maps") __weak;

#define PATH_MAX_DEPTH 16	/* components; a power of two (index masks) */

struct path_scratch {
	char buf[2 * IPCRACE_PATH_LEN];
	const unsigned char *names[PATH_MAX_DEPTH];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct path_scratch);
} path_scratch_map SEC(".maps") __weak;

/*
 * Sends the path of f once: dentry names up to the mount root, crossing
 * mounts up to the root of the mount tree (what d_path does, which tracing
 * programs may not call). Deeper paths keep their last PATH_MAX_DEPTH
 * components.
 */
struct path_walk {
	struct dentry *d;
	struct vfsmount *vfs;
	struct mount *mnt;
	struct path_scratch *ps;
	__u32 n;
	__u32 off;
};

/* One step up: a dentry name, or a jump from a mount root to its mountpoint. */
static long path_walk_step(__u64 i, void *data)
{
	struct path_walk *w = data;
	/* locals: CO-RE must not see path_walk (not a kernel type) in a chain */
	struct dentry *d = w->d, *parent = BPF_CORE_READ(d, d_parent);
	struct vfsmount *vfs = w->vfs;
	struct mount *mnt = w->mnt, *up;

	if (d == BPF_CORE_READ(vfs, mnt_root)) {
		up = BPF_CORE_READ(mnt, mnt_parent);
		if (up == mnt)
			return 1;
		w->d = BPF_CORE_READ(mnt, mnt_mountpoint);
		w->mnt = up;
		w->vfs = (void *)up + bpf_core_field_offset(struct mount, mnt);
		return 0;
	}
	if (d == parent || w->n >= PATH_MAX_DEPTH)
		return 1;
	w->ps->names[w->n & (PATH_MAX_DEPTH - 1)] = BPF_CORE_READ(d, d_name.name);
	w->n++;
	w->d = parent;
	return 0;
}

/* Appends "/name" for component n - 1 - i (the walk collected them leaf first). */
static long path_append(__u64 i, void *data)
{
	struct path_walk *w = data;
	__u32 pos;
	long len;

	if (i >= w->n || w->off >= IPCRACE_PATH_LEN - 1)
		return 1;
	pos = w->off;
	barrier_var(pos);
	w->ps->buf[pos & (IPCRACE_PATH_LEN - 1)] = '/';
	pos = w->off + 1;
	/* the verifier needs the mask it sees: keep clang from dropping it */
	barrier_var(pos);
	pos &= IPCRACE_PATH_LEN - 1;
	len = bpf_probe_read_kernel_str(&w->ps->buf[pos], IPCRACE_PATH_LEN,
					w->ps->names[(w->n - 1 - i) & (PATH_MAX_DEPTH - 1)]);
	w->off += 1 + (len > 1 ? len - 1 : 0);
	return 0;
}

/*
 * Sends the path of f once: dentry names up to the mount root, crossing
 * mounts up to the root of the mount tree (what d_path does, which tracing
 * programs may not call). bpf_loop keeps the verifier from walking every
 * combination of the steps. Deeper paths keep their last PATH_MAX_DEPTH
 * components.
 */
static __always_inline void emit_file_path(struct file *f)
{
	struct inode *inode = BPF_CORE_READ(f, f_inode);
	struct file_id id = {
		.dev = user_dev(BPF_CORE_READ(inode, i_sb, s_dev)),
		.ino = BPF_CORE_READ(inode, i_ino),
	};
	struct path_walk w = {};
	struct ipcrace_path *rec;
	__u32 zero = 0;
	__u8 one = 1;

	if (!f || bpf_map_lookup_elem(&paths_seen, &id))
		return;
	w.ps = bpf_map_lookup_elem(&path_scratch_map, &zero);
	if (!w.ps)
		return;
	w.d = BPF_CORE_READ(f, f_path.dentry);
	w.vfs = BPF_CORE_READ(f, f_path.mnt);
	w.mnt = (void *)w.vfs - bpf_core_field_offset(struct mount, mnt);
	bpf_loop(PATH_MAX_DEPTH + 8, path_walk_step, &w, 0);
	bpf_loop(PATH_MAX_DEPTH, path_append, &w, 0);
	if (w.off == 0)
		w.ps->buf[w.off++] = '/';
	w.ps->buf[w.off & (2 * IPCRACE_PATH_LEN - 1)] = '\0';

	rec = bpf_ringbuf_reserve(&events, sizeof(*rec), 0);
	if (!rec) {
		count(CNT_LOST_EVENTS);
		return;
	}
	rec->hdr.kind = IPCRACE_REC_PATH;
	rec->hdr.size = sizeof(*rec);
	rec->dev = id.dev;
	rec->ino = id.ino;
	bpf_probe_read_kernel(rec->path, sizeof(rec->path), w.ps->buf);
	rec->path[IPCRACE_PATH_LEN - 1] = '\0';
	record_submit(rec);
	bpf_map_update_elem(&paths_seen, &id, &one, BPF_ANY);
}

#endif /* IPCRACE_FILE_PATH_BPF_H */
