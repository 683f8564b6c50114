// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* The access-probe driver (access_probes.h). */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "ipcrace.skel.h"
#include "../analyzer/array.h"
#include "access_plan.h"
#include "access_probes.h"
#include "link_closer.h"
#include "memorder.h"
#include "uprobe_multi.h"

#define BUILD_ID_MAX 20
#define ENOTSUPP_KERNEL 524	/* the kernel's ENOTSUPP: it cannot probe that instruction */

/* A planned file, by build-id (or device and inode when it has none). */
struct plan_entry {
	__u8 build_id[BUILD_ID_MAX];
	size_t build_id_len;
	dev_t dev;
	ino_t ino;
	struct access_plan *plan;
	/*
	 * Loads whose source names an acquire order (site index << 1 | operand
	 * slot): their probe after the load goes on with the file, not when
	 * BPF first asks for it. Until then the load is recorded before it
	 * runs, and one preempted there can read the release recorded after it.
	 */
	size_t *acquires;
	size_t nr_acquires, cap_acquires;
};

struct attached {
	dev_t dev;
	ino_t ino;
	int pid;
	char *path;		/* as attached: its groups' kept probes attach there again */
	size_t probes;		/* attached (0: over the limit, unplanned, all refused) */
};

/*
 * One detachable group: the links its probes ended up in, and where its
 * probes come from (sites [site_lo, site_lo + nr_sites) of plan, ids from
 * id_lo, attached at files[file]) for the ones kept when it goes.
 */
struct group {
	int *fds;
	size_t nr_fds;
	size_t cap_fds;
	__u32 probes;
	bool detached;
	const struct access_plan *plan;
	size_t site_lo, nr_sites;
	__u32 id_lo;
	size_t file;
};

enum refusal {
	REFUSED_INSN,		/* ENOTSUPP: an instruction uprobes cannot handle */
	REFUSED_INVALID,	/* EINVAL: not an instruction boundary, or similar */
	REFUSED_OTHER,
	REFUSED_MAX,
};

struct access_probes {
	struct ipcrace_bpf *skel;
	struct link_closer *closer;	/* detached groups' links, closed in the background */
	struct access_opts opts;
	int prog_fd;
	struct plan_entry *plans;
	size_t nr_plans, cap_plans;
	struct attached *files;
	size_t nr_files, cap_files;
	struct group *groups;
	size_t nr_groups, cap_groups;
	__u32 nr_probes;		/* ids handed out */
	__u32 max_probes;		/* ACCESS_PROBES_MAX, or less (IPCRACE_ACCESS_PROBES_MAX) */
	__u64 capped_seen;
	/* for -v */
	size_t probed, detached_probes, detached_groups, over_limit, link_errors;
	size_t kept_probes, keep_errors;	/* of detached groups: sites seen on atomic words */
	/* probes after acquire loads: their links (closed at the end), requests served */
	int *post_fds;
	size_t nr_post_fds, cap_post_fds;
	__u64 post_served;
	size_t post_at_once;		/* of them, attached with their file (acquire in the source) */
	size_t post_errors;
	size_t refused[REFUSED_MAX];
	size_t memory_insns, atomic_before, release_before, release_after, skipped[ASKIP_MAX];
	size_t relaxed;		/* operands whose source names only relaxed orders */
	size_t ordered;		/* plain operands whose source names an ordered atomic */
	size_t loads_elided;	/* loads an RMW after them covers: not probed */
	size_t loads_kept;	/* ... probed all the same: an acquire before a relaxed RMW */
};

