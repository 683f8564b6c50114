// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * libFuzzer harness for the trace reader (cmake -DIPCRACE_FUZZ=ON with
 * clang). Besides "no crash", it checks what the reader promises about
 * any trace it accepts, so a check that silently stopped working shows.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "analyzer/trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	struct trace *t = trace__read_mem(data, size, err, sizeof(err));
	size_t i;

	if (!t) {
		if (strncmp(err, "trace: ", 7))
			abort();
		return 0;
	}
	for (i = 0; i < t->nr_events; i++)
		if (!t->events[i].type || t->events[i].type >= EV_TYPE_MAX ||
		    t->events[i].obj >= OBJ_KIND_MAX)
			abort();
	for (i = 0; i < t->nr_stacks; i++) {
		if (t->stacks[i].nr > IPCRACE_MAX_STACK)
			abort();
		if (i && t->stacks[i - 1].id >= t->stacks[i].id)
			abort();
		if (trace__find_stack(t, t->stacks[i].id) != &t->stacks[i] && t->stacks[i].id)
			abort();
	}
	for (i = 0; i < t->nr_processes; i++)
		if (!trace__find_process(t, t->processes[i].pid))
			abort();
	/* what was skipped or cut is part of the input, never more */
	if (t->skipped_bytes + t->tail_bytes > size)
		abort();
	/* a trace with anything skipped is never complete */
	if ((t->skipped_bytes || t->skipped_records || t->truncated) && trace__is_complete(t))
		abort();
	{
		char gaps[64];

		if (trace__describe_gaps(t, gaps, sizeof(gaps)) && !gaps[0])
			abort();
	}
	trace__free(t);
	return 0;
}
