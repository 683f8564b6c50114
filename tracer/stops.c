// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "guardian.h"
#include "stops.h"

#define SERVICE_BATCH 256
#define CONTINUE_MAX 65536	/* entries continued in one pass: the map holds 4096 */
/* at the end: a BPF stop that read its knob just before it was cleared is published by then */
#define SETTLE_US 2000

struct stop_handler {
	__u32 reasons;		/* 1 << ARM_* */
	__u32 wants;		/* STOP_ON_* this consumer asked for */
	stops_handler_fn fn;
	void *ctx;
};

struct stops {
	__u32 *stop_wanted;		/* the knob in the syscall object's .bss */
	struct stops_opts opts;
	struct guardian guardian;
	int map_fd;			/* our own copy: it outlives the skeleton */
	struct stop_handler handlers[STOPS_MAX_HANDLERS];
	int nr_handlers;
	bool finished;
	/* how many stops were served, and how long a process stayed stopped */
	__u64 served, stopped_ns, stopped_ns_max;
	/* stops__service: the published count at the last walk, when it was */
	__u64 seen_published, walked_ns;
	bool walk_again;		/* the last walk stopped at its batch size */
};

/* a walk of the map at least this often, whatever the published count says */
#define STOPS_WALK_MS 100

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static const char *reason_name(__u32 reason)
{
	switch (reason) {
	case ARM_MAP:
		return "mapping";
	case ARM_EXEC:
		return "exec";
	case ARM_FORK:
		return "fork";
	case ARM_HOLD:
		return "hold";
	default:
		return "stop";
	}
}

struct stops *stops__new(int arm_pending_fd, __u32 *stop_wanted, const struct stops_opts *opts)
{
	struct stops *s = calloc(1, sizeof(*s));
	int err;

	if (!s)
		return NULL;
	s->stop_wanted = stop_wanted;
	s->opts = *opts;
	s->guardian.sock = -1;
	s->map_fd = fcntl(arm_pending_fd, F_DUPFD_CLOEXEC, 3);
	if (s->map_fd < 0) {
		err = -errno;
		fprintf(stderr, "ipcrace: stops: %m\n");
		goto err_free;
	}
	err = guardian__start(&s->guardian, s->map_fd);
	if (err)
		goto err_free;
	if (opts->verbose)
		fprintf(stderr, "ipcrace: guardian pid %d continues what ipcrace stopped "
			"if it dies\n", s->guardian.pid);
	return s;

err_free:
	if (s->map_fd >= 0)
		close(s->map_fd);
	free(s);
	errno = -err;
	return NULL;
}

/*
 * Continues pid and deletes its entry, listed all along for the guardian:
 * first under its continuing key, then the entry goes, then the SIGCONT,
 * then the continuing key. Deleting the entry before the SIGCONT is what
 * lets BPF stop the process again as soon as it runs (a stop reached in
 * between would otherwise be skipped), and the continuing key is what
 * keeps a SIGKILL of ipcrace between the two from leaving it stopped with
 * no entry. When the map has no room for that key, the SIGCONT goes
 * first: never stopped for good, at worst one stop skipped.
 */
static int continue_one(struct stops *s, __u32 pid)
{
	struct arm_stop cont = { .ts = mono_ns(), .reason = ARM_CONT };
	__u32 key = pid | ARM_KEY_CONTINUING;
	int err;

	if (bpf_map_update_elem(s->map_fd, &key, &cont, BPF_ANY)) {
		err = kill(pid, SIGCONT) ? -errno : 0;
		bpf_map_delete_elem(s->map_fd, &pid);
		return err;
	}
	bpf_map_delete_elem(s->map_fd, &pid);
	err = kill(pid, SIGCONT) ? -errno : 0;
	bpf_map_delete_elem(s->map_fd, &key);
	return err;
}

/* Continues every process in the map, in flight or not. */
static unsigned int continue_all(struct stops *s)
{
	unsigned int n = 0, i;
	__u32 pid;

	for (i = 0; i < CONTINUE_MAX && !bpf_map_get_next_key(s->map_fd, NULL, &pid); i++) {
		if (pid & ARM_KEY_CONTINUING) {
			/* none outlives continue_one: only if it failed to delete it */
			bpf_map_delete_elem(s->map_fd, &pid);
			if (!kill(pid & ~ARM_KEY_CONTINUING, SIGCONT))
				n++;
			continue;
		}
		if (!continue_one(s, pid))
			n++;
	}
	return n;
}

void stops__finish(struct stops *s)
{
	if (!s || s->finished)
		return;
	s->finished = true;
	for (int i = 0; i < s->nr_handlers; i++)
		s->handlers[i].wants = 0;
	*s->stop_wanted = 0;
	continue_all(s);
	usleep(SETTLE_US);
	continue_all(s);
}

