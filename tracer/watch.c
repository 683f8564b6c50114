// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/hw_breakpoint.h>
#include <linux/perf_event.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ipcrace.skel.h"
#include "../analyzer/lock_extent.h"
#include "../bpf/watch_maps.h"
#include "candidates.h"
#include "elf_syms.h"
#include "exe_globals.h"
#include "insn_classify.h"
#include "procmaps.h"
#include "stops.h"
#include "watch.h"

#define WATCH_SLOTS 4			/* x86 debug registers per thread */
#define TICK_NS (25 * 1000000ULL)	/* snapshot diff and rotation period */
#define HOLD_TICKS 20			/* a rotating slot moves on after 0.5 s */
#define ROTATE_BUDGET 64		/* ... or after this many hits */
#define NAMED_WINDOW_TICKS 40		/* named watches: at most */
#define NAMED_BUDGET 1024		/* this many hits per 1 s window */
#define SNAP_OBJECT_MAX (16u << 20)	/* bytes of one object kept in a snapshot */
#define SNAP_PER_OBJECT (256u << 10)	/* bytes diffed per object per tick */
#define SNAP_TOTAL (2u << 20)		/* bytes diffed per tick in all */
/*
 * Private memory of multi-threaded processes (globals, heap): read with
 * process_vm_readv, so it costs the target nothing, but us a copy.
 */
#define PRIV_TICK_BYTES (1u << 20)	/* bytes read per tick in all */
#define PRIV_KEPT (16u << 20)		/* bytes of copies kept in all */
#define PRIV_REGION_MAX (8u << 20)	/* of one region */
#define PRIV_REGIONS_MAX 64		/* per process */
#define PRIV_RESYNC_TICKS 40		/* re-read the maps: [heap] grows without an event */
#define PRIV_DISABLE_ENV "IPCRACE_NO_PRIVATE_DIFF"
#define BUSY_MAX 64			/* words held by slots, in all processes */
#define DUMMY_ADDR 0x1000		/* never mapped (mmap_min_addr): a parked slot */
#define OBJ_PATHS_MAX 256		/* shared objects whose path is kept for --learn */
/*
 * Guesses: words watched before any snapshot saw them change, for a
 * program too short to wait for one. The first words of a new shared
 * writable mapping, a few globals of a new executable; at most this many
 * slots hold guesses, the others stay with the rotation.
 */
#define GUESS_SLOTS_MAX 2
#define ROTATION_SLOTS_MIN 2
#define GUESS_MAP_WORDS 2		/* of a new shared mapping: offsets 0 and 8 */
#define GUESS_GLOBALS 2			/* of a new executable */
#define GUESS_WINDOW_NS (10 * 1000000ULL)	/* from a second thread on, to be shared by writers */
#define EXE_GLOBALS_MAX 4096		/* globals of one executable looked at, at most */
#define GUESS_DISABLE_ENV "IPCRACE_NO_GUESS"
#define GUESS_SEED_SALT 0x6775657373ULL	/* the guesses' own stream: the rotation's stays as it was */

enum word_kind { WORD_NONE, WORD_FILE, WORD_SYMBOL, WORD_PRIVATE };

struct word {
	enum word_kind kind;
	__u32 len;
	__u64 dev, ino, off;		/* WORD_FILE, once resolved */
	bool resolved;
	__u32 pid;			/* WORD_PRIVATE: armed in this process only */
	__u64 addr;			/* ... at this address */
	char path[PATH_MAX];		/* named file watch, resolved by stat */
	char symbol[256];		/* WORD_SYMBOL */
};

struct slot {
	struct word word;
	bool named;
	bool throttled;			/* over budget: parked until the window ends */
	bool guess;			/* armed as a guess, not picked by the rotation */
	bool written;			/* a guess: a breakpoint saw its word written */
	bool shared;			/* ... and accessed by two threads */
	__u32 first_tid;		/* ... the first thread that did */
	__u32 guess_pid;		/* ... the process it was guessed in */
	__u64 window_ns;		/* ... since when a second thread could touch it, 0: not yet */
	__u64 since_tick;
	__u64 seq;			/* when it got its word, in assignments: the oldest guess goes first */
	struct ipcrace_key key;		/* hits are counted by key (file words) */
};

struct pmap {
	__u64 start, end, pgoff, dev, ino;
	__u32 prot, flags;
	char *path;
};

/* One slot in one process: an event per thread armed explicitly. */
struct pslot {
	__u64 addr;			/* 0: parked */
	__u32 len;
	struct ipcrace_key key;
	int *fds;
	struct bpf_link **links;
	struct perf_event_attr attr;
};

struct wproc {
	__u32 pid;
	bool dirty;			/* mappings changed since the last sync */
	bool opened;			/* slots opened on its threads */
	bool threaded;			/* more than one thread seen: diff its private memory */
	struct pmap *maps;
	size_t nr_maps, cap_maps;
	char *exe;			/* its executable's path as the maps show it */
	size_t nr_threads;
	struct pslot slots[WATCH_SLOTS];
	struct wproc *next;
};

/* A shared object's path when it was mapped: what --learn names it by. */
struct obj_path {
	__u64 dev, ino;
	char *path;
};

/* A global variable threads changed, as a watch spec, for --learn. */
struct learned_var {
	char spec[WATCH_SPEC_LEN];
	__u32 changes;
};

struct watcher {
	struct ipcrace_bpf *skel;
	struct watch_opts opts;
	struct slot slots[WATCH_SLOTS];
	struct wproc *procs;
	struct candidates *cands;
	struct snapshots *snaps;
	struct private_snapshots *priv;	/* NULL: private memory not diffed */
	struct insn_classifier *insns;
	struct procmaps *pm;		/* keeps the build-id cache across syncs */
	struct watch_rng rng;
	struct watch_rng guess_rng;	/* which globals are guessed */
	bool guessing;			/* guesses on (IPCRACE_NO_GUESS unset, a slot for them) */
	bool named_fork_stop;		/* named watches need every new process stopped */
	bool stop_on_map;		/* named words in files: stop at every shared mapping */
	bool stop_on_exec;		/* named symbols: stop after exec */
	bool stop_on_fork;		/* a new process is stopped until armed */
	int stop_id;			/* our handler in opts.stops */
	bool closing;			/* watcher__free: no new stop, no new guess */
	__u64 seq;
	int warm_fd;			/* a parked breakpoint on ourselves: see watcher__new */
	__u64 seed;
	__u64 tick;
	__u64 last_tick_ns;
	__u64 watched_words;
	__u64 capped_seen;		/* BPF's watch_capped when last acted on */
	bool no_slots_warned;
	__u64 lock_like_words;		/* excluded for their atomic accesses */
	struct obj_path obj_paths[OBJ_PATHS_MAX];
	size_t nr_obj_paths;
	/* best private words of exited processes, by changes (--learn) */
	struct learned_var vars[WATCH_SPECS_MAX];
	size_t nr_vars;
};

static int perf_event_open(struct perf_event_attr *attr, pid_t pid)
{
	return syscall(SYS_perf_event_open, attr, pid, -1, -1, PERF_FLAG_FD_CLOEXEC);
}

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static bool key_eq(const struct ipcrace_key *x, const struct ipcrace_key *y)
{
	return x->space == y->space && x->a == y->a && x->b == y->b && x->c == y->c;
}

