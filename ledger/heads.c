/* The heads map: a compressed, versioned sparse Merkle tree (heads.h). */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "arena.h"
#include "bytes.h"
#include "heads.h"
#include "sort.h"

static const uint8_t zero_hash[LEDGER_HASH_BYTES];

/* Node key, 20, 18 or 42 bytes, laid out so that an update dirties few
 * B-tree pages. The top of the tree, which every transaction rewrites, is
 * kept by epoch (2^14 tree sizes): the first transaction that ends in an
 * epoch writes there, besides its own nodes, a copy of every other top
 * node as the last transaction of the epoch before left it (under that
 * version's size), so that the top nodes any size reads lie in the small
 * region of its own epoch, and their older versions do not pile up where
 * new ones are written. Each subtree below the top is kept in pre-order
 * (each node just before its subtree), so that the nodes of one path below
 * the top lie on one or two pages. A node's versions follow one another
 * from the newest down, so MDB_SET_RANGE on (node, ~S) finds the node as
 * it was at a tree size S that ends a transaction. With P the first d bits
 * of the path (bits from d on zero), ~S = UINT64_MAX - size and
 * ~E = UINT64_MAX - (size >> 14), all u64 big-endian:
 *   class 0, d <= 12:        0x00, ~E, d, P in 2 bytes, ~S
 *   class 1, 12 < d <= 64:   0x01, P in 8 bytes, d, ~S
 *   class 2, d > 64:         0x02, P in 32 bytes, d, ~S
 * Each class has one key length, so no node's key begins another's.
 * Value: 0x01, key[32], u64be version, u64be seq (a subtree holding one
 * leaf), or 0x02, hash[32] (a subtree holding two or more). */
#define NODE_KEY_BYTES_MAX (2 + HEADS_KEY_BYTES + 8)
#define NODE_KEY_TOP_DEPTH 12u
#define NODE_KEY_MID_DEPTH 64u
#define NODE_TOP_KEY_BYTES 20u
#define TOP_EPOCH_AT       1u    /* where a class-0 key holds ~E, */
#define TOP_DEPTH_AT       9u    /* d, */
#define TOP_PATH_AT        10u   /* P (2 bytes) */
#define TOP_SIZE_AT        12u   /* and ~S */
#define NODE_SINGLE 1u
#define NODE_MULTI  2u

typedef struct node {
	uint8_t kind;                    /* 0 empty, NODE_SINGLE, NODE_MULTI */
	uint8_t hash[LEDGER_HASH_BYTES];
	heads_change leaf;               /* NODE_SINGLE */
} node;

/* SHA-256 with h's pre-fetched digest, or a one-off digest when h is NULL. */
static void sha256(hasher *h, uint8_t out[LEDGER_HASH_BYTES], const void *data,
                   size_t n)
{
	unsigned int len = 0;
	int ok;

	if (h) {
		hasher_sha256(h, out, NULL, 0, data, n);
		return;
	}
	ok = EVP_Digest(data, n, out, &len, EVP_sha256(), NULL);
	assert(ok && len == LEDGER_HASH_BYTES);
	(void)ok;
}

void heads_key(uint8_t out[HEADS_KEY_BYTES], hasher *h, const char *country,
               const char *org)
{
	uint8_t buf[LEDGER_COUNTRY_BYTES_MAX + 1 + LEDGER_SLUG_BYTES_MAX];
	size_t c = country ? strlen(country) : 0, n = strlen(org);

	assert(c <= LEDGER_COUNTRY_BYTES_MAX && n <= LEDGER_SLUG_BYTES_MAX);
	memcpy(buf, country, c);
	buf[c] = 0;
	memcpy(buf + c + 1, org, n);
	sha256(h, out, buf, c + 1 + n);
}

static void leaf_with(uint8_t out[LEDGER_HASH_BYTES], hasher *h,
                      const uint8_t key[HEADS_KEY_BYTES], uint64_t version,
                      uint64_t seq);

void heads_leaf(uint8_t out[LEDGER_HASH_BYTES], const uint8_t key[HEADS_KEY_BYTES],
                uint64_t version, uint64_t seq)
{
	leaf_with(out, NULL, key, version, seq);
}

static void leaf_with(uint8_t out[LEDGER_HASH_BYTES], hasher *h,
                      const uint8_t key[HEADS_KEY_BYTES], uint64_t version,
                      uint64_t seq)
{
	uint8_t buf[1 + HEADS_KEY_BYTES + 16];

	buf[0] = 0x00;
	memcpy(buf + 1, key, HEADS_KEY_BYTES);
	put_u64_be(buf + 1 + HEADS_KEY_BYTES, version);
	put_u64_be(buf + 9 + HEADS_KEY_BYTES, seq);
	sha256(h, out, buf, sizeof buf);
}

static void node_hash_with(uint8_t out[LEDGER_HASH_BYTES], hasher *h,
                           const uint8_t *left, const uint8_t *right)
{
	uint8_t buf[1 + 2 * LEDGER_HASH_BYTES];

	buf[0] = 0x01;
	memcpy(buf + 1, left, LEDGER_HASH_BYTES);
	memcpy(buf + 1 + LEDGER_HASH_BYTES, right, LEDGER_HASH_BYTES);
	sha256(h, out, buf, sizeof buf);
}

static void node_hash(uint8_t out[LEDGER_HASH_BYTES], const uint8_t *left,
                      const uint8_t *right)
{
	node_hash_with(out, NULL, left, right);
}

static unsigned bit_at(const uint8_t *key, unsigned d)
{
	return key[d / 8] >> (7 - d % 8) & 1u;
}

/* The hash of the node at depth d on key's path whose only non-empty child,
 * at depth d + 1 on the same path, has hash `hash` (replaced). */
static void hash_up(hasher *h, uint8_t hash[LEDGER_HASH_BYTES],
                    const uint8_t *key, unsigned d)
{
	if (bit_at(key, d))
		node_hash_with(hash, h, zero_hash, hash);
	else
		node_hash_with(hash, h, hash, zero_hash);
}

