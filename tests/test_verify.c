/* ledger_verify against tampering (DESIGN §8): bytes of stored envelopes,
 * bodies, Merkle tiles and stream heads are changed, deleted or swapped
 * directly in LMDB, and verify must return LEDGER_ECORRUPT naming the
 * first bad seq (or the Merkle tile). The expected root of a clean ledger
 * is recomputed here from the leaf hashes (RFC 9162). */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <openssl/evp.h>

#include "fixture.h"
#include "ledger.h"

#define EVENTS 50u

static void node_hash(uint8_t out[LEDGER_HASH_BYTES],
                      const uint8_t left[LEDGER_HASH_BYTES],
                      const uint8_t right[LEDGER_HASH_BYTES])
{
	static const uint8_t one[1] = { 0x01 };
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	CU_ASSERT_FATAL(c != NULL);
	CU_ASSERT(EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
	          EVP_DigestUpdate(c, one, 1) == 1 &&
	          EVP_DigestUpdate(c, left, LEDGER_HASH_BYTES) == 1 &&
	          EVP_DigestUpdate(c, right, LEDGER_HASH_BYTES) == 1 &&
	          EVP_DigestFinal_ex(c, out, NULL) == 1);
	EVP_MD_CTX_free(c);
}

/* RFC 9162 root, level by level: an unpaired last node moves up as is,
 * which gives the same tree as splitting at the largest power of two. */
static void tree_root(uint8_t out[LEDGER_HASH_BYTES], const fixture_event *ev,
                      size_t n)
{
	uint8_t (*level)[LEDGER_HASH_BYTES] = malloc(n * LEDGER_HASH_BYTES);

	CU_ASSERT_FATAL(level != NULL && n > 0);
	for (size_t i = 0; i < n; i++)
		memcpy(level[i], ev[i].leaf_hash, LEDGER_HASH_BYTES);
	while (n > 1) {
		size_t m = 0;
		for (size_t i = 0; i + 1 < n; i += 2)
			node_hash(level[m++], level[i], level[i + 1]);
		if (n % 2)
			memcpy(level[m++], level[n - 1], LEDGER_HASH_BYTES);
		n = m;
	}
	memcpy(out, level[0], LEDGER_HASH_BYTES);
	free(level);
}

static void open_filled(fixture *f)
{
	CU_ASSERT_FATAL(fixture_open(f) == 0);
	CU_ASSERT_FATAL(fixture_fill(f, EVENTS) == 0);
}

static void expect_clean(fixture *f)
{
	ledger_verify_stats vs;
	ledger_err err = ledger_verify(&vs, f->l);

	CU_ASSERT_EQUAL(err, LEDGER_OK);
	if (err != LEDGER_OK)
		fprintf(stderr, "\nverify: %s\n", ledger_errmsg(f->l));
	CU_ASSERT_EQUAL(vs.events, EVENTS);
	CU_ASSERT_EQUAL(vs.first_bad_seq, 0);
}

/* Verify must fail naming seq (0: no seq expected) or, when want is set,
 * mentioning want. */
static void expect_corrupt(fixture *f, uint64_t seq, const char *want,
                           const char *what)
{
	ledger_verify_stats vs;
	ledger_err err = ledger_verify(&vs, f->l);
	const char *msg = ledger_errmsg(f->l);
	bool ok = err == LEDGER_ECORRUPT;

	CU_ASSERT_EQUAL(err, LEDGER_ECORRUPT);
	if (seq) {
		CU_ASSERT_EQUAL(vs.first_bad_seq, seq);
		CU_ASSERT(fixture_names_seq(msg, seq));
		ok = ok && vs.first_bad_seq == seq && fixture_names_seq(msg, seq);
	}
	if (want) {
		CU_ASSERT_PTR_NOT_NULL(strstr(msg, want));
		ok = ok && strstr(msg, want);
	}
	if (!ok)
		fprintf(stderr, "\n%s: want seq %llu%s%s; got %s (first_bad_seq %llu): %s\n",
		        what, (unsigned long long)seq, want ? " and " : "",
		        want ? want : "", ledger_strerror(err),
		        (unsigned long long)vs.first_bad_seq, msg);
}

static void test_verify_clean(void)
{
	fixture f;
	fixture_event *ev;
	ledger_verify_stats vs;
	uint8_t root[LEDGER_HASH_BYTES];

	open_filled(&f);
	size_t n = fixture_events(&ev, &f);
	CU_ASSERT_FATAL(n == EVENTS);
	CU_ASSERT_EQUAL(ledger_verify(&vs, f.l), LEDGER_OK);
	CU_ASSERT_EQUAL(vs.events, EVENTS);
	CU_ASSERT_EQUAL(vs.redacted, 0);
	CU_ASSERT_EQUAL(vs.first_bad_seq, 0);
	CU_ASSERT(vs.streams >= 3);
	size_t bytes = 0;
	for (size_t i = 0; i < n; i++)
		bytes += ev[i].envelope_bytes + ev[i].body_bytes;
	CU_ASSERT_EQUAL(vs.bytes, bytes);
	tree_root(root, ev, n);
	CU_ASSERT(memcmp(vs.root, root, LEDGER_HASH_BYTES) == 0);
	/* Tiles of 16: for 50 leaves three complete tiles of level 0, the
	 * partial tile 0/3 (2 leaves) and the partial tile 1/0. */
	ledger_stats ls;
	CU_ASSERT_EQUAL_FATAL(ledger_get_stats(&ls, f.l), LEDGER_OK);
	for (size_t i = 0; i < ls.dbs_count; i++)
		if (strcmp(ls.dbs[i].name, "merkle") == 0)
			CU_ASSERT_EQUAL(ls.dbs[i].entries, 5);
	/* The same on a read-only handle. */
	ledger *ro = NULL;
	fixture_close_ledger(&f);
	CU_ASSERT_EQUAL_FATAL(ledger_open(&ro, f.dir, LEDGER_OPEN_RDONLY), LEDGER_OK);
	CU_ASSERT_EQUAL(ledger_verify(&vs, ro), LEDGER_OK);
	CU_ASSERT_EQUAL(vs.events, EVENTS);
	CU_ASSERT(memcmp(vs.root, root, LEDGER_HASH_BYTES) == 0);
	ledger_close(ro);
	fixture_events_free(ev, n);
	fixture_close(&f);
}

