/* Recompute and check everything stored (DESIGN §8, tamper evidence). */
#include <stdlib.h>
#include <string.h>

#include <openssl/rand.h>

#include "bytes.h"
#include "codec.h"
#include "hash.h"
#include "heads.h"
#include "keys.h"
#include "ledger_impl.h"
#include "merkle.h"
#include "relay.h"
#include "tiles.h"
#include "verify.h"

static const uint8_t zero_hash[LEDGER_HASH_BYTES];
static const uint8_t leaf_prefix[1] = { 0x00 };

/* ---- stream table: relationship key -> its stream ---- */

/* A stream's state, in a dense array that never moves an entry (the hash
 * slots below name it by index). */
typedef struct stream {
	uint64_t version;
	uint64_t seq;
	uint64_t txn;                    /* the last write transaction it moved in */
	uint8_t leaf[LEDGER_HASH_BYTES];
	uint8_t heads_key[HEADS_KEY_BYTES];
} stream;

typedef struct stream_slot {
	uint8_t key[KEYS_REL_BYTES_MAX];
	uint8_t key_bytes;               /* 0: empty slot */
	uint32_t index;                  /* into stream_table.v */
} stream_slot;

typedef struct stream_table {
	stream_slot *slots;
	size_t cap, used;                /* cap is a power of two */
	stream *v;                       /* used entries */
	size_t v_cap;
	uint32_t *moved;                 /* streams moved by the open transaction */
	size_t n_moved, moved_cap;
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

/* Room for one more stream and one more moved stream; -1 when out of
 * memory. */
static int stream_reserve(stream_table *t)
{
	if (array_reserve((void **)&t->v, &t->v_cap, t->used + 1, sizeof *t->v,
	                  UINT32_MAX) ||
	    array_reserve((void **)&t->moved, &t->moved_cap, t->n_moved + 1,
	                  sizeof *t->moved, UINT32_MAX))
		return -1;
	if (2 * (t->used + 1) <= t->cap)
		return 0;
	stream_table n = { calloc(t->cap ? t->cap * 2 : 1024, sizeof *n.slots),
	                   t->cap ? t->cap * 2 : 1024, t->used, 0, 0, 0, 0, 0 };
	if (!n.slots)
		return -1;
	for (size_t i = 0; i < t->cap; i++)
		if (t->slots[i].key_bytes)
			*stream_find(&n, t->slots[i].key, t->slots[i].key_bytes) = t->slots[i];
	free(t->slots);
	t->slots = n.slots;
	t->cap = n.cap;
	return 0;
}

static void stream_free(stream_table *t)
{
	free(t->slots);
	free(t->v);
	free(t->moved);
}

/* ---- the scan ----
 *
 * The scan runs in three stages over batches of VERIFY_BATCH events, so
 * that the decoding and hashing run on the second core (relay.h):
 *   walk   (this thread) the events in seq order, with the bodies and
 *          redaction marks beside them: pointers into the map, valid for
 *          the transaction;
 *   decode (the relay's thread) each envelope and body, their canonical
 *          form, the leaf and body hashes;
 *   check  (this thread) everything that depends on the events before:
 *          seq, chain, time, indexes, streams, heads map, Merkle tree.
 * The checks run in the order of the one-thread scan, so the first fault
 * named is the same. */

#define VERIFY_BATCH 256u

typedef struct vrec {
	MDB_val k, v;                    /* the event as stored */
	MDB_val body;                    /* mv_data NULL: no body stored */
	bool red;                        /* a redaction mark names the event */
	bool walk_stray;                 /* the walk stopped at a stray record: */
	uint64_t walk_bad;               /* at this seq (0 is a key, not "none"), */
	const char *walk_what;           /* for this reason */
	/* from the decode stage */
	Annals__Envelope *env;           /* NULL: not a canonical annals.Envelope */
	bool body_ok;                    /* the body is a canonical annals.Body */
	uint8_t leaf[LEDGER_HASH_BYTES];
	uint8_t body_hash[LEDGER_HASH_BYTES];
} vrec;

typedef struct vbatch {
	arena a;                         /* the decoded messages */
	vrec r[VERIFY_BATCH];
	size_t count;
	bool last;                       /* no event after these */
	ledger_err err;                  /* a storage error ended the walk here */
} vbatch;

/* A cursor walked in step with the events (a merge by seq), instead of a
 * random lookup per event. */
typedef struct walk {
	MDB_cursor *c;
	MDB_val k, v;
	bool at_end;
} walk;

/* The id index is checked as a whole: the sum (mod 2^256) of
 * SHA-256(key || u64be(seq) || id) over the events must equal the sum over
 * the index entries. The key is drawn at random for each scan, so no one
 * can arrange for two different sets to have equal sums. Only when the
 * sums differ, or another check fails, is the index looked up event by
 * event, to name the first event it does not point to. */
typedef struct id_sum {
	uint64_t limb[4];
} id_sum;

typedef struct verifier {
	ledger *l;
	MDB_txn *txn;
	MDB_cursor *events;              /* the walk stage's */
	walk bodies, redactions;         /* walked beside the events, by seq */
	uint64_t walked;                 /* seq of the last event walked */
	bool walk_done;                  /* no more batches to fill */
	hasher h;                        /* the check stage's */
	hasher dh;                       /* the decode stage's */
	vbatch *b;                       /* RELAY_SLOTS batches */
	uint8_t id_key[LEDGER_HASH_BYTES];
	id_sum ids;                      /* over the events checked */
	uint64_t ids_upto;               /* the last seq whose id term was added */
	stream_table streams;
	uint64_t txn_count;              /* write transactions sealed */
	merkle_frontier frontier;
	MDB_val tile[TILE_LEVELS];       /* the stored tile each level fills */
	bool tile_complete[TILE_LEVELS]; /* found under a complete tile's key */
	unsigned tile_used[TILE_LEVELS]; /* its hashes compared so far */
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

static int tile_fault(verifier *v, const tile_pos *p, const char *what)
{
	err_set(&v->l->e, LEDGER_ECORRUPT, "merkle tile %u/%llu (while adding "
	        "seq %llu): %s", p->t, (unsigned long long)p->n,
	        (unsigned long long)v->seq, what);
	return -1;
}

/* Compare each hash the recomputed tree would store with the stored one,
 * as it is computed, so that the first event at fault is named: a tile is
 * looked up when its first hash comes, under its complete key or else as
 * the last tile of its level, and must be complete when its last comes. */
static int verify_emit(void *ctx, unsigned level, uint64_t index,
                       const merkle_hash hash)
{
	verifier *v = ctx;
	tile_pos p;

	tile_locate(&p, level, index);
	if (p.t >= TILE_LEVELS || p.slot != v->tile_used[p.t])
		return tile_fault(v, &p, "the tree's hashes come out of order");
	if (p.slot == 0) {
		uint8_t key[TILE_KEY_BYTES];
		tile_key_complete(key, p.t, p.n);
		ledger_err err = store_get(v->txn, v->l->s, DB_MERKLE, key,
		                           TILE_KEY_BYTES, &v->tile[p.t], &v->l->e);

		v->tile_complete[p.t] = err == LEDGER_OK;
		if (err == LEDGER_ENOTFOUND) {
			tile_key_partial(key, p.t);
			err = store_get(v->txn, v->l->s, DB_MERKLE, key,
			                TILE_PARTIAL_KEY_BYTES, &v->tile[p.t], &v->l->e);
		}
		if (err == LEDGER_ENOTFOUND)
			return tile_fault(v, &p, "missing from the stored tree");
		if (err != LEDGER_OK)
			return -1;
	}
	const MDB_val *t = &v->tile[p.t];
	if (t->mv_size < (p.slot + 1) * (size_t)LEDGER_HASH_BYTES ||
	    memcmp((const uint8_t *)t->mv_data + p.slot * (size_t)LEDGER_HASH_BYTES,
	           hash, LEDGER_HASH_BYTES) != 0)
		return tile_fault(v, &p, "the stored hashes differ from the "
		                  "recomputed ones");
	v->tile_used[p.t] = p.slot + 1;
	if (p.slot + 1 < TILE_HASHES)
		return 0;
	v->tile_used[p.t] = 0;
	if (!v->tile_complete[p.t] || t->mv_size != TILE_HASHES * (size_t)LEDGER_HASH_BYTES)
		return tile_fault(v, &p, "complete, but not stored as a complete tile");
	return 0;
}

/* The tiles left open at the end are the last of their levels, stored
 * with as many hashes as were compared. */
static ledger_err verify_partial_tiles(verifier *v)
{
	for (unsigned t = 0; t < TILE_LEVELS; t++) {
		size_t used = v->tile_used[t] * (size_t)LEDGER_HASH_BYTES;

		if (used && (v->tile_complete[t] || v->tile[t].mv_size != used))
			return err_set(&v->l->e, LEDGER_ECORRUPT, "merkle tile %u/%llu "
			               "(the last of its level): %zu stored hashes, %u "
			               "in the tree of %llu events%s", t,
			               (unsigned long long)tile_index_at(t, v->seq),
			               v->tile[t].mv_size / LEDGER_HASH_BYTES,
			               v->tile_used[t], (unsigned long long)v->seq,
			               v->tile_complete[t] ? " (stored as complete)" : "");
	}
	return LEDGER_OK;
}

static bool hash_field(const ProtobufCBinaryData *b, const uint8_t *want)
{
	return b->len == LEDGER_HASH_BYTES && memcmp(b->data, want, LEDGER_HASH_BYTES) == 0;
}

/* ---- walk ---- */

static ledger_err walk_next(walk *w, errbuf *e)
{
	ledger_err err = store_cursor_get(w->c, &w->k, &w->v, MDB_NEXT, e);

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

/* Whether w is at seq. A key below seq (or not a seq) belongs to no event:
 * *bad names it. */
static bool walk_at(const walk *w, uint64_t seq, bool *stray, uint64_t *bad)
{
	if (w->at_end)
		return false;
	if (w->k.mv_size != 8 || get_u64_be(w->k.mv_data) < seq) {
		*stray = true;
		*bad = w->k.mv_size == 8 ? get_u64_be(w->k.mv_data) : seq;
		return false;
	}
	return get_u64_be(w->k.mv_data) == seq;
}

/* The event after v->walked, with its body and redaction mark, into r;
 * false when the walk must stop: after r, at a fault the check stage names
 * when it reaches r, or before r, at a storage error in *err. Bodies are
 * looked at before marks, as the one-thread scan did. */
static bool walk_event(verifier *v, vrec *r, ledger_err *err)
{
	uint64_t seq = ++v->walked;
	bool body;

	r->body.mv_data = NULL;
	r->body.mv_size = 0;
	r->walk_stray = false;
	body = walk_at(&v->bodies, seq, &r->walk_stray, &r->walk_bad);
	r->walk_what = "a body is stored for an event that does not exist";
	if (r->walk_stray)
		return false;
	r->red = walk_at(&v->redactions, seq, &r->walk_stray, &r->walk_bad);
	r->walk_what = "a redaction mark names an event that does not exist";
	if (r->walk_stray)
		return false;
	if (r->red && (*err = walk_next(&v->redactions, &v->l->e)) != LEDGER_OK)
		return false;
	if (body) {
		r->body = v->bodies.v;
		if ((*err = walk_next(&v->bodies, &v->l->e)) != LEDGER_OK)
			return false;
	}
	return true;
}

/* Fill batch b with the next events; false when there are none. */
static bool walk_batch(verifier *v, vbatch *b)
{
	MDB_val k, val;

	b->count = 0;
	b->last = false;
	b->err = LEDGER_OK;
	while (b->count < VERIFY_BATCH) {
		ledger_err err = store_cursor_get(v->events, &k, &val, v->walked ?
		                                  MDB_NEXT : MDB_FIRST, &v->l->e);
		if (err != LEDGER_OK) {
			b->last = true;
			b->err = err == LEDGER_ENOTFOUND ? LEDGER_OK : err;
			break;
		}
		vrec *r = &b->r[b->count++];
		r->k = k;
		r->v = val;
		if (!walk_event(v, r, &b->err)) {
			b->count -= b->err != LEDGER_OK;   /* r is incomplete */
			b->last = true;
			break;
		}
	}
	v->walk_done = b->last;
	return b->count > 0 || b->err != LEDGER_OK;
}

/* ---- decode (the relay's thread: touches nothing but its batch) ---- */

static void id_term(uint8_t out[LEDGER_HASH_BYTES], hasher *h,
                    const uint8_t key[LEDGER_HASH_BYTES], const void *seq_be,
                    const void *id, size_t id_bytes)
{
	uint8_t prefix[LEDGER_HASH_BYTES + 8];

	memcpy(prefix, key, LEDGER_HASH_BYTES);
	memcpy(prefix + LEDGER_HASH_BYTES, seq_be, 8);
	hasher_sha256(h, out, prefix, sizeof prefix, id, id_bytes);
}

static void decode_batch(void *ctx, size_t slot)
{
	verifier *v = ctx;
	vbatch *b = &v->b[slot];

	arena_reset(&b->a);
	for (size_t i = 0; i < b->count; i++) {
		vrec *r = &b->r[i];
		r->env = codec_envelope_decode(&b->a, r->v.mv_data, r->v.mv_size);
		if (r->env && !codec_canonical(&b->a, &r->env->base, r->v.mv_data,
		                               r->v.mv_size))
			r->env = NULL;
		if (!r->env)
			continue;
		hasher_sha256(&v->dh, r->leaf, leaf_prefix, 1, r->v.mv_data, r->v.mv_size);
		if (!r->body.mv_data)
			continue;
		hasher_sha256(&v->dh, r->body_hash, NULL, 0, r->body.mv_data,
		              r->body.mv_size);
		Annals__Body *bd = codec_body_decode(&b->a, r->body.mv_data,
		                                     r->body.mv_size);
		r->body_ok = bd && codec_canonical(&b->a, &bd->base, r->body.mv_data,
		                                   r->body.mv_size);
	}
}

/* ---- check ---- */

static void id_add(id_sum *s, const uint8_t term[LEDGER_HASH_BYTES])
{
	unsigned carry = 0;

	for (int i = 0; i < 4; i++) {
		uint64_t t = get_u64_be(term + 8 * i);
		uint64_t x = s->limb[i] + t;
		unsigned c = x < t;
		uint64_t y = x + carry;
		carry = c | (y < x);
		s->limb[i] = y;
	}
}

static ledger_err verify_body(verifier *v, const vrec *r)
{
	const Annals__Envelope *env = r->env;

	if (r->walk_stray)
		return bad(v, r->walk_bad, r->walk_what);
	if (!r->body.mv_data) {
		if (!r->red)
			return bad(v, v->seq, "the body is missing and no redaction "
			           "removed it (tampering)");
		v->st->redacted++;
		return LEDGER_OK;
	}
	if (r->red)
		return bad(v, v->seq, "a redaction is recorded but the body is still stored");
	if (!hash_field(&env->body_hash, r->body_hash))
		return bad(v, v->seq, "the body's SHA-256 differs from body_hash");
	if (!r->body_ok)
		return bad(v, v->seq, "the body is not a canonical annals.Body");
	v->st->bytes += r->body.mv_size;
	return LEDGER_OK;
}

/* The id of the event at v->seq must map to it. */
static ledger_err verify_id(verifier *v, const char *id)
{
	MDB_val x;
	ledger_err err = store_get(v->txn, v->l->s, DB_IDS, id, strlen(id), &x,
	                           &v->l->e);

	if (err == LEDGER_ENOTFOUND || (err == LEDGER_OK &&
	    (x.mv_size != 8 || get_u64_be(x.mv_data) != v->seq)))
		return bad(v, v->seq, "the id index does not point to this event");
	return err;
}

/* The id index (as a term of the sum), and the retraction and redaction
 * marks, point back here. */
static ledger_err verify_indexes(verifier *v, const vrec *r)
{
	const Annals__Envelope *env = r->env;
	uint8_t seq_be[8], term[LEDGER_HASH_BYTES];
	MDB_val x;
	ledger_err err;

	put_u64_be(seq_be, v->seq);
	id_term(term, &v->h, v->id_key, seq_be, env->id, strlen(env->id));
	id_add(&v->ids, term);
	v->ids_upto = v->seq;
	bool retract = env->type == ANNALS__EVENT_TYPE__RETRACTION;
	if (!retract && env->type != ANNALS__EVENT_TYPE__REDACTION)
		return LEDGER_OK;
	const char *target = retract ? env->retracts : env->redacts;
	err = store_get(v->txn, v->l->s, DB_IDS, target, strlen(target), &x, &v->l->e);
	if (err != LEDGER_OK || x.mv_size != 8 || get_u64_be(x.mv_data) >= v->seq)
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
	stream_table *t = &v->streams;
	uint8_t key[KEYS_REL_BYTES_MAX];
	size_t n, org = strlen(env->organization), c = strlen(env->country);

	if (org < 1 || org > LEDGER_SLUG_BYTES_MAX || c > LEDGER_COUNTRY_BYTES_MAX)
		return bad(v, v->seq, "the relationship is malformed");
	n = keys_rel(key, env->country, env->organization);
	if (stream_reserve(t) != 0)
		return err_set(&v->l->e, LEDGER_ENOMEM, "out of memory");
	stream_slot *sl = stream_find(t, key, n);
	if (sl->key_bytes == 0) {
		memcpy(sl->key, key, n);
		sl->key_bytes = (uint8_t)n;
		sl->index = (uint32_t)t->used++;
		stream *s = &t->v[sl->index];
		memset(s, 0, sizeof *s);
		s->txn = UINT64_MAX;
		heads_key(s->heads_key, &v->h, env->country, env->organization);
	}
	stream *s = &t->v[sl->index];
	if (env->stream_version != s->version + 1)
		return bad(v, v->seq, "stream_version does not follow the "
		           "relationship's previous event");
	if (!hash_field(&env->stream_prev, s->version ? s->leaf : zero_hash))
		return bad(v, v->seq, "stream_prev is not the leaf hash of the "
		           "relationship's previous event");
	s->version++;
	s->seq = v->seq;
	memcpy(s->leaf, leaf, LEDGER_HASH_BYTES);
	if (s->txn != v->txn_count) {
		s->txn = v->txn_count;
		t->moved[t->n_moved++] = sl->index;
	}
	return LEDGER_OK;
}

/* The heads root that ends each write transaction equals the root of the
 * stream heads recomputed from the events, and every heads-map node that
 * transaction stored (the root among them) equals the recomputed one: the
 * older versions serve proofs at older sizes. The map takes the newest head
 * of each stream the transaction moved, once, when it is sealed. */
static ledger_err verify_heads(verifier *v, const Annals__Envelope *env)
{
	stream_table *t = &v->streams;
	uint8_t root[LEDGER_HASH_BYTES];

	v->txn_open = env->heads_root.len == 0;
	if (v->txn_open)
		return LEDGER_OK;
	for (size_t i = 0; i < t->n_moved; i++) {
		const stream *s = &t->v[t->moved[i]];
		if (heads_mem_set(v->heads, s->heads_key, s->version, s->seq) != 0)
			return err_set(&v->l->e, LEDGER_ENOMEM, "out of memory");
	}
	t->n_moved = 0;
	v->txn_count++;
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

static ledger_err verify_event(verifier *v, const vrec *r)
{
	const Annals__Envelope *env = r->env;
	ledger_err err;

	v->seq++;
	if (r->k.mv_size != 8 || get_u64_be(r->k.mv_data) != v->seq)
		return bad(v, v->seq, "missing: the events run on at another seq "
		           "(an event was deleted or reordered)");
	if (!env)
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
	v->st->bytes += r->v.mv_size;
	if ((err = verify_body(v, r)) != LEDGER_OK ||
	    (err = verify_indexes(v, r)) != LEDGER_OK ||
	    (err = verify_stream(v, env, r->leaf)) != LEDGER_OK ||
	    (err = verify_heads(v, env)) != LEDGER_OK)
		return err;
	if (merkle_frontier_push(&v->frontier, r->leaf, verify_emit, v) != 0) {
		v->st->first_bad_seq = v->seq;
		return LEDGER_ECORRUPT;
	}
	memcpy(v->prev, r->leaf, LEDGER_HASH_BYTES);
	v->st->events++;
	if (v->on_root && (!v->want || v->want(v->on_root_ctx, v->seq))) {
		merkle_hash root;
		merkle_frontier_root(root, &v->frontier);
		if (v->on_root(v->on_root_ctx, v->seq, root) != 0)
			return LEDGER_ECORRUPT;
	}
	return LEDGER_OK;
}

/* The sum over the id index equals the sum over the events. */
static ledger_err ids_match(bool *match, verifier *v)
{
	MDB_cursor *c = NULL;
	MDB_val k, x;
	id_sum sum = { { 0 } };
	uint8_t term[LEDGER_HASH_BYTES];
	ledger_err err = store_cursor(&c, v->txn, v->l->s, DB_IDS, &v->l->e);

	*match = true;
	if (err != LEDGER_OK)
		return err;
	for (err = store_cursor_get(c, &k, &x, MDB_FIRST, &v->l->e); err == LEDGER_OK;
	     err = store_cursor_get(c, &k, &x, MDB_NEXT, &v->l->e)) {
		if (x.mv_size != 8) {
			*match = false;
			break;
		}
		id_term(term, &v->h, v->id_key, x.mv_data, k.mv_data, k.mv_size);
		id_add(&sum, term);
	}
	store_cursor_close(c);
	if (err != LEDGER_OK && err != LEDGER_ENOTFOUND)
		return err;
	if (memcmp(&sum, &v->ids, sizeof sum) != 0)
		*match = false;
	return LEDGER_OK;
}

/* Look the id of every event up to v->ids_upto up in the index, in seq
 * order; LEDGER_ECORRUPT names the first it does not point to. Only run
 * when something failed: these are the lookups the sum saves. Runs after
 * the relay has stopped, so it decodes in the first batch's arena. */
static ledger_err ids_exact(verifier *v)
{
	MDB_val k, val;
	uint64_t upto = v->ids_upto, seq = v->seq;
	ledger_err err = LEDGER_OK;

	v->seq = 0;
	for (err = store_cursor_get(v->events, &k, &val, MDB_FIRST, &v->l->e);
	     err == LEDGER_OK && v->seq < upto;
	     err = store_cursor_get(v->events, &k, &val, MDB_NEXT, &v->l->e)) {
		v->seq++;
		arena_reset(&v->b[0].a);
		Annals__Envelope *env = codec_envelope_decode(&v->b[0].a, val.mv_data,
		                                              val.mv_size);
		if (!env)
			break;    /* it decoded before; a storage fault, named already */
		if ((err = verify_id(v, env->id)) != LEDGER_OK)
			return err;
	}
	v->seq = seq;
	return err == LEDGER_ENOTFOUND ? LEDGER_OK : err;
}

/* Whether the stored tiles hold hashes of leaves past the last event: a
 * complete tile that a larger tree completed, or a tile being filled that
 * holds more than the log's tree gives it. (Their number alone does not
 * tell: 31 and 32 leaves both take three tiles.) */
static ledger_err merkle_beyond(verifier *v, bool *out)
{
	MDB_cursor *c = NULL;
	MDB_val k, x;
	ledger_err err = store_cursor(&c, v->txn, v->l->s, DB_MERKLE, &v->l->e);

	*out = false;
	if (err == LEDGER_OK)
		err = store_cursor_get(c, &k, &x, MDB_LAST, &v->l->e);
	if (err == LEDGER_OK && k.mv_size == TILE_KEY_BYTES &&
	    ((const uint8_t *)k.mv_data)[0] == TILE_KEY_COMPLETE &&
	    get_u64_be((const uint8_t *)k.mv_data + 1) > v->seq)
		*out = true;
	for (err = err ? err : store_cursor_get(c, &k, &x, MDB_FIRST, &v->l->e);
	     err == LEDGER_OK && !*out && k.mv_size == TILE_PARTIAL_KEY_BYTES &&
	     ((const uint8_t *)k.mv_data)[0] == TILE_KEY_PARTIAL;
	     err = store_cursor_get(c, &k, &x, MDB_NEXT, &v->l->e)) {
		unsigned t = ((const uint8_t *)k.mv_data)[1];
		*out = t < TILE_LEVELS && x.mv_size / LEDGER_HASH_BYTES >
		       tile_stored(t, tile_index_at(t, v->seq), v->seq);
	}
	store_cursor_close(c);
	return err == LEDGER_ENOTFOUND ? LEDGER_OK : err;
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
	bool beyond = false;
	if (ids > v->seq && (err = merkle_beyond(v, &beyond)) != LEDGER_OK)
		return err;
	if (beyond) {
		v->st->first_bad_seq = v->seq + 1;
		return err_set(&v->l->e, LEDGER_ECORRUPT, "seq %llu: missing: the "
		               "indexes hold %llu events but the log ends at seq %llu "
		               "(the log was truncated)", (unsigned long long)v->seq + 1,
		               (unsigned long long)ids, (unsigned long long)v->seq);
	}
	if (merkle != tile_records(v->seq))
		return err_set(&v->l->e, LEDGER_ECORRUPT, "merkle: %llu tiles stored, "
		               "%llu expected for %llu events", (unsigned long long)merkle,
		               (unsigned long long)tile_records(v->seq),
		               (unsigned long long)v->seq);
	if ((err = verify_partial_tiles(v)) != LEDGER_OK)
		return err;
	if ((err = store_cursor(&c, v->txn, v->l->s, DB_HEADS, &v->l->e)) != LEDGER_OK)
		return err;
	for (err = store_cursor_get(c, &k, &x, MDB_FIRST, &v->l->e); err == LEDGER_OK;
	     err = store_cursor_get(c, &k, &x, MDB_NEXT, &v->l->e)) {
		stream_slot *sl = k.mv_size <= KEYS_REL_BYTES_MAX && v->streams.cap ?
		                  stream_find(&v->streams, k.mv_data, k.mv_size) : NULL;
		const stream *s = sl && sl->key_bytes ? &v->streams.v[sl->index] : NULL;
		heads++;
		if (!s || x.mv_size != 16 + LEDGER_HASH_BYTES ||
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

/* Walk, decode and check every event, a batch at a time, keeping up to
 * RELAY_SLOTS batches on their way. */
static ledger_err verify_events(verifier *v)
{
	ledger_err err = LEDGER_OK;
	uint64_t filled = 0;
	relay *y = relay_start(decode_batch, v, true);

	if (!y)
		return err_set(&v->l->e, LEDGER_ENOMEM, "out of memory");
	while (err == LEDGER_OK) {
		while (!v->walk_done && relay_pending(y) < RELAY_SLOTS &&
		       walk_batch(v, &v->b[filled % RELAY_SLOTS])) {
			filled++;
			relay_submit(y);
		}
		if (relay_pending(y) == 0)
			break;
		const vbatch *b = &v->b[relay_take(y)];
		for (size_t i = 0; i < b->count && err == LEDGER_OK; i++)
			err = verify_event(v, &b->r[i]);
		if (err == LEDGER_OK)
			err = b->err;
	}
	relay_stop(y);
	return err;
}

/* The id index is looked up event by event only to name a fault: one the
 * sum found, or one that comes before the fault another check found. */
static ledger_err verify_ids(verifier *v, ledger_err err, bool *match)
{
	*match = true;
	if (err == LEDGER_OK) {
		err = ids_match(match, v);
		if (err == LEDGER_OK && !*match)
			err = ids_exact(v);
	} else if (err != LEDGER_ENOMEM) {
		/* A fault or a storage error: an id fault before it comes first. */
		errbuf first = v->l->e;
		uint64_t first_seq = v->st->first_bad_seq;
		if (ids_exact(v) == LEDGER_ECORRUPT)
			return LEDGER_ECORRUPT;
		v->l->e = first;
		v->st->first_bad_seq = first_seq;
	}
	return err;
}

ledger_err verify_run_at(ledger_verify_stats *out, ledger *l, MDB_txn *txn,
                         verify_want_fn want, verify_root_fn on_root, void *ctx)
{
	verifier v = { .l = l, .txn = txn, .st = out, .on_root = on_root,
	               .want = want, .on_root_ctx = ctx };
	ledger_err err;
	bool match;

	memset(out, 0, sizeof *out);
	if (!(v.b = calloc(RELAY_SLOTS, sizeof *v.b)) ||
	    !(v.heads = heads_mem_new(&v.h))) {
		free(v.b);
		return err_set(&l->e, LEDGER_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < RELAY_SLOTS; i++)
		arena_init(&v.b[i].a);
	if (hasher_init_sha256(&v.h) != 0 || hasher_init_sha256(&v.dh) != 0) {
		err = err_set(&l->e, LEDGER_ENOMEM, "cannot set up SHA-256");
		goto out;
	}
	if (RAND_bytes(v.id_key, sizeof v.id_key) != 1) {
		err = err_set(&l->e, LEDGER_EIO, "the random number generator failed");
		goto out;
	}
	v.frontier.h = &v.h;
	if ((err = store_cursor(&v.events, txn, l->s, DB_EVENTS, &l->e)) != LEDGER_OK ||
	    (err = walk_open(&v.bodies, &v, DB_BODIES)) != LEDGER_OK ||
	    (err = walk_open(&v.redactions, &v, DB_REDACTIONS)) != LEDGER_OK)
		goto out;
	err = verify_events(&v);
	if (err == LEDGER_OK && v.txn_open)
		err = bad(&v, v.seq, "the last event carries no heads_root: its write "
		          "transaction was not sealed");
	err = verify_ids(&v, err, &match);
	if (err == LEDGER_OK)
		err = verify_totals(&v);
	if (err == LEDGER_OK)
		err = verify_heads_count(&v);
	if (err == LEDGER_OK && !match)
		err = err_set(&l->e, LEDGER_ECORRUPT, "id index: the entries differ "
		              "from the ids of the events");
	if (err == LEDGER_OK) {
		merkle_frontier_root(out->root, &v.frontier);
		out->streams = v.streams.used;
	}
out:
	store_cursor_close(v.bodies.c);
	store_cursor_close(v.redactions.c);
	store_cursor_close(v.events);
	stream_free(&v.streams);
	heads_mem_free(v.heads);
	for (size_t i = 0; i < RELAY_SLOTS; i++)
		arena_free(&v.b[i].a);
	free(v.b);
	hasher_free(&v.h);
	hasher_free(&v.dh);
	return err;
}
