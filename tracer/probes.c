// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <linux/bpf.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <linux/types.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ipcrace.skel.h"
#include "../bpf/events.h"
#include "../bpf/lock_cookie.h"
#include "elf_syms.h"
#include "file_memo.h"
#include "probe_site.h"
#include "link_closer.h"
#include "probes_int.h"
#include "uprobe_multi.h"

struct probe_spec {
	const char *func;
	enum lock_role role;
	__u16 obj;
	__u32 flags;
	const char *init_alias;	/* init function that may share the address */
};

static const struct probe_spec specs[] = {
	{ "pthread_mutex_lock", LOCK_ROLE_LOCK, OBJ_MUTEX, 0 },
	{ "pthread_mutex_trylock", LOCK_ROLE_LOCK, OBJ_MUTEX, EVF_TRY },
	{ "pthread_mutex_timedlock", LOCK_ROLE_LOCK, OBJ_MUTEX, EVF_TIMED },
	{ "pthread_mutex_clocklock", LOCK_ROLE_LOCK, OBJ_MUTEX, EVF_TIMED },
	{ "pthread_mutex_unlock", LOCK_ROLE_RELEASE, OBJ_MUTEX, 0, "pthread_mutex_init" },
	{ "pthread_mutex_destroy", LOCK_ROLE_DESTROY, OBJ_MUTEX, 0 },
	{ "pthread_rwlock_rdlock", LOCK_ROLE_LOCK, OBJ_RWLOCK, EVF_READ },
	{ "pthread_rwlock_wrlock", LOCK_ROLE_LOCK, OBJ_RWLOCK, EVF_WRITE },
	{ "pthread_rwlock_tryrdlock", LOCK_ROLE_LOCK, OBJ_RWLOCK, EVF_READ | EVF_TRY },
	{ "pthread_rwlock_trywrlock", LOCK_ROLE_LOCK, OBJ_RWLOCK, EVF_WRITE | EVF_TRY },
	{ "pthread_rwlock_timedrdlock", LOCK_ROLE_LOCK, OBJ_RWLOCK, EVF_READ | EVF_TIMED },
	{ "pthread_rwlock_timedwrlock", LOCK_ROLE_LOCK, OBJ_RWLOCK, EVF_WRITE | EVF_TIMED },
	{ "pthread_rwlock_clockrdlock", LOCK_ROLE_LOCK, OBJ_RWLOCK, EVF_READ | EVF_TIMED },
	{ "pthread_rwlock_clockwrlock", LOCK_ROLE_LOCK, OBJ_RWLOCK, EVF_WRITE | EVF_TIMED },
	{ "pthread_rwlock_unlock", LOCK_ROLE_RELEASE, OBJ_RWLOCK, 0, "pthread_rwlock_init" },
	{ "pthread_spin_lock", LOCK_ROLE_LOCK, OBJ_SPIN, 0 },
	{ "pthread_spin_trylock", LOCK_ROLE_LOCK, OBJ_SPIN, EVF_TRY },
	{ "pthread_spin_unlock", LOCK_ROLE_RELEASE, OBJ_SPIN, 0, "pthread_spin_init" },
	{ "sem_wait", LOCK_ROLE_LOCK, OBJ_SEM, 0 },
	{ "sem_trywait", LOCK_ROLE_LOCK, OBJ_SEM, EVF_TRY },
	{ "sem_timedwait", LOCK_ROLE_LOCK, OBJ_SEM, EVF_TIMED },
	{ "sem_clockwait", LOCK_ROLE_LOCK, OBJ_SEM, EVF_TIMED },
	{ "sem_post", LOCK_ROLE_RELEASE, OBJ_SEM, 0 },
	{ "sem_destroy", LOCK_ROLE_DESTROY, OBJ_SEM, 0 },
	{ "pthread_cond_wait", LOCK_ROLE_COND_WAIT, OBJ_MUTEX, 0 },
	{ "pthread_cond_timedwait", LOCK_ROLE_COND_WAIT, OBJ_MUTEX, EVF_TIMED },
	{ "pthread_cond_clockwait", LOCK_ROLE_COND_WAIT, OBJ_MUTEX, EVF_TIMED },
	{ "pthread_create", LOCK_ROLE_THREAD_CREATE, OBJ_NONE, 0 },
	{ "pthread_join", LOCK_ROLE_THREAD_JOIN, OBJ_NONE, 0 },
	{ "pthread_timedjoin_np", LOCK_ROLE_THREAD_JOIN, OBJ_NONE, 0 },
	{ "pthread_clockjoin_np", LOCK_ROLE_THREAD_JOIN, OBJ_NONE, 0 },
	{ "pthread_tryjoin_np", LOCK_ROLE_THREAD_JOIN, OBJ_NONE, 0 },
	{ "pthread_cond_init", LOCK_ROLE_SYNC_OBJECT, OBJ_COND, 0 },
	{ "pthread_cond_signal", LOCK_ROLE_SYNC_OBJECT, OBJ_COND, 0 },
	{ "pthread_cond_broadcast", LOCK_ROLE_SYNC_OBJECT, OBJ_COND, 0 },
	{ "pthread_cond_destroy", LOCK_ROLE_SYNC_OBJECT, OBJ_COND, 0 },
	{ "pthread_barrier_init", LOCK_ROLE_SYNC_OBJECT, OBJ_BARRIER, 0 },
	{ "pthread_barrier_destroy", LOCK_ROLE_SYNC_OBJECT, OBJ_BARRIER, 0 },
	{ "pthread_barrier_wait", LOCK_ROLE_BARRIER, OBJ_BARRIER, 0 },
	{ "pthread_once", LOCK_ROLE_ONCE, OBJ_ONCE, 0 },
	/* libstdc++ (or a static C++ executable) */
	{ "__cxa_guard_acquire", LOCK_ROLE_GUARD_ACQUIRE, OBJ_GUARD, 0 },
	{ "__cxa_guard_release", LOCK_ROLE_GUARD_RELEASE, OBJ_GUARD, 0 },
};

