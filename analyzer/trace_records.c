// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The trace reader's records other than events (trace_read.h): stacks,
 * mappings, processes, the footer, watch statistics, stack snapshots.
 * trace.c dispatches the records (reader__record) and reads the events.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "trace.h"
#include "trace_format.h"
#include "trace_read.h"
#include "trace_block.h"
#include "trace_maps.h"
#include "array.h"
#include "ustack.h"
#include "identity.h"

int reader__stack(struct reader *r, __u32 idx, const unsigned char *data, __u32 len)
{
	struct trace *t = r->t;
	struct ipcrace_stack s;

	if (len < TRACE_STACK_LEN(0))
		return reader__fail_rec(r, idx, "stack of %u bytes, shorter than its header", len);
	memset(&s, 0, sizeof(s));
	memcpy(&s, data, TRACE_STACK_LEN(0));
	if (s.nr > IPCRACE_MAX_STACK)
		return reader__fail_rec(r, idx, "stack of %u frames, more than %u",
					s.nr, IPCRACE_MAX_STACK);
	if (len != TRACE_STACK_LEN(s.nr))
		return reader__fail_rec(r, idx, "stack of %u frames in %u bytes, expected %zu",
					s.nr, len, TRACE_STACK_LEN(s.nr));
	memcpy(s.ips, data + TRACE_STACK_LEN(0), (size_t)s.nr * sizeof(s.ips[0]));
	s.hdr.kind = IPCRACE_REC_STACK;
	s.hdr.size = sizeof(s);

	if (array__reserve(&t->stacks, &r->cap_stacks, t->nr_stacks + 1, sizeof(s)))
		return reader__nomem(r);
	t->stacks[t->nr_stacks++] = s;
	return 0;
}

int reader__mapping(struct reader *r, __u32 idx, const unsigned char *data, __u32 len)
{
	struct trace *t = r->t;
	struct trace_mapping m;

	/* version 3 stops after the path's NUL */
	if (r->t->format_version >= TRACE_VERSION ?
	    len <= offsetof(struct trace_mapping, path) || len > sizeof(m) : len != sizeof(m))
		return reader__fail_rec(r, idx, "mapping of %u bytes, expected %s%zu", len,
					r->t->format_version >= TRACE_VERSION ? "at most " : "",
					sizeof(m));
	memset(&m, 0, sizeof(m));
	memcpy(&m, data, len);
	if (m.start > m.end)
		return reader__fail_rec(r, idx, "mapping starts at 0x%llx after its end 0x%llx",
					(unsigned long long)m.start, (unsigned long long)m.end);
	if (m.build_id_len > TRACE_BUILD_ID_MAX)
		return reader__fail_rec(r, idx, "build-id of %u bytes, more than %u",
					m.build_id_len, TRACE_BUILD_ID_MAX);
	m.path[sizeof(m.path) - 1] = '\0';

	if (array__reserve(&t->mappings, &r->cap_mappings, t->nr_mappings + 1, sizeof(m)))
		return reader__nomem(r);
	t->mappings[t->nr_mappings++] = m;
	return 0;
}

/*
 * Version 3: a block of mappings (trace_maps.h), decoded straight into the
 * trace's array and kept only when the whole block holds.
 */
int reader__mappings(struct reader *r, __u32 idx, const unsigned char *data, __u32 len)
{
	struct trace *t = r->t;
	const char *why;
	int nr;

	if (t->format_version < TRACE_VERSION)
		return 0;	/* not a type of that version: skipped as unknown */
	if (array__reserve(&t->mappings, &r->cap_mappings, t->nr_mappings + TRACE_MAPS_MAX_ENTRIES,
			   sizeof(*t->mappings)))
		return reader__nomem(r);
	nr = trace_maps__decode(data, len, t->mappings + t->nr_mappings, &why);
	if (nr < 0)
		return reader__fail_rec(r, idx, "%s", why);
	t->nr_mappings += nr;
	return 0;
}

int reader__process(struct reader *r, __u32 idx, const unsigned char *data, __u32 len)
{
	struct trace *t = r->t;
	struct trace_process p;

	if (len != sizeof(p))
		return reader__fail_rec(r, idx, "process of %u bytes, expected %zu", len, sizeof(p));
	memcpy(&p, data, sizeof(p));
	p.comm[sizeof(p.comm) - 1] = '\0';
	p.exe[sizeof(p.exe) - 1] = '\0';

	if (array__reserve(&t->processes, &r->cap_processes, t->nr_processes + 1, sizeof(p)))
		return reader__nomem(r);
	t->processes[t->nr_processes++] = p;
	return 0;
}

