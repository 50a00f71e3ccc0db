/* Timelines and changes. */
#include <stdlib.h>
#include <string.h>

#include "bytes.h"
#include "codec.h"
#include "date.h"
#include "event.h"
#include "hash.h"
#include "ledger_impl.h"
#include "org.h"
#include "query.h"

/* ---- timeline ---- */

typedef struct tl_ctx {
	ledger *l;
	MDB_txn *txn;
	hasher h;
	uint64_t as_of;
	ledger_timeline_fn fn;
	void *ctx;
	bool stopped;
} tl_ctx;

static ledger_err tl_emit(tl_ctx *t, uint64_t seq, uint64_t retracted_by)
{
	ledger_event_view ev;
	ledger_timeline_item item = { &ev, retracted_by <= t->as_of ? retracted_by : 0 };
	ledger_err err = ledger_view_at(&ev, t->l, t->txn, seq, &t->h);

	if (err == LEDGER_OK && t->fn(t->ctx, &item) != 0)
		t->stopped = true;
	return err;
}

/* One relationship: its rel index in date order. */
static ledger_err tl_rel(tl_ctx *t, const uint8_t *rel, size_t rel_bytes,
                         uint32_t from, uint32_t to)
{
	uint8_t key[KEYS_REL_BYTES_MAX + 13];
	MDB_cursor *c = NULL;
	MDB_val k, v;
	index_entry x;
	ledger_err err = store_cursor(&c, t->txn, t->l->s, DB_REL, &t->l->e);
	size_t p = index_rel_prefix(key, rel, rel_bytes);

	if (err != LEDGER_OK)
		return err;
	put_u32_be(key + p, from);
	put_u64_be(key + p + 4, 0);
	k.mv_data = key;
	k.mv_size = p + 12;
	for (err = store_cursor_get(c, &k, &v, MDB_SET_RANGE, &t->l->e);
	     err == LEDGER_OK && !t->stopped;
	     err = store_cursor_get(c, &k, &v, MDB_NEXT, &t->l->e)) {
		if (k.mv_size != p + 12 || memcmp(k.mv_data, key, p))
			break;
		if (!index_entry_decode(&x, &k, &v, rel_bytes)) {
			err = err_set(&t->l->e, LEDGER_ECORRUPT, "a rel index entry is "
			              "malformed (run annals rebuild)");
			break;
		}
		if (x.ev.first_day > to)
			break;
		if (x.seq <= t->as_of &&
		    (err = tl_emit(t, x.seq, x.retracted_by)) != LEDGER_OK)
			break;
	}
	store_cursor_close(c);
	return err == LEDGER_ENOTFOUND ? LEDGER_OK : err;
}

/* Every relationship, or those of one country or one organization: the
 * date index, filtered by the relationship key it stores. */
static ledger_err tl_all(tl_ctx *t, const char *country, const char *org,
                         uint32_t from, uint32_t to)
{
	uint8_t key[12], rk[KEYS_REL_BYTES_MAX + 13];
	MDB_cursor *c = NULL;
	MDB_val k, v, r;
	index_entry x;
	size_t org_bytes = org ? strlen(org) : 0;
	ledger_err err = store_cursor(&c, t->txn, t->l->s, DB_BYDATE, &t->l->e);

	if (err != LEDGER_OK)
		return err;
	put_u32_be(key, from);
	put_u64_be(key + 4, 0);
	k.mv_data = key;
	k.mv_size = 12;
	for (err = store_cursor_get(c, &k, &v, MDB_SET_RANGE, &t->l->e);
	     err == LEDGER_OK && !t->stopped;
	     err = store_cursor_get(c, &k, &v, MDB_NEXT, &t->l->e)) {
		const uint8_t *kk = k.mv_data, *rel = v.mv_data;
		if (k.mv_size != 12 || v.mv_size < 5 || v.mv_size > KEYS_REL_BYTES_MAX)
			break;
		if (get_u32_be(kk) > to)
			break;
		uint64_t seq = get_u64_be(kk + 4);
		if (seq > t->as_of || !*(const char *)rel ||
		    (country && strncmp((const char *)rel, country, 4) != 0) ||
		    (org && (v.mv_size != 4 + org_bytes || memcmp(rel + 4, org, org_bytes))))
			continue;
		/* The retraction mark lives in the relationship's entry. */
		size_t p = index_rel_prefix(rk, rel, v.mv_size);
		memcpy(rk + p, kk, 12);
		r.mv_size = p + 12;
		r.mv_data = rk;
		MDB_val e;
		if ((err = store_get(t->txn, t->l->s, DB_REL, rk, r.mv_size, &e,
		                     &t->l->e)) != LEDGER_OK ||
		    !index_entry_decode(&x, &r, &e, v.mv_size)) {
			err = err_set(&t->l->e, LEDGER_ECORRUPT, "the date index names a "
			              "missing event (run annals rebuild)");
			break;
		}
		if ((err = tl_emit(t, seq, x.retracted_by)) != LEDGER_OK)
			break;
	}
	store_cursor_close(c);
	return err == LEDGER_ENOTFOUND ? LEDGER_OK : err;
}

