// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * The messages of the perfetto report: each send on a channel paired with
 * the receive(s) that consumed it, drawn as flow arrows (perfetto_flows.h).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "../analyzer/identity.h"
#include "perfetto_flows.h"

static bool pf_is_channel_event(const struct ipcrace_event *e)
{
	if (e->type != EV_CHAN_SEND && e->type != EV_CHAN_RECV)
		return false;
	return e->key.space != KEY_NONE && !(e->flags & EVF_KEY_UNRESOLVED);
}

bool pf_recv_got_data(const struct ipcrace_event *e)
{
	return e->result >= 0 && (e->result > 0 || e->arg0 > 0);
}

/* Each receive takes one whole message, whatever its size. */
static bool pf_message_oriented(const struct ipcrace_event *e)
{
	return e->obj == OBJ_MQ || e->obj == OBJ_SYSV_MSG ||
	       (e->obj == OBJ_SOCKET && e->key.c == CHANKEY_INET_DGRAM);
}

/* Event indices by channel key, then stream order (qsort_r, arg: the trace). */
static int pf_chan_idx_cmp(const void *a, const void *b, void *arg)
{
	const struct trace *t = arg;
	size_t i = *(const size_t *)a, j = *(const size_t *)b;
	const struct ipcrace_key *x = &t->events[i].key;
	const struct ipcrace_key *y = &t->events[j].key;

	if (x->space != y->space)
		return x->space < y->space ? -1 : 1;
	if (x->a != y->a)
		return x->a < y->a ? -1 : 1;
	if (x->b != y->b)
		return x->b < y->b ? -1 : 1;
	if (x->c != y->c)
		return x->c < y->c ? -1 : 1;
	return i < j ? -1 : i > j;
}

static int pf_flow_send_cmp(const void *a, const void *b)
{
	const struct pf_flow *x = a, *y = b;

	if (x->send != y->send)
		return x->send < y->send ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static int pf_flow_recv_cmp(const void *a, const void *b)
{
	const struct pf_flow *x = a, *y = b;

	if (x->recv != y->recv)
		return x->recv < y->recv ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

static int pf_add_flow(struct pf_flows *c, size_t *cap, size_t send, size_t recv)
{
	struct pf_flow *f;

	if (c->nr == *cap) {
		*cap = *cap ? *cap * 2 : 64;
		f = realloc(c->by_send, *cap * sizeof(*f));
		if (!f)
			return -ENOMEM;
		c->by_send = f;
	}
	c->by_send[c->nr] = (struct pf_flow){ .send = send, .recv = recv,
						    .id = c->nr + 1 };
	c->nr++;
	return 0;
}

/*
 * Matches the messages of one channel, run[0..n) (event indices in stream
 * order), FIFO: a byte stream (pipe, FIFO, stream socket) consumes the
 * oldest sends byte by byte, so one receive can end several messages and
 * one message can feed several receives, each pair a flow. A message queue
 * or datagram socket gives each receive one whole message; an eventfd read
 * takes every write before it. A send whose write failed (the event is at
 * entry) stays in the queue and shifts later pairs: the matching is a
 * display aid, the analyzer's edges do not depend on it.
 */
static int pf_match_channel(struct pf_flows *c, const struct trace *t, size_t *cap,
			    const size_t *run, size_t n)
{
	const struct ipcrace_event *ev = t->events;
	size_t head = 0, p;
	__u64 remaining = 0;	/* bytes of run[head] not yet received */
	bool head_fresh = true;
	int err;

	for (p = 0; p < n; p++) {
		const struct ipcrace_event *r = &ev[run[p]];
		__u64 left = r->arg0;
		bool whole = pf_message_oriented(r) || r->obj == OBJ_EVENTFD;

		if (r->type != EV_CHAN_RECV || !pf_recv_got_data(r))
			continue;
		for (;;) {
			while (head < p && ev[run[head]].type != EV_CHAN_SEND)
				head++, head_fresh = true;
			if (head >= p)
				break;
			if (head_fresh) {
				remaining = ev[run[head]].arg0 ? ev[run[head]].arg0 : 1;
				head_fresh = false;
			}
			err = pf_add_flow(c, cap, run[head], run[p]);
			if (err)
				return err;
			if (whole) {
				head++, head_fresh = true;
				if (r->obj == OBJ_EVENTFD)
					continue;
				break;
			}
			if (left < remaining) {
				remaining -= left;
				break;
			}
			left -= remaining;
			head++, head_fresh = true;
			if (!left)
				break;
		}
	}
	return 0;
}

int pf_flows__match(struct pf_flows *c, const struct trace *t)
{
	size_t i, j, n = 0, cap = 0;
	size_t *idx;
	int err = 0;

	idx = malloc((t->nr_events ? t->nr_events : 1) * sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	for (i = 0; i < t->nr_events; i++)
		if (pf_is_channel_event(&t->events[i]))
			idx[n++] = i;
	/* channel by channel, each in stream order */
	qsort_r(idx, n, sizeof(*idx), pf_chan_idx_cmp, (void *)t);
	for (i = 0; i < n && !err; i = j) {
		const struct ipcrace_key *k = &t->events[idx[i]].key;

		for (j = i + 1; j < n && ipcrace_key__equal(&t->events[idx[j]].key, k); j++)
			;
		err = pf_match_channel(c, t, &cap, idx + i, j - i);
	}
	free(idx);
	if (err || !c->nr)
		return err;
	c->by_recv = malloc(c->nr * sizeof(*c->by_recv));
	if (!c->by_recv)
		return -ENOMEM;
	memcpy(c->by_recv, c->by_send, c->nr * sizeof(*c->by_recv));
	qsort(c->by_send, c->nr, sizeof(*c->by_send), pf_flow_send_cmp);
	qsort(c->by_recv, c->nr, sizeof(*c->by_recv), pf_flow_recv_cmp);
	return 0;
}

size_t pf_flows__of(const struct pf_flows *c, size_t ev, bool by_send,
		    const struct pf_flow **first)
{
	const struct pf_flow *flows = by_send ? c->by_send : c->by_recv;
	size_t lo = 0, hi = c->nr, nr = c->nr, n = 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		size_t v = by_send ? flows[mid].send : flows[mid].recv;

		if (v < ev)
			lo = mid + 1;
		else
			hi = mid;
	}
	*first = flows + lo;
	while (lo + n < nr && (by_send ? flows[lo + n].send : flows[lo + n].recv) == ev)
		n++;
	return n;
}

void pf_flows__free(struct pf_flows *c)
{
	free(c->by_send);
	free(c->by_recv);
	c->by_send = c->by_recv = NULL;
	c->nr = 0;
}
