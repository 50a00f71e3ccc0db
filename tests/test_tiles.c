/* Merkle tiles (ledger/tiles.h) against a model of the tree kept level by
 * level in plain arrays: after every append of 600 leaves (three tile
 * levels), every stored hash is found where tile_locate says, in a
 * complete tile handed out by the builder or in the tile it is filling. */
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>
#include <openssl/evp.h>

#include "merkle.h"
#include "tiles.h"

void suite_tiles(void);

#define TEST_LEAVES 600u                /* past 256: tiles of level 2 */
#define TEST_LEVELS 10u                 /* 2^10 > TEST_LEAVES */
#define TEST_TILES  (TEST_LEAVES / 16u + 1u)

typedef struct model {
	merkle_hash level[TEST_LEVELS][TEST_LEAVES];  /* level[L][K] */
	merkle_hash tile[3][TEST_TILES][TILE_HASHES]; /* complete tiles out */
	bool out[3][TEST_TILES];
	uint8_t last_key[TILE_KEY_BYTES];
	unsigned done, bad_order;
} model;

static void sha256_node(merkle_hash out, const merkle_hash l, const merkle_hash r)
{
	uint8_t buf[65];
	unsigned int len = 0;

	buf[0] = 0x01;
	memcpy(buf + 1, l, 32);
	memcpy(buf + 33, r, 32);
	if (EVP_Digest(buf, sizeof buf, out, &len, EVP_sha256(), NULL) != 1)
		abort();
}

static void model_fill(model *m)
{
	for (unsigned k = 0; k < TEST_LEAVES; k++) {
		uint32_t x = k * 2654435761u;
		merkle_leaf_hash(m->level[0][k], &x, sizeof x);
	}
	for (unsigned l = 1; l < TEST_LEVELS; l++)
		for (unsigned k = 0; (k + 1) << l <= TEST_LEAVES; k++)
			sha256_node(m->level[l][k], m->level[l - 1][2 * k],
			            m->level[l - 1][2 * k + 1]);
}

/* Takes the completed tiles; their keys must grow. */
static int model_done(void *ctx, unsigned t, uint64_t n,
                      const uint8_t key[TILE_KEY_BYTES],
                      const merkle_hash hashes[TILE_HASHES])
{
	model *m = ctx;
	uint8_t want[TILE_KEY_BYTES];

	tile_key_complete(want, t, n);
	if (t >= 3 || n >= TEST_TILES || m->out[t][n] ||
	    memcmp(key, want, TILE_KEY_BYTES) != 0 ||
	    (m->done && memcmp(key, m->last_key, TILE_KEY_BYTES) <= 0))
		m->bad_order++;
	if (t < 3 && n < TEST_TILES) {
		memcpy(m->tile[t][n], hashes, sizeof m->tile[t][n]);
		m->out[t][n] = true;
	}
	memcpy(m->last_key, key, TILE_KEY_BYTES);
	m->done++;
	return 0;
}

/* Every hash of the tree of size leaves, from where the tiles keep it. */
static unsigned check_size(const model *m, const tile_builder *b, uint64_t size)
{
	unsigned bad = 0;
	uint64_t records = 0;

	for (unsigned l = 0; l < TEST_LEVELS; l++) {
		for (uint64_t k = 0; (k + 1) << l <= size; k++) {
			tile_pos p;
			const uint8_t *got;

			tile_locate(&p, l, k);
			unsigned stored = tile_stored(p.t, p.n, size);
			if (p.t != l / 4 || p.slot >= stored) {
				bad++;
				continue;
			}
			if (stored == TILE_HASHES)
				got = m->out[p.t][p.n] ? m->tile[p.t][p.n][p.slot] : NULL;
			else
				got = p.n == tile_index_at(p.t, size) &&
				      p.slot < b->count[p.t] ? b->h[p.t][p.slot] : NULL;
			if (!got || memcmp(got, m->level[l][k], 32) != 0)
				bad++;
		}
	}
	for (unsigned t = 0; t < 3; t++) {
		for (unsigned n = 0; n < TEST_TILES; n++)
			records += m->out[t][n];
		records += b->count[t] != 0;
		/* The partial tile holds exactly what the layout says. */
		if (b->count[t] != tile_stored(t, tile_index_at(t, size), size))
			bad++;
	}
	if (records != tile_records(size))
		bad++;
	return bad;
}

