// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Trace reader. The file is hostile: every length is checked against the
 * bytes that are really there before it is used, nothing is allocated from
 * a length field, and each record is copied out with memcpy (the buffer may
 * be unaligned when it comes from trace__read_mem).
 *
 * What is refused (NULL, errno = EINVAL, one line in err): not an ipcrace
 * trace (no magic), an unsupported version, a file from a host of the
 * other byte order, a header of the wrong size, a file that ends inside its
 * header. Version 1 files keep their strict rules (analyzer/trace_v1.c).
 *
 * Versions 2 and 3 (analyzer/trace_format.h) are read record by record
 * (an EVENTS block of version 3 is one record); nothing after the header
 * refuses the file:
 *   - a header whose checksum is wrong is used anyway (its strings forced
 *     to end in NUL), with header_damaged = true;
 *   - bytes that are not a whole record (bad magic, length over
 *     TRACE_RECORD_MAX, bad checksum) are skipped up to the next 8-byte
 *     position where a record's magic and checksum hold: one damaged
 *     region, counted in skipped_bytes; the sequence number of the record
 *     found says how many records the region held (skipped_records);
 *   - a record that passes its checksum but is not what its type says
 *     (wrong length, an event type or object kind out of range, a stack of
 *     more than IPCRACE_MAX_STACK frames, a mapping with start > end) is
 *     skipped and counted the same way: the analyzer must never index its
 *     tables with it (an event block breaking any rule of its encoding
 *     loses all its events: none is used);
 *   - after any of these the first event read carries EVF_AFTER_LOSS, so
 *     the analyzer forgets what the lost records could have changed;
 *   - the bytes after the last whole record (a file cut off, or blocks
 *     allocated but never written before a crash) are tail_bytes, with
 *     truncated = true; anything after the footer is a damaged region;
 *   - records of unknown type are skipped (a newer writer may add types
 *     without a new version).
 * Strings (comm, paths, host) are forced to end in NUL.
 *
 * Memory is bounded by the input: every stored record consumed at least
 * 24 bytes of input and is stored in at most 344 bytes, every event of a
 * block at least 2 bytes and is stored in 120, and arrays grow by
 * doubling, so a trace read whole takes at most ~120 times the file size
 * (a streamed one holds no event: trace__open_fd). Time is
 * bounded too: a resynchronization tries a checksum (of at most
 * TRACE_RECORD_MAX bytes) only where the magic word is.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "trace.h"
#include "trace_format.h"
#include "trace_read.h"
#include "trace_block.h"
#include "trace_maps.h"
#include "array.h"
#include "crc32.h"
#include "ustack.h"
#include "identity.h"


/* Formats "trace: [NAME: ]MESSAGE" into err and returns -errnum. */
int reader__fail(struct reader *r, int errnum, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!r->err || !r->errlen)
		return -errnum;
	if (r->name)
		n = snprintf(r->err, r->errlen, "trace: %s: ", r->name);
	else
		n = snprintf(r->err, r->errlen, "trace: ");
	if (n < 0 || (size_t)n >= r->errlen)
		return -errnum;
	va_start(ap, fmt);
	vsnprintf(r->err + n, r->errlen - n, fmt, ap);
	va_end(ap);
	return -errnum;
}

/* One value in a set of u64 (a keymap of keys {a = v}): true when it was new. */
static int seen__add(struct keymap **set, __u64 v, bool *added)
{
	struct ipcrace_key k = { .a = v };
	__u64 dummy;

	*added = false;
	if (!*set) {
		*set = keymap__new();
		if (!*set)
			return -ENOMEM;
	}
	if (keymap__get(*set, &k, &dummy))
		return 0;
	*added = true;
	return keymap__set(*set, &k, 1);
}

/*
 * What the trace remembers of every event, kept or not: a count, the
 * first time, the distinct threads and processes, the first use of each
 * stack id, where the gaps are. Consecutive events mostly repeat their
 * thread and stack: the last ones are checked first.
 */
