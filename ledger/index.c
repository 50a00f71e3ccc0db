/* Indexes and projections (see index.h). */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "codec.h"
#include "date.h"
#include "index.h"
#include "org.h"

#define INDEX_LEVELS 4u   /* month, year, decade, century */
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

/* agg key: relationship key, 00, level (0 month, 1 year, 2 decade,
 * 3 century), first day of the bucket u32 big-endian; 11 to 73 bytes.
 * The value is a fold (fold.c) of the bucket's events, retracted ones
 * left out.  status key: the relationship key; value: a fold. */
static size_t agg_key(uint8_t *key, const uint8_t *rel, size_t rel_bytes,
                      unsigned level, uint32_t start)
{
	size_t n = index_rel_prefix(key, rel, rel_bytes);

	key[n] = (uint8_t)level;
	put_u32_be(key + n + 1, start);
	return n + 5;
}

/* First day of the bucket of `level` holding day, and of the next one. */
static uint32_t bucket_start(unsigned level, uint32_t day)
{
	int y, m, d;

	date_ymd(&y, &m, &d, day);
	switch (level) {
	case 0:  return date_day(y, m, 1);
	case 1:  return date_day(y, 1, 1);
	case 2:  return date_day(y < 10 ? 1 : y / 10 * 10, 1, 1);
	default: return date_day(y < 100 ? 1 : y / 100 * 100, 1, 1);
	}
}

