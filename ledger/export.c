/* Snapshots: the status of every relationship, streamed in key order. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

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

typedef struct exporter {
	ledger *l;
	FILE *out;
	ledger_export_format format;
	const ledger_export_info *info;
	const ledger_proof *proof;
	uint32_t at;
	char at_text[11];
	uint64_t count;
	codec_buf buf;
	bool failed;                 /* a write to out failed */
} exporter;

static void put(exporter *x, const void *p, size_t n)
{
	if (n && fwrite(p, 1, n, x->out) != n)
		x->failed = true;
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
		return;
	}
	/* The header object, left open for the streamed relationships. */
	put(x, text, strlen(text) - 1);
	put_text(x, ",\"relationships\":[");
	free(text);
}

static void json_relationship(exporter *x, const ledger_status *st, const char *name)
{
	json_t *o = query_status_object(st);

	if (!o) {
		x->failed = true;
		return;
	}
	json_object_del(o, "at");
	json_object_del(o, "as_of");
	json_object_set_new(o, "organization_name", json_string(name));
	char *text = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (!text) {
		x->failed = true;
		return;
	}
	if (x->count)
		put_text(x, ",\n");
	else
		put_text(x, "\n");
	put_text(x, text);
	free(text);
}

/* A CSV field, quoted when it holds a comma, a quote or a line break. */
static void csv_field(exporter *x, const char *s, bool last)
{
	if (strpbrk(s, ",\"\r\n")) {
		put_text(x, "\"");
		for (const char *p = s; *p; p++) {
			if (*p == '"')
				put_text(x, "\"");
			put(x, p, 1);
		}
		put_text(x, "\"");
	} else {
		put_text(x, s);
	}
	put_text(x, last ? "\r\n" : ",");
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
	for (size_t i = 0; i < CSV_COLUMNS; i++)
		csv_field(x, csv_columns[i], i + 1 == CSV_COLUMNS);
}

static void csv_relationship(exporter *x, const ledger_status *st, const char *name)
{
	char n[4][24], *lists;
	size_t lists_bytes = 0;
	FILE *f = open_memstream(&lists, &lists_bytes);

	if (!f) {
		x->failed = true;
		return;
	}
	/* lists: list@since, separated by ';' */
	for (size_t i = 0; i < st->lists_count; i++)
		fprintf(f, "%s%s@%s", i ? ";" : "", st->lists[i].list, st->lists[i].since);
	fclose(f);
	snprintf(n[0], sizeof n[0], "%llu", (unsigned long long)st->as_of);
	snprintf(n[1], sizeof n[1], "%llu", (unsigned long long)st->meetings);
	snprintf(n[2], sizeof n[2], "%llu", (unsigned long long)st->last_change_seq);
	snprintf(n[3], sizeof n[3], "%llu", (unsigned long long)st->version);
	const char *v[CSV_COLUMNS] = {
		st->country, st->organization, name, st->at, n[0],
		st->listed ? "true" : "false", st->certain ? "true" : "false", lists,
		st->recognition.state, st->recognition.since, st->relations.state,
		st->relations.since, st->mission.state, st->mission.since,
		st->sanctions.state, st->sanctions.since, n[1], st->last_meeting,
		st->last_change_seq ? n[2] : "", st->last_change_date,
		st->last_change_type ? st->last_change_type : "", n[3],
	};
	for (size_t i = 0; i < CSV_COLUMNS; i++)
		csv_field(x, v[i], i + 1 == CSV_COLUMNS);
	free(lists);
}

static void pb_varint(exporter *x, uint64_t v)
{
	uint8_t b[10];
	size_t n = 0;

	do {
		b[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	put(x, b, n);
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

/* Field 10 of the Snapshot, one relationship at a time. */
static void pb_relationship(exporter *x, const ledger_status *st, const char *name)
{
	Annals__SnapshotRelationship r = ANNALS__SNAPSHOT_RELATIONSHIP__INIT;
	Annals__SnapshotAxis ax[4] = {
		pb_axis(&st->recognition), pb_axis(&st->relations),
		pb_axis(&st->mission), pb_axis(&st->sanctions),
	};
	Annals__SnapshotList *lists = calloc(st->lists_count + 1, sizeof *lists);
	Annals__SnapshotList **lp = calloc(st->lists_count + 1, sizeof *lp);

	if (!lists || !lp) {
		x->failed = true;
		goto out;
	}
	for (size_t i = 0; i < st->lists_count; i++) {
		annals__snapshot_list__init(&lists[i]);
		lists[i].list = (char *)st->lists[i].list;
		lists[i].since = (char *)st->lists[i].since;
		lists[i].authority = (char *)st->lists[i].authority;
		lists[i].seq = st->lists[i].seq;
		lp[i] = &lists[i];
	}
	r.country = (char *)st->country;
	r.organization = (char *)st->organization;
	r.organization_name = (char *)name;
	r.listed = st->listed;
	r.certain = st->certain;
	r.n_lists = st->lists_count;
	r.lists = lp;
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
	if (!codec_pack(&x->buf, &r.base)) {
		x->failed = true;
		goto out;
	}
	pb_varint(x, 10u << 3 | 2u);
	pb_varint(x, x->buf.bytes);
	put(x, x->buf.data, x->buf.bytes);
out:
	free(lists);
	free(lp);
}

/* ---- the walk over relationships ---- */

static ledger_err export_walk(exporter *x, MDB_txn *txn, indexer *ix,
                              uint64_t head, const org_names *names)
{
	MDB_cursor *c = NULL;
	MDB_val k, v;
	ledger_err err = store_cursor(&c, txn, x->l->s, DB_HEADS, &x->l->e);

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
	exporter x = { .l = l, .out = out, .format = opts->format, .info = info };
	ledger_proof *proof = calloc(1, sizeof *proof);
	MDB_txn *txn = NULL;
	uint64_t head;
	ledger_err err;

	memset(info, 0, sizeof *info);
	x.proof = proof;
	err_clear(&l->e);
	if (!proof)
		return err_set(&l->e, LEDGER_ENOMEM, "out of memory");
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
	if (err == LEDGER_OK && (x.failed || fflush(out) != 0 || ferror(out)))
		err = err_set(&l->e, LEDGER_EIO, "cannot write the snapshot: %s",
		              strerror(errno));
out:
	codec_buf_free(&x.buf);
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
