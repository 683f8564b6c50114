// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The flight recorder's memory (tracer/flight.h).
 *
 * The ring holds entries of an 8-byte header (type, data length, entry
 * size) and the data padded to 8 bytes, oldest at tail, newest before
 * head. An entry never wraps: when the room left at the end is too small,
 * a marker entry (type 0) fills it and writing goes on at the start. To
 * make room, whole entries are dropped from the tail.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "../analyzer/array.h"
#include "flight.h"
#include "trace_writer.h"
#include "../analyzer/trace_format.h"

#define ENTRY_WRAP 0			/* fills the end of the ring */

struct entry {
	__u16 type;
	__u16 len;			/* data bytes */
	__u32 size;			/* whole entry: header and padded data */
};

struct flight {
	unsigned char *ring;
	size_t cap;
	size_t head;			/* where the next entry goes */
	size_t tail;			/* the oldest entry */
	size_t used;			/* bytes between tail and head, markers included */
	__u64 dropped_records;		/* overwritten */
	__u64 dropped_state;		/* state records that did not fit */

	struct trace_process *procs;	/* latest per pid */
	size_t nr_procs, cap_procs;
	struct trace_mapping *maps;	/* snapshots still needed, arrival order */
	size_t nr_maps, cap_maps, prune_at;
	struct ipcrace_stack *stacks;
	size_t nr_stacks, cap_stacks;
	__u64 *stack_ids;		/* open addressing, 2 * FLIGHT_STACKS_MAX slots, 0 empty */
	/* stack snapshots (--call-graph dwarf): their USTACK and USTACK_DATA
	 * records as entries (struct entry, data), in arrival order */
	unsigned char *ustacks;
	size_t ustacks_len, ustacks_cap;
	__u64 ustack_skipped_id;	/* a snapshot that did not fit: its parts go too */

	bool crashed;
	__u32 crash_pid;
	int crash_sig;
};

#define STACK_SLOTS (2 * FLIGHT_STACKS_MAX)

struct flight *flight__new(size_t bytes)
{
	struct flight *f = calloc(1, sizeof(*f));

	if (!f)
		goto err;
	bytes &= ~(size_t)(TRACE_ALIGN - 1);
	f->cap = bytes < FLIGHT_MIN_BYTES ? FLIGHT_MIN_BYTES : bytes;
	f->ring = malloc(f->cap);
	f->stack_ids = calloc(STACK_SLOTS, sizeof(*f->stack_ids));
	f->prune_at = 1024;
	if (!f->ring || !f->stack_ids)
		goto err;
	return f;
err:
	flight__free(f);
	errno = ENOMEM;
	return NULL;
}

void flight__free(struct flight *f)
{
	if (!f)
		return;
	free(f->ring);
	free(f->procs);
	free(f->maps);
	free(f->stacks);
	free(f->stack_ids);
	free(f->ustacks);
	free(f);
}

static struct entry *entry_at(const struct flight *f, size_t pos)
{
	return (struct entry *)(f->ring + pos);
}

static void ring__drop_oldest(struct flight *f)
{
	struct entry *e = entry_at(f, f->tail);

	if (e->type != ENTRY_WRAP)
		f->dropped_records++;
	f->tail += e->size;
	if (f->tail == f->cap)
		f->tail = 0;
	f->used -= e->size;
}

/* Room for need contiguous bytes at head, dropping the oldest entries. */
static void ring__make_room(struct flight *f, size_t need)
{
	for (;;) {
		if (!f->used)
			f->head = f->tail = 0;
		if (!f->used || f->tail < f->head) {
			size_t end = f->cap - f->head;
			struct entry *w;

			if (end >= need)
				return;
			/* too little at the end: a marker fills it, go on at the start */
			w = entry_at(f, f->head);
			w->type = ENTRY_WRAP;
			w->len = 0;
			w->size = end;
			f->used += end;
			f->head = 0;
			continue;
		}
		if (f->tail - f->head >= need)
			return;
		ring__drop_oldest(f);
	}
}

static int ring__add(struct flight *f, __u16 type, const void *data, size_t len)
{
	size_t need = sizeof(struct entry) + TRACE_PAD(len);
	struct entry *e;

	if (need > f->cap / 4)
		return -EINVAL;
	ring__make_room(f, need);
	e = entry_at(f, f->head);
	e->type = type;
	e->len = len;
	e->size = need;
	memcpy(e + 1, data, len);
	memset((unsigned char *)(e + 1) + len, 0, TRACE_PAD(len) - len);
	f->head += need;
	if (f->head == f->cap)
		f->head = 0;
	f->used += need;
	return 0;
}