static void test_tiles_every_size(void)
{
	model *m = calloc(1, sizeof *m);
	tile_builder b;
	merkle_frontier f = { 0 };
	unsigned bad = 0;

	CU_ASSERT_FATAL(m != NULL);
	model_fill(m);
	tiles_init(&b, model_done, m);
	bad += check_size(m, &b, 0);
	for (uint64_t s = 0; s < TEST_LEAVES; s++) {
		if (merkle_frontier_push(&f, m->level[0][s], tiles_emit, &b) != 0)
			bad++;
		bad += check_size(m, &b, s + 1);
		if (b.size != s + 1)
			bad++;
	}
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT_EQUAL(m->bad_order, 0);
	/* 37 tiles of level 0, 2 of level 1, none of level 2 (600 < 4096). */
	CU_ASSERT_EQUAL(m->done, TEST_LEAVES / 16 + TEST_LEAVES / 256);
	CU_ASSERT_EQUAL(tile_records(TEST_LEAVES), m->done + 3);
	free(m);
}

/* A builder holding only the partial tiles, as tiles_load leaves it,
 * gives the frontier of its size and goes on as the original does. */
static void test_tiles_reload(void)
{
	model *m = calloc(1, sizeof *m);
	tile_builder b, again;
	merkle_frontier f = { 0 }, g;
	merkle_hash want, got;
	unsigned bad = 0;

	CU_ASSERT_FATAL(m != NULL);
	model_fill(m);
	tiles_init(&b, model_done, m);
	for (uint64_t s = 0; s < TEST_LEAVES; s++) {
		if (merkle_frontier_push(&f, m->level[0][s], tiles_emit, &b) != 0)
			bad++;
		again = b;
		if (merkle_frontier_load(&g, s + 1, tiles_read_partial, &again) != 0) {
			bad++;
			continue;
		}
		merkle_frontier_root(want, &f);
		merkle_frontier_root(got, &g);
		if (memcmp(want, got, 32) != 0)
			bad++;
	}
	CU_ASSERT_EQUAL(bad, 0);
	/* A hash outside the partial tiles is not there to read. */
	CU_ASSERT_NOT_EQUAL(tiles_read_partial(&b, 0, 0, got), 0);
	CU_ASSERT_EQUAL(tiles_read_partial(&b, 0, TEST_LEAVES - 1, got), 0);
	CU_ASSERT_EQUAL(memcmp(got, m->level[0][TEST_LEAVES - 1], 32), 0);
	free(m);
}

/* A hash that is not the next one the tiles expect is refused. */
static void test_tiles_out_of_order(void)
{
	tile_builder b;
	merkle_hash h = { 1 };

	tiles_init(&b, NULL, NULL);
	CU_ASSERT_EQUAL(tiles_emit(&b, 0, 0, h), 0);
	CU_ASSERT_EQUAL(tiles_emit(&b, 0, 2, h), -1);   /* skips leaf 1 */
	CU_ASSERT_EQUAL(tiles_emit(&b, 1, 0, h), -1);   /* before leaf 1 */
	CU_ASSERT_EQUAL(tiles_emit(&b, 0, 1, h), 0);
	CU_ASSERT_EQUAL(tiles_emit(&b, 1, 0, h), 0);
	CU_ASSERT_EQUAL(b.size, 2);
	CU_ASSERT_EQUAL(b.count[0], 3);
}

