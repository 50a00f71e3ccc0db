/* The handle behind `ledger *`, shared by the files that implement the
 * public calls (ledger.c, render.c, verify.c, checkpoint.c). Modules below
 * them (store, writer, merkle, note) never see it. */
#ifndef LEDGER_IMPL_H
#define LEDGER_IMPL_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "ledger.h"
#include "limits.h"
#include "store.h"
#include "writer.h"
#include "index.h"

#define LEDGER_FORMAT_VERSION 2u   /* hashed bytes: a change needs dump and import;
                                    * 2: heads_root on the last envelope of a transaction */
#define LEDGER_INDEX_VERSION  3u   /* derived databases: a change needs rebuild;
                                    * 2: heads-map layout, bucket folds;
                                    * 3: the Merkle tree stored in tiles */

struct ledger {
	store *s;
	errbuf e;
	uint8_t secret[WRITER_SECRET_BYTES];  /* id HMAC key, from meta */
	char origin[LEDGER_ORIGIN_BYTES_MAX + 1];
	char *key_path;                       /* NULL: $ANNALS_KEY or DIR/signing.key */
	size_t map_margin;                    /* 0: derived from the input */
	bool map_margin_exact;
	indexer *rx;                          /* folds for queries, made on first use */
	hasher *sha;                          /* SHA-256 for roots and proofs, made
	                                       * on first use (ledger_sha) */
	bool head_known;                      /* query_head's last answer: */
	size_t head_txn_id;                   /* the newest seq seen by read */
	uint64_t head_seq;                    /* transactions of this id */
	uint64_t root_size;                   /* the largest tree size whose root */
	uint8_t root[LEDGER_HASH_BYTES];      /* was computed here (0: none): a
	                                       * size's root never changes */
	unsigned open_flags;                  /* LEDGER_OPEN_* */
};

/* The handle's SHA-256 hasher with its digest fetched once, made on first
 * use; NULL when OpenSSL cannot make one (callers then hash without it). */
hasher *ledger_sha(ledger *l);

/* Begin a read transaction, or say why not. */
ledger_err ledger_read_begin(MDB_txn **txn, ledger *l);

/* Read the event at seq inside txn into a view (body NULL when redacted).
 * The view points into the map and is valid until txn ends. */
ledger_err ledger_view_at(ledger_event_view *out, ledger *l, MDB_txn *txn,
                          uint64_t seq, hasher *h);

#endif
