/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The lock-order graph (DESIGN.md, "Lock order"): a node per lock identity,
 * an edge held -> requested per blocking acquire attempt made while holding
 * a lock. An elementary cycle is a potential deadlock, unless one gate lock
 * outside the cycle was held at every edge of it.
 */
#ifndef IPCRACE_LOCKGRAPH_H
#define IPCRACE_LOCKGRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include "findings.h"

/* Cycles reported at most by analyze_trace; more are almost always one bug. */
#define LOCKGRAPH_MAX_CYCLES 64

struct lockgraph;

struct lockgraph *lockgraph__new(void);
void lockgraph__free(struct lockgraph *g);

/*
 * Records that e->who requested e->lock while holding e->held (nodes are
 * e->held.key and e->lock.key). The first occurrence of an edge keeps its
 * data (thread, stacks). gates[] lists every lock the thread held at that
 * moment, in any order; an edge's gate set is the intersection over all its
 * occurrences, since one occurrence without the gate can deadlock.
 * gates_known false: the thread may hold locks whose acquisition was lost
 * (ring buffer full), so this occurrence narrows no gate set; an edge seen
 * only that way is gated by anything. 0 or a negative errno.
 */
int lockgraph__add_edge(struct lockgraph *g, const struct finding_edge *e,
			const struct ipcrace_key *gates, size_t nr_gates, bool gates_known);

/*
 * Marks a semaphore used for signalling (posted by a thread not holding it):
 * every edge touching it is ignored by the cycle search, and it is never a
 * gate. 0 or a negative errno.
 */
int lockgraph__mark_signalling(struct lockgraph *g, const struct ipcrace_key *k);

/*
 * Appends one FINDING_LOCK_ORDER_INVERSION per elementary cycle that no gate
 * lock protects, at most max. Each cycle is found once and starts at its
 * lock seen first in the stream: cycle[i] is the edge whose held lock is
 * node i and whose requested lock is node i + 1; object = cycle[0].held.
 * 0 or a negative errno.
 */
int lockgraph__find_cycles(const struct lockgraph *g, size_t max, struct findings *out);

size_t lockgraph__nr_nodes(const struct lockgraph *g);
size_t lockgraph__nr_edges(const struct lockgraph *g);
/* true when the graph has the edge from -> to (signalling or not). */
bool lockgraph__has_edge(const struct lockgraph *g, const struct ipcrace_key *from,
			 const struct ipcrace_key *to);

#endif /* IPCRACE_LOCKGRAPH_H */
