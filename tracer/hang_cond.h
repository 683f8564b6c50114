/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The condition variable and the mutex of a thread blocked in
 * pthread_cond_wait (or timedwait, clockwait), for `ipcrace hang`.
 * glibc's pthread_cond_t does not record its mutex, so it is read where
 * the waiting function keeps it: that function is decoded from its start
 * (capstone) up to its first branch, to find the callee-saved registers it
 * copies its first two arguments into (rdi: the condition variable, rsi:
 * the mutex); their values in its frame come from the unwinder. (glibc
 * 2.36 on x86-64 keeps the condition variable in rbx and the mutex in
 * r12.) The caller checks the result against the futex word waited on.
 */
#ifndef IPCRACE_HANG_COND_H
#define IPCRACE_HANG_COND_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

#define HANG_COND_NO_REG (-1)

/*
 * From the bytes of a function's first instructions: the callee-saved
 * register (UREG_* index) holding its first argument (*arg1) and its
 * second (*arg2) once the straight-line code before its first branch or
 * call has run, or HANG_COND_NO_REG. 0, -ENOENT when it keeps neither,
 * -EINVAL on bad input, -ENOMEM.
 */
int hang_cond__decode(const __u8 *code, size_t len, int *arg1, int *arg2);

/* Decoded functions, kept by file and address for one run. */
struct hang_conds;

struct hang_conds *hang_conds__new(void);
void hang_conds__free(struct hang_conds *c);

/*
 * The registers the function holding a frame keeps its first two
 * arguments in: module is the file as process pid maps it (read through
 * /proc/PID/root), offset the frame's address relative to the load address
 * of the file's offset 0, ret_addr whether it is a return address (the
 * call is just before it). 0 or a negative errno (-ENOENT: no function
 * symbol there, or neither argument kept).
 */
int hang_conds__arg_regs(struct hang_conds *c, __u32 pid, const char *module, __u64 offset,
			 bool ret_addr, int *arg1, int *arg2);

#endif /* IPCRACE_HANG_COND_H */