/* Flip one byte, verify, flip it back, verify clean again. */
static void flip_and_check(fixture *f, const char *db, uint64_t seq,
                           size_t offset, uint8_t mask, const char *want)
{
	uint8_t key[8];
	char what[96];

	fixture_u64_key(key, seq);
	snprintf(what, sizeof what, "%s seq %llu byte %zu ^ %02x", db,
	         (unsigned long long)seq, offset, mask);
	CU_ASSERT_FATAL(fixture_db_flip(f, db, key, 8, offset, mask) == 0);
	expect_corrupt(f, seq, want, what);
	CU_ASSERT_FATAL(fixture_db_flip(f, db, key, 8, offset, mask) == 0);
	expect_clean(f);
}

static void test_verify_flipped_envelope_byte(void)
{
	fixture f;
	fixture_event *ev;
	static const uint64_t seqs[] = { 1, 2, 3, 17, 25, 31, 49, 50 };
	static const uint8_t masks[] = { 0x01, 0x80, 0xff, 0x20 };

	open_filled(&f);
	size_t n = fixture_events(&ev, &f);
	CU_ASSERT_FATAL(n == EVENTS);
	for (size_t i = 0; i < sizeof seqs / sizeof seqs[0]; i++) {
		size_t len = ev[seqs[i] - 1].envelope_bytes;
		/* First byte (a tag), inside the seq and hashes, middle, last. */
		size_t offsets[] = { 0, 1, 5, 20, len / 2, len - 3, len - 1 };
		for (size_t k = 0; k < sizeof offsets / sizeof offsets[0]; k++)
			flip_and_check(&f, "events", seqs[i], offsets[k],
			               masks[(i + k) % 4], NULL);
	}
	fixture_events_free(ev, n);
	fixture_close(&f);
}

static void test_verify_flipped_body_byte(void)
{
	fixture f;
	fixture_event *ev;
	static const uint64_t seqs[] = { 1, 4, 20, 50 };

	open_filled(&f);
	size_t n = fixture_events(&ev, &f);
	CU_ASSERT_FATAL(n == EVENTS);
	for (size_t i = 0; i < sizeof seqs / sizeof seqs[0]; i++) {
		size_t len = ev[seqs[i] - 1].body_bytes;
		/* The tag, the salt, the middle and the last byte. */
		size_t offsets[] = { 0, 2, len / 2, len - 1 };
		for (size_t k = 0; k < sizeof offsets / sizeof offsets[0]; k++)
			flip_and_check(&f, "bodies", seqs[i], offsets[k], 0x04, NULL);
	}
	fixture_events_free(ev, n);
	fixture_close(&f);
}

static void test_verify_deleted_body(void)
{
	static const uint64_t seqs[] = { 1, 23, 50 };

	for (size_t i = 0; i < sizeof seqs / sizeof seqs[0]; i++) {
		fixture f;
		uint8_t key[8];
		open_filled(&f);
		fixture_u64_key(key, seqs[i]);
		CU_ASSERT_FATAL(fixture_db_del(&f, "bodies", key, 8) == 0);
		expect_corrupt(&f, seqs[i], "redaction", "deleted body");
		fixture_close(&f);
	}
}

/* A redacted body whose redaction mark is removed is tampering too, and
 * a body put back after its redaction is found. */
static void test_verify_redaction_marks(void)
{
	fixture f;
	uint8_t key[8];
	void *body = NULL, *mark = NULL;
	size_t body_bytes, mark_bytes;
	ledger_verify_stats vs;

	open_filled(&f);
	fixture_u64_key(key, 10);
	CU_ASSERT_FATAL(fixture_db_get(&f, "bodies", key, 8, &body, &body_bytes) == 0);
	CU_ASSERT_FATAL(fixture_import(&f, "{\"type\":\"redaction\",\"redacts\":"
	                "\"ev-7\",\"reason\":\"takedown\"}", NULL) == LEDGER_OK);
	CU_ASSERT_EQUAL(ledger_verify(&vs, f.l), LEDGER_OK);
	CU_ASSERT_EQUAL(vs.redacted, 1);
	/* ev-7 is seq 10: three organizations come first. */
	CU_ASSERT_FATAL(fixture_db_get(&f, "redactions", key, 8, &mark, &mark_bytes) == 0);
	CU_ASSERT_FATAL(fixture_db_del(&f, "redactions", key, 8) == 0);
	expect_corrupt(&f, 10, NULL, "redaction mark deleted");
	CU_ASSERT_FATAL(fixture_db_put(&f, "redactions", key, 8, mark, mark_bytes) == 0);
	CU_ASSERT_EQUAL(ledger_verify(&vs, f.l), LEDGER_OK);
	CU_ASSERT_FATAL(fixture_db_put(&f, "bodies", key, 8, body, body_bytes) == 0);
	expect_corrupt(&f, 10, NULL, "body back after redaction");
	free(body);
	free(mark);
	fixture_close(&f);
}

