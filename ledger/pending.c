/* Index writes held in memory and written sorted (see pending.h). */
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "pending.h"
#include "sort.h"

static const store_db pending_target[PEND_RUNS] = {
	[PEND_IDS] = DB_IDS,
	[PEND_HEADS] = DB_HEADS,
	[PEND_REL] = DB_REL,
	[PEND_BYDATE] = DB_BYDATE,
};

void pending_init(pending *p)
{
	memset(p, 0, sizeof *p);
	p->budget = PENDING_BUDGET;
	p->filter_bytes_max = PENDING_FILTER_BYTES;
}

static void filters_free(pending *p)
{
	for (size_t i = 0; i < p->filters; i++)
		free(p->filter[i].bits);
	memset(p->filter, 0, sizeof p->filter);
	p->filters = 0;
	p->filter_bytes = 0;
}

void pending_free(pending *p)
{
	filters_free(p);
	free(p->bytes);
	for (size_t i = 0; i < PEND_RUNS; i++)
		free(p->run[i].v);
	free(p->tab[0]);
	free(p->tab[1]);
	pending_init(p);
}

/* Forget the buffered writes, after they were written out or with the
 * transaction. */
static void drop_buffered(pending *p)
{
	p->used = 0;
	for (size_t i = 0; i < PEND_RUNS; i++)
		p->run[i].count = 0;
	for (size_t t = 0; t < 2; t++)
		if (p->tab[t])
			memset(p->tab[t], 0, p->tab_cap[t] * sizeof *p->tab[t]);
}

void pending_reset(pending *p)
{
	drop_buffered(p);
	filters_free(p);
	p->ids_base = BASE_UNKNOWN;
}

bool pending_full(const pending *p)
{
	return p->used >= p->budget;
}

static const uint8_t *rec_key(const pending *p, const pending_rec *r)
{
	return p->bytes + r->off;
}

/* ---- the filters of ids written out ---- */

#define FILTER_BITS_PER_KEY 10u       /* with 7 probes: under 1 % false */
#define FILTER_PROBES       7u

/* The step between a key's probes (double hashing, the first probe at
 * its bytes_hash h): h's splitmix64 finalization, odd so that it steps
 * through every bit. */
static uint64_t filter_step(uint64_t h)
{
	h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9u;
	h = (h ^ (h >> 27)) * 0x94d049bb133111ebu;
	return (h ^ (h >> 31)) | 1u;
}

/* The bit of probe i of the key hashed h. */
static uint64_t filter_bit(const pending_filter *f, uint64_t h, uint64_t step,
                           unsigned i)
{
	return (h + i * step) & ((uint64_t)f->words * 64u - 1u);
}

static bool filter_has(const pending_filter *f, uint64_t h, uint64_t step)
{
	for (unsigned i = 0; i < FILTER_PROBES; i++) {
		uint64_t b = filter_bit(f, h, step, i);
		if (!(f->bits[b >> 6] >> (b & 63) & 1u))
			return false;
	}
	return true;
}

/* Add a written-out id; false when no filter can take it (out of memory,
 * or past filter_bytes_max): the caller then stops using the filters. */
static bool filter_add(pending *p, const uint8_t *key, size_t n)
{
	pending_filter *f = p->filters ? &p->filter[p->filters - 1] : NULL;

	if (!f || f->count == f->cap) {
		if (p->filters == PENDING_FILTERS_MAX)
			return false;
		size_t cap = (size_t)PENDING_FILTER_FIRST << p->filters, words = 1;
		while (words * 64u < cap * FILTER_BITS_PER_KEY)
			words *= 2;
		if (p->filter_bytes + words * sizeof *f->bits > p->filter_bytes_max)
			return false;
		f = &p->filter[p->filters];
		if (!(f->bits = calloc(words, sizeof *f->bits)))
			return false;
		f->words = words;
		f->cap = cap;
		f->count = 0;
		p->filters++;
		p->filter_bytes += words * sizeof *f->bits;
	}
	uint64_t h = bytes_hash(key, n), step = filter_step(h);
	for (unsigned i = 0; i < FILTER_PROBES; i++) {
		uint64_t b = filter_bit(f, h, step, i);
		f->bits[b >> 6] |= (uint64_t)1 << (b & 63);
	}
	f->count++;
	return true;
}

/* Whether an id missing from the buffer (bytes_hash h) may be stored:
 * always, unless the transaction began with none and no filter holds it. */
