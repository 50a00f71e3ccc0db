/* Status, timeline and changes: the public queries over the projections. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "bytes.h"
#include "codec.h"
#include "country.h"
#include "date.h"
#include "event.h"
#include "hash.h"
#include "ledger_impl.h"
#include "org.h"
#include "query.h"

/* ---- arguments ---- */

static uint32_t today(void)
{
	return date_day(1970, 1, 1) + (uint32_t)(time(NULL) / 86400);
}

/* A day given as YYYY-MM-DD (NULL: today). */
ledger_err query_day(uint32_t *out, ledger *l, const char *text,
                            const char *what)
{
	date_span d;
	const char *why;

	if (!text) {
		*out = today();
		return LEDGER_OK;
	}
	why = date_parse(&d, text, strlen(text));
	if (!why && (d.first_day != d.last_day || d.qualifier != DATE_EXACT))
		why = "must be a whole day, YYYY-MM-DD";
	if (why)
		return err_set(&l->e, LEDGER_EUSAGE, "%s '%.32s': %s", what, text, why);
	*out = d.first_day;
	return LEDGER_OK;
}

/* snprintf(dst, cap, "%s", src) without the format machinery: statuses
 * are filled millions of times by an export. */
static void copy_text(char *dst, size_t cap, const char *src)
{
	size_t n = strnlen(src, cap - 1);

	memcpy(dst, src, n);
	dst[n] = '\0';
}

ledger_err query_head(uint64_t *out, ledger *l, MDB_txn *txn)
{
	MDB_cursor *c = NULL;
	MDB_val k, v;
	size_t id = mdb_txn_id(txn);
	ledger_err err;

	/* A read transaction sees the ledger as the write transaction of its
	 * id left it: the same id, the same newest seq. */
	if (l->head_known && l->head_txn_id == id) {
		*out = l->head_seq;
		return LEDGER_OK;
	}
	*out = 0;
	err = store_cursor(&c, txn, l->s, DB_EVENTS, &l->e);
	if (err == LEDGER_OK)
		err = store_cursor_get(c, &k, &v, MDB_LAST, &l->e);
	if (err == LEDGER_OK)
		*out = get_u64_be(k.mv_data);
	store_cursor_close(c);
	if (err == LEDGER_ENOTFOUND)
		err = LEDGER_OK;
	if (err == LEDGER_OK) {
		l->head_known = true;
		l->head_txn_id = id;
		l->head_seq = *out;
	}
	return err;
}

static ledger_err recorded_at(uint64_t *out, ledger *l, MDB_txn *txn, uint64_t seq)
{
	uint8_t k[8];
	MDB_val v;
	ledger_err err;

	put_u64_be(k, seq);
	if ((err = store_get(txn, l->s, DB_EVENTS, k, 8, &v, &l->e)) != LEDGER_OK)
		return err;
	if (!codec_envelope_recorded_at(out, v.mv_data, v.mv_size))
		return err_set(&l->e, LEDGER_ECORRUPT, "seq %llu cannot be decoded "
		               "(run annals verify)", (unsigned long long)seq);
	return LEDGER_OK;
}

/* The seq an as-of names: a seq, or the last seq recorded at or before an
 * RFC 3339 time (recorded_at never decreases: binary search). */
ledger_err query_as_of(uint64_t *out, ledger *l, MDB_txn *txn,
                              const char *text, uint64_t head)
{
	int64_t t;
	const char *why;
	ledger_err err;

	*out = head;
	if (!text)
		return LEDGER_OK;
	if (*text >= '0' && *text <= '9' && strspn(text, "0123456789") == strlen(text)) {
		*out = strtoull(text, NULL, 10);
		if (*out > head || strlen(text) > 19)
			return err_set(&l->e, LEDGER_EUSAGE, "as-of %s is past the newest "
			               "seq, %llu", text, (unsigned long long)head);
		return LEDGER_OK;
	}
	if ((why = date_parse_rfc3339(&t, text)) != NULL)
		return err_set(&l->e, LEDGER_EUSAGE, "as-of '%.40s' is neither a seq "
		               "nor an RFC 3339 time: %s", text, why);
	uint64_t lo = 0, hi = head;   /* answer in [lo, hi] */
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo + 1) / 2, at = 0;
		if ((err = recorded_at(&at, l, txn, mid)) != LEDGER_OK)
			return err;
		if (t >= 0 && at <= (uint64_t)t)
			lo = mid;
		else
			hi = mid - 1;
	}
	*out = lo;
	return LEDGER_OK;
}

ledger_err query_rx(indexer **out, ledger *l)
{
	if (!l->rx) {
		indexer *ix = calloc(1, sizeof *ix);
		if (!ix || index_init(ix, l->s, &l->e, false) != LEDGER_OK) {
			free(ix);
			return err_set(&l->e, LEDGER_ENOMEM, "out of memory");
		}
		l->rx = ix;
	}
	*out = l->rx;
	return LEDGER_OK;
}

ledger_err query_country(char out[5], ledger *l, const char *text)
{
	const country *c = text ? country_find(text, strlen(text)) : NULL;

	if (!c)
		return err_set(&l->e, LEDGER_ENOTFOUND, "'%.64s' is not an ISO 3166 "
		               "country code or English name", text ? text : "");
	copy_text(out, 5, c->code);
	return LEDGER_OK;
}

ledger_err query_org(char out[LEDGER_SLUG_BYTES_MAX + 1], ledger *l,
                     MDB_txn *txn, const char *text)
{
	char why[EVENT_REASON_BYTES];
	ledger_err err = org_resolve(out, txn, l->s, text ? text : "", why,
	                             sizeof why, &l->e);

	/* A name given as an argument: ambiguous or unknown is a usage error. */
	if (err == LEDGER_EINPUT)
		err = LEDGER_EUSAGE;
	if (err == LEDGER_ENOTFOUND || err == LEDGER_EUSAGE)
		err_set(&l->e, err, "%s", why);
	return err;
}