static void bit_set(uint8_t *prefix, unsigned d, unsigned bit)
{
	if (bit)
		prefix[d / 8] |= (uint8_t)(0x80u >> (d % 8));
}

static uint64_t node_epoch(uint64_t size)
{
	return size >> HEADS_EPOCH_BITS;
}

static size_t node_key(uint8_t key[NODE_KEY_BYTES_MAX], unsigned d,
                       const uint8_t *prefix, uint64_t size)
{
	size_t p = (d + 7) / 8, w;
	uint8_t *path;

	assert(d < HEADS_DEPTH_MAX);
	if (d <= NODE_KEY_TOP_DEPTH) {
		key[0] = 0;
		put_u64_be(key + TOP_EPOCH_AT, UINT64_MAX - node_epoch(size));
		key[TOP_DEPTH_AT] = (uint8_t)d;
		path = key + TOP_PATH_AT;
		w = 2;
	} else {
		key[0] = d <= NODE_KEY_MID_DEPTH ? 1 : 2;
		path = key + 1;
		w = d <= NODE_KEY_MID_DEPTH ? 8 : HEADS_KEY_BYTES;
		path[w] = (uint8_t)d;
	}
	memcpy(path, prefix, p);
	memset(path + p, 0, w - p);
	if (d % 8)
		path[p - 1] &= (uint8_t)(0xff00u >> (d % 8));
	put_u64_be(path + w + (d <= NODE_KEY_TOP_DEPTH ? 0 : 1), UINT64_MAX - size);
	return d <= NODE_KEY_TOP_DEPTH ? NODE_TOP_KEY_BYTES : 2 + w + 8;
}

/* What node reads and writes go through: one cursor for every read of a
 * walk or proof (opening one costs as much as the seek, and a seek near the
 * last stays on its page), and a hasher with a pre-fetched digest, or NULL. */
typedef struct node_io {
	MDB_txn *txn;
	const store *s;
	errbuf *e;
	MDB_cursor *c;
	hasher *h;
} node_io;

static ledger_err io_open(node_io *io, MDB_txn *txn, const store *s, errbuf *e,
                          hasher *h)
{
	io->txn = txn;
	io->s = s;
	io->e = e;
	io->h = h;
	io->c = NULL;
	return store_cursor(&io->c, txn, s, DB_SMT, e);
}

/* Whether k is a version of the root stored in epoch `epoch`. */
static bool is_root(const MDB_val *k, uint64_t epoch)
{
	const uint8_t *p = k->mv_data;

	return k->mv_size == NODE_TOP_KEY_BYTES && p[0] == 0 &&
	       get_u64_be(p + TOP_EPOCH_AT) == UINT64_MAX - epoch &&
	       p[TOP_DEPTH_AT] == 0;
}

/* The size of the last transaction that ended at or before `size` (the
 * newest version of the root no later than it; every transaction rewrites
 * the root), 0 when the map was empty then: the map as of `size` is the
 * map as of that size, whose epoch holds every top node it reads. Two
 * seeks: the root in the epoch of `size`, else the newest older epoch. */
static ledger_err resolve_size(uint64_t *out, node_io *io, uint64_t size)
{
	uint8_t key[NODE_KEY_BYTES_MAX], zero[HEADS_KEY_BYTES] = { 0 };
	uint64_t epoch = node_epoch(size);
	MDB_val k = { node_key(key, 0, zero, size), key }, v;
	ledger_err err = store_cursor_get(io->c, &k, &v, MDB_SET_RANGE, io->e);

	*out = 0;
	if (err == LEDGER_OK && !is_root(&k, epoch) && epoch > 0) {
		put_u64_be(key + TOP_EPOCH_AT, UINT64_MAX - (epoch - 1));
		k.mv_data = key;
		k.mv_size = TOP_DEPTH_AT;
		err = store_cursor_get(io->c, &k, &v, MDB_SET_RANGE, io->e);
		if (err == LEDGER_OK && k.mv_size == NODE_TOP_KEY_BYTES)
			epoch = UINT64_MAX - get_u64_be((const uint8_t *)k.mv_data + TOP_EPOCH_AT);
	}
	if (err == LEDGER_OK && is_root(&k, epoch))
		*out = UINT64_MAX - get_u64_be((const uint8_t *)k.mv_data + TOP_SIZE_AT);
	return err == LEDGER_ENOTFOUND ? LEDGER_OK : err;
}

/* The node at (d, prefix) as of tree size `size`; kind 0 when empty. */
static ledger_err node_read(node *out, node_io *io, unsigned d,
                            const uint8_t *prefix, uint64_t size)
{
	uint8_t key[NODE_KEY_BYTES_MAX];
	MDB_val k, v;
	size_t n = node_key(key, d, prefix, size);
	errbuf *e = io->e;
	ledger_err err;

	memset(out, 0, sizeof *out);
	k.mv_data = key;
	k.mv_size = n;
	err = store_cursor_get(io->c, &k, &v, MDB_SET_RANGE, e);
	if (err == LEDGER_ENOTFOUND || (err == LEDGER_OK &&
	    (k.mv_size != n || memcmp(k.mv_data, key, n - 8) != 0)))
		return LEDGER_OK;
	if (err != LEDGER_OK)
		return err;
	const uint8_t *p = v.mv_data;
	if (v.mv_size == 1 + HEADS_KEY_BYTES + 16 && p[0] == NODE_SINGLE) {
		out->kind = NODE_SINGLE;
		memcpy(out->leaf.key, p + 1, HEADS_KEY_BYTES);
		out->leaf.version = get_u64_be(p + 1 + HEADS_KEY_BYTES);
		out->leaf.seq = get_u64_be(p + 9 + HEADS_KEY_BYTES);
		leaf_with(out->hash, io->h, out->leaf.key, out->leaf.version,
		          out->leaf.seq);
		return LEDGER_OK;
	}
	if (v.mv_size == 1 + LEDGER_HASH_BYTES && p[0] == NODE_MULTI) {
		out->kind = NODE_MULTI;
		memcpy(out->hash, p + 1, LEDGER_HASH_BYTES);
		return LEDGER_OK;
	}
	return err_set(e, LEDGER_ECORRUPT, "heads map: a node at depth %u is "
	               "malformed", d);
}

