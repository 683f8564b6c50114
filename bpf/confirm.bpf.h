/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Confirmation holds (issue 8, DataCollider's idea; analyzer/syncvis.h):
 * where ipcrace cannot see all of a process's synchronization, a race is
 * only a candidate until a conflict is seen to happen. An access probe hit
 * on a candidate word (confirm_words, filled by tracer/confirm.c: words two
 * threads touched, one writing, in a process with synchronization ipcrace
 * cannot see) holds the accessing thread, before its access runs, for
 * confirm_hold_ns, watching the word's value; a change during the hold is
 * another thread's write while this access was pending: no lock held
 * across the hold allows that. The hold ends early at the change.
 *
 * The hold is a bounded wait inside the probe (bpf_loop over the clock),
 * of this thread only: its siblings and the other processes run on, which
 * a stop (SIGSTOP, bpf/stops.bpf.h) of the whole thread group would not
 * allow. It ends by itself: nothing is left to continue if ipcrace dies.
 * Rate: at most one hold per confirm_gap_ns in each thread (its next
 * allowed time in task storage), so a thread spends at most
 * confirm_hold_ns / confirm_gap_ns of its time held; per thread, so that a
 * hot loop on the word does not take every hold from the other side. One
 * thread is held at a time (confirm_holding): two threads held at once
 * would wait for each other's access in vain.
 *
 * Limits: a conflicting read during a held write is not seen (the value
 * does not change), nor a write that puts back the value it found.
 */
#ifndef IPCRACE_CONFIRM_BPF_H
#define IPCRACE_CONFIRM_BPF_H

#include "common.bpf.h"
#include "key.bpf.h"
#include "access_maps.h"

/* Set by userspace before load: 0 turns holds off. */
const volatile __u64 confirm_hold_ns = 0;
const volatile __u64 confirm_gap_ns = 0;

/* Read by userspace (mapped .bss). */
__u64 confirm_holds;		/* holds made */
__u64 confirm_changed;		/* of which the word changed */
__u64 confirm_hold_total_ns;	/* their total length */
__u64 confirm_skipped_rate;	/* candidate hits past the rate */
__u64 confirm_skipped_busy;	/* candidate hits while another thread was held */
__u64 confirm_holding;		/* 1 while a thread is held */

#define CONFIRM_WORDS_MAX 4096
/* The longest loop bpf_loop allows: enough turns of the clock for 10 ms */
#define CONFIRM_LOOP_MAX (1u << 23)

/* Per thread: no hold of this thread starts before this time. */
struct {
	__uint(type, BPF_MAP_TYPE_TASK_STORAGE);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, int);
	__type(value, __u64);
} confirm_threads SEC(".maps");

/* (tgid, 8-byte word address) -> 1: the words to hold at; userspace writes it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, CONFIRM_WORDS_MAX);
	__type(key, struct access_atomic_word);
	__type(value, __u8);
} confirm_words SEC(".maps");

struct confirm_wait {
	__u64 addr;
	__u64 end;
	__u64 before;
	__u32 size;
	bool changed;
};

static long confirm_wait_turn(__u64 i, void *data)
{
	struct confirm_wait *w = data;
	__u32 n = w->size;
	__u64 now = 0;

	(void)i;
	if (n == 0 || n > 8)
		return 1;
	if (bpf_probe_read_user(&now, n, (const void *)w->addr) == 0 && now != w->before) {
		w->changed = true;
		return 1;
	}
	return bpf_ktime_get_ns() >= w->end;
}

/*
 * At a plain access (before it runs) of size bytes at addr by instruction
 * ip: holds the thread when the word is a candidate and the rate allows,
 * and records the hold. w: the word's (tgid, word) key.
 */
static __attribute__((noinline)) void confirm_maybe_hold(const struct access_atomic_word *word, __u64 addr,
					       __u64 size, __u64 ip, bool write)
{
	struct confirm_wait w = { .addr = addr };
	struct ipcrace_event *e;
	__u64 now, start, *next_ns;
	__u32 n;

	if (!confirm_hold_ns || !bpf_map_lookup_elem(&confirm_words, word))
		return;
	next_ns = bpf_task_storage_get(&confirm_threads, bpf_get_current_task_btf(), 0,
				       BPF_LOCAL_STORAGE_GET_F_CREATE);
	now = bpf_ktime_get_ns();
	if (!next_ns || now < *next_ns) {
		__sync_fetch_and_add(&confirm_skipped_rate, 1);
		return;
	}
	n = size > 8 ? 8 : size;
	if (n == 0 || n > 8)
		return;
	/* one hold at a time: the others run, and their accesses are what it waits for */
	if (__sync_val_compare_and_swap(&confirm_holding, 0, 1) != 0) {
		__sync_fetch_and_add(&confirm_skipped_busy, 1);
		return;
	}
	*next_ns = now + confirm_gap_ns;
	if (bpf_probe_read_user(&w.before, n, (const void *)addr)) {
		__sync_lock_test_and_set(&confirm_holding, 0);
		return;
	}
	w.size = n;
	start = bpf_ktime_get_ns();
	w.end = start + confirm_hold_ns;
	bpf_loop(CONFIRM_LOOP_MAX, confirm_wait_turn, &w, 0);
	now = bpf_ktime_get_ns();
	__sync_lock_test_and_set(&confirm_holding, 0);
	__sync_fetch_and_add(&confirm_holds, 1);
	__sync_fetch_and_add(&confirm_hold_total_ns, now - start);
	if (w.changed)
		__sync_fetch_and_add(&confirm_changed, 1);
	e = event_reserve(EV_CONFIRM_HOLD, OBJ_MEMORY);
	if (!e)
		return;
	e->ts = start;
	e->addr = addr;
	e->arg0 = ip;
	e->arg1 = now - start;
	e->result = w.changed;
	e->flags |= EVF_PROBE | (write ? EVF_WRITE : EVF_READ);
	resolve_key(e, addr);
	record_submit(e);
}

#endif /* IPCRACE_CONFIRM_BPF_H */