void access_probes__configure(struct ipcrace_bpf *skel, const struct access_opts *opts)
{
	skel->rodata->access_budget = opts->budget ? opts->budget : ACCESS_BUDGET_DEFAULT;
	skel->rodata->access_trap_cap = opts->trap_cap ? opts->trap_cap : ACCESS_TRAP_CAP_DEFAULT;
	if (!opts->enabled) {
		/* nothing will use them: no need to hold megabytes of kernel memory */
		bpf_map__set_max_entries(skel->maps.access_ops, 1);
		bpf_map__set_max_entries(skel->maps.access_hits, 1);
		bpf_map__set_max_entries(skel->maps.access_budgets, 1);
		bpf_map__set_max_entries(skel->maps.access_atomic_words, 1);
		bpf_map__set_max_entries(skel->maps.access_atomic_shared, 1);
		bpf_map__set_max_entries(skel->maps.access_post, 1);
	}
}

struct access_probes *access_probes__new(struct ipcrace_bpf *skel, const struct access_opts *opts)
{
	struct access_probes *ap = calloc(1, sizeof(*ap));
	const char *limit;

	if (!ap) {
		errno = ENOMEM;
		return NULL;
	}
	ap->skel = skel;
	ap->opts = *opts;
	ap->prog_fd = bpf_program__fd(skel->progs.access_probe);
	ap->max_probes = ACCESS_PROBES_MAX;
	/* for tests: a run whose executables do not all fit */
	limit = getenv("IPCRACE_ACCESS_PROBES_MAX");
	if (limit && *limit) {
		char *end;
		unsigned long v = strtoul(limit, &end, 10);

		if (!*end && v < ap->max_probes)
			ap->max_probes = (__u32)v;
	}
	/* NULL: each link is closed where it is detached */
	ap->closer = link_closer__new();
	return ap;
}

/* Closes the group's first nr links; the rest (kept probes) stay. */
static void group_detach(struct access_probes *ap, struct group *g, size_t nr)
{
	for (size_t i = 0; i < nr; i++)
		link_closer__close(ap->closer, g->fds[i]);
	memmove(g->fds, g->fds + nr, (g->nr_fds - nr) * sizeof(*g->fds));
	g->nr_fds -= nr;
	g->detached = true;
}

/*
 * Each link's close waits for the kernel's grace period (20-70 ms here):
 * at the end, they go to the closer, whose waits overlap.
 */
static void close_all(struct access_probes *ap)
{
	/* the probes after acquire loads first: their loads' own probes may still be attached */
	for (size_t i = 0; i < ap->nr_post_fds; i++)
		close(ap->post_fds[i]);
	ap->nr_post_fds = 0;
	for (size_t i = 0; i < ap->nr_groups; i++) {
		for (size_t j = 0; j < ap->groups[i].nr_fds; j++)
			link_closer__close(ap->closer, ap->groups[i].fds[j]);
		ap->groups[i].nr_fds = 0;
	}
	link_closer__free(ap->closer);
	ap->closer = NULL;
}

void access_probes__free(struct access_probes *ap)
{
	if (!ap)
		return;
	close_all(ap);
	for (size_t i = 0; i < ap->nr_groups; i++)
		free(ap->groups[i].fds);
	for (size_t i = 0; i < ap->nr_plans; i++) {
		access_plan__free(ap->plans[i].plan);
		free(ap->plans[i].acquires);
	}
	for (size_t i = 0; i < ap->nr_files; i++)
		free(ap->files[i].path);
	free(ap->post_fds);
	free(ap->groups);
	free(ap->plans);
	free(ap->files);
	free(ap);
}

/* The GNU build-id note of the file, or 0 bytes when it has none. */
static size_t read_build_id(const char *path, __u8 *out)
{
	Elf_Scn *scn = NULL;
	size_t len = 0;
	Elf *elf;
	int fd;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	while (elf && !len && (scn = elf_nextscn(elf, scn))) {
		size_t off = 0, name_off, desc_off;
		Elf_Data *data;
		GElf_Shdr sh;
		GElf_Nhdr nh;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		data = elf_getdata(scn, NULL);
		while (data && (off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
			if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
			    !memcmp((char *)data->d_buf + name_off, "GNU", 4) && nh.n_descsz &&
			    nh.n_descsz <= BUILD_ID_MAX) {
				memcpy(out, (char *)data->d_buf + desc_off, nh.n_descsz);
				len = nh.n_descsz;
				break;
			}
		}
	}
	if (elf)
		elf_end(elf);
	close(fd);
	return len;
}

