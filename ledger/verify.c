/* Recompute and check everything stored (DESIGN §8, tamper evidence). */
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "codec.h"
#include "hash.h"
#include "heads.h"
#include "keys.h"
#include "ledger_impl.h"
#include "merkle.h"
#include "verify.h"

static const uint8_t zero_hash[LEDGER_HASH_BYTES];
static const uint8_t leaf_prefix[1] = { 0x00 };

/* ---- stream table: relationship key -> (version, leaf) ---- */

typedef struct stream_slot {
	uint8_t key[KEYS_REL_BYTES_MAX];
	uint8_t key_bytes;               /* 0: empty slot */
	uint64_t version;
	uint64_t seq;
	uint8_t leaf[LEDGER_HASH_BYTES];
} stream_slot;

typedef struct stream_table {
	stream_slot *slots;
	size_t cap, used;                /* cap is a power of two */
} stream_table;

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

static stream_slot *stream_find(stream_table *t, const uint8_t *key, size_t n)
{
	size_t i = fnv1a(key, n) & (t->cap - 1);

	for (;;) {   /* bounded: the table is never full (load <= 1/2) */
		stream_slot *s = &t->slots[i];
		if (s->key_bytes == 0 ||
		    (s->key_bytes == n && memcmp(s->key, key, n) == 0))
			return s;
		i = (i + 1) & (t->cap - 1);
	}
}

static int stream_grow(stream_table *t)
{
	stream_table n = { calloc(t->cap ? t->cap * 2 : 1024, sizeof *n.slots),
	                   t->cap ? t->cap * 2 : 1024, t->used };

	if (!n.slots)
		return -1;
	for (size_t i = 0; i < t->cap; i++)
		if (t->slots[i].key_bytes)
			*stream_find(&n, t->slots[i].key, t->slots[i].key_bytes) = t->slots[i];
	free(t->slots);
	*t = n;
	return 0;
}

/* ---- the scan ---- */

/* A cursor walked in step with the events (a merge by seq), instead of a
 * random lookup per event. */
typedef struct walk {
	MDB_cursor *c;
	MDB_val k, v;
	bool at_end;
} walk;

typedef struct verifier {
	ledger *l;
	MDB_txn *txn;
	MDB_cursor *merkle;              /* walks the stored hashes in order */
	walk bodies, redactions;         /* walked beside the events, by seq */
	hasher h;
	arena a;
	stream_table streams;
	merkle_frontier frontier;
	uint8_t prev[LEDGER_HASH_BYTES];
	uint64_t recorded_at_us;
	uint64_t seq;
	bool txn_open;                   /* the last event carried no heads_root */
	heads_mem *heads;                /* stream heads from the events alone */
	uint64_t heads_nodes;            /* stored heads-map nodes compared */
	ledger_verify_stats *st;
	verify_root_fn on_root;          /* roots wanted at given sizes */
	verify_want_fn want;             /* which sizes; NULL: every size */
	void *on_root_ctx;
} verifier;

static ledger_err bad(verifier *v, uint64_t seq, const char *what)
{
	v->st->first_bad_seq = seq;
	return err_set(&v->l->e, LEDGER_ECORRUPT, "seq %llu: %s",
	               (unsigned long long)seq, what);
}

/* Compare each hash the recomputed tree would store with the stored one. */
static int verify_emit(void *ctx, uint64_t index, const merkle_hash hash)
{
	verifier *v = ctx;
	MDB_val k, val;
	ledger_err err = store_cursor_get(v->merkle, &k, &val,
	                                  index == 0 ? MDB_FIRST : MDB_NEXT, &v->l->e);

	if (err != LEDGER_OK || k.mv_size != 8 || get_u64_be(k.mv_data) != index) {
		err_set(&v->l->e, LEDGER_ECORRUPT, "merkle node %llu (while adding "
		        "seq %llu): missing from the stored tree",
		        (unsigned long long)index, (unsigned long long)v->seq);
		return -1;
	}
	if (val.mv_size != LEDGER_HASH_BYTES ||
	    memcmp(val.mv_data, hash, LEDGER_HASH_BYTES) != 0) {
		err_set(&v->l->e, LEDGER_ECORRUPT, "merkle node %llu (while adding "
		        "seq %llu): the stored hash differs from the recomputed one",
		        (unsigned long long)index, (unsigned long long)v->seq);
		return -1;
	}
	return 0;
}

