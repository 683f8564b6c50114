// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "waitgraph.h"

struct wg_edge {
	int from;
	int to;
};

struct wg_node {
	enum waitgraph_state state;
	bool progress;		/* some chain of targets reaches a thread that can progress */
	int scc;		/* strongly connected component, deadlocked nodes only; -1 */
	int cycle;		/* cycle it is in or blocked by; -1 */
	bool in_cycle;
	/* Tarjan */
	int index;
	int low;
	bool on_stack;
	/* targets: out[first .. first + nr) after solve */
	size_t first;
	size_t nr;
};

struct wg_cycle {
	size_t first;		/* in cycle_nodes */
	size_t nr;
};

struct waitgraph {
	struct wg_node *nodes;
	size_t nr_nodes, cap_nodes;
	struct wg_edge *edges;
	size_t nr_edges, cap_edges;
	int *out;		/* targets, grouped by node */
	int *in;		/* waiters, grouped by node (reverse edges) */
	size_t *in_first;
	size_t *in_nr;
	struct wg_cycle *cycles;
	size_t nr_cycles, cap_cycles;
	int *cycle_nodes;
	size_t nr_cycle_nodes, cap_cycle_nodes;
	/* Tarjan state */
	int *stack;
	size_t sp;
	int next_index;
	int nr_scc;
};

struct waitgraph *waitgraph__new(void)
{
	return calloc(1, sizeof(struct waitgraph));
}

static void free_solution(struct waitgraph *g)
{
	free(g->out);
	free(g->in);
	free(g->in_first);
	free(g->in_nr);
	free(g->stack);
	g->out = g->in = g->stack = NULL;
	g->in_first = g->in_nr = NULL;
	g->nr_cycles = 0;
	g->nr_cycle_nodes = 0;
}

void waitgraph__free(struct waitgraph *g)
{
	if (!g)
		return;
	free_solution(g);
	free(g->cycles);
	free(g->cycle_nodes);
	free(g->nodes);
	free(g->edges);
	free(g);
}

int waitgraph__add_node(struct waitgraph *g, enum waitgraph_state state)
{
	struct wg_node *n;

	if (array__reserve(&g->nodes, &g->cap_nodes, g->nr_nodes + 1, sizeof(*g->nodes)))
		return -ENOMEM;
	n = &g->nodes[g->nr_nodes];
	memset(n, 0, sizeof(*n));
	n->state = state;
	n->scc = -1;
	n->cycle = -1;
	return g->nr_nodes++;
}

size_t waitgraph__nr_nodes(const struct waitgraph *g)
{
	return g->nr_nodes;
}

static bool valid(const struct waitgraph *g, int node)
{
	return node >= 0 && (size_t)node < g->nr_nodes;
}

int waitgraph__add_target(struct waitgraph *g, int from, int to)
{
	if (!valid(g, from) || !valid(g, to) || g->nodes[from].state != WG_WAITS)
		return -EINVAL;
	for (size_t i = 0; i < g->nr_edges; i++)
		if (g->edges[i].from == from && g->edges[i].to == to)
			return 0;
	if (array__reserve(&g->edges, &g->cap_edges, g->nr_edges + 1, sizeof(*g->edges)))
		return -ENOMEM;
	g->edges[g->nr_edges++] = (struct wg_edge){ .from = from, .to = to };
	return 0;
}

