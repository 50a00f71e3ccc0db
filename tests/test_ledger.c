/* The public ledger API (ledger.h) end to end: init and open, appends
 * through the import path, the hash chain, streams, recorded_at, derived
 * ids, expect_version, retractions and redactions, organization names, the
 * limits of DESIGN §2, map growth with replay and all-or-nothing imports.
 * Expected hashes are recomputed here with OpenSSL and stream positions
 * with a reference model of this file, not with the library's code. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <openssl/evp.h>

#include "annals.pb-c.h"
#include "fixture.h"
#include "ledger.h"
#include "merkle.h"

#define ORGS \
	"{\"type\":\"organization\",\"organization\":\"taliban\",\"name\":\"Taliban\"," \
	"\"aliases\":[\"Islamic Emirate of Afghanistan\",\"Islamic Emirate\"]}\n" \
	"{\"type\":\"organization\",\"organization\":\"etat\",\"name\":\"\xc3\x89tat " \
	"Islamique\",\"aliases\":[\"\xc3\x89I\"]}\n"

#define OPEN(f, orgs) do { \
		CU_ASSERT_FATAL(fixture_open(&(f)) == 0); \
		if (orgs) \
			CU_ASSERT_FATAL(fixture_import(&(f), ORGS, NULL) == LEDGER_OK); \
	} while (0)

static const uint8_t zeros[LEDGER_HASH_BYTES];

static void sha256(uint8_t out[LEDGER_HASH_BYTES], const void *prefix,
                   size_t prefix_bytes, const void *data, size_t bytes)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	unsigned n = 0;

	CU_ASSERT_FATAL(c != NULL);
	CU_ASSERT(EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1);
	if (prefix_bytes)
		CU_ASSERT(EVP_DigestUpdate(c, prefix, prefix_bytes) == 1);
	CU_ASSERT(EVP_DigestUpdate(c, data, bytes) == 1);
	CU_ASSERT(EVP_DigestFinal_ex(c, out, &n) == 1);
	CU_ASSERT(n == LEDGER_HASH_BYTES);
	EVP_MD_CTX_free(c);
}

static bool bin_eq(const ProtobufCBinaryData *b, const uint8_t *want)
{
	return b->len == LEDGER_HASH_BYTES && memcmp(b->data, want, LEDGER_HASH_BYTES) == 0;
}

/* The import must be refused (code), report exactly one record whose
 * message contains want, and leave the ledger as it was. */
static void expect_refused(fixture *f, const char *ndjson, ledger_err code,
                           const char *want)
{
	ledger_head before = fixture_head(f), after;
	char *dump = fixture_dump(f), *dump2;
	ledger_import_stats st;
	ledger_err err = fixture_import(f, ndjson, &st);

	CU_ASSERT_EQUAL(err, code);
	CU_ASSERT_EQUAL(f->reports, 1);
	CU_ASSERT_EQUAL(st.rejected, 1);
	if (want && !strstr(f->report, want)) {
		CU_FAIL("the report does not say what is wrong");
		fprintf(stderr, "\nwanted '%s' in: %s\n", want, f->report);
	}
	after = fixture_head(f);
	CU_ASSERT_EQUAL(before.seq, after.seq);
	CU_ASSERT(memcmp(before.leaf_hash, after.leaf_hash, LEDGER_HASH_BYTES) == 0);
	dump2 = fixture_dump(f);
	CU_ASSERT(dump && dump2 && strcmp(dump, dump2) == 0);
	free(dump);
	free(dump2);
}

static void expect_appended(fixture *f, const char *ndjson, uint64_t n)
{
	ledger_import_stats st;
	ledger_err err = fixture_import(f, ndjson, &st);

	CU_ASSERT_EQUAL(err, LEDGER_OK);
	CU_ASSERT_EQUAL(st.appended, n);
	if (err != LEDGER_OK || st.appended != n)
		fprintf(stderr, "\nimport: %s %s\n", ledger_errmsg(f->l), f->report);
}

/* The decoded envelope of seq (a copy the caller frees), or NULL. */
static Annals__Envelope *envelope_at(fixture *f, uint64_t seq)
{
	fixture_event *ev;
	size_t n = fixture_events(&ev, f);
	Annals__Envelope *env = NULL;

	if (n != (size_t)-1 && seq >= 1 && seq <= n && ev[seq - 1].env) {
		env = annals__envelope__unpack(NULL, ev[seq - 1].envelope_bytes,
		                               ev[seq - 1].envelope);
	}
	fixture_events_free(ev, n == (size_t)-1 ? 0 : n);
	return env;
}

/* ---- init and open ---- */

static void test_ledger_init_refuses_existing(void)
{
	fixture f;
	char msg[1024] = "";

	OPEN(f, false);
	CU_ASSERT_EQUAL(ledger_init(f.dir, NULL, msg, sizeof msg), LEDGER_EEXIST);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "already exists"));
	/* The existing ledger still opens and works. */
	expect_appended(&f, ORGS, 2);
	fixture_close(&f);
}

static void test_ledger_init_origin_and_key(void)
{
	fixture f;
	char path[FIXTURE_DIR_BYTES + 32], msg[1024] = "";
	ledger_init_opts o = { .origin = "has space" };
	ledger_stats st;
	struct stat sb;
	ledger *l = NULL;

	OPEN(f, false);
	/* The default origin and the signing key (DESIGN §5). */
	CU_ASSERT_EQUAL(ledger_get_stats(&st, f.l), LEDGER_OK);
	CU_ASSERT(strncmp(st.origin, "annals.invalid/", 15) == 0 &&
	          strlen(st.origin) == 15 + 32);
	snprintf(path, sizeof path, "%s/signing.key", f.dir);
	CU_ASSERT_FATAL(stat(path, &sb) == 0);
	CU_ASSERT_EQUAL(sb.st_mode & 0777, 0600);
	/* A bad origin is a usage error and leaves no ledger. */
	snprintf(path, sizeof path, "%s/bad", f.dir);
	CU_ASSERT_EQUAL(ledger_init(path, &o, msg, sizeof msg), LEDGER_EUSAGE);
	CU_ASSERT_PTR_NOT_NULL(strstr(msg, "origin"));
	CU_ASSERT_EQUAL(ledger_open(&l, path, 0), LEDGER_ENOTFOUND);
	ledger_close(l);
	l = NULL;
	/* A chosen origin is kept. */
	snprintf(path, sizeof path, "%s/named", f.dir);
	o.origin = "example.org/log";
	CU_ASSERT_EQUAL_FATAL(ledger_init(path, &o, msg, sizeof msg), LEDGER_OK);
	CU_ASSERT_EQUAL_FATAL(ledger_open(&l, path, 0), LEDGER_OK);
	CU_ASSERT_EQUAL(ledger_get_stats(&st, l), LEDGER_OK);
	CU_ASSERT_STRING_EQUAL(st.origin, "example.org/log");
	ledger_close(l);
	fixture_close(&f);
}

/* A format or index version this build does not know is refused, saying
 * what to do (DESIGN §5: dump and import; rebuild). */
static void test_ledger_open_other_version(void)
{
	static const struct { const char *name, *want; } metas[] = {
		{ "format_version", "dump" },
		{ "index_version", "rebuild" },
	};
	static const uint8_t other[4] = { 0, 0, 0x03, 0xe7 };   /* 999 */

	for (size_t i = 0; i < sizeof metas / sizeof metas[0]; i++) {
		fixture f;
		ledger *l = NULL;
		OPEN(f, false);
		/* Closed first, so that the helper does not reopen it. */
		fixture_close_ledger(&f);
		CU_ASSERT_FATAL(fixture_db_put(&f, "meta", metas[i].name,
		                               strlen(metas[i].name), other, 4) == 0);
		CU_ASSERT_EQUAL(ledger_open(&l, f.dir, 0), LEDGER_EVERSION);
		CU_ASSERT_PTR_NOT_NULL(strstr(ledger_errmsg(l), metas[i].want));
		ledger_close(l);
		fixture_close(&f);
	}
}

/* Mark f's closed ledger as of index version `version`: refused by a plain
 * open, then opened for rebuild and rebuilt into *rs; returns the handle. */
static ledger *rebuild_from_version(fixture *f, uint32_t version,
                                    ledger_rebuild_stats *rs)
{
	const uint8_t v[4] = { 0, 0, 0, (uint8_t)version };
	ledger *l = NULL;

	CU_ASSERT_FATAL(fixture_db_put(f, "meta", "index_version", 13, v, 4) == 0);
	CU_ASSERT_EQUAL(ledger_open(&l, f->dir, 0), LEDGER_EVERSION);
	ledger_close(l);
	l = NULL;
	CU_ASSERT_EQUAL_FATAL(ledger_open(&l, f->dir, LEDGER_OPEN_REBUILD), LEDGER_OK);
	CU_ASSERT_EQUAL(ledger_rebuild(rs, l), LEDGER_OK);
	return l;
}