static int reader__summarize(struct reader *r, const struct ipcrace_event *e)
{
	struct trace *t = r->t;
	bool added;

	if (!t->event_count++)
		t->first_event_ts = e->ts;
	t->events_by_type[e->type]++;	/* checked < EV_TYPE_MAX */
	if (e->flags & EVF_AFTER_LOSS) {
		if (array__reserve(&t->after_loss, &r->cap_after_loss, t->nr_after_loss + 1,
				   sizeof(*t->after_loss)))
			return -ENOMEM;
		t->after_loss[t->nr_after_loss++] = t->event_count - 1;
	}
	if (t->event_count == 1 || e->tid != r->last_tid) {
		if (seen__add(&r->seen_threads, e->tid, &added))
			return -ENOMEM;
		t->nr_event_threads += added;
		r->last_tid = e->tid;
	}
	if (t->event_count == 1 || e->pid != r->last_pid) {
		if (seen__add(&r->seen_pids, e->pid, &added))
			return -ENOMEM;
		if (added) {
			if (array__reserve(&t->event_pids, &r->cap_event_pids, t->nr_event_pids + 1,
					   sizeof(*t->event_pids)))
				return -ENOMEM;
			t->event_pids[t->nr_event_pids++] = e->pid;
		}
		r->last_pid = e->pid;
	}
	if (e->stack_id &&
	    r->recent_stacks[(e->stack_id ^ e->stack_id >> 29) & 63] != e->stack_id) {
		if (seen__add(&r->seen_stacks, e->stack_id, &added))
			return -ENOMEM;
		if (added) {
			if (array__reserve(&t->stack_uses, &r->cap_stack_uses, t->nr_stack_uses + 1,
					   sizeof(*t->stack_uses)))
				return -ENOMEM;
			t->stack_uses[t->nr_stack_uses++] = (struct trace_stack_use){
				.id = e->stack_id, .ts = e->ts, .pid = e->pid,
			};
		}
		r->recent_stacks[(e->stack_id ^ e->stack_id >> 29) & 63] = e->stack_id;
	}
	return 0;
}

void reader__free_summaries(struct reader *r)
{
	keymap__free(r->seen_threads);
	keymap__free(r->seen_pids);
	keymap__free(r->seen_stacks);
	r->seen_threads = r->seen_pids = r->seen_stacks = NULL;
}

/*
 * A later pass: the event as the first pass stored it. Its gaps are the
 * first pass's (after_loss): the other records are not decoded again.
 * Fields are stored only when they change (see reader__event).
 */
static int reader__deliver(struct reader *r, struct ipcrace_event *e)
{
	const struct trace *src = r->source;
	__u64 idx = r->events_seen - 1;
	bool loss = false;
	__u64 stack_id;

	if (r->next_loss < src->nr_after_loss && src->after_loss[r->next_loss] == idx) {
		loss = true;
		r->next_loss++;
	}
	if (loss != !!(e->flags & EVF_AFTER_LOSS))
		e->flags ^= EVF_AFTER_LOSS;
	stack_id = trace__stack_id(src, e->stack_id);
	if (stack_id != e->stack_id)
		e->stack_id = stack_id;
	r->event_ret = r->on_event(r->ctx, e);
	return r->event_ret ? -ECANCELED : 0;
}

/*
 * An event decoded and checked (type and object kind in range): the gap
 * flag, then stored, summarized or handed on as the mode says. The
 * fix-ups are stores only where something is to fix: a narrow store into
 * the copy stalls every wider load of it that follows (store forwarding),
 * and the detectors load the event many times.
 */
