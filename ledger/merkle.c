/* RFC 9162 Merkle tree over the golang.org/x/mod/sumdb/tlog stored-hash
 * layout. Every walk here is a loop with a bound known before it starts:
 * a tree of < 2^63 leaves has fewer than MERKLE_LEVELS_MAX levels, so no
 * loop over levels runs more than MERKLE_LEVELS_MAX times. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "merkle.h"

#define MERKLE_SIZE_MAX (1ull << 63)  /* tlog sizes are int64 */

_Static_assert(LEDGER_HASH_BYTES == 32, "SHA-256 hashes");
_Static_assert(MERKLE_PROOF_MAX >= 2 * MERKLE_LEVELS_MAX,
               "a consistency proof has at most two elements per level");

/* A hash function failing means OpenSSL could not allocate or is broken;
 * a void hash call has no way to report it and a wrong hash would be far
 * worse than stopping, so stop. */
static void merkle_digest_or_die(int ok)
{
	if (!ok)
		abort();
}

uint64_t merkle_stored_index(unsigned level, uint64_t index)
{
	uint64_t n = index, i = 0;

	assert(level < MERKLE_LEVELS_MAX);
	/* Level L's hash n is stored right after level L+1's hash 2n+1, so
	 * walk down to the rightmost leaf under it, then count what level 0
	 * ordering puts before that leaf: n + n/2 + n/4 + ... */
	for (unsigned l = level; l > 0; l--)
		n = 2 * n + 1;
	for (unsigned l = 0; l < MERKLE_LEVELS_MAX && n > 0; l++, n >>= 1)
		i += n;
	return i + level;
}

uint64_t merkle_stored_count(uint64_t n)
{
	uint64_t count;

	if (n == 0)
		return 0;
	assert(n <= MERKLE_SIZE_MAX);
	/* Up to and including the last leaf, plus the subtree hashes that
	 * leaf completes: one per trailing one bit of its index. */
	count = merkle_stored_index(0, n - 1) + 1;
	for (uint64_t i = n - 1; (i & 1) != 0; i >>= 1)
		count++;
	return count;
}

/* The digest of one call: the caller's hasher, else one made on the first
 * hash and freed when the call ends. One fetch a call, instead of the
 * implicit fetch (and its locks) of EVP_sha256() in every EVP_Digest. */
typedef struct merkle_sha {
	hasher *h;
	hasher own;
} merkle_sha;

static void merkle_sha_begin(merkle_sha *s, hasher *h)
{
	s->h = h;
	memset(&s->own, 0, sizeof s->own);
}

static hasher *merkle_sha_get(merkle_sha *s)
{
	if (!s->h) {
		merkle_digest_or_die(hasher_init_sha256(&s->own) == 0);
		s->h = &s->own;
	}
	return s->h;
}

static void merkle_sha_end(merkle_sha *s)
{
	hasher_free(&s->own);        /* zeroed when the caller's was used */
	s->h = NULL;
}

static void merkle_sha_node(merkle_sha *s, merkle_hash out,
                            const merkle_hash left, const merkle_hash right)
{
	uint8_t buf[1 + 2 * LEDGER_HASH_BYTES];

	buf[0] = 0x01;
	memcpy(buf + 1, left, LEDGER_HASH_BYTES);
	memcpy(buf + 1 + LEDGER_HASH_BYTES, right, LEDGER_HASH_BYTES);
	hasher_sha256(merkle_sha_get(s), out, NULL, 0, buf, sizeof buf);
}

void merkle_leaf_hash_with(merkle_hash out, hasher *h, const void *data,
                           size_t bytes)
{
	static const uint8_t prefix = 0x00;
	merkle_sha s;

	/* The record can be large: hashed in place behind the prefix. */
	merkle_sha_begin(&s, h);
	hasher_sha256(merkle_sha_get(&s), out, &prefix, 1, data, bytes);
	merkle_sha_end(&s);
}

void merkle_leaf_hash(merkle_hash out, const void *data, size_t bytes)
{
	merkle_leaf_hash_with(out, NULL, data, bytes);
}

void merkle_node_hash(merkle_hash out, const merkle_hash left,
                      const merkle_hash right)
{
	merkle_sha s;

	merkle_sha_begin(&s, NULL);
	merkle_sha_node(&s, out, left, right);
	merkle_sha_end(&s);
}

int merkle_frontier_load(merkle_frontier *out, uint64_t n,
                         merkle_read_fn read, void *ctx)
{
	int err;

	assert(n < MERKLE_SIZE_MAX);
	memset(out, 0, sizeof *out);
	/* Set bit L of n is the complete subtree at level L that starts where
	 * the larger ones to its left end, i.e. index (n >> L) - 1. */
	for (unsigned l = 0; l < MERKLE_LEVELS_MAX; l++) {
		if (((n >> l) & 1) == 0)
			continue;
		err = read(ctx, l, (n >> l) - 1, out->subtree[l]);
		if (err != 0)
			return err;
	}
	out->size = n;
	return 0;
}

