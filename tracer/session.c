// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ipcrace.skel.h"
#include "bpf_objects.h"
#include "needed_libs.h"
#include "attach.h"
#include "access_probes.h"
#include "access_shared.h"
#include "preflight.h"
#include "procfs.h"
#include "probes.h"
#include "procmaps.h"
#include "session.h"
#include "stops.h"
#include "syncscan.h"
#include "confirm.h"
#include "target.h"
#include "trace_writer.h"
#include "watch.h"

_Static_assert(sizeof(struct ipcrace_event) == 120, "event record layout changed");
_Static_assert(sizeof(struct ipcrace_stack) == 280, "stack record layout changed");

#define RINGBUF_BYTES (32u << 20)
#define POLL_MS 10
#define PROGRESS_NS 1000000000ULL	/* -v: a progress line a second */
#define RESCAN_NS 500000000ULL		/* --cgroup: the cgroup's processes read again */

struct session {
	const struct session_opts *opts;
	struct bpf_objects bpf;
	struct ipcrace_bpf *skel;	/* bpf.skel */
	struct probes *probes;
	struct procmaps *maps;
	struct trace_writer *writer;
	struct ring_buffer *rb;
	struct watcher *watcher;
	struct stops *stops;
	struct attach_set *attach;	/* attach mode (-p, --cgroup, --unit); NULL: a command */
	struct access_probes *access;
	struct access_shared *shared;	/* words the probes saw shared: watch candidates */
	struct syncscan *syncscan;	/* code whose atomics the probes do not see */
	struct confirm *confirm;	/* candidate words for confirmation holds */
	size_t nr_unseen;		/* EV_SYNC_UNSEEN written */
	struct target target;
	__u64 nr_events;
	int write_err;
	__u64 t_start, t_last;	/* -v: where the fixed cost goes */
	bool tree_gone;		/* the whole traced tree has exited */
};

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t window_requested;	/* --flight: SIGUSR1 */

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		window_requested = 1;
	else
		stop_requested = 1;
}

static __u64 now_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/*
 * -v: one line per phase of the run, with the time since the session began
 * and the time the phase took (the fixed cost of a short check is these).
 */
static void phase(struct session *s, const char *what)
{
	__u64 now = now_ns(CLOCK_MONOTONIC);

	if (!s->opts->verbose)
		return;
	if (!s->t_start)
		s->t_start = s->t_last = now;
	fprintf(stderr, "ipcrace: time: %-26s %7.3f s  (+%.3f s)\n", what,
		(now - s->t_start) / 1e9, (now - s->t_last) / 1e9);
	s->t_last = now;
}

static int probe_process(struct session *s, int pid);
static int probe_tree_file(struct session *s, const char *path);
static void access_probe_tree_file(struct session *s, const char *path);

static int write_mapping(const struct trace_mapping *m, void *ctx)
{
	struct session *s = ctx;
	struct ipcrace_event unseen;
	int err;

	/* a library mapped after exec may be the one with the lock functions */
	if ((m->prot & PROT_EXEC) && m->path[0] == '/' && s->probes) {
		if (s->attach) {
			char lib[TRACE_PATH_LEN + 64];

			snprintf(lib, sizeof(lib), "/proc/%u/root%s", m->pid, m->path);
			probes__attach_file_pid(s->probes, lib, m->pid);
			if (access_probes__instruments(s->access, m->path))
				access_probes__attach_file(s->access, lib, m->pid);
		} else {
			probe_tree_file(s, m->path);
			if (access_probes__instruments(s->access, m->path))
				access_probe_tree_file(s, m->path);
		}
	}
	err = trace_writer__add_mapping(s->writer, m);
	/* after its mapping: the analyzer learns which processes it cannot see whole */
	if (!err && syncscan__mapping(s->syncscan, m,
				      access_probes__covers(s->access, m->dev, m->ino, m->pid),
				      &unseen)) {
		err = trace_writer__add_event(s->writer, &unseen);
		s->nr_unseen++;
	}
	return err;
}