/* --- processes -------------------------------------------------------- */

static struct wproc *find_proc(struct watcher *w, __u32 pid)
{
	for (struct wproc *p = w->procs; p; p = p->next)
		if (p->pid == pid)
			return p;
	return NULL;
}

static struct wproc *get_proc(struct watcher *w, __u32 pid)
{
	struct wproc *p = find_proc(w, pid);

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

static void forget_watch_info(struct watcher *w, __u32 pid, __u64 addr)
{
	struct watch_addr wa = { .pid = pid, .addr = addr };

	bpf_map_delete_elem(bpf_map__fd(w->skel->maps.watch_info), &wa);
}

/* Closes the process's breakpoints (exec or exit: its threads are gone). */
static void close_slots(struct watcher *w, struct wproc *p)
{
	for (int k = 0; k < WATCH_SLOTS; k++) {
		struct pslot *ps = &p->slots[k];

		for (size_t t = 0; t < p->nr_threads && ps->links; t++) {
			if (ps->links[t])
				bpf_link__destroy(ps->links[t]);	/* closes the fd too */
			else if (ps->fds[t] >= 0)
				close(ps->fds[t]);
		}
		if (ps->addr)
			forget_watch_info(w, p->pid, ps->addr);
		free(ps->fds);
		free(ps->links);
		memset(ps, 0, sizeof(*ps));
	}
	p->nr_threads = 0;
	p->opened = false;
}

static void clear_maps(struct wproc *p)
{
	for (size_t i = 0; i < p->nr_maps; i++)
		free(p->maps[i].path);
	p->nr_maps = 0;
}

static void free_proc(struct watcher *w, struct wproc *p)
{
	close_slots(w, p);
	clear_maps(p);
	free(p->maps);
	free(p->exe);
	free(p);
}

static void drop_proc(struct watcher *w, __u32 pid)
{
	for (struct wproc **pp = &w->procs; *pp; pp = &(*pp)->next) {
		if ((*pp)->pid == pid) {
			struct wproc *p = *pp;

			*pp = p->next;
			free_proc(w, p);
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

/* /proc/PID/exe's target, allocated; NULL when it cannot be read. */
static char *exe_path(__u32 pid)
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

static int read_maps(struct watcher *w, struct wproc *p)
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

static void remember_path(struct watcher *w, __u64 dev, __u64 ino, const char *path)
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

static const char *object_path(const struct watcher *w, __u64 dev, __u64 ino)
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

/* Where the executable path is loaded in p: its mapping at file offset 0. */
static __u64 exe_base(const struct wproc *p, const char *exe)
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

/*
 * The global variable of p's executable holding its private word at addr,
 * as SYMBOL[+OFFSET]: for --learn, a name that holds in the next run.
 * False for the heap and anything else no symbol covers.
 */
static bool private_word_spec(const struct wproc *p, __u64 addr, char *spec, size_t len)
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
	l.base = exe_base(p, p->exe);
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
	return l.value + (l.pie ? exe_base(p, exe) : 0);
}

/* Where slot k's word is in process p, and its identity there. */
static __u64 word_addr(struct watcher *w, const struct wproc *p, int k, struct ipcrace_key *key)
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
			remember_path(w, wd->dev, wd->ino, wd->path);
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

static void attr_init(struct perf_event_attr *a)
{
	memset(a, 0, sizeof(*a));
	a->type = PERF_TYPE_BREAKPOINT;
	a->size = sizeof(*a);
	/* x86 has no read-only data breakpoints: RW, sorted out per hit */
	a->bp_type = HW_BREAKPOINT_RW;
	a->bp_addr = DUMMY_ADDR;
	a->bp_len = HW_BREAKPOINT_LEN_8;
	a->sample_period = 1;
	a->exclude_kernel = 1;
	a->exclude_hv = 1;
	/*
	 * New threads inherit the slots of the thread that creates them, at
	 * once; a forked child does not (inherit_thread): it may map the same
	 * object elsewhere, so it is armed on its own. remove_on_exec: the
	 * addresses mean nothing in the new image.
	 */
	a->inherit = 1;
	a->inherit_thread = 1;
	a->remove_on_exec = 1;
}

static int list_threads(__u32 pid, __u32 **tids, size_t *nr)
{
	char path[64];
	struct dirent *d;
	size_t cap = 0;
	DIR *dir;

	*tids = NULL;
	*nr = 0;
	snprintf(path, sizeof(path), "/proc/%u/task", pid);
	dir = opendir(path);
	if (!dir)
		return -ESRCH;
	while ((d = readdir(dir))) {
		if (d->d_name[0] == '.')
			continue;
		if (*nr == cap) {
			__u32 *grown;

			cap = cap ? cap * 2 : 16;
			grown = realloc(*tids, cap * sizeof(**tids));
			if (!grown) {
				closedir(dir);
				return -ENOMEM;
			}
			*tids = grown;
		}
		(*tids)[(*nr)++] = strtoul(d->d_name, NULL, 10);
	}
	closedir(dir);
	return 0;
}

/*
 * Opens the 4 slots on the threads tids[0..nr), parked (disabled at an
 * unmapped address), so the debug registers are ours and later changes
 * are modifications. A thread whose registers are taken (ENOSPC, EBUSY:
 * a debugger) goes without that slot.
 */
static int open_slots_on(struct watcher *w, struct wproc *p, const __u32 *tids, size_t nr)
{
	int err = 0;

	for (int k = 0; k < WATCH_SLOTS; k++) {
		struct pslot *ps = &p->slots[k];

		attr_init(&ps->attr);
		ps->attr.disabled = 1;
		ps->fds = malloc(nr * sizeof(*ps->fds));
		ps->links = calloc(nr, sizeof(*ps->links));
		if (!ps->fds || !ps->links) {
			free(ps->fds);
			free(ps->links);
			ps->fds = NULL;
			ps->links = NULL;
			err = -ENOMEM;
			goto out;
		}
		for (size_t t = 0; t < nr; t++) {
			ps->fds[t] = perf_event_open(&ps->attr, tids[t]);
			if (ps->fds[t] < 0) {
				if ((errno == ENOSPC || errno == EBUSY) && !w->no_slots_warned) {
					fprintf(stderr, "ipcrace: watch: no free debug register in "
						"thread %u (in use by a debugger?)\n", tids[t]);
					w->no_slots_warned = true;
				}
				continue;
			}
			ps->links[t] = bpf_program__attach_perf_event(w->skel->progs.mem_access,
								      ps->fds[t]);
			if (!ps->links[t]) {
				close(ps->fds[t]);
				ps->fds[t] = -1;
				continue;
			}
			/* attaching enables the event: park it again */
			ioctl(ps->fds[t], PERF_EVENT_IOC_DISABLE, 0);
		}
	}
out:
	p->nr_threads = nr;
	p->opened = true;
	return err;
}

static bool same_threads(const __u32 *a, size_t nr_a, const __u32 *b, size_t nr_b)
{
	if (nr_a != nr_b)
		return false;
	for (size_t i = 0; i < nr_a; i++) {
		size_t j = 0;

		while (j < nr_b && b[j] != a[i])
			j++;
		if (j == nr_b)
			return false;
	}
	return true;
}

/*
 * Opens the slots on every thread of p. A thread created while they are
 * being opened was not listed, and inherited only the slots its creator
 * had by then (maybe none): when the threads after differ from the
 * threads before, close (which closes inherited copies too) and start
 * again. Threads created after that inherit all 4.
 */
#define OPEN_ATTEMPTS 4

static int open_slots(struct watcher *w, struct wproc *p)
{
	__u32 *tids = NULL, *after = NULL;
	size_t nr, nr_after;
	int err;

	err = list_threads(p->pid, &tids, &nr);
	for (int attempt = 0; !err && attempt < OPEN_ATTEMPTS; attempt++) {
		err = open_slots_on(w, p, tids, nr);
		if (err)
			break;
		err = list_threads(p->pid, &after, &nr_after);
		if (err || same_threads(after, nr_after, tids, nr))
			break;
		if (attempt + 1 == OPEN_ATTEMPTS)
			break;		/* keep what we have: most threads are armed */
		close_slots(w, p);
		free(tids);
		tids = after;
		nr = nr_after;
		after = NULL;
	}
	free(tids);
	free(after);
	return err;
}

/* Hits a slot's word may record before it is parked (until its window ends). */
static __u32 slot_budget(const struct slot *s)
{
	return s->named ? NAMED_BUDGET : ROTATE_BUDGET;
}

static void slot_ioctl(struct wproc *p, struct pslot *ps, unsigned long req, void *arg)
{
	for (size_t t = 0; t < p->nr_threads; t++)
		if (ps->links && ps->links[t])
			ioctl(ps->fds[t], req, arg);
}

/* Points process p's slot k at its address of the slot's word (or parks it). */
static void apply_slot(struct watcher *w, struct wproc *p, int k)
{
	struct pslot *ps = &p->slots[k];
	struct ipcrace_key key;
	__u64 addr = 0;

	if (!w->slots[k].throttled)
		addr = word_addr(w, p, k, &key);
	if (addr == ps->addr && (!addr || key_eq(&key, &ps->key)))
		return;
	if (ps->addr)
		forget_watch_info(w, p->pid, ps->addr);
	ps->addr = addr;
	if (!addr) {
		slot_ioctl(p, ps, PERF_EVENT_IOC_DISABLE, 0);
		return;
	}
	ps->key = key;
	ps->len = w->slots[k].word.len;
	{
		struct watch_addr wa = { .pid = p->pid, .addr = addr };
		struct watch_info wi = { .key = key, .len = ps->len,
					 .budget = slot_budget(&w->slots[k]) };

		bpf_map_update_elem(bpf_map__fd(w->skel->maps.watch_info), &wa, &wi, BPF_ANY);
	}
	/* a guess armed in a second process: its window opens */
	if (w->slots[k].guess && !w->slots[k].window_ns && p->pid != w->slots[k].guess_pid)
		w->slots[k].window_ns = mono_ns();
	ps->attr.bp_addr = addr;
	ps->attr.bp_len = ps->len;
	ps->attr.disabled = 0;
	/* modifies the inherited copies in later threads too */
	slot_ioctl(p, ps, PERF_EVENT_IOC_MODIFY_ATTRIBUTES, &ps->attr);
	if (w->opts.verbose)
		fprintf(stderr, "ipcrace: watch: slot %d of pid %u at 0x%llx len %u\n", k, p->pid,
			(unsigned long long)addr, ps->len);
}

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
		remember_path(w, m->dev, m->ino, m->path);
	}
}

static size_t count_threads(__u32 pid)
{
	__u32 *tids;
	size_t nr;

	if (list_threads(pid, &tids, &nr))
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

static void sync_proc(struct watcher *w, struct wproc *p)
{
	/*
	 * Slots first: opening them takes long enough (milliseconds) for a
	 * starting program to get its heap and threads meanwhile, which
	 * maps read before would miss, their events being consumed already.
	 */
	if (!p->opened && open_slots(w, p))
		return;		/* gone, or going: its exit event cleans up */
	if (read_maps(w, p))
		return;
	p->dirty = false;
	for (int k = 0; k < WATCH_SLOTS; k++)
		apply_slot(w, p, k);
	snapshot_objects(w, p);
	snapshot_private(w, p);
}

/* --- BPF side ---------------------------------------------------------- */

static void guess_after_stop(struct watcher *w, struct wproc *p, const struct arm_stop *st);

/*
 * A process stopped (tracer/stops.c) where a word it is about to touch
 * may need a breakpoint: arm it as it is now (the stops module drained
 * the events before its stop and continues it afterwards).
 */
static void on_stop(void *ctx, __u32 pid, const struct arm_stop *st)
{
	struct watcher *w = ctx;
	struct wproc *p = get_proc(w, pid);

	if (!p)
		return;
	sync_proc(w, p);
	guess_after_stop(w, p, st);
}

/* What the watcher needs stopped now (STOP_ON_* bits). */
static void update_stops(struct watcher *w)
{
	__u32 on = 0;

	if (w->closing)
		return;		/* the last arming may not turn stops on again */
	if (w->stop_on_map)
		on |= STOP_ON_SHARED_MAP;
	if (w->guessing)
		on |= STOP_ON_SHARED_WRITE;
	if (w->stop_on_exec || w->guessing)
		on |= STOP_ON_EXEC;
	if (w->stop_on_fork)
		on |= STOP_ON_FORK;
	stops__want(w->opts.stops, w->stop_id, on);
}

static struct word_count word_hits(struct watcher *w, const struct ipcrace_key *key)
{
	struct word_count v = {};

	bpf_map_lookup_elem(bpf_map__fd(w->skel->maps.word_hits), key, &v);
	return v;
}

static void reset_hits(struct watcher *w, const struct ipcrace_key *key)
{
	bpf_map_delete_elem(bpf_map__fd(w->skel->maps.word_hits), key);
}

/* Keys the slot's word has in every process (private words differ). */
typedef void (*key_fn)(struct watcher *w, const struct ipcrace_key *key, void *ctx);

static void for_each_key(struct watcher *w, int k, key_fn fn, void *ctx)
{
	if (w->slots[k].word.kind == WORD_NONE)
		return;
	if (w->slots[k].word.kind == WORD_FILE) {
		if (w->slots[k].word.resolved)
			fn(w, &w->slots[k].key, ctx);
		return;
	}
	if (w->slots[k].word.kind == WORD_PRIVATE) {
		/* one process, one key, armed or not */
		fn(w, &w->slots[k].key, ctx);
		return;
	}
	/*
	 * A symbol: the key each process armed it with, kept while the slot
	 * is parked (throttled), so the window's end still resets its count.
	 */
	for (struct wproc *p = w->procs; p; p = p->next)
		if (p->slots[k].key.space != KEY_NONE)
			fn(w, &p->slots[k].key, ctx);
}

static void sum_hits(struct watcher *w, const struct ipcrace_key *key, void *ctx)
{
	*(__u64 *)ctx += word_hits(w, key).hits;
}

/* Hits and others added up, capped if any key is. */
static void sum_counts(struct watcher *w, const struct ipcrace_key *key, void *ctx)
{
	struct word_count *sum = ctx, v = word_hits(w, key);

	sum->hits += v.hits;
	sum->others += v.others;
	sum->capped |= v.capped;
}

static void reset_one(struct watcher *w, const struct ipcrace_key *key, void *ctx)
{
	(void)ctx;
	reset_hits(w, key);
}

static void apply_everywhere(struct watcher *w, int k)
{
	for (struct wproc *p = w->procs; p; p = p->next)
		if (p->opened)
			apply_slot(w, p, k);
}

struct busy_keys {
	struct ipcrace_key keys[BUSY_MAX];
	size_t nr;
};

static void add_busy(struct watcher *w, const struct ipcrace_key *key, void *ctx)
{
	struct busy_keys *b = ctx;

	(void)w;
	if (b->nr < BUSY_MAX)
		b->keys[b->nr++] = *key;
}

/*
 * A new process runs its first instructions before the tracer can arm it
 * unless it is stopped at its first return from fork: worth it while a
 * slot holds a word a child can reach (a shared word, a global named by
 * symbol), not for a private word of one process.
 */
static void update_fork_stop(struct watcher *w)
{
	bool stop = w->named_fork_stop;

	if (w->closing)
		return;		/* the last arming may not turn stops on again */
	for (int k = 0; k < WATCH_SLOTS && !stop; k++)
		stop = w->slots[k].word.kind == WORD_FILE || w->slots[k].word.kind == WORD_SYMBOL;
	if (stop != w->stop_on_fork) {
		w->stop_on_fork = stop;
		update_stops(w);
	}
}

/*
 * Gives slot k candidate i (its pick counted already), armed in every
 * process; guess_pid: a guess made in that process, 0: a rotation pick.
 */
static void assign_slot(struct watcher *w, int k, int i, __u32 guess_pid)
{
	bool guess = guess_pid != 0;
	const struct candidate *c = candidates__get(w->cands, i);
	struct word *wd = &w->slots[k].word;

	for_each_key(w, k, reset_one, NULL);
	memset(wd, 0, sizeof(*wd));
	wd->len = c->len;
	if (c->key.space == KEY_PRIVATE) {
		wd->kind = WORD_PRIVATE;
		wd->pid = c->key.a;
		wd->addr = c->key.b;
	} else {
		wd->kind = WORD_FILE;
		wd->dev = c->key.a;
		wd->ino = c->key.b;
		wd->off = c->key.c;
		wd->resolved = true;
	}
	w->slots[k].key = c->key;
	w->slots[k].since_tick = w->tick;
	w->slots[k].throttled = false;
	w->slots[k].guess = guess;
	w->slots[k].written = false;
	w->slots[k].shared = false;
	w->slots[k].first_tid = 0;
	w->slots[k].guess_pid = guess_pid;
	w->slots[k].window_ns = 0;
	w->slots[k].seq = ++w->seq;
	if (c->picks == 1)
		w->watched_words++;
	if (w->opts.verbose && wd->kind == WORD_PRIVATE)
		fprintf(stderr, "ipcrace: watch: slot %d -> pid %u address 0x%llx%s\n", k, wd->pid,
			(unsigned long long)wd->addr, guess ? " (guess)" : "");
	else if (w->opts.verbose)
		fprintf(stderr, "ipcrace: watch: slot %d -> object %llx:%llu offset 0x%llx%s\n", k,
			(unsigned long long)c->key.a, (unsigned long long)c->key.b,
			(unsigned long long)c->key.c, guess ? " (guess)" : "");
	apply_everywhere(w, k);
	update_fork_stop(w);
}

/* Gives rotating slot k the next candidate of the schedule; false if none. */
static bool rotate_slot(struct watcher *w, int k)
{
	struct busy_keys busy = { .nr = 0 };
	int i;

	/* every word a slot holds, slot k's own too: it moves on */
	for (int j = 0; j < WATCH_SLOTS; j++)
		for_each_key(w, j, add_busy, &busy);
	i = candidates__pick(w->cands, &w->rng, busy.keys, busy.nr);
	if (i < 0)
		return false;
	assign_slot(w, k, i, 0);
	return true;
}

/*
 * pid's private words mean nothing any more (exit, exec): rotating slots
 * holding one let it go (they rotate at the next tick), and the differ
 * and the candidates forget them.
 */
/* Rotating slot k lets its word go: parked now, given another at the next tick. */
static void release_slot(struct watcher *w, int k)
{
	struct slot *s = &w->slots[k];

	for_each_key(w, k, reset_one, NULL);
	memset(&s->word, 0, sizeof(s->word));
	s->throttled = false;
	s->guess = false;
	s->written = false;
	s->shared = false;
	s->first_tid = 0;
	s->guess_pid = 0;
	s->window_ns = 0;
	apply_everywhere(w, k);		/* parks the slot wherever it was armed */
	update_fork_stop(w);
}

/* --- guesses ------------------------------------------------------------ */

/* Slots guesses may hold: at most GUESS_SLOTS_MAX, and never the rotation's last two. */
static int guess_limit(const struct watcher *w)
{
	int rotating = WATCH_SLOTS - (int)w->opts.nr_specs;
	int limit = rotating - ROTATION_SLOTS_MIN;

	return limit < GUESS_SLOTS_MAX ? (limit > 0 ? limit : 0) : GUESS_SLOTS_MAX;
}

/*
 * The slot a new guess takes: a free one while guesses hold fewer than
 * their limit, else the rotating slot that has held its word longest;
 * at the limit, the oldest guess (a newer mapping or program is the more
 * likely to be written now). -1 when guesses have no slot.
 */
static int guess_slot(const struct watcher *w)
{
	int nr_guess = 0, oldest_guess = -1, free_slot = -1, oldest = -1;

	for (int k = 0; k < WATCH_SLOTS; k++) {
		const struct slot *s = &w->slots[k];

		if (s->named)
			continue;
		if (s->word.kind == WORD_NONE) {
			if (free_slot < 0)
				free_slot = k;
		} else if (s->guess) {
			nr_guess++;
			if (oldest_guess < 0 || s->seq < w->slots[oldest_guess].seq)
				oldest_guess = k;
		} else if (oldest < 0 || s->seq < w->slots[oldest].seq) {
			oldest = k;
		}
	}
	if (nr_guess >= guess_limit(w))
		return oldest_guess;
	return free_slot >= 0 ? free_slot : oldest;
}

static bool slot_holds(const struct watcher *w, const struct ipcrace_key *key)
{
	for (int k = 0; k < WATCH_SLOTS; k++)
		if (w->slots[k].word.kind != WORD_NONE && key_eq(&w->slots[k].key, key))
			return true;
	return false;
}

/*
 * Arms key, guessed in process p, in a slot of its own. False when it
 * cannot (a lock word, no slot).
 */
static bool arm_guess(struct watcher *w, struct wproc *p, const struct ipcrace_key *key)
{
	int k, i;

	if (slot_holds(w, key))
		return true;	/* watched already: nothing to do, counted as done */
	k = guess_slot(w);
	if (k < 0)
		return false;
	i = candidates__guess(w->cands, key, 8);
	if (i < 0)
		return false;
	assign_slot(w, k, i, p->pid);
	/* with threads already there, the window is open at once */
	if (p->threaded || p->nr_threads > 1)
		w->slots[k].window_ns = mono_ns();
	return true;
}

/*
 * A shared writable mapping appeared at addr in p: its first words are
 * the likeliest to be written by the processes it is shared with (a
 * counter, a header, a flag), before a snapshot could see them change.
 * Lock words (known from earlier lock events) are skipped.
 */
static void guess_mapping(struct watcher *w, struct wproc *p, __u64 addr)
{
	const struct pmap *m = NULL;
	int armed = 0, max = guess_limit(w);

	if (max > GUESS_MAP_WORDS)
		max = GUESS_MAP_WORDS;

	for (size_t i = 0; i < p->nr_maps && !m; i++)
		if (addr >= p->maps[i].start && addr < p->maps[i].end)
			m = &p->maps[i];
	if (!m || !(m->flags & MAPF_SHARED) || !(m->prot & PROT_WRITE) || !m->ino)
		return;
	/* (the maps may show it merged with a mapping of the same file before it) */
	addr &= ~7ULL;
	/* not far: a mapping whose first words are all locks is a lock table */
	for (__u64 off = 0; addr + off + 8 <= m->end && armed < max && off < 64 * 8; off += 8) {
		struct ipcrace_key key = { .space = KEY_FILE, .a = m->dev, .b = m->ino,
					   .c = m->pgoff + (addr - m->start) + off };

		if (candidates__excluded(w->cands, &key))
			continue;
		if (!arm_guess(w, p, &key))
			break;
		armed++;
	}
}

/*
 * p has just exec'd: watch a few of its executable's own globals (chosen
 * by the seed among them), which its threads may share from their first
 * instruction on. New threads inherit the slots.
 */
static void guess_globals(struct watcher *w, struct wproc *p)
{
	char link[64], exe[PATH_MAX];
	struct exe_global *g;
	bool relative = false;
	__u64 base = 0;
	ssize_t len;
	int n, armed = 0, max = guess_limit(w);

	if (max > GUESS_GLOBALS)
		max = GUESS_GLOBALS;

	snprintf(link, sizeof(link), "/proc/%u/exe", p->pid);
	len = readlink(link, exe, sizeof(exe) - 1);
	if (len <= 0)
		return;
	exe[len] = '\0';
	g = malloc(EXE_GLOBALS_MAX * sizeof(*g));
	if (!g)
		return;
	/* the link, not the path: it opens the very file, deleted or in a container */
	n = exe_globals__list(link, g, EXE_GLOBALS_MAX, &relative);
	if (n > 0 && relative) {
		base = exe_base(p, exe);
		if (!base)
			n = 0;
	}
	while (n > 0 && armed < max) {
		int i = watch_rng__next(&w->guess_rng) % n;
		__u64 addr = (g[i].vaddr + base) & ~7ULL;
		struct ipcrace_key key = { .space = KEY_PRIVATE, .a = p->pid, .b = addr };

		/* drawn without replacement */
		g[i] = g[--n];
		if (candidates__excluded(w->cands, &key) || slot_holds(w, &key))
			continue;
		if (arm_guess(w, p, &key))
			armed++;
	}
	free(g);
}

static void guess_after_stop(struct watcher *w, struct wproc *p, const struct arm_stop *st)
{
	if (!w->guessing || !p->opened)
		return;
	if (st->reason == ARM_MAP)
		guess_mapping(w, p, st->addr);
	else if (st->reason == ARM_EXEC)
		guess_globals(w, p);
}

/* Keeps spec among the WATCH_SPECS_MAX best learnt variables (by changes). */
static void learn_var(struct watcher *w, const char *spec, __u32 changes)
{
	struct learned_var *v = NULL;
	size_t i;

	for (i = 0; i < w->nr_vars && !v; i++)
		if (!strcmp(w->vars[i].spec, spec))
			v = &w->vars[i];	/* the same variable in another process */
	if (!v && w->nr_vars < WATCH_SPECS_MAX)
		v = &w->vars[w->nr_vars++];
	if (!v) {
		v = &w->vars[WATCH_SPECS_MAX - 1];	/* kept sorted: the worst */
		if (v->changes >= changes)
			return;
		v->changes = 0;
	}
	if (strcmp(v->spec, spec)) {
		snprintf(v->spec, sizeof(v->spec), "%s", spec);
		v->changes = 0;
	}
	if (changes > v->changes)
		v->changes = changes;
	/* insertion sort, best first: a handful of entries */
	for (i = v - w->vars; i > 0 && w->vars[i - 1].changes < w->vars[i].changes; i--) {
		struct learned_var t = w->vars[i];

		w->vars[i] = w->vars[i - 1];
		w->vars[i - 1] = t;
	}
}

/*
 * The private words of p worth learning, named while its maps are known
 * (it is exiting, or the run ends): the best few its threads changed that
 * a symbol of its executable covers.
 */
static void harvest_private(struct watcher *w, const struct wproc *p)
{
	size_t *idx, n, named = 0;
	char spec[WATCH_SPEC_LEN];

	if (!w->opts.learn_path || !p->threaded)
		return;
	idx = malloc((candidates__count(w->cands) + 1) * sizeof(*idx));
	if (!idx)
		return;
	n = candidates__rank(w->cands, KEY_PRIVATE, p->pid, idx);
	/* the best ones only: each costs a walk of the symbol table */
	for (size_t i = 0; i < n && i < 64 && named < WATCH_SPECS_MAX; i++) {
		const struct candidate *c = candidates__get(w->cands, idx[i]);

		if (!private_word_spec(p, c->key.b, spec, sizeof(spec)))
			continue;
		learn_var(w, spec, c->changes);
		named++;
	}
	free(idx);
}

static void forget_private(struct watcher *w, __u32 pid)
{
	struct wproc *p = find_proc(w, pid);

	if (p)
		harvest_private(w, p);
	for (int k = 0; k < WATCH_SLOTS; k++) {
		struct slot *s = &w->slots[k];

		if (s->named || s->word.kind != WORD_PRIVATE || s->word.pid != pid)
			continue;
		release_slot(w, k);
	}
	candidates__forget_pid(w->cands, pid);
	if (w->priv)
		private_snapshots__drop(w->priv, pid);
}

/*
 * A lock event names a lock object: its words are the lock library's (the
 * analyzer discards accesses to them), and a busy lock's change more than
 * any data: never candidates, and a rotating slot holding one moves on.
 */
/*
 * Excludes the size bytes of obj from the rotation for good (never
 * candidates again, slots holding them move on): words that are
 * synchronization, never data. False when they were already.
 */
static bool exclude_sync(struct watcher *w, const struct ipcrace_event *e, __u64 size,
			 struct ipcrace_key *obj)
{
	*obj = e->key;
	if (obj->space == KEY_NONE) {
		/* unresolved: the analyzer takes (pid, address) too */
		if (!e->addr)
			return false;
		*obj = (struct ipcrace_key){ .space = KEY_PRIVATE, .a = e->pid, .b = e->addr };
	}
	if (!candidates__exclude(w->cands, obj, size))
		return false;
	for (int k = 0; k < WATCH_SLOTS; k++) {
		struct slot *s = &w->slots[k];

		if (s->named || (s->word.kind != WORD_FILE && s->word.kind != WORD_PRIVATE) ||
		    !candidates__excluded(w->cands, &s->key))
			continue;
		if (w->opts.verbose)
			fprintf(stderr, "ipcrace: watch: slot %d: a lock word, moving on\n", k);
		release_slot(w, k);
	}
	return true;
}

static void learn_lock(struct watcher *w, const struct ipcrace_event *e)
{
	__u64 size = lock_extent__size(e->obj);
	struct ipcrace_key obj;

	if (size)
		exclude_sync(w, e, size, &obj);
}

/*
 * A word an atomic (LOCK-prefixed, XCHG) touched: a hand-made lock's
 * word, a flag, a counter. Every access to it is synchronization for the
 * analyzer (hb.h), never in a report, so a debug register on it is
 * wasted (nginx's lock word took 18,000 traps a run): it leaves the
 * rotation for good, and -v names it (the first LOCK_LIKE_NAMED words).
 */
#define LOCK_LIKE_NAMED 32

static void learn_atomic(struct watcher *w, const struct ipcrace_event *e)
{
	struct ipcrace_key obj;
	char name[PATH_MAX + 32];
	struct wproc *p;
	const char *path;

	if (!exclude_sync(w, e, e->arg1 ? e->arg1 : 8, &obj))
		return;
	w->lock_like_words++;
	if (!w->opts.verbose || w->lock_like_words > LOCK_LIKE_NAMED)
		return;
	name[0] = '\0';
	if (obj.space == KEY_FILE) {
		path = object_path(w, obj.a, obj.b);
		if (path)
			snprintf(name, sizeof(name), "%s+0x%llx ", path, (unsigned long long)obj.c);
		fprintf(stderr, "ipcrace: watch: lock-like word %s(object %llx:%llu offset 0x%llx): "
			"atomic accesses, out of the rotation\n", name, (unsigned long long)obj.a,
			(unsigned long long)obj.b, (unsigned long long)obj.c);
		return;
	}
	p = find_proc(w, obj.a);
	if (p && !p->exe)
		p->exe = exe_path(p->pid);	/* kept only with --learn otherwise */
	if (p && !p->nr_maps)
		read_maps(w, p);		/* before its first tick */
	if (p && private_word_spec(p, obj.b, name, sizeof(name) - 1))
		strcat(name, " ");
	else
		name[0] = '\0';
	fprintf(stderr, "ipcrace: watch: lock-like word %s(pid %llu address 0x%llx): atomic "
		"accesses, out of the rotation\n", name, (unsigned long long)obj.a,
		(unsigned long long)obj.b);
}

/*
 * Parks every slot whose word reached its budget: past it BPF records
 * nothing, but the breakpoint still traps (a perf event cannot disable
 * itself from BPF), each trap costing the target microseconds. Runs as
 * soon as BPF says a word crossed its budget, not at the next tick, which
 * a busy tracer may reach only much later.
 */
static void park_capped(struct watcher *w)
{
	for (int k = 0; k < WATCH_SLOTS; k++) {
		struct slot *s = &w->slots[k];
		struct word_count sum = {};

		if (s->word.kind == WORD_NONE || s->throttled)
			continue;
		for_each_key(w, k, sum_counts, &sum);
		/* BPF decides: a budget spent by two threads, or a lone thread's trap cap */
		if (!sum.capped)
			continue;
		s->throttled = true;
		apply_everywhere(w, k);
		if (w->opts.verbose)
			fprintf(stderr, "ipcrace: watch: slot %d parked after %llu hits, %u from "
				"other threads than the first\n", k, (unsigned long long)sum.hits,
				sum.others);
	}
}

static void schedule_tick(struct watcher *w)
{
	for (int k = 0; k < WATCH_SLOTS; k++) {
		struct slot *s = &w->slots[k];
		__u64 hits = 0;

		if (s->word.kind != WORD_NONE)
			for_each_key(w, k, sum_hits, &hits);
		if (s->named) {
			/* never rotated out; rate-capped per window */
			if (w->tick - s->since_tick >= NAMED_WINDOW_TICKS) {
				s->since_tick = w->tick;
				for_each_key(w, k, reset_one, NULL);
				if (s->throttled) {
					s->throttled = false;
					apply_everywhere(w, k);
				}
			} else if (!s->throttled && hits >= NAMED_BUDGET) {
				s->throttled = true;
				apply_everywhere(w, k);
			}
			continue;
		}
		if (s->word.kind != WORD_NONE && hits < ROTATE_BUDGET &&
		    w->tick - s->since_tick < HOLD_TICKS)
			continue;
		if (rotate_slot(w, k) || s->word.kind == WORD_NONE)
			continue;
		/* nothing else to watch: keep the word, within the same rate cap */
		if (w->tick - s->since_tick >= HOLD_TICKS) {
			s->since_tick = w->tick;
			for_each_key(w, k, reset_one, NULL);
			if (s->throttled) {
				s->throttled = false;
				apply_everywhere(w, k);
			}
		} else if (!s->throttled) {
			s->throttled = true;
			apply_everywhere(w, k);
		}
	}
}

/*
 * A guess bets on a word two threads touch at once, one of them writing.
 * Its window opens when a second thread can touch it (a second process
 * armed for a shared word, a second thread in its process); one that lost
 * the bet GUESS_WINDOW_NS later gives its slot back, and is a candidate
 * again only once a snapshot sees it change. (Such a word watched on is
 * often a flag its creator initialises and polls, set atomically much
 * later by another process: C11 atomic loads are plain moves on x86, so
 * that would be a false race.) What a short program did in the window is
 * recorded already.
 */
static void check_guesses(struct watcher *w, __u64 now_ns)
{
	for (int k = 0; k < WATCH_SLOTS; k++) {
		struct slot *s = &w->slots[k];

		if (!s->guess || (s->written && s->shared) || !s->window_ns ||
		    now_ns - s->window_ns < GUESS_WINDOW_NS)
			continue;
		if (w->opts.verbose)
			fprintf(stderr, "ipcrace: watch: slot %d: guess not shared by writers, "
				"moving on\n", k);
		candidates__drop_unchanged(w->cands, &s->key);
		release_slot(w, k);
		rotate_slot(w, k);
	}
}

/* --- public ------------------------------------------------------------ */

static int add_named(struct watcher *w, int k, const char *spec)
{
	struct slot *s = &w->slots[k];
	char path[PATH_MAX];
	bool is_symbol;
	__u64 off;
	__u32 len;

	if (watch_spec__parse(spec, path, sizeof(path), &off, &len, &is_symbol)) {
		fprintf(stderr, "ipcrace: watch: bad spec '%s' (PATH+OFFSET:LEN with LEN 1, 2, 4 "
			"or 8 and OFFSET a multiple of LEN, or a global variable name, "
			"SYMBOL[+OFFSET])\n", spec);
		return -EINVAL;
	}
	s->named = true;
	s->word.len = len;
	if (is_symbol) {
		if (strlen(path) >= sizeof(s->word.symbol)) {
			fprintf(stderr, "ipcrace: watch: symbol name too long\n");
			return -EINVAL;
		}
		s->word.kind = WORD_SYMBOL;
		s->word.off = off;
		memcpy(s->word.symbol, path, strlen(path) + 1);
	} else {
		s->word.kind = WORD_FILE;
		s->word.off = off;
		snprintf(s->word.path, sizeof(s->word.path), "%s", path);
	}
	w->watched_words++;
	return 0;
}

/* NAME=1 (documented in ipcrace help); unset, "" or "0" keep the feature on. */
static bool env_disables(const char *name)
{
	const char *v = getenv(name);

	return v && v[0] && strcmp(v, "0");
}

struct watcher *watcher__new(struct ipcrace_bpf *skel, const struct watch_opts *opts)
{
	struct watcher *w;
	struct timespec ts;
	bool files = false, symbols = false;
	int err = -ENOMEM;

	w = calloc(1, sizeof(*w));
	if (!w) {
		errno = ENOMEM;
		return NULL;
	}
	w->skel = skel;
	w->opts = *opts;
	w->warm_fd = -1;
	w->cands = candidates__new();
	w->snaps = snapshots__new(SNAP_PER_OBJECT, SNAP_TOTAL);
	if (!env_disables(PRIV_DISABLE_ENV)) {
		w->priv = private_snapshots__new(PRIV_TICK_BYTES, PRIV_KEPT, PRIV_REGION_MAX);
		if (!w->priv)
			goto err_free;
	}
	w->insns = insn_classifier__new();
	w->pm = procmaps__new();
	if (!w->cands || !w->snaps || !w->insns || !w->pm)
		goto err_free;
	if (opts->nr_specs > WATCH_SLOTS) {
		fprintf(stderr, "ipcrace: watch: at most %d --watch (one debug register each)\n",
			WATCH_SLOTS);
		err = -EINVAL;
		goto err_free;
	}
	for (size_t i = 0; i < opts->nr_specs; i++) {
		err = add_named(w, i, opts->specs[i]);
		if (err)
			goto err_free;
		files |= w->slots[i].word.kind == WORD_FILE;
		symbols |= w->slots[i].word.kind == WORD_SYMBOL;
	}
	if (opts->seed_set) {
		w->seed = opts->seed;
	} else {
		clock_gettime(CLOCK_REALTIME, &ts);
		w->seed = ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	}
	watch_rng__seed(&w->rng, w->seed);
	watch_rng__seed(&w->guess_rng, w->seed ^ GUESS_SEED_SALT);
	if (opts->verbose)
		fprintf(stderr, "ipcrace: watch: seed %llu\n", (unsigned long long)w->seed);
	w->guessing = guess_limit(w) > 0 && !env_disables(GUESS_DISABLE_ENV);
	/*
	 * The first per-task perf event of the system makes the kernel wait
	 * for an RCU grace period (perf_sched_events, 10-20 ms here), and the
	 * next first one after they are all closed again: taken now, with a
	 * parked breakpoint on ourselves kept open, not while a target is
	 * stopped for arming.
	 */
	{
		struct perf_event_attr a;

		attr_init(&a);
		a.disabled = 1;
		a.inherit = 0;
		a.inherit_thread = 0;
		w->warm_fd = perf_event_open(&a, 0);
	}
	/*
	 * Named words may be written right after their mapping appears or
	 * the program starts, and so may the words guessed there (a short
	 * program is over before a snapshot learns anything): stop the
	 * process there until it is armed. A new process is stopped while a
	 * slot holds a word it can reach (update_fork_stop).
	 */
	w->stop_on_map = files;
	w->stop_on_exec = symbols;
	w->named_fork_stop = files || symbols;
	w->stop_id = stops__add_handler(opts->stops, 1u << ARM_MAP | 1u << ARM_EXEC |
					1u << ARM_FORK, on_stop, w);
	if (w->stop_id < 0) {
		err = w->stop_id;
		goto err_free;
	}
	update_fork_stop(w);
	update_stops(w);
	/* for a hit at an address with no watch_info (not armed by us) */
	skel->data->watch_hit_budget = ROTATE_BUDGET;
	return w;

err_free:
	watcher__free(w);
	errno = -err;
	return NULL;
}

void watcher__free(struct watcher *w)
{
	if (!w)
		return;
	if (w->skel) {
		if (w->opts.verbose)
			fprintf(stderr, "ipcrace: watch: %llu hits trapped past a budget (not recorded)\n",
				(unsigned long long)w->skel->bss->watch_over_budget);
		if (w->opts.verbose)
			fprintf(stderr, "ipcrace: watch: %llu hits repeated a spin's last recorded "
				"one (not recorded)\n",
				(unsigned long long)w->skel->bss->watch_coalesced);
		/* no new stop for us; what is stopped, stops__finish continues */
		stops__want(w->opts.stops, w->stop_id, 0);
		w->closing = true;
		w->guessing = false;
	}
	while (w->procs) {
		struct wproc *p = w->procs;

		w->procs = p->next;
		free_proc(w, p);
	}
	for (size_t i = 0; i < w->nr_obj_paths; i++)
		free(w->obj_paths[i].path);
	if (w->warm_fd >= 0)
		close(w->warm_fd);
	candidates__free(w->cands);
	snapshots__free(w->snaps);
	private_snapshots__free(w->priv);
	insn_classifier__free(w->insns);
	procmaps__free(w->pm);
	free(w);
}

void watcher__adopt(struct watcher *w, __u32 pid)
{
	struct wproc *p;

	if (!w || w->opts.disabled)
		return;
	p = get_proc(w, pid);
	if (p)
		p->dirty = true;
}

void watcher__on_event(struct watcher *w, const struct ipcrace_event *e)
{
	struct wproc *p;

	if (!w || w->opts.disabled)
		return;
	switch (e->type) {
	case EV_LOCK_ATTEMPT:
	case EV_LOCK_ACQUIRED:
	case EV_LOCK_RELEASE:
	case EV_LOCK_DESTROY:
	case EV_FUTEX_WAKE:
	case EV_FUTEX_WAIT_RET:
	case EV_SYNC_OBJECT:
	case EV_BARRIER_ARRIVE:
	case EV_BARRIER_DEPART:
	case EV_ONCE_ENTER:
	case EV_ONCE_RET:
		learn_lock(w, e);
		break;
	case EV_FORK:
		p = get_proc(w, e->arg0);
		if (p)
			p->dirty = true;
		break;
	case EV_THREAD_SPAWN:
		p = get_proc(w, e->pid);
		if (p && !p->threaded) {
			p->threaded = true;
			p->dirty = true;
		}
		/* a second thread that can touch a guess: its window opens */
		for (int k = 0; p && k < WATCH_SLOTS; k++)
			if (w->slots[k].guess && !w->slots[k].window_ns && p->slots[k].addr)
				w->slots[k].window_ns = mono_ns();
		break;
	case EV_EXEC:
		forget_private(w, e->pid);
		p = get_proc(w, e->pid);
		if (p) {
			close_slots(w, p);
			free(p->exe);		/* another program: read again when needed */
			p->exe = NULL;
			p->threaded = false;	/* exec leaves one thread */
			p->dirty = true;
		}
		break;
	case EV_MMAP:
	case EV_MUNMAP:
	case EV_MREMAP:
	case EV_SHMAT:
	case EV_SHMDT:
		p = get_proc(w, e->pid);
		if (p)
			p->dirty = true;
		break;
	case EV_EXIT:
		if (e->flags & EVF_GROUP_DEAD) {
			forget_private(w, e->pid);
			drop_proc(w, e->pid);
		}
		break;
	default:
		break;
	}
}

void watcher__promote(struct watcher *w, const struct ipcrace_key *word)
{
	if (w)
		candidates__promote(w->cands, word, 8);
}

void watcher__annotate(struct watcher *w, struct ipcrace_event *e)
{
	struct wproc *p;
	__u32 flags = 0;
	__u64 at;

	if (!w || e->type != EV_MEM_ACCESS)
		return;
	/* an access probe decoded its own operand; a watchpoint hit is decoded here */
	p = e->flags & EVF_PROBE ? NULL : find_proc(w, e->pid);
	/* the last byte of the accessing instruction is just before ip */
	at = e->arg0 - 1;
	for (size_t i = 0; p && i < p->nr_maps; i++) {
		const struct pmap *m = &p->maps[i];

		if (at < m->start || at >= m->end || m->path[0] != '/')
			continue;
		if (!insn_classifier__classify(w->insns, m->path, m->pgoff + (e->arg0 - m->start),
					       &flags)) {
			e->flags &= ~(EVF_READ | EVF_WRITE | EVF_ATOMIC);
			e->flags |= flags;
		}
		break;
	}
	/* not decodable and no value compared: taken as a read, never a write invented */
	if (!(e->flags & (EVF_READ | EVF_WRITE)))
		e->flags |= EVF_READ;
	if (e->flags & EVF_ATOMIC) {
		learn_atomic(w, e);
		return;
	}
	/* who writes a shared word: two processes make it the best word to learn */
	if ((e->flags & EVF_WRITE) && e->key.space == KEY_FILE)
		candidates__note_write(w->cands, &e->key, e->pid);
	for (int k = 0; k < WATCH_SLOTS; k++) {
		struct slot *s = &w->slots[k];

		if (!s->guess || !key_eq(&s->key, &e->key))
			continue;
		s->written |= !!(e->flags & EVF_WRITE);
		if (!s->first_tid)
			s->first_tid = e->tid;
		else if (s->first_tid != e->tid)
			s->shared = true;
	}
}

void watcher__check_caps(struct watcher *w)
{
	__u64 capped;

	if (!w || w->opts.disabled)
		return;
	/* BPF counts the words that reached their budget in mapped .bss: no syscall */
	capped = __atomic_load_n(&w->skel->bss->watch_capped, __ATOMIC_RELAXED);
	if (capped == w->capped_seen)
		return;
	w->capped_seen = capped;
	park_capped(w);
}

void watcher__tick(struct watcher *w, __u64 now_ns)
{
	if (!w || w->opts.disabled)
		return;
	/* a cap reached on a hit not recorded wakes us with no record in between */
	watcher__check_caps(w);
	check_guesses(w, mono_ns());
	for (struct wproc *p = w->procs; p; p = p->next)
		if (p->dirty)
			sync_proc(w, p);
	if (now_ns - w->last_tick_ns < TICK_NS)
		return;
	w->last_tick_ns = now_ns;
	w->tick++;
	if (w->priv && w->tick % PRIV_RESYNC_TICKS == 0)
		for (struct wproc *p = w->procs; p; p = p->next)
			if (p->threaded)
				sync_proc(w, p);
	snapshots__diff(w->snaps, w->cands);
	if (w->priv)
		private_snapshots__diff(w->priv, w->cands);
	schedule_tick(w);
}

/*
 * A path that names the same object in the next run: a file or
 * /dev/shm/NAME, not anonymous shared memory, memfd or SysV shm (their
 * maps paths are made up and end in " (deleted)"), nor a file removed.
 */
static bool stable_path(const char *path)
{
	static const char deleted[] = " (deleted)";
	size_t n = strlen(path), d = sizeof(deleted) - 1;

	if (path[0] != '/' || !strncmp(path, "/memfd:", 7) || !strncmp(path, "/SYSV", 5) ||
	    !strcmp(path, "/dev/zero"))
		return false;
	return n <= d || strcmp(path + n - d, deleted);
}

/* Appends spec to list[0..*nr) unless there already or full. */
static void add_spec(char (*list)[WATCH_SPEC_LEN], size_t *nr, const char *spec)
{
	for (size_t i = 0; i < *nr; i++)
		if (!strcmp(list[i], spec))
			return;
	if (*nr < WATCH_SPECS_MAX)
		snprintf(list[(*nr)++], WATCH_SPEC_LEN, "%s", spec);
}

int watcher__save_learned(struct watcher *w)
{
	char (*list)[WATCH_SPEC_LEN];
	const char *specs[WATCH_SPECS_MAX];
	size_t *idx, n, nr = 0;
	int err = 0;

	if (!w || w->opts.disabled || !w->opts.learn_path)
		return 0;
	list = calloc(WATCH_SPECS_MAX, sizeof(*list));
	/* room for the words the last diff below may add */
	idx = malloc((CANDIDATES_MAX + 1) * sizeof(*idx));
	if (!list || !idx) {
		err = -ENOMEM;
		goto out;
	}
	/*
	 * The last changes, made since the last tick: a short program's only
	 * ones may be there (the objects outlive it in our own mappings).
	 */
	snapshots__diff(w->snaps, w->cands);
	/* shared words first: other processes see them; lock words are not candidates */
	n = candidates__rank(w->cands, KEY_FILE, 0, idx);
	for (size_t i = 0; i < n && nr < WATCH_SPECS_MAX; i++) {
		const struct candidate *c = candidates__get(w->cands, idx[i]);
		const char *path = object_path(w, c->key.a, c->key.b);
		char spec[WATCH_SPEC_LEN];
		int len;

		if (!path || !stable_path(path))
			continue;
		len = snprintf(spec, sizeof(spec), "%s+0x%llx:8", path, (unsigned long long)c->key.c);
		if (len > 0 && (size_t)len < sizeof(spec) && watch_spec__storable(spec))
			add_spec(list, &nr, spec);
	}
	/* then the globals threads changed, of processes still running too */
	for (struct wproc *p = w->procs; p; p = p->next)
		harvest_private(w, p);
	for (size_t i = 0; i < w->nr_vars; i++)
		add_spec(list, &nr, w->vars[i].spec);
	/* what an earlier run learnt and this one did not see stays worth a look */
	for (size_t i = w->opts.nr_specs - w->opts.nr_learned; i < w->opts.nr_specs; i++)
		add_spec(list, &nr, w->opts.specs[i]);
	for (size_t i = 0; i < nr; i++) {
		specs[i] = list[i];
		if (w->opts.verbose)
			fprintf(stderr, "ipcrace: learn: %s\n", list[i]);
	}
	err = watch_spec__write_file(w->opts.learn_path, specs, nr);
out:
	if (err)
		fprintf(stderr, "ipcrace: learn: cannot write %s: %s\n", w->opts.learn_path,
			strerror(-err));
	free(list);
	free(idx);
	return err;
}

__u64 watcher__watched_words(const struct watcher *w)
{
	return w ? w->watched_words : 0;
}

__u64 watcher__seed(const struct watcher *w)
{
	return w ? w->seed : 0;
}
