/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Stack snapshots in a trace (--call-graph dwarf): registers and the top of
 * a user stack, unwound offline by reports/unwind.c. On disk a snapshot is
 * one USTACK record (its registers) followed by USTACK_DATA records holding
 * its bytes in parts of at most USTACK_PART_MAX, so that no record is large:
 * a part lost to a damaged region leaves the snapshot's bytes before it.
 */
#ifndef IPCRACE_USTACK_H
#define IPCRACE_USTACK_H

#include <linux/types.h>
#include <stddef.h>
#include "../bpf/events.h"

/* TRACE_REC_USTACK data. */
struct trace_ustack {
	__u64 id;			/* as ipcrace_event.stack_id */
	__u64 regs[UREG_NR];
	__u64 first_frame;		/* 0, or what replaces unwound frame 0 */
	__u32 size;			/* stack bytes that follow in USTACK_DATA parts */
	__u32 flags;			/* STACKF_* */
};

/* TRACE_REC_USTACK_DATA data: this header, then len bytes. */
struct trace_ustack_data {
	__u64 id;
	__u32 offset;			/* of these bytes in the snapshot */
	__u32 len;
};

#define USTACK_PART_MAX 4064u		/* bytes per USTACK_DATA record */

_Static_assert(sizeof(struct trace_ustack) == 88, "trace_ustack size");
_Static_assert(sizeof(struct trace_ustack_data) == 16, "trace_ustack_data size");
_Static_assert(IPCRACE_USTACK_HDR_LEN == 96, "ipcrace_ustack header size");

/* A snapshot as read: data[0, have) are its bytes from regs[UREG_SP] up. */
struct ustack_snapshot {
	struct trace_ustack hdr;
	__u32 have;			/* contiguous bytes read from offset 0 */
	__u8 *data;
};

struct ustack_table;

/*
 * Reader side. add_header/add_data return 0 or -EINVAL with a one-line
 * reason in err (the record is malformed); a part that does not continue
 * the last snapshot read is dropped (a damaged region took the ones
 * between) and its snapshot keeps the bytes it has. *tp is created on the
 * first record.
 */
int ustack_table__add_header(struct ustack_table **tp, const void *data, size_t len,
			     char *err, size_t errlen);
int ustack_table__add_data(struct ustack_table **tp, const void *data, size_t len,
			   char *err, size_t errlen);
/* Sorts for lookups; of several snapshots with one id the first read wins. */
int ustack_table__finish(struct ustack_table *t);
const struct ustack_snapshot *ustack_table__find(const struct ustack_table *t, __u64 id);
size_t ustack_table__count(const struct ustack_table *t);
void ustack_table__free(struct ustack_table *t);

#endif /* IPCRACE_USTACK_H */
