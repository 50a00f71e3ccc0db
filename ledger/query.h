/* Helpers shared by the query calls (status.c, timeline.c, proved
 * statuses): argument parsing, name resolution and the status fold. */
#ifndef LEDGER_QUERY_H
#define LEDGER_QUERY_H

#include <jansson.h>

#include "fold.h"
#include "index.h"
#include "ledger_impl.h"

/* A day given as YYYY-MM-DD; NULL: today (UTC). LEDGER_EUSAGE naming
 * `what` otherwise. */
ledger_err query_day(uint32_t *out, ledger *l, const char *text, const char *what);

/* The newest seq (0 when empty) seen by txn, which must be a read
 * transaction: the answer is kept on l for the next read transaction of
 * the same id (mdb_txn_id), which sees the same ledger. */
ledger_err query_head(uint64_t *out, ledger *l, MDB_txn *txn);

/* The seq an as-of names: NULL the head, digits a seq <= head, else an RFC
 * 3339 time (the last seq recorded at or before it). */
ledger_err query_as_of(uint64_t *out, ledger *l, MDB_txn *txn,
                       const char *text, uint64_t head);

/* The handle's query indexer, made on first use. */
ledger_err query_rx(indexer **out, ledger *l);

/* Country code of a code or name; LEDGER_ENOTFOUND otherwise. */
ledger_err query_country(char out[5], ledger *l, const char *text);

/* Slug of a slug, name or alias; LEDGER_ENOTFOUND or LEDGER_EINPUT. */
ledger_err query_org(char out[LEDGER_SLUG_BYTES_MAX + 1], ledger *l,
                     MDB_txn *txn, const char *text);

/* Fold of rel at `at` as of as_of (head: the newest), from the current
 * status record, bucket folds, or the stream's events; *version is the
 * stream version as of as_of. */
ledger_err query_fold(fold *f, uint64_t *version, ledger *l, indexer *ix,
                      MDB_txn *txn, const uint8_t *rel, size_t rel_bytes,
                      uint32_t at, uint64_t as_of, uint64_t head);

/* Fill a status from a fold at `at` (lists allocated: ledger_status_free);
 * false when out of memory. Needs no ledger: `check` uses it. */
bool status_fill(ledger_status *out, const fold *f, uint32_t at);

/* Fill a status from a fold at `at` (lists allocated: ledger_status_free). */
ledger_err query_fill(ledger_status *out, ledger *l, const fold *f, uint32_t at);


/* The checkpoint that covers tree size `size`, for a snapshot or a proved
 * status: the stored one of that size, else one signed now (a writable
 * ledger whose signed tree it extends), else the smallest stored one of a
 * larger size with a consistency proof from `size` (*proof; empty
 * otherwise). *note is malloc'd. */
ledger_err query_checkpoint(char **note, uint64_t *note_size, ledger_proof *proof,
                            ledger *l, uint64_t size);

#endif
