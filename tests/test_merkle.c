/* Merkle tree: the iterative, stored-hash implementation against a
 * recursive model of the RFC 9162 definitions (MTH, PATH, SUBPROOF) written
 * here, and against the published tlog and Certificate Transparency
 * vectors. Storage is an in-memory array that counts its reads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "merkle.h"

#define TEST_LEAVES_MAX   300u  /* roots are checked for every size to this */
#define TEST_PROOF_SIZE_MAX 64u /* every proof is checked to this size */
#define TEST_FLIP_ALL_MAX 8u    /* every bit is flipped up to this size */
#define TEST_STORE_MAX    (2u * TEST_LEAVES_MAX + 16u)

typedef struct mem_store {
	merkle_hash hash[TEST_STORE_MAX];
	uint64_t count;        /* hashes stored */
	uint64_t readable;     /* reads at or past this index fail */
	unsigned long reads;
	int emit_fail_at;      /* emit returns 7 at this index, -1 never */
	merkle_frontier f;
	merkle_hash leaf[TEST_LEAVES_MAX];
	uint64_t leaves;
} mem_store;

static int mem_read(void *ctx, unsigned level, uint64_t index, merkle_hash out)
{
	mem_store *m = ctx;
	uint64_t stored_index = merkle_stored_index(level, index);

	m->reads++;
	if (stored_index >= m->count || stored_index >= m->readable)
		return 5;
	memcpy(out, m->hash[stored_index], sizeof(merkle_hash));
	return 0;
}

/* Insists on tlog's order: each append stores at the next free index. */
static int mem_emit(void *ctx, unsigned level, uint64_t index,
                    const merkle_hash hash)
{
	mem_store *m = ctx;
	uint64_t stored_index = merkle_stored_index(level, index);

	if (m->emit_fail_at >= 0 && stored_index == (uint64_t)m->emit_fail_at)
		return 7;
	if (stored_index != m->count || m->count >= TEST_STORE_MAX)
		return 9;
	memcpy(m->hash[m->count++], hash, sizeof(merkle_hash));
	return 0;
}

static void sha256(uint8_t out[32], const void *data, size_t n)
{
	unsigned int len = 0;

	if (EVP_Digest(data, n, out, &len, EVP_sha256(), NULL) != 1 || len != 32)
		abort();
}

/* The model hashes with EVP directly, so it does not share merkle.c's. */
static void ref_node(merkle_hash out, const merkle_hash l, const merkle_hash r)
{
	uint8_t buf[65];

	buf[0] = 1;
	memcpy(buf + 1, l, 32);
	memcpy(buf + 33, r, 32);
	sha256(out, buf, sizeof buf);
}

static uint64_t ref_split(uint64_t n)
{
	uint64_t k = 1;

	while (k * 2 < n)
		k *= 2;
	return k;
}

static void ref_mth(merkle_hash out, const merkle_hash *leaf, uint64_t lo,
                    uint64_t hi)
{
	merkle_hash l, r;
	uint64_t k;

	if (hi == lo) {
		sha256(out, "", 0);
		return;
	}
	if (hi - lo == 1) {
		memcpy(out, leaf[lo], 32);
		return;
	}
	k = ref_split(hi - lo);
	ref_mth(l, leaf, lo, lo + k);
	ref_mth(r, leaf, lo + k, hi);
	ref_node(out, l, r);
}

/* RFC 9162 §2.1.3.1 PATH(m, D[lo:hi]), appended to p. */
static void ref_path(merkle_hash *p, size_t *count, const merkle_hash *leaf,
                     uint64_t m, uint64_t lo, uint64_t hi)
{
	uint64_t k;

	if (hi - lo <= 1)
		return;
	k = ref_split(hi - lo);
	if (m < lo + k) {
		ref_path(p, count, leaf, m, lo, lo + k);
		ref_mth(p[(*count)++], leaf, lo + k, hi);
	} else {
		ref_path(p, count, leaf, m, lo + k, hi);
		ref_mth(p[(*count)++], leaf, lo, lo + k);
	}
}

