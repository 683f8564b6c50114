// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * CRC-32, eight bytes at a time ("slicing by 8"): every trace record
 * carries its own checksum, so this runs once per record written and read,
 * and a byte-at-a-time loop cost ~2 ns a byte. The 8 x 256 tables are
 * computed once, under pthread_once (the tracer and the analyzer are single
 * threaded, but a library should not have to know that).
 *
 * Where the CPU has carry-less multiplication (PCLMULQDQ, x86-64 since
 * 2010), runs of 64 bytes and more are folded 16 bytes at a time instead
 * (Intel's "Fast CRC Computation for Generic Polynomials Using PCLMULQDQ
 * Instruction", bit-reflected CRC-32: four 16-byte lanes folded 64 bytes
 * a turn, then into one, then reduced to 32 bits by Barrett's method),
 * several times the table's speed: each of the analyzer's passes checks
 * every record. The constants are x^n mod P(x) for each folding distance,
 * bit reflected, then P(x) and its Barrett quotient.
 */
#include <pthread.h>
#include <string.h>
#include <stdbool.h>
#include <immintrin.h>
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

static bool crc32_have_clmul;
static bool crc32_ready;

static void crc32_init_all(void)
{
	crc32_init();
	__builtin_cpu_init();
	crc32_have_clmul = __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse4.1");
	__atomic_store_n(&crc32_ready, true, __ATOMIC_RELEASE);
}

/* Folding by 16 bytes (k3k4 in the lanes' fold below). */
#define CRC32_K3K4 _mm_set_epi64x(0x0ccaa009ell, 0x1751997d0ll)

/* 128 bits of folded remainder to the 32-bit CRC register (not inverted). */
__attribute__((target("pclmul,sse4.1")))
static inline __u32 crc32_reduce(__m128i x1)
{
	const __m128i k3k4 = CRC32_K3K4;
	const __m128i k5 = _mm_set_epi64x(0, 0x163cd6124ll);
	const __m128i poly = _mm_set_epi64x(0x1f7011641ll, 0x1db710641ll);
	const __m128i mask32 = _mm_set_epi32(0, 0, 0, -1);
	__m128i t;

	/* 128 bits to 64, with 32 zero bits appended */
	t = _mm_clmulepi64_si128(k3k4, x1, 0x01);
	x1 = _mm_xor_si128(_mm_srli_si128(x1, 8), t);
	/* 64 to 32 */
	t = _mm_srli_si128(x1, 4);
	x1 = _mm_clmulepi64_si128(_mm_and_si128(x1, mask32), k5, 0x00);
	x1 = _mm_xor_si128(x1, t);
	/* Barrett reduction */
	t = x1;
	x1 = _mm_clmulepi64_si128(_mm_and_si128(x1, mask32), poly, 0x10);
	x1 = _mm_clmulepi64_si128(_mm_and_si128(x1, mask32), poly, 0x00);
	x1 = _mm_xor_si128(x1, t);
	return (__u32)_mm_extract_epi32(x1, 1);
}

/*
 * The CRC register (not inverted) over len bytes, len >= 64: folds all
 * whole 16-byte blocks; *done says how many bytes that was.
 */
__attribute__((target("pclmul,sse4.1")))
static __u32 crc32_fold(__u32 crc, const unsigned char *p, size_t len, size_t *done)
{
	const __m128i k1k2 = _mm_set_epi64x(0x1c6e41596ll, 0x154442bd4ll);
	const __m128i k3k4 = CRC32_K3K4;
	__m128i x1, x2, x3, x4;
	size_t left = len;

	x1 = _mm_loadu_si128((const __m128i *)p);
	x2 = _mm_loadu_si128((const __m128i *)(p + 16));
	x3 = _mm_loadu_si128((const __m128i *)(p + 32));
	x4 = _mm_loadu_si128((const __m128i *)(p + 48));
	x1 = _mm_xor_si128(x1, _mm_cvtsi32_si128((int)crc));
	p += 64;
	left -= 64;
	/* four lanes, 64 bytes a turn */
	while (left >= 64) {
#define FOLD(x, k, next) \
	_mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00), \
				    _mm_clmulepi64_si128(x, k, 0x11)), next)
		x1 = FOLD(x1, k1k2, _mm_loadu_si128((const __m128i *)p));
		x2 = FOLD(x2, k1k2, _mm_loadu_si128((const __m128i *)(p + 16)));
		x3 = FOLD(x3, k1k2, _mm_loadu_si128((const __m128i *)(p + 32)));
		x4 = FOLD(x4, k1k2, _mm_loadu_si128((const __m128i *)(p + 48)));
		p += 64;
		left -= 64;
	}
	/* the four into one, then 16 bytes a turn */
	x1 = FOLD(x1, k3k4, x2);
	x1 = FOLD(x1, k3k4, x3);
	x1 = FOLD(x1, k3k4, x4);
	while (left >= 16) {
		x1 = FOLD(x1, k3k4, _mm_loadu_si128((const __m128i *)p));
		p += 16;
		left -= 16;
	}