int reader__footer(struct reader *r, __u32 idx, const unsigned char *data, __u32 len)
{
	bool v1 = r->t->format_version == TRACE_VERSION_V1;

	if (v1 ? len != TRACE_V1_FOOTER_LEN
	       : len < TRACE_V2_FOOTER_MIN || len > sizeof(r->t->footer))
		return reader__fail_rec(r, idx, "footer of %u bytes, expected %s%zu", len,
					v1 ? "" : "at most ", v1 ? (size_t)TRACE_V1_FOOTER_LEN
								 : sizeof(r->t->footer));
	memset(&r->t->footer, 0, sizeof(r->t->footer));
	memcpy(&r->t->footer, data, len);
	r->t->has_footer = true;
	r->footer_seen = true;
	return 0;
}

/* A shorter record (an older writer's) leaves the fields it lacks 0; a longer one is cut. */
int reader__watch_stats(struct reader *r, __u32 idx, const unsigned char *data, __u32 len)
{
	if (len < offsetof(struct trace_watch_stats, trap_ns))
		return reader__fail_rec(r, idx, "watch stats of %u bytes, expected %zu", len,
					sizeof(r->t->watch_stats));
	memset(&r->t->watch_stats, 0, sizeof(r->t->watch_stats));
	memcpy(&r->t->watch_stats, data, len < sizeof(r->t->watch_stats) ? len :
	       sizeof(r->t->watch_stats));
	r->t->has_watch_stats = true;
	return 0;
}

/* As watch stats: a longer record (a newer writer's) is cut. */
int reader__lock_sampling(struct reader *r, __u32 idx, const unsigned char *data, __u32 len)
{
	if (len < sizeof(r->t->lock_sampling))
		return reader__fail_rec(r, idx, "lock sampling stats of %u bytes, expected %zu",
					len, sizeof(r->t->lock_sampling));
	memcpy(&r->t->lock_sampling, data, sizeof(r->t->lock_sampling));
	r->t->has_lock_sampling = true;
	return 0;
}

int reader__ustack(struct reader *r, __u32 idx, __u16 type,
			  const unsigned char *data, __u32 len)
{
	char msg[128];
	int err;

	if (type == TRACE_REC_USTACK)
		err = ustack_table__add_header(&r->t->ustacks, data, len, msg, sizeof(msg));
	else
		err = ustack_table__add_data(&r->t->ustacks, data, len, msg, sizeof(msg));
	if (err == -ENOMEM)
		return reader__nomem(r);
	if (err)
		return reader__fail_rec(r, idx, "%s", msg);
	return 0;
}

/*
 * Version 3: a stack snapshot part without its zero runs, expanded to the
 * USTACK_DATA part it was (trace_format.h).
 */
int reader__ustack_zdata(struct reader *r, __u32 idx, const unsigned char *data,
				__u32 len)
{
	unsigned char part[sizeof(struct trace_ustack_data) + USTACK_PART_MAX];
	const unsigned char *p = data + sizeof(struct trace_ustack_data), *end = data + len;
	struct trace_ustack_data d;
	size_t have = 0;

	if (r->t->format_version < TRACE_VERSION)
		return 0;	/* not a type of that version: skipped as unknown */
	if (len < sizeof(d))
		return reader__fail_rec(r, idx, "stack snapshot part of %u bytes", len);
	memcpy(&d, data, sizeof(d));
	if (d.len > USTACK_PART_MAX)
		return reader__fail_rec(r, idx, "stack snapshot part of %u bytes, more than %u",
					d.len, USTACK_PART_MAX);
	memcpy(part, &d, sizeof(d));
	while (p < end) {
		__u64 zeros, lits;

		if (!trace_block__get_varint(&p, end, &zeros) ||
		    !trace_block__get_varint(&p, end, &lits) ||
		    zeros > d.len - have || lits > d.len - have - zeros ||
		    lits > (size_t)(end - p))
			return reader__fail_rec(r, idx, "stack snapshot part: runs overrun it");
		memset(part + sizeof(d) + have, 0, zeros);
		memcpy(part + sizeof(d) + have + zeros, p, lits);
		have += zeros + lits;
		p += lits;
	}
	if (have != d.len)
		return reader__fail_rec(r, idx, "stack snapshot part of %zu bytes, its header says %u",
					have, d.len);
	return reader__ustack(r, idx, TRACE_REC_USTACK_DATA, part, sizeof(d) + d.len);
}
