/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * What the instruction behind a data-breakpoint hit did. x86 data
 * breakpoints trap after the access, so the hit reports the address of the
 * next instruction; x86 cannot be decoded backwards reliably, so the
 * function containing it (from the ELF symbol table) is disassembled from
 * its start with capstone until an instruction ends exactly there.
 */
#ifndef IPCRACE_INSN_CLASSIFY_H
#define IPCRACE_INSN_CLASSIFY_H

#include <capstone/capstone.h>
#include <linux/types.h>

struct insn_classifier;

struct insn_classifier *insn_classifier__new(void);
void insn_classifier__free(struct insn_classifier *c);

/*
 * Classifies the instruction ending at file offset next_off of the ELF file
 * at path: *flags gets EVF_WRITE when it writes memory (EVF_READ when it
 * only reads), plus EVF_ATOMIC for a LOCK prefix or XCHG with memory.
 * 0, or -ENOENT when no function covers it or no instruction ends there.
 */
int insn_classifier__classify(struct insn_classifier *c, const char *path, __u64 next_off,
			      __u32 *flags);

/*
 * What memory operand k of a decoded instruction (capstone, details on)
 * does: EVF_READ, EVF_WRITE or both. Vector stores (SSE, AVX, AVX-512)
 * are writes whatever capstone 4 says; a read when nothing else is known.
 */
__u32 insn_classify__operand(const cs_insn *insn, int k);

/* Classifies one instruction's bytes (exposed for tests). 0 or -EINVAL. */
int insn_classify__bytes(const __u8 *code, size_t len, __u32 *flags, size_t *insn_len);

#endif /* IPCRACE_INSN_CLASSIFY_H */