static int reader__take_event(struct reader *r, struct ipcrace_event *e)
{
	struct trace *t = r->t;

	if (r->after_gap) {
		/* records were lost just before: the analyzer's loss resync */
		e->flags |= EVF_AFTER_LOSS;
		r->after_gap = false;
	}
	r->events_seen++;
	if (r->mode == READER_EVENTS)
		return reader__deliver(r, e);
	if (reader__summarize(r, e))
		return reader__nomem(r);
	if (r->mode == READER_META) {
		/* the first pass's reader (trace__open_fd_each): it may stop listening */
		if (r->on_event && r->on_event(r->ctx, e))
			r->on_event = NULL;
		return 0;
	}
	if (array__reserve(&t->events, &r->cap_events, t->nr_events + 1, sizeof(*e)))
		return reader__nomem(r);
	t->events[t->nr_events++] = *e;
	return 0;
}

/*
 * The record is copied whole, then checked and fixed up on the copy (the
 * mapped file may change under the reader: what was checked must be what
 * is used).
 */
static int reader__event(struct reader *r, __u32 idx, const unsigned char *data, __u32 len)
{
	struct ipcrace_event e;

	if (len != sizeof(e))
		return reader__fail_rec(r, idx, "event of %u bytes, expected %zu", len, sizeof(e));
	memcpy(&e, data, sizeof(e));
	if (e.type == 0 || e.type >= EV_TYPE_MAX)
		return reader__fail_rec(r, idx, "event type %u out of range", e.type);
	if (e.obj >= OBJ_KIND_MAX)
		return reader__fail_rec(r, idx, "event object kind %u out of range", e.obj);
	if (e.hdr.kind != IPCRACE_REC_EVENT || e.hdr.size != sizeof(e))
		e.hdr = (struct ipcrace_rec){ .kind = IPCRACE_REC_EVENT, .size = sizeof(e) };
	if (e.comm[sizeof(e.comm) - 1])
		e.comm[sizeof(e.comm) - 1] = '\0';
	return reader__take_event(r, &e);
}

/*
 * Version 3: a block of events (trace_block.h), decoded whole into a
 * buffer before any of its events is used, so a block that breaks a rule
 * is skipped whole (-EINVAL), like a record of bad checksum. The decoder
 * copies nothing it did not check out of the (possibly changing) map.
 */
static int reader__events(struct reader *r, __u32 idx, const unsigned char *data, __u32 len)
{
	const char *why;
	int nr, err;

	if (r->t->format_version < TRACE_VERSION)
		return 0;	/* not a type of that version: skipped as unknown */
	if (!r->block) {
		r->block = malloc(TRACE_BLOCK_MAX_EVENTS * sizeof(*r->block));
		r->block_dec = malloc(sizeof(*r->block_dec));
		if (!r->block || !r->block_dec)
			return reader__nomem(r);
	}
	nr = trace_block__decode(r->block_dec, data, len, r->block, &why);
	if (nr < 0)
		return reader__fail_rec(r, idx, "%s", why);
	for (int i = 0; i < nr; i++) {
		err = reader__take_event(r, &r->block[i]);
		if (err)
			return err;
	}
	return 0;
}

int reader__record(struct reader *r, __u32 idx, __u16 type, const unsigned char *data,
		   __u32 len)
{
	/* a later pass: the other records were decoded by the first */
	if (r->mode == READER_EVENTS && type != TRACE_REC_EVENT && type != TRACE_REC_EVENTS &&
	    type != TRACE_REC_FOOTER)
		return 0;
	switch (type) {
	case TRACE_REC_EVENT:
		return reader__event(r, idx, data, len);
	case TRACE_REC_EVENTS:
		return reader__events(r, idx, data, len);
	case TRACE_REC_STACK:
		return reader__stack(r, idx, data, len);
	case TRACE_REC_MAPPING:
		return reader__mapping(r, idx, data, len);
	case TRACE_REC_MAPPINGS:
		return reader__mappings(r, idx, data, len);
	case TRACE_REC_PROCESS:
		return reader__process(r, idx, data, len);
	case TRACE_REC_FOOTER:
		return reader__footer(r, idx, data, len);
	case TRACE_REC_WATCH_STATS:
		return reader__watch_stats(r, idx, data, len);
	case TRACE_REC_LOCK_SAMPLING:
		return reader__lock_sampling(r, idx, data, len);
	case TRACE_REC_USTACK:
	case TRACE_REC_USTACK_DATA:
		return reader__ustack(r, idx, type, data, len);
	case TRACE_REC_USTACK_ZDATA:
		return reader__ustack_zdata(r, idx, data, len);
	default:
		/* forward compatibility: a newer writer's record type */
		return 0;
	}
}

