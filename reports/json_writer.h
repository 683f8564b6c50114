/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A small streaming JSON writer: nesting, commas and string escaping in one
 * place, so renderers never assemble JSON with printf.
 */
#ifndef IPCRACE_JSON_WRITER_H
#define IPCRACE_JSON_WRITER_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct json_writer;

/* pretty: newlines and two-space indents. NULL + errno on error. */
struct json_writer *json_writer__new(FILE *out, bool pretty);
/*
 * Ends the document with a newline and frees w. Returns 0, -EIO if a write
 * failed, -EINVAL if objects or arrays were left open or misused. Accepts
 * NULL (returns 0).
 */
int json_writer__free(struct json_writer *w);

/* Inside an object, every value is preceded by json_writer__name(). */
void json_writer__name(struct json_writer *w, const char *name);
void json_writer__start_object(struct json_writer *w);
void json_writer__end_object(struct json_writer *w);
void json_writer__start_array(struct json_writer *w);
void json_writer__end_array(struct json_writer *w);

/* s may be NULL (writes null); at most maxlen bytes of s are used. */
void json_writer__string(struct json_writer *w, const char *s);
void json_writer__string_n(struct json_writer *w, const char *s, size_t maxlen);
void json_writer__uint(struct json_writer *w, __u64 v);
void json_writer__int(struct json_writer *w, __s64 v);
void json_writer__bool(struct json_writer *w, bool v);
void json_writer__null(struct json_writer *w);
/*
 * v / 10^decimals written exactly as a decimal number, without going
 * through a double: json_writer__decimal(w, 1234567, 3) writes 1234.567.
 * decimals is at most 19.
 */
void json_writer__decimal(struct json_writer *w, __u64 v, unsigned int decimals);

/* name + value in one call */
void json_writer__kv_string(struct json_writer *w, const char *name, const char *s);
void json_writer__kv_uint(struct json_writer *w, const char *name, __u64 v);
void json_writer__kv_int(struct json_writer *w, const char *name, __s64 v);
void json_writer__kv_bool(struct json_writer *w, const char *name, bool v);
void json_writer__kv_null(struct json_writer *w, const char *name);
void json_writer__kv_decimal(struct json_writer *w, const char *name, __u64 v,
			    unsigned int decimals);

#endif /* IPCRACE_JSON_WRITER_H */
