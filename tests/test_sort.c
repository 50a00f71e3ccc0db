/* The introsort of ledger/sort.h against qsort: random arrays with many
 * and with few repeated keys, and the shapes that make a naive quicksort
 * quadratic or break its partition (sorted, reversed, all equal, organ
 * pipe), of every size up to 300 and some large ones. Records carry a
 * payload that must travel with their key. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "sort.h"

void suite_sort(void);

typedef struct item {
	uint32_t key;
	uint32_t payload;               /* key * 7 + 1: moves with the key */
	uint8_t pad[24];                /* elements larger than a word */
} item;

/* The context counts the comparisons, as a caller's context may carry
 * anything the comparison needs. */
static inline bool item_less(const item *a, const item *b, size_t *calls)
{
	/* cppcheck-suppress ctunullpointer */
	(*calls)++;
	return a->key < b->key;
}

/* cppcheck 2.10 takes the zeros passed as sizes and depths below for
 * pointers in the functions this macro makes ("null pointer
 * dereference"); the suppressions name that one check. */
/* cppcheck-suppress ctunullpointer */
SORT_DEFINE(item_sort, item, size_t *, item_less)

static int item_cmp(const void *a, const void *b)
{
	const item *x = a, *y = b;

	return (x->key > y->key) - (x->key < y->key);
}

static uint64_t next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

enum shape { RANDOM_WIDE, RANDOM_FEW, SORTED, REVERSED, EQUAL, ORGAN, SHAPES };

static void fill(item *v, size_t n, enum shape sh, uint64_t *seed)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t k = 0;
		switch (sh) {
		case RANDOM_WIDE: k = (uint32_t)next(seed); break;
		case RANDOM_FEW: k = (uint32_t)(next(seed) % 5); break;
		case SORTED: k = (uint32_t)i; break;
		case REVERSED: k = (uint32_t)(n - i); break;
		case EQUAL: k = 42; break;
		case ORGAN: k = (uint32_t)(i < n / 2 ? i : n - i); break;
		case SHAPES: break;
		}
		memset(&v[i], 0, sizeof v[i]);
		v[i].key = k;
		v[i].payload = k * 7u + 1u;
	}
}

/* Sorted like qsort's answer, and every payload still with its key;
 * depth < 0 sorts as the callers do, else the introsort starts with that
 * budget (0: heapsort from the start, as on an input that defeats the
 * median of three). */
static unsigned check(size_t n, enum shape sh, uint64_t *seed, int depth)
{
	item *v = malloc((n ? n : 1) * sizeof *v), *w = malloc((n ? n : 1) * sizeof *w);
	unsigned bad = 0;

	if (!v || !w)
		abort();
	fill(v, n, sh, seed);
	memcpy(w, v, n * sizeof *v);
	size_t calls = 0;
	if (depth < 0)
		item_sort(v, n, &calls);
	else
		item_sort_intro(v, n, &calls, (unsigned)depth);
	/* No input makes the introsort quadratic: n log2 n comparisons at
	 * most a few times over. */
	size_t log2n = 1;
	for (size_t k = n; k > 1; k >>= 1)
		log2n++;
	bad += calls > 8 * n * log2n + 64;
	qsort(w, n, sizeof *w, item_cmp);
	for (size_t i = 0; i < n; i++)
		bad += v[i].key != w[i].key || v[i].payload != v[i].key * 7u + 1u;
	free(v);
	free(w);
	return bad;
}

static void test_sort_small(void)
{
	uint64_t seed = 1;
	unsigned bad = 0;

	for (size_t n = 0; n <= 300; n++)
		for (int sh = 0; sh < SHAPES; sh++)
			for (int depth = -1; depth <= 2; depth++)
				bad += check(n, (enum shape)sh, &seed, depth);
	CU_ASSERT_EQUAL(bad, 0);
}

static void test_sort_large(void)
{
	uint64_t seed = 2;
	unsigned bad = 0;

	for (int sh = 0; sh < SHAPES; sh++) {
		bad += check(100000, (enum shape)sh, &seed, -1);
		bad += check(65537, (enum shape)sh, &seed, -1);
		bad += check(65537, (enum shape)sh, &seed, 0);
	}
	CU_ASSERT_EQUAL(bad, 0);
}

void suite_sort(void)
{
	CU_pSuite s = CU_add_suite("sort", NULL, NULL);

	CU_add_test(s, "every size to 300, six shapes, heapsort too, against qsort", test_sort_small);
	CU_add_test(s, "large arrays, six shapes, against qsort", test_sort_large);
}
