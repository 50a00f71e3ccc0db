/* Indexes and projections (see index.h). */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "codec.h"
#include "date.h"
#include "index.h"
#include "org.h"
#include "sort.h"

#define INDEX_REL_KEY_BYTES_MAX (KEYS_REL_BYTES_MAX + 1 + 4 + 8)

/* ---- key layouts ---- */

/* rel index key, 18 to 80 bytes; memcmp order is relationship, first day
 * of the date (0 for undated events: retractions, redactions, undated
 * organization events), then seq:
 *   [0..n)       relationship key (keys.h), n = 5..67
 *   [n]          00, so "org" sorts before "org-x" with any date
 *   [n+1..n+4]   first day, days from 1 = 0001-01-01, u32 big-endian
 *   [n+5..n+12]  seq, u64 big-endian                                   */
size_t index_rel_prefix(uint8_t *key, const uint8_t *rel, size_t rel_bytes)
{
	memcpy(key, rel, rel_bytes);
	key[rel_bytes] = 0;
	return rel_bytes + 1;
}

static size_t rel_key(uint8_t key[INDEX_REL_KEY_BYTES_MAX], const uint8_t *rel,
                      size_t rel_bytes, uint32_t day, uint64_t seq)
{
	size_t n = index_rel_prefix(key, rel, rel_bytes);

	put_u32_be(key + n, day);
	put_u64_be(key + n + 4, seq);
	return n + 12;
}

/* rel index value, 22 to 503 bytes (22 + e + l + a):
 *   [0]          event type (annals.EventType)
 *   [1]          date qualifier
 *   [2..5]       first day, u32 big-endian (0: undated)
 *   [6..9]       last day
 *   [10..17]     seq of the retraction that withdrew it, 0 while none;
 *                rewritten when the retraction is appended
 *   [18]         e = length of the EDTF text, then the text
 *   [19+e]       l = length of the list slug, then the slug
 *   [20+e+l..]   a = length of the authority, u16 big-endian, then it */
#define REL_RETRACTED_AT 10u

static size_t rel_value(uint8_t *v, const Annals__Envelope *env)
{
	const char *edtf = env->date ? env->date->edtf : "";
	size_t e = strlen(edtf), l = strlen(env->list), a = strlen(env->authority);
	uint8_t *p = v;

	assert(e < LEDGER_EDTF_BYTES_MAX && l <= LEDGER_SLUG_BYTES_MAX &&
	       a <= LEDGER_AUTHORITY_BYTES_MAX);
	*p++ = (uint8_t)env->type;
	*p++ = env->date ? (uint8_t)env->date->qualifier : 0;
	put_u32_be(p, env->date ? env->date->first_day : 0);
	put_u32_be(p + 4, env->date ? env->date->last_day : 0);
	put_u64_be(p + 8, 0);
	p += 16;
	*p++ = (uint8_t)e;
	memcpy(p, edtf, e);
	p += e;
	*p++ = (uint8_t)l;
	memcpy(p, env->list, l);
	p += l;
	*p++ = (uint8_t)(a >> 8);
	*p++ = (uint8_t)a;
	memcpy(p, env->authority, a);
	return (size_t)(p + a - v);
}

bool index_entry_decode(index_entry *out, const MDB_val *k, const MDB_val *v,
                        size_t rel_bytes)
{
	const uint8_t *p = v->mv_data, *end = p + v->mv_size;

	if (k->mv_size != rel_bytes + 13 || v->mv_size < 21)
		return false;
	memset(out, 0, sizeof *out);
	out->seq = get_u64_be((const uint8_t *)k->mv_data + rel_bytes + 5);
	out->ev.seq = out->seq;
	out->ev.type = (Annals__EventType)p[0];
	out->ev.first_day = get_u32_be(p + 2);
	out->ev.last_day = get_u32_be(p + 6);
	out->retracted_by = get_u64_be(p + 10);
	size_t e = p[18];
	if (e >= LEDGER_EDTF_BYTES_MAX || p + 19 + e + 1 > end)
		return false;
	memcpy(out->edtf, p + 19, e);
	out->ev.edtf = out->edtf;
	p += 19 + e;
	out->ev.list_bytes = *p++;
	out->ev.list = (const char *)p;
	p += out->ev.list_bytes;
	if (p + 2 > end)
		return false;
	out->ev.authority_bytes = (size_t)p[0] << 8 | p[1];
	out->ev.authority = (const char *)p + 2;
	return p + 2 + out->ev.authority_bytes == end;
}

/* Bucket units, finest first. A bucket of one unit lies inside one bucket
 * of the next unit, its parent; centuries lie inside all time. */
enum index_unit {
	UNIT_DAY, UNIT_MONTH, UNIT_YEAR, UNIT_DECADE, UNIT_CENTURY, UNITS
};

/* agg key, 11 to 73 bytes: relationship key, 00, level, first day of the
 * bucket u32 big-endian. The level is 0 for centuries, 1 decades, 2
 * years, 3 months and 4 days, the order in which a status reads them.
 * The value is a fold (fold.c) of the events of the bucket's parent from
 * the parent's first day through the bucket's last day (for a century:
 * from day 1), retracted ones left out: cumulative within the parent, so
 * a status reads one bucket a level. A bucket is stored when its own
 * events fold to something; day buckets only in busy months, those with
 * INDEX_DAY_MIN_EVENTS folding events or more.
 * status key: the relationship key; value: the stream's version, u64
 * big-endian, the first day of its earliest dated event, u32 big-endian
 * (kept for streams with buckets, else 0), then the fold of all its events
 * (every relationship with a country has one). */