/*
 * May operand op be the atomic operation of a statement that spells ops?
 * A plain store only of one that stores, a plain load only of one that
 * loads or updates (a compare-exchange loop loads first): `v =
 * atomic_load(&a)` also stores v, `atomic_store(&a, v)` also loads v, and
 * those are data. An atomic instruction is the statement's atomic.
 */
static bool op_is_the_atomic(const struct access_operand *op, unsigned int ops)
{
	if (op->flags & AOP_ATOMIC)
		return true;
	if (op->flags & AOP_WRITE)
		return ops & MEMORDER_OP_STORE;
	return ops & (MEMORDER_OP_LOAD | MEMORDER_OP_RMW);
}

/*
 * Flags the planned operands whose source names only relaxed orders
 * (tracer/memorder.h), and the plain ones whose source names an ordered
 * one (AOP_ORDERED, counted in *ordered). Returns how many are relaxed;
 * none when the file has no line table or its sources are not here.
 */
static size_t mark_orders(struct access_plan *plan, const char *path, size_t *ordered)
{
	struct memorder *m = memorder__open(path);
	size_t nr = access_plan__count(plan), marked = 0;
	enum memorder_kind order;
	unsigned int ops;

	if (!m)
		return 0;
	for (size_t i = 0; i < nr; i++) {
		const struct access_site *s = access_plan__site(plan, i);

		for (__u32 k = 0; k < s->desc.nr_ops && k < ACCESS_OPS_MAX; k++) {
			order = memorder__order_ops_at(m, s->vaddr + s->desc.ops[k].ip_delta, &ops);
			if (!op_is_the_atomic(&s->desc.ops[k], ops))
				continue;
			if (order == MEMORDER_RELAXED) {
				access_plan__add_op_flags(plan, i, k, AOP_RELAXED);
				marked++;
			} else if (order == MEMORDER_ORDERED && !(s->desc.ops[k].flags & AOP_ATOMIC)) {
				access_plan__add_op_flags(plan, i, k, AOP_ORDERED);
				(*ordered)++;
			}
		}
	}
	memorder__free(m);
	return marked;
}

/*
 * Lists in e the ordered loads (AOP_ORDERED) a probe after them can record
 * (AOP_POSTABLE): those probes go on with the file's.
 */
static void list_acquires(const struct access_plan *plan, struct plan_entry *e)
{
	size_t nr = access_plan__count(plan);

	for (size_t i = 0; i < nr; i++) {
		const struct access_site *s = access_plan__site(plan, i);

		for (__u32 k = 0; k < s->desc.nr_ops && k < ACCESS_OPS_MAX; k++)
			if ((s->desc.ops[k].flags & (AOP_ORDERED | AOP_POSTABLE)) ==
				    (AOP_ORDERED | AOP_POSTABLE) &&
			    !array__reserve(&e->acquires, &e->cap_acquires, e->nr_acquires + 1,
					    sizeof(*e->acquires)))
				e->acquires[e->nr_acquires++] = i << 1 | k;
	}
}

