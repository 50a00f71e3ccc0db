/* annals rebuild: drop every index and projection, recompute them from the
 * events alone in one pass, and compare with what was there. */
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "codec.h"
#include "hash.h"
#include "heads.h"
#include "index.h"
#include "ledger_impl.h"
#include "merkle.h"
#include "tiles.h"

/* The databases derived from the events (the Merkle tiles too: every hash
 * in them is a function of the envelopes); events, bodies, checkpoints and
 * meta are the record itself. */
static const store_db derived[] = {
	DB_IDS, DB_HEADS, DB_ORGS, DB_NAMES, DB_REDACTIONS, DB_RETRACTIONS,
	DB_REL, DB_BYDATE, DB_AGG, DB_STATUS, DB_SMT, DB_MERKLE,
};
#define DERIVED_COUNT (sizeof derived / sizeof derived[0])

/* SHA-256 over every (database, key, value) of the derived databases, each
 * length-prefixed, in key order. */
static ledger_err digest(uint8_t out[LEDGER_HASH_BYTES], ledger *l,
                         MDB_txn *txn)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	ledger_err err = LEDGER_OK;

	if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(ctx);
		return err_set(&l->e, LEDGER_ENOMEM, "cannot set up SHA-256");
	}
	for (size_t i = 0; i < DERIVED_COUNT && err == LEDGER_OK; i++) {
		MDB_cursor *c = NULL;
		MDB_val k, v;
		uint8_t len[8];
		if ((err = store_cursor(&c, txn, l->s, derived[i], &l->e)) != LEDGER_OK)
			break;
		put_u64_be(len, i);
		EVP_DigestUpdate(ctx, len, 8);
		for (err = store_cursor_get(c, &k, &v, MDB_FIRST, &l->e); err == LEDGER_OK;
		     err = store_cursor_get(c, &k, &v, MDB_NEXT, &l->e)) {
			put_u64_be(len, k.mv_size);
			EVP_DigestUpdate(ctx, len, 8);
			EVP_DigestUpdate(ctx, k.mv_data, k.mv_size);
			put_u64_be(len, v.mv_size);
			EVP_DigestUpdate(ctx, len, 8);
			EVP_DigestUpdate(ctx, v.mv_data, v.mv_size);
		}
		store_cursor_close(c);
		if (err == LEDGER_ENOTFOUND)
			err = LEDGER_OK;
	}
	EVP_DigestFinal_ex(ctx, out, NULL);
	EVP_MD_CTX_free(ctx);
	return err;
}

static ledger_err reheads(ledger *l, hasher *h, MDB_txn *txn,
                          heads_batch *moved, uint64_t size)
{
	uint8_t root[LEDGER_HASH_BYTES];
	ledger_err err;

	heads_batch_compact(moved);
	err = heads_update(root, h, txn, l->s, &l->e, moved->v, moved->count, size);
	moved->count = 0;
	return err;
}

/* Index every stored event again, in seq order, and lay out its Merkle
 * tree again. */
