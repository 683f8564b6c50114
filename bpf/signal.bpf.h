/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Signals as synchronization (shared by bpf/signals.bpf.c and the
 * rt_sigaction entry in bpf/syscalls.bpf.h): what a thread did before it
 * installed a handler (sigaction) or sent a signal (kill, tgkill,
 * sigqueue) happens before the handler that signal runs, in whichever
 * thread of the receiving process. The object is (receiving process,
 * signal number).
 */
#ifndef IPCRACE_SIGNAL_BPF_H
#define IPCRACE_SIGNAL_BPF_H

#include "common.bpf.h"

/* type: EV_SIGNAL_SEND (release-type) or EV_SIGNAL_DELIVER (acquire-type). */
static __always_inline void emit_signal(__u16 type, __u32 target_tgid, __u32 sig, __u64 how)
{
	struct ipcrace_event *e = event_reserve(type, OBJ_SIGNAL);

	if (!e)
		return;
	e->arg0 = sig;
	e->arg1 = how;
	e->addr = target_tgid;
	e->key.space = KEY_PRIVATE;
	e->key.a = target_tgid;
	e->key.b = sig;
	e->key.c = 0;
	record_submit(e);
}

#endif /* IPCRACE_SIGNAL_BPF_H */