/* One uprobe or uretprobe to create. */
struct attach_job {
	struct bpf_program *prog;
	const char *path;
	const struct probe_spec *spec;
	__u64 offset;
	__u64 cookie;
	int pid;		/* 0: every process, else that process only */
	int fd;			/* a uprobe_multi link to close (probes__free) */
	bool ret;
	struct bpf_link *link;	/* result */
	int err;		/* result */
};

struct attach_batch {
	const char *name;	/* the file's name in messages */
	struct attach_job *jobs;
	size_t nr;
	size_t next;		/* next job to take, under lock */
	pthread_mutex_t lock;
};

/*
 * Creating a uprobe perf event waits for the kernel to patch every process
 * mapping the file and for tracepoint/RCU updates: ~0.1-0.25 s each here,
 * nearly all of it waiting. Jobs run on a few threads so the waits overlap.
 */
#define ATTACH_THREADS 8

/*
 * Closing a uprobe_multi link is nearly all waiting for grace periods
 * (RCU tasks-trace, then SRCU): one thread per link (a run has 10 per
 * file), so the waits overlap.
 */
#define CLOSE_THREADS 32

/*
 * uprobe_multi links (Linux 6.6): one link per program and file, however
 * many functions. A perf-event uprobe costs a grace-period wait when it is
 * removed (~0.12 s here, serialized: 60 probes made every run 8 s longer);
 * a multi link waits once for all of its probes. libbpf 1.1 predates them,
 * so the link is created with the raw syscall (tracer/uprobe_multi.h).
 */

/*
 * uprobe_multi sessions (Linux 6.13): one program at the entry and, when
 * the entry returns 0, at the return. lock_call is attached so when the
 * kernel has them: the return programs go unused, and the calls whose
 * return tells nothing (bpf/locks.bpf.c) trap once. The same link layout.
 */

static bool kernel_at_least(int want_major, int want_minor)
{
	struct utsname u;
	int major, minor;

	if (uname(&u) || sscanf(u.release, "%d.%d", &major, &minor) != 2)
		return false;
	return major > want_major || (major == want_major && minor >= want_minor);
}

