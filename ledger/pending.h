/* Index writes of one transaction, held in memory and written in key order.
 *
 * The ids, heads, rel and bydate databases are keyed at random: putting
 * their entries one event at a time dirties a random page of each B-tree
 * per event, and LMDB's dirty-page list and page splits then dominate an
 * import. The writer buffers them here instead; when the buffer reaches its
 * budget, and before anything reads those databases back (the fold flush,
 * the commit), each database's run is sorted and written through one
 * cursor, with MDB_APPEND when the run sorts after the database's last key
 * (a first import), which also fills the pages.
 *
 * Lookups of ids and stream heads see the buffer first (pending_get), then
 * the database; a retraction patches its target's buffered rel entry in
 * place (pending_rel_value). In a transaction that began with no id
 * stored (a first import), the ids written out go into a Bloom filter as
 * well, so that looking up a new id, which every append does, needs no
 * B-tree descent unless the filter says it may be there. */
#ifndef LEDGER_PENDING_H
#define LEDGER_PENDING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define PENDING_BUDGET (32u << 20)   /* key and value bytes held before a write-out */

typedef enum pending_db {
	PEND_IDS,       /* DB_IDS: a key is buffered once */
	PEND_HEADS,     /* DB_HEADS: a later put of a key replaces its value */
	PEND_REL,       /* DB_REL: keys end with the seq, put in seq order */
	PEND_BYDATE,    /* DB_BYDATE */
	PEND_RUNS
} pending_db;

typedef struct pending_rec {
	uint64_t head[2];               /* the key's first 16 bytes, big-endian,
	                                 * zero-padded: most comparisons of a
	                                 * sort need nothing else */
	size_t off;                     /* key at bytes + off, value after it */
	uint32_t key_bytes, val_bytes;
} pending_rec;

typedef struct pending_run {
	pending_rec *v;
	size_t count, cap;
} pending_run;

/* Bloom filters of the ids written out in this transaction: a chain, each
 * twice the size of the one before, so that no size has to be guessed. */
#define PENDING_FILTERS_MAX  24u
#define PENDING_FILTER_FIRST (1u << 16)  /* keys the first filter holds */
#define PENDING_FILTER_BYTES (64u << 20) /* all filters together (about 33
                                          * million ids): past it, look-ups
                                          * go to the B-tree, so memory
                                          * stays flat however large the
                                          * import */

typedef struct pending_filter {
	uint64_t *bits;
	size_t words;                   /* a power of two */
	size_t count, cap;              /* keys added, keys it is sized for */
} pending_filter;

typedef enum pending_base {
	BASE_UNKNOWN,                   /* DB_IDS not looked at yet */
	BASE_EMPTY,                     /* empty when the transaction began:
	                                 * the filters are complete */
	BASE_STORED,                    /* held ids, or a filter failed */
} pending_base;

typedef struct pending {
	uint8_t *bytes;                 /* keys and values */
	size_t used, cap;
	pending_run run[PEND_RUNS];
	uint32_t *tab[2];               /* ids, heads: record index + 1, 0 free */
	size_t tab_cap[2];              /* a power of two, or 0 */
	size_t budget;                  /* PENDING_BUDGET; tests lower it */
	pending_base ids_base;          /* of this transaction */
	pending_filter filter[PENDING_FILTERS_MAX];
	size_t filters;
	size_t filter_bytes, filter_bytes_max; /* PENDING_FILTER_BYTES; tests
	                                 * lower it */
	uint64_t ids_skipped;           /* descents the filters spared */
} pending;

/* An empty buffer; allocates nothing until the first put. */
void pending_init(pending *p);

/* Release every allocation of p. */
void pending_free(pending *p);

/* Forget every buffered write and the filters (the transaction ended or
 * was aborted); keeps the buffer's allocations for the next one. */
void pending_reset(pending *p);

/* True when the buffer holds at least p->budget bytes. */
bool pending_full(const pending *p);

/* Buffer a put into db. Returns LEDGER_ENOMEM, or LEDGER_ECORRUPT with a
 * message when an id is put twice. */
ledger_err pending_put(pending *p, pending_db db, const void *key,
                       size_t key_bytes, const void *val, size_t val_bytes,
                       errbuf *e);

/* The buffered value of key in PEND_IDS or PEND_HEADS, or NULL when the
 * key is not buffered. The pointer is valid until the next put, write or
 * reset. */
const uint8_t *pending_get(const pending *p, pending_db db, const void *key,
                           size_t key_bytes, size_t *val_bytes);

/* The value of key in PEND_IDS or PEND_HEADS as the transaction sees it:
 * the buffered one, else the stored one (LEDGER_ENOTFOUND when neither).
 * *val is valid until the next put, write or reset. */
ledger_err pending_read(const uint8_t **val, size_t *val_bytes,
                        pending *p, MDB_txn *txn, const store *s,
                        pending_db db, const void *key, size_t key_bytes,
                        errbuf *e);

/* The buffered rel value of the event seq, writable in place, or NULL. */
uint8_t *pending_rel_value(pending *p, uint64_t seq, size_t *val_bytes);

/* Sort every run and write it into its database in txn, then empty the
 * buffer. Store errors come back with the errbuf set. */
ledger_err pending_write(pending *p, MDB_txn *txn, const store *s, errbuf *e);

#endif
