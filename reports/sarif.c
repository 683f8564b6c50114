// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The SARIF 2.1.0 report, for code scanning (GitHub and other SARIF
 * viewers): one rule per finding kind, one result per finding, located at
 * the first frame of each stack that has a source line (the user's code,
 * past libc), the other side of the finding as related locations, lock
 * cycles as code flows, and a fingerprint that survives rebuilds and ASLR.
 *
 * Absolute source paths become file:// URIs; upload-sarif's checkout_path
 * makes them relative to the repository. Relative ones keep %SRCROOT%.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "json_writer.h"
#include "objname.h"
#include "candidates.h"
#include "model.h"

#define SARIF_SCHEMA "https://json.schemastore.org/sarif-2.1.0.json"
#define SARIF_URI_LEN (TRACE_PATH_LEN * 3 + 16)
#define SARIF_FINGERPRINT_KEY "ipcraceFingerprint/v1"
#define SARIF_MAX_SITES (2 * 64)

/* A stack's frame to show: the first with a source line, else the top one. */
struct sarif_site {
	bool has_frame;
	struct frame fr;
};

struct sarif_ctx {
	struct json_writer *w;
	const struct trace *t;
	const struct report_model *m;
	struct sarif_site *sites;	/* SARIF_MAX_SITES, one finding's */
};

struct sarif_rule {
	const char *name;		/* PascalCase, SARIF's reportingDescriptor.name */
	const char *short_text;
	const char *full_text;
	const char *level;		/* "error" or "warning" */
};

/*
 * Describes finding kind k; false past the last kind. Kinds are numbered
 * from 0 without gaps, so the caller enumerates them until false, and the
 * switch (no default, -Wswitch-enum) makes a new kind impossible to miss.
 */
static bool sarif_rule_of(int k, struct sarif_rule *r)
{
	switch ((enum finding_kind)k) {
	case FINDING_DATA_RACE:
		*r = (struct sarif_rule){
			"DataRace", "Data race on shared memory",
			"Two threads, in one process or in two processes sharing memory, accessed "
			"the same word without happens-before order, at least one of them writing.",
			"error" };
		return true;
	case FINDING_LOCK_ORDER_INVERSION:
		*r = (struct sarif_rule){
			"LockOrderInversion", "Lock-order inversion (potential deadlock)",
			"Locks were acquired in orders that form a cycle: threads taking them "
			"concurrently can deadlock, even if this run did not.",
			"error" };
		return true;
	case FINDING_DOUBLE_LOCK:
		*r = (struct sarif_rule){
			"DoubleLock", "Double lock of a non-recursive lock",
			"A thread locked a non-recursive lock it already held.", "warning" };
		return true;
	case FINDING_UNLOCK_NOT_HELD:
		*r = (struct sarif_rule){
			"UnlockNotHeld", "Unlock of a lock not held",
			"A thread released a lock that it did not hold.", "warning" };
		return true;
	case FINDING_LOCK_HELD_AT_EXIT:
		*r = (struct sarif_rule){
			"LockHeldAtExit", "Lock held when its process exited",
			"A process exited holding a lock that other processes can still wait for.",
			"warning" };
		return true;
	}
	return false;
}

/* --- locations ---------------------------------------------------------------- */

/* Percent-encodes a path for a URI: unreserved characters and '/' pass. */
static void sarif_uri(char *buf, size_t len, const char *path)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;
	const unsigned char *p;

	if (path[0] == '/')
		n = snprintf(buf, len, "file://");
	for (p = (const unsigned char *)path; *p && n + 4 < len; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("-._~/", *p)) {
			buf[n++] = *p;
		} else {
			buf[n++] = '%';
			buf[n++] = hex[*p >> 4];
			buf[n++] = hex[*p & 0xf];
		}
	}
	buf[n] = '\0';
}

/* The frame of stack i of b to show: in the target's own code (the model's choice). */
static void sarif_site_of(struct sarif_site *site, const struct report_bug *b, size_t i)
{
	const struct frame *fr = i < b->nr_stacks ? report_stack__own_frame(&b->stacks[i]) : NULL;

	site->has_frame = fr != NULL;
	if (fr)
		site->fr = *fr;
}

static void sarif_message(struct json_writer *w, const char *text)
{
	json_writer__name(w, "message");
	json_writer__start_object(w);
	json_writer__kv_string(w, "text", text);
	json_writer__end_object(w);
}

