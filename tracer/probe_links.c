// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The uprobe_multi links of a probes object: kept per process, closed by
 * the link process (tracer/link_closer.c) when the process is gone
 * (probes__release_pid), and closed and made again around a sampling
 * window (probes__pause_pid, probes__resume_pid).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "link_closer.h"
#include "probes_int.h"
#include "uprobe_multi.h"

int probe_links__create(struct bpf_program *prog, const char *path, const __u64 *offsets,
			const __u64 *cookies, __u32 cnt, bool ret, int pid)
{
	/* a session program's links are sessions */
	__u32 type = bpf_program__expected_attach_type(prog) == ATTACH_TYPE_UPROBE_SESSION ?
		     ATTACH_TYPE_UPROBE_SESSION : ATTACH_TYPE_UPROBE_MULTI;

	return uprobe_multi__attach_type(bpf_program__fd(prog), type, path, offsets, cookies, cnt,
					 ret, pid);
}

/*
 * Best effort: a spec that cannot be kept (memory) leaves path NULL, and
 * its link is never paused (probes__pause_pid skips it).
 */
static void multi_spec_save(struct multi_spec *s, struct bpf_program *prog, const char *path,
			    const __u64 *offsets, const __u64 *cookies, __u32 cnt, bool ret)
{
	s->prog = prog;
	s->cnt = cnt;
	s->ret = ret;
	s->path = strdup(path);
	s->offsets = malloc(cnt * sizeof(*offsets));
	s->cookies = malloc(cnt * sizeof(*cookies));
	if (!s->path || !s->offsets || !s->cookies) {
		free(s->path);
		free(s->offsets);
		free(s->cookies);
		*s = (struct multi_spec){ 0 };
		return;
	}
	memcpy(s->offsets, offsets, cnt * sizeof(*offsets));
	memcpy(s->cookies, cookies, cnt * sizeof(*cookies));
}

static void multi_spec_free(struct multi_spec *s)
{
	free(s->path);
	free(s->offsets);
	free(s->cookies);
	*s = (struct multi_spec){ 0 };
}

int probe_links__add(struct probes *p, int fd, int pid, struct bpf_program *prog,
		     const char *path, const __u64 *offsets, const __u64 *cookies, __u32 cnt,
		     bool ret)
{
	struct multi_link *grown, *l;

	grown = realloc(p->mlinks, (p->nr_mlinks + 1) * sizeof(*grown));
	if (!grown) {
		close(fd);
		return -ENOMEM;
	}
	p->mlinks = grown;
	l = &p->mlinks[p->nr_mlinks++];
	*l = (struct multi_link){ .fd = fd, .pid = pid };
	if (pid > 0)
		multi_spec_save(&l->spec, prog, path, offsets, cookies, cnt, ret);
	return 0;
}

void probe_links__to_closer(struct probes *p)
{
	for (size_t i = 0; i < p->nr_mlinks; i++) {
		if (p->mlinks[i].fd >= 0)
			link_closer__close(p->closer, p->mlinks[i].fd);
		multi_spec_free(&p->mlinks[i].spec);
	}
	p->nr_mlinks = 0;
}

void probe_links__free(struct probes *p)
{
	for (size_t i = 0; i < p->nr_mlinks; i++)
		multi_spec_free(&p->mlinks[i].spec);
	free(p->mlinks);
	p->mlinks = NULL;
	p->nr_mlinks = 0;
}

/* Queues fd's close on the link process (made on first use). */
static void close_by_closer(struct probes *p, int fd)
{
	if (!p->closer)
		p->closer = link_closer__new();
	link_closer__close(p->closer, fd);
	p->closes_queued++;
}

int probes__release_pid(struct probes *p, int pid)
{
	size_t i, j;
	int n = 0;

	if (!p || pid <= 0)
		return 0;
	for (i = j = 0; i < p->nr_mlinks; i++) {
		if (p->mlinks[i].pid == pid) {
			if (p->mlinks[i].fd >= 0) {
				close_by_closer(p, p->mlinks[i].fd);
				n++;
			}
			multi_spec_free(&p->mlinks[i].spec);
			continue;
		}
		p->mlinks[j++] = p->mlinks[i];
	}
	p->nr_mlinks = j;
	/* a process that takes the pid over is probed afresh */
	for (i = j = 0; i < p->nr_done; i++)
		if (p->done[i].pid != pid)
			p->done[j++] = p->done[i];
	p->nr_done = j;
	for (i = j = 0; i < p->nr_locks_armed; i++)
		if (p->locks_armed[i] != pid)
			p->locks_armed[j++] = p->locks_armed[i];
	p->nr_locks_armed = j;
	return n;
}

int probes__pause_pid(struct probes *p, int pid, __u64 *settled)
{
	int n = 0;

	if (!p || pid <= 0)
		return 0;
	for (size_t i = 0; i < p->nr_mlinks; i++) {
		struct multi_link *l = &p->mlinks[i];

		if (l->pid != pid || l->fd < 0 || !l->spec.path)
			continue;
		close_by_closer(p, l->fd);
		p->paused++;
		l->fd = -1;
		n++;
	}
	*settled = p->closes_queued;
	return n;
}

bool probes__pause_settled(struct probes *p, __u64 settled)
{
	return !p->closer || link_closer__closed(p->closer) >= settled;
}

int probes__resume_pid(struct probes *p, int pid)
{
	bool marked = false;
	char msg[128];
	int n = 0, fd, err = 0;

	if (!p || pid <= 0)
		return 0;
	for (size_t i = 0; i < p->nr_mlinks; i++) {
		struct multi_link *l = &p->mlinks[i];
		struct multi_spec *s = &l->spec;

		if (l->pid != pid || l->fd >= 0 || !s->path)
			continue;
		/* its lock calls go unrecorded until every link is back */
		if (!marked)
			marked = probes__arming_mark(p, pid);
		fd = probe_links__create(s->prog, s->path, s->offsets, s->cookies, s->cnt, s->ret,
					 pid);
		if (fd < 0) {
			/* gone meanwhile, or the kernel refused: the entry goes at its exit */
			if (!err && fd != -ESRCH && fd != -ENOENT) {
				libbpf_strerror(fd, msg, sizeof(msg));
				fprintf(stderr, "ipcrace: attach: %s%s in %s for pid %d again: %s\n",
					bpf_program__name(s->prog), s->ret ? " (return)" : "", s->path,
					pid, msg);
			}
			err = err ? err : fd;
			continue;
		}
		l->fd = fd;
		n++;
	}
	/* before its calls are recorded again: no slot stashed before the pause holds */
	if (n)
		__atomic_add_fetch(&p->skel->bss->lock_links_epoch, 1, __ATOMIC_SEQ_CST);
	if (marked)
		probes__arming_end(p, pid);
	return n ? n : err;
}

size_t probes__released(const struct probes *p)
{
	size_t closed;

	if (!p)
		return 0;
	closed = link_closer__closed(p->closer);
	/* the pauses' closes are no links of exited processes */
	return closed > p->paused ? closed - p->paused : 0;
}