static bool id_may_be_stored(pending *p, MDB_txn *txn, const store *s,
                             uint64_t h)
{
	uint64_t entries, bytes;
	errbuf e;

	if (p->ids_base == BASE_UNKNOWN)
		/* Nothing is written out yet: the database is as it began. */
		p->ids_base = store_db_stat(txn, s, DB_IDS, &entries, &bytes, &e) ==
		              LEDGER_OK && entries == 0 ? BASE_EMPTY : BASE_STORED;
	if (p->ids_base != BASE_EMPTY)
		return true;
	uint64_t step = filter_step(h);
	for (size_t i = 0; i < p->filters; i++)
		if (filter_has(&p->filter[i], h, step))
			return true;
	p->ids_skipped++;
	return false;
}

/* The slot of key (bytes_hash h) in table t: the one holding it, or the
 * free one where it would go. */
static size_t slot_at(const pending *p, size_t t, const uint8_t *key, size_t n,
                      uint64_t h)
{
	const pending_run *run = &p->run[t];
	size_t mask = p->tab_cap[t] - 1, i = (size_t)h & mask;

	for (;; i = (i + 1) & mask) {
		uint32_t x = p->tab[t][i];
		if (!x)
			return i;
		const pending_rec *r = &run->v[x - 1];
		if (r->key_bytes == n && memcmp(rec_key(p, r), key, n) == 0)
			return i;
	}
}

static size_t slot_of(const pending *p, size_t t, const uint8_t *key, size_t n)
{
	return slot_at(p, t, key, n, bytes_hash(key, n));
}

/* Keep table t at most half full for one more record. */
static bool tab_reserve(pending *p, size_t t)
{
	size_t count = p->run[t].count + 1;

	if (count * 2 <= p->tab_cap[t])
		return true;
	size_t cap = p->tab_cap[t] ? p->tab_cap[t] * 2 : 4096;
	uint32_t *tab = calloc(cap, sizeof *tab);
	if (!tab)
		return false;
	free(p->tab[t]);
	p->tab[t] = tab;
	p->tab_cap[t] = cap;
	for (size_t i = 0; i < p->run[t].count; i++) {
		const pending_rec *r = &p->run[t].v[i];
		tab[slot_of(p, t, rec_key(p, r), r->key_bytes)] = (uint32_t)(i + 1);
	}
	return true;
}

static bool grow(void **v, size_t *cap, size_t need, size_t size)
{
	if (need <= *cap)
		return true;
	size_t n = *cap ? *cap : 4096;
	while (n < need)
		n *= 2;
	void *q = realloc(*v, n * size);
	if (!q)
		return false;
	*v = q;
	*cap = n;
	return true;
}

ledger_err pending_put(pending *p, pending_db db, const void *key,
                       size_t key_bytes, const void *val, size_t val_bytes,
                       errbuf *e)
{
	pending_run *run = &p->run[db];
	size_t slot = 0;
	bool hashed = db == PEND_IDS || db == PEND_HEADS;

	if (hashed) {
		if (!tab_reserve(p, db))
			return err_set(e, LEDGER_ENOMEM, "out of memory");
		slot = slot_of(p, db, key, key_bytes);
		uint32_t x = p->tab[db][slot];
		if (x && db == PEND_IDS)
			return err_set(e, LEDGER_ECORRUPT, "%s: key already stored",
			               store_db_name(DB_IDS));
		if (x && run->v[x - 1].val_bytes == val_bytes) {
			memcpy(p->bytes + run->v[x - 1].off + key_bytes, val, val_bytes);
			return LEDGER_OK;
		}
		if (x)
			return err_set(e, LEDGER_ECORRUPT, "%s: values of one key "
			               "differ in length", store_db_name(DB_HEADS));
	}
	size_t bytes = key_bytes + val_bytes;
	if (!grow((void **)&p->bytes, &p->cap, p->used + bytes, 1) ||
	    !grow((void **)&run->v, &run->cap, run->count + 1, sizeof *run->v))
		return err_set(e, LEDGER_ENOMEM, "out of memory");
	pending_rec *r = &run->v[run->count];
	uint8_t head[16] = { 0 };
	memcpy(head, key, key_bytes < 16 ? key_bytes : 16);
	r->head[0] = get_u64_be(head);
	r->head[1] = get_u64_be(head + 8);
	r->off = p->used;
	r->key_bytes = (uint32_t)key_bytes;
	r->val_bytes = (uint32_t)val_bytes;
	memcpy(p->bytes + p->used, key, key_bytes);
	memcpy(p->bytes + p->used + key_bytes, val, val_bytes);
	p->used += bytes;
	run->count++;
	if (hashed)
		p->tab[db][slot] = (uint32_t)run->count;
	return LEDGER_OK;
}

/* pending_get of a key hashed h. */
static const uint8_t *get_hashed(const pending *p, pending_db db,
                                 const uint8_t *key, size_t key_bytes,
                                 uint64_t h, size_t *val_bytes)
{
	if (!p->run[db].count)
		return NULL;
	uint32_t x = p->tab[db][slot_at(p, db, key, key_bytes, h)];
	if (!x)
		return NULL;
	const pending_rec *r = &p->run[db].v[x - 1];
	*val_bytes = r->val_bytes;
	return rec_key(p, r) + r->key_bytes;
}

