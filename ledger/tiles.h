/* How the Merkle tree's stored hashes are kept in the `merkle` database:
 * in tiles, as tlog serves them, so a proof reads a record per four levels
 * instead of one per level.
 *
 * Tile (t, n) holds the stored hashes of levels 4t .. 4t+3 over the 16
 * complete subtrees of level 4t with indexes 16n .. 16n+15: 16 + 8 + 4 + 2
 * = 30 hashes, in the order an append stores them (merkle.h's stored-index
 * order restricted to the tile), so a tile that is not yet complete holds
 * a prefix of them. A tree of `size` leaves has
 *   - every complete tile, under key 0x01 ‖ u64be(E) ‖ t, where
 *     E = (n + 1) * 16^(t+1) is the tree size that completed it: the keys
 *     grow in the order appends complete the tiles, so each is appended;
 *   - for each level t where size / 16^t is not a multiple of 16, the tile
 *     it is filling, n = size / 16^(t+1), under key 0x00 ‖ t, holding
 *     count(b) hashes, b = (size / 16^t) mod 16 and
 *     count(b) = b + b/2 + b/4 + b/8. Those keys sort before the complete
 *     tiles and are rewritten by every transaction.
 * Nothing here hashes: the tiles hold exactly the hashes merkle.c emits. */
#ifndef LEDGER_TILES_H
#define LEDGER_TILES_H

#include <stdbool.h>
#include <stdint.h>

#include "merkle.h"
#include "store.h"

#define TILE_HEIGHT      4u
#define TILE_WIDTH       16u                          /* bottom-row hashes */
#define TILE_HASHES      30u                          /* 16 + 8 + 4 + 2 */
#define TILE_LEVELS      (MERKLE_LEVELS_MAX / TILE_HEIGHT)
#define TILE_KEY_BYTES   10u                          /* a complete tile's */
#define TILE_PARTIAL_KEY_BYTES 2u
#define TILE_KEY_COMPLETE 0x01u                       /* a key's first byte */
#define TILE_KEY_PARTIAL  0x00u

/* Where the stored hash (level, index) lives. */
typedef struct tile_pos {
	unsigned t;             /* tile level: level / 4 */
	uint64_t n;             /* tile index within its level */
	unsigned slot;          /* hash within the tile, 0 .. 29 */
} tile_pos;

void tile_locate(tile_pos *out, unsigned level, uint64_t index);

/* Hashes stored in tile (t, n) of a tree of size leaves: TILE_HASHES when
 * complete, fewer in the tile being filled, 0 for a tile not begun. */
unsigned tile_stored(unsigned t, uint64_t n, uint64_t size);

/* The key of complete tile (t, n), TILE_KEY_BYTES long. */
void tile_key_complete(uint8_t key[TILE_KEY_BYTES], unsigned t, uint64_t n);

/* The key of level t's partial tile, TILE_PARTIAL_KEY_BYTES long. */
void tile_key_partial(uint8_t key[TILE_PARTIAL_KEY_BYTES], unsigned t);

/* The key of tile (t, n) in a tree of size leaves (a complete tile's, or
 * the key of the tile level's partial tile); returns its length. */
size_t tile_key(uint8_t key[TILE_KEY_BYTES], unsigned t, uint64_t n,
                uint64_t size);

/* Index of the tile that level t is filling in a tree of size leaves. */
uint64_t tile_index_at(unsigned t, uint64_t size);

/* Records the merkle database holds for a tree of size leaves. */
uint64_t tile_records(uint64_t size);

/* "t/n", the name messages give a tile, of a merkle key (either form) in a
 * tree of size leaves; "?" for a key that is neither. */
void tile_name(char *out, size_t cap, const void *key, size_t key_bytes,
               uint64_t size);

/* Receives each tile an append completes, with its key (TILE_KEY_BYTES),
 * in key order. Returns 0 to go on, non-zero to stop the append
 * (merkle_frontier_push passes it up). */
typedef int (*tile_done_fn)(void *ctx, unsigned t, uint64_t n,
                            const uint8_t key[TILE_KEY_BYTES],
                            const merkle_hash hashes[TILE_HASHES]);

/* Where tiles_store_done appends the completed tiles; err is the result of
 * the last put. */
typedef struct tile_store {
	MDB_txn *txn;
	const store *s;
	errbuf *e;
	ledger_err err;
} tile_store;

/* tile_done_fn appending each completed tile to the merkle database of the
 * tile_store ctx (MDB_APPEND: they complete in key order). */
int tiles_store_done(void *ctx, unsigned t, uint64_t n,
                     const uint8_t key[TILE_KEY_BYTES],
                     const merkle_hash hashes[TILE_HASHES]);

/* The tiles being filled at the right edge of a tree, in memory: what an
 * append or a verify pass emits goes through tiles_emit. */
typedef struct tile_builder {
	uint64_t size;                  /* leaves whose hashes were added */
	uint32_t loaded;                /* bit t: a partial tile t was stored
	                                 * when tiles_load read them */
	tile_done_fn done;
	void *done_ctx;
	unsigned count[TILE_LEVELS];    /* hashes held of each level's tile */
	merkle_hash h[TILE_LEVELS][TILE_HASHES];
} tile_builder;

/* An empty tree's builder. */
void tiles_init(tile_builder *b, tile_done_fn done, void *done_ctx);

/* The builder of the stored tree of size leaves: its partial tiles.
 * Returns LEDGER_ECORRUPT (with the tile named) when one is missing or of
 * the wrong length, or a storage error. */
ledger_err tiles_load(tile_builder *b, MDB_txn *txn, const store *s,
                      uint64_t size, errbuf *e);

/* merkle_emit_fn over a tile_builder (ctx): adds the hash to its tile and
 * hands each completed tile to b->done. Returns -1 when the hash is not
 * the next one the tiles expect, else done's result. merkle_frontier_push
 * moves b->size only through these calls: the builder counts leaves by
 * the level-0 hashes. */
int tiles_emit(void *ctx, unsigned level, uint64_t index,
               const merkle_hash hash);

/* merkle_read_fn over a tile_builder (ctx): a hash of the partial tiles
 * (enough to load the frontier of the builder's size). Returns -1 for any
 * other. */
int tiles_read_partial(void *ctx, unsigned level, uint64_t index,
                       merkle_hash out);

/* Write the builder's partial tiles (and delete those that were stored and
 * are now complete or empty). */
ledger_err tiles_flush(tile_builder *b, MDB_txn *txn, const store *s,
                       errbuf *e);

/* Reads stored hashes of the tree of `size` leaves (the stored tree's own
 * size, whatever size a proof is for) through one cursor, keeping the last
 * tile read: the hashes of a proof share a tile per four levels. */
typedef struct tile_reader {
	MDB_txn *txn;
	const store *s;
	uint64_t size;
	MDB_cursor *c;
	uint8_t key[TILE_KEY_BYTES];
	size_t key_bytes;               /* 0: no tile kept */
	MDB_val v;                      /* the kept tile, in the map */
} tile_reader;

void tile_reader_init(tile_reader *r, MDB_txn *txn, const store *s,
                      uint64_t size);
void tile_reader_done(tile_reader *r);

/* The hash (level, index) into out: LEDGER_OK, LEDGER_ECORRUPT naming the
 * tile when it is not stored as the layout says, or a storage error. */
ledger_err tile_read(tile_reader *r, unsigned level, uint64_t index,
                     merkle_hash out, errbuf *e);

#endif
