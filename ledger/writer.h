/* The append path: one write transaction that chains events (DESIGN §5):
 * seq, recorded_at, prev_hash, streams, body salt and hash, leaf hash, the
 * Merkle tree and every index, written together. */
#ifndef LEDGER_WRITER_H
#define LEDGER_WRITER_H

#include <stdbool.h>
#include <stdint.h>

#include "annals.pb-c.h"
#include "arena.h"
#include "codec.h"
#include "event.h"
#include "hash.h"
#include "heads.h"
#include "index.h"
#include "merkle.h"
#include "tiles.h"
#include "store.h"

#define WRITER_SALT_BYTES   16u
#define WRITER_SALT_POOL    (WRITER_SALT_BYTES * 1024u)  /* one RAND_bytes call per 1,024 events */
#define WRITER_SECRET_BYTES 32u

typedef struct writer {
	store *s;
	errbuf *e;
	MDB_txn *txn;
	hasher h;                       /* HMAC keyed with the id secret */
	indexer ix;                     /* indexes and projections */
	arena a;                        /* per-event scratch */
	codec_buf env_buf, body_buf, input_buf;
	uint64_t seq;                   /* last seq written */
	uint8_t prev[LEDGER_HASH_BYTES];/* L(seq) */
	uint64_t recorded_at_us;        /* this transaction's time */
	merkle_frontier frontier;       /* of the leaves added to the tiles */
	tile_builder tiles;             /* the Merkle tiles being filled */
	uint8_t pending_leaf[LEDGER_HASH_BYTES]; /* the last event's leaf: added
	                                 * to the tree when the next event comes,
	                                 * or at the seal, which redoes it with
	                                 * heads_root */
	bool leaf_pending;
	tile_store tile_out;            /* where the tiles go, and how the
	                                 * last write went */
	heads_batch heads;              /* stream heads this transaction moved */
	uint8_t salt[WRITER_SALT_POOL];
	size_t salt_used;
	uint64_t appended;
} writer;

/* Set up the hashers and buffers of w; returns LEDGER_ENOMEM or
 * LEDGER_ECORRUPT when OpenSSL cannot be used. */
ledger_err writer_init(writer *w, store *s, errbuf *e,
                       const uint8_t secret[WRITER_SECRET_BYTES]);
void writer_free(writer *w);

/* Begin the write transaction and load the head, recorded_at and Merkle
 * frontier. */
ledger_err writer_begin(writer *w);

/* Append one input event. expect_version >= 0 overrides the record's own.
 * On LEDGER_OK *skipped tells whether it was already stored with the same
 * content. LEDGER_EINPUT and LEDGER_ECONFLICT describe the record in *fe;
 * other codes are storage failures with details in the errbuf. */
ledger_err writer_append(writer *w, const Annals__InputEvent *in,
                         int64_t expect_version, bool *skipped, field_err *fe);

/* Commit the transaction (consumes it). */
ledger_err writer_commit(writer *w);

/* Abort the transaction if one is open. */
void writer_abort(writer *w);

#endif
