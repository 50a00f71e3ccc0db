/* The SQLite peers of the benchmark (DESIGN §10), both in WAL mode with
 * synchronous=FULL (a durable commit, like LMDB's default), prepared
 * statements, a 256 MiB page cache and the same transaction sizes as
 * annals:
 *
 *   plain   what a user would set up: one events table (the queried fields
 *           as columns, the NDJSON line as the body) with an index on
 *           (country, organization, date_start, seq) and a unique id; a
 *           status selects the pair's rows in (date_start, seq) order and
 *           folds them with the library's fold code.
 *   equiv   an equivalent of annals: the same reader, validation, content
 *           MAC, encoding, SHA-256 chain, stream links and Merkle frontier
 *           (libannals' own reader.c, event.c, codec.c, hash.c, merkle.c,
 *           tiles.c), with every annals index mirrored as a table: events,
 *           bodies, ids, heads, orgs, merkle (tiles), retractions, rel,
 *           bydate. It does not
 *           keep the heads map, the bucket folds or the current-status
 *           projection, so it does less work than annals; its status folds
 *           the rel rows like the plain one.
 *
 * Errors are fatal: this is a measuring tool, and a failed step would make
 * every later figure meaningless. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>
#include <sqlite3.h>

#include "arena.h"
#include "codec.h"
#include "event.h"
#include "fold.h"
#include "hash.h"
#include "keys.h"
#include "merkle.h"
#include "tiles.h"
#include "reader.h"

#include "bench.h"

#define PEER_SALT_BYTES 16u
#define PEER_SALT_POOL  (PEER_SALT_BYTES * 256u)
#define PEER_CACHE_KIB  262144                  /* PRAGMA cache_size */

enum {
	/* plain */
	P_LAST, P_INSERT, P_TARGET, P_STATUS,
	/* equivalent */
	E_LAST, E_MERKLE_GET, E_ORG_GET, E_ID_GET, E_ENV_GET, E_RETR_GET,
	E_HEAD_GET, E_EVENT_PUT, E_BODY_PUT, E_MERKLE_PUT, E_MERKLE_DEL, E_HEAD_PUT, E_ID_PUT,
	E_REL_PUT, E_BYDATE_PUT, E_ORG_PUT, E_RETR_PUT, E_REL_RETRACT, E_STATUS,
	ST_COUNT
};

static const char *const plain_schema =
	"CREATE TABLE events(seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,"
	" country TEXT NOT NULL, organization TEXT NOT NULL,"
	" date_start INTEGER NOT NULL, date_end INTEGER NOT NULL,"
	" date TEXT NOT NULL, type TEXT NOT NULL, list TEXT NOT NULL,"
	" authority TEXT NOT NULL, retracts TEXT NOT NULL, body TEXT NOT NULL);"
	"CREATE INDEX events_rel ON events(country, organization, date_start, seq);";

static const char *const equiv_schema =
	"CREATE TABLE events(seq INTEGER PRIMARY KEY, env BLOB NOT NULL);"
	"CREATE TABLE bodies(seq INTEGER PRIMARY KEY, body BLOB NOT NULL);"
	"CREATE TABLE ids(id TEXT PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE heads(rel BLOB PRIMARY KEY, version INTEGER NOT NULL,"
	" seq INTEGER NOT NULL, leaf BLOB NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE orgs(slug TEXT PRIMARY KEY, seq INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE merkle(key BLOB PRIMARY KEY, hashes BLOB NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE retractions(seq INTEGER PRIMARY KEY, by_seq INTEGER NOT NULL);"
	"CREATE TABLE rel(rel BLOB NOT NULL, day INTEGER NOT NULL, seq INTEGER NOT NULL,"
	" type INTEGER NOT NULL, qualifier INTEGER NOT NULL, last_day INTEGER NOT NULL,"
	" retracted_by INTEGER NOT NULL, edtf TEXT NOT NULL, list TEXT NOT NULL,"
	" authority TEXT NOT NULL, PRIMARY KEY(rel, day, seq)) WITHOUT ROWID;"
	"CREATE TABLE bydate(day INTEGER NOT NULL, seq INTEGER NOT NULL,"
	" rel BLOB NOT NULL, PRIMARY KEY(day, seq)) WITHOUT ROWID;";

