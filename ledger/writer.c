/* Append events inside one write transaction. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "bytes.h"
#include "keys.h"
#include "org.h"
#include "text.h"
#include "writer.h"

static const uint8_t leaf_prefix[1] = { 0x00 };

ledger_err writer_init(writer *w, store *s, errbuf *e,
                       const uint8_t secret[WRITER_SECRET_BYTES])
{
	memset(w, 0, sizeof *w);
	w->s = s;
	w->e = e;
	arena_init(&w->a);
	ledger_err err = writer_prep_init(&w->prep, secret, e);
	if (err == LEDGER_OK && (err = index_init(&w->ix, s, e, true)) != LEDGER_OK)
		writer_prep_free(&w->prep);
	return err;
}

void writer_free(writer *w)
{
	writer_abort(w);
	heads_batch_free(&w->heads);
	index_free(&w->ix);
	writer_prep_free(&w->prep);
	arena_free(&w->a);
	codec_buf_free(&w->env_buf);
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static ledger_err writer_load_head(writer *w)
{
	MDB_cursor *c = NULL;
	MDB_val k, v;
	ledger_err err;

	w->seq = 0;
	memset(w->prev, 0, sizeof w->prev);
	w->recorded_at_us = now_us();
	if ((err = store_cursor(&c, w->txn, w->s, DB_EVENTS, w->e)) != LEDGER_OK)
		return err;
	err = store_cursor_get(c, &k, &v, MDB_LAST, w->e);
	if (err == LEDGER_ENOTFOUND) {
		store_cursor_close(c);
		return LEDGER_OK;
	}
	if (err == LEDGER_OK) {
		Annals__Envelope *env = codec_envelope_decode(&w->a, v.mv_data, v.mv_size);
		if (k.mv_size != 8 || !env) {
			err = err_set(w->e, LEDGER_ECORRUPT, "the last event cannot be "
			              "decoded (run annals verify)");
		} else {
			w->seq = get_u64_be(k.mv_data);
			hasher_sha256(&w->prep.h, w->prev, leaf_prefix, 1, v.mv_data, v.mv_size);
			/* recorded_at never decreases, whatever the clock does. */
			if (env->recorded_at_us > w->recorded_at_us)
				w->recorded_at_us = env->recorded_at_us;
		}
	}
	store_cursor_close(c);
	arena_reset(&w->a);
	return err;
}

ledger_err writer_begin(writer *w)
{
	ledger_err err;

	assert(!w->txn);
	w->appended = 0;
	index_reset(&w->ix);
	w->heads.count = 0;
	if ((err = store_begin(&w->txn, w->s, true, w->e)) != LEDGER_OK)
		return err;
	if ((err = writer_load_head(w)) != LEDGER_OK)
		goto fail;
	/* The frontier is the right edge of the tree: all in the partial
	 * tiles, which the transaction goes on filling. */
	w->leaf_pending = false;
	w->tile_out = (tile_store){ w->txn, w->s, w->e, LEDGER_OK };
	tiles_init(&w->tiles, tiles_store_done, &w->tile_out);
	if ((err = tiles_load(&w->tiles, w->txn, w->s, w->seq, w->e)) != LEDGER_OK)
		goto fail;
	if (merkle_frontier_load(&w->frontier, w->seq, tiles_read_partial,
	                         &w->tiles) != 0) {
		err = err_set(w->e, LEDGER_ECORRUPT, "the Merkle tree of size %llu "
		              "cannot be read (run annals verify)",
		              (unsigned long long)w->seq);
		goto fail;
	}
	w->frontier.h = &w->prep.h;
	return LEDGER_OK;
fail:
	writer_abort(w);
	return err;
}

/* Add the pending leaf to the tree; its tiles are written as they fill. */
static ledger_err add_pending_leaf(writer *w)
{
	w->tile_out.err = LEDGER_OK;
	if (merkle_frontier_push(&w->frontier, w->pending_leaf, tiles_emit,
	                         &w->tiles) != 0)
		return w->tile_out.err != LEDGER_OK ? w->tile_out.err :
		       err_set(w->e, LEDGER_ECORRUPT, "the Merkle tiles do not follow "
		               "the tree of size %llu (run annals verify)",
		               (unsigned long long)w->frontier.size);
	w->leaf_pending = false;
	return LEDGER_OK;
}

