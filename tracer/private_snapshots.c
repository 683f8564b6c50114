// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <stdint.h>
#include <sys/uio.h>

#include "private_snapshots.h"

#define PRIV_PAGE 4096ULL
/* A PROT_NONE mapping at most this big right below a stack is its guard. */
#define STACK_GUARD_MAX (1ULL << 20)

static bool map_is_anon_private_rw(const struct private_map *m)
{
	return !m->shared && !m->ino && !m->path[0] &&
	       (m->prot & (PROT_READ | PROT_WRITE)) == (PROT_READ | PROT_WRITE);
}

static bool map_is_exe(const struct private_map *m, __u64 exe_dev, __u64 exe_ino)
{
	return m->ino && m->ino == exe_ino && m->dev == exe_dev;
}

/*
 * glibc puts a thread's stack (and its TLS and struct pthread, per thread
 * too) in an anonymous mapping right above a PROT_NONE guard of a page or
 * a few. A malloc arena is the other way round: its writable part comes
 * first, its PROT_NONE reserve (megabytes) after it.
 */
static bool map_is_thread_stack(const struct private_map *maps, size_t i)
{
	const struct private_map *g;

	if (!i)
		return false;
	g = &maps[i - 1];
	return g->end == maps[i].start && !g->shared && !g->ino && !g->path[0] && !g->prot &&
	       g->end - g->start <= STACK_GUARD_MAX;
}

enum priv_class { PRIV_SKIP, PRIV_EXE, PRIV_HEAP, PRIV_ANON, PRIV_CLASSES };

static enum priv_class classify(const struct private_map *maps, size_t i, __u64 exe_dev,
				__u64 exe_ino)
{
	const struct private_map *m = &maps[i], *prev = i ? &maps[i - 1] : NULL;

	if (m->shared || !(m->prot & PROT_WRITE) || !(m->prot & PROT_READ))
		return PRIV_SKIP;
	if (map_is_exe(m, exe_dev, exe_ino))
		return PRIV_EXE;
	if (!strcmp(m->path, "[heap]"))
		return PRIV_HEAP;
	if (!map_is_anon_private_rw(m) || map_is_thread_stack(maps, i))
		return PRIV_SKIP;
	/* an anonymous mapping right after a file's is that file's .bss */
	if (prev && prev->end == m->start && prev->ino)
		return map_is_exe(prev, exe_dev, exe_ino) ? PRIV_EXE : PRIV_SKIP;
	return PRIV_ANON;
}

size_t private_regions__pick(const struct private_map *maps, size_t nr, __u64 exe_dev,
			     __u64 exe_ino, struct private_range *out, size_t max)
{
	size_t n = 0;

	for (int cls = PRIV_EXE; cls < PRIV_CLASSES; cls++) {
		for (size_t i = 0; i < nr && n < max; i++) {
			if (classify(maps, i, exe_dev, exe_ino) != (enum priv_class)cls)
				continue;
			out[n].start = maps[i].start;
			out[n].end = maps[i].end;
			n++;
		}
	}
	return n;
}

struct priv_region {
	__u32 pid;
	__u64 start;
	__u64 len;		/* bytes kept: whole pages */
	__u64 *prev;		/* copy at the last read */
	__u8 *valid;		/* per page: prev holds a copy */
	bool every_tick;	/* read whole at every diff, not in turn */
};

struct private_snapshots {
	struct priv_region *regs;
	size_t nr, cap;
	size_t tick_bytes, kept_max, region_max, kept;
	/*
	 * Regions read whole at every diff, up to this many bytes in all:
	 * the first ones of each process (its globals, a small heap), so a
	 * word they hold is counted at every change, not once a round, and
	 * outweighs a big buffer's words seen changing once.
	 */
	size_t every_tick_max;
	size_t cur;		/* region the next diff starts in */
	__u64 cur_off;		/* ... and where in it */
	__u64 *buf;		/* one read, tick_bytes */
};

static size_t round_pages(size_t n)
{
	return n & ~(PRIV_PAGE - 1);
}

