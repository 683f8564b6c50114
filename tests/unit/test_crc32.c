// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * CRC-32 (analyzer/crc32.c): the folded path (PCLMULQDQ, 64 bytes and
 * more) and the table path give the bit-by-bit definition's value for
 * every length, alignment and starting value, and chained calls give the
 * value of one call over the whole buffer.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>

#include "analyzer/crc32.h"

/* The definition: reflected CRC-32, polynomial 0xedb88320, one bit at a time. */
static __u32 crc32_bitwise(__u32 crc, const unsigned char *p, size_t len)
{
	crc = ~crc;
	while (len--) {
		crc ^= *p++;
		for (int k = 0; k < 8; k++)
			crc = crc & 1 ? (crc >> 1) ^ 0xedb88320u : crc >> 1;
	}
	return ~crc;
}

static __u64 rng = 0x9e3779b97f4a7c15ull;

static __u64 rng_next(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

static void test_crc32_matches_the_definition_at_every_length(void **state)
{
	static unsigned char buf[4096 + 16];
	(void)state;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)rng_next();
	for (size_t len = 0; len <= 1100; len++) {
		size_t align = len % 16;
		__u32 seed = len % 3 ? (__u32)rng_next() : 0;

		assert_int_equal(ipcrace_crc32(seed, buf + align, len),
				 crc32_bitwise(seed, buf + align, len));
	}
	assert_int_equal(ipcrace_crc32(0, buf, 4096), crc32_bitwise(0, buf, 4096));
}

static void test_crc32_chained_calls_equal_one_call(void **state)
{
	static unsigned char buf[2048];
	(void)state;

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)rng_next();
	for (int round = 0; round < 200; round++) {
		size_t cut = rng_next() % sizeof(buf);
		__u32 crc = ipcrace_crc32(0, buf, cut);

		crc = ipcrace_crc32(crc, buf + cut, sizeof(buf) - cut);
		assert_int_equal(crc, crc32_bitwise(0, buf, sizeof(buf)));
	}
}

static void test_crc32_of_check_string(void **state)
{
	(void)state;
	/* the CRC-32 check value, and the same string padded past 64 bytes */
	assert_int_equal(ipcrace_crc32(0, "123456789", 9), 0xcbf43926u);
	assert_int_equal(ipcrace_crc32(0, "1234567890123456789012345678901234567890"
				       "12345678901234567890123456789", 69),
			 crc32_bitwise(0, (const unsigned char *)"1234567890123456789012345678901234567890"
				       "12345678901234567890123456789", 69));
}

static void test_crc32_record_skips_the_crc_field(void **state)
{
	static unsigned char rec[16 + 512 + 16];
	(void)state;

	for (int round = 0; round < 4; round++) {
		for (size_t i = 0; i < sizeof(rec); i++)
			rec[i] = (unsigned char)rng_next();
		for (size_t len = 0; len <= 512; len++) {
			size_t align = (len + round) % 16;
			unsigned char *r = rec + align;
			__u32 want = crc32_bitwise(crc32_bitwise(0, r, 12), r + 16, len);

			/* bytes 12-15 (the CRC field) take no part */
			r[12] ^= 0xff;
			assert_int_equal(ipcrace_crc32_record(r, len), want);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crc32_matches_the_definition_at_every_length),
		cmocka_unit_test(test_crc32_chained_calls_equal_one_call),
		cmocka_unit_test(test_crc32_of_check_string),
		cmocka_unit_test(test_crc32_record_skips_the_crc_field),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