static int reader__header(struct reader *r, size_t *off)
{
	struct trace_file_prefix prefix;
	struct trace_header *h = &r->t->header;
	bool v1;

	if (r->len < TRACE_MAGIC_LEN || memcmp(r->buf, TRACE_MAGIC, TRACE_MAGIC_LEN))
		return reader__fail(r, EINVAL, "not an ipcrace trace");
	if (r->len < sizeof(prefix))
		return reader__fail(r, EINVAL, "file header cut off");
	memcpy(&prefix, r->buf, sizeof(prefix));
	/* byte order first: on a foreign host the version reads as garbage */
	if (prefix.byte_order == TRACE_BYTE_ORDER_SWAPPED)
		return reader__fail(r, EINVAL, "written on a host of the other byte order, "
				    "not supported");
	if (prefix.version < TRACE_VERSION_V1 || prefix.version > TRACE_VERSION)
		return reader__fail(r, EINVAL, "version %u is not supported (this ipcrace "
				    "reads versions %u to %u)", prefix.version, TRACE_VERSION_V1,
				    TRACE_VERSION);
	v1 = prefix.version == TRACE_VERSION_V1;
	r->t->format_version = prefix.version;
	if (prefix.byte_order != TRACE_BYTE_ORDER)
		return reader__fail(r, EINVAL, "bad byte order mark 0x%08x", prefix.byte_order);
	if (prefix.header_size != sizeof(*h))
		return reader__fail(r, EINVAL, "header of %u bytes, expected %zu",
				    prefix.header_size, sizeof(*h));
	if (r->len - sizeof(prefix) < sizeof(*h))
		return reader__fail(r, EINVAL, "file header cut off");
	memcpy(h, r->buf + sizeof(prefix), sizeof(*h));
	if (ipcrace_crc32(0, h, sizeof(*h)) != prefix.header_crc) {
		/*
		 * Versions 2 and 3: the header only describes the run (host, command,
		 * start time); the records stand on their own checksums.
		 */
		if (v1)
			return reader__fail(r, EINVAL, "header checksum mismatch");
		r->t->header_damaged = true;
	} else if (h->version != prefix.version) {
		return reader__fail(r, EINVAL, "header says version %u, the file %u",
				    h->version, prefix.version);
	}
	h->version = prefix.version;
	h->host[sizeof(h->host) - 1] = '\0';
	h->kernel[sizeof(h->kernel) - 1] = '\0';
	h->cmdline[sizeof(h->cmdline) - 1] = '\0';
	*off = sizeof(prefix) + sizeof(*h);
	return 0;
}

/*
 * True when a whole, intact record starts at off: its magic, a length
 * within bounds and the file, and its checksum. *rh gets its header.
 */
static bool reader__record_at(const struct reader *r, size_t off, struct trace_record_header *rh)
{
	size_t left = r->len - off;
	__u32 crc;

	if (left < sizeof(*rh))
		return false;
	memcpy(rh, r->buf + off, sizeof(*rh));
	if (rh->magic != TRACE_RECORD_MAGIC || rh->len > TRACE_RECORD_MAX)
		return false;
	if (TRACE_PAD((size_t)rh->len) > left - sizeof(*rh))
		return false;
	/* the 12 header bytes before the CRC field, then the padded data */
	crc = ipcrace_crc32_record(r->buf + off, TRACE_PAD((size_t)rh->len));
	return crc == rh->crc;
}

