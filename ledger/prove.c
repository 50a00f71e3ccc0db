/* Proved statuses (DESIGN §6): a bundle that anyone can check offline,
 * including that no event of the relationship was left out.
 *
 * The bundle, one JSON object (hashes in lower-case hex, records in
 * padded base64):
 *
 *   format           "annals-status-proof-1"
 *   origin           the log's origin
 *   tree_size        S, a size that ends a write transaction
 *   root             Merkle root of S
 *   checkpoint       signed note of S, or of checkpoint_size > S with
 *   checkpoint_size  consistency_proof (S -> checkpoint_size)
 *   consistency_proof
 *   country, organization, at
 *   head             {"envelope": envelope S, "proof": inclusion proof of S}
 *   heads_proof      {"kind": "member" | "empty" | "other", "depth": d,
 *                     "siblings": [d hashes, root side first],
 *                     "key": the leaf's map key (member, other),
 *                     "version", "seq": the leaf's}
 *   events           [{"envelope", "proof"}], versions v .. 1 of the stream
 *
 * The check: the checkpoint's signature; the root of S (equal, or
 * consistent with the checkpoint's); envelope S is in the tree and carries
 * heads_root (S ends a transaction); the heads proof leads to that
 * heads_root and says version v (0: no event); the events are exactly
 * versions v .. 1, each in the tree, each linked to the next by
 * stream_prev, version 1 to zeros, the newest at the leaf's seq; then the
 * same fold as `status`. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bytes.h"
#include "codec.h"
#include "date.h"
#include "event.h"
#include "hash.h"
#include "heads.h"
#include "keys.h"
#include "ledger_impl.h"
#include "merkle.h"
#include "note.h"
#include "query.h"

#define BUNDLE_FORMAT "annals-status-proof-1"
#define NEAREST_SCAN_MAX 100000u   /* envelopes scanned for the nearest sizes */

/* ---- making a bundle ---- */

static json_t *hex_json(const uint8_t *h)
{
	char hex[2 * LEDGER_HASH_BYTES + 1];

	hex_encode(hex, h, LEDGER_HASH_BYTES);
	return json_string(hex);
}

static json_t *b64_json(const void *p, size_t n)
{
	size_t cap = (n + 2) / 3 * 4 + 1;
	char *text = malloc(cap);
	json_t *j = NULL;

	if (text && note_b64_encode(text, cap, p, n) == cap - 1)
		j = json_string(text);
	free(text);
	return j;
}

static json_t *proof_json(const ledger_proof *p)
{
	json_t *a = json_array();

	for (size_t i = 0; a && i < p->hashes_count; i++)
		json_array_append_new(a, hex_json(p->hashes[i]));
	return a;
}

/* Whether envelope `seq` ends a write transaction (carries heads_root). */
static ledger_err ends_txn(bool *out, ledger *l, MDB_txn *txn, uint64_t seq,
                           arena *a)
{
	uint8_t k[8];
	MDB_val v;
	ledger_err err;

	put_u64_be(k, seq);
	if ((err = store_get(txn, l->s, DB_EVENTS, k, 8, &v, &l->e)) != LEDGER_OK)
		return err;
	arena_reset(a);
	Annals__Envelope *env = codec_envelope_decode(a, v.mv_data, v.mv_size);
	if (!env)
		return err_set(&l->e, LEDGER_ECORRUPT, "seq %llu cannot be decoded",
		               (unsigned long long)seq);
	*out = env->heads_root.len == LEDGER_HASH_BYTES;
	return LEDGER_OK;
}