/* The timestamp of the oldest event in the ring, 0 when there is none. */
static __u64 ring__window_start(const struct flight *f)
{
	size_t pos = f->tail, left = f->used;

	while (left) {
		const struct entry *e = entry_at(f, pos);

		if (e->type == TRACE_REC_EVENT) {
			struct ipcrace_event ev;

			memcpy(&ev, e + 1, sizeof(ev));
			return ev.ts;
		}
		pos += e->size;
		if (pos == f->cap)
			pos = 0;
		left -= e->size;
	}
	return 0;
}

static int state__process(struct flight *f, const struct trace_process *p)
{
	for (size_t i = 0; i < f->nr_procs; i++) {
		if (f->procs[i].pid == p->pid) {
			f->procs[i] = *p;
			return 0;
		}
	}
	if (f->nr_procs == FLIGHT_PROCESSES_MAX) {
		f->dropped_state++;
		return 0;
	}
	if (array__reserve(&f->procs, &f->cap_procs, f->nr_procs + 1, sizeof(*p)))
		return -ENOMEM;
	f->procs[f->nr_procs++] = *p;
	return 0;
}

/* Per pid, the latest snapshot at or before ts (0: none). */
static __u64 snapshot_before(const struct flight *f, __u32 pid, __u64 ts)
{
	__u64 best = 0;

	for (size_t i = 0; i < f->nr_maps; i++)
		if (f->maps[i].pid == pid && f->maps[i].ts <= ts && f->maps[i].ts > best)
			best = f->maps[i].ts;
	return best;
}

/* A mapping record a window starting at ws needs. */
static bool mapping_needed(const struct flight *f, const struct trace_mapping *m, __u64 ws)
{
	return !ws || m->ts >= ws || m->ts == snapshot_before(f, m->pid, ws);
}

/* Drops the snapshots older than the one in effect at the window's start. */
static void state__prune_mappings(struct flight *f)
{
	__u64 ws = ring__window_start(f);
	size_t n = 0;

	if (!f->dropped_records || !ws)
		return;
	for (size_t i = 0; i < f->nr_maps; i++)
		if (mapping_needed(f, &f->maps[i], ws))
			f->maps[n++] = f->maps[i];
	f->nr_maps = n;
}

static int state__mapping(struct flight *f, const struct trace_mapping *m)
{
	if (f->nr_maps >= f->prune_at) {
		state__prune_mappings(f);
		f->prune_at = f->nr_maps * 2 > 1024 ? f->nr_maps * 2 : 1024;
	}
	if (f->nr_maps == FLIGHT_MAPPINGS_MAX) {
		f->dropped_state++;
		return 0;
	}
	if (array__reserve(&f->maps, &f->cap_maps, f->nr_maps + 1, sizeof(*m)))
		return -ENOMEM;
	f->maps[f->nr_maps++] = *m;
	return 0;
}

static int state__stack(struct flight *f, const void *data, size_t len)
{
	struct ipcrace_stack s;
	size_t slot;

	memset(&s, 0, sizeof(s));
	memcpy(&s, data, len < sizeof(s) ? len : sizeof(s));
	if (!s.id)
		return 0;
	for (slot = s.id % STACK_SLOTS; f->stack_ids[slot]; slot = (slot + 1) % STACK_SLOTS)
		if (f->stack_ids[slot] == s.id)
			return 0;	/* the kernel sends each once; keep the first */
	if (f->nr_stacks == FLIGHT_STACKS_MAX) {
		f->dropped_state++;
		return 0;
	}
	if (array__reserve(&f->stacks, &f->cap_stacks, f->nr_stacks + 1, sizeof(s)))
		return -ENOMEM;
	f->stack_ids[slot] = s.id;
	f->stacks[f->nr_stacks++] = s;
	return 0;
}

/*
 * A snapshot is sent once, the first time its call site is seen: kept
 * beside the ring, up to FLIGHT_USTACK_BYTES_MAX.
 */
static int state__ustack(struct flight *f, __u16 type, const void *data, size_t len)
{
	size_t need = sizeof(struct entry) + TRACE_PAD(len), cap;
	struct entry e = { .type = type, .len = (__u16)len, .size = (__u32)need };
	__u64 id;
	void *p;

	if (len < sizeof(id))
		return -EINVAL;
	memcpy(&id, data, sizeof(id));	/* both records start with the snapshot's id */
	if (type == TRACE_REC_USTACK_DATA && id == f->ustack_skipped_id)
		return 0;
	if (f->ustacks_len + need > FLIGHT_USTACK_BYTES_MAX) {
		if (type == TRACE_REC_USTACK) {
			f->ustack_skipped_id = id;
			f->dropped_state++;
		}
		return 0;
	}
	if (f->ustacks_len + need > f->ustacks_cap) {
		cap = f->ustacks_cap ? f->ustacks_cap : 64 * 1024;
		while (cap < f->ustacks_len + need)
			cap *= 2;
		p = realloc(f->ustacks, cap);
		if (!p)
			return -ENOMEM;
		f->ustacks = p;
		f->ustacks_cap = cap;
	}
	memcpy(f->ustacks + f->ustacks_len, &e, sizeof(e));
	memcpy(f->ustacks + f->ustacks_len + sizeof(e), data, len);
	memset(f->ustacks + f->ustacks_len + sizeof(e) + len, 0, need - sizeof(e) - len);
	f->ustacks_len += need;
	return 0;
}

