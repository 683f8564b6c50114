/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The symbolizer's insides, shared by its three parts: symbolize.c (code
 * addresses: mappings, modules, functions, inline frames, the cache),
 * symbolize_data.c (global variables and the members of their types) and
 * symbolize_stack.c (unwinding stack snapshots, one id per unwound stack).
 * Nothing outside reports/symbolize*.c includes it.
 */
#ifndef IPCRACE_SYMBOLIZE_INTERNAL_H
#define IPCRACE_SYMBOLIZE_INTERNAL_H

#include <elfutils/libdwfl.h>
#include "debuginfo.h"
#include "symbolize.h"
#include "unwind.h"


/* Children forked without exec share their parent's layout: walk up. */
#define SYM_MAX_ANCESTORS 64

/*
 * One mapped file, as loaded anywhere in the trace. Its Dwfl holds just
 * this module at its link-time addresses, so every process that maps the
 * file (whatever its ASLR base) shares the parsed DWARF and the cache.
 */
struct sym_file {
	char *path;			/* the mapping's path, " (deleted)" removed */
	__u8 build_id[TRACE_BUILD_ID_MAX];
	__u32 build_id_len;
	char build_id_hex[2 * TRACE_BUILD_ID_MAX + 1];	/* "" when none */
	bool tried;			/* opening was attempted */
	Dwfl *dwfl;			/* NULL: only module + offset */
	Dwfl_Module *mod;
	__u64 link_base;		/* link-time address of file offset 0 */
	bool binary_tried;		/* the binary for unwinding was looked for */
	char *binary;			/* the module's own ELF (its .eh_frame); NULL: none */
};

struct sym_cache_ent {
	bool used;
	__u32 file;
	__u64 addr;			/* module address looked up (ip - 1 for returns) */
	struct frame fr;		/* everything but ip and offset */
};

struct symbolizer {
	const struct trace *t;
	const struct trace_mapping **maps;	/* sorted by pid, ts, start */
	size_t nr_maps;
	struct sym_file *files;
	size_t nr_files, cap_files;
	struct sym_cache_ent *cache;
	size_t cache_cap, cache_used;	/* cache_cap: power of two */
	struct debuginfo *di;		/* where modules and debug files are found */
	Dwfl_Callbacks callbacks;
	struct unwinder *unwinder;	/* created with the first snapshot */
	__u64 nr_unwound, nr_unwound_frames;
};

/* The mappings of pid (sorted by pid first): [*lo, *hi). */
void symbolizer__pid_range(const struct symbolizer *s, __u32 pid, size_t *lo, size_t *hi);
/* The mapping of pid holding ip at ts (its own or an ancestor's layout), or NULL. */
const struct trace_mapping *symbolizer__find_mapping(const struct symbolizer *s, __u32 pid,
						     __u64 ts, __u64 ip);
/* Load address of the module m belongs to (its first mapping's start - pgoff). */
__u64 symbolizer__mapping_base(const struct symbolizer *s, const struct trace_mapping *m);
/* The mapping that carries fm's build-id (the executable one of its file). */
const struct trace_mapping *symbolizer__module_mapping(const struct symbolizer *s,
						       const struct trace_mapping *fm);
/* Index of m's file in s->files (added when new), or -errno. */
int sym_file__find_or_add(struct symbolizer *s, const struct trace_mapping *m);
/* The module's own ELF file (for its .eh_frame), or NULL. */
const char *sym_file__binary(struct symbolizer *s, struct sym_file *f);
/* Opens f's Dwfl (marks it tried): 0, or -errno (then only module + offset). */
int sym_file__open(struct symbolizer *s, struct sym_file *f);

#endif /* IPCRACE_SYMBOLIZE_INTERNAL_H */
