// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The watcher's processes: their mappings, the paths of shared objects, the
 * symbols of their executables, and where a slot's word is in each
 * (watch_int.h).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include "elf_syms.h"
#include "procmaps.h"
#include "watch_int.h"

struct wproc *watch_find_proc(struct watcher *w, __u32 pid)
{
	for (struct wproc *p = w->procs; p; p = p->next)
		if (p->pid == pid)
			return p;
	return NULL;
}

struct wproc *watch_get_proc(struct watcher *w, __u32 pid)
{
	struct wproc *p = watch_find_proc(w, pid);

	if (p)
		return p;
	p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->pid = pid;
	p->dirty = true;
	p->next = w->procs;
	w->procs = p;
	return p;
}

static void clear_maps(struct wproc *p)
{
	for (size_t i = 0; i < p->nr_maps; i++)
		free(p->maps[i].path);
	p->nr_maps = 0;
}

void watch_free_proc(struct watcher *w, struct wproc *p)
{
	watch_close_slots(w, p);
	clear_maps(p);
	free(p->maps);
	free(p->exe);
	free(p);
}

void watch_drop_proc(struct watcher *w, __u32 pid)
{
	for (struct wproc **pp = &w->procs; *pp; pp = &(*pp)->next) {
		if ((*pp)->pid == pid) {
			struct wproc *p = *pp;

			*pp = p->next;
			watch_free_proc(w, p);
			return;
		}
	}
}

static int collect_map(const struct trace_mapping *m, void *ctx)
{
	struct wproc *p = ctx;
	struct pmap *pm;

	if (p->nr_maps == p->cap_maps) {
		size_t cap = p->cap_maps ? p->cap_maps * 2 : 64;
		struct pmap *grown = realloc(p->maps, cap * sizeof(*grown));

		if (!grown)
			return -ENOMEM;
		p->maps = grown;
		p->cap_maps = cap;
	}
	pm = &p->maps[p->nr_maps];
	pm->start = m->start;
	pm->end = m->end;
	pm->pgoff = m->pgoff;
	pm->dev = m->dev;
	pm->ino = m->ino;
	pm->prot = m->prot;
	pm->flags = m->flags;
	pm->path = strdup(m->path);
	if (!pm->path)
		return -ENOMEM;
	p->nr_maps++;
	return 0;
}

