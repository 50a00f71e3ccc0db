/* Validation and normalization of input events. */
#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "country.h"
#include "event.h"
#include "limits.h"
#include "text.h"

static const char *const event_type_names[] = {
	[ANNALS__EVENT_TYPE__LISTED] = "listed",
	[ANNALS__EVENT_TYPE__DELISTED] = "delisted",
	[ANNALS__EVENT_TYPE__RECOGNIZED] = "recognized",
	[ANNALS__EVENT_TYPE__RECOGNITION_WITHDRAWN] = "recognition_withdrawn",
	[ANNALS__EVENT_TYPE__RELATIONS_ESTABLISHED] = "relations_established",
	[ANNALS__EVENT_TYPE__RELATIONS_SUSPENDED] = "relations_suspended",
	[ANNALS__EVENT_TYPE__MISSION_OPENED] = "mission_opened",
	[ANNALS__EVENT_TYPE__MISSION_CLOSED] = "mission_closed",
	[ANNALS__EVENT_TYPE__SANCTIONS_IMPOSED] = "sanctions_imposed",
	[ANNALS__EVENT_TYPE__SANCTIONS_LIFTED] = "sanctions_lifted",
	[ANNALS__EVENT_TYPE__MEETING] = "meeting",
	[ANNALS__EVENT_TYPE__AGREEMENT_SIGNED] = "agreement_signed",
	[ANNALS__EVENT_TYPE__STATEMENT] = "statement",
	[ANNALS__EVENT_TYPE__ORGANIZATION] = "organization",
	[ANNALS__EVENT_TYPE__RETRACTION] = "retraction",
	[ANNALS__EVENT_TYPE__REDACTION] = "redaction",
};
#define EVENT_TYPES_COUNT (sizeof event_type_names / sizeof event_type_names[0])

bool field_fail(field_err *fe, const char *field, const char *fmt, ...)
{
	va_list ap;

	snprintf(fe->field, sizeof fe->field, "%s", field);
	va_start(ap, fmt);
	vsnprintf(fe->reason, sizeof fe->reason, fmt, ap);
	va_end(ap);
	return false;
}

const char *event_type_name(Annals__EventType t)
{
	if ((size_t)t >= EVENT_TYPES_COUNT)
		return NULL;
	return event_type_names[t];
}

Annals__EventType event_type_parse(const char *s)
{
	for (size_t i = 1; i < EVENT_TYPES_COUNT; i++)
		if (strcmp(s, event_type_names[i]) == 0)
			return (Annals__EventType)i;
	return ANNALS__EVENT_TYPE__EVENT_TYPE_UNSPECIFIED;
}

bool event_type_changes_status(Annals__EventType t)
{
	return t >= ANNALS__EVENT_TYPE__LISTED && t <= ANNALS__EVENT_TYPE__MEETING;
}

static bool has(const char *s)
{
	return s && *s;
}

/* Field rules by type: which optional fields a type takes. */
enum {
	F_COUNTRY = 1u << 0, F_ORG = 1u << 1, F_DATE = 1u << 2, F_LIST = 1u << 3,
	F_RETRACTS = 1u << 4, F_REDACTS = 1u << 5, F_ORGINFO = 1u << 6,
	F_AUTHORITY = 1u << 7, F_DESCRIPTIVE = 1u << 8,
};

static unsigned event_fields_allowed(Annals__EventType t, unsigned *required)
{
	const unsigned rel = F_COUNTRY | F_ORG | F_DATE | F_AUTHORITY | F_DESCRIPTIVE;

	switch (t) {
	case ANNALS__EVENT_TYPE__LISTED:
	case ANNALS__EVENT_TYPE__DELISTED:
		*required = F_COUNTRY | F_ORG | F_DATE | F_LIST;
		return rel | F_LIST;
	case ANNALS__EVENT_TYPE__ORGANIZATION:
		*required = F_ORG;
		return F_ORG | F_DATE | F_ORGINFO | F_DESCRIPTIVE;
	case ANNALS__EVENT_TYPE__RETRACTION:
		*required = F_RETRACTS;
		return F_RETRACTS | F_DESCRIPTIVE;
	case ANNALS__EVENT_TYPE__REDACTION:
		*required = F_REDACTS;
		return F_REDACTS | F_DESCRIPTIVE;
	default:
		*required = F_COUNTRY | F_ORG | F_DATE;
		return rel;
	}
}

