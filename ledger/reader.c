/* Record readers for NDJSON and protobuf input (CSV: reader_csv.c). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "codec.h"
#include "reader_impl.h"

static const char bom[3] = { (char)0xEF, (char)0xBB, (char)0xBF };

reader *reader_new(ledger_format format, int fd, const void *data, size_t bytes)
{
	reader *r = calloc(1, sizeof *r);

	if (!r)
		return NULL;
	r->format = format;
	r->fd = fd;
	if (fd < 0) {
		r->buf = (char *)data;     /* never written: see src_fill */
		r->end = bytes;
		r->eof = true;
	} else {
		r->cap = READER_BUF_BYTES + LEDGER_LINE_BYTES_MAX;
		if (!(r->buf = malloc(r->cap))) {
			free(r);
			return NULL;
		}
		r->owned = true;
	}
	if (format == LEDGER_FORMAT_CSV && reader_csv_init(r) != 0) {
		reader_free(r);
		return NULL;
	}
	return r;
}

void reader_free(reader *r)
{
	if (!r)
		return;
	reader_csv_free(r);
	if (r->owned)
		free(r->buf);
	free(r);
}

/* Read more bytes so that at least want bytes follow pos, or to the end.
 * Returns -1 on a read error (errno set). */
int src_fill(reader *r, size_t want)
{
	while (!r->eof && r->end - r->pos < want) {
		if (r->pos > 0) {
			memmove(r->buf, r->buf + r->pos, r->end - r->pos);
			r->end -= r->pos;
			r->pos = 0;
		}
		if (r->end == r->cap)
			return 0;           /* full: the caller sees a too-long record */
		ssize_t n = read(r->fd, r->buf + r->end, r->cap - r->end);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			r->eof = true;
		r->end += (size_t)n;
	}
	return 0;
}

/* The next line without its '\n' (and '\r'); false at the end. A line
 * longer than LEDGER_LINE_BYTES_MAX sets *too_long and is skipped. */
bool src_line(reader *r, const char **line, size_t *bytes, bool *too_long,
              bool *read_error)
{
	size_t scanned = 0;

	*too_long = *read_error = false;
	for (;;) {
		char *nl = memchr(r->buf + r->pos + scanned, '\n',
		                  r->end - r->pos - scanned);
		if (nl || r->eof) {
			size_t n = nl ? (size_t)(nl - (r->buf + r->pos)) : r->end - r->pos;
			if (!nl && n == 0)
				return false;
			*line = r->buf + r->pos;
			*bytes = n;
			r->pos += n + (nl ? 1 : 0);
			if (*bytes && (*line)[*bytes - 1] == '\r')
				(*bytes)--;
			r->line++;
			if (*bytes > LEDGER_LINE_BYTES_MAX) {   /* same rule from memory */
				*too_long = true;
				*line = NULL;
				*bytes = 0;
			}
			return true;
		}
		scanned = r->end - r->pos;
		if (scanned >= LEDGER_LINE_BYTES_MAX) {
			/* Skip the rest of the over-long line. */
			*too_long = true;
			r->pos = r->end;
			scanned = 0;
			while (!r->eof) {
				if (src_fill(r, 1) != 0) { *read_error = true; return false; }
				char *p = memchr(r->buf + r->pos, '\n', r->end - r->pos);
				if (p) { r->pos = (size_t)(p - r->buf) + 1; break; }
				r->pos = r->end;
			}
			r->line++;
			*line = NULL;
			*bytes = 0;
			return true;
		}
		if (src_fill(r, scanned + READER_BUF_BYTES) != 0) {
			*read_error = true;
			return false;
		}
	}
}

/* ---- NDJSON ---- */

typedef struct json_field {
	const char *name;
	size_t offset;              /* of a char * member */
} json_field;

#define F(s, m) { #m, offsetof(s, m) }
static const json_field event_fields[] = {
	F(Annals__InputEvent, id), F(Annals__InputEvent, type),
	F(Annals__InputEvent, country), F(Annals__InputEvent, organization),
	F(Annals__InputEvent, date), F(Annals__InputEvent, list),
	F(Annals__InputEvent, authority), F(Annals__InputEvent, instrument),
	F(Annals__InputEvent, summary), F(Annals__InputEvent, retracts),
	F(Annals__InputEvent, redacts), F(Annals__InputEvent, reason),
	F(Annals__InputEvent, name),
};
static const json_field source_fields[] = {
	F(Annals__Source, url), F(Annals__Source, title),
	F(Annals__Source, publisher), F(Annals__Source, date),
	F(Annals__Source, language), F(Annals__Source, quote),
};
static const json_field participant_fields[] = {
	F(Annals__Participant, name), F(Annals__Participant, role),
	F(Annals__Participant, country),
};
#undef F