/* The last envelope of a transaction carries heads_root (DESIGN §5): its
 * bytes, leaf hash, Merkle leaf and stream head are written again. */
static ledger_err seal(writer *w)
{
	uint8_t root[LEDGER_HASH_BYTES], k[8];
	uint8_t rel[KEYS_REL_BYTES_MAX];
	MDB_val v;
	ledger_err err;

	heads_batch_compact(&w->heads);
	if ((err = heads_update(root, &w->prep.h, w->txn, w->s, w->e, w->heads.v,
	                        w->heads.count, w->seq)) != LEDGER_OK)
		return err;
	put_u64_be(k, w->seq);
	if ((err = store_get(w->txn, w->s, DB_EVENTS, k, 8, &v, w->e)) != LEDGER_OK)
		return err;
	arena_reset(&w->a);
	Annals__Envelope *env = codec_envelope_decode(&w->a, v.mv_data, v.mv_size);
	if (!env)
		return err_set(w->e, LEDGER_ECORRUPT, "seq %llu cannot be decoded",
		               (unsigned long long)w->seq);
	env->heads_root.data = root;
	env->heads_root.len = LEDGER_HASH_BYTES;
	if (!codec_pack(&w->env_buf, &env->base))
		return err_set(w->e, LEDGER_ENOMEM, "out of memory");
	/* The last leaf was held back from the tree for this. */
	assert(w->leaf_pending);
	hasher_sha256(&w->prep.h, w->pending_leaf, leaf_prefix, 1, w->env_buf.data,
	              w->env_buf.bytes);
	if ((err = store_put(w->txn, w->s, DB_EVENTS, k, 8, w->env_buf.data,
	                     w->env_buf.bytes, 0, w->e)) != LEDGER_OK ||
	    (err = add_pending_leaf(w)) != LEDGER_OK ||
	    (err = tiles_flush(&w->tiles, w->txn, w->s, w->e)) != LEDGER_OK)
		return err;
	size_t n = keys_rel(rel, env->country, env->organization);
	memcpy(w->prev, w->pending_leaf, LEDGER_HASH_BYTES);
	return index_put_head(&w->ix, rel, n, env->stream_version, w->seq,
	                      w->pending_leaf);
}

static void close_append_cursors(writer *w)
{
	store_cursor_close(w->events_c);
	store_cursor_close(w->bodies_c);
	w->events_c = w->bodies_c = NULL;
}

ledger_err writer_commit(writer *w)
{
	ledger_err err;

	assert(w->txn);
	close_append_cursors(w);
	if (w->appended && (err = seal(w)) != LEDGER_OK)
		return err;
	if ((err = index_flush(&w->ix, w->txn)) != LEDGER_OK)
		return err;
	return store_commit(&w->txn, w->e);
}

void writer_abort(writer *w)
{
	close_append_cursors(w);
	store_abort(w->txn);
	w->txn = NULL;
}

/* What an event's stream and target look like before it is written. */
typedef struct append_ctx {
	writer_input *in;               /* checked, with its content MAC */
	char slug[LEDGER_SLUG_BYTES_MAX + 1];
	uint64_t target_seq;            /* retraction or redaction target */
	uint64_t version;               /* stream version before this event */
	uint8_t stream_prev[LEDGER_HASH_BYTES];
	uint8_t rel[KEYS_REL_BYTES_MAX];
	size_t rel_bytes;
	Annals__Envelope env;           /* as packed into env_buf */
} append_ctx;