/* A damaged region of len bytes. */
static void reader__gap(struct reader *r, size_t len)
{
	r->t->skipped_bytes += len;
	r->t->damaged_regions++;
	r->after_gap = true;
}

/*
 * A mapped file is read once, front to back: the pages well behind the
 * reader are given back (they stay in the page cache), so a pass holds a
 * window of the file, not all of it. Resynchronization only looks ahead.
 */
#define READER_DROP_STEP (8u << 20)
/*
 * The window ahead of the reader, mapped in one call (MADV_POPULATE_READ,
 * Linux 5.14) instead of a page fault every few pages; advice only (an
 * older kernel refuses it, and the pages fault in as before).
 */
static void reader__populate_ahead(struct reader *r, size_t off)
{
	size_t start, end;

	if (!r->mapped || r->populated >= r->len)
		return;
	start = r->populated > off ? r->populated : off;
	start &= ~(size_t)(getpagesize() - 1);
	end = start + READER_DROP_STEP < r->len ? start + READER_DROP_STEP : r->len;
#ifdef MADV_POPULATE_READ
	madvise((void *)(r->buf + start), end - start, MADV_POPULATE_READ);
#endif
	r->populated = end;
}

void reader__drop_behind(struct reader *r, size_t off)
{
	size_t keep = 2 * (TRACE_RECORD_MAX + sizeof(struct trace_record_header));
	size_t end;

	if (!r->mapped || off < r->dropped + READER_DROP_STEP + keep)
		return;
	end = (off - keep) & ~((size_t)READER_DROP_STEP - 1);
	if (end <= r->dropped)
		return;
	/* advice only: a failure leaves the pages mapped, nothing else */
	madvise((void *)(r->buf + r->dropped), end - r->dropped, MADV_DONTNEED);
	r->dropped = end;
	reader__populate_ahead(r, off);
}

/*
 * Version 2: records from off to the end. Never fails on what the bytes
 * say, only on memory (see the header comment).
 */
/*
 * Where the bytes [start, end) were not taken as records: a later pass
 * (READER_EVENTS) skips exactly these and checks no checksum elsewhere.
 */
static int reader__note_damage(struct reader *r, size_t start, size_t end)
{
	struct trace *t = r->t;

	if (r->mode == READER_EVENTS || start >= end)
		return 0;
	if (array__reserve(&t->damage, &r->cap_damage, t->nr_damage + 1, sizeof(*t->damage)))
		return reader__nomem(r);
	t->damage[t->nr_damage].start = start;
	t->damage[t->nr_damage++].end = end;
	return 0;
}

#define READER_PREFETCH 1024
static int reader__records(struct reader *r, size_t off)
{
	struct trace_record_header rh;
	__u32 expected_seq = 0;
	size_t bad_start = 0;
	bool in_bad = false, gap_here;
	int err;

	while (off < r->len) {
		/* a few records ahead: the hardware's prefetch stops at each page */
		if (r->len - off > READER_PREFETCH)
			__builtin_prefetch(r->buf + off + READER_PREFETCH);
		if (r->footer_seen || !reader__record_at(r, off, &rh)) {
			if (!in_bad) {
				in_bad = true;
				bad_start = off;
			}
			off += TRACE_ALIGN;
			continue;
		}
		gap_here = in_bad;
		if (in_bad) {
			reader__gap(r, off - bad_start);
			in_bad = false;
			err = reader__note_damage(r, bad_start, off);
			if (err)
				return err;
		}
		if (rh.seq != expected_seq) {
			/*
			 * Records the region held; a number going back is no
			 * count, but a gap all the same. A jump with no damaged
			 * bytes before it is a region of its own.
			 */
			r->t->skipped_records += rh.seq > expected_seq ? rh.seq - expected_seq : 0;
			if (!gap_here)
				r->t->damaged_regions++;
			r->after_gap = true;
		}
		expected_seq = rh.seq + 1;
		r->chunk_off = off;
		err = reader__record(r, rh.seq, rh.type, r->buf + off + sizeof(rh), rh.len);
		if (err == -EINVAL) {
			/* intact but not what its type says: skipped like damage */
			if (r->err && r->errlen)
				r->err[0] = '\0';
			r->t->skipped_records++;
			r->t->skipped_bytes += sizeof(rh) + TRACE_PAD((size_t)rh.len);
			r->t->damaged_regions++;
			r->after_gap = true;
			err = reader__note_damage(r, off, off + sizeof(rh) + TRACE_PAD((size_t)rh.len));
			if (err)
				return err;
		} else if (err) {
			return err;
		}
		off += sizeof(rh) + TRACE_PAD((size_t)rh.len);
		reader__drop_behind(r, off);
	}
	if (in_bad) {
		err = reader__note_damage(r, bad_start, r->len);
		if (err)
			return err;
		if (r->footer_seen) {
			reader__gap(r, r->len - bad_start);
		} else {
			/* the end: a cut, or blocks never written before a crash */
			r->t->truncated = true;
			r->t->tail_bytes = r->len - bad_start;
		}
	}
	return 0;
}