/* The root as of tree size `size` (32 zero bytes for an empty map). */
static ledger_err root_read(uint8_t root[LEDGER_HASH_BYTES], node_io *io,
                            uint64_t size)
{
	uint8_t prefix[HEADS_KEY_BYTES] = { 0 };
	node n = { 0 };
	uint64_t at;
	ledger_err err = resolve_size(&at, io, size);

	if (err == LEDGER_OK && at)
		err = node_read(&n, io, 0, prefix, at);
	memcpy(root, n.kind ? n.hash : zero_hash, LEDGER_HASH_BYTES);
	return err;
}

static ledger_err node_write(const node_io *io, unsigned d,
                             const uint8_t *prefix, uint64_t size, const node *x)
{
	uint8_t key[NODE_KEY_BYTES_MAX], v[1 + HEADS_KEY_BYTES + 16];
	size_t n = node_key(key, d, prefix, size), vn;

	v[0] = x->kind;
	if (x->kind == NODE_SINGLE) {
		memcpy(v + 1, x->leaf.key, HEADS_KEY_BYTES);
		put_u64_be(v + 1 + HEADS_KEY_BYTES, x->leaf.version);
		put_u64_be(v + 9 + HEADS_KEY_BYTES, x->leaf.seq);
		vn = 1 + HEADS_KEY_BYTES + 16;
	} else {
		memcpy(v + 1, x->hash, LEDGER_HASH_BYTES);
		vn = 1 + LEDGER_HASH_BYTES;
	}
	return store_put(io->txn, io->s, DB_SMT, key, n, v, vn, 0, io->e);
}

/* ---- the top nodes of an epoch ---- */

typedef struct top_rec {
	uint8_t key[NODE_TOP_KEY_BYTES];
	uint8_t val[1 + HEADS_KEY_BYTES + 16];
	uint8_t val_bytes;
} top_rec;

/* The bit of top node (d, path) in a set of all of them. */
static size_t top_index(const uint8_t key[NODE_TOP_KEY_BYTES])
{
	unsigned d = key[TOP_DEPTH_AT];
	size_t path = (size_t)key[TOP_PATH_AT] << 8 | key[TOP_PATH_AT + 1];

	return ((size_t)1 << d) - 1 + (path >> (16 - d));
}

#define TOP_NODES ((size_t)2 << NODE_KEY_TOP_DEPTH)   /* bits of a top set */

/* The newest version of every top node stored in epoch `epoch`, in key
 * order, into *out (malloc'd, *n of them). */
static ledger_err top_newest(top_rec **out, size_t *n, node_io *io,
                             uint64_t epoch)
{
	uint8_t start[TOP_DEPTH_AT];
	MDB_val k = { sizeof start, start }, v;
	size_t cap = 0;
	ledger_err err;

	*out = NULL;
	*n = 0;
	start[0] = 0;
	put_u64_be(start + TOP_EPOCH_AT, UINT64_MAX - epoch);
	for (err = store_cursor_get(io->c, &k, &v, MDB_SET_RANGE, io->e);
	     err == LEDGER_OK;
	     err = store_cursor_get(io->c, &k, &v, MDB_NEXT, io->e)) {
		const uint8_t *p = k.mv_data;
		if (k.mv_size != NODE_TOP_KEY_BYTES || memcmp(p, start, sizeof start))
			break;
		if (*n && memcmp((*out)[*n - 1].key + TOP_DEPTH_AT, p + TOP_DEPTH_AT,
		                 TOP_SIZE_AT - TOP_DEPTH_AT) == 0)
			continue;                /* an older version */
		if (v.mv_size > sizeof (*out)->val || p[TOP_DEPTH_AT] > NODE_KEY_TOP_DEPTH) {
			err = err_set(io->e, LEDGER_ECORRUPT, "heads map: a node at "
			              "depth %u is malformed", p[TOP_DEPTH_AT]);
			break;
		}
		if (array_reserve((void **)out, &cap, *n + 1, sizeof **out, TOP_NODES)) {
			err = err_set(io->e, LEDGER_ENOMEM, "out of memory");
			break;
		}
		top_rec *r = &(*out)[(*n)++];
		memcpy(r->key, p, NODE_TOP_KEY_BYTES);
		memcpy(r->val, v.mv_data, v.mv_size);
		r->val_bytes = (uint8_t)v.mv_size;
	}
	return err == LEDGER_ENOTFOUND ? LEDGER_OK : err;
}

/* The key of r's node copied into the epoch of `size`: under r's own size
 * (carried) or under `size` (rewritten by the transaction ending there). */
static void top_moved_key(uint8_t key[NODE_TOP_KEY_BYTES], const top_rec *r,
                          uint64_t size, bool rewritten)
{
	memcpy(key, r->key, NODE_TOP_KEY_BYTES);
	put_u64_be(key + TOP_EPOCH_AT, UINT64_MAX - node_epoch(size));
	if (rewritten)
		put_u64_be(key + TOP_SIZE_AT, UINT64_MAX - size);
}

/* The top nodes that the first transaction ending in the epoch of `size`
 * copies there from the map as of `from` (the transaction before it): the
 * newest version of each, less those it rewrote. A node was rewritten when
 * `seen` (a set of top_index bits) has it, or, without a set, when a
 * version of `size` is stored. *out is malloc'd, also on failure. */