/* Copy a JSON string into the arena. NULL, or why it cannot be copied
 * (the caller names the field: names are only made for an error). null
 * counts as absent. */
static const char *jstr_copy(char **out, json_t *v, arena *a)
{
	if (json_is_null(v))
		return NULL;
	if (!json_is_string(v))
		return "must be a string";
	if (!(*out = arena_strndup(a, json_string_value(v), json_string_length(v))))
		return "out of memory";
	if (strlen(*out) != json_string_length(v))
		return "contains a NUL character";
	return NULL;
}

/* Fill the string members of the object at array[index] (a source, a
 * participant) from a JSON object; unknown keys are refused so that a
 * typo never drops data. */
static bool json_object_fields(void *msg, json_t *obj, const json_field *fields,
                               size_t count, const char *array, size_t index,
                               arena *a, field_err *fe)
{
	const char *key;
	json_t *v;
	char f[64];

	json_object_foreach(obj, key, v) {
		size_t i = 0;
		while (i < count && strcmp(key, fields[i].name) != 0)
			i++;
		const char *why = i == count ? "unknown field" :
		                  jstr_copy((char **)((char *)msg + fields[i].offset), v, a);
		if (why) {
			snprintf(f, sizeof f, "%s[%zu].%.40s", array, index, key);
			return field_fail(fe, f, "%s", why);
		}
	}
	return true;
}

static bool json_strings(char ***out, size_t *n, json_t *arr, const char *field,
                         arena *a, field_err *fe)
{
	char f[64];

	if (json_is_null(arr))
		return true;
	if (!json_is_array(arr))
		return field_fail(fe, field, "must be an array of strings");
	*n = json_array_size(arr);
	if (!(*out = arena_alloc(a, (*n + 1) * sizeof **out)))
		return field_fail(fe, field, "out of memory");
	for (size_t i = 0; i < *n; i++) {
		json_t *v = json_array_get(arr, i);
		(*out)[i] = NULL;
		const char *why = json_is_string(v) ? jstr_copy(&(*out)[i], v, a) :
		                  "must be a string";
		if (why) {
			snprintf(f, sizeof f, "%s[%zu]", field, i);
			return field_fail(fe, f, "%s", why);
		}
	}
	return true;
}

static bool json_sources(Annals__InputEvent *ev, json_t *arr, arena *a, field_err *fe)
{
	char f[64];

	if (json_is_null(arr))
		return true;
	if (!json_is_array(arr))
		return field_fail(fe, "sources", "must be an array of objects");
	ev->n_sources = json_array_size(arr);
	ev->sources = arena_alloc(a, (ev->n_sources + 1) * sizeof *ev->sources);
	if (!ev->sources)
		return field_fail(fe, "sources", "out of memory");
	for (size_t i = 0; i < ev->n_sources; i++) {
		json_t *o = json_array_get(arr, i);
		Annals__Source *s = json_is_object(o) ? arena_alloc(a, sizeof *s) : NULL;
		if (!s) {
			snprintf(f, sizeof f, "sources[%zu]", i);
			return field_fail(fe, f, json_is_object(o) ? "out of memory" :
			                  "must be an object");
		}
		annals__source__init(s);
		ev->sources[i] = s;
		if (!json_object_fields(s, o, source_fields, sizeof source_fields /
		                        sizeof source_fields[0], "sources", i, a, fe))
			return false;
	}
	return true;
}

static bool json_participants(Annals__InputEvent *ev, json_t *arr, arena *a,
                              field_err *fe)
{
	char f[64];

	if (json_is_null(arr))
		return true;
	if (!json_is_array(arr))
		return field_fail(fe, "participants", "must be an array of objects");
	ev->n_participants = json_array_size(arr);
	ev->participants = arena_alloc(a, (ev->n_participants + 1) *
	                               sizeof *ev->participants);
	if (!ev->participants)
		return field_fail(fe, "participants", "out of memory");
	for (size_t i = 0; i < ev->n_participants; i++) {
		json_t *o = json_array_get(arr, i);
		Annals__Participant *p = json_is_object(o) ? arena_alloc(a, sizeof *p) : NULL;
		if (!p) {
			snprintf(f, sizeof f, "participants[%zu]", i);
			return field_fail(fe, f, json_is_object(o) ? "out of memory" :
			                  "must be an object");
		}
		annals__participant__init(p);
		ev->participants[i] = p;
		if (!json_object_fields(p, o, participant_fields,
		                        sizeof participant_fields /
		                        sizeof participant_fields[0], "participants",
		                        i, a, fe))
			return false;
	}
	return true;
}

