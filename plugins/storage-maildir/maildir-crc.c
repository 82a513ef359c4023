/* maildir-crc.c - CRC-32C (Castagnoli) for the index checksum: a small
 * table version, and the SSE4.2 instruction when the CPU has it (a warm
 * open of a 100,000-message index checksums ~6 MB; the instruction does
 * that in well under a millisecond). zlib is not a dependency.
 *
 * maildir_checksum() is what the index stores: below 64 KiB the plain
 * CRC-32C; above, the CRC-32C of the CRC-32Cs of three equal parts and
 * the tail, so the three parts can be computed side by side. */
#include "maildir-private.h"

#include <pthread.h>

static uint32_t crc_table[256];
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void crc_init_table(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		crc_table[i] = c;
	}
}

static uint32_t crc_table_update(uint32_t crc, const unsigned char *p,
				 size_t len)
{
	pthread_once(&crc_once, crc_init_table);
	while (len-- > 0)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t
crc_hw_update(uint32_t crc, const unsigned char *p, size_t len)
{
	uint64_t c = crc;

	while (len > 0 && ((uintptr_t)p & 7) != 0) {
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
		len--;
	}
	while (len >= 8) {
		uint64_t v;

		__builtin_memcpy(&v, p, 8);
		c = __builtin_ia32_crc32di(c, v);
		p += 8;
		len -= 8;
	}
	while (len-- > 0)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p++);
	return (uint32_t)c;
}
#endif

#if defined(__x86_64__)
/* Three independent CRCs in one loop: the instruction has a latency of
 * three cycles and a throughput of one, so interleaving triples speed. */
__attribute__((target("sse4.2"))) static void
crc_hw_3way(const unsigned char *p, size_t part, uint32_t out[3])
{
	uint64_t a = ~0u, b = ~0u, c = ~0u;
	const unsigned char *q = p + part, *r = p + 2 * part;

	for (size_t i = 0; i < part; i += 8) {
		uint64_t x, y, z;

		__builtin_memcpy(&x, p + i, 8);
		__builtin_memcpy(&y, q + i, 8);
		__builtin_memcpy(&z, r + i, 8);
		a = __builtin_ia32_crc32di(a, x);
		b = __builtin_ia32_crc32di(b, y);
		c = __builtin_ia32_crc32di(c, z);
	}
	out[0] = ~(uint32_t)a;
	out[1] = ~(uint32_t)b;
	out[2] = ~(uint32_t)c;
}
#endif

uint32_t maildir_checksum(const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t part = (len / 3) & ~(size_t)7;
	uint32_t crcs[4];

	if (len < 65536)
		return maildir_crc32c(0, data, len);
#if defined(__x86_64__)
	if (__builtin_cpu_supports("sse4.2"))
		crc_hw_3way(p, part, crcs);
	else
#endif
		for (int i = 0; i < 3; i++)
			crcs[i] = maildir_crc32c(0, p + i * part, part);
	crcs[3] = maildir_crc32c(0, p + 3 * part, len - 3 * part);
	return maildir_crc32c(0, crcs, sizeof(crcs));
}

uint32_t maildir_crc32c(uint32_t crc, const void *data, size_t len)
{
	crc = ~crc;
#if defined(__x86_64__)
	if (__builtin_cpu_supports("sse4.2"))
		return ~crc_hw_update(crc, data, len);
#endif
	return ~crc_table_update(crc, data, len);
}
