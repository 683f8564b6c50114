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

#endif /* IPCRACE_ANALYZE_H */