static void snapshot_maps(struct session *s, __u32 pid, __u64 ts)
{
	/* the process may already be gone: its parent's layout stands in */
	procmaps__snapshot(s->maps, pid, ts, write_mapping, s);
}

static void write_process(struct session *s, __u32 pid, __u32 ppid, __u64 ts, const char *comm)
{
	struct trace_process p = { .ts = ts, .pid = pid, .ppid = ppid, .exit_status = -1 };
	char link[64];
	ssize_t n;

	snprintf(p.comm, sizeof(p.comm), "%s", comm);
	snprintf(link, sizeof(link), "/proc/%u/exe", pid);
	n = readlink(link, p.exe, sizeof(p.exe) - 1);
	p.exe[n > 0 ? n : 0] = '\0';
	trace_writer__add_process(s->writer, &p);
}

static __u32 parent_of(__u32 pid)
{
	return procfs__ppid(pid);
}

static void adopt_late(struct session *s, int pid);
/* Access probes on the executable pid runs (attach mode: for pid alone). */
static void access_probe_exe(struct session *s, __u32 pid)
{
	char exe[64];

	if (!s->access)
		return;
	/* the kernel follows the link to the file, wherever the process sees it */
	snprintf(exe, sizeof(exe), "/proc/%u/exe", pid);
	access_probes__attach_file(s->access, exe, s->attach ? (int)pid : 0);
}

static void track_event(struct session *s, const struct ipcrace_event *e)
{
	watcher__on_event(s->watcher, e);
	switch (e->type) {
	case EV_FORK:
		/* attach mode: the child needs probes of its own (its first steps
		 * before they are in place go unseen: see the README); one found
		 * by the scan at attach has them already */
		if (s->attach) {
			if (!attach_set__add(s->attach, e->arg0))
				break;
			probe_process(s, e->arg0);
		}
		write_process(s, e->arg0, e->pid, e->ts, e->comm);
		/* its own layout, while it exists: identities and symbols */
		snapshot_maps(s, e->arg0, e->ts);
		break;
	case EV_EXEC:
		/* the new program's own code gets access probes (it runs meanwhile) */
		access_probe_exe(s, e->pid);
		/* the parent stays what the fork record said: read it again */
		write_process(s, e->pid, parent_of(e->pid), e->ts, e->comm);
		snapshot_maps(s, e->pid, e->ts);
		break;
	case EV_EXIT:
		/* attach mode: an exited process's own probes go (a forking
		 * service would pile up eight links a child until the end) */
		if (s->attach && (e->flags & EVF_GROUP_DEAD)) {
			probes__release_pid(s->probes, e->pid);
			attach_set__forget(s->attach, e->pid);
		}
		break;
	case EV_MMAP:
	case EV_MREMAP:
	case EV_SHMAT:
		/* code mappings are recorded from the event itself too: the
		 * process may be gone before /proc/PID/maps is read */
		procmaps__from_event(s->maps, e, write_mapping, s);
		/* private anonymous memory names nothing and holds no code */
		if (e->key.space == KEY_FILE && !(e->flags & EVF_EXEC_IMAGE))
			snapshot_maps(s, e->pid, e->ts);
		break;
	default:
		break;
	}
}