static bool json_expect_version(Annals__InputEvent *ev, json_t *v, arena *a,
                                field_err *fe)
{
	if (json_is_null(v))
		return true;
	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return field_fail(fe, "expect_version", "must be a whole number >= 0");
	ev->expect_version = arena_alloc(a, sizeof *ev->expect_version);
	if (!ev->expect_version)
		return field_fail(fe, "expect_version", "out of memory");
	annals__expected_version__init(ev->expect_version);
	ev->expect_version->version = (uint64_t)json_integer_value(v);
	return true;
}

/* Convert one parsed NDJSON object into an input event. */
static bool reader_json_event(Annals__InputEvent *ev, json_t *obj, arena *a,
                       field_err *fe)
{
	const char *key;
	json_t *v;

	if (!json_is_object(obj))
		return field_fail(fe, "record", "must be a JSON object");
	json_object_foreach(obj, key, v) {
		bool ok;
		if (strcmp(key, "sources") == 0)
			ok = json_sources(ev, v, a, fe);
		else if (strcmp(key, "participants") == 0)
			ok = json_participants(ev, v, a, fe);
		else if (strcmp(key, "aliases") == 0)
			ok = json_strings(&ev->aliases, &ev->n_aliases, v, "aliases", a, fe);
		else if (strcmp(key, "external_ids") == 0)
			ok = json_strings(&ev->external_ids, &ev->n_external_ids, v,
			                  "external_ids", a, fe);
		else if (strcmp(key, "expect_version") == 0)
			ok = json_expect_version(ev, v, a, fe);
		else {
			size_t i = 0, n = sizeof event_fields / sizeof event_fields[0];
			while (i < n && strcmp(key, event_fields[i].name) != 0)
				i++;
			if (i == n)
				return field_fail(fe, key[0] ? key : "record", "unknown field");
			const char *why = jstr_copy((char **)((char *)ev +
			                            event_fields[i].offset), v, a);
			ok = !why || field_fail(fe, key, "%s", why);
		}
		if (!ok)
			return false;
	}
	return true;
}

/* ---- NDJSON: the field of a string jansson refused ---- */

#define JSON_PATH_DEPTH_MAX 4u      /* event, sources[i], a source's field */

enum { JP_KEY, JP_COLON, JP_VALUE, JP_AFTER };   /* what comes next */

typedef struct json_frame {
	bool object;
	uint8_t state;
	const char *key;                 /* object: the current key, raw */
	size_t key_bytes, index;         /* array: the current element */
} json_frame;

/* Step over the string that starts at text[*i] (a quote); false when it
 * runs to the end of text unclosed. */
static bool json_skip_string(const char *text, size_t n, size_t *i)
{
	for (size_t j = *i + 1; j < n; j++) {
		if (text[j] == '\\')
			j++;
		else if (text[j] == '"') {
			*i = j;
			return true;
		}
	}
	return false;
}

/* jansson refuses a string value with invalid UTF-8, a control character
 * (a raw NUL among them), \u0000 or a lone surrogate, and gives only the
 * byte position where it stopped: inside that string, or just past it.
 * The text before that position is valid JSON up to there, so a scan of
 * its brackets, keys and commas finds the field ("summary",
 * "participants[0].name"). False when the position is not in or just after
 * a string value (a syntax error, a bad key), or the path is deeper or
 * longer than field names are. */