static bool hash_field(const ProtobufCBinaryData *b, const uint8_t *want)
{
	return b->len == LEDGER_HASH_BYTES && memcmp(b->data, want, LEDGER_HASH_BYTES) == 0;
}

/* Move w to the first key >= seq; true when it is seq. A key of a seq
 * that has no event is refused: bodies and marks belong to events. */
static ledger_err walk_to(bool *at, walk *w, verifier *v, uint64_t seq,
                          const char *what)
{
	ledger_err err = LEDGER_OK;

	*at = false;
	if (!w->at_end && (w->k.mv_size != 8 || get_u64_be(w->k.mv_data) < seq))
		return bad(v, w->k.mv_size == 8 ? get_u64_be(w->k.mv_data) : seq, what);
	if (!w->at_end && get_u64_be(w->k.mv_data) == seq) {
		*at = true;
		return LEDGER_OK;
	}
	return err;
}

static ledger_err walk_next(walk *w, verifier *v)
{
	ledger_err err = store_cursor_get(w->c, &w->k, &w->v, MDB_NEXT, &v->l->e);

	w->at_end = err == LEDGER_ENOTFOUND;
	return err == LEDGER_ENOTFOUND ? LEDGER_OK : err;
}

static ledger_err walk_open(walk *w, verifier *v, store_db db)
{
	ledger_err err = store_cursor(&w->c, v->txn, v->l->s, db, &v->l->e);

	if (err == LEDGER_OK)
		err = store_cursor_get(w->c, &w->k, &w->v, MDB_FIRST, &v->l->e);
	w->at_end = err == LEDGER_ENOTFOUND;
	return err == LEDGER_ENOTFOUND ? LEDGER_OK : err;
}

static ledger_err verify_body(verifier *v, const Annals__Envelope *env,
                              const uint8_t key[8])
{
	uint8_t hash[LEDGER_HASH_BYTES];
	bool body, red;
	ledger_err err;

	(void)key;
	if ((err = walk_to(&body, &v->bodies, v, v->seq, "a body is stored for "
	                   "an event that does not exist")) != LEDGER_OK ||
	    (err = walk_to(&red, &v->redactions, v, v->seq, "a redaction mark "
	                   "names an event that does not exist")) != LEDGER_OK)
		return err;
	if (red && (err = walk_next(&v->redactions, v)) != LEDGER_OK)
		return err;
	if (!body) {
		if (!red)
			return bad(v, v->seq, "the body is missing and no redaction "
			           "removed it (tampering)");
		v->st->redacted++;
		return LEDGER_OK;
	}
	if (red)
		return bad(v, v->seq, "a redaction is recorded but the body is still stored");
	const MDB_val b = v->bodies.v;
	hasher_sha256(&v->h, hash, NULL, 0, b.mv_data, b.mv_size);
	if (!hash_field(&env->body_hash, hash))
		return bad(v, v->seq, "the body's SHA-256 differs from body_hash");
	Annals__Body *bd = codec_body_decode(&v->a, b.mv_data, b.mv_size);
	if (!bd || !codec_canonical(&v->a, &bd->base, b.mv_data, b.mv_size))
		return bad(v, v->seq, "the body is not a canonical annals.Body");
	v->st->bytes += b.mv_size;
	return walk_next(&v->bodies, v);
}

/* The id index, and the retraction and redaction marks, point back here. */
static ledger_err verify_indexes(verifier *v, const Annals__Envelope *env)
{
	MDB_val x;
	ledger_err err = store_get(v->txn, v->l->s, DB_IDS, env->id,
	                           strlen(env->id), &x, &v->l->e);

	if (err == LEDGER_ENOTFOUND || (err == LEDGER_OK &&
	    (x.mv_size != 8 || get_u64_be(x.mv_data) != v->seq)))
		return bad(v, v->seq, "the id index does not point to this event");
	if (err != LEDGER_OK)
		return err;
	bool retract = env->type == ANNALS__EVENT_TYPE__RETRACTION;
	if (!retract && env->type != ANNALS__EVENT_TYPE__REDACTION)
		return LEDGER_OK;
	const char *target = retract ? env->retracts : env->redacts;
	err = store_get(v->txn, v->l->s, DB_IDS, target, strlen(target), &x, &v->l->e);
	if (err != LEDGER_OK || get_u64_be(x.mv_data) >= v->seq)
		return bad(v, v->seq, "the event it withdraws is not an earlier event");
	err = store_get(v->txn, v->l->s, retract ? DB_RETRACTIONS : DB_REDACTIONS,
	                x.mv_data, 8, &x, &v->l->e);
	if (err != LEDGER_OK || x.mv_size != 8 || get_u64_be(x.mv_data) != v->seq)
		return bad(v, v->seq, "the index of withdrawn events does not name it");
	return LEDGER_OK;
}