static int on_record(void *ctx, void *data, size_t size)
{
	const struct ipcrace_rec *hdr = data;
	struct session *s = ctx;
	struct ipcrace_event ev;
	struct ipcrace_key word;
	int err = 0;

	if (size < sizeof(*hdr) || hdr->size > size)
		return 0;
	switch (hdr->kind) {
	case IPCRACE_REC_STACK:
		if (hdr->size == sizeof(struct ipcrace_stack))
			err = trace_writer__add_stack(s->writer, data);
		break;
	case IPCRACE_REC_USTACK:
		if (hdr->size >= IPCRACE_USTACK_HDR_LEN && hdr->size <= sizeof(struct ipcrace_ustack) &&
		    ((const struct ipcrace_ustack *)data)->size <= hdr->size - IPCRACE_USTACK_HDR_LEN)
			err = trace_writer__add_ustack(s->writer, data);
		break;
	case IPCRACE_REC_PATH:
		if (hdr->size == sizeof(struct ipcrace_path)) {
			const struct ipcrace_path *p = data;

			procmaps__learn_path(s->maps, p->dev, p->ino, p->path);
		}
		break;
	case IPCRACE_REC_JOIN:
		/* --cgroup: BPF marked a process that entered the cgroup */
		if (hdr->size == sizeof(struct ipcrace_join) && s->attach)
			adopt_late(s, ((const struct ipcrace_join *)data)->pid);
		break;
	case IPCRACE_REC_EVENT:
		if (hdr->size != sizeof(struct ipcrace_event))
			break;
		/* the ring buffer is read-only: memory accesses are completed on a copy */
		memcpy(&ev, data, sizeof(ev));
		watcher__annotate(s->watcher, &ev);
		if (access_shared__note(s->shared, &ev, &word)) {
			watcher__promote(s->watcher, &word);
			confirm__shared(s->confirm, &ev, &word,
					syncscan__pid_unseen(s->syncscan, ev.pid));
		}
		confirm__note(s->confirm, &ev);
		err = trace_writer__add_event(s->writer, &ev);
		s->nr_events++;
		track_event(s, &ev);
		/* between records: a busy consumer reaches its next tick late */
		watcher__check_caps(s->watcher);
		access_probes__check_caps(s->access);
		break;
	default:
		break;
	}
	if (err && !s->write_err) {
		s->write_err = err;
		fprintf(stderr, "ipcrace: writing the trace: %s\n", strerror(-err));
	}
	return 0;
}

/* For the stops: events before a process was stopped come first. */
static void drain_events(void *ctx)
{
	struct session *s = ctx;

	ring_buffer__consume(s->rb);
}

static __u64 sum_counter(struct session *s, enum ipcrace_counter c)
{
	int ncpu = libbpf_num_possible_cpus(), i;
	__u32 key = c;
	__u64 *vals, sum = 0;

	if (ncpu <= 0)
		return 0;
	vals = calloc(ncpu, sizeof(*vals));
	if (!vals)
		return 0;
	if (!bpf_map_lookup_elem(bpf_map__fd(s->skel->maps.counters), &key, vals))
		for (i = 0; i < ncpu; i++)
			sum += vals[i];
	free(vals);
	return sum;
}

static void fill_header(struct trace_header *h, const struct session_opts *opts)
{
	struct utsname u;
	size_t off = 0, i;
	char *const *argv;

	memset(h, 0, sizeof(*h));
	h->version = 1;
	h->start_realtime_ns = now_ns(CLOCK_REALTIME);
	h->start_mono_ns = now_ns(CLOCK_MONOTONIC);
	if (!uname(&u)) {
		snprintf(h->host, sizeof(h->host), "%.*s", (int)sizeof(h->host) - 1, u.nodename);
		snprintf(h->kernel, sizeof(h->kernel), "%.*s", (int)sizeof(h->kernel) - 1, u.release);
	}
	for (i = 0; i < opts->nr_pids && off < sizeof(h->cmdline) - 1; i++)
		off += snprintf(h->cmdline + off, sizeof(h->cmdline) - off, "%s%d",
				i ? "," : "-p ", opts->pids[i]);
	if ((opts->cgroup || opts->unit) && off < sizeof(h->cmdline) - 1)
		off += snprintf(h->cmdline + off, sizeof(h->cmdline) - off, "%s %s",
				opts->unit ? "--unit" : "--cgroup", opts->unit ? opts->unit : opts->cgroup);
	for (argv = opts->argv; argv && *argv && off < sizeof(h->cmdline) - 1; argv++)
		off += snprintf(h->cmdline + off, sizeof(h->cmdline) - off, "%s%s",
				off ? " " : "", *argv);
}