/* Indexes of an older index version are rebuilt on request and said to be
 * replaced, not to differ; a second rebuild then compares equal. */
static void test_ledger_rebuild_other_index_version(void)
{
	ledger_rebuild_stats rs;
	ledger_verify_stats vs;
	fixture f;
	ledger *l;

	OPEN(f, false);
	CU_ASSERT_FATAL(fixture_fill(&f, 40) == 0);
	fixture_close_ledger(&f);
	l = rebuild_from_version(&f, 1, &rs);
	CU_ASSERT(rs.upgraded && !rs.equal);
	CU_ASSERT_EQUAL(rs.old_index_version, 1);
	CU_ASSERT(rs.index_version > 1);
	CU_ASSERT_EQUAL(rs.events, 40);
	ledger_close(l);
	l = NULL;
	CU_ASSERT_EQUAL_FATAL(ledger_open(&l, f.dir, 0), LEDGER_OK);
	CU_ASSERT_EQUAL(ledger_rebuild(&rs, l), LEDGER_OK);
	CU_ASSERT(!rs.upgraded && rs.equal);
	CU_ASSERT_EQUAL(rs.old_index_version, rs.index_version);
	CU_ASSERT_EQUAL(ledger_verify(&vs, l), LEDGER_OK);
	ledger_close(l);
	fixture_close(&f);
}

/* Writes a hash at its tlog stored index, as index version 2 kept them. */
static int old_layout_emit(void *ctx, unsigned level, uint64_t index,
                           const merkle_hash hash)
{
	fixture_env *e = ctx;
	MDB_dbi merkle;
	uint8_t k[8];
	MDB_val key = { 8, k }, val = { LEDGER_HASH_BYTES, (void *)hash };

	fixture_u64_key(k, merkle_stored_index(level, index));
	return fixture_env_dbi(e, "merkle", &merkle) != 0 ||
	       mdb_put(e->txn, merkle, &key, &val, MDB_APPEND) != 0 ? -1 : 0;
}

/* A ledger of index version 2 keeps one Merkle hash a record: rebuild
 * lays the tree out in tiles again, and proofs and verify then work. */
static void test_ledger_rebuild_merkle_layout_2(void)
{
	ledger_rebuild_stats rs;
	ledger_verify_stats vs;
	ledger_proof p;
	merkle_frontier fr = { 0 };
	fixture_env e;
	MDB_dbi events, merkle;
	MDB_cursor *c = NULL;
	MDB_val k, v;
	fixture f;
	ledger *l;

	OPEN(f, false);
	CU_ASSERT_FATAL(fixture_fill(&f, 40) == 0);
	CU_ASSERT_EQUAL_FATAL(ledger_verify(&vs, f.l), LEDGER_OK);
	CU_ASSERT_FATAL(fixture_env_open(&e, &f) == 0);
	CU_ASSERT_FATAL(fixture_env_dbi(&e, "events", &events) == 0 &&
	                fixture_env_dbi(&e, "merkle", &merkle) == 0);
	CU_ASSERT_FATAL(mdb_drop(e.txn, merkle, 0) == 0);
	CU_ASSERT_FATAL(mdb_cursor_open(e.txn, events, &c) == 0);
	for (int rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		merkle_hash leaf;
		merkle_leaf_hash(leaf, v.mv_data, v.mv_size);
		CU_ASSERT_FATAL(merkle_frontier_push(&fr, leaf, old_layout_emit, &e) == 0);
	}
	mdb_cursor_close(c);
	CU_ASSERT_EQUAL_FATAL(fr.size, 40);
	CU_ASSERT_FATAL(fixture_env_close(&e, true) == 0);
	fixture_close_ledger(&f);
	l = rebuild_from_version(&f, 2, &rs);
	CU_ASSERT(rs.upgraded && rs.old_index_version == 2 && rs.events == 40);
	ledger_close(l);
	l = NULL;
	CU_ASSERT_EQUAL_FATAL(ledger_open(&l, f.dir, 0), LEDGER_OK);
	CU_ASSERT_EQUAL(ledger_verify(&vs, l), LEDGER_OK);
	CU_ASSERT_EQUAL(vs.events, 40);
	CU_ASSERT_EQUAL(ledger_prove_inclusion(&p, l, 17, LEDGER_SIZE_HEAD), LEDGER_OK);
	CU_ASSERT_EQUAL(ledger_prove_consistency(&p, l, 5, 40), LEDGER_OK);
	ledger_close(l);
	fixture_close(&f);
}

/* An empty ledger rebuilds to nothing, and says its indexes were equal. */
static void test_ledger_rebuild_empty(void)
{
	ledger_rebuild_stats rs;
	fixture f;

	OPEN(f, false);
	CU_ASSERT_EQUAL(ledger_rebuild(&rs, f.l), LEDGER_OK);
	CU_ASSERT(rs.equal && rs.events == 0);
	fixture_close(&f);
}

static void test_ledger_open_missing_dir(void)
{
	fixture f;
	char path[FIXTURE_DIR_BYTES + 16];
	ledger *l = NULL;

	OPEN(f, false);
	snprintf(path, sizeof path, "%s/missing", f.dir);
	CU_ASSERT_EQUAL(ledger_open(&l, path, 0), LEDGER_ENOTFOUND);
	CU_ASSERT_PTR_NOT_NULL(l);
	CU_ASSERT_PTR_NOT_NULL(strstr(ledger_errmsg(l), "annals init"));
	ledger_close(l);
	l = NULL;
	CU_ASSERT_EQUAL(ledger_open(&l, path, LEDGER_OPEN_RDONLY), LEDGER_ENOTFOUND);
	ledger_close(l);
	fixture_close(&f);
}

/* An existing directory without a ledger is not a ledger: opening it must
 * say so (run annals init) and must not leave files that make a later
 * init refuse the directory. */
static void test_ledger_open_empty_dir_is_not_found(void)
{
	fixture f;
	char path[FIXTURE_DIR_BYTES + 16], msg[1024], data[FIXTURE_DIR_BYTES + 32];
	ledger *l = NULL;
	struct stat st;

	OPEN(f, false);
	snprintf(path, sizeof path, "%s/empty", f.dir);
	CU_ASSERT_FATAL(mkdir(path, 0755) == 0);
	CU_ASSERT_EQUAL(ledger_open(&l, path, 0), LEDGER_ENOTFOUND);
	ledger_close(l);
	snprintf(data, sizeof data, "%s/data.mdb", path);
	CU_ASSERT(stat(data, &st) != 0);
	CU_ASSERT_EQUAL(ledger_init(path, NULL, msg, sizeof msg), LEDGER_OK);
	fixture_close(&f);
}

/* ---- appends ---- */

static void test_ledger_append_one_and_batch(void)
{
	fixture f;
	ledger_import_stats st;
	fixture_text t = { 0 };

	OPEN(f, false);
	CU_ASSERT_EQUAL(fixture_import(&f, ORGS, &st), LEDGER_OK);
	CU_ASSERT_EQUAL(st.records, 2);
	CU_ASSERT_EQUAL(st.appended, 2);
	CU_ASSERT_EQUAL(st.first_seq, 1);
	CU_ASSERT_EQUAL(st.last_seq, 2);
	CU_ASSERT_EQUAL(fixture_import(&f, "{\"id\":\"one\",\"type\":\"meeting\","
	                "\"country\":\"KZ\",\"organization\":\"taliban\","
	                "\"date\":\"2023-12\"}", &st), LEDGER_OK);
	CU_ASSERT_EQUAL(st.appended, 1);
	CU_ASSERT_EQUAL(st.first_seq, 3);
	CU_ASSERT_EQUAL(st.last_seq, 3);
	for (int i = 0; i < 10; i++)
		fixture_text_add(&t, "{\"id\":\"batch-%d\",\"type\":\"statement\","
		                 "\"country\":\"AF\",\"organization\":\"taliban\","
		                 "\"date\":\"2021-08-%02d\"}\n", i, i + 1);
	CU_ASSERT_EQUAL(fixture_import(&f, t.data, &st), LEDGER_OK);
	CU_ASSERT_EQUAL(st.records, 10);
	CU_ASSERT_EQUAL(st.appended, 10);
	CU_ASSERT_EQUAL(st.skipped, 0);
	CU_ASSERT_EQUAL(st.rejected, 0);
	CU_ASSERT_EQUAL(st.first_seq, 4);
	CU_ASSERT_EQUAL(st.last_seq, 13);
	CU_ASSERT_EQUAL(fixture_head(&f).seq, 13);
	uint64_t seq = 0;
	CU_ASSERT_EQUAL(ledger_find_id(&seq, f.l, "batch-9"), LEDGER_OK);
	CU_ASSERT_EQUAL(seq, 13);
	char id[LEDGER_ID_TEXT_BYTES];
	CU_ASSERT_EQUAL(ledger_get_id(id, f.l, 3), LEDGER_OK);
	CU_ASSERT_STRING_EQUAL(id, "one");
	CU_ASSERT_EQUAL(ledger_find_id(&seq, f.l, "nope"), LEDGER_ENOTFOUND);
	CU_ASSERT_EQUAL(ledger_get_id(id, f.l, 14), LEDGER_ENOTFOUND);
	fixture_text_free(&t);
	fixture_close(&f);
}

