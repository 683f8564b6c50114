// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include "dump.h"
#include "escape.h"
#include "objname.h"

const char *event_type__name(__u16 type)
{
	switch ((enum ipcrace_event_type)type) {
	case EV_FORK:			return "fork";
	case EV_THREAD_SPAWN:		return "thread-spawn";
	case EV_EXEC:			return "exec";
	case EV_EXIT:			return "exit";
	case EV_THREAD_CREATE_RET:	return "thread-create";
	case EV_THREAD_JOIN_RET:	return "thread-join";
	case EV_LOCK_ATTEMPT:		return "lock-attempt";
	case EV_LOCK_ACQUIRED:		return "lock-acquired";
	case EV_LOCK_RELEASE:		return "lock-release";
	case EV_LOCK_DESTROY:		return "lock-destroy";
	case EV_MMAP:			return "mmap";
	case EV_MUNMAP:			return "munmap";
	case EV_MREMAP:			return "mremap";
	case EV_SHMAT:			return "shmat";
	case EV_SHMDT:			return "shmdt";
	case EV_CHAN_SEND:		return "send";
	case EV_CHAN_RECV:		return "recv";
	case EV_FUTEX_WAKE:		return "futex-wake";
	case EV_FUTEX_WAIT_RET:		return "futex-wait";
	case EV_WAIT_REAPED:		return "wait-reaped";
	case EV_NAME_OBJECT:		return "name-object";
	case EV_MEM_ACCESS:		return "mem-access";
	case EV_ATOMIC_RELEASE:		return "atomic-release";
	case EV_SIGNAL_SEND:		return "signal-send";
	case EV_SIGNAL_DELIVER:		return "signal-deliver";
	case EV_CHAN_OPEN:		return "chan-open";
	case EV_SYNC_OBJECT:		return "sync-object";
	case EV_BARRIER_ARRIVE:		return "barrier-arrive";
	case EV_BARRIER_DEPART:		return "barrier-depart";
	case EV_ONCE_ENTER:		return "once-enter";
	case EV_ONCE_RET:		return "once-return";
	case EV_GUARD_ACQUIRE_RET:	return "guard-acquire";
	case EV_GUARD_RELEASE:		return "guard-release";
	case EV_CHAN_CONNECT:		return "connect";
	case EV_CHAN_ACCEPT:		return "accept";
	case EV_SYNC_UNSEEN:		return "sync-unseen";
	case EV_CONFIRM_HOLD:		return "confirm-hold";
	case EV_LOCK_GAP:		return "lock-gap";
	case EV_TYPE_MAX:
		break;
	}
	return "unknown";
}

static void put_flags(FILE *out, __u32 flags)
{
	static const struct {
		__u32 bit;
		const char *name;
	} names[] = {
		{ EVF_TRY, "try" }, { EVF_TIMED, "timed" }, { EVF_READ, "read" },
		{ EVF_WRITE, "write" }, { EVF_ATOMIC, "atomic" }, { EVF_RELAXED, "relaxed" },
		{ EVF_KEY_UNRESOLVED, "unresolved" }, { EVF_PROBE, "probe" },
		{ EVF_ACQUIRE_DEFERRED, "acquired-at-next-event" }, { EVF_AFTER_RUN, "after-run" },
		{ EVF_ORDERED, "ordered" },
	};
	bool first = true;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!(flags & names[i].bit))
			continue;
		fprintf(out, "%s%s", first ? " [" : ",", names[i].name);
		first = false;
	}
	if (!first)
		fputc(']', out);
}

static void put_object(FILE *out, const struct trace *t, const struct ipcrace_event *e)
{
	struct finding_object o = {
		.key = e->key, .addr = e->addr, .pid = e->pid, .obj = e->obj,
	};
	char name[OBJNAME_LEN];

	objname__format(name, sizeof(name), t, &o);
	fputc(' ', out);
	escape__text(out, name, sizeof(name));
}

