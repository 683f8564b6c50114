/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Where to put a uprobe inside a function.
 *
 * A uprobe on an instruction the kernel must single-step (most of them, e.g.
 * the `mov` glibc's pthread_mutex_lock starts with) costs a second trap; on
 * this kind of VM each trap is a VM exit (~15 us a hit here in 2026-12, ~0.5 us for
 * an emulated jmp/jcc/push/nop). The probe can move to the first emulated
 * instruction as long as nothing before it changes what the BPF program
 * reads (the first two arguments and the return address at [rsp]), and no
 * branch can skip it or re-enter before it.
 */
#ifndef IPCRACE_PROBE_SITE_H
#define IPCRACE_PROBE_SITE_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include "elf_syms.h"

/*
 * Returns the file offset for the probe: an emulated instruction within the
 * first bytes of fn, or fn->offset itself when none qualifies. arg2: the
 * program also reads the second argument (rsi). rehit_ok: the program
 * ignores a second hit of the site in one call (a lock attempt, pending
 * until its return; a release kept pending when in_loop says so), so the
 * site may be inside a loop of the function. in_loop (may be NULL): set
 * when the site returned is inside such a loop, so that one call can hit
 * it more than once.
 */
__u64 probe_site__choose(const struct elf_syms *s, const struct elf_func *fn, bool arg2,
			 bool rehit_ok, bool *in_loop);

/*
 * The same on len bytes of code (the function, vaddr its address): the
 * site's offset from the entry, 0 for the entry itself.
 */
__u64 probe_site__pick(const __u8 *code, size_t len, __u64 vaddr, bool arg2, bool rehit_ok,
		       bool *in_loop);

/* False when the kernel would refuse a uprobe on the instruction at offset. */
bool probe_site__probeable(const struct elf_syms *s, __u64 offset);

#endif /* IPCRACE_PROBE_SITE_H */
