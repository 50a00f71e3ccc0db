/* The buffered index writes (ledger/pending.c): the runs reach LMDB sorted
 * and complete, lookups see the buffer, and a writer whose buffer is
 * written out after nearly every event builds the same ledger as one that
 * holds a whole transaction. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "bytes.h"
#include "fixture.h"
#include "ledger_impl.h"
#include "pending.h"
#include "rand.h"
#include "reader.h"
#include "store.h"

void suite_pending(void);

/* A key of 1 to 40 bytes over a small alphabet, so that many keys share
 * their first 16 bytes and some are prefixes of others. */
static size_t random_key(uint8_t *k, uint64_t *seed)
{
	size_t n = 1 + test_rand(seed) % 40;

	for (size_t i = 0; i < n; i++)
		k[i] = (uint8_t)(i < 18 ? 'a' + test_rand(seed) % 2 : test_rand(seed));
	return n;
}

/* Every key put, in three write-outs (the first into an empty database,
 * appended; the others between stored keys), is stored once with its
 * value, and the database holds nothing else. */
static void test_pending_runs_reach_the_database(void)
{
	enum { ROUNDS = 3, PER_ROUND = 3000 };
	fixture_store f;
	pending p;
	uint64_t seed = 7, stored = 0;
	uint8_t key[64], val[8];
	MDB_txn *txn = NULL;

	CU_ASSERT_FATAL(fixture_store_open(&f) == 0);
	pending_init(&p);
	for (unsigned round = 0; round < ROUNDS; round++) {
		CU_ASSERT_FATAL(store_begin(&txn, f.s, true, &f.e) == LEDGER_OK);
		for (unsigned i = 0; i < PER_ROUND; i++) {
			size_t n = random_key(key, &seed);
			/* Sorted and reverse-sorted stretches too: the worst
			 * inputs of a naive quicksort. */
			if (round == 1 && i < 1000) {
				memset(key, 'a', 16);
				put_u64_be(key + 16, i);
				n = 24;
			} else if (round == 2 && i < 1000) {
				memset(key, 'b', 16);
				put_u64_be(key + 16, 1000 - i);
				n = 24;
			}
			MDB_val v;
			if (store_get(txn, f.s, DB_BYDATE, key, n, &v, &f.e) == LEDGER_OK)
				continue;
			size_t got;
			if (pending_get(&p, PEND_HEADS, key, n, &got))
				continue;
			/* Remember the key in the heads run too, for the lookup. */
			put_u64_be(val, stored);
			CU_ASSERT_FATAL(pending_put(&p, PEND_HEADS, key, n, val, 8, &f.e) == LEDGER_OK);
			CU_ASSERT_FATAL(pending_put(&p, PEND_BYDATE, key, n, val, 8, &f.e) == LEDGER_OK);
			stored++;
		}
		CU_ASSERT_FATAL(pending_write(&p, txn, f.s, &f.e) == LEDGER_OK);
		CU_ASSERT(p.used == 0 && p.run[PEND_BYDATE].count == 0);
		CU_ASSERT_FATAL(store_commit(&txn, &f.e) == LEDGER_OK);
	}
	uint64_t entries = 0, bytes = 0, count = 0;
	CU_ASSERT_FATAL(store_begin(&txn, f.s, false, &f.e) == LEDGER_OK);
	CU_ASSERT(store_db_stat(txn, f.s, DB_BYDATE, &entries, &bytes, &f.e) == LEDGER_OK);
	CU_ASSERT_EQUAL(entries, stored);
	/* Each stored value names its key's heads twin. */
	MDB_cursor *c = NULL;
	MDB_val k, v, h;
	CU_ASSERT_FATAL(store_cursor(&c, txn, f.s, DB_BYDATE, &f.e) == LEDGER_OK);
	for (ledger_err err = store_cursor_get(c, &k, &v, MDB_FIRST, &f.e);
	     err == LEDGER_OK; err = store_cursor_get(c, &k, &v, MDB_NEXT, &f.e)) {
		count++;
		CU_ASSERT(store_get(txn, f.s, DB_HEADS, k.mv_data, k.mv_size, &h, &f.e) == LEDGER_OK &&
		          h.mv_size == 8 && memcmp(h.mv_data, v.mv_data, 8) == 0);
	}
	CU_ASSERT_EQUAL(count, stored);
	store_cursor_close(c);
	store_abort(txn);
	pending_free(&p);
	fixture_store_close(&f);
}

