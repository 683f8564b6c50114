/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Suppressions: rules that silence findings a team has accepted, in the
 * format of ThreadSanitizer's suppressions file, one rule a line:
 *
 *   # a comment; blank lines are ignored
 *   race:PATTERN             data races
 *   deadlock:PATTERN         lock-order inversions
 *   mutex:PATTERN            lock misuse (double lock, unlock not held,
 *                            lock held at exit)
 *   called_from_lib:LIB      any finding with a frame in module LIB
 *   data_race: lock_order_inversion: double_lock: unlock_not_held:
 *   lock_held_at_exit:       ipcrace's own kinds, one per finding kind
 *                            ("-" may stand for "_": double-lock:)
 *   object:PATTERN           any finding about an object whose name matches
 *                            (object:/dev/shm/PostgreSQL.*)
 *
 * A kind's PATTERN is matched against the function, source file and module
 * of every frame of every stack of the finding; called_from_lib only against
 * modules; object only against the names of the objects. PATTERN as in TSan:
 * '*' matches any run of characters, a leading '^' anchors it at the start
 * and a trailing '$' at the end; otherwise it may match anywhere inside.
 */
#ifndef IPCRACE_SUPPRESS_H
#define IPCRACE_SUPPRESS_H

#include <stdbool.h>
#include <stddef.h>
#include "../analyzer/findings.h"

/* What a rule applies to. */
enum suppress_kind {
	SUPPRESS_RACE,			/* race:, data_race: */
	SUPPRESS_DEADLOCK,		/* deadlock:, lock_order_inversion: */
	SUPPRESS_MUTEX,			/* mutex: every lock misuse */
	SUPPRESS_DOUBLE_LOCK,
	SUPPRESS_UNLOCK_NOT_HELD,
	SUPPRESS_LOCK_HELD_AT_EXIT,
	SUPPRESS_CALLED_FROM_LIB,	/* any finding, modules only */
	SUPPRESS_OBJECT,		/* any finding, object names only */
};

struct suppress_rule {
	enum suppress_kind kind;
	const char *text;		/* the line as written, trimmed: "race:bump" */
	const char *pattern;		/* after the colon */
	const char *file;		/* the file it came from */
	size_t line;			/* 1-based */
	size_t hits;			/* findings it silenced */
};

/* A frame as a rule sees it: any of the three may be NULL. */
struct suppress_frame {
	const char *function;
	const char *file;
	const char *module;
};

/* One finding as a rule sees it. */
struct suppress_subject {
	enum finding_kind kind;
	const struct suppress_frame *frames;	/* every frame of every stack */
	size_t nr_frames;
	const char *const *objects;		/* the names of its objects */
	size_t nr_objects;
};

struct suppressions;

/* An empty set. NULL + errno on error. */
struct suppressions *suppressions__new(void);
void suppressions__free(struct suppressions *s);

/*
 * Adds the rules of file path. A malformed line gives -EINVAL and, in err,
 * "PATH:LINE: reason"; a file that cannot be read gives its -errno and
 * "PATH: reason". Rules read before the error stay.
 */
int suppressions__load_file(struct suppressions *s, const char *path, char *err,
			    size_t errlen);

/* Adds the rules of buf (lines); name stands for the file in messages. */
int suppressions__load_buf(struct suppressions *s, const char *name, const char *buf,
			   char *err, size_t errlen);

/*
 * The first rule that silences subj, its hit count incremented; NULL when
 * none does. s may be NULL (no rules).
 */
const struct suppress_rule *suppressions__match(struct suppressions *s,
						const struct suppress_subject *subj);

size_t suppressions__nr_rules(const struct suppressions *s);
const struct suppress_rule *suppressions__rule(const struct suppressions *s, size_t i);

/*
 * TSan's template match: '*' any run, '^' at the start and '$' at the end
 * anchor; unanchored, pattern may match anywhere in str.
 */
bool suppress__pattern_match(const char *pattern, const char *str);

/* The rule kind a finding kind is silenced by in printed suppressions. */
const char *suppress__kind_name_for(enum finding_kind k);

#endif /* IPCRACE_SUPPRESS_H */
