/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The report of `ipcrace hang`: a model built once by tracer/hang.c (every
 * thread, what it waits on in words, its symbolized stack, the deadlocks
 * and wait chains of the wait-for graph) and two printers over it, text
 * and JSON, which derive nothing. Strings from the processes (comm, paths,
 * symbols) are raw here and escaped by the printers.
 */
#ifndef IPCRACE_HANG_REPORT_H
#define IPCRACE_HANG_REPORT_H

#include <stdbool.h>
#include <stdio.h>
#include "objname.h"
#include "symbolize.h"

#define HANG_VIEW_FRAMES 32
#define HANG_VIEW_TARGETS 8

struct hang_view_thread {
	__u32 pid;
	__u32 tid;
	char comm[16];
	const char *state;		/* "running", "sleeping", "blocked", "stopped", "zombie" */
	const char *kind;		/* what it waits on: "mutex", "read", ... ("" if nothing) */
	const char *syscall;		/* "futex", "read", "" */
	char waits[OBJNAME_LEN + 64];	/* "waits for mutex in /dev/shm/x +0x28" ("" if nothing) */
	char relation[64];		/* "held by", "holds the write end" */
	bool waker_known;		/* the targets are every thread that can end the wait */
	__u32 target_pid[HANG_VIEW_TARGETS];
	__u32 target_tid[HANG_VIEW_TARGETS];	/* 0: any thread of the process */
	size_t nr_targets;
	struct frame frames[HANG_VIEW_FRAMES];
	size_t nr_frames;
	/*
	 * The thread ran while its stack was read (it was not blocked): the
	 * registers are those of its last entry into the kernel and its stack
	 * memory may have moved on since, so the stack is a sample.
	 */
	bool stack_sampled;
	bool deadlocked;
	int cycle;			/* the deadlock it is in or blocked by, -1 */
	bool in_cycle;
};

/* A list of thread indices (a cycle in wait order, or a chain). */
struct hang_view_list {
	int *threads;
	size_t nr;
};

struct hang_view {
	struct hang_view_thread *threads;
	size_t nr_threads;
	size_t nr_processes;
	size_t nr_blocked;
	struct hang_view_list *cycles;	/* each: the threads of a deadlock, in wait order */
	size_t nr_cycles;
	struct hang_view_list *chains;	/* longest wait chains that are no deadlock */
	size_t nr_chains;
	struct hang_view_list stuck;	/* deadlocked on a wait nobody can end, no cycle */
};

int hang_view__write_text(FILE *out, const struct hang_view *v, bool color);
int hang_view__write_json(FILE *out, const struct hang_view *v);

#endif /* IPCRACE_HANG_REPORT_H */
