/* JSON and text renderings of stored events. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "bytes.h"
#include "codec.h"
#include "date.h"
#include "event.h"
#include "hash.h"
#include "ledger_impl.h"

static void set_str(json_t *o, const char *k, const char *v)
{
	if (v && *v)
		json_object_set_new(o, k, json_string(v));
}

static void set_hex(json_t *o, const char *k, const ProtobufCBinaryData *b)
{
	char hex[2 * 64 + 1];

	if (b->len == 0 || b->len > 64)
		return;
	hex_encode(hex, b->data, b->len);
	json_object_set_new(o, k, json_string(hex));
}

static void set_strings(json_t *o, const char *k, char **v, size_t n)
{
	if (n == 0)
		return;
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	json_object_set_new(o, k, a);
}

static void render_body(json_t *o, const Annals__Body *b)
{
	set_str(o, "instrument", b->instrument);
	set_str(o, "summary", b->summary);
	if (b->n_sources) {
		json_t *a = json_array();
		for (size_t i = 0; i < b->n_sources; i++) {
			const Annals__Source *s = b->sources[i];
			json_t *so = json_object();
			set_str(so, "url", s->url);
			set_str(so, "title", s->title);
			set_str(so, "publisher", s->publisher);
			set_str(so, "date", s->date);
			set_str(so, "language", s->language);
			set_str(so, "quote", s->quote);
			json_array_append_new(a, so);
		}
		json_object_set_new(o, "sources", a);
	}
	if (b->n_participants) {
		json_t *a = json_array();
		for (size_t i = 0; i < b->n_participants; i++) {
			const Annals__Participant *p = b->participants[i];
			json_t *po = json_object();
			set_str(po, "name", p->name);
			set_str(po, "role", p->role);
			set_str(po, "country", p->country);
			json_array_append_new(a, po);
		}
		json_object_set_new(o, "participants", a);
	}
	set_str(o, "reason", b->reason);
}

/* input: the import format, where a retraction or redaction names only
 * its target (the relationship is copied from it when appended). */
static void render_fields(json_t *o, const Annals__Envelope *env, bool input)
{
	bool joins = env->type == ANNALS__EVENT_TYPE__RETRACTION ||
	             env->type == ANNALS__EVENT_TYPE__REDACTION;

	set_str(o, "id", env->id);
	set_str(o, "type", event_type_name(env->type));
	if (!(input && joins)) {
		set_str(o, "country", env->country);
		set_str(o, "organization", env->organization);
	}
	if (env->date)
		set_str(o, "date", env->date->edtf);
	set_str(o, "list", env->list);
	set_str(o, "authority", env->authority);
	set_str(o, "retracts", env->retracts);
	set_str(o, "redacts", env->redacts);
	set_str(o, "name", env->name);
	set_strings(o, "aliases", env->aliases, env->n_aliases);
	set_strings(o, "external_ids", env->external_ids, env->n_external_ids);
}

/* Seq and reason of the event that retracted or redacted seq, if any. */
static void render_marks(json_t *o, ledger *l, MDB_txn *txn, uint64_t seq,
                         arena *a)
{
	static const struct { store_db db; const char *by, *why; } marks[] = {
		{ DB_RETRACTIONS, "retracted_by", "retraction_reason" },
		{ DB_REDACTIONS, "redacted_by", "redaction_reason" },
	};
	uint8_t k[8];
	MDB_val v;

	put_u64_be(k, seq);
	for (size_t i = 0; i < 2; i++) {
		if (store_get(txn, l->s, marks[i].db, k, 8, &v, &l->e) != LEDGER_OK)
			continue;
		uint64_t by = get_u64_be(v.mv_data);
		uint8_t bk[8];
		json_object_set_new(o, marks[i].by, json_integer((json_int_t)by));
		put_u64_be(bk, by);
		if (store_get(txn, l->s, DB_BODIES, bk, 8, &v, &l->e) != LEDGER_OK)
			continue;
		Annals__Body *b = codec_body_decode(a, v.mv_data, v.mv_size);
		if (b)
			set_str(o, marks[i].why, b->reason);
	}
}