static bool kernel_has_uprobe_multi(void)
{
	return !getenv("IPCRACE_NO_UPROBE_MULTI") && kernel_at_least(6, 6);
}

static bool kernel_has_uprobe_session(void)
{
	return !getenv("IPCRACE_NO_UPROBE_SESSION") && kernel_at_least(6, 13);
}

bool probes__prepare(struct ipcrace_bpf *skel)
{
	struct bpf_program *prog;

	if (!kernel_has_uprobe_multi())
		return false;
	bpf_object__for_each_program(prog, skel->obj)
		if (bpf_program__type(prog) == BPF_PROG_TYPE_KPROBE)
			bpf_program__set_expected_attach_type(prog, ATTACH_TYPE_UPROBE_MULTI);
	if (kernel_has_uprobe_session()) {
		bpf_program__set_expected_attach_type(skel->progs.lock_call,
						      ATTACH_TYPE_UPROBE_SESSION);
		skel->rodata->lock_sessions = true;
	}
	return true;
}

/* One link per (program, return or not) of the batch. */
static int attach_batch_multi(struct probes *p, struct attach_batch *b, const char *path)
{
	__u64 *offsets = calloc(b->nr, sizeof(*offsets));
	__u64 *cookies = calloc(b->nr, sizeof(*cookies));
	bool *done = calloc(b->nr, sizeof(*done));
	char msg[128];
	size_t i, k;
	int err = 0;

	if (!offsets || !cookies || !done) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < b->nr && !err; i++) {
		__u32 cnt = 0;
		int fd;

		if (done[i])
			continue;
		for (k = i; k < b->nr; k++) {
			if (done[k] || b->jobs[k].prog != b->jobs[i].prog ||
			    b->jobs[k].ret != b->jobs[i].ret)
				continue;
			offsets[cnt] = b->jobs[k].offset;
			cookies[cnt++] = b->jobs[k].cookie;
			done[k] = true;
		}
		fd = probe_links__create(b->jobs[i].prog, path, offsets, cookies, cnt,
					 b->jobs[i].ret, b->jobs[i].pid);
		if (fd < 0) {
			err = fd;
			libbpf_strerror(err, msg, sizeof(msg));
			fprintf(stderr, "ipcrace: attach: %s%s in %s: %s\n",
				bpf_program__name(b->jobs[i].prog), b->jobs[i].ret ? " (return)" : "",
				b->name, msg);
			break;
		}
		err = probe_links__add(p, fd, b->jobs[i].pid, b->jobs[i].prog, path, offsets, cookies,
				       cnt, b->jobs[i].ret);
	}
out:
	free(offsets);
	free(cookies);
	free(done);
	return err;
}

struct probes *probes__new(struct ipcrace_bpf *skel, const struct probes_opts *opts)
{
	struct probes *p = calloc(1, sizeof(*p));

	if (!p) {
		errno = ENOMEM;
		return NULL;
	}
	p->skel = skel;
	p->opts = *opts;
	/* best effort: without it every file is worked out again for each process */
	p->plans = file_memo__new();
	p->multi = opts->multi;
	/* the empty program of --bare-probes is no session: entries and returns as before */
	p->sessions = opts->multi && !opts->bare && skel->rodata->lock_sessions;
	return p;
}

/* The next job of the batch for a worker thread, NULL when all are taken. */
static struct attach_job *batch_next(struct attach_batch *b)
{
	size_t i;

	pthread_mutex_lock(&b->lock);
	i = b->next++;
	pthread_mutex_unlock(&b->lock);
	return i < b->nr ? &b->jobs[i] : NULL;
}

static void *destroy_worker(void *arg)
{
	struct attach_job *j;

	while ((j = batch_next(arg)))
		bpf_link__destroy(j->link);
	return NULL;
}

static void *close_worker(void *arg)
{
	struct attach_job *j;

	while ((j = batch_next(arg)))
		close(j->fd);
	return NULL;
}

