// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The watcher's hardware breakpoints: perf events on every thread of a
 * process (4 debug registers), pointed at a slot's word or parked, and the
 * hit counts BPF keeps per word
 * (watch_int.h).
 */
#include <dirent.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <linux/hw_breakpoint.h>
#include <bpf/bpf.h>
#include "ipcrace.skel.h"
#include "../bpf/watch_maps.h"
#include "watch_int.h"

int watch_perf_event_open(struct perf_event_attr *attr, pid_t pid)
{
	return syscall(SYS_perf_event_open, attr, pid, -1, -1, PERF_FLAG_FD_CLOEXEC);
}

static void forget_watch_info(struct watcher *w, __u32 pid, __u64 addr)
{
	struct watch_addr wa = { .pid = pid, .addr = addr };

	bpf_map_delete_elem(bpf_map__fd(w->skel->maps.watch_info), &wa);
}

void watch_close_slots(struct watcher *w, struct wproc *p)
{
	watch_cost_set_armed(w, p, 0);
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

void watch_attr_init(struct perf_event_attr *a)
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

int watch_list_threads(__u32 pid, __u32 **tids, size_t *nr)
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

		watch_attr_init(&ps->attr);
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
			ps->fds[t] = watch_perf_event_open(&ps->attr, tids[t]);
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

int watch_open_slots(struct watcher *w, struct wproc *p)
{
	__u32 *tids = NULL, *after = NULL;
	size_t nr, nr_after;
	int err;

	err = watch_list_threads(p->pid, &tids, &nr);
	for (int attempt = 0; !err && attempt < OPEN_ATTEMPTS; attempt++) {
		err = open_slots_on(w, p, tids, nr);
		if (err)
			break;
		err = watch_list_threads(p->pid, &after, &nr_after);
		if (err || same_threads(after, nr_after, tids, nr))
			break;
		if (attempt + 1 == OPEN_ATTEMPTS)
			break;		/* keep what we have: most threads are armed */
		watch_close_slots(w, p);
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

void watch_apply_slot(struct watcher *w, struct wproc *p, int k)
{
	struct pslot *ps = &p->slots[k];
	struct ipcrace_key key;
	__u64 addr = 0;

	if (!w->slots[k].throttled)
		addr = watch_word_addr(w, p, k, &key);
	if (addr == ps->addr && (!addr || key_eq(&key, &ps->key)))
		return;
	/* the first word for this process: its slots are opened now, parked */
	if (addr && !p->opened && watch_open_slots(w, p))
		return;		/* gone, or going: its exit event cleans up */
	if (ps->addr)
		forget_watch_info(w, p->pid, ps->addr);
	/* its context switches cost by the slots armed: charged at the old count */
	watch_cost_set_armed(w, p, p->armed - !!ps->addr + !!addr);
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

void watch_for_each_key(struct watcher *w, int k, key_fn fn, void *ctx)
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

void watch_sum_hits(struct watcher *w, const struct ipcrace_key *key, void *ctx)
{
	*(__u64 *)ctx += word_hits(w, key).hits;
}

void watch_sum_counts(struct watcher *w, const struct ipcrace_key *key, void *ctx)
{
	struct word_count *sum = ctx, v = word_hits(w, key);

	sum->hits += v.hits;
	sum->others += v.others;
	sum->capped |= v.capped;
}

void watch_reset_one(struct watcher *w, const struct ipcrace_key *key, void *ctx)
{
	(void)ctx;
	reset_hits(w, key);
}

void watch_apply_everywhere(struct watcher *w, int k)
{
	for (struct wproc *p = w->procs; p; p = p->next)
		if (p->synced)
			watch_apply_slot(w, p, k);
}
