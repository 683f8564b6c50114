/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * For the report tests: a minimal, strict JSON syntax checker (RFC 8259
 * grammar, no DOM), and a check that no raw control character escaped
 * into a document.
 */
#ifndef IPCRACE_TEST_JSON_CHECK_H
#define IPCRACE_TEST_JSON_CHECK_H

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

static inline bool has_raw_control(const char *s, bool allow_newline)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 && !(allow_newline && (*s == '\n')) &&
		    !(allow_newline && *s == '\t'))
			return true;
	return false;
}

static inline const char *json_skip_ws(const char *p)
{
	while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r')
		p++;
	return p;
}

static inline const char *json_value(const char *p, int depth);

static inline const char *json_string(const char *p)
{
	if (*p++ != '"')
		return NULL;
	while (*p && *p != '"') {
		if ((unsigned char)*p < 0x20)
			return NULL;
		if (*p == '\\') {
			p++;
			if (*p == 'u') {
				for (int i = 1; i <= 4; i++)
					if (!isxdigit((unsigned char)p[i]))
						return NULL;
				p += 4;
			} else if (!*p || !strchr("\"\\/bfnrt", *p)) {
				return NULL;
			}
		}
		p++;
	}
	return *p == '"' ? p + 1 : NULL;
}

static inline const char *json_digits(const char *p)
{
	if (!isdigit((unsigned char)*p))
		return NULL;
	while (isdigit((unsigned char)*p))
		p++;
	return p;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static inline const char *json_number(const char *p)
{
	if (*p == '-')
		p++;
	if (*p == '0')
		p++;
	else if (!(p = json_digits(p)))
		return NULL;
	if (*p == '.' && !(p = json_digits(p + 1)))
		return NULL;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		p = json_digits(p);
	}
	return p;
}

static inline const char *json_container(const char *p, char close, bool is_object, int depth)
{
	p = json_skip_ws(p + 1);
	if (*p == close)
		return p + 1;
	for (;;) {
		if (is_object) {
			p = json_string(json_skip_ws(p));
			if (!p)
				return NULL;
			p = json_skip_ws(p);
			if (*p++ != ':')
				return NULL;
		}
		p = json_value(p, depth + 1);
		if (!p)
			return NULL;
		p = json_skip_ws(p);
		if (*p == close)
			return p + 1;
		if (*p++ != ',')
			return NULL;
	}
}

static inline const char *json_value(const char *p, int depth)
{
	if (depth > 64)
		return NULL;
	p = json_skip_ws(p);
	if (*p == '{')
		return json_container(p, '}', true, depth);
	if (*p == '[')
		return json_container(p, ']', false, depth);
	if (*p == '"')
		return json_string(p);
	if (!strncmp(p, "true", 4))
		return p + 4;
	if (!strncmp(p, "false", 5))
		return p + 5;
	if (!strncmp(p, "null", 4))
		return p + 4;
	if (*p == '-' || isdigit((unsigned char)*p))
		return json_number(p);
	return NULL;
}

/* One JSON value and nothing but white space after it. */
static inline bool json_is_valid(const char *doc)
{
	const char *end = json_value(doc, 0);

	return end && !*json_skip_ws(end);
}

#endif /* IPCRACE_TEST_JSON_CHECK_H */
