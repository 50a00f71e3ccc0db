/* CSV input (DESIGN §4), parsed with libcsv and streamed row by row.
 *
 * What this reader accepts, and why:
 *
 * - The first row that is not blank is the header. It names columns from
 *   the table below, in any order, each at most once. Names match exactly
 *   (case matters), as NDJSON keys do. An unknown name, a repeated name, an
 *   empty name or a header without `type` stops the import (READER_FAIL),
 *   because no later row can be read without a sound header. An empty input
 *   has no records.
 * - Every other row must have exactly as many fields as the header; a row
 *   that does not is refused whole (field "record"), since its cells cannot
 *   be matched to columns.
 * - An empty cell means the field is absent. A row whose cells are all
 *   empty is skipped: blank lines, lines of spaces, `""` and the `,,,,`
 *   rows that spreadsheets write after the data carry nothing to lose.
 * - libcsv runs with CSV_STRICT and CSV_STRICT_FINI. Spaces and tabs around
 *   an unquoted field are dropped (libcsv's default; quote a field to keep
 *   them). A quoted field is kept byte for byte, newlines and CRs included.
 * - Lines end in LF or CRLF. Only '\n' ends a row: csv_is_space makes the
 *   CR of a CRLF a trailing space, so a lone CR is not a line end. Line
 *   numbers count '\n', and a record's line is the one its first byte is
 *   on. A UTF-8 byte order mark at the very start is skipped.
 * - Malformed CSV (a '"' inside an unquoted field, text after a closing
 *   quote, a quoted field still open at the end of the input) stops the
 *   import (READER_FAIL, field "csv"): after a quoting error we cannot tell
 *   where the next row starts, and guessing could turn one bad row into a
 *   cascade of wrong ones.
 * - A record is at most LEDGER_LINE_BYTES_MAX bytes, counting every byte
 *   from its first to the one before the '\n' that ends it. A longer one
 *   is refused (READER_BAD, field "record") and skipped without being
 *   buffered, and reading goes on after it.
 * - A cell with a NUL byte is refused, naming its column.
 * - `aliases`, `external_ids` and `participants` hold several values
 *   separated by ';'; a participant is NAME|ROLE|COUNTRY, role and country
 *   optional. Spaces and tabs around each value and part are dropped and
 *   empty values are skipped, so "A; B;" is two aliases. There is no
 *   escape: a value that holds ';' (or a participant part that holds '|')
 *   must come as NDJSON. More than three parts is refused.
 * - `expect_version` is a whole number in digits, up to 2^64 - 1.
 * - The `source_*` columns fill one source, present when any is non-empty.
 * - The values are not checked here; event_check does that for every
 *   input format alike.
 */
#include <assert.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>

#include "reader_impl.h"

enum csv_kind {
	CSV_EVENT,          /* a string of the event */
	CSV_SOURCE,         /* a string of the single source */
	CSV_ALIASES,
	CSV_EXTERNAL_IDS,
	CSV_PARTICIPANTS,
	CSV_VERSION,        /* expect_version */
};

typedef struct csv_column {
	const char *name;
	enum csv_kind kind;
	size_t offset;      /* of the char * member, for CSV_EVENT and CSV_SOURCE */
} csv_column;

#define EV(m) { #m, CSV_EVENT, offsetof(Annals__InputEvent, m) }
#define SRC(m) { "source_" #m, CSV_SOURCE, offsetof(Annals__Source, m) }
static const csv_column csv_columns[] = {
	EV(id), EV(type), EV(country), EV(organization), EV(date), EV(list),
	EV(authority), EV(instrument), EV(summary), EV(retracts), EV(redacts),
	EV(reason), EV(name),
	{ "aliases", CSV_ALIASES, 0 },
	{ "external_ids", CSV_EXTERNAL_IDS, 0 },
	{ "participants", CSV_PARTICIPANTS, 0 },
	{ "expect_version", CSV_VERSION, 0 },
	SRC(url), SRC(title), SRC(publisher), SRC(date), SRC(language),
	SRC(quote),
};
#undef EV
#undef SRC

