/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * GNU build-id of an ELF file: recorded by the tracer for every mapped
 * file, checked by the symbolizer, so a trace analyzed on another machine
 * (or after an upgrade) never symbolizes with the wrong binary.
 */
#ifndef IPCRACE_BUILDID_H
#define IPCRACE_BUILDID_H

#include <linux/types.h>
#include <stddef.h>

/*
 * Copies the NT_GNU_BUILD_ID note of the ELF file at path to out. Returns
 * its length, or -ENOENT (no such file or no note), -ENOEXEC (not ELF),
 * -ENOSPC (longer than max), another negative errno.
 */
int elf_build_id__read(const char *path, __u8 *out, size_t max);

#endif /* IPCRACE_BUILDID_H */