void stops__free(struct stops *s)
{
	if (!s)
		return;
	stops__finish(s);
	/* the programs are detached by now: what is left was in flight */
	continue_all(s);
	if (s->opts.verbose && s->served)
		fprintf(stderr, "ipcrace: stops: %llu stops to arm, %llu us stopped on average, "
			"%llu us at most\n", (unsigned long long)s->served,
			(unsigned long long)(s->stopped_ns / s->served / 1000),
			(unsigned long long)(s->stopped_ns_max / 1000));
	guardian__dismiss(&s->guardian);
	close(s->map_fd);
	free(s);
}

int stops__add_handler(struct stops *s, __u32 reasons, stops_handler_fn fn, void *ctx)
{
	if (s->nr_handlers == STOPS_MAX_HANDLERS)
		return -ENOSPC;
	s->handlers[s->nr_handlers] = (struct stop_handler){ .reasons = reasons, .fn = fn,
							     .ctx = ctx };
	return s->nr_handlers++;
}

void stops__want(struct stops *s, int id, __u32 stop_on)
{
	__u32 all = 0;

	if (!s || s->finished || id < 0 || id >= s->nr_handlers)
		return;
	s->handlers[id].wants = stop_on;
	for (int i = 0; i < s->nr_handlers; i++)
		all |= s->handlers[i].wants;
	*s->stop_wanted = all;
}

static void serve_one(struct stops *s, __u32 pid, const struct arm_stop *st)
{
	__u64 took;

	if (!s->finished)
		for (int i = 0; i < s->nr_handlers; i++)
			if (s->handlers[i].reasons & (1u << st->reason))
				s->handlers[i].fn(s->handlers[i].ctx, pid, st);
	continue_one(s, pid);
	took = mono_ns() - st->ts;
	if (s->opts.verbose)
		fprintf(stderr, "ipcrace: stops: pid %u continued after its %s, stopped %llu us\n",
			pid, reason_name(st->reason), (unsigned long long)(took / 1000));
	s->served++;
	s->stopped_ns += took;
	if (took > s->stopped_ns_max)
		s->stopped_ns_max = took;
}

void stops__service(struct stops *s)
{
	struct arm_stop stops[SERVICE_BATCH];
	__u32 key, next, pids[SERVICE_BATCH];
	void *prev = NULL;
	size_t n = 0;

	if (!s)
		return;
	if (s->opts.published) {
		__u64 published = *s->opts.published, now = mono_ns();

		/* read before the walk: a stop published during it moves the count again */
		if (published == s->seen_published && !s->walk_again &&
		    now - s->walked_ns < STOPS_WALK_MS * 1000000ULL)
			return;
		s->seen_published = published;
		s->walked_ns = now;
	}
	s->walk_again = false;
	while (n < SERVICE_BATCH && !bpf_map_get_next_key(s->map_fd, prev, &next)) {
		key = next;
		prev = &key;
		/* in flight (ts 0), held, or being continued: not ours to continue now */
		if ((next & ARM_KEY_CONTINUING) ||
		    bpf_map_lookup_elem(s->map_fd, &next, &stops[n]) || !stops[n].ts ||
		    stops[n].reason == ARM_HOLD)
			continue;
		pids[n++] = next;
	}
	s->walk_again = n == SERVICE_BATCH;
	if (!n)
		return;
	/*
	 * Everything a process did before it was stopped (its exec, the
	 * mmap) was in the ring buffer before its entry here: drain it, so
	 * the handlers work on the process as it is now.
	 */
	if (s->opts.drain && !s->finished)
		s->opts.drain(s->opts.drain_ctx);
	for (size_t i = 0; i < n; i++)
		serve_one(s, pids[i], &stops[i]);
}

int stops__hold(struct stops *s, __u32 pid)
{
	struct arm_stop st = { .ts = mono_ns(), .reason = ARM_HOLD };
	int err;

	if (s->finished)
		return -ESRCH;
	/* published before the signal: the guardian continues it if we die now */
	if (bpf_map_update_elem(s->map_fd, &pid, &st, BPF_NOEXIST))
		return errno == EEXIST ? -EBUSY : -errno;
	if (kill(pid, SIGSTOP)) {
		err = -errno;
		bpf_map_delete_elem(s->map_fd, &pid);
		return err;
	}
	return 0;
}

int stops__release(struct stops *s, __u32 pid)
{
	struct arm_stop st;

	if (bpf_map_lookup_elem(s->map_fd, &pid, &st) || st.reason != ARM_HOLD)
		return -ENOENT;
	return continue_one(s, pid);
}

int stops__guardian_pid(const struct stops *s)
{
	return s ? s->guardian.pid : 0;
}
