/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Stacks in the perfetto report: the top frames of a finding's stacks in
 * its marker, and of an event's stack in its slice (lock waits and holds;
 * sends and receives recorded with --ipc-stacks), each stack symbolized
 * once per process however many slices show it.
 */
#ifndef IPCRACE_PERFETTO_STACKS_H
#define IPCRACE_PERFETTO_STACKS_H

#include <stddef.h>
#include "../analyzer/trace.h"
#include "json_writer.h"
#include "symbolize.h"

/* Frames shown per stack. */
#define PF_STACK_FRAMES 8

struct pf_stacks;

/* A cache over s and t (s NULL: no event stacks). NULL without memory. */
struct pf_stacks *pf_stacks__new(struct symbolizer *s, const struct trace *t);
/* The top frames of e's stack: *frames and their number, 0 if none. */
size_t pf_stacks__of_event(struct pf_stacks *c, const struct ipcrace_event *e,
			   const struct frame **frames);
void pf_stacks__free(struct pf_stacks *c);

/* key: ["bump counter.c:21 (bank)", ...], the first PF_STACK_FRAMES of frames. */
void pf_write_frames(struct json_writer *w, const char *key, const struct frame *frames,
		     size_t nr);

#endif /* IPCRACE_PERFETTO_STACKS_H */
