/* The dirty set of a write transaction (dirty.h). */
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "dirty.h"
#include "sort.h"

#define DIRTY_SLOTS (2u * DIRTY_RELS_MAX)   /* a power of two, half full */

bool dirty_init(dirty_set *d)
{
	memset(d, 0, sizeof *d);
	d->marks = malloc(DIRTY_MARKS_MAX * sizeof *d->marks);
	d->keys = malloc(DIRTY_KEY_BYTES);
	d->key_at = malloc(DIRTY_RELS_MAX * sizeof *d->key_at);
	d->order = malloc(DIRTY_RELS_MAX * sizeof *d->order);
	d->rank = malloc(DIRTY_RELS_MAX * sizeof *d->rank);
	d->slots = calloc(DIRTY_SLOTS, sizeof *d->slots);
	d->marks_max = DIRTY_MARKS_MAX;
	d->rels_max = DIRTY_RELS_MAX;
	if (!d->marks || !d->keys || !d->key_at || !d->order || !d->rank || !d->slots) {
		dirty_free(d);
		return false;
	}
	return true;
}

void dirty_free(dirty_set *d)
{
	free(d->marks);
	free(d->keys);
	free(d->key_at);
	free(d->order);
	free(d->rank);
	free(d->slots);
	memset(d, 0, sizeof *d);
}

/* Relationship r's key as stored: a length byte, then the key. */
static const uint8_t *stored(const dirty_set *d, uint32_t r)
{
	return d->keys + d->key_at[r];
}

/* The slot of key k[0..n): where it is, or the empty one where it goes. */
static size_t slot_of(const dirty_set *d, const uint8_t *k, size_t n)
{
	size_t s = bytes_hash(k, n) & (DIRTY_SLOTS - 1);

	for (uint32_t r; (r = d->slots[s]) != 0; s = (s + 1) & (DIRTY_SLOTS - 1)) {
		const uint8_t *at = stored(d, r - 1);
		if (at[0] == n && memcmp(at + 1, k, n) == 0)
			break;
	}
	return s;
}

void dirty_reset(dirty_set *d)
{
	/* A few relationships (a small transaction) are cleared slot by
	 * slot, so that a single append does not touch the whole table; the
	 * newest first, so that each one's probe still finds it: the slots
	 * between its hash and its own were all taken before it was. */
	if (d->rels > DIRTY_SLOTS / 64) {
		memset(d->slots, 0, DIRTY_SLOTS * sizeof *d->slots);
	} else {
		for (uint32_t r = d->rels; r-- > 0;) {
			const uint8_t *k = stored(d, r);
			d->slots[slot_of(d, k + 1, k[0])] = 0;
		}
	}
	d->count = 0;
	d->key_bytes = 0;
	d->rels = 0;
}

static inline bool u64_less(const uint64_t *a, const uint64_t *b, void *unused)
{
	(void)unused;
	return *a < *b;
}

SORT_DEFINE(marks_sort, uint64_t, void *, u64_less)

/* Sort the marks by their value and drop repeats. */
static size_t unique(dirty_set *d)
{
	size_t n = 0;

	marks_sort(d->marks, d->count, NULL);
	for (size_t i = 0; i < d->count; i++)
		if (!n || d->marks[n - 1] != d->marks[i])
			d->marks[n++] = d->marks[i];
	return d->count = n;
}

bool dirty_add(dirty_set *d, const uint8_t *rel, size_t rel_bytes,
               uint32_t month)
{
	/* A full set is first rid of repeated marks (hot streams mark the
	 * same months again and again); it is flushed when that frees less
	 * than a quarter of it. */
	if (d->count == d->marks_max && unique(d) > d->marks_max / 4 * 3)
		return false;
	size_t s = slot_of(d, rel, rel_bytes);
	uint32_t r = d->slots[s];
	if (!r) {
		if (d->rels == d->rels_max ||
		    d->key_bytes + 1 + rel_bytes > DIRTY_KEY_BYTES)
			return false;
		d->key_at[d->rels] = (uint32_t)d->key_bytes;
		d->keys[d->key_bytes] = (uint8_t)rel_bytes;
		memcpy(d->keys + d->key_bytes + 1, rel, rel_bytes);
		d->key_bytes += 1 + rel_bytes;
		r = d->slots[s] = ++d->rels;
	}
	d->marks[d->count++] = (uint64_t)(r - 1) << 32 | month;
	return true;
}

static inline bool key_less(const uint32_t *a, const uint32_t *b,
                            const dirty_set *d)
{
	const uint8_t *x = stored(d, *a), *y = stored(d, *b);

	return bytes_cmp(x + 1, x[0], y + 1, y[0]) < 0;
}

SORT_DEFINE(rels_sort, uint32_t, const dirty_set *, key_less)

size_t dirty_sort(dirty_set *d)
{
	/* The relationships in key order (order[rank] = relationship), then
	 * each mark's relationship replaced by its rank: sorting the marks as
	 * integers then sorts them by key and month. */
	for (uint32_t r = 0; r < d->rels; r++)
		d->order[r] = r;
	rels_sort(d->order, d->rels, d);
	for (uint32_t k = 0; k < d->rels; k++)
		d->rank[d->order[k]] = k;
	for (size_t i = 0; i < d->count; i++)
		d->marks[i] = (uint64_t)d->rank[d->marks[i] >> 32] << 32 |
		              (uint32_t)d->marks[i];
	return unique(d);
}

const uint8_t *dirty_key(const dirty_set *d, size_t i, size_t *key_bytes)
{
	const uint8_t *k = stored(d, d->order[dirty_group(d, i)]);

	*key_bytes = k[0];
	return k + 1;
}