#define CSV_COLUMNS_MAX 23u     /* entries in csv_columns */
_Static_assert(sizeof csv_columns / sizeof csv_columns[0] == CSV_COLUMNS_MAX,
               "CSV_COLUMNS_MAX counts csv_columns");

#define CSV_COL_TYPE 1u         /* index of "type" in csv_columns */
#define CSV_TEXT_BYTES_MIN 4096u

typedef struct csv_cell {
	size_t offset, bytes;   /* in csv_state.text */
} csv_cell;

typedef struct csv_state {
	struct csv_parser parser;
	bool started;           /* the byte order mark has been looked for */
	bool failed;            /* a READER_FAIL is repeated from fail */
	field_err fail;
	uint64_t fail_line;
	size_t ncols;           /* header columns; 0 until the header is read */
	uint8_t col[CSV_COLUMNS_MAX];   /* header position -> csv_columns index */
	size_t col_bytes;       /* bytes on the current physical line so far */

	/* The row being read. Only the first CSV_COLUMNS_MAX + 1 fields are
	 * kept: a header with more names must repeat one or have an unknown
	 * one among them, and a longer row is refused by its count. */
	uint64_t row_line;
	size_t row_bytes;       /* bytes handed to libcsv for this row */
	size_t quotes;          /* '"' bytes in those */
	size_t nfields;
	csv_cell cells[CSV_COLUMNS_MAX + 1];
	size_t nul_field;       /* first kept field with a NUL, or SIZE_MAX */
	bool row_done, nonempty, oom;
	char *text;             /* the kept fields' bytes, end to end */
	size_t text_bytes, text_cap;
} csv_state;

/* libcsv ends a row at '\n' only, and a CR is a space that it trims from
 * an unquoted field or skips after a closing quote. So CRLF and LF read
 * alike, and a row can end only on the last byte of a slice (csv_feed). */
static int csv_is_term(unsigned char c)
{
	return c == '\n';
}

static int csv_is_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

static void csv_parser_start(csv_state *st)
{
	int rc = csv_init(&st->parser, CSV_STRICT | CSV_STRICT_FINI);

	assert(rc == 0);        /* fails only for a NULL parser */
	(void)rc;
	csv_set_term_func(&st->parser, csv_is_term);
	csv_set_space_func(&st->parser, csv_is_space);
}

int reader_csv_init(reader *r)
{
	csv_state *st = calloc(1, sizeof *st);

	r->csv = st;
	if (!st)
		return -1;
	csv_parser_start(st);
	return 0;
}

void reader_csv_free(reader *r)
{
	csv_state *st = r->csv;

	if (!st)
		return;
	csv_free(&st->parser);
	free(st->text);
	free(st);
	r->csv = NULL;
}

/* Room for n more bytes of text. The kept fields are parts of one row of
 * at most LEDGER_LINE_BYTES_MAX bytes, which bounds the buffer. */
static bool csv_text_reserve(csv_state *st, size_t n)
{
	size_t need = st->text_bytes + n, cap = st->text_cap;

	assert(need <= LEDGER_LINE_BYTES_MAX);
	if (need <= cap)
		return true;
	if (cap < CSV_TEXT_BYTES_MIN)
		cap = CSV_TEXT_BYTES_MIN;
	while (cap < need)
		cap *= 2;
	char *p = realloc(st->text, cap);
	if (!p)
		return false;
	st->text = p;
	st->text_cap = cap;
	return true;
}

/* libcsv's field callback: data is valid only during the call. */
static void csv_on_field(void *data, size_t bytes, void *ctx)
{
	csv_state *st = ctx;
	size_t i = st->nfields++;

	if (bytes > 0)
		st->nonempty = true;
	if (i > CSV_COLUMNS_MAX)
		return;
	if (bytes > 0 && st->nul_field == SIZE_MAX && memchr(data, '\0', bytes))
		st->nul_field = i;
	if (!csv_text_reserve(st, bytes)) {
		st->oom = true;
		return;
	}
	if (bytes > 0)
		memcpy(st->text + st->text_bytes, data, bytes);
	st->cells[i].offset = st->text_bytes;
	st->cells[i].bytes = bytes;
	st->text_bytes += bytes;
}