static void *attach_worker(void *arg)
{
	struct attach_job *j;

	while ((j = batch_next(arg))) {
		LIBBPF_OPTS(bpf_uprobe_opts, uo);

		uo.retprobe = j->ret;
		uo.bpf_cookie = j->cookie;
		j->link = bpf_program__attach_uprobe_opts(j->prog, j->pid ? j->pid : -1, j->path,
							  j->offset, &uo);
		j->err = j->link ? 0 : -errno;
	}
	return NULL;
}

/* Runs fn over the batch on up to nr_threads (<= CLOSE_THREADS) threads. */
static void batch_run(struct attach_batch *b, void *(*fn)(void *), size_t nr_threads)
{
	pthread_t threads[CLOSE_THREADS];
	size_t n = 0, i;

	b->next = 0;
	pthread_mutex_init(&b->lock, NULL);
	for (i = 0; i < nr_threads && i < CLOSE_THREADS && i < b->nr; i++)
		if (!pthread_create(&threads[n], NULL, fn, b))
			n++;
	if (n == 0)
		fn(b);
	for (i = 0; i < n; i++)
		pthread_join(threads[i], NULL);
	pthread_mutex_destroy(&b->lock);
}

void probes__free(struct probes *p)
{
	struct attach_batch b = {};
	size_t i;

	if (!p)
		return;
	/* the closer process: safe from a SIGKILL of ipcrace, several closes at once */
	if (p->nr_mlinks && !p->closer)
		p->closer = link_closer__new();
	if (p->closer)
		probe_links__to_closer(p);
	link_closer__free(p->closer);
	/* no closer: here, on threads (one after the other, 10 links made a run 0.45 s longer) */
	b.jobs = calloc(p->nr_mlinks, sizeof(*b.jobs));
	if (b.jobs) {
		for (i = 0; i < p->nr_mlinks; i++)
			if (p->mlinks[i].fd >= 0)
				b.jobs[b.nr++].fd = p->mlinks[i].fd;
		batch_run(&b, close_worker, CLOSE_THREADS);
		free(b.jobs);
	} else {
		for (i = 0; i < p->nr_mlinks; i++)
			if (p->mlinks[i].fd >= 0)
				close(p->mlinks[i].fd);
	}
	probe_links__free(p);
	b = (struct attach_batch){};
	/* detaching waits like attaching does: in parallel too */
	b.jobs = calloc(p->nr_links, sizeof(*b.jobs));
	if (b.jobs) {
		for (i = 0; i < p->nr_links; i++)
			b.jobs[i].link = p->links[i];
		b.nr = p->nr_links;
		batch_run(&b, destroy_worker, ATTACH_THREADS);
		free(b.jobs);
	} else {
		for (i = 0; i < p->nr_links; i++)
			bpf_link__destroy(p->links[i]);
	}
	free(p->links);
	free(p->done);
	free(p->locks_armed);
	file_memo__free(p->plans);
	free(p);
}

void probes__free_lazily(struct probes *p)
{
	if (!p || p->nr_links || !p->nr_mlinks) {
		probes__free(p);
		return;
	}
	if (!p->closer)
		p->closer = link_closer__new();
	if (p->closer) {
		/* the closer process holds the last references: these closes do not wait */
		probe_links__to_closer(p);
		link_closer__release(p->closer);
		p->closer = NULL;
	}
	probes__free(p);
}

