/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Object identity: the process-independent key of a word (a shared
 * mapping's file and offset, else the process and address), cached per
 * thread and per process until the process's layout changes.
 */
#ifndef IPCRACE_KEY_BPF_H
#define IPCRACE_KEY_BPF_H

#include "common.bpf.h"

/* Identity of the file behind a struct file: KEY_FILE(dev, ino, 0). */
static __always_inline void key_from_file(struct ipcrace_key *key, struct file *f)
{
	struct inode *inode = BPF_CORE_READ(f, f_inode);

	key->space = KEY_FILE;
	key->a = user_dev(BPF_CORE_READ(inode, i_sb, s_dev));
	key->b = BPF_CORE_READ(inode, i_ino);
	key->c = 0;
}

struct vma_lookup {
	__u64 addr;
	struct ipcrace_key key;
	bool found;
};

#define IPCRACE_VM_SHARED 0x00000008UL

static long vma_to_key(struct task_struct *task, struct vm_area_struct *vma, void *data)
{
	struct vma_lookup *l = data;
	struct file *file = BPF_CORE_READ(vma, vm_file);
	unsigned long flags = BPF_CORE_READ(vma, vm_flags);

	l->found = true;
	if (file && (flags & IPCRACE_VM_SHARED)) {
		key_from_file(&l->key, file);
		l->key.c = (BPF_CORE_READ(vma, vm_pgoff) << 12) +
			   (l->addr - BPF_CORE_READ(vma, vm_start));
	}
	return 0;
}

/*
 * Process-independent identity of the word at addr in the current process:
 * a word of a shared mapping is (dev, inode, offset) whatever the address it
 * is mapped at; anything else is (pid, address). Resolving here, at the
 * event, cannot race with a later munmap the way /proc/PID/maps could.
 */
/*
 * The same lock is looked up again and again: its key is cached per
 * (process, address) with the process's layout generation, which every
 * mapping change, exec and fork renews (layout_changed()), so a cached key
 * never outlives the mapping it came from. Saves a VMA walk per lock call.
 */
struct key_cache_id {
	__u32 tgid;
	__u32 __pad;
	__u64 addr;
};

struct key_cache_val {
	struct ipcrace_key key;
	__u64 gen;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct key_cache_id);
	__type(value, struct key_cache_val);
} key_cache SEC(".maps") __weak;

/* tgid -> layout generation (a timestamp: unique, never reused). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, MAX_TRACED);
	__uint(map_flags, BPF_F_NO_PREALLOC);	/* written per process: nothing to preallocate */
	__type(key, __u32);
	__type(value, __u64);
} layout_gen SEC(".maps") __weak;

static __always_inline void layout_changed(__u32 tgid)
{
	__u64 now = bpf_ktime_get_ns();

	bpf_map_update_elem(&layout_gen, &tgid, &now, BPF_ANY);
}

IPCRACE_SUBPROG int resolve_key(struct ipcrace_event *e, __u64 addr)
{
	struct key_cache_id id = { .addr = addr };
	struct vma_lookup l = { .addr = addr };
	struct task_struct *task = bpf_get_current_task_btf();
	struct thread_state *ts = thread_state();
	struct thread_key *mine = ts ? &ts->keys[(addr >> 3) & (THREAD_KEY_SLOTS - 1)] : NULL;
	struct key_cache_val *cached, fresh = {};
	__u64 *gen;

	if (!e)
		return 0;
	id.tgid = e->pid;
	gen = bpf_map_lookup_elem(&layout_gen, &id.tgid);
	if (mine && gen && mine->addr == addr && mine->gen == *gen) {
		e->key = mine->key;
		return 0;
	}
	e->key.space = KEY_PRIVATE;
	e->key.a = e->pid;
	e->key.b = addr;
	e->key.c = 0;
	cached = bpf_map_lookup_elem(&key_cache, &id);
	if (cached && gen && cached->gen == *gen) {
		e->key = cached->key;
		goto remember;
	}
	if (bpf_find_vma(task, addr, vma_to_key, &l, 0) != 0 || !l.found) {
		e->flags |= EVF_KEY_UNRESOLVED;
		return 0;
	}
	if (l.key.space == KEY_FILE)
		e->key = l.key;
	if (gen) {
		fresh.key = e->key;
		fresh.gen = *gen;
		bpf_map_update_elem(&key_cache, &id, &fresh, BPF_ANY);
	}
remember:
	if (mine && gen) {
		mine->addr = addr;
		mine->gen = *gen;
		mine->key = e->key;
	}
	return 0;
}

#endif /* IPCRACE_KEY_BPF_H */