static void test_pending_lookups(void)
{
	fixture_store f;
	pending p;
	uint8_t v8[8], head[48], key[32];
	size_t n;
	const uint8_t *got;

	CU_ASSERT_FATAL(fixture_store_open(&f) == 0);
	pending_init(&p);
	CU_ASSERT(pending_get(&p, PEND_IDS, "a", 1, &n) == NULL);
	put_u64_be(v8, 42);
	CU_ASSERT(pending_put(&p, PEND_IDS, "ev-1", 4, v8, 8, &f.e) == LEDGER_OK);
	got = pending_get(&p, PEND_IDS, "ev-1", 4, &n);
	CU_ASSERT(got && n == 8 && get_u64_be(got) == 42);
	CU_ASSERT(pending_get(&p, PEND_IDS, "ev-", 3, &n) == NULL);
	/* An id twice is refused; a head twice replaces the value. */
	CU_ASSERT(pending_put(&p, PEND_IDS, "ev-1", 4, v8, 8, &f.e) == LEDGER_ECORRUPT);
	memset(head, 1, sizeof head);
	CU_ASSERT(pending_put(&p, PEND_HEADS, "KZ\0org", 6, head, 48, &f.e) == LEDGER_OK);
	memset(head, 2, sizeof head);
	CU_ASSERT(pending_put(&p, PEND_HEADS, "KZ\0org", 6, head, 48, &f.e) == LEDGER_OK);
	got = pending_get(&p, PEND_HEADS, "KZ\0org", 6, &n);
	CU_ASSERT(got && n == 48 && got[0] == 2 && got[47] == 2);
	CU_ASSERT_EQUAL(p.run[PEND_HEADS].count, 1);
	/* Many ids: the table grows and every one is found. */
	for (unsigned i = 0; i < 20000; i++) {
		n = (size_t)snprintf((char *)key, sizeof key, "id-%u", i);
		put_u64_be(v8, i);
		CU_ASSERT_FATAL(pending_put(&p, PEND_IDS, key, n, v8, 8, &f.e) == LEDGER_OK);
	}
	unsigned found = 0;
	for (unsigned i = 0; i < 20000; i++) {
		size_t kn = (size_t)snprintf((char *)key, sizeof key, "id-%u", i);
		got = pending_get(&p, PEND_IDS, key, kn, &n);
		found += got && get_u64_be(got) == i;
	}
	CU_ASSERT_EQUAL(found, 20000);
	/* rel values are found by the seq that ends their key. */
	for (uint64_t seq = 1; seq <= 500; seq++) {
		memcpy(key, "KZ\0org\0", 7);
		put_u32_be(key + 7, (uint32_t)(1000 - seq));
		put_u64_be(key + 11, seq * 3);
		memset(head, (int)(seq & 0xff), 24);
		CU_ASSERT_FATAL(pending_put(&p, PEND_REL, key, 19, head, 24, &f.e) == LEDGER_OK);
	}
	uint8_t *rv = pending_rel_value(&p, 300, &n);
	CU_ASSERT(rv && n == 24 && rv[0] == 100);
	CU_ASSERT(pending_rel_value(&p, 301, &n) == NULL);
	CU_ASSERT(pending_rel_value(&p, 0, &n) == NULL);
	CU_ASSERT(pending_rel_value(&p, 1501, &n) == NULL);
	pending_reset(&p);
	CU_ASSERT(pending_get(&p, PEND_IDS, "ev-1", 4, &n) == NULL);
	CU_ASSERT(pending_rel_value(&p, 300, &n) == NULL);
	pending_free(&p);
	fixture_store_close(&f);
}

/* ---- a writer that writes its buffer out after almost every event ---- */

static const char *const countries[] = { "KZ", "AF", "RU", "US" };
static const char *const orgs[] = { "taliban", "un", "nato" };

/* NDJSON of n events in `chunks` transactions: dated events of four types,
 * and retractions and redactions of earlier events, often of the same
 * transaction. */
