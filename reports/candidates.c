// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Why a race needed confirming, in words (candidates.h). */
#include <stdio.h>
#include "../analyzer/syncvis.h"
#include "candidates.h"

/* " (3 in libfoo.so, the first in foo_lock)" for code, " (at 0x...)" else. */
static void where(char *buf, size_t len, const struct report_model *m,
		  const struct finding_unseen *u)
{
	struct frame fr = { 0 };
	bool code = u->why == SYNCVIS_UNPROBED_CODE || u->why == SYNCVIS_WATCHED_ATOMIC;

	/* a sampling window has no address */
	if (u->why == SYNCVIS_SAMPLED) {
		if (len)
			buf[0] = '\0';
		return;
	}
	if (!code || !m->s || symbolizer__frame(m->s, u->pid, u->ts, u->addr, false, &fr) ||
	    !fr.module) {
		snprintf(buf, len, " (at 0x%llx)", (unsigned long long)u->addr);
		return;
	}
	if (u->count)
		snprintf(buf, len, " (%llu in %s, the first %s%s)", (unsigned long long)u->count,
			 path__basename(fr.module), fr.function ? "in " : "at +0x",
			 fr.function ? fr.function : "");
	else
		snprintf(buf, len, " (%s in %s)", fr.function ? fr.function : "code",
			 path__basename(fr.module));
	if (!fr.function && u->count) {
		/* no symbol: the offset in the module */
		snprintf(buf, len, " (%llu in %s, the first at +0x%llx)",
			 (unsigned long long)u->count, path__basename(fr.module),
			 (unsigned long long)fr.offset);
	}
}

void candidate__why(char *buf, size_t len, const struct report_model *m, const struct finding *f)
{
	char at[TRACE_PATH_LEN + 128];

	if (!len)
		return;
	buf[0] = '\0';
	if (f->unseen.why == SYNCVIS_VISIBLE)
		return;
	where(at, sizeof(at), m, &f->unseen);
	snprintf(buf, len, "pid %u: %s%s", f->unseen.pid,
		 syncvis_why__describe((enum syncvis_why)f->unseen.why), at);
}