static size_t agg_key(uint8_t *key, const uint8_t *rel, size_t rel_bytes,
                      unsigned unit, uint32_t start)
{
	size_t n = index_rel_prefix(key, rel, rel_bytes);

	key[n] = (uint8_t)(UNITS - 1 - unit);
	put_u32_be(key + n + 1, start);
	return n + 5;
}

/* First day of the bucket of `unit` holding day, and of the next one. */
static uint32_t unit_start(unsigned unit, uint32_t day)
{
	int y, m, d;

	if (unit == UNIT_DAY)
		return day;
	date_ymd(&y, &m, &d, day);
	switch (unit) {
	case UNIT_MONTH:  return date_day(y, m, 1);
	case UNIT_YEAR:   return date_day(y, 1, 1);
	case UNIT_DECADE: return date_day(y < 10 ? 1 : y / 10 * 10, 1, 1);
	default:          return date_day(y < 100 ? 1 : y / 100 * 100, 1, 1);
	}
}

static uint32_t unit_end(unsigned unit, uint32_t start)
{
	static const int years[UNITS] = { 0, 0, 1, 10, 100 };
	int y, m, d;

	if (unit == UNIT_DAY)
		return start + 1;
	date_ymd(&y, &m, &d, start);
	if (unit == UNIT_MONTH) {
		if (m == 12) { y++; m = 1; } else { m++; }
	} else if (unit == UNIT_YEAR) {
		y++;
	} else {
		/* The first decade and century start at year 1, not 0. */
		y = (y == 1 ? 0 : y) + years[unit];
	}
	return y > 9999 ? LEDGER_DAY_MAX + 1 : date_day(y, m, 1);
}

/* The days [*from, *to) of the parent of the bucket of `unit` at start. */
static void unit_parent(uint32_t *from, uint32_t *to, unsigned unit,
                        uint32_t start)
{
	if (unit == UNIT_CENTURY) {
		*from = 1;
		*to = LEDGER_DAY_MAX + 1;
		return;
	}
	*from = unit_start(unit + 1, start);
	*to = unit_end(unit + 1, *from);
}

/* ---- setup ---- */

ledger_err index_init(indexer *ix, store *s, errbuf *e, bool for_writes)
{
	memset(ix, 0, sizeof *ix);
	ix->s = s;
	ix->e = e;
	arena_init(&ix->a);
	fold_init(&ix->f);
	fold_init(&ix->g);
	pending_init(&ix->pend);
	ix->cap = 4096;
	ix->buf = malloc(ix->cap);
	if ((for_writes && !dirty_init(&ix->dirty)) || !ix->buf) {
		index_free(ix);
		return err_set(e, LEDGER_ENOMEM, "out of memory");
	}
	return LEDGER_OK;
}

void index_free(indexer *ix)
{
	arena_free(&ix->a);
	fold_free(&ix->f);
	fold_free(&ix->g);
	pending_free(&ix->pend);
	dirty_free(&ix->dirty);
	free(ix->buf);
	ix->buf = NULL;
}

void index_reset(indexer *ix)
{
	dirty_reset(&ix->dirty);
	pending_reset(&ix->pend);
}

/* ---- appending ---- */

ledger_err index_get_id(uint64_t *seq, indexer *ix, MDB_txn *txn,
                        const char *id)
{
	const uint8_t *p;
	size_t bytes;
	ledger_err err = pending_read(&p, &bytes, &ix->pend, txn, ix->s, PEND_IDS,
	                              id, strlen(id), ix->e);

	if (err != LEDGER_OK)
		return err;
	if (bytes != 8)
		return err_set(ix->e, LEDGER_ECORRUPT, "the id index entry of '%s' "
		               "is malformed (run annals rebuild)", id);
	*seq = get_u64_be(p);
	return LEDGER_OK;
}

ledger_err index_get_head(uint8_t head[INDEX_HEAD_BYTES], indexer *ix,
                          MDB_txn *txn, const uint8_t *rel, size_t rel_bytes)
{
	const uint8_t *p;
	size_t bytes;
	ledger_err err = pending_read(&p, &bytes, &ix->pend, txn, ix->s, PEND_HEADS,
	                              rel, rel_bytes, ix->e);

	if (err != LEDGER_OK)
		return err;
	if (bytes != INDEX_HEAD_BYTES)
		return err_set(ix->e, LEDGER_ECORRUPT, "a stream head is malformed "
		               "(run annals rebuild)");
	memcpy(head, p, INDEX_HEAD_BYTES);
	return LEDGER_OK;
}

ledger_err index_put_head(indexer *ix, const uint8_t *rel, size_t rel_bytes,
                          uint64_t version, uint64_t seq,
                          const uint8_t leaf[LEDGER_HASH_BYTES])
{
	uint8_t head[INDEX_HEAD_BYTES];

	put_u64_be(head, version);
	put_u64_be(head + 8, seq);
	memcpy(head + 16, leaf, LEDGER_HASH_BYTES);
	return pending_put(&ix->pend, PEND_HEADS, rel, rel_bytes, head, sizeof head,
	                   ix->e);
}

