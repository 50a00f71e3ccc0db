/* Snapshots: the status of every relationship, streamed in key order. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <unistr.h>

#include "bytes.h"
#include "codec.h"
#include "date.h"
#include "hash.h"
#include "ledger_impl.h"
#include "query.h"

#define EXPORT_FORMAT_NAME "annals-snapshot-1"
#define EXPORT_NAME_BYTES  (LEDGER_NAME_BYTES_MAX * 4 + 1)

/* ---- the checkpoint a snapshot carries ---- */

/* The stored checkpoint of the smallest size >= size (exact when `exact`). */
static ledger_err stored_checkpoint(char **note, uint64_t *found, ledger *l,
                                    uint64_t size, bool exact)
{
	MDB_txn *txn = NULL;
	MDB_cursor *c = NULL;
	MDB_val k, v;
	uint8_t key[8];
	ledger_err err;

	*note = NULL;
	if ((err = ledger_read_begin(&txn, l)) != LEDGER_OK)
		return err;
	put_u64_be(key, size);
	k.mv_data = key;
	k.mv_size = 8;
	if ((err = store_cursor(&c, txn, l->s, DB_CHECKPOINTS, &l->e)) == LEDGER_OK)
		err = store_cursor_get(c, &k, &v, MDB_SET_RANGE, &l->e);
	if (err == LEDGER_OK && (k.mv_size != 8 || (exact && get_u64_be(k.mv_data) != size)))
		err = LEDGER_ENOTFOUND;
	if (err == LEDGER_OK) {
		*found = get_u64_be(k.mv_data);
		if (!(*note = malloc(v.mv_size + 1)))
			err = err_set(&l->e, LEDGER_ENOMEM, "out of memory");
		else {
			memcpy(*note, v.mv_data, v.mv_size);
			(*note)[v.mv_size] = '\0';
		}
	}
	store_cursor_close(c);
	store_abort(txn);
	return err;
}

ledger_err query_checkpoint(char **note, uint64_t *note_size, ledger_proof *proof,
                            ledger *l, uint64_t size)
{
	ledger_err err = stored_checkpoint(note, note_size, l, size, true);
	ledger_err sign = LEDGER_OK;
	char why[ERR_MSG_BYTES];

	proof->hashes_count = 0;
	if (err != LEDGER_ENOTFOUND)
		return err;
	if (!store_readonly(l->s)) {
		sign = ledger_checkpoint(note, l, size);
		if (sign == LEDGER_OK) {
			*note_size = size;
			return LEDGER_OK;
		}
	}
	snprintf(why, sizeof why, "%s", l->e.msg);
	/* A newer stored checkpoint and a consistency proof cover the size. */
	err = stored_checkpoint(note, note_size, l, size, false);
	if (err == LEDGER_ENOTFOUND)
		return err_set(&l->e, LEDGER_ENOTFOUND, "no checkpoint covers tree size "
		               "%llu%s%s; run annals checkpoint on the writable ledger",
		               (unsigned long long)size, sign != LEDGER_OK ? ": " : "",
		               sign != LEDGER_OK ? why : "");
	if (err != LEDGER_OK || size == 0)
		return err;
	return ledger_prove_consistency(proof, l, size, *note_size);
}

/* ---- organization names as of a seq ---- */

typedef struct org_name {
	char slug[LEDGER_SLUG_BYTES_MAX + 1];
	char *name;
} org_name;

typedef struct org_names {
	org_name *v;
	size_t count;
} org_names;

