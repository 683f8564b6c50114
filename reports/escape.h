/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Escaping of strings that come from traced programs (comm, paths, symbol
 * names): a process can name itself "\e]0;pwned\a" and the report must not
 * hand that to the terminal, nor break a JSON document.
 */
#ifndef IPCRACE_ESCAPE_H
#define IPCRACE_ESCAPE_H

#include <stddef.h>
#include <stdio.h>

/*
 * Writes at most maxlen bytes of s (stopping at a NUL) for a terminal.
 * Printable ASCII and well-formed UTF-8 pass; control characters, DEL,
 * C1 controls, bidi overrides, malformed bytes and the backslash itself
 * become \n, \t, \\ or \xNN. Returns 0 or -EIO.
 */
int escape__text(FILE *out, const char *s, size_t maxlen);

/*
 * Writes s as a quoted JSON string (the quotes included). The output is
 * valid UTF-8 with no raw control characters: controls, C1 and bidi
 * characters as \uXXXX; malformed bytes as the six characters \\xNN
 * (an escaped backslash followed by xNN), so no information is lost.
 */
int escape__json(FILE *out, const char *s, size_t maxlen);

/* escape__text into a buffer, always NUL-terminated, cut if too small. */
char *escape__text_buf(char *buf, size_t len, const char *s, size_t maxlen);

#endif /* IPCRACE_ESCAPE_H */