static ledger_err tl_range(uint32_t *from, uint32_t *to, ledger *l,
                           const ledger_timeline_query *q)
{
	date_span d;
	const char *why;

	*from = 1;
	*to = LEDGER_DAY_MAX;
	if (q->from && (why = date_parse(&d, q->from, strlen(q->from))))
		return err_set(&l->e, LEDGER_EUSAGE, "--from '%.32s': %s", q->from, why);
	if (q->from)
		*from = d.first_day;
	if (q->to && (why = date_parse(&d, q->to, strlen(q->to))))
		return err_set(&l->e, LEDGER_EUSAGE, "--to '%.32s': %s", q->to, why);
	if (q->to)
		*to = d.last_day;
	return LEDGER_OK;
}

ledger_err ledger_timeline(ledger *l, const ledger_timeline_query *q,
                           ledger_timeline_fn fn, void *ctx)
{
	tl_ctx t = { .l = l, .fn = fn, .ctx = ctx };
	char code[5] = "", slug[LEDGER_SLUG_BYTES_MAX + 1] = "";
	uint64_t head;
	uint32_t from, to;
	ledger_err err;

	if ((err = tl_range(&from, &to, l, q)) != LEDGER_OK)
		return err;
	if (q->country && (err = query_country(code, l, q->country)) != LEDGER_OK)
		return err;
	if (hasher_init(&t.h) != 0)
		return err_set(&l->e, LEDGER_ENOMEM, "cannot set up SHA-256");
	if ((err = ledger_read_begin(&t.txn, l)) != LEDGER_OK)
		goto out;
	if ((q->organization &&
	     (err = query_org(slug, l, t.txn, q->organization)) != LEDGER_OK) ||
	    (err = query_head(&head, l, t.txn)) != LEDGER_OK ||
	    (err = query_as_of(&t.as_of, l, t.txn, q->as_of, head)) != LEDGER_OK)
		goto out;
	if (*code && *slug) {
		uint8_t rel[KEYS_REL_BYTES_MAX];
		err = tl_rel(&t, rel, keys_rel(rel, code, slug), from, to);
	} else {
		err = tl_all(&t, *code ? code : NULL, *slug ? slug : NULL, from, to);
	}
out:
	store_abort(t.txn);
	hasher_free(&t.h);
	return err;
}

/* ---- changes ---- */

typedef struct rel_seq {
	uint8_t rel[KEYS_REL_BYTES_MAX];
	uint8_t rel_bytes;
	uint64_t seq;
} rel_seq;

typedef struct rel_seqs {
	rel_seq *v;
	size_t count, cap;
} rel_seqs;