const uint8_t *pending_get(const pending *p, pending_db db, const void *key,
                           size_t key_bytes, size_t *val_bytes)
{
	return get_hashed(p, db, key, key_bytes, bytes_hash(key, key_bytes),
	                  val_bytes);
}

ledger_err pending_read(const uint8_t **val, size_t *val_bytes,
                        pending *p, MDB_txn *txn, const store *s,
                        pending_db db, const void *key, size_t key_bytes,
                        errbuf *e)
{
	uint64_t h = bytes_hash(key, key_bytes);     /* the table's, the filters' */
	MDB_val v;
	ledger_err err;

	if ((*val = get_hashed(p, db, key, key_bytes, h, val_bytes)) != NULL)
		return LEDGER_OK;
	if (db == PEND_IDS && !id_may_be_stored(p, txn, s, h))
		return LEDGER_ENOTFOUND;
	err = store_get(txn, s, pending_target[db], key, key_bytes, &v, e);
	if (err == LEDGER_OK) {
		*val = v.mv_data;
		*val_bytes = v.mv_size;
	}
	return err;
}

static uint64_t rel_seq(const pending *p, const pending_rec *r)
{
	return get_u64_be(rec_key(p, r) + r->key_bytes - 8);
}

uint8_t *pending_rel_value(pending *p, uint64_t seq, size_t *val_bytes)
{
	const pending_run *run = &p->run[PEND_REL];
	size_t lo = 0, hi = run->count;

	/* The run is in seq order until it is written. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		uint64_t s = rel_seq(p, &run->v[mid]);
		if (s == seq) {
			*val_bytes = run->v[mid].val_bytes;
			return p->bytes + run->v[mid].off + run->v[mid].key_bytes;
		}
		if (s < seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* LMDB's default key order: bytes, then the shorter first. */
static inline bool rec_less(const pending_rec *a, const pending_rec *b,
                            const uint8_t *bytes)
{
	if (a->head[0] != b->head[0])
		return a->head[0] < b->head[0];
	if (a->head[1] != b->head[1])
		return a->head[1] < b->head[1];
	return bytes_cmp(bytes + a->off, a->key_bytes, bytes + b->off, b->key_bytes) < 0;
}

SORT_DEFINE(rec_sort, pending_rec, const uint8_t *, rec_less)

static ledger_err write_run(pending *p, pending_db db, MDB_txn *txn,
                            const store *s, errbuf *e)
{
	pending_run *run = &p->run[db];
	store_db target = pending_target[db];
	MDB_cursor *c = NULL;
	MDB_val k, v;
	ledger_err err;

	if (!run->count)
		return LEDGER_OK;
	rec_sort(run->v, run->count, p->bytes);
	if ((err = store_cursor(&c, txn, s, target, e)) != LEDGER_OK)
		return err;
	/* A run that sorts after every stored key is appended. */
	const pending_rec *first = &run->v[0];
	unsigned flags = db == PEND_IDS ? MDB_NOOVERWRITE : 0;
	err = store_cursor_get(c, &k, &v, MDB_LAST, e);
	if (err == LEDGER_ENOTFOUND ||
	    (err == LEDGER_OK && bytes_cmp(rec_key(p, first), first->key_bytes,
	                                 k.mv_data, k.mv_size) > 0))
		flags = MDB_APPEND;
	else if (err != LEDGER_OK)
		goto out;
	if (db == PEND_IDS && p->ids_base == BASE_UNKNOWN)
		p->ids_base = err == LEDGER_ENOTFOUND ? BASE_EMPTY : BASE_STORED;
	err = LEDGER_OK;
	for (size_t i = 0; i < run->count && err == LEDGER_OK; i++) {
		const pending_rec *r = &run->v[i];
		const uint8_t *key = rec_key(p, r);
		if (db == PEND_IDS && p->ids_base == BASE_EMPTY &&
		    !filter_add(p, key, r->key_bytes)) {
			p->ids_base = BASE_STORED;
			filters_free(p);        /* never read again */
		}
		err = store_cursor_put(c, target, key, r->key_bytes, key + r->key_bytes,
		                       r->val_bytes, flags, e);
	}
out:
	store_cursor_close(c);
	return err;
}

ledger_err pending_write(pending *p, MDB_txn *txn, const store *s, errbuf *e)
{
	ledger_err err = LEDGER_OK;

	for (size_t db = 0; db < PEND_RUNS && err == LEDGER_OK; db++)
		err = write_run(p, (pending_db)db, txn, s, e);
	drop_buffered(p);
	return err;
}
