// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include "escape.h"
#include "json_writer.h"

#define JSON_MAX_DEPTH 32

struct json_level {
	bool is_object;
	bool has_items;
};

struct json_writer {
	FILE *out;
	bool pretty;
	bool after_name;	/* a name was written, its value comes next */
	bool err_io;
	bool err_misuse;
	int depth;
	struct json_level level[JSON_MAX_DEPTH];
};

struct json_writer *json_writer__new(FILE *out, bool pretty)
{
	struct json_writer *w;

	if (!out) {
		errno = EINVAL;
		return NULL;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->out = out;
	w->pretty = pretty;
	return w;
}

int json_writer__free(struct json_writer *w)
{
	int err = 0;

	if (!w)
		return 0;
	if (w->depth || w->after_name)
		w->err_misuse = true;
	if (fputc('\n', w->out) == EOF)
		w->err_io = true;
	if (w->err_misuse)
		err = -EINVAL;
	else if (w->err_io)
		err = -EIO;
	free(w);
	return err;
}

static void jw_indent(struct json_writer *w)
{
	int i;

	if (!w->pretty)
		return;
	fputc('\n', w->out);
	for (i = 0; i < w->depth; i++)
		fputs("  ", w->out);
}

/* Separator and indentation before a value (or a name, in an object). */
static void jw_before_item(struct json_writer *w, bool is_name)
{
	struct json_level *l;

	if (w->after_name) {
		if (is_name)
			w->err_misuse = true;
		w->after_name = false;
		return;
	}
	if (!w->depth)
		return;
	l = &w->level[w->depth - 1];
	/* in an object a bare value (without a name) is a bug */
	if (l->is_object != is_name)
		w->err_misuse = true;
	if (l->has_items)
		fputc(',', w->out);
	l->has_items = true;
	jw_indent(w);
}

void json_writer__name(struct json_writer *w, const char *name)
{
	jw_before_item(w, true);
	if (escape__json(w->out, name, SIZE_MAX))
		w->err_io = true;
	fputs(w->pretty ? ": " : ":", w->out);
	w->after_name = true;
}

static void jw_start(struct json_writer *w, bool is_object)
{
	jw_before_item(w, false);
	fputc(is_object ? '{' : '[', w->out);
	if (w->depth == JSON_MAX_DEPTH) {
		w->err_misuse = true;
		return;
	}
	w->level[w->depth].is_object = is_object;
	w->level[w->depth].has_items = false;
	w->depth++;
}

static void jw_end(struct json_writer *w, bool is_object)
{
	bool had_items;

	if (!w->depth || w->level[w->depth - 1].is_object != is_object ||
	    w->after_name) {
		w->err_misuse = true;
		return;
	}
	had_items = w->level[w->depth - 1].has_items;
	w->depth--;
	if (had_items)
		jw_indent(w);
	fputc(is_object ? '}' : ']', w->out);
	if (ferror(w->out))
		w->err_io = true;
}

void json_writer__start_object(struct json_writer *w)
{
	jw_start(w, true);
}

void json_writer__end_object(struct json_writer *w)
{
	jw_end(w, true);
}

void json_writer__start_array(struct json_writer *w)
{
	jw_start(w, false);
}

void json_writer__end_array(struct json_writer *w)
{
	jw_end(w, false);
}

void json_writer__string_n(struct json_writer *w, const char *s, size_t maxlen)
{
	jw_before_item(w, false);
	if (!s)
		fputs("null", w->out);
	else if (escape__json(w->out, s, maxlen))
		w->err_io = true;
}

void json_writer__string(struct json_writer *w, const char *s)
{
	json_writer__string_n(w, s, SIZE_MAX);
}

void json_writer__uint(struct json_writer *w, __u64 v)
{
	jw_before_item(w, false);
	fprintf(w->out, "%" PRIu64, (uint64_t)v);
}

void json_writer__int(struct json_writer *w, __s64 v)
{
	jw_before_item(w, false);
	fprintf(w->out, "%" PRId64, (int64_t)v);
}

void json_writer__bool(struct json_writer *w, bool v)
{
	jw_before_item(w, false);
	fputs(v ? "true" : "false", w->out);
}

void json_writer__null(struct json_writer *w)
{
	jw_before_item(w, false);
	fputs("null", w->out);
}

void json_writer__decimal(struct json_writer *w, __u64 v, unsigned int decimals)
{
	__u64 scale = 1;
	unsigned int i;

	if (decimals > 19) {
		w->err_misuse = true;
		decimals = 19;
	}
	for (i = 0; i < decimals; i++)
		scale *= 10;
	jw_before_item(w, false);
	fprintf(w->out, "%" PRIu64, (uint64_t)(v / scale));
	if (decimals)
		fprintf(w->out, ".%0*" PRIu64, (int)decimals, (uint64_t)(v % scale));
}

void json_writer__kv_string(struct json_writer *w, const char *name, const char *s)
{
	json_writer__name(w, name);
	json_writer__string(w, s);
}

void json_writer__kv_uint(struct json_writer *w, const char *name, __u64 v)
{
	json_writer__name(w, name);
	json_writer__uint(w, v);
}

void json_writer__kv_int(struct json_writer *w, const char *name, __s64 v)
{
	json_writer__name(w, name);
	json_writer__int(w, v);
}

void json_writer__kv_bool(struct json_writer *w, const char *name, bool v)
{
	json_writer__name(w, name);
	json_writer__bool(w, v);
}

void json_writer__kv_null(struct json_writer *w, const char *name)
{
	json_writer__name(w, name);
	json_writer__null(w);
}

void json_writer__kv_decimal(struct json_writer *w, const char *name, __u64 v,
			     unsigned int decimals)
{
	json_writer__name(w, name);
	json_writer__decimal(w, v, decimals);
}
