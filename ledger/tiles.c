/* The Merkle tree's stored hashes, 30 to a tile (tiles.h). */
#include <stdio.h>
#include <string.h>

#include "bytes.h"
#include "tiles.h"

_Static_assert(TILE_LEVELS <= 32, "a bit a tile level in tile_builder.loaded");

/* x >> s, 0 once every bit is shifted out (C leaves s >= 64 undefined). */
static uint64_t shr(uint64_t x, unsigned s)
{
	return s >= 64 ? 0 : x >> s;
}

/* Hashes of a tile whose bottom row holds b complete subtrees. */
static unsigned tile_count(uint64_t b)
{
	return (unsigned)(b + b / 2 + b / 4 + b / 8);
}

void tile_locate(tile_pos *out, unsigned level, uint64_t index)
{
	unsigned r = level % TILE_HEIGHT, shift = TILE_HEIGHT - r;
	uint64_t i = index & ((1u << shift) - 1);
	/* The rightmost bottom-row hash under (r, i), m, comes with the hashes
	 * of the rows above that it completes: before it are the m + m/2 +
	 * m/4 + m/8 hashes of the bottom positions left of it, then r of its
	 * own column. */
	uint64_t m = ((i + 1) << r) - 1;

	out->t = level / TILE_HEIGHT;
	out->n = index >> shift;
	out->slot = tile_count(m) + r;
}

unsigned tile_stored(unsigned t, uint64_t n, uint64_t size)
{
	uint64_t complete = shr(size, TILE_HEIGHT * (t + 1));

	if (n < complete)
		return TILE_HASHES;
	if (n > complete)
		return 0;
	return tile_count(shr(size, TILE_HEIGHT * t) % TILE_WIDTH);
}

void tile_key_complete(uint8_t key[TILE_KEY_BYTES], unsigned t, uint64_t n)
{
	unsigned shift = TILE_HEIGHT * (t + 1);

	/* A tile of the top level (t = 15) would complete at 2^64 leaves:
	 * never in a tree of < 2^63; its key saturates rather than shift by 64. */
	key[0] = TILE_KEY_COMPLETE;
	put_u64_be(key + 1, shift >= 64 ? UINT64_MAX : (n + 1) << shift);
	key[9] = (uint8_t)t;
}

void tile_key_partial(uint8_t key[TILE_PARTIAL_KEY_BYTES], unsigned t)
{
	key[0] = TILE_KEY_PARTIAL;
	key[1] = (uint8_t)t;
}

size_t tile_key(uint8_t key[TILE_KEY_BYTES], unsigned t, uint64_t n,
                uint64_t size)
{
	if (tile_stored(t, n, size) < TILE_HASHES) {
		tile_key_partial(key, t);
		return TILE_PARTIAL_KEY_BYTES;
	}
	tile_key_complete(key, t, n);
	return TILE_KEY_BYTES;
}

uint64_t tile_index_at(unsigned t, uint64_t size)
{
	return shr(size, TILE_HEIGHT * (t + 1));
}

uint64_t tile_records(uint64_t size)
{
	uint64_t records = 0;

	for (unsigned t = 0; t < TILE_LEVELS && shr(size, TILE_HEIGHT * t); t++)
		records += shr(size, TILE_HEIGHT * (t + 1)) +
		           (shr(size, TILE_HEIGHT * t) % TILE_WIDTH != 0);
	return records;
}

void tile_name(char *out, size_t cap, const void *key, size_t key_bytes,
               uint64_t size)
{
	const uint8_t *k = key;
	unsigned t = key_bytes >= 2 ? k[key_bytes - 1] : TILE_LEVELS;

	if (key_bytes == TILE_PARTIAL_KEY_BYTES && k[0] == TILE_KEY_PARTIAL && t < TILE_LEVELS)
		snprintf(out, cap, "%u/%llu", t,
		         (unsigned long long)tile_index_at(t, size));
	else if (key_bytes == TILE_KEY_BYTES && k[0] == TILE_KEY_COMPLETE && t < TILE_LEVELS)
		snprintf(out, cap, "%u/%llu", t, (unsigned long long)
		         (shr(get_u64_be(k + 1), TILE_HEIGHT * (t + 1)) - 1));
	else
		snprintf(out, cap, "?");
}

int tiles_store_done(void *ctx, unsigned t, uint64_t n,
                     const uint8_t key[TILE_KEY_BYTES],
                     const merkle_hash hashes[TILE_HASHES])
{
	tile_store *ts = ctx;

	(void)t;
	(void)n;
	ts->err = store_put(ts->txn, ts->s, DB_MERKLE, key, TILE_KEY_BYTES, hashes,
	                    TILE_HASHES * (size_t)LEDGER_HASH_BYTES, MDB_APPEND,
	                    ts->e);
	return ts->err == LEDGER_OK ? 0 : -1;
}

void tiles_init(tile_builder *b, tile_done_fn done, void *done_ctx)
{
	b->size = 0;
	b->loaded = 0;
	b->done = done;
	b->done_ctx = done_ctx;
	memset(b->count, 0, sizeof b->count);
}

