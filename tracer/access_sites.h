/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Where an access probe may be moved off its instruction, for the planner
 * (tracer/access_plan.c): an atomic's operands evaluated after it ran (at
 * the next instruction, or a few on at a jump the kernel emulates), a
 * plain load's after it ran, an atomic's release before it runs. Each
 * answer rests on the same facts: nothing jumps in between, the probed
 * instruction has no LOCK prefix (uprobes refuse those), and the address
 * registers hold what they held at the access. Pure: instructions in,
 * yes or no out.
 */
#ifndef IPCRACE_ACCESS_SITES_H
#define IPCRACE_ACCESS_SITES_H

#include <capstone/capstone.h>
#include <stdbool.h>
#include <stddef.h>
#include "access_decode.h"

/*
 * May the operands of the atomic insns[i] be evaluated at insns[i + 1]?
 * Only when nothing jumps there (the registers would be another path's)
 * and the atomic leaves the address registers as they were: cmpxchg
 * writes rax, cmpxchg8b/16b rdx:rax, xadd and xchg their register
 * operand (taken as written whatever capstone says); the others (add,
 * inc, or, bts, ...) no register.
 */
bool access_sites__atomic_next(const struct func_info *fi, const cs_insn *insns, size_t n, size_t i,
			       const struct access_operand *ops, size_t nr);

/*
 * Where the operands of the atomic insns[i] are evaluated after it ran
 * (access_sites__atomic_next said insns[i + 1] may): at insns[i + 1], or a
 * little further on at a jump the kernel emulates (~1 us on this VM,
 * against 15-19 us for the single-step of a test, a mov or a ret), when
 * the instructions up to it only compute in registers
 * (access_cover__register_only, no memory operand), write none of the
 * address registers, and nothing branches to any of them or to the jump.
 * The thread records nothing in between, so the trace is the same, a few
 * instructions later (a test-and-set's xchg; test; jne). Returns the index.
 */
size_t access_sites__atomic_record_at(csh cs, const struct func_info *fi, const cs_insn *insns,
				      size_t n, size_t i, const struct access_operand *ops, size_t nr);

/*
 * May plain load op of insns[i] be evaluated at insns[i + 1] (AOP_POSTABLE)?
 * As for an atomic, only when nothing jumps there, the next instruction
 * can be probed (no LOCK prefix) and the load writes none of the address
 * registers (capstone's full list of registers written, implicit ones too).
 */
bool access_sites__load_next(csh cs, const struct func_info *fi, const cs_insn *insns, size_t n,
			     size_t i, const struct access_operand *op);

/*
 * May the release half of the atomic insns[i] (AOP_RELEASE) be evaluated
 * at insns[i - 1]? Only when running insns[i - 1] means running insns[i]
 * next: it is no jump, call or return and nothing jumps to insns[i]; when
 * the kernel takes a probe there (no LOCK prefix); and when it writes none
 * of the atomic's address registers.
 */
bool access_sites__release_before(csh cs, const struct func_info *fi, const cs_insn *insns,
				  size_t i, const struct access_operand *ops, size_t nr);

#endif /* IPCRACE_ACCESS_SITES_H */