static ledger_err resolve_org(writer *w, append_ctx *x, field_err *fe)
{
	Annals__InputEvent *n = &x->in->ev.norm;
	char why[EVENT_REASON_BYTES];
	ledger_err err;
	MDB_val v;

	if (x->in->ev.type == ANNALS__EVENT_TYPE__ORGANIZATION) {
		const char *bad = text_check_slug(n->organization, strlen(n->organization));
		if (bad) {
			field_fail(fe, "organization", "'%.64s': %s", n->organization, bad);
			return LEDGER_EINPUT;
		}
		err = store_get(w->txn, w->s, DB_ORGS, n->organization,
		                strlen(n->organization), &v, w->e);
		if (err == LEDGER_ENOTFOUND && !(n->name && *n->name)) {
			field_fail(fe, "name", "required to register the new "
			           "organization '%s'", n->organization);
			return LEDGER_EINPUT;
		}
		return err == LEDGER_ENOTFOUND ? LEDGER_OK : err;
	}
	if (!(n->organization && *n->organization))
		return LEDGER_OK;   /* retraction, redaction */
	err = org_resolve(x->slug, w->txn, w->s, n->organization, why, sizeof why, w->e);
	if (err == LEDGER_ENOTFOUND || err == LEDGER_EINPUT) {
		field_fail(fe, "organization", "%s", why);
		return LEDGER_EINPUT;
	}
	if (err == LEDGER_OK)
		n->organization = x->slug;
	return err;
}

/* Find the target of a retraction or redaction and join its stream. */
static ledger_err resolve_target(writer *w, append_ctx *x, field_err *fe)
{
	Annals__InputEvent *n = &x->in->ev.norm;
	bool retract = x->in->ev.type == ANNALS__EVENT_TYPE__RETRACTION;
	const char *field = retract ? "retracts" : "redacts";
	const char *id = retract ? n->retracts : n->redacts;
	uint8_t k[8];
	MDB_val v;
	ledger_err err = index_get_id(&x->target_seq, &w->ix, w->txn, id);

	if (err == LEDGER_ENOTFOUND) {
		field_fail(fe, field, "no event with id '%s'", id);
		return LEDGER_EINPUT;
	}
	if (err != LEDGER_OK)
		return err;
	put_u64_be(k, x->target_seq);
	if ((err = store_get(w->txn, w->s, DB_EVENTS, k, 8, &v, w->e)) != LEDGER_OK)
		return err == LEDGER_ENOTFOUND ? err_set(w->e, LEDGER_ECORRUPT,
		       "id '%s' names seq %llu, which is missing (run annals verify)",
		       id, (unsigned long long)x->target_seq) : err;
	Annals__Envelope *t = codec_envelope_decode(&w->a, v.mv_data, v.mv_size);
	if (!t)
		return err_set(w->e, LEDGER_ECORRUPT, "seq %llu cannot be decoded "
		               "(run annals verify)", (unsigned long long)x->target_seq);
	if (t->type == ANNALS__EVENT_TYPE__RETRACTION ||
	    t->type == ANNALS__EVENT_TYPE__REDACTION ||
	    (retract && t->type == ANNALS__EVENT_TYPE__ORGANIZATION)) {
		field_fail(fe, field, "'%s' is a%s %s event, which cannot be %s%s", id,
		           t->type == ANNALS__EVENT_TYPE__ORGANIZATION ? "n" : "",
		           event_type_name(t->type), retract ? "retracted" : "redacted",
		           t->type == ANNALS__EVENT_TYPE__ORGANIZATION ?
		           " (append another organization event to correct it)" : "");
		return LEDGER_EINPUT;
	}
	err = store_get(w->txn, w->s, retract ? DB_RETRACTIONS : DB_REDACTIONS,
	                k, 8, &v, w->e);
	if (err == LEDGER_OK) {
		field_fail(fe, field, "'%s' (seq %llu) is already %s by seq %llu", id,
		           (unsigned long long)x->target_seq,
		           retract ? "retracted" : "redacted",
		           (unsigned long long)get_u64_be(v.mv_data));
		return LEDGER_EINPUT;
	}
	if (err != LEDGER_ENOTFOUND)
		return err;
	n->country = t->country;
	n->organization = t->organization;
	return LEDGER_OK;
}

/* The content MAC keys both the derived id and the duplicate check: the
 * normalized input with id and expect_version unset (DESIGN §3). */
