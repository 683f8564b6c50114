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
#include "ipcrace_sys.skel.h"
#include "needed_libs.h"
#include "attach.h"
#include "access_probes.h"
#include "access_shared.h"
#include "preflight.h"
#include "procfs.h"
#include "probes.h"
#include "procmaps.h"
#include "session.h"
#include "link_closer.h"
#include "lock_sampler.h"
#include "session_int.h"
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
/*
 * -p: how often the traced set is looked at for its end. Finding the first
 * key of the 65536-bucket traced map walks its empty buckets: at every
 * wake-up it was a tenth of ipcrace's CPU attached to PostgreSQL.
 */
#define EMPTY_CHECK_NS 50000000ULL

static volatile sig_atomic_t stop_requested;
static volatile sig_atomic_t window_requested;	/* --flight: SIGUSR1 */

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		window_requested = 1;
	else
		stop_requested = 1;
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
	s->stops = stops__new(bpf_map__fd(s->bpf.sys->maps.arm_pending),
			      &s->bpf.sys->bss->stop_wanted,
			      &(struct stops_opts){ .drain = drain_events, .drain_ctx = s,
						    .published = &s->bpf.sys->bss->stops_published,
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
		if (s->confirm)
			s->hit_shared = access_shared__new();
		if (s->confirm && !s->hit_shared) {
			confirm__free(s->confirm);
			s->confirm = NULL;
		}
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
	s->rb = ring_buffer__new(bpf_map__fd(s->skel->maps.events), session__on_record, s, NULL);
	if (!s->rb) {
		err = -errno;
		fprintf(stderr, "ipcrace: ring buffer: %s\n", strerror(errno));
		return err;
	}
	phase(s, "ring buffer");
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
		"%llu lost, %llu Unix-socket calls with an untraced peer not recorded\n",
		(now - start) / 1e9, procs, threads, (unsigned long long)s->nr_events,
		(unsigned long long)sum_counter(s, CNT_LOST_EVENTS),
		(unsigned long long)sum_counter(s, CNT_UNTRACED_PEER));
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
	__u64 next_empty_check;
	bool done = false;
	int err, pidfd, epfd = run_waiter(s, &pidfd);

	if (s->opts->duration > 0)
		deadline = start + s->opts->duration * 1e9;
	next_progress = start + PROGRESS_NS;
	next_rescan = start + RESCAN_NS;
	next_empty_check = start;
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
		err = lock_sampler__tick(s->sampler, now);
		if (err) {
			fprintf(stderr, "ipcrace: lock sampling: %s\n", strerror(-err));
			break;
		}
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
						 session__adopt_found, s);
				next_rescan = now + RESCAN_NS;
			}
		} else if (s->attach) {
			if (now >= next_empty_check) {
				done = traced_set_empty(s);
				next_empty_check = now + EMPTY_CHECK_NS;
			}
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
	lock_sampler__free(s->sampler);
	s->sampler = NULL;
	if (s->opts->verbose)
		access_probes__print_stats(s->access);
	if (s->opts->verbose && s->attach)
		fprintf(stderr, "ipcrace: probes: %zu links of exited processes closed while "
			"tracing\n", probes__released(s->probes));
	access_probes__free(s->access);
	access_shared__free(s->shared);
	access_shared__free(s->hit_shared);
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
	/*
	 * The process that creates and closes uprobe links (link_closer.h),
	 * before target__spawn makes ipcrace a subreaper: started later it
	 * would be a child of ipcrace's, which waits for all of its children.
	 */
	link_closer__shared();
	err = load_and_attach(&s);
	if (err)
		goto out_cleanup;
	if (s.attach) {
		err = session__attach_to_running(&s);
		if (err)
			goto out_cleanup;
	} else {
		const char *files[1] = { libc };
		struct target_opts to = { .private_files = files, .nr_private_files = 1,
					  .host_wide = getenv("IPCRACE_NO_SCOPE") != NULL };

		session__find_libc(libc, sizeof(libc));
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
		err = session__attach_for_target(&s, libc);
		if (err)
			goto out_abort;
		phase(&s, "attach uprobes");
	}
	if (!opts->watch.disabled) {
		struct watch_opts wo = opts->watch;

		wo.stops = s.stops;
		wo.attached = s.attach != NULL;
		if (!wo.trap_rate_set)
			wo.trap_rate = wo.attached ? WATCH_RATE_ATTACHED : 0;
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
	/* --overhead attached: the lock probes too are held to the budget */
	if (opts->watch.overhead_pct && s.attach) {
		struct lock_sampler_opts lo = {
			.overhead_pct = opts->watch.overhead_pct, .verbose = opts->verbose,
			.drain = drain_events, .drain_ctx = &s, .watcher = s.watcher,
		};

		s.sampler = lock_sampler__new(s.skel, s.probes, s.writer, &lo);
		if (!s.sampler)
			fprintf(stderr, "ipcrace: warning: lock probes not sampled: %s\n",
				strerror(errno));
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

		session__describe_running(&s);
		/* every probe is in place: the user can start the load now */
		count_traced(&s, &procs, &threads);
		fprintf(stderr, "ipcrace: attached to %zu process%s, %zu thread%s; Ctrl-C to stop\n",
			procs, procs == 1 ? "" : "es", threads, threads == 1 ? "" : "s");
	} else {
		session__write_process(&s, s.target.pid, 0, now_ns(CLOCK_MONOTONIC), "");
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
	footer.untraced_peer_calls = sum_counter(&s, CNT_UNTRACED_PEER);
	if (opts->verbose)
		fprintf(stderr, "ipcrace: %llu Unix-socket calls with an untraced peer not "
			"recorded\n", (unsigned long long)footer.untraced_peer_calls);
	footer.target_status = *target_status;
	if (opts->verbose && opts->ustack_bytes)
		fprintf(stderr, "ipcrace: stacks: %llu snapshots (%llu bytes), %llu unreadable "
			"(frame pointers used)\n",
			(unsigned long long)sum_counter(&s, CNT_USTACKS),
			(unsigned long long)sum_counter(&s, CNT_USTACK_BYTES),
			(unsigned long long)sum_counter(&s, CNT_USTACK_FALLBACK));
	footer.seed = watcher__seed(s.watcher);
	footer.watched_words = watcher__watched_words(s.watcher);
	{
		/* what the watching cost, and whether a budget sampled it */
		struct trace_watch_stats ws;

		if (watcher__stats(s.watcher, &ws))
			trace_writer__add_watch_stats(s.writer, &ws);
	}
	if (s.sampler) {
		/* whether the lock probes were sampled, and how much */
		struct trace_lock_sampling ls;

		lock_sampler__stats(s.sampler, now_ns(CLOCK_MONOTONIC), &ls);
		trace_writer__add_lock_sampling(s.writer, &ls);
		if (ls.windows)
			fprintf(stderr, "ipcrace: locks: sampled: lock probes off in %llu windows "
				"(%u processes), on %.0f%% of the time\n",
				(unsigned long long)ls.windows, ls.processes,
				ls.metered_ns ? 100.0 - 100.0 * ls.off_ns / ls.metered_ns : 100.0);
	}
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