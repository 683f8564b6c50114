/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Function lookup in an ELF file by name, for attaching uprobes by file
 * offset. libbpf 1.1's own lookup refuses glibc functions that exist in two
 * symbol versions ("ambiguous match"); this one prefers the default (@@)
 * version and accepts aliases at one address.
 */
#ifndef IPCRACE_ELF_SYMS_H
#define IPCRACE_ELF_SYMS_H

#include <linux/types.h>
#include <stdbool.h>

struct elf_func {
	__u64 offset;		/* file offset of the first instruction */
	__u64 size;		/* st_size */
	__u64 vaddr;		/* st_value */
};

struct elf_syms;

/* NULL + errno if the file cannot be read as ELF. */
struct elf_syms *elf_syms__open(const char *path);
void elf_syms__close(struct elf_syms *s);

/* 0, or -ENOENT when the file defines no such function. */
int elf_syms__find(const struct elf_syms *s, const char *name, struct elf_func *out);

/* True for an executable with no program interpreter (statically linked). */
bool elf_syms__is_static_exec(const struct elf_syms *s);

/* Reads len bytes at file offset off (for instruction decoding). */
int elf_syms__read(const struct elf_syms *s, __u64 off, void *buf, size_t len);

#endif /* IPCRACE_ELF_SYMS_H */
