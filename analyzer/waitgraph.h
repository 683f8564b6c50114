/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * A wait-for graph over threads (of any processes), for `ipcrace hang`.
 * A thread either can make progress by itself (running, sleeping on a
 * timer), waits for something whose waker is unknown (counted as able to
 * progress: nothing is proven), or waits until one of its targets acts (a
 * mutex owner, any process holding the write end of a pipe, ...: an OR of
 * alternatives). A thread is deadlocked when no chain of its targets leads
 * to a thread that can progress. Pure C: unit-tested on synthetic graphs.
 */
#ifndef IPCRACE_WAITGRAPH_H
#define IPCRACE_WAITGRAPH_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>

enum waitgraph_state {
	WG_PROGRESS = 0,	/* not waiting on another thread */
	WG_WAITS_UNKNOWN,	/* blocked, but who could wake it is not known */
	WG_WAITS,		/* blocked until one of its targets acts */
	/*
	 * Will never act, and waits on nothing: a zombie (exited, not yet
	 * reaped). Not deadlocked itself; a thread waiting only on it is.
	 */
	WG_DEAD,
};

struct waitgraph;

struct waitgraph *waitgraph__new(void);
void waitgraph__free(struct waitgraph *g);

/* A node; returns its index (0, 1, ...) or -ENOMEM. */
int waitgraph__add_node(struct waitgraph *g, enum waitgraph_state state);
size_t waitgraph__nr_nodes(const struct waitgraph *g);

/* `from` (a WG_WAITS node) is released when `to` acts. 0, -EINVAL, -ENOMEM. */
int waitgraph__add_target(struct waitgraph *g, int from, int to);

/* Decides which nodes are deadlocked and finds the cycles. 0 or -ENOMEM. */
int waitgraph__solve(struct waitgraph *g);

/* After solve. False for a WG_DEAD node. */
bool waitgraph__deadlocked(const struct waitgraph *g, int node);

/* Number of cycles found (one per strongly connected set of deadlocked nodes). */
size_t waitgraph__nr_cycles(const struct waitgraph *g);
/*
 * The nodes of cycle c in order: each waits on the next, the last on the
 * first. Returns the number of nodes (at most max copied to out).
 */
size_t waitgraph__cycle(const struct waitgraph *g, size_t c, int *out, size_t max);
/*
 * The cycle a deadlocked node is in or blocked by (its wait leads into
 * it), or -1. in_cycle says which.
 */
int waitgraph__cycle_of(const struct waitgraph *g, int node, bool *in_cycle);

/*
 * The wait chain from node: node, then the target it waits on (the first
 * that leads furthest), ... until a node that does not wait on a thread,
 * or one already on the chain. Returns its length (at most max copied).
 */
size_t waitgraph__chain(const struct waitgraph *g, int node, int *out, size_t max);

#endif /* IPCRACE_WAITGRAPH_H */
