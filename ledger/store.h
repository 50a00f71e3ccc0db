/* The LMDB environment of one ledger directory: its named databases, its
 * transactions and its map growth (DESIGN §8). Only store.c translates LMDB
 * return codes into ledger_err. */
#ifndef LEDGER_STORE_H
#define LEDGER_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

#include "error.h"

/* The named databases. Keys and values are drawn where they are encoded. */
typedef enum store_db {
	DB_META = 0,     /* name -> value: format_version, index_version, id_secret, origin, verifier_key */
	DB_EVENTS,       /* u64be seq -> envelope bytes */
	DB_BODIES,       /* u64be seq -> body bytes (absent once redacted) */
	DB_IDS,          /* event id -> u64be seq */
	DB_HEADS,        /* relationship key -> u64be version, u64be seq, leaf[32] */
	DB_ORGS,         /* slug -> u64be seq of its latest organization event */
	DB_NAMES,        /* DUPSORT: folded name or alias -> slug */
	DB_MERKLE,       /* u64be stored index -> hash[32] (merkle.h layout) */
	DB_CHECKPOINTS,  /* u64be tree size -> signed checkpoint note */
	DB_REDACTIONS,   /* u64be redacted seq -> u64be seq of the redaction */
	DB_RETRACTIONS,  /* u64be retracted seq -> u64be seq of the retraction */
	DB_REL,          /* relationship, date start, seq -> event summary (index.c) */
	DB_BYDATE,       /* u32be date start, u64be seq -> relationship key */
	DB_AGG,          /* relationship, level, bucket start -> fold (fold.c) */
	DB_STATUS,       /* relationship -> fold of all its events */
	DB_SMT,          /* heads map nodes, versioned by tree size (heads.c) */
	DB_COUNT
} store_db;

typedef struct store store;

#define STORE_RDONLY 1u

/* Open (create when create is true) the environment in dir. Read-only when
 * STORE_RDONLY is set or the directory is not writable; then MDB_NOLOCK is
 * used when the lock file cannot be opened. Clears stale readers. */
ledger_err store_open(store **out, const char *dir, unsigned flags,
                      bool create, errbuf *e);
void store_close(store *s);

bool store_readonly(const store *s);
const char *store_dir(const store *s);
MDB_dbi store_dbi(const store *s, store_db db);
const char *store_db_name(store_db db);

/* Grow the map so that at least margin bytes are free past the used pages;
 * with exact, set it to the used size plus margin even when that shrinks it
 * (tests use this to force MDB_MAP_FULL). No transaction may be open in
 * this process. */
ledger_err store_reserve(store *s, size_t margin, bool exact, errbuf *e);

/* Double the map after MDB_MAP_FULL. No transaction may be open. */
ledger_err store_grow(store *s, errbuf *e);

/* Begin a transaction; adopts a map grown by another process. */
ledger_err store_begin(MDB_txn **out, store *s, bool write, errbuf *e);

/* Commit and set *txn to NULL (also on failure, when LMDB has freed it). */
ledger_err store_commit(MDB_txn **txn, errbuf *e);

/* Abort; NULL is a no-op. */
void store_abort(MDB_txn *txn);

/* Get: LEDGER_ENOTFOUND when the key is absent. v points into the map and
 * is valid until the transaction ends. */
ledger_err store_get(MDB_txn *txn, const store *s, store_db db,
                     const void *key, size_t key_bytes, MDB_val *v, errbuf *e);

/* Put with LMDB flags (MDB_APPEND, MDB_NOOVERWRITE, ...). */
ledger_err store_put(MDB_txn *txn, const store *s, store_db db,
                     const void *key, size_t key_bytes,
                     const void *val, size_t val_bytes, unsigned flags,
                     errbuf *e);

/* Delete a key (and, for DUPSORT, every value when val is NULL).
 * LEDGER_ENOTFOUND when absent. */
ledger_err store_del(MDB_txn *txn, const store *s, store_db db,
                     const void *key, size_t key_bytes,
                     const void *val, size_t val_bytes, errbuf *e);

/* Empty a database (it stays open). */
ledger_err store_drop(MDB_txn *txn, const store *s, store_db db, errbuf *e);

/* Cursors; store_cursor_get returns LEDGER_ENOTFOUND at the end. */
ledger_err store_cursor(MDB_cursor **out, MDB_txn *txn, const store *s,
                        store_db db, errbuf *e);
ledger_err store_cursor_get(MDB_cursor *c, MDB_val *k, MDB_val *v,
                            MDB_cursor_op op, errbuf *e);
void store_cursor_close(MDB_cursor *c);

/* Put through a cursor of db (named in errors) with LMDB flags. */
ledger_err store_cursor_put(MDB_cursor *c, store_db db, const void *key,
                            size_t key_bytes, const void *val, size_t val_bytes,
                            unsigned flags, errbuf *e);

/* Entries and pages of a database, and the environment's sizes. */
ledger_err store_db_stat(MDB_txn *txn, const store *s, store_db db,
                         uint64_t *entries, uint64_t *bytes, errbuf *e);
ledger_err store_env_sizes(const store *s, uint64_t *map_bytes,
                           uint64_t *used_bytes, errbuf *e);

/* Compacted copy of the environment into an existing empty directory. */
ledger_err store_copy_compact(const store *s, const char *dir, errbuf *e);

#endif