/* The plan of the file, made once per build-id (a copy elsewhere reuses it). */
static struct access_plan *plan_get(struct access_probes *ap, const char *path,
				    const struct stat *st, int *err)
{
	__u8 id[BUILD_ID_MAX];
	size_t id_len = read_build_id(path, id);
	struct plan_entry *e;
	struct access_plan *plan;

	for (size_t i = 0; i < ap->nr_plans; i++) {
		e = &ap->plans[i];
		if (id_len ? e->build_id_len == id_len && !memcmp(e->build_id, id, id_len) :
			     !e->build_id_len && e->dev == st->st_dev && e->ino == st->st_ino)
			return e->plan;
	}
	plan = access_plan__new();
	if (!plan) {
		*err = -errno;
		return NULL;
	}
	*err = access_plan__add_file(plan, path);
	if (!*err)
		*err = array__reserve(&ap->plans, &ap->cap_plans, ap->nr_plans + 1,
				      sizeof(*ap->plans));
	if (*err) {
		access_plan__free(plan);
		return NULL;
	}
	e = &ap->plans[ap->nr_plans++];
	memset(e, 0, sizeof(*e));
	memcpy(e->build_id, id, id_len);
	e->build_id_len = id_len;
	e->dev = st->st_dev;
	e->ino = st->st_ino;
	e->plan = plan;
	ap->memory_insns += access_plan__nr_memory_insns(plan);
	ap->atomic_before += access_plan__nr_atomic_before(plan);
	ap->release_before += access_plan__nr_release_before(plan);
	ap->release_after += access_plan__nr_release_after(plan);
	ap->relaxed += mark_orders(plan, path, &ap->ordered);
	/* after the orders (an acquire before a relaxed RMW keeps its probe), before the list */
	ap->loads_elided += access_plan__elide_loads(plan);
	ap->loads_kept += access_plan__nr_loads_kept(plan);
	list_acquires(plan, e);
	for (int k = 0; k < ASKIP_MAX; k++)
		ap->skipped[k] += access_plan__skipped(plan, k);
	return plan;
}

/* True (and remembered) unless the file was attached for pid (or for all) before. */
static bool first_time(struct access_probes *ap, const char *path, const struct stat *st, int pid)
{
	char *copy;

	for (size_t i = 0; i < ap->nr_files; i++) {
		const struct attached *a = &ap->files[i];

		if (a->dev == st->st_dev && a->ino == st->st_ino && (!a->pid || a->pid == pid))
			return false;
	}
	copy = strdup(path);
	if (!copy ||
	    array__reserve(&ap->files, &ap->cap_files, ap->nr_files + 1, sizeof(*ap->files))) {
		free(copy);
		return false;
	}
	ap->files[ap->nr_files++] = (struct attached){ st->st_dev, st->st_ino, pid, copy };
	return true;
}

static enum refusal refusal_of(int err)
{
	if (err == -ENOTSUPP_KERNEL)
		return REFUSED_INSN;
	return err == -EINVAL ? REFUSED_INVALID : REFUSED_OTHER;
}

/*
 * Attaches offsets[lo, hi) as one link of group g; when the kernel refuses
 * it, halves until the refused instructions are alone (and counted).
 * Returns 0, or a negative errno that is no refusal (stop trying).
 */
static int attach_range(struct access_probes *ap, struct group *g, const char *path,
			const __u64 *offsets, const __u64 *cookies, size_t lo, size_t hi, int pid)
{
	size_t mid;
	int fd, err;

	if (lo >= hi)
		return 0;
	fd = uprobe_multi__attach(ap->prog_fd, path, offsets + lo, cookies + lo, hi - lo, false, pid);
	if (fd >= 0) {
		err = array__reserve(&g->fds, &g->cap_fds, g->nr_fds + 1, sizeof(*g->fds));
		if (err) {
			close(fd);
			return err;
		}
		g->fds[g->nr_fds++] = fd;
		g->probes += hi - lo;
		ap->probed += hi - lo;
		return 0;
	}
	if (fd != -ENOTSUPP_KERNEL && fd != -EINVAL) {
		ap->link_errors++;
		return fd;
	}
	if (hi - lo == 1) {
		ap->refused[refusal_of(fd)]++;
		return 0;
	}
	mid = lo + (hi - lo) / 2;
	err = attach_range(ap, g, path, offsets, cookies, lo, mid, pid);
	return err ? err : attach_range(ap, g, path, offsets, cookies, mid, hi, pid);
}

static int post_attach(struct access_probes *ap, __u32 id, int slot);

