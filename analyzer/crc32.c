// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * CRC-32, eight bytes at a time ("slicing by 8"): every trace record
 * carries its own checksum, so this runs once per record written and read,
 * and a byte-at-a-time loop cost ~2 ns a byte. The 8 x 256 tables are
 * computed once, under pthread_once (the tracer and the analyzer are single
 * threaded, but a library should not have to know that).
 */
#include <pthread.h>
#include <string.h>
#include "crc32.h"

#define CRC32_POLY 0xedb88320u

static __u32 crc32_table[8][256];
static pthread_once_t crc32_once = PTHREAD_ONCE_INIT;

static void crc32_init(void)
{
	for (__u32 i = 0; i < 256; i++) {
		__u32 c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ CRC32_POLY : c >> 1;
		crc32_table[0][i] = c;
	}
	for (__u32 i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			crc32_table[t][i] = (crc32_table[t - 1][i] >> 8) ^
					    crc32_table[0][crc32_table[t - 1][i] & 0xff];
}

__u32 ipcrace_crc32(__u32 crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	pthread_once(&crc32_once, crc32_init);
	crc = ~crc;
	while (len >= 8) {
		__u32 lo, hi;

		/* little-endian loads: x86-64 only (see README) */
		memcpy(&lo, p, 4);
		memcpy(&hi, p + 4, 4);
		lo ^= crc;
		crc = crc32_table[7][lo & 0xff] ^ crc32_table[6][(lo >> 8) & 0xff] ^
		      crc32_table[5][(lo >> 16) & 0xff] ^ crc32_table[4][lo >> 24] ^
		      crc32_table[3][hi & 0xff] ^ crc32_table[2][(hi >> 8) & 0xff] ^
		      crc32_table[1][(hi >> 16) & 0xff] ^ crc32_table[0][hi >> 24];
		p += 8;
		len -= 8;
	}
	while (len--)
		crc = (crc >> 8) ^ crc32_table[0][(crc ^ *p++) & 0xff];
	return ~crc;
}
