/* The heads map (DESIGN §5): a sparse Merkle tree over the head of every
 * stream, so that a proof can show a relationship had no later event at a
 * tree size.
 *
 *   key    SHA-256(country || 0x00 || organization)   (country "" for the
 *          organization stream (none, org))
 *   leaf   SHA-256(0x00 || key || u64be(version) || u64be(seq))
 *   node   empty subtree: 32 zero bytes; a subtree holding exactly one
 *          leaf: that leaf's hash; any other: SHA-256(0x01 || left || right)
 *
 * 256 levels; bit 0 of a key is the most significant bit of its first byte
 * and chooses the child of the root (0 left, 1 right). Nodes are stored
 * versioned by the tree size that ends the transaction that wrote them, so
 * roots and proofs can be read at any such size (heads.c draws the key
 * layout). */
#ifndef LEDGER_HEADS_H
#define LEDGER_HEADS_H

#include <stdbool.h>
#include <stdint.h>

#include "hash.h"
#include "limits.h"
#include "store.h"

#define HEADS_KEY_BYTES 32u
#define HEADS_DEPTH_MAX 256u
#define HEADS_EPOCH_BITS 14u   /* the top nodes are stored by size >> this */

typedef struct heads_change {
	uint8_t key[HEADS_KEY_BYTES];
	uint64_t version;
	uint64_t seq;
} heads_change;

enum heads_proof_kind {
	HEADS_MEMBER = 1,   /* the key's leaf ends the path */
	HEADS_EMPTY,        /* an empty subtree ends the path: no such key */
	HEADS_OTHER,        /* another key's single leaf ends the path: no such key */
};

typedef struct heads_proof {
	uint8_t kind;                        /* enum heads_proof_kind */
	uint16_t depth;                      /* siblings on the path */
	uint8_t siblings[HEADS_DEPTH_MAX][LEDGER_HASH_BYTES]; /* root side first */
	uint8_t leaf_key[HEADS_KEY_BYTES];   /* MEMBER: the key; OTHER: the other key */
	uint64_t version, seq;               /* of leaf_key's leaf */
} heads_proof;

/* The map key of a relationship (country may be "" or NULL); h, when not
 * NULL, is a pre-fetched digest for loops. */
void heads_key(uint8_t out[HEADS_KEY_BYTES], hasher *h, const char *country,
               const char *org);

/* The leaf hash of (key, version, seq). */
void heads_leaf(uint8_t out[LEDGER_HASH_BYTES], const uint8_t key[HEADS_KEY_BYTES],
                uint64_t version, uint64_t seq);

/* Apply changes (sorted by key, keys unique) at tree size `size` (larger
 * than any before), storing every node they rewrite under that size, and
 * write the new root. When `size` starts a new epoch of the top nodes
 * (HEADS_EPOCH_BITS), also store there a copy of every top node the
 * changes did not rewrite (heads.c). h, when not NULL, hashes with its
 * pre-fetched digest. Sorts nothing; allocates its walk, one cursor and,
 * in a new epoch, the list of copies. */
ledger_err heads_update(uint8_t root[LEDGER_HASH_BYTES], hasher *h,
                        MDB_txn *txn, const store *s, errbuf *e,
                        const heads_change *changes, size_t count, uint64_t size);

/* The heads a transaction moved: collected per event, then sorted with
 * the newest of each key kept (compacted when the array is full, so it
 * holds at most one entry per stream plus HEADS_BATCH_SLACK). */
#define HEADS_BATCH_SLACK (1u << 20)

typedef struct heads_batch {
	heads_change *v;
	size_t count, cap;
} heads_batch;

/* Note that (country, org) moved to (version, seq); -1 when out of memory. */
int heads_batch_add(heads_batch *b, hasher *h, const char *country,
                    const char *org, uint64_t version, uint64_t seq);

/* Sort by key and keep the newest entry of each key. */
void heads_batch_compact(heads_batch *b);

void heads_batch_free(heads_batch *b);

/* The root at tree size `size`: the map as the last transaction that ended
 * at or before it left it (32 zero bytes when there was none). */
ledger_err heads_root_at(uint8_t root[LEDGER_HASH_BYTES], MDB_txn *txn,
                         const store *s, errbuf *e, uint64_t size);

/* The proof for key at tree size `size` (read as heads_root_at reads it):
 * membership (with its version and seq) or non-membership. */
ledger_err heads_prove(heads_proof *out, MDB_txn *txn, const store *s,
                       errbuf *e, const uint8_t key[HEADS_KEY_BYTES],
                       uint64_t size);

/* The root a proof for key leads to; false when the proof is malformed (an
 * OTHER leaf off key's path or equal to key, a depth over 255, an unknown
 * kind). Storage-free: `annals check` uses it. */
bool heads_proof_root(uint8_t root[LEDGER_HASH_BYTES], const heads_proof *p,
                      const uint8_t key[HEADS_KEY_BYTES]);


/* An in-memory heads map built from the events alone, for verify: a
 * crit-bit trie whose inner nodes cache their hash until a change below
 * them. */
typedef struct heads_mem heads_mem;

/* A new empty map; h (optional) hashes its leaves. */
heads_mem *heads_mem_new(hasher *h);
void heads_mem_free(heads_mem *m);

/* Insert or update key's leaf; -1 when out of memory. */
int heads_mem_set(heads_mem *m, const uint8_t key[HEADS_KEY_BYTES],
                  uint64_t version, uint64_t seq);

/* The root of the map (32 zero bytes when empty); -1 when out of memory. */
int heads_mem_root(heads_mem *m, uint8_t out[LEDGER_HASH_BYTES]);

/* Compare every node of m that changed since the last call (or since
 * heads_mem_new) with the stored node of version `size`: the nodes that
 * heads_update stored for a transaction that ended at tree size `size` and
 * applied the same changes. Each must be stored under exactly that version
 * and hold exactly the same bytes; LEDGER_ECORRUPT names the first that is
 * missing or differs by its depth, path and size. When `size` starts a new
 * epoch of the top nodes, also check the copies heads_update stored there
 * (every top node of the previous version not rewritten, unchanged). *nodes
 * grows by the nodes and copies compared, so that after the last
 * transaction it must equal the number of stored node records. Costs one
 * lookup a changed node or copy and one hash a level that the trie
 * compresses. */
ledger_err heads_mem_check_version(heads_mem *m, MDB_txn *txn, const store *s,
                                   errbuf *e, uint64_t size, uint64_t *nodes);

#endif