/* The probes after the file's acquire loads (plan_entry.acquires), at once. */
static void attach_acquires(struct access_probes *ap, const struct access_plan *plan,
			    __u32 id_base)
{
	const struct plan_entry *e = NULL;

	for (size_t i = 0; i < ap->nr_plans && !e; i++)
		if (ap->plans[i].plan == plan)
			e = &ap->plans[i];
	for (size_t i = 0; e && i < e->nr_acquires; i++)
		if (post_attach(ap, id_base + (__u32)(e->acquires[i] >> 1), (int)(e->acquires[i] & 1)))
			ap->post_errors++;
		else
			ap->post_at_once++;
}

int access_probes__attach_file(struct access_probes *ap, const char *path, int pid)
{
	const struct access_plan *plan;
	size_t nr, i, first, nr_groups, file, probed_before = ap->probed;
	__u64 *offsets = NULL, *cookies = NULL;
	__u32 id_base, group_base;
	struct stat st;
	int err = 0;

	if (!ap)
		return 0;
	if (stat(path, &st))
		return -errno;
	if (!first_time(ap, path, &st, pid))
		return 0;
	file = ap->nr_files - 1;
	plan = plan_get(ap, path, &st, &err);
	if (!plan) {
		if (ap->opts.verbose)
			fprintf(stderr, "ipcrace: access probes: cannot plan %s: %s\n", path,
				strerror(-err));
		return err;
	}
	nr = access_plan__count(plan);
	nr_groups = access_plan__nr_groups(plan);
	if (ap->nr_probes + nr > ap->max_probes || ap->nr_groups + nr_groups > ACCESS_GROUPS_MAX) {
		ap->over_limit += nr;
		return -E2BIG;
	}
	id_base = ap->nr_probes;
	group_base = ap->nr_groups;
	err = array__reserve(&ap->groups, &ap->cap_groups, ap->nr_groups + nr_groups,
			     sizeof(*ap->groups));
	if (err)
		return err;
	memset(&ap->groups[ap->nr_groups], 0, nr_groups * sizeof(*ap->groups));
	ap->nr_groups += nr_groups;
	ap->nr_probes += nr;
	offsets = calloc(nr ? nr : 1, sizeof(*offsets));
	cookies = calloc(nr ? nr : 1, sizeof(*cookies));
	if (!offsets || !cookies) {
		err = -ENOMEM;
		goto out;
	}
	for (i = 0; i < nr; i++) {
		const struct access_site *s = access_plan__site(plan, i);
		struct access_probe_desc d = s->desc;
		__u32 id = id_base + i;

		d.group += group_base;
		if (bpf_map_update_elem(bpf_map__fd(ap->skel->maps.access_ops), &id, &d, BPF_ANY)) {
			err = -errno;
			goto out;
		}
		offsets[i] = s->offset;
		cookies[i] = id;
	}
	/* one link per group: the sites of a group are consecutive */
	for (first = 0; first < nr && !err; first = i) {
		__u32 group = access_plan__site(plan, first)->desc.group;

		struct group *g = &ap->groups[group_base + group];

		for (i = first; i < nr && access_plan__site(plan, i)->desc.group == group; i++)
			;
		g->plan = plan;
		g->site_lo = first;
		g->nr_sites = i - first;
		g->id_lo = id_base + first;
		g->file = ap->nr_files - 1;
		err = attach_range(ap, g, path, offsets, cookies, first, i, pid);
	}
	if (!err)
		attach_acquires(ap, plan, id_base);
out:
	free(offsets);
	free(cookies);
	ap->files[file].probes = ap->probed - probed_before;
	if (ap->opts.verbose)
		fprintf(stderr, "ipcrace: access probes: %s: %zu instructions planned, %zu probed%s%s\n",
			path, nr, ap->probed - probed_before, err ? ": " : "",
			err ? strerror(-err) : "");
	if (err && ap->probed == probed_before)
		return err;
	return ap->probed - probed_before;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

/* libc, libpthread and the dynamic loader: their internals are synchronization. */
static bool never_instrumented(const char *path)
{
	const char *b = base_name(path);

	return !strncmp(b, "libc.so", 7) || !strncmp(b, "libc-", 5) ||
	       !strncmp(b, "libpthread", 10) || !strncmp(b, "ld-linux", 8) ||
	       !strncmp(b, "ld64.so", 7);
}

bool access_probes__covers(const struct access_probes *ap, __u64 dev, __u64 ino, __u32 pid)
{
	for (size_t i = 0; ap && i < ap->nr_files; i++) {
		const struct attached *a = &ap->files[i];

		if ((__u64)a->dev == dev && (__u64)a->ino == ino && (!a->pid || a->pid == (int)pid) &&
		    a->probes)
			return true;
	}
	return false;
}

bool access_probes__instruments(const struct access_probes *ap, const char *path)
{
	const char *b = base_name(path);

	if (!ap || never_instrumented(path))
		return false;
	for (size_t i = 0; i < ap->opts.nr_instrument; i++) {
		const char *lib = ap->opts.instrument[i];
		size_t n = strlen(lib);

		if (strchr(lib, '/') ? !strcmp(lib, path) :
		    !strcmp(lib, b) || (!strncmp(lib, b, n) && (b[n] == '.' || b[n] == '-')))
			return true;
	}
	return false;
}

/*
 * Before g goes: its probes that touched a word an atomic touched (a
 * release store, an acquire load: BPF set their sync) attach again in a
 * link of their own, kept to the end, so a spent group does not take a
 * lock's release along. The new link is attached before the old one is
 * closed: for the close's grace period such a probe records twice (the
 * same acquire or release again orders nothing new). A site that touches
 * an atomic word only after its group went is not seen again (-v counts
 * what was kept).
 */
static void group_keep_sync(struct access_probes *ap, struct group *g)
{
	int hits_fd = bpf_map__fd(ap->skel->maps.access_hits);
	__u64 *offsets = NULL, *cookies = NULL;
	size_t n = 0;
	int fd;

	if (!g->plan || !g->nr_sites)
		return;
	offsets = calloc(g->nr_sites, sizeof(*offsets));
	cookies = calloc(g->nr_sites, sizeof(*cookies));
	if (!offsets || !cookies) {
		ap->keep_errors++;
		goto out;
	}
	for (size_t k = 0; k < g->nr_sites; k++) {
		struct access_probe_hits h;
		__u32 id = g->id_lo + k;

		if (bpf_map_lookup_elem(hits_fd, &id, &h) || !h.sync)
			continue;
		offsets[n] = access_plan__site(g->plan, g->site_lo + k)->offset;
		cookies[n++] = id;
	}
	if (!n)
		goto out;
	fd = uprobe_multi__attach(ap->prog_fd, ap->files[g->file].path, offsets, cookies, n, false,
				  ap->files[g->file].pid);
	if (fd < 0 || array__reserve(&g->fds, &g->cap_fds, g->nr_fds + 1, sizeof(*g->fds))) {
		if (fd >= 0)
			close(fd);
		ap->keep_errors++;
		goto out;
	}
	/* after the detach: g->fds then holds this link alone, closed at the end */
	g->fds[g->nr_fds++] = fd;
	ap->kept_probes += n;
out:
	free(offsets);
	free(cookies);
}

/* The group holding probe id (groups are in id order), or NULL. */
static struct group *group_of(struct access_probes *ap, __u32 id)
{
	size_t lo = 0, hi = ap->nr_groups;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		struct group *g = &ap->groups[mid];

		if (g->plan && id < g->id_lo)
			hi = mid;
		else if (g->plan && id >= g->id_lo + g->nr_sites)
			lo = mid + 1;
		else if (g->plan)
			return g;
		else
			return NULL;	/* a group with no site: not one of ours */
	}
	return NULL;
}