static ledger_err top_carried(top_rec **out, size_t *n, node_io *io,
                              uint64_t from, uint64_t size, const uint8_t *seen)
{
	uint8_t key[NODE_TOP_KEY_BYTES];
	size_t kept = 0;
	MDB_val x;
	ledger_err err = top_newest(out, n, io, node_epoch(from));

	for (size_t i = 0; i < *n && err == LEDGER_OK; i++) {
		bool rewritten;
		if (seen) {
			size_t bit = top_index((*out)[i].key);
			rewritten = seen[bit / 8] >> bit % 8 & 1u;
		} else {
			top_moved_key(key, &(*out)[i], size, true);
			err = store_get(io->txn, io->s, DB_SMT, key, sizeof key, &x, io->e);
			rewritten = err == LEDGER_OK;
			err = err == LEDGER_ENOTFOUND ? LEDGER_OK : err;
		}
		if (!rewritten)
			(*out)[kept++] = (*out)[i];
	}
	*n = kept;
	return err;
}

/* The first transaction that ends in a new epoch copies there every top
 * node it did not rewrite, as the map as of `from` left it. */
static ledger_err carry_top(node_io *io, uint64_t from, uint64_t size)
{
	uint8_t key[NODE_TOP_KEY_BYTES];
	top_rec *r;
	size_t n;
	ledger_err err = top_carried(&r, &n, io, from, size, NULL);

	for (size_t i = 0; i < n && err == LEDGER_OK; i++) {
		top_moved_key(key, &r[i], size, false);
		err = store_put(io->txn, io->s, DB_SMT, key, sizeof key, r[i].val,
		                r[i].val_bytes, 0, io->e);
	}
	free(r);
	return err;
}

/* ---- update: an iterative walk down the changed paths ---- */

enum { F_START, F_WAIT_LEFT, F_LEFT_DONE, F_WAIT_RIGHT, F_RIGHT_DONE };

typedef struct frame {
	unsigned d;
	uint8_t prefix[HEADS_KEY_BYTES];
	size_t i, j, mid;                /* changes [i, j) below; [i, mid) go left */
	bool has_extra;                  /* a leaf pushed down from above */
	heads_change extra;
	int extra_side;                  /* 0 left, 1 right, -1 none */
	uint8_t state;
	uint8_t left[LEDGER_HASH_BYTES], right[LEDGER_HASH_BYTES];
} frame;

typedef struct walk {
	node_io io;
	const heads_change *changes;
	uint64_t size;
	uint64_t prev;                   /* the map before: as of this size */
	frame stack[HEADS_DEPTH_MAX + 1];
	size_t top;                      /* frames in use */
} walk;

static bool in_changes(const walk *w, size_t i, size_t j, const uint8_t *key)
{
	while (i < j) {                  /* binary search: the keys are sorted */
		size_t m = i + (j - i) / 2;
		int c = memcmp(w->changes[m].key, key, HEADS_KEY_BYTES);
		if (c == 0)
			return true;
		if (c < 0)
			i = m + 1;
		else
			j = m;
	}
	return false;
}

static void push(walk *w, const frame *parent, unsigned side, size_t i, size_t j)
{
	frame *f = &w->stack[w->top++];

	assert(w->top <= HEADS_DEPTH_MAX + 1);
	memset(f, 0, sizeof *f);
	f->d = parent->d + 1;
	memcpy(f->prefix, parent->prefix, HEADS_KEY_BYTES);
	bit_set(f->prefix, parent->d, side);
	f->i = i;
	f->j = j;
	f->extra_side = -1;
	if (parent->has_extra && parent->extra_side == (int)side) {
		f->has_extra = true;
		f->extra = parent->extra;
	}
}

/* Hand a finished node's hash to its parent, or keep it as the root. */
static void deliver(walk *w, const uint8_t hash[LEDGER_HASH_BYTES],
                    uint8_t root[LEDGER_HASH_BYTES])
{
	w->top--;
	if (w->top == 0) {
		memcpy(root, hash, LEDGER_HASH_BYTES);
		return;
	}
	frame *p = &w->stack[w->top - 1];
	if (p->state == F_WAIT_LEFT) {
		memcpy(p->left, hash, LEDGER_HASH_BYTES);
		p->state = F_LEFT_DONE;
	} else {
		assert(p->state == F_WAIT_RIGHT);
		memcpy(p->right, hash, LEDGER_HASH_BYTES);
		p->state = F_RIGHT_DONE;
	}
}

/* First visit: a single leaf ends here, or split the leaves by bit d. */
static ledger_err frame_start(walk *w, frame *f, uint8_t root[LEDGER_HASH_BYTES])
{
	node old, x;
	ledger_err err = node_read(&old, &w->io, f->d, f->prefix, w->prev);

	if (err != LEDGER_OK)
		return err;
	/* A leaf that was alone here moves down with the changes. */
	if (!f->has_extra && old.kind == NODE_SINGLE &&
	    !in_changes(w, f->i, f->j, old.leaf.key)) {
		f->has_extra = true;
		f->extra = old.leaf;
	}
	/* A node that held two leaves still does: only changes and moved
	 * leaves can make a node hold exactly one. */
	if (old.kind != NODE_MULTI && (f->j - f->i) + f->has_extra == 1) {
		memset(&x, 0, sizeof x);
		x.kind = NODE_SINGLE;
		x.leaf = f->has_extra ? f->extra : w->changes[f->i];
		leaf_with(x.hash, w->io.h, x.leaf.key, x.leaf.version, x.leaf.seq);
		if ((err = node_write(&w->io, f->d, f->prefix, w->size, &x)))
			return err;
		deliver(w, x.hash, root);
		return LEDGER_OK;
	}
	f->mid = f->i;
	while (f->mid < f->j && !bit_at(w->changes[f->mid].key, f->d))
		f->mid++;
	f->extra_side = f->has_extra ? (int)bit_at(f->extra.key, f->d) : -1;
	f->state = F_WAIT_LEFT;
	return LEDGER_OK;
}

/* The hash of an unchanged child, as stored. */
static ledger_err child_hash(walk *w, const frame *f, unsigned side,
                            uint8_t out[LEDGER_HASH_BYTES])
{
	uint8_t prefix[HEADS_KEY_BYTES];
	node c;
	ledger_err err;

	memcpy(prefix, f->prefix, HEADS_KEY_BYTES);
	bit_set(prefix, f->d, side);
	err = node_read(&c, &w->io, f->d + 1, prefix, w->prev);
	memcpy(out, c.kind ? c.hash : zero_hash, LEDGER_HASH_BYTES);
	return err;
}

