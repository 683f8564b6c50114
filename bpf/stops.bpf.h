/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Stopping the current process from BPF so that userspace can act before
 * it runs on (tracer/stops.c continues it; its guardian does if ipcrace
 * dies). Any BPF file may include this and call stop_current(); the map is
 * __weak, so the linked object has one.
 */
#ifndef IPCRACE_STOPS_BPF_H
#define IPCRACE_STOPS_BPF_H

#include "common.bpf.h"
#include "stops.h"

#define IPCRACE_SIGSTOP 19

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
	stops_wake_consumer();
	return true;
}

#endif /* IPCRACE_STOPS_BPF_H */
