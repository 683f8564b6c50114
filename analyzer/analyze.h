/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* The analyzer's entry point: a trace in, findings out. */
#ifndef IPCRACE_ANALYZE_H
#define IPCRACE_ANALYZE_H

#include "trace.h"
#include "findings.h"

struct analyze_opts {
	int unused;
};

/* Runs every detector over t, in stream order. 0 or a negative errno. */
int analyze_trace(const struct trace *t, const struct analyze_opts *opts,
		  struct findings *out);

#endif /* IPCRACE_ANALYZE_H */
