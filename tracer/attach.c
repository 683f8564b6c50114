// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "attach.h"
#include "pidset.h"
#include "procfs.h"

#define SCAN_ROUNDS_MAX 16	/* rescans while processes keep appearing */

struct attach_set {
	int *roots;			/* -p, as thread-group ids */
	size_t nr_roots;
	bool has_cgroup;
	struct pidset_cgroup cg;
	struct pidset adopted;
	char what[128];
};

static int tgid_of(int pid)
{
	long tgid;

	return procfs__status_field(pid, "Tgid", &tgid) ? -1 : (int)tgid;
}

/* One line on a cgroup or unit that does not resolve. */
static void report_scope_error(const struct attach_opts *opts, int err)
{
	const char *flag = opts->unit ? "--unit" : "--cgroup";
	const char *arg = opts->unit ? opts->unit : opts->cgroup;

	switch (err) {
	case -ENODEV:
		fprintf(stderr, "ipcrace: %s %s: no cgroup2 hierarchy is mounted\n", flag, arg);
		break;
	case -ENOENT:
		if (opts->unit)
			fprintf(stderr, "ipcrace: --unit %s: no cgroup for it (is it running?)\n",
				arg);
		else
			fprintf(stderr, "ipcrace: --cgroup %s: no such cgroup\n", arg);
		break;
	case -ENOTDIR:
		fprintf(stderr, "ipcrace: %s %s: not a cgroup directory\n", flag, arg);
		break;
	case -EINVAL:
		fprintf(stderr, "ipcrace: --unit '%s': not a unit name\n", arg);
		break;
	default:
		fprintf(stderr, "ipcrace: %s %s: %s\n", flag, arg, strerror(-err));
	}
}

struct attach_set *attach_set__new(const struct attach_opts *opts)
{
	struct attach_set *a = calloc(1, sizeof(*a));
	int err = 0;

	if (!a)
		return NULL;
	if (opts->cgroup || opts->unit) {
		err = opts->unit ? pidset__resolve_unit(opts->unit, &a->cg)
				 : pidset__resolve_cgroup(opts->cgroup, &a->cg);
		if (err) {
			report_scope_error(opts, err);
			goto err_free;
		}
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
	pidset__free(&a->adopted);
	free(a);
}

bool attach_set__has(const struct attach_set *a, int pid)
{
	return pidset__has(&a->adopted, pid);
}

bool attach_set__add(struct attach_set *a, int pid)
{
	if (attach_set__has(a, pid))
		return false;
	/* cannot remember it: adopt it anyway, once more at worst */
	pidset__add(&a->adopted, pid);
	return true;
}

void attach_set__forget(struct attach_set *a, int pid)
{
	pidset__remove(&a->adopted, pid);
}

/* What the scope covers now: roots and descendants, or the cgroup's processes. */
static int covered(const struct attach_set *a, struct pidset *now)
{
	if (a->has_cgroup)
		return pidset__add_resolved(now, &a->cg);
	return pidset__add_trees(now, a->roots, a->nr_roots);
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
		struct pidset now = {};
		size_t fresh = 0;

		err = covered(a, &now);
		if (err) {
			pidset__free(&now);
			break;
		}
		/* refused before anything is adopted; later (a cgroup ipcrace
		 * was moved into) it is simply left out */
		for (int who = 0; who < 2 && !a->adopted.nr && !adopted; who++)
			if (pidset__has(&now, who ? guardian : self)) {
				refuse_self(a, who ? guardian : self, who);
				pidset__free(&now);
				return -ELOOP;
			}
		for (size_t i = 0; i < now.nr && !err; i++) {
			int pid = now.pids[i], ppid;

			if (pid == self || pid == guardian || attach_set__has(a, pid))
				continue;
			ppid = procfs__ppid(pid);
			if (!attach_set__has(a, ppid))
				ppid = 0;
			attach_set__add(a, pid);
			err = fn(ctx, pid, ppid);
			fresh++;
			adopted++;
		}
		pidset__free(&now);
		if (!fresh)
			break;
	}
	return err ? err : adopted;
}

size_t attach_set__nr(const struct attach_set *a)
{
	return a ? a->adopted.nr : 0;
}

int attach_set__pid(const struct attach_set *a, size_t i)
{
	return a->adopted.pids[i];
}

__u64 attach_set__cgroup_id(const struct attach_set *a)
{
	return a && a->has_cgroup ? a->cg.id : 0;
}

const char *attach_set__describe(const struct attach_set *a)
{
	return a->what;
}