struct private_snapshots *private_snapshots__new(size_t tick_bytes, size_t kept_bytes,
						 size_t region_bytes)
{
	struct private_snapshots *ps;

	tick_bytes = round_pages(tick_bytes);
	if (!tick_bytes) {
		errno = EINVAL;
		return NULL;
	}
	ps = calloc(1, sizeof(*ps));
	if (!ps)
		goto err;
	ps->tick_bytes = tick_bytes;
	ps->every_tick_max = round_pages(tick_bytes / 4);
	ps->kept_max = round_pages(kept_bytes);
	ps->region_max = round_pages(region_bytes);
	ps->buf = malloc(tick_bytes);
	if (!ps->buf)
		goto err_free;
	return ps;

err_free:
	free(ps);
err:
	errno = ENOMEM;
	return NULL;
}

static void region_release(struct priv_region *r)
{
	free(r->prev);
	free(r->valid);
	r->prev = NULL;
	r->valid = NULL;
}

void private_snapshots__free(struct private_snapshots *ps)
{
	if (!ps)
		return;
	for (size_t i = 0; i < ps->nr; i++)
		region_release(&ps->regs[i]);
	free(ps->regs);
	free(ps->buf);
	free(ps);
}

size_t private_snapshots__kept(const struct private_snapshots *ps)
{
	return ps->kept;
}

bool private_snapshots__has(const struct private_snapshots *ps, __u32 pid)
{
	for (size_t i = 0; i < ps->nr; i++)
		if (ps->regs[i].pid == pid)
			return true;
	return false;
}

/* Gives r (already holding old's buffers, or none) room for len bytes. */
static int region_resize(struct priv_region *r, __u64 len)
{
	size_t old_pages = r->len / PRIV_PAGE, pages = len / PRIV_PAGE;
	__u64 *prev;
	__u8 *valid;

	if (r->prev && r->len == len)
		return 0;
	prev = realloc(r->prev, len);
	if (!prev)
		return -ENOMEM;
	r->prev = prev;
	valid = realloc(r->valid, pages);
	if (!valid)
		return -ENOMEM;
	r->valid = valid;
	if (pages > old_pages)
		memset(valid + old_pages, 0, pages - old_pages);
	r->len = len;
	return 0;
}

int private_snapshots__set(struct private_snapshots *ps, __u32 pid,
			   const struct private_range *ranges, size_t nr)
{
	struct priv_region *fresh = NULL;
	size_t others = 0, every = 0, avail, n = 0, kept = 0, i, j;
	int err = 0;

	for (i = 0; i < ps->nr; i++) {
		if (ps->regs[i].pid == pid)
			continue;
		others += ps->regs[i].len;
		every += ps->regs[i].every_tick ? ps->regs[i].len : 0;
	}
	avail = others < ps->kept_max ? ps->kept_max - others : 0;
	if (nr) {
		fresh = calloc(nr, sizeof(*fresh));
		if (!fresh)
			return -ENOMEM;
	}
	for (i = 0; i < nr && avail; i++) {
		__u64 len = ranges[i].end - ranges[i].start;
		struct priv_region *r = &fresh[n];

		if (len > ps->region_max)
			len = ps->region_max;
		if (len > avail)
			len = avail;
		len = round_pages(len);
		if (!len)
			continue;
		r->pid = pid;
		r->start = ranges[i].start;
		/* the same region as before keeps its copy */
		for (j = 0; j < ps->nr; j++) {
			struct priv_region *old = &ps->regs[j];

			if (old->pid == pid && old->start == r->start && old->prev) {
				*r = *old;
				old->prev = NULL;
				old->valid = NULL;
				break;
			}
		}
		if (region_resize(r, len)) {
			region_release(r);
			memset(r, 0, sizeof(*r));
			err = -ENOMEM;
			continue;
		}
		/* in priority order: the first regions that fit */
		r->every_tick = every + len <= ps->every_tick_max;
		if (r->every_tick)
			every += len;
		else
			every = ps->every_tick_max;
		avail -= len;
		n++;
	}
	/* drop pid's old regions, then append its new ones */
	for (i = 0, j = 0; i < ps->nr; i++) {
		if (ps->regs[i].pid == pid) {
			region_release(&ps->regs[i]);
			continue;
		}
		ps->regs[j++] = ps->regs[i];
	}
	ps->nr = j;
	if (ps->nr + n > ps->cap) {
		size_t cap = ps->nr + n + 16;
		struct priv_region *grown = realloc(ps->regs, cap * sizeof(*grown));

		if (!grown) {
			for (i = 0; i < n; i++)
				region_release(&fresh[i]);
			n = 0;
			err = -ENOMEM;
		} else {
			ps->regs = grown;
			ps->cap = cap;
		}
	}
	if (n)
		memcpy(ps->regs + ps->nr, fresh, n * sizeof(*fresh));
	ps->nr += n;
	for (i = 0; i < ps->nr; i++)
		kept += ps->regs[i].len;
	ps->kept = kept;
	if (ps->cur >= ps->nr) {
		ps->cur = 0;
		ps->cur_off = 0;
	}
	free(fresh);
	return err;
}