/* ---- status ---- */

static const char *const axis_states[FOLD_AXES][3] = {
	{ "none", "recognized", "withdrawn" },
	{ "none", "established", "suspended" },
	{ "none", "open", "closed" },
	{ "none", "imposed", "lifted" },
};

static void fill_axis(ledger_status_axis *out, const fold_flag *f, int axis)
{
	out->state = axis_states[axis][f->state <= FOLD_OFF ? f->state : 0];
	out->seq = f->state ? f->since.seq : 0;
	copy_text(out->since, sizeof out->since, f->state ? f->since.edtf : "");
}

bool status_fill(ledger_status *out, const fold *f, uint32_t at)
{
	ledger_status_axis *axes[FOLD_AXES] = {
		&out->recognition, &out->relations, &out->mission, &out->sanctions,
	};

	date_format_day(out->at, at);
	out->certain = f->max_last_day <= at;
	for (int i = 0; i < FOLD_AXES; i++)
		fill_axis(axes[i], &f->axes[i], i);
	out->lists = calloc(f->lists_count + 1, sizeof *out->lists);
	if (!out->lists)
		return false;
	for (size_t i = 0; i < f->lists_count; i++) {
		const fold_list *x = &f->lists[i];
		if (!fold_list_on(x))
			continue;
		ledger_status_list *y = &out->lists[out->lists_count++];
		copy_text(y->list, sizeof y->list, x->name);
		copy_text(y->since, sizeof y->since, x->since.edtf);
		copy_text(y->authority, sizeof y->authority, x->authority);
		y->seq = x->since.seq;
	}
	out->listed = out->lists_count > 0;
	out->meetings = f->meetings;
	copy_text(out->last_meeting, sizeof out->last_meeting,
	          f->last_meeting.seq ? f->last_meeting.edtf : "");
	if (f->last_change.seq) {
		out->last_change_seq = f->last_change.seq;
		copy_text(out->last_change_date, sizeof out->last_change_date,
		          f->last_change.edtf);
		out->last_change_type = event_type_name((Annals__EventType)f->last_change_type);
	}
	return true;
}

ledger_err query_fill(ledger_status *out, ledger *l, const fold *f, uint32_t at)
{
	return status_fill(out, f, at) ? LEDGER_OK :
	       err_set(&l->e, LEDGER_ENOMEM, "out of memory");
}

/* Fold of rel at `at` as of as_of, from the fastest source that is exact:
 * the current-status record, bucket folds, or the stream's events. */
ledger_err query_fold(fold *f, uint64_t *version, ledger *l,
                              indexer *ix, MDB_txn *txn, const uint8_t *rel,
                              size_t rel_bytes, uint32_t at, uint64_t as_of,
                              uint64_t head)
{
	MDB_val v;
	ledger_err err;

	if (as_of < head)
		return index_fold_scan(f, version, ix, txn, rel, rel_bytes, at, as_of);
	/* The status record: the stream's version, then its current fold. */
	err = store_get(txn, l->s, DB_STATUS, rel, rel_bytes, &v, &l->e);
	fold_reset(f);
	*version = 0;
	if (err == LEDGER_ENOTFOUND)         /* no event in this stream */
		return LEDGER_OK;
	if (err != LEDGER_OK)
		return err;
	if (v.mv_size < INDEX_STATUS_HEAD_BYTES ||
	    !fold_decode(f, (const uint8_t *)v.mv_data + INDEX_STATUS_HEAD_BYTES,
	                 v.mv_size - INDEX_STATUS_HEAD_BYTES))
		return err_set(&l->e, LEDGER_ECORRUPT, "a current-status record is "
		               "malformed (run annals rebuild)");
	*version = index_status_version(v.mv_data);
	/* Every event of the stream starts by `at`: the record is the answer. */
	if (f->max_first_day <= at)
		return LEDGER_OK;
	return index_fold_at(f, ix, txn, rel, rel_bytes, at, *version,
	                     index_status_first_day(v.mv_data));
}

ledger_err ledger_status_get(ledger_status *out, ledger *l,
                             const ledger_status_query *q)
{
	char slug[LEDGER_SLUG_BYTES_MAX + 1];
	uint8_t rel[KEYS_REL_BYTES_MAX];
	MDB_txn *txn = NULL;
	indexer *ix;
	uint64_t head;
	uint32_t at;
	ledger_err err;

	memset(out, 0, sizeof *out);
	if ((err = query_rx(&ix, l)) != LEDGER_OK ||
	    (err = query_day(&at, l, q->at, "--at")) != LEDGER_OK ||
	    (err = query_country(out->country, l, q->country)) != LEDGER_OK ||
	    (err = ledger_read_begin(&txn, l)) != LEDGER_OK)
		return err;
	if ((err = query_org(slug, l, txn, q->organization)) != LEDGER_OK ||
	    (err = query_head(&head, l, txn)) != LEDGER_OK ||
	    (err = query_as_of(&out->as_of, l, txn, q->as_of, head)) != LEDGER_OK)
		goto out;
	copy_text(out->organization, sizeof out->organization, slug);
	size_t n = keys_rel(rel, out->country, slug);
	err = query_fold(&ix->f, &out->version, l, ix, txn, rel, n, at,
	                  out->as_of, head);
	if (err == LEDGER_OK)
		err = query_fill(out, l, &ix->f, at);
out:
	store_abort(txn);
	return err;
}

void ledger_status_free(ledger_status *s)
{
	if (!s)
		return;
	free(s->lists);
	s->lists = NULL;
	s->lists_count = 0;
}

