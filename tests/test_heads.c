/* The heads map: the stored versioned tree, the in-memory trie and the
 * proofs against an independent recursive reference of DESIGN §5. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <openssl/evp.h>

#include "heads.h"
#include "store.h"

void suite_heads(void);

#define KEYS_MAX 300

typedef struct ref_leaf {
	uint8_t key[32];
	uint64_t version, seq;
} ref_leaf;

static void sha(uint8_t out[32], const void *p, size_t n)
{
	unsigned int len;
	EVP_Digest(p, n, out, &len, EVP_sha256(), NULL);
}

static unsigned bit(const uint8_t *k, unsigned d)
{
	return k[d / 8] >> (7 - d % 8) & 1u;
}

/* The definition, recursively: the leaves of `all` whose key starts with
 * the d bits of `path`. */
static void ref_hash(uint8_t out[32], const ref_leaf *all, size_t n,
                     const uint8_t *path, unsigned d)
{
	size_t count = 0, one = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned k = 0;
		while (k < d && bit(all[i].key, k) == bit(path, k))
			k++;
		if (k == d) {
			count++;
			one = i;
		}
	}
	if (count == 0) {
		memset(out, 0, 32);
		return;
	}
	if (count == 1) {
		uint8_t b[49];
		b[0] = 0;
		memcpy(b + 1, all[one].key, 32);
		for (int i = 0; i < 8; i++) {
			b[33 + i] = (uint8_t)(all[one].version >> (56 - 8 * i));
			b[41 + i] = (uint8_t)(all[one].seq >> (56 - 8 * i));
		}
		sha(out, b, 49);
		return;
	}
	uint8_t p[32], b[65];
	memcpy(p, path, 32);
	p[d / 8] &= (uint8_t)~(0x80u >> (d % 8));
	ref_hash(b + 1, all, n, p, d + 1);
	p[d / 8] |= (uint8_t)(0x80u >> (d % 8));
	ref_hash(b + 33, all, n, p, d + 1);
	b[0] = 1;
	sha(out, b, 65);
}

static void ref_root(uint8_t out[32], const ref_leaf *all, size_t n)
{
	uint8_t path[32] = { 0 };
	ref_hash(out, all, n, path, 0);
}

static int cmp_change(const void *a, const void *b)
{
	return memcmp(((const heads_change *)a)->key, ((const heads_change *)b)->key, 32);
}

typedef struct env_fixture {
	char dir[64];
	store *s;
	errbuf e;
} env_fixture;

static void open_env(env_fixture *f)
{
	strcpy(f->dir, "/tmp/annals-heads-XXXXXX");
	CU_ASSERT_FATAL(mkdtemp(f->dir) != NULL);
	CU_ASSERT_FATAL(store_open(&f->s, f->dir, 0, true, &f->e) == LEDGER_OK);
}

static void close_env(env_fixture *f)
{
	char p[128];
	store_close(f->s);
	snprintf(p, sizeof p, "%s/data.mdb", f->dir);
	unlink(p);
	snprintf(p, sizeof p, "%s/lock.mdb", f->dir);
	unlink(p);
	rmdir(f->dir);
}

/* Random transactions of inserts and updates; after each, the stored root,
 * the in-memory root and the reference agree; every key's proof (and some
 * absent keys') leads to the root at every earlier transaction's size.
 * Each change advances the tree size by `step`: a large step makes most
 * transactions end in a new epoch of the stored top nodes (heads.c), so
 * that the copies carried into each epoch are read and checked. */