static ledger_err frame_step(walk *w, uint8_t root[LEDGER_HASH_BYTES])
{
	frame *f = &w->stack[w->top - 1];
	node x;
	ledger_err err = LEDGER_OK;

	switch (f->state) {
	case F_START:
		return frame_start(w, f, root);
	case F_WAIT_LEFT:                /* first time here: left not pushed yet */
		if (f->mid > f->i || f->extra_side == 0) {
			push(w, f, 0, f->i, f->mid);
			return LEDGER_OK;
		}
		err = child_hash(w, f, 0, f->left);
		f->state = F_LEFT_DONE;
		return err;
	case F_LEFT_DONE:
		f->state = F_WAIT_RIGHT;
		if (f->j > f->mid || f->extra_side == 1) {
			push(w, f, 1, f->mid, f->j);
			return LEDGER_OK;
		}
		err = child_hash(w, f, 1, f->right);
		f->state = F_RIGHT_DONE;
		return err;
	case F_RIGHT_DONE:
		memset(&x, 0, sizeof x);
		x.kind = NODE_MULTI;
		node_hash_with(x.hash, w->io.h, f->left, f->right);
		if ((err = node_write(&w->io, f->d, f->prefix, w->size, &x)))
			return err;
		deliver(w, x.hash, root);
		return LEDGER_OK;
	default:
		assert(!"a waiting frame is never on top");
		return LEDGER_ECORRUPT;
	}
}

ledger_err heads_update(uint8_t root[LEDGER_HASH_BYTES], hasher *h,
                        MDB_txn *txn, const store *s, errbuf *e,
                        const heads_change *changes, size_t count, uint64_t size)
{
	walk *w = malloc(sizeof *w);
	ledger_err err;

	if (!w)
		return err_set(e, LEDGER_ENOMEM, "out of memory");
	memset(w, 0, sizeof *w);
	if ((err = io_open(&w->io, txn, s, e, h)) != LEDGER_OK ||
	    (err = resolve_size(&w->prev, &w->io, UINT64_MAX)) != LEDGER_OK)
		goto out;
	w->changes = changes;
	w->size = size;
	w->stack[0].j = count;
	w->stack[0].extra_side = -1;
	w->top = count > 0;
	/* Each step visits a frame; a frame is visited at most 4 times and
	 * there are at most 2 * 256 * count frames. */
	while (w->top > 0 && err == LEDGER_OK)
		err = frame_step(w, root);
	if (err == LEDGER_OK && w->prev && node_epoch(w->prev) != node_epoch(size))
		err = carry_top(&w->io, w->prev, size);
	if (err == LEDGER_OK && count == 0)
		err = root_read(root, &w->io, size);
out:
	store_cursor_close(w->io.c);
	free(w);
	return err;
}

ledger_err heads_root_at(uint8_t root[LEDGER_HASH_BYTES], MDB_txn *txn,
                         const store *s, errbuf *e, uint64_t size)
{
	node_io io;
	ledger_err err = io_open(&io, txn, s, e, NULL);

	memcpy(root, zero_hash, LEDGER_HASH_BYTES);
	if (err == LEDGER_OK)
		err = root_read(root, &io, size);
	store_cursor_close(io.c);
	return err;
}

/* The proof of key's path at tree size `size`, read through io. */
static ledger_err prove_path(heads_proof *out, node_io *io,
                             const uint8_t key[HEADS_KEY_BYTES], uint64_t size)
{
	uint8_t prefix[HEADS_KEY_BYTES] = { 0 }, sib[HEADS_KEY_BYTES];
	node n, c;
	ledger_err err;

	for (unsigned d = 0; d < HEADS_DEPTH_MAX; d++) {
		if ((err = node_read(&n, io, d, prefix, size)) != LEDGER_OK)
			return err;
		if (n.kind != NODE_MULTI) {
			out->depth = (uint16_t)d;
			out->kind = n.kind == 0 ? HEADS_EMPTY :
			            memcmp(n.leaf.key, key, HEADS_KEY_BYTES) == 0 ?
			            HEADS_MEMBER : HEADS_OTHER;
			if (n.kind == NODE_SINGLE) {
				memcpy(out->leaf_key, n.leaf.key, HEADS_KEY_BYTES);
				out->version = n.leaf.version;
				out->seq = n.leaf.seq;
			}
			return LEDGER_OK;
		}
		memcpy(sib, prefix, HEADS_KEY_BYTES);
		bit_set(sib, d, !bit_at(key, d));
		if ((err = node_read(&c, io, d + 1, sib, size)) != LEDGER_OK)
			return err;
		memcpy(out->siblings[d], c.kind ? c.hash : zero_hash, LEDGER_HASH_BYTES);
		bit_set(prefix, d, bit_at(key, d));
	}
	return err_set(io->e, LEDGER_ECORRUPT, "heads map: the path of a key runs "
	               "past depth 255");
}

ledger_err heads_prove(heads_proof *out, MDB_txn *txn, const store *s,
                       errbuf *e, const uint8_t key[HEADS_KEY_BYTES],
                       uint64_t size)
{
	node_io io;
	uint64_t at = 0;
	ledger_err err;

	memset(out, 0, sizeof *out);
	if ((err = io_open(&io, txn, s, e, NULL)) == LEDGER_OK &&
	    (err = resolve_size(&at, &io, size)) == LEDGER_OK)
		err = prove_path(out, &io, key, at);
	store_cursor_close(io.c);
	return err;
}