/* RFC 9162 §2.1.4.1 SUBPROOF(m, D[lo:hi], b), m absolute. */
static void ref_subproof(merkle_hash *p, size_t *count,
                         const merkle_hash *leaf, uint64_t m, uint64_t lo,
                         uint64_t hi, int b)
{
	uint64_t k;

	if (m == hi) {
		if (!b)
			ref_mth(p[(*count)++], leaf, lo, hi);
		return;
	}
	k = ref_split(hi - lo);
	if (m <= lo + k) {
		ref_subproof(p, count, leaf, m, lo, lo + k, b);
		ref_mth(p[(*count)++], leaf, lo + k, hi);
	} else {
		ref_subproof(p, count, leaf, m, lo + k, hi, 0);
		ref_mth(p[(*count)++], leaf, lo, lo + k);
	}
}

static unsigned bits_of(uint64_t n)
{
	unsigned b = 0;

	for (; n != 0; n >>= 1)
		b++;
	return b;
}

static unsigned popcount(uint64_t n)
{
	unsigned c = 0;

	for (; n != 0; n &= n - 1)
		c++;
	return c;
}

/* A fresh store with n leaves of assorted lengths, appended one by one. */
static mem_store *store_new(uint64_t n)
{
	mem_store *m = calloc(1, sizeof *m);
	char rec[64];

	if (m == NULL)
		abort();
	m->readable = UINT64_MAX;
	m->emit_fail_at = -1;
	for (uint64_t i = 0; i < n; i++) {
		int len = snprintf(rec, sizeof rec, "leaf %llu %.*s",
		                   (unsigned long long)i, (int)(i % 23),
		                   "xxxxxxxxxxxxxxxxxxxxxxxxx");

		merkle_leaf_hash(m->leaf[i], rec, (size_t)len);
		if (merkle_frontier_push(&m->f, m->leaf[i], mem_emit, m) != 0)
			abort();
	}
	m->leaves = n;
	return m;
}

static void test_merkle_hashes(void)
{
	merkle_hash h, want;
	uint8_t buf[65] = { 0 };

	sha256(want, buf, 1);   /* 0x00 || "" */
	merkle_leaf_hash(h, "", 0);
	CU_ASSERT_EQUAL(memcmp(h, want, 32), 0);
	memcpy(buf + 1, "record-1", 8);
	sha256(want, buf, 9);
	merkle_leaf_hash(h, "record-1", 8);
	CU_ASSERT_EQUAL(memcmp(h, want, 32), 0);
	ref_node(want, buf, buf + 32);
	merkle_node_hash(h, buf, buf + 32);
	CU_ASSERT_EQUAL(memcmp(h, want, 32), 0);
}

static void test_merkle_stored_index(void)
{
	/* tlog's layout: leaf 0, leaf 1, (1,0), leaf 2, leaf 3, (1,1), (2,0) */
	CU_ASSERT_EQUAL(merkle_stored_index(0, 0), 0);
	CU_ASSERT_EQUAL(merkle_stored_index(0, 1), 1);
	CU_ASSERT_EQUAL(merkle_stored_index(1, 0), 2);
	CU_ASSERT_EQUAL(merkle_stored_index(0, 2), 3);
	CU_ASSERT_EQUAL(merkle_stored_index(0, 3), 4);
	CU_ASSERT_EQUAL(merkle_stored_index(1, 1), 5);
	CU_ASSERT_EQUAL(merkle_stored_index(2, 0), 6);
	CU_ASSERT_EQUAL(merkle_stored_index(0, 4), 7);
	CU_ASSERT_EQUAL(merkle_stored_count(0), 0);
	CU_ASSERT_EQUAL(merkle_stored_count(1), 1);
	CU_ASSERT_EQUAL(merkle_stored_count(2), 3);
	CU_ASSERT_EQUAL(merkle_stored_count(3), 4);
	CU_ASSERT_EQUAL(merkle_stored_count(4), 7);
	CU_ASSERT_EQUAL(merkle_stored_count(5), 8);
	/* 2n - popcount(n) hashes for n leaves, at the largest tlog size. */
	CU_ASSERT_EQUAL(merkle_stored_count((1ull << 62) + 5),
	                2 * ((1ull << 62) + 5) - 3);
	CU_ASSERT_EQUAL(merkle_stored_index(62, 0) + 1,
	                merkle_stored_count(1ull << 62));
}

/* Every size 0..300: the stored count, the frontier root, merkle_root's
 * root and its reads, and a frontier reloaded from storage appending the
 * same hashes as the original did. */
