// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * Lock-order graph and its cycle search (lockgraph.h).
 *
 * Cycles: strongly connected components first (iterative Tarjan), then, for
 * each node s in creation order, a depth-first search for paths back to s
 * through nodes of s's component created after s. Each elementary cycle is
 * thereby found once, from its first-seen lock. The search has no blocking
 * sets (Johnson); a step budget bounds it on pathological graphs instead.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "array.h"
#include "identity.h"
#include "lockgraph.h"

/* Edge visits the cycle search may make before giving up on the rest. */
#define CYCLE_SEARCH_BUDGET (1u << 22)

struct lg_node {
	struct ipcrace_key key;
	__u32 *out;			/* edge indices */
	__u32 nr_out;
	__u32 cap_out;
	bool signalling;
};

struct lg_edge {
	__u32 from;
	__u32 to;
	struct finding_edge info;	/* first occurrence */
	__u32 *gates;			/* sorted node indices */
	__u32 nr_gates;
	bool gates_known;		/* false: seen only after losses, any gate fits */
};

struct lockgraph {
	struct lg_node *nodes;
	size_t nr_nodes;
	size_t cap_nodes;
	struct lg_edge *edges;
	size_t nr_edges;
	size_t cap_edges;
	struct keymap *node_index;	/* key -> node index */
	struct keymap *edge_index;	/* (from, to) -> edge index */
};

struct lockgraph *lockgraph__new(void)
{
	struct lockgraph *g;

	g = calloc(1, sizeof(*g));
	if (!g)
		goto err;
	g->node_index = keymap__new();
	if (!g->node_index)
		goto err_free;
	g->edge_index = keymap__new();
	if (!g->edge_index)
		goto err_free;
	return g;

err_free:
	lockgraph__free(g);
err:
	errno = ENOMEM;
	return NULL;
}

void lockgraph__free(struct lockgraph *g)
{
	size_t i;

	if (!g)
		return;
	for (i = 0; i < g->nr_nodes; i++)
		free(g->nodes[i].out);
	for (i = 0; i < g->nr_edges; i++)
		free(g->edges[i].gates);
	free(g->nodes);
	free(g->edges);
	keymap__free(g->node_index);
	keymap__free(g->edge_index);
	free(g);
}

/* The node of k, created if needed. 0 or -ENOMEM. */
static int node_get(struct lockgraph *g, const struct ipcrace_key *k, __u32 *idx)
{
	struct lg_node *n;
	__u64 v;
	int err;

	if (keymap__get(g->node_index, k, &v)) {
		*idx = v;
		return 0;
	}
	err = array__reserve(&g->nodes, &g->cap_nodes, g->nr_nodes + 1, sizeof(*g->nodes));
	if (err)
		return err;
	err = keymap__set(g->node_index, k, g->nr_nodes);
	if (err)
		return err;
	n = &g->nodes[g->nr_nodes];
	memset(n, 0, sizeof(*n));
	n->key = *k;
	*idx = g->nr_nodes++;
	return 0;
}

static struct ipcrace_key edge_key(__u32 from, __u32 to)
{
	struct ipcrace_key k = { .a = from, .b = to, .space = KEY_NONE };

	return k;
}

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return x < y ? -1 : x > y;
}

/* Sorted, deduplicated node indices of gates[]. */
static int gate_set(struct lockgraph *g, const struct ipcrace_key *gates, size_t nr,
		    __u32 **out, __u32 *nr_out)
{
	__u32 *set = NULL;
	size_t i, n = 0;
	int err;

	if (nr) {
		set = calloc(nr, sizeof(*set));
		if (!set)
			return -ENOMEM;
	}
	for (i = 0; i < nr; i++) {
		err = node_get(g, &gates[i], &set[i]);
		if (err) {
			free(set);
			return err;
		}
	}
	if (nr)
		qsort(set, nr, sizeof(*set), cmp_u32);
	for (i = 0; i < nr; i++)
		if (!n || set[n - 1] != set[i])
			set[n++] = set[i];
	*out = set;
	*nr_out = n;
	return 0;
}

/* In place: a = a ∩ b, both sorted. */
static __u32 intersect(__u32 *a, __u32 na, const __u32 *b, __u32 nb)
{
	__u32 i = 0, j = 0, n = 0;

	while (i < na && j < nb) {
		if (a[i] < b[j]) {
			i++;
		} else if (a[i] > b[j]) {
			j++;
		} else {
			a[n++] = a[i];
			i++;
			j++;
		}
	}
	return n;
}