/* The name of the newest organization event of slug recorded by as_of. */
static ledger_err name_at(char **out, ledger *l, MDB_txn *txn, const char *slug,
                          uint64_t as_of, arena *a)
{
	uint8_t rel[KEYS_REL_BYTES_MAX], key[KEYS_REL_BYTES_MAX + 13], k8[8];
	MDB_cursor *c = NULL;
	MDB_val k, v, e;
	index_entry x;
	uint64_t best = 0;
	size_t rel_bytes = keys_rel(rel, "", slug), p = index_rel_prefix(key, rel, rel_bytes);
	ledger_err err = store_cursor(&c, txn, l->s, DB_REL, &l->e);

	*out = NULL;
	k.mv_data = key;
	k.mv_size = p;
	for (err = err ? err : store_cursor_get(c, &k, &v, MDB_SET_RANGE, &l->e);
	     err == LEDGER_OK; err = store_cursor_get(c, &k, &v, MDB_NEXT, &l->e)) {
		if (k.mv_size != p + 12 || memcmp(k.mv_data, key, p) ||
		    !index_entry_decode(&x, &k, &v, rel_bytes))
			break;
		if (x.ev.type != ANNALS__EVENT_TYPE__ORGANIZATION || x.seq > as_of ||
		    x.seq < best)
			continue;
		put_u64_be(k8, x.seq);
		arena_reset(a);
		if ((err = store_get(txn, l->s, DB_EVENTS, k8, 8, &e, &l->e)) != LEDGER_OK)
			break;
		Annals__Envelope *env = codec_envelope_decode(a, e.mv_data, e.mv_size);
		if (env && *env->name) {
			free(*out);
			if (!(*out = strdup(env->name))) {
				err = err_set(&l->e, LEDGER_ENOMEM, "out of memory");
				break;
			}
			best = x.seq;
		}
	}
	store_cursor_close(c);
	return err == LEDGER_ENOTFOUND || err == LEDGER_OK ? LEDGER_OK : err;
}

static ledger_err names_load(org_names *out, ledger *l, MDB_txn *txn, uint64_t as_of)
{
	MDB_cursor *c = NULL;
	MDB_val k, v;
	size_t cap = 0;
	arena a;
	ledger_err err = store_cursor(&c, txn, l->s, DB_ORGS, &l->e);

	arena_init(&a);
	for (err = err ? err : store_cursor_get(c, &k, &v, MDB_FIRST, &l->e);
	     err == LEDGER_OK; err = store_cursor_get(c, &k, &v, MDB_NEXT, &l->e)) {
		if (k.mv_size > LEDGER_SLUG_BYTES_MAX)
			continue;
		if (out->count == cap) {
			cap = cap ? cap * 2 : 256;
			org_name *p = realloc(out->v, cap * sizeof *p);
			if (!p) {
				err = err_set(&l->e, LEDGER_ENOMEM, "out of memory");
				break;
			}
			out->v = p;
		}
		org_name *n = &out->v[out->count];
		memcpy(n->slug, k.mv_data, k.mv_size);
		n->slug[k.mv_size] = '\0';
		if ((err = name_at(&n->name, l, txn, n->slug, as_of, &a)) != LEDGER_OK)
			break;
		out->count++;
	}
	store_cursor_close(c);
	arena_free(&a);
	return err == LEDGER_ENOTFOUND ? LEDGER_OK : err;
}

static void names_free(org_names *n)
{
	for (size_t i = 0; i < n->count; i++)
		free(n->v[i].name);
	free(n->v);
}

static const char *names_find(const org_names *n, const char *slug)
{
	size_t lo = 0, hi = n->count;     /* DB_ORGS order: memcmp of slugs */

	while (lo < hi) {
		size_t m = lo + (hi - lo) / 2;
		int c = strcmp(n->v[m].slug, slug);
		if (c == 0)
			return n->v[m].name ? n->v[m].name : "";
		if (c < 0)
			lo = m + 1;
		else
			hi = m;
	}
	return "";
}

/* ---- writers ---- */

/* Rows are formatted straight into one large buffer that goes to `out`
 * in EXPORT_OUT_BYTES writes: no tree, no allocation and no stdio call a
 * row. A row reserves its worst case first (every string escaped to six
 * times its length), so it is written whole or, when it must be refused,
 * not at all. */
#define EXPORT_OUT_BYTES  (1u << 20)
#define EXPORT_ROW_FIXED  1024u      /* keys, punctuation, numbers of a row */
#define EXPORT_LIST_FIXED 128u       /* the same for one list of a row */
_Static_assert(EXPORT_ROW_FIXED + 6 * EXPORT_NAME_BYTES < EXPORT_OUT_BYTES,
               "a row with a few lists fits the buffer");

typedef struct exporter {
	ledger *l;
	FILE *out;
	ledger_export_format format;
	const ledger_export_info *info;
	const ledger_proof *proof;
	uint32_t at;
	char at_text[11];
	uint64_t count;
	codec_buf buf;               /* the protobuf header */
	char *obuf;                  /* output not yet written to out */
	size_t obuf_used, obuf_cap;
	Annals__SnapshotList *pb_lists;       /* a protobuf row's lists, */
	Annals__SnapshotList **pb_list_ptrs;  /* grown to the longest row */
	size_t pb_lists_cap;
	bool failed;                 /* a write to out failed, or out of memory */
	const char *why;             /* what failed when it was not a write */
} exporter;

