/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Confirmation holds, the tracer's side (bpf/confirm.bpf.h holds; the
 * analyzer turns a hold that saw the word change into a confirmed race,
 * analyzer/syncvis.h). Chooses the candidate words while the run goes on:
 * a word the access probes saw shared (two threads, one writing:
 * access_shared.h) by a process whose synchronization ipcrace cannot all
 * see (syncscan.h) is a candidate; each process's address of it, as its
 * probe events show it, goes to BPF's confirm_words, where the next probe
 * hits hold.
 *
 * Bounded: at most CONFIRM_WORDS_MAX (bpf/confirm.bpf.h) process/word
 * pairs; past that new ones are counted, not held at (-v).
 */
#ifndef IPCRACE_CONFIRM_H
#define IPCRACE_CONFIRM_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include "../bpf/events.h"

/* Defaults: tests/bench/run_confirm_bench.sh and README, "Confirmation holds". */
#define CONFIRM_HOLD_US_DEFAULT 200
#define CONFIRM_HOLD_US_MAX 10000
#define CONFIRM_RATE_DEFAULT 20
#define CONFIRM_RATE_MAX 10000

struct confirm_opts {
	__u32 hold_us;		/* --confirm-hold: length of a hold; 0: the default */
	__u32 rate;		/* --confirm-rate: holds per second and thread; 0: the default */
	bool off;		/* --confirm-hold 0: no holds */
};

struct ipcrace_bpf;
struct confirm;

/* Before load: the hold's length and rate in BPF's read-only data. */
void confirm__configure(struct ipcrace_bpf *skel, const struct confirm_opts *opts);

/* After load. NULL + errno; the run goes on without holds. */
struct confirm *confirm__new(struct ipcrace_bpf *skel, const struct confirm_opts *opts);
void confirm__free(struct confirm *c);

/*
 * A word access_shared found shared (word: its process-independent key),
 * first seen so in event e; unseen: e's process synchronizes in ways
 * ipcrace cannot see. Makes it a candidate when so.
 */
void confirm__shared(struct confirm *c, const struct ipcrace_event *e,
		     const struct ipcrace_key *word, bool unseen);

/* Every memory access event (probe or watchpoint): another process's address of a candidate word. */
void confirm__note(struct confirm *c, const struct ipcrace_event *e);

/* -v: candidates, holds, how many saw a change, the time spent. */
void confirm__print_stats(const struct confirm *c);

#endif /* IPCRACE_CONFIRM_H */