/* S must end a transaction: else name the nearest sizes that do. */
static ledger_err check_size(ledger *l, MDB_txn *txn, uint64_t size, uint64_t head)
{
	uint64_t before = 0, after = 0;
	bool ends = false;
	arena a;
	ledger_err err;

	if (size == 0)
		return err_set(&l->e, LEDGER_EUSAGE, "the ledger is empty at size 0: "
		               "there is nothing to prove");
	arena_init(&a);
	if ((err = ends_txn(&ends, l, txn, size, &a)) != LEDGER_OK || ends)
		goto out;
	for (uint64_t s = size - 1, i = 0; s >= 1 && i < NEAREST_SCAN_MAX && !before; s--, i++)
		if ((err = ends_txn(&ends, l, txn, s, &a)) != LEDGER_OK || (ends && (before = s)))
			break;
	for (uint64_t s = size + 1, i = 0; s <= head && i < NEAREST_SCAN_MAX && !after; s++, i++)
		if ((err = ends_txn(&ends, l, txn, s, &a)) != LEDGER_OK || (ends && (after = s)))
			break;
	if (err == LEDGER_OK) {
		char near[64];
		if (before && after)
			snprintf(near, sizeof near, "%llu and %llu",
			         (unsigned long long)before, (unsigned long long)after);
		else
			snprintf(near, sizeof near, "%llu",
			         (unsigned long long)(before ? before : after));
		err = err_set(&l->e, LEDGER_EUSAGE, "tree size %llu does not end a "
		              "write transaction; the nearest that do: %s (give one "
		              "with --as-of)", (unsigned long long)size, near);
	}
out:
	arena_free(&a);
	return err;
}

/* The seqs of rel's events recorded by size, newest first. */
static ledger_err stream_seqs(uint64_t **out, size_t *count, ledger *l,
                              MDB_txn *txn, const uint8_t *rel, size_t rel_bytes,
                              uint64_t size)
{
	uint8_t key[KEYS_REL_BYTES_MAX + 13];
	MDB_cursor *c = NULL;
	MDB_val k, v;
	size_t cap = 0, p = index_rel_prefix(key, rel, rel_bytes);
	ledger_err err = store_cursor(&c, txn, l->s, DB_REL, &l->e);

	*out = NULL;
	*count = 0;
	k.mv_data = key;
	k.mv_size = p;
	for (err = err ? err : store_cursor_get(c, &k, &v, MDB_SET_RANGE, &l->e);
	     err == LEDGER_OK; err = store_cursor_get(c, &k, &v, MDB_NEXT, &l->e)) {
		if (k.mv_size != p + 12 || memcmp(k.mv_data, key, p))
			break;
		uint64_t seq = get_u64_be((uint8_t *)k.mv_data + p + 4);
		if (seq > size)
			continue;
		if (*count == cap) {
			cap = cap ? cap * 2 : 64;
			uint64_t *q = realloc(*out, cap * sizeof *q);
			if (!q) {
				err = err_set(&l->e, LEDGER_ENOMEM, "out of memory");
				break;
			}
			*out = q;
		}
		(*out)[(*count)++] = seq;
	}
	store_cursor_close(c);
	/* Insertion order is by date; the stream runs by seq, newest first. */
	for (size_t i = 1; i < *count; i++)
		for (size_t j = i; j > 0 && (*out)[j - 1] < (*out)[j]; j--) {
			uint64_t t = (*out)[j];
			(*out)[j] = (*out)[j - 1];
			(*out)[j - 1] = t;
		}
	return err == LEDGER_ENOTFOUND ? LEDGER_OK : err;
}

static json_t *heads_json(const heads_proof *hp)
{
	static const char *const kinds[] = { "", "member", "empty", "other" };
	json_t *sib = json_array();
	char key[2 * HEADS_KEY_BYTES + 1];

	for (unsigned d = 0; sib && d < hp->depth; d++)
		json_array_append_new(sib, hex_json(hp->siblings[d]));
	hex_encode(key, hp->leaf_key, HEADS_KEY_BYTES);
	return json_pack("{s:s, s:i, s:o, s:s, s:I, s:I}", "kind",
	                 kinds[hp->kind <= HEADS_OTHER ? hp->kind : 0],
	                 "depth", (int)hp->depth, "siblings", sib, "key",
	                 hp->kind == HEADS_EMPTY ? "" : key,
	                 "version", (json_int_t)hp->version,
	                 "seq", (json_int_t)hp->seq);
}

