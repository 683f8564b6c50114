// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Which code gets probes: for a command, its executable and the libc the
 * loader will map (private copies when scoped); in attach mode each process
 * for itself, as it is found at attach, forks, or joins the cgroup.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ipcrace.skel.h"
#include "access_probes.h"
#include "attach.h"
#include "needed_libs.h"
#include "probes.h"
#include "session_int.h"
#include "stops.h"
#include "watch.h"

/* Access probes on the executable pid runs (attach mode: for pid alone). */
void session__access_probe_exe(struct session *s, __u32 pid)
{
	char exe[64];

	if (!s->access)
		return;
	/* the kernel follows the link to the file, wherever the process sees it */
	snprintf(exe, sizeof(exe), "/proc/%u/exe", pid);
	access_probes__attach_file(s->access, exe, s->attach ? (int)pid : 0);
}

/* The libc the loader will map for the target: ours (same cache, same machine). */
void session__find_libc(char *out, size_t len)
{
	char line[4096];
	FILE *f;

	out[0] = '\0';
	f = fopen("/proc/self/maps", "re");
	while (f && fgets(line, sizeof(line), f)) {
		char *path = strchr(line, '/');

		if (!path || !strstr(path, "/libc.so"))
			continue;
		path[strcspn(path, "\n")] = '\0';
		snprintf(out, len, "%s", path);
		break;
	}
	if (f)
		fclose(f);
}

/*
 * Probes a file the traced tree maps: its private copy when it has one
 * (only the tree traps), else the host's file (every process on the host
 * mapping it traps: said under -v).
 */
int session__probe_tree_file(struct session *s, const char *path)
{
	char priv[64];
	const char *probe = target__probe_path(&s->target, path, priv, sizeof(priv));
	int n;

	if (probe)
		return probes__attach_file_as(s->probes, probe, path);
	n = probes__attach_file(s->probes, path);
	/* when nothing is private, session__attach_for_target said why once */
	if (n > 0 && s->opts->verbose && s->target.scope.active)
		fprintf(stderr, "ipcrace: scope: %s has no private copy: its probes trap "
			"host-wide\n", path);
	return n;
}

/* Access probes on a file of the traced tree, through its private copy when it has one. */
void session__access_probe_tree_file(struct session *s, const char *path)
{
	char priv[64];
	const char *probe;

	if (!s->access)
		return;
	probe = target__probe_path(&s->target, path, priv, sizeof(priv));
	access_probes__attach_file(s->access, probe ? probe : path, 0);
}

/*
 * The probes the target needs before its first instruction: its own
 * executable when statically linked, else the libc the loader will map.
 * Other libraries defining lock functions are attached when they get mapped.
 */
int session__attach_for_target(struct session *s, const char *libc)
{
	char cxx[4096];
	int n;

	if (s->opts->verbose && s->target.scope.active)
		fprintf(stderr, "ipcrace: scope: the traced tree runs in its own mount namespace "
			"with private copies of %zu files: only it traps\n", s->target.scope.nr);
	else if (s->opts->verbose)
		fprintf(stderr, "ipcrace: scope: probes trap host-wide: %s\n", s->target.scope.why);
	n = session__probe_tree_file(s, s->target.exe);
	if (n < 0)
		return n;
	/* the program's own code and the libraries named by path: before it runs */
	session__access_probe_tree_file(s, s->target.exe);
	for (size_t i = 0; i < s->opts->access.nr_instrument; i++)
		if (strchr(s->opts->access.instrument[i], '/'))
			session__access_probe_tree_file(s, s->opts->access.instrument[i]);
	if (libc[0]) {
		int m = session__probe_tree_file(s, libc);

		if (m < 0)
			return m;
		n += m;
	}
	/*
	 * A C++ program's static-initialization guards are in libstdc++: it
	 * has no private copy, and its probes trap host-wide (only at other
	 * programs' first use of a function-local static).
	 */
	if (!needed_libs__path(s->target.exe, "libstdc++.so.6", cxx, sizeof(cxx))) {
		int m = session__probe_tree_file(s, cxx);

		if (m < 0)
			return m;
	}
	if (n == 0 && !probes__file_has_locks(libc[0] ? libc : s->target.exe)) {
		fprintf(stderr, "ipcrace: %s: no pthread or semaphore functions to probe "
			"(statically linked without symbols?)\n", s->target.exe);
		return -ENOENT;
	}
	return 0;
}