static bool event_check_presence(const Annals__InputEvent *in,
                                 Annals__EventType t, field_err *fe)
{
	unsigned required, allowed = event_fields_allowed(t, &required);
	const struct { const char *name; unsigned bit; bool present; } f[] = {
		{ "country", F_COUNTRY, has(in->country) },
		{ "organization", F_ORG, has(in->organization) },
		{ "date", F_DATE, has(in->date) },
		{ "list", F_LIST, has(in->list) },
		{ "retracts", F_RETRACTS, has(in->retracts) },
		{ "redacts", F_REDACTS, has(in->redacts) },
		{ "name", F_ORGINFO, has(in->name) },
		{ "aliases", F_ORGINFO, in->n_aliases > 0 },
		{ "external_ids", F_ORGINFO, in->n_external_ids > 0 },
		{ "authority", F_AUTHORITY, has(in->authority) },
	};
	const char *tn = event_type_name(t);

	for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
		if (f[i].present && !(allowed & f[i].bit))
			return field_fail(fe, f[i].name, "not allowed on a%s %s event",
			                  strchr("aeiou", tn[0]) ? "n" : "", tn);
		if (!f[i].present && (required & f[i].bit))
			return field_fail(fe, f[i].name, "required for a%s %s event",
			                  strchr("aeiou", tn[0]) ? "n" : "", tn);
	}
	if (t == ANNALS__EVENT_TYPE__RETRACTION || t == ANNALS__EVENT_TYPE__REDACTION)
		if (!has(in->reason))
			return field_fail(fe, "reason", "required for a %s event", tn);
	return true;
}

static bool check_text(field_err *fe, const char *field, const char *s,
                       size_t max_bytes)
{
	const char *why;

	if (!s)
		return true;
	if ((why = text_check_utf8(s, strlen(s), max_bytes)) != NULL)
		return field_fail(fe, field, "%s", why);
	return true;
}

static bool check_country(field_err *fe, const char *field, char **s)
{
	const country *c;

	if (!has(*s))
		return true;
	c = country_find(*s, strlen(*s));
	if (!c)
		return field_fail(fe, field, "'%.64s' is not an ISO 3166 country "
		                  "code or English name", *s);
	*s = (char *)c->code;
	return true;
}

/* check_text for an element of a list: the field name is only formatted
 * when the text is refused (the append loop stays free of printf). */
static bool check_text_at(field_err *fe, const char *fmt, size_t i,
                          const char *s, size_t max_bytes)
{
	char f[64];
	const char *why;

	if (!s || (why = text_check_utf8(s, strlen(s), max_bytes)) == NULL)
		return true;
	snprintf(f, sizeof f, fmt, i);
	return field_fail(fe, f, "%s", why);
}

static bool fail_at(field_err *fe, const char *fmt, size_t i, const char *why)
{
	char f[64];

	snprintf(f, sizeof f, fmt, i);
	return field_fail(fe, f, "%s", why);
}

static bool check_source(field_err *fe, const Annals__Source *s, size_t i,
                         arena *a, Annals__Source **out)
{
	date_span d;
	const char *why;

	if (!has(s->url) && !has(s->title))
		return fail_at(fe, "sources[%zu]", i, "a source needs a url or a title");
	if (!check_text_at(fe, "sources[%zu].url", i, s->url, LEDGER_URL_BYTES_MAX) ||
	    !check_text_at(fe, "sources[%zu].title", i, s->title, LEDGER_SOURCE_TEXT_BYTES_MAX) ||
	    !check_text_at(fe, "sources[%zu].publisher", i, s->publisher,
	                   LEDGER_SOURCE_TEXT_BYTES_MAX) ||
	    !check_text_at(fe, "sources[%zu].language", i, s->language, 35) ||
	    !check_text_at(fe, "sources[%zu].quote", i, s->quote, LEDGER_QUOTE_BYTES_MAX))
		return false;
	if (has(s->url) && strncmp(s->url, "https://", 8) != 0 &&
	    strncmp(s->url, "http://", 7) != 0)
		return fail_at(fe, "sources[%zu].url", i, "must start with https:// or http://");
	if (has(s->date) && (why = date_parse(&d, s->date, strlen(s->date))))
		return fail_at(fe, "sources[%zu].date", i, why);
	if (!(*out = arena_alloc(a, sizeof **out)))
		return field_fail(fe, "sources", "out of memory");
	**out = *s;
	return true;
}

