/* Fixed-width big-endian integers for LMDB keys and values (memcmp order
 * equals numeric order); the order LMDB keeps keys in, and the hash of a
 * key for in-memory tables. */
#ifndef LEDGER_BYTES_H
#define LEDGER_BYTES_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

static inline void put_u32_be(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);  p[3] = (uint8_t)v;
}

static inline uint32_t get_u32_be(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static inline void put_u64_be(uint8_t *p, uint64_t v)
{
	put_u32_be(p, (uint32_t)(v >> 32));
	put_u32_be(p + 4, (uint32_t)v);
}

static inline uint64_t get_u64_be(const uint8_t *p)
{
	return (uint64_t)get_u32_be(p) << 32 | get_u32_be(p + 4);
}

/* LMDB's default key order (no custom comparators anywhere): memcmp, the
 * shorter key first when one is a prefix of the other. <0, 0 or >0. */
static inline int bytes_cmp(const uint8_t *a, size_t an, const uint8_t *b,
                            size_t bn)
{
	int c = memcmp(a, b, an < bn ? an : bn);

	return c ? c : (an > bn) - (an < bn);
}

/* FNV-1a of k[0..n): for hash tables of keys held in memory. */
static inline uint64_t bytes_hash(const uint8_t *k, size_t n)
{
	uint64_t h = 0xcbf29ce484222325u;

	for (size_t i = 0; i < n; i++)
		h = (h ^ k[i]) * 0x100000001b3u;
	return h;
}

#endif
