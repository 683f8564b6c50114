// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "escape.h"

/*
 * Length of the well-formed UTF-8 sequence at s (at most n bytes), with its
 * code point; 0 if the bytes are not one (overlong, surrogate, truncated).
 */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp)
{
	size_t len, i;
	uint32_t c, min;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	} else if ((s[0] & 0xe0) == 0xc0) {
		len = 2, c = s[0] & 0x1f, min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3, c = s[0] & 0x0f, min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4, c = s[0] & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/*
 * Code points that change how a terminal or an editor shows what follows:
 * C0/C1 controls, DEL, and the bidi embedding/override/isolate marks
 * ("trojan source").
 */
static bool cp_is_unsafe(uint32_t c)
{
	return c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f) ||
	       c == 0x200e || c == 0x200f ||
	       (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069);
}

static size_t bounded_len(const char *s, size_t maxlen)
{
	return s ? strnlen(s, maxlen) : 0;
}

/* Calls emit for each output piece; shared by the FILE and buffer forms. */
typedef void (*emit_fn)(void *ctx, const char *p, size_t n);

static void escape_text_emit(const char *s, size_t maxlen, emit_fn emit, void *ctx)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = bounded_len(s, maxlen), i = 0, len, k;
	char tmp[8];
	uint32_t cp;

	while (i < n) {
		len = utf8_decode(p + i, n - i, &cp);
		if (len && !cp_is_unsafe(cp) && cp != '\\') {
			emit(ctx, (const char *)p + i, len);
			i += len;
			continue;
		}
		if (len == 1 && cp == '\\') {
			emit(ctx, "\\\\", 2);
		} else if (len == 1 && cp == '\n') {
			emit(ctx, "\\n", 2);
		} else if (len == 1 && cp == '\t') {
			emit(ctx, "\\t", 2);
		} else {
			/* every byte of an unsafe or malformed sequence */
			if (!len)
				len = 1;
			for (k = 0; k < len; k++) {
				snprintf(tmp, sizeof(tmp), "\\x%02x", p[i + k]);
				emit(ctx, tmp, 4);
			}
		}
		i += len;
	}
}

struct file_ctx {
	FILE *out;
	bool err;
};

static void emit_file(void *ctx, const char *p, size_t n)
{
	struct file_ctx *f = ctx;

	if (fwrite(p, 1, n, f->out) != n)
		f->err = true;
}

int escape__text(FILE *out, const char *s, size_t maxlen)
{
	struct file_ctx f = { .out = out };

	escape_text_emit(s, maxlen, emit_file, &f);
	return f.err ? -EIO : 0;
}

struct buf_ctx {
	char *buf;
	size_t len;
	size_t used;
};

static void emit_buf(void *ctx, const char *p, size_t n)
{
	struct buf_ctx *b = ctx;

	/* never cut an escape in half: drop the whole piece if it won't fit */
	if (b->used + n >= b->len)
		return;
	memcpy(b->buf + b->used, p, n);
	b->used += n;
	b->buf[b->used] = '\0';
}

char *escape__text_buf(char *buf, size_t len, const char *s, size_t maxlen)
{
	struct buf_ctx b = { .buf = buf, .len = len };

	if (!len)
		return buf;
	buf[0] = '\0';
	escape_text_emit(s, maxlen, emit_buf, &b);
	return buf;
}

int escape__json(FILE *out, const char *s, size_t maxlen)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = bounded_len(s, maxlen), i = 0, len;
	uint32_t cp;
	int err = 0;

	if (fputc('"', out) == EOF)
		return -EIO;
	while (i < n && !err) {
		len = utf8_decode(p + i, n - i, &cp);
		if (!len) {
			if (fprintf(out, "\\\\x%02x", p[i]) < 0)
				err = -EIO;
			i++;
			continue;
		}
		if (cp == '"' || cp == '\\') {
			if (fprintf(out, "\\%c", (int)cp) < 0)
				err = -EIO;
		} else if (cp == '\n') {
			if (fputs("\\n", out) == EOF)
				err = -EIO;
		} else if (cp == '\t') {
			if (fputs("\\t", out) == EOF)
				err = -EIO;
		} else if (cp_is_unsafe(cp)) {
			if (fprintf(out, "\\u%04x", (unsigned int)cp) < 0)
				err = -EIO;
		} else if (fwrite(p + i, 1, len, out) != len) {
			err = -EIO;
		}
		i += len;
	}
	if (!err && fputc('"', out) == EOF)
		err = -EIO;
	return err;
}
