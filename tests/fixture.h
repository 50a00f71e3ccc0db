/* Test fixtures: a fresh ledger in a temporary directory, NDJSON imports,
 * copies of the stored events, and direct LMDB access for tamper tests.
 *
 * LMDB forbids opening one environment twice in a process, so every
 * fixture_db_* call closes the fixture's ledger handle (if open) before it
 * opens the environment, and opens the handle again afterwards. */
#ifndef TESTS_FIXTURE_H
#define TESTS_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <lmdb.h>

#include "annals.pb-c.h"
#include "error.h"
#include "ledger.h"
#include "store.h"

#define FIXTURE_DIR_BYTES    128u
#define FIXTURE_REPORT_BYTES 8192u

typedef struct fixture {
	char dir[FIXTURE_DIR_BYTES];   /* mkdtemp directory holding the ledger */
	ledger *l;                     /* open handle, NULL while closed */
	char report[FIXTURE_REPORT_BYTES]; /* messages of the last import, one a line */
	unsigned reports;              /* rejected records reported by the last import */
} fixture;

/* Make a temporary directory, ledger_init a ledger in it and open it.
 * Returns 0, or -1 after printing why (the fixture is then closed). */
int fixture_open(fixture *f);

/* Close the handle (if open) and remove the directory recursively. */
void fixture_close(fixture *f);

/* Remove the directories of fixtures that a failed CU_ASSERT_FATAL left
 * open; a suite's cleanup function (returns 0). */
int fixture_suite_cleanup(void);

/* Close the handle only; fixture_reopen opens it again. */
void fixture_close_ledger(fixture *f);
int fixture_reopen(fixture *f);

/* Import NDJSON text in memory with default options; stats may be NULL.
 * Rejected-record messages are collected in f->report. */
ledger_err fixture_import(fixture *f, const char *ndjson,
                          ledger_import_stats *stats);

/* The same with explicit options (opts->report is replaced by the
 * fixture's collector) and bytes that need not be NUL-ended. */
ledger_err fixture_import_opts(fixture *f, const void *data, size_t bytes,
                               ledger_import_opts opts,
                               ledger_import_stats *stats);

/* Every stored event as JSON records (LEDGER_JSON_RECORD) and its body
 * bytes in hex, one a line: equal dumps mean an unchanged ledger. malloc'd;
 * NULL on failure. */
char *fixture_dump(fixture *f);

/* The head (seq, leaf hash) of the ledger; zeros on failure. */
ledger_head fixture_head(fixture *f);

/* A copy of one stored event, with its envelope decoded. */
typedef struct fixture_event {
	uint64_t seq;
	uint64_t recorded_at_us;
	uint8_t leaf_hash[LEDGER_HASH_BYTES];
	uint8_t *envelope;
	size_t envelope_bytes;
	uint8_t *body;                 /* NULL when redacted */
	size_t body_bytes;
	Annals__Envelope *env;         /* annals__envelope__unpack; NULL if it fails */
} fixture_event;

/* Copies of every stored event in seq order; *out is malloc'd. Returns the
 * count, or (size_t)-1 on failure. */
size_t fixture_events(fixture_event **out, fixture *f);
void fixture_events_free(fixture_event *ev, size_t n);

/* Import a standard mixed ledger of exactly n events (n >= 8) in several
 * transactions: three organizations, relationships of several countries,
 * and one retraction. Returns 0 or -1. */
int fixture_fill(fixture *f, uint64_t n);

/* ---- text building ---- */

typedef struct fixture_text {
	char *data;                    /* NUL-ended; NULL until the first add */
	size_t bytes, cap;
} fixture_text;

/* Append printf-formatted text; aborts when out of memory. */
void fixture_text_add(fixture_text *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Append n bytes, which may hold NULs. */
void fixture_text_bytes(fixture_text *t, const void *p, size_t n);
/* Append n copies of c. */
void fixture_text_repeat(fixture_text *t, char c, size_t n);
void fixture_text_free(fixture_text *t);
/* Append one varint-length-delimited protobuf message (DESIGN §4). */
void fixture_pb_add(fixture_text *t, const ProtobufCMessage *m);

/* ---- direct LMDB access ---- */

/* A bare store (no ledger) in a temporary directory, for tests of the
 * library's internals. */
typedef struct fixture_store {
	char dir[FIXTURE_DIR_BYTES];
	store *s;
	errbuf e;
} fixture_store;

/* Make the directory and open a new store in it; returns 0 or -1. */
int fixture_store_open(fixture_store *f);
/* Close the store and remove its directory. */
void fixture_store_close(fixture_store *f);

/* The 8-byte big-endian key of a seq (events, bodies, merkle, ...). */
void fixture_u64_key(uint8_t key[8], uint64_t v);

/* An open write transaction on the ledger's environment. */
typedef struct fixture_env {
	fixture *f;
	MDB_env *env;
	MDB_txn *txn;
	bool reopen;                   /* the ledger was open before */
} fixture_env;

/* Close f's handle and open its environment with a write transaction. */
int fixture_env_open(fixture_env *e, fixture *f);
/* The handle of a named database ("events", "bodies", "merkle", ...). */
int fixture_env_dbi(fixture_env *e, const char *name, MDB_dbi *out);
/* Commit (commit true) or abort, close the environment and reopen the
 * ledger when it was open. Returns 0 or -1. */
int fixture_env_close(fixture_env *e, bool commit);

/* Flip the bits of mask in byte `offset` of the value stored under key.
 * Returns 0, or -1 when the key is absent or the value shorter. */
int fixture_db_flip(fixture *f, const char *db, const void *key,
                    size_t key_bytes, size_t offset, uint8_t mask);
/* Delete a key (every value of a DUPSORT key). Returns 0 or -1. */
int fixture_db_del(fixture *f, const char *db, const void *key,
                   size_t key_bytes);
/* Store a value under a key, replacing it. Returns 0 or -1. */
int fixture_db_put(fixture *f, const char *db, const void *key,
                   size_t key_bytes, const void *val, size_t val_bytes);
/* A malloc'd copy of the value under key. Returns 0 or -1. */
int fixture_db_get(fixture *f, const char *db, const void *key,
                   size_t key_bytes, void **val, size_t *val_bytes);
/* Exchange the values under two keys. Returns 0 or -1. */
int fixture_db_swap(fixture *f, const char *db, const void *key1,
                    size_t key1_bytes, const void *key2, size_t key2_bytes);

/* True when msg contains "seq N" not followed by another digit. */
bool fixture_names_seq(const char *msg, uint64_t seq);

/* Remove a directory tree (nftw, depth first, no symlinks followed). */
int fixture_rmtree(const char *dir);

#endif