static void csv_on_row(int terminator, void *ctx)
{
	csv_state *st = ctx;

	(void)terminator;
	st->row_done = true;
}

static size_t csv_count(const char *s, size_t n, char c)
{
	size_t count = 0;
	const char *end = s + n;

	while ((s = memchr(s, c, (size_t)(end - s))) != NULL) {
		count++;
		s++;
	}
	return count;
}

static reader_status csv_read_error(field_err *fe)
{
	field_fail(fe, "input", "read error: %s", strerror(errno));
	return READER_FAIL;
}

/* Explain why libcsv stopped at s[at], which is on the current line. */
static reader_status csv_parse_error(csv_state *st, uint64_t line,
                                     const char *s, size_t at, field_err *fe)
{
	int err = csv_error(&st->parser);
	unsigned char c = (unsigned char)s[at];
	size_t byte = st->col_bytes + at + 1;
	unsigned long long l = (unsigned long long)line;

	if (err != CSV_EPARSE)
		field_fail(fe, "csv", "%s", csv_strerror(err));
	else if (c == '"')
		field_fail(fe, "csv", "%s: unexpected '\"' on line %llu, byte %zu "
		           "(a field holding '\"' must be quoted, with each '\"' "
		           "doubled)", csv_strerror(err), l, byte);
	else if (c > ' ' && c < 0x7f)
		field_fail(fe, "csv", "%s: '%c' after a closing quote on line %llu, "
		           "byte %zu", csv_strerror(err), c, l, byte);
	else
		field_fail(fe, "csv", "%s: byte 0x%02x after a closing quote on line "
		           "%llu, byte %zu", csv_strerror(err), c, l, byte);
	return READER_FAIL;
}

static reader_status csv_open_quote(field_err *fe)
{
	field_fail(fe, "csv", "%s: a quoted field is still open at the end of "
	           "the input", csv_strerror(CSV_EPARSE));
	return READER_FAIL;
}

/* Skip the rest of an over-long row without handing it to libcsv, whose
 * field buffer would grow with it. Strict parsing accepted every '"' so far
 * as an opening or closing quote or one of a doubled pair, so an odd count
 * means a quoted field is open, and the row ends at the first '\n' seen
 * with an even count. */
static reader_status csv_skip_row(reader *r, csv_state *st, field_err *fe)
{
	bool quoted = st->quotes % 2 != 0;

	/* Each pass consumes at least one byte, or ends at the input's end. */
	for (;;) {
		if (r->pos == r->end) {
			if (src_fill(r, 1) != 0)
				return csv_read_error(fe);
			if (r->pos == r->end)
				break;
		}
		const char *s = r->buf + r->pos;
		const char *nl = memchr(s, '\n', r->end - r->pos);
		size_t n = nl ? (size_t)(nl - s) + 1 : r->end - r->pos;
		quoted ^= csv_count(s, n, '"') % 2 != 0;
		r->pos += n;
		st->col_bytes = nl ? 0 : st->col_bytes + n;
		if (nl) {
			r->line++;
			if (!quoted)
				break;
		}
	}
	csv_free(&st->parser);
	csv_parser_start(st);
	if (quoted)
		return csv_open_quote(fe);
	field_fail(fe, "record", "longer than %u bytes", LEDGER_LINE_BYTES_MAX);
	return READER_BAD;
}

/* Feed libcsv the row that starts at r->pos, a slice at a time. A slice
 * ends just after a '\n' or at the end of the bytes at hand, so the row
 * is complete at the end of the slice that holds its last byte and no byte
 * of the next row has been consumed. */
