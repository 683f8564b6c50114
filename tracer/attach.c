// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../analyzer/array.h"
#include "attach.h"
#include "cgroup.h"
#include "procfs.h"

#define SCAN_ROUNDS_MAX 16	/* rescans while processes keep appearing */

struct attach_set {
	int *roots;			/* -p, as thread-group ids */
	size_t nr_roots;
	bool has_cgroup;
	struct cgroup_target cg;
	int *pids;			/* adopted */
	size_t nr, cap;
	char what[128];
};

static int tgid_of(int pid)
{
	long tgid;

	return procfs__status_field(pid, "Tgid", &tgid) ? -1 : (int)tgid;
}

struct attach_set *attach_set__new(const struct attach_opts *opts)
{
	struct attach_set *a = calloc(1, sizeof(*a));
	int err = 0;

	if (!a)
		return NULL;
	if (opts->cgroup || opts->unit) {
		err = opts->unit ? cgroup__resolve_unit(opts->unit, &a->cg)
				 : cgroup__resolve(opts->cgroup, &a->cg);
		if (err)
			goto err_free;
		a->has_cgroup = true;
		snprintf(a->what, sizeof(a->what), "%s%.100s", opts->unit ? "unit " : "cgroup ",
			 opts->unit ? opts->unit : a->cg.rel);
	}
	a->roots = calloc(opts->nr_pids ? opts->nr_pids : 1, sizeof(*a->roots));
	if (!a->roots) {
		err = -ENOMEM;
		goto err_free;
	}
	for (size_t i = 0; i < opts->nr_pids; i++) {
		int tgid = tgid_of(opts->pids[i]);

		if (tgid <= 0) {
			fprintf(stderr, "ipcrace: no process with pid %d\n", opts->pids[i]);
			err = -ESRCH;
			goto err_free;
		}
		a->roots[a->nr_roots++] = tgid;
	}
	if (!a->has_cgroup)
		snprintf(a->what, sizeof(a->what), "pid %d%s", a->roots[0],
			 a->nr_roots > 1 ? " and others" : "");
	return a;

err_free:
	attach_set__free(a);
	errno = -err;
	return NULL;
}

void attach_set__free(struct attach_set *a)
{
	if (!a)
		return;
	free(a->roots);
	free(a->pids);
	free(a);
}

bool attach_set__has(const struct attach_set *a, int pid)
{
	for (size_t i = 0; i < a->nr; i++)
		if (a->pids[i] == pid)
			return true;
	return false;
}

bool attach_set__add(struct attach_set *a, int pid)
{
	if (attach_set__has(a, pid))
		return false;
	if (array__reserve(&a->pids, &a->cap, a->nr + 1, sizeof(*a->pids)))
		return true;	/* cannot remember it: adopt it anyway, once more at worst */
	a->pids[a->nr++] = pid;
	return true;
}

/* What the scope covers now: roots and descendants, or the cgroup's processes. */
static int covered(const struct attach_set *a, int **pids, size_t *nr)
{
	if (a->has_cgroup)
		return cgroup__procs(&a->cg, pids, nr);
	return procfs__descendants(a->roots, a->nr_roots, pids, nr);
}

/* One line on why the scope includes ipcrace (pid is ipcrace or its guardian). */
static void refuse_self(const struct attach_set *a, int pid, bool guardian)
{
	const char *who = guardian ? "ipcrace's guardian" : "ipcrace itself";

	if (a->has_cgroup) {
		fprintf(stderr, "ipcrace: %s holds %s (pid %d): refusing to trace ipcrace\n",
			a->what, who, pid);
		return;
	}
	for (size_t i = 0; i < a->nr_roots; i++)
		if (a->roots[i] == pid) {
			fprintf(stderr, "ipcrace: pid %d is %s: refusing to trace ipcrace\n", pid,
				who);
			return;
		}
	fprintf(stderr, "ipcrace: %s covers %s (pid %d) as a descendant: refusing to trace "
		"ipcrace (attach to a process below it)\n", a->what, who, pid);
}

int attach_set__scan(struct attach_set *a, int self, int guardian, attach_adopt_fn fn, void *ctx)
{
	int adopted = 0, err = 0;

	for (int round = 0; round < SCAN_ROUNDS_MAX && !err; round++) {
		int *pids;
		size_t nr, fresh = 0;

		err = covered(a, &pids, &nr);
		if (err)
			break;
		/* refused before anything is adopted; later (a cgroup ipcrace
		 * was moved into) it is simply left out */
		for (int who = 0; who < 2 && !a->nr && !adopted; who++)
			for (size_t i = 0; i < nr; i++)
				if (pids[i] == (who ? guardian : self)) {
					refuse_self(a, pids[i], who);
					free(pids);
					return -ELOOP;
				}
		for (size_t i = 0; i < nr && !err; i++) {
			int ppid;

			if (pids[i] == self || pids[i] == guardian || attach_set__has(a, pids[i]))
				continue;
			ppid = procfs__ppid(pids[i]);
			if (!attach_set__has(a, ppid))
				ppid = 0;
			attach_set__add(a, pids[i]);
			err = fn(ctx, pids[i], ppid);
			fresh++;
			adopted++;
		}
		free(pids);
		if (!fresh)
			break;
	}
	return err ? err : adopted;
}

size_t attach_set__nr(const struct attach_set *a)
{
	return a ? a->nr : 0;
}

int attach_set__pid(const struct attach_set *a, size_t i)
{
	return a->pids[i];
}

__u64 attach_set__cgroup_id(const struct attach_set *a)
{
	return a && a->has_cgroup ? a->cg.id : 0;
}

const char *attach_set__describe(const struct attach_set *a)
{
	return a->what;
}