static int load_and_attach(struct session *s)
{
	struct probes_opts po = { .site = s->opts->site, .bare = s->opts->bare_probes,
				  .verbose = s->opts->verbose };
	struct bpf_objects_opts bo = {
		.ring_bytes = s->opts->buffer_bytes ? s->opts->buffer_bytes : RINGBUF_BYTES,
		.ustack_bytes = s->opts->ustack_bytes,
		.ipc_stacks = s->opts->ipc_stacks,
		.cgroup_id = attach_set__cgroup_id(s->attach),
		.self_tgid = getpid(),
	};
	int err;

	err = bpf_objects__open(&s->bpf, &bo);
	if (err)
		return err;
	s->skel = s->bpf.skel;
	po.multi = probes__prepare(s->skel);
	access_probes__configure(s->skel, &s->opts->access);
	confirm__configure(s->skel, &s->opts->confirm);
	phase(s, "open the BPF object");
	err = bpf_objects__load(&s->bpf);
	if (err)
		return err;
	phase(s, "load (BTF, verifier)");
	/* the guardian first: no program can stop anything before it exists */
	s->stops = stops__new(s->skel, &(struct stops_opts){ .drain = drain_events,
							     .drain_ctx = s,
							     .verbose = s->opts->verbose });
	if (!s->stops)
		return -errno;
	s->skel->bss->guardian_tgid = stops__guardian_pid(s->stops);
	if (s->opts->access.enabled && !po.multi) {
		fprintf(stderr, "ipcrace: warning: access probes need uprobe_multi links "
			"(Linux 6.6): data races are found on watched words only\n");
	} else if (s->opts->access.enabled) {
		s->access = access_probes__new(s->skel, &s->opts->access);
		s->shared = access_shared__new();
		if (!s->access || !s->shared)
			return -errno;
	}
	/* best effort: without it every process counts as seen whole */
	s->syncscan = syncscan__new();
	if (!s->syncscan)
		fprintf(stderr, "ipcrace: warning: cannot scan code for atomics: %s\n", strerror(errno));
	/* holds happen at access probes: none without them */
	if (s->access && s->syncscan) {
		s->confirm = confirm__new(s->skel, &s->opts->confirm);
		if (!s->confirm && errno)
			fprintf(stderr, "ipcrace: warning: no confirmation holds: %s\n", strerror(errno));
	}
	/* process lifecycle and syscalls: raw tracepoints, no tracefs needed */
	err = bpf_objects__attach(&s->bpf);
	if (err)
		return err;
	phase(s, "attach raw tracepoints");
	s->probes = probes__new(s->skel, &po);
	if (!s->probes)
		return -ENOMEM;
	s->rb = ring_buffer__new(bpf_map__fd(s->skel->maps.events), on_record, s, NULL);
	if (!s->rb) {
		err = -errno;
		fprintf(stderr, "ipcrace: ring buffer: %s\n", strerror(errno));
		return err;
	}
	phase(s, "ring buffer");
	return 0;
}

/* The libc the loader will map for the target: ours (same cache, same machine). */
static void find_libc(char *out, size_t len)
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
static int probe_tree_file(struct session *s, const char *path)
{
	char priv[64];
	const char *probe = target__probe_path(&s->target, path, priv, sizeof(priv));
	int n;

	if (probe)
		return probes__attach_file_as(s->probes, probe, path);
	n = probes__attach_file(s->probes, path);
	/* when nothing is private, attach_for_target said why once */
	if (n > 0 && s->opts->verbose && s->target.scope.active)
		fprintf(stderr, "ipcrace: scope: %s has no private copy: its probes trap "
			"host-wide\n", path);
	return n;
}