static ledger_err reindex(ledger_rebuild_stats *out, ledger *l, MDB_txn *txn,
                          indexer *ix)
{
	static const uint8_t leaf_prefix[1] = { 0 };
	uint8_t leaf[LEDGER_HASH_BYTES];
	MDB_cursor *c = NULL;
	MDB_val k, v;
	hasher h;
	arena a;
	heads_batch moved = { 0 };
	merkle_frontier frontier = { 0 };
	tile_store ts = { txn, l->s, &l->e, LEDGER_OK };
	tile_builder *tiles = malloc(sizeof *tiles);
	ledger_err err;

	if (!tiles || hasher_init(&h) != 0) {
		free(tiles);
		return err_set(&l->e, LEDGER_ENOMEM, "cannot set up SHA-256");
	}
	arena_init(&a);
	tiles_init(tiles, tiles_store_done, &ts);
	frontier.h = &h;
	uint64_t last = 0;
	uint8_t key[8];
	if ((err = store_cursor(&c, txn, l->s, DB_EVENTS, &l->e)) != LEDGER_OK)
		goto out;
	err = store_cursor_get(c, &k, &v, MDB_LAST, &l->e);
	if (err == LEDGER_OK && k.mv_size == 8)
		last = get_u64_be(k.mv_data);
	store_cursor_close(c);
	c = NULL;
	if (err != LEDGER_OK && err != LEDGER_ENOTFOUND)
		goto out;
	err = LEDGER_OK;            /* no events: nothing to index */
	/* Seq by seq, each read by its key: a cursor over the events would
	 * share the transaction with millions of index writes, and LMDB may
	 * end such a cursor early when it spills dirty pages. */
	for (uint64_t seq = 1; seq <= last; seq++) {
		put_u64_be(key, seq);
		if ((err = store_get(txn, l->s, DB_EVENTS, key, 8, &v, &l->e)) != LEDGER_OK) {
			if (err == LEDGER_ENOTFOUND)
				err = err_set(&l->e, LEDGER_ECORRUPT, "seq %llu is missing "
				              "(run annals verify)", (unsigned long long)seq);
			break;
		}
		arena_reset(&a);
		Annals__Envelope *env = codec_envelope_decode(&a, v.mv_data, v.mv_size);
		if (!env) {
			err = err_set(&l->e, LEDGER_ECORRUPT, "an event cannot be decoded "
			              "(run annals verify)");
			break;
		}
		hasher_sha256(&h, leaf, leaf_prefix, 1, v.mv_data, v.mv_size);
		if (merkle_frontier_push(&frontier, leaf, tiles_emit, tiles) != 0) {
			if (ts.err == LEDGER_OK)
				ts.err = err_set(&l->e, LEDGER_ECORRUPT, "seq %llu: the "
				                 "Merkle tiles cannot be laid out",
				                 (unsigned long long)seq);
			err = ts.err;
			break;
		}
		if ((err = index_event(ix, txn, env, seq, leaf)) != LEDGER_OK) {
			/* An error inside is never the end of the events. */
			if (err == LEDGER_ENOTFOUND)
				err = err_set(&l->e, LEDGER_ECORRUPT, "seq %llu: something it "
				              "names is missing: %s (run annals verify)",
				              (unsigned long long)seq, l->e.msg);
			break;
		}
		if (heads_batch_add(&moved, &h, env->country, env->organization,
		                    env->stream_version, seq) != 0) {
			err = err_set(&l->e, LEDGER_ENOMEM, "out of memory");
			break;
		}
		/* The heads map is versioned by the sizes that end transactions:
		 * the envelopes that carry a heads root. */
		if (env->heads_root.len && (err = reheads(l, &h, txn, &moved, seq)) != LEDGER_OK) {
			if (err == LEDGER_ENOTFOUND)
				err = err_set(&l->e, LEDGER_ECORRUPT, "seq %llu: the heads map "
				              "cannot be rebuilt: %s", (unsigned long long)seq,
				              l->e.msg);
			break;
		}
		out->events++;
	}
	if (err == LEDGER_OK && out->events != last)
		err = err_set(&l->e, LEDGER_ECORRUPT, "rebuild indexed %llu of %llu "
		              "events", (unsigned long long)out->events,
		              (unsigned long long)last);
	if (err == LEDGER_OK)
		err = tiles_flush(tiles, txn, l->s, &l->e);
	if (err == LEDGER_OK)
		err = index_flush(ix, txn);
out:
	store_cursor_close(c);
	heads_batch_free(&moved);
	arena_free(&a);
	hasher_free(&h);
	free(tiles);
	return err;
}

static ledger_err rebuild_once(ledger_rebuild_stats *out, ledger *l)
{
	MDB_txn *txn = NULL;
	indexer ix;
	uint8_t iv[4];
	ledger_err err;

	memset(out, 0, sizeof *out);
	if ((err = index_init(&ix, l->s, &l->e, true)) != LEDGER_OK)
		return err;
	if ((err = store_begin(&txn, l->s, true, &l->e)) != LEDGER_OK ||
	    (err = digest(out->before, l, txn)) != LEDGER_OK)
		goto out;
	MDB_val old;
	err = store_get(txn, l->s, DB_META, "index_version", 13, &old, &l->e);
	if (err != LEDGER_OK && err != LEDGER_ENOTFOUND)
		goto out;
	out->old_index_version = err == LEDGER_OK && old.mv_size == 4 ?
	                         get_u32_be(old.mv_data) : 0;
	out->index_version = LEDGER_INDEX_VERSION;
	out->upgraded = out->old_index_version != LEDGER_INDEX_VERSION;
	err = LEDGER_OK;
	for (size_t i = 0; i < DERIVED_COUNT && err == LEDGER_OK; i++)
		err = store_drop(txn, l->s, derived[i], &l->e);
	put_u32_be(iv, LEDGER_INDEX_VERSION);
	if (err == LEDGER_OK)
		err = reindex(out, l, txn, &ix);
	if (err == LEDGER_OK)
		err = store_put(txn, l->s, DB_META, "index_version", 13, iv, 4, 0, &l->e);
	if (err == LEDGER_OK)
		err = digest(out->after, l, txn);
	if (err == LEDGER_OK) {
		out->equal = !out->upgraded &&
		             memcmp(out->before, out->after, LEDGER_HASH_BYTES) == 0;
		err = store_commit(&txn, &l->e);
	}
out:
	store_abort(txn);
	index_free(&ix);
	return err;
}

ledger_err ledger_rebuild(ledger_rebuild_stats *out, ledger *l)
{
	ledger_err err;

	err_clear(&l->e);
	for (unsigned tries = 0; tries < 40; tries++) {
		if ((err = store_reserve(l->s, 64u << 20, false, &l->e)) != LEDGER_OK)
			return err;
		err = rebuild_once(out, l);
		if (!(err == LEDGER_ESTORE && l->e.map_full))
			return err;
		if ((err = store_grow(l->s, &l->e)) != LEDGER_OK)
			return err;
	}
	return err_set(&l->e, LEDGER_ESTORE, "the map is still full after growing "
	               "it 40 times");
}
