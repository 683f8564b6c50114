/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Message matching for the perfetto report: which receive consumed which
 * send on each channel (FIFO per channel key, in stream order). A display
 * aid: the analyzer's happens-before edges do not depend on it.
 */
#ifndef IPCRACE_PERFETTO_FLOWS_H
#define IPCRACE_PERFETTO_FLOWS_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "../analyzer/trace.h"

/* One message: the send event, the receive event that consumed (part of) it. */
struct pf_flow {
	size_t send;			/* event indices in the trace */
	size_t recv;
	__u64 id;			/* 1.., the arrow's id */
};

struct pf_flows {
	struct pf_flow *by_send;	/* sorted by send event */
	struct pf_flow *by_recv;	/* the same flows, sorted by receive event */
	size_t nr;
};

/* Pairs the sends and receives of t's channels. 0 or -ENOMEM. */
int pf_flows__match(struct pf_flows *f, const struct trace *t);
/* The flows whose send (by_send) or receive is event ev: *first and the count. */
size_t pf_flows__of(const struct pf_flows *f, size_t ev, bool by_send,
		    const struct pf_flow **first);
void pf_flows__free(struct pf_flows *f);
/* The analyzer's rule (hb.c): only a receive that got data is an edge. */
bool pf_recv_got_data(const struct ipcrace_event *e);

#endif /* IPCRACE_PERFETTO_FLOWS_H */