/* Mark a month of rel (the one of `day`; none for day 0) for index_flush,
 * flushing first when the set is full. */
static ledger_err mark_dirty(indexer *ix, MDB_txn *txn, const uint8_t *rel,
                             size_t rel_bytes, uint32_t day)
{
	uint32_t month = day ? unit_start(UNIT_MONTH, day) : 0;
	ledger_err err;

	if (dirty_add(&ix->dirty, rel, rel_bytes, month))
		return LEDGER_OK;
	if ((err = index_flush(ix, txn)) != LEDGER_OK)
		return err;
	return dirty_add(&ix->dirty, rel, rel_bytes, month) ? LEDGER_OK :
	       err_set(ix->e, LEDGER_ENOMEM, "the dirty set cannot hold a mark");
}

/* Mark the target of a retraction or redaction, and for a retraction
 * rewrite the target's rel entry so folds as of later seqs leave it out. */
static ledger_err index_target(indexer *ix, MDB_txn *txn,
                               const Annals__Envelope *env, uint64_t seq,
                               const uint8_t *rel, size_t rel_bytes)
{
	bool retract = env->type == ANNALS__EVENT_TYPE__RETRACTION;
	const char *id = retract ? env->retracts : env->redacts;
	uint8_t k[8], v[8], key[INDEX_REL_KEY_BYTES_MAX];
	uint64_t target;
	MDB_val x;
	ledger_err err = index_get_id(&target, ix, txn, id);

	if (err != LEDGER_OK)
		return err == LEDGER_ENOTFOUND ? err_set(ix->e, LEDGER_ECORRUPT,
		       "seq %llu withdraws '%s', which is not stored",
		       (unsigned long long)seq, id) : err;
	put_u64_be(k, target);
	put_u64_be(v, seq);
	if ((err = store_put(txn, ix->s, retract ? DB_RETRACTIONS : DB_REDACTIONS,
	                     k, 8, v, 8, MDB_NOOVERWRITE, ix->e)) != LEDGER_OK || !retract)
		return err;
	if ((err = store_get(txn, ix->s, DB_EVENTS, k, 8, &x, ix->e)) != LEDGER_OK)
		return err;
	arena_reset(&ix->a);
	Annals__Envelope *t = codec_envelope_decode(&ix->a, x.mv_data, x.mv_size);
	if (!t)
		return err_set(ix->e, LEDGER_ECORRUPT, "seq %llu cannot be decoded",
		               (unsigned long long)target);
	uint32_t day = t->date ? t->date->first_day : 0;
	size_t n = rel_key(key, rel, rel_bytes, day, target), bytes;
	uint8_t *buffered = pending_rel_value(&ix->pend, target, &bytes);
	if (buffered) {
		if (bytes < REL_RETRACTED_AT + 8)
			return err_set(ix->e, LEDGER_ECORRUPT, "rel index entry too short");
		put_u64_be(buffered + REL_RETRACTED_AT, seq);
	} else {
		if ((err = store_get(txn, ix->s, DB_REL, key, n, &x, ix->e)) != LEDGER_OK)
			return err;
		uint8_t val[512];
		if (x.mv_size > sizeof val || x.mv_size < REL_RETRACTED_AT + 8)
			return err_set(ix->e, LEDGER_ECORRUPT, "rel index entry malformed");
		memcpy(val, x.mv_data, x.mv_size);
		put_u64_be(val + REL_RETRACTED_AT, seq);
		if ((err = store_put(txn, ix->s, DB_REL, key, n, val, x.mv_size, 0,
		                     ix->e)) != LEDGER_OK)
			return err;
	}
	return fold_takes(t->type) && *t->country ?
	       mark_dirty(ix, txn, rel, rel_bytes, day) : LEDGER_OK;
}

