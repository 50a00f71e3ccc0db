/* Proved statuses (DESIGN §6): for random ledgers every bundle checks and
 * its answer equals `status`; a bundle with an event removed, swapped,
 * reordered or changed, another relationship's heads proof, another
 * ledger's checkpoint, or a size that does not end a transaction fails
 * `check` with the right message. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "fixture.h"
#include "ledger.h"

void suite_bundle(void);

#define BUNDLE_PAIRS 6

static const char *const pair_country[BUNDLE_PAIRS] = { "KZ", "KZ", "US", "AF", "FR", "KZ" };
static const char *const pair_org[BUNDLE_PAIRS] = { "taliban", "alpha", "taliban",
                                                    "alpha", "beta", "beta" };

static char *prove(fixture *f, const char *c, const char *o, const char *at,
                   const char *as_of, ledger_err *err)
{
	char *text = NULL;
	size_t n = 0;
	FILE *m = open_memstream(&text, &n);
	ledger_status_query q = { c, o, at, as_of };

	*err = ledger_status_prove(f->l, &q, m);
	fclose(m);
	if (*err != LEDGER_OK) {
		free(text);
		return NULL;
	}
	return text;
}

static ledger_err check(const char *bundle, const char *vkey, ledger_status *st,
                        char *why, size_t why_bytes)
{
	return ledger_bundle_check(st, bundle, strlen(bundle), vkey, strlen(vkey),
	                           why, why_bytes);
}

static bool same(const ledger_status *a, const ledger_status *b)
{
	bool ok = a->listed == b->listed && a->certain == b->certain &&
	          a->lists_count == b->lists_count && a->meetings == b->meetings &&
	          strcmp(a->last_meeting, b->last_meeting) == 0 &&
	          a->last_change_seq == b->last_change_seq && a->version == b->version &&
	          a->as_of == b->as_of && strcmp(a->at, b->at) == 0 &&
	          strcmp(a->recognition.state, b->recognition.state) == 0 &&
	          strcmp(a->recognition.since, b->recognition.since) == 0 &&
	          strcmp(a->relations.state, b->relations.state) == 0 &&
	          strcmp(a->mission.state, b->mission.state) == 0 &&
	          strcmp(a->sanctions.state, b->sanctions.state) == 0 &&
	          strcmp(a->sanctions.since, b->sanctions.since) == 0;
	for (size_t i = 0; ok && i < a->lists_count; i++)
		ok = strcmp(a->lists[i].list, b->lists[i].list) == 0 &&
		     strcmp(a->lists[i].since, b->lists[i].since) == 0 &&
		     a->lists[i].seq == b->lists[i].seq;
	return ok;
}

/* A random ledger in several transactions; the sizes that end them. */
static size_t random_ledger(fixture *f, uint64_t *ends, size_t ends_max, unsigned seed)
{
	static const char *const types[] = { "listed", "delisted", "recognized",
		"recognition_withdrawn", "relations_established", "relations_suspended",
		"mission_opened", "mission_closed", "sanctions_imposed",
		"sanctions_lifted", "meeting", "statement", "agreement_signed" };
	char line[512], *text = malloc(1 << 16);
	size_t n_ends = 0, id = 0;

	CU_ASSERT_FATAL(text != NULL);
	CU_ASSERT_EQUAL_FATAL(fixture_import(f,
		"{\"type\":\"organization\",\"organization\":\"taliban\",\"name\":\"Taliban\"}\n"
		"{\"type\":\"organization\",\"organization\":\"alpha\",\"name\":\"Alpha\"}\n"
		"{\"type\":\"organization\",\"organization\":\"beta\",\"name\":\"Beta\"}\n", NULL),
		LEDGER_OK);
	ends[n_ends++] = fixture_head(f).seq;
	for (int batch = 0; batch < 8 && n_ends < ends_max; batch++) {
		size_t at = 0, k = 5 + (size_t)rand_r(&seed) % 25;
		text[0] = '\0';
		for (size_t i = 0; i < k; i++, id++) {
			unsigned r = (unsigned)rand_r(&seed);
			int p = (int)(r % BUNDLE_PAIRS);
			const char *t = types[r / 7 % 13];
			char date[16];
			int y = 1990 + (int)(r / 100 % 35), m = 1 + (int)(r / 4000 % 12);
			if (r % 5 == 0)
				snprintf(date, sizeof date, "%04d%s", y, r % 3 ? "" : "?");
			else if (r % 5 == 1)
				snprintf(date, sizeof date, "%04d-%02d", y, m);
			else
				snprintf(date, sizeof date, "%04d-%02d-%02d", y, m, 1 + (int)(r % 28));
			if (id > 5 && r % 11 == 0)      /* retract an earlier event */
				snprintf(line, sizeof line, "{\"id\":\"r%zu\",\"type\":\"retraction\","
				         "\"retracts\":\"e%zu\",\"reason\":\"test\"}\n", id,
				         (size_t)rand_r(&seed) % id);
			else if (id > 5 && r % 13 == 0) /* redact one */
				snprintf(line, sizeof line, "{\"id\":\"d%zu\",\"type\":\"redaction\","
				         "\"redacts\":\"e%zu\",\"reason\":\"test\"}\n", id,
				         (size_t)rand_r(&seed) % id);
			else
				snprintf(line, sizeof line, "{\"id\":\"e%zu\",\"type\":\"%s\","
				         "\"country\":\"%s\",\"organization\":\"%s\",\"date\":\"%s\"%s"
				         ",\"summary\":\"event %zu\"}\n", id, t, pair_country[p],
				         pair_org[p], date, strstr(t, "listed") ? ",\"list\":\"l1\"" : "",
				         id);
			/* One record at a time, so that a refused one (a second
			 * retraction, a redacted target) only drops itself. */
			ledger_import_stats st;
			(void)fixture_import(f, line, &st);
		}
		ends[n_ends++] = fixture_head(f).seq;
		/* A batch of several events in one transaction. */
		at = 0;
		for (int i = 0; i < 4; i++, id++) {
			int p = (int)((unsigned)rand_r(&seed) % BUNDLE_PAIRS);
			at += (size_t)snprintf(text + at, (1 << 16) - at,
			      "{\"id\":\"e%zu\",\"type\":\"meeting\",\"country\":\"%s\","
			      "\"organization\":\"%s\",\"date\":\"20%02d-0%d\"}\n", id,
			      pair_country[p], pair_org[p], i, 1 + i);
		}
		CU_ASSERT_EQUAL(fixture_import(f, text, NULL), LEDGER_OK);
		if (n_ends < ends_max)
			ends[n_ends++] = fixture_head(f).seq;
	}
	free(text);
	return n_ends;
}

