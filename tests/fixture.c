/* Test fixtures (fixture.h). Failures print why to stderr and return -1 so
 * that the calling test can assert on the result. */
#define _XOPEN_SOURCE 700   /* nftw */
#include <ftw.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"

#define FIXTURE_DBS_MAX 32u   /* more than the ledger's named databases */
#define FIXTURE_LIVE_MAX 64u  /* fixtures open at once */

/* Directories of open fixtures, so that a test ended early by a fatal
 * assertion does not leave its ledger behind. */
static char fixture_live[FIXTURE_LIVE_MAX][FIXTURE_DIR_BYTES];

static void fixture_fail(const char *what, const char *detail)
{
	fprintf(stderr, "\nfixture: %s%s%s\n", what, detail ? ": " : "",
	        detail ? detail : "");
}

/* ---- temporary directories ---- */

static int rm_entry(const char *path, const struct stat *st, int flag,
                    struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

int fixture_rmtree(const char *dir)
{
	return nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void live_add(const char *dir)
{
	for (size_t i = 0; i < FIXTURE_LIVE_MAX; i++)
		if (!fixture_live[i][0]) {
			snprintf(fixture_live[i], FIXTURE_DIR_BYTES, "%s", dir);
			return;
		}
}

static void live_remove(const char *dir)
{
	for (size_t i = 0; i < FIXTURE_LIVE_MAX; i++)
		if (strcmp(fixture_live[i], dir) == 0)
			fixture_live[i][0] = '\0';
}

int fixture_suite_cleanup(void)
{
	for (size_t i = 0; i < FIXTURE_LIVE_MAX; i++)
		if (fixture_live[i][0]) {
			fixture_rmtree(fixture_live[i]);
			fixture_live[i][0] = '\0';
		}
	return 0;
}

int fixture_open(fixture *f)
{
	const char *tmp = getenv("TMPDIR");
	char msg[1024];
	ledger_err err;

	memset(f, 0, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "%s/annals-test-XXXXXX",
	         tmp && *tmp && strlen(tmp) < 64 ? tmp : "/tmp");
	if (!mkdtemp(f->dir)) {
		fixture_fail("mkdtemp failed", f->dir);
		f->dir[0] = '\0';
		return -1;
	}
	live_add(f->dir);
	err = ledger_init(f->dir, NULL, msg, sizeof msg);
	if (err != LEDGER_OK) {
		fixture_fail("ledger_init failed", msg);
		fixture_close(f);
		return -1;
	}
	return fixture_reopen(f);
}

void fixture_close_ledger(fixture *f)
{
	ledger_close(f->l);
	f->l = NULL;
}

int fixture_reopen(fixture *f)
{
	ledger_err err;

	if (f->l)
		return 0;
	err = ledger_open(&f->l, f->dir, 0);
	if (err != LEDGER_OK) {
		fixture_fail("ledger_open failed", ledger_errmsg(f->l));
		ledger_close(f->l);
		f->l = NULL;
		return -1;
	}
	return 0;
}

void fixture_close(fixture *f)
{
	fixture_close_ledger(f);
	if (f->dir[0] && fixture_rmtree(f->dir) != 0)
		fixture_fail("cannot remove", f->dir);
	if (f->dir[0])
		live_remove(f->dir);
	f->dir[0] = '\0';
}

/* ---- imports ---- */

static void collect_report(void *ctx, const char *message)
{
	fixture *f = ctx;
	size_t at = strlen(f->report);

	if (at < sizeof f->report)
		snprintf(f->report + at, sizeof f->report - at, "%s\n", message);
	f->reports++;
}

ledger_err fixture_import_opts(fixture *f, const void *data, size_t bytes,
                               ledger_import_opts opts,
                               ledger_import_stats *stats)
{
	ledger_import_stats st;

	f->report[0] = '\0';
	f->reports = 0;
	opts.report = collect_report;
	opts.report_ctx = f;
	if (!f->l) {
		fixture_fail("import on a closed ledger", NULL);
		return LEDGER_EUSAGE;
	}
	return ledger_import_mem(stats ? stats : &st, f->l, data, bytes, &opts);
}

ledger_err fixture_import(fixture *f, const char *ndjson,
                          ledger_import_stats *stats)
{
	ledger_import_opts o = { .name = "test", .format = LEDGER_FORMAT_NDJSON,
	                         .expect_version = -1 };

	return fixture_import_opts(f, ndjson, strlen(ndjson), o, stats);
}

/* ---- reading back ---- */

struct dump_ctx {
	fixture *f;
	fixture_text t;
	bool failed;
};

static int dump_one(void *ctx, const ledger_event_view *ev)
{
	struct dump_ctx *x = ctx;
	char *js = NULL;

	if (ledger_event_json(&js, x->f->l, ev, LEDGER_JSON_RECORD) != LEDGER_OK) {
		x->failed = true;
		return 1;
	}
	fixture_text_add(&x->t, "%s\nbody:", js);
	free(js);
	if (!ev->body)
		fixture_text_add(&x->t, "redacted");
	for (size_t i = 0; ev->body && i < ev->body_bytes; i++)
		fixture_text_add(&x->t, "%02x", ((const uint8_t *)ev->body)[i]);
	fixture_text_add(&x->t, "\n");
	return 0;
}

char *fixture_dump(fixture *f)
{
	struct dump_ctx x = { .f = f };

	fixture_text_add(&x.t, "dump of %s\n", f->dir);
	if (!f->l || ledger_each(f->l, 1, 0, dump_one, &x) != LEDGER_OK ||
	    x.failed) {
		fixture_fail("dump failed", f->l ? ledger_errmsg(f->l) : "closed");
		fixture_text_free(&x.t);
		return NULL;
	}
	return x.t.data;
}

ledger_head fixture_head(fixture *f)
{
	ledger_head h;

	if (!f->l || ledger_get_head(&h, f->l) != LEDGER_OK)
		memset(&h, 0, sizeof h);
	return h;
}

struct events_ctx {
	fixture_event *ev;
	size_t n, cap;
	bool failed;
};

static void *dup_bytes(const void *p, size_t n)
{
	void *q = malloc(n ? n : 1);

	if (q && n)
		memcpy(q, p, n);
	return q;
}

static int copy_event(void *ctx, const ledger_event_view *v)
{
	struct events_ctx *x = ctx;

	if (x->n == x->cap) {
		size_t cap = x->cap ? 2 * x->cap : 64;
		fixture_event *p = realloc(x->ev, cap * sizeof *p);
		if (!p) {
			x->failed = true;
			return 1;
		}
		x->ev = p;
		x->cap = cap;
	}
	fixture_event *e = &x->ev[x->n++];
	memset(e, 0, sizeof *e);
	e->seq = v->seq;
	e->recorded_at_us = v->recorded_at_us;
	memcpy(e->leaf_hash, v->leaf_hash, LEDGER_HASH_BYTES);
	e->envelope = dup_bytes(v->envelope, v->envelope_bytes);
	e->envelope_bytes = v->envelope_bytes;
	if (v->body) {
		e->body = dup_bytes(v->body, v->body_bytes);
		e->body_bytes = v->body_bytes;
	}
	if (!e->envelope || (v->body && !e->body)) {
		x->failed = true;
		return 1;
	}
	e->env = annals__envelope__unpack(NULL, e->envelope_bytes, e->envelope);
	return 0;
}

size_t fixture_events(fixture_event **out, fixture *f)
{
	struct events_ctx x = { 0 };

	*out = NULL;
	if (!f->l || ledger_each(f->l, 1, 0, copy_event, &x) != LEDGER_OK ||
	    x.failed) {
		fixture_fail("reading the events failed",
		             f->l ? ledger_errmsg(f->l) : "closed");
		fixture_events_free(x.ev, x.n);
		return (size_t)-1;
	}
	*out = x.ev;
	return x.n;
}

void fixture_events_free(fixture_event *ev, size_t n)
{
	for (size_t i = 0; ev && i < n; i++) {
		free(ev[i].envelope);
		free(ev[i].body);
		if (ev[i].env)
			annals__envelope__free_unpacked(ev[i].env, NULL);
	}
	free(ev);
}

/* ---- a standard ledger ---- */

static const char *const fill_countries[] = { "KZ", "AF", "US", "FR", "DE" };
static const char *const fill_orgs[] = { "alpha", "beta", "gamma" };

static void fill_event(fixture_text *t, uint64_t i)
{
	const char *c = fill_countries[i % 5], *o = fill_orgs[i % 3];

	switch (i % 4) {
	case 0:
		fixture_text_add(t, "{\"id\":\"ev-%llu\",\"type\":\"meeting\","
		                 "\"country\":\"%s\",\"organization\":\"%s\","
		                 "\"date\":\"20%02llu-0%llu\",\"summary\":\"meeting %llu\","
		                 "\"participants\":[{\"name\":\"Person %llu\"}]}\n",
		                 (unsigned long long)i, c, o,
		                 (unsigned long long)(i % 24),
		                 (unsigned long long)(i % 9 + 1), (unsigned long long)i,
		                 (unsigned long long)i);
		break;
	case 1:
		fixture_text_add(t, "{\"id\":\"ev-%llu\",\"type\":\"listed\","
		                 "\"country\":\"%s\",\"organization\":\"%s\","
		                 "\"date\":\"2001-02-%02llu\",\"list\":\"banned\","
		                 "\"authority\":\"Court %llu\",\"sources\":[{\"url\":"
		                 "\"https://example.org/%llu\",\"title\":\"T\"}]}\n",
		                 (unsigned long long)i, c, o,
		                 (unsigned long long)(i % 28 + 1), (unsigned long long)i,
		                 (unsigned long long)i);
		break;
	case 2:
		fixture_text_add(t, "{\"id\":\"ev-%llu\",\"type\":\"statement\","
		                 "\"country\":\"%s\",\"organization\":\"%s\","
		                 "\"date\":\"1999\",\"summary\":\"statement number %llu\"}\n",
		                 (unsigned long long)i, c, o, (unsigned long long)i);
		break;
	default:
		fixture_text_add(t, "{\"id\":\"ev-%llu\",\"type\":\"sanctions_imposed\","
		                 "\"country\":\"%s\",\"organization\":\"%s\","
		                 "\"date\":\"2010-05-XX\",\"instrument\":\"Decree %llu\"}\n",
		                 (unsigned long long)i, c, o, (unsigned long long)i);
		break;
	}
}

int fixture_fill(fixture *f, uint64_t n)
{
	fixture_text t = { 0 };
	ledger_import_stats st;
	uint64_t done = 0, i = 0;

	if (n < 8)
		return -1;
	for (size_t k = 0; k < 3; k++)
		fixture_text_add(&t, "{\"type\":\"organization\",\"organization\":"
		                 "\"%s\",\"name\":\"Org %s\",\"aliases\":[\"The %s\"]}\n",
		                 fill_orgs[k], fill_orgs[k], fill_orgs[k]);
	done = 3;
	/* Four transactions of events, the last ending with a retraction. */
	for (unsigned batch = 0; batch < 4; batch++) {
		uint64_t left = n - 1 - done;
		uint64_t take = batch == 3 ? left : left / (4 - batch);
		for (uint64_t k = 0; k < take; k++)
			fill_event(&t, ++i);
		done += take;
		if (batch == 3) {
			fixture_text_add(&t, "{\"type\":\"retraction\",\"retracts\":"
			                 "\"ev-1\",\"reason\":\"entered twice\"}\n");
			done++;
		}
		if (fixture_import(f, t.data, &st) != LEDGER_OK) {
			fixture_fail("fixture_fill: import failed", f->report[0] ?
			             f->report : ledger_errmsg(f->l));
			fixture_text_free(&t);
			return -1;
		}
		t.bytes = 0;
		t.data[0] = '\0';
	}
	fixture_text_free(&t);
	return fixture_head(f).seq == n ? 0 : -1;
}

/* ---- text ---- */

static void text_reserve(fixture_text *t, size_t more)
{
	if (t->bytes + more + 1 <= t->cap)
		return;
	size_t cap = t->cap ? t->cap : 256;
	while (cap < t->bytes + more + 1)
		cap *= 2;
	char *p = realloc(t->data, cap);
	if (!p)
		abort();
	t->data = p;
	t->cap = cap;
}

void fixture_text_add(fixture_text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		abort();
	text_reserve(t, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(t->data + t->bytes, (size_t)n + 1, fmt, ap);
	va_end(ap);
	t->bytes += (size_t)n;
}

void fixture_text_bytes(fixture_text *t, const void *p, size_t n)
{
	text_reserve(t, n);
	memcpy(t->data + t->bytes, p, n);
	t->bytes += n;
	t->data[t->bytes] = '\0';
}

void fixture_text_repeat(fixture_text *t, char c, size_t n)
{
	text_reserve(t, n);
	memset(t->data + t->bytes, c, n);
	t->bytes += n;
	t->data[t->bytes] = '\0';
}

void fixture_pb_add(fixture_text *t, const ProtobufCMessage *m)
{
	size_t n = protobuf_c_message_get_packed_size(m), len = n;

	text_reserve(t, n + 10);
	do {
		uint8_t b = (uint8_t)(len & 0x7f);
		len >>= 7;
		t->data[t->bytes++] = (char)(b | (len ? 0x80 : 0));
	} while (len);
	t->bytes += protobuf_c_message_pack(m, (uint8_t *)t->data + t->bytes);
	t->data[t->bytes] = '\0';
}

void fixture_text_free(fixture_text *t)
{
	free(t->data);
	memset(t, 0, sizeof *t);
}

/* ---- direct LMDB access ---- */

void fixture_u64_key(uint8_t key[8], uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		key[i] = (uint8_t)v;
}

int fixture_env_open(fixture_env *e, fixture *f)
{
	int rc;

	memset(e, 0, sizeof *e);
	e->f = f;
	e->reopen = f->l != NULL;
	fixture_close_ledger(f);
	/* Map size 0 adopts the size stored in the environment. */
	if ((rc = mdb_env_create(&e->env)) != 0 ||
	    (rc = mdb_env_set_maxdbs(e->env, FIXTURE_DBS_MAX)) != 0 ||
	    (rc = mdb_env_set_mapsize(e->env, 0)) != 0 ||
	    (rc = mdb_env_open(e->env, f->dir, MDB_NOTLS, 0644)) != 0 ||
	    (rc = mdb_txn_begin(e->env, NULL, 0, &e->txn)) != 0) {
		fixture_fail("cannot open the environment", mdb_strerror(rc));
		if (e->env)
			mdb_env_close(e->env);
		e->env = NULL;
		e->txn = NULL;
		if (e->reopen)
			fixture_reopen(f);
		return -1;
	}
	return 0;
}

int fixture_env_dbi(fixture_env *e, const char *name, MDB_dbi *out)
{
	int rc = mdb_dbi_open(e->txn, name, 0, out);

	if (rc != 0) {
		fixture_fail(name, mdb_strerror(rc));
		return -1;
	}
	return 0;
}

int fixture_env_close(fixture_env *e, bool commit)
{
	int rc = 0;

	if (e->txn) {
		if (commit)
			rc = mdb_txn_commit(e->txn);
		else
			mdb_txn_abort(e->txn);
	}
	if (rc != 0)
		fixture_fail("commit failed", mdb_strerror(rc));
	if (e->env)
		mdb_env_close(e->env);
	e->txn = NULL;
	e->env = NULL;
	if (e->reopen && fixture_reopen(e->f) != 0)
		rc = -1;
	return rc ? -1 : 0;
}

/* Open the environment and the database, for the one-call helpers. */
static int db_begin(fixture_env *e, fixture *f, const char *db, MDB_dbi *dbi)
{
	if (fixture_env_open(e, f) != 0)
		return -1;
	if (fixture_env_dbi(e, db, dbi) != 0) {
		fixture_env_close(e, false);
		return -1;
	}
	return 0;
}

int fixture_db_flip(fixture *f, const char *db, const void *key,
                    size_t key_bytes, size_t offset, uint8_t mask)
{
	fixture_env e;
	MDB_dbi dbi;
	MDB_val k = { key_bytes, (void *)key }, v;
	int rc;

	if (db_begin(&e, f, db, &dbi) != 0)
		return -1;
	if ((rc = mdb_get(e.txn, dbi, &k, &v)) != 0 || offset >= v.mv_size) {
		fixture_fail("flip: no such key or byte", rc ? mdb_strerror(rc) : db);
		fixture_env_close(&e, false);
		return -1;
	}
	uint8_t *copy = dup_bytes(v.mv_data, v.mv_size);
	if (!copy)
		abort();
	copy[offset] ^= mask;
	v.mv_data = copy;
	rc = mdb_put(e.txn, dbi, &k, &v, 0);
	free(copy);
	if (rc != 0) {
		fixture_fail("flip: put failed", mdb_strerror(rc));
		fixture_env_close(&e, false);
		return -1;
	}
	return fixture_env_close(&e, true);
}

int fixture_db_del(fixture *f, const char *db, const void *key,
                   size_t key_bytes)
{
	fixture_env e;
	MDB_dbi dbi;
	MDB_val k = { key_bytes, (void *)key };
	int rc;

	if (db_begin(&e, f, db, &dbi) != 0)
		return -1;
	if ((rc = mdb_del(e.txn, dbi, &k, NULL)) != 0) {
		fixture_fail("delete failed", mdb_strerror(rc));
		fixture_env_close(&e, false);
		return -1;
	}
	return fixture_env_close(&e, true);
}

int fixture_db_put(fixture *f, const char *db, const void *key,
                   size_t key_bytes, const void *val, size_t val_bytes)
{
	fixture_env e;
	MDB_dbi dbi;
	MDB_val k = { key_bytes, (void *)key }, v = { val_bytes, (void *)val };
	int rc;

	if (db_begin(&e, f, db, &dbi) != 0)
		return -1;
	if ((rc = mdb_put(e.txn, dbi, &k, &v, 0)) != 0) {
		fixture_fail("put failed", mdb_strerror(rc));
		fixture_env_close(&e, false);
		return -1;
	}
	return fixture_env_close(&e, true);
}

int fixture_db_get(fixture *f, const char *db, const void *key,
                   size_t key_bytes, void **val, size_t *val_bytes)
{
	fixture_env e;
	MDB_dbi dbi;
	MDB_val k = { key_bytes, (void *)key }, v;
	int rc;

	*val = NULL;
	*val_bytes = 0;
	if (db_begin(&e, f, db, &dbi) != 0)
		return -1;
	if ((rc = mdb_get(e.txn, dbi, &k, &v)) == 0) {
		*val = dup_bytes(v.mv_data, v.mv_size);
		*val_bytes = v.mv_size;
	}
	fixture_env_close(&e, false);
	return rc == 0 && *val ? 0 : -1;
}

int fixture_db_swap(fixture *f, const char *db, const void *key1,
                    size_t key1_bytes, const void *key2, size_t key2_bytes)
{
	fixture_env e;
	MDB_dbi dbi;
	MDB_val k1 = { key1_bytes, (void *)key1 }, k2 = { key2_bytes, (void *)key2 };
	MDB_val v1, v2;
	void *c1 = NULL, *c2 = NULL;
	int rc;

	if (db_begin(&e, f, db, &dbi) != 0)
		return -1;
	if ((rc = mdb_get(e.txn, dbi, &k1, &v1)) == 0 &&
	    (c1 = dup_bytes(v1.mv_data, v1.mv_size)) != NULL &&
	    (rc = mdb_get(e.txn, dbi, &k2, &v2)) == 0 &&
	    (c2 = dup_bytes(v2.mv_data, v2.mv_size)) != NULL) {
		MDB_val n1 = { v2.mv_size, c2 }, n2 = { v1.mv_size, c1 };
		if ((rc = mdb_put(e.txn, dbi, &k1, &n1, 0)) == 0)
			rc = mdb_put(e.txn, dbi, &k2, &n2, 0);
	}
	free(c1);
	free(c2);
	if (rc != 0 || !c1 || !c2) {
		fixture_fail("swap failed", rc ? mdb_strerror(rc) : "out of memory");
		fixture_env_close(&e, false);
		return -1;
	}
	return fixture_env_close(&e, true);
}

bool fixture_names_seq(const char *msg, uint64_t seq)
{
	char want[32];
	size_t n = (size_t)snprintf(want, sizeof want, "seq %llu",
	                            (unsigned long long)seq);

	for (const char *p = strstr(msg, want); p; p = strstr(p + 1, want))
		if (p[n] < '0' || p[n] > '9')
			return true;
	return false;
}

int fixture_store_open(fixture_store *f)
{
	const char *tmp = getenv("TMPDIR");

	memset(f, 0, sizeof *f);
	snprintf(f->dir, sizeof f->dir, "%s/annals-store-XXXXXX",
	         tmp && *tmp && strlen(tmp) < 64 ? tmp : "/tmp");
	if (!mkdtemp(f->dir)) {
		fixture_fail("mkdtemp failed", f->dir);
		return -1;
	}
	if (store_open(&f->s, f->dir, 0, true, &f->e) != LEDGER_OK) {
		fixture_fail("store_open failed", f->e.msg);
		fixture_rmtree(f->dir);
		return -1;
	}
	return 0;
}

void fixture_store_close(fixture_store *f)
{
	store_close(f->s);
	f->s = NULL;
	fixture_rmtree(f->dir);
}