static bool check_participant(field_err *fe, const Annals__Participant *p,
                              size_t i, arena *a, Annals__Participant **out)
{
	char f[64];

	if (!has(p->name))
		return fail_at(fe, "participants[%zu].name", i, "required");
	if (!check_text_at(fe, "participants[%zu].name", i, p->name,
	                   LEDGER_PARTICIPANT_TEXT_BYTES_MAX) ||
	    !check_text_at(fe, "participants[%zu].role", i, p->role,
	                   LEDGER_PARTICIPANT_TEXT_BYTES_MAX))
		return false;
	if (!(*out = arena_alloc(a, sizeof **out)))
		return field_fail(fe, "participants", "out of memory");
	**out = *p;
	if (!has((*out)->country))
		return true;
	snprintf(f, sizeof f, "participants[%zu].country", i);
	return check_country(fe, f, &(*out)->country);
}

static bool check_lists(event_input *out, const Annals__InputEvent *in,
                        arena *a, field_err *fe)
{
	Annals__InputEvent *n = &out->norm;
	const char *why;

	if (in->n_sources > LEDGER_SOURCES_MAX)
		return field_fail(fe, "sources", "more than %u sources", LEDGER_SOURCES_MAX);
	if (in->n_participants > LEDGER_PARTICIPANTS_MAX)
		return field_fail(fe, "participants", "more than %u participants",
		                  LEDGER_PARTICIPANTS_MAX);
	if (in->n_aliases > LEDGER_ALIASES_MAX)
		return field_fail(fe, "aliases", "more than %u aliases", LEDGER_ALIASES_MAX);
	if (in->n_external_ids > LEDGER_EXTERNAL_IDS_MAX)
		return field_fail(fe, "external_ids", "more than %u ids",
		                  LEDGER_EXTERNAL_IDS_MAX);
	n->sources = arena_alloc(a, (in->n_sources + 1) * sizeof *n->sources);
	n->participants = arena_alloc(a, (in->n_participants + 1) *
	                              sizeof *n->participants);
	if (!n->sources || !n->participants)
		return field_fail(fe, "sources", "out of memory");
	for (size_t i = 0; i < in->n_sources; i++)
		if (!check_source(fe, in->sources[i], i, a, &n->sources[i]))
			return false;
	for (size_t i = 0; i < in->n_participants; i++)
		if (!check_participant(fe, in->participants[i], i, a,
		                       &n->participants[i]))
			return false;
	for (size_t i = 0; i < in->n_aliases; i++) {
		char fold[LEDGER_NAME_BYTES_MAX];
		size_t fold_bytes;
		if ((why = text_fold(fold, sizeof fold, &fold_bytes, in->aliases[i],
		                     strlen(in->aliases[i]))) != NULL)
			return fail_at(fe, "aliases[%zu]", i, why);
	}
	for (size_t i = 0; i < in->n_external_ids; i++)
		if ((why = text_check_external_id(in->external_ids[i],
		                                  strlen(in->external_ids[i]))))
			return fail_at(fe, "external_ids[%zu]", i, why);
	return true;
}