/* Access probes on a file of the traced tree, through its private copy when it has one. */
static void access_probe_tree_file(struct session *s, const char *path)
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
static int attach_for_target(struct session *s, const char *libc)
{
	char cxx[4096];
	int n;

	if (s->opts->verbose && s->target.scope.active)
		fprintf(stderr, "ipcrace: scope: the traced tree runs in its own mount namespace "
			"with private copies of %zu files: only it traps\n", s->target.scope.nr);
	else if (s->opts->verbose)
		fprintf(stderr, "ipcrace: scope: probes trap host-wide: %s\n", s->target.scope.why);
	n = probe_tree_file(s, s->target.exe);
	if (n < 0)
		return n;
	/* the program's own code and the libraries named by path: before it runs */
	access_probe_tree_file(s, s->target.exe);
	for (size_t i = 0; i < s->opts->access.nr_instrument; i++)
		if (strchr(s->opts->access.instrument[i], '/'))
			access_probe_tree_file(s, s->opts->access.instrument[i]);
	if (libc[0]) {
		int m = probe_tree_file(s, libc);

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
		int m = probe_tree_file(s, cxx);

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
static int probe_process(struct session *s, int pid)
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
	err = probe_process(s, pid);
	/* a process that exited meanwhile is simply not there */
	if (err && err != -ENOENT && err != -ESRCH) {
		fprintf(stderr, "ipcrace: cannot probe pid %d: %s\n", pid, strerror(-err));
		return err;
	}
	if (!err)
		access_probe_exe(s, pid);
	return 0;
}

/* Attach mode: the processes are running; every one the scope covers. */
static int attach_to_running(struct session *s)
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
	write_process(s, pid, attach_set__has(s->attach, ppid) ? ppid : 0, now, comm);
	snapshot_maps(s, pid, now);
	watcher__adopt(s->watcher, pid);
}

static void describe_running(struct session *s)
{
	__u64 now = now_ns(CLOCK_MONOTONIC);

	for (size_t i = 0; i < attach_set__nr(s->attach); i++)
		describe_process(s, attach_set__pid(s->attach, i), now);
}

/* A process that entered the scope while tracing (BPF marked it, or a rescan found it). */
static void adopt_late(struct session *s, int pid)
{
	if (adopt_early(s, pid, 0))
		return;
	describe_process(s, pid, now_ns(CLOCK_MONOTONIC));
	if (s->opts->verbose)
		fprintf(stderr, "ipcrace: pid %d entered %s: traced\n", pid,
			attach_set__describe(s->attach));
}

static int adopt_found(void *ctx, int pid, int ppid)
{
	(void)ppid;
	adopt_late(ctx, pid);
	return 0;
}

/* Processes and threads in the traced set now. */
static void count_traced(struct session *s, size_t *procs, size_t *threads)
{
	int fd = bpf_map__fd(s->skel->maps.traced);
	__u32 key, next;
	void *prev = NULL;

	*procs = *threads = 0;
	while (!bpf_map_get_next_key(fd, prev, &next)) {
		int *tids;
		size_t nr;

		(*procs)++;
		if (!procfs__threads(next, &tids, &nr)) {
			*threads += nr;
			free(tids);
		}
		key = next;
		prev = &key;
	}
}

/* True once no traced process is left (BPF drops them as they exit). */
static bool traced_set_empty(struct session *s)
{
	__u32 key;

	return bpf_map_get_next_key(bpf_map__fd(s->skel->maps.traced), NULL, &key) != 0;
}

/* Reaps every descendant; true once none is left. */
static bool reap_children(struct session *s, int *target_status)
{
	int status;
	pid_t pid;

	for (;;) {
		pid = waitpid(-1, &status, WNOHANG | __WALL);
		if (pid > 0) {
			if (pid == s->target.pid)
				*target_status = status;
			continue;
		}
		return pid < 0 && errno == ECHILD;
	}
}

/* -v: a line a second, so a long attach shows it is alive. */
static void report_progress(struct session *s, __u64 start, __u64 now)
{
	size_t procs, threads;

	count_traced(s, &procs, &threads);
	fprintf(stderr, "ipcrace: %.0f s: %zu processes, %zu threads traced, %llu events, "
		"%llu lost\n", (now - start) / 1e9, procs, threads,
		(unsigned long long)s->nr_events,
		(unsigned long long)sum_counter(s, CNT_LOST_EVENTS));
}