/* Adjacency in both directions, grouped by node (counting sort). */
static int index_edges(struct waitgraph *g)
{
	size_t n = g->nr_nodes, e = g->nr_edges;
	size_t *fill;

	g->out = calloc(e + 1, sizeof(*g->out));
	g->in = calloc(e + 1, sizeof(*g->in));
	g->in_first = calloc(n + 1, sizeof(*g->in_first));
	g->in_nr = calloc(n + 1, sizeof(*g->in_nr));
	g->stack = calloc(n + 1, sizeof(*g->stack));
	fill = calloc(n + 1, sizeof(*fill));
	if (!g->out || !g->in || !g->in_first || !g->in_nr || !g->stack || !fill) {
		free(fill);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		g->nodes[i].nr = 0;
	for (size_t i = 0; i < e; i++) {
		g->nodes[g->edges[i].from].nr++;
		g->in_nr[g->edges[i].to]++;
	}
	for (size_t i = 0, o = 0, r = 0; i < n; i++) {
		g->nodes[i].first = o;
		o += g->nodes[i].nr;
		g->in_first[i] = r;
		r += g->in_nr[i];
	}
	for (size_t i = 0; i < e; i++) {
		struct wg_node *f = &g->nodes[g->edges[i].from];
		int to = g->edges[i].to;

		g->out[f->first + fill[g->edges[i].from]++] = to;
	}
	memset(fill, 0, (n + 1) * sizeof(*fill));
	for (size_t i = 0; i < e; i++) {
		int to = g->edges[i].to;

		g->in[g->in_first[to] + fill[to]++] = g->edges[i].from;
	}
	free(fill);
	return 0;
}

/*
 * Progress spreads backwards: a waiting node can progress once one of its
 * targets can. What it never reaches is deadlocked.
 */
static void spread_progress(struct waitgraph *g)
{
	size_t head = 0, tail = 0;
	int *queue = g->stack;

	for (size_t i = 0; i < g->nr_nodes; i++) {
		g->nodes[i].progress = g->nodes[i].state == WG_PROGRESS ||
				       g->nodes[i].state == WG_WAITS_UNKNOWN;
		if (g->nodes[i].progress)
			queue[tail++] = i;
	}
	while (head < tail) {
		int p = queue[head++];

		for (size_t k = 0; k < g->in_nr[p]; k++) {
			int u = g->in[g->in_first[p] + k];

			if (!g->nodes[u].progress) {
				g->nodes[u].progress = true;
				queue[tail++] = u;
			}
		}
	}
}

static void strongconnect(struct waitgraph *g, int v)
{
	struct wg_node *n = &g->nodes[v];

	n->index = n->low = ++g->next_index;
	g->stack[g->sp++] = v;
	n->on_stack = true;
	for (size_t k = 0; k < n->nr; k++) {
		int w = g->out[n->first + k];
		struct wg_node *m = &g->nodes[w];

		if (m->progress || m->state == WG_DEAD)
			continue;
		if (!m->index) {
			strongconnect(g, w);
			if (m->low < n->low)
				n->low = m->low;
		} else if (m->on_stack && m->index < n->low) {
			n->low = m->index;
		}
	}
	if (n->low != n->index)
		return;
	for (;;) {
		int w = g->stack[--g->sp];

		g->nodes[w].on_stack = false;
		g->nodes[w].scc = g->nr_scc;
		if (w == v)
			break;
	}
	g->nr_scc++;
}

static bool has_target(const struct waitgraph *g, int from, int to)
{
	const struct wg_node *n = &g->nodes[from];

	for (size_t k = 0; k < n->nr; k++)
		if (g->out[n->first + k] == to)
			return true;
	return false;
}

/* A cycle inside v's component: walk inside it until a node repeats. */
static int extract_cycle(struct waitgraph *g, int v)
{
	size_t start = g->nr_cycle_nodes, len = 0, from = 0;
	int scc = g->nodes[v].scc, cur = v;

	for (;;) {
		const struct wg_node *n = &g->nodes[cur];
		int next = -1;

		for (size_t i = 0; i < len; i++)
			if (g->cycle_nodes[start + i] == cur) {
				from = i;
				goto found;
			}
		if (array__reserve(&g->cycle_nodes, &g->cap_cycle_nodes, start + len + 1,
				   sizeof(*g->cycle_nodes)))
			return -ENOMEM;
		g->cycle_nodes[start + len++] = cur;
		for (size_t k = 0; k < n->nr && next < 0; k++)
			if (g->nodes[g->out[n->first + k]].scc == scc)
				next = g->out[n->first + k];
		if (next < 0)
			return 0;	/* not reached: a cyclic component has an inner edge */
		cur = next;
	}
found:
	memmove(&g->cycle_nodes[start], &g->cycle_nodes[start + from],
		(len - from) * sizeof(*g->cycle_nodes));
	if (array__reserve(&g->cycles, &g->cap_cycles, g->nr_cycles + 1, sizeof(*g->cycles)))
		return -ENOMEM;
	g->cycles[g->nr_cycles++] = (struct wg_cycle){ .first = start, .nr = len - from };
	g->nr_cycle_nodes = start + len - from;
	return 0;
}

/* The cycle a deadlocked node's wait leads into (any path: all are deadlocked). */
static int blocking_cycle(const struct waitgraph *g, int v)
{
	size_t steps = 0;

	while (steps++ <= g->nr_nodes) {
		const struct wg_node *n = &g->nodes[v];
		int next = -1;

		if (n->cycle >= 0)
			return n->cycle;
		for (size_t k = 0; k < n->nr && next < 0; k++)
			if (!g->nodes[g->out[n->first + k]].progress &&
			    g->nodes[g->out[n->first + k]].state != WG_DEAD)
				next = g->out[n->first + k];
		if (next < 0)
			return -1;
		v = next;
	}
	return -1;
}

int waitgraph__solve(struct waitgraph *g)
{
	int *scc_cycle = NULL;
	int err;

	free_solution(g);
	err = index_edges(g);
	if (err)
		return err;
	spread_progress(g);
	g->sp = 0;
	g->next_index = 0;
	g->nr_scc = 0;
	for (size_t i = 0; i < g->nr_nodes; i++) {
		g->nodes[i].index = 0;
		g->nodes[i].scc = -1;
		g->nodes[i].cycle = -1;
		g->nodes[i].in_cycle = false;
	}
	for (size_t i = 0; i < g->nr_nodes; i++)
		if (!g->nodes[i].progress && !g->nodes[i].index && g->nodes[i].state != WG_DEAD)
			strongconnect(g, i);
	scc_cycle = malloc((g->nr_scc + 1) * sizeof(*scc_cycle));
	if (!scc_cycle)
		return -ENOMEM;
	for (int c = 0; c < g->nr_scc; c++)
		scc_cycle[c] = -1;
	for (size_t i = 0; i < g->nr_nodes; i++) {
		struct wg_node *n = &g->nodes[i];
		size_t members = 0;

		if (n->progress || n->scc < 0 || scc_cycle[n->scc] >= 0)
			continue;
		for (size_t j = 0; j < g->nr_nodes && members < 2; j++)
			members += g->nodes[j].scc == n->scc && !g->nodes[j].progress;
		if (members < 2 && !has_target(g, i, i))
			continue;
		scc_cycle[n->scc] = g->nr_cycles;
		err = extract_cycle(g, i);
		if (err)
			goto out;
	}
	for (size_t i = 0; i < g->nr_nodes; i++) {
		struct wg_node *n = &g->nodes[i];

		if (n->progress || n->scc < 0 || scc_cycle[n->scc] < 0)
			continue;
		n->cycle = scc_cycle[n->scc];
		n->in_cycle = false;
	}
	for (size_t c = 0; c < g->nr_cycles; c++)
		for (size_t k = 0; k < g->cycles[c].nr; k++)
			g->nodes[g->cycle_nodes[g->cycles[c].first + k]].in_cycle = true;
	for (size_t i = 0; i < g->nr_nodes; i++)
		if (!g->nodes[i].progress && g->nodes[i].cycle < 0 && g->nodes[i].state != WG_DEAD)
			g->nodes[i].cycle = blocking_cycle(g, i);
out:
	free(scc_cycle);
	return err;
}

bool waitgraph__deadlocked(const struct waitgraph *g, int node)
{
	return valid(g, node) && !g->nodes[node].progress && g->nodes[node].state != WG_DEAD;
}

size_t waitgraph__nr_cycles(const struct waitgraph *g)
{
	return g->nr_cycles;
}

size_t waitgraph__cycle(const struct waitgraph *g, size_t c, int *out, size_t max)
{
	if (c >= g->nr_cycles)
		return 0;
	for (size_t k = 0; k < g->cycles[c].nr && k < max; k++)
		out[k] = g->cycle_nodes[g->cycles[c].first + k];
	return g->cycles[c].nr;
}

int waitgraph__cycle_of(const struct waitgraph *g, int node, bool *in_cycle)
{
	if (!valid(g, node) || g->nodes[node].progress || g->nodes[node].state == WG_DEAD) {
		*in_cycle = false;
		return -1;
	}
	*in_cycle = g->nodes[node].in_cycle;
	return g->nodes[node].cycle;
}

static bool on_chain(const int *chain, size_t len, int v)
{
	for (size_t i = 0; i < len; i++)
		if (chain[i] == v)
			return true;
	return false;
}

size_t waitgraph__chain(const struct waitgraph *g, int node, int *out, size_t max)
{
	size_t len = 0;

	if (!valid(g, node) || !g->out)
		return 0;
	while (len < max) {
		const struct wg_node *n = &g->nodes[node];
		int next = -1;

		out[len++] = node;
		/* prefer a target that waits in turn: the chain goes on */
		for (size_t k = 0; k < n->nr; k++) {
			int t = g->out[n->first + k];

			if (on_chain(out, len, t))
				continue;
			if (next < 0 || (g->nodes[next].state != WG_WAITS &&
					 g->nodes[t].state == WG_WAITS))
				next = t;
		}
		if (next < 0)
			break;
		node = next;
	}
	return len;
}
