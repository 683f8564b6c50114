/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Stopping the current process from BPF so that userspace can act before
 * it runs on (tracer/stops.c continues it; its guardian does if ipcrace
 * dies): after a shared mmap (a word there may need a breakpoint before
 * the process touches it), after exec, in a new process at its first
 * return from fork. Which of these is on is stop_wanted, the union of what
 * the consumers in tracer/ asked for. The checks run in sys_exit
 * (bpf/syscalls.bpf.c), in the syscall object: one program per syscall
 * exit on the host, not a second one for the stops.
 */
#ifndef IPCRACE_STOPS_BPF_H
#define IPCRACE_STOPS_BPF_H

#include "common.bpf.h"
#include "stops.h"

#define IPCRACE_SIGSTOP 19

/* STOP_ON_* bits; flipped at run time by tracer/stops.c (stops__want). */
__u32 stop_wanted;
/*
 * Stops published so far (read by tracer/stops.c, which walks arm_pending
 * only when this moved, or now and then: a walk of its empty buckets at
 * every wake-up was a few percent of ipcrace's CPU attached to a service).
 */
__u64 stops_published;

/* Processes stopped with SIGSTOP, by tgid: whoever continues one deletes it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, struct arm_stop);
} arm_pending SEC(".maps") __weak;

/*
 * Wakes the consumer now: records are submitted without a wake-up, and a
 * stopped process would otherwise wait for userspace's next poll timeout
 * (10 ms a stop: 2 s for a program forking 200 times).
 */
static __always_inline void stops_wake_consumer(void)
{
	struct ipcrace_rec r = { .kind = IPCRACE_REC_WAKE, .size = sizeof(r) };

	bpf_ringbuf_output(&events, &r, sizeof(r), BPF_RB_FORCE_WAKEUP);
}

/*
 * Stops the current process before it returns to userspace. The order is
 * what makes it safe:
 *   1. the entry is reserved (ts 0) before the signal: a process is never
 *      stopped without an entry someone will find (a full map: no stop);
 *   2. SIGSTOP is queued (synchronously here: irqs are on at sys_exit);
 *   3. the entry is written again with its time: published. BPF_ANY, so an
 *      entry the guardian removed in between (ipcrace died while this ran)
 *      comes back for the guardian's next scan.
 * ipcrace acts only on published entries; its SIGCONT comes after it saw
 * one, so it can never come before the SIGSTOP and leave the process
 * stopped. A process already stopped (another thread's stop, not yet
 * continued) is not stopped again: false.
 */
static __always_inline bool stop_current(__u32 reason, __u64 addr)
{
	struct arm_stop st = { .reason = reason, .addr = addr };
	__u32 tgid = current_tgid();

	if (bpf_map_update_elem(&arm_pending, &tgid, &st, BPF_NOEXIST))
		return false;
	if (bpf_send_signal_thread(IPCRACE_SIGSTOP)) {
		bpf_map_delete_elem(&arm_pending, &tgid);
		return false;
	}
	st.ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&arm_pending, &tgid, &st, BPF_ANY);
	/* after the entry is published: a walk that saw this count sees the entry */
	__sync_fetch_and_add(&stops_published, 1);
	stops_wake_consumer();
	return true;
}

/*
 * After a successful mmap or shmat: shared says whether the new mapping is
 * a shared file (MAP_SHARED | MAP_ANONYMOUS and SysV shm have a shmem file
 * too), writable whether it may be written (MAPPING_* from the one vma
 * lookup the mapping event made).
 */
static __always_inline void stop_after_map(__u64 addr, bool shared, bool writable)
{
	__u32 want = stop_wanted;

	if (!shared || !(want & (STOP_ON_SHARED_MAP | STOP_ON_SHARED_WRITE)))
		return;
	if ((want & STOP_ON_SHARED_MAP) || writable)
		stop_current(ARM_MAP, addr);
}

static __always_inline void stop_after_exec(long ret)
{
	if ((stop_wanted & STOP_ON_EXEC) && ret == 0)
		stop_current(ARM_EXEC, 0);
}

#endif /* IPCRACE_STOPS_BPF_H */