ledger_err index_event(indexer *ix, MDB_txn *txn, const Annals__Envelope *env,
                       uint64_t seq, const uint8_t leaf[LEDGER_HASH_BYTES])
{
	uint8_t rel[KEYS_REL_BYTES_MAX], key[INDEX_REL_KEY_BYTES_MAX], val[512];
	uint8_t ids[8], dk[12];
	size_t rel_bytes = keys_rel(rel, env->country, env->organization), n;
	uint32_t day = env->date ? env->date->first_day : 0;
	ledger_err err;

	if (env->content_mac.len != LEDGER_HASH_BYTES)
		return err_set(ix->e, LEDGER_ECORRUPT, "seq %llu has no content MAC",
		               (unsigned long long)seq);
	put_u64_be(ids, seq);
	put_u32_be(dk, day);
	put_u64_be(dk + 4, seq);
	n = rel_key(key, rel, rel_bytes, day, seq);
	/* A full buffer is written out between events, not within one. */
	if (pending_full(&ix->pend) &&
	    (err = pending_write(&ix->pend, txn, ix->s, ix->e)) != LEDGER_OK)
		return err;
	if ((err = pending_put(&ix->pend, PEND_IDS, env->id, strlen(env->id), ids,
	                       sizeof ids, ix->e)) != LEDGER_OK ||
	    (err = index_put_head(ix, rel, rel_bytes, env->stream_version, seq,
	                          leaf)) != LEDGER_OK ||
	    (err = pending_put(&ix->pend, PEND_REL, key, n, val,
	                       rel_value(val, env), ix->e)) != LEDGER_OK ||
	    (err = pending_put(&ix->pend, PEND_BYDATE, dk, sizeof dk, rel,
	                       rel_bytes, ix->e)) != LEDGER_OK)
		return err;
	/* The event that makes a stream long enough for bucket folds marks
	 * it, whatever its type, so appends and rebuild agree on when the
	 * buckets are made. */
	if (*env->country && env->stream_version == INDEX_AGG_MIN_EVENTS &&
	    (err = mark_dirty(ix, txn, rel, rel_bytes, day ? day : 1)) != LEDGER_OK)
		return err;
	/* Every event of a relationship changes its version, which its
	 * status record holds: a mark without a month rewrites only that. */
	if (*env->country && !fold_takes(env->type) &&
	    (err = mark_dirty(ix, txn, rel, rel_bytes, 0)) != LEDGER_OK)
		return err;
	switch (env->type) {
	case ANNALS__EVENT_TYPE__ORGANIZATION:
		return org_index(txn, ix->s, env, seq, ix->e);
	case ANNALS__EVENT_TYPE__RETRACTION:
	case ANNALS__EVENT_TYPE__REDACTION:
		return index_target(ix, txn, env, seq, rel, rel_bytes);
	default:
		/* A stream too short for bucket folds has none yet (they are
		 * made at a flush, which empties the set): its month does not
		 * matter, and one mark a stream is kept. */
		return fold_takes(env->type) ?
		       mark_dirty(ix, txn, rel, rel_bytes,
		                  env->stream_version < INDEX_AGG_MIN_EVENTS ? 0 : day) :
		       LEDGER_OK;
	}
}

/* ---- folding ---- */

/* Fold the rel entries of [from, to) days into f, leaving out events
 * retracted as of as_of and events after it; counts entries seen and
 * folding events applied (either may be NULL). With `limit` entries
 * folded and one more in the range, stops and sets *more (when not
 * NULL). */
static ledger_err fold_range_limit(fold *f, indexer *ix, MDB_txn *txn,
                                   const uint8_t *rel, size_t rel_bytes,
                                   uint32_t from, uint32_t to, uint64_t as_of,
                                   uint64_t *seen, uint64_t *applied,
                                   uint64_t limit, bool *more)
{
	uint8_t key[INDEX_REL_KEY_BYTES_MAX];
	MDB_cursor *c = NULL;
	MDB_val k, v;
	index_entry x;
	uint64_t folded = 0;
	ledger_err err = store_cursor(&c, txn, ix->s, DB_REL, ix->e);

	if (more)
		*more = false;
	if (err != LEDGER_OK)
		return err;
	k.mv_size = rel_key(key, rel, rel_bytes, from, 0);
	k.mv_data = key;
	for (err = store_cursor_get(c, &k, &v, MDB_SET_RANGE, ix->e); err == LEDGER_OK;
	     err = store_cursor_get(c, &k, &v, MDB_NEXT, ix->e)) {
		if (k.mv_size != rel_bytes + 13 || memcmp(k.mv_data, key, rel_bytes + 1))
			break;
		if (!index_entry_decode(&x, &k, &v, rel_bytes)) {
			err = err_set(ix->e, LEDGER_ECORRUPT, "a rel index entry is "
			              "malformed (run annals rebuild)");
			break;
		}
		if (x.ev.first_day >= to)
			break;
		if (folded == limit) {
			if (more)
				*more = true;
			break;
		}
		folded++;
		if (x.seq > as_of)
			continue;
		if (seen)
			(*seen)++;
		if ((x.retracted_by && x.retracted_by <= as_of) || x.ev.first_day == 0)
			continue;
		if (!fold_apply(f, &x.ev)) {
			err = err_set(ix->e, LEDGER_ENOMEM, "out of memory");
			break;
		}
		if (applied && fold_takes(x.ev.type))
			(*applied)++;
	}
	store_cursor_close(c);
	return err == LEDGER_ENOTFOUND ? LEDGER_OK : err;
}

static ledger_err fold_range(fold *f, indexer *ix, MDB_txn *txn,
                             const uint8_t *rel, size_t rel_bytes, uint32_t from,
                             uint32_t to, uint64_t as_of, uint64_t *seen,
                             uint64_t *applied)
{
	return fold_range_limit(f, ix, txn, rel, rel_bytes, from, to, as_of, seen,
	                        applied, UINT64_MAX, NULL);
}

/* The bucket work of one relationship: its key, and a cursor of agg and
 * one of rel, each positioned afresh by every seek (writes in between
 * are allowed). */
typedef struct bucket_ctx {
	indexer *ix;
	MDB_txn *txn;
	const uint8_t *rel;
	size_t rel_bytes;
	MDB_cursor *agg, *rels;
} bucket_ctx;