int merkle_frontier_push(merkle_frontier *f, const merkle_hash leaf,
                         merkle_emit_fn emit, void *ctx)
{
	uint64_t n = f->size;
	merkle_hash h;
	merkle_sha s;
	unsigned l;
	int err;

	assert(n < MERKLE_SIZE_MAX - 1);
	memcpy(h, leaf, sizeof h);
	if ((err = emit(ctx, 0, n, h)) != 0)
		return err;
	/* Each trailing one bit of the old size is a complete subtree that
	 * the new leaf's subtree now pairs with; parents come out in
	 * increasing stored index, as tlog writes them. */
	merkle_sha_begin(&s, f->h);
	for (l = 0; l < MERKLE_LEVELS_MAX - 1 && ((n >> l) & 1) != 0; l++) {
		merkle_sha_node(&s, h, f->subtree[l], h);
		err = emit(ctx, l + 1, n >> (l + 1), h);
		if (err != 0)
			break;
	}
	merkle_sha_end(&s);
	if (err != 0)
		return err;
	/* Only now that every emit succeeded does the frontier move, so the
	 * caller can abort its transaction and retry the same append. */
	memcpy(f->subtree[l], h, sizeof h);
	f->size = n + 1;
	return 0;
}

static void merkle_sha_frontier_root(merkle_sha *s, merkle_hash out,
                                     const merkle_frontier *f)
{
	bool have = false;

	if (f->size == 0) {
		hasher_sha256(merkle_sha_get(s), out, NULL, 0, "", 0);
		return;
	}
	/* The smallest subtree is the deepest right child; fold the larger
	 * ones in from its left. */
	for (unsigned l = 0; l < MERKLE_LEVELS_MAX; l++) {
		if (((f->size >> l) & 1) == 0)
			continue;
		if (have) {
			merkle_sha_node(s, out, f->subtree[l], out);
		} else {
			memcpy(out, f->subtree[l], LEDGER_HASH_BYTES);
			have = true;
		}
	}
}

void merkle_frontier_root(merkle_hash out, const merkle_frontier *f)
{
	merkle_sha s;

	merkle_sha_begin(&s, f->h);
	merkle_sha_frontier_root(&s, out, f);
	merkle_sha_end(&s);
}

int merkle_root_with(merkle_hash out, hasher *h, uint64_t n,
                     merkle_read_fn read, void *ctx)
{
	merkle_frontier f;
	merkle_sha s;
	int err;

	if ((err = merkle_frontier_load(&f, n, read, ctx)) != 0)
		return err;
	merkle_sha_begin(&s, h);
	merkle_sha_frontier_root(&s, out, &f);
	merkle_sha_end(&s);
	return 0;
}

int merkle_root(merkle_hash out, uint64_t n, merkle_read_fn read, void *ctx)
{
	return merkle_root_with(out, NULL, n, read, ctx);
}

/* Largest power of two strictly less than n, for n >= 2: RFC 9162's k. */
static uint64_t merkle_split(uint64_t n)
{
	uint64_t k = 1;

	assert(n >= 2);
	for (unsigned l = 0; l < MERKLE_LEVELS_MAX && k < n - k; l++)
		k <<= 1;
	return k;
}

/* MTH(D[lo:hi]) for a range whose start is aligned to the largest power of
 * two not above its length, as every range in an RFC 9162 proof is. Set
 * bit L of the length is then a complete aligned subtree, one stored hash,
 * placed after the larger ones; fold them in from the smallest, rightmost
 * one, as the frontier root does. */
static int merkle_range_hash(merkle_sha *s, merkle_hash out, uint64_t lo,
                             uint64_t hi, merkle_read_fn read, void *ctx)
{
	uint64_t len = hi - lo;
	bool have = false;
	merkle_hash part;
	int err;

	assert(lo < hi);
	for (unsigned l = 0; l < MERKLE_LEVELS_MAX; l++) {
		uint64_t start;

		if (((len >> l) & 1) == 0)
			continue;
		start = lo + (len >> l >> 1 << 1 << l);
		assert((start & ((1ull << l) - 1)) == 0);
		err = read(ctx, l, start >> l, have ? part : out);
		if (err != 0)
			return err;
		if (have)
			merkle_sha_node(s, out, part, out);
		have = true;
	}
	return 0;
}

/* Proof walks produce elements root-side first; the wire order is
 * leaf-adjacent first. */