static void test_bundle_every_bundle_checks(void)
{
	fixture f;
	uint64_t ends[32];
	char vkey[LEDGER_VKEY_TEXT_BYTES], why[1024];
	static const char *const days[] = { "1989-12-31", "1995-01-01", "2003-06-15",
		"2010-01-01", "2024-12-31", "2030-01-01" };
	unsigned checked = 0;

	CU_ASSERT_FATAL(fixture_open(&f) == 0);
	size_t n = random_ledger(&f, ends, 32, 11);
	CU_ASSERT_EQUAL_FATAL(ledger_verifier_key(vkey, f.l), LEDGER_OK);
	for (size_t e = 0; e < n; e++) {
		char as_of[24];
		snprintf(as_of, sizeof as_of, "%llu", (unsigned long long)ends[e]);
		for (int p = 0; p < BUNDLE_PAIRS; p++) {
			const char *day = days[(e + (size_t)p) % 6];
			ledger_err err;
			char *b = prove(&f, pair_country[p], pair_org[p], day, as_of, &err);
			CU_ASSERT_EQUAL(err, LEDGER_OK);
			if (!b) {
				fprintf(stderr, "\n  prove: %s\n", ledger_errmsg(f.l));
				continue;
			}
			ledger_status got, want;
			ledger_status_query q = { pair_country[p], pair_org[p], day, as_of };
			CU_ASSERT_EQUAL(check(b, vkey, &got, why, sizeof why), LEDGER_OK);
			CU_ASSERT_EQUAL(ledger_status_get(&want, f.l, &q), LEDGER_OK);
			CU_ASSERT_TRUE(same(&got, &want));
			checked++;
			ledger_status_free(&got);
			ledger_status_free(&want);
			free(b);
		}
	}
	fprintf(stderr, "\n  bundle: %u bundles at %zu transaction ends checked and "
	        "equal to status\n", checked, n);
	CU_ASSERT(checked >= 60);
	fixture_close(&f);
}

/* ---- tampering ---- */

static char *edit(const char *bundle, void (*fn)(json_t *o, void *ctx), void *ctx)
{
	json_t *o = json_loads(bundle, 0, NULL);
	char *text;

	CU_ASSERT_FATAL(o != NULL);
	fn(o, ctx);
	text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return text;
}

static void drop_event(json_t *o, void *ctx)
{
	json_array_remove(json_object_get(o, "events"), *(size_t *)ctx);
}

static void swap_events(json_t *o, void *ctx)
{
	json_t *ev = json_object_get(o, "events");
	json_t *a = json_incref(json_array_get(ev, 0));
	(void)ctx;
	json_array_set(ev, 0, json_array_get(ev, 1));
	json_array_set_new(ev, 1, a);
}