/*
 * The fields of a SARIF location object for site (the braces are the
 * caller's). variable: the global the code touched ("counters.hits"), or
 * NULL; a logical location beside the function's.
 */
static void sarif_location_fields_var(struct sarif_ctx *c, const struct sarif_site *site,
				      const char *message, const char *variable)
{
	const struct frame *fr = &site->fr;
	struct json_writer *w = c->w;
	const char *path = NULL;
	char uri[SARIF_URI_LEN];

	if (site->has_frame)
		path = fr->file ? fr->file : fr->module;
	if (path && path[0]) {
		json_writer__name(w, "physicalLocation");
		json_writer__start_object(w);
		json_writer__name(w, "artifactLocation");
		json_writer__start_object(w);
		sarif_uri(uri, sizeof(uri), path);
		json_writer__kv_string(w, "uri", uri);
		if (path[0] != '/')
			json_writer__kv_string(w, "uriBaseId", "%SRCROOT%");
		json_writer__end_object(w);
		if (fr->file && fr->line > 0) {
			json_writer__name(w, "region");
			json_writer__start_object(w);
			json_writer__kv_int(w, "startLine", fr->line);
			if (fr->column > 0)
				json_writer__kv_int(w, "startColumn", fr->column);
			json_writer__end_object(w);
		} else if (!fr->file) {
			/* a binary without line information: where in it */
			json_writer__name(w, "address");
			json_writer__start_object(w);
			json_writer__kv_uint(w, "relativeAddress", fr->offset);
			json_writer__end_object(w);
		}
		json_writer__end_object(w);
	}
	if ((site->has_frame && fr->function) || variable) {
		json_writer__name(w, "logicalLocations");
		json_writer__start_array(w);
		if (site->has_frame && fr->function) {
			json_writer__start_object(w);
			json_writer__kv_string(w, "name", fr->function);
			json_writer__kv_string(w, "kind", "function");
			json_writer__end_object(w);
		}
		if (variable) {
			json_writer__start_object(w);
			json_writer__kv_string(w, "name", variable);
			json_writer__kv_string(w, "fullyQualifiedName", variable);
			json_writer__kv_string(w, "kind", "variable");
			json_writer__end_object(w);
		}
		json_writer__end_array(w);
	}
	if (message)
		sarif_message(w, message);
}

static void sarif_location_fields(struct sarif_ctx *c, const struct sarif_site *site,
				  const char *message)
{
	sarif_location_fields_var(c, site, message, NULL);
}

/* "write by thread T11 (pid 11, comm 'worker')": raw, the writer escapes it */
static void sarif_who(char *buf, size_t len, const char *what, const struct finding_access *a)
{
	char comm[IPCRACE_COMM_LEN + 1];

	memcpy(comm, a->comm, IPCRACE_COMM_LEN);
	comm[IPCRACE_COMM_LEN] = '\0';
	snprintf(buf, len, "%s by thread T%u (pid %u, comm '%s')", what, a->tid, a->pid, comm);
}

/* --- fingerprints ---------------------------------------------------------------- */