static void merkle_reverse(merkle_hash *proof, size_t count)
{
	merkle_hash t;

	for (size_t i = 0, j = count; i + 1 < j; i++, j--) {
		memcpy(t, proof[i], sizeof t);
		memcpy(proof[i], proof[j - 1], sizeof t);
		memcpy(proof[j - 1], t, sizeof t);
	}
}

static int merkle_sha_prove_inclusion(merkle_sha *s,
                                      merkle_hash proof[MERKLE_PROOF_MAX],
                                      size_t *out_count, uint64_t index,
                                      uint64_t size, merkle_read_fn read,
                                      void *ctx)
{
	uint64_t lo = 0, hi = size;
	size_t count = 0;
	int err;

	assert(index < size && size < MERKLE_SIZE_MAX);
	*out_count = 0;
	/* RFC 9162 §2.1.3.1 PATH, unrolled from the root down: each split
	 * contributes the hash of the half without the leaf. */
	while (hi - lo > 1) {
		uint64_t k = merkle_split(hi - lo);

		assert(count < MERKLE_LEVELS_MAX);
		if (index < lo + k) {
			err = merkle_range_hash(s, proof[count], lo + k, hi, read, ctx);
			hi = lo + k;
		} else {
			err = merkle_range_hash(s, proof[count], lo, lo + k, read, ctx);
			lo += k;
		}
		if (err != 0)
			return err;
		count++;
	}
	merkle_reverse(proof, count);
	*out_count = count;
	return 0;
}

static int merkle_sha_prove_consistency(merkle_sha *s,
                                        merkle_hash proof[MERKLE_PROOF_MAX],
                                        size_t *out_count, uint64_t old_size,
                                        uint64_t new_size, merkle_read_fn read,
                                        void *ctx)
{
	uint64_t lo = 0, hi = new_size;
	bool whole = true;  /* RFC 9162's b: still on the old tree's left edge */
	size_t count = 0;
	int err;

	assert(old_size >= 1 && old_size <= new_size &&
	       new_size < MERKLE_SIZE_MAX);
	*out_count = 0;
	/* RFC 9162 §2.1.4.1 SUBPROOF, unrolled from the root down. It ends
	 * where the old tree's right edge is a subtree boundary; that subtree
	 * is itself an element unless it is the whole old tree. */
	while (old_size != hi) {
		uint64_t k = merkle_split(hi - lo);

		assert(count < MERKLE_LEVELS_MAX);
		if (old_size <= lo + k) {
			err = merkle_range_hash(s, proof[count], lo + k, hi, read, ctx);
			hi = lo + k;
		} else {
			err = merkle_range_hash(s, proof[count], lo, lo + k, read, ctx);
			lo += k;
			whole = false;
		}
		if (err != 0)
			return err;
		count++;
	}
	if (!whole && count > 0) {
		if ((err = merkle_range_hash(s, proof[count], lo, hi, read, ctx)) != 0)
			return err;
		count++;
	}
	merkle_reverse(proof, count);
	*out_count = count;
	return 0;
}

int merkle_prove_inclusion_with(merkle_hash proof[MERKLE_PROOF_MAX],
                                size_t *out_count, hasher *h, uint64_t index,
                                uint64_t size, merkle_read_fn read, void *ctx)
{
	merkle_sha s;

	merkle_sha_begin(&s, h);
	int err = merkle_sha_prove_inclusion(&s, proof, out_count, index, size,
	                                     read, ctx);
	merkle_sha_end(&s);
	return err;
}

int merkle_prove_inclusion(merkle_hash proof[MERKLE_PROOF_MAX],
                           size_t *out_count, uint64_t index, uint64_t size,
                           merkle_read_fn read, void *ctx)
{
	return merkle_prove_inclusion_with(proof, out_count, NULL, index, size,
	                                   read, ctx);
}

int merkle_prove_consistency_with(merkle_hash proof[MERKLE_PROOF_MAX],
                                  size_t *out_count, hasher *h,
                                  uint64_t old_size, uint64_t new_size,
                                  merkle_read_fn read, void *ctx)
{
	merkle_sha s;

	merkle_sha_begin(&s, h);
	int err = merkle_sha_prove_consistency(&s, proof, out_count, old_size,
	                                       new_size, read, ctx);
	merkle_sha_end(&s);
	return err;
}

int merkle_prove_consistency(merkle_hash proof[MERKLE_PROOF_MAX],
                             size_t *out_count, uint64_t old_size,
                             uint64_t new_size, merkle_read_fn read, void *ctx)
{
	return merkle_prove_consistency_with(proof, out_count, NULL, old_size,
	                                     new_size, read, ctx);
}

static bool merkle_hash_equal(const merkle_hash a, const merkle_hash b)
{
	return memcmp(a, b, LEDGER_HASH_BYTES) == 0;
}

