/* The dirty set (ledger/dirty.h) against a reference model: random marks of
 * relationships whose keys are prefixes of one another, under small limits
 * so that the set fills, both ways, many times. Every flush must give the
 * distinct marks added since the last one, sorted by key (memcmp, the
 * shorter first) and month, and the set may refuse a mark only when it is
 * really full. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "dirty.h"
#include "rand.h"

void suite_dirty(void);

#define KEYS  40u
#define MARKS 20000u

typedef struct ref_mark {
	uint8_t key[8];
	size_t bytes;
	uint32_t month;
} ref_mark;

static int ref_cmp(const void *a, const void *b)
{
	const ref_mark *x = a, *y = b;
	size_t n = x->bytes < y->bytes ? x->bytes : y->bytes;
	int c = memcmp(x->key, y->key, n);

	if (c || x->bytes != y->bytes)
		return c ? c : (x->bytes < y->bytes ? -1 : 1);
	return x->month < y->month ? -1 : x->month > y->month;
}

/* Sort and dedupe the reference marks; returns how many are left. */
static size_t ref_unique(ref_mark *m, size_t n)
{
	size_t k = 0;

	qsort(m, n, sizeof *m, ref_cmp);
	for (size_t i = 0; i < n; i++)
		if (!k || ref_cmp(&m[k - 1], &m[i]) != 0)
			m[k++] = m[i];
	return k;
}

/* Flush d and compare it with the reference marks m[0..n). */
static void check_flush(dirty_set *d, ref_mark *m, size_t n)
{
	size_t want = ref_unique(m, n), got = dirty_sort(d);

	CU_ASSERT_EQUAL_FATAL(got, want);
	for (size_t i = 0; i < got; i++) {
		size_t bytes;
		const uint8_t *key = dirty_key(d, i, &bytes);
		CU_ASSERT_EQUAL_FATAL(bytes, m[i].bytes);
		CU_ASSERT_FATAL(memcmp(key, m[i].key, bytes) == 0);
		CU_ASSERT_EQUAL_FATAL(dirty_month(d, i), m[i].month);
		/* Marks of one relationship share a group, others do not. */
		if (i > 0) {
			bool same = m[i - 1].bytes == bytes &&
			            memcmp(m[i - 1].key, key, bytes) == 0;
			CU_ASSERT_EQUAL_FATAL(dirty_group(d, i - 1) == dirty_group(d, i), same);
		}
	}
	dirty_reset(d);
}

static void run(uint64_t seed, size_t marks_max, uint32_t rels_max,
                unsigned months)
{
	static uint8_t keys[KEYS][8];
	static size_t key_bytes[KEYS];
	ref_mark *m = malloc(MARKS * sizeof *m);
	dirty_set d;
	size_t n = 0, flushes = 0;

	CU_ASSERT_FATAL(m != NULL);
	CU_ASSERT_FATAL(dirty_init(&d));
	d.marks_max = marks_max;
	d.rels_max = rels_max;
	/* Keys of 1 to 8 bytes over a two-letter alphabet (and a zero byte):
	 * many are prefixes of others. */
	for (unsigned k = 0; k < KEYS; k++) {
		key_bytes[k] = 1 + k % 8;
		for (size_t i = 0; i < key_bytes[k]; i++)
			keys[k][i] = (uint8_t)"\0ab"[(k * 7 + i * 3) % 3];
	}
	for (unsigned i = 0; i < MARKS; i++) {
		uint64_t r = test_rand(&seed);
		unsigned k = (unsigned)(r % KEYS);
		uint32_t month = (uint32_t)(r >> 32) % months;
		if (!dirty_add(&d, keys[k], key_bytes[k], month)) {
			/* Refused: the relationships are at their limit and this
			 * one is new, or the marks are full of distinct ones. */
			bool known = false;
			for (size_t j = 0; j < n && !known; j++)
				known = m[j].bytes == key_bytes[k] &&
				        memcmp(m[j].key, keys[k], key_bytes[k]) == 0;
			CU_ASSERT_FATAL((d.rels == rels_max && !known) ||
			                (d.count > marks_max / 4 * 3));
			check_flush(&d, m, n);
			flushes++;
			n = 0;
			CU_ASSERT_FATAL(dirty_add(&d, keys[k], key_bytes[k], month));
		}
		memcpy(m[n].key, keys[k], key_bytes[k]);
		m[n].bytes = key_bytes[k];
		m[n].month = month;
		n++;
	}
	check_flush(&d, m, n);
	CU_ASSERT(flushes > 3);
	/* A reset set is empty. */
	CU_ASSERT_EQUAL(dirty_sort(&d), 0);
	dirty_free(&d);
	free(m);
}

static void test_marks_full(void)
{
	run(1, 64, DIRTY_RELS_MAX, 1000);
}

static void test_rels_full(void)
{
	run(2, DIRTY_MARKS_MAX, 7, 5);
}

static void test_both(void)
{
	run(3, 100, 20, 30);
}

void suite_dirty(void)
{
	CU_pSuite s = CU_add_suite("dirty", NULL, NULL);

	CU_add_test(s, "full of distinct marks: flushed, sorted, unique", test_marks_full);
	CU_add_test(s, "full of relationships: flushed, sorted, unique", test_rels_full);
	CU_add_test(s, "both limits", test_both);
}