static bool content_mac(hasher *h, codec_buf *buf, writer_input *x)
{
	Annals__InputEvent m = x->ev.norm;

	m.id = (char *)protobuf_c_empty_string;
	m.expect_version = NULL;
	m.type = (char *)event_type_name(x->ev.type);
	if (!codec_pack(buf, &m.base))
		return false;
	hasher_hmac(h, x->mac, buf->data, buf->bytes);
	x->mac_org = x->ev.norm.organization;
	if (x->derived_id) {
		hex_encode(x->id_hex, x->mac, 16);
		x->ev.norm.id = x->id_hex;
	}
	return true;
}

ledger_err writer_prep_init(writer_prep *p, const uint8_t secret[WRITER_SECRET_BYTES],
                            errbuf *e)
{
	memset(p, 0, sizeof *p);
	if (hasher_init(&p->h) != 0)
		return err_set(e, LEDGER_ENOMEM, "cannot set up SHA-256 and HMAC");
	if (hasher_set_key(&p->h, secret, WRITER_SECRET_BYTES) != 0) {
		hasher_free(&p->h);
		return err_set(e, LEDGER_ECORRUPT, "cannot key HMAC-SHA-256");
	}
	return LEDGER_OK;
}

void writer_prep_free(writer_prep *p)
{
	hasher_free(&p->h);
	codec_buf_free(&p->input_buf);
	codec_buf_free(&p->body_buf);
}

void writer_salts(uint8_t *out, size_t bytes)
{
	/* A failing RNG must never give a predictable salt. */
	int ok = RAND_bytes(out, (int)bytes);
	assert(ok == 1);
	(void)ok;
}

/* The body, salted, packed into a and hashed. */
static bool seal_body(writer_prep *p, writer_input *x,
                      const uint8_t salt[WRITER_SALT_BYTES], arena *a)
{
	Annals__Body body;
	uint8_t *copy;

	annals__body__init(&body);
	event_fill_body(&body, &x->ev);
	body.salt.data = (uint8_t *)salt;
	body.salt.len = WRITER_SALT_BYTES;
	if (!codec_pack(&p->body_buf, &body.base) ||
	    !(copy = arena_alloc(a, p->body_buf.bytes ? p->body_buf.bytes : 1)))
		return false;
	memcpy(copy, p->body_buf.data, p->body_buf.bytes);
	x->body = copy;
	x->body_bytes = p->body_buf.bytes;
	hasher_sha256(&p->h, x->body_hash, NULL, 0, copy, x->body_bytes);
	return true;
}

ledger_err writer_prepare(writer_prep *p, writer_input *out,
                          const Annals__InputEvent *in,
                          const uint8_t salt[WRITER_SALT_BYTES], arena *a,
                          field_err *fe)
{
	memset(out, 0, sizeof *out);
	if (!event_check(&out->ev, in, a, fe))
		return LEDGER_EINPUT;
	out->derived_id = !*out->ev.norm.id;
	return content_mac(&p->h, &p->input_buf, out) &&
	       seal_body(p, out, salt, a) ? LEDGER_OK : LEDGER_ENOMEM;
}

/* The MAC was made with the organization as given; when resolving it gave
 * another text (a name, or a slug in capitals), it is made again. */
static ledger_err content_mac_resolved(writer *w, writer_input *x)
{
	const char *org = x->ev.norm.organization;

	if (org == x->mac_org || strcmp(org, x->mac_org) == 0)
		return LEDGER_OK;
	return content_mac(&w->prep.h, &w->prep.input_buf, x) ? LEDGER_OK :
	       err_set(w->e, LEDGER_ENOMEM, "out of memory");
}

/* LEDGER_OK and *skipped when the id is stored with the same content: the
 * stored envelope's content MAC equals this input's. */
