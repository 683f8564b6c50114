// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/* Candidate words for confirmation holds (confirm.h). */
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include "../analyzer/identity.h"
#include "../bpf/access_maps.h"
#include "confirm.h"
#include "ipcrace.skel.h"

struct confirm {
	struct ipcrace_bpf *skel;
	struct keymap *words;		/* candidate word keys -> 1 */
	struct keymap *armed;		/* (pid, word address) given to BPF -> 1 */
	size_t nr_words;
	size_t nr_armed;
	size_t full;			/* pairs BPF's map had no room for */
	__u32 hold_us, rate;
};

void confirm__configure(struct ipcrace_bpf *skel, const struct confirm_opts *opts)
{
	__u32 hold = opts->hold_us ? opts->hold_us : CONFIRM_HOLD_US_DEFAULT;
	__u32 rate = opts->rate ? opts->rate : CONFIRM_RATE_DEFAULT;

	skel->rodata->confirm_hold_ns = opts->off ? 0 : (__u64)hold * 1000;
	skel->rodata->confirm_gap_ns = 1000000000ull / rate;
}

struct confirm *confirm__new(struct ipcrace_bpf *skel, const struct confirm_opts *opts)
{
	struct confirm *c;

	if (opts->off) {
		errno = 0;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->skel = skel;
	c->hold_us = opts->hold_us ? opts->hold_us : CONFIRM_HOLD_US_DEFAULT;
	c->rate = opts->rate ? opts->rate : CONFIRM_RATE_DEFAULT;
	c->words = keymap__new();
	c->armed = keymap__new();
	if (!c->words || !c->armed) {
		confirm__free(c);
		errno = ENOMEM;
		return NULL;
	}
	return c;
}

void confirm__free(struct confirm *c)
{
	if (!c)
		return;
	keymap__free(c->words);
	keymap__free(c->armed);
	free(c);
}

/* The 8-byte word key of an access's first byte (as access_shared gives it). */
static struct ipcrace_key word_of(const struct ipcrace_key *k)
{
	struct ipcrace_key w = *k;

	if (w.space == KEY_PRIVATE)
		w.b &= ~7ull;
	else
		w.c &= ~7ull;
	w.__pad = 0;
	return w;
}

/* BPF holds at this process's address of the word from now on. */
static void arm(struct confirm *c, __u32 pid, __u64 addr)
{
	/* the key access.bpf.c makes (atomic_word): the address in 8-byte units */
	struct access_atomic_word w = { .tgid = pid, .word = addr >> 3 };
	struct ipcrace_key k = { .space = KEY_NONE, .a = pid, .b = w.word, .c = 1 };
	__u64 one = 1;
	__u8 yes = 1;

	if (keymap__get(c->armed, &k, &one))
		return;
	if (keymap__set(c->armed, &k, 1))
		return;
	if (bpf_map__update_elem(c->skel->maps.confirm_words, &w, sizeof(w), &yes, sizeof(yes),
				 BPF_ANY)) {
		c->full++;
		return;
	}
	c->nr_armed++;
}

void confirm__shared(struct confirm *c, const struct ipcrace_event *e,
		     const struct ipcrace_key *word, bool unseen)
{
	struct ipcrace_key w;
	__u64 one;

	if (!c || !unseen)
		return;
	w = word_of(word);
	if (!keymap__get(c->words, &w, &one)) {
		if (keymap__set(c->words, &w, 1))
			return;
		c->nr_words++;
	}
	arm(c, e->pid, e->addr);
}

void confirm__note(struct confirm *c, const struct ipcrace_event *e)
{
	struct ipcrace_key w;
	__u64 one;

	/* a watchpoint hit names the process's address of the word too */
	if (!c || !c->nr_words || e->type != EV_MEM_ACCESS || (e->flags & EVF_ATOMIC))
		return;
	w = word_of(&e->key);
	if (keymap__get(c->words, &w, &one))
		arm(c, e->pid, e->addr);
}

void confirm__print_stats(const struct confirm *c)
{
	const struct ipcrace_bpf *skel;
	unsigned long long holds, ns;

	if (!c)
		return;
	skel = c->skel;
	holds = skel->bss->confirm_holds;
	ns = skel->bss->confirm_hold_total_ns;
	fprintf(stderr, "ipcrace: confirm: %zu candidate words (%zu process addresses, %zu not held "
		"at: no room), %llu holds of up to %u us (%llu saw the word change), %.1f us "
		"on average, %llu hits past the rate (%u/s a thread), %llu while another was held\n",
		c->nr_words, c->nr_armed, c->full, holds, c->hold_us,
		(unsigned long long)skel->bss->confirm_changed, holds ? ns / 1e3 / holds : 0.0,
		(unsigned long long)skel->bss->confirm_skipped_rate, c->rate,
		(unsigned long long)skel->bss->confirm_skipped_busy);
}