int lockgraph__add_edge(struct lockgraph *g, const struct finding_edge *e,
			const struct ipcrace_key *gates, size_t nr_gates, bool gates_known)
{
	__u32 from, to, *set = NULL, nr_set = 0;
	struct ipcrace_key ek;
	struct lg_edge *edge;
	struct lg_node *n;
	__u64 v;
	int err;

	err = node_get(g, &e->held.key, &from);
	if (err)
		goto out;
	err = node_get(g, &e->lock.key, &to);
	if (err)
		goto out;
	err = gate_set(g, gates, nr_gates, &set, &nr_set);
	if (err)
		goto out;
	ek = edge_key(from, to);
	if (keymap__get(g->edge_index, &ek, &v)) {
		edge = &g->edges[v];
		if (!gates_known)
			goto out;
		if (!edge->gates_known) {
			free(edge->gates);
			edge->gates = set;
			edge->nr_gates = nr_set;
			edge->gates_known = true;
			set = NULL;
			goto out;
		}
		edge->nr_gates = intersect(edge->gates, edge->nr_gates, set, nr_set);
		goto out;
	}
	n = &g->nodes[from];
	if (n->nr_out == n->cap_out) {
		__u32 ncap = n->cap_out ? n->cap_out * 2 : 4;
		__u32 *p = realloc(n->out, ncap * sizeof(*p));

		if (!p) {
			err = -ENOMEM;
			goto out;
		}
		n->out = p;
		n->cap_out = ncap;
	}
	err = array__reserve(&g->edges, &g->cap_edges, g->nr_edges + 1, sizeof(*g->edges));
	if (err)
		goto out;
	err = keymap__set(g->edge_index, &ek, g->nr_edges);
	if (err)
		goto out;
	edge = &g->edges[g->nr_edges];
	edge->from = from;
	edge->to = to;
	edge->info = *e;
	edge->gates = set;
	edge->nr_gates = nr_set;
	edge->gates_known = gates_known;
	set = NULL;
	n->out[n->nr_out++] = g->nr_edges++;
out:
	free(set);
	return err;
}

int lockgraph__mark_signalling(struct lockgraph *g, const struct ipcrace_key *k)
{
	__u32 idx;
	int err;

	err = node_get(g, k, &idx);
	if (!err)
		g->nodes[idx].signalling = true;
	return err;
}

size_t lockgraph__nr_nodes(const struct lockgraph *g)
{
	return g->nr_nodes;
}

size_t lockgraph__nr_edges(const struct lockgraph *g)
{
	return g->nr_edges;
}

bool lockgraph__has_edge(const struct lockgraph *g, const struct ipcrace_key *from,
			 const struct ipcrace_key *to)
{
	struct ipcrace_key ek;
	__u64 f, t, v;

	if (!keymap__get(g->node_index, from, &f) || !keymap__get(g->node_index, to, &t))
		return false;
	ek = edge_key(f, t);
	return keymap__get(g->edge_index, &ek, &v);
}

/* --- cycle search ------------------------------------------------------------ */

static bool edge_active(const struct lockgraph *g, const struct lg_edge *e)
{
	return !g->nodes[e->from].signalling && !g->nodes[e->to].signalling;
}

/* Iterative Tarjan: comp[v] = the strongly connected component of v. */
static int scc_compute(const struct lockgraph *g, __u32 *comp)
{
	size_t n = g->nr_nodes, sp = 0, cs = 0;
	__u32 *index, *low, *stack, *call, *pos, next_index = 1, next_comp = 0;
	bool *on_stack;
	size_t root;
	int err = -ENOMEM;

	index = calloc(n, sizeof(*index));
	low = calloc(n, sizeof(*low));
	stack = calloc(n, sizeof(*stack));
	call = calloc(n, sizeof(*call));
	pos = calloc(n, sizeof(*pos));
	on_stack = calloc(n, sizeof(*on_stack));
	if (!index || !low || !stack || !call || !pos || !on_stack)
		goto out;

	for (root = 0; root < n; root++) {
		if (index[root])
			continue;
		call[cs++] = root;
		index[root] = low[root] = next_index++;
		stack[sp++] = root;
		on_stack[root] = true;
		while (cs) {
			__u32 v = call[cs - 1];
			const struct lg_node *nv = &g->nodes[v];

			if (pos[v] < nv->nr_out) {
				const struct lg_edge *e = &g->edges[nv->out[pos[v]++]];
				__u32 w = e->to;

				if (!edge_active(g, e))
					continue;
				if (!index[w]) {
					index[w] = low[w] = next_index++;
					stack[sp++] = w;
					on_stack[w] = true;
					call[cs++] = w;
				} else if (on_stack[w] && index[w] < low[v]) {
					low[v] = index[w];
				}
				continue;
			}
			if (low[v] == index[v]) {
				__u32 w;

				do {
					w = stack[--sp];
					on_stack[w] = false;
					comp[w] = next_comp;
				} while (w != v);
				next_comp++;
			}
			cs--;
			if (cs && low[v] < low[call[cs - 1]])
				low[call[cs - 1]] = low[v];
		}
	}
	err = 0;
out:
	free(index);
	free(low);
	free(stack);
	free(call);
	free(pos);
	free(on_stack);
	return err;
}

