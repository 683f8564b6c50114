// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>

#include "procmaps.h"
#include "../reports/buildid.h"

/* Build-ids already read, by file identity: libc is in every snapshot. */
struct buildid_entry {
	__u64 dev;
	__u64 ino;
	__u32 len;
	__u8 id[TRACE_BUILD_ID_MAX];
};

struct known_path {
	__u64 dev;
	__u64 ino;
	char path[TRACE_PATH_LEN];
};

struct procmaps {
	struct buildid_entry *cache;
	size_t nr_cache;
	struct known_path *paths;
	size_t nr_paths;
};

struct procmaps *procmaps__new(void)
{
	struct procmaps *pm = calloc(1, sizeof(*pm));

	if (!pm)
		errno = ENOMEM;
	return pm;
}

void procmaps__free(struct procmaps *pm)
{
	if (!pm)
		return;
	free(pm->cache);
	free(pm->paths);
	free(pm);
}

static void fill_build_id(struct procmaps *pm, struct trace_mapping *m)
{
	struct buildid_entry *e, *grown;
	int n;
	size_t i;

	for (i = 0; i < pm->nr_cache; i++) {
		e = &pm->cache[i];
		if (e->dev == m->dev && e->ino == m->ino) {
			m->build_id_len = e->len;
			memcpy(m->build_id, e->id, e->len);
			return;
		}
	}
	n = elf_build_id__read(m->path, m->build_id, sizeof(m->build_id));
	m->build_id_len = n > 0 ? n : 0;
	grown = realloc(pm->cache, (pm->nr_cache + 1) * sizeof(*grown));
	if (!grown)
		return;
	pm->cache = grown;
	e = &pm->cache[pm->nr_cache++];
	e->dev = m->dev;
	e->ino = m->ino;
	e->len = m->build_id_len;
	memcpy(e->id, m->build_id, sizeof(e->id));
}

static int parse_line(char *line, struct trace_mapping *m)
{
	unsigned long long start, end, pgoff, ino;
	unsigned int major, minor;
	char perms[8];
	int path_at = 0;

	if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %n", &start, &end, perms, &pgoff,
		   &major, &minor, &ino, &path_at) < 7)
		return -EINVAL;
	memset(m, 0, sizeof(*m));
	m->start = start;
	m->end = end;
	m->pgoff = pgoff;
	m->dev = makedev(major, minor);
	m->ino = ino;
	m->prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
		  (perms[2] == 'x' ? PROT_EXEC : 0);
	m->flags = perms[3] == 's' ? MAPF_SHARED : 0;
	if (path_at > 0) {
		line[strcspn(line, "\n")] = '\0';
		snprintf(m->path, sizeof(m->path), "%s", line + path_at);
	}
	return 0;
}

int procmaps__snapshot(struct procmaps *pm, pid_t pid, __u64 ts, procmaps_cb cb, void *ctx)
{
	char path[64], line[4096 + 128];
	struct trace_mapping m;
	FILE *f;
	int err = 0;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? -ESRCH : -errno;
	while (fgets(line, sizeof(line), f)) {
		if (parse_line(line, &m))
			continue;
		m.pid = pid;
		m.ts = ts;
		if (m.ino && m.path[0] == '/' && (m.prot & PROT_EXEC))
			fill_build_id(pm, &m);
		err = cb(&m, ctx);
		if (err)
			break;
	}
	fclose(f);
	return err;
}

int procmaps__learn_path(struct procmaps *pm, __u64 dev, __u64 ino, const char *path)
{
	struct known_path *grown;
	size_t i;

	for (i = 0; i < pm->nr_paths; i++) {
		if (pm->paths[i].dev == dev && pm->paths[i].ino == ino) {
			snprintf(pm->paths[i].path, sizeof(pm->paths[i].path), "%s", path);
			return 0;
		}
	}
	grown = realloc(pm->paths, (pm->nr_paths + 1) * sizeof(*grown));
	if (!grown)
		return -ENOMEM;
	pm->paths = grown;
	grown[pm->nr_paths].dev = dev;
	grown[pm->nr_paths].ino = ino;
	snprintf(grown[pm->nr_paths].path, sizeof(grown->path), "%s", path);
	pm->nr_paths++;
	return 0;
}

int procmaps__from_event(struct procmaps *pm, const struct ipcrace_event *e,
			 procmaps_cb cb, void *ctx)
{
	struct trace_mapping m = {};
	size_t i;

	if (e->key.space != KEY_FILE || !((__u32)e->arg1 & PROT_EXEC))
		return 0;
	for (i = 0; i < pm->nr_paths; i++)
		if (pm->paths[i].dev == e->key.a && pm->paths[i].ino == e->key.b)
			break;
	if (i == pm->nr_paths)
		return 0;
	m.ts = e->ts;
	m.pid = e->pid;
	m.start = e->addr;
	m.end = e->addr + ((e->arg0 + 4095) & ~4095ULL);
	m.pgoff = e->key.c;
	m.dev = e->key.a;
	m.ino = e->key.b;
	m.prot = (__u32)e->arg1 & (PROT_READ | PROT_WRITE | PROT_EXEC);
	snprintf(m.path, sizeof(m.path), "%s", pm->paths[i].path);
	fill_build_id(pm, &m);
	return cb(&m, ctx);
}