static bool check_scalars(event_input *out, const Annals__InputEvent *in,
                          field_err *fe)
{
	Annals__InputEvent *n = &out->norm;
	const char *why;

	if (has(in->id) && (why = text_check_id(in->id, strlen(in->id))))
		return field_fail(fe, "id", "%s", why);
	if (has(in->list) && (why = text_check_slug(in->list, strlen(in->list))))
		return field_fail(fe, "list", "%s", why);
	if (has(in->retracts) && (why = text_check_id(in->retracts, strlen(in->retracts))))
		return field_fail(fe, "retracts", "%s", why);
	if (has(in->redacts) && (why = text_check_id(in->redacts, strlen(in->redacts))))
		return field_fail(fe, "redacts", "%s", why);
	if (has(in->date) && (why = date_parse(&out->date, in->date, strlen(in->date))))
		return field_fail(fe, "date", "%s", why);
	if (has(in->organization) && strlen(in->organization) > LEDGER_NAME_BYTES_MAX)
		return field_fail(fe, "organization", "longer than %u bytes",
		                  LEDGER_NAME_BYTES_MAX);
	if (has(in->name)) {
		char fold[LEDGER_NAME_BYTES_MAX];
		size_t fold_bytes;
		if ((why = text_fold(fold, sizeof fold, &fold_bytes, in->name,
		                     strlen(in->name))))
			return field_fail(fe, "name", "%s", why);
	}
	if (!check_text(fe, "organization", in->organization, LEDGER_NAME_BYTES_MAX) ||
	    !check_text(fe, "authority", in->authority, LEDGER_AUTHORITY_BYTES_MAX) ||
	    !check_text(fe, "instrument", in->instrument, LEDGER_INSTRUMENT_BYTES_MAX) ||
	    !check_text(fe, "summary", in->summary, LEDGER_SUMMARY_BYTES_MAX) ||
	    !check_text(fe, "reason", in->reason, LEDGER_REASON_BYTES_MAX))
		return false;
	return check_country(fe, "country", &n->country);
}

bool event_check(event_input *out, const Annals__InputEvent *in, arena *a,
                 field_err *fe)
{
	memset(out, 0, sizeof *out);
	out->norm = *in;
	out->norm.id = has(in->id) ? in->id : (char *)protobuf_c_empty_string;
	if (!has(in->type))
		return field_fail(fe, "type", "required (listed, delisted, meeting, "
		                  "organization, retraction, ...)");
	out->type = event_type_parse(in->type);
	if (out->type == ANNALS__EVENT_TYPE__EVENT_TYPE_UNSPECIFIED)
		return field_fail(fe, "type", "unknown type '%.64s'", in->type);
	if (!event_check_presence(in, out->type, fe) ||
	    !check_scalars(out, in, fe) || !check_lists(out, in, a, fe))
		return false;
	if (in->expect_version) {
		out->has_expect_version = true;
		out->expect_version = in->expect_version->version;
	}
	/* expect_version is checked, never stored or hashed (DESIGN §3). */
	out->norm.expect_version = NULL;
	return true;
}

bool event_fill_envelope(Annals__Envelope *env, const event_input *in, arena *a)
{
	const Annals__InputEvent *n = &in->norm;

	env->id = n->id;
	env->type = in->type;
	env->country = n->country;
	env->organization = n->organization;
	env->list = n->list;
	env->authority = n->authority;
	env->retracts = n->retracts;
	env->redacts = n->redacts;
	env->name = n->name;
	env->n_aliases = n->n_aliases;
	env->aliases = n->aliases;
	env->n_external_ids = n->n_external_ids;
	env->external_ids = n->external_ids;
	if (in->date.first_day) {
		Annals__Date *d = arena_alloc(a, sizeof *d);
		if (!d)
			return false;
		annals__date__init(d);
		d->edtf = (char *)in->date.edtf;
		d->first_day = in->date.first_day;
		d->last_day = in->date.last_day;
		d->qualifier = (Annals__DateQualifier)in->date.qualifier;
		env->date = d;
	}
	return true;
}

void event_fill_body(Annals__Body *body, const event_input *in)
{
	const Annals__InputEvent *n = &in->norm;

	body->instrument = n->instrument;
	body->summary = n->summary;
	body->n_sources = n->n_sources;
	body->sources = n->sources;
	body->n_participants = n->n_participants;
	body->participants = n->participants;
	body->reason = n->reason;
}

bool event_fill(Annals__Envelope *env, Annals__Body *body,
                const event_input *in, arena *a)
{
	event_fill_body(body, in);
	return event_fill_envelope(env, in, a);
}
