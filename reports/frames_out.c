// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <stdint.h>

#include "escape.h"
#include "frames_out.h"
#include "render.h"

static void text_line(FILE *out, size_t n, const char *function, const char *file, int line,
		      const struct frame *fr)
{
	fprintf(out, "    #%zu ", n);
	if (function)
		escape__text(out, function, SIZE_MAX);
	else if (!fr->module)
		fprintf(out, "0x%llx", (unsigned long long)fr->ip);
	else
		fputs("??", out);
	if (file) {
		fputc(' ', out);
		escape__text(out, file, SIZE_MAX);
		if (line)
			fprintf(out, ":%d", line);
	}
	if (fr->module) {
		fputs(" (", out);
		escape__text(out, path__basename(fr->module), SIZE_MAX);
		fprintf(out, "+0x%llx", (unsigned long long)fr->offset);
		/* no symbols: what finds them later (--debug-dir, debuginfod) */
		if (!function && fr->build_id)
			fprintf(out, ", build-id %s", fr->build_id);
		fputc(')', out);
	} else {
		fputs(" (<unknown module>)", out);
	}
	fputc('\n', out);
}

void frames_out__text(FILE *out, const struct frame *frames, size_t nr)
{
	size_t n = 0;

	for (size_t i = 0; i < nr; i++) {
		const struct frame *fr = &frames[i];

		text_line(out, n++, fr->function, fr->file, fr->line, fr);
		for (size_t k = 0; k < fr->nr_inlined; k++)
			text_line(out, n++, fr->inlined[k].function, fr->inlined[k].file,
				  fr->inlined[k].line, fr);
	}
}

void frames_out__json_frame(struct json_writer *w, const struct frame *fr, const char *function,
			    const char *file, int line, bool inlined)
{
	json_writer__start_object(w);
	/* a NULL string is written as null */
	json_writer__kv_string(w, "function", function);
	json_writer__kv_string(w, "file", file);
	if (line > 0)
		json_writer__kv_int(w, "line", line);
	else
		json_writer__kv_null(w, "line");
	json_writer__kv_string(w, "module", fr->module);
	json_writer__kv_uint(w, "address", fr->ip);
	if (fr->module)
		json_writer__kv_uint(w, "module_offset", fr->offset);
	else
		json_writer__kv_null(w, "module_offset");
	json_writer__kv_string(w, "build_id", fr->build_id);
	json_writer__kv_bool(w, "inlined", inlined);
	json_writer__end_object(w);
}

void frames_out__json(struct json_writer *w, const char *name, const struct frame *frames,
		      size_t nr)
{
	json_writer__name(w, name);
	json_writer__start_array(w);
	for (size_t i = 0; i < nr; i++) {
		const struct frame *fr = &frames[i];

		frames_out__json_frame(w, fr, fr->function, fr->file, fr->line, fr->nr_inlined > 0);
		for (size_t k = 0; k < fr->nr_inlined; k++)
			frames_out__json_frame(w, fr, fr->inlined[k].function, fr->inlined[k].file,
					       fr->inlined[k].line, k + 1 < fr->nr_inlined);
	}
	json_writer__end_array(w);
}