void private_snapshots__drop(struct private_snapshots *ps, __u32 pid)
{
	private_snapshots__set(ps, pid, NULL, 0);
}

/* Compares words [off, off + got) of r with the bytes just read. */
static long region_compare(struct private_snapshots *ps, struct priv_region *r, __u64 off,
			   size_t got, struct candidates *cs)
{
	struct ipcrace_key key = { .space = KEY_PRIVATE, .a = r->pid };
	const __u64 *now = ps->buf;
	__u64 *prev = r->prev + off / 8;
	long changed = 0;

	for (size_t p = 0; p < got / PRIV_PAGE; p++) {
		size_t page = off / PRIV_PAGE + p, w0 = p * (PRIV_PAGE / 8);

		if (!r->valid[page]) {
			/* first sight of the page: nothing to compare with */
			memcpy(prev + w0, now + w0, PRIV_PAGE);
			r->valid[page] = 1;
			continue;
		}
		if (!memcmp(prev + w0, now + w0, PRIV_PAGE))
			continue;
		for (size_t w = w0; w < w0 + PRIV_PAGE / 8; w++) {
			if (prev[w] == now[w])
				continue;
			prev[w] = now[w];
			key.b = r->start + off + w * 8;
			candidates__bump(cs, &key, 8);
			changed++;
		}
	}
	return changed;
}

/*
 * Reads [off, off + len) of r (len at most tick_bytes) and compares it.
 * Returns how far the read moved: len, or past the first page that could
 * not be read (unmapped since the maps were read), or to the region's end
 * when its process is gone (its exit drops it).
 */
static __u64 region_read(struct private_snapshots *ps, struct priv_region *r, __u64 off,
			 __u64 len, struct candidates *cs, long *changed)
{
	struct iovec local = { .iov_base = ps->buf, .iov_len = len };
	struct iovec remote = { .iov_base = (void *)(uintptr_t)(r->start + off), .iov_len = len };
	ssize_t got = process_vm_readv(r->pid, &local, 1, &remote, 1, 0);

	if (got < 0 && errno == ESRCH)
		return r->len - off;
	if (got < 0)
		got = 0;
	got = round_pages(got);
	*changed += region_compare(ps, r, off, got, cs);
	return (__u64)got < len ? (__u64)got + PRIV_PAGE : len;
}

long private_snapshots__diff(struct private_snapshots *ps, struct candidates *cs)
{
	size_t left = ps->tick_bytes, first;
	__u64 first_off;
	long changed = 0;

	if (!ps->nr)
		return 0;
	/* the small, most useful regions: whole, every time */
	for (size_t i = 0; i < ps->nr; i++) {
		struct priv_region *r = &ps->regs[i];

		if (!r->every_tick)
			continue;
		for (__u64 off = 0; off < r->len;)
			off += region_read(ps, r, off, r->len - off, cs, &changed);
		left -= r->len < left ? r->len : left;
	}
	/* the others in turn, from where the last diff stopped */
	if (ps->cur >= ps->nr || ps->cur_off >= ps->regs[ps->cur].len ||
	    ps->regs[ps->cur].every_tick) {
		ps->cur = ps->cur + 1 < ps->nr ? ps->cur + 1 : 0;
		ps->cur_off = 0;
	}
	first = ps->cur;
	first_off = ps->cur_off;
	while (left) {
		struct priv_region *r = &ps->regs[ps->cur];
		__u64 end = r->len, step = 0;

		if (!r->every_tick) {
			/* once round all regions is enough: stop where this diff began */
			if (ps->cur == first && ps->cur_off < first_off)
				end = first_off;
			step = end - ps->cur_off;
			if (step > left)
				step = left;
			step = region_read(ps, r, ps->cur_off, step, cs, &changed);
			left -= step < left ? step : left;
		}
		ps->cur_off += step;
		if (r->every_tick || ps->cur_off >= r->len) {
			ps->cur_off = 0;
			ps->cur = (ps->cur + 1) % ps->nr;
		}
		if (ps->cur == first && ps->cur_off == first_off)
			break;
	}
	return changed;
}
