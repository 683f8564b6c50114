/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Function lookup in an ELF file by name, for attaching uprobes by file
 * offset. libbpf 1.1's own lookup refuses glibc functions that exist in two
 * symbol versions ("ambiguous match"); this one prefers the default (@@)
 * version and accepts aliases at one address.
 *
 * The one reader of symbol tables in the tracer: functions (by name and by
 * address) and data objects (STT_OBJECT), from .symtab and .dynsym both.
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

/* True for ET_DYN (PIE or shared library): symbol values are relative to the load base. */
bool elf_syms__is_pie(const struct elf_syms *s);

/* Reads len bytes at file offset off (for instruction decoding). */
int elf_syms__read(const struct elf_syms *s, __u64 off, void *buf, size_t len);

/*
 * Calls fn on each defined, named STT_OBJECT symbol, in file order (.symtab
 * and .dynsym as they come, so a name may be seen twice), until fn returns
 * true. 0 when fn stopped the walk, -ENOENT when it never did.
 */
int elf_syms__for_each_object(const struct elf_syms *s,
			      bool (*fn)(const char *name, __u64 value, __u64 size, void *ctx),
			      void *ctx);

/*
 * The STT_FUNC symbol whose body [vaddr, vaddr + size) holds vaddr. 0, or
 * -ENOENT when none does or its start is outside the file's PT_LOAD image.
 */
int elf_syms__func_at(const struct elf_syms *s, __u64 vaddr, struct elf_func *out);

/*
 * The virtual address of file offset off in a PT_LOAD segment; its end is
 * included (the address just past a segment's last instruction). 0 or -ENOENT.
 */
int elf_syms__offset_to_vaddr(const struct elf_syms *s, __u64 off, __u64 *vaddr);

#endif /* IPCRACE_ELF_SYMS_H */