static ledger_err verify_stream(verifier *v, const Annals__Envelope *env,
                                const uint8_t leaf[LEDGER_HASH_BYTES])
{
	uint8_t key[KEYS_REL_BYTES_MAX];
	size_t n, org = strlen(env->organization), c = strlen(env->country);

	if (org < 1 || org > LEDGER_SLUG_BYTES_MAX || c > LEDGER_COUNTRY_BYTES_MAX)
		return bad(v, v->seq, "the relationship is malformed");
	n = keys_rel(key, env->country, env->organization);
	if (2 * (v->streams.used + 1) > v->streams.cap &&
	    stream_grow(&v->streams) != 0)
		return err_set(&v->l->e, LEDGER_ENOMEM, "out of memory");
	stream_slot *s = stream_find(&v->streams, key, n);
	if (s->key_bytes == 0) {
		memcpy(s->key, key, n);
		s->key_bytes = (uint8_t)n;
		v->streams.used++;
	}
	if (env->stream_version != s->version + 1)
		return bad(v, v->seq, "stream_version does not follow the "
		           "relationship's previous event");
	if (!hash_field(&env->stream_prev, s->version ? s->leaf : zero_hash))
		return bad(v, v->seq, "stream_prev is not the leaf hash of the "
		           "relationship's previous event");
	s->version++;
	s->seq = v->seq;
	memcpy(s->leaf, leaf, LEDGER_HASH_BYTES);
	return LEDGER_OK;
}

/* The heads root that ends each write transaction equals the root of the
 * stream heads recomputed from the events, and every heads-map node that
 * transaction stored (the root among them) equals the recomputed one: the
 * older versions serve proofs at older sizes. */
static ledger_err verify_heads(verifier *v, const Annals__Envelope *env)
{
	uint8_t key[HEADS_KEY_BYTES], root[LEDGER_HASH_BYTES];

	heads_key(key, &v->h, env->country, env->organization);
	if (heads_mem_set(v->heads, key, env->stream_version, v->seq) != 0)
		return err_set(&v->l->e, LEDGER_ENOMEM, "out of memory");
	v->txn_open = env->heads_root.len == 0;
	if (v->txn_open)
		return LEDGER_OK;
	if (env->heads_root.len != LEDGER_HASH_BYTES)
		return bad(v, v->seq, "heads_root is not 32 bytes");
	if (heads_mem_root(v->heads, root) != 0)
		return err_set(&v->l->e, LEDGER_ENOMEM, "out of memory");
	if (memcmp(root, env->heads_root.data, LEDGER_HASH_BYTES) != 0)
		return bad(v, v->seq, "heads_root differs from the root of the stream "
		           "heads recomputed from the events");
	return heads_mem_check_version(v->heads, v->txn, v->l->s, &v->l->e, v->seq,
	                               &v->heads_nodes);
}

/* Every stored heads-map node was compared at the end of the transaction
 * that wrote it: one more is a node no transaction wrote. */
static ledger_err verify_heads_count(verifier *v)
{
	uint64_t stored, bytes;
	ledger_err err = store_db_stat(v->txn, v->l->s, DB_SMT, &stored, &bytes,
	                               &v->l->e);

	if (err == LEDGER_OK && stored != v->heads_nodes)
		err = err_set(&v->l->e, LEDGER_ECORRUPT, "heads map: %llu stored "
		              "nodes, but the transactions of the log wrote %llu "
		              "(a node was added that no transaction wrote)",
		              (unsigned long long)stored,
		              (unsigned long long)v->heads_nodes);
	return err;
}