static void test_ledger_chain_and_hashes(void)
{
	fixture f;
	fixture_event *ev;
	uint8_t prev[LEDGER_HASH_BYTES], h[LEDGER_HASH_BYTES];
	static const uint8_t zero_byte[1] = { 0x00 };

	OPEN(f, false);
	CU_ASSERT_FATAL(fixture_fill(&f, 30) == 0);
	size_t n = fixture_events(&ev, &f);
	CU_ASSERT_FATAL(n == 30);
	memset(prev, 0, sizeof prev);
	for (size_t i = 0; i < n; i++) {
		Annals__Envelope *env = ev[i].env;
		CU_ASSERT_EQUAL(ev[i].seq, i + 1);
		CU_ASSERT_PTR_NOT_NULL_FATAL(env);
		CU_ASSERT_EQUAL(env->seq, i + 1);
		CU_ASSERT_EQUAL(env->recorded_at_us, ev[i].recorded_at_us);
		sha256(h, zero_byte, 1, ev[i].envelope, ev[i].envelope_bytes);
		CU_ASSERT(memcmp(h, ev[i].leaf_hash, LEDGER_HASH_BYTES) == 0);
		CU_ASSERT(bin_eq(&env->prev_hash, prev));
		CU_ASSERT_PTR_NOT_NULL_FATAL(ev[i].body);
		sha256(h, NULL, 0, ev[i].body, ev[i].body_bytes);
		CU_ASSERT(bin_eq(&env->body_hash, h));
		/* The body starts with its 16-byte salt (field 1). */
		Annals__Body *b = annals__body__unpack(NULL, ev[i].body_bytes, ev[i].body);
		CU_ASSERT_PTR_NOT_NULL_FATAL(b);
		CU_ASSERT_EQUAL(b->salt.len, 16);
		CU_ASSERT(ev[i].body_bytes >= 18 && ((uint8_t *)ev[i].body)[0] == 0x0a &&
		          ((uint8_t *)ev[i].body)[1] == 16);
		annals__body__free_unpacked(b, NULL);
		memcpy(prev, ev[i].leaf_hash, LEDGER_HASH_BYTES);
	}
	ledger_head head = fixture_head(&f);
	CU_ASSERT_EQUAL(head.seq, 30);
	CU_ASSERT(memcmp(head.leaf_hash, prev, LEDGER_HASH_BYTES) == 0);
	CU_ASSERT_EQUAL(head.recorded_at_us, ev[n - 1].recorded_at_us);
	/* Two bodies of equal content differ by their salt. */
	CU_ASSERT(memcmp(ev[0].body, ev[1].body, 18) != 0);
	fixture_events_free(ev, n);
	fixture_close(&f);
}

static void test_ledger_empty_head(void)
{
	fixture f;
	ledger_head h;
	ledger_verify_stats vs;

	OPEN(f, false);
	CU_ASSERT_EQUAL(ledger_get_head(&h, f.l), LEDGER_OK);
	CU_ASSERT_EQUAL(h.seq, 0);
	CU_ASSERT_EQUAL(h.recorded_at_us, 0);
	CU_ASSERT(memcmp(h.leaf_hash, zeros, LEDGER_HASH_BYTES) == 0);
	CU_ASSERT_EQUAL(ledger_verify(&vs, f.l), LEDGER_OK);
	CU_ASSERT_EQUAL(vs.events, 0);
	/* RFC 9162: the empty tree's root is SHA-256 of the empty string. */
	uint8_t empty[LEDGER_HASH_BYTES];
	sha256(empty, NULL, 0, "", 0);
	CU_ASSERT(memcmp(vs.root, empty, LEDGER_HASH_BYTES) == 0);
	fixture_close(&f);
}

/* ---- streams: an independent reference model ---- */

#define MODEL_STREAMS_MAX 64

typedef struct model_stream {
	char key[80];                  /* "COUNTRY|org" */
	uint64_t version;
	uint8_t leaf[LEDGER_HASH_BYTES];
} model_stream;

typedef struct model {
	model_stream s[MODEL_STREAMS_MAX];
	size_t n;
} model;

static model_stream *model_find(model *m, const char *country, const char *org)
{
	char key[80];

	snprintf(key, sizeof key, "%s|%s", country, org);
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->s[i].key, key) == 0)
			return &m->s[i];
	CU_ASSERT_FATAL(m->n < MODEL_STREAMS_MAX);
	model_stream *s = &m->s[m->n++];
	memset(s, 0, sizeof *s);
	snprintf(s->key, sizeof s->key, "%s", key);
	return s;
}

static void test_ledger_streams(void)
{
	fixture f;
	fixture_event *ev;
	model m = { .n = 0 };
	const char *batch2 =
		"{\"id\":\"a1\",\"type\":\"listed\",\"country\":\"KZ\",\"organization\":\"taliban\",\"date\":\"2005\",\"list\":\"banned\"}\n"
		"{\"id\":\"a2\",\"type\":\"meeting\",\"country\":\"AF\",\"organization\":\"taliban\",\"date\":\"2022\"}\n"
		"{\"id\":\"a3\",\"type\":\"delisted\",\"country\":\"KAZ\",\"organization\":\"Islamic Emirate\",\"date\":\"2023-12-29\",\"list\":\"banned\"}\n"
		"{\"id\":\"a4\",\"type\":\"statement\",\"country\":\"Kazakhstan\",\"organization\":\"etat\",\"date\":\"2023\"}\n"
		"{\"type\":\"organization\",\"organization\":\"taliban\",\"name\":\"The Taliban\"}\n";
	const char *batch3 =
		"{\"type\":\"retraction\",\"retracts\":\"a2\",\"reason\":\"wrong\"}\n"
		"{\"id\":\"a5\",\"type\":\"meeting\",\"country\":\"KZ\",\"organization\":\"taliban\",\"date\":\"2024\"}\n"
		"{\"type\":\"redaction\",\"redacts\":\"a1\",\"reason\":\"takedown\"}\n";

	OPEN(f, true);
	expect_appended(&f, batch2, 5);
	expect_appended(&f, batch3, 3);
	size_t n = fixture_events(&ev, &f);
	CU_ASSERT_FATAL(n == 10);
	for (size_t i = 0; i < n; i++) {
		Annals__Envelope *env = ev[i].env;
		CU_ASSERT_PTR_NOT_NULL_FATAL(env);
		const char *country = env->country, *org = env->organization;
		if (env->type == ANNALS__EVENT_TYPE__RETRACTION ||
		    env->type == ANNALS__EVENT_TYPE__REDACTION) {
			/* It joins the stream of its target, found by id. */
			const char *target = env->type == ANNALS__EVENT_TYPE__RETRACTION ?
			                     env->retracts : env->redacts;
			uint64_t tseq = 0;
			CU_ASSERT_EQUAL(ledger_find_id(&tseq, f.l, target), LEDGER_OK);
			CU_ASSERT_FATAL(tseq >= 1 && tseq < ev[i].seq);
			CU_ASSERT_STRING_EQUAL(country, ev[tseq - 1].env->country);
			CU_ASSERT_STRING_EQUAL(org, ev[tseq - 1].env->organization);
		}
		if (env->type == ANNALS__EVENT_TYPE__ORGANIZATION)
			CU_ASSERT_STRING_EQUAL(country, "");
		model_stream *s = model_find(&m, country, org);
		CU_ASSERT_EQUAL(env->stream_version, s->version + 1);
		CU_ASSERT(bin_eq(&env->stream_prev, s->version ? s->leaf : zeros));
		s->version++;
		memcpy(s->leaf, ev[i].leaf_hash, LEDGER_HASH_BYTES);
	}
	/* Names were normalized: KAZ and Kazakhstan are KZ, the alias is the slug. */
	CU_ASSERT_STRING_EQUAL(ev[4].env->country, "KZ");
	CU_ASSERT_STRING_EQUAL(ev[4].env->organization, "taliban");
	CU_ASSERT_STRING_EQUAL(ev[5].env->country, "KZ");
	CU_ASSERT_EQUAL(model_find(&m, "KZ", "taliban")->version, 4);
	CU_ASSERT_EQUAL(model_find(&m, "AF", "taliban")->version, 2);
	CU_ASSERT_EQUAL(model_find(&m, "", "taliban")->version, 2);
	CU_ASSERT_EQUAL(model_find(&m, "", "etat")->version, 1);
	CU_ASSERT_EQUAL(model_find(&m, "KZ", "etat")->version, 1);
	ledger_verify_stats vs;
	CU_ASSERT_EQUAL(ledger_verify(&vs, f.l), LEDGER_OK);
	CU_ASSERT_EQUAL(vs.streams, m.n);
	CU_ASSERT_EQUAL(vs.events, 10);
	fixture_events_free(ev, n);
	fixture_close(&f);
}