static ledger_err bucket_open(bucket_ctx *b, indexer *ix, MDB_txn *txn,
                              const uint8_t *rel, size_t rel_bytes)
{
	ledger_err err;

	memset(b, 0, sizeof *b);
	b->ix = ix;
	b->txn = txn;
	b->rel = rel;
	b->rel_bytes = rel_bytes;
	if ((err = store_cursor(&b->agg, txn, ix->s, DB_AGG, ix->e)) == LEDGER_OK)
		err = store_cursor(&b->rels, txn, ix->s, DB_REL, ix->e);
	return err;
}

static void bucket_close(bucket_ctx *b)
{
	store_cursor_close(b->agg);
	store_cursor_close(b->rels);
	b->agg = b->rels = NULL;
}

/* The first day of the stream's earliest dated event (0: none): the rel
 * entries are in day order, undated ones (day 0) first. */
static ledger_err first_dated_day(uint32_t *out, bucket_ctx *b)
{
	uint8_t key[INDEX_REL_KEY_BYTES_MAX];
	MDB_val k = { rel_key(key, b->rel, b->rel_bytes, 1, 0), key }, v;
	ledger_err err = store_cursor_get(b->rels, &k, &v, MDB_SET_RANGE, b->ix->e);

	*out = 0;
	if (err == LEDGER_OK && k.mv_size == b->rel_bytes + 13 &&
	    memcmp(k.mv_data, key, b->rel_bytes + 1) == 0)
		*out = get_u32_be((const uint8_t *)k.mv_data + b->rel_bytes + 1);
	return err == LEDGER_ENOTFOUND ? LEDGER_OK : err;
}

/* Seek c to the first key at or after key[0..n); *day gets the u32
 * big-endian at key[prefix] of the key found when it has n bytes, shares
 * key[0..prefix) and is below `to`, else `to`. */
static ledger_err seek_day(uint32_t *day, bucket_ctx *b, MDB_cursor *c,
                           const uint8_t *key, size_t n, size_t prefix,
                           uint32_t to)
{
	MDB_val k = { n, (void *)key }, v;
	ledger_err err = store_cursor_get(c, &k, &v, MDB_SET_RANGE, b->ix->e);

	*day = to;
	if (err == LEDGER_OK && k.mv_size == n && memcmp(k.mv_data, key, prefix) == 0 &&
	    get_u32_be((const uint8_t *)k.mv_data + prefix) < to)
		*day = get_u32_be((const uint8_t *)k.mv_data + prefix);
	return err == LEDGER_ENOTFOUND ? LEDGER_OK : err;
}

/* The first day in [from, to) that starts a stored bucket of `unit`, or
 * for months (whose children are events) an event; `to` when none. */
static ledger_err first_child(uint32_t *day, bucket_ctx *b, unsigned unit,
                              uint32_t from, uint32_t to)
{
	uint8_t key[INDEX_REL_KEY_BYTES_MAX];
	size_t n;

	if (unit == UNIT_MONTH) {
		n = rel_key(key, b->rel, b->rel_bytes, from, 0);
		return seek_day(day, b, b->rels, key, n, b->rel_bytes + 1, to);
	}
	n = agg_key(key, b->rel, b->rel_bytes, unit - 1, from);
	return seek_day(day, b, b->agg, key, n, n - 4, to);
}

/* The stored bucket of `unit` with the latest start in [from, to),
 * decoded into out; *found is false when there is none. */
static ledger_err agg_last(fold *out, bool *found, bucket_ctx *b,
                           unsigned unit, uint32_t from, uint32_t to)
{
	uint8_t key[INDEX_REL_KEY_BYTES_MAX];
	size_t n = agg_key(key, b->rel, b->rel_bytes, unit, to);
	MDB_val k = { n, key }, v;
	ledger_err err;

	*found = false;
	if (from >= to)
		return LEDGER_OK;
	err = store_cursor_get(b->agg, &k, &v, MDB_SET_RANGE, b->ix->e);
	if (err != LEDGER_OK && err != LEDGER_ENOTFOUND)
		return err;
	err = store_cursor_get(b->agg, &k, &v, err == LEDGER_ENOTFOUND ? MDB_LAST :
	                       MDB_PREV, b->ix->e);
	if (err != LEDGER_OK || k.mv_size != n || memcmp(k.mv_data, key, n - 4) != 0 ||
	    get_u32_be((const uint8_t *)k.mv_data + n - 4) < from)
		return err == LEDGER_ENOTFOUND ? LEDGER_OK : err;
	if (!fold_decode(out, v.mv_data, v.mv_size))
		return err_set(b->ix->e, LEDGER_ECORRUPT, "a bucket fold is malformed "
		               "(run annals rebuild)");
	*found = true;
	return LEDGER_OK;
}