bool heads_proof_root(uint8_t root[LEDGER_HASH_BYTES], const heads_proof *p,
                      const uint8_t key[HEADS_KEY_BYTES])
{
	uint8_t h[LEDGER_HASH_BYTES];

	if (p->depth >= HEADS_DEPTH_MAX)
		return false;
	switch (p->kind) {
	case HEADS_EMPTY:
		memset(h, 0, sizeof h);
		break;
	case HEADS_MEMBER:
		if (memcmp(p->leaf_key, key, HEADS_KEY_BYTES) != 0)
			return false;
		heads_leaf(h, key, p->version, p->seq);
		break;
	case HEADS_OTHER:
		/* The other leaf must lie on key's path, and not be key. */
		if (memcmp(p->leaf_key, key, HEADS_KEY_BYTES) == 0)
			return false;
		for (unsigned d = 0; d < p->depth; d++)
			if (bit_at(p->leaf_key, d) != bit_at(key, d))
				return false;
		heads_leaf(h, p->leaf_key, p->version, p->seq);
		break;
	default:
		return false;
	}
	/* Every node above the end of the path holds two or more leaves. */
	for (unsigned d = p->depth; d-- > 0;) {
		if (bit_at(key, d))
			node_hash(h, p->siblings[d], h);
		else
			node_hash(h, h, p->siblings[d]);
	}
	memcpy(root, h, LEDGER_HASH_BYTES);
	return true;
}

/* ---- batches ---- */

static inline bool change_less(const heads_change *x, const heads_change *y,
                               void *unused)
{
	int c = memcmp(x->key, y->key, HEADS_KEY_BYTES);

	(void)unused;
	return c ? c < 0 : x->seq < y->seq;
}

SORT_DEFINE(change_sort, heads_change, void *, change_less)

void heads_batch_compact(heads_batch *b)
{
	size_t n = 0;

	if (b->count > 1)
		change_sort(b->v, b->count, NULL);
	for (size_t i = 0; i < b->count; i++) {
		if (n && memcmp(b->v[n - 1].key, b->v[i].key, HEADS_KEY_BYTES) == 0)
			n--;
		b->v[n++] = b->v[i];
	}
	b->count = n;
}

int heads_batch_add(heads_batch *b, hasher *h, const char *country,
                    const char *org, uint64_t version, uint64_t seq)
{
	if (b->count == b->cap && b->cap >= HEADS_BATCH_SLACK)
		heads_batch_compact(b);
	if (b->count == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 1024;
		heads_change *p = realloc(b->v, cap * sizeof *p);
		if (!p)
			return -1;
		b->v = p;
		b->cap = cap;
	}
	heads_change *c = &b->v[b->count++];
	heads_key(c->key, h, country, org);
	c->version = version;
	c->seq = seq;
	return 0;
}

void heads_batch_free(heads_batch *b)
{
	free(b->v);
	b->v = NULL;
	b->count = b->cap = 0;
}

/* ---- the in-memory map of verify: a crit-bit trie ---- */

#define HM_NONE UINT32_MAX
#define HM_LEAF 0x80000000u   /* a ref with this bit names a leaf */

typedef struct hm_inner {
	uint32_t child[2];
	uint32_t any_leaf;        /* a leaf below: the bits above crit are its */
	uint16_t crit;            /* the first bit where the children differ */
	bool dirty;               /* hash is out of date */
	bool changed;             /* a leaf below changed since the last check */
	uint8_t hash[LEDGER_HASH_BYTES];   /* the subtree's hash at depth crit */
} hm_inner;

typedef struct hm_leaf {
	uint8_t key[HEADS_KEY_BYTES];
	uint8_t hash[LEDGER_HASH_BYTES];
	uint64_t version, seq;
	bool changed;             /* set, or moved deeper, since the last check */
} hm_leaf;

struct heads_mem {
	hasher *h;                /* leaf hashes with a pre-fetched digest */
	uint64_t checked;         /* the size of the last version checked */
	uint8_t top_seen[TOP_NODES / 8];   /* top nodes that version rewrote */
	hm_inner *in;
	hm_leaf *lv;
	size_t n_in, cap_in, n_lv, cap_lv;
	uint32_t root;
};

heads_mem *heads_mem_new(hasher *h)
{
	heads_mem *m = calloc(1, sizeof *m);

	if (m) {
		m->root = HM_NONE;
		m->h = h;
	}
	return m;
}

void heads_mem_free(heads_mem *m)
{
	if (!m)
		return;
	free(m->in);
	free(m->lv);
	free(m);
}

static const uint8_t *hm_key(const heads_mem *m, uint32_t ref)
{
	return m->lv[ref & HM_LEAF ? ref & ~HM_LEAF : m->in[ref].any_leaf].key;
}

/* The hash of ref's subtree seen from depth `from` (<= its crit): a leaf
 * is itself at any depth; an inner node gains one node per level between
 * `from` and its crit, the other side empty. */
static void hm_extend(const heads_mem *m, uint32_t ref, unsigned from,
                      uint8_t out[LEDGER_HASH_BYTES])
{
	if (ref & HM_LEAF) {
		memcpy(out, m->lv[ref & ~HM_LEAF].hash, LEDGER_HASH_BYTES);
		return;
	}
	const hm_inner *n = &m->in[ref];
	const uint8_t *key = hm_key(m, ref);
	memcpy(out, n->hash, LEDGER_HASH_BYTES);
	for (unsigned d = n->crit; d-- > from;)
		hash_up(m->h, out, key, d);
}

static void hm_leaf_set(heads_mem *m, hm_leaf *l, const uint8_t key[HEADS_KEY_BYTES],
                        uint64_t version, uint64_t seq)
{
	memcpy(l->key, key, HEADS_KEY_BYTES);
	l->version = version;
	l->seq = seq;
	l->changed = true;
	leaf_with(l->hash, m->h, key, version, seq);
}

/* Mark the inner nodes on key's path whose crit is below `below`: their
 * hashes are out of date, and the stored map rewrote them. Only a leaf's
 * ancestors are marked, so that the changed nodes are exactly those that
 * heads_update stores. */
static void hm_mark(heads_mem *m, const uint8_t key[HEADS_KEY_BYTES], unsigned below)
{
	uint32_t ref = m->root;

	while (ref != HM_NONE && !(ref & HM_LEAF) && m->in[ref].crit < below) {
		m->in[ref].dirty = m->in[ref].changed = true;
		ref = m->in[ref].child[bit_at(key, m->in[ref].crit)];
	}
}

