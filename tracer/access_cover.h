/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Plain loads that the atomic RMW after them covers, for the access-probe
 * planner (tracer/access_plan.c). A compare-and-swap loop loads its word
 * and then runs `lock cmpxchg` on it: the load's probe (a single-step of a
 * `mov` on this VM, ~15-19 us, and another one for its probe after it once
 * its word is known atomic) records nothing the RMW's own record (after it
 * ran) does not, when every run of the load goes on to the RMW of the same
 * word with nothing recorded in between (README, "Access probes"). This
 * module proves that much from the instructions: it follows the load's
 * fall-through path, instruction by instruction, through register-only
 * instructions it knows cannot branch, trap or touch memory, and tracks
 * what each register holds relative to the registers at the load (a
 * `lea rdx, [rdi+8]`, a `mov`, an `add` of a constant), so that the RMW's
 * operand can be shown to name the load's address.
 *
 * Whether the load may then go unprobed depends on the memory orders the
 * source names (an ordered load before a relaxed RMW keeps its probe):
 * access_plan__elide_loads decides, once tracer/memorder.h has flagged
 * both. Pure: no ELF, no plan.
 */
#ifndef IPCRACE_ACCESS_COVER_H
#define IPCRACE_ACCESS_COVER_H

#include <capstone/capstone.h>
#include <stdbool.h>
#include <stddef.h>
#include "access_decode.h"

/* Instructions between a load and the RMW that covers it, at most. */
#define ACCESS_COVER_WINDOW 8

/*
 * Is load (memory operand of insns[i], decoded) followed on every run by
 * an atomic RMW of the same bytes, insns[j] with i < j <= i +
 * ACCESS_COVER_WINDOW, reached by falling through instructions that touch
 * no memory and cannot branch, trap or fault? Returns j, or 0 when it
 * cannot tell. Only a plain load qualifies (read, not written, not
 * atomic, rep, nor the thread's own frame).
 */
size_t access_cover__rmw_after(csh cs, const struct func_info *fi, const cs_insn *insns, size_t n,
			       size_t i, const struct access_operand *load);

/*
 * Does insn only compute in general registers and flags, unable to branch,
 * trap or fault (no division, no privileged or system instruction), so
 * that the instruction after it runs next (a signal handler that never
 * returns aside)? Memory operands are the caller's to check: a lea or a
 * nop with one qualifies.
 */
bool access_cover__register_only(const cs_insn *insn);

#endif /* IPCRACE_ACCESS_COVER_H */
