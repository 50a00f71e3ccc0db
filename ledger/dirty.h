/* The dirty set of a write transaction: which months of which
 * relationships must have their bucket folds and current status
 * recomputed (index.c flushes them: before a commit, or when the set is
 * full). Each relationship key is held once, in a table of the
 * relationships marked since the last flush; a mark is that table's index
 * and a month, 8 bytes. A bulk import marks a few million months: held
 * compactly, they are flushed once, at the commit, instead of every
 * 200,000 marks, and each month is folded once instead of once a flush.
 *
 * Memory: the arrays are allocated at their full size by dirty_init and
 * touched as they fill, 52 MiB at most: 32 for the marks, 12 for the
 * relationship tables, 8 for their keys. */
#ifndef LEDGER_DIRTY_H
#define LEDGER_DIRTY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DIRTY_MARKS_MAX 4194304u     /* marks held (32 MiB) */
#define DIRTY_RELS_MAX  524288u      /* relationships held (12 MiB of
                                      * tables) */
#define DIRTY_KEY_BYTES (8u << 20)   /* their keys, a length byte each */

typedef struct dirty_set {
	uint64_t *marks;              /* relationship << 32 | month */
	size_t count;
	uint8_t *keys;                /* length byte, then the key */
	size_t key_bytes;
	uint32_t *key_at;             /* relationship -> offset in keys */
	uint32_t rels;
	uint32_t *slots;              /* hash table: relationship + 1, 0 empty */
	uint32_t *order, *rank;       /* dirty_sort: key rank -> relationship,
	                               * and back */
	/* The limits: DIRTY_MARKS_MAX and DIRTY_RELS_MAX, unless a test
	 * lowers them (never raise them: the arrays are that long). */
	size_t marks_max;
	uint32_t rels_max;
} dirty_set;

/* Allocate an empty set. false when out of memory (d is then freed). */
bool dirty_init(dirty_set *d);

/* Free what d holds (an initialized or zeroed set). */
void dirty_free(dirty_set *d);

/* Forget every mark and relationship. */
void dirty_reset(dirty_set *d);

/* Mark `month` (a bucket start, or 0 for the stream's status alone) of
 * the relationship rel[0..rel_bytes) (at most 255 bytes). When the marks
 * are full, repeated ones are dropped first. Returns false, adding
 * nothing, when the set is still more than three quarters full after
 * that, or has no room for another relationship: flush it, reset, and
 * mark again. */
bool dirty_add(dirty_set *d, const uint8_t *rel, size_t rel_bytes,
               uint32_t month);

/* Sort the marks by relationship key (memcmp order, shorter first on a
 * common prefix) and then month, dropping repeats; returns how many are
 * left. Afterwards dirty_group, dirty_key and dirty_month read mark i, and
 * nothing may be added before dirty_reset. */
size_t dirty_sort(dirty_set *d);

/* After dirty_sort: the relationship of mark i, as a number that is
 * equal for the marks of one relationship (they are adjacent)... */
static inline uint32_t dirty_group(const dirty_set *d, size_t i)
{
	return (uint32_t)(d->marks[i] >> 32);
}

/* ... its key (pointing into d, valid until the next reset) ... */
const uint8_t *dirty_key(const dirty_set *d, size_t i, size_t *key_bytes);

/* ... and its month. */
static inline uint32_t dirty_month(const dirty_set *d, size_t i)
{
	return (uint32_t)d->marks[i];
}

#endif