static ledger_err verify_event(verifier *v, const MDB_val *k, const MDB_val *val)
{
	uint8_t leaf[LEDGER_HASH_BYTES];
	ledger_err err;

	v->seq++;
	arena_reset(&v->a);
	if (k->mv_size != 8 || get_u64_be(k->mv_data) != v->seq)
		return bad(v, v->seq, "missing: the events run on at another seq "
		           "(an event was deleted or reordered)");
	Annals__Envelope *env = codec_envelope_decode(&v->a, val->mv_data, val->mv_size);
	if (!env || !codec_canonical(&v->a, &env->base, val->mv_data, val->mv_size))
		return bad(v, v->seq, "the envelope is not a canonical annals.Envelope");
	if (env->seq != v->seq)
		return bad(v, v->seq, "the envelope's seq differs from its key");
	if (!hash_field(&env->prev_hash, v->prev))
		return bad(v, v->seq, "prev_hash is not the leaf hash of the previous event");
	if (env->recorded_at_us < v->recorded_at_us)
		return bad(v, v->seq, "recorded_at is earlier than the previous event's");
	if (v->txn_open && env->recorded_at_us != v->recorded_at_us)
		return bad(v, v->seq, "recorded_at differs within a write transaction "
		           "(the previous event carries no heads_root)");
	v->recorded_at_us = env->recorded_at_us;
	hasher_sha256(&v->h, leaf, leaf_prefix, 1, val->mv_data, val->mv_size);
	v->st->bytes += val->mv_size;
	if ((err = verify_body(v, env, k->mv_data)) != LEDGER_OK ||
	    (err = verify_indexes(v, env)) != LEDGER_OK ||
	    (err = verify_stream(v, env, leaf)) != LEDGER_OK)
		return err;
	if ((err = verify_heads(v, env)) != LEDGER_OK)
		return err;
	if (merkle_frontier_push(&v->frontier, leaf, verify_emit, v) != 0) {
		v->st->first_bad_seq = v->seq;
		return LEDGER_ECORRUPT;
	}
	memcpy(v->prev, leaf, LEDGER_HASH_BYTES);
	v->st->events++;
	if (v->on_root && (!v->want || v->want(v->on_root_ctx, v->seq))) {
		merkle_hash root;
		merkle_frontier_root(root, &v->frontier);
		if (v->on_root(v->on_root_ctx, v->seq, root) != 0)
			return LEDGER_ECORRUPT;
	}
	return LEDGER_OK;
}

/* Every stream head and every id is accounted for, and nothing more. */
static ledger_err verify_totals(verifier *v)
{
	MDB_cursor *c = NULL;
	MDB_val k, x;
	uint64_t heads = 0, ids = 0, merkle = 0;
	ledger_err err;

	/* Bodies and marks left past the last event: a truncated log. */
	if (!v->bodies.at_end || !v->redactions.at_end) {
		walk *w = !v->bodies.at_end ? &v->bodies : &v->redactions;
		uint64_t at = w->k.mv_size == 8 ? get_u64_be(w->k.mv_data) : v->seq + 1;
		return bad(v, at, "missing: a body or redaction mark is stored past "
		           "the last event (the log was truncated)");
	}
	/* A truncated log shows first as ids and stored hashes of events that
	 * are missing; extra hashes alone are a tampered Merkle tree. */
	if ((err = store_db_stat(v->txn, v->l->s, DB_MERKLE, &merkle, &x.mv_size,
	                         &v->l->e)) != LEDGER_OK ||
	    (err = store_db_stat(v->txn, v->l->s, DB_IDS, &ids, &x.mv_size,
	                         &v->l->e)) != LEDGER_OK)
		return err;
	if (ids > v->seq && merkle > merkle_stored_count(v->seq)) {
		v->st->first_bad_seq = v->seq + 1;
		return err_set(&v->l->e, LEDGER_ECORRUPT, "seq %llu: missing: the "
		               "indexes hold %llu events but the log ends at seq %llu "
		               "(the log was truncated)", (unsigned long long)v->seq + 1,
		               (unsigned long long)ids, (unsigned long long)v->seq);
	}
	if (merkle != merkle_stored_count(v->seq))
		return err_set(&v->l->e, LEDGER_ECORRUPT, "merkle: %llu stored hashes, "
		               "%llu expected for %llu events", (unsigned long long)merkle,
		               (unsigned long long)merkle_stored_count(v->seq),
		               (unsigned long long)v->seq);
	if ((err = store_cursor(&c, v->txn, v->l->s, DB_HEADS, &v->l->e)) != LEDGER_OK)
		return err;
	for (err = store_cursor_get(c, &k, &x, MDB_FIRST, &v->l->e); err == LEDGER_OK;
	     err = store_cursor_get(c, &k, &x, MDB_NEXT, &v->l->e)) {
		stream_slot *s = k.mv_size <= KEYS_REL_BYTES_MAX && v->streams.cap ?
		                 stream_find(&v->streams, k.mv_data, k.mv_size) : NULL;
		heads++;
		if (!s || !s->key_bytes || x.mv_size != 16 + LEDGER_HASH_BYTES ||
		    get_u64_be(x.mv_data) != s->version ||
		    get_u64_be((uint8_t *)x.mv_data + 8) != s->seq ||
		    memcmp((uint8_t *)x.mv_data + 16, s->leaf, LEDGER_HASH_BYTES)) {
			store_cursor_close(c);
			return err_set(&v->l->e, LEDGER_ECORRUPT, "stream heads: the "
			               "head of (%.4s, %.*s) differs from its events",
			               *(char *)k.mv_data ? (char *)k.mv_data : "none",
			               k.mv_size > 4 ? (int)k.mv_size - 4 : 0,
			               (char *)k.mv_data + 4);
		}
	}
	store_cursor_close(c);
	if (err != LEDGER_ENOTFOUND)
		return err;
	if (heads != v->streams.used)
		return err_set(&v->l->e, LEDGER_ECORRUPT, "stream heads: %llu stored, "
		               "%llu in the events", (unsigned long long)heads,
		               (unsigned long long)v->streams.used);
	if (ids != v->seq)
		return err_set(&v->l->e, LEDGER_ECORRUPT, "id index: %llu ids for "
		               "%llu events", (unsigned long long)ids,
		               (unsigned long long)v->seq);
	return LEDGER_OK;
}

