/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Internal to reports/: what a data race candidate (FINDING_CANDIDATE) or
 * a confirmed race says about the synchronization ipcrace could not see
 * (analyzer/syncvis.h), in words every format shares.
 */
#ifndef IPCRACE_REPORT_CANDIDATES_H
#define IPCRACE_REPORT_CANDIDATES_H

#include <stddef.h>
#include "model.h"

/* The sentence of a confirmed race (the words). */
#define CANDIDATE_CONFIRMED_TEXT "confirmed: a conflicting access happened while the first was held"

/*
 * Why the race needed confirming, raw (unescaped), one line: "pid 41: atomic
 * instructions in code the access probes do not cover (3 in libfoo.so, the
 * first in foo_lock)". Empty when f has no unseen reason.
 */
void candidate__why(char *buf, size_t len, const struct report_model *m, const struct finding *f);

#endif /* IPCRACE_REPORT_CANDIDATES_H */
