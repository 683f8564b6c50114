/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The analyzer's entry point: a trace in, findings out. */
#ifndef IPCRACE_ANALYZE_H
#define IPCRACE_ANALYZE_H

#include "trace.h"
#include "findings.h"

/*
 * What the analyzer holds at the end of the stream: its live state, the
 * whole of its memory but the findings. None of it grows with the number
 * of events, only with threads, objects and words.
 */
struct analyze_live {
	size_t hb_threads;		/* vector clocks */
	size_t hb_objects;		/* sync objects with a clock */
	size_t lock_threads;
	size_t locks_held;
	size_t lock_nodes;		/* lock-order graph */
	size_t lock_edges;
	size_t race_words;		/* words with remembered accesses */
};

struct analyze_opts {
	struct analyze_live *live;	/* filled at the end when not NULL */
};

/* Runs every detector over t, in stream order. 0 or a negative errno. */
int analyze_trace(const struct trace *t, const struct analyze_opts *opts,
		  struct findings *out);

/*
 * Analysis in the reader's first pass: the detectors see each event as
 * trace__open_fd_each() first reads the file (analyze_stream__event is its
 * trace_event_fn), so a trace that needs nothing but its events is read
 * once. Some need the whole trace first: an event naming an object by an
 * address BPF did not resolve (mapping snapshots, later ones included),
 * memory accesses and static-initialization guards (atomic variables are
 * known from the whole trace, analyze_trace's first pass), stack
 * snapshots merged since (t->stack_remap renumbers the stacks findings
 * name). At the first such event the stream frees what it found and does
 * analyze_trace's first pass instead, so one pass is left; when that
 * cannot be either (an access's address to look up), both are left. The
 * findings are the same either way.
 */
struct analyze_stream;

struct analyze_stream *analyze_stream__new(void);
void analyze_stream__free(struct analyze_stream *s);
int analyze_stream__event(void *ctx, const struct ipcrace_event *e);
/* Passes over t (opened with s) still to do: 0, 1, or analyze_trace's 2. */
int analyze_stream__passes_left(const struct analyze_stream *s, const struct trace *t);
/*
 * The findings of t (opened with s, after report__merge_stacks), with the
 * passes left. 0 or a negative errno.
 */
int analyze_stream__finish(struct analyze_stream *s, const struct trace *t,
			   const struct analyze_opts *opts, struct findings *out);

#endif /* IPCRACE_ANALYZE_H */