/* One event of the bundle: its envelope and inclusion proof in S. */
static ledger_err event_json(json_t **out, ledger *l, MDB_txn *txn,
                             uint64_t seq, uint64_t size, ledger_proof *proof)
{
	uint8_t k[8];
	MDB_val v;
	ledger_err err;

	*out = NULL;
	if ((err = ledger_prove_inclusion(proof, l, seq, size)) != LEDGER_OK)
		return err;
	put_u64_be(k, seq);
	if ((err = store_get(txn, l->s, DB_EVENTS, k, 8, &v, &l->e)) != LEDGER_OK)
		return err;
	*out = json_pack("{s:o, s:o}", "envelope", b64_json(v.mv_data, v.mv_size),
	                 "proof", proof_json(proof));
	return *out ? LEDGER_OK : err_set(&l->e, LEDGER_ENOMEM, "out of memory");
}

typedef struct bundle_ctx {
	ledger *l;
	MDB_txn *txn;
	uint64_t size;
	char country[5], slug[LEDGER_SLUG_BYTES_MAX + 1];
	uint32_t at;
	ledger_proof *proof;
	heads_proof *heads;
	char *note;                      /* the checkpoint, found before the read */
	uint64_t note_size;
	json_t *consistency;             /* its consistency proof from S */
} bundle_ctx;

static ledger_err bundle_events(json_t *o, bundle_ctx *b)
{
	uint8_t rel[KEYS_REL_BYTES_MAX];
	uint64_t *seqs = NULL;
	size_t count = 0;
	json_t *events = json_array(), *e;
	ledger_err err = stream_seqs(&seqs, &count, b->l, b->txn, rel,
	                             keys_rel(rel, b->country, b->slug), b->size);

	if (err == LEDGER_OK && count != (b->heads->kind == HEADS_MEMBER ? b->heads->version : 0))
		err = err_set(&b->l->e, LEDGER_ECORRUPT, "the stream holds %zu events "
		              "at size %llu but the heads map says %llu (run annals "
		              "verify)", count, (unsigned long long)b->size,
		              (unsigned long long)b->heads->version);
	for (size_t i = 0; i < count && err == LEDGER_OK; i++)
		if ((err = event_json(&e, b->l, b->txn, seqs[i], b->size, b->proof)) == LEDGER_OK)
			json_array_append_new(events, e);
	free(seqs);
	if (err == LEDGER_OK)
		json_object_set_new(o, "events", events);
	else
		json_decref(events);
	return err;
}

static ledger_err bundle_make(json_t **out, bundle_ctx *b)
{
	uint8_t root[LEDGER_HASH_BYTES], key[HEADS_KEY_BYTES];
	char at[11];
	json_t *head = NULL, *o = NULL;
	ledger_err err;

	*out = NULL;
	if ((err = ledger_root(root, b->l, b->size)) != LEDGER_OK)
		goto out;
	date_format_day(at, b->at);
	o = json_pack("{s:s, s:s, s:I, s:o, s:s, s:I, s:O, s:s, s:s, s:s}",
	              "format", BUNDLE_FORMAT, "origin", b->l->origin,
	              "tree_size", (json_int_t)b->size, "root", hex_json(root),
	              "checkpoint", b->note, "checkpoint_size",
	              (json_int_t)b->note_size, "consistency_proof", b->consistency,
	              "country", b->country, "organization", b->slug, "at", at);
	heads_key(key, NULL, b->country, b->slug);
	if (!o) {
		err = err_set(&b->l->e, LEDGER_ENOMEM, "out of memory");
		goto out;
	}
	if ((err = event_json(&head, b->l, b->txn, b->size, b->size, b->proof)) != LEDGER_OK ||
	    (err = heads_prove(b->heads, b->txn, b->l->s, &b->l->e, key, b->size)) != LEDGER_OK)
		goto out;
	json_object_set_new(o, "head", head);
	head = NULL;
	json_object_set_new(o, "heads_proof", heads_json(b->heads));
	if ((err = bundle_events(o, b)) == LEDGER_OK) {
		*out = o;
		o = NULL;
	}
out:
	json_decref(head);
	json_decref(o);
	return err;
}