static void test_ledger_recorded_at_per_transaction(void)
{
	fixture f;
	fixture_event *ev;
	fixture_text t = { 0 };

	OPEN(f, true);
	for (int batch = 0; batch < 3; batch++) {
		t.bytes = 0;
		for (int i = 0; i < 4; i++)
			fixture_text_add(&t, "{\"id\":\"r%d-%d\",\"type\":\"meeting\","
			                 "\"country\":\"KZ\",\"organization\":\"taliban\","
			                 "\"date\":\"2020\"}\n", batch, i);
		expect_appended(&f, t.data, 4);
		usleep(1000);
	}
	size_t n = fixture_events(&ev, &f);
	CU_ASSERT_FATAL(n == 14);
	/* Transactions: seqs 1-2 (ORGS), 3-6, 7-10, 11-14. */
	static const size_t starts[] = { 0, 2, 6, 10, 14 };
	for (size_t tx = 0; tx + 1 < sizeof starts / sizeof starts[0]; tx++) {
		for (size_t i = starts[tx]; i < starts[tx + 1]; i++) {
			CU_ASSERT_EQUAL(ev[i].recorded_at_us, ev[starts[tx]].recorded_at_us);
			CU_ASSERT_EQUAL(ev[i].env->recorded_at_us, ev[i].recorded_at_us);
		}
		if (tx > 0)
			CU_ASSERT(ev[starts[tx]].recorded_at_us >=
			          ev[starts[tx - 1]].recorded_at_us);
	}
	CU_ASSERT(ev[0].recorded_at_us > 1600000000ull * 1000000ull);
	fixture_events_free(ev, n);
	fixture_text_free(&t);
	fixture_close(&f);
}

/* ---- ids ---- */

