// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Suppression files: parser and matcher (suppress.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "suppress.h"

#define SUPPRESS_FILE_MAX (1u << 20)	/* a suppressions file is text, not data */

struct suppressions {
	struct suppress_rule *rules;
	size_t nr;
	size_t cap;
	char **strings;			/* every string the rules point to */
	size_t nr_strings;
	size_t cap_strings;
};

static const struct {
	const char *name;
	enum suppress_kind kind;
} kind_names[] = {
	{ "race", SUPPRESS_RACE },
	{ "data_race", SUPPRESS_RACE },
	{ "deadlock", SUPPRESS_DEADLOCK },
	{ "lock_order_inversion", SUPPRESS_DEADLOCK },
	{ "mutex", SUPPRESS_MUTEX },
	{ "double_lock", SUPPRESS_DOUBLE_LOCK },
	{ "unlock_not_held", SUPPRESS_UNLOCK_NOT_HELD },
	{ "lock_held_at_exit", SUPPRESS_LOCK_HELD_AT_EXIT },
	{ "called_from_lib", SUPPRESS_CALLED_FROM_LIB },
	{ "object", SUPPRESS_OBJECT },
};

struct suppressions *suppressions__new(void)
{
	struct suppressions *s = calloc(1, sizeof(*s));

	if (!s)
		errno = ENOMEM;
	return s;
}

void suppressions__free(struct suppressions *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->nr_strings; i++)
		free(s->strings[i]);
	free(s->strings);
	free(s->rules);
	free(s);
}

size_t suppressions__nr_rules(const struct suppressions *s)
{
	return s ? s->nr : 0;
}

const struct suppress_rule *suppressions__rule(const struct suppressions *s, size_t i)
{
	return s && i < s->nr ? &s->rules[i] : NULL;
}

/* --- matching ------------------------------------------------------------------ */

/*
 * Glob over [p, pe) with '*' the only wildcard. open_start: as if the
 * pattern began with '*'; open_end: as if it ended with one.
 */
static bool glob_match(const char *p, const char *pe, const char *s, bool open_start,
		       bool open_end)
{
	const char *star = open_start ? p : NULL, *mark = s;

	for (;;) {
		if (open_end && p == pe)
			return true;
		if (!*s)
			break;
		if (p < pe && *p == '*') {
			star = ++p;
			mark = s;
		} else if (p < pe && *p == *s) {
			p++;
			s++;
		} else if (star) {
			p = star;
			s = ++mark;
		} else {
			return false;
		}
	}
	while (p < pe && *p == '*')
		p++;
	return p == pe;
}

bool suppress__pattern_match(const char *pattern, const char *str)
{
	const char *p = pattern, *pe;
	bool anchor_start = false, anchor_end = false;

	if (!pattern || !str)
		return false;
	pe = p + strlen(p);
	if (*p == '^') {
		anchor_start = true;
		p++;
	}
	if (pe > p && pe[-1] == '$') {
		anchor_end = true;
		pe--;
	}
	return glob_match(p, pe, str, !anchor_start, !anchor_end);
}

static bool rule_applies_to(enum suppress_kind rk, enum finding_kind fk)
{
	switch (rk) {
	case SUPPRESS_RACE:
		return fk == FINDING_DATA_RACE;
	case SUPPRESS_DEADLOCK:
		return fk == FINDING_LOCK_ORDER_INVERSION;
	case SUPPRESS_MUTEX:
		return fk == FINDING_DOUBLE_LOCK || fk == FINDING_UNLOCK_NOT_HELD ||
		       fk == FINDING_LOCK_HELD_AT_EXIT;
	case SUPPRESS_DOUBLE_LOCK:
		return fk == FINDING_DOUBLE_LOCK;
	case SUPPRESS_UNLOCK_NOT_HELD:
		return fk == FINDING_UNLOCK_NOT_HELD;
	case SUPPRESS_LOCK_HELD_AT_EXIT:
		return fk == FINDING_LOCK_HELD_AT_EXIT;
	case SUPPRESS_CALLED_FROM_LIB:
	case SUPPRESS_OBJECT:
		return true;
	}
	return false;
}

static bool rule_matches(const struct suppress_rule *r, const struct suppress_subject *subj)
{
	const char *pat = r->pattern;
	size_t i;

	if (!rule_applies_to(r->kind, subj->kind))
		return false;
	if (r->kind == SUPPRESS_OBJECT) {
		for (i = 0; i < subj->nr_objects; i++)
			if (suppress__pattern_match(pat, subj->objects[i]))
				return true;
		return false;
	}
	for (i = 0; i < subj->nr_frames; i++) {
		const struct suppress_frame *fr = &subj->frames[i];

		if (suppress__pattern_match(pat, fr->module))
			return true;
		if (r->kind == SUPPRESS_CALLED_FROM_LIB)
			continue;
		if (suppress__pattern_match(pat, fr->function) ||
		    suppress__pattern_match(pat, fr->file))
			return true;
	}
	return false;
}

const struct suppress_rule *suppressions__match(struct suppressions *s,
						const struct suppress_subject *subj)
{
	size_t i;

	if (!s || !subj)
		return NULL;
	for (i = 0; i < s->nr; i++) {
		if (rule_matches(&s->rules[i], subj)) {
			s->rules[i].hits++;
			return &s->rules[i];
		}
	}
	return NULL;
}

const char *suppress__kind_name_for(enum finding_kind k)
{
	switch (k) {
	case FINDING_DATA_RACE:
		return "race";
	case FINDING_LOCK_ORDER_INVERSION:
		return "deadlock";
	case FINDING_DOUBLE_LOCK:
		return "double_lock";
	case FINDING_UNLOCK_NOT_HELD:
		return "unlock_not_held";
	case FINDING_LOCK_HELD_AT_EXIT:
		return "lock_held_at_exit";
	}
	return "unknown";
}