/* A merkle tile's key, complete (t, n) or the partial one of level t. */
static size_t tile_key_of(uint8_t key[10], bool complete, unsigned t, uint64_t n)
{
	if (!complete) {
		key[0] = 0x00;
		key[1] = (uint8_t)t;
		return 2;
	}
	key[0] = 0x01;
	fixture_u64_key(key + 1, (n + 1) << (4 * (t + 1)));
	key[9] = (uint8_t)t;
	return 10;
}

static void test_verify_changed_merkle_tile(void)
{
	fixture f;
	uint8_t key[10];
	void *val = NULL;
	size_t val_bytes;
	/* For 50 leaves: tiles 0/0, 0/1, 0/2 complete (30 hashes each), 0/3
	 * partial (2 leaves: 3 hashes), 1/0 partial (3 subtrees of 16: 3). */
	static const struct { bool complete; unsigned t; uint64_t n; size_t at; } tiles[] = {
		{ true, 0, 0, 0 }, { true, 0, 1, 500 }, { true, 0, 2, 959 },
		{ false, 0, 3, 0 }, { false, 0, 3, 95 }, { false, 1, 0, 40 },
	};

	open_filled(&f);
	for (size_t i = 0; i < sizeof tiles / sizeof tiles[0]; i++) {
		char what[64];
		size_t kb = tile_key_of(key, tiles[i].complete, tiles[i].t, tiles[i].n);
		snprintf(what, sizeof what, "merkle tile %u/%llu", tiles[i].t,
		         (unsigned long long)tiles[i].n);
		CU_ASSERT_FATAL(fixture_db_flip(&f, "merkle", key, kb, tiles[i].at, 0x10) == 0);
		expect_corrupt(&f, 0, what, what);
		CU_ASSERT_FATAL(fixture_db_flip(&f, "merkle", key, kb, tiles[i].at, 0x10) == 0);
		expect_clean(&f);
	}
	/* A deleted tile, complete or partial, then an extra one. */
	for (unsigned i = 0; i < 2; i++) {
		size_t kb = tile_key_of(key, i == 0, i, 1 - i);
		CU_ASSERT_FATAL(fixture_db_get(&f, "merkle", key, kb, &val, &val_bytes) == 0);
		CU_ASSERT_FATAL(fixture_db_del(&f, "merkle", key, kb) == 0);
		expect_corrupt(&f, 0, "merkle", i == 0 ? "deleted merkle tile 0/1" :
		               "deleted merkle tile 1/0");
		CU_ASSERT_FATAL(fixture_db_put(&f, "merkle", key, kb, val, val_bytes) == 0);
		expect_clean(&f);
		free(val);
		val = NULL;
	}
	size_t kb = tile_key_of(key, true, 0, 0);
	CU_ASSERT_FATAL(fixture_db_get(&f, "merkle", key, kb, &val, &val_bytes) == 0);
	kb = tile_key_of(key, true, 0, 3);
	CU_ASSERT_FATAL(fixture_db_put(&f, "merkle", key, kb, val, val_bytes) == 0);
	expect_corrupt(&f, 0, "merkle", "extra merkle tile");
	free(val);
	fixture_close(&f);
}

static void test_verify_truncated_log(void)
{
	fixture f;
	uint8_t key[8];

	open_filled(&f);
	fixture_u64_key(key, EVENTS);
	CU_ASSERT_FATAL(fixture_db_del(&f, "events", key, 8) == 0);
	expect_corrupt(&f, 0, NULL, "last event deleted");
	/* Also with its body gone, as a whole truncation would leave it. */
	CU_ASSERT_FATAL(fixture_db_del(&f, "bodies", key, 8) == 0);
	expect_corrupt(&f, 0, NULL, "last event and body deleted");
	fixture_close(&f);
}

/* A log cut back to a multiple of 16 leaves takes as many tiles as the
 * longer one (31 and 32 leaves: three); the tiles past the log still say
 * it was truncated, at the first missing seq. */