ledger_err index_fold_at(fold *f, indexer *ix, MDB_txn *txn,
                         const uint8_t *rel, size_t rel_bytes, uint32_t at,
                         uint64_t version, uint32_t first_day)
{
	uint32_t to = at == LEDGER_DAY_MAX ? LEDGER_DAY_MAX + 1 : at + 1, from = 1;
	fold *g = f == &ix->g ? &ix->f : &ix->g;
	bucket_ctx b;
	bool found = false, any = false;
	ledger_err err = LEDGER_OK;

	fold_reset(f);
	if (version >= INDEX_AGG_MIN_EVENTS) {
		/* The century before at's, then within it the decade before
		 * at's, the year, the month, and in a busy month the day of at
		 * or before: each bucket folds its parent up to its end, so one
		 * bucket a level. A month without day buckets is read from its
		 * events. */
		uint32_t month = unit_start(UNIT_MONTH, at);
		err = bucket_open(&b, ix, txn, rel, rel_bytes);
		for (unsigned unit = UNITS; unit-- > 0 && err == LEDGER_OK;) {
			uint32_t lo = unit == UNIT_CENTURY ? 1 : unit_start(unit + 1, at);
			uint32_t hi = unit == UNIT_DAY ? to : unit_start(unit, at);
			/* A bucket ends by hi, so it holds an event before hi:
			 * none when the stream starts at hi or later. */
			if (unit != UNIT_DAY && first_day >= hi) {
				found = false;
				continue;
			}
			if (unit == UNIT_DAY) {
				/* Up to at in a month with fewer events than a busy
				 * month's: those events, without a day-bucket seek. */
				bool more;
				fold_reset(g);
				err = fold_range_limit(g, ix, txn, rel, rel_bytes, month, to,
				                       UINT64_MAX, NULL, NULL,
				                       INDEX_DAY_MIN_EVENTS, &more);
				if (err == LEDGER_OK && !more) {
					if (!fold_compose(f, g))
						err = err_set(ix->e, LEDGER_ENOMEM, "out of memory");
					month = to;
					break;
				}
			}
			if (err == LEDGER_OK)
				err = agg_last(any ? g : f, &found, &b, unit, lo, hi);
			if (err == LEDGER_OK && found && any && !fold_compose(f, g))
				err = err_set(ix->e, LEDGER_ENOMEM, "out of memory");
			any = any || found;
		}
		bucket_close(&b);
		from = found ? to : month;
	}
	if (err != LEDGER_OK || from >= to)
		return err;
	return fold_range(f, ix, txn, rel, rel_bytes, from, to, UINT64_MAX,
	                  NULL, NULL);
}

ledger_err index_fold_scan(fold *f, uint64_t *version, indexer *ix,
                           MDB_txn *txn, const uint8_t *rel, size_t rel_bytes,
                           uint32_t at, uint64_t as_of)
{
	uint64_t seen = 0;
	ledger_err err;

	fold_reset(f);
	err = fold_range(f, ix, txn, rel, rel_bytes, 0, at + 1, as_of, &seen, NULL);
	if (err == LEDGER_OK && version) {
		/* The version counts every event as of as_of, dated after `at`
		 * or not: count the rest of the stream too. */
		fold_reset(&ix->g);
		err = fold_range(&ix->g, ix, txn, rel, rel_bytes, at + 1,
		                 LEDGER_DAY_MAX + 1, as_of, &seen, NULL);
		*version = seen;
	}
	return err;
}

/* ---- flushing ---- */

/* Store head[0..head_bytes) followed by the encoded f under key in db.
 * Without a head, an empty fold is not stored (the key is deleted). */
static ledger_err put_fold(indexer *ix, MDB_txn *txn, store_db db,
                           const uint8_t *key, size_t key_bytes,
                           const uint8_t *head, size_t head_bytes, const fold *f)
{
	size_t n = head_bytes + fold_encoded_bytes(f);

	if (!head_bytes && !f->last_change.seq) {
		ledger_err err = store_del(txn, ix->s, db, key, key_bytes, NULL, 0, ix->e);
		return err == LEDGER_ENOTFOUND ? LEDGER_OK : err;
	}
	if (n > ix->cap) {
		uint8_t *p = realloc(ix->buf, n);
		if (!p)
			return err_set(ix->e, LEDGER_ENOMEM, "out of memory");
		ix->buf = p;
		ix->cap = n;
	}
	if (head_bytes)
		memcpy(ix->buf, head, head_bytes);
	n = head_bytes + fold_encode(ix->buf + head_bytes, ix->cap - head_bytes, f);
	return store_put(txn, ix->s, db, key, key_bytes, ix->buf, n, 0, ix->e);
}

/* Store f as the bucket of `unit` at start (deleted when f is empty). */
static ledger_err put_bucket(bucket_ctx *b, unsigned unit, uint32_t start,
                             const fold *f)
{
	uint8_t key[INDEX_REL_KEY_BYTES_MAX];

	return put_fold(b->ix, b->txn, DB_AGG, key,
	                agg_key(key, b->rel, b->rel_bytes, unit, start), NULL, 0, f);
}

/* Delete the stored buckets of `unit` starting in [from, to). */
static ledger_err drop_buckets(bucket_ctx *b, unsigned unit, uint32_t from,
                               uint32_t to)
{
	uint8_t key[INDEX_REL_KEY_BYTES_MAX];
	size_t n = agg_key(key, b->rel, b->rel_bytes, unit, from);
	uint32_t start;
	ledger_err err = LEDGER_OK;

	/* Each round deletes one bucket of the range, or ends. */
	for (uint32_t left = to - from; left > 0 && err == LEDGER_OK; left--) {
		if ((err = seek_day(&start, b, b->agg, key, n, n - 4, to)) != LEDGER_OK ||
		    start >= to)
			break;
		put_u32_be(key + n - 4, start);
		err = store_del(b->txn, b->ix->s, DB_AGG, key, n, NULL, 0, b->ix->e);
	}
	return err;
}

