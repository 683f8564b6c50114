/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), the checksum of
 * trace records. Our own small implementation, so the analyzer needs no zlib.
 */
#ifndef IPCRACE_CRC32_H
#define IPCRACE_CRC32_H

#include <linux/types.h>
#include <stddef.h>

/*
 * Continues a CRC over len more bytes: start with crc = 0, feed the result
 * back in for the next piece. ipcrace_crc32(0, "123456789", 9) == 0xcbf43926.
 */
__u32 ipcrace_crc32(__u32 crc, const void *buf, size_t len);

/*
 * A trace record's checksum (trace_format.h): the CRC-32 of its first 12
 * bytes, then of the data_len bytes from byte 16 on (rec holds 16 +
 * data_len bytes); ipcrace_crc32 over the two pieces, without copying
 * them together.
 */
__u32 ipcrace_crc32_record(const void *rec, size_t data_len);

#endif /* IPCRACE_CRC32_H */