static bool is_hex32(const char *s)
{
	if (strlen(s) != 32)
		return false;
	for (size_t i = 0; i < 32; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static void test_ledger_derived_ids(void)
{
	fixture f;
	ledger_import_stats st;
	char id[LEDGER_ID_TEXT_BYTES], id2[LEDGER_ID_TEXT_BYTES];
	const char *ev = "{\"type\":\"meeting\",\"country\":\"KZ\",\"organization\":"
	                 "\"taliban\",\"date\":\"2023-12\",\"summary\":\"met\"}";

	OPEN(f, true);
	CU_ASSERT_EQUAL(fixture_import(&f, ev, &st), LEDGER_OK);
	CU_ASSERT_EQUAL(st.appended, 1);
	CU_ASSERT_EQUAL(ledger_get_id(id, f.l, 3), LEDGER_OK);
	CU_ASSERT(is_hex32(id));
	/* The same content again, with its keys reordered, with the country
	 * and organization named differently (a code, capitals, an alias), and with an expect_version
	 * (checked, not hashed): the same id, skipped. */
	const char *same[] = {
		ev,
		"{\"date\":\"2023-12\",\"summary\":\"met\",\"organization\":\"taliban\","
		"\"country\":\"KZ\",\"type\":\"meeting\"}",
		"{\"type\":\"meeting\",\"country\":\"KAZ\",\"organization\":"
		"\"TALIBAN\",\"date\":\"2023-12\",\"summary\":\"met\"}",
		"{\"type\":\"meeting\",\"country\":\"KZ\",\"organization\":\"taliban\","
		"\"date\":\"2023-12\",\"summary\":\"met\",\"expect_version\":1}",
		/* by an alias: the MAC the reading thread made with the name
		 * is made again with the slug it resolves to */
		"{\"type\":\"meeting\",\"country\":\"KZ\",\"organization\":"
		"\"Islamic Emirate\",\"date\":\"2023-12\",\"summary\":\"met\"}",
	};
	for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
		CU_ASSERT_EQUAL(fixture_import(&f, same[i], &st), LEDGER_OK);
		CU_ASSERT_EQUAL(st.appended, 0);
		CU_ASSERT_EQUAL(st.skipped, 1);
	}
	/* The same event as protobuf input: the same id. */
	Annals__InputEvent m = ANNALS__INPUT_EVENT__INIT;
	m.type = "meeting";
	m.country = "KZ";
	m.organization = "taliban";
	m.date = "2023-12";
	m.summary = "met";
	fixture_text pb = { 0 };
	fixture_pb_add(&pb, &m.base);
	ledger_import_opts o = { .format = LEDGER_FORMAT_PB, .expect_version = -1 };
	CU_ASSERT_EQUAL(fixture_import_opts(&f, pb.data, pb.bytes, o, &st), LEDGER_OK);
	CU_ASSERT_EQUAL(st.appended, 0);
	CU_ASSERT_EQUAL(st.skipped, 1);
	fixture_text_free(&pb);
	/* Other content: another id. */
	CU_ASSERT_EQUAL(fixture_import(&f, "{\"type\":\"meeting\",\"country\":\"KZ\","
	                "\"organization\":\"taliban\",\"date\":\"2023-12\","
	                "\"summary\":\"met again\"}", &st), LEDGER_OK);
	CU_ASSERT_EQUAL(st.appended, 1);
	CU_ASSERT_EQUAL(ledger_get_id(id2, f.l, 4), LEDGER_OK);
	CU_ASSERT(is_hex32(id2));
	CU_ASSERT(strcmp(id, id2) != 0);
	uint64_t seq = 0;
	CU_ASSERT_EQUAL(ledger_find_id(&seq, f.l, id), LEDGER_OK);
	CU_ASSERT_EQUAL(seq, 3);
	CU_ASSERT_EQUAL(fixture_head(&f).seq, 4);
	fixture_close(&f);
}

/* A derived id depends on the per-ledger secret: another ledger gives the
 * same content another id (DESIGN §3: an id reveals nothing). */
static void test_ledger_derived_ids_per_ledger(void)
{
	fixture a, b;
	char ida[LEDGER_ID_TEXT_BYTES], idb[LEDGER_ID_TEXT_BYTES];
	const char *ev = "{\"type\":\"meeting\",\"country\":\"KZ\",\"organization\":"
	                 "\"taliban\",\"date\":\"2023-12\"}";

	OPEN(a, true);
	OPEN(b, true);
	expect_appended(&a, ev, 1);
	expect_appended(&b, ev, 1);
	CU_ASSERT_EQUAL(ledger_get_id(ida, a.l, 3), LEDGER_OK);
	CU_ASSERT_EQUAL(ledger_get_id(idb, b.l, 3), LEDGER_OK);
	CU_ASSERT(is_hex32(ida) && is_hex32(idb));
	CU_ASSERT(strcmp(ida, idb) != 0);
	fixture_close(&a);
	fixture_close(&b);
}

static void test_ledger_import_twice_appends_nothing(void)
{
	fixture f;
	ledger_import_stats st;
	fixture_text t = { 0 };

	OPEN(f, false);
	fixture_text_add(&t, "%s", ORGS);
	for (int i = 0; i < 20; i++)
		fixture_text_add(&t, "{%s\"type\":\"meeting\",\"country\":\"KZ\","
		                 "\"organization\":\"taliban\",\"date\":\"2020-01-%02d\"}\n",
		                 i % 2 ? "\"id\":\"given\"," : "", i + 1);
	/* "given" twice with other content in one file is refused... */
	CU_ASSERT_EQUAL(fixture_import(&f, t.data, &st), LEDGER_EINPUT);
	CU_ASSERT_EQUAL(fixture_head(&f).seq, 0);
	fixture_text_free(&t);
	/* ...a clean file goes in once. */
	fixture_text_add(&t, "%s", ORGS);
	for (int i = 0; i < 20; i++) {
		if (i % 2)
			fixture_text_add(&t, "{\"id\":\"given-%d\",", i);
		else
			fixture_text_add(&t, "{");
		fixture_text_add(&t, "\"type\":\"meeting\",\"country\":\"KZ\","
		                 "\"organization\":\"taliban\",\"date\":\"2020-01-%02d\"}\n",
		                 i + 1);
	}
	CU_ASSERT_EQUAL(fixture_import(&f, t.data, &st), LEDGER_OK);
	CU_ASSERT_EQUAL(st.appended, 22);
	ledger_head h1 = fixture_head(&f);
	char *d1 = fixture_dump(&f);
	CU_ASSERT_EQUAL(fixture_import(&f, t.data, &st), LEDGER_OK);
	CU_ASSERT_EQUAL(st.records, 22);
	CU_ASSERT_EQUAL(st.appended, 0);
	CU_ASSERT_EQUAL(st.skipped, 22);
	CU_ASSERT_EQUAL(st.first_seq, 0);
	CU_ASSERT_EQUAL(st.last_seq, 0);
	ledger_head h2 = fixture_head(&f);
	char *d2 = fixture_dump(&f);
	CU_ASSERT_EQUAL(h1.seq, h2.seq);
	CU_ASSERT(memcmp(h1.leaf_hash, h2.leaf_hash, LEDGER_HASH_BYTES) == 0);
	CU_ASSERT(d1 && d2 && strcmp(d1, d2) == 0);
	free(d1);
	free(d2);
	fixture_text_free(&t);
	fixture_close(&f);
}

static void test_ledger_same_id_other_content_refused(void)
{
	fixture f;

	OPEN(f, true);
	expect_appended(&f, "{\"id\":\"x-1\",\"type\":\"meeting\",\"country\":\"KZ\","
	                "\"organization\":\"taliban\",\"date\":\"2023\","
	                "\"summary\":\"first\"}", 1);
	expect_refused(&f, "{\"id\":\"x-1\",\"type\":\"meeting\",\"country\":\"KZ\","
	               "\"organization\":\"taliban\",\"date\":\"2023\","
	               "\"summary\":\"second\"}", LEDGER_EINPUT, "test:1: id: ");
	CU_ASSERT_PTR_NOT_NULL(strstr(f.report, "already stored"));
	/* Also inside a batch with good records, on its third line. */
	expect_refused(&f,
	               "{\"id\":\"x-2\",\"type\":\"meeting\",\"country\":\"KZ\",\"organization\":\"taliban\",\"date\":\"2023\"}\n"
	               "{\"id\":\"x-3\",\"type\":\"meeting\",\"country\":\"KZ\",\"organization\":\"taliban\",\"date\":\"2023\"}\n"
	               "{\"id\":\"x-1\",\"type\":\"statement\",\"country\":\"KZ\",\"organization\":\"taliban\",\"date\":\"2023\"}\n",
	               LEDGER_EINPUT, "test:3: id: ");
	/* The same id twice in one batch with other content. */
	expect_refused(&f,
	               "{\"id\":\"x-4\",\"type\":\"meeting\",\"country\":\"KZ\",\"organization\":\"taliban\",\"date\":\"2023\"}\n"
	               "{\"id\":\"x-4\",\"type\":\"meeting\",\"country\":\"KZ\",\"organization\":\"taliban\",\"date\":\"2024\"}\n",
	               LEDGER_EINPUT, "test:2: id: ");
	CU_ASSERT_EQUAL(fixture_head(&f).seq, 3);
	fixture_close(&f);
}

static void test_ledger_expect_version(void)
{
	fixture f;
	ledger_import_stats st;
	const char *ev1 = "{\"type\":\"meeting\",\"country\":\"KZ\",\"organization\":"
	                  "\"taliban\",\"date\":\"2021\"}";
	const char *ev2 = "{\"type\":\"meeting\",\"country\":\"KZ\",\"organization\":"
	                  "\"taliban\",\"date\":\"2022\"}";
	ledger_import_opts o = { .name = "test", .expect_version = 0 };

	OPEN(f, true);
	/* Through the options: a new relationship is at version 0. */
	CU_ASSERT_EQUAL(fixture_import_opts(&f, ev1, strlen(ev1), o, &st), LEDGER_OK);
	CU_ASSERT_EQUAL(st.appended, 1);
	ledger_head h = fixture_head(&f);
	CU_ASSERT_EQUAL(fixture_import_opts(&f, ev2, strlen(ev2), o, &st),
	                LEDGER_ECONFLICT);
	CU_ASSERT_EQUAL(f.reports, 1);
	CU_ASSERT_PTR_NOT_NULL(strstr(f.report, "expect_version"));
	CU_ASSERT_EQUAL(fixture_head(&f).seq, h.seq);
	o.expect_version = 2;
	CU_ASSERT_EQUAL(fixture_import_opts(&f, ev2, strlen(ev2), o, &st),
	                LEDGER_ECONFLICT);
	o.expect_version = 1;
	CU_ASSERT_EQUAL(fixture_import_opts(&f, ev2, strlen(ev2), o, &st), LEDGER_OK);
	CU_ASSERT_EQUAL(st.appended, 1);
	/* Through the NDJSON field. */
	expect_refused(&f, "{\"type\":\"meeting\",\"country\":\"KZ\",\"organization\":"
	               "\"taliban\",\"date\":\"2023\",\"expect_version\":1}",
	               LEDGER_ECONFLICT, "test:1: expect_version: ");
	expect_refused(&f, "{\"type\":\"meeting\",\"country\":\"KZ\",\"organization\":"
	               "\"taliban\",\"date\":\"2023\",\"expect_version\":3}",
	               LEDGER_ECONFLICT, "expect_version");
	expect_appended(&f, "{\"type\":\"meeting\",\"country\":\"KZ\",\"organization\":"
	                "\"taliban\",\"date\":\"2023\",\"expect_version\":2}", 1);
	/* The option overrides the record's own. */
	o.expect_version = 3;
	const char *ev4 = "{\"type\":\"meeting\",\"country\":\"KZ\",\"organization\":"
	                  "\"taliban\",\"date\":\"2024\",\"expect_version\":0}";
	CU_ASSERT_EQUAL(fixture_import_opts(&f, ev4, strlen(ev4), o, &st), LEDGER_OK);
	CU_ASSERT_EQUAL(st.appended, 1);
	/* A new relationship expects 0; other streams are not affected. */
	expect_appended(&f, "{\"type\":\"meeting\",\"country\":\"AF\",\"organization\":"
	                "\"taliban\",\"date\":\"2023\",\"expect_version\":0}", 1);
	/* A conflict among other refused records is reported as EINPUT. */
	CU_ASSERT_EQUAL(fixture_import(&f, "{\"type\":\"meeting\",\"country\":\"KZ\","
	                "\"organization\":\"taliban\",\"date\":\"2025\","
	                "\"expect_version\":0}\n{\"type\":\"bogus\"}\n", &st),
	                LEDGER_EINPUT);
	CU_ASSERT_EQUAL(f.reports, 2);
	CU_ASSERT_EQUAL(fixture_head(&f).seq, 7);
	fixture_close(&f);
}

/* ---- retractions and redactions ---- */

static void test_ledger_retraction_rules(void)
{
	fixture f;

	OPEN(f, true);
	expect_appended(&f,
	                "{\"id\":\"e1\",\"type\":\"listed\",\"country\":\"KZ\",\"organization\":\"taliban\",\"date\":\"2005\",\"list\":\"banned\"}\n"
	                "{\"id\":\"e2\",\"type\":\"meeting\",\"country\":\"KZ\",\"organization\":\"taliban\",\"date\":\"2023\"}\n"
	                "{\"id\":\"r1\",\"type\":\"retraction\",\"retracts\":\"e1\",\"reason\":\"wrong year\"}\n", 3);
	expect_refused(&f, "{\"type\":\"retraction\",\"retracts\":\"no-such\","
	               "\"reason\":\"x\"}", LEDGER_EINPUT, "test:1: retracts: ");
	expect_refused(&f, "{\"type\":\"retraction\",\"retracts\":\"r1\","
	               "\"reason\":\"x\"}", LEDGER_EINPUT, "retracts");
	expect_refused(&f, "{\"type\":\"retraction\",\"retracts\":\"e1\","
	               "\"reason\":\"again\"}", LEDGER_EINPUT, "already retracted");
	/* The first organization event has a derived id. */
	char org_id[LEDGER_ID_TEXT_BYTES], text[512];
	CU_ASSERT_EQUAL_FATAL(ledger_get_id(org_id, f.l, 1), LEDGER_OK);
	snprintf(text, sizeof text, "{\"type\":\"retraction\",\"retracts\":\"%s\","
	         "\"reason\":\"x\"}", org_id);
	expect_refused(&f, text, LEDGER_EINPUT, "organization");
	/* A retraction needs a reason and nothing of a relationship. */
	expect_refused(&f, "{\"type\":\"retraction\",\"retracts\":\"e2\"}",
	               LEDGER_EINPUT, "reason");
	expect_refused(&f, "{\"type\":\"retraction\",\"retracts\":\"e2\","
	               "\"reason\":\"x\",\"country\":\"KZ\"}", LEDGER_EINPUT, "country");
	/* Two retractions of one event in one batch: the second is refused. */
	expect_refused(&f,
	               "{\"type\":\"retraction\",\"retracts\":\"e2\",\"reason\":\"a\"}\n"
	               "{\"type\":\"retraction\",\"retracts\":\"e2\",\"reason\":\"b\"}\n",
	               LEDGER_EINPUT, "test:2: retracts: ");
	/* A redaction cannot be retracted, nor redacted. */
	expect_appended(&f, "{\"id\":\"d1\",\"type\":\"redaction\",\"redacts\":\"e2\","
	                "\"reason\":\"takedown\"}", 1);
	expect_refused(&f, "{\"type\":\"retraction\",\"retracts\":\"d1\","
	               "\"reason\":\"x\"}", LEDGER_EINPUT, "retracts");
	expect_refused(&f, "{\"type\":\"redaction\",\"redacts\":\"d1\","
	               "\"reason\":\"x\"}", LEDGER_EINPUT, "redacts");
	expect_refused(&f, "{\"type\":\"redaction\",\"redacts\":\"e2\","
	               "\"reason\":\"again\"}", LEDGER_EINPUT, "already redacted");
	expect_refused(&f, "{\"type\":\"redaction\",\"redacts\":\"nothing\","
	               "\"reason\":\"x\"}", LEDGER_EINPUT, "test:1: redacts: ");
	/* A redacted event can still be retracted. */
	expect_appended(&f, "{\"type\":\"retraction\",\"retracts\":\"e2\","
	                "\"reason\":\"withdrawn\"}", 1);
	ledger_verify_stats vs;
	CU_ASSERT_EQUAL(ledger_verify(&vs, f.l), LEDGER_OK);
	CU_ASSERT_EQUAL(vs.events, 7);
	CU_ASSERT_EQUAL(vs.redacted, 1);
	fixture_close(&f);
}

struct body_probe {
	bool seen, has_body;
	uint8_t leaf[LEDGER_HASH_BYTES];
};

static int probe_body(void *ctx, const ledger_event_view *ev)
{
	struct body_probe *p = ctx;

	p->seen = true;
	p->has_body = ev->body != NULL;
	memcpy(p->leaf, ev->leaf_hash, LEDGER_HASH_BYTES);
	return 0;
}

static void test_ledger_redaction_removes_body(void)
{
	fixture f;
	struct body_probe before = { 0 }, after = { 0 }, red = { 0 };
	ledger_verify_stats vs;

	OPEN(f, true);
	expect_appended(&f, "{\"id\":\"secret\",\"type\":\"meeting\",\"country\":\"KZ\","
	                "\"organization\":\"taliban\",\"date\":\"2023\","
	                "\"summary\":\"a private detail\",\"participants\":"
	                "[{\"name\":\"Someone\"}]}", 1);
	CU_ASSERT_EQUAL(ledger_get(f.l, 3, probe_body, &before), LEDGER_OK);
	CU_ASSERT(before.seen && before.has_body);
	expect_appended(&f, "{\"type\":\"redaction\",\"redacts\":\"secret\","
	                "\"reason\":\"court order\"}", 1);
	CU_ASSERT_EQUAL(ledger_get(f.l, 3, probe_body, &after), LEDGER_OK);
	CU_ASSERT(after.seen);
	CU_ASSERT_FALSE(after.has_body);
	/* The envelope and so the leaf hash stay. */
	CU_ASSERT(memcmp(before.leaf, after.leaf, LEDGER_HASH_BYTES) == 0);
	CU_ASSERT_EQUAL(ledger_get(f.l, 4, probe_body, &red), LEDGER_OK);
	CU_ASSERT(red.has_body);
	char *dump = fixture_dump(&f);
	CU_ASSERT(dump && !strstr(dump, "a private detail"));
	CU_ASSERT(dump && strstr(dump, "\"redacted_by\":4"));
	free(dump);
	CU_ASSERT_EQUAL(ledger_verify(&vs, f.l), LEDGER_OK);
	CU_ASSERT_EQUAL(vs.events, 4);
	CU_ASSERT_EQUAL(vs.redacted, 1);
	/* And after reopening. */
	fixture_close_ledger(&f);
	CU_ASSERT_FATAL(fixture_reopen(&f) == 0);
	CU_ASSERT_EQUAL(ledger_verify(&vs, f.l), LEDGER_OK);
	CU_ASSERT_EQUAL(vs.redacted, 1);
	ledger_stats s;
	CU_ASSERT_EQUAL(ledger_get_stats(&s, f.l), LEDGER_OK);
	CU_ASSERT_EQUAL(s.redacted, 1);
	CU_ASSERT_EQUAL(s.events, 4);
	fixture_close(&f);
}

/* ---- organizations ---- */

static void test_ledger_unknown_org_refused(void)
{
	fixture f;

	OPEN(f, true);
	expect_refused(&f, "{\"type\":\"meeting\",\"country\":\"KZ\","
	               "\"organization\":\"hamas\",\"date\":\"2023\"}",
	               LEDGER_EINPUT, "test:1: organization: ");
	CU_ASSERT_PTR_NOT_NULL(strstr(f.report, "hamas"));
	CU_ASSERT_PTR_NOT_NULL(strstr(f.report, "annals org add"));
	/* A new organization event needs a name. */
	expect_refused(&f, "{\"type\":\"organization\",\"organization\":\"hamas\"}",
	               LEDGER_EINPUT, "name");
	/* Registered in the same batch, it resolves for the records after it. */
	expect_appended(&f, "{\"type\":\"organization\",\"organization\":\"hamas\","
	                "\"name\":\"Hamas\"}\n{\"type\":\"meeting\",\"country\":\"QA\","
	                "\"organization\":\"Hamas\",\"date\":\"2023\"}\n", 2);
	fixture_close(&f);
}

static void test_ledger_org_by_name_or_alias(void)
{
	fixture f;
	const char *names[] = {
		"taliban", "Taliban", "TALIBAN", "islamic emirate of afghanistan",
		"ISLAMIC Emirate", "  Islamic \\t Emirate  ", "The Taliban",
	};
	fixture_text t = { 0 };

	OPEN(f, true);
	/* A rename adds "The Taliban"; old names still resolve. */
	expect_appended(&f, "{\"type\":\"organization\",\"organization\":\"taliban\","
	                "\"name\":\"The Taliban\"}", 1);
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		fixture_text_add(&t, "{\"type\":\"meeting\",\"country\":\"AF\","
		                 "\"organization\":\"%s\",\"date\":\"20%02zu\"}\n",
		                 names[i], i + 10);
	/* Case folding beyond ASCII: "État Islamique", "éi". */
	fixture_text_add(&t, "{\"type\":\"meeting\",\"country\":\"FR\","
	                 "\"organization\":\"\xc3\xa9tat ISLAMIQUE\",\"date\":\"2020\"}\n"
	                 "{\"type\":\"meeting\",\"country\":\"FR\","
	                 "\"organization\":\"\xc3\xa9i\",\"date\":\"2021\"}\n");
	expect_appended(&f, t.data, 9);
	for (uint64_t seq = 4; seq <= 12; seq++) {
		Annals__Envelope *env = envelope_at(&f, seq);
		CU_ASSERT_PTR_NOT_NULL_FATAL(env);
		CU_ASSERT_STRING_EQUAL(env->organization, seq <= 10 ? "taliban" : "etat");
		annals__envelope__free_unpacked(env, NULL);
	}
	fixture_text_free(&t);
	fixture_close(&f);
}

static void test_ledger_ambiguous_alias(void)
{
	fixture f;

	OPEN(f, true);
	expect_appended(&f,
	                "{\"type\":\"organization\",\"organization\":\"front-a\",\"name\":\"Front A\",\"aliases\":[\"The Front\"]}\n"
	                "{\"type\":\"organization\",\"organization\":\"front-b\",\"name\":\"Front B\",\"aliases\":[\"the FRONT\"]}\n", 2);
	expect_refused(&f, "{\"type\":\"meeting\",\"country\":\"KZ\","
	               "\"organization\":\"The Front\",\"date\":\"2023\"}",
	               LEDGER_EINPUT, "test:1: organization: ");
	CU_ASSERT_PTR_NOT_NULL(strstr(f.report, "ambiguous"));
	CU_ASSERT_PTR_NOT_NULL(strstr(f.report, "front-a"));
	CU_ASSERT_PTR_NOT_NULL(strstr(f.report, "front-b"));
	/* Each is still found by its slug and its own name. */
	expect_appended(&f,
	                "{\"type\":\"meeting\",\"country\":\"KZ\",\"organization\":\"front-a\",\"date\":\"2023\"}\n"
	                "{\"type\":\"meeting\",\"country\":\"KZ\",\"organization\":\"front b\",\"date\":\"2023\"}\n", 2);
	fixture_close(&f);
}

/* ---- limits of DESIGN §2, at max and max+1 ---- */

static void import_org(fixture *f, const char *slug, const char *name,
                       const char *alias, bool ok, const char *field)
{
	fixture_text t = { 0 };

	fixture_text_add(&t, "{\"type\":\"organization\",\"organization\":\"%s\","
	                 "\"name\":\"%s\"", slug, name);
	if (alias)
		fixture_text_add(&t, ",\"aliases\":[\"%s\"]", alias);
	fixture_text_add(&t, "}");
	if (ok)
		expect_appended(f, t.data, 1);
	else
		expect_refused(f, t.data, LEDGER_EINPUT, field);
	fixture_text_free(&t);
}

static void test_ledger_limits_id_slug_name(void)
{
	fixture f;
	char s[1024];
	fixture_text t = { 0 };

	OPEN(f, true);
	/* id: 128 bytes, 129 bytes */
	for (int extra = 0; extra <= 1; extra++) {
		memset(s, 'i', 128 + extra);
		s[128 + extra] = '\0';
		s[0] = (char)('A' + extra);
		t.bytes = 0;
		fixture_text_add(&t, "{\"id\":\"%s\",\"type\":\"meeting\",\"country\":"
		                 "\"KZ\",\"organization\":\"taliban\",\"date\":\"2023\"}", s);
		if (extra)
			expect_refused(&f, t.data, LEDGER_EINPUT, "test:1: id: ");
		else
			expect_appended(&f, t.data, 1);
	}
	/* A retraction target id is an id too. */
	memset(s, 'i', 129);
	s[129] = '\0';
	t.bytes = 0;
	fixture_text_add(&t, "{\"type\":\"retraction\",\"retracts\":\"%s\",\"reason\":\"x\"}", s);
	expect_refused(&f, t.data, LEDGER_EINPUT, "test:1: retracts: ");
	/* slug: 63, 64 */
	memset(s, 's', 64);
	s[63] = '\0';
	import_org(&f, s, "Slug Max", NULL, true, NULL);
	s[63] = 's';
	s[64] = '\0';
	import_org(&f, s, "Slug Over", NULL, false, "test:1: organization: ");
	/* list slug: 63, 64 */
	for (int extra = 0; extra <= 1; extra++) {
		memset(s, 'l', 63 + extra);
		s[63 + extra] = '\0';
		t.bytes = 0;
		fixture_text_add(&t, "{\"type\":\"listed\",\"country\":\"KZ\","
		                 "\"organization\":\"taliban\",\"date\":\"2023\","
		                 "\"list\":\"%s\"}", s);
		if (extra)
			expect_refused(&f, t.data, LEDGER_EINPUT, "test:1: list: ");
		else
			expect_appended(&f, t.data, 1);
	}
	/* name: 400, 401 bytes once folded (ASCII upper case folds 1:1) */
	memset(s, 'N', 401);
	s[400] = '\0';
	import_org(&f, "name-max", s, NULL, true, NULL);
	s[400] = 'N';
	s[401] = '\0';
	import_org(&f, "name-over", s, NULL, false, "test:1: name: ");
	/* U+0149 (2 bytes) folds to U+02BC U+006E (3 bytes): 267 bytes in,
	 * 400 folded is the max; 268 in, 402 folded is over. */
	t.bytes = 0;
	for (int i = 0; i < 133; i++)
		fixture_text_add(&t, "\xc5\x89");
	fixture_text_add(&t, "a");
	import_org(&f, "fold-max", t.data, NULL, true, NULL);
	t.bytes = 0;
	for (int i = 0; i < 134; i++)
		fixture_text_add(&t, "\xc5\x89");
	import_org(&f, "fold-over", t.data, NULL, false, "test:1: name: ");
	/* alias: the same limit */
	memset(s, 'a', 401);
	s[400] = '\0';
	import_org(&f, "alias-max", "Alias Max", s, true, NULL);
	s[400] = 'a';
	s[401] = '\0';
	import_org(&f, "alias-over", "Alias Over", s, false, "test:1: aliases[0]: ");
	/* The long names resolve. */
	memset(s, 'n', 400);
	s[400] = '\0';
	t.bytes = 0;
	fixture_text_add(&t, "{\"type\":\"meeting\",\"country\":\"KZ\","
	                 "\"organization\":\"%s\",\"date\":\"2023\"}", s);
	expect_appended(&f, t.data, 1);
	ledger_verify_stats vs;
	CU_ASSERT_EQUAL(ledger_verify(&vs, f.l), LEDGER_OK);
	fixture_text_free(&t);
	fixture_close(&f);
}

/* An event with 16 sources of 4,000-byte quotes and a summary of
 * summary_bytes, as record 2 of a fresh ledger. */
static void big_event(fixture_text *t, size_t summary_bytes)
{
	t->bytes = 0;
	fixture_text_add(t, "{\"id\":\"big-event\",\"type\":\"statement\","
	                 "\"country\":\"KZ\",\"organization\":\"taliban\","
	                 "\"date\":\"2020-01-01\",\"summary\":\"");
	fixture_text_repeat(t, 's', summary_bytes);
	fixture_text_add(t, "\",\"sources\":[");
	for (int i = 0; i < 16; i++) {
		fixture_text_add(t, "%s{\"url\":\"https://example.org/%02d\",\"quote\":\"",
		                 i ? "," : "", i);
		fixture_text_repeat(t, 'q', 4000);
		fixture_text_add(t, "\"}");
	}
	fixture_text_add(t, "]}");
}

struct size_probe {
	size_t bytes;
};

static int probe_size(void *ctx, const ledger_event_view *ev)
{
	((struct size_probe *)ctx)->bytes = ev->envelope_bytes + ev->body_bytes;
	return 0;
}

/* Stored envelope + body bytes of the big event, 0 when refused. */
static size_t big_event_bytes(size_t summary_bytes, bool *refused_as_event)
{
	fixture f;
	fixture_text t = { 0 };
	struct size_probe p = { 0 };
	ledger_import_stats st;

	if (fixture_open(&f) != 0)
		return 0;
	CU_ASSERT_EQUAL(fixture_import(&f, "{\"type\":\"organization\","
	                "\"organization\":\"taliban\",\"name\":\"Taliban\"}", NULL),
	                LEDGER_OK);
	big_event(&t, summary_bytes);
	ledger_err err = fixture_import(&f, t.data, &st);
	if (err == LEDGER_OK)
		CU_ASSERT_EQUAL(ledger_get(f.l, 2, probe_size, &p), LEDGER_OK);
	if (refused_as_event)
		*refused_as_event = err == LEDGER_EINPUT &&
		                    strstr(f.report, "test:1: event: ") != NULL &&
		                    fixture_head(&f).seq == 1;
	fixture_text_free(&t);
	fixture_close(&f);
	return p.bytes;
}

static void test_ledger_limit_event_bytes(void)
{
	bool refused = false;
	size_t probe = 200, bytes = big_event_bytes(probe, NULL);

	CU_ASSERT_FATAL(bytes > 60000 && bytes < 65536);
	/* The size grows byte for byte with the summary in this range. */
	size_t max = probe + (65536 - bytes);
	CU_ASSERT_FATAL(max >= 128 && max <= 4000);
	CU_ASSERT_EQUAL(big_event_bytes(max, NULL), 65536);
	CU_ASSERT_EQUAL(big_event_bytes(max + 1, &refused), 0);
	CU_ASSERT(refused);
}

/* ---- map growth ---- */

static void test_ledger_import_outgrows_tiny_map(void)
{
	fixture f;
	fixture_text t = { 0 };
	ledger_import_stats st;
	ledger_verify_stats vs;
	const uint64_t n = 4000;

	OPEN(f, true);
	ledger_set_map_margin(f.l, 64 * 1024);
	for (uint64_t i = 0; i < n; i++)
		fixture_text_add(&t, "{\"id\":\"grow-%llu\",\"type\":\"meeting\","
		                 "\"country\":\"%s\",\"organization\":\"taliban\","
		                 "\"date\":\"2001-01-01\",\"summary\":\"event %llu "
		                 "of a large batch that must outgrow the tiny map\"}\n",
		                 (unsigned long long)i, i % 2 ? "KZ" : "AF",
		                 (unsigned long long)i);
	ledger_err err = fixture_import(&f, t.data, &st);
	CU_ASSERT_EQUAL(err, LEDGER_OK);
	if (err != LEDGER_OK)
		fprintf(stderr, "\n%s\n", ledger_errmsg(f.l));
	CU_ASSERT(st.replays >= 1);
	CU_ASSERT_EQUAL(st.records, n);
	CU_ASSERT_EQUAL(st.appended, n);
	CU_ASSERT_EQUAL(st.first_seq, 3);
	CU_ASSERT_EQUAL(st.last_seq, n + 2);
	CU_ASSERT_EQUAL(fixture_head(&f).seq, n + 2);
	uint64_t seq = 0;
	CU_ASSERT_EQUAL(ledger_find_id(&seq, f.l, "grow-3999"), LEDGER_OK);
	CU_ASSERT_EQUAL(seq, n + 2);
	CU_ASSERT_EQUAL(ledger_verify(&vs, f.l), LEDGER_OK);
	CU_ASSERT_EQUAL(vs.events, n + 2);
	/* Bad records early and late in a batch that outgrows the map again
	 * are each reported once, whatever the replays, and nothing is
	 * written. */
	ledger_set_map_margin(f.l, 64 * 1024);
	t.bytes = 0;
	for (uint64_t i = 0; i < n; i++)
		fixture_text_add(&t, "{\"id\":\"more-%llu\",\"type\":\"meeting\","
		                 "\"country\":\"%s\",\"organization\":\"taliban\","
		                 "\"date\":\"%s\",\"summary\":\"event %llu of a large "
		                 "batch that must outgrow the tiny map\"}\n",
		                 (unsigned long long)i, i % 2 ? "KZ" : "AF",
		                 i == 10 || i == n - 2 ? "2001-02-30" : "2001-01-01",
		                 (unsigned long long)i);
	ledger_head before = fixture_head(&f);
	CU_ASSERT_EQUAL(fixture_import(&f, t.data, &st), LEDGER_EINPUT);
	CU_ASSERT_EQUAL(f.reports, 2);
	CU_ASSERT_EQUAL(st.rejected, 2);
	CU_ASSERT_PTR_NOT_NULL(strstr(f.report, "test:11: date: "));
	CU_ASSERT_PTR_NOT_NULL(strstr(f.report, "test:3999: date: "));
	ledger_head after = fixture_head(&f);
	CU_ASSERT_EQUAL(after.seq, before.seq);
	CU_ASSERT(memcmp(after.leaf_hash, before.leaf_hash, LEDGER_HASH_BYTES) == 0);
	fixture_text_free(&t);
	fixture_close(&f);
}

/* ---- all or nothing ---- */

static void test_ledger_bad_record_anywhere_leaves_unchanged(void)
{
	fixture f;
	fixture_text t = { 0 };
	ledger_verify_stats vs;
	const size_t n = 30;
	static const struct { size_t at; const char *bad, *want; } cases[] = {
		{ 0, "{\"type\":\"meeting\",\"country\":\"KZ\"", "test:1: json: " },
		{ 14, "{\"type\":\"meeting\",\"country\":\"XX\",\"organization\":"
		      "\"alpha\",\"date\":\"2020\"}", "test:15: country: " },
		{ 29, "{\"type\":\"meeting\",\"country\":\"KZ\",\"organization\":"
		      "\"nobody\",\"date\":\"2020\"}", "test:30: organization: " },
		{ 7, "{\"type\":\"meeting\",\"country\":\"KZ\",\"organization\":"
		     "\"alpha\",\"date\":\"2020\",\"colour\":\"red\"}", "test:8: colour: " },
		{ 29, "{\"type\":\"retraction\",\"retracts\":\"ev-1\",\"reason\":\"x\"}",
		      "test:30: retracts: " },
	};

	OPEN(f, false);
	CU_ASSERT_FATAL(fixture_fill(&f, 20) == 0);
	ledger_head h0 = fixture_head(&f);
	char *d0 = fixture_dump(&f);
	CU_ASSERT_FATAL(d0 != NULL);
	for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
		ledger_import_stats st;
		t.bytes = 0;
		for (size_t i = 0; i < n; i++) {
			if (i == cases[c].at)
				fixture_text_add(&t, "%s\n", cases[c].bad);
			else
				fixture_text_add(&t, "{\"id\":\"good-%zu\",\"type\":\"meeting\","
				                 "\"country\":\"KZ\",\"organization\":\"alpha\","
				                 "\"date\":\"2020\"}\n", i);
		}
		CU_ASSERT_EQUAL(fixture_import(&f, t.data, &st), LEDGER_EINPUT);
		CU_ASSERT_EQUAL(st.records, n);
		CU_ASSERT_EQUAL(st.rejected, 1);
		CU_ASSERT_EQUAL(f.reports, 1);
		if (!strstr(f.report, cases[c].want)) {
			CU_FAIL("wrong report");
			fprintf(stderr, "\nwanted '%s' in: %s\n", cases[c].want, f.report);
		}
		ledger_head h = fixture_head(&f);
		CU_ASSERT_EQUAL(h.seq, h0.seq);
		CU_ASSERT(memcmp(h.leaf_hash, h0.leaf_hash, LEDGER_HASH_BYTES) == 0);
		char *d = fixture_dump(&f);
		CU_ASSERT(d && strcmp(d, d0) == 0);
		free(d);
		uint64_t seq;
		CU_ASSERT_EQUAL(ledger_find_id(&seq, f.l, "good-1"), LEDGER_ENOTFOUND);
	}
	/* The ledger still takes a good import and verifies. */
	t.bytes = 0;
	fixture_text_add(&t, "{\"id\":\"good-1\",\"type\":\"meeting\","
	                 "\"country\":\"KZ\",\"organization\":\"alpha\","
	                 "\"date\":\"2020\"}\n");
	expect_appended(&f, t.data, 1);
	CU_ASSERT_EQUAL(ledger_verify(&vs, f.l), LEDGER_OK);
	CU_ASSERT_EQUAL(vs.events, 21);
	free(d0);
	fixture_text_free(&t);
	fixture_close(&f);
}