static void flip_byte(json_t *o, void *ctx)
{
	json_t *ev = json_array_get(json_object_get(o, "events"), 0);
	const char *b64 = json_string_value(json_object_get(ev, "envelope"));
	unsigned char raw[4096], out[8192];
	int n = EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)strlen(b64));
	size_t at = *(size_t *)ctx;

	CU_ASSERT_FATAL(n > 0);
	raw[at % (size_t)(n - 2)] ^= 0x01;   /* within the data, not the padding */
	EVP_EncodeBlock(out, raw, n);
	/* Keep the original padding length: re-encode of n bytes. */
	json_object_set_new(ev, "envelope", json_string((char *)out));
}

static void set_from(json_t *o, void *ctx)
{
	json_t *other = ctx;
	const char *key;
	json_t *v;

	json_object_foreach(other, key, v)
		json_object_set(o, key, v);
}

static void expect_fail(const char *bundle, const char *vkey, const char *words,
                        const char *what)
{
	char why[1024];
	ledger_status st;
	ledger_err err = check(bundle, vkey, &st, why, sizeof why);

	CU_ASSERT_NOT_EQUAL(err, LEDGER_OK);
	if (err == LEDGER_OK) {
		fprintf(stderr, "\n  %s: the bundle checked\n", what);
		ledger_status_free(&st);
		return;
	}
	if (!strstr(why, words)) {
		CU_FAIL("the failure does not say what is wrong");
		fprintf(stderr, "\n  %s: '%s' not in '%s'\n", what, words, why);
	}
}

static void test_bundle_tampering_fails(void)
{
	fixture f, g;
	uint64_t ends[32];
	char vkey[LEDGER_VKEY_TEXT_BYTES], other_vkey[LEDGER_VKEY_TEXT_BYTES];
	ledger_err err;

	CU_ASSERT_FATAL(fixture_open(&f) == 0);
	random_ledger(&f, ends, 32, 5);
	CU_ASSERT_EQUAL_FATAL(ledger_verifier_key(vkey, f.l), LEDGER_OK);
	char *b = prove(&f, "KZ", "taliban", "2024-12-31", NULL, &err);
	char *b2 = prove(&f, "US", "taliban", "2024-12-31", NULL, &err);
	CU_ASSERT_FATAL(b && b2);
	json_t *o = json_loads(b, 0, NULL), *o2 = json_loads(b2, 0, NULL);
	size_t events = json_array_size(json_object_get(o, "events"));
	CU_ASSERT_FATAL(events >= 3 && json_array_size(json_object_get(o2, "events")) >= 1);

	for (size_t i = 0; i < events; i++) {        /* any one left out */
		char *t = edit(b, drop_event, &i);
		expect_fail(t, vkey, "missing or extra", "an event left out");
		free(t);
	}
	char *t = edit(b, swap_events, NULL);
	expect_fail(t, vkey, "version", "two events reordered");
	free(t);
	for (size_t at = 0; at < 200; at += 7) {      /* any byte changed */
		t = edit(b, flip_byte, &at);
		expect_fail(t, vkey, "", "a byte of an envelope changed");
		free(t);
	}
	/* Another relationship's envelope in place of one of ours. */
	json_t *mixed = json_deep_copy(json_object_get(o, "events"));
	json_array_set(mixed, 1, json_array_get(json_object_get(o2, "events"), 0));
	json_t *patch = json_pack("{s:o}", "events", mixed);
	t = edit(b, set_from, patch);
	expect_fail(t, vkey, "is not version", "another relationship's envelope");
	free(t);
	json_decref(patch);
	/* Another relationship's heads proof. */
	patch = json_pack("{s:O}", "heads_proof", json_object_get(o2, "heads_proof"));
	t = edit(b, set_from, patch);
	expect_fail(t, vkey, "heads", "another relationship's heads proof");
	free(t);
	json_decref(patch);

	/* Another ledger's checkpoint and key. */
	CU_ASSERT_FATAL(fixture_open(&g) == 0);
	random_ledger(&g, ends, 32, 9);
	CU_ASSERT_EQUAL(ledger_verifier_key(other_vkey, g.l), LEDGER_OK);
	char *gb = prove(&g, "KZ", "taliban", "2024-12-31", NULL, &err);
	CU_ASSERT_FATAL(gb != NULL);
	json_t *go = json_loads(gb, 0, NULL);
	patch = json_pack("{s:O, s:O}", "checkpoint", json_object_get(go, "checkpoint"),
	                  "origin", json_object_get(go, "origin"));
	t = edit(b, set_from, patch);
	expect_fail(t, vkey, "", "another ledger's checkpoint");
	free(t);
	json_decref(patch);
	expect_fail(b, other_vkey, "", "another ledger's key");
	json_decref(go);
	free(gb);
	fixture_close(&g);

	/* A size that does not end a transaction, with everything else
	 * consistent: its root, a consistency proof to the checkpoint, and
	 * envelope m with its inclusion proof. */
	ledger_head h;
	ledger_proof cons, inc;
	uint8_t root[LEDGER_HASH_BYTES];
	char hex[65], as_of[24];
	CU_ASSERT_EQUAL(ledger_get_head(&h, f.l), LEDGER_OK);
	uint64_t m = h.seq - 1;                       /* inside the last batch */
	snprintf(as_of, sizeof as_of, "%llu", (unsigned long long)m);
	char *none = prove(&f, "KZ", "taliban", "2024-12-31", as_of, &err);
	CU_ASSERT_PTR_NULL(none);
	CU_ASSERT_EQUAL(err, LEDGER_EUSAGE);
	CU_ASSERT_PTR_NOT_NULL(strstr(ledger_errmsg(f.l), "does not end a write transaction"));
	free(none);
	uint64_t cp_size = (uint64_t)json_integer_value(json_object_get(o, "checkpoint_size"));
	CU_ASSERT_EQUAL(ledger_root(root, f.l, m), LEDGER_OK);
	CU_ASSERT_EQUAL(ledger_prove_consistency(&cons, f.l, m, cp_size), LEDGER_OK);
	CU_ASSERT_EQUAL(ledger_prove_inclusion(&inc, f.l, m, m), LEDGER_OK);
	json_t *proof = json_array(), *iproof = json_array();
	for (size_t i = 0; i < cons.hashes_count; i++) {
		for (int k = 0; k < 32; k++)
			snprintf(hex + 2 * k, 3, "%02x", cons.hashes[i][k]);
		json_array_append_new(proof, json_string(hex));
	}
	for (size_t i = 0; i < inc.hashes_count; i++) {
		for (int k = 0; k < 32; k++)
			snprintf(hex + 2 * k, 3, "%02x", inc.hashes[i][k]);
		json_array_append_new(iproof, json_string(hex));
	}
	for (int k = 0; k < 32; k++)
		snprintf(hex + 2 * k, 3, "%02x", root[k]);
	/* Envelope m, as stored, in base64. */
	fixture_event *evs;
	size_t nev = fixture_events(&evs, &f);
	CU_ASSERT_FATAL(nev >= m);
	unsigned char b64[8192];
	EVP_EncodeBlock(b64, evs[m - 1].envelope, (int)evs[m - 1].envelope_bytes);
	patch = json_pack("{s:I, s:s, s:o, s:{s:s, s:o}}", "tree_size", (json_int_t)m,
	                  "root", hex, "consistency_proof", proof, "head",
	                  "envelope", (char *)b64, "proof", iproof);
	t = edit(b, set_from, patch);
	expect_fail(t, vkey, "does not end a write transaction", "a size inside a transaction");
	free(t);
	json_decref(patch);
	fixture_events_free(evs, nev);

	json_decref(o);
	json_decref(o2);
	free(b);
	free(b2);
	fixture_close(&f);
}