/*
 * The run loop's wait: the ring buffer's epoll fd, and for `check`/`record
 * -- CMD` a pidfd of the target, so that its exit ends the wait at once
 * instead of at the next poll timeout (up to POLL_MS on every run). -1 when
 * there is no target to wait for or no pidfd: the loop polls the ring alone.
 */
static int run_waiter(struct session *s, int *pidfd)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int epfd;

	*pidfd = -1;
	if (s->attach || s->target.pid <= 0)
		return -1;
	*pidfd = syscall(SYS_pidfd_open, s->target.pid, 0);
	epfd = *pidfd >= 0 ? epoll_create1(EPOLL_CLOEXEC) : -1;
	if (epfd < 0)
		goto fail;
	ev.data.fd = ring_buffer__epoll_fd(s->rb);
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, ev.data.fd, &ev))
		goto fail;
	ev.data.fd = *pidfd;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, *pidfd, &ev))
		goto fail;
	return epfd;
fail:
	if (epfd >= 0)
		close(epfd);
	if (*pidfd >= 0)
		close(*pidfd);
	*pidfd = -1;
	return -1;
}

/* Waits up to POLL_MS for records or the target's exit, then consumes. */
static int run_wait(struct session *s, int epfd, int *pidfd)
{
	struct epoll_event evs[2];
	int n, i;

	if (epfd < 0)
		return ring_buffer__poll(s->rb, POLL_MS);
	n = epoll_wait(epfd, evs, 2, POLL_MS);
	if (n < 0)
		return -errno;
	for (i = 0; i < n; i++) {
		/* readable for good once the target exited: waited for once */
		if (evs[i].data.fd == *pidfd) {
			epoll_ctl(epfd, EPOLL_CTL_DEL, *pidfd, NULL);
			close(*pidfd);
			*pidfd = -1;
		}
	}
	return 0;
}

static int run_loop(struct session *s, int *target_status)
{
	__u64 start = now_ns(CLOCK_MONOTONIC), deadline = 0, next_progress, next_rescan, now;
	bool done = false;
	int err, pidfd, epfd = run_waiter(s, &pidfd);

	if (s->opts->duration > 0)
		deadline = start + s->opts->duration * 1e9;
	next_progress = start + PROGRESS_NS;
	next_rescan = start + RESCAN_NS;
	while (!done) {
		/* records are submitted without a wake-up: consume after the
		 * timeout too */
		err = run_wait(s, epfd, &pidfd);
		if (err >= 0)
			err = ring_buffer__consume(s->rb);
		if (err < 0 && err != -EINTR) {
			fprintf(stderr, "ipcrace: ring buffer poll: %s\n", strerror(-err));
			break;
		}
		stops__service(s->stops);
		now = now_ns(CLOCK_MONOTONIC);
		watcher__tick(s->watcher, now);
		if (window_requested) {
			window_requested = 0;
			trace_writer__request_window(s->writer);
		}
		/* the trace on disk at most ~100 ms behind, whatever kills us;
		 * --flight: the windows asked for or due to a crash */
		trace_writer__tick(s->writer, now);
		/* a cgroup may be empty for a while (a service restarting): until
		 * --duration or Ctrl-C; BPF marks who enters, a rescan is the net */
		if (attach_set__cgroup_id(s->attach)) {
			if (now >= next_rescan) {
				attach_set__scan(s->attach, getpid(), stops__guardian_pid(s->stops),
						 adopt_found, s);
				next_rescan = now + RESCAN_NS;
			}
		} else if (s->attach) {
			done = traced_set_empty(s);
		} else {
			done = s->tree_gone = reap_children(s, target_status);
		}
		if (s->opts->verbose && now >= next_progress) {
			report_progress(s, start, now);
			next_progress += PROGRESS_NS;
		}
		if (stop_requested || (deadline && now_ns(CLOCK_MONOTONIC) >= deadline)) {
			if (s->opts->verbose)
				fprintf(stderr, "ipcrace: stopping the recording\n");
			done = true;
		}
	}
	if (epfd >= 0)
		close(epfd);
	if (pidfd >= 0)
		close(pidfd);
	if (err < 0 && err != -EINTR)
		return err;
	/* everything the tree did before exiting is already in the buffer */
	ring_buffer__consume(s->rb);
	return 0;
}