static reader_status csv_feed(reader *r, csv_state *st, field_err *fe)
{
	/* Each pass consumes at least one byte, or returns. */
	for (;;) {
		if (r->pos == r->end) {
			if (src_fill(r, 1) != 0)
				return csv_read_error(fe);
			if (r->pos == r->end) {
				if (csv_fini(&st->parser, csv_on_field, csv_on_row, st) != 0)
					return csv_open_quote(fe);
				break;
			}
		}
		assert(st->row_bytes <= LEDGER_LINE_BYTES_MAX);
		const char *s = r->buf + r->pos;
		size_t avail = r->end - r->pos;
		size_t room = LEDGER_LINE_BYTES_MAX - st->row_bytes;
		const char *nl = memchr(s, '\n', avail < room + 1 ? avail : room + 1);
		size_t n = nl ? (size_t)(nl - s) + 1 : avail;
		if (n - (nl ? 1 : 0) > room)
			return csv_skip_row(r, st, fe);
		size_t fed = csv_parse(&st->parser, s, n, csv_on_field, csv_on_row, st);
		if (fed < n)
			return csv_parse_error(st, r->line + 1, s, fed, fe);
		st->quotes += csv_count(s, n, '"');
		st->row_bytes += n;
		r->pos += n;
		st->col_bytes = nl ? 0 : st->col_bytes + n;
		r->line += nl ? 1 : 0;
		if (st->row_done)
			break;
		if (st->row_bytes > LEDGER_LINE_BYTES_MAX)
			return csv_skip_row(r, st, fe);
	}
	if (st->oom) {
		field_fail(fe, "record", "out of memory");
		return READER_FAIL;
	}
	assert(st->row_done);
	return READER_RECORD;
}

/* Step over blank lines and the spaces that begin a row, as libcsv would,
 * so that we know the line the row starts on. Returns -1 on a read error,
 * 0 at the end of the input, 1 with r->pos on the row's first byte. */
static int csv_skip_blank(reader *r, csv_state *st)
{
	static const char bom[3] = { (char)0xEF, (char)0xBB, (char)0xBF };

	if (!st->started) {
		st->started = true;
		if (src_fill(r, sizeof bom) != 0)
			return -1;
		if (r->end - r->pos >= sizeof bom &&
		    memcmp(r->buf + r->pos, bom, sizeof bom) == 0) {
			r->pos += sizeof bom;
			st->col_bytes = sizeof bom;
		}
	}
	/* Each pass consumes one byte, or returns. */
	for (;;) {
		if (r->pos == r->end) {
			if (src_fill(r, 1) != 0)
				return -1;
			if (r->pos == r->end)
				return 0;
		}
		char c = r->buf[r->pos];
		if (c == '\n') {
			r->line++;
			st->col_bytes = 0;
		} else if (csv_is_space((unsigned char)c)) {
			st->col_bytes++;
		} else {
			return 1;
		}
		r->pos++;
	}
}

/* Read the next row's fields into st. */
static reader_status csv_read_row(reader *r, csv_state *st, uint64_t *line,
                                  field_err *fe)
{
	int rc = csv_skip_blank(r, st);

	if (rc < 0)
		return csv_read_error(fe);
	if (rc == 0)
		return READER_END;
	st->row_line = *line = r->line + 1;
	st->row_bytes = st->quotes = st->nfields = st->text_bytes = 0;
	st->nul_field = SIZE_MAX;
	st->row_done = st->nonempty = st->oom = false;
	return csv_feed(r, st, fe);
}

static const char *csv_cell_text(const csv_state *st, size_t i, size_t *bytes)
{
	*bytes = st->cells[i].bytes;
	/* No text at all yet: an empty string, not NULL + 0. */
	return st->text ? st->text + st->cells[i].offset : "";
}

/* Map the header's names to columns. */
static bool csv_header(csv_state *st, field_err *fe)
{
	bool seen[CSV_COLUMNS_MAX] = { false };
	size_t kept = st->nfields < CSV_COLUMNS_MAX + 1 ? st->nfields
	                                                 : CSV_COLUMNS_MAX + 1;
	char f[sizeof fe->field];

	for (size_t i = 0; i < kept; i++) {
		size_t bytes, j = 0;
		const char *name = csv_cell_text(st, i, &bytes);
		if (bytes == 0)
			return field_fail(fe, "header", "column %zu has no name", i + 1);
		if (i == st->nul_field)
			return field_fail(fe, "header", "column %zu contains a NUL "
			                  "character", i + 1);
		while (j < CSV_COLUMNS_MAX &&
		       (strlen(csv_columns[j].name) != bytes ||
		        memcmp(csv_columns[j].name, name, bytes) != 0))
			j++;
		snprintf(f, sizeof f, "%.*s", (int)(bytes < 60 ? bytes : 60), name);
		if (j == CSV_COLUMNS_MAX)
			return field_fail(fe, f, "unknown column");
		if (seen[j])
			return field_fail(fe, f, "duplicate column");
		seen[j] = true;
		st->col[i] = (uint8_t)j;
	}
	/* Pigeonhole: CSV_COLUMNS_MAX + 1 known, distinct names cannot be. */
	assert(st->nfields <= CSV_COLUMNS_MAX);
	if (!seen[CSV_COL_TYPE])
		return field_fail(fe, "type", "missing header column");
	st->ncols = st->nfields;
	return true;
}