/* Every refused record is reported, not only the first, each with its
 * line; blank lines count as lines. */
static void test_ledger_reports_every_bad_record(void)
{
	fixture f;
	ledger_import_stats st;

	OPEN(f, true);
	CU_ASSERT_EQUAL(fixture_import(&f,
	                "{\"type\":\"meeting\",\"country\":\"KZ\",\"organization\":\"taliban\",\"date\":\"2020\"}\n"
	                "\n"
	                "{\"type\":\"meeting\",\"country\":\"KZ\",\"organization\":\"taliban\",\"date\":\"2020-13\"}\n"
	                "{\"type\":\"meeting\",\"country\":\"KZ\",\"organization\":\"taliban\"}\n"
	                "{\"type\":\"listed\",\"country\":\"KZ\",\"organization\":\"taliban\",\"date\":\"2020\"}\n",
	                &st), LEDGER_EINPUT);
	CU_ASSERT_PTR_NOT_NULL(strstr(ledger_errmsg(f.l), "nothing was written"));
	CU_ASSERT_EQUAL(st.rejected, 3);
	CU_ASSERT_EQUAL(f.reports, 3);
	CU_ASSERT_PTR_NOT_NULL(strstr(f.report, "test:3: date: "));
	CU_ASSERT_PTR_NOT_NULL(strstr(f.report, "test:4: date: "));
	CU_ASSERT_PTR_NOT_NULL(strstr(f.report, "test:5: list: "));
	CU_ASSERT_EQUAL(fixture_head(&f).seq, 2);
	fixture_close(&f);
}