/*
 * Probes operand slot of probe id's load again at the next instruction,
 * after it ran (AOP_POST): from now on its acquires are recorded there
 * (bpf/access.bpf.c). Kept to the end, whatever happens to its group.
 */
static int post_attach(struct access_probes *ap, __u32 id, int slot)
{
	struct group *g = group_of(ap, id);
	const struct access_site *s;
	struct access_probe_desc d = {};
	__u64 offset, cookie;
	__u32 post_id, value;
	__s8 len;
	int fd, err;

	if (!g)
		return -ENOENT;
	s = access_plan__site(g->plan, g->site_lo + (id - g->id_lo));
	if (!s || slot >= (int)s->desc.nr_ops || !(s->desc.ops[slot].flags & AOP_POSTABLE) ||
	    !s->next_offset || s->next_offset <= s->offset || s->next_offset - s->offset > 15)
		return -EINVAL;
	if (ap->nr_probes >= ACCESS_PROBES_MAX)
		return -E2BIG;
	len = s->next_offset - s->offset;
	d.ops[0] = s->desc.ops[slot];
	d.ops[0].flags = (d.ops[0].flags & ~AOP_POSTABLE) | AOP_POST;
	d.ops[0].ip_delta -= len;
	d.ops[0].rip_delta -= len;
	d.nr_ops = 1;
	d.group = ACCESS_GROUPS_MAX;	/* none: never capped */
	post_id = ap->nr_probes;
	if (bpf_map_update_elem(bpf_map__fd(ap->skel->maps.access_ops), &post_id, &d, BPF_ANY))
		return -errno;
	err = array__reserve(&ap->post_fds, &ap->cap_post_fds, ap->nr_post_fds + 1,
			     sizeof(*ap->post_fds));
	if (err)
		return err;
	offset = s->next_offset;
	cookie = post_id;
	fd = uprobe_multi__attach(ap->prog_fd, ap->files[g->file].path, &offset, &cookie, 1, false,
				  ap->files[g->file].pid);
	if (fd < 0)
		return fd;
	ap->nr_probes++;
	ap->post_fds[ap->nr_post_fds++] = fd;
	/* attached first: until this is set, the load's own probe records it */
	value = post_id + 1;
	if (bpf_map_update_elem(bpf_map__fd(ap->skel->maps.access_post), &id, &value, BPF_ANY))
		return -errno;
	return 0;
}