static void test_verify_truncated_at_a_tile(void)
{
	static const uint64_t sizes[] = { 32, 35, 48 };

	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		fixture f;
		uint8_t key[8];
		ledger_import_stats st;
		ledger_verify_stats vs;

		CU_ASSERT_FATAL(fixture_open(&f) == 0);
		CU_ASSERT_FATAL(fixture_fill(&f, sizes[i] - 1) == 0);
		CU_ASSERT_EQUAL_FATAL(fixture_import(&f, "{\"type\":\"meeting\","
		                      "\"country\":\"KZ\",\"organization\":\"alpha\","
		                      "\"date\":\"2024\",\"summary\":\"the last one\"}\n",
		                      &st), LEDGER_OK);
		CU_ASSERT_EQUAL(ledger_verify(&vs, f.l), LEDGER_OK);
		CU_ASSERT_EQUAL(vs.events, sizes[i]);
		fixture_u64_key(key, sizes[i]);
		CU_ASSERT_FATAL(fixture_db_del(&f, "events", key, 8) == 0);
		CU_ASSERT_FATAL(fixture_db_del(&f, "bodies", key, 8) == 0);
		expect_corrupt(&f, sizes[i], "truncated", "the last event of a tile cut");
		fixture_close(&f);
	}
}

static void test_verify_deleted_middle_event(void)
{
	fixture f;
	uint8_t key[8];

	open_filled(&f);
	fixture_u64_key(key, 20);
	CU_ASSERT_FATAL(fixture_db_del(&f, "events", key, 8) == 0);
	expect_corrupt(&f, 20, NULL, "event 20 deleted");
	fixture_close(&f);
}

static void test_verify_swapped_envelopes(void)
{
	static const uint64_t pairs[][2] = { { 1, 2 }, { 12, 30 }, { 49, 50 } };

	for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++) {
		fixture f;
		uint8_t k1[8], k2[8];
		open_filled(&f);
		fixture_u64_key(k1, pairs[i][0]);
		fixture_u64_key(k2, pairs[i][1]);
		CU_ASSERT_FATAL(fixture_db_swap(&f, "events", k1, 8, k2, 8) == 0);
		expect_corrupt(&f, pairs[i][0], NULL, "swapped envelopes");
		/* Swapping the bodies too does not hide it. */
		CU_ASSERT_FATAL(fixture_db_swap(&f, "bodies", k1, 8, k2, 8) == 0);
		expect_corrupt(&f, pairs[i][0], NULL, "swapped envelopes and bodies");
		fixture_close(&f);
	}
}

/* The derived indexes are checked too: stream heads and the id index. */
static void test_verify_changed_indexes(void)
{
	fixture f;
	fixture_env e;
	MDB_dbi dbi;
	MDB_val k, v;
	uint8_t key[80];
	size_t key_bytes = 0;

	open_filled(&f);
	/* The first stream head's key. */
	CU_ASSERT_FATAL(fixture_env_open(&e, &f) == 0);
	CU_ASSERT_FATAL(fixture_env_dbi(&e, "heads", &dbi) == 0);
	MDB_cursor *c;
	CU_ASSERT_FATAL(mdb_cursor_open(e.txn, dbi, &c) == 0);
	if (mdb_cursor_get(c, &k, &v, MDB_FIRST) == 0 && k.mv_size <= sizeof key) {
		memcpy(key, k.mv_data, k.mv_size);
		key_bytes = k.mv_size;
	}
	mdb_cursor_close(c);
	CU_ASSERT_FATAL(fixture_env_close(&e, false) == 0);
	CU_ASSERT_FATAL(key_bytes > 0);
	/* version, seq, leaf: a byte of each */
	static const size_t offsets[] = { 7, 15, 16, 47 };
	for (size_t i = 0; i < sizeof offsets / sizeof offsets[0]; i++) {
		CU_ASSERT_FATAL(fixture_db_flip(&f, "heads", key, key_bytes,
		                                offsets[i], 0x01) == 0);
		expect_corrupt(&f, 0, "head", "stream head changed");
		CU_ASSERT_FATAL(fixture_db_flip(&f, "heads", key, key_bytes,
		                                offsets[i], 0x01) == 0);
		expect_clean(&f);
	}
	/* An id that points elsewhere. */
	CU_ASSERT_FATAL(fixture_db_flip(&f, "ids", "ev-5", 4, 7, 0x01) == 0);
	expect_corrupt(&f, 8, NULL, "id index changed");
	CU_ASSERT_FATAL(fixture_db_flip(&f, "ids", "ev-5", 4, 7, 0x01) == 0);
	CU_ASSERT_FATAL(fixture_db_del(&f, "ids", "ev-5", 4) == 0);
	expect_corrupt(&f, 8, NULL, "id deleted");
	fixture_close(&f);
}

/* The id index is checked as a whole (a keyed sum over its entries) and
 * looked up event by event only to name a fault: the seq named must still
 * be the first at fault, whatever else is wrong later in the log. */
