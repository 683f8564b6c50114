/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/* Renders findings of one trace in a chosen format. */
#ifndef IPCRACE_REPORT_H
#define IPCRACE_REPORT_H

#include <stdbool.h>
#include <stdio.h>
#include "../analyzer/trace.h"
#include "../analyzer/findings.h"

enum report_format {
	REPORT_TEXT,
	REPORT_JSON,
	REPORT_SARIF,			/* SARIF 2.1.0, for code scanning */
	REPORT_PERFETTO,		/* Chrome trace-event JSON (ui.perfetto.dev) */
};

struct suppressions;

struct report_opts {
	enum report_format format;
	/* rules applied while the report is built (their hit counts updated), or NULL */
	struct suppressions *suppressions;
	bool print_suppressions;	/* text: the rule that would silence each report */
	bool color;			/* text only: ANSI colour (a terminal) */
	__u64 seed;			/* watch schedule seed, printed in reports */
	size_t watched_words;
	bool verbose;			/* -v: how stacks were unwound, on stderr */
	const char *const *debug_dirs;	/* --debug-dir, searched first */
	size_t nr_debug_dirs;
	const char *sysroot;		/* --sysroot: the traced machine's files */
};

/* Parses "text" / "json" / "sarif" / "perfetto"; -EINVAL for anything else. */
int report_format__parse(const char *s, enum report_format *out);

/*
 * Before analysis: one stack id per unwound call chain in t's events
 * (symbolizer__merge_stacks), with opts' places to find the modules.
 * 0 or a negative errno (t is then unchanged or partly merged: still valid).
 */
int report__merge_stacks(struct trace *t, const struct report_opts *opts);

/*
 * Builds the report model of fs (model.h) and writes it to out. 0 or a
 * negative errno. nr_reported, when not NULL, receives the number of
 * reports written: bugs not suppressed (what the exit status follows).
 */
int report__write(FILE *out, const struct trace *t, const struct findings *fs,
		  const struct report_opts *opts);
int report__write_counted(FILE *out, const struct trace *t, const struct findings *fs,
			  const struct report_opts *opts, size_t *nr_reported);

#endif /* IPCRACE_REPORT_H */
