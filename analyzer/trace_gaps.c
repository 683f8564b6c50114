// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Completeness of a trace (analyzer/trace.h): what the reader could not
 * use, and what the recording itself did not capture, in one place so that
 * every report format and the exit status agree on it.
 */
#include <stdarg.h>
#include <stdio.h>
#include "trace.h"

bool trace__is_complete(const struct trace *t)
{
	if (!t)
		return false;
	return t->has_footer && !t->truncated && !t->header_damaged && !t->skipped_bytes &&
	       !t->skipped_records && !t->damaged_regions && !t->footer.lost_events &&
	       !t->footer.dropped_records && !(t->footer.flags & TRACEF_WINDOW);
}

struct gap_buf {
	char *buf;
	size_t len;
	size_t used;			/* what the whole text needs */
};

__attribute__((format(printf, 2, 3)))
static void gap_buf__add(struct gap_buf *g, const char *fmt, ...)
{
	va_list ap;
	size_t room;
	int n;

	if (g->used) {
		room = g->used < g->len ? g->len - g->used : 0;
		n = snprintf(room ? g->buf + g->used : NULL, room, "; ");
		g->used += n > 0 ? n : 0;
	}
	room = g->used < g->len ? g->len - g->used : 0;
	va_start(ap, fmt);
	n = vsnprintf(room ? g->buf + g->used : NULL, room, fmt, ap);
	va_end(ap);
	g->used += n > 0 ? n : 0;
}

size_t trace__describe_gaps(const struct trace *t, char *buf, size_t len)
{
	struct gap_buf g = { .buf = buf, .len = len };

	if (buf && len)
		buf[0] = '\0';
	if (!t)
		return 0;
	if (!t->has_footer)
		gap_buf__add(&g, "no footer: the recording was cut off, later events are missing");
	if (t->footer.flags & TRACEF_WINDOW)
		gap_buf__add(&g, "a flight-recorder window: the %llu records before %.6f s were "
			     "not kept", (unsigned long long)t->footer.window_dropped_records,
			     t->footer.window_start_ns > t->header.start_mono_ns ?
			     (t->footer.window_start_ns - t->header.start_mono_ns) / 1e9 : 0.0);
	if (t->truncated)
		gap_buf__add(&g, "the file ends inside a record (%llu bytes after the last "
			     "whole one)", (unsigned long long)t->tail_bytes);
	if (t->damaged_regions || t->skipped_bytes || t->skipped_records)
		gap_buf__add(&g, "%u damaged region%s skipped (%llu bytes, %llu records lost)",
			     t->damaged_regions, t->damaged_regions == 1 ? "" : "s",
			     (unsigned long long)t->skipped_bytes,
			     (unsigned long long)t->skipped_records);
	if (t->header_damaged)
		gap_buf__add(&g, "the file header is damaged (host, command, start time unreliable)");
	if (t->footer.lost_events)
		gap_buf__add(&g, "%llu events lost (ring buffer full)",
			     (unsigned long long)t->footer.lost_events);
	if (t->footer.dropped_records)
		gap_buf__add(&g, "%llu events (%llu records) not written: the trace reached its "
			     "size limit", (unsigned long long)t->footer.dropped_events,
			     (unsigned long long)t->footer.dropped_records);
	return g.used;
}

int trace__exit_status(const struct trace *t, size_t nr_findings)
{
	if (nr_findings)
		return TRACE_EXIT_FINDINGS;
	return trace__is_complete(t) ? TRACE_EXIT_CLEAN : TRACE_EXIT_INCOMPLETE;
}