static void test_verify_id_index_first_fault(void)
{
	fixture f;
	uint8_t k30[8], four[4] = { 0, 0, 0, 8 }, three[8];

	open_filled(&f);
	/* ev-5 (seq 8) points elsewhere, and the envelope of seq 30 is
	 * changed: the first fault is still the id of seq 8. */
	CU_ASSERT_FATAL(fixture_db_flip(&f, "ids", "ev-5", 4, 7, 0x01) == 0);
	fixture_u64_key(k30, 30);
	CU_ASSERT_FATAL(fixture_db_flip(&f, "events", k30, 8, 3, 0x40) == 0);
	expect_corrupt(&f, 8, "id index", "id changed, later envelope changed");
	CU_ASSERT_FATAL(fixture_db_flip(&f, "events", k30, 8, 3, 0x40) == 0);
	expect_corrupt(&f, 8, "id index", "id changed alone");
	CU_ASSERT_FATAL(fixture_db_flip(&f, "ids", "ev-5", 4, 7, 0x01) == 0);
	expect_clean(&f);
	/* Two ids exchanged: the sum of the entries changes, the count does
	 * not; the earlier of the two events is named. */
	CU_ASSERT_FATAL(fixture_db_swap(&f, "ids", "ev-9", 4, "ev-5", 4) == 0);
	expect_corrupt(&f, 8, "id index", "two ids exchanged");
	CU_ASSERT_FATAL(fixture_db_swap(&f, "ids", "ev-9", 4, "ev-5", 4) == 0);
	expect_clean(&f);
	/* A value that is not a seq. */
	void *old;
	size_t old_bytes;
	CU_ASSERT_FATAL(fixture_db_get(&f, "ids", "ev-5", 4, &old, &old_bytes) == 0);
	CU_ASSERT_FATAL(fixture_db_put(&f, "ids", "ev-5", 4, four, sizeof four) == 0);
	expect_corrupt(&f, 8, "id index", "id value of 4 bytes");
	CU_ASSERT_FATAL(fixture_db_put(&f, "ids", "ev-5", 4, old, old_bytes) == 0);
	free(old);
	expect_clean(&f);
	/* An id no event has, pointing at an event that has its own. */
	fixture_u64_key(three, 3);
	CU_ASSERT_FATAL(fixture_db_put(&f, "ids", "ev-zzz", 6, three, 8) == 0);
	expect_corrupt(&f, 0, "id index", "an extra id");
	CU_ASSERT_FATAL(fixture_db_del(&f, "ids", "ev-zzz", 6) == 0);
	expect_clean(&f);
	fixture_close(&f);
}


/* A body or redaction mark stored under seq 0 (eight zero bytes)
 * belongs to no event. The one-thread scan named it ("seq 0: ... does not
 * exist"); the walk stage uses walk_bad == 0 as "no fault", so it is lost. */
static void test_verify_stray_record_at_seq_0(void)
{
	static const char *const dbs[] = { "bodies", "redactions" };

	for (size_t i = 0; i < 2; i++) {
		fixture f;
		uint8_t key[8], one[8];
		void *val = NULL;
		size_t val_bytes = 0;
		open_filled(&f);
		fixture_u64_key(key, 0);
		fixture_u64_key(one, 1);
		if (i == 0)
			CU_ASSERT_FATAL(fixture_db_get(&f, "bodies", one, 8, &val,
			                               &val_bytes) == 0);
		CU_ASSERT_FATAL(fixture_db_put(&f, dbs[i], key, 8, i == 0 ? val : "",
		                               i == 0 ? val_bytes : 0) == 0);
		expect_corrupt(&f, 0, "does not exist", dbs[i]);
		free(val);
		fixture_close(&f);
	}
}


/* The id entry of a retraction's target cut to one byte. The
 * target's own id is now checked only at the end (the sum), so the
 * retraction reaches verify_indexes with it and must not read 8 bytes
 * of a 1-byte value; the first fault is still the target (ev-1, seq 4). */
static void test_verify_short_target_id(void)
{
	fixture f;
	void *old;
	size_t old_bytes;

	open_filled(&f);
	CU_ASSERT_FATAL(fixture_db_get(&f, "ids", "ev-1", 4, &old, &old_bytes) == 0);
	CU_ASSERT_FATAL(fixture_db_put(&f, "ids", "ev-1", 4, "\x01", 1) == 0);
	expect_corrupt(&f, 4, "id index", "short id of a retraction target");
	CU_ASSERT_FATAL(fixture_db_put(&f, "ids", "ev-1", 4, old, old_bytes) == 0);
	free(old);
	expect_clean(&f);
	fixture_close(&f);
}

/* ---- the heads map: every stored version, not only the newest ---- */

#define HEADS_TXNS 120u
/* heads.c: class byte, then (~epoch, depth, 2-byte path) for depths up to
 * 12, (8-byte path, depth) up to 64, (32-byte path, depth) deeper; ~size. */
#define HEADS_NODE_KEY_MAX 42u

static unsigned heads_node_depth(const uint8_t *key)
{
	return key[key[0] == 0 ? 9 : key[0] == 1 ? 9 : 33];
}

static const char *const heads_countries[] = {
	"KZ", "AF", "US", "RU", "CN", "FR", "DE", "GB", "IN", "PK", "IR", "TR",
	"UZ", "KG", "TJ", "TM", "SA", "QA", "AE", "EG" };
static const char *const heads_orgs[] = { "alpha", "beta", "gamma", "delta" };

/* HEADS_TXNS imports of 1 to 5 events each, over 80 relationships (and
 * the organization streams), so that the heads map holds many versions of
 * most nodes; some transactions add an organization or retract an event.
 * Returns the number of events. */