char *watch_exe_path(__u32 pid)
{
	char link[64], exe[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%u/exe", pid);
	n = readlink(link, exe, sizeof(exe) - 1);
	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	return strdup(exe);
}

int watch_read_maps(struct watcher *w, struct wproc *p)
{
	char link[64], exe[PATH_MAX];
	ssize_t n;

	/* kept for --learn: the process may be gone when its words are named */
	snprintf(link, sizeof(link), "/proc/%u/exe", p->pid);
	n = w->opts.learn_path ? readlink(link, exe, sizeof(exe) - 1) : 0;
	if (n > 0) {
		exe[n] = '\0';
		if (!p->exe || strcmp(p->exe, exe)) {
			free(p->exe);
			p->exe = strdup(exe);
		}
	}
	clear_maps(p);
	return procmaps__snapshot(w->pm, p->pid, 0, collect_map, p);
}

void watch_remember_path(struct watcher *w, __u64 dev, __u64 ino, const char *path)
{
	struct obj_path *op;

	for (size_t i = 0; i < w->nr_obj_paths; i++)
		if (w->obj_paths[i].dev == dev && w->obj_paths[i].ino == ino)
			return;
	if (w->nr_obj_paths == OBJ_PATHS_MAX)
		return;
	op = &w->obj_paths[w->nr_obj_paths];
	op->path = strdup(path);
	if (!op->path)
		return;
	op->dev = dev;
	op->ino = ino;
	w->nr_obj_paths++;
}

const char *watch_object_path(const struct watcher *w, __u64 dev, __u64 ino)
{
	for (size_t i = 0; i < w->nr_obj_paths; i++)
		if (w->obj_paths[i].dev == dev && w->obj_paths[i].ino == ino)
			return w->obj_paths[i].path;
	return NULL;
}

/* The process's own address of a shared file word: 0 when not mapped. */
static __u64 file_word_addr(const struct wproc *p, __u64 dev, __u64 ino, __u64 off)
{
	for (size_t i = 0; i < p->nr_maps; i++) {
		const struct pmap *m = &p->maps[i];

		if (!(m->flags & MAPF_SHARED) || m->dev != dev || m->ino != ino)
			continue;
		if (off >= m->pgoff && off < m->pgoff + (m->end - m->start))
			return m->start + (off - m->pgoff);
	}
	return 0;
}

__u64 watch_exe_base(const struct wproc *p, const char *exe)
{
	for (size_t i = 0; i < p->nr_maps; i++)
		if (!strcmp(p->maps[i].path, exe) && p->maps[i].pgoff == 0)
			return p->maps[i].start;
	return 0;
}

struct symbol_lookup {
	bool pie;		/* the file's, set before the first symbol */
	const char *name;	/* by name: */
	__u64 value;		/* ... its st_value */
	__u64 addr, base;	/* by run-time address and load base: the variable holding it */
	char *spec;
	size_t spec_len;
	bool found;
};

/* Walks the STT_OBJECT symbols of the ELF file at path with fn until it finds l's. */
static int objects_find(const char *path,
			bool (*fn)(const char *name, __u64 value, __u64 size, void *ctx),
			struct symbol_lookup *l)
{
	struct elf_syms *s = elf_syms__open(path);
	int err;

	if (!s)
		return -errno;
	l->pie = elf_syms__is_pie(s);
	err = elf_syms__for_each_object(s, fn, l);
	elf_syms__close(s);
	return err;
}

static bool symbol_named(const char *name, __u64 value, __u64 size, void *ctx)
{
	struct symbol_lookup *l = ctx;

	(void)size;
	if (strcmp(name, l->name))
		return false;
	l->value = value;
	l->found = true;
	return true;
}

static bool symbol_holding(const char *name, __u64 value, __u64 size, void *ctx)
{
	struct symbol_lookup *l = ctx;
	/* PIE: st_value is relative to the load base */
	__u64 vaddr = l->addr - (l->pie ? l->base : 0), off = vaddr - value;
	int n;

	if (vaddr < value || off >= size)
		return false;
	/* a name the spec grammar cannot carry is no use */
	if (strpbrk(name, "+:/"))
		return false;
	if (off)
		n = snprintf(l->spec, l->spec_len, "%s+0x%llx", name, (unsigned long long)off);
	else
		n = snprintf(l->spec, l->spec_len, "%s", name);
	l->found = n > 0 && (size_t)n < l->spec_len && watch_spec__storable(l->spec);
	return l->found;
}

bool watch_private_word_spec(const struct wproc *p, __u64 addr, char *spec, size_t len)
{
	struct symbol_lookup l = { .spec = spec, .spec_len = len, .addr = addr };
	const struct pmap *m = NULL;
	size_t i;

	if (!p->exe)
		return false;
	for (i = 0; i < p->nr_maps && !m; i++)
		if (addr >= p->maps[i].start && addr < p->maps[i].end)
			m = &p->maps[i];
	if (!m)
		return false;
	/* the executable's data, or the anonymous mapping that continues its .bss */
	if (strcmp(m->path, p->exe) &&
	    !(m > p->maps && !m->path[0] && !m->ino && m[-1].end == m->start &&
	      !strcmp(m[-1].path, p->exe)))
		return false;
	l.base = watch_exe_base(p, p->exe);
	return !objects_find(p->exe, symbol_holding, &l) && l.found;
}

/* A global variable of the executable (STT_OBJECT): its run-time address. */
static __u64 symbol_addr(const struct wproc *p, const char *name)
{
	struct symbol_lookup l = { .name = name };
	char link[64], exe[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%u/exe", p->pid);
	n = readlink(link, exe, sizeof(exe) - 1);
	if (n <= 0)
		return 0;
	exe[n] = '\0';
	if (objects_find(exe, symbol_named, &l) || !l.found)
		return 0;
	/* PIE: st_value is relative to the load base */
	return l.value + (l.pie ? watch_exe_base(p, exe) : 0);
}

__u64 watch_word_addr(struct watcher *w, const struct wproc *p, int k, struct ipcrace_key *key)
{
	struct word *wd = &w->slots[k].word;
	__u64 addr = 0;

	memset(key, 0, sizeof(*key));
	switch (wd->kind) {
	case WORD_FILE:
		if (!wd->resolved) {
			struct stat st;

			if (stat(wd->path, &st))
				return 0;
			wd->dev = st.st_dev;
			wd->ino = st.st_ino;
			wd->resolved = true;
			watch_remember_path(w, wd->dev, wd->ino, wd->path);
			w->slots[k].key = (struct ipcrace_key){ .space = KEY_FILE, .a = wd->dev,
								.b = wd->ino, .c = wd->off };
		}
		addr = file_word_addr(p, wd->dev, wd->ino, wd->off);
		*key = (struct ipcrace_key){ .space = KEY_FILE, .a = wd->dev, .b = wd->ino, .c = wd->off };
		break;
	case WORD_SYMBOL:
		addr = symbol_addr(p, wd->symbol);
		if (addr)
			addr += wd->off;
		if (addr % wd->len)
			addr = 0;
		*key = (struct ipcrace_key){ .space = KEY_PRIVATE, .a = p->pid, .b = addr };
		break;
	case WORD_PRIVATE:
		/* another process's address means another word (or nothing) */
		if (p->pid != wd->pid)
			break;
		addr = wd->addr;
		*key = (struct ipcrace_key){ .space = KEY_PRIVATE, .a = p->pid, .b = addr };
		break;
	case WORD_NONE:
		break;
	}
	return addr;
}
