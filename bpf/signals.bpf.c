// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Signals (signal.bpf.h): the raw tracepoints signal_generate, in the
 * sender's context for a signal a traced thread sends to a traced process
 * with kill, tgkill, tkill or sigqueue, and signal_deliver, in the
 * receiving thread just before its handler runs. Signals the kernel makes
 * (timers, faults, a child's exit) have no traced sender: only the
 * sigaction that installed the handler orders them.
 */
#include "common.bpf.h"
#include "signal.bpf.h"

#define SIG_DFL_ 0
#define SIG_IGN_ 1
/* si_code of a signal a process sent (siginfo.h) */
#define SI_USER_ 0
#define SI_QUEUE_ (-1)
#define SI_TKILL_ (-6)
/* signal_generate's result: the signal was queued */
#define TRACE_SIGNAL_DELIVERED_ 0

SEC("raw_tp/signal_generate")
int BPF_PROG(signal_generate, int sig, struct kernel_siginfo *info, struct task_struct *task,
	     int group, int result)
{
	__u32 sender = current_tgid(), target;
	int code;

	if (result != TRACE_SIGNAL_DELIVERED_ || (unsigned long)info <= 1 ||
	    !is_traced(sender))
		return 0;
	target = BPF_CORE_READ(task, tgid);
	if (!is_traced(target))
		return 0;
	code = BPF_CORE_READ(info, si_code);
	if (code != SI_USER_ && code != SI_QUEUE_ && code != SI_TKILL_)
		return 0;
	/* sent by this process: a signal queued from elsewhere names another pid */
	if ((__u32)BPF_CORE_READ(info, _sifields._kill._pid) != sender)
		return 0;
	emit_signal(EV_SIGNAL_SEND, target, sig, SIGNAL_BY_KILL);
	return 0;
}

SEC("raw_tp/signal_deliver")
int BPF_PROG(signal_deliver, int sig, struct kernel_siginfo *info, struct k_sigaction *ka)
{
	__u32 tgid = current_tgid();
	unsigned long handler;

	if (!is_traced(tgid) || !ka)
		return 0;
	handler = (unsigned long)BPF_CORE_READ(ka, sa.sa_handler);
	if (handler == SIG_DFL_ || handler == SIG_IGN_)
		return 0;
	emit_signal(EV_SIGNAL_DELIVER, tgid, sig, 0);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
