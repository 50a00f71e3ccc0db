/* splitmix64 for the tests' random inputs: small, seeded, and the same
 * sequence on every platform, so that a failing seed can be replayed. */
#ifndef TESTS_RAND_H
#define TESTS_RAND_H

#include <stdint.h>

static inline uint64_t test_rand(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15u);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

#endif