void suite_ledger(void);

void suite_ledger(void)
{
	CU_pSuite s = CU_add_suite("ledger", NULL, fixture_suite_cleanup);

	CU_add_test(s, "init refuses an existing ledger", test_ledger_init_refuses_existing);
	CU_add_test(s, "init: origin and key", test_ledger_init_origin_and_key);
	CU_add_test(s, "open of a missing dir", test_ledger_open_missing_dir);
	CU_add_test(s, "open of another version", test_ledger_open_other_version);
	CU_add_test(s, "rebuild indexes of another version", test_ledger_rebuild_other_index_version);
	CU_add_test(s, "rebuild of the Merkle layout of index version 2", test_ledger_rebuild_merkle_layout_2);
	CU_add_test(s, "rebuild of an empty ledger", test_ledger_rebuild_empty);
	CU_add_test(s, "open of an empty dir", test_ledger_open_empty_dir_is_not_found);
	CU_add_test(s, "append one and a batch", test_ledger_append_one_and_batch);
	CU_add_test(s, "chain and hashes", test_ledger_chain_and_hashes);
	CU_add_test(s, "empty ledger", test_ledger_empty_head);
	CU_add_test(s, "streams", test_ledger_streams);
	CU_add_test(s, "recorded_at per transaction", test_ledger_recorded_at_per_transaction);
	CU_add_test(s, "derived ids", test_ledger_derived_ids);
	CU_add_test(s, "derived ids per ledger", test_ledger_derived_ids_per_ledger);
	CU_add_test(s, "import twice appends nothing", test_ledger_import_twice_appends_nothing);
	CU_add_test(s, "same id, other content", test_ledger_same_id_other_content_refused);
	CU_add_test(s, "expect_version", test_ledger_expect_version);
	CU_add_test(s, "retraction rules", test_ledger_retraction_rules);
	CU_add_test(s, "redaction removes the body", test_ledger_redaction_removes_body);
	CU_add_test(s, "unknown organization", test_ledger_unknown_org_refused);
	CU_add_test(s, "organization by name or alias", test_ledger_org_by_name_or_alias);
	CU_add_test(s, "ambiguous alias", test_ledger_ambiguous_alias);
	CU_add_test(s, "limits: id, slug, name", test_ledger_limits_id_slug_name);
	CU_add_test(s, "limit: encoded event bytes", test_ledger_limit_event_bytes);
	CU_add_test(s, "import outgrows a tiny map", test_ledger_import_outgrows_tiny_map);
	CU_add_test(s, "bad record anywhere", test_ledger_bad_record_anywhere_leaves_unchanged);
	CU_add_test(s, "every bad record reported", test_ledger_reports_every_bad_record);
}