static char **random_chunks(uint64_t seed, unsigned n, unsigned chunks)
{
	char **out = calloc(chunks, sizeof *out);
	bool *withdrawn = calloc(n + 1, sizeof *withdrawn);
	bool *event = calloc(n + 1, sizeof *event);
	static const char *const types[] = { "listed", "delisted", "meeting", "statement" };

	CU_ASSERT_FATAL(out && withdrawn && event);
	for (unsigned c = 0, i = 0; c < chunks; c++) {
		fixture_text t = { 0 };
		for (unsigned k = 0; k < n / chunks; k++, i++) {
			uint64_t r = test_rand(&seed);
			if (i > 4 && r % 10 < 2) {
				unsigned target = 1 + (unsigned)(test_rand(&seed) % i);
				if (event[target] && !withdrawn[target]) {
					withdrawn[target] = true;
					fixture_text_add(&t, "{\"id\":\"e%u\",\"type\":\"%s\","
					                 "\"%s\":\"e%u\",\"reason\":\"r\"}\n",
					                 i + 1, r % 10 ? "retraction" : "redaction",
					                 r % 10 ? "retracts" : "redacts", target);
					continue;
				}
			}
			event[i + 1] = true;
			unsigned type = (unsigned)(r >> 8 & 3);
			fixture_text_add(&t, "{\"id\":\"e%u\",\"type\":\"%s\",\"country\":"
			                 "\"%s\",\"organization\":\"%s\",\"date\":"
			                 "\"%u-%02u-%02u\",%s"
			                 "\"summary\":\"s%u\"}\n", i + 1,
			                 types[type], countries[r >> 12 & 3],
			                 orgs[(r >> 16) % 3], 1950 + (unsigned)(r >> 20) % 70,
			                 1 + (unsigned)(r >> 28) % 12, 1 + (unsigned)(r >> 32) % 28,
			                 type < 2 ? "\"list\":\"banned\"," : "", i);
		}
		out[c] = t.data;
	}
	free(withdrawn);
	free(event);
	return out;
}

/* The limits of a writer's dirty set (0: the default). */
typedef struct dirty_limits {
	size_t marks;
	uint32_t rels;
} dirty_limits;

/* Append every record of ndjson in one transaction with a writer whose
 * buffer holds `budget` bytes, whose id filters `filter_bytes` and whose
 * dirty set `dl` (NULL: the defaults); counts what was appended, skipped
 * as already stored, and refused. Returns the lookups the id filters
 * spared. */
static uint64_t append_counting(ledger *l, const char *ndjson, size_t budget,
                                size_t filter_bytes, const dirty_limits *dl,
                                unsigned *appended, unsigned *skipped,
                                unsigned *refused)
{
	writer w;
	arena a;
	field_err fe;
	Annals__InputEvent *in;
	uint64_t line;
	bool skip;
	reader *r = reader_new(LEDGER_FORMAT_NDJSON, -1, ndjson, strlen(ndjson));

	CU_ASSERT_FATAL(r != NULL);
	arena_init(&a);
	CU_ASSERT_FATAL(writer_init(&w, l->s, &l->e, l->secret) == LEDGER_OK);
	w.ix.pend.budget = budget;
	w.ix.pend.filter_bytes_max = filter_bytes;
	if (dl && dl->marks)
		w.ix.dirty.marks_max = dl->marks;
	if (dl && dl->rels)
		w.ix.dirty.rels_max = dl->rels;
	CU_ASSERT_FATAL(writer_begin(&w) == LEDGER_OK);
	*appended = *skipped = *refused = 0;
	for (reader_status st; (st = reader_next(r, &in, &line, &a, &fe)) != READER_END;) {
		CU_ASSERT_FATAL(st == READER_RECORD);
		writer_input wi;
		uint8_t salt[WRITER_SALT_BYTES];
		writer_salts(salt, sizeof salt);
		ledger_err err = writer_prepare(&w.prep, &wi, in, salt, &a, &fe);
		if (err == LEDGER_OK)
			err = writer_append(&w, &wi, -1, &skip, &fe);
		CU_ASSERT_FATAL(err == LEDGER_OK || err == LEDGER_EINPUT);
		*refused += err == LEDGER_EINPUT;
		*skipped += err == LEDGER_OK && skip;
		*appended += err == LEDGER_OK && !skip;
		arena_reset(&a);
	}
	CU_ASSERT_FATAL(writer_commit(&w) == LEDGER_OK);
	uint64_t spared = w.ix.pend.ids_skipped;
	writer_free(&w);
	arena_free(&a);
	reader_free(r);
	return spared;
}

