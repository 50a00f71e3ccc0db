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
#define WRITER_SECRET_BYTES 32u

/* The part of an append that needs nothing of the ledger: the input
 * checked and normalized (event_check) and its content MAC, which is also
 * the derived id (DESIGN §3). An import makes it on its reading thread,
 * with a writer_prep of that thread's own. */
typedef struct writer_input {
	event_input ev;
	uint8_t mac[LEDGER_HASH_BYTES];
	const char *mac_org;            /* the organization text MACed */
	bool derived_id;                /* no id was given: it is the MAC's */
	char id_hex[33];
	const uint8_t *body;            /* the body, salted and packed */
	size_t body_bytes;
	uint8_t body_hash[LEDGER_HASH_BYTES];
} writer_input;

/* What writer_prepare needs: HMAC keyed with the ledger's id secret. */
typedef struct writer_prep {
	hasher h;
	codec_buf input_buf, body_buf;
} writer_prep;

typedef struct writer {
	store *s;
	errbuf *e;
	MDB_txn *txn;
	/* Where events and bodies are appended: a cursor left at the end of
	 * its database appends without a descent from the root (MDB_APPEND
	 * through mdb_put starts one for every record). Opened when first
	 * needed in a transaction; a redaction's delete closes them. */
	MDB_cursor *events_c, *bodies_c;
	writer_prep prep;               /* its hasher makes every hash of the
	                                 * writer: leaves, nodes, the MAC of an
	                                 * organization resolved here */
	indexer ix;                     /* indexes and projections */
	arena a;                        /* per-event scratch */
	codec_buf env_buf;
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
	uint64_t appended;
} writer;

/* Set up the hashers and buffers of w; returns LEDGER_ENOMEM or
 * LEDGER_ECORRUPT when OpenSSL cannot be used. */
ledger_err writer_init(writer *w, store *s, errbuf *e,
                       const uint8_t secret[WRITER_SECRET_BYTES]);
void writer_free(writer *w);

/* Key p with the ledger's id secret; LEDGER_ENOMEM or LEDGER_ECORRUPT
 * when OpenSSL cannot be used. Free with writer_prep_free. */
ledger_err writer_prep_init(writer_prep *p, const uint8_t secret[WRITER_SECRET_BYTES],
                            errbuf *e);
void writer_prep_free(writer_prep *p);

/* Check and normalize `in` into *out, compute its content MAC, and pack
 * and hash its body with the given random salt; any thread may call it,
 * each with its own p. *out points into `in` and into a, which must
 * outlive it. Returns LEDGER_OK, LEDGER_EINPUT with *fe set when the
 * record is refused, or LEDGER_ENOMEM. */
ledger_err writer_prepare(writer_prep *p, writer_input *out,
                          const Annals__InputEvent *in,
                          const uint8_t salt[WRITER_SALT_BYTES], arena *a,
                          field_err *fe);

/* Fill out with random bytes for salts (OpenSSL's RAND_bytes, which must
 * not fail: a predictable salt would make bodies guessable). An import
 * draws them on the writer's thread, so that the reading thread makes no
 * OpenSSL RAND state of its own. */
void writer_salts(uint8_t *out, size_t bytes);

/* Begin the write transaction and load the head, recorded_at and Merkle
 * frontier. */
ledger_err writer_begin(writer *w);

/* Append one input event, as writer_prepare made it (and accepted it);
 * *in may be changed (the organization resolved). expect_version >= 0
 * overrides the record's own. On LEDGER_OK *skipped tells whether it was
 * already stored with the same content. LEDGER_EINPUT and
 * LEDGER_ECONFLICT describe the record in *fe; other codes are storage
 * failures with details in the errbuf. */
ledger_err writer_append(writer *w, writer_input *in, int64_t expect_version,
                         bool *skipped, field_err *fe);

/* Commit the transaction (consumes it). */
ledger_err writer_commit(writer *w);

/* Abort the transaction if one is open. */
void writer_abort(writer *w);

#endif
