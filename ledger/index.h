/* Indexes and projections, written in the append transaction (DESIGN §6,
 * §8) and rebuilt from the events alone by `annals rebuild`:
 *
 *   ids          event id -> seq
 *   heads        relationship -> stream version, seq, leaf hash
 *   orgs, names  organization registry and case-folded names
 *   retractions, redactions   withdrawn seq -> seq of the withdrawal
 *   rel          every event of a relationship by (date start, seq)
 *   bydate       every event by (date start, seq), for the global timeline
 *   agg          folds of date buckets of long relationships
 *   status       the fold of every event of a relationship (current status)
 *
 * Key layouts are drawn in index.c where they are encoded. */
#ifndef LEDGER_INDEX_H
#define LEDGER_INDEX_H

#include <stdbool.h>
#include <stdint.h>

#include "annals.pb-c.h"
#include "arena.h"
#include "bytes.h"
#include "dirty.h"
#include "fold.h"
#include "keys.h"
#include "pending.h"
#include "store.h"

#define INDEX_AGG_MIN_EVENTS 32u     /* streams this long keep bucket folds */
#define INDEX_DAY_MIN_EVENTS 32u     /* months with this many folding events
                                      * keep day buckets */
#define INDEX_HEAD_BYTES     (16u + LEDGER_HASH_BYTES)

typedef struct indexer {
	store *s;
	errbuf *e;
	arena a;
	fold f, g;                      /* scratch folds */
	uint8_t *buf;                   /* fold encoding buffer */
	size_t cap;
	dirty_set dirty;                /* months to refold (writers only) */
	pending pend;                   /* ids, heads, rel, bydate writes */
} indexer;

/* One event of a relationship as the rel index stores it. Strings point
 * into the map or the caller's buffer. */
typedef struct index_entry {
	uint64_t seq;
	uint64_t retracted_by;          /* 0: not retracted */
	fold_event ev;                  /* type, days, edtf, list, authority */
	char edtf[LEDGER_EDTF_BYTES_MAX];
} index_entry;

/* Set up ix; for_writes allocates the dirty set a writer needs. */
ledger_err index_init(indexer *ix, store *s, errbuf *e, bool for_writes);
void index_free(indexer *ix);

/* Forget the buffered writes and dirty marks of an aborted transaction. */
void index_reset(indexer *ix);

/* The seq of event id, from this transaction's buffered writes or the ids
 * database; LEDGER_ENOTFOUND when absent, LEDGER_ECORRUPT when the entry is
 * malformed. */
ledger_err index_get_id(uint64_t *seq, indexer *ix, MDB_txn *txn,
                        const char *id);

/* The head of stream rel (u64be version, u64be seq, leaf hash), copied into
 * head; LEDGER_ENOTFOUND when the stream has no event yet. */
ledger_err index_get_head(uint8_t head[INDEX_HEAD_BYTES], indexer *ix,
                          MDB_txn *txn, const uint8_t *rel, size_t rel_bytes);

/* Set the head of stream rel (buffered like the other index writes). */
ledger_err index_put_head(indexer *ix, const uint8_t *rel, size_t rel_bytes,
                          uint64_t version, uint64_t seq,
                          const uint8_t leaf[LEDGER_HASH_BYTES]);

/* Index one stored event. env is the decoded envelope of seq, leaf its
 * leaf hash. Projections of the buckets it touches are marked dirty and
 * recomputed by index_flush (or when the dirty set is full). */
ledger_err index_event(indexer *ix, MDB_txn *txn, const Annals__Envelope *env,
                       uint64_t seq, const uint8_t leaf[LEDGER_HASH_BYTES]);

/* Write the buffered index entries, then recompute every dirty bucket fold
 * and current status. Must run before the transaction commits. */
ledger_err index_flush(indexer *ix, MDB_txn *txn);

/* Decode a rel index key and value into *out; false when malformed. */
bool index_entry_decode(index_entry *out, const MDB_val *k, const MDB_val *v,
                        size_t rel_bytes);

/* Relationship index key prefix: rel and a 0x00. Returns its length. */
size_t index_rel_prefix(uint8_t *key, const uint8_t *rel, size_t rel_bytes);

/* The fold of relationship rel at day `at` as of the newest seq, from
 * bucket folds where the stream keeps them: reads O(buckets + events of
 * one month) records. version is the stream's newest version (a stream
 * shorter than INDEX_AGG_MIN_EVENTS has no buckets to look for), or
 * UINT64_MAX when unknown; first_day the first day of its earliest dated
 * event (from the status record), or 0 when unknown: no bucket is looked
 * for that would end before it. f is reset first. */
ledger_err index_fold_at(fold *f, indexer *ix, MDB_txn *txn,
                         const uint8_t *rel, size_t rel_bytes, uint32_t at,
                         uint64_t version, uint32_t first_day);

/* Bytes of the status record's head: u64be version, u32be first day of
 * the stream's earliest dated event (0: not kept, for streams shorter than
 * INDEX_AGG_MIN_EVENTS). The fold follows. */
#define INDEX_STATUS_HEAD_BYTES 12u

#define INDEX_STATUS_FIRST_DAY_AT 8u

static inline void index_status_head_put(uint8_t head[INDEX_STATUS_HEAD_BYTES],
                                         uint64_t version, uint32_t first_day)
{
	put_u64_be(head, version);
	put_u32_be(head + INDEX_STATUS_FIRST_DAY_AT, first_day);
}

static inline uint64_t index_status_version(const uint8_t *head)
{
	return get_u64_be(head);
}

static inline uint32_t index_status_first_day(const uint8_t *head)
{
	return get_u32_be(head + INDEX_STATUS_FIRST_DAY_AT);
}

/* The fold of rel at `at` as of seq as_of, from the stream's events alone
 * (O(k) for k events). *version gets the stream's version as of as_of. */
ledger_err index_fold_scan(fold *f, uint64_t *version, indexer *ix,
                           MDB_txn *txn, const uint8_t *rel, size_t rel_bytes,
                           uint32_t at, uint64_t as_of);

#endif