static void session_cleanup(struct session *s)
{
	/* nothing stays stopped, and no handler runs on a watcher being freed */
	stops__finish(s->stops);
	if (s->opts->verbose)
		access_probes__print_stats(s->access);
	if (s->opts->verbose && s->attach)
		fprintf(stderr, "ipcrace: probes: %zu links of exited processes closed while "
			"tracing\n", probes__released(s->probes));
	access_probes__free(s->access);
	access_shared__free(s->shared);
	if (s->opts->verbose && s->syncscan)
		fprintf(stderr, "ipcrace: code scanned for atomics: %zu files (%zu unreadable); "
			"%zu process/file pairs with atomics no probe sees\n",
			syncscan__nr_files(s->syncscan), syncscan__unreadable(s->syncscan),
			s->nr_unseen);
	syncscan__free(s->syncscan);
	if (s->opts->verbose)
		confirm__print_stats(s->confirm);
	confirm__free(s->confirm);
	watcher__free(s->watcher);
	ring_buffer__free(s->rb);
	phase(s, "stop watching");
	/* probes on private copies of an exited tree trap nobody: no waiting */
	if (s->tree_gone && s->target.scope.active)
		probes__free_lazily(s->probes);
	else
		probes__free(s->probes);
	target__close(&s->target);
	phase(s, "detach uprobes");
	bpf_objects__destroy(&s->bpf);
	s->skel = NULL;
	/* after the programs are gone: a last look, then the guardian is dismissed */
	stops__free(s->stops);
	procmaps__free(s->maps);
	phase(s, "unload BPF");
}