/* Serves the requests BPF queued for probes after acquire loads. */
static void serve_posts(struct access_probes *ap)
{
	__u64 nr = __atomic_load_n(&ap->skel->bss->access_post_nr, __ATOMIC_ACQUIRE);

	if (nr > ACCESS_POST_REQS_MAX)
		nr = ACCESS_POST_REQS_MAX;
	while (ap->post_served < nr) {
		__u32 req = __atomic_load_n(&ap->skel->bss->access_post_req[ap->post_served],
					    __ATOMIC_ACQUIRE);

		if (!req)
			break;		/* counted, not written yet: next time */
		if (post_attach(ap, (req - 1) >> 1, (req - 1) & 1))
			ap->post_errors++;
		ap->post_served++;
	}
}

void access_probes__check_caps(struct access_probes *ap)
{
	__u64 capped;

	if (!ap)
		return;
	if (ap->post_served < ACCESS_POST_REQS_MAX &&
	    __atomic_load_n(&ap->skel->bss->access_post_nr, __ATOMIC_RELAXED) != ap->post_served)
		serve_posts(ap);
	capped = __atomic_load_n(&ap->skel->bss->access_capped, __ATOMIC_ACQUIRE);
	if (capped == ap->capped_seen)
		return;
	ap->capped_seen = capped;
	for (size_t g = 0; g < ap->nr_groups; g++) {
		struct group *grp = &ap->groups[g];

		if (grp->detached || !ap->skel->bss->access_group_capped[g])
			continue;
		size_t kept = ap->kept_probes, old = grp->nr_fds;

		group_keep_sync(ap, grp);
		ap->detached_probes += grp->probes - (ap->kept_probes - kept);
		ap->detached_groups++;
		group_detach(ap, grp, old);
	}
}