static void random_transactions(uint64_t step)
{
	static ref_leaf all[KEYS_MAX];
	static heads_change ch[KEYS_MAX];
	static uint8_t roots[64][32];
	static uint64_t sizes[64];
	static ref_leaf snap[64][KEYS_MAX];
	static size_t snap_n[64];
	env_fixture f;
	heads_mem *m = heads_mem_new(NULL);
	size_t n = 0, txns = 0;
	uint64_t seq = 0, compared = 0, stored = 0, bytes;
	unsigned seed = 7;

	open_env(&f);
	for (int t = 0; t < 40; t++) {
		MDB_txn *txn;
		size_t k = (size_t)(rand_r(&seed) % 12) + 1;
		size_t c = 0;
		CU_ASSERT_FATAL(store_begin(&txn, f.s, true, &f.e) == LEDGER_OK);
		for (size_t i = 0; i < k; i++) {
			size_t at;
			if (n < 3 || (n < KEYS_MAX && rand_r(&seed) % 2)) {
				at = n++;
				uint8_t name[8];
				for (int b = 0; b < 8; b++)
					name[b] = (uint8_t)rand_r(&seed);
				sha(all[at].key, name, 8);
				/* Some keys share long prefixes with another. */
				if (at > 0 && rand_r(&seed) % 4 == 0) {
					memcpy(all[at].key, all[at - 1].key, 3);
					all[at].key[3] ^= 0x01;
				}
				all[at].version = 0;
			} else {
				at = (size_t)rand_r(&seed) % n;
			}
			all[at].version++;
			all[at].seq = seq += step;
			size_t j = 0;
			while (j < c && memcmp(ch[j].key, all[at].key, 32))
				j++;
			memcpy(ch[j].key, all[at].key, 32);
			ch[j].version = all[at].version;
			ch[j].seq = all[at].seq;
			if (j == c)
				c++;
			CU_ASSERT_EQUAL(heads_mem_set(m, all[at].key, all[at].version,
			                              all[at].seq), 0);
		}
		qsort(ch, c, sizeof *ch, cmp_change);
		uint8_t got[32], want[32], mem[32];
		CU_ASSERT_FATAL(heads_update(got, NULL, txn, f.s, &f.e, ch, c, seq) == LEDGER_OK);
		ref_root(want, all, n);
		CU_ASSERT_EQUAL(heads_mem_root(m, mem), 0);
		CU_ASSERT_EQUAL(memcmp(got, want, 32), 0);
		CU_ASSERT_EQUAL(memcmp(mem, want, 32), 0);
		/* The nodes the trie marks changed are those heads_update stored
		 * (moved leaves included), node for node. */
		CU_ASSERT_EQUAL(heads_mem_check_version(m, txn, f.s, &f.e, seq,
		                                        &compared), LEDGER_OK);
		CU_ASSERT_FATAL(store_commit(&txn, &f.e) == LEDGER_OK);
		memcpy(roots[txns], want, 32);
		sizes[txns] = seq;
		memcpy(snap[txns], all, n * sizeof *all);
		snap_n[txns++] = n;
	}
	/* Proofs at every transaction's size. */
	MDB_txn *txn;
	CU_ASSERT_FATAL(store_begin(&txn, f.s, false, &f.e) == LEDGER_OK);
	CU_ASSERT_EQUAL(store_db_stat(txn, f.s, DB_SMT, &stored, &bytes, &f.e),
	                LEDGER_OK);
	CU_ASSERT_EQUAL(stored, compared);
	CU_ASSERT(compared > 40);
	for (size_t t = 0; t < txns; t++) {
		uint8_t root[32], r[32];
		CU_ASSERT_EQUAL(heads_root_at(root, txn, f.s, &f.e, sizes[t]), LEDGER_OK);
		CU_ASSERT_EQUAL(memcmp(root, roots[t], 32), 0);
		for (size_t i = 0; i < n; i++) {
			heads_proof p;
			CU_ASSERT_FATAL(heads_prove(&p, txn, f.s, &f.e, all[i].key,
			                            sizes[t]) == LEDGER_OK);
			CU_ASSERT_TRUE(heads_proof_root(r, &p, all[i].key));
			CU_ASSERT_EQUAL(memcmp(r, roots[t], 32), 0);
			bool member = i < snap_n[t];
			CU_ASSERT_EQUAL(p.kind == HEADS_MEMBER, member);
			if (member) {
				CU_ASSERT_EQUAL(p.version, snap[t][i].version);
				CU_ASSERT_EQUAL(p.seq, snap[t][i].seq);
				/* A proof claiming another version fails. */
				p.version++;
				CU_ASSERT_TRUE(heads_proof_root(r, &p, all[i].key));
				CU_ASSERT_NOT_EQUAL(memcmp(r, roots[t], 32), 0);
			}
		}
	}
	store_abort(txn);
	heads_mem_free(m);
	close_env(&f);
}

static void test_heads_random_transactions(void)
{
	random_transactions(1);
}

static void test_heads_random_transactions_epochs(void)
{
	random_transactions(3001);
}