static ledger_err check_duplicate(writer *w, append_ctx *x, bool *skipped,
                                  field_err *fe)
{
	const char *id = x->in->ev.norm.id;
	uint8_t k[8];
	uint64_t seq;
	MDB_val v;
	ledger_err err = index_get_id(&seq, &w->ix, w->txn, id);

	*skipped = false;
	if (err == LEDGER_ENOTFOUND)
		return LEDGER_OK;
	if (err != LEDGER_OK)
		return err;
	put_u64_be(k, seq);
	if ((err = store_get(w->txn, w->s, DB_EVENTS, k, 8, &v, w->e)) != LEDGER_OK)
		return err == LEDGER_ENOTFOUND ? err_set(w->e, LEDGER_ECORRUPT,
		       "id '%s' names seq %llu, which is missing (run annals verify)",
		       id, (unsigned long long)seq) : err;
	Annals__Envelope *env = codec_envelope_decode(&w->a, v.mv_data, v.mv_size);
	if (!env)
		return err_set(w->e, LEDGER_ECORRUPT, "seq %llu cannot be decoded "
		               "(run annals verify)", (unsigned long long)seq);
	if (env->content_mac.len == LEDGER_HASH_BYTES &&
	    memcmp(env->content_mac.data, x->in->mac, LEDGER_HASH_BYTES) == 0) {
		*skipped = true;
		return LEDGER_OK;
	}
	field_fail(fe, "id", "'%s' is already stored (seq %llu) with other "
	           "content; retract it and append the correction under a new id",
	           id, (unsigned long long)seq);
	return LEDGER_EINPUT;
}

static ledger_err load_stream(writer *w, append_ctx *x, int64_t expect,
                              field_err *fe)
{
	const Annals__InputEvent *n = &x->in->ev.norm;
	uint8_t head[INDEX_HEAD_BYTES];
	ledger_err err;

	x->rel_bytes = keys_rel(x->rel, n->country, n->organization);
	err = index_get_head(head, &w->ix, w->txn, x->rel, x->rel_bytes);
	if (err == LEDGER_ENOTFOUND) {
		x->version = 0;
		memset(x->stream_prev, 0, sizeof x->stream_prev);
	} else if (err != LEDGER_OK) {
		return err;
	} else {
		x->version = get_u64_be(head);
		memcpy(x->stream_prev, head + 16, LEDGER_HASH_BYTES);
	}
	/* The command's expectation, else the record's (any uint64). */
	bool has = expect >= 0 || x->in->ev.has_expect_version;
	uint64_t want = expect >= 0 ? (uint64_t)expect : x->in->ev.expect_version;
	if (has && want != x->version) {
		field_fail(fe, "expect_version", "expected version %llu but (%s, %s) "
		           "is at version %llu: another writer got there first; "
		           "read its status again and retry", (unsigned long long)want,
		           *n->country ? n->country : "none", n->organization,
		           (unsigned long long)x->version);
		return LEDGER_ECONFLICT;
	}
	return LEDGER_OK;
}

static ledger_err encode(writer *w, append_ctx *x, uint8_t leaf[LEDGER_HASH_BYTES],
                         field_err *fe)
{
	Annals__Envelope *env = &x->env;

	annals__envelope__init(env);
	if (!event_fill_envelope(env, &x->in->ev, &w->a))
		return err_set(w->e, LEDGER_ENOMEM, "out of memory");
	env->seq = w->seq + 1;
	env->recorded_at_us = w->recorded_at_us;
	env->prev_hash.data = w->prev;
	env->prev_hash.len = LEDGER_HASH_BYTES;
	env->stream_version = x->version + 1;
	env->stream_prev.data = x->stream_prev;
	env->stream_prev.len = LEDGER_HASH_BYTES;
	env->body_hash.data = x->in->body_hash;
	env->body_hash.len = LEDGER_HASH_BYTES;
	env->content_mac.data = x->in->mac;
	env->content_mac.len = LEDGER_HASH_BYTES;
	if (!codec_pack(&w->env_buf, &env->base))
		return err_set(w->e, LEDGER_ENOMEM, "out of memory");
	/* Room for heads_root (tag, length, 32 bytes), which the last event
	 * of a transaction gains when it is sealed. */
	size_t bytes = w->env_buf.bytes + x->in->body_bytes + 2 + LEDGER_HASH_BYTES;
	if (bytes > LEDGER_EVENT_BYTES_MAX) {
		field_fail(fe, "event", "encodes to %zu bytes with its heads root, "
		           "over the limit of %u", bytes, LEDGER_EVENT_BYTES_MAX);
		return LEDGER_EINPUT;
	}
	hasher_sha256(&w->prep.h, leaf, leaf_prefix, 1, w->env_buf.data, w->env_buf.bytes);
	return LEDGER_OK;
}