static void render_record(json_t *o, const ledger_event_view *ev,
                          const Annals__Envelope *env)
{
	char t[28], hex[65], day[11];

	json_object_set_new(o, "seq", json_integer((json_int_t)env->seq));
	date_format_rfc3339(t, (int64_t)env->recorded_at_us);
	json_object_set_new(o, "recorded_at", json_string(t));
	hex_encode(hex, ev->leaf_hash, LEDGER_HASH_BYTES);
	json_object_set_new(o, "leaf_hash", json_string(hex));
	set_hex(o, "prev_hash", &env->prev_hash);
	json_object_set_new(o, "stream_version",
	                    json_integer((json_int_t)env->stream_version));
	set_hex(o, "stream_prev", &env->stream_prev);
	set_hex(o, "heads_root", &env->heads_root);
	set_hex(o, "body_hash", &env->body_hash);
	set_hex(o, "content_mac", &env->content_mac);
	render_fields(o, env, false);
	if (env->date) {
		json_t *span = json_object();
		date_format_day(day, env->date->first_day);
		json_object_set_new(span, "first", json_string(day));
		date_format_day(day, env->date->last_day);
		json_object_set_new(span, "last", json_string(day));
		json_object_set_new(o, "date_span", span);
	}
	json_object_set_new(o, "body", json_string(ev->body ? "present" : "redacted"));
}

static ledger_err render_json(json_t **out, ledger *l,
                              const ledger_event_view *ev, unsigned flags)
{
	arena a;
	ledger_err err = LEDGER_OK;
	json_t *o = json_object();

	arena_init(&a);
	Annals__Envelope *env = codec_envelope_decode(&a, ev->envelope,
	                                              ev->envelope_bytes);
	Annals__Body *b = ev->body ? codec_body_decode(&a, ev->body, ev->body_bytes)
	                           : NULL;
	if (!o || !env || (ev->body && !b)) {
		err = err_set(&l->e, o ? LEDGER_ECORRUPT : LEDGER_ENOMEM,
		              "seq %llu cannot be decoded (run annals verify)",
		              (unsigned long long)ev->seq);
		json_decref(o);
		o = NULL;
		goto out;
	}
	if (flags & LEDGER_JSON_RECORD)
		render_record(o, ev, env);
	else
		render_fields(o, env, true);
	if (b)
		render_body(o, b);
	if (flags & LEDGER_JSON_RECORD) {
		MDB_txn *txn = NULL;
		if (ledger_read_begin(&txn, l) == LEDGER_OK)
			render_marks(o, l, txn, ev->seq, &a);
		store_abort(txn);
	}
out:
	arena_free(&a);
	*out = o;
	return err;
}

ledger_err ledger_event_json(char **out, ledger *l,
                             const ledger_event_view *ev, unsigned flags)
{
	json_t *o;
	ledger_err err = render_json(&o, l, ev, flags);

	*out = NULL;
	if (err != LEDGER_OK)
		return err;
	*out = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII * 0);
	json_decref(o);
	return *out ? LEDGER_OK : err_set(&l->e, LEDGER_ENOMEM, "out of memory");
}

/* One scalar as "key: value". */
static void text_scalar(FILE *f, const char *key, json_t *v)
{
	if (json_is_string(v))
		fprintf(f, "%s: %s\n", key, json_string_value(v));
	else if (json_is_integer(v))
		fprintf(f, "%s: %lld\n", key, (long long)json_integer_value(v));
}

/* A record's fields as lines: an event is at most three levels deep
 * (sources[0].url, date_span.first), so no recursion is needed. */
static void text_lines(FILE *f, json_t *o)
{
	const char *k, *k2;
	json_t *v, *x;
	char key[128];

	json_object_foreach(o, k, v) {
		if (json_is_object(v)) {
			json_object_foreach(v, k2, x) {
				snprintf(key, sizeof key, "%s.%s", k, k2);
				text_scalar(f, key, x);
			}
		} else if (json_is_array(v)) {
			for (size_t i = 0; i < json_array_size(v); i++) {
				json_t *e = json_array_get(v, i);
				if (!json_is_object(e)) {
					snprintf(key, sizeof key, "%s[%zu]", k, i);
					text_scalar(f, key, e);
					continue;
				}
				json_object_foreach(e, k2, x) {
					snprintf(key, sizeof key, "%s[%zu].%s", k, i, k2);
					text_scalar(f, key, x);
				}
			}
		} else {
			text_scalar(f, k, v);
		}
	}
}

ledger_err ledger_event_text(char **out, ledger *l, const ledger_event_view *ev)
{
	json_t *o;
	size_t n = 0;
	ledger_err err = render_json(&o, l, ev, LEDGER_JSON_RECORD);

	*out = NULL;
	if (err != LEDGER_OK)
		return err;
	FILE *f = open_memstream(out, &n);
	if (!f) {
		json_decref(o);
		return err_set(&l->e, LEDGER_ENOMEM, "out of memory");
	}
	text_lines(f, o);
	json_decref(o);
	return fclose(f) == 0 ? LEDGER_OK : err_set(&l->e, LEDGER_ENOMEM, "out of memory");
}