static void test_heads_empty_and_single(void)
{
	env_fixture f;
	MDB_txn *txn;
	uint8_t root[32], r[32], key[32], other[32];
	heads_proof p;
	heads_change c;

	open_env(&f);
	heads_key(key, NULL, "KZ", "taliban");
	heads_key(other, NULL, "", "taliban");
	CU_ASSERT_NOT_EQUAL(memcmp(key, other, 32), 0);
	CU_ASSERT_FATAL(store_begin(&txn, f.s, true, &f.e) == LEDGER_OK);
	CU_ASSERT_EQUAL(heads_root_at(root, txn, f.s, &f.e, 5), LEDGER_OK);
	CU_ASSERT_EQUAL(memcmp(root, (uint8_t[32]){ 0 }, 32), 0);
	CU_ASSERT_EQUAL(heads_prove(&p, txn, f.s, &f.e, key, 5), LEDGER_OK);
	CU_ASSERT_EQUAL(p.kind, HEADS_EMPTY);
	memcpy(c.key, key, 32);
	c.version = 3;
	c.seq = 9;
	CU_ASSERT_EQUAL(heads_update(root, NULL, txn, f.s, &f.e, &c, 1, 9), LEDGER_OK);
	heads_leaf(r, key, 3, 9);
	CU_ASSERT_EQUAL(memcmp(root, r, 32), 0);     /* one leaf: the root is it */
	CU_ASSERT_EQUAL(heads_prove(&p, txn, f.s, &f.e, other, 9), LEDGER_OK);
	CU_ASSERT_EQUAL(p.kind, HEADS_OTHER);
	CU_ASSERT_TRUE(heads_proof_root(r, &p, other));
	CU_ASSERT_EQUAL(memcmp(r, root, 32), 0);
	/* An OTHER proof cannot name the key itself. */
	memcpy(p.leaf_key, other, 32);
	CU_ASSERT_FALSE(heads_proof_root(r, &p, other));
	store_abort(txn);
	close_env(&f);
}

/* The map as of a size that ends no transaction is the map as of the
 * last transaction before it, also when that size lies in a newer epoch
 * of the stored top nodes than the transaction (here 16500, between the
 * transactions ending at 9 and at 20000: the root is rewritten at 20000,
 * so no copy of the root of 9 is kept in the epoch of 16500). */
static void test_heads_root_between_epochs(void)
{
	env_fixture f;
	MDB_txn *txn;
	uint8_t r9[32], r20000[32], got[32], k1[32], k2[32];
	heads_change c;

	open_env(&f);
	heads_key(k1, NULL, "KZ", "taliban");
	heads_key(k2, NULL, "AF", "taliban");
	CU_ASSERT_FATAL(store_begin(&txn, f.s, true, &f.e) == LEDGER_OK);
	memcpy(c.key, k1, 32);
	c.version = 1;
	c.seq = 9;
	CU_ASSERT_EQUAL(heads_update(r9, NULL, txn, f.s, &f.e, &c, 1, 9), LEDGER_OK);
	memcpy(c.key, k2, 32);
	c.seq = 20000;
	CU_ASSERT_EQUAL(heads_update(r20000, NULL, txn, f.s, &f.e, &c, 1, 20000), LEDGER_OK);
	CU_ASSERT_EQUAL(heads_root_at(got, txn, f.s, &f.e, 16383), LEDGER_OK);
	CU_ASSERT_EQUAL(memcmp(got, r9, 32), 0);     /* epoch 0: fine */
	CU_ASSERT_EQUAL(heads_root_at(got, txn, f.s, &f.e, 16500), LEDGER_OK);
	CU_ASSERT_EQUAL(memcmp(got, r9, 32), 0);
	CU_ASSERT_EQUAL(heads_root_at(got, txn, f.s, &f.e, 20000), LEDGER_OK);
	CU_ASSERT_EQUAL(memcmp(got, r20000, 32), 0);
	CU_ASSERT_EQUAL(heads_root_at(got, txn, f.s, &f.e, 8), LEDGER_OK);
	CU_ASSERT_EQUAL(memcmp(got, (uint8_t[32]){ 0 }, 32), 0);   /* empty then */
	heads_proof p;
	CU_ASSERT_EQUAL(heads_prove(&p, txn, f.s, &f.e, k1, 16500), LEDGER_OK);
	CU_ASSERT_TRUE(p.kind == HEADS_MEMBER && p.seq == 9 &&
	               heads_proof_root(got, &p, k1) && memcmp(got, r9, 32) == 0);
	CU_ASSERT_EQUAL(heads_prove(&p, txn, f.s, &f.e, k2, 16500), LEDGER_OK);
	CU_ASSERT_TRUE(p.kind != HEADS_MEMBER &&
	               heads_proof_root(got, &p, k2) && memcmp(got, r9, 32) == 0);
	store_abort(txn);
	close_env(&f);
}

void suite_heads(void)
{
	CU_pSuite s = CU_add_suite("heads", NULL, NULL);
	CU_add_test(s, "empty and single-leaf maps", test_heads_empty_and_single);
	CU_add_test(s, "a root between the transactions of two epochs", test_heads_root_between_epochs);
	CU_add_test(s, "random transactions against the reference",
	            test_heads_random_transactions);
	CU_add_test(s, "random transactions across epochs of the top nodes",
	            test_heads_random_transactions_epochs);
}