static void test_tiles_layout(void)
{
	uint8_t key[TILE_KEY_BYTES];
	char name[32];
	tile_pos p;

	/* Within a tile, tlog's stored order: (0,0) (0,1) (1,0) (0,2) ... */
	tile_locate(&p, 0, 0);
	CU_ASSERT(p.t == 0 && p.n == 0 && p.slot == 0);
	tile_locate(&p, 1, 0);
	CU_ASSERT_EQUAL(p.slot, 2);
	tile_locate(&p, 2, 0);
	CU_ASSERT_EQUAL(p.slot, 6);
	tile_locate(&p, 3, 1);
	CU_ASSERT_EQUAL(p.slot, 29);
	tile_locate(&p, 4, 17);                 /* level 4 is tile level 1 */
	CU_ASSERT(p.t == 1 && p.n == 1 && p.slot == 1);
	tile_locate(&p, 7, 3);                  /* (7, 3): tile 1/1, last */
	CU_ASSERT(p.t == 1 && p.n == 1 && p.slot == 29);
	/* Counts: 5 leaves store 5 + 2 + 1 hashes in tile 0/0. */
	CU_ASSERT_EQUAL(tile_stored(0, 0, 5), 8);
	CU_ASSERT_EQUAL(tile_stored(0, 0, 16), TILE_HASHES);
	CU_ASSERT_EQUAL(tile_stored(0, 1, 16), 0);
	CU_ASSERT_EQUAL(tile_stored(1, 0, 16), 1);
	CU_ASSERT_EQUAL(tile_records(0), 0);
	CU_ASSERT_EQUAL(tile_records(16), 2);
	CU_ASSERT_EQUAL(tile_records(17), 3);
	/* Keys and the names messages give them. */
	CU_ASSERT_EQUAL(tile_key(key, 1, 2, 1000), TILE_KEY_BYTES);
	CU_ASSERT_EQUAL(key[0], 0x01);
	CU_ASSERT_EQUAL(key[7], 0x03);          /* E = 3 * 256 = 0x300 */
	CU_ASSERT_EQUAL(key[8], 0x00);
	CU_ASSERT_EQUAL(key[9], 1);
	tile_name(name, sizeof name, key, TILE_KEY_BYTES, 1000);
	CU_ASSERT_STRING_EQUAL(name, "1/2");
	CU_ASSERT_EQUAL(tile_key(key, 1, 3, 1000), TILE_PARTIAL_KEY_BYTES);
	CU_ASSERT(key[0] == 0x00 && key[1] == 1);
	tile_name(name, sizeof name, key, TILE_PARTIAL_KEY_BYTES, 1000);
	CU_ASSERT_STRING_EQUAL(name, "1/3");
	tile_name(name, sizeof name, "\x02\x01", 2, 1000);
	CU_ASSERT_STRING_EQUAL(name, "?");
	/* The top tile level of a tree of 2^62 leaves: 4 subtrees of 2^60,
	 * 4 + 2 + 1 hashes, never complete; no shift by 64 on the way. */
	CU_ASSERT_EQUAL(tile_stored(15, 0, 1ull << 62), 7);
	CU_ASSERT_EQUAL(tile_key(key, 15, 0, 1ull << 62), TILE_PARTIAL_KEY_BYTES);
	CU_ASSERT_EQUAL(tile_records(1ull << 62), 1 + (1ull << 58) + (1ull << 54) +
	                (1ull << 50) + (1ull << 46) + (1ull << 42) + (1ull << 38) +
	                (1ull << 34) + (1ull << 30) + (1ull << 26) + (1ull << 22) +
	                (1ull << 18) + (1ull << 14) + (1ull << 10) + (1ull << 6) +
	                (1ull << 2));
	tile_key_complete(key, 15, 0);
	CU_ASSERT(key[1] == 0xff && key[8] == 0xff && key[9] == 15);
}

void suite_tiles(void)
{
	CU_pSuite s = CU_add_suite("tiles", NULL, NULL);

	CU_add_test(s, "every hash of every size up to 600", test_tiles_every_size);
	CU_add_test(s, "the partial tiles give the frontier", test_tiles_reload);
	CU_add_test(s, "hashes out of order are refused", test_tiles_out_of_order);
	CU_add_test(s, "slots, counts, keys and names", test_tiles_layout);
}