/* A redaction removes its target's body in the same transaction. */
static ledger_err remove_body(writer *w, const append_ctx *x)
{
	uint8_t k[8];
	ledger_err err;

	put_u64_be(k, x->target_seq);
	close_append_cursors(w);        /* not left on a page the delete moves */
	err = store_del(w->txn, w->s, DB_BODIES, k, 8, NULL, 0, w->e);
	if (err == LEDGER_ENOTFOUND)
		err = err_set(w->e, LEDGER_ECORRUPT, "the body of seq %llu is "
		              "missing without a redaction (run annals verify)",
		              (unsigned long long)x->target_seq);
	return err;
}

/* Append key k -> val to db through *c, opening it first if need be. */
static ledger_err append_at_end(writer *w, MDB_cursor **c, store_db db,
                                const uint8_t k[8], const void *val,
                                size_t val_bytes)
{
	ledger_err err;

	if (!*c && (err = store_cursor(c, w->txn, w->s, db, w->e)) != LEDGER_OK)
		return err;
	return store_cursor_put(*c, db, k, 8, val, val_bytes, MDB_APPEND, w->e);
}

static ledger_err write_event(writer *w, const append_ctx *x,
                              const uint8_t leaf[LEDGER_HASH_BYTES])
{
	uint64_t seq = w->seq + 1;
	uint8_t k[8];
	ledger_err err;

	put_u64_be(k, seq);
	if ((err = append_at_end(w, &w->events_c, DB_EVENTS, k, w->env_buf.data,
	                         w->env_buf.bytes)) != LEDGER_OK ||
	    (err = append_at_end(w, &w->bodies_c, DB_BODIES, k, x->in->body,
	                         x->in->body_bytes)) != LEDGER_OK)
		return err;
	if (x->in->ev.type == ANNALS__EVENT_TYPE__REDACTION &&
	    (err = remove_body(w, x)) != LEDGER_OK)
		return err;
	if (w->leaf_pending && (err = add_pending_leaf(w)) != LEDGER_OK)
		return err;
	memcpy(w->pending_leaf, leaf, LEDGER_HASH_BYTES);
	w->leaf_pending = true;
	if (heads_batch_add(&w->heads, &w->prep.h, x->env.country, x->env.organization,
	                    x->env.stream_version, seq) != 0)
		return err_set(w->e, LEDGER_ENOMEM, "out of memory");
	return index_event(&w->ix, w->txn, &x->env, seq, leaf);
}

ledger_err writer_append(writer *w, writer_input *in, int64_t expect_version,
                         bool *skipped, field_err *fe)
{
	append_ctx x;
	uint8_t leaf[LEDGER_HASH_BYTES];
	ledger_err err;

	assert(w->txn);
	memset(&x, 0, sizeof x);
	x.in = in;
	*skipped = false;
	arena_reset(&w->a);
	if ((err = resolve_org(w, &x, fe)) != LEDGER_OK ||
	    (err = content_mac_resolved(w, in)) != LEDGER_OK ||
	    (err = check_duplicate(w, &x, skipped, fe)) != LEDGER_OK || *skipped)
		return err;
	if (in->ev.type == ANNALS__EVENT_TYPE__RETRACTION ||
	    in->ev.type == ANNALS__EVENT_TYPE__REDACTION)
		if ((err = resolve_target(w, &x, fe)) != LEDGER_OK)
			return err;
	if ((err = load_stream(w, &x, expect_version, fe)) != LEDGER_OK ||
	    (err = encode(w, &x, leaf, fe)) != LEDGER_OK ||
	    (err = write_event(w, &x, leaf)) != LEDGER_OK)
		return err;
	w->seq++;
	memcpy(w->prev, leaf, LEDGER_HASH_BYTES);
	w->appended++;
	return LEDGER_OK;
}