/* A relationship with no events: a non-membership bundle checks. */
static void test_bundle_non_member(void)
{
	fixture f;
	char vkey[LEDGER_VKEY_TEXT_BYTES], why[1024];
	ledger_status st;
	ledger_err err;

	CU_ASSERT_FATAL(fixture_open(&f) == 0);
	CU_ASSERT_EQUAL(fixture_import(&f,
		"{\"type\":\"organization\",\"organization\":\"taliban\",\"name\":\"Taliban\"}\n"
		"{\"type\":\"listed\",\"country\":\"KZ\",\"organization\":\"taliban\","
		"\"date\":\"2005\",\"list\":\"l1\"}\n", NULL), LEDGER_OK);
	CU_ASSERT_EQUAL_FATAL(ledger_verifier_key(vkey, f.l), LEDGER_OK);
	char *b = prove(&f, "RU", "taliban", "2024-01-01", NULL, &err);
	CU_ASSERT_FATAL(b != NULL);
	CU_ASSERT_PTR_NOT_NULL(strstr(b, "\"kind\":\"") && !strstr(b, "\"kind\":\"member\"") ? b : NULL);
	CU_ASSERT_EQUAL(check(b, vkey, &st, why, sizeof why), LEDGER_OK);
	CU_ASSERT_EQUAL(st.version, 0);
	CU_ASSERT_FALSE(st.listed);
	ledger_status_free(&st);
	free(b);
	fixture_close(&f);
}

void suite_bundle(void)
{
	CU_pSuite s = CU_add_suite("bundle", NULL, fixture_suite_cleanup);
	CU_add_test(s, "every bundle of random ledgers checks and equals status",
	            test_bundle_every_bundle_checks);
	CU_add_test(s, "tampered bundles fail with the reason", test_bundle_tampering_fails);
	CU_add_test(s, "a relationship without events: non-membership",
	            test_bundle_non_member);
}
