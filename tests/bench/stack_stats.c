// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * What the stacks of a trace cost and need: how many frame-pointer stacks
 * and snapshots it holds and their bytes on disk, and for every snapshot
 * (unwound as the reports do) the stack bytes its walk needed to reach
 * frames 10, 20 and 30, and whether it ran out of captured bytes. This is
 * how the default snapshot size was chosen (tests/bench/run_stack_bench.sh).
 *
 *   stack_stats TRACE
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "analyzer/trace.h"
#include "analyzer/trace_format.h"
#include "analyzer/ustack.h"
#include "reports/symbolize.h"
#include "reports/unwind.h"

#define DEPTHS 3
static const int depth_at[DEPTHS] = { 10, 20, 30 };

static int u64_cmp(const void *a, const void *b)
{
	__u64 x = *(const __u64 *)a, y = *(const __u64 *)b;

	return x < y ? -1 : x > y;
}

struct use {
	__u64 id;
	size_t event;
};

static int use_cmp(const void *a, const void *b)
{
	const struct use *x = a, *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->event < y->event ? -1 : x->event > y->event;
}

static __u64 pct(__u64 *v, size_t n, int p)
{
	if (!n)
		return 0;
	return v[(n - 1) * p / 100];
}

int main(int argc, char **argv)
{
	struct unwind_frame fr[64];
	__u64 *need[DEPTHS], fp_bytes = 0, snap_bytes = 0, frames_total = 0;
	size_t nneed[DEPTHS] = { 0 }, nr_snaps = 0, ran_out = 0, i, d, nr_uses = 0;
	struct use *uses;
	struct symbolizer *s;
	struct trace *t;
	char err[256];

	if (argc != 2) {
		fprintf(stderr, "usage: stack_stats TRACE\n");
		return 2;
	}
	t = trace__read_file(argv[1], err, sizeof(err));
	if (!t) {
		fprintf(stderr, "stack_stats: %s\n", err);
		return 1;
	}
	s = symbolizer__new(t);
	if (!s)
		return 1;
	for (d = 0; d < DEPTHS; d++)
		need[d] = calloc(t->nr_events + 1, sizeof(__u64));
	for (i = 0; i < t->nr_stacks; i++)
		fp_bytes += sizeof(struct trace_record_header) +
			    TRACE_PAD(TRACE_STACK_LEN(t->stacks[i].nr));
	/* each snapshot once, with the first event that names it */
	uses = calloc(t->nr_events + 1, sizeof(*uses));
	if (!uses)
		return 1;
	for (i = 0; i < t->nr_events; i++)
		if (trace__find_ustack(t, t->events[i].stack_id)) {
			uses[nr_uses].id = t->events[i].stack_id;
			uses[nr_uses++].event = i;
		}
	qsort(uses, nr_uses, sizeof(*uses), use_cmp);
	for (i = 0; i < nr_uses; i++) {
		const struct ipcrace_event *e = &t->events[uses[i].event];
		const struct ustack_snapshot *u = trace__find_ustack(t, e->stack_id);
		__u64 sp0;
		int n;

		if (i && uses[i].id == uses[i - 1].id)
			continue;
		nr_snaps++;
		snap_bytes += sizeof(struct trace_record_header) + sizeof(struct trace_ustack) +
			      (u->hdr.size + USTACK_PART_MAX - 1) / USTACK_PART_MAX *
			      (sizeof(struct trace_record_header) + sizeof(struct trace_ustack_data)) +
			      TRACE_PAD(u->hdr.size);
		n = symbolizer__unwind(s, e->pid, e->ts, u, fr, 64);
		if (n <= 0)
			continue;
		frames_total += n;
		sp0 = u->hdr.regs[UREG_SP];
		for (d = 0; d < DEPTHS; d++)
			if (n > depth_at[d])
				need[d][nneed[d]++] = fr[depth_at[d]].sp - sp0;
		/* the last frame's return address sat just below its sp */
		if (fr[n - 1].sp - sp0 + 64 >= u->have && n < 64)
			ran_out++;
	}
	printf("fp_stacks=%zu fp_bytes=%llu fp_bytes_per_stack=%llu\n", t->nr_stacks,
	       (unsigned long long)fp_bytes,
	       (unsigned long long)(t->nr_stacks ? fp_bytes / t->nr_stacks : 0));
	printf("snapshots=%zu snapshot_bytes=%llu snapshot_bytes_per_stack=%llu "
	       "frames_per_snapshot=%.1f ran_out_of_bytes=%zu\n", nr_snaps,
	       (unsigned long long)snap_bytes,
	       (unsigned long long)(nr_snaps ? snap_bytes / nr_snaps : 0),
	       nr_snaps ? (double)frames_total / nr_snaps : 0.0, ran_out);
	for (d = 0; d < DEPTHS; d++) {
		qsort(need[d], nneed[d], sizeof(__u64), u64_cmp);
		printf("bytes_to_frame_%d: walks=%zu p50=%llu p90=%llu max=%llu\n", depth_at[d],
		       nneed[d], (unsigned long long)pct(need[d], nneed[d], 50),
		       (unsigned long long)pct(need[d], nneed[d], 90),
		       (unsigned long long)(nneed[d] ? need[d][nneed[d] - 1] : 0));
		free(need[d]);
	}
	free(uses);
	symbolizer__free(s);
	trace__free(t);
	return 0;
}
