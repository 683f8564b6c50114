// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <linux/types.h>
#include <bpf/libbpf.h>

#include "ipcrace.skel.h"
#include "../bpf/events.h"
#include "elf_syms.h"
#include "probe_site.h"
#include "probes.h"

enum probe_role {
	ROLE_LOCK,		/* attempt at entry, acquired at return */
	ROLE_RELEASE,
	ROLE_DESTROY,
	ROLE_COND_WAIT,		/* mutex (argument 2) released, then re-acquired */
	ROLE_THREAD_CREATE,
	ROLE_THREAD_JOIN,
};

struct probe_spec {
	const char *func;
	enum probe_role role;
	__u16 obj;
	__u32 flags;
	const char *init_alias;	/* init function that may share the address */
};

static const struct probe_spec specs[] = {
	{ "pthread_mutex_lock", ROLE_LOCK, OBJ_MUTEX, 0 },
	{ "pthread_mutex_trylock", ROLE_LOCK, OBJ_MUTEX, EVF_TRY },
	{ "pthread_mutex_timedlock", ROLE_LOCK, OBJ_MUTEX, EVF_TIMED },
	{ "pthread_mutex_clocklock", ROLE_LOCK, OBJ_MUTEX, EVF_TIMED },
	{ "pthread_mutex_unlock", ROLE_RELEASE, OBJ_MUTEX, 0, "pthread_mutex_init" },
	{ "pthread_mutex_destroy", ROLE_DESTROY, OBJ_MUTEX, 0 },
	{ "pthread_rwlock_rdlock", ROLE_LOCK, OBJ_RWLOCK, EVF_READ },
	{ "pthread_rwlock_wrlock", ROLE_LOCK, OBJ_RWLOCK, EVF_WRITE },
	{ "pthread_rwlock_tryrdlock", ROLE_LOCK, OBJ_RWLOCK, EVF_READ | EVF_TRY },
	{ "pthread_rwlock_trywrlock", ROLE_LOCK, OBJ_RWLOCK, EVF_WRITE | EVF_TRY },
	{ "pthread_rwlock_timedrdlock", ROLE_LOCK, OBJ_RWLOCK, EVF_READ | EVF_TIMED },
	{ "pthread_rwlock_timedwrlock", ROLE_LOCK, OBJ_RWLOCK, EVF_WRITE | EVF_TIMED },
	{ "pthread_rwlock_clockrdlock", ROLE_LOCK, OBJ_RWLOCK, EVF_READ | EVF_TIMED },
	{ "pthread_rwlock_clockwrlock", ROLE_LOCK, OBJ_RWLOCK, EVF_WRITE | EVF_TIMED },
	{ "pthread_rwlock_unlock", ROLE_RELEASE, OBJ_RWLOCK, 0, "pthread_rwlock_init" },
	{ "pthread_spin_lock", ROLE_LOCK, OBJ_SPIN, 0 },
	{ "pthread_spin_trylock", ROLE_LOCK, OBJ_SPIN, EVF_TRY },
	{ "pthread_spin_unlock", ROLE_RELEASE, OBJ_SPIN, 0, "pthread_spin_init" },
	{ "sem_wait", ROLE_LOCK, OBJ_SEM, 0 },
	{ "sem_trywait", ROLE_LOCK, OBJ_SEM, EVF_TRY },
	{ "sem_timedwait", ROLE_LOCK, OBJ_SEM, EVF_TIMED },
	{ "sem_clockwait", ROLE_LOCK, OBJ_SEM, EVF_TIMED },
	{ "sem_post", ROLE_RELEASE, OBJ_SEM, 0 },
	{ "sem_destroy", ROLE_DESTROY, OBJ_SEM, 0 },
	{ "pthread_cond_wait", ROLE_COND_WAIT, OBJ_MUTEX, 0 },
	{ "pthread_cond_timedwait", ROLE_COND_WAIT, OBJ_MUTEX, EVF_TIMED },
	{ "pthread_cond_clockwait", ROLE_COND_WAIT, OBJ_MUTEX, EVF_TIMED },
	{ "pthread_create", ROLE_THREAD_CREATE, OBJ_NONE, 0 },
	{ "pthread_join", ROLE_THREAD_JOIN, OBJ_NONE, 0 },
	{ "pthread_timedjoin_np", ROLE_THREAD_JOIN, OBJ_NONE, 0 },
	{ "pthread_clockjoin_np", ROLE_THREAD_JOIN, OBJ_NONE, 0 },
	{ "pthread_tryjoin_np", ROLE_THREAD_JOIN, OBJ_NONE, 0 },
};

/* Same layout as COOKIE_* in bpf/locks.bpf.c. */
#define COOKIE_LOCK_ARG2 (1ULL << 48)

struct file_id {
	dev_t dev;
	ino_t ino;
};

struct probes {
	struct ipcrace_bpf *skel;
	struct probes_opts opts;
	struct bpf_link **links;
	size_t nr_links;
	struct file_id *done;
	size_t nr_done;
};

struct probes *probes__new(struct ipcrace_bpf *skel, const struct probes_opts *opts)
{
	struct probes *p = calloc(1, sizeof(*p));

	if (!p) {
		errno = ENOMEM;
		return NULL;
	}
	p->skel = skel;
	p->opts = *opts;
	return p;
}

