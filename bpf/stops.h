/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Stops: a traced process held (SIGSTOP) until userspace has done what it
 * must before the process runs on (arm breakpoints, attach probes), shared
 * by bpf/stops.bpf.h (included by bpf/syscalls.bpf.c) and tracer/stops.c. Like events.h:
 * fixed-width types only, included after vmlinux.h or <linux/types.h>.
 */
#ifndef IPCRACE_BPF_STOPS_H
#define IPCRACE_BPF_STOPS_H

/* Where a process was stopped (arm_pending's arm_stop.reason). */
enum arm_reason {
	ARM_MAP = 1,		/* after a shared mmap / shmat; addr: the new mapping */
	ARM_EXEC = 2,		/* after a successful exec */
	ARM_FORK = 3,		/* a new process, at its first return from fork */
	ARM_HOLD = 4,		/* by userspace (stops__hold), until stops__release */
	ARM_CONT = 5,		/* being continued by ipcrace (key | ARM_KEY_CONTINUING) */
};

/*
 * ipcrace lists a process it is about to continue under a key of its own,
 * tgid | ARM_KEY_CONTINUING (a pid never has this bit: pid_max <= 2^22),
 * before it deletes the stop's entry and until its SIGCONT is sent: a
 * SIGKILL between the delete and the SIGCONT leaves the pid listed, and the
 * guardian continues it. BPF never uses such a key.
 */
#define ARM_KEY_CONTINUING	(1u << 31)

/*
 * The points where sys_exit (bpf/stops.bpf.h) stops a traced process (the bits of
 * stop_wanted, the union of what every consumer asked with stops__want).
 */
#define STOP_ON_SHARED_MAP	(1u << 0)	/* every MAP_SHARED file, memfd, shm mapping */
#define STOP_ON_SHARED_WRITE	(1u << 1)	/* ... only the writable ones */
#define STOP_ON_EXEC		(1u << 2)
#define STOP_ON_FORK		(1u << 3)

/*
 * An entry of arm_pending, keyed by tgid (SIGSTOP stops the whole group:
 * one entry per process). ts is 0 while the stop is being published (the
 * entry is reserved before the signal is sent, so a stop never exists
 * without its entry); whoever continues a process deletes its entry first
 * (ipcrace: after listing it as continuing, above).
 */
struct arm_stop {
	__u64 ts;		/* CLOCK_MONOTONIC when it was stopped; 0: in flight */
	__u64 addr;
	__u32 reason;		/* enum arm_reason */
	__u32 __pad;
};

#endif /* IPCRACE_BPF_STOPS_H */