static void out_flush(exporter *x)
{
	if (x->obuf_used && fwrite(x->obuf, 1, x->obuf_used, x->out) != x->obuf_used)
		x->failed = true;
	x->obuf_used = 0;
}

/* Room for n more bytes at the end of the buffer (written to out first
 * when short); NULL when out of memory. Commit what was written by moving
 * obuf_used. */
static char *out_room(exporter *x, size_t n)
{
	if (x->obuf_cap - x->obuf_used >= n)
		return x->obuf + x->obuf_used;
	out_flush(x);
	if (n > x->obuf_cap) {       /* a row with hundreds of lists */
		char *p = realloc(x->obuf, n);
		if (!p) {
			x->failed = true;
			x->why = "out of memory";
			return NULL;
		}
		x->obuf = p;
		x->obuf_cap = n;
	}
	return x->obuf;
}

static void put(exporter *x, const void *p, size_t n)
{
	char *o = out_room(x, n);

	if (o) {
		memcpy(o, p, n);
		x->obuf_used += n;
	}
}

static void put_text(exporter *x, const char *s)
{
	put(x, s, strlen(s));
}

static void hex32(char out[65], const uint8_t *h)
{
	hex_encode(out, h, LEDGER_HASH_BYTES);
}

static void json_header(exporter *x)
{
	char root[65];
	json_t *proof = json_array(), *o;

	hex32(root, x->info->root);
	for (size_t i = 0; proof && i < x->proof->hashes_count; i++) {
		char h[65];
		hex32(h, x->proof->hashes[i]);
		json_array_append_new(proof, json_string(h));
	}
	o = json_pack("{s:s, s:s, s:I, s:s, s:s, s:I, s:o, s:s, s:I}",
	              "format", EXPORT_FORMAT_NAME, "origin", x->l->origin,
	              "tree_size", (json_int_t)x->info->tree_size, "root", root,
	              "checkpoint", x->info->checkpoint,
	              "checkpoint_size", (json_int_t)x->info->checkpoint_size,
	              "consistency_proof", proof, "at", x->at_text,
	              "as_of", (json_int_t)x->info->tree_size);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!text) {
		x->failed = true;
		x->why = "the header cannot be formatted (out of memory, or a "
		         "stored text is not UTF-8: run annals verify)";
		return;
	}
	/* The header object, left open for the streamed relationships. */
	put(x, text, strlen(text) - 1);
	put_text(x, ",\"relationships\":[");
	free(text);
}

/* A row being formatted in the reserved room. */
typedef struct row {
	char *p;
	bool bad;                    /* a string jansson would refuse */
} row;

#define ROW_LIT(w, lit) ((w)->p = (char *)memcpy((w)->p, lit, sizeof lit - 1) + \
                         (sizeof lit - 1))