static int rel_seq_cmp(const void *a, const void *b)
{
	const rel_seq *x = a, *y = b;
	int c = bytes_cmp(x->rel, x->rel_bytes, y->rel, y->rel_bytes);

	return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

static int rel_seqs_add(rel_seqs *s, const uint8_t *rel, size_t n, uint64_t seq)
{
	if (s->count == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 256;
		rel_seq *p = realloc(s->v, cap * sizeof *p);
		if (!p)
			return -1;
		s->v = p;
		s->cap = cap;
	}
	memcpy(s->v[s->count].rel, rel, n);
	s->v[s->count].rel_bytes = (uint8_t)n;
	s->v[s->count++].seq = seq;
	return 0;
}

/* Events of (from, to] that fold, by relationship. */
static ledger_err changes_by_date(rel_seqs *out, ledger *l, MDB_txn *txn,
                                  uint32_t from, uint32_t to)
{
	uint8_t key[12];
	MDB_cursor *c = NULL;
	MDB_val k, v;
	ledger_err err = store_cursor(&c, txn, l->s, DB_BYDATE, &l->e);

	if (err != LEDGER_OK)
		return err;
	put_u32_be(key, from + 1);
	put_u64_be(key + 4, 0);
	k.mv_data = key;
	k.mv_size = 12;
	for (err = store_cursor_get(c, &k, &v, MDB_SET_RANGE, &l->e); err == LEDGER_OK;
	     err = store_cursor_get(c, &k, &v, MDB_NEXT, &l->e)) {
		if (k.mv_size != 12 || get_u32_be(k.mv_data) > to)
			break;
		if (v.mv_size < 5 || v.mv_size > KEYS_REL_BYTES_MAX || !*(char *)v.mv_data)
			continue;
		if (rel_seqs_add(out, v.mv_data, v.mv_size,
		                 get_u64_be((uint8_t *)k.mv_data + 4)) != 0) {
			err = err_set(&l->e, LEDGER_ENOMEM, "out of memory");
			break;
		}
	}
	store_cursor_close(c);
	return err == LEDGER_ENOTFOUND ? LEDGER_OK : err;
}

/* Events recorded after seq, by relationship. */
static ledger_err changes_by_seq(rel_seqs *out, ledger *l, MDB_txn *txn,
                                 uint64_t since)
{
	uint8_t key[8], rel[KEYS_REL_BYTES_MAX];
	MDB_cursor *c = NULL;
	MDB_val k, v;
	arena a;
	ledger_err err = store_cursor(&c, txn, l->s, DB_EVENTS, &l->e);

	if (err != LEDGER_OK)
		return err;
	arena_init(&a);
	put_u64_be(key, since + 1);
	k.mv_data = key;
	k.mv_size = 8;
	for (err = store_cursor_get(c, &k, &v, MDB_SET_RANGE, &l->e); err == LEDGER_OK;
	     err = store_cursor_get(c, &k, &v, MDB_NEXT, &l->e)) {
		arena_reset(&a);
		Annals__Envelope *env = codec_envelope_decode(&a, v.mv_data, v.mv_size);
		if (!env) {
			err = err_set(&l->e, LEDGER_ECORRUPT, "an event cannot be "
			              "decoded (run annals verify)");
			break;
		}
		if (!*env->country)
			continue;
		size_t n = keys_rel(rel, env->country, env->organization);
		if (rel_seqs_add(out, rel, n, env->seq) != 0) {
			err = err_set(&l->e, LEDGER_ENOMEM, "out of memory");
			break;
		}
	}
	arena_free(&a);
	store_cursor_close(c);
	return err == LEDGER_ENOTFOUND ? LEDGER_OK : err;
}

static bool axis_equal(const ledger_status_axis *a, const ledger_status_axis *b)
{
	return strcmp(a->state, b->state) == 0 && a->seq == b->seq;
}

/* Whether two statuses of one relationship say the same: lists, the four
 * axes, meetings. `at`, `as_of`, `certain` and the version do not count. */
static bool status_equal(const ledger_status *a, const ledger_status *b)
{
	if (a->lists_count != b->lists_count || a->meetings != b->meetings ||
	    strcmp(a->last_meeting, b->last_meeting) != 0 ||
	    !axis_equal(&a->recognition, &b->recognition) ||
	    !axis_equal(&a->relations, &b->relations) ||
	    !axis_equal(&a->mission, &b->mission) ||
	    !axis_equal(&a->sanctions, &b->sanctions))
		return false;
	for (size_t i = 0; i < a->lists_count; i++)
		if (strcmp(a->lists[i].list, b->lists[i].list) != 0 ||
		    a->lists[i].seq != b->lists[i].seq)
			return false;
	return true;
}

typedef struct changes_ctx {
	ledger *l;
	MDB_txn *txn;
	indexer *ix;
	uint64_t head;
	const ledger_changes_query *q;
	uint32_t from, to;       /* date mode; to is also the day in seq mode */
	ledger_changes_fn fn;
	void *ctx;
} changes_ctx;

static ledger_err changes_status(ledger_status *out, changes_ctx *x,
                                 const rel_seq *r, uint32_t at, uint64_t as_of)
{
	memset(out, 0, sizeof *out);
	memcpy(out->country, r->rel, 4);
	memcpy(out->organization, r->rel + 4, r->rel_bytes - 4u);
	out->as_of = as_of;
	ledger_err err = query_fold(&x->ix->f, &out->version, x->l, x->ix, x->txn,
	                            r->rel, r->rel_bytes, at, as_of, x->head);
	return err == LEDGER_OK ? query_fill(out, x->l, &x->ix->f, at) : err;
}

/* Compare one relationship's statuses and report it when they differ. */
static ledger_err changes_rel(changes_ctx *x, const rel_seq *r, size_t n,
                              bool *stop)
{
	ledger_status a, b;
	bool by_date = x->q->from != NULL;
	uint64_t *seqs = malloc(n * sizeof *seqs);
	ledger_err err;

	if (!seqs)
		return err_set(&x->l->e, LEDGER_ENOMEM, "out of memory");
	err = changes_status(&a, x, r, by_date ? x->from : x->to,
	                     by_date ? x->head : x->q->since_seq);
	if (err == LEDGER_OK)
		err = changes_status(&b, x, r, x->to, x->head);
	if (err == LEDGER_OK && !status_equal(&a, &b)) {
		for (size_t i = 0; i < n; i++)
			seqs[i] = r[i].seq;
		*stop = x->fn(x->ctx, &a, &b, seqs, n) != 0;
	}
	ledger_status_free(&a);
	ledger_status_free(&b);
	free(seqs);
	return err;
}

static ledger_err changes_args(changes_ctx *x, const ledger_changes_query *q)
{
	ledger_err err;

	if (q->from || q->to) {
		if (!q->from || !q->to)
			return err_set(&x->l->e, LEDGER_EUSAGE, "--from and --to go together");
		if ((err = query_day(&x->from, x->l, q->from, "--from")) != LEDGER_OK ||
		    (err = query_day(&x->to, x->l, q->to, "--to")) != LEDGER_OK)
			return err;
		if (x->from > x->to)
			return err_set(&x->l->e, LEDGER_EUSAGE, "--from must not be after --to");
		return LEDGER_OK;
	}
	if (q->since_seq > x->head)
		return err_set(&x->l->e, LEDGER_EUSAGE, "--since-seq %llu is past the "
		               "newest seq, %llu", (unsigned long long)q->since_seq,
		               (unsigned long long)x->head);
	return query_day(&x->to, x->l, q->at, "--at");
}

ledger_err ledger_changes(ledger *l, const ledger_changes_query *q,
                          ledger_changes_fn fn, void *ctx)
{
	changes_ctx x = { .l = l, .q = q, .fn = fn, .ctx = ctx };
	rel_seqs s = { 0 };
	bool stop = false;
	ledger_err err;

	if ((err = query_rx(&x.ix, l)) != LEDGER_OK ||
	    (err = ledger_read_begin(&x.txn, l)) != LEDGER_OK)
		return err;
	if ((err = query_head(&x.head, l, x.txn)) != LEDGER_OK ||
	    (err = changes_args(&x, q)) != LEDGER_OK)
		goto out;
	err = q->from ? changes_by_date(&s, l, x.txn, x.from, x.to)
	              : changes_by_seq(&s, l, x.txn, q->since_seq);
	if (err != LEDGER_OK)
		goto out;
	if (s.count > 1)
		qsort(s.v, s.count, sizeof *s.v, rel_seq_cmp);
	for (size_t i = 0; i < s.count && err == LEDGER_OK && !stop;) {
		size_t j = i + 1;
		while (j < s.count && s.v[j].rel_bytes == s.v[i].rel_bytes &&
		       memcmp(s.v[j].rel, s.v[i].rel, s.v[i].rel_bytes) == 0)
			j++;
		err = changes_rel(&x, &s.v[i], j - i, &stop);
		i = j;
	}
out:
	free(s.v);
	store_abort(x.txn);
	return err;
}
