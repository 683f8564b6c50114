/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The threads `ipcrace hang` looks at and their saved user registers, read
 * by a BPF task iterator (bpf/hang/hang.bpf.c): nothing is stopped, nothing
 * stays attached once this returns.
 */
#ifndef IPCRACE_HANG_SCAN_H
#define IPCRACE_HANG_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "../bpf/hang/hang.h"

/*
 * Every thread of the processes tgids[0..nr) (of every process with all).
 * *out is malloc'ed, sorted by (tgid, tid). 0 or a negative errno, with one
 * line printed saying why.
 */
int hang_scan__threads(const __u32 *tgids, size_t nr, bool all, struct hang_task **out,
		       size_t *nr_out);

#endif /* IPCRACE_HANG_SCAN_H */
