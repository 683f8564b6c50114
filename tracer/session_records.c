// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The ring buffer's records into the trace: events, stacks, paths, joins;
 * what each event changes (a fork's child, an exec, an exit, a mapping),
 * and the process and mapping records the analyzer needs.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "access_probes.h"
#include "access_shared.h"
#include "attach.h"
#include "confirm.h"
#include "lock_sampler.h"
#include "probes.h"
#include "procmaps.h"
#include "session_int.h"
#include "syncscan.h"
#include "trace_writer.h"
#include "watch.h"

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
			session__probe_tree_file(s, m->path);
			if (access_probes__instruments(s->access, m->path))
				session__access_probe_tree_file(s, m->path);
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

void session__snapshot_maps(struct session *s, __u32 pid, __u64 ts)
{
	/* the process may already be gone: its parent's layout stands in */
	procmaps__snapshot(s->maps, pid, ts, write_mapping, s);
}

void session__write_process(struct session *s, __u32 pid, __u32 ppid, __u64 ts, const char *comm)
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
			session__probe_process(s, e->arg0);
		}
		session__write_process(s, e->arg0, e->pid, e->ts, e->comm);
		/* its own layout, while it exists: identities and symbols */
		session__snapshot_maps(s, e->arg0, e->ts);
		break;
	case EV_EXEC:
		/* the new program's own code gets access probes (it runs meanwhile) */
		session__access_probe_exe(s, e->pid);
		/* the parent stays what the fork record said: read it again */
		session__write_process(s, e->pid, parent_of(e->pid), e->ts, e->comm);
		session__snapshot_maps(s, e->pid, e->ts);
		break;
	case EV_EXIT:
		/* attach mode: an exited process's own probes go (a forking
		 * service would pile up eight links a child until the end) */
		if (s->attach && (e->flags & EVF_GROUP_DEAD)) {
			lock_sampler__exited(s->sampler, e->pid);
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
			session__snapshot_maps(s, e->pid, e->ts);
		break;
	default:
		break;
	}
}

int session__on_record(void *ctx, void *data, size_t size)
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
			session__adopt_late(s, ((const struct ipcrace_join *)data)->pid);
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
		} else if (access_shared__note_hit(s->hit_shared, &ev, &word)) {
			confirm__shared(s->confirm, &ev, &word,
					syncscan__pid_unseen(s->syncscan, ev.pid));
		}
		confirm__note(s->confirm, &ev);
		err = trace_writer__add_event(s->writer, &ev);
		s->nr_events++;
		lock_sampler__on_event(s->sampler, &ev);
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