int heads_mem_set(heads_mem *m, const uint8_t key[HEADS_KEY_BYTES],
                  uint64_t version, uint64_t seq)
{
	uint32_t ref = m->root, *slot;
	unsigned c = 0;

	/* Refs are 31 bits: HM_LEAF marks a leaf. */
	if (array_reserve((void **)&m->lv, &m->cap_lv, m->n_lv + 1, sizeof *m->lv,
	                  HM_LEAF - 1) ||
	    array_reserve((void **)&m->in, &m->cap_in, m->n_in + 1, sizeof *m->in,
	                  HM_LEAF - 1))
		return -1;
	while (ref != HM_NONE && !(ref & HM_LEAF))
		ref = m->in[ref].child[bit_at(key, m->in[ref].crit)];
	if (ref != HM_NONE) {
		hm_leaf *l = &m->lv[ref & ~HM_LEAF];
		if (memcmp(l->key, key, HEADS_KEY_BYTES) == 0) {
			hm_leaf_set(m, l, key, version, seq);
			hm_mark(m, key, HEADS_DEPTH_MAX);
			return 0;
		}
		while (bit_at(l->key, c) == bit_at(key, c))
			c++;
	}
	uint32_t leaf = (uint32_t)m->n_lv++ | HM_LEAF;
	hm_leaf_set(m, &m->lv[leaf & ~HM_LEAF], key, version, seq);
	if (ref == HM_NONE) {
		m->root = leaf;
		return 0;
	}
	/* The new inner node goes above the first node that splits deeper. */
	hm_mark(m, key, c);
	slot = &m->root;
	while (!(*slot & HM_LEAF) && m->in[*slot].crit < c)
		slot = &m->in[*slot].child[bit_at(key, m->in[*slot].crit)];
	/* A leaf that was alone there moves down, below the new node. */
	if (*slot & HM_LEAF)
		m->lv[*slot & ~HM_LEAF].changed = true;
	hm_inner *n = &m->in[m->n_in];
	n->crit = (uint16_t)c;
	n->child[bit_at(key, c)] = leaf;
	n->child[!bit_at(key, c)] = *slot;
	n->any_leaf = leaf & ~HM_LEAF;
	n->dirty = n->changed = true;
	*slot = (uint32_t)m->n_in++;
	return 0;
}

int heads_mem_root(heads_mem *m, uint8_t out[LEDGER_HASH_BYTES])
{
	uint32_t stack[2 * (HEADS_DEPTH_MAX + 1)];
	size_t top = 0;

	if (m->root == HM_NONE) {
		memset(out, 0, LEDGER_HASH_BYTES);
		return 0;
	}
	/* Post-order over dirty inner nodes: a node is hashed once both of
	 * its children are clean. The trie is at most 256 deep. */
	if (!(m->root & HM_LEAF) && m->in[m->root].dirty)
		stack[top++] = m->root;
	while (top > 0) {
		hm_inner *n = &m->in[stack[top - 1]];
		bool pushed = false;
		for (int side = 0; side < 2; side++) {
			uint32_t ch = n->child[side];
			if (!(ch & HM_LEAF) && m->in[ch].dirty) {
				stack[top++] = ch;
				pushed = true;
			}
		}
		if (pushed)
			continue;
		uint8_t h0[LEDGER_HASH_BYTES], h1[LEDGER_HASH_BYTES];
		hm_extend(m, n->child[0], n->crit + 1u, h0);
		hm_extend(m, n->child[1], n->crit + 1u, h1);
		node_hash_with(n->hash, m->h, h0, h1);
		n->dirty = false;
		top--;
	}
	hm_extend(m, m->root, 0, out);
	return 0;
}

/* ---- the stored versions against the in-memory map ---- */

typedef struct hm_check {
	MDB_txn *txn;
	const store *s;
	errbuf *e;
	uint64_t size;
	uint64_t *nodes;
	uint8_t *top_seen;
	MDB_cursor *c;                  /* on DB_SMT: the nodes of a path are
	                                 * near each other, mostly on the page
	                                 * the last look-up left it on */
} hm_check;

/* LEDGER_ECORRUPT naming the stored node at depth d on path `bits` of
 * version `size`: "... of size S <what>", then " <at>" when at is not 0. */
static ledger_err node_fault(errbuf *e, unsigned d, const uint8_t *bits,
                             uint64_t size, const char *what, uint64_t at)
{
	char path[HEADS_DEPTH_MAX + 1], tail[32] = "";

	for (unsigned i = 0; i < d; i++)
		path[i] = (char)('0' + bit_at(bits, i));
	path[d] = '\0';
	if (at)
		snprintf(tail, sizeof tail, " %llu", (unsigned long long)at);
	return err_set(e, LEDGER_ECORRUPT, "heads map: the node at depth %u, "
	               "path %s, of size %llu %s%s (run annals rebuild if only the "
	               "map is damaged)", d, d ? path : "(the root)",
	               (unsigned long long)size, what, tail);
}

/* The stored node at depth d on key's path, version x->size, must hold
 * exactly val. */
static ledger_err hm_compare(const hm_check *x, unsigned d, const uint8_t *key,
                             const uint8_t *val, size_t val_bytes)
{
	uint8_t k[NODE_KEY_BYTES_MAX];
	MDB_val v;
	ledger_err err;

	if (d >= HEADS_DEPTH_MAX)
		return err_set(x->e, LEDGER_ECORRUPT, "heads map: two stream keys "
		               "share 255 bits: the map cannot hold them");
	size_t kn = node_key(k, d, key, x->size);   /* it keeps d bits of key */
	MDB_val mk = { kn, k };
	err = store_cursor_get(x->c, &mk, &v, MDB_SET_KEY, x->e);
	if (err == LEDGER_OK && v.mv_size == val_bytes &&
	    memcmp(v.mv_data, val, val_bytes) == 0) {
		if (kn == NODE_TOP_KEY_BYTES) {
			size_t i = top_index(k);
			x->top_seen[i / 8] |= (uint8_t)(1u << i % 8);
		}
		(*x->nodes)++;
		return LEDGER_OK;
	}
	if (err != LEDGER_OK && err != LEDGER_ENOTFOUND)
		return err;
	return node_fault(x->e, d, key, x->size, err == LEDGER_ENOTFOUND ?
	                  "is missing" : "differs from the stream heads of the "
	                  "events", 0);
}