/* Fold the events of one month into g again and rewrite its day
 * buckets: cumulative from the month's first day, one for each day whose
 * events fold to something, when the month is busy; none otherwise. */
static ledger_err month_refold(bucket_ctx *b, fold *g, uint32_t month)
{
	uint32_t end = unit_end(UNIT_MONTH, month), day = month;
	uint64_t applied = 0;
	ledger_err err = drop_buckets(b, UNIT_DAY, month, end);

	fold_reset(g);
	if (err == LEDGER_OK)
		err = fold_range(g, b->ix, b->txn, b->rel, b->rel_bytes, month, end,
		                 UINT64_MAX, NULL, &applied);
	if (err != LEDGER_OK || applied < INDEX_DAY_MIN_EVENTS)
		return err;
	fold_reset(g);
	/* Day by day: each round folds the next day that has events. */
	for (uint32_t left = end - month; left > 0 && err == LEDGER_OK; left--) {
		if ((err = first_child(&day, b, UNIT_MONTH, day, end)) != LEDGER_OK ||
		    day >= end)
			break;
		applied = 0;
		err = fold_range(g, b->ix, b->txn, b->rel, b->rel_bytes, day, day + 1,
		                 UINT64_MAX, NULL, &applied);
		if (err == LEDGER_OK && applied)
			err = put_bucket(b, UNIT_DAY, day, g);
		day++;
	}
	return err;
}

/* The fold of the events of the bucket of `unit` at start alone, into g:
 * for a month refolded from its events when dirty, else its last day
 * bucket or its events; above, its last child bucket (which folds the
 * whole bucket, being cumulative within it). */
static ledger_err bucket_own(bucket_ctx *b, fold *g, unsigned unit,
                             uint32_t start, bool dirty)
{
	uint32_t end = unit_end(unit, start);
	bool found;
	ledger_err err;

	if (unit == UNIT_MONTH && dirty)
		return month_refold(b, g, start);
	fold_reset(g);
	err = agg_last(g, &found, b, unit - 1, start, end);
	if (err != LEDGER_OK || found || unit > UNIT_MONTH)
		return err;
	return fold_range(g, b->ix, b->txn, b->rel, b->rel_bytes, start, end,
	                  UINT64_MAX, NULL, NULL);
}

/* Recompute the buckets of `unit` (month and up) from each dirty one,
 * d[0..count) (sorted unique starts), to the end of its parent: the
 * cumulative folds after a changed bucket change too. */
static ledger_err level_update(bucket_ctx *b, unsigned unit, const uint32_t *d,
                               size_t count)
{
	fold *f = &b->ix->f, *g = &b->ix->g;
	size_t i = 0;
	ledger_err err = LEDGER_OK;

	while (i < count && err == LEDGER_OK) {
		uint32_t from, end, pos = d[i], child, next;
		bool found;
		unit_parent(&from, &end, unit, pos);
		if ((err = agg_last(f, &found, b, unit, from, pos)) != LEDGER_OK)
			break;
		if (!found)
			fold_reset(f);
		/* Each round moves pos past one bucket that has children. */
		for (uint32_t left = end - pos; left > 0 && err == LEDGER_OK && pos < end;
		     left--, pos = unit_end(unit, next)) {
			if ((err = first_child(&child, b, unit, pos, end)) != LEDGER_OK)
				break;
			next = child < end ? unit_start(unit, child) : end;
			/* Dirty buckets left without children are deleted (a
			 * month with its days). */
			for (; i < count && d[i] < next && err == LEDGER_OK; i++) {
				err = drop_buckets(b, unit, d[i], d[i] + 1);
				if (err == LEDGER_OK && unit == UNIT_MONTH)
					err = drop_buckets(b, UNIT_DAY, d[i], unit_end(unit, d[i]));
			}
			if (err != LEDGER_OK || next == end)
				break;
			bool dirty = i < count && d[i] == next;
			i += dirty;
			if ((err = bucket_own(b, g, unit, next, dirty)) != LEDGER_OK)
				break;
			if (!g->last_change.seq)        /* nothing of its own folds */
				err = drop_buckets(b, unit, next, next + 1);
			else if (!fold_compose(f, g))
				err = err_set(b->ix->e, LEDGER_ENOMEM, "out of memory");
			else
				err = put_bucket(b, unit, next, f);
		}
		while (i < count && d[i] < end)
			i++;
	}
	return err;
}

static ledger_err has_buckets(bool *out, bucket_ctx *b)
{
	uint8_t key[INDEX_REL_KEY_BYTES_MAX];
	size_t n = index_rel_prefix(key, b->rel, b->rel_bytes);
	MDB_val k = { n, key }, v;
	ledger_err err = store_cursor_get(b->agg, &k, &v, MDB_SET_RANGE, b->ix->e);

	*out = err == LEDGER_OK && k.mv_size == b->rel_bytes + 6 &&
	       memcmp(k.mv_data, key, n) == 0;
	return err == LEDGER_ENOTFOUND ? LEDGER_OK : err;
}