static bool json_error_field(char out[64], const char *text, size_t pos)
{
	json_frame st[JSON_PATH_DEPTH_MAX];
	size_t top = 0, len = 0;
	bool in_value = false;           /* the prefix ends in or after a value string */

	for (size_t i = 0; i < pos; i++) {
		char ch = text[i];
		json_frame *f = top ? &st[top - 1] : NULL;
		if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n')
			continue;
		in_value = false;
		if ((ch == '{' || ch == '[') && (!f || f->state == JP_VALUE)) {
			if (top == JSON_PATH_DEPTH_MAX)
				return false;
			st[top++] = (json_frame){ .object = ch == '{',
			                          .state = ch == '{' ? JP_KEY : JP_VALUE };
		} else if (ch == '"' && f && f->object && f->state == JP_KEY) {
			f->key = text + i + 1;
			if (!json_skip_string(text, pos, &i))
				return false;                 /* the error is in a key */
			f->key_bytes = (size_t)(text + i - f->key);
			f->state = JP_COLON;
		} else if (ch == ':' && f && f->state == JP_COLON) {
			f->state = JP_VALUE;
		} else if (ch == ',' && f && f->state == JP_AFTER) {
			f->state = f->object ? JP_KEY : JP_VALUE;
			f->index++;
		} else if ((ch == '}' || ch == ']') && f && f->object == (ch == '}')) {
			top--;
			if (top)
				st[top - 1].state = JP_AFTER;
		} else if (ch == '"' && f && f->state == JP_VALUE) {
			f->state = JP_AFTER;
			in_value = true;
			if (!json_skip_string(text, pos, &i))
				break;                        /* the error is in this value */
		} else if (f && f->state == JP_VALUE) {
			while (i + 1 < pos && !strchr(",]} \t", text[i + 1]))
				i++;                          /* a number, true, false, null */
			f->state = JP_AFTER;
		} else {
			return false;
		}
	}
	if (!in_value || top == 0 || !st[0].object)
		return false;
	for (size_t d = 0; d < top; d++) {
		if (st[d].object && (st[d].key_bytes == 0 ||
		    memchr(st[d].key, '\\', st[d].key_bytes)))
			return false;                     /* an empty or escaped key */
		int w = st[d].object ?
		        snprintf(out + len, 64 - len, "%s%.*s", d ? "." : "",
		                 (int)st[d].key_bytes, st[d].key) :
		        snprintf(out + len, 64 - len, "[%zu]", st[d].index);
		if (w < 0 || (size_t)w >= 64 - len)
			return false;
		len += (size_t)w;
	}
	return true;
}

static reader_status reader_ndjson(reader *r, Annals__InputEvent **out,
                                   uint64_t *line, arena *a, field_err *fe)
{
	const char *text;
	size_t n;
	bool too_long, read_error;
	json_error_t jerr;

	for (;;) {
		if (!src_line(r, &text, &n, &too_long, &read_error)) {
			if (read_error) {
				field_fail(fe, "input", "read error: %s", strerror(errno));
				return READER_FAIL;
			}
			return READER_END;
		}
		*line = r->line;
		if (too_long) {
			field_fail(fe, "line", "longer than %u bytes", LEDGER_LINE_BYTES_MAX);
			return READER_BAD;
		}
		if (r->line == 1 && n >= 3 && memcmp(text, bom, 3) == 0) {
			text += 3;
			n -= 3;
		}
		size_t i = 0;
		while (i < n && (text[i] == ' ' || text[i] == '\t'))
			i++;
		if (i < n)
			break;              /* blank lines are skipped */
	}
	json_t *obj = json_loadb(text, n, JSON_REJECT_DUPLICATES, &jerr);
	if (!obj) {
		char field[64];
		enum json_error_code code = json_error_code(&jerr);
		bool in_string = code == json_error_invalid_utf8 ||
		                 code == json_error_invalid_syntax ||
		                 code == json_error_null_character;
		if (!in_string || jerr.position < 0 || (size_t)jerr.position > n ||
		    !json_error_field(field, text, (size_t)jerr.position))
			snprintf(field, sizeof field, "json");
		field_fail(fe, field, "%s (column %d)", jerr.text, jerr.column);
		return READER_BAD;
	}
	Annals__InputEvent *ev = arena_alloc(a, sizeof *ev);
	bool ok = ev != NULL;
	if (ok) {
		annals__input_event__init(ev);
		ok = reader_json_event(ev, obj, a, fe);
	} else {
		field_fail(fe, "record", "out of memory");
	}
	json_decref(obj);
	if (!ok)
		return READER_BAD;
	*out = ev;
	return READER_RECORD;
}

/* ---- protobuf: varint length, then an InputEvent ---- */

/* The name of a string field of the message in p[0..n) (or, one level
 * down, of its sub-messages: "sources.title") that holds a NUL, else NULL:
 * protobuf-c hands strings out as C strings, which would silently end at
 * the NUL. name is a caller buffer of name_bytes. */