#undef FOLD
	*done = len - left;
	return crc32_reduce(x1);
}

__u32 ipcrace_crc32(__u32 crc, const void *buf, size_t len)
{
	const unsigned char *p = buf;

	/* one load on every call but the first ones */
	if (!__atomic_load_n(&crc32_ready, __ATOMIC_ACQUIRE))
		pthread_once(&crc32_once, crc32_init_all);
	crc = ~crc;
	if (len >= 64 && crc32_have_clmul) {
		size_t done;

		crc = crc32_fold(crc, p, len, &done);
		p += done;
		len -= done;
	}
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

/*
 * A trace record's 12 header bytes, then its data, one 16-byte block at a
 * time, straight from the record: CRC is linear, so the register over a
 * message whose first 4 bytes were XORed with it, from 0, is the same, and
 * zero bytes before such a message change nothing; the message is
 * prefixed with the zeros (4 or 12) that make it whole blocks, and the
 * first blocks are shuffled together in registers instead of copied.
 * Records are short (an event is 9 blocks): three lanes, folded 48 bytes
 * a turn, keep three folds in flight instead of one after the other.
 * data_len is a multiple of 8, 16 to RECORD_FOLD_MAX.
 */
#define RECORD_FOLD_MAX 240
__attribute__((target("pclmul,sse4.1")))
static inline __m128i crc32_fold16(__m128i x, __m128i k, __m128i next)
{
	return _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(x, k, 0x00),
					   _mm_clmulepi64_si128(x, k, 0x11)), next);
}

__attribute__((target("pclmul,sse4.1")))
static __u32 crc32_fold_record(__u32 crc, const unsigned char *rec, size_t data_len)
{
	/* x^(d+32), x^(d-32) mod P, bit reflected, for distances d of 128, 256, 384 bits */
	const __m128i k128 = CRC32_K3K4;
	const __m128i k256 = _mm_set_epi64x(0x15a546366ll, 0x0f1da05aall);
	const __m128i k384 = _mm_set_epi64x(0x174359406ll, 0x03db1ecdcll);
	__m128i head = _mm_loadu_si128((const __m128i *)rec);
	const unsigned char *p = rec + 16;
	__m128i first[3], a, b, c, x;	/* first[2]: never used, BLOCK(2) reads no further */
	size_t nfirst, n, i;

	if (data_len % 16 == 0) {
		/* 4 zeros, the 12 header bytes (the CRC field shifted out) */
		first[0] = _mm_slli_si128(head, 4);
		first[0] = _mm_xor_si128(first[0], _mm_slli_si128(_mm_cvtsi32_si128((int)crc), 4));
		nfirst = 1;
	} else {
		/* 12 zeros and header bytes 0-3; then bytes 4-11 and data 0-7 */
		first[0] = _mm_slli_si128(head, 12);
		first[0] = _mm_xor_si128(first[0], _mm_slli_si128(_mm_cvtsi32_si128((int)crc), 12));
		first[1] = _mm_or_si128(_mm_move_epi64(_mm_srli_si128(head, 4)),
					_mm_slli_si128(_mm_loadl_epi64((const __m128i *)p), 8));
		p += 8;
		data_len -= 8;
		nfirst = 2;
	}
	n = nfirst + data_len / 16;
#define BLOCK(i) ((i) < nfirst ? first[i] : \
		  _mm_loadu_si128((const __m128i *)(p + 16 * ((i) - nfirst))))
	if (n < 3) {
		x = BLOCK(0);
		for (i = 1; i < n; i++)
			x = crc32_fold16(x, k128, BLOCK(i));
		return crc32_reduce(x);
	}
	a = BLOCK(0);
	b = BLOCK(1);
	c = BLOCK(2);
	for (i = 3; i + 3 <= n; i += 3) {
		a = crc32_fold16(a, k384, BLOCK(i));
		b = crc32_fold16(b, k384, BLOCK(i + 1));
		c = crc32_fold16(c, k384, BLOCK(i + 2));
	}
	/* a is 32 bytes before c, b 16 */
	x = crc32_fold16(a, k256, crc32_fold16(b, k128, c));
	for (; i < n; i++)
		x = crc32_fold16(x, k128, BLOCK(i));
#undef BLOCK
	return crc32_reduce(x);
}

__u32 ipcrace_crc32_record(const void *rec, size_t data_len)
{
	const unsigned char *p = rec;
	__u32 crc;

	if (!__atomic_load_n(&crc32_ready, __ATOMIC_ACQUIRE))
		pthread_once(&crc32_once, crc32_init_all);
	if (crc32_have_clmul && data_len >= 16 && data_len <= RECORD_FOLD_MAX &&
	    data_len % 8 == 0)
		return ~crc32_fold_record(~0u, p, data_len);
	crc = ipcrace_crc32(0, p, 12);
	return ipcrace_crc32(crc, p + 16, data_len);
}
