/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Symbolized frames as every report shows them: text lines
 * ("    #0 function file:line (module+0xoff)") and JSON frame objects, with
 * inlined callers expanded, innermost first. Strings are escaped here.
 */
#ifndef IPCRACE_FRAMES_OUT_H
#define IPCRACE_FRAMES_OUT_H

#include <stdio.h>
#include "json_writer.h"
#include "symbolize.h"

void frames_out__text(FILE *out, const struct frame *frames, size_t nr);
/* One frame object: {function, file, line, module, address, module_offset, inlined}. */
void frames_out__json_frame(struct json_writer *w, const struct frame *fr, const char *function,
			    const char *file, int line, bool inlined);
/* "name": [ frame objects ], inlined callers flattened in */
void frames_out__json(struct json_writer *w, const char *name, const struct frame *frames,
		      size_t nr);

#endif /* IPCRACE_FRAMES_OUT_H */
