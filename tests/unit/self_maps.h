/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * For the report tests: this process's address space as the tracer would
 * record it (/proc/self/maps, with build-ids), so that stacks of the test's
 * own functions symbolize. Include after <cmocka.h>.
 */
#ifndef IPCRACE_TEST_SELF_MAPS_H
#define IPCRACE_TEST_SELF_MAPS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include "analyzer/trace.h"
#include "reports/buildid.h"

static inline size_t read_self_maps(struct trace_mapping **out, __u32 pid, __u64 ts)
{
	struct trace_mapping *maps = NULL, *m;
	unsigned long long start, end, off, ino;
	unsigned int maj, min;
	char perms[8], line[1024];
	size_t nr = 0;
	int pos;
	FILE *f;

	f = fopen("/proc/self/maps", "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %n", &start, &end, perms,
			   &off, &maj, &min, &ino, &pos) < 7)
			continue;
		maps = realloc(maps, (nr + 1) * sizeof(*maps));
		assert_non_null(maps);
		m = &maps[nr++];
		memset(m, 0, sizeof(*m));
		m->ts = ts;
		m->pid = pid;
		m->start = start;
		m->end = end;
		m->pgoff = off;
		m->dev = makedev(maj, min);
		m->ino = ino;
		m->prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
			  (perms[2] == 'x' ? PROT_EXEC : 0);
		m->flags = perms[3] == 's' ? MAPF_SHARED : 0;
		line[strcspn(line, "\n")] = '\0';
		snprintf(m->path, sizeof(m->path), "%s", line + pos);
		if (m->path[0] == '/') {
			int n = elf_build_id__read(m->path, m->build_id, sizeof(m->build_id));

			m->build_id_len = n > 0 ? n : 0;
		}
	}
	fclose(f);
	*out = maps;
	return nr;
}

#endif /* IPCRACE_TEST_SELF_MAPS_H */