static void watch_for_crash(struct flight *f, const void *data)
{
	struct ipcrace_event e;
	int sig;

	memcpy(&e, data, sizeof(e));
	if (e.type != EV_EXIT || !(e.flags & EVF_GROUP_DEAD))
		return;
	/* the task's exit_code: a signal in the low 7 bits, an exit status above */
	sig = e.arg0 & 0x7f;
	if ((e.arg0 & 0xff00) || (sig != SIGSEGV && sig != SIGABRT && sig != SIGBUS))
		return;
	f->crashed = true;
	f->crash_pid = e.pid;
	f->crash_sig = sig;
}

int flight__add(struct flight *f, __u16 type, const void *data, size_t len)
{
	if (!f || !data)
		return -EINVAL;
	switch (type) {
	case TRACE_REC_PROCESS:
		if (len != sizeof(struct trace_process))
			return -EINVAL;
		return state__process(f, data);
	case TRACE_REC_MAPPING:
		if (len != sizeof(struct trace_mapping))
			return -EINVAL;
		return state__mapping(f, data);
	case TRACE_REC_STACK:
		return state__stack(f, data, len);
	case TRACE_REC_USTACK:
	case TRACE_REC_USTACK_DATA:
		return state__ustack(f, type, data, len);
	case TRACE_REC_EVENT:
		if (len != sizeof(struct ipcrace_event))
			return -EINVAL;
		watch_for_crash(f, data);
		return ring__add(f, type, data, len);
	default:
		return ring__add(f, type, data, len);
	}
}

bool flight__take_crash(struct flight *f, __u32 *pid, int *sig)
{
	if (!f || !f->crashed)
		return false;
	f->crashed = false;
	*pid = f->crash_pid;
	*sig = f->crash_sig;
	return true;
}

int flight__write(const struct flight *f, struct trace_writer *out,
		  const struct trace_footer *footer)
{
	__u64 ws = f->dropped_records ? ring__window_start(f) : 0;
	struct trace_footer foot = *footer;
	size_t pos = f->tail, left = f->used;
	bool first_event = true;
	int err = 0;

	for (size_t i = 0; i < f->nr_procs && !err; i++)
		err = trace_writer__add_process(out, &f->procs[i]);
	for (size_t i = 0; i < f->nr_maps && !err; i++)
		if (mapping_needed(f, &f->maps[i], ws))
			err = trace_writer__add_mapping(out, &f->maps[i]);
	for (size_t i = 0; i < f->nr_stacks && !err; i++)
		err = trace_writer__add_stack(out, &f->stacks[i]);
	for (size_t off = 0; off < f->ustacks_len && !err;) {
		struct entry e;

		memcpy(&e, f->ustacks + off, sizeof(e));
		err = trace_writer__add_ustack_record(out, e.type, f->ustacks + off + sizeof(e), e.len);
		off += e.size;
	}
	while (left && !err) {
		const struct entry *e = entry_at(f, pos);

		if (e->type == TRACE_REC_EVENT) {
			struct ipcrace_event ev;

			memcpy(&ev, e + 1, sizeof(ev));
			/* the story before was overwritten: the analyzer's loss resync */
			if (first_event && f->dropped_records)
				ev.flags |= EVF_AFTER_LOSS;
			first_event = false;
			err = trace_writer__add_event(out, &ev);
		}
		pos += e->size;
		if (pos == f->cap)
			pos = 0;
		left -= e->size;
	}
	if (f->dropped_records) {
		foot.flags |= TRACEF_WINDOW;
		foot.window_start_ns = ws;
		foot.window_dropped_records = f->dropped_records;
	}
	if (err) {
		trace_writer__close(out, NULL);
		return err;
	}
	return trace_writer__close(out, &foot);
}

size_t flight__memory(const struct flight *f)
{
	if (!f)
		return 0;
	return f->cap + f->cap_procs * sizeof(*f->procs) + f->cap_maps * sizeof(*f->maps) +
	       f->cap_stacks * sizeof(*f->stacks) + STACK_SLOTS * sizeof(*f->stack_ids) +
	       f->ustacks_cap;
}