static uint64_t fill_many_transactions(fixture *f)
{
	fixture_text t = { 0 };
	ledger_import_stats st;
	unsigned seed = 11;
	uint64_t events = 0, i = 0;
	const size_t nc = sizeof heads_countries / sizeof *heads_countries;
	const size_t no = sizeof heads_orgs / sizeof *heads_orgs;

	for (size_t o = 0; o < no; o++)
		fixture_text_add(&t, "{\"type\":\"organization\",\"organization\":"
		                 "\"%s\",\"name\":\"Org %s\"}\n", heads_orgs[o],
		                 heads_orgs[o]);
	CU_ASSERT_FATAL(fixture_import(f, t.data, &st) == LEDGER_OK);
	events += no;
	for (unsigned x = 0; x < HEADS_TXNS; x++) {
		unsigned k = (unsigned)rand_r(&seed) % 5 + 1;
		t.bytes = 0;
		for (unsigned j = 0; j < k; j++, i++)
			fixture_text_add(&t, "{\"id\":\"hm-%llu\",\"type\":\"meeting\","
			                 "\"country\":\"%s\",\"organization\":\"%s\","
			                 "\"date\":\"2001-02-03\",\"summary\":\"m %llu\"}\n",
			                 (unsigned long long)i,
			                 heads_countries[(unsigned)rand_r(&seed) % nc],
			                 heads_orgs[(unsigned)rand_r(&seed) % no],
			                 (unsigned long long)i);
		if (x % 17 == 5)
			fixture_text_add(&t, "{\"type\":\"organization\",\"organization\":"
			                 "\"%s\",\"name\":\"Org %s\",\"aliases\":[\"v%u\"]}\n",
			                 heads_orgs[x % no], heads_orgs[x % no], x);
		if (x % 23 == 9)
			fixture_text_add(&t, "{\"type\":\"retraction\",\"retracts\":"
			                 "\"hm-%llu\",\"reason\":\"wrong\"}\n",
			                 (unsigned long long)(i - k));
		CU_ASSERT_FATAL(fixture_import(f, t.data, &st) == LEDGER_OK);
		events += st.appended;
	}
	fixture_text_free(&t);
	return events;
}

typedef struct node_rec {
	uint8_t key[HEADS_NODE_KEY_MAX];
	size_t key_bytes;
	unsigned depth;
	uint64_t size;
	bool newest;             /* the first record of its (depth, path) */
} node_rec;

/* Every stored heads-map node record, in key order; *out is malloc'd. */
static size_t heads_nodes(node_rec **out, fixture *f)
{
	fixture_env e;
	MDB_dbi dbi;
	MDB_cursor *c;
	MDB_val k, v;
	size_t n = 0, cap = 0;

	*out = NULL;
	CU_ASSERT_FATAL(fixture_env_open(&e, f) == 0);
	CU_ASSERT_FATAL(fixture_env_dbi(&e, "heads_map", &dbi) == 0);
	CU_ASSERT_FATAL(mdb_cursor_open(e.txn, dbi, &c) == 0);
	for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		const uint8_t *kb = k.mv_data;
		CU_ASSERT_FATAL(k.mv_size == (kb[0] == 0 ? 20u : kb[0] == 1 ? 18u : 42u));
		if (n == cap) {
			cap = cap ? 2 * cap : 256;
			*out = realloc(*out, cap * sizeof **out);
			CU_ASSERT_FATAL(*out != NULL);
		}
		node_rec *r = &(*out)[n];
		memcpy(r->key, k.mv_data, k.mv_size);
		r->key_bytes = k.mv_size;
		r->depth = heads_node_depth(r->key);
		r->size = 0;
		for (size_t b = k.mv_size - 8; b < k.mv_size; b++)
			r->size = r->size << 8 | r->key[b];
		r->size = UINT64_MAX - r->size;
		r->newest = n == 0 || (*out)[n - 1].key_bytes != r->key_bytes ||
		            memcmp((*out)[n - 1].key, r->key, r->key_bytes - 8) != 0;
		n++;
	}
	mdb_cursor_close(c);
	CU_ASSERT_FATAL(fixture_env_close(&e, false) == 0);
	return n;
}

static void expect_verifies(fixture *f, uint64_t events, const char *what)
{
	ledger_verify_stats vs;
	ledger_err err = ledger_verify(&vs, f->l);

	CU_ASSERT_EQUAL(err, LEDGER_OK);
	CU_ASSERT_EQUAL(vs.events, events);
	if (err != LEDGER_OK)
		fprintf(stderr, "\n%s: verify: %s\n", what, ledger_errmsg(f->l));
}

/* No false positive: a ledger of many small transactions verifies, before
 * and after rebuild (which writes the heads map again, version by
 * version), and most of its node records are older versions. */
static void test_verify_heads_many_transactions(void)
{
	fixture f;
	node_rec *r;
	ledger_rebuild_stats rs;

	CU_ASSERT_FATAL(fixture_open(&f) == 0);
	uint64_t events = fill_many_transactions(&f);
	expect_verifies(&f, events, "many transactions");
	size_t n = heads_nodes(&r, &f), old = 0;
	for (size_t i = 0; i < n; i++)
		old += !r[i].newest;
	CU_ASSERT(old > n / 2);
	free(r);
	CU_ASSERT_EQUAL(ledger_rebuild(&rs, f.l), LEDGER_OK);
	expect_verifies(&f, events, "after rebuild");
	CU_ASSERT_EQUAL(heads_nodes(&r, &f), n);
	free(r);
	fixture_close(&f);
}

/* A changed byte in an older version of a node (one that proofs at older
 * sizes read) is found, naming the node's depth and size; so are a
 * deleted older version and a record no transaction wrote. */
