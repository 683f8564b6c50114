/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Symbolization of stack addresses with elfutils libdwfl, offline: the
 * address spaces come from the trace's mapping records, the binaries from
 * the paths recorded there, checked against the recorded build-ids (with
 * /usr/lib/debug/.build-id as the fallback), so a trace analyzed after an
 * upgrade or on another machine never symbolizes with the wrong file.
 */
#ifndef IPCRACE_SYMBOLIZE_H
#define IPCRACE_SYMBOLIZE_H

#include <linux/types.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include "../analyzer/trace.h"
#include "../analyzer/findings.h"

#define FRAME_MAX_INLINED 8

/* A source location of an inlined call, or of the function around it. */
struct frame_loc {
	const char *function;		/* NULL: unknown */
	const char *file;		/* as the line table gives it, NULL: unknown */
	int line;			/* 0: unknown */
	int column;
};

/*
 * One symbolized address. Strings are owned by the symbolizer and live
 * until symbolizer__free. When the code at ip was inlined, function, file
 * and line describe the innermost inlined function, and inlined[] its
 * callers, innermost first; the last one is the real (outline) function.
 */
struct frame {
	__u64 ip;
	__u64 offset;			/* ip - load address of module's offset 0 */
	const char *module;		/* mapped file path, "[vdso]"...; NULL: in no mapping */
	const char *build_id;		/* the module's build-id in hex; NULL: none recorded */
	const char *function;
	const char *file;
	int line;
	int column;
	size_t nr_inlined;
	struct frame_loc inlined[FRAME_MAX_INLINED];
};

struct symbolizer;

/* t must outlive the symbolizer. NULL + errno on error. */
struct symbolizer *symbolizer__new(const struct trace *t);
void symbolizer__free(struct symbolizer *s);

/*
 * Symbolizes ip as seen by process pid at time ts. is_return_address: ip is
 * a return address (every frame but an exact #0), so the call instruction
 * is at ip - 1. Fills out as far as it can and returns 0; -ENOENT when ip
 * is in no known mapping of pid or its ancestors (out has only ip).
 */
int symbolizer__frame(struct symbolizer *s, __u32 pid, __u64 ts, __u64 ip,
		      bool is_return_address, struct frame *out);

#define DATA_SYM_NAME_LEN 256

/* The global variable, or the part of one, that a data address lies in. */
struct data_sym {
	const char *module;		/* the module's path, owned by the symbolizer */
	__u64 offset;			/* as frame.offset: addr - load address of offset 0 */
	/* "counters.hits", "table[3].owner", "stats.per_cpu[1]" with DWARF;
	 * "counters+0x8" with only the symbol table. Raw: escape it. */
	char name[DATA_SYM_NAME_LEN];
};

/*
 * Names the global (or static) variable holding addr in process pid at
 * time ts: the ELF object symbol containing it and, when the module has
 * DWARF, the member or element path down to addr. Only addresses in a
 * module's own loaded segments (its data, or the anonymous tail of its
 * .bss) have a name: heap, stacks and shared memory give -ENOENT, never a
 * guess.
 */
int symbolizer__data_sym(struct symbolizer *s, __u32 pid, __u64 ts, __u64 addr,
			 struct data_sym *out);

/* The name alone into out (NUL-terminated). 0 or -ENOENT, -EINVAL. */
int symbolizer__data(struct symbolizer *s, __u32 pid, __u64 ts, __u64 addr,
		     char *out, size_t len);

/*
 * The variable a data race is about: its object's address in its process,
 * at the time of that process's access. -ENOENT for a word in no variable
 * (shared memory, heap), -EINVAL for other findings or a NULL symbolizer.
 */
int symbolizer__race_object(struct symbolizer *s, const struct finding *f,
			    struct data_sym *out);

struct ustack_snapshot;
struct unwind_frame;

/*
 * Unwinds a stack snapshot of process pid at time ts (reports/unwind.h),
 * with the executable mappings that process had then. Returns the number of
 * frames in out, or a negative errno.
 */
int symbolizer__unwind(struct symbolizer *s, __u32 pid, __u64 ts,
		       const struct ustack_snapshot *snap, struct unwind_frame *out, size_t max);

/*
 * The symbolized frames of stack stack_id (a frame-pointer stack or a
 * snapshot, unwound), or of exact_ip alone when there is none. s may be
 * NULL (frames have only ips). Returns the number of frames in out.
 */
size_t symbolizer__stack(struct symbolizer *s, const struct trace *t, __u32 pid, __u64 ts,
			 __u64 stack_id, __u64 exact_ip, struct frame *out, size_t max);

/*
 * Names every stack snapshot that unwinds to the same frames in the same
 * process layout by one id (the earliest one's), in the events of t: the
 * kernel keys call sites on what it can see cheaply, so one call chain can
 * arrive under several ids, and analysis must see one call site once.
 */
int symbolizer__merge_stacks(struct symbolizer *s, struct trace *t);

/* -v: snapshots unwound, and how each module's frames were. */
void symbolizer__print_unwind_stats(const struct symbolizer *s, FILE *out);

/*
 * Where modules and debug files are found (reports/debuginfo.h): --debug-dir
 * (repeatable, searched first) and --sysroot. 0 or a negative errno.
 */
int symbolizer__add_debug_dir(struct symbolizer *s, const char *dir);
int symbolizer__set_sysroot(struct symbolizer *s, const char *dir);

/* dir as the only debug directory ("/usr/lib/debug" by default). For tests. */
int symbolizer__set_debug_dir(struct symbolizer *s, const char *dir);

#endif /* IPCRACE_SYMBOLIZE_H */
