// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The watcher's learning across runs (--learn): the best words of a run
 * named so that they hold in the next, saved as watch specs
 * (watch_int.h).
 */
#include <errno.h>
#include <stdlib.h>
#include "watch_int.h"

/* Keeps spec among the WATCH_SPECS_MAX best learnt variables (by changes). */
static void learn_var(struct watcher *w, const char *spec, __u32 changes)
{
	struct learned_var *v = NULL;
	size_t i;

	for (i = 0; i < w->nr_vars && !v; i++)
		if (!strcmp(w->vars[i].spec, spec))
			v = &w->vars[i];	/* the same variable in another process */
	if (!v && w->nr_vars < WATCH_SPECS_MAX)
		v = &w->vars[w->nr_vars++];
	if (!v) {
		v = &w->vars[WATCH_SPECS_MAX - 1];	/* kept sorted: the worst */
		if (v->changes >= changes)
			return;
		v->changes = 0;
	}
	if (strcmp(v->spec, spec)) {
		snprintf(v->spec, sizeof(v->spec), "%s", spec);
		v->changes = 0;
	}
	if (changes > v->changes)
		v->changes = changes;
	/* insertion sort, best first: a handful of entries */
	for (i = v - w->vars; i > 0 && w->vars[i - 1].changes < w->vars[i].changes; i--) {
		struct learned_var t = w->vars[i];

		w->vars[i] = w->vars[i - 1];
		w->vars[i - 1] = t;
	}
}

void watch_harvest_private(struct watcher *w, const struct wproc *p)
{
	size_t *idx, n, named = 0;
	char spec[WATCH_SPEC_LEN];

	if (!w->opts.learn_path || !p->threaded)
		return;
	idx = malloc((candidates__count(w->cands) + 1) * sizeof(*idx));
	if (!idx)
		return;
	n = candidates__rank(w->cands, KEY_PRIVATE, p->pid, idx);
	/* the best ones only: each costs a walk of the symbol table */
	for (size_t i = 0; i < n && i < 64 && named < WATCH_SPECS_MAX; i++) {
		const struct candidate *c = candidates__get(w->cands, idx[i]);

		if (!watch_private_word_spec(p, c->key.b, spec, sizeof(spec)))
			continue;
		learn_var(w, spec, c->changes);
		named++;
	}
	free(idx);
}

/*
 * A path that names the same object in the next run: a file or
 * /dev/shm/NAME, not anonymous shared memory, memfd or SysV shm (their
 * maps paths are made up and end in " (deleted)"), nor a file removed.
 */
static bool stable_path(const char *path)
{
	static const char deleted[] = " (deleted)";
	size_t n = strlen(path), d = sizeof(deleted) - 1;

	if (path[0] != '/' || !strncmp(path, "/memfd:", 7) || !strncmp(path, "/SYSV", 5) ||
	    !strcmp(path, "/dev/zero"))
		return false;
	return n <= d || strcmp(path + n - d, deleted);
}

/* Appends spec to list[0..*nr) unless there already or full. */
static void add_spec(char (*list)[WATCH_SPEC_LEN], size_t *nr, const char *spec)
{
	for (size_t i = 0; i < *nr; i++)
		if (!strcmp(list[i], spec))
			return;
	if (*nr < WATCH_SPECS_MAX)
		snprintf(list[(*nr)++], WATCH_SPEC_LEN, "%s", spec);
}

int watcher__save_learned(struct watcher *w)
{
	char (*list)[WATCH_SPEC_LEN];
	const char *specs[WATCH_SPECS_MAX];
	size_t *idx, n, nr = 0;
	int err = 0;

	if (!w || w->opts.disabled || !w->opts.learn_path)
		return 0;
	list = calloc(WATCH_SPECS_MAX, sizeof(*list));
	/* room for the words the last diff below may add */
	idx = malloc((CANDIDATES_MAX + 1) * sizeof(*idx));
	if (!list || !idx) {
		err = -ENOMEM;
		goto out;
	}
	/*
	 * The last changes, made since the last tick: a short program's only
	 * ones may be there (the objects outlive it in our own mappings).
	 */
	snapshots__diff(w->snaps, w->cands);
	/* shared words first: other processes see them; lock words are not candidates */
	n = candidates__rank(w->cands, KEY_FILE, 0, idx);
	for (size_t i = 0; i < n && nr < WATCH_SPECS_MAX; i++) {
		const struct candidate *c = candidates__get(w->cands, idx[i]);
		const char *path = watch_object_path(w, c->key.a, c->key.b);
		char spec[WATCH_SPEC_LEN];
		int len;

		if (!path || !stable_path(path))
			continue;
		len = snprintf(spec, sizeof(spec), "%s+0x%llx:8", path, (unsigned long long)c->key.c);
		if (len > 0 && (size_t)len < sizeof(spec) && watch_spec__storable(spec))
			add_spec(list, &nr, spec);
	}
	/* then the globals threads changed, of processes still running too */
	for (struct wproc *p = w->procs; p; p = p->next)
		watch_harvest_private(w, p);
	for (size_t i = 0; i < w->nr_vars; i++)
		add_spec(list, &nr, w->vars[i].spec);
	/* what an earlier run learnt and this one did not see stays worth a look */
	for (size_t i = w->opts.nr_specs - w->opts.nr_learned; i < w->opts.nr_specs; i++)
		add_spec(list, &nr, w->opts.specs[i]);
	for (size_t i = 0; i < nr; i++) {
		specs[i] = list[i];
		if (w->opts.verbose)
			fprintf(stderr, "ipcrace: learn: %s\n", list[i]);
	}
	err = watch_spec__write_file(w->opts.learn_path, specs, nr);
out:
	if (err)
		fprintf(stderr, "ipcrace: learn: cannot write %s: %s\n", w->opts.learn_path,
			strerror(-err));
	free(list);
	free(idx);
	return err;
}
