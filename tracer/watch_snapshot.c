// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The watcher's feeding of the snapshot differs: a process's shared
 * objects and private regions, brought up to date with its slots
 * (watch_int.h).
 */
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include "procmaps.h"
#include "watch_int.h"

/* Adds the process's shared objects to the snapshot differ. */
static void snapshot_objects(struct watcher *w, struct wproc *p)
{
	for (size_t i = 0; i < p->nr_maps; i++) {
		const struct pmap *m = &p->maps[i];
		__u64 len = m->end - m->start;
		char path[96];
		int fd;

		if (!(m->flags & MAPF_SHARED) || !m->ino || !(m->prot & PROT_WRITE) ||
		    snapshots__has(w->snaps, m->dev, m->ino))
			continue;
		snprintf(path, sizeof(path), "/proc/%u/map_files/%llx-%llx", p->pid,
			 (unsigned long long)m->start, (unsigned long long)m->end);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		snapshots__add(w->snaps, m->dev, m->ino, m->pgoff,
			       len < SNAP_OBJECT_MAX ? len : SNAP_OBJECT_MAX, fd);
		close(fd);
		watch_remember_path(w, m->dev, m->ino, m->path);
	}
}

static size_t count_threads(__u32 pid)
{
	__u32 *tids;
	size_t nr;

	if (watch_list_threads(pid, &tids, &nr))
		return 0;
	free(tids);
	return nr;
}

/*
 * The executable's identity as its mappings show it (on overlayfs, stat
 * of /proc/PID/exe may name another device than the maps do).
 */
static bool exe_identity(const struct wproc *p, __u64 *dev, __u64 *ino)
{
	char link[64], exe[PATH_MAX];
	struct stat st;
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%u/exe", p->pid);
	n = readlink(link, exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		for (size_t i = 0; i < p->nr_maps; i++) {
			if (p->maps[i].ino && !strcmp(p->maps[i].path, exe)) {
				*dev = p->maps[i].dev;
				*ino = p->maps[i].ino;
				return true;
			}
		}
	}
	if (stat(link, &st))
		return false;
	*dev = st.st_dev;
	*ino = st.st_ino;
	return true;
}

/*
 * Hands the private memory its threads share (globals, heap) to the
 * private differ. Single-threaded processes are left out: their words
 * race with nobody (other processes do not see them).
 */
static void snapshot_private(struct watcher *w, struct wproc *p)
{
	struct private_range ranges[PRIV_REGIONS_MAX];
	struct private_map *maps;
	__u64 exe_dev = 0, exe_ino = 0;
	size_t nr;

	if (!w->priv)
		return;
	if (!p->threaded)
		p->threaded = count_threads(p->pid) > 1;
	if (!p->threaded)
		return;
	maps = calloc(p->nr_maps ? p->nr_maps : 1, sizeof(*maps));
	if (!maps)
		return;
	for (size_t i = 0; i < p->nr_maps; i++) {
		const struct pmap *m = &p->maps[i];

		maps[i] = (struct private_map){ .start = m->start, .end = m->end, .dev = m->dev,
						.ino = m->ino, .prot = m->prot,
						.shared = m->flags & MAPF_SHARED, .path = m->path };
	}
	if (!exe_identity(p, &exe_dev, &exe_ino))
		exe_ino = 0;	/* no executable segments: heap and anonymous only */
	nr = private_regions__pick(maps, p->nr_maps, exe_dev, exe_ino, ranges, PRIV_REGIONS_MAX);
	private_snapshots__set(w->priv, p->pid, ranges, nr);
	if (w->opts.verbose)
		fprintf(stderr, "ipcrace: watch: pid %u: %zu private regions, %zu KiB kept in all\n",
			p->pid, nr, private_snapshots__kept(w->priv) >> 10);
	free(maps);
}

void watch_sync_proc(struct watcher *w, struct wproc *p)
{
	/*
	 * The slots are opened on its threads only when one has a word to
	 * arm here (watch_apply_slot): a thread with breakpoint events, even
	 * parked ones, pays at every context switch (its perf context is
	 * switched; ~0.25 us a switch on this VM), and most processes never
	 * get a word. Opening them takes milliseconds; mappings and threads
	 * that appear meanwhile mark the process dirty, or are found by
	 * watch_open_slots' thread listing.
	 */
	if (watch_read_maps(w, p))
		return;		/* gone, or going: its exit event cleans up */
	p->dirty = false;
	p->synced = true;
	for (int k = 0; k < WATCH_SLOTS; k++)
		watch_apply_slot(w, p, k);
	snapshot_objects(w, p);
	snapshot_private(w, p);
}