static uint32_t bucket_end(unsigned level, uint32_t start)
{
	static const int years[] = { 0, 1, 10, 100 };
	int y, m, d;

	date_ymd(&y, &m, &d, start);
	if (level == 0) {
		if (m == 12) { y++; m = 1; } else { m++; }
	} else if (level == 1) {
		y++;
	} else {
		/* The first decade and century start at year 1, not 0. */
		y = (y == 1 ? 0 : y) + years[level];
	}
	return y > 9999 ? LEDGER_DAY_MAX + 1 : date_day(y, m, 1);
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
	ix->dirty = for_writes ? malloc(INDEX_DIRTY_MAX * sizeof *ix->dirty) : NULL;
	ix->cap = 4096;
	ix->buf = malloc(ix->cap);
	if ((for_writes && !ix->dirty) || !ix->buf) {
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
	free(ix->dirty);
	free(ix->buf);
	ix->dirty = NULL;
	ix->buf = NULL;
}

void index_reset(indexer *ix)
{
	ix->dirty_count = 0;
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

static int dirty_cmp(const void *a, const void *b)
{
	const index_dirty *x = a, *y = b;
	size_t n = x->rel_bytes < y->rel_bytes ? x->rel_bytes : y->rel_bytes;
	int c = memcmp(x->rel, y->rel, n);

	if (c || x->rel_bytes != y->rel_bytes)
		return c ? c : (x->rel_bytes < y->rel_bytes ? -1 : 1);
	return x->month < y->month ? -1 : x->month > y->month;
}

/* Sort the dirty set and drop repeated marks; returns the count left. */
static size_t dirty_unique(indexer *ix)
{
	size_t n = 0;

	qsort(ix->dirty, ix->dirty_count, sizeof *ix->dirty, dirty_cmp);
	for (size_t i = 0; i < ix->dirty_count; i++)
		if (!n || dirty_cmp(&ix->dirty[n - 1], &ix->dirty[i]) != 0)
			ix->dirty[n++] = ix->dirty[i];
	ix->dirty_count = n;
	return n;
}

static ledger_err flush_sorted(indexer *ix, MDB_txn *txn);

static ledger_err mark_dirty(indexer *ix, MDB_txn *txn, const uint8_t *rel,
                             size_t rel_bytes, uint32_t day)
{
	ledger_err err;

	/* A full set is first rid of repeated marks (hot streams mark the
	 * same months again and again); it is flushed when that frees less
	 * than a quarter of it. */
	if (ix->dirty_count == INDEX_DIRTY_MAX &&
	    dirty_unique(ix) > INDEX_DIRTY_MAX / 4 * 3 &&
	    (err = flush_sorted(ix, txn)) != LEDGER_OK)
		return err;
	index_dirty *d = &ix->dirty[ix->dirty_count++];
	memcpy(d->rel, rel, rel_bytes);
	d->rel_bytes = (uint8_t)rel_bytes;
	d->month = day ? bucket_start(0, day) : 0;
	return LEDGER_OK;
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
 * retracted as of as_of and events after it; counts entries seen. */
static ledger_err fold_range(fold *f, indexer *ix, MDB_txn *txn,
                             const uint8_t *rel, size_t rel_bytes, uint32_t from,
                             uint32_t to, uint64_t as_of, uint64_t *seen)
{
	uint8_t key[INDEX_REL_KEY_BYTES_MAX];
	MDB_cursor *c = NULL;
	MDB_val k, v;
	index_entry x;
	ledger_err err = store_cursor(&c, txn, ix->s, DB_REL, ix->e);

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
	}
	store_cursor_close(c);
	return err == LEDGER_ENOTFOUND ? LEDGER_OK : err;
}

/* Compose the stored folds of `level` with start in [from, to) into f. */
static ledger_err compose_range(fold *f, indexer *ix, MDB_txn *txn,
                                MDB_cursor *agg, const uint8_t *rel,
                                size_t rel_bytes, unsigned level, uint32_t from,
                                uint32_t to)
{
	uint8_t key[INDEX_REL_KEY_BYTES_MAX];
	MDB_cursor *c = agg;
	MDB_val k, v;
	fold *g = f == &ix->g ? &ix->f : &ix->g;
	ledger_err err;

	if (from >= to)
		return LEDGER_OK;
	if (!c && (err = store_cursor(&c, txn, ix->s, DB_AGG, ix->e)) != LEDGER_OK)
		return err;
	k.mv_size = agg_key(key, rel, rel_bytes, level, from);
	k.mv_data = key;
	for (err = store_cursor_get(c, &k, &v, MDB_SET_RANGE, ix->e); err == LEDGER_OK;
	     err = store_cursor_get(c, &k, &v, MDB_NEXT, ix->e)) {
		if (k.mv_size != rel_bytes + 6 || memcmp(k.mv_data, key, rel_bytes + 2) ||
		    get_u32_be((uint8_t *)k.mv_data + rel_bytes + 2) >= to)
			break;
		if (!fold_decode(g, v.mv_data, v.mv_size)) {
			err = err_set(ix->e, LEDGER_ECORRUPT, "a bucket fold is "
			              "malformed (run annals rebuild)");
			break;
		}
		if (!fold_compose(f, g)) {
			err = err_set(ix->e, LEDGER_ENOMEM, "out of memory");
			break;
		}
	}
	if (c != agg)
		store_cursor_close(c);
	return err == LEDGER_ENOTFOUND ? LEDGER_OK : err;
}

static ledger_err has_buckets(bool *out, indexer *ix, MDB_txn *txn,
                              MDB_cursor *agg, const uint8_t *rel,
                              size_t rel_bytes)
{
	uint8_t key[INDEX_REL_KEY_BYTES_MAX];
	MDB_cursor *c = agg;
	MDB_val k, v;
	ledger_err err;

	*out = false;
	if (!c && (err = store_cursor(&c, txn, ix->s, DB_AGG, ix->e)) != LEDGER_OK)
		return err;
	k.mv_size = index_rel_prefix(key, rel, rel_bytes);
	k.mv_data = key;
	err = store_cursor_get(c, &k, &v, MDB_SET_RANGE, ix->e);
	*out = err == LEDGER_OK && k.mv_size == rel_bytes + 6 &&
	       memcmp(k.mv_data, key, rel_bytes + 1) == 0;
	if (c != agg)
		store_cursor_close(c);
	return err == LEDGER_ENOTFOUND ? LEDGER_OK : err;
}

ledger_err index_fold_at(fold *f, indexer *ix, MDB_txn *txn,
                         const uint8_t *rel, size_t rel_bytes, uint32_t at,
                         uint64_t version)
{
	uint32_t from = 1;
	bool buckets = false;
	MDB_cursor *agg = NULL;
	ledger_err err = LEDGER_OK;

	fold_reset(f);
	/* One cursor for every level: opening one costs as much as a seek,
	 * and a seek near the last one stays on its page. */
	if (version >= INDEX_AGG_MIN_EVENTS &&
	    (err = store_cursor(&agg, txn, ix->s, DB_AGG, ix->e)) == LEDGER_OK)
		err = has_buckets(&buckets, ix, txn, agg, rel, rel_bytes);
	if (err == LEDGER_OK && buckets) {
		/* Whole centuries, then decades, years and months before the
		 * month of `at`: each level ends where the next one starts. */
		for (unsigned level = INDEX_LEVELS; level-- > 0 && err == LEDGER_OK;) {
			uint32_t to = bucket_start(level, at);
			err = compose_range(f, ix, txn, agg, rel, rel_bytes, level, from, to);
			from = to;
		}
	}
	store_cursor_close(agg);
	if (err != LEDGER_OK)
		return err;
	return fold_range(f, ix, txn, rel, rel_bytes, from,
	                  at == LEDGER_DAY_MAX ? LEDGER_DAY_MAX + 1 : at + 1,
	                  UINT64_MAX, NULL);
}

ledger_err index_fold_scan(fold *f, uint64_t *version, indexer *ix,
                           MDB_txn *txn, const uint8_t *rel, size_t rel_bytes,
                           uint32_t at, uint64_t as_of)
{
	uint64_t seen = 0;
	ledger_err err;

	fold_reset(f);
	err = fold_range(f, ix, txn, rel, rel_bytes, 0, at + 1, as_of, &seen);
	if (err == LEDGER_OK && version) {
		/* The version counts every event as of as_of, dated after `at`
		 * or not: count the rest of the stream too. */
		fold_reset(&ix->g);
		err = fold_range(&ix->g, ix, txn, rel, rel_bytes, at + 1,
		                 LEDGER_DAY_MAX + 1, as_of, &seen);
		*version = seen;
	}
	return err;
}

/* ---- flushing ---- */

static ledger_err put_fold(indexer *ix, MDB_txn *txn, store_db db,
                           const uint8_t *key, size_t key_bytes, const fold *f)
{
	size_t n = fold_encoded_bytes(f);

	if (!f->last_change.seq) {   /* an empty fold is not stored */
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
	n = fold_encode(ix->buf, ix->cap, f);
	return store_put(txn, ix->s, db, key, key_bytes, ix->buf, n, 0, ix->e);
}

/* Recompute the bucket of `level` starting at start from the level below. */
static ledger_err bucket_update(indexer *ix, MDB_txn *txn, const uint8_t *rel,
                                size_t rel_bytes, unsigned level, uint32_t start)
{
	uint8_t key[INDEX_REL_KEY_BYTES_MAX];
	uint32_t end = bucket_end(level, start);
	ledger_err err;

	fold_reset(&ix->f);
	if (level == 0)
		err = fold_range(&ix->f, ix, txn, rel, rel_bytes, start, end,
		                 UINT64_MAX, NULL);
	else
		err = compose_range(&ix->f, ix, txn, NULL, rel, rel_bytes, level - 1,
		                    start, end);
	if (err != LEDGER_OK)
		return err;
	return put_fold(ix, txn, DB_AGG, key, agg_key(key, rel, rel_bytes, level, start),
	                &ix->f);
}

/* Every month bucket of rel that holds an event: for a stream that just
 * became long enough to keep bucket folds. */
static ledger_err all_months(indexer *ix, MDB_txn *txn, const index_dirty *d,
                             uint32_t **months, size_t *count)
{
	uint8_t key[INDEX_REL_KEY_BYTES_MAX];
	MDB_cursor *c = NULL;
	MDB_val k, v;
	size_t cap = 0;
	ledger_err err = store_cursor(&c, txn, ix->s, DB_REL, ix->e);

	*count = 0;
	*months = NULL;
	if (err != LEDGER_OK)
		return err;
	k.mv_size = rel_key(key, d->rel, d->rel_bytes, 1, 0);
	k.mv_data = key;
	for (err = store_cursor_get(c, &k, &v, MDB_SET_RANGE, ix->e); err == LEDGER_OK;
	     err = store_cursor_get(c, &k, &v, MDB_NEXT, ix->e)) {
		if (k.mv_size != d->rel_bytes + 13u ||
		    memcmp(k.mv_data, key, d->rel_bytes + 1u))
			break;
		uint32_t m = bucket_start(0, get_u32_be((uint8_t *)k.mv_data + d->rel_bytes + 1));
		if (*count && (*months)[*count - 1] == m)
			continue;
		if (*count == cap) {
			cap = cap ? cap * 2 : 64;
			uint32_t *p = realloc(*months, cap * sizeof *p);
			if (!p) {
				err = err_set(ix->e, LEDGER_ENOMEM, "out of memory");
				break;
			}
			*months = p;
		}
		(*months)[(*count)++] = m;
	}
	store_cursor_close(c);
	return err == LEDGER_ENOTFOUND ? LEDGER_OK : err;
}

/* Recompute the buckets over the given months, level by level. */
static ledger_err buckets_update(indexer *ix, MDB_txn *txn, const index_dirty *d,
                                 const uint32_t *months, size_t count)
{
	ledger_err err = LEDGER_OK;

	for (unsigned level = 0; level < INDEX_LEVELS && err == LEDGER_OK; level++) {
		uint32_t last = 0;
		for (size_t i = 0; i < count && err == LEDGER_OK; i++) {
			uint32_t s = bucket_start(level, months[i]);
			if (s == last)
				continue;
			last = s;
			err = bucket_update(ix, txn, d->rel, d->rel_bytes, level, s);
		}
	}
	return err;
}

/* Recompute the buckets and current status of one relationship, given its
 * dirty months d[0..n). */
static ledger_err flush_rel(indexer *ix, MDB_txn *txn, const index_dirty *d,
                            size_t n)
{
	uint32_t *months = NULL, local[64];
	size_t count = 0;
	MDB_val v;
	bool buckets;
	ledger_err err = store_get(txn, ix->s, DB_HEADS, d->rel, d->rel_bytes, &v, ix->e);

	if (err != LEDGER_OK)
		return err;
	uint64_t version = get_u64_be(v.mv_data);
	if ((err = has_buckets(&buckets, ix, txn, NULL, d->rel, d->rel_bytes)) != LEDGER_OK)
		return err;
	if (version >= INDEX_AGG_MIN_EVENTS && !buckets) {
		err = all_months(ix, txn, d, &months, &count);
	} else if (buckets) {
		months = n <= 64 ? local : malloc(n * sizeof *months);
		if (!months)
			return err_set(ix->e, LEDGER_ENOMEM, "out of memory");
		for (size_t i = 0; i < n; i++)
			if (d[i].month && (!count || months[count - 1] != d[i].month))
				months[count++] = d[i].month;
	}
	if (err == LEDGER_OK && count)
		err = buckets_update(ix, txn, d, months, count);
	if (months != local)
		free(months);
	if (err != LEDGER_OK)
		return err;
	/* The current status is the fold of every event of the stream. */
	fold_reset(&ix->f);
	if (count)
		err = compose_range(&ix->f, ix, txn, NULL, d->rel, d->rel_bytes,
		                    INDEX_LEVELS - 1, 1, LEDGER_DAY_MAX + 1);
	else
		err = fold_range(&ix->f, ix, txn, d->rel, d->rel_bytes, 1,
		                 LEDGER_DAY_MAX + 1, UINT64_MAX, NULL);
	if (err != LEDGER_OK)
		return err;
	return put_fold(ix, txn, DB_STATUS, d->rel, d->rel_bytes, &ix->f);
}

/* index_flush of a dirty set already sorted and unique (dirty_unique). */
static ledger_err flush_sorted(indexer *ix, MDB_txn *txn)
{
	ledger_err err = pending_write(&ix->pend, txn, ix->s, ix->e);
	size_t i = 0;

	while (i < ix->dirty_count && err == LEDGER_OK) {
		size_t j = i + 1;
		while (j < ix->dirty_count && ix->dirty[j].rel_bytes == ix->dirty[i].rel_bytes &&
		       memcmp(ix->dirty[j].rel, ix->dirty[i].rel, ix->dirty[i].rel_bytes) == 0)
			j++;
		err = flush_rel(ix, txn, &ix->dirty[i], j - i);
		i = j;
	}
	ix->dirty_count = 0;
	return err;
}

ledger_err index_flush(indexer *ix, MDB_txn *txn)
{
	dirty_unique(ix);
	return flush_sorted(ix, txn);
}