/* What each event type says beyond who and when. */
static void put_details(FILE *out, const struct trace *t, const struct ipcrace_event *e)
{
	switch ((enum ipcrace_event_type)e->type) {
	case EV_FORK:
		fprintf(out, " child %llu", (unsigned long long)e->arg0);
		break;
	case EV_THREAD_SPAWN:
		fprintf(out, " new thread %llu", (unsigned long long)e->arg1);
		break;
	case EV_EXEC:
		break;
	case EV_EXIT:
		fprintf(out, " code %lld%s", (long long)e->arg0,
			e->flags & EVF_GROUP_DEAD ? " (last thread)" : "");
		break;
	case EV_THREAD_CREATE_RET:
	case EV_THREAD_JOIN_RET:
		fprintf(out, " pthread 0x%llx = %d", (unsigned long long)e->arg0, e->result);
		break;
	case EV_LOCK_ATTEMPT:
	case EV_LOCK_RELEASE:
	case EV_LOCK_DESTROY:
		put_object(out, t, e);
		break;
	case EV_LOCK_ACQUIRED:
		put_object(out, t, e);
		fprintf(out, " = %d", e->result);
		break;
	case EV_MMAP:
		fprintf(out, " 0x%llx len %llu prot 0x%llx flags 0x%llx", (unsigned long long)e->addr,
			(unsigned long long)e->arg0, (unsigned long long)(e->arg1 & 0xffffffff),
			(unsigned long long)(e->arg1 >> 32));
		break;
	case EV_MUNMAP:
		fprintf(out, " 0x%llx len %llu", (unsigned long long)e->addr,
			(unsigned long long)e->arg0);
		break;
	case EV_MREMAP:
		fprintf(out, " 0x%llx -> 0x%llx len %llu", (unsigned long long)e->arg1,
			(unsigned long long)e->addr, (unsigned long long)e->arg0);
		break;
	case EV_SHMAT:
		fprintf(out, " shmid %llu at 0x%llx", (unsigned long long)e->arg0,
			(unsigned long long)e->addr);
		break;
	case EV_SHMDT:
		fprintf(out, " 0x%llx", (unsigned long long)e->addr);
		break;
	case EV_CHAN_SEND:
	case EV_CHAN_RECV:
		put_object(out, t, e);
		fprintf(out, " fd %llu, %llu bytes", (unsigned long long)e->arg1,
			(unsigned long long)e->arg0);
		break;
	case EV_FUTEX_WAKE:
		put_object(out, t, e);
		break;
	case EV_FUTEX_WAIT_RET:
		put_object(out, t, e);
		fprintf(out, " = %d", e->result);
		break;
	case EV_WAIT_REAPED:
		fprintf(out, " pid %llu", (unsigned long long)e->arg0);
		break;
	case EV_NAME_OBJECT:
		put_object(out, t, e);
		break;
	case EV_MEM_ACCESS:
		fprintf(out, " %s %llu bytes at", e->flags & EVF_WRITE ? "write" : "read",
			(unsigned long long)e->arg1);
		put_object(out, t, e);
		fprintf(out, " ip 0x%llx", (unsigned long long)e->arg0);
		break;
	case EV_ATOMIC_RELEASE:
		fprintf(out, " %llu bytes at", (unsigned long long)e->arg1);
		put_object(out, t, e);
		fprintf(out, " ip 0x%llx (before it runs)", (unsigned long long)e->arg0);
		break;
	case EV_CHAN_OPEN:
		put_object(out, t, e);
		fprintf(out, " fd %lld, other fd %lld", (long long)e->arg0, (long long)e->arg1);
		break;
	case EV_SIGNAL_SEND:
		fprintf(out, " signal %llu to pid %llu (%s)", (unsigned long long)e->arg0,
			(unsigned long long)e->addr,
			e->arg1 == SIGNAL_BY_SIGACTION ? "sigaction" : "sent");
		break;
	case EV_SIGNAL_DELIVER:
		fprintf(out, " signal %llu: its handler runs", (unsigned long long)e->arg0);
		break;
	case EV_SYNC_OBJECT:
	case EV_GUARD_RELEASE:
		put_object(out, t, e);
		break;
	case EV_BARRIER_ARRIVE:
		put_object(out, t, e);
		fprintf(out, " count %llu", (unsigned long long)e->arg0);
		break;
	case EV_ONCE_ENTER:
		put_object(out, t, e);
		fprintf(out, " state 0x%llx", (unsigned long long)e->arg0);
		break;
	case EV_BARRIER_DEPART:
	case EV_ONCE_RET:
	case EV_GUARD_ACQUIRE_RET:
		put_object(out, t, e);
		fprintf(out, " = %d", e->result);
		break;
	case EV_CHAN_CONNECT:
		put_object(out, t, e);
		fprintf(out, " fd %lld", (long long)e->arg0);
		break;
	case EV_CHAN_ACCEPT:
		put_object(out, t, e);
		fprintf(out, " fd %lld, listening fd %lld", (long long)e->arg0, (long long)e->arg1);
		break;
	case EV_SYNC_UNSEEN:
		fprintf(out, " %llu atomic instructions not probed, first at 0x%llx",
			(unsigned long long)e->arg0, (unsigned long long)e->addr);
		break;
	case EV_CONFIRM_HOLD:
		put_object(out, t, e);
		fprintf(out, " held %llu ns at 0x%llx: %s", (unsigned long long)e->arg1,
			(unsigned long long)e->arg0, e->result ? "changed (conflict)" : "unchanged");
		break;
	case EV_LOCK_GAP:
		if (e->arg0 == LOCK_GAP_END)
			fprintf(out, " end: lock probes on again after %.6f s off",
				e->ts > e->arg1 ? (e->ts - e->arg1) / 1e9 : 0.0);
		else
			fprintf(out, " begin: lock probes off (sampling)");
		break;
	case EV_TYPE_MAX:
		break;
	}
}