static ledger_err hm_compare_leaf(const hm_check *x, hm_leaf *l, unsigned d)
{
	uint8_t val[1 + HEADS_KEY_BYTES + 16];

	val[0] = NODE_SINGLE;
	memcpy(val + 1, l->key, HEADS_KEY_BYTES);
	put_u64_be(val + 1 + HEADS_KEY_BYTES, l->version);
	put_u64_be(val + 9 + HEADS_KEY_BYTES, l->seq);
	l->changed = false;
	return hm_compare(x, d, l->key, val, sizeof val);
}

/* An inner node stands for one stored node at each depth from `from` (its
 * parent's crit + 1, or 0) to its crit: the lower ones hold its hash
 * extended by an empty sibling a level. */
static ledger_err hm_compare_inner(const hm_check *x, const heads_mem *m,
                                   uint32_t ref, unsigned from)
{
	const hm_inner *n = &m->in[ref];
	const uint8_t *key = hm_key(m, ref);
	uint8_t val[1 + LEDGER_HASH_BYTES];
	ledger_err err;

	val[0] = NODE_MULTI;
	memcpy(val + 1, n->hash, LEDGER_HASH_BYTES);
	for (unsigned d = n->crit;; d--) {
		if ((err = hm_compare(x, d, key, val, sizeof val)) != LEDGER_OK ||
		    d == from)
			return err;
		hash_up(m->h, val + 1, key, d - 1);
	}
}

/* The first version of a new epoch: every top node of the map as of
 * `from` that it did not rewrite is copied, unchanged and under its own
 * size. */
static ledger_err hm_check_carry(const hm_check *x, uint64_t from)
{
	uint8_t key[NODE_TOP_KEY_BYTES];
	top_rec *r = NULL;
	size_t n = 0;
	node_io io;
	MDB_val v;
	ledger_err err = io_open(&io, x->txn, x->s, x->e, NULL);

	if (err == LEDGER_OK)
		err = top_carried(&r, &n, &io, from, x->size, x->top_seen);
	for (size_t i = 0; i < n && err == LEDGER_OK; i++) {
		top_moved_key(key, &r[i], x->size, false);
		err = store_get(x->txn, x->s, DB_SMT, key, sizeof key, &v, x->e);
		if (err == LEDGER_OK && v.mv_size == r[i].val_bytes &&
		    memcmp(v.mv_data, r[i].val, v.mv_size) == 0) {
			(*x->nodes)++;
			continue;
		}
		if (err != LEDGER_OK && err != LEDGER_ENOTFOUND)
			break;
		err = node_fault(x->e, r[i].key[TOP_DEPTH_AT], r[i].key + TOP_PATH_AT,
		                 UINT64_MAX - get_u64_be(r[i].key + TOP_SIZE_AT),
		                 err == LEDGER_ENOTFOUND ? "is missing from the copies "
		                 "that start the epoch of size" : "differs in the copies "
		                 "that start the epoch of size", x->size);
	}
	free(r);
	store_cursor_close(io.c);
	return err;
}

/* Compare the nodes of m that changed since the last check. */
static ledger_err heads_mem_check_changed(heads_mem *m, const hm_check *cx)
{
	const hm_check x = *cx;
	uint8_t root[LEDGER_HASH_BYTES];
	uint32_t stack[2 * (HEADS_DEPTH_MAX + 1)];
	uint16_t from[2 * (HEADS_DEPTH_MAX + 1)];
	size_t top = 0;
	ledger_err err = LEDGER_OK;

	if (heads_mem_root(m, root) != 0)
		return err_set(x.e, LEDGER_ENOMEM, "out of memory");
	if (m->root == HM_NONE)
		return LEDGER_OK;
	if (m->root & HM_LEAF) {
		hm_leaf *l = &m->lv[m->root & ~HM_LEAF];
		return l->changed ? hm_compare_leaf(&x, l, 0) : LEDGER_OK;
	}
	if (m->in[m->root].changed) {
		stack[top] = m->root;
		from[top++] = 0;
	}
	/* Depth first over the changed inner nodes: at most one pending
	 * sibling a level, and the trie is at most 256 deep. */
	while (top > 0 && err == LEDGER_OK) {
		uint32_t ref = stack[--top];
		hm_inner *n = &m->in[ref];
		n->changed = false;
		err = hm_compare_inner(&x, m, ref, from[top]);
		for (int side = 0; side < 2 && err == LEDGER_OK; side++) {
			uint32_t ch = n->child[side];
			if (ch & HM_LEAF && m->lv[ch & ~HM_LEAF].changed) {
				err = hm_compare_leaf(&x, &m->lv[ch & ~HM_LEAF], n->crit + 1u);
			} else if (!(ch & HM_LEAF) && m->in[ch].changed) {
				assert(top < sizeof stack / sizeof *stack);
				stack[top] = ch;
				from[top++] = (uint16_t)(n->crit + 1u);
			}
		}
	}
	return err;
}

ledger_err heads_mem_check_version(heads_mem *m, MDB_txn *txn, const store *s,
                                   errbuf *e, uint64_t size, uint64_t *nodes)
{
	hm_check x = { txn, s, e, size, nodes, m->top_seen, NULL };
	uint64_t from = m->checked;
	ledger_err err = store_cursor(&x.c, txn, s, DB_SMT, e);

	if (err == LEDGER_OK)
		err = heads_mem_check_changed(m, &x);
	store_cursor_close(x.c);

	m->checked = size;
	if (err == LEDGER_OK && from && node_epoch(from) != node_epoch(size))
		err = hm_check_carry(&x, from);
	memset(m->top_seen, 0, sizeof m->top_seen);
	return err;
}