struct stack_key {
	__u64 id;
	size_t idx;			/* file order, to keep the first of duplicates */
};

static int stack_key__cmp(const void *a, const void *b)
{
	const struct stack_key *x = a, *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

/* Sorts stacks by id for bsearch; of several with one id, the first read wins. */
static int reader__sort_stacks(struct reader *r)
{
	struct trace *t = r->t;
	struct ipcrace_stack *sorted = NULL;
	struct stack_key *keys = NULL;
	size_t i, n = 0;
	int err = 0;

	if (t->nr_stacks < 2)
		return 0;
	keys = calloc(t->nr_stacks, sizeof(*keys));
	sorted = calloc(t->nr_stacks, sizeof(*sorted));
	if (!keys || !sorted) {
		err = reader__nomem(r);
		goto out;
	}
	for (i = 0; i < t->nr_stacks; i++) {
		keys[i].id = t->stacks[i].id;
		keys[i].idx = i;
	}
	qsort(keys, t->nr_stacks, sizeof(*keys), stack_key__cmp);
	for (i = 0; i < t->nr_stacks; i++) {
		if (n && sorted[n - 1].id == keys[i].id)
			continue;
		sorted[n++] = t->stacks[keys[i].idx];
	}
	free(t->stacks);
	t->stacks = sorted;
	t->nr_stacks = n;
	r->cap_stacks = t->nr_stacks;
	sorted = NULL;
out:
	free(sorted);
	free(keys);
	return err;
}

int reader__parse(struct reader *r)
{
	size_t off;
	int ret;

	if (r->err && r->errlen)
		r->err[0] = '\0';
	if (!r->buf && r->len)
		return reader__fail(r, EINVAL, "no buffer");
	if (r->mode != READER_EVENTS) {
		r->t = calloc(1, sizeof(*r->t));
		if (!r->t)
			return reader__nomem(r);
		r->t->stream_fd = -1;
	}
	ret = reader__header(r, &off);
	if (!ret && r->t->format_version == TRACE_VERSION_V1)
		ret = reader__v1_chunks(r, off);
	else if (!ret && r->mode == READER_EVENTS)
		ret = reader__replay_records(r, off);
	else if (!ret)
		ret = reader__records(r, off);
	if (!ret && r->mode != READER_EVENTS) {
		r->t->summarized = true;
		ret = reader__sort_stacks(r);
	}
	if (!ret && r->mode != READER_EVENTS)
		ret = ustack_table__finish(r->t->ustacks);
	reader__free_summaries(r);
	free(r->block);
	free(r->block_dec);
	r->block = NULL;
	r->block_dec = NULL;
	if (ret && r->mode != READER_EVENTS) {
		trace__free(r->t);
		r->t = NULL;
	}
	return ret;
}