ledger_err ledger_status_prove(ledger *l, const ledger_status_query *q, FILE *out)
{
	bundle_ctx b = { .l = l };
	uint64_t head;
	json_t *o = NULL;
	ledger_err err;

	err_clear(&l->e);
	b.proof = malloc(sizeof *b.proof);
	b.heads = malloc(sizeof *b.heads);
	if (!b.proof || !b.heads) {
		err = err_set(&l->e, LEDGER_ENOMEM, "out of memory");
		goto out;
	}
	if ((err = query_day(&b.at, l, q->at, "--at")) != LEDGER_OK ||
	    (err = query_country(b.country, l, q->country)) != LEDGER_OK ||
	    (err = ledger_read_begin(&b.txn, l)) != LEDGER_OK)
		goto out;
	if ((err = query_org(b.slug, l, b.txn, q->organization)) != LEDGER_OK ||
	    (err = query_head(&head, l, b.txn)) != LEDGER_OK ||
	    (err = query_as_of(&b.size, l, b.txn, q->as_of, head)) != LEDGER_OK ||
	    (err = check_size(l, b.txn, b.size, head)) != LEDGER_OK)
		goto out;
	/* Signing may write: no read transaction may be open meanwhile. */
	store_abort(b.txn);
	b.txn = NULL;
	if ((err = query_checkpoint(&b.note, &b.note_size, b.proof, l, b.size)) != LEDGER_OK)
		goto out;
	if (!(b.consistency = proof_json(b.proof))) {
		err = err_set(&l->e, LEDGER_ENOMEM, "out of memory");
		goto out;
	}
	if ((err = ledger_read_begin(&b.txn, l)) != LEDGER_OK ||
	    (err = bundle_make(&o, &b)) != LEDGER_OK)
		goto out;
	if (json_dumpf(o, out, JSON_COMPACT) != 0 || fputc('\n', out) == EOF ||
	    fflush(out) != 0)
		err = err_set(&l->e, LEDGER_EIO, "cannot write the bundle");
out:
	json_decref(o);
	json_decref(b.consistency);
	free(b.note);
	store_abort(b.txn);
	free(b.proof);
	free(b.heads);
	return err;
}

/* ---- checking a bundle, offline ---- */

typedef struct checker {
	char *why;
	size_t why_bytes;
	arena a;
	hasher sha;                     /* a bundle holds an inclusion proof a
	                                 * event: one digest fetch for all */
	hasher *h;                      /* &sha, or NULL when it cannot be made */
} checker;

static void checker_init(checker *c, char *why, size_t why_bytes)
{
	memset(c, 0, sizeof *c);
	c->why = why;
	c->why_bytes = why_bytes;
	arena_init(&c->a);
	c->h = hasher_init_sha256(&c->sha) == 0 ? &c->sha : NULL;
}

static void checker_free(checker *c)
{
	arena_free(&c->a);
	hasher_free(&c->sha);
}

static ledger_err fail(checker *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static ledger_err fail(checker *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->why, c->why_bytes, fmt, ap);
	va_end(ap);
	return LEDGER_ECORRUPT;
}

static bool get_hex(uint8_t *out, json_t *v)
{
	const char *s = json_string_value(v);

	return s && hex_decode(out, LEDGER_HASH_BYTES, s, strlen(s)) == 0;
}

static bool get_u64(uint64_t *out, json_t *v)
{
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return false;
	*out = (uint64_t)json_integer_value(v);
	return true;
}

/* A proof array of hashes into p (at most MERKLE_PROOF_MAX). */
static bool get_hashes(merkle_hash *out, size_t *count, json_t *a)
{
	if (!json_is_array(a) || json_array_size(a) > MERKLE_PROOF_MAX)
		return false;
	*count = json_array_size(a);
	for (size_t i = 0; i < *count; i++)
		if (!get_hex(out[i], json_array_get(a, i)))
			return false;
	return true;
}

