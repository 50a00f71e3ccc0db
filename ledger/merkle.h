/* RFC 9162 §2.1 Merkle tree over leaf hashes, with the complete-subtree
 * hashes stored in append order as golang.org/x/mod/sumdb/tlog lays them
 * out: the hash of level L, index K (the subtree over leaves
 * K*2^L .. (K+1)*2^L - 1) is stored at merkle_stored_index(L, K), and
 * appending leaf n stores exactly the hashes of the subtrees it completes,
 * at increasing indexes. Node = SHA-256(0x01 || left || right); a leaf hash
 * is stored as level 0. The empty tree's root is SHA-256(""). No function
 * here reads storage directly: proofs and roots ask a merkle_read callback
 * for O(log n) stored hashes.
 *
 * Hashing: every function that hashes has a `_with` variant taking a
 * hasher (hash.h: hasher_init or hasher_init_sha256), whose pre-fetched
 * digest and context it reuses; the hasher is only borrowed, and is not
 * safe to share between threads. The plain functions, and a NULL hasher,
 * fetch SHA-256 once for the call (on its first hash) and free it before
 * returning: fine for one-off calls, slower in loops. */
#ifndef LEDGER_MERKLE_H
#define LEDGER_MERKLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hash.h"
#include "limits.h"

#define MERKLE_LEVELS_MAX 64u   /* a tree of < 2^63 leaves */
#define MERKLE_PROOF_MAX  128u  /* elements in any proof of such a tree */

typedef uint8_t merkle_hash[LEDGER_HASH_BYTES];

/* Reads the stored hash of level `level`, index `index` (the complete
 * subtree over leaves index*2^level .. (index+1)*2^level - 1) into out.
 * Returns 0 on success, non-zero on failure (which the caller passes up as
 * its own error). */
typedef int (*merkle_read_fn)(void *ctx, unsigned level, uint64_t index,
                              merkle_hash out);

/* Called for every hash that an append stores, in increasing stored-index
 * order (merkle_stored_index of level, index). */
typedef int (*merkle_emit_fn)(void *ctx, unsigned level, uint64_t index,
                              const merkle_hash hash);

/* The right edge of a tree: the roots of its maximal complete subtrees,
 * enough to append without reading storage. */
typedef struct merkle_frontier {
	uint64_t size;                          /* leaves in the tree */
	hasher *h;                              /* optional: hash with this pre-fetched
	                                         * digest (the append and verify loops);
	                                         * merkle_frontier_load sets it to NULL */
	merkle_hash subtree[MERKLE_LEVELS_MAX]; /* subtree[L] valid when bit L of size is set */
} merkle_frontier;

/* Stored index of the hash at (level, index within level). */
uint64_t merkle_stored_index(unsigned level, uint64_t index);

/* Number of hashes stored for a tree of n leaves. */
uint64_t merkle_stored_count(uint64_t n);

/* SHA-256(0x00 || data): the leaf hash of a record. */
void merkle_leaf_hash(merkle_hash out, const void *data, size_t bytes);
void merkle_leaf_hash_with(merkle_hash out, hasher *h, const void *data,
                           size_t bytes);

/* SHA-256(0x01 || left || right). */
void merkle_node_hash(merkle_hash out, const merkle_hash left,
                      const merkle_hash right);

/* Load the frontier of a tree of size n from storage (popcount(n) reads). */
int merkle_frontier_load(merkle_frontier *out, uint64_t n,
                         merkle_read_fn read, void *ctx);

/* Append one leaf hash: emits the leaf and every subtree hash it completes
 * (1 + trailing ones of the old size), in stored-index order, and updates
 * the frontier. Returns the first non-zero emit result, else 0. */
int merkle_frontier_push(merkle_frontier *f, const merkle_hash leaf,
                         merkle_emit_fn emit, void *ctx);

/* Root of the tree the frontier describes (SHA-256("") when empty), with
 * f->h when set. */
void merkle_frontier_root(merkle_hash out, const merkle_frontier *f);

/* Root of the tree of the first n leaves, n <= the stored tree's size,
 * from O(log n) stored hashes. Returns 0 or the read callback's failure. */
int merkle_root(merkle_hash out, uint64_t n, merkle_read_fn read, void *ctx);
int merkle_root_with(merkle_hash out, hasher *h, uint64_t n,
                     merkle_read_fn read, void *ctx);

/* Inclusion proof of leaf `index` in the tree of `size` leaves
 * (index < size), leaf-adjacent first as RFC 9162 §2.1.3.1 and tlog
 * produce it. Writes *out_count <= MERKLE_PROOF_MAX elements. */
int merkle_prove_inclusion(merkle_hash proof[MERKLE_PROOF_MAX],
                           size_t *out_count, uint64_t index, uint64_t size,
                           merkle_read_fn read, void *ctx);
int merkle_prove_inclusion_with(merkle_hash proof[MERKLE_PROOF_MAX],
                                size_t *out_count, hasher *h, uint64_t index,
                                uint64_t size, merkle_read_fn read, void *ctx);

/* Consistency proof from old_size to new_size (1 <= old <= new), RFC 9162
 * §2.1.4.1; empty when old == new; omits the old root when old_size is a
 * power of two. */
int merkle_prove_consistency(merkle_hash proof[MERKLE_PROOF_MAX],
                             size_t *out_count, uint64_t old_size,
                             uint64_t new_size, merkle_read_fn read, void *ctx);
int merkle_prove_consistency_with(merkle_hash proof[MERKLE_PROOF_MAX],
                                  size_t *out_count, hasher *h,
                                  uint64_t old_size, uint64_t new_size,
                                  merkle_read_fn read, void *ctx);

/* RFC 9162 §2.1.3.2: true when the proof shows leaf at index in the tree of
 * size with root. */
bool merkle_check_inclusion(const merkle_hash *proof, size_t count,
                            uint64_t index, uint64_t size,
                            const merkle_hash leaf, const merkle_hash root);
bool merkle_check_inclusion_with(hasher *h, const merkle_hash *proof,
                                 size_t count, uint64_t index, uint64_t size,
                                 const merkle_hash leaf, const merkle_hash root);

/* RFC 9162 §2.1.4.2: true when the proof shows the tree of old_size with
 * old_root is a prefix of the tree of new_size with new_root. old == new
 * needs an empty proof and equal roots; old_size 0 is false. */
bool merkle_check_consistency(const merkle_hash *proof, size_t count,
                              uint64_t old_size, uint64_t new_size,
                              const merkle_hash old_root,
                              const merkle_hash new_root);
bool merkle_check_consistency_with(hasher *h, const merkle_hash *proof,
                                   size_t count, uint64_t old_size,
                                   uint64_t new_size,
                                   const merkle_hash old_root,
                                   const merkle_hash new_root);

#endif