static void row_u64(row *w, uint64_t v)
{
	char t[20];
	size_t n = 0;

	do {
		t[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*w->p++ = t[--n];
}

/* A json_int_t as jansson prints it ("%lld"). */
static void row_int(row *w, uint64_t v)
{
	int64_t s = (int64_t)v;

	if (s < 0) {
		*w->p++ = '-';
		row_u64(w, 0 - (uint64_t)s);
	} else {
		row_u64(w, v);
	}
}

static size_t json_bound(const char *s)
{
	return s ? 6 * strlen(s) + 2 : 2;
}

/* s as a JSON string, byte for byte as jansson's json_dumps writes it
 * without flags: '"', '\\' and the control characters escaped (\b \f \n
 * \r \t, the others \u00XX in upper case), everything else (DEL, any
 * UTF-8) as is. Returns false, having written garbage, when s is NULL or
 * not UTF-8: json_string and json_pack refuse those. */
static bool row_json_string(row *w, const char *s)
{
	static const char digits[] = "0123456789ABCDEF";
	unsigned char seen = 0;
	const unsigned char *u = (const unsigned char *)s;

	if (!s)
		return false;
	*w->p++ = '"';
	for (; *u; u++) {
		unsigned char c = *u;
		seen |= c;
		if (c >= 0x20 && c != '"' && c != '\\') {
			*w->p++ = (char)c;
			continue;
		}
		*w->p++ = '\\';
		switch (c) {
		case '"':  *w->p++ = '"'; break;
		case '\\': *w->p++ = '\\'; break;
		case '\b': *w->p++ = 'b'; break;
		case '\f': *w->p++ = 'f'; break;
		case '\n': *w->p++ = 'n'; break;
		case '\r': *w->p++ = 'r'; break;
		case '\t': *w->p++ = 't'; break;
		default:
			ROW_LIT(w, "u00");
			*w->p++ = digits[c >> 4];
			*w->p++ = digits[c & 15];
		}
	}
	*w->p++ = '"';
	return (seen & 0x80) == 0 ||
	       u8_check((const uint8_t *)s, (size_t)((const char *)u - s)) == NULL;
}

/* A string the row cannot do without: refusing it refuses the row. */
static void row_string(row *w, const char *s)
{
	if (!row_json_string(w, s))
		w->bad = true;
}

/* s as a JSON string, or null when it is empty. */
static void row_string_or_null(row *w, const char *s)
{
	if (*s)
		row_string(w, s);
	else
		ROW_LIT(w, "null");
}

/* {"state":…,"since":…}, since null when empty. */
static void row_axis(row *w, const ledger_status_axis *a)
{
	ROW_LIT(w, "{\"state\":");
	row_string(w, a->state);
	ROW_LIT(w, ",\"since\":");
	row_string_or_null(w, a->since);
	*w->p++ = '}';
}

static void row_lists(row *w, const ledger_status *st)
{
	bool first = true;

	*w->p++ = '[';
	for (size_t i = 0; i < st->lists_count; i++) {
		const ledger_status_list *s = &st->lists[i];
		char *mark = w->p;
		if (!first)
			*w->p++ = ',';
		ROW_LIT(w, "{\"list\":");
		bool ok = row_json_string(w, s->list);
		ROW_LIT(w, ",\"since\":");
		ok = row_json_string(w, s->since) && ok;
		ROW_LIT(w, ",\"authority\":");
		ok = row_json_string(w, s->authority) && ok;
		ROW_LIT(w, ",\"seq\":");
		row_int(w, s->seq);
		*w->p++ = '}';
		/* json_array_append_new of a failed json_pack appends nothing. */
		if (ok)
			first = false;
		else
			w->p = mark;
	}
	*w->p++ = ']';
}

static size_t json_row_bound(const ledger_status *st, const char *name)
{
	const ledger_status_axis *ax[4] = {
		&st->recognition, &st->relations, &st->mission, &st->sanctions,
	};
	size_t n = EXPORT_ROW_FIXED + 6 * (sizeof st->country + sizeof st->organization +
	           sizeof st->last_meeting + sizeof st->last_change_date) +
	           json_bound(st->last_change_type) + json_bound(name);

	for (size_t i = 0; i < 4; i++)
		n += json_bound(ax[i]->state) + 6 * sizeof ax[i]->since;
	n += st->lists_count * (EXPORT_LIST_FIXED + 6 * (sizeof st->lists->list +
	     sizeof st->lists->since + sizeof st->lists->authority));
	return n;
}

/* The status object as json_dumps(JSON_COMPACT) wrote the one
 * json_pack built: at and as_of after the organization when at_as_of, and
 * organization_name last when name is not NULL (left out, as
 * json_object_set_new of a refused string sets nothing, when it is not
 * UTF-8). w->bad is set when jansson would have refused the object. */
static void row_status(row *w, const ledger_status *st, bool at_as_of,
                       const char *name)
{
	ROW_LIT(w, "{\"country\":");
	row_string(w, st->country);
	ROW_LIT(w, ",\"organization\":");
	row_string(w, st->organization);
	if (at_as_of) {
		ROW_LIT(w, ",\"at\":");
		row_string(w, st->at);
		ROW_LIT(w, ",\"as_of\":");
		row_int(w, st->as_of);
	} else if (u8_check((const uint8_t *)st->at, strlen(st->at)) != NULL) {
		w->bad = true;       /* left out, but packed and so checked */
	}
	ROW_LIT(w, ",\"listed\":");
	if (st->listed)
		ROW_LIT(w, "true");
	else
		ROW_LIT(w, "false");
	ROW_LIT(w, ",\"certain\":");
	if (st->certain)
		ROW_LIT(w, "true");
	else
		ROW_LIT(w, "false");
	ROW_LIT(w, ",\"lists\":");
	row_lists(w, st);
	ROW_LIT(w, ",\"recognition\":");
	row_axis(w, &st->recognition);
	ROW_LIT(w, ",\"relations\":");
	row_axis(w, &st->relations);
	ROW_LIT(w, ",\"mission\":");
	row_axis(w, &st->mission);
	ROW_LIT(w, ",\"sanctions\":");
	row_axis(w, &st->sanctions);
	ROW_LIT(w, ",\"meetings\":{\"count\":");
	row_int(w, st->meetings);
	ROW_LIT(w, ",\"last\":");
	row_string_or_null(w, st->last_meeting);
	ROW_LIT(w, "},\"last_change\":");
	if (st->last_change_seq) {
		ROW_LIT(w, "{\"seq\":");
		row_int(w, st->last_change_seq);
		ROW_LIT(w, ",\"date\":");
		row_string(w, st->last_change_date);
		ROW_LIT(w, ",\"type\":");
		row_string(w, st->last_change_type);
		*w->p++ = '}';
	} else {
		ROW_LIT(w, "null");
	}
	ROW_LIT(w, ",\"version\":");
	row_int(w, st->version);
	if (name) {
		char *mark = w->p;
		ROW_LIT(w, ",\"organization_name\":");
		if (!row_json_string(w, name))
			w->p = mark;
	}
	*w->p++ = '}';
}

/* One row of the JSON snapshot: the status object without at and as_of,
 * then organization_name. */
static void json_relationship(exporter *x, const ledger_status *st, const char *name)
{
	row w = { out_room(x, json_row_bound(st, name)), false };

	if (!w.p)
		return;
	if (x->count)
		ROW_LIT(&w, ",\n");
	else
		*w.p++ = '\n';
	row_status(&w, st, false, name);
	if (w.bad) {
		x->failed = true;
		x->why = "a stored text of the relationship is not UTF-8 (run "
		         "annals verify)";
		return;
	}
	x->obuf_used = (size_t)(w.p - x->obuf);
}

char *ledger_status_json(const ledger_status *s)
{
	size_t cap = json_row_bound(s, NULL) + 6 * sizeof s->at + 64;
	char *text = malloc(cap);
	row w = { text, false };

	if (!text)
		return NULL;
	row_status(&w, s, true, NULL);
	*w.p = '\0';
	if (w.bad) {
		free(text);
		return NULL;
	}
	return text;
}

static bool csv_special(const char *s)
{
	return strpbrk(s, ",\"\r\n") != NULL;
}

/* s inside a quoted CSV field: quotes doubled. */
static void row_csv_quoted(row *w, const char *s)
{
	for (; *s; s++) {
		if (*s == '"')
			*w->p++ = '"';
		*w->p++ = *s;
	}
}

/* A CSV field, quoted when it holds a comma, a quote or a line break;
 * at most 2 * strlen(s) + 4 bytes. */
static void row_csv_field(row *w, const char *s, bool last)
{
	if (csv_special(s)) {
		*w->p++ = '"';
		row_csv_quoted(w, s);
		*w->p++ = '"';
	} else {
		size_t n = strlen(s);
		memcpy(w->p, s, n);
		w->p += n;
	}
	if (last)
		ROW_LIT(w, "\r\n");
	else
		*w->p++ = ',';
}

static const char *const csv_columns[] = {
	"country", "organization", "organization_name", "at", "as_of", "listed",
	"certain", "lists", "recognition", "recognition_since", "relations",
	"relations_since", "mission", "mission_since", "sanctions",
	"sanctions_since", "meetings", "last_meeting", "last_change_seq",
	"last_change_date", "last_change_type", "version",
};
#define CSV_COLUMNS (sizeof csv_columns / sizeof csv_columns[0])

static void csv_header(exporter *x)
{
	size_t n = 0;

	for (size_t i = 0; i < CSV_COLUMNS; i++)
		n += 2 * strlen(csv_columns[i]) + 4;
	row w = { out_room(x, n), false };
	if (!w.p)
		return;
	for (size_t i = 0; i < CSV_COLUMNS; i++)
		row_csv_field(&w, csv_columns[i], i + 1 == CSV_COLUMNS);
	x->obuf_used = (size_t)(w.p - x->obuf);
}

/* lists: LIST@SINCE, separated by ';', one field. */
static void row_csv_lists(row *w, const ledger_status *st)
{
	bool quote = false;

	for (size_t i = 0; i < st->lists_count && !quote; i++)
		quote = csv_special(st->lists[i].list) || csv_special(st->lists[i].since);
	if (quote)
		*w->p++ = '"';
	for (size_t i = 0; i < st->lists_count; i++) {
		if (i)
			*w->p++ = ';';
		row_csv_quoted(w, st->lists[i].list);
		*w->p++ = '@';
		row_csv_quoted(w, st->lists[i].since);
	}
	if (quote)
		*w->p++ = '"';
	*w->p++ = ',';
}

static size_t csv_row_bound(const ledger_status *st, const char *name)
{
	const ledger_status_axis *ax[4] = {
		&st->recognition, &st->relations, &st->mission, &st->sanctions,
	};
	size_t n = EXPORT_ROW_FIXED + 2 * (sizeof st->country + sizeof st->organization +
	           sizeof st->at + sizeof st->last_meeting +
	           sizeof st->last_change_date + strlen(name)) +
	           (st->last_change_type ? 2 * strlen(st->last_change_type) : 0);

	for (size_t i = 0; i < 4; i++)
		n += 2 * (strlen(ax[i]->state) + sizeof ax[i]->since) + 8;
	n += st->lists_count * (2 * (sizeof st->lists->list + sizeof st->lists->since) + 2);
	return n;
}

static void row_csv_number(row *w, uint64_t v)
{
	row_u64(w, v);
	*w->p++ = ',';
}

static void row_csv_axis(row *w, const ledger_status_axis *a)
{
	row_csv_field(w, a->state, false);
	row_csv_field(w, a->since, false);
}

static void csv_relationship(exporter *x, const ledger_status *st, const char *name)
{
	row w = { out_room(x, csv_row_bound(st, name)), false };

	if (!w.p)
		return;
	row_csv_field(&w, st->country, false);
	row_csv_field(&w, st->organization, false);
	row_csv_field(&w, name, false);
	row_csv_field(&w, st->at, false);
	row_csv_number(&w, st->as_of);
	row_csv_field(&w, st->listed ? "true" : "false", false);
	row_csv_field(&w, st->certain ? "true" : "false", false);
	row_csv_lists(&w, st);
	row_csv_axis(&w, &st->recognition);
	row_csv_axis(&w, &st->relations);
	row_csv_axis(&w, &st->mission);
	row_csv_axis(&w, &st->sanctions);
	row_csv_number(&w, st->meetings);
	row_csv_field(&w, st->last_meeting, false);
	if (st->last_change_seq)
		row_u64(&w, st->last_change_seq);
	*w.p++ = ',';
	row_csv_field(&w, st->last_change_date, false);
	row_csv_field(&w, st->last_change_type ? st->last_change_type : "", false);
	row_u64(&w, st->version);
	ROW_LIT(&w, "\r\n");
	x->obuf_used = (size_t)(w.p - x->obuf);
}

static size_t pb_varint(uint8_t *b, uint64_t v)
{
	size_t n = 0;

	do {
		b[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	return n;
}

static void pb_header(exporter *x)
{
	Annals__Snapshot s = ANNALS__SNAPSHOT__INIT;
	ProtobufCBinaryData proof[LEDGER_PROOF_HASHES_MAX];
	char at[11];

	snprintf(at, sizeof at, "%s", x->at_text);
	s.format = EXPORT_FORMAT_NAME;
	s.origin = x->l->origin;
	s.tree_size = x->info->tree_size;
	s.root.data = (uint8_t *)x->info->root;
	s.root.len = LEDGER_HASH_BYTES;
	s.checkpoint = x->info->checkpoint;
	s.at = at;
	s.as_of = x->info->tree_size;
	s.checkpoint_size = x->info->checkpoint_size;
	for (size_t i = 0; i < x->proof->hashes_count; i++) {
		proof[i].data = (uint8_t *)x->proof->hashes[i];
		proof[i].len = LEDGER_HASH_BYTES;
	}
	s.n_consistency_proof = x->proof->hashes_count;
	s.consistency_proof = proof;
	if (!codec_pack(&x->buf, &s.base)) {
		x->failed = true;
		x->why = "out of memory";
		return;
	}
	put(x, x->buf.data, x->buf.bytes);
}

static Annals__SnapshotAxis pb_axis(const ledger_status_axis *a)
{
	Annals__SnapshotAxis x = ANNALS__SNAPSHOT_AXIS__INIT;

	x.state = (char *)a->state;
	x.since = (char *)a->since;
	return x;
}

/* The scratch lists of a protobuf row, grown (rarely) to n. */
static bool pb_lists_reserve(exporter *x, size_t n)
{
	if (n <= x->pb_lists_cap)
		return true;
	size_t cap = n < 16 ? 16 : 2 * n;
	Annals__SnapshotList *lists = realloc(x->pb_lists, cap * sizeof *lists);
	if (lists)
		x->pb_lists = lists;
	Annals__SnapshotList **lp = realloc(x->pb_list_ptrs, cap * sizeof *lp);
	if (lp)
		x->pb_list_ptrs = lp;
	if (!lists || !lp)
		return false;
	x->pb_lists_cap = cap;
	return true;
}

/* Field 10 of the Snapshot, one relationship at a time. */
static void pb_relationship(exporter *x, const ledger_status *st, const char *name)
{
	Annals__SnapshotRelationship r = ANNALS__SNAPSHOT_RELATIONSHIP__INIT;
	Annals__SnapshotAxis ax[4] = {
		pb_axis(&st->recognition), pb_axis(&st->relations),
		pb_axis(&st->mission), pb_axis(&st->sanctions),
	};

	if (!pb_lists_reserve(x, st->lists_count)) {
		x->failed = true;
		x->why = "out of memory";
		return;
	}
	for (size_t i = 0; i < st->lists_count; i++) {
		Annals__SnapshotList *s = &x->pb_lists[i];
		annals__snapshot_list__init(s);
		s->list = (char *)st->lists[i].list;
		s->since = (char *)st->lists[i].since;
		s->authority = (char *)st->lists[i].authority;
		s->seq = st->lists[i].seq;
		x->pb_list_ptrs[i] = s;
	}
	r.country = (char *)st->country;
	r.organization = (char *)st->organization;
	r.organization_name = (char *)name;
	r.listed = st->listed;
	r.certain = st->certain;
	r.n_lists = st->lists_count;
	r.lists = x->pb_list_ptrs;
	r.recognition = &ax[0];
	r.relations = &ax[1];
	r.mission = &ax[2];
	r.sanctions = &ax[3];
	r.meetings = st->meetings;
	r.last_meeting = (char *)st->last_meeting;
	r.last_change_seq = st->last_change_seq;
	r.last_change_date = (char *)st->last_change_date;
	r.last_change_type = (char *)(st->last_change_type ? st->last_change_type : "");
	r.version = st->version;
	/* Tag and length, then the message packed in place. */
	size_t n = protobuf_c_message_get_packed_size(&r.base);
	uint8_t *p = (uint8_t *)out_room(x, n + 1 + 10);
	if (!p)
		return;
	size_t head = pb_varint(p, 10u << 3 | 2u);
	head += pb_varint(p + head, n);
	if (protobuf_c_message_pack(&r.base, p + head) != n) {
		x->failed = true;
		x->why = "a row cannot be encoded as protobuf";
		return;
	}
	x->obuf_used += head + n;
}

/* ---- the walk over relationships ---- */

static ledger_err export_walk(exporter *x, MDB_txn *txn, indexer *ix,
                              uint64_t head, const org_names *names)
{
	MDB_cursor *c = NULL;
	MDB_val k, v;
	/* Every relationship with a country has a status record. */
	ledger_err err = store_cursor(&c, txn, x->l->s, DB_STATUS, &x->l->e);

	for (err = err ? err : store_cursor_get(c, &k, &v, MDB_FIRST, &x->l->e);
	     err == LEDGER_OK && !x->failed;
	     err = store_cursor_get(c, &k, &v, MDB_NEXT, &x->l->e)) {
		const uint8_t *rel = k.mv_data;
		if (k.mv_size < 5 || k.mv_size > KEYS_REL_BYTES_MAX || !rel[0])
			continue;            /* the organization streams */
		ledger_status st;
		memset(&st, 0, sizeof st);
		memcpy(st.country, rel, 4);
		memcpy(st.organization, rel + 4, k.mv_size - 4);
		st.as_of = x->info->tree_size;
		err = query_fold(&ix->f, &st.version, x->l, ix, txn, rel, k.mv_size,
		                 x->at, x->info->tree_size, head);
		if (err == LEDGER_OK && st.version > 0)
			err = query_fill(&st, x->l, &ix->f, x->at);
		if (err == LEDGER_OK && st.version > 0) {
			const char *name = names_find(names, st.organization);
			if (x->format == LEDGER_EXPORT_JSON)
				json_relationship(x, &st, name);
			else if (x->format == LEDGER_EXPORT_CSV)
				csv_relationship(x, &st, name);
			else
				pb_relationship(x, &st, name);
			x->count++;
		}
		ledger_status_free(&st);
	}
	store_cursor_close(c);
	return err == LEDGER_ENOTFOUND ? LEDGER_OK : err;
}

static ledger_err export_body(exporter *x)
{
	org_names names = { 0 };
	MDB_txn *txn = NULL;
	indexer *ix;
	uint64_t head;
	ledger_err err;

	if ((err = query_rx(&ix, x->l)) != LEDGER_OK ||
	    (err = ledger_read_begin(&txn, x->l)) != LEDGER_OK)
		return err;
	/* The head of this transaction: another writer may have appended
	 * since the size was chosen, and the projections are as of it. */
	if ((err = query_head(&head, x->l, txn)) == LEDGER_OK &&
	    (err = names_load(&names, x->l, txn, x->info->tree_size)) == LEDGER_OK) {
		if (x->format == LEDGER_EXPORT_JSON)
			json_header(x);
		else if (x->format == LEDGER_EXPORT_CSV)
			csv_header(x);
		else
			pb_header(x);
		err = export_walk(x, txn, ix, head, &names);
		if (err == LEDGER_OK && x->format == LEDGER_EXPORT_JSON)
			put_text(x, x->count ? "\n]}\n" : "]}\n");
	}
	names_free(&names);
	store_abort(txn);
	return err;
}

ledger_err ledger_export(ledger_export_info *info, ledger *l,
                         const ledger_export_opts *opts, FILE *out)
{
	exporter x = { .l = l, .out = out, .format = opts->format, .info = info,
	               .obuf_cap = EXPORT_OUT_BYTES };
	ledger_proof *proof = calloc(1, sizeof *proof);
	MDB_txn *txn = NULL;
	uint64_t head;
	ledger_err err;

	memset(info, 0, sizeof *info);
	x.proof = proof;
	x.obuf = malloc(x.obuf_cap);
	err_clear(&l->e);
	if (!proof || !x.obuf) {
		err = err_set(&l->e, LEDGER_ENOMEM, "out of memory");
		goto out;
	}
	if ((err = query_day(&x.at, l, opts->at, "--at")) != LEDGER_OK ||
	    (err = ledger_read_begin(&txn, l)) != LEDGER_OK)
		goto out;
	if ((err = query_head(&head, l, txn)) == LEDGER_OK)
		err = query_as_of(&info->tree_size, l, txn, opts->as_of, head);
	store_abort(txn);
	if (err != LEDGER_OK ||
	    (err = query_checkpoint(&info->checkpoint, &info->checkpoint_size, proof,
	                            l, info->tree_size)) != LEDGER_OK ||
	    (err = ledger_root(info->root, l, info->tree_size)) != LEDGER_OK)
		goto out;
	date_format_day(x.at_text, x.at);
	err = export_body(&x);
	info->relationships = x.count;
	/* What was formatted goes out also after a failure, as the rows
	 * before it did when they went through out one by one. */
	out_flush(&x);
	if (err == LEDGER_OK && (x.failed || fflush(out) != 0 || ferror(out)))
		err = err_set(&l->e, LEDGER_EIO, "cannot write the snapshot: %s",
		              x.why ? x.why : strerror(errno));
out:
	codec_buf_free(&x.buf);
	free(x.obuf);
	free(x.pb_lists);
	free(x.pb_list_ptrs);
	free(proof);
	return err;
}

void ledger_export_info_free(ledger_export_info *info)
{
	if (!info)
		return;
	free(info->checkpoint);
	info->checkpoint = NULL;
}