ledger_err tiles_load(tile_builder *b, MDB_txn *txn, const store *s,
                      uint64_t size, errbuf *e)
{
	tiles_init(b, b->done, b->done_ctx);
	b->size = size;
	for (unsigned t = 0; t < TILE_LEVELS && shr(size, TILE_HEIGHT * t); t++) {
		uint64_t n = tile_index_at(t, size);
		unsigned want = tile_stored(t, n, size);
		uint8_t key[TILE_KEY_BYTES];
		size_t key_bytes = tile_key(key, t, n, size);
		MDB_val v;
		ledger_err err;

		if (want == 0)
			continue;
		err = store_get(txn, s, DB_MERKLE, key, key_bytes, &v, e);
		if (err == LEDGER_OK && v.mv_size != want * (size_t)LEDGER_HASH_BYTES)
			err = LEDGER_ENOTFOUND;
		if (err == LEDGER_ENOTFOUND)
			return err_set(e, LEDGER_ECORRUPT, "merkle tile %u/%llu is missing "
			               "or malformed (run annals verify)", t,
			               (unsigned long long)n);
		if (err != LEDGER_OK)
			return err;
		memcpy(b->h[t], v.mv_data, v.mv_size);
		b->count[t] = want;
		b->loaded |= 1u << t;
	}
	return LEDGER_OK;
}

int tiles_emit(void *ctx, unsigned level, uint64_t index,
               const merkle_hash hash)
{
	tile_builder *b = ctx;
	tile_pos p;

	tile_locate(&p, level, index);
	if (p.t >= TILE_LEVELS || p.slot != b->count[p.t] ||
	    (level == 0 && index != b->size))
		return -1;
	memcpy(b->h[p.t][p.slot], hash, LEDGER_HASH_BYTES);
	if (level == 0)
		b->size++;
	if (++b->count[p.t] < TILE_HASHES)
		return 0;
	b->count[p.t] = 0;
	if (!b->done)
		return 0;
	uint8_t key[TILE_KEY_BYTES];
	tile_key_complete(key, p.t, p.n);
	return b->done(b->done_ctx, p.t, p.n, key, (const merkle_hash *)b->h[p.t]);
}

int tiles_read_partial(void *ctx, unsigned level, uint64_t index,
                       merkle_hash out)
{
	const tile_builder *b = ctx;
	tile_pos p;

	tile_locate(&p, level, index);
	if (p.t >= TILE_LEVELS || p.n != tile_index_at(p.t, b->size) ||
	    p.slot >= b->count[p.t])
		return -1;
	memcpy(out, b->h[p.t][p.slot], LEDGER_HASH_BYTES);
	return 0;
}

ledger_err tiles_flush(tile_builder *b, MDB_txn *txn, const store *s,
                       errbuf *e)
{
	uint32_t loaded = 0;

	for (unsigned t = 0; t < TILE_LEVELS; t++) {
		uint8_t key[TILE_PARTIAL_KEY_BYTES];
		ledger_err err = LEDGER_OK;

		tile_key_partial(key, t);
		if (b->count[t]) {
			err = store_put(txn, s, DB_MERKLE, key, sizeof key, b->h[t],
			                b->count[t] * (size_t)LEDGER_HASH_BYTES, 0, e);
			loaded |= 1u << t;
		} else if (b->loaded & (1u << t)) {
			err = store_del(txn, s, DB_MERKLE, key, sizeof key, NULL, 0, e);
			if (err == LEDGER_ENOTFOUND)
				err = LEDGER_OK;
		}
		if (err != LEDGER_OK)
			return err;
	}
	b->loaded = loaded;
	return LEDGER_OK;
}

void tile_reader_init(tile_reader *r, MDB_txn *txn, const store *s,
                      uint64_t size)
{
	memset(r, 0, sizeof *r);
	r->txn = txn;
	r->s = s;
	r->size = size;
}

void tile_reader_done(tile_reader *r)
{
	store_cursor_close(r->c);
	r->c = NULL;
	r->key_bytes = 0;
}

ledger_err tile_read(tile_reader *r, unsigned level, uint64_t index,
                     merkle_hash out, errbuf *e)
{
	uint8_t key[TILE_KEY_BYTES];
	tile_pos p;
	ledger_err err;

	tile_locate(&p, level, index);
	unsigned stored = p.t < TILE_LEVELS ? tile_stored(p.t, p.n, r->size) : 0;
	if (p.slot >= stored)
		return err_set(e, LEDGER_ECORRUPT, "merkle hash (level %u, index "
		               "%llu) is not in the tree of %llu leaves", level,
		               (unsigned long long)index, (unsigned long long)r->size);
	size_t key_bytes = tile_key(key, p.t, p.n, r->size);
	if (key_bytes != r->key_bytes || memcmp(key, r->key, key_bytes) != 0) {
		MDB_val k = { key_bytes, key };

		r->key_bytes = 0;
		err = r->c ? LEDGER_OK : store_cursor(&r->c, r->txn, r->s, DB_MERKLE, e);
		if (err == LEDGER_OK)
			err = store_cursor_get(r->c, &k, &r->v, MDB_SET, e);
		if (err == LEDGER_OK && r->v.mv_size != stored * (size_t)LEDGER_HASH_BYTES)
			err = LEDGER_ENOTFOUND;
		if (err == LEDGER_ENOTFOUND)
			return err_set(e, LEDGER_ECORRUPT, "merkle tile %u/%llu is missing "
			               "or malformed (run annals verify)", p.t,
			               (unsigned long long)p.n);
		if (err != LEDGER_OK)
			return err;
		memcpy(r->key, key, key_bytes);
		r->key_bytes = key_bytes;
	}
	memcpy(out, (const uint8_t *)r->v.mv_data + p.slot * (size_t)LEDGER_HASH_BYTES,
	       LEDGER_HASH_BYTES);
	return LEDGER_OK;
}