static void csv_trim(const char **s, size_t *n)
{
	while (*n > 0 && ((*s)[0] == ' ' || (*s)[0] == '\t')) {
		(*s)++;
		(*n)--;
	}
	while (*n > 0 && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
		(*n)--;
}

/* Split s at each sep into trimmed arena strings, skipping empty ones; the
 * array ends in NULL. False when out of memory. */
static bool csv_split(char ***out, size_t *count, const char *s, size_t n,
                      char sep, arena *a)
{
	size_t max = csv_count(s, n, sep) + 1, k = 0, start = 0;
	char **v = arena_alloc(a, (max + 1) * sizeof *v);

	if (!v)
		return false;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != sep)
			continue;
		const char *item = s + start;
		size_t bytes = i - start;
		start = i + 1;
		csv_trim(&item, &bytes);
		if (bytes > 0 && !(v[k++] = arena_strndup(a, item, bytes)))
			return false;
	}
	v[k] = NULL;
	*out = v;
	*count = k;
	return true;
}

/* NAME|ROLE|COUNTRY; an empty part is absent. */
static bool csv_participant(Annals__Participant *p, const char *s, size_t i,
                            arena *a, field_err *fe)
{
	char **part[] = { &p->name, &p->role, &p->country };
	size_t nparts = sizeof part / sizeof part[0], n = strlen(s), start = 0;
	size_t k = 0;
	char f[sizeof fe->field];

	snprintf(f, sizeof f, "participants[%zu]", i);
	for (size_t j = 0; j <= n; j++) {
		if (j < n && s[j] != '|')
			continue;
		if (k == nparts)
			return field_fail(fe, f, "more than 3 parts; write "
			                  "NAME|ROLE|COUNTRY");
		const char *t = s + start;
		size_t bytes = j - start;
		start = j + 1;
		csv_trim(&t, &bytes);
		if (bytes > 0 && !(*part[k] = arena_strndup(a, t, bytes)))
			return field_fail(fe, f, "out of memory");
		k++;
	}
	return true;
}

static bool csv_participants(Annals__InputEvent *ev, const char *s, size_t n,
                             arena *a, field_err *fe)
{
	char **items;
	size_t count;

	if (!csv_split(&items, &count, s, n, ';', a))
		return field_fail(fe, "participants", "out of memory");
	ev->participants = arena_alloc(a, (count + 1) * sizeof *ev->participants);
	if (!ev->participants)
		return field_fail(fe, "participants", "out of memory");
	for (size_t i = 0; i < count; i++) {
		Annals__Participant *p = arena_alloc(a, sizeof *p);
		if (!p)
			return field_fail(fe, "participants", "out of memory");
		annals__participant__init(p);
		ev->participants[i] = p;
		ev->n_participants = i + 1;
		if (!csv_participant(p, items[i], i, a, fe))
			return false;
	}
	return true;
}

static bool csv_version(Annals__InputEvent *ev, const char *s, size_t n,
                        arena *a, field_err *fe)
{
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return field_fail(fe, "expect_version",
			                  "must be a whole number (digits only)");
		unsigned d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return field_fail(fe, "expect_version", "larger than %llu",
			                  (unsigned long long)UINT64_MAX);
		v = v * 10 + d;
	}
	ev->expect_version = arena_alloc(a, sizeof *ev->expect_version);
	if (!ev->expect_version)
		return field_fail(fe, "expect_version", "out of memory");
	annals__expected_version__init(ev->expect_version);
	ev->expect_version->version = v;
	return true;
}