/* Decode a base64 envelope; it must be canonical (DESIGN §5). */
static Annals__Envelope *get_envelope(checker *c, json_t *v, uint8_t leaf[LEDGER_HASH_BYTES])
{
	const char *s = json_string_value(v);
	size_t n = s ? strlen(s) : 0, bytes = 0;
	uint8_t *buf = s ? arena_alloc(&c->a, n / 4 * 3 + 3) : NULL;

	if (!buf || !note_b64_decode(buf, n / 4 * 3 + 3, &bytes, s, n) ||
	    bytes > LEDGER_EVENT_BYTES_MAX)
		return NULL;
	Annals__Envelope *env = codec_envelope_decode(&c->a, buf, bytes);
	if (!env || !codec_canonical(&c->a, &env->base, buf, bytes))
		return NULL;
	merkle_leaf_hash_with(leaf, c->h, buf, bytes);
	return env;
}

typedef struct bundle_head {
	uint64_t size;
	uint8_t root[LEDGER_HASH_BYTES];
} bundle_head;

/* The checkpoint's signature, and the bundle's root of S as the signed
 * tree or a prefix of it. Shared with snapshot headers. */
static ledger_err check_header(bundle_head *h, checker *c, json_t *o,
                               const char *vkey, size_t vkey_bytes)
{
	ledger_checkpoint_info cp;
	merkle_hash proof[MERKLE_PROOF_MAX];
	size_t count;
	const char *note = json_string_value(json_object_get(o, "checkpoint"));
	const char *origin = json_string_value(json_object_get(o, "origin"));
	uint64_t cp_size;

	if (!note || !origin || !get_u64(&h->size, json_object_get(o, "tree_size")) ||
	    !get_hex(h->root, json_object_get(o, "root")) ||
	    !get_u64(&cp_size, json_object_get(o, "checkpoint_size")) ||
	    !get_hashes(proof, &count, json_object_get(o, "consistency_proof")))
		return fail(c, "the header is malformed (tree_size, root, checkpoint, "
		            "checkpoint_size, consistency_proof)");
	ledger_err err = ledger_checkpoint_open(&cp, note, strlen(note), vkey,
	                                        vkey_bytes, c->why, c->why_bytes);
	if (err != LEDGER_OK)
		return err == LEDGER_EUSAGE ? err : LEDGER_ECORRUPT;
	if (strcmp(cp.origin, origin) != 0)
		return fail(c, "the checkpoint is of origin '%s', the header names '%s'",
		            cp.origin, origin);
	if (cp.size != cp_size || cp_size < h->size)
		return fail(c, "the checkpoint is of size %llu, the header says %llu for "
		            "tree size %llu", (unsigned long long)cp.size,
		            (unsigned long long)cp_size, (unsigned long long)h->size);
	if (cp.size == h->size ? memcmp(cp.root, h->root, LEDGER_HASH_BYTES) != 0 :
	    !merkle_check_consistency_with(c->h, (const merkle_hash *)proof, count,
	                                   h->size, cp.size, h->root, cp.root))
		return fail(c, "the root of tree size %llu is not the signed tree's "
		            "(or a prefix of it)", (unsigned long long)h->size);
	return LEDGER_OK;
}

static bool check_inclusion(checker *c, json_t *ev, uint64_t seq,
                            const bundle_head *h,
                            const uint8_t leaf[LEDGER_HASH_BYTES])
{
	merkle_hash proof[MERKLE_PROOF_MAX];
	size_t count;

	return get_hashes(proof, &count, json_object_get(ev, "proof")) &&
	       seq >= 1 && seq <= h->size &&
	       merkle_check_inclusion_with(c->h, (const merkle_hash *)proof, count,
	                                   seq - 1, h->size, leaf, h->root);
}