static void test_merkle_roots_all_sizes(void)
{
	mem_store *m = store_new(TEST_LEAVES_MAX);
	merkle_frontier f = { 0 };
	merkle_hash got, want;
	unsigned bad = 0;

	for (uint64_t n = 0; n <= TEST_LEAVES_MAX; n++) {
		ref_mth(want, m->leaf, 0, n);
		m->reads = 0;
		if (merkle_root(got, n, mem_read, m) != 0 ||
		    memcmp(got, want, 32) != 0 || m->reads != popcount(n))
			bad++;
		if (merkle_frontier_load(&f, n, mem_read, m) != 0 ||
		    f.size != n)
			bad++;
		merkle_frontier_root(got, &f);
		if (memcmp(got, want, 32) != 0)
			bad++;
		if (n == TEST_LEAVES_MAX)
			break;
		/* Replay leaf n from the loaded frontier into a copy. */
		mem_store *c = malloc(sizeof *c);
		if (c == NULL)
			abort();
		memcpy(c, m, sizeof *c);
		c->count = merkle_stored_count(n);
		if (merkle_frontier_push(&f, m->leaf[n], mem_emit, c) != 0 ||
		    c->count != merkle_stored_count(n + 1) ||
		    memcmp(c->hash, m->hash, c->count * 32) != 0)
			bad++;
		free(c);
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(m->count, merkle_stored_count(TEST_LEAVES_MAX));
	sha256(want, "", 0);
	merkle_root(got, 0, mem_read, m);
	CU_ASSERT_EQUAL(memcmp(got, want, 32), 0);
	CU_ASSERT_EQUAL(got[0], 0xe3);
	CU_ASSERT_EQUAL(got[31], 0x55);
	free(m);
}

/* Which bits of a hash to flip: all for small trees, 16 spread over the
 * 32 bytes otherwise, to keep the run short. */
static unsigned flip_bits(uint64_t size, unsigned j)
{
	return size <= TEST_FLIP_ALL_MAX ? j : j * 16 + j % 8;
}

static unsigned flip_count(uint64_t size)
{
	return size <= TEST_FLIP_ALL_MAX ? 256 : 16;
}

static unsigned inclusion_rejects(merkle_hash *p, size_t count, uint64_t i,
                                  uint64_t n, merkle_hash leaf,
                                  merkle_hash root)
{
	unsigned bad = 0, flips = flip_count(n);

	for (size_t e = 0; e <= count + 1; e++) {
		uint8_t *h = e < count ? p[e] : e == count ? leaf : root;

		for (unsigned j = 0; j < flips; j++) {
			unsigned bit = flip_bits(n, j);

			h[bit / 8] ^= (uint8_t)(1u << bit % 8);
			bad += merkle_check_inclusion((const merkle_hash *)p,
			                              count, i, n, leaf, root);
			h[bit / 8] ^= (uint8_t)(1u << bit % 8);
		}
	}
	/* Dropped, extra or misplaced elements and a wrong position. (Not a
	 * wrong size: a proof binds the root, and sizes whose trees share
	 * the leaf's path, like 3 and 4 for leaf 0, check alike.) */
	if (count > 0) {
		bad += merkle_check_inclusion((const merkle_hash *)p, count - 1,
		                              i, n, leaf, root);
		bad += merkle_check_inclusion((const merkle_hash *)p + 1,
		                              count - 1, i, n, leaf, root);
	}
	bad += merkle_check_inclusion((const merkle_hash *)p, count + 1, i, n,
	                              leaf, root);
	if (n > 1)
		bad += merkle_check_inclusion((const merkle_hash *)p, count,
		                              (i + 1) % n, n, leaf, root);
	bad += merkle_check_inclusion((const merkle_hash *)p, count, n, n,
	                              leaf, root);
	return bad;
}

static void test_merkle_inclusion_all(void)
{
	mem_store *m = store_new(TEST_PROOF_SIZE_MAX);
	merkle_hash p[MERKLE_PROOF_MAX + 1], want[MERKLE_PROOF_MAX], root;
	unsigned bad = 0, accepted_tampered = 0, proofs = 0;

	for (uint64_t n = 1; n <= TEST_PROOF_SIZE_MAX; n++) {
		ref_mth(root, m->leaf, 0, n);
		for (uint64_t i = 0; i < n; i++) {
			size_t count = 0, want_count = 0;

			ref_path(want, &want_count, m->leaf, i, 0, n);
			m->reads = 0;
			if (merkle_prove_inclusion(p, &count, i, n, mem_read,
			                           m) != 0 ||
			    count != want_count ||
			    memcmp(p, want, count * 32) != 0 ||
			    m->reads > 2 * bits_of(n) ||
			    !merkle_check_inclusion((const merkle_hash *)p, count,
			                            i, n, m->leaf[i], root))
				bad++;
			memset(p[count], 0x5a, 32);
			accepted_tampered += inclusion_rejects(p, count, i, n,
			                                       m->leaf[i], root);
			proofs++;
		}
	}
	CU_ASSERT_EQUAL(proofs, 64 * 65 / 2);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(accepted_tampered, 0);
	free(m);
}

static unsigned consistency_rejects(merkle_hash *p, size_t count, uint64_t o,
                                    uint64_t n, merkle_hash old_root,
                                    merkle_hash new_root)
{
	unsigned bad = 0, flips = flip_count(n);
	const merkle_hash *cp = (const merkle_hash *)p;

	for (size_t e = 0; e <= count + 1; e++) {
		uint8_t *h = e < count ? p[e] : e == count ? old_root : new_root;

		for (unsigned j = 0; j < flips; j++) {
			unsigned bit = flip_bits(n, j);

			h[bit / 8] ^= (uint8_t)(1u << bit % 8);
			bad += merkle_check_consistency(cp, count, o, n,
			                                old_root, new_root);
			h[bit / 8] ^= (uint8_t)(1u << bit % 8);
		}
	}
	if (count > 0) {
		bad += merkle_check_consistency(cp, count - 1, o, n, old_root,
		                                new_root);
		bad += merkle_check_consistency(cp + 1, count - 1, o, n,
		                                old_root, new_root);
	}
	bad += merkle_check_consistency(cp, count + 1, o, n, old_root, new_root);
	bad += merkle_check_consistency(cp, count, 0, n, old_root, new_root);
	if (o < n)
		bad += merkle_check_consistency(cp, count, n, o, new_root,
		                                old_root);
	return bad;
}

static void test_merkle_consistency_all(void)
{
	mem_store *m = store_new(TEST_PROOF_SIZE_MAX);
	merkle_hash p[MERKLE_PROOF_MAX + 1], want[MERKLE_PROOF_MAX];
	merkle_hash old_root, new_root;
	unsigned bad = 0, accepted_tampered = 0, proofs = 0;

	for (uint64_t n = 1; n <= TEST_PROOF_SIZE_MAX; n++) {
		ref_mth(new_root, m->leaf, 0, n);
		for (uint64_t o = 1; o <= n; o++) {
			size_t count = 0, want_count = 0;

			ref_mth(old_root, m->leaf, 0, o);
			ref_subproof(want, &want_count, m->leaf, o, 0, n, 1);
			m->reads = 0;
			if (merkle_prove_consistency(p, &count, o, n, mem_read,
			                             m) != 0 ||
			    count != want_count ||
			    memcmp(p, want, count * 32) != 0 ||
			    m->reads > 3 * bits_of(n) ||
			    !merkle_check_consistency((const merkle_hash *)p,
			                              count, o, n, old_root,
			                              new_root))
				bad++;
			memset(p[count], 0x5a, 32);
			accepted_tampered += consistency_rejects(p, count, o, n,
			                                         old_root,
			                                         new_root);
			proofs++;
		}
	}
	CU_ASSERT_EQUAL(proofs, 64 * 65 / 2);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(accepted_tampered, 0);
	free(m);
}

/* Beyond 64 leaves, a sample of proofs against the model and the checks. */
static void test_merkle_proofs_sampled_to_300(void)
{
	mem_store *m = store_new(TEST_LEAVES_MAX);
	merkle_hash p[MERKLE_PROOF_MAX], want[MERKLE_PROOF_MAX], r1, r2;
	unsigned bad = 0;

	for (uint64_t n = 65; n <= TEST_LEAVES_MAX; n += 7) {
		uint64_t pick[4] = { 0, n / 3, (n * 5) / 7, n - 1 };

		ref_mth(r2, m->leaf, 0, n);
		for (unsigned j = 0; j < 4; j++) {
			size_t count = 0, want_count = 0;

			ref_path(want, &want_count, m->leaf, pick[j], 0, n);
			if (merkle_prove_inclusion(p, &count, pick[j], n,
			                           mem_read, m) != 0 ||
			    count != want_count || memcmp(p, want, count * 32) ||
			    !merkle_check_inclusion((const merkle_hash *)p, count,
			                            pick[j], n, m->leaf[pick[j]],
			                            r2))
				bad++;
			count = want_count = 0;
			ref_mth(r1, m->leaf, 0, pick[j] + 1);
			ref_subproof(want, &want_count, m->leaf, pick[j] + 1, 0,
			             n, 1);
			if (merkle_prove_consistency(p, &count, pick[j] + 1, n,
			                             mem_read, m) != 0 ||
			    count != want_count || memcmp(p, want, count * 32) ||
			    !merkle_check_consistency((const merkle_hash *)p,
			                              count, pick[j] + 1, n, r1,
			                              r2))
				bad++;
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
	free(m);
}

static void test_merkle_check_edges(void)
{
	mem_store *m = store_new(8);
	merkle_hash r, p[1];

	merkle_root(r, 1, mem_read, m);
	/* One leaf: an empty proof, and the root is the leaf. */
	CU_ASSERT_TRUE(merkle_check_inclusion(p, 0, 0, 1, m->leaf[0], r));
	CU_ASSERT_FALSE(merkle_check_inclusion(p, 0, 0, 0, m->leaf[0], r));
	CU_ASSERT_FALSE(merkle_check_inclusion(p, 0, 1, 1, m->leaf[0], r));
	CU_ASSERT_FALSE(merkle_check_inclusion(p, MERKLE_PROOF_MAX + 1, 0, 1,
	                                       m->leaf[0], r));
	/* old == new: empty proof between equal roots only. */
	CU_ASSERT_TRUE(merkle_check_consistency(p, 0, 1, 1, r, r));
	memcpy(p[0], r, 32);
	CU_ASSERT_FALSE(merkle_check_consistency(p, 1, 1, 1, r, r));
	CU_ASSERT_FALSE(merkle_check_consistency(p, 0, 1, 1, r, m->leaf[1]));
	CU_ASSERT_FALSE(merkle_check_consistency(p, 0, 0, 0, r, r));
	CU_ASSERT_FALSE(merkle_check_consistency(p, 0, 0, 1, r, r));
	CU_ASSERT_FALSE(merkle_check_consistency(p, 0, 1, 2, r, r));
	free(m);
}

/* A valid proof for a subtree's root must not pass for a larger tree whose
 * path starts the same way: RFC 9162 ends both checks with sn == 0. */
static void test_merkle_check_rejects_subtree_root(void)
{
	mem_store *m = store_new(8);
	merkle_hash r1, r2, p[MERKLE_PROOF_MAX];
	size_t count = 0;

	merkle_root(r1, 1, mem_read, m);
	merkle_root(r2, 2, mem_read, m);
	CU_ASSERT_EQUAL(merkle_prove_inclusion(p, &count, 0, 2, mem_read, m), 0);
	CU_ASSERT_EQUAL(count, 1);
	CU_ASSERT_TRUE(merkle_check_inclusion(p, count, 0, 2, m->leaf[0], r2));
	for (uint64_t n = 3; n <= 8; n++)
		CU_ASSERT_FALSE(merkle_check_inclusion(p, count, 0, n,
		                                       m->leaf[0], r2));
	CU_ASSERT_EQUAL(merkle_prove_consistency(p, &count, 1, 2, mem_read, m),
	                0);
	CU_ASSERT_EQUAL(count, 1);
	CU_ASSERT_TRUE(merkle_check_consistency(p, count, 1, 2, r1, r2));
	for (uint64_t n = 3; n <= 8; n++)
		CU_ASSERT_FALSE(merkle_check_consistency(p, count, 1, n, r1, r2));
	free(m);
}

static void test_merkle_storage_errors(void)
{
	mem_store *m = store_new(8);
	merkle_hash r, p[MERKLE_PROOF_MAX];
	merkle_frontier f;
	size_t count = 99;

	m->readable = 3;  /* (0,0) (0,1) (1,0) readable */
	CU_ASSERT_EQUAL(merkle_root(r, 2, mem_read, m), 0);
	CU_ASSERT_EQUAL(merkle_root(r, 3, mem_read, m), 5);
	CU_ASSERT_EQUAL(merkle_root(r, 8, mem_read, m), 5);
	CU_ASSERT_EQUAL(merkle_frontier_load(&f, 7, mem_read, m), 5);
	CU_ASSERT_EQUAL(merkle_prove_inclusion(p, &count, 0, 8, mem_read, m), 5);
	CU_ASSERT_EQUAL(count, 0);
	count = 99;
	CU_ASSERT_EQUAL(merkle_prove_consistency(p, &count, 3, 8, mem_read, m),
	                5);
	CU_ASSERT_EQUAL(count, 0);
	free(m);

	/* Appending leaf 7 stores (0,7) (1,3) (2,1) (3,0). A failure at (2,1)
	 * stops the append and leaves the frontier as it was, so the caller
	 * can roll back and retry. */
	m = store_new(7);
	m->emit_fail_at = (int)merkle_stored_index(2, 1);
	f = m->f;
	CU_ASSERT_EQUAL(merkle_frontier_push(&f, m->leaf[0], mem_emit, m), 7);
	CU_ASSERT_EQUAL(m->count, merkle_stored_count(7) + 2);
	CU_ASSERT_EQUAL(f.size, 7);
	CU_ASSERT_EQUAL(memcmp(&f, &m->f, sizeof f), 0);
	free(m);
}

static void test_merkle_frontier_push_order(void)
{
	mem_store *m = store_new(0);
	merkle_frontier f = { 0 };

	/* mem_emit refuses anything but the next index, so 300 pushes with
	 * no error show tlog's contiguous increasing order. */
	for (unsigned i = 0; i < TEST_LEAVES_MAX; i++) {
		merkle_leaf_hash(m->leaf[i], &i, sizeof i);
		CU_ASSERT_EQUAL_FATAL(merkle_frontier_push(&f, m->leaf[i],
		                                           mem_emit, m), 0);
		CU_ASSERT_EQUAL_FATAL(m->count, merkle_stored_count(i + 1));
	}
	free(m);
}

/* ---- published vectors ---- */

static const char *vectors_dir(void)
{
	const char *d = getenv("ANNALS_TEST_VECTORS");

	return d != NULL && d[0] != '\0' ? d : "tests/vectors/tlog";
}

static json_t *vectors_load(const char *name)
{
	char path[1024];
	json_error_t e;
	json_t *j;

	snprintf(path, sizeof path, "%s/%s", vectors_dir(), name);
	j = json_load_file(path, 0, &e);
	if (j == NULL)
		fprintf(stderr, "test_merkle: %s: %s\n", path, e.text);
	return j;
}

static int hex_hash(merkle_hash out, const json_t *j)
{
	const char *s = json_string_value(j);

	if (s == NULL || strlen(s) != 64)
		return -1;
	for (unsigned i = 0; i < 32; i++) {
		unsigned v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	return 0;
}

/* A store over the given leaf hashes. */
static mem_store *store_of(const merkle_hash *leaf, size_t n)
{
	mem_store *m = calloc(1, sizeof *m);

	if (m == NULL || n > TEST_LEAVES_MAX)
		abort();
	m->readable = UINT64_MAX;
	m->emit_fail_at = -1;
	for (size_t i = 0; i < n; i++) {
		memcpy(m->leaf[i], leaf[i], 32);
		if (merkle_frontier_push(&m->f, leaf[i], mem_emit, m) != 0)
			abort();
	}
	m->leaves = n;
	return m;
}

/* Compares one {tree_size, root} list; returns mismatches. */
static unsigned vectors_roots(mem_store *m, const json_t *roots)
{
	unsigned bad = 0;
	size_t i;
	json_t *r;

	json_array_foreach(roots, i, r) {
		uint64_t n = (uint64_t)json_integer_value(json_object_get(r, "tree_size"));
		merkle_hash want, got;

		if (hex_hash(want, json_object_get(r, "root")) != 0 ||
		    n > m->leaves || merkle_root(got, n, mem_read, m) != 0 ||
		    memcmp(got, want, 32) != 0)
			bad++;
	}
	return bad;
}

static int proof_of(merkle_hash *p, size_t *count, const json_t *arr)
{
	size_t i;
	json_t *e;

	if (!json_is_array(arr) || json_array_size(arr) > MERKLE_PROOF_MAX)
		return -1;
	*count = json_array_size(arr);
	json_array_foreach(arr, i, e)
		if (hex_hash(p[i], e) != 0)
			return -1;
	return 0;
}

/* One inclusion vector: our proof equals it byte for byte and checks. */
static unsigned vector_inclusion(mem_store *m, const json_t *v)
{
	merkle_hash want[MERKLE_PROOF_MAX], got[MERKLE_PROOF_MAX], leaf, root;
	uint64_t i = (uint64_t)json_integer_value(json_object_get(v, "index"));
	uint64_t n = (uint64_t)json_integer_value(json_object_get(v, "tree_size"));
	uint64_t seq = (uint64_t)json_integer_value(json_object_get(v, "seq"));
	size_t want_count = 0, count = 0;

	if (proof_of(want, &want_count, json_object_get(v, "proof")) != 0 ||
	    hex_hash(leaf, json_object_get(v, "leaf_hash")) != 0 ||
	    hex_hash(root, json_object_get(v, "root")) != 0 ||
	    seq != i + 1 || i >= n || n > m->leaves ||
	    memcmp(leaf, m->leaf[i], 32) != 0)
		return 1;
	if (merkle_prove_inclusion(got, &count, i, n, mem_read, m) != 0 ||
	    count != want_count || memcmp(got, want, count * 32) != 0)
		return 1;
	return !merkle_check_inclusion((const merkle_hash *)want, want_count,
	                               i, n, leaf, root);
}

static unsigned vector_consistency(mem_store *m, const json_t *v)
{
	merkle_hash want[MERKLE_PROOF_MAX], got[MERKLE_PROOF_MAX], r1, r2, r;
	uint64_t o = (uint64_t)json_integer_value(json_object_get(v, "old_size"));
	uint64_t n = (uint64_t)json_integer_value(json_object_get(v, "new_size"));
	size_t want_count = 0, count = 0;

	if (proof_of(want, &want_count, json_object_get(v, "proof")) != 0 ||
	    hex_hash(r1, json_object_get(v, "old_root")) != 0 ||
	    hex_hash(r2, json_object_get(v, "new_root")) != 0 ||
	    o < 1 || o > n || n > m->leaves)
		return 1;
	if (merkle_root(r, o, mem_read, m) != 0 || memcmp(r, r1, 32) != 0 ||
	    merkle_root(r, n, mem_read, m) != 0 || memcmp(r, r2, 32) != 0)
		return 1;
	if (merkle_prove_consistency(got, &count, o, n, mem_read, m) != 0 ||
	    count != want_count || memcmp(got, want, count * 32) != 0)
		return 1;
	return !merkle_check_consistency((const merkle_hash *)want, want_count,
	                                 o, n, r1, r2);
}

static unsigned vectors_each(mem_store *m, const json_t *arr, int inclusion,
                             unsigned *seen)
{
	unsigned bad = 0;
	size_t i;
	json_t *v;

	if (!json_is_array(arr))
		return 1;
	json_array_foreach(arr, i, v) {
		bad += inclusion ? vector_inclusion(m, v) :
		                   vector_consistency(m, v);
		(*seen)++;
	}
	return bad;
}

/* leaves.json: the records hash to the listed leaves; a store of them. */
static mem_store *vectors_tlog_store(void)
{
	merkle_hash leaf[TEST_LEAVES_MAX], want;
	json_t *leaves = vectors_load("leaves.json"), *l;
	mem_store *m = NULL;
	size_t i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(leaves);
	CU_ASSERT_EQUAL(json_array_size(leaves), 20);
	json_array_foreach(leaves, i, l) {
		const char *rec = json_string_value(json_object_get(l, "record"));

		CU_ASSERT_PTR_NOT_NULL_FATAL(rec);
		CU_ASSERT_EQUAL(json_integer_value(json_object_get(l, "index")),
		                (json_int_t)i);
		merkle_leaf_hash(leaf[i], rec, strlen(rec));
		CU_ASSERT_EQUAL(hex_hash(want, json_object_get(l, "leaf_hash")), 0);
		CU_ASSERT_EQUAL(memcmp(leaf[i], want, 32), 0);
	}
	m = store_of(leaf, json_array_size(leaves));
	json_decref(leaves);
	return m;
}

static void test_merkle_vectors_tlog(void)
{
	mem_store *m = vectors_tlog_store();
	json_t *roots = vectors_load("roots.json");
	json_t *inc = vectors_load("inclusion.json");
	json_t *con = vectors_load("consistency.json");
	merkle_hash want, got;
	unsigned seen = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(roots);
	CU_ASSERT_PTR_NOT_NULL_FATAL(inc);
	CU_ASSERT_PTR_NOT_NULL_FATAL(con);
	CU_ASSERT_EQUAL(hex_hash(want, json_object_get(roots, "empty_tree_root")), 0);
	CU_ASSERT_EQUAL(merkle_root(got, 0, mem_read, m), 0);
	CU_ASSERT_EQUAL(memcmp(got, want, 32), 0);
	CU_ASSERT_EQUAL(json_array_size(json_object_get(roots, "roots")), 20);
	CU_ASSERT_EQUAL(vectors_roots(m, json_object_get(roots, "roots")), 0);
	CU_ASSERT_EQUAL(vectors_each(m, inc, 1, &seen), 0);
	CU_ASSERT_EQUAL(vectors_each(m, con, 0, &seen), 0);
	CU_ASSERT_EQUAL(seen, 72);
	json_decref(roots);
	json_decref(inc);
	json_decref(con);
	free(m);
}

/* The one-proof-per-file copies, in the oracle's input format. */
static void test_merkle_vectors_tlog_files(void)
{
	mem_store *m = vectors_tlog_store();
	unsigned bad = 0, seen = 0;
	char name[64];

	for (unsigned n = 1; n <= 8; n++) {
		for (unsigned k = 0; k < n; k++) {
			json_t *v;

			snprintf(name, sizeof name, "inclusion/n%u-i%u.json", n, k);
			v = vectors_load(name);
			bad += v == NULL ? 1 : vector_inclusion(m, v);
			json_decref(v);
			snprintf(name, sizeof name, "consistency/m%u-n%u.json",
			         k + 1, n);
			v = vectors_load(name);
			bad += v == NULL ? 1 : vector_consistency(m, v);
			json_decref(v);
			seen += 2;
		}
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(seen, 72);
	free(m);
}

static int hex_bytes(uint8_t *out, size_t cap, size_t *n, const char *s)
{
	size_t len = strlen(s);

	if (len % 2 != 0 || len / 2 > cap)
		return -1;
	for (size_t i = 0; i < len / 2; i++) {
		unsigned v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1)
			return -1;
		out[i] = (uint8_t)v;
	}
	*n = len / 2;
	return 0;
}

static void test_merkle_vectors_rfc6962(void)
{
	json_t *j = vectors_load("rfc6962-ct-reference.json"), *in;
	merkle_hash leaf[8];
	mem_store *m;
	unsigned seen = 0;
	size_t i;

	CU_ASSERT_PTR_NOT_NULL_FATAL(j);
	in = json_object_get(j, "leaf_inputs_hex");
	CU_ASSERT_EQUAL_FATAL(json_array_size(in), 8);
	for (i = 0; i < 8; i++) {
		uint8_t data[64];
		size_t n = 0;

		CU_ASSERT_EQUAL_FATAL(hex_bytes(data, sizeof data, &n,
		                      json_string_value(json_array_get(in, i))), 0);
		merkle_leaf_hash(leaf[i], data, n);
	}
	m = store_of(leaf, 8);
	CU_ASSERT_EQUAL(json_array_size(json_object_get(j, "roots")), 9);
	CU_ASSERT_EQUAL(vectors_roots(m, json_object_get(j, "roots")), 0);
	CU_ASSERT_EQUAL(vectors_each(m, json_object_get(j, "inclusion"), 1,
	                             &seen), 0);
	CU_ASSERT_EQUAL(vectors_each(m, json_object_get(j, "consistency"), 0,
	                             &seen), 0);
	CU_ASSERT_EQUAL(seen, 11);
	json_decref(j);
	free(m);
}

void suite_merkle(void);
void suite_merkle(void)
{
	CU_pSuite s = CU_add_suite("merkle", NULL, NULL);

	CU_add_test(s, "leaf and node hashes", test_merkle_hashes);
	CU_add_test(s, "stored index layout", test_merkle_stored_index);
	CU_add_test(s, "roots of every size 0..300", test_merkle_roots_all_sizes);
	CU_add_test(s, "append emits in index order", test_merkle_frontier_push_order);
	CU_add_test(s, "every inclusion proof to 64", test_merkle_inclusion_all);
	CU_add_test(s, "every consistency proof to 64", test_merkle_consistency_all);
	CU_add_test(s, "sampled proofs to 300", test_merkle_proofs_sampled_to_300);
	CU_add_test(s, "check edge cases", test_merkle_check_edges);
	CU_add_test(s, "check rejects a subtree's root",
	            test_merkle_check_rejects_subtree_root);
	CU_add_test(s, "storage errors pass up", test_merkle_storage_errors);
	CU_add_test(s, "tlog vectors", test_merkle_vectors_tlog);
	CU_add_test(s, "tlog vector files", test_merkle_vectors_tlog_files);
	CU_add_test(s, "RFC 6962 CT vectors", test_merkle_vectors_rfc6962);
}