/* Every record appended, in one transaction. */
static void import_with_writer(ledger *l, const char *ndjson, size_t budget,
                               const dirty_limits *dl)
{
	unsigned appended, skipped, refused;

	append_counting(l, ndjson, budget, PENDING_FILTER_BYTES, dl, &appended,
	                &skipped, &refused);
	CU_ASSERT_FATAL(refused == 0);
}

static char *export_csv(ledger *l, const char *at)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *m = open_memstream(&buf, &n);
	ledger_export_info info;
	ledger_export_opts o = { .at = at, .format = LEDGER_EXPORT_CSV };

	CU_ASSERT_FATAL(m != NULL);
	CU_ASSERT(ledger_export(&info, l, &o, m) == LEDGER_OK);
	ledger_export_info_free(&info);
	fclose(m);
	return buf;
}

static void test_pending_tiny_budget_same_ledger(void)
{
	enum { EVENTS = 1200, CHUNKS = 4 };
	static const char *const dates[] = { "1955-01-01", "1980-06-15", "2001-02-03", "2030-01-01" };
	static const char orgs_ndjson[] =
		"{\"type\":\"organization\",\"organization\":\"taliban\",\"name\":\"Taliban\"}\n"
		"{\"type\":\"organization\",\"organization\":\"un\",\"name\":\"United Nations\"}\n"
		"{\"type\":\"organization\",\"organization\":\"nato\",\"name\":\"NATO\"}\n";
	static const dirty_limits limits[CHUNKS] = { { 8, 0 }, { 0, 2 }, { 0, 0 }, { 64, 5 } };
	fixture a, b;
	ledger_import_stats st;
	char **chunks = random_chunks(11, EVENTS, CHUNKS);

	CU_ASSERT_FATAL(fixture_open(&a) == 0);
	CU_ASSERT_FATAL(fixture_open(&b) == 0);
	CU_ASSERT_FATAL(fixture_import(&a, orgs_ndjson, &st) == LEDGER_OK);
	import_with_writer(b.l, orgs_ndjson, 1, NULL);
	for (unsigned c = 0; c < CHUNKS; c++) {
		if (fixture_import(&a, chunks[c], &st) != LEDGER_OK)
			fprintf(stderr, "%s\n", a.report);
		CU_ASSERT_FATAL(st.appended > 0);
		/* 1 byte: written out before every event. 600: every few.
		 * The dirty set is flushed every few marks, at every new
		 * relationship past two, or (default) at the commit only. */
		import_with_writer(b.l, chunks[c], c % 2 ? 1 : 600, &limits[c]);
	}
	for (size_t i = 0; i < sizeof dates / sizeof *dates; i++) {
		char *x = export_csv(a.l, dates[i]), *y = export_csv(b.l, dates[i]);
		CU_ASSERT(x && y && strcmp(x, y) == 0);
		CU_ASSERT(x && strlen(x) > 100);
		free(x);
		free(y);
	}
	ledger_verify_stats vs;
	ledger_rebuild_stats rs;
	CU_ASSERT(ledger_verify(&vs, b.l) == LEDGER_OK);
	CU_ASSERT(ledger_rebuild(&rs, b.l) == LEDGER_OK && rs.equal);
	CU_ASSERT(ledger_rebuild(&rs, a.l) == LEDGER_OK && rs.equal);
	for (unsigned c = 0; c < CHUNKS; c++)
		free(chunks[c]);
	free(chunks);
	fixture_close(&a);
	fixture_close(&b);
}

/* A transaction that begins with no id stored looks new ids up in the
 * filters of the ids written out, not in the B-tree: ids written out
 * earlier in it must still be found, by retractions and redactions and by
 * the duplicate check, and a transaction on a ledger with ids must not
 * use the filters. */