static bool in_list(const __u32 *list, size_t n, __u32 v)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (list[i] == v)
			return true;
	return false;
}

/*
 * true when one lock outside the cycle, not a signalling semaphore, was held
 * at every edge of it: threads serialize on it, so the cycle cannot close.
 * Edges whose gates are unknown (taken after lost events) fit any gate; a
 * cycle made only of those is not reported: a gap is no finding.
 */
static bool cycle_gated(const struct lockgraph *g, const __u32 *edges, size_t nr,
			const __u32 *nodes)
{
	const struct lg_edge *first = NULL;
	__u32 i, j;
	size_t k;

	for (k = 0; k < nr && !first; k++)
		if (g->edges[edges[k]].gates_known)
			first = &g->edges[edges[k]];
	if (!first)
		return true;
	for (i = 0; i < first->nr_gates; i++) {
		__u32 gate = first->gates[i];
		bool everywhere = true;

		if (g->nodes[gate].signalling || in_list(nodes, nr, gate))
			continue;
		for (k = 0; k < nr && everywhere; k++) {
			const struct lg_edge *e = &g->edges[edges[k]];

			if (!e->gates_known)
				continue;
			everywhere = false;
			for (j = 0; j < e->nr_gates; j++)
				if (e->gates[j] == gate)
					everywhere = true;
		}
		if (everywhere)
			return true;
	}
	return false;
}

static int cycle_report(const struct lockgraph *g, const __u32 *edges, size_t nr,
			struct findings *out)
{
	struct finding f;
	size_t i;
	int err;

	memset(&f, 0, sizeof(f));
	f.kind = FINDING_LOCK_ORDER_INVERSION;
	f.cycle = calloc(nr, sizeof(*f.cycle));
	if (!f.cycle)
		return -ENOMEM;
	f.nr_cycle = nr;
	for (i = 0; i < nr; i++)
		f.cycle[i] = g->edges[edges[i]].info;
	f.object = f.cycle[0].held;
	/* the first two requests, for renderers that only read accesses[] */
	for (i = 0; i < nr && i < 2; i++)
		f.accesses[i] = f.cycle[i].who;
	f.nr_accesses = i;
	err = findings__add(out, &f);
	if (err)
		free(f.cycle);
	return err;
}

int lockgraph__find_cycles(const struct lockgraph *g, size_t max, struct findings *out)
{
	size_t n = g->nr_nodes, reported = 0, budget = CYCLE_SEARCH_BUDGET;
	__u32 *comp, *path, *path_edges, *pos, s;
	bool *on_path;
	int err = -ENOMEM;

	if (!n || !max)
		return 0;
	comp = calloc(n, sizeof(*comp));
	path = calloc(n, sizeof(*path));
	path_edges = calloc(n, sizeof(*path_edges));
	pos = calloc(n, sizeof(*pos));
	on_path = calloc(n, sizeof(*on_path));
	if (!comp || !path || !path_edges || !pos || !on_path)
		goto out;
	err = scc_compute(g, comp);
	if (err)
		goto out;

	for (s = 0; s < n && reported < max && budget; s++) {
		size_t depth = 1;

		if (g->nodes[s].signalling)
			continue;
		path[0] = s;
		pos[0] = 0;
		on_path[s] = true;
		while (depth && reported < max && budget) {
			__u32 v = path[depth - 1], eidx, w;
			const struct lg_node *nv = &g->nodes[v];

			if (pos[depth - 1] >= nv->nr_out) {
				on_path[v] = false;
				depth--;
				continue;
			}
			eidx = nv->out[pos[depth - 1]++];
			budget--;
			if (!edge_active(g, &g->edges[eidx]))
				continue;
			w = g->edges[eidx].to;
			if (w == s) {
				path_edges[depth - 1] = eidx;
				if (cycle_gated(g, path_edges, depth, path))
					continue;
				err = cycle_report(g, path_edges, depth, out);
				if (err)
					goto out;
				reported++;
			} else if (w > s && comp[w] == comp[s] && !on_path[w]) {
				path_edges[depth - 1] = eidx;
				path[depth] = w;
				pos[depth] = 0;
				on_path[w] = true;
				depth++;
			}
		}
		while (depth)
			on_path[path[--depth]] = false;
	}
	err = 0;
out:
	free(comp);
	free(path);
	free(path_edges);
	free(pos);
	free(on_path);
	return err;
}