static bool merkle_sha_check_inclusion(merkle_sha *s, const merkle_hash *proof,
                                       size_t count, uint64_t index,
                                       uint64_t size, const merkle_hash leaf,
                                       const merkle_hash root)
{
	uint64_t fn = index, sn;
	merkle_hash r;

	if (index >= size || count > MERKLE_PROOF_MAX)
		return false;
	sn = size - 1;
	memcpy(r, leaf, sizeof r);
	/* RFC 9162 §2.1.3.2, step by step. */
	for (size_t i = 0; i < count; i++) {
		if (sn == 0)
			return false;
		if ((fn & 1) != 0 || fn == sn) {
			merkle_sha_node(s, r, proof[i], r);
			/* Skip the levels where the leaf's subtree is the
			 * right edge and so has no sibling. */
			for (unsigned l = 0; l < MERKLE_LEVELS_MAX &&
			     (fn & 1) == 0 && fn != 0; l++) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			merkle_sha_node(s, r, r, proof[i]);
		}
		fn >>= 1;
		sn >>= 1;
	}
	return sn == 0 && merkle_hash_equal(r, root);
}

/* RFC 9162 §2.1.4.2 for 0 < old_size < new_size. When old_size is a power
 * of two the old root is the path's implicit first element. */
static bool merkle_check_consistency_path(merkle_sha *s,
                                          const merkle_hash *proof,
                                          size_t count, uint64_t old_size,
                                          uint64_t new_size,
                                          const merkle_hash old_root,
                                          const merkle_hash new_root)
{
	bool pow2 = (old_size & (old_size - 1)) == 0;
	uint64_t fn = old_size - 1, sn = new_size - 1;
	size_t i = pow2 ? 0 : 1;
	merkle_hash fr, sr;

	if (count == 0)
		return false;
	for (unsigned l = 0; l < MERKLE_LEVELS_MAX && (fn & 1) != 0; l++) {
		fn >>= 1;
		sn >>= 1;
	}
	memcpy(fr, pow2 ? old_root : proof[0], sizeof fr);
	memcpy(sr, fr, sizeof sr);
	for (; i < count; i++) {
		if (sn == 0)
			return false;
		if ((fn & 1) != 0 || fn == sn) {
			merkle_sha_node(s, fr, proof[i], fr);
			merkle_sha_node(s, sr, proof[i], sr);
			for (unsigned l = 0; l < MERKLE_LEVELS_MAX &&
			     (fn & 1) == 0 && fn != 0; l++) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			merkle_sha_node(s, sr, sr, proof[i]);
		}
		fn >>= 1;
		sn >>= 1;
	}
	return sn == 0 && merkle_hash_equal(fr, old_root) &&
	       merkle_hash_equal(sr, new_root);
}

bool merkle_check_inclusion_with(hasher *h, const merkle_hash *proof,
                                 size_t count, uint64_t index, uint64_t size,
                                 const merkle_hash leaf, const merkle_hash root)
{
	merkle_sha s;

	merkle_sha_begin(&s, h);
	bool ok = merkle_sha_check_inclusion(&s, proof, count, index, size, leaf,
	                                     root);
	merkle_sha_end(&s);
	return ok;
}

bool merkle_check_inclusion(const merkle_hash *proof, size_t count,
                            uint64_t index, uint64_t size,
                            const merkle_hash leaf, const merkle_hash root)
{
	return merkle_check_inclusion_with(NULL, proof, count, index, size, leaf,
	                                   root);
}

bool merkle_check_consistency_with(hasher *h, const merkle_hash *proof,
                                   size_t count, uint64_t old_size,
                                   uint64_t new_size,
                                   const merkle_hash old_root,
                                   const merkle_hash new_root)
{
	merkle_sha s;
	bool ok;

	if (old_size == 0 || old_size > new_size || count > MERKLE_PROOF_MAX)
		return false;
	/* RFC 9162 leaves old == new undefined; tlog's CheckTree accepts
	 * exactly the empty proof between equal roots, and so do we. */
	if (old_size == new_size)
		return count == 0 && merkle_hash_equal(old_root, new_root);
	merkle_sha_begin(&s, h);
	ok = merkle_check_consistency_path(&s, proof, count, old_size, new_size,
	                                   old_root, new_root);
	merkle_sha_end(&s);
	return ok;
}

bool merkle_check_consistency(const merkle_hash *proof, size_t count,
                              uint64_t old_size, uint64_t new_size,
                              const merkle_hash old_root,
                              const merkle_hash new_root)
{
	return merkle_check_consistency_with(NULL, proof, count, old_size,
	                                     new_size, old_root, new_root);
}