void access_probes__print_stats(const struct access_probes *ap)
{
	const struct ipcrace_bpf *skel;

	if (!ap)
		return;
	skel = ap->skel;
	fprintf(stderr, "ipcrace: access probes: %zu instructions with memory operands, %zu probed, "
		"%zu refused by the kernel (%zu unsupported instruction, %zu invalid, %zu other), "
		"%zu detached in %zu groups (%.1f ms closing links; %zu of their probes kept: they "
		"touched atomic words, %zu could not be), %zu over the limit\n",
		ap->memory_insns, ap->probed,
		ap->refused[REFUSED_INSN] + ap->refused[REFUSED_INVALID] + ap->refused[REFUSED_OTHER],
		ap->refused[REFUSED_INSN], ap->refused[REFUSED_INVALID], ap->refused[REFUSED_OTHER],
		ap->detached_probes, ap->detached_groups, link_closer__busy_ms(ap->closer), ap->kept_probes,
		ap->keep_errors, ap->over_limit);
	fprintf(stderr, "ipcrace: access probes: not planned:");
	for (int k = 0; k < ASKIP_MAX; k++)
		fprintf(stderr, "%s %zu %s", k ? "," : "", ap->skipped[k], access_skip__name(k));
	fprintf(stderr, "; %zu xchg recorded before it runs (no safe next instruction)\n",
		ap->atomic_before);
	fprintf(stderr, "ipcrace: access probes: %zu atomics' releases recorded before they run "
		"(%llu times, %llu repeats not recorded), %zu only after (no safe instruction before "
		"them)\n", ap->release_before, (unsigned long long)skel->bss->access_releases,
		(unsigned long long)skel->bss->access_releases_redundant, ap->release_after);
	fprintf(stderr, "ipcrace: access probes: %zu loads not probed: the atomic RMW of their "
		"word after them records it (%zu kept: an acquire before a relaxed RMW)\n",
		ap->loads_elided, ap->loads_kept);
	fprintf(stderr, "ipcrace: access probes: %zu operands are relaxed atomics (their source "
		"line names memory_order_relaxed only): atomic, ordering nothing; %zu plain ones are "
		"ordered atomics (their source names acquire, release or seq_cst): synchronization "
		"from their first run; %llu shared words an atomic touched, learnt %llu times by a "
		"process from another's atomic\n", ap->relaxed, ap->ordered,
		(unsigned long long)skel->bss->access_shared_atomics,
		(unsigned long long)skel->bss->access_shared_learnt);
	fprintf(stderr, "ipcrace: access probes: %zu acquire loads probed again after they run (%zu "
		"from the start: their source names an acquire; %llu acquires left to those probes), "
		"%llu such probes not attached\n",
		ap->nr_post_fds, ap->post_at_once, (unsigned long long)skel->bss->access_post_deferred,
		(unsigned long long)(ap->post_errors +
				     (skel->bss->access_post_nr > ACCESS_POST_REQS_MAX ?
				      skel->bss->access_post_nr - ACCESS_POST_REQS_MAX : 0)));
	fprintf(stderr, "ipcrace: access probes: %llu accesses recorded (%llu plain ones of atomic "
		"words, past any budget), %llu on the thread's own stack dropped, %llu atomic "
		"repeats not recorded, %llu hits past a thread's budget (budget %u, trap cap %u; "
		"%llu frame groups went at once: their process's only thread had spent)\n",
		(unsigned long long)skel->bss->access_recorded,
		(unsigned long long)skel->bss->access_sync_plain,
		(unsigned long long)skel->bss->access_own_stack,
		(unsigned long long)skel->bss->access_redundant,
		(unsigned long long)skel->bss->access_over_budget,
		skel->rodata->access_budget, skel->rodata->access_trap_cap,
		(unsigned long long)skel->bss->access_frame_capped);
}