static const char *const sql[ST_COUNT] = {
	[P_LAST] = "SELECT coalesce(max(seq), 0) FROM events",
	[P_INSERT] = "INSERT INTO events VALUES(?,?,?,?,?,?,?,?,?,?,?,?)",
	[P_TARGET] = "SELECT country, organization FROM events WHERE id = ?",
	[P_STATUS] = "SELECT seq, date_start, date_end, date, type, list, authority,"
	             " id, retracts FROM events WHERE country = ? AND organization = ?"
	             " AND date_start <= ? ORDER BY date_start, seq",
	[E_LAST] = "SELECT seq, env FROM events ORDER BY seq DESC LIMIT 1",
	[E_MERKLE_GET] = "SELECT hashes FROM merkle WHERE key = ?",
	[E_ORG_GET] = "SELECT seq FROM orgs WHERE slug = ?",
	[E_ID_GET] = "SELECT seq FROM ids WHERE id = ?",
	[E_ENV_GET] = "SELECT env FROM events WHERE seq = ?",
	[E_RETR_GET] = "SELECT by_seq FROM retractions WHERE seq = ?",
	[E_HEAD_GET] = "SELECT version, leaf FROM heads WHERE rel = ?",
	[E_EVENT_PUT] = "INSERT INTO events VALUES(?,?)",
	[E_BODY_PUT] = "INSERT INTO bodies VALUES(?,?)",
	[E_MERKLE_PUT] = "INSERT OR REPLACE INTO merkle VALUES(?,?)",
	[E_MERKLE_DEL] = "DELETE FROM merkle WHERE key = ?",
	[E_HEAD_PUT] = "INSERT OR REPLACE INTO heads VALUES(?,?,?,?)",
	[E_ID_PUT] = "INSERT INTO ids VALUES(?,?)",
	[E_REL_PUT] = "INSERT INTO rel VALUES(?,?,?,?,?,?,?,?,?,?)",
	[E_BYDATE_PUT] = "INSERT INTO bydate VALUES(?,?,?)",
	[E_ORG_PUT] = "INSERT OR REPLACE INTO orgs VALUES(?,?)",
	[E_RETR_PUT] = "INSERT INTO retractions VALUES(?,?)",
	[E_REL_RETRACT] = "UPDATE rel SET retracted_by = ? WHERE rel = ? AND day = ?"
	                  " AND seq = ?",
	[E_STATUS] = "SELECT seq, day, last_day, type, retracted_by, edtf, list,"
	             " authority FROM rel WHERE rel = ? AND day BETWEEN 1 AND ?"
	             " ORDER BY day, seq",
};

typedef struct peer {
	peer_kind kind;
	sqlite3 *db;
	sqlite3_stmt *st[ST_COUNT];
	arena a;
	hasher h;
	codec_buf env_buf, body_buf, input_buf;
	uint64_t seq;                   /* newest seq */
	uint8_t prev[LEDGER_HASH_BYTES];
	uint64_t recorded_at_us;
	merkle_frontier frontier;
	tile_builder tiles;             /* the Merkle tiles, as annals keeps them */
	uint8_t salt[PEER_SALT_POOL];
	size_t salt_used;
	fold f;
	char **retracted;               /* plain status: withdrawn ids */
	size_t retracted_count, retracted_cap;
	const char *line, *line_end;    /* plain import: the raw NDJSON lines */
} peer;

static void die(const peer *p, const char *what)
{
	fprintf(stderr, "bench: sqlite %s: %s\n", what,
	        p->db ? sqlite3_errmsg(p->db) : "cannot open");
	exit(4);
}

static void exec_sql(peer *p, const char *s)
{
	char *msg = NULL;

	if (sqlite3_exec(p->db, s, NULL, NULL, &msg) != SQLITE_OK) {
		fprintf(stderr, "bench: sqlite '%.60s': %s\n", s, msg ? msg : "?");
		exit(4);
	}
}

/* Step a statement that returns no row, then reset it. */
static void step_done(peer *p, int i)
{
	if (sqlite3_step(p->st[i]) != SQLITE_DONE)
		die(p, sql[i]);
	sqlite3_reset(p->st[i]);
}

/* Step a statement that returns at most one row: true when it did. The
 * caller reads the row, then resets. */