/* Every month of rel that holds an event: for a stream that just became
 * long enough to keep bucket folds. */
static ledger_err all_months(bucket_ctx *b, uint32_t **months, size_t *count)
{
	uint32_t day = 1;
	size_t cap = 0;
	ledger_err err = LEDGER_OK;

	*count = 0;
	*months = NULL;
	/* Each round finds the next month with an event, or ends. */
	for (uint32_t left = LEDGER_DAY_MAX; left > 0 && err == LEDGER_OK; left--) {
		if ((err = first_child(&day, b, UNIT_MONTH, day, LEDGER_DAY_MAX + 1)) != LEDGER_OK ||
		    day > LEDGER_DAY_MAX)
			break;
		if (*count == cap) {
			cap = cap ? cap * 2 : 64;
			uint32_t *p = realloc(*months, cap * sizeof *p);
			if (!p)
				return err_set(b->ix->e, LEDGER_ENOMEM, "out of memory");
			*months = p;
		}
		(*months)[(*count)++] = unit_start(UNIT_MONTH, day);
		day = unit_end(UNIT_MONTH, unit_start(UNIT_MONTH, day));
	}
	return err;
}

/* Map the sorted bucket starts d[0..count) to the starts of their
 * buckets of `unit`, in place, without repeats; returns the count left. */
static size_t starts_of(uint32_t *d, size_t count, unsigned unit)
{
	size_t n = 0;

	for (size_t i = 0; i < count; i++) {
		uint32_t s = unit_start(unit, d[i]);
		if (!n || d[n - 1] != s)
			d[n++] = s;
	}
	return n;
}

/* Recompute the buckets and current status of the relationship rel, given
 * its dirty months, marks from .. from + n of the sorted dirty set. */
static ledger_err flush_rel(indexer *ix, MDB_txn *txn, const uint8_t *rel,
                            size_t rel_bytes, size_t from, size_t n)
{
	uint32_t *months = NULL, local[64];
	size_t count = 0;
	bucket_ctx b;
	MDB_val v;
	bool buckets = false, found;
	ledger_err err = store_get(txn, ix->s, DB_HEADS, rel, rel_bytes, &v, ix->e);

	if (err != LEDGER_OK)
		return err;
	uint64_t version = get_u64_be(v.mv_data);
	if ((err = bucket_open(&b, ix, txn, rel, rel_bytes)) == LEDGER_OK &&
	    version >= INDEX_AGG_MIN_EVENTS)
		err = has_buckets(&buckets, &b);
	if (err == LEDGER_OK && version >= INDEX_AGG_MIN_EVENTS && !buckets) {
		err = all_months(&b, &months, &count);
	} else if (err == LEDGER_OK && buckets) {
		months = n <= 64 ? local : malloc(n * sizeof *months);
		if (!months)
			err = err_set(ix->e, LEDGER_ENOMEM, "out of memory");
		/* Sorted and unique; month 0 (the status alone) first. */
		for (size_t i = from; i < from + n && months; i++)
			if (dirty_month(&ix->dirty, i))
				months[count++] = dirty_month(&ix->dirty, i);
	}
	/* Months first, then years, decades and centuries: each level
	 * reads the one below. */
	for (unsigned unit = UNIT_MONTH; unit < UNITS && count && err == LEDGER_OK; unit++)
		err = level_update(&b, unit, months, count = starts_of(months, count, unit));
	if (months != local)
		free(months);
	/* The current status is the fold of every event of the stream: the
	 * last century bucket, which folds from day 1. */
	fold_reset(&ix->f);
	if (err == LEDGER_OK && version >= INDEX_AGG_MIN_EVENTS)
		err = agg_last(&ix->f, &found, &b, UNIT_CENTURY, 1, LEDGER_DAY_MAX + 1);
	else if (err == LEDGER_OK)
		err = fold_range(&ix->f, ix, txn, rel, rel_bytes, 1,
		                 LEDGER_DAY_MAX + 1, UINT64_MAX, NULL, NULL);
	uint32_t first = 0;
	if (err == LEDGER_OK && version >= INDEX_AGG_MIN_EVENTS)
		err = first_dated_day(&first, &b);
	bucket_close(&b);
	if (err != LEDGER_OK)
		return err;
	uint8_t head[INDEX_STATUS_HEAD_BYTES];
	index_status_head_put(head, version, first);
	return put_fold(ix, txn, DB_STATUS, rel, rel_bytes, head, sizeof head,
	                &ix->f);
}

ledger_err index_flush(indexer *ix, MDB_txn *txn)
{
	ledger_err err = pending_write(&ix->pend, txn, ix->s, ix->e);
	size_t n = err == LEDGER_OK ? dirty_sort(&ix->dirty) : 0, i = 0;

	/* Each round recomputes one relationship: its marks are adjacent. */
	while (i < n && err == LEDGER_OK) {
		size_t j = i + 1, rel_bytes;
		const uint8_t *rel = dirty_key(&ix->dirty, i, &rel_bytes);
		while (j < n && dirty_group(&ix->dirty, j) == dirty_group(&ix->dirty, i))
			j++;
		err = flush_rel(ix, txn, rel, rel_bytes, i, j - i);
		i = j;
	}
	dirty_reset(&ix->dirty);
	return err;
}