static ledger_err check_heads(heads_proof *hp, checker *c, json_t *o,
                              const uint8_t key[HEADS_KEY_BYTES],
                              const uint8_t heads_root[LEDGER_HASH_BYTES])
{
	json_t *p = json_object_get(o, "heads_proof"), *sib;
	const char *kind = json_string_value(json_object_get(p, "kind"));
	const char *k = json_string_value(json_object_get(p, "key"));
	uint64_t depth;
	uint8_t root[LEDGER_HASH_BYTES];

	memset(hp, 0, sizeof *hp);
	sib = json_object_get(p, "siblings");
	if (!kind || !k || !get_u64(&depth, json_object_get(p, "depth")) ||
	    depth >= HEADS_DEPTH_MAX || !json_is_array(sib) ||
	    json_array_size(sib) != depth ||
	    !get_u64(&hp->version, json_object_get(p, "version")) ||
	    !get_u64(&hp->seq, json_object_get(p, "seq")))
		return fail(c, "the heads proof is malformed");
	hp->kind = strcmp(kind, "member") == 0 ? HEADS_MEMBER :
	           strcmp(kind, "empty") == 0 ? HEADS_EMPTY :
	           strcmp(kind, "other") == 0 ? HEADS_OTHER : 0;
	hp->depth = (uint16_t)depth;
	for (size_t i = 0; i < depth; i++)
		if (!get_hex(hp->siblings[i], json_array_get(sib, i)))
			return fail(c, "the heads proof is malformed");
	if (hp->kind != HEADS_EMPTY &&
	    hex_decode(hp->leaf_key, HEADS_KEY_BYTES, k, strlen(k)) != 0)
		return fail(c, "the heads proof is malformed");
	if (!heads_proof_root(root, hp, key))
		return fail(c, "the heads proof is not a proof for this relationship");
	if (memcmp(root, heads_root, LEDGER_HASH_BYTES) != 0)
		return fail(c, "the heads proof does not lead to the heads root of "
		            "tree size %llu", (unsigned long long)hp->seq);
	return LEDGER_OK;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int cmp_event(const void *a, const void *b)
{
	const fold_event *x = a, *y = b;

	if (x->first_day != y->first_day)
		return x->first_day < y->first_day ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* The stream, unbroken from version v to 1, every event in the tree. */
static ledger_err check_stream(Annals__Envelope **envs, checker *c, json_t *events,
                               const bundle_head *h, const heads_proof *hp,
                               const char *country, const char *org)
{
	uint64_t v = hp->kind == HEADS_MEMBER ? hp->version : 0;
	uint8_t leaf[LEDGER_HASH_BYTES], next_prev[LEDGER_HASH_BYTES];

	if (!json_is_array(events) || json_array_size(events) != v)
		return fail(c, "the bundle holds %zu events of the relationship, the "
		            "heads map says %llu: an event is missing or extra",
		            json_is_array(events) ? json_array_size(events) : 0,
		            (unsigned long long)v);
	for (uint64_t i = 0; i < v; i++) {
		json_t *ev = json_array_get(events, i);
		Annals__Envelope *env = get_envelope(c, json_object_get(ev, "envelope"), leaf);
		if (!env)
			return fail(c, "event %llu of the bundle is not a canonical "
			            "envelope", (unsigned long long)i + 1);
		if (env->stream_version != v - i || strcmp(env->country, country) ||
		    strcmp(env->organization, org))
			return fail(c, "seq %llu is not version %llu of (%s, %s)",
			            (unsigned long long)env->seq,
			            (unsigned long long)(v - i), country, org);
		if (i == 0 && env->seq != hp->seq)
			return fail(c, "the newest event is seq %llu, the heads map says "
			            "%llu", (unsigned long long)env->seq,
			            (unsigned long long)hp->seq);
		if (i > 0 && memcmp(leaf, next_prev, LEDGER_HASH_BYTES) != 0)
			return fail(c, "the stream chain breaks at seq %llu: the next "
			            "event's stream_prev is not its leaf hash",
			            (unsigned long long)env->seq);
		if (!check_inclusion(c, ev, env->seq, h, leaf))
			return fail(c, "seq %llu: the inclusion proof fails",
			            (unsigned long long)env->seq);
		if (env->stream_prev.len != LEDGER_HASH_BYTES)
			return fail(c, "seq %llu has no stream_prev", (unsigned long long)env->seq);
		memcpy(next_prev, env->stream_prev.data, LEDGER_HASH_BYTES);
		envs[i] = env;
	}
	static const uint8_t zero[LEDGER_HASH_BYTES];
	if (v > 0 && memcmp(next_prev, zero, LEDGER_HASH_BYTES) != 0)
		return fail(c, "version 1 does not start the stream (stream_prev is "
		            "not zero)");
	return LEDGER_OK;
}

/* The same fold as `status`: events not retracted, dated by `at`. */
static ledger_err check_fold(ledger_status *st, checker *c,
                             Annals__Envelope **envs, size_t n, uint32_t at)
{
	char **retracted = arena_alloc(&c->a, (n + 1) * sizeof *retracted);
	fold_event *evs = arena_alloc(&c->a, (n + 1) * sizeof *evs);
	size_t r = 0, k = 0;
	fold f;

	if (!retracted || !evs)
		return fail(c, "out of memory");
	for (size_t i = 0; i < n; i++)
		if (envs[i]->type == ANNALS__EVENT_TYPE__RETRACTION)
			retracted[r++] = envs[i]->retracts;
	qsort(retracted, r, sizeof *retracted, cmp_str);
	for (size_t i = 0; i < n; i++) {
		const Annals__Envelope *e = envs[i];
		if (!fold_takes(e->type) || !e->date || e->date->first_day > at ||
		    bsearch(&e->id, retracted, r, sizeof *retracted, cmp_str))
			continue;
		evs[k] = (fold_event){ e->type, e->seq, e->date->first_day,
		                       e->date->last_day, e->date->edtf, e->list,
		                       strlen(e->list), e->authority, strlen(e->authority) };
		k++;
	}
	qsort(evs, k, sizeof *evs, cmp_event);
	fold_init(&f);
	bool ok = true;
	for (size_t i = 0; i < k && ok; i++)
		ok = fold_apply(&f, &evs[i]);
	ok = ok && status_fill(st, &f, at);
	fold_free(&f);
	return ok ? LEDGER_OK : fail(c, "out of memory");
}

static ledger_err check_bundle(ledger_status *st, checker *c, json_t *o,
                               const char *vkey, size_t vkey_bytes)
{
	const char *country = json_string_value(json_object_get(o, "country"));
	const char *org = json_string_value(json_object_get(o, "organization"));
	const char *at_text = json_string_value(json_object_get(o, "at"));
	uint8_t leaf[LEDGER_HASH_BYTES], key[HEADS_KEY_BYTES];
	json_t *events = json_object_get(o, "events"), *head = json_object_get(o, "head");
	bundle_head h;
	heads_proof *hp = arena_alloc(&c->a, sizeof *hp);
	date_span at;
	ledger_err err;

	if (!country || !org || !at_text || strlen(country) > 4 || !*org ||
	    strlen(org) > LEDGER_SLUG_BYTES_MAX || !hp ||
	    date_parse(&at, at_text, strlen(at_text)) || at.first_day != at.last_day)
		return fail(c, "the bundle is malformed (country, organization, at)");
	if ((err = check_header(&h, c, o, vkey, vkey_bytes)) != LEDGER_OK)
		return err;
	Annals__Envelope *env = get_envelope(c, json_object_get(head, "envelope"), leaf);
	if (!env || env->seq != h.size || !check_inclusion(c, head, h.size, &h, leaf))
		return fail(c, "envelope %llu (the tree's last) is missing, not "
		            "canonical or not in the tree", (unsigned long long)h.size);
	if (env->heads_root.len != LEDGER_HASH_BYTES)
		return fail(c, "tree size %llu does not end a write transaction: its "
		            "last envelope carries no heads root", (unsigned long long)h.size);
	heads_key(key, NULL, country, org);
	if ((err = check_heads(hp, c, o, key, env->heads_root.data)) != LEDGER_OK)
		return err;
	size_t v = hp->kind == HEADS_MEMBER ? (size_t)hp->version : 0;
	Annals__Envelope **envs = arena_alloc(&c->a, (v + 1) * sizeof *envs);
	if (!envs || json_array_size(events) > LEDGER_DAY_MAX)
		return fail(c, "out of memory");
	if ((err = check_stream(envs, c, events, &h, hp, country, org)) != LEDGER_OK)
		return err;
	memset(st, 0, sizeof *st);
	snprintf(st->country, sizeof st->country, "%s", country);
	snprintf(st->organization, sizeof st->organization, "%s", org);
	st->as_of = h.size;
	st->version = v;
	return check_fold(st, c, envs, v, at.first_day);
}

ledger_err ledger_bundle_check(ledger_status *out, const char *bundle,
                               size_t bundle_bytes, const char *vkey,
                               size_t vkey_bytes, char *why, size_t why_bytes)
{
	checker c;
	json_error_t jerr;
	json_t *o = json_loadb(bundle, bundle_bytes, JSON_REJECT_DUPLICATES, &jerr);
	const char *format = json_string_value(json_object_get(o, "format"));
	ledger_err err;

	memset(out, 0, sizeof *out);
	checker_init(&c, why, why_bytes);
	if (!o)
		err = fail(&c, "not JSON: %s (line %d)", jerr.text, jerr.line);
	else if (!format || strcmp(format, BUNDLE_FORMAT) != 0)
		err = fail(&c, "not a proved status (format '%s')", format ? format : "");
	else
		err = check_bundle(out, &c, o, vkey, vkey_bytes);
	if (err != LEDGER_OK)
		ledger_status_free(out);
	json_decref(o);
	checker_free(&c);
	return err;
}

/* The header fields of a protobuf Snapshot as the JSON header has them,
 * so both are checked by the same code. */
static json_t *snapshot_pb_header(const char *bytes, size_t n)
{
	Annals__Snapshot *s = annals__snapshot__unpack(NULL, n, (const uint8_t *)bytes);
	json_t *o = NULL, *proof = json_array();

	if (s && s->root.len == LEDGER_HASH_BYTES && proof) {
		bool ok = true;
		for (size_t i = 0; i < s->n_consistency_proof; i++) {
			ok = ok && s->consistency_proof[i].len == LEDGER_HASH_BYTES;
			if (ok)
				json_array_append_new(proof, hex_json(s->consistency_proof[i].data));
		}
		if (ok)
			o = json_pack("{s:s, s:s, s:I, s:o, s:s, s:I, s:O}", "format",
			              s->format, "origin", s->origin, "tree_size",
			              (json_int_t)s->tree_size, "root", hex_json(s->root.data),
			              "checkpoint", s->checkpoint, "checkpoint_size",
			              (json_int_t)s->checkpoint_size, "consistency_proof", proof);
	}
	json_decref(proof);
	if (s)
		annals__snapshot__free_unpacked(s, NULL);
	return o;
}

ledger_err ledger_snapshot_check(uint64_t *tree_size, uint8_t root[LEDGER_HASH_BYTES],
                                 const char *header, size_t header_bytes,
                                 const char *vkey, size_t vkey_bytes,
                                 char *why, size_t why_bytes)
{
	checker c;
	json_error_t jerr;
	/* The header is the document up to its relationships: a snapshot
	 * may be large, and only the header is checked here. */
	json_t *o = header_bytes && header[0] == 0x0a ?   /* protobuf field 1 */
	            snapshot_pb_header(header, header_bytes) :
	            json_loadb(header, header_bytes, JSON_REJECT_DUPLICATES, &jerr);
	const char *format = json_string_value(json_object_get(o, "format"));
	bundle_head h;
	ledger_err err;

	snprintf(jerr.text, sizeof jerr.text, "%s", "not a snapshot");
	jerr.line = 1;
	checker_init(&c, why, why_bytes);
	if (!o)
		err = fail(&c, "not JSON: %s (line %d)", jerr.text, jerr.line);
	else if (!format || strcmp(format, "annals-snapshot-1") != 0)
		err = fail(&c, "not a snapshot (format '%s')", format ? format : "");
	else if ((err = check_header(&h, &c, o, vkey, vkey_bytes)) == LEDGER_OK) {
		*tree_size = h.size;
		memcpy(root, h.root, LEDGER_HASH_BYTES);
	}
	json_decref(o);
	checker_free(&c);
	return err;
}