ledger_err verify_run(ledger_verify_stats *out, ledger *l, MDB_txn *txn,
                      verify_root_fn on_root, void *ctx)
{
	return verify_run_at(out, l, txn, NULL, on_root, ctx);
}

ledger_err verify_run_at(ledger_verify_stats *out, ledger *l, MDB_txn *txn,
                         verify_want_fn want, verify_root_fn on_root, void *ctx)
{
	verifier v = { .l = l, .txn = txn, .st = out, .on_root = on_root,
	               .want = want, .on_root_ctx = ctx };
	MDB_cursor *c = NULL;
	MDB_val k, val;
	ledger_err err;

	memset(out, 0, sizeof *out);
	arena_init(&v.a);
	if (!(v.heads = heads_mem_new(&v.h)))
		return err_set(&l->e, LEDGER_ENOMEM, "out of memory");
	if (hasher_init(&v.h) != 0) {
		heads_mem_free(v.heads);
		return err_set(&l->e, LEDGER_ENOMEM, "cannot set up SHA-256");
	}
	v.frontier.h = &v.h;
	if ((err = store_cursor(&c, txn, l->s, DB_EVENTS, &l->e)) != LEDGER_OK ||
	    (err = store_cursor(&v.merkle, txn, l->s, DB_MERKLE, &l->e)) != LEDGER_OK ||
	    (err = walk_open(&v.bodies, &v, DB_BODIES)) != LEDGER_OK ||
	    (err = walk_open(&v.redactions, &v, DB_REDACTIONS)) != LEDGER_OK)
		goto out;
	for (err = store_cursor_get(c, &k, &val, MDB_FIRST, &l->e); err == LEDGER_OK;
	     err = store_cursor_get(c, &k, &val, MDB_NEXT, &l->e))
		if ((err = verify_event(&v, &k, &val)) != LEDGER_OK)
			break;
	if (err == LEDGER_ENOTFOUND && v.txn_open)
		err = bad(&v, v.seq, "the last event carries no heads_root: its write "
		          "transaction was not sealed");
	if (err == LEDGER_ENOTFOUND)
		err = verify_totals(&v);
	if (err == LEDGER_OK)
		err = verify_heads_count(&v);
	if (err == LEDGER_OK) {
		merkle_frontier_root(out->root, &v.frontier);
		out->streams = v.streams.used;
	}
out:
	store_cursor_close(v.merkle);
	store_cursor_close(v.bodies.c);
	store_cursor_close(v.redactions.c);
	store_cursor_close(c);
	free(v.streams.slots);
	heads_mem_free(v.heads);
	arena_free(&v.a);
	hasher_free(&v.h);
	return err;
}