static bool step_row(peer *p, int i)
{
	int rc = sqlite3_step(p->st[i]);

	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		die(p, sql[i]);
	return rc == SQLITE_ROW;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void peer_open(peer *p, peer_kind kind, const char *path)
{
	uint8_t secret[LEDGER_HASH_BYTES];
	char pragma[128];

	memset(p, 0, sizeof *p);
	p->kind = kind;
	arena_init(&p->a);
	fold_init(&p->f);
	if (sqlite3_open(path, &p->db) != SQLITE_OK)
		die(p, "open");
	snprintf(pragma, sizeof pragma, "PRAGMA journal_mode=WAL;"
	         "PRAGMA synchronous=FULL; PRAGMA cache_size=-%d;", PEER_CACHE_KIB);
	exec_sql(p, pragma);
	exec_sql(p, kind == PEER_PLAIN ? plain_schema : equiv_schema);
	int from = kind == PEER_PLAIN ? P_LAST : E_LAST;
	int to = kind == PEER_PLAIN ? E_LAST : ST_COUNT;
	for (int i = from; i < to; i++)
		if (sqlite3_prepare_v3(p->db, sql[i], -1, SQLITE_PREPARE_PERSISTENT,
		                       &p->st[i], NULL) != SQLITE_OK)
			die(p, sql[i]);
	if (RAND_bytes(secret, sizeof secret) != 1 || hasher_init(&p->h) != 0 ||
	    hasher_set_key(&p->h, secret, sizeof secret) != 0) {
		fprintf(stderr, "bench: OpenSSL cannot set up SHA-256\n");
		exit(4);
	}
	p->salt_used = PEER_SALT_POOL;
}

static void peer_close(peer *p)
{
	for (int i = 0; i < ST_COUNT; i++)
		sqlite3_finalize(p->st[i]);
	sqlite3_close(p->db);
	arena_free(&p->a);
	fold_free(&p->f);
	hasher_free(&p->h);
	codec_buf_free(&p->env_buf);
	codec_buf_free(&p->body_buf);
	codec_buf_free(&p->input_buf);
	for (size_t i = 0; i < p->retracted_count; i++)
		free(p->retracted[i]);
	free(p->retracted);
}

/* ---- transactions ---- */

static void merkle_put(peer *p, const uint8_t *key, size_t key_bytes,
                       const void *hashes, size_t bytes)
{
	sqlite3_bind_blob(p->st[E_MERKLE_PUT], 1, key, (int)key_bytes, SQLITE_STATIC);
	sqlite3_bind_blob(p->st[E_MERKLE_PUT], 2, hashes, (int)bytes, SQLITE_STATIC);
	step_done(p, E_MERKLE_PUT);
}

/* A tile the transaction completed (tiles.h). */
static int merkle_put_tile(void *ctx, unsigned t, uint64_t n,
                           const uint8_t key[TILE_KEY_BYTES],
                           const merkle_hash hashes[TILE_HASHES])
{
	(void)t;
	(void)n;
	merkle_put(ctx, key, TILE_KEY_BYTES, hashes,
	           TILE_HASHES * (size_t)LEDGER_HASH_BYTES);
	return 0;
}

/* The partial tiles of the tree of p->seq leaves, as tiles_load reads
 * them from LMDB. */
static void merkle_load(peer *p)
{
	tiles_init(&p->tiles, merkle_put_tile, p);
	p->tiles.size = p->seq;
	for (unsigned t = 0; t < TILE_LEVELS; t++) {
		unsigned want = tile_stored(t, tile_index_at(t, p->seq), p->seq);
		uint8_t key[TILE_PARTIAL_KEY_BYTES];

		if (!want)
			continue;
		tile_key_partial(key, t);
		sqlite3_bind_blob(p->st[E_MERKLE_GET], 1, key, sizeof key, SQLITE_STATIC);
		if (!step_row(p, E_MERKLE_GET) ||
		    sqlite3_column_bytes(p->st[E_MERKLE_GET], 0) != (int)(want * LEDGER_HASH_BYTES))
			die(p, "a partial Merkle tile is missing");
		memcpy(p->tiles.h[t], sqlite3_column_blob(p->st[E_MERKLE_GET], 0),
		       want * (size_t)LEDGER_HASH_BYTES);
		sqlite3_reset(p->st[E_MERKLE_GET]);
		p->tiles.count[t] = want;
		p->tiles.loaded |= 1u << t;
	}
	if (merkle_frontier_load(&p->frontier, p->seq, tiles_read_partial, &p->tiles) != 0)
		die(p, "the Merkle frontier cannot be read");
}

/* The partial tiles at commit, as tiles_flush writes them. */
static void merkle_flush(peer *p)
{
	for (unsigned t = 0; t < TILE_LEVELS; t++) {
		uint8_t key[TILE_PARTIAL_KEY_BYTES];

		tile_key_partial(key, t);
		if (p->tiles.count[t]) {
			merkle_put(p, key, sizeof key, p->tiles.h[t],
			           p->tiles.count[t] * (size_t)LEDGER_HASH_BYTES);
		} else if (p->tiles.loaded & (1u << t)) {
			sqlite3_bind_blob(p->st[E_MERKLE_DEL], 1, key, sizeof key, SQLITE_STATIC);
			step_done(p, E_MERKLE_DEL);
		}
	}
}

/* Begin a write transaction and load the head as annals' writer_begin
 * does: the last envelope, its leaf hash, recorded_at and the frontier. */
static void peer_begin(peer *p)
{
	static const uint8_t zero[1] = { 0 };

	exec_sql(p, "BEGIN IMMEDIATE");
	p->recorded_at_us = now_us();
	if (p->kind == PEER_PLAIN) {
		if (!step_row(p, P_LAST))
			die(p, "max(seq)");
		p->seq = (uint64_t)sqlite3_column_int64(p->st[P_LAST], 0);
		sqlite3_reset(p->st[P_LAST]);
		return;
	}
	p->seq = 0;
	memset(p->prev, 0, sizeof p->prev);
	if (step_row(p, E_LAST)) {
		const void *env = sqlite3_column_blob(p->st[E_LAST], 1);
		size_t n = (size_t)sqlite3_column_bytes(p->st[E_LAST], 1);
		p->seq = (uint64_t)sqlite3_column_int64(p->st[E_LAST], 0);
		hasher_sha256(&p->h, p->prev, zero, 1, env, n);
		arena_reset(&p->a);
		Annals__Envelope *e = codec_envelope_decode(&p->a, env, n);
		if (!e)
			die(p, "the last envelope cannot be decoded");
		if (e->recorded_at_us > p->recorded_at_us)
			p->recorded_at_us = e->recorded_at_us;
	}
	sqlite3_reset(p->st[E_LAST]);
	merkle_load(p);
}

static void peer_commit(peer *p)
{
	if (p->kind != PEER_PLAIN)
		merkle_flush(p);
	exec_sql(p, "COMMIT");
}

/* ---- plain appends ---- */

static void bind_text(sqlite3_stmt *s, int col, const char *t)
{
	sqlite3_bind_text(s, col, t ? t : "", -1, SQLITE_STATIC);
}

/* One NDJSON record: the line it came from is the body. */
static int plain_append(peer *p, const Annals__InputEvent *in)
{
	event_input ev;
	field_err fe;
	const char *nl = memchr(p->line, '\n', (size_t)(p->line_end - p->line));
	const char *line = p->line;
	size_t line_bytes = (size_t)((nl ? nl : p->line_end) - p->line);
	sqlite3_stmt *s = p->st[P_INSERT];

	p->line = nl ? nl + 1 : p->line_end;
	if (!event_check(&ev, in, &p->a, &fe))
		return -1;
	Annals__InputEvent *n = &ev.norm;
	char country[8] = "", org[LEDGER_SLUG_BYTES_MAX + 1] = "";
	if (ev.type == ANNALS__EVENT_TYPE__RETRACTION) {
		/* A retraction joins its target's relationship. */
		sqlite3_bind_text(p->st[P_TARGET], 1, n->retracts, -1, SQLITE_STATIC);
		if (step_row(p, P_TARGET)) {
			snprintf(country, sizeof country, "%s",
			         (const char *)sqlite3_column_text(p->st[P_TARGET], 0));
			snprintf(org, sizeof org, "%s",
			         (const char *)sqlite3_column_text(p->st[P_TARGET], 1));
		}
		sqlite3_reset(p->st[P_TARGET]);
		if (!*org)
			return -1;
	} else {
		snprintf(country, sizeof country, "%s", n->country ? n->country : "");
		snprintf(org, sizeof org, "%s", n->organization ? n->organization : "");
	}
	sqlite3_bind_int64(s, 1, (sqlite3_int64)(p->seq + 1));
	bind_text(s, 2, n->id);
	bind_text(s, 3, country);
	bind_text(s, 4, org);
	sqlite3_bind_int64(s, 5, ev.date.first_day);
	sqlite3_bind_int64(s, 6, ev.date.last_day);
	bind_text(s, 7, ev.date.first_day ? ev.date.edtf : "");
	bind_text(s, 8, in->type);
	bind_text(s, 9, n->list);
	bind_text(s, 10, n->authority);
	bind_text(s, 11, n->retracts);
	sqlite3_bind_text(s, 12, line, (int)line_bytes, SQLITE_STATIC);
	step_done(p, P_INSERT);
	p->seq++;
	return 0;
}

/* ---- equivalent appends: annals' writer_append over SQLite ---- */

static bool get_seq(peer *p, int st, const char *text, uint64_t *seq)
{
	bool found;

	sqlite3_bind_text(p->st[st], 1, text, -1, SQLITE_STATIC);
	found = step_row(p, st);
	if (found)
		*seq = (uint64_t)sqlite3_column_int64(p->st[st], 0);
	sqlite3_reset(p->st[st]);
	return found;
}

static Annals__Envelope *get_envelope(peer *p, uint64_t seq)
{
	Annals__Envelope *e = NULL;

	sqlite3_bind_int64(p->st[E_ENV_GET], 1, (sqlite3_int64)seq);
	if (step_row(p, E_ENV_GET))
		e = codec_envelope_decode(&p->a, sqlite3_column_blob(p->st[E_ENV_GET], 0),
		                          (size_t)sqlite3_column_bytes(p->st[E_ENV_GET], 0));
	sqlite3_reset(p->st[E_ENV_GET]);
	return e;
}

static const uint8_t *peer_salt(peer *p)
{
	if (p->salt_used == PEER_SALT_POOL) {
		if (RAND_bytes(p->salt, sizeof p->salt) != 1)
			die(p, "RAND_bytes");
		p->salt_used = 0;
	}
	p->salt_used += PEER_SALT_BYTES;
	return p->salt + p->salt_used - PEER_SALT_BYTES;
}

typedef struct equiv_ctx {
	event_input ev;
	uint8_t mac[LEDGER_HASH_BYTES];
	char id_hex[33];
	uint64_t target_seq;
	uint32_t target_day;
	uint64_t version;
	uint8_t stream_prev[LEDGER_HASH_BYTES];
	uint8_t rel[KEYS_REL_BYTES_MAX];
	size_t rel_bytes;
	uint8_t body_hash[LEDGER_HASH_BYTES], leaf[LEDGER_HASH_BYTES];
	Annals__Envelope env;
	Annals__Body body;
} equiv_ctx;

/* Organization, content MAC, duplicate and target checks. Returns 0 to
 * append, 1 for a duplicate to skip, -1 to refuse. */
static int equiv_resolve(peer *p, equiv_ctx *x)
{
	Annals__InputEvent *n = &x->ev.norm, m;
	uint64_t seq;

	if (x->ev.type != ANNALS__EVENT_TYPE__ORGANIZATION && *n->organization &&
	    !get_seq(p, E_ORG_GET, n->organization, &seq))
		return -1;
	m = *n;
	m.id = (char *)protobuf_c_empty_string;
	m.expect_version = NULL;
	m.type = (char *)event_type_name(x->ev.type);
	if (!codec_pack(&p->input_buf, &m.base))
		die(p, "out of memory");
	hasher_hmac(&p->h, x->mac, p->input_buf.data, p->input_buf.bytes);
	if (!*n->id) {
		hex_encode(x->id_hex, x->mac, 16);
		n->id = x->id_hex;
	}
	if (get_seq(p, E_ID_GET, n->id, &seq)) {
		Annals__Envelope *e = get_envelope(p, seq);
		return e && e->content_mac.len == LEDGER_HASH_BYTES &&
		       memcmp(e->content_mac.data, x->mac, LEDGER_HASH_BYTES) == 0 ? 1 : -1;
	}
	if (x->ev.type != ANNALS__EVENT_TYPE__RETRACTION &&
	    x->ev.type != ANNALS__EVENT_TYPE__REDACTION)
		return 0;
	const char *id = x->ev.type == ANNALS__EVENT_TYPE__RETRACTION ? n->retracts
	                                                               : n->redacts;
	if (!get_seq(p, E_ID_GET, id, &x->target_seq))
		return -1;
	Annals__Envelope *t = get_envelope(p, x->target_seq);
	if (!t || t->type == ANNALS__EVENT_TYPE__RETRACTION ||
	    t->type == ANNALS__EVENT_TYPE__REDACTION ||
	    t->type == ANNALS__EVENT_TYPE__ORGANIZATION)
		return -1;
	sqlite3_bind_int64(p->st[E_RETR_GET], 1, (sqlite3_int64)x->target_seq);
	bool withdrawn = step_row(p, E_RETR_GET);
	sqlite3_reset(p->st[E_RETR_GET]);
	if (withdrawn)
		return -1;
	n->country = t->country;
	n->organization = t->organization;
	x->target_day = t->date ? t->date->first_day : 0;
	return 0;
}

static void equiv_stream(peer *p, equiv_ctx *x)
{
	sqlite3_stmt *s = p->st[E_HEAD_GET];

	x->rel_bytes = keys_rel(x->rel, x->ev.norm.country, x->ev.norm.organization);
	sqlite3_bind_blob(s, 1, x->rel, (int)x->rel_bytes, SQLITE_STATIC);
	x->version = 0;
	memset(x->stream_prev, 0, sizeof x->stream_prev);
	if (step_row(p, E_HEAD_GET)) {
		x->version = (uint64_t)sqlite3_column_int64(s, 0);
		if (sqlite3_column_bytes(s, 1) == LEDGER_HASH_BYTES)
			memcpy(x->stream_prev, sqlite3_column_blob(s, 1), LEDGER_HASH_BYTES);
	}
	sqlite3_reset(s);
}

static void equiv_encode(peer *p, equiv_ctx *x)
{
	static const uint8_t zero[1] = { 0 };
	Annals__Envelope *env = &x->env;
	Annals__Body *body = &x->body;

	annals__envelope__init(env);
	annals__body__init(body);
	if (!event_fill(env, body, &x->ev, &p->a))
		die(p, "out of memory");
	body->salt.data = (uint8_t *)peer_salt(p);
	body->salt.len = PEER_SALT_BYTES;
	if (!codec_pack(&p->body_buf, &body->base))
		die(p, "out of memory");
	hasher_sha256(&p->h, x->body_hash, NULL, 0, p->body_buf.data, p->body_buf.bytes);
	env->seq = p->seq + 1;
	env->recorded_at_us = p->recorded_at_us;
	env->prev_hash.data = p->prev;
	env->prev_hash.len = LEDGER_HASH_BYTES;
	env->stream_version = x->version + 1;
	env->stream_prev.data = x->stream_prev;
	env->stream_prev.len = LEDGER_HASH_BYTES;
	env->body_hash.data = x->body_hash;
	env->body_hash.len = LEDGER_HASH_BYTES;
	env->content_mac.data = x->mac;
	env->content_mac.len = LEDGER_HASH_BYTES;
	if (!codec_pack(&p->env_buf, &env->base))
		die(p, "out of memory");
	hasher_sha256(&p->h, x->leaf, zero, 1, p->env_buf.data, p->env_buf.bytes);
}

static void equiv_write(peer *p, equiv_ctx *x)
{
	sqlite3_int64 seq = (sqlite3_int64)(p->seq + 1);
	const Annals__Envelope *env = &x->env;
	uint32_t day = env->date ? env->date->first_day : 0;
	sqlite3_stmt *s;

	sqlite3_bind_int64(p->st[E_EVENT_PUT], 1, seq);
	sqlite3_bind_blob(p->st[E_EVENT_PUT], 2, p->env_buf.data, (int)p->env_buf.bytes, SQLITE_STATIC);
	step_done(p, E_EVENT_PUT);
	sqlite3_bind_int64(p->st[E_BODY_PUT], 1, seq);
	sqlite3_bind_blob(p->st[E_BODY_PUT], 2, p->body_buf.data, (int)p->body_buf.bytes, SQLITE_STATIC);
	step_done(p, E_BODY_PUT);
	if (merkle_frontier_push(&p->frontier, x->leaf, tiles_emit, &p->tiles) != 0)
		die(p, "the Merkle tiles are out of step");
	s = p->st[E_HEAD_PUT];
	sqlite3_bind_blob(s, 1, x->rel, (int)x->rel_bytes, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)env->stream_version);
	sqlite3_bind_int64(s, 3, seq);
	sqlite3_bind_blob(s, 4, x->leaf, LEDGER_HASH_BYTES, SQLITE_STATIC);
	step_done(p, E_HEAD_PUT);
	sqlite3_bind_text(p->st[E_ID_PUT], 1, env->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(p->st[E_ID_PUT], 2, seq);
	step_done(p, E_ID_PUT);
	s = p->st[E_REL_PUT];
	sqlite3_bind_blob(s, 1, x->rel, (int)x->rel_bytes, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, day);
	sqlite3_bind_int64(s, 3, seq);
	sqlite3_bind_int(s, 4, (int)env->type);
	sqlite3_bind_int(s, 5, env->date ? (int)env->date->qualifier : 0);
	sqlite3_bind_int64(s, 6, env->date ? env->date->last_day : 0);
	sqlite3_bind_int64(s, 7, 0);
	bind_text(s, 8, env->date ? env->date->edtf : "");
	bind_text(s, 9, env->list);
	bind_text(s, 10, env->authority);
	step_done(p, E_REL_PUT);
	s = p->st[E_BYDATE_PUT];
	sqlite3_bind_int64(s, 1, day);
	sqlite3_bind_int64(s, 2, seq);
	sqlite3_bind_blob(s, 3, x->rel, (int)x->rel_bytes, SQLITE_STATIC);
	step_done(p, E_BYDATE_PUT);
	if (env->type == ANNALS__EVENT_TYPE__ORGANIZATION) {
		sqlite3_bind_text(p->st[E_ORG_PUT], 1, env->organization, -1, SQLITE_STATIC);
		sqlite3_bind_int64(p->st[E_ORG_PUT], 2, seq);
		step_done(p, E_ORG_PUT);
	} else if (env->type == ANNALS__EVENT_TYPE__RETRACTION) {
		sqlite3_bind_int64(p->st[E_RETR_PUT], 1, (sqlite3_int64)x->target_seq);
		sqlite3_bind_int64(p->st[E_RETR_PUT], 2, seq);
		step_done(p, E_RETR_PUT);
		s = p->st[E_REL_RETRACT];
		sqlite3_bind_int64(s, 1, seq);
		sqlite3_bind_blob(s, 2, x->rel, (int)x->rel_bytes, SQLITE_STATIC);
		sqlite3_bind_int64(s, 3, x->target_day);
		sqlite3_bind_int64(s, 4, (sqlite3_int64)x->target_seq);
		step_done(p, E_REL_RETRACT);
	}
	p->seq++;
	memcpy(p->prev, x->leaf, LEDGER_HASH_BYTES);
}

static int equiv_append(peer *p, const Annals__InputEvent *in)
{
	equiv_ctx x;
	field_err fe;
	int rc;

	memset(&x, 0, sizeof x);
	if (!event_check(&x.ev, in, &p->a, &fe))
		return -1;
	if ((rc = equiv_resolve(p, &x)) != 0)
		return rc;
	equiv_stream(p, &x);
	equiv_encode(p, &x);
	equiv_write(p, &x);
	return 0;
}

/* ---- running records through a peer ---- */

/* Append every record of an input (fd, or memory when fd < 0) inside the
 * current transaction; returns the events appended. */
static uint64_t peer_feed(peer *p, int fd, const void *data, size_t bytes)
{
	ledger_format fmt = p->kind == PEER_PLAIN ? LEDGER_FORMAT_NDJSON : LEDGER_FORMAT_PB;
	reader *r = reader_new(fmt, fd, data, bytes);
	arena ra;
	Annals__InputEvent *in;
	uint64_t line, appended = 0, refused = 0;
	field_err fe;

	if (!r)
		die(p, "out of memory");
	arena_init(&ra);
	p->line = data;
	p->line_end = (const char *)data + bytes;
	for (;;) {
		arena_reset(&ra);
		reader_status rs = reader_next(r, &in, &line, &ra, &fe);
		if (rs == READER_END)
			break;
		if (rs != READER_RECORD) {
			fprintf(stderr, "bench: sqlite peer: record %llu: %s: %s\n",
			        (unsigned long long)line, fe.field, fe.reason);
			exit(4);
		}
		arena_reset(&p->a);
		int rc = p->kind == PEER_PLAIN ? plain_append(p, in) : equiv_append(p, in);
		appended += rc == 0;
		refused += rc < 0;
	}
	reader_free(r);
	arena_free(&ra);
	if (refused) {
		fprintf(stderr, "bench: sqlite peer refused %llu records\n",
		        (unsigned long long)refused);
		exit(4);
	}
	return appended;
}

/* ---- status ---- */

static int str_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void plain_withdraw(peer *p, const char *id)
{
	if (p->retracted_count == p->retracted_cap) {
		p->retracted_cap = p->retracted_cap ? p->retracted_cap * 2 : 64;
		p->retracted = realloc(p->retracted, p->retracted_cap * sizeof *p->retracted);
		if (!p->retracted)
			die(p, "out of memory");
	}
	if (!(p->retracted[p->retracted_count++] = strdup(id)))
		die(p, "out of memory");
}

/* The naive status: every row of the pair dated by `day`, in (date_start,
 * seq) order (undated retractions first), folded by fold_apply. */
static void plain_status(peer *p, const bench_query *q)
{
	sqlite3_stmt *s = p->st[P_STATUS];
	char org[16];
	bool sorted = false;

	for (size_t i = 0; i < p->retracted_count; i++)
		free(p->retracted[i]);
	p->retracted_count = 0;
	fold_reset(&p->f);
	bench_pair_org(org, q->pair);
	sqlite3_bind_text(s, 1, bench_pair_country(q->pair), -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, org, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, q->day);
	while (step_row(p, P_STATUS)) {
		fold_event e;
		const char *id = (const char *)sqlite3_column_text(s, 7);
		const char *type = (const char *)sqlite3_column_text(s, 4);
		e.type = event_type_parse(type);
		if (e.type == ANNALS__EVENT_TYPE__RETRACTION) {
			plain_withdraw(p, (const char *)sqlite3_column_text(s, 8));
			continue;
		}
		if (!sorted) {
			qsort(p->retracted, p->retracted_count, sizeof *p->retracted, str_cmp);
			sorted = true;
		}
		if (p->retracted_count &&
		    bsearch(&id, p->retracted, p->retracted_count, sizeof *p->retracted, str_cmp))
			continue;
		e.seq = (uint64_t)sqlite3_column_int64(s, 0);
		e.first_day = (uint32_t)sqlite3_column_int64(s, 1);
		e.last_day = (uint32_t)sqlite3_column_int64(s, 2);
		e.edtf = (const char *)sqlite3_column_text(s, 3);
		e.list = (const char *)sqlite3_column_text(s, 5);
		e.list_bytes = (size_t)sqlite3_column_bytes(s, 5);
		e.authority = (const char *)sqlite3_column_text(s, 6);
		e.authority_bytes = (size_t)sqlite3_column_bytes(s, 6);
		if (e.first_day && !fold_apply(&p->f, &e))
			die(p, "out of memory");
	}
	sqlite3_reset(s);
}

/* The equivalent's status: the rel rows of the pair, as annals'
 * index_fold_scan reads them. */
static void equiv_status(peer *p, const bench_query *q)
{
	sqlite3_stmt *s = p->st[E_STATUS];
	uint8_t rel[KEYS_REL_BYTES_MAX];
	char org[16];
	size_t n;

	bench_pair_org(org, q->pair);
	n = keys_rel(rel, bench_pair_country(q->pair), org);
	fold_reset(&p->f);
	sqlite3_bind_blob(s, 1, rel, (int)n, SQLITE_STATIC);
	sqlite3_bind_int64(s, 2, q->day);
	while (step_row(p, E_STATUS)) {
		fold_event e;
		if (sqlite3_column_int64(s, 4) != 0)       /* retracted */
			continue;
		e.seq = (uint64_t)sqlite3_column_int64(s, 0);
		e.first_day = (uint32_t)sqlite3_column_int64(s, 1);
		e.last_day = (uint32_t)sqlite3_column_int64(s, 2);
		e.type = (Annals__EventType)sqlite3_column_int(s, 3);
		e.edtf = (const char *)sqlite3_column_text(s, 5);
		e.list = (const char *)sqlite3_column_text(s, 6);
		e.list_bytes = (size_t)sqlite3_column_bytes(s, 6);
		e.authority = (const char *)sqlite3_column_text(s, 7);
		e.authority_bytes = (size_t)sqlite3_column_bytes(s, 7);
		if (!fold_apply(&p->f, &e))
			die(p, "out of memory");
	}
	sqlite3_reset(s);
}

static void peer_answer(bench_answer *out, const fold *f)
{
	memset(out, 0, sizeof *out);
	out->valid = true;
	out->last_change_seq = f->last_change.seq;
	out->meetings = f->meetings;
	for (size_t i = 0; i < f->lists_count; i++)
		out->lists += fold_list_on(&f->lists[i]);
}

/* Run queries with a warm-up pass, within a time budget; compares the
 * first `answers` results with annals'. */
static size_t peer_queries(peer *p, const bench_query *qs, size_t count,
                           double budget_s, bench_lat *lat,
                           const bench_answer *want, size_t answers,
                           peer_result *out)
{
	double t0 = bench_now_s();
	size_t i, warm = count < 1000 ? count / 10 + 1 : 1000;

	/* Warm the cache on the first queries, within a quarter of the budget. */
	for (i = 0; i < warm && i < count && bench_now_s() - t0 < budget_s / 4; i++)
		(p->kind == PEER_PLAIN ? plain_status : equiv_status)(p, &qs[i]);
	t0 = bench_now_s();
	for (i = 0; i < count && bench_now_s() - t0 < budget_s; i++) {
		uint64_t a = bench_now_ns();
		(p->kind == PEER_PLAIN ? plain_status : equiv_status)(p, &qs[i]);
		lat_add(lat, bench_now_ns() - a);
		if (i < answers && want[i].valid) {
			bench_answer got;
			peer_answer(&got, &p->f);
			out->checked++;
			if (got.last_change_seq != want[i].last_change_seq ||
			    got.meetings != want[i].meetings || got.lists != want[i].lists) {
				if (!out->mismatches++)
					snprintf(out->mismatch, sizeof out->mismatch,
					         "%s/org-%04u at %s: annals last change %llu, "
					         "%llu meetings, %u lists; sqlite %llu, %llu, %u",
					         bench_pair_country(qs[i].pair),
					         qs[i].pair % BENCH_ORGS, qs[i].at,
					         (unsigned long long)want[i].last_change_seq,
					         (unsigned long long)want[i].meetings, want[i].lists,
					         (unsigned long long)got.last_change_seq,
					         (unsigned long long)got.meetings, got.lists);
			}
		}
	}
	return i;
}

/* ---- the run ---- */

static uint64_t file_bytes(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static void peer_bulk(peer *p, const bench_workload *w, peer_result *out)
{
	const char *path = p->kind == PEER_PLAIN ? w->ndjson_path : w->pb_path;
	int fd = open(path, O_RDONLY);
	struct stat st;
	void *map = NULL;

	if (fd < 0 || fstat(fd, &st) != 0) {
		fprintf(stderr, "bench: cannot read %s: %s\n", path, strerror(errno));
		exit(4);
	}
	if (p->kind == PEER_PLAIN) {
		/* The plain peer keeps each raw line as the body. */
		map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map == MAP_FAILED) {
			fprintf(stderr, "bench: cannot map %s: %s\n", path, strerror(errno));
			exit(4);
		}
	}
	double t0 = bench_now_s();
	uint64_t w0 = bench_wchar();
	peer_begin(p);
	uint64_t n = map ? peer_feed(p, -1, map, (size_t)st.st_size)
	                 : peer_feed(p, fd, NULL, 0);
	peer_commit(p);
	out->import_s = bench_now_s() - t0;
	out->import_eps = (double)n / out->import_s;
	out->import_wpe = (double)(bench_wchar() - w0) / (double)n;
	if (map)
		munmap(map, (size_t)st.st_size);
	close(fd);
}

static void peer_appends(peer *p, const bench_workload *w, const char *dir,
                         peer_result *out)
{
	const bench_records *r = p->kind == PEER_PLAIN ? &w->extra_ndjson : &w->extra_pb;
	bench_lat lat = { 0 };
	uint64_t n = 0, w0 = bench_wchar();
	double t0 = bench_now_s();

	for (size_t i = 0; i < w->batch_events; i += BENCH_BATCH_RECORDS) {
		size_t k = w->batch_events - i < BENCH_BATCH_RECORDS ?
		           w->batch_events - i : BENCH_BATCH_RECORDS;
		peer_begin(p);
		n += peer_feed(p, -1, r->data + r->off[i], records_span(r, i, k));
		peer_commit(p);
	}
	out->batch_eps = (double)n / (bench_now_s() - t0);
	out->batch_wpe = n ? (double)(bench_wchar() - w0) / (double)n : 0;
	double p99;
	bench_fsync_probe(&out->fsync_p50_us, &p99, dir, 100);
	w0 = bench_wchar();
	for (size_t i = w->batch_events; i < w->batch_events + w->single_events; i++) {
		uint64_t a = bench_now_ns();
		peer_begin(p);
		peer_feed(p, -1, r->data + r->off[i], records_span(r, i, 1));
		peer_commit(p);
		lat_add(&lat, bench_now_ns() - a);
	}
	out->appends = lat.count;
	out->single_wpe = lat.count ? (double)(bench_wchar() - w0) / (double)lat.count : 0;
	out->append_p50_us = lat_pct_us(&lat, 50);
	out->append_p99_us = lat_pct_us(&lat, 99);
	lat_free(&lat);
}

int bench_sqlite_run(peer_result *out, peer_kind kind, const bench_workload *w,
                     const char *dir, const peer_limits *lim,
                     const bench_answer *uniform_ans, const bench_answer *hot_ans,
                     size_t answers)
{
	char path[BENCH_PATH_BYTES + 32], side[BENCH_PATH_BYTES + 40];
	bench_lat lat = { 0 };
	peer p;

	memset(out, 0, sizeof *out);
	snprintf(path, sizeof path, "%s/%s.sqlite", dir, kind == PEER_PLAIN ? "plain" : "equiv");
	unlink(path);
	peer_open(&p, kind, path);
	peer_bulk(&p, w, out);
	exec_sql(&p, "PRAGMA wal_checkpoint(TRUNCATE)");
	snprintf(side, sizeof side, "%s-wal", path);
	out->file_bytes = file_bytes(path) + file_bytes(side);

	size_t uq = lim->uniform_queries < w->uniform_count ? lim->uniform_queries : w->uniform_count;
	size_t hq = lim->hot_queries < w->hottest_count ? lim->hot_queries : w->hottest_count;
	out->status_count = peer_queries(&p, w->uniform, uq, lim->query_budget_s, &lat,
	                                 uniform_ans, answers, out);
	out->status_p50_us = lat_pct_us(&lat, 50);
	out->status_p99_us = lat_pct_us(&lat, 99);
	lat.count = 0;
	out->hot_count = peer_queries(&p, w->hottest, hq, lim->query_budget_s, &lat,
	                              hot_ans, answers, out);
	out->hot_p50_us = lat_pct_us(&lat, 50);
	out->hot_p99_us = lat_pct_us(&lat, 99);
	lat_free(&lat);

	peer_appends(&p, w, dir, out);
	peer_close(&p);
	unlink(path);
	unlink(side);
	snprintf(side, sizeof side, "%s-shm", path);
	unlink(side);
	return 0;
}