static int add_job(struct attach_batch *b, struct probes *p, struct bpf_program *prog,
		   const char *path, const struct probe_spec *spec, __u64 offset, bool ret,
		   __u64 cookie)
{
	struct attach_job *grown;

	grown = realloc(b->jobs, (b->nr + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	b->jobs = grown;
	b->jobs[b->nr++] = (struct attach_job){
		.prog = p->opts.bare ? p->skel->progs.bare_uprobe : prog,
		.path = path, .spec = spec, .offset = offset, .cookie = cookie, .ret = ret,
	};
	return 0;
}

/*
 * Whether lock_enter (bpf/locks.bpf.c) keeps this function's attempt
 * pending until its return, and so ignores a second hit of its probe in
 * the same call: every lock but a blocking pthread_mutex_lock, whose
 * acquisition may be taken from the next event instead (no return).
 */
static bool lock_attempt_pending(const struct probe_spec *spec)
{
	return spec->role == LOCK_ROLE_LOCK &&
	       !(spec->obj == OBJ_MUTEX && !(spec->flags & (EVF_TRY | EVF_TIMED)));
}

/* Queues the probes of one function: 0 if absent, 1 if queued, or -errno. */
static int queue_spec(struct probes *p, struct attach_batch *b, const struct elf_syms *syms,
		      const char *path, const struct probe_spec *spec)
{
	const char *name = b->name;
	__typeof__(p->skel->progs) *progs = &p->skel->progs;
	struct bpf_program *enter = NULL, *exit = NULL;
	struct elf_func fn, init;
	__u64 site, cookie;
	__u32 flags = spec->flags;
	bool in_loop = false;
	int err;

	if (elf_syms__find(syms, spec->func, &fn))
		return 0;
	if (spec->init_alias && !elf_syms__find(syms, spec->init_alias, &init) &&
	    init.offset == fn.offset)
		flags |= EVF_MAYBE_INIT;
	/* a release's site may be in a loop: it is then kept pending to its return */
	site = p->opts.site == PROBE_SITE_AUTO ?
	       probe_site__choose(syms, &fn, spec->role == LOCK_ROLE_COND_WAIT,
				  lock_attempt_pending(spec) || spec->role == LOCK_ROLE_RELEASE,
				  &in_loop) : fn.offset;
	cookie = lock_cookie(spec->obj, flags, spec->role);
	if (!probe_site__probeable(syms, site)) {
		fprintf(stderr, "ipcrace: warning: %s in %s cannot be probed at +0x%llx; it is "
			"not traced (--probe-site auto finds another place)\n", spec->func, name,
			(unsigned long long)(site - fn.offset));
		return 0;
	}
	if (p->opts.verbose)
		fprintf(stderr, "ipcrace: probe %s at %s+0x%llx (entry +0x%llx%s)\n", spec->func,
			name, (unsigned long long)site, (unsigned long long)(site - fn.offset),
			in_loop && spec->role == LOCK_ROLE_RELEASE ?
			", in its retry loop: pending to its return" : "");

	/* one entry program for every role, the role in the cookie (lock_cookie.h) */
	enter = progs->lock_call;
	switch (spec->role) {
	case LOCK_ROLE_LOCK:
		exit = progs->lock_exit;
		break;
	case LOCK_ROLE_COND_WAIT:
		cookie |= LOCK_COOKIE_ARG2;
		exit = progs->cond_wait_exit;
		break;
	case LOCK_ROLE_THREAD_CREATE:
		exit = progs->thread_create_exit;
		break;
	case LOCK_ROLE_THREAD_JOIN:
		exit = progs->thread_join_exit;
		break;
	case LOCK_ROLE_BARRIER:
		exit = progs->barrier_exit;
		break;
	case LOCK_ROLE_ONCE:
		exit = progs->once_exit;
		break;
	case LOCK_ROLE_GUARD_ACQUIRE:
		exit = progs->guard_acquire_exit;
		break;
	case LOCK_ROLE_RELEASE:
		if (in_loop) {
			cookie |= LOCK_COOKIE_PENDING_RELEASE;
			exit = progs->release_exit;
		}
		break;
	case LOCK_ROLE_DESTROY:
	case LOCK_ROLE_SYNC_OBJECT:
	case LOCK_ROLE_GUARD_RELEASE:
		break;		/* entry only */
	}
	err = add_job(b, p, enter, path, spec, site, false, cookie);
	/*
	 * A session's entry program runs the return itself. The empty
	 * programs of --bare-probes go at the entries only with
	 * IPCRACE_BARE_NO_RETURNS=1: the floor of a lock pair without its
	 * return trap (tests/bench/run_lock_bench.sh).
	 */
	if (!err && exit && !p->sessions && !(p->opts.bare && getenv("IPCRACE_BARE_NO_RETURNS")))
		err = add_job(b, p, exit, path, spec, site, true, cookie);
	return err ? err : 1;
}

/*
 * Keeps the links that worked. ENOTSUPP: the kernel cannot probe that
 * instruction (a LOCK prefix, e.g. pthread_spin_lock's entry): that
 * function goes untraced, with a warning, and the rest still works.
 */
static int collect_links(struct probes *p, struct attach_batch *b)
{
	const char *path = b->name;

	struct bpf_link **grown;
	char msg[128];
	size_t i, k;
	int err = 0;

	grown = realloc(p->links, (p->nr_links + b->nr) * sizeof(*grown));
	if (!grown)
		err = -ENOMEM;
	else
		p->links = grown;
	for (i = 0; i < b->nr; i++) {
		struct attach_job *j = &b->jobs[i];

		if (j->err == -524) {
			fprintf(stderr, "ipcrace: warning: %s in %s cannot be probed there; "
				"it is not traced (try --probe-site auto)\n", j->spec->func, path);
			/* its other half (entry or return) must go too */
			for (k = 0; k < b->nr; k++)
				if (b->jobs[k].spec == j->spec && b->jobs[k].err == 0)
					b->jobs[k].err = -ECANCELED;
			continue;
		}
		if (j->err && j->err != -ECANCELED && !err) {
			err = j->err;
			libbpf_strerror(err, msg, sizeof(msg));
			fprintf(stderr, "ipcrace: attach: %s%s in %s: %s\n", j->spec->func,
				j->ret ? " (return)" : "", path, msg);
		}
	}
	for (i = 0; i < b->nr; i++) {
		if (!b->jobs[i].link)
			continue;
		if (err || b->jobs[i].err)
			bpf_link__destroy(b->jobs[i].link);
		else
			p->links[p->nr_links++] = b->jobs[i].link;
	}
	return err;
}

/* A file probed for every process counts as done for each process too. st: the file's. */
static bool seen_before(struct probes *p, const char *path, int pid, struct stat *st)
{
	struct file_id *grown;
	size_t i;

	if (stat(path, st))
		return true;
	for (i = 0; i < p->nr_done; i++)
		if (p->done[i].dev == st->st_dev && p->done[i].ino == st->st_ino &&
		    (p->done[i].pid == 0 || p->done[i].pid == pid))
			return true;
	grown = realloc(p->done, (p->nr_done + 1) * sizeof(*grown));
	if (!grown)
		return true;
	p->done = grown;
	p->done[p->nr_done++] = (struct file_id){ st->st_dev, st->st_ino, pid };
	return false;
}

static int attach_file(struct probes *p, const char *path, const char *name, int pid);

/*
 * A running process's lock calls go unrecorded while the probes of its
 * mutex functions are armed one by one (bpf/locks.bpf.c, lock_arming):
 * once, for the first file that has them (libc); a later file (libstdc++'s
 * guards, a library with a copy of its own) must not hide libc's lock
 * calls meanwhile. Best effort: without the map entry the window stays, as
 * it always was with perf-event probes.
 */
static bool arming_begin(struct probes *p, const struct attach_batch *b, int pid)
{
	bool has_mutex = false;
	int *grown;
	size_t i;

	for (i = 0; i < b->nr; i++)
		has_mutex |= b->jobs[i].spec->obj == OBJ_MUTEX &&
			     b->jobs[i].spec->role == LOCK_ROLE_RELEASE;
	for (i = 0; has_mutex && i < p->nr_locks_armed; i++)
		if (p->locks_armed[i] == pid)
			return false;
	if (!has_mutex)
		return false;
	grown = realloc(p->locks_armed, (p->nr_locks_armed + 1) * sizeof(*grown));
	if (!grown)
		return false;
	p->locks_armed = grown;
	p->locks_armed[p->nr_locks_armed++] = pid;
	return probes__arming_mark(p, pid);
}

bool probes__arming_mark(struct probes *p, int pid)
{
	__u32 key = pid;
	__u8 one = 1;

	if (bpf_map_update_elem(bpf_map__fd(p->skel->maps.lock_arming), &key, &one, BPF_ANY))
		return false;
	__atomic_add_fetch(&p->skel->bss->lock_arming_nr, 1, __ATOMIC_SEQ_CST);
	return true;
}

void probes__arming_end(struct probes *p, int pid)
{
	__u32 key = pid;

	__atomic_sub_fetch(&p->skel->bss->lock_arming_nr, 1, __ATOMIC_SEQ_CST);
	bpf_map_delete_elem(bpf_map__fd(p->skel->maps.lock_arming), &key);
}

int probes__attach_file(struct probes *p, const char *path)
{
	return attach_file(p, path, path, 0);
}

int probes__attach_file_as(struct probes *p, const char *path, const char *name)
{
	return attach_file(p, path, name, 0);
}

int probes__attach_file_pid(struct probes *p, const char *path, int pid)
{
	return attach_file(p, path, path, pid);
}

/*
 * The probes a file gets, into b (their count in *n): worked out once a run
 * per file (its symbols read, the sites decoded, -v's lines printed), then
 * taken from p->plans for every other process that maps it. A forking
 * service's new process maps some 36 files, and working them out again
 * (the symbol tables read, 45 names looked up in each) took about 30 ms of
 * ipcrace's CPU for each PostgreSQL backend, with the backend stopped
 * meanwhile. A file that cannot be read as ELF is not kept
 * (it may have gone with its process: another one's copy may read).
 */
static int plan_file(struct probes *p, struct attach_batch *b, const char *path,
		     const struct stat *st, int *n)
{
	const struct attach_job *kept;
	struct elf_syms *syms;
	size_t len, i;
	int err = 0;

	*n = 0;
	kept = file_memo__find(p->plans, st, &len, n);
	if (kept) {
		if (len) {
			b->jobs = malloc(len);
			if (!b->jobs)
				return -ENOMEM;
			memcpy(b->jobs, kept, len);
			b->nr = len / sizeof(*b->jobs);
		}
		/* this process's name of the file: /proc/PID/root/... attached */
		for (i = 0; i < b->nr; i++)
			b->jobs[i].path = path;
		return 0;
	}
	syms = elf_syms__open(path);
	if (!syms)
		return 0;
	for (i = 0; i < sizeof(specs) / sizeof(specs[0]) && !err; i++) {
		err = queue_spec(p, b, syms, path, &specs[i]);
		if (err > 0)
			(*n)++;
		err = err < 0 ? err : 0;
	}
	elf_syms__close(syms);
	/* before any attach fills in links and results: the plan alone is kept */
	if (!err)
		file_memo__add(p->plans, st, b->jobs, b->nr * sizeof(*b->jobs), *n);
	return err;
}

static int attach_file(struct probes *p, const char *path, const char *name, int pid)
{
	struct attach_batch b = { .name = name };
	struct stat st;
	bool arming;
	size_t i;
	int n = 0, err;

	if (seen_before(p, path, pid, &st))
		return 0;
	err = plan_file(p, &b, path, &st, &n);
	for (i = 0; i < b.nr; i++)
		b.jobs[i].pid = pid;
	arming = pid > 0 && !err && b.nr && arming_begin(p, &b, pid);
	if (!err && b.nr && p->multi) {
		err = attach_batch_multi(p, &b, path);
	} else if (!err && b.nr) {
		batch_run(&b, attach_worker, ATTACH_THREADS);
		err = collect_links(p, &b);
	}
	if (arming)
		probes__arming_end(p, pid);
	free(b.jobs);
	return err < 0 ? err : n;
}

bool probes__file_has_locks(const char *path)
{
	struct elf_syms *syms = elf_syms__open(path);
	struct elf_func fn;
	bool has;

	if (!syms)
		return false;
	has = elf_syms__find(syms, "pthread_mutex_lock", &fn) == 0;
	elf_syms__close(syms);
	return has;
}