static void test_verify_heads_old_versions(void)
{
	fixture f;
	node_rec *r;
	char want[96], what[96];
	void *val;
	size_t val_bytes, tried = 0;

	CU_ASSERT_FATAL(fixture_open(&f) == 0);
	uint64_t events = fill_many_transactions(&f);
	size_t n = heads_nodes(&r, &f);
	/* Up to 12 older versions spread over the records, the root's too. */
	for (size_t i = 0, step = n / 12 + 1; i < n && tried < 12; i++) {
		if (r[i].newest || (i % step != 0 && i != 1))
			continue;
		CU_ASSERT_FATAL(fixture_db_get(&f, "heads_map", r[i].key,
		                               r[i].key_bytes, &val, &val_bytes) == 0);
		free(val);
		size_t off = 1 + (tried * 7) % (val_bytes - 1);
		snprintf(want, sizeof want, "heads map: the node at depth %u, ",
		         r[i].depth);
		snprintf(what, sizeof what, "old heads node depth %u size %llu byte %zu",
		         r[i].depth, (unsigned long long)r[i].size, off);
		CU_ASSERT_FATAL(fixture_db_flip(&f, "heads_map", r[i].key,
		                                r[i].key_bytes, off, 0x10) == 0);
		expect_corrupt(&f, 0, want, what);
		snprintf(want, sizeof want, " of size %llu ", (unsigned long long)r[i].size);
		expect_corrupt(&f, 0, want, what);
		CU_ASSERT_FATAL(fixture_db_flip(&f, "heads_map", r[i].key,
		                                r[i].key_bytes, off, 0x10) == 0);
		expect_verifies(&f, events, what);
		tried++;
	}
	CU_ASSERT(tried >= 10);
	/* An older version deleted: missing at its size. */
	size_t i = n / 2;
	while (i < n && r[i].newest)
		i++;
	CU_ASSERT_FATAL(i < n);
	CU_ASSERT_FATAL(fixture_db_get(&f, "heads_map", r[i].key, r[i].key_bytes,
	                               &val, &val_bytes) == 0);
	CU_ASSERT_FATAL(fixture_db_del(&f, "heads_map", r[i].key, r[i].key_bytes) == 0);
	expect_corrupt(&f, 0, "is missing", "old heads node deleted");
	CU_ASSERT_FATAL(fixture_db_put(&f, "heads_map", r[i].key, r[i].key_bytes,
	                               val, val_bytes) == 0);
	expect_verifies(&f, events, "old heads node put back");
	/* A copy under a size that ends no transaction (past the head): one
	 * record too many. */
	uint64_t past = UINT64_MAX - (events + 1000);
	for (size_t b = 0; b < 8; b++)
		r[i].key[r[i].key_bytes - 1 - b] = (uint8_t)(past >> (8 * b));
	CU_ASSERT_FATAL(fixture_db_put(&f, "heads_map", r[i].key, r[i].key_bytes,
	                               val, val_bytes) == 0);
	expect_corrupt(&f, 0, "stored nodes", "extra heads node");
	free(val);
	free(r);
	fixture_close(&f);
}

/* Three transactions of 7,000 events over 900 organizations, after one
 * that registers them: each ends in a new epoch of the stored top nodes
 * (HEADS_EPOCH_BITS), so the last two carry copies. Returns the events. */
static uint64_t fill_epochs(fixture *f)
{
	fixture_text t = { 0 };
	ledger_import_stats st;
	uint64_t events = 0;
	const size_t nc = sizeof heads_countries / sizeof *heads_countries;

	for (unsigned o = 0; o < 900; o++)
		fixture_text_add(&t, "{\"type\":\"organization\",\"organization\":"
		                 "\"o%u\",\"name\":\"Org %u\"}\n", o, o);
	for (unsigned part = 0; part < 3; part++) {
		for (unsigned j = 0; j < 7000; j++)
			fixture_text_add(&t, "{\"id\":\"ep-%u-%u\",\"type\":\"meeting\","
			                 "\"country\":\"%s\",\"organization\":\"o%u\","
			                 "\"date\":\"2001-02-03\",\"summary\":\"m\"}\n",
			                 part, j, heads_countries[j % nc],
			                 (j * 7919u + part) % 900u);
		CU_ASSERT_FATAL(fixture_import(f, t.data, &st) == LEDGER_OK);
		events += st.appended;
		t.bytes = 0;
	}
	fixture_text_free(&t);
	return events;
}

/* A ledger longer than an epoch of the stored top nodes (heads.c: a few
 * thousand sizes): the first transaction that ends in a new epoch carries
 * a copy of the top nodes it did not rewrite there. A changed or deleted
 * copy is found, and so is one that is put back under the size of the
 * transaction that carried it, as if it had been rewritten. */