/*
 * Attach mode probes each process for itself (and each child it starts, as
 * the fork is seen): a production service's neighbours pay nothing. The
 * libraries are probed where the process sees them (/proc/PID/root + path:
 * right inside containers too).
 */
int session__probe_process(struct session *s, int pid)
{
	char path[64], line[4096], lib[4096 + 64];
	int err = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *file = strchr(line, '/');
		char perms[8];

		if (!file || sscanf(line, "%*x-%*x %7s", perms) != 1 || perms[2] != 'x')
			continue;
		file[strcspn(file, "\n")] = '\0';
		snprintf(lib, sizeof(lib), "/proc/%d/root%s", pid, file);
		err = probes__attach_file_pid(s->probes, lib, pid);
		if (err < 0)
			break;
	}
	fclose(f);
	return err < 0 ? err : 0;
}

/* Marks pid traced (its forks are followed from now on) and probes it. */
static int adopt_early(void *ctx, int pid, int ppid)
{
	struct session *s = ctx;
	__u8 one = 1;
	int err;

	(void)ppid;
	if (bpf_map_update_elem(bpf_map__fd(s->skel->maps.traced), &pid, &one, BPF_ANY)) {
		err = -errno;
		fprintf(stderr, "ipcrace: cannot mark pid %d traced: %m\n", pid);
		return err;
	}
	/*
	 * Exited before it was marked (a scan saw a short-lived child): BPF
	 * drops a pid at its last thread's exit, which has happened, so it
	 * would stay in the set and -p would never see the tree end. Marked
	 * first, checked after: an exit later than the check drops it.
	 */
	if (procfs__process_exited(pid)) {
		bpf_map_delete_elem(bpf_map__fd(s->skel->maps.traced), &pid);
		return 0;
	}
	err = session__probe_process(s, pid);
	/* a process that exited meanwhile is simply not there */
	if (err && err != -ENOENT && err != -ESRCH) {
		fprintf(stderr, "ipcrace: cannot probe pid %d: %s\n", pid, strerror(-err));
		return err;
	}
	if (!err)
		session__access_probe_exe(s, pid);
	return 0;
}

/* Attach mode: the processes are running; every one the scope covers. */
int session__attach_to_running(struct session *s)
{
	int n = attach_set__scan(s->attach, getpid(), stops__guardian_pid(s->stops),
				 adopt_early, s);

	return n < 0 ? n : 0;
}

static void read_comm(int pid, char *comm, size_t len)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/comm", pid);
	if (procfs__read(path, comm, len) < 0)
		comm[0] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
}

/* Records what an attached process looks like when its tracing starts. */
static void describe_process(struct session *s, int pid, __u64 now)
{
	int ppid = parent_of(pid);
	char comm[32];

	read_comm(pid, comm, sizeof(comm));
	session__write_process(s, pid, attach_set__has(s->attach, ppid) ? ppid : 0, now, comm);
	session__snapshot_maps(s, pid, now);
	watcher__adopt(s->watcher, pid);
}

void session__describe_running(struct session *s)
{
	__u64 now = now_ns(CLOCK_MONOTONIC);

	for (size_t i = 0; i < attach_set__nr(s->attach); i++)
		describe_process(s, attach_set__pid(s->attach, i), now);
}

/* A process that entered the scope while tracing (BPF marked it, or a rescan found it). */
void session__adopt_late(struct session *s, int pid)
{
	if (adopt_early(s, pid, 0))
		return;
	describe_process(s, pid, now_ns(CLOCK_MONOTONIC));
	if (s->opts->verbose)
		fprintf(stderr, "ipcrace: pid %d entered %s: traced\n", pid,
			attach_set__describe(s->attach));
}

int session__adopt_found(void *ctx, int pid, int ppid)
{
	(void)ppid;
	session__adopt_late(ctx, pid);
	return 0;
}