static void test_pending_first_import_filters(void)
{
	static const char orgs_ndjson[] =
		"{\"type\":\"organization\",\"organization\":\"taliban\",\"name\":\"Taliban\"}\n"
		"{\"type\":\"organization\",\"organization\":\"un\",\"name\":\"United Nations\"}\n"
		"{\"type\":\"organization\",\"organization\":\"nato\",\"name\":\"NATO\"}\n";
	char **chunks = random_chunks(23, 600, 1);
	const char *again = "{\"id\":\"e1\",\"type\":\"meeting\",\"country\":\"KZ\","
	                    "\"organization\":\"un\",\"date\":\"2001-01-01\","
	                    "\"summary\":\"other content\"}\n";
	fixture_text t = { 0 };
	fixture a, b, c;
	ledger_import_stats st;
	unsigned appended, skipped, refused;

	fixture_text_add(&t, "%s%s", orgs_ndjson, chunks[0]);
	/* The first event again, the same (skipped), then e1 with other
	 * content (refused). */
	const char *nl = strchr(chunks[0], '\n');
	CU_ASSERT_FATAL(nl != NULL);
	fixture_text_add(&t, "%.*s%s", (int)(nl - chunks[0] + 1), chunks[0], again);
	CU_ASSERT_FATAL(fixture_open(&a) == 0);
	CU_ASSERT_FATAL(fixture_open(&b) == 0);
	/* Written out before almost every event, in one transaction. */
	uint64_t spared = append_counting(b.l, t.data, 1, PENDING_FILTER_BYTES, NULL,
	                                  &appended, &skipped, &refused);
	CU_ASSERT(spared > 500);
	CU_ASSERT_EQUAL(skipped, 1);
	CU_ASSERT_EQUAL(refused, 1);
	/* With no room for a filter, the look-ups go to the B-tree from the
	 * first write-out on, with the same outcome. */
	unsigned appended_c, skipped_c, refused_c;
	CU_ASSERT_FATAL(fixture_open(&c) == 0);
	CU_ASSERT(append_counting(c.l, t.data, 1, 0, NULL, &appended_c, &skipped_c,
	                          &refused_c) <= 2);
	CU_ASSERT_EQUAL(appended_c, appended);
	CU_ASSERT_EQUAL(skipped_c, 1);
	CU_ASSERT_EQUAL(refused_c, 1);
	fixture_close(&c);
	/* The same records through the import, which refuses the whole file
	 * for the one bad record: without it, the same ledger. */
	t.data[strlen(t.data) - strlen(again)] = '\0';
	CU_ASSERT_FATAL(fixture_import(&a, t.data, &st) == LEDGER_OK);
	CU_ASSERT_EQUAL(st.appended, appended);
	CU_ASSERT_EQUAL(st.skipped, 1);
	char *x = export_csv(a.l, "2030-01-01"), *y = export_csv(b.l, "2030-01-01");
	CU_ASSERT(x && y && strcmp(x, y) == 0);
	free(x);
	free(y);
	ledger_verify_stats vs;
	CU_ASSERT(ledger_verify(&vs, b.l) == LEDGER_OK);
	/* Now that ids are stored, every lookup goes to the B-tree. */
	CU_ASSERT_EQUAL(append_counting(b.l, t.data, 1, PENDING_FILTER_BYTES, NULL,
	                                &appended, &skipped, &refused), 0);
	CU_ASSERT_EQUAL(appended, 0);
	CU_ASSERT(skipped > 500);
	CU_ASSERT_EQUAL(refused, 0);
	fixture_text_free(&t);
	free(chunks[0]);
	free(chunks);
	fixture_close(&a);
	fixture_close(&b);
}

void suite_pending(void)
{
	CU_pSuite s = CU_add_suite("pending", NULL, fixture_suite_cleanup);
	CU_add_test(s, "runs reach the database sorted and complete",
	            test_pending_runs_reach_the_database);
	CU_add_test(s, "ids, heads and rel entries are found in the buffer",
	            test_pending_lookups);
	CU_add_test(s, "a tiny budget and dirty set build the same ledger",
	            test_pending_tiny_budget_same_ledger);
	CU_add_test(s, "a first import finds the ids it wrote out",
	            test_pending_first_import_filters);
}