static void put_time(FILE *out, __u64 ts, __u64 base)
{
	__u64 rel = ts >= base ? ts - base : 0;

	fprintf(out, "%4llu.%06llu", (unsigned long long)(rel / 1000000000ull),
		(unsigned long long)(rel % 1000000000ull / 1000));
}

static void put_status(FILE *out, int status)
{
	if (WIFEXITED(status))
		fprintf(out, "exited with status %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		fprintf(out, "killed by signal %d (SIG%s)", WTERMSIG(status),
			sigabbrev_np(WTERMSIG(status)) ?: "?");
	else
		fprintf(out, "wait status 0x%x", status);
}

static void write_header(FILE *out, const struct trace *t)
{
	fprintf(out, "# ipcrace trace version %u, host ", t->header.version);
	escape__text(out, t->header.host, sizeof(t->header.host));
	fputs(", kernel ", out);
	escape__text(out, t->header.kernel, sizeof(t->header.kernel));
	fputs("\n# command: ", out);
	escape__text(out, t->header.cmdline, sizeof(t->header.cmdline));
	fputc('\n', out);
}

static void write_processes(FILE *out, const struct trace *t, __u64 base)
{
	size_t i;

	for (i = 0; i < t->nr_processes; i++) {
		const struct trace_process *p = &t->processes[i];

		fputs("# process ", out);
		fprintf(out, "%u ppid %u comm '", p->pid, p->ppid);
		escape__text(out, p->comm, sizeof(p->comm));
		fputs("' exe ", out);
		escape__text(out, p->exe, sizeof(p->exe));
		fputs(" seen at ", out);
		put_time(out, p->ts, base);
		if (p->exit_status != -1) {
			fputs(", ", out);
			put_status(out, p->exit_status);
		}
		fputc('\n', out);
	}
}