int session__record(const struct session_opts *opts, int *target_status)
{
	struct session s = { .opts = opts, .target = { .release_fd = -1 } };
	struct sigaction sa = { .sa_handler = on_signal };
	struct trace_footer footer = {};
	struct trace_header hdr;
	char libc[4096];
	__u32 one = 1;
	int err;

	*target_status = -1;
	err = preflight__check();
	if (err)
		return err;
	phase(&s, "start");
	s.maps = procmaps__new();
	if (!s.maps)
		return -ENOMEM;
	if (opts->nr_pids || opts->cgroup || opts->unit) {
		struct attach_opts ao = { .pids = opts->pids, .nr_pids = opts->nr_pids,
					  .cgroup = opts->cgroup, .unit = opts->unit };

		s.attach = attach_set__new(&ao);
		if (!s.attach) {
			err = -errno;
			goto out_cleanup;
		}
	}
	err = load_and_attach(&s);
	if (err)
		goto out_cleanup;
	if (s.attach) {
		err = attach_to_running(&s);
		if (err)
			goto out_cleanup;
	} else {
		const char *files[1] = { libc };
		struct target_opts to = { .private_files = files, .nr_private_files = 1,
					  .host_wide = getenv("IPCRACE_NO_SCOPE") != NULL };

		find_libc(libc, sizeof(libc));
		if (!libc[0])
			to.nr_private_files = 0;
		err = target__spawn(&s.target, opts->argv, &to);
		if (err)
			goto out_cleanup;
		phase(&s, "spawn (private copies)");
		err = bpf_map_update_elem(bpf_map__fd(s.skel->maps.traced), &s.target.pid, &one,
					  BPF_ANY);
		if (err) {
			err = -errno;
			fprintf(stderr, "ipcrace: cannot mark pid %d traced: %m\n", s.target.pid);
			goto out_abort;
		}
		err = attach_for_target(&s, libc);
		if (err)
			goto out_abort;
		phase(&s, "attach uprobes");
	}
	if (!opts->watch.disabled) {
		struct watch_opts wo = opts->watch;

		wo.stops = s.stops;
		wo.attached = s.attach != NULL;
		s.watcher = watcher__new(s.skel, &wo);
		if (!s.watcher) {
			err = -errno;
			goto out_abort;
		}
	}

	fill_header(&hdr, opts);
	if (opts->flight_bytes)
		s.writer = trace_writer__open_flight(fcntl(opts->trace_fd, F_DUPFD_CLOEXEC, 3), &hdr,
						     opts->flight_bytes, opts->trace_path);
	else
		s.writer = trace_writer__open_fd(fcntl(opts->trace_fd, F_DUPFD_CLOEXEC, 3), &hdr);
	if (s.writer)
		trace_writer__set_limit(s.writer, opts->trace_limit);
	if (!s.writer) {
		err = -errno;
		fprintf(stderr, "ipcrace: cannot create %s: %m\n", opts->trace_path);
		goto out_abort;
	}
	/* from here on the trace is the recording's, and at its path */
	if (opts->started && opts->started(opts->started_ctx)) {
		err = -EIO;
		goto out_abort;
	}
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	if (opts->flight_bytes)
		sigaction(SIGUSR1, &sa, NULL);
	if (s.attach) {
		size_t procs, threads;

		describe_running(&s);
		/* every probe is in place: the user can start the load now */
		count_traced(&s, &procs, &threads);
		fprintf(stderr, "ipcrace: attached to %zu process%s, %zu thread%s; Ctrl-C to stop\n",
			procs, procs == 1 ? "" : "es", threads, threads == 1 ? "" : "s");
	} else {
		write_process(&s, s.target.pid, 0, now_ns(CLOCK_MONOTONIC), "");
		err = target__release(&s.target);
		if (err) {
			fprintf(stderr, "ipcrace: cannot start the target: %s\n", strerror(-err));
			goto out_abort;
		}
	}
	phase(&s, "set up the watcher, trace");
	err = run_loop(&s, target_status);
	phase(&s, "run (until the tree exited)");
	/* --learn: what this run found worth watching, for the next one */
	if (!err)
		watcher__save_learned(s.watcher);

	footer.end_mono_ns = now_ns(CLOCK_MONOTONIC);
	footer.events = s.nr_events;
	footer.lost_events = sum_counter(&s, CNT_LOST_EVENTS);
	footer.lost_stacks = sum_counter(&s, CNT_LOST_STACKS);
	footer.target_status = *target_status;
	if (opts->verbose && opts->ustack_bytes)
		fprintf(stderr, "ipcrace: stacks: %llu snapshots (%llu bytes), %llu unreadable "
			"(frame pointers used)\n",
			(unsigned long long)sum_counter(&s, CNT_USTACKS),
			(unsigned long long)sum_counter(&s, CNT_USTACK_BYTES),
			(unsigned long long)sum_counter(&s, CNT_USTACK_FALLBACK));
	footer.seed = watcher__seed(s.watcher);
	footer.watched_words = watcher__watched_words(s.watcher);
	if (*target_status != -1)
		footer.flags |= TRACEF_TARGET_EXITED;
	if (footer.lost_events)
		fprintf(stderr, "ipcrace: warning: %llu events lost (ring buffer full): "
			"results may be incomplete\n", (unsigned long long)footer.lost_events);
	if (trace_writer__close(s.writer, &footer) && !err) {
		err = -EIO;
		fprintf(stderr, "ipcrace: cannot finish %s\n", opts->trace_path);
	}
	s.writer = NULL;
	if (!err && s.write_err)
		err = s.write_err;
	goto out_cleanup;

out_abort:
	target__abort(&s.target);
	trace_writer__close(s.writer, NULL);
out_cleanup:
	session_cleanup(&s);
	attach_set__free(s.attach);
	return err;
}