/* The event's single source, made on first use. */
static Annals__Source *csv_source(Annals__InputEvent *ev, arena *a)
{
	if (ev->n_sources == 1)
		return ev->sources[0];
	Annals__Source *src = arena_alloc(a, sizeof *src);
	ev->sources = arena_alloc(a, 2 * sizeof *ev->sources);
	if (!src || !ev->sources)
		return NULL;
	annals__source__init(src);
	ev->sources[0] = src;
	ev->sources[1] = NULL;
	ev->n_sources = 1;
	return src;
}

/* Store one non-empty cell in its field. */
static bool csv_cell_set(Annals__InputEvent *ev, const csv_column *c,
                         const char *s, size_t n, arena *a, field_err *fe)
{
	void *msg = ev;

	switch (c->kind) {
	case CSV_SOURCE:
		if (!(msg = csv_source(ev, a)))
			return field_fail(fe, c->name, "out of memory");
		/* fall through */
	case CSV_EVENT:
		if (!(*(char **)((char *)msg + c->offset) = arena_strndup(a, s, n)))
			return field_fail(fe, c->name, "out of memory");
		return true;
	case CSV_ALIASES:
		if (!csv_split(&ev->aliases, &ev->n_aliases, s, n, ';', a))
			return field_fail(fe, c->name, "out of memory");
		return true;
	case CSV_EXTERNAL_IDS:
		if (!csv_split(&ev->external_ids, &ev->n_external_ids, s, n, ';', a))
			return field_fail(fe, c->name, "out of memory");
		return true;
	case CSV_PARTICIPANTS:
		return csv_participants(ev, s, n, a, fe);
	case CSV_VERSION:
		return csv_version(ev, s, n, a, fe);
	}
	return field_fail(fe, c->name, "unknown column kind");
}

static reader_status csv_event(Annals__InputEvent **out, const csv_state *st,
                               arena *a, field_err *fe)
{
	Annals__InputEvent *ev;

	if (st->nfields != st->ncols) {
		field_fail(fe, "record", "%zu field%s, the header has %zu",
		           st->nfields, st->nfields == 1 ? "" : "s", st->ncols);
		return READER_BAD;
	}
	if (st->nul_field != SIZE_MAX) {
		field_fail(fe, csv_columns[st->col[st->nul_field]].name,
		           "contains a NUL character");
		return READER_BAD;
	}
	if (!(ev = arena_alloc(a, sizeof *ev))) {
		field_fail(fe, "record", "out of memory");
		return READER_BAD;
	}
	annals__input_event__init(ev);
	for (size_t i = 0; i < st->ncols; i++) {
		size_t n;
		const char *s = csv_cell_text(st, i, &n);
		if (n > 0 && !csv_cell_set(ev, &csv_columns[st->col[i]], s, n, a, fe))
			return READER_BAD;
	}
	*out = ev;
	return READER_RECORD;
}

reader_status reader_csv(reader *r, Annals__InputEvent **out, uint64_t *line,
                         arena *a, field_err *fe)
{
	csv_state *st = r->csv;
	reader_status rs;

	if (st->failed) {
		*fe = st->fail;
		*line = st->fail_line;
		return READER_FAIL;
	}
	*line = r->line + 1;
	/* Each pass reads one row, so the loop ends with the input. */
	for (;;) {
		rs = csv_read_row(r, st, line, fe);
		if (rs == READER_RECORD && !st->nonempty)
			continue;       /* a blank row */
		if (rs == READER_RECORD && st->ncols == 0) {
			if (csv_header(st, fe))
				continue;
			rs = READER_FAIL;
		} else if (rs == READER_BAD && st->ncols == 0) {
			/* Without its header no row can be read. */
			snprintf(fe->field, sizeof fe->field, "header");
			rs = READER_FAIL;
		} else if (rs == READER_RECORD) {
			rs = csv_event(out, st, a, fe);
		}
		break;
	}
	if (rs == READER_FAIL) {
		st->failed = true;
		st->fail = *fe;
		st->fail_line = *line;
	}
	return rs;
}
