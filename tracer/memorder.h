/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Memory orders from the source (DESIGN.md, "Atomics"). On x86 a C11
 * relaxed atomic compiles to the same instruction as an acquire load, a
 * release store or a sequentially consistent RMW, so the instruction alone
 * cannot say whether an atomic orders anything. The source says it: the
 * line an instruction comes from (its innermost line, or the call sites it
 * was inlined through when that line is an atomic wrapper's body) names
 * its order. An access whose source names only relaxed orders is relaxed:
 * it is atomic (never a data race) but orders nothing.
 *
 * Best effort and conservative: without DWARF line tables in the file
 * itself, or without the source file on this machine, nothing is relaxed
 * (an atomic then orders as x86 makes it, which can hide a race but never
 * makes one up).
 */
#ifndef IPCRACE_MEMORDER_H
#define IPCRACE_MEMORDER_H

#include <linux/types.h>
#include <stdbool.h>

enum memorder_kind {
	MEMORDER_NONE,		/* the text names no memory order */
	MEMORDER_RELAXED,	/* it names relaxed orders only */
	MEMORDER_ORDERED,	/* it names acquire, release, acq_rel, seq_cst or consume */
};

/*
 * What one statement's text names: memory_order_X, memory_order::X
 * (C++20) or __ATOMIC_X. Pure.
 */
enum memorder_kind memorder__classify_text(const char *text);

/* Kinds of atomic operation a statement spells (memorder__classify_ops). */
#define MEMORDER_OP_LOAD	(1u << 0)	/* atomic_load*, .load(): a plain load */
#define MEMORDER_OP_STORE	(1u << 1)	/* atomic_store*, .store(), flag clear: a plain store */
#define MEMORDER_OP_RMW		(1u << 2)	/* fetch_*, exchange, test_and_set, __sync_* */
#define MEMORDER_OP_ANY		(MEMORDER_OP_LOAD | MEMORDER_OP_STORE | MEMORDER_OP_RMW)

/*
 * Which of those one statement's text spells; MEMORDER_OP_ANY when it
 * spells none it knows (a wrapper's body, an operator): then any
 * instruction of it may be the atomic. Pure.
 */
unsigned int memorder__classify_ops(const char *text);

struct memorder;

/*
 * Opens the DWARF of the ELF file at path (its own sections; NULL with
 * errno ENOENT when it has none).
 */
struct memorder *memorder__open(const char *path);
void memorder__free(struct memorder *m);

/* The order the source names at ELF address vaddr (MEMORDER_NONE: it cannot tell). */
enum memorder_kind memorder__order_at(struct memorder *m, __u64 vaddr);
/* The same, and the kinds of atomic operation that statement spells (*ops). */
enum memorder_kind memorder__order_ops_at(struct memorder *m, __u64 vaddr, unsigned int *ops);
/* Is the instruction at vaddr a relaxed atomic access? */
bool memorder__relaxed_at(struct memorder *m, __u64 vaddr);

#endif /* IPCRACE_MEMORDER_H */