static __u64 fnv1a(__u64 h, const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static int str_ptr_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/*
 * kind + the functions of the sites (module+offset where unnamed), sorted
 * so that which side came first in this run does not matter. No pids, no
 * addresses, no line numbers: the same bug keeps its fingerprint across
 * runs and unrelated edits.
 */
static void sarif_fingerprint(char *out, size_t len, enum finding_kind kind,
			      const struct sarif_site *sites, size_t nr)
{
	char names[SARIF_MAX_SITES][TRACE_PATH_LEN + 32];
	const char *sorted[SARIF_MAX_SITES];
	const char *kind_name = finding_kind__name(kind);
	__u64 h = 0xcbf29ce484222325ull;
	size_t i;

	if (nr > SARIF_MAX_SITES)
		nr = SARIF_MAX_SITES;
	for (i = 0; i < nr; i++) {
		const struct frame *fr = &sites[i].fr;

		if (!sites[i].has_frame)
			snprintf(names[i], sizeof(names[i]), "?");
		else if (fr->function)
			snprintf(names[i], sizeof(names[i]), "%s", fr->function);
		else
			snprintf(names[i], sizeof(names[i]), "%s+0x%llx",
				 fr->module ? path__basename(fr->module) : "?",
				 (unsigned long long)(fr->module ? fr->offset : fr->ip));
		sorted[i] = names[i];
	}
	qsort(sorted, nr, sizeof(sorted[0]), str_ptr_cmp);
	h = fnv1a(h, kind_name, strlen(kind_name) + 1);
	for (i = 0; i < nr; i++)
		h = fnv1a(h, sorted[i], strlen(sorted[i]) + 1);
	snprintf(out, len, "%016llx", (unsigned long long)h);
}

/* --- results ---------------------------------------------------------------------- */

static void sarif_related(struct sarif_ctx *c, int id, const struct sarif_site *site,
			  const char *message)
{
	json_writer__start_object(c->w);
	json_writer__kv_int(c->w, "id", id);
	sarif_location_fields(c, site, message);
	json_writer__end_object(c->w);
}

/* A thread-flow step: {"location": {...}} */
static void sarif_flow_step(struct sarif_ctx *c, const struct sarif_site *site, const char *message)
{
	json_writer__start_object(c->w);
	json_writer__name(c->w, "location");
	json_writer__start_object(c->w);
	sarif_location_fields(c, site, message);
	json_writer__end_object(c->w);
	json_writer__end_object(c->w);
}

/*
 * Lock-order inversion: the first edge's request is the location; every
 * edge's request and the acquisition of the lock it held are related
 * locations, and each edge is a thread flow (held acquired, then the other
 * requested).
 */
static void sarif_cycle_parts(struct sarif_ctx *c, const struct report_bug *b,
			      struct sarif_site *sites, size_t *nr_sites)
{
	const struct finding *f = b->f;
	struct json_writer *w = c->w;
	char msg[2 * OBJNAME_LEN + 192], lock[OBJNAME_LEN], held[OBJNAME_LEN];
	size_t i, nr = f->nr_cycle < SARIF_MAX_SITES / 2 ? f->nr_cycle : SARIF_MAX_SITES / 2;

	for (i = 0; i < nr; i++) {
		sarif_site_of(&sites[2 * i], b, 2 * i);
		sarif_site_of(&sites[2 * i + 1], b, 2 * i + 1);
	}
	*nr_sites = 2 * nr;

	json_writer__name(w, "locations");
	json_writer__start_array(w);
	if (nr) {
		json_writer__start_object(w);
		sarif_location_fields(c, &sites[0], NULL);
		json_writer__end_object(w);
	}
	json_writer__end_array(w);

	json_writer__name(w, "relatedLocations");
	json_writer__start_array(w);
	for (i = 0; i < nr; i++) {
		const struct finding_edge *e = &f->cycle[i];
		char who[128];

		objname__format(lock, sizeof(lock), c->t, &e->lock);
		objname__format(held, sizeof(held), c->t, &e->held);
		sarif_who(who, sizeof(who), "requested", &e->who);
		snprintf(msg, sizeof(msg), "%s %s while holding %s", lock, who, held);
		sarif_related(c, (int)(2 * i + 1), &sites[2 * i], msg);
		snprintf(msg, sizeof(msg), "%s acquired here earlier by the same thread", held);
		sarif_related(c, (int)(2 * i + 2), &sites[2 * i + 1], msg);
	}
	json_writer__end_array(w);

	json_writer__name(w, "codeFlows");
	json_writer__start_array(w);
	json_writer__start_object(w);
	json_writer__name(w, "threadFlows");
	json_writer__start_array(w);
	for (i = 0; i < nr; i++) {
		const struct finding_edge *e = &f->cycle[i];

		json_writer__start_object(w);
		json_writer__name(w, "locations");
		json_writer__start_array(w);
		objname__format(held, sizeof(held), c->t, &e->held);
		snprintf(msg, sizeof(msg), "acquires %s", held);
		sarif_flow_step(c, &sites[2 * i + 1], msg);
		objname__format(lock, sizeof(lock), c->t, &e->lock);
		snprintf(msg, sizeof(msg), "requests %s", lock);
		sarif_flow_step(c, &sites[2 * i], msg);
		json_writer__end_array(w);
		json_writer__end_object(w);
	}
	json_writer__end_array(w);
	json_writer__end_object(w);
	json_writer__end_array(w);
}

/* Races and misuse: the later access is the location, the earlier one related. */
static void sarif_access_parts(struct sarif_ctx *c, const struct report_bug *b,
			       struct sarif_site *sites, size_t *nr_sites)
{
	const struct finding_access *cur = b->cur, *prev = b->prev;
	struct json_writer *w = c->w;
	char msg[256], what[64];

	*nr_sites = 0;
	if (cur) {
		/* the result's location is what SUMMARY names */
		sites[*nr_sites].has_frame = b->has_summary;
		sites[*nr_sites].fr = b->summary;
		(*nr_sites)++;
	}
	if (prev)
		sarif_site_of(&sites[(*nr_sites)++], b, 1);

	json_writer__name(w, "locations");
	json_writer__start_array(w);
	if (cur) {
		json_writer__start_object(w);
		sarif_who(msg, sizeof(msg), access__op(cur), cur);
		sarif_location_fields_var(c, &sites[0], msg, b->has_var ? b->var.name : NULL);
		json_writer__end_object(w);
	}
	json_writer__end_array(w);
	json_writer__name(w, "relatedLocations");
	json_writer__start_array(w);
	if (prev) {
		snprintf(what, sizeof(what), "previous %s", access__op(prev));
		sarif_who(msg, sizeof(msg), what, prev);
		sarif_related(c, 1, &sites[1], msg);
	}
	json_writer__end_array(w);
}

static void sarif_result(struct sarif_ctx *c, const struct report_bug *b)
{
	const struct finding *f = b->f;
	struct sarif_site *sites = c->sites;
	struct json_writer *w = c->w;
	char summary[2048], fp[32];
	struct sarif_rule rule;
	size_t nr_sites = 0;

	if (!sarif_rule_of(f->kind, &rule))
		rule = (struct sarif_rule){ .level = "warning" };
	/* a candidate not confirmed is no finding: a note, with why */
	if (f->status == FINDING_CANDIDATE)
		rule.level = "note";
	finding__describe(summary, sizeof(summary), c->t, f);
	if (f->status != FINDING_PREDICTED) {
		char why[TRACE_PATH_LEN + 256];
		size_t n = strlen(summary);

		candidate__why(why, sizeof(why), c->m, f);
		snprintf(summary + n, sizeof(summary) - n, " (%s; %s)",
			 f->status == FINDING_CONFIRMED ? CANDIDATE_CONFIRMED_TEXT :
			 "candidate, not confirmed", why);
	}
	json_writer__start_object(w);
	json_writer__kv_string(w, "ruleId", finding_kind__name(f->kind));
	json_writer__kv_int(w, "ruleIndex", f->kind);
	json_writer__kv_string(w, "level", rule.level);
	sarif_message(w, summary);
	switch (f->kind) {
	case FINDING_LOCK_ORDER_INVERSION:
		sarif_cycle_parts(c, b, sites, &nr_sites);
		break;
	case FINDING_DATA_RACE:
	case FINDING_DOUBLE_LOCK:
	case FINDING_UNLOCK_NOT_HELD:
	case FINDING_LOCK_HELD_AT_EXIT:
		sarif_access_parts(c, b, sites, &nr_sites);
		break;
	}
	json_writer__name(w, "properties");
	json_writer__start_object(w);
	json_writer__kv_uint(w, "occurrences", b->occurrences);
	json_writer__kv_uint(w, "nr_objects", b->nr_objects);
	json_writer__kv_string(w, "suppression", b->suppression);
	json_writer__end_object(w);
	sarif_fingerprint(fp, sizeof(fp), f->kind, sites, nr_sites);
	json_writer__name(w, "partialFingerprints");
	json_writer__start_object(w);
	json_writer__kv_string(w, SARIF_FINGERPRINT_KEY, fp);
	json_writer__end_object(w);
	json_writer__end_object(w);
}

/* --- the document ------------------------------------------------------------------ */

static void sarif_driver(struct sarif_ctx *c)
{
	struct json_writer *w = c->w;
	struct sarif_rule r;
	int k;

	json_writer__name(w, "tool");
	json_writer__start_object(w);
	json_writer__name(w, "driver");
	json_writer__start_object(w);
	json_writer__kv_string(w, "name", "ipcrace");
	json_writer__kv_string(w, "version", IPCRACE_VERSION);
	json_writer__kv_string(w, "semanticVersion", IPCRACE_VERSION);
	json_writer__name(w, "rules");
	json_writer__start_array(w);
	/* rule k is at index k: results give it as ruleIndex */
	for (k = 0; sarif_rule_of(k, &r); k++) {
		json_writer__start_object(w);
		json_writer__kv_string(w, "id", finding_kind__name(k));
		json_writer__kv_string(w, "name", r.name);
		json_writer__name(w, "shortDescription");
		json_writer__start_object(w);
		json_writer__kv_string(w, "text", r.short_text);
		json_writer__end_object(w);
		json_writer__name(w, "fullDescription");
		json_writer__start_object(w);
		json_writer__kv_string(w, "text", r.full_text);
		json_writer__end_object(w);
		json_writer__name(w, "defaultConfiguration");
		json_writer__start_object(w);
		json_writer__kv_string(w, "level", r.level);
		json_writer__end_object(w);
		json_writer__name(w, "properties");
		json_writer__start_object(w);
		json_writer__name(w, "tags");
		json_writer__start_array(w);
		json_writer__string(w, "concurrency");
		json_writer__string(w, "reliability");
		json_writer__end_array(w);
		json_writer__end_object(w);
		json_writer__end_object(w);
	}
	json_writer__end_array(w);
	json_writer__end_object(w);
	json_writer__end_object(w);
}

/* One invocation; an incomplete trace is said there, as a warning. */
static void sarif_invocation(struct sarif_ctx *c)
{
	const struct report_stats *st = &c->m->stats;
	struct json_writer *w = c->w;
	char msg[600];

	json_writer__name(w, "invocations");
	json_writer__start_array(w);
	json_writer__start_object(w);
	json_writer__kv_bool(w, "executionSuccessful", true);
	json_writer__name(w, "toolExecutionNotifications");
	json_writer__start_array(w);
	if (st->incomplete) {
		snprintf(msg, sizeof(msg), "INCOMPLETE trace: %s", st->missing);
		json_writer__start_object(w);
		json_writer__kv_string(w, "level", "warning");
		sarif_message(w, msg);
		json_writer__end_object(w);
	}
	json_writer__end_array(w);
	json_writer__name(w, "properties");
	json_writer__start_object(w);
	json_writer__name(w, "command");
	json_writer__string_n(w, c->t->header.cmdline, sizeof(c->t->header.cmdline));
	json_writer__kv_uint(w, "processes", st->processes);
	json_writer__kv_uint(w, "threads", st->threads);
	json_writer__kv_uint(w, "events", st->events);
	json_writer__kv_uint(w, "lost_events", st->lost_events);
	json_writer__kv_uint(w, "findings", c->m->nr_findings);
	json_writer__kv_uint(w, "suppressed", c->m->nr_suppressed);
	json_writer__end_object(w);
	json_writer__end_object(w);
	json_writer__end_array(w);
}

int sarif_report__write(FILE *out, const struct report_model *m,
			const struct report_opts *opts)
{
	struct sarif_ctx c = { .t = m->t, .m = m };
	size_t i;
	int err;

	(void)opts;
	c.sites = calloc(SARIF_MAX_SITES, sizeof(*c.sites));
	if (!c.sites)
		return -ENOMEM;
	c.w = json_writer__new(out, true);
	if (!c.w) {
		err = -errno;
		goto out_free;
	}
	json_writer__start_object(c.w);
	json_writer__kv_string(c.w, "version", "2.1.0");
	json_writer__kv_string(c.w, "$schema", SARIF_SCHEMA);
	json_writer__name(c.w, "runs");
	json_writer__start_array(c.w);
	json_writer__start_object(c.w);
	sarif_driver(&c);
	sarif_invocation(&c);
	json_writer__name(c.w, "results");
	json_writer__start_array(c.w);
	for (i = 0; i < m->nr_bugs; i++)
		sarif_result(&c, &m->bugs[i]);
	for (i = 0; i < m->nr_candidates; i++)
		sarif_result(&c, &m->candidates[i]);
	json_writer__end_array(c.w);
	json_writer__end_object(c.w);
	json_writer__end_array(c.w);
	json_writer__end_object(c.w);

	err = json_writer__free(c.w);
	if (!err && (fflush(out) || ferror(out)))
		err = -EIO;
out_free:
	free(c.sites);
	return err;
}