/* One line per snapshot, and one per shared mapping: the IPC objects. */
static void write_mappings(FILE *out, const struct trace *t, __u64 base)
{
	size_t i, j;

	for (i = 0; i < t->nr_mappings; i = j) {
		const struct trace_mapping *m = &t->mappings[i];

		for (j = i; j < t->nr_mappings && t->mappings[j].pid == m->pid &&
			    t->mappings[j].ts == m->ts; j++)
			;
		fprintf(out, "# mappings of pid %u at ", m->pid);
		put_time(out, m->ts, base);
		fprintf(out, ": %zu entries\n", j - i);
		for (size_t k = i; k < j; k++) {
			const struct trace_mapping *s = &t->mappings[k];

			if (!(s->flags & MAPF_SHARED))
				continue;
			fprintf(out, "#   shared 0x%llx-0x%llx %c%c%c dev %u:%u ino %llu off 0x%llx ",
				(unsigned long long)s->start, (unsigned long long)s->end,
				s->prot & PROT_READ ? 'r' : '-', s->prot & PROT_WRITE ? 'w' : '-',
				s->prot & PROT_EXEC ? 'x' : '-', major(s->dev), minor(s->dev),
				(unsigned long long)s->ino, (unsigned long long)s->pgoff);
			escape__text(out, s->path[0] ? s->path : "[anonymous]", sizeof(s->path));
			fputc('\n', out);
		}
	}
}

static void write_footer(FILE *out, const struct trace *t)
{
	if (!t->has_footer) {
		fputs("# no footer: the recording was cut off, counters unknown\n", out);
	} else {
		fprintf(out, "# footer: %llu events written, %llu lost events, %llu lost stacks",
			(unsigned long long)t->footer.events,
			(unsigned long long)t->footer.lost_events,
			(unsigned long long)t->footer.lost_stacks);
		if (t->footer.flags & TRACEF_TARGET_EXITED) {
			fputs(", target ", out);
			put_status(out, t->footer.target_status);
		}
		fputc('\n', out);
	}
	if (!trace__is_complete(t)) {
		char missing[512];

		trace__describe_gaps(t, missing, sizeof(missing));
		fprintf(out, "# INCOMPLETE: %s\n", missing);
	}
	fprintf(out, "# %llu events read, %zu stacks, %zu mapping records, %zu processes\n",
		(unsigned long long)(t->streamed ? t->event_count : t->nr_events), t->nr_stacks,
		t->nr_mappings, t->nr_processes);
}

struct dump_pass {
	FILE *out;
	const struct trace *t;
	__u64 base;
};

static int dump_event(void *ctx, const struct ipcrace_event *e)
{
	struct dump_pass *d = ctx;
	FILE *out = d->out;

	put_time(out, e->ts, d->base);
	fprintf(out, " %u/%u ", e->pid, e->tid);
	escape__text(out, e->comm, sizeof(e->comm));
	fprintf(out, " %s", event_type__name(e->type));
	put_flags(out, e->flags);
	put_details(out, d->t, e);
	if (e->stack_id)
		fprintf(out, " stack %llu", (unsigned long long)e->stack_id);
	fputc('\n', out);
	return ferror(out) ? -EIO : 0;
}

int dump__write(FILE *out, const struct trace *t)
{
	struct dump_pass d = { .out = out, .t = t };
	__u64 first = 0;
	bool any;
	int err;

	if (!out || !t)
		return -EINVAL;
	/* times are relative to the start of recording, or the first event */
	any = t->streamed ? t->event_count > 0 : t->nr_events > 0;
	if (any)
		first = t->streamed ? t->first_event_ts : t->events[0].ts;
	d.base = t->header.start_mono_ns;
	if (any && (!d.base || first < d.base))
		d.base = first;

	write_header(out, t);
	write_processes(out, t, d.base);
	write_mappings(out, t, d.base);
	/* one event at a time: a streamed trace's events are never all in memory */
	err = trace__for_each_event(t, dump_event, &d);
	if (err)
		return err;
	write_footer(out, t);
	if (fflush(out) || ferror(out))
		return -EIO;
	return 0;
}