void probes__free(struct probes *p)
{
	size_t i;

	if (!p)
		return;
	for (i = 0; i < p->nr_links; i++)
		bpf_link__destroy(p->links[i]);
	free(p->links);
	free(p->done);
	free(p);
}

static int attach_one(struct probes *p, struct bpf_program *prog, const char *path,
		      __u64 offset, bool ret, __u64 cookie, const char *func)
{
	LIBBPF_OPTS(bpf_uprobe_opts, uo, .retprobe = ret, .bpf_cookie = cookie);
	struct bpf_link **grown, *link;
	char msg[128];
	int err;

	if (p->opts.bare)
		prog = p->skel->progs.bare_uprobe;
	/* pid -1: the probe must also fire in children forked later; the BPF
	 * program drops events of untraced processes first thing. */
	link = bpf_program__attach_uprobe_opts(prog, -1, path, offset, &uo);
	if (!link) {
		err = -errno;
		if (err == -524)
			return err;
		libbpf_strerror(err, msg, sizeof(msg));
		fprintf(stderr, "ipcrace: attach: %s%s in %s: %s\n", func,
			ret ? " (return)" : "", path, msg);
		return err;
	}
	grown = realloc(p->links, (p->nr_links + 1) * sizeof(*grown));
	if (!grown) {
		bpf_link__destroy(link);
		return -ENOMEM;
	}
	p->links = grown;
	p->links[p->nr_links++] = link;
	return 0;
}

static int attach_spec(struct probes *p, const struct elf_syms *syms, const char *path,
		       const struct probe_spec *spec)
{
	__typeof__(p->skel->progs) *progs = &p->skel->progs;
	struct elf_func fn, init;
	__u64 site, cookie;
	__u32 flags = spec->flags;
	int err;

	if (elf_syms__find(syms, spec->func, &fn))
		return 0;
	if (spec->init_alias && !elf_syms__find(syms, spec->init_alias, &init) &&
	    init.offset == fn.offset)
		flags |= EVF_MAYBE_INIT;
	site = p->opts.site == PROBE_SITE_AUTO ?
	       probe_site__choose(syms, &fn, spec->role == ROLE_COND_WAIT) : fn.offset;
	cookie = spec->obj | (__u64)flags << 16;
	if (p->opts.verbose)
		fprintf(stderr, "ipcrace: probe %s at %s+0x%llx (entry +0x%llx)\n", spec->func,
			path, (unsigned long long)site, (unsigned long long)(site - fn.offset));

	switch (spec->role) {
	case ROLE_LOCK:
		err = attach_one(p, progs->lock_enter, path, site, false, cookie, spec->func);
		if (!err)
			err = attach_one(p, progs->lock_exit, path, site, true, cookie, spec->func);
		break;
	case ROLE_RELEASE:
		err = attach_one(p, progs->lock_release, path, site, false, cookie, spec->func);
		break;
	case ROLE_DESTROY:
		err = attach_one(p, progs->lock_destroy, path, site, false, cookie, spec->func);
		break;
	case ROLE_COND_WAIT:
		cookie |= COOKIE_LOCK_ARG2;
		err = attach_one(p, progs->cond_wait_enter, path, site, false, cookie, spec->func);
		if (!err)
			err = attach_one(p, progs->cond_wait_exit, path, site, true, cookie, spec->func);
		break;
	case ROLE_THREAD_CREATE:
		err = attach_one(p, progs->thread_create_enter, path, site, false, 0, spec->func);
		if (!err)
			err = attach_one(p, progs->thread_create_exit, path, site, true, 0, spec->func);
		break;
	case ROLE_THREAD_JOIN:
		err = attach_one(p, progs->thread_join_enter, path, site, false, 0, spec->func);
		if (!err)
			err = attach_one(p, progs->thread_join_exit, path, site, true, 0, spec->func);
		break;
	}
	return err ? err : 1;
}

static bool seen_before(struct probes *p, const char *path)
{
	struct file_id *grown;
	struct stat st;
	size_t i;

	if (stat(path, &st))
		return true;
	for (i = 0; i < p->nr_done; i++)
		if (p->done[i].dev == st.st_dev && p->done[i].ino == st.st_ino)
			return true;
	grown = realloc(p->done, (p->nr_done + 1) * sizeof(*grown));
	if (!grown)
		return true;
	p->done = grown;
	p->done[p->nr_done++] = (struct file_id){ st.st_dev, st.st_ino };
	return false;
}

int probes__attach_file(struct probes *p, const char *path)
{
	struct elf_syms *syms;
	size_t i;
	int n = 0, err = 0;

	if (seen_before(p, path))
		return 0;
	syms = elf_syms__open(path);
	if (!syms)
		return 0;
	for (i = 0; i < sizeof(specs) / sizeof(specs[0]); i++) {
		err = attach_spec(p, syms, path, &specs[i]);
		/* ENOTSUPP: the kernel cannot probe that instruction (a LOCK
		 * prefix, e.g. pthread_spin_lock's entry): the rest still works */
		if (err == -524) {
			fprintf(stderr, "ipcrace: warning: %s in %s cannot be probed there; "
				"it is not traced (try --probe-site auto)\n", specs[i].func, path);
			err = 0;
			continue;
		}
		if (err < 0)
			break;
		n += err;
	}
	elf_syms__close(syms);
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
