/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The report model (TSan's report path): built once from the analyzer's
 * findings, then printed by every format. Building it symbolizes every
 * stack, names the objects, applies the suppressions and groups findings
 * into bugs: one bug per kind and pair of code locations (a race's two
 * access sites, the edge sites of a lock cycle, a misuse's sites), with how
 * many occurrences and objects it covers. Printers read the model and
 * derive nothing.
 */
#ifndef IPCRACE_MODEL_H
#define IPCRACE_MODEL_H

#include "render.h"
#include "suppress.h"

#define REPORT_MAX_OBJECTS 4		/* objects named per bug */
#define REPORT_SUPPRESSION_LEN (TRACE_PATH_LEN + 160)

struct report_stack {
	struct frame *frames;		/* innermost first; strings owned by the symbolizer */
	size_t nr;
};

/* A finding that stands for all the occurrences of one bug. */
struct report_bug {
	const struct finding *f;	/* the first occurrence */
	/* races and misuse: the later access and the other one (NULL if none) */
	const struct finding_access *cur, *prev;
	/*
	 * Races and misuse: stacks[0] cur's, stacks[1] prev's. Lock-order
	 * inversions: stacks[2i] where edge i was requested, stacks[2i+1]
	 * where its held lock had been acquired.
	 */
	struct report_stack *stacks;
	size_t nr_stacks;
	size_t occurrences;		/* findings grouped into this bug */
	/* the distinct objects (words, locks) among them, first seen first;
	 * printers name the first REPORT_MAX_OBJECTS */
	struct finding_object *objects;
	size_t nr_objects;
	size_t cap_objects;
	/*
	 * The first frame in the target's own code (not libc, the dynamic
	 * loader or libpthread), else the top frame: what SUMMARY and SARIF
	 * name. has_summary false when no stack was recorded.
	 */
	bool has_summary;
	struct frame summary;
	char suppression[REPORT_SUPPRESSION_LEN];	/* the rule that would silence it */
	bool has_var;			/* data races: the global the word lies in */
	struct data_sym var;
};

struct report_model {
	const struct trace *t;
	struct symbolizer *s;		/* owned; NULL when it could not be made */
	struct report_stats stats;
	struct report_bug *bugs;	/* in order of first occurrence */
	size_t nr_bugs;
	/*
	 * Data races not confirmed in processes whose synchronization
	 * ipcrace cannot all see (FINDING_CANDIDATE, analyzer/syncvis.h):
	 * grouped like bugs, listed apart, never counted in the exit status.
	 */
	struct report_bug *candidates;
	size_t nr_candidates;
	size_t nr_findings;		/* as the analyzer gave them, candidates not counted */
	size_t nr_suppressed;		/* findings silenced by a rule */
	const struct suppressions *suppressions;	/* with hit counts, may be NULL */
};

/*
 * Builds the model of fs over t, applying supp (may be NULL; its rules'
 * hit counts are updated). t, fs and supp must outlive the model. NULL +
 * errno on error.
 */
struct report_model *report_model__new(const struct trace *t, const struct findings *fs,
				       struct suppressions *supp);
/* A symbolizer for t with IPCRACE_DEBUG_DIR applied. NULL + errno. */
struct symbolizer *report_model__symbolizer(const struct trace *t);

/* The same with symbolizer s (owned by the model from now on, may be NULL). */
struct report_model *report_model__new_with(const struct trace *t, const struct findings *fs,
					    struct suppressions *supp, struct symbolizer *s);
void report_model__free(struct report_model *m);

/* Writes m in opts->format. 0 or a negative errno. */
int report_model__write(FILE *out, const struct report_model *m,
			const struct report_opts *opts);

/* Is module (a path) the C runtime: libc, the dynamic loader, libpthread...? */
bool report__module_is_runtime(const char *module);

/* The first frame of st in the target's own code, else its top one; NULL if empty. */
const struct frame *report_stack__own_frame(const struct report_stack *st);

int text_report__write(FILE *out, const struct report_model *m,
		       const struct report_opts *opts);
int json_report__write(FILE *out, const struct report_model *m,
		       const struct report_opts *opts);
int sarif_report__write(FILE *out, const struct report_model *m,
			const struct report_opts *opts);
int perfetto_report__write(FILE *out, const struct report_model *m,
			   const struct report_opts *opts);

#endif /* IPCRACE_MODEL_H */