static const char *pb_nul(char *name, size_t name_bytes,
                          const ProtobufCMessageDescriptor *d, const uint8_t *p,
                          size_t n, unsigned depth)
{
	const uint8_t *end = p + n;

	while (p < end) {
		uint64_t tag, len;
		if (!codec_wire_varint(&tag, &p, end))
			return NULL;
		if ((tag & 7) == 0) {
			if (!codec_wire_varint(&len, &p, end))
				return NULL;
			continue;
		}
		if ((tag & 7) != 2)
			return NULL;    /* not ours to judge: unpack refused or will */
		if (!codec_wire_varint(&len, &p, end) || len > (uint64_t)(end - p))
			return NULL;
		const ProtobufCFieldDescriptor *f =
			protobuf_c_message_descriptor_get_field(d, (unsigned)(tag >> 3));
		if (f && f->type == PROTOBUF_C_TYPE_STRING && memchr(p, 0, (size_t)len)) {
			snprintf(name, name_bytes, "%s", f->name);
			return name;
		}
		if (f && f->type == PROTOBUF_C_TYPE_MESSAGE && depth == 0) {
			char inner[32];
			if (pb_nul(inner, sizeof inner, f->descriptor, p, (size_t)len, 1)) {
				snprintf(name, name_bytes, "%s.%s", f->name, inner);
				return name;
			}
		}
		p += len;
	}
	return NULL;
}

/* The first message of an input event, itself or nested, that carries a
 * field this schema does not know; NULL when there is none. */
static const ProtobufCMessage *pb_unknown(const Annals__InputEvent *ev)
{
	if (ev->base.n_unknown_fields)
		return &ev->base;
	for (size_t i = 0; i < ev->n_sources; i++)
		if (ev->sources[i]->base.n_unknown_fields)
			return &ev->sources[i]->base;
	for (size_t i = 0; i < ev->n_participants; i++)
		if (ev->participants[i]->base.n_unknown_fields)
			return &ev->participants[i]->base;
	if (ev->expect_version && ev->expect_version->base.n_unknown_fields)
		return &ev->expect_version->base;
	return NULL;
}

static reader_status reader_pb(reader *r, Annals__InputEvent **out,
                               uint64_t *line, arena *a, field_err *fe)
{
	uint64_t len = 0;
	size_t i = 0;

	if (src_fill(r, 10) != 0) {
		field_fail(fe, "input", "read error: %s", strerror(errno));
		return READER_FAIL;
	}
	if (r->pos == r->end)
		return READER_END;
	*line = ++r->line;
	for (;; i++) {
		if (r->pos + i >= r->end || i >= 10) {
			field_fail(fe, "length", "truncated or over-long varint");
			return READER_FAIL;
		}
		uint8_t b = (uint8_t)r->buf[r->pos + i];
		len |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80))
			break;
	}
	if (len > LEDGER_LINE_BYTES_MAX) {
		field_fail(fe, "length", "%llu bytes, over the limit of %u",
		           (unsigned long long)len, LEDGER_LINE_BYTES_MAX);
		return READER_FAIL;
	}
	r->pos += i + 1;
	if (src_fill(r, (size_t)len) != 0) {
		field_fail(fe, "input", "read error: %s", strerror(errno));
		return READER_FAIL;
	}
	if (r->end - r->pos < len) {
		field_fail(fe, "record", "truncated: %llu bytes announced, %zu left",
		           (unsigned long long)len, r->end - r->pos);
		return READER_FAIL;
	}
	const uint8_t *rec = (const uint8_t *)r->buf + r->pos;
	Annals__InputEvent *ev = annals__input_event__unpack(&a->pb, (size_t)len, rec);
	r->pos += (size_t)len;
	if (!ev) {
		field_fail(fe, "record", "not a valid annals.InputEvent message");
		return READER_BAD;
	}
	char field[sizeof fe->field];
	if (pb_nul(field, sizeof field, &annals__input_event__descriptor, rec,
	           (size_t)len, 0)) {
		field_fail(fe, field, "contains a NUL character");
		return READER_BAD;
	}
	/* Unknown fields are refused, as in NDJSON: a typo never drops data. */
	const ProtobufCMessage *unknown = pb_unknown(ev);
	if (unknown) {
		field_fail(fe, "record", "unknown field number %u in %s",
		           unknown->unknown_fields[0].tag, unknown->descriptor->short_name);
		return READER_BAD;
	}
	/* Strings must be UTF-8 without NUL; protobuf-c checks UTF-8 only for
	 * proto3 strings it decodes, and event_check checks every field. */
	*out = ev;
	return READER_RECORD;
}

reader_status reader_next(reader *r, Annals__InputEvent **out, uint64_t *line,
                          arena *a, field_err *fe)
{
	switch (r->format) {
	case LEDGER_FORMAT_NDJSON: return reader_ndjson(r, out, line, a, fe);
	case LEDGER_FORMAT_PB:     return reader_pb(r, out, line, a, fe);
	case LEDGER_FORMAT_CSV:    return reader_csv(r, out, line, a, fe);
	}
	field_fail(fe, "format", "unknown input format");
	return READER_FAIL;
}