static void test_verify_heads_epochs(void)
{
	fixture f;
	node_rec *r;
	uint64_t events = 0;
	void *val;
	size_t val_bytes;

	CU_ASSERT_FATAL(fixture_open(&f) == 0);
	events = fill_epochs(&f);
	expect_verifies(&f, events, "three transactions over three epochs");
	/* The copies the last transaction carried: top nodes (class 0) of the
	 * newest epoch (the first in key order) stored under an older size. */
	size_t n = heads_nodes(&r, &f), carried = 0, at = n;
	for (size_t i = 0; i < n; i++)
		if (r[i].key[0] == 0 && memcmp(r[i].key + 1, r[0].key + 1, 8) == 0 &&
		    r[i].size < events) {
			carried++;
			if (at == n || i % 5 == 0)
				at = i;
		}
	CU_ASSERT_FATAL(carried > 0 && at < n);
	char want[96];
	snprintf(want, sizeof want, "heads map: the node at depth %u, ", r[at].depth);
	CU_ASSERT_FATAL(fixture_db_flip(&f, "heads_map", r[at].key, r[at].key_bytes,
	                                5, 0x04) == 0);
	expect_corrupt(&f, 0, want, "carried top node changed");
	CU_ASSERT_FATAL(fixture_db_flip(&f, "heads_map", r[at].key, r[at].key_bytes,
	                                5, 0x04) == 0);
	expect_verifies(&f, events, "carried top node restored");
	CU_ASSERT_FATAL(fixture_db_get(&f, "heads_map", r[at].key, r[at].key_bytes,
	                               &val, &val_bytes) == 0);
	CU_ASSERT_FATAL(fixture_db_del(&f, "heads_map", r[at].key, r[at].key_bytes) == 0);
	expect_corrupt(&f, 0, "is missing", "carried top node deleted");
	/* Under the size of the transaction that carried it: no transaction
	 * rewrote it there, so it is one record too many. */
	for (size_t b = 0; b < 8; b++)
		r[at].key[r[at].key_bytes - 1 - b] = (uint8_t)((UINT64_MAX - events) >> (8 * b));
	CU_ASSERT_FATAL(fixture_db_put(&f, "heads_map", r[at].key, r[at].key_bytes,
	                               val, val_bytes) == 0);
	ledger_verify_stats vs;
	CU_ASSERT_EQUAL(ledger_verify(&vs, f.l), LEDGER_ECORRUPT);
	free(val);
	free(r);
	fixture_close(&f);
}

/* A malformed top node (class 0 key, depth 13) in the epoch the
 * next epoch carries from makes top_newest fail in hm_check_carry after
 * it has filled its array; the error path must free it. Verify is run
 * several times and the heap must not grow with the runs. */
static void test_verify_carry_error_frees(void)
{
	fixture f;
	ledger_verify_stats vs;
	uint8_t key[20], val[33] = { 2 };

	CU_ASSERT_FATAL(fixture_open(&f) == 0);
	(void)fill_epochs(&f);
	/* class 0, epoch 0 (~E all ones), depth 13, path 0, size 100 */
	memset(key, 0, sizeof key);
	memset(key + 1, 0xff, 8);
	key[9] = 13;
	for (size_t b = 0; b < 8; b++)
		key[19 - b] = (uint8_t)((UINT64_MAX - 100) >> (8 * b));
	CU_ASSERT_FATAL(fixture_db_put(&f, "heads_map", key, sizeof key, val,
	                               sizeof val) == 0);
	CU_ASSERT_EQUAL(ledger_verify(&vs, f.l), LEDGER_ECORRUPT);
	CU_ASSERT_PTR_NOT_NULL(strstr(ledger_errmsg(f.l), "malformed"));
	size_t before = mallinfo2().uordblks;
	for (int i = 0; i < 10; i++)
		(void)ledger_verify(&vs, f.l);
	size_t after = mallinfo2().uordblks;
	CU_ASSERT(after < before + 4096);
	fixture_close(&f);
}

void suite_verify(void);

void suite_verify(void)
{
	CU_pSuite s = CU_add_suite("verify", NULL, fixture_suite_cleanup);

	CU_add_test(s, "clean ledger", test_verify_clean);
	CU_add_test(s, "heads map: a failed carry check frees what it read", test_verify_carry_error_frees);
	CU_add_test(s, "a short id entry of a retraction target", test_verify_short_target_id);
	CU_add_test(s, "a stray record at seq 0", test_verify_stray_record_at_seq_0);
	CU_add_test(s, "flipped envelope byte", test_verify_flipped_envelope_byte);
	CU_add_test(s, "flipped body byte", test_verify_flipped_body_byte);
	CU_add_test(s, "deleted body", test_verify_deleted_body);
	CU_add_test(s, "redaction marks", test_verify_redaction_marks);
	CU_add_test(s, "changed merkle tile", test_verify_changed_merkle_tile);
	CU_add_test(s, "truncated at a tile boundary", test_verify_truncated_at_a_tile);
	CU_add_test(s, "truncated log", test_verify_truncated_log);
	CU_add_test(s, "deleted middle event", test_verify_deleted_middle_event);
	CU_add_test(s, "swapped envelopes", test_verify_swapped_envelopes);
	CU_add_test(s, "changed indexes", test_verify_changed_indexes);
	CU_add_test(s, "id index: the first fault is named", test_verify_id_index_first_fault);
	CU_add_test(s, "heads map: many transactions, no false positive",
	            test_verify_heads_many_transactions);
	CU_add_test(s, "heads map: older node versions changed",
	            test_verify_heads_old_versions);
	CU_add_test(s, "heads map: top nodes carried into a new epoch",
	            test_verify_heads_epochs);
}
