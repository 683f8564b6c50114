/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Where a recording goes (tracer/output.h does the opening):
 *
 *   record -o FILE      FILE, in place from the moment the recording
 *                       starts (trace_dest__start: a killed record leaves
 *                       its trace, at most ~100 ms behind; a run that
 *                       failed before, e.g. a refused -p or a missing
 *                       command, leaves an existing FILE as it was)
 *   check               an unnamed temporary file (O_TMPFILE in $TMPDIR or
 *                       /tmp) read back through its descriptor: the kernel
 *                       frees it when ipcrace's descriptors close, however
 *                       ipcrace ends, SIGKILL included. Its size is bounded
 *                       by half the free space of its filesystem at the
 *                       start, and by TRACE_FILE_MAX (4 GiB); records past
 *                       the bound are counted, not written, and make the
 *                       trace incomplete
 *   check -t FILE       FILE, in place from the start as above, and read back; when
 *                       FILE is not a regular file (/dev/null, a FIFO) the
 *                       recording goes to a temporary file as above and is
 *                       copied to FILE at the end
 *
 * Everything is opened by trace_dest__open(), before the target starts.
 */
#ifndef IPCRACE_TRACE_DEST_H
#define IPCRACE_TRACE_DEST_H

#include <stdbool.h>
#include <linux/types.h>
#include "../analyzer/trace.h"
#include "output.h"

struct trace_dest {
	struct output keep;		/* FILE, when named */
	struct output temp;		/* the unnamed trace, when needed */
	int record_fd;			/* what the recording writes (not owned) */
	int read_fd;			/* what the analysis reads, -1 for record */
	__u64 limit;			/* trace size bound, 0: TRACE_FILE_MAX */
	const char *name;		/* for messages */
	bool started;			/* trace_dest__start: FILE is in place */
};

/*
 * path: the named trace or NULL; analyze: it is read back (check). 0 or a
 * negative errno with one line in err.
 */
int trace_dest__open(struct trace_dest *d, const char *path, bool analyze, char *err,
		     size_t errlen);
/*
 * The recording starts (its header is written): FILE goes in place now.
 * 0 or a negative errno with one line in err. Until then FILE is
 * untouched, and trace_dest__close leaves it so.
 */
int trace_dest__start(struct trace_dest *d, char *err, size_t errlen);
/* After the recording: copies the temporary trace to a non-regular FILE. */
int trace_dest__finish(struct trace_dest *d, char *err, size_t errlen);
/* Reads the recorded trace back (check). */
struct trace *trace_dest__read(struct trace_dest *d, char *err, size_t errlen);
/* Closes everything; the temporary trace is gone after this. Accepts an unopened d. */
void trace_dest__close(struct trace_dest *d);

#endif /* IPCRACE_TRACE_DEST_H */