/* --- parsing ------------------------------------------------------------------- */

static char *strings_keep(struct suppressions *s, const char *str, size_t len)
{
	char *copy;

	if (s->nr_strings == s->cap_strings) {
		size_t cap = s->cap_strings ? s->cap_strings * 2 : 16;
		char **v = realloc(s->strings, cap * sizeof(*v));

		if (!v)
			return NULL;
		s->strings = v;
		s->cap_strings = cap;
	}
	copy = strndup(str, len);
	if (copy)
		s->strings[s->nr_strings++] = copy;
	return copy;
}

static int kind_parse(const char *name, size_t len, enum suppress_kind *out)
{
	char buf[32];
	size_t i;

	if (len >= sizeof(buf))
		return -EINVAL;
	for (i = 0; i < len; i++)
		buf[i] = name[i] == '-' ? '_' : name[i];
	buf[len] = '\0';
	for (i = 0; i < sizeof(kind_names) / sizeof(kind_names[0]); i++) {
		if (!strcmp(buf, kind_names[i].name)) {
			*out = kind_names[i].kind;
			return 0;
		}
	}
	return -EINVAL;
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

/* One line [p, pe), trimmed by the caller. 0, -EINVAL (reason in why) or -ENOMEM. */
static int line_parse(struct suppressions *s, const char *name, size_t lineno,
		      const char *p, const char *pe, const char **why)
{
	const char *colon = memchr(p, ':', pe - p), *pat;
	struct suppress_rule *r;
	enum suppress_kind kind;
	const char *k_end;

	if (!colon) {
		*why = "expected KIND:PATTERN";
		return -EINVAL;
	}
	for (k_end = colon; k_end > p && is_space(k_end[-1]); k_end--)
		;
	if (k_end == p) {
		*why = "no kind before ':'";
		return -EINVAL;
	}
	if (kind_parse(p, k_end - p, &kind)) {
		*why = "unknown kind (race, deadlock, mutex, called_from_lib, data_race, "
		       "lock_order_inversion, double_lock, unlock_not_held, "
		       "lock_held_at_exit, object)";
		return -EINVAL;
	}
	for (pat = colon + 1; pat < pe && is_space(*pat); pat++)
		;
	if (pat == pe) {
		*why = "empty pattern";
		return -EINVAL;
	}
	if (s->nr == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;

		r = realloc(s->rules, cap * sizeof(*r));
		if (!r)
			return -ENOMEM;
		s->rules = r;
		s->cap = cap;
	}
	r = &s->rules[s->nr];
	memset(r, 0, sizeof(*r));
	r->kind = kind;
	r->line = lineno;
	r->text = strings_keep(s, p, pe - p);
	r->pattern = strings_keep(s, pat, pe - pat);
	r->file = strings_keep(s, name, strlen(name));
	if (!r->text || !r->pattern || !r->file)
		return -ENOMEM;
	s->nr++;
	return 0;
}

int suppressions__load_buf(struct suppressions *s, const char *name, const char *buf,
			   char *err, size_t errlen)
{
	const char *p = buf, *eol, *b, *e, *why = NULL;
	size_t lineno = 0;
	int ret;

	if (!s || !name || !buf)
		return -EINVAL;
	while (*p) {
		eol = strchr(p, '\n');
		if (!eol)
			eol = p + strlen(p);
		lineno++;
		for (b = p; b < eol && is_space(*b); b++)
			;
		/* a comment: a line that starts with '#', or '#' after a blank */
		for (e = b; e < eol && !(*e == '#' && (e == b || is_space(e[-1]))); e++)
			;
		for (; e > b && is_space(e[-1]); e--)
			;
		if (b < e) {
			ret = line_parse(s, name, lineno, b, e, &why);
			if (ret == -EINVAL) {
				snprintf(err, errlen, "%s:%zu: %s: '%.*s'", name, lineno, why,
					 (int)(e - b > 80 ? 80 : e - b), b);
				return ret;
			}
			if (ret) {
				snprintf(err, errlen, "%s: %s", name, strerror(-ret));
				return ret;
			}
		}
		p = *eol ? eol + 1 : eol;
	}
	return 0;
}

int suppressions__load_file(struct suppressions *s, const char *path, char *err,
			    size_t errlen)
{
	char *buf = NULL;
	size_t len = 0, n;
	FILE *f;
	int ret = 0;

	if (!s || !path)
		return -EINVAL;
	f = fopen(path, "re");
	if (!f) {
		ret = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ret;
	}
	buf = malloc(SUPPRESS_FILE_MAX + 1);
	if (!buf) {
		ret = -ENOMEM;
		snprintf(err, errlen, "%s: %s", path, strerror(ENOMEM));
		goto out_close;
	}
	while ((n = fread(buf + len, 1, SUPPRESS_FILE_MAX + 1 - len, f)) > 0)
		len += n;
	if (ferror(f)) {
		ret = -EIO;
		snprintf(err, errlen, "%s: read error", path);
		goto out_free;
	}
	if (len > SUPPRESS_FILE_MAX) {
		ret = -EFBIG;
		snprintf(err, errlen, "%s: larger than %u MiB", path, SUPPRESS_FILE_MAX >> 20);
		goto out_free;
	}
	if (memchr(buf, '\0', len)) {
		ret = -EINVAL;
		snprintf(err, errlen, "%s: not a text file (NUL byte)", path);
		goto out_free;
	}
	buf[len] = '\0';
	ret = suppressions__load_buf(s, path, buf, err, errlen);
out_free:
	free(buf);
out_close:
	fclose(f);
	return ret;
}
