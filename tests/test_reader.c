/* The NDJSON and protobuf record readers (ledger/reader.h), over memory and
 * over a file descriptor: refused fields and types, line numbers through
 * blank lines, BOM, CRLF and over-long lines, invalid text, and protobuf
 * framing (truncation, lying lengths, over-long varints). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "annals.pb-c.h"
#include "arena.h"
#include "fixture.h"
#include "limits.h"
#include "reader.h"

/* One reader over bytes, in memory or through a temporary file. */
typedef struct rd {
	reader *r;
	arena a;
	int fd;
	Annals__InputEvent *ev;
	uint64_t line;
	field_err fe;
} rd;

static void rd_open(rd *x, ledger_format format, const void *data, size_t bytes,
                    bool use_fd)
{
	memset(x, 0, sizeof *x);
	x->fd = -1;
	arena_init(&x->a);
	if (use_fd) {
		char path[] = "/tmp/annals-reader-XXXXXX";
		x->fd = mkstemp(path);
		CU_ASSERT_FATAL(x->fd >= 0);
		unlink(path);
		const char *p = data;
		size_t left = bytes;
		while (left > 0) {
			ssize_t n = write(x->fd, p, left);
			CU_ASSERT_FATAL(n > 0);
			p += n;
			left -= (size_t)n;
		}
		CU_ASSERT_FATAL(lseek(x->fd, 0, SEEK_SET) == 0);
	}
	x->r = reader_new(format, x->fd, use_fd ? NULL : data, use_fd ? 0 : bytes);
	CU_ASSERT_FATAL(x->r != NULL);
}

static void rd_close(rd *x)
{
	reader_free(x->r);
	arena_free(&x->a);
	if (x->fd >= 0)
		close(x->fd);
}

static reader_status rd_next(rd *x)
{
	x->ev = NULL;
	memset(&x->fe, 0, sizeof x->fe);
	arena_reset(&x->a);
	return reader_next(x->r, &x->ev, &x->line, &x->a, &x->fe);
}

/* The next result must be a record at line. */
static void want_record(rd *x, uint64_t line)
{
	reader_status s = rd_next(x);

	CU_ASSERT_EQUAL(s, READER_RECORD);
	CU_ASSERT_EQUAL(x->line, line);
	if (s == READER_RECORD)
		CU_ASSERT_PTR_NOT_NULL(x->ev);
	if (s != READER_RECORD || x->line != line)
		fprintf(stderr, "\nwanted a record at %llu, got %d at %llu: %s: %s\n",
		        (unsigned long long)line, (int)s, (unsigned long long)x->line,
		        x->fe.field, x->fe.reason);
}

/* The next result must be status at line, naming field, its reason
 * containing reason (when not NULL). */
static void want_refused(rd *x, reader_status status, uint64_t line,
                         const char *field, const char *reason)
{
	reader_status s = rd_next(x);
	bool ok = s == status && x->line == line &&
	          strcmp(x->fe.field, field) == 0 &&
	          (!reason || strstr(x->fe.reason, reason));

	CU_ASSERT_EQUAL(s, status);
	CU_ASSERT_EQUAL(x->line, line);
	CU_ASSERT_STRING_EQUAL(x->fe.field, field);
	if (reason)
		CU_ASSERT_PTR_NOT_NULL(strstr(x->fe.reason, reason));
	if (!ok)
		fprintf(stderr, "\nwanted %d at %llu '%s: %s', got %d at %llu '%s: %s'\n",
		        (int)status, (unsigned long long)line, field,
		        reason ? reason : "*", (int)s, (unsigned long long)x->line,
		        x->fe.field, x->fe.reason);
}

static void want_end(rd *x)
{
	CU_ASSERT_EQUAL(rd_next(x), READER_END);
	CU_ASSERT_EQUAL(rd_next(x), READER_END);
}

static void ndjson_open(rd *x, const char *text, bool use_fd)
{
	rd_open(x, LEDGER_FORMAT_NDJSON, text, strlen(text), use_fd);
}

/* ---- NDJSON ---- */

static void test_reader_ndjson_fields(void)
{
	for (int use_fd = 0; use_fd <= 1; use_fd++) {
		rd x;
		ndjson_open(&x,
		            "{\"id\":\"a\",\"type\":\"meeting\",\"country\":\"KZ\","
		            "\"organization\":\"taliban\",\"date\":\"2023-12\","
		            "\"summary\":\"caf\\u00e9 \\\"q\\\"\",\"authority\":null,"
		            "\"sources\":[{\"url\":\"https://e.org\",\"title\":\"T\"}],"
		            "\"participants\":[{\"name\":\"N\",\"role\":\"R\",\"country\":\"AF\"}],"
		            "\"aliases\":[\"x\",\"y\"],\"external_ids\":[\"un:1\"],"
		            "\"expect_version\":7}\n"
		            "{\"type\":\"retraction\",\"retracts\":\"a\",\"reason\":\"r\"}",
		            use_fd);
		want_record(&x, 1);
		Annals__InputEvent *e = x.ev;
		if (e) {
			CU_ASSERT_STRING_EQUAL(e->id, "a");
			CU_ASSERT_STRING_EQUAL(e->type, "meeting");
			CU_ASSERT_STRING_EQUAL(e->country, "KZ");
			CU_ASSERT_STRING_EQUAL(e->organization, "taliban");
			CU_ASSERT_STRING_EQUAL(e->date, "2023-12");
			CU_ASSERT_STRING_EQUAL(e->summary, "caf\xc3\xa9 \"q\"");
			CU_ASSERT(e->authority == NULL || *e->authority == '\0');
			CU_ASSERT_EQUAL_FATAL(e->n_sources, 1);
			CU_ASSERT_STRING_EQUAL(e->sources[0]->url, "https://e.org");
			CU_ASSERT_STRING_EQUAL(e->sources[0]->title, "T");
			CU_ASSERT_EQUAL_FATAL(e->n_participants, 1);
			CU_ASSERT_STRING_EQUAL(e->participants[0]->role, "R");
			CU_ASSERT_STRING_EQUAL(e->participants[0]->country, "AF");
			CU_ASSERT_EQUAL_FATAL(e->n_aliases, 2);
			CU_ASSERT_STRING_EQUAL(e->aliases[1], "y");
			CU_ASSERT_EQUAL_FATAL(e->n_external_ids, 1);
			CU_ASSERT_PTR_NOT_NULL_FATAL(e->expect_version);
			CU_ASSERT_EQUAL(e->expect_version->version, 7);
		}
		want_record(&x, 2);
		if (x.ev) {
			CU_ASSERT_STRING_EQUAL(x.ev->retracts, "a");
			CU_ASSERT_PTR_NULL(x.ev->expect_version);
		}
		want_end(&x);
		rd_close(&x);
	}
}

static void test_reader_ndjson_unknown_field(void)
{
	rd x;

	ndjson_open(&x,
	            "{\"type\":\"meeting\",\"colour\":\"red\"}\n"
	            "{\"type\":\"meeting\",\"sources\":[{\"url\":\"https://e.org\"},{\"colour\":\"x\"}]}\n"
	            "{\"type\":\"meeting\",\"participants\":[{\"name\":\"n\",\"rank\":\"x\"}]}\n"
	            "{\"Type\":\"meeting\"}\n"
	            "{\"\":1}\n"
	            "{\"type\":\"meeting\"}\n", false);
	want_refused(&x, READER_BAD, 1, "colour", "unknown field");
	want_refused(&x, READER_BAD, 2, "sources[1].colour", "unknown field");
	want_refused(&x, READER_BAD, 3, "participants[0].rank", "unknown field");
	want_refused(&x, READER_BAD, 4, "Type", "unknown field");
	want_refused(&x, READER_BAD, 5, "record", "unknown field");
	want_record(&x, 6);
	want_end(&x);
	rd_close(&x);
}

static void test_reader_ndjson_wrong_types(void)
{
	rd x;

	ndjson_open(&x,
	            "{\"country\":12}\n"
	            "{\"type\":true}\n"
	            "{\"summary\":[\"a\"]}\n"
	            "{\"aliases\":{\"a\":1}}\n"
	            "{\"aliases\":\"one\"}\n"
	            "{\"aliases\":[\"a\",2]}\n"
	            "{\"sources\":{\"url\":\"https://e.org\"}}\n"
	            "{\"sources\":[\"https://e.org\"]}\n"
	            "{\"sources\":[{\"url\":5}]}\n"
	            "{\"participants\":\"n\"}\n"
	            "{\"expect_version\":\"1\"}\n"
	            "{\"expect_version\":-1}\n"
	            "{\"expect_version\":1.5}\n"
	            "[{\"type\":\"meeting\"}]\n"
	            "\"meeting\"\n"
	            "{\"external_ids\":[null]}\n"
	            "{\"type\":\"ok\"}\n", false);
	want_refused(&x, READER_BAD, 1, "country", "must be a string");
	want_refused(&x, READER_BAD, 2, "type", "must be a string");
	want_refused(&x, READER_BAD, 3, "summary", "must be a string");
	want_refused(&x, READER_BAD, 4, "aliases", "must be an array");
	want_refused(&x, READER_BAD, 5, "aliases", "must be an array");
	want_refused(&x, READER_BAD, 6, "aliases[1]", "must be a string");
	want_refused(&x, READER_BAD, 7, "sources", "must be an array");
	want_refused(&x, READER_BAD, 8, "sources[0]", "must be an object");
	want_refused(&x, READER_BAD, 9, "sources[0].url", "must be a string");
	want_refused(&x, READER_BAD, 10, "participants", "must be an array");
	want_refused(&x, READER_BAD, 11, "expect_version", NULL);
	want_refused(&x, READER_BAD, 12, "expect_version", NULL);
	want_refused(&x, READER_BAD, 13, "expect_version", NULL);
	want_refused(&x, READER_BAD, 14, "record", "must be a JSON object");
	want_refused(&x, READER_BAD, 15, "json", NULL);
	want_refused(&x, READER_BAD, 16, "external_ids[0]", "must be a string");
	want_record(&x, 17);
	want_end(&x);
	rd_close(&x);
}

static void test_reader_ndjson_duplicate_keys(void)
{
	rd x;

	ndjson_open(&x,
	            "{\"type\":\"meeting\",\"type\":\"listed\"}\n"
	            "{\"type\":\"meeting\",\"sources\":[{\"url\":\"https://a\",\"url\":\"https://b\"}]}\n"
	            "{\"type\":\"meeting\"}\n", false);
	want_refused(&x, READER_BAD, 1, "json", "duplicate");
	want_refused(&x, READER_BAD, 2, "json", "duplicate");
	want_record(&x, 3);
	want_end(&x);
	rd_close(&x);
}

static void test_reader_ndjson_blank_lines_bom_crlf(void)
{
	for (int use_fd = 0; use_fd <= 1; use_fd++) {
		rd x;
		/* BOM, then blank lines of spaces and tabs, CRLF endings, and a
		 * last line without a newline. */
		ndjson_open(&x,
		            "\xef\xbb\xbf{\"type\":\"a\"}\r\n"
		            "\n"
		            "   \t \r\n"
		            "{\"type\":\"b\"}\r\n"
		            "\r\n"
		            "\n"
		            "{\"type\":\"c\"}\n"
		            "{\"type\":\"d\"}", use_fd != 0);
		want_record(&x, 1);
		if (x.ev)
			CU_ASSERT_STRING_EQUAL(x.ev->type, "a");
		want_record(&x, 4);
		if (x.ev)
			CU_ASSERT_STRING_EQUAL(x.ev->type, "b");
		want_record(&x, 7);
		want_record(&x, 8);
		if (x.ev)
			CU_ASSERT_STRING_EQUAL(x.ev->type, "d");
		want_end(&x);
		rd_close(&x);
	}
	/* A BOM alone on the first line makes it blank; one on a later line
	 * is not JSON. */
	rd x;
	ndjson_open(&x, "\xef\xbb\xbf\n{\"type\":\"a\"}\n\xef\xbb\xbf{\"type\":\"b\"}\n",
	            false);
	want_record(&x, 2);
	want_refused(&x, READER_BAD, 3, "json", NULL);
	want_end(&x);
	rd_close(&x);
	/* Only blank lines: no record. */
	ndjson_open(&x, "\n\r\n  \n", false);
	want_end(&x);
	rd_close(&x);
	ndjson_open(&x, "", false);
	want_end(&x);
	rd_close(&x);
}

static void test_reader_ndjson_bad_text(void)
{
	rd x;

	ndjson_open(&x,
	            "{\"type\":\"\xff\"}\n"
	            "{\"type\":\"a\\u0000b\"}\n"
	            "{\"type\":\"\xc0\xaf\"}\n"
	            "{\"type\":\"\xed\xa0\x80\"}\n"
	            "{\"type\":\"\\ud800\"}\n"
	            "{\"summary\":\"\xe2\x82\"}\n"
	            "{\"type\":\"meeting\"\n"
	            "{\"type\":\"meeting\"} trailing\n"
	            "{\"type\":\"meeting\",}\n"
	            "{\"type\":\"caf\xc3\xa9\"}\n"
	            "{\"participants\":[{\"name\":\"a\"},{\"name\":\"\x01\"}]}\n"
	            "{\"aliases\":[\"a\", \"b\\u0000\"], \"type\":\"x\"}\n"
	            "{\"ty\xffpe\":\"x\"}\n"
	            "{\"type\":\"a\" \"b\"}\n"
	            "[\"\xff\"]\n", false);
	/* A refused string names its field (jansson's position is in or just
	 * after it); a syntax error or a bad key is "json". */
	for (uint64_t line = 1; line <= 5; line++)
		want_refused(&x, READER_BAD, line, "type", NULL);
	want_refused(&x, READER_BAD, 6, "summary", NULL);
	for (uint64_t line = 7; line <= 9; line++)
		want_refused(&x, READER_BAD, line, "json", NULL);
	want_record(&x, 10);
	want_refused(&x, READER_BAD, 11, "participants[1].name", NULL);
	want_refused(&x, READER_BAD, 12, "aliases[1]", NULL);
	for (uint64_t line = 13; line <= 15; line++)
		want_refused(&x, READER_BAD, line, "json", NULL);
	want_end(&x);
	rd_close(&x);
}

/* A line of exactly `bytes` bytes: a JSON object padded with spaces. */
static void long_line(fixture_text *t, size_t bytes)
{
	const char *obj = "{\"type\":\"long\"}";

	fixture_text_add(t, "%s", obj);
	fixture_text_repeat(t, ' ', bytes - strlen(obj));
	fixture_text_add(t, "\n");
}

static void check_long_lines(bool use_fd, size_t over_bytes)
{
	fixture_text t = { 0 };
	rd x;

	fixture_text_add(&t, "{\"type\":\"first\"}\n");
	long_line(&t, LEDGER_LINE_BYTES_MAX);
	long_line(&t, over_bytes);
	fixture_text_add(&t, "{\"type\":\"after\"}\n");
	long_line(&t, over_bytes);
	fixture_text_add(&t, "\n{\"type\":\"last\"}");
	rd_open(&x, LEDGER_FORMAT_NDJSON, t.data, t.bytes, use_fd);
	want_record(&x, 1);
	want_record(&x, 2);            /* at the limit */
	if (x.ev)
		CU_ASSERT_STRING_EQUAL(x.ev->type, "long");
	want_refused(&x, READER_BAD, 3, "line", "longer than");
	want_record(&x, 4);
	if (x.ev)
		CU_ASSERT_STRING_EQUAL(x.ev->type, "after");
	want_refused(&x, READER_BAD, 5, "line", "longer than");
	want_record(&x, 7);
	if (x.ev)
		CU_ASSERT_STRING_EQUAL(x.ev->type, "last");
	want_end(&x);
	rd_close(&x);
	fixture_text_free(&t);
}

static void test_reader_ndjson_long_line_fd(void)
{
	/* Far over the limit, from a file: the reader skips it in pieces. */
	check_long_lines(true, 3 * LEDGER_LINE_BYTES_MAX + 12345);
}

/* One byte over the limit is over it too, whether the newline that ends
 * the line was already read or not, and in memory as from a file. */
static void test_reader_ndjson_long_line_max_plus_one(void)
{
	check_long_lines(true, LEDGER_LINE_BYTES_MAX + 1);
	check_long_lines(false, LEDGER_LINE_BYTES_MAX + 1);
	check_long_lines(false, 3 * LEDGER_LINE_BYTES_MAX + 12345);
}

/* ---- protobuf ---- */

static void pb_event(fixture_text *t, const char *id, const char *type)
{
	Annals__InputEvent m = ANNALS__INPUT_EVENT__INIT;
	Annals__Source s = ANNALS__SOURCE__INIT, *sp = &s;
	Annals__ExpectedVersion v = ANNALS__EXPECTED_VERSION__INIT;

	m.id = (char *)id;
	m.type = (char *)type;
	m.country = "KZ";
	m.organization = "taliban";
	m.date = "2023-12-29";
	s.url = "https://example.org/a";
	m.n_sources = 1;
	m.sources = &sp;
	v.version = 0;
	m.expect_version = &v;
	fixture_pb_add(t, &m.base);
}

static void test_reader_pb_valid(void)
{
	for (int use_fd = 0; use_fd <= 1; use_fd++) {
		fixture_text t = { 0 };
		rd x;
		pb_event(&t, "one", "listed");
		pb_event(&t, "two", "meeting");
		pb_event(&t, "three", "statement");
		rd_open(&x, LEDGER_FORMAT_PB, t.data, t.bytes, use_fd != 0);
		static const char *ids[] = { "one", "two", "three" };
		for (uint64_t i = 0; i < 3; i++) {
			want_record(&x, i + 1);
			if (!x.ev)
				continue;
			CU_ASSERT_STRING_EQUAL(x.ev->id, ids[i]);
			CU_ASSERT_STRING_EQUAL(x.ev->country, "KZ");
			CU_ASSERT_EQUAL_FATAL(x.ev->n_sources, 1);
			CU_ASSERT_STRING_EQUAL(x.ev->sources[0]->url, "https://example.org/a");
			CU_ASSERT_PTR_NOT_NULL_FATAL(x.ev->expect_version);
			CU_ASSERT_EQUAL(x.ev->expect_version->version, 0);
		}
		want_end(&x);
		rd_close(&x);
		fixture_text_free(&t);
	}
	/* Empty input; an empty message is a record (of empty fields). */
	rd x;
	rd_open(&x, LEDGER_FORMAT_PB, "", 0, false);
	want_end(&x);
	rd_close(&x);
	rd_open(&x, LEDGER_FORMAT_PB, "\0\0", 2, false);
	want_record(&x, 1);
	want_record(&x, 2);
	want_end(&x);
	rd_close(&x);
}

static void test_reader_pb_truncated(void)
{
	for (int use_fd = 0; use_fd <= 1; use_fd++) {
		fixture_text t = { 0 };
		rd x;
		pb_event(&t, "one", "listed");
		pb_event(&t, "two", "meeting");
		rd_open(&x, LEDGER_FORMAT_PB, t.data, t.bytes - 1, use_fd != 0);
		want_record(&x, 1);
		want_refused(&x, READER_FAIL, 2, "record", "truncated");
		rd_close(&x);
		fixture_text_free(&t);
	}
	/* Cut inside the length varint. */
	rd x;
	rd_open(&x, LEDGER_FORMAT_PB, "\x85", 1, false);
	want_refused(&x, READER_FAIL, 1, "length", NULL);
	rd_close(&x);
}

static void test_reader_pb_lying_length(void)
{
	fixture_text t = { 0 }, one = { 0 };
	rd x;

	/* Longer than what follows: 0xE8 0x07 announces 1000 bytes, and 10
	 * follow. */
	pb_event(&t, "one", "listed");
	fixture_text_bytes(&t, "\xe8\x07" "0123456789", 12);
	rd_open(&x, LEDGER_FORMAT_PB, t.data, t.bytes, false);
	want_record(&x, 1);
	want_refused(&x, READER_FAIL, 2, "record", "1000 bytes announced");
	rd_close(&x);
	/* Shorter than the message: 4 bytes of it end inside a field, which
	 * is not a valid message; the reader goes on after those 4 bytes. */
	pb_event(&one, "one", "listed");
	t.bytes = 0;
	fixture_text_bytes(&t, "\x04", 1);
	fixture_text_bytes(&t, one.data + 1, 4);
	pb_event(&t, "two", "meeting");
	rd_open(&x, LEDGER_FORMAT_PB, t.data, t.bytes, false);
	want_refused(&x, READER_BAD, 1, "record", "not a valid");
	want_record(&x, 2);
	if (x.ev)
		CU_ASSERT_STRING_EQUAL(x.ev->id, "two");
	want_end(&x);
	rd_close(&x);
	/* Bytes that are not a message at all. */
	t.bytes = 0;
	fixture_text_bytes(&t, "\x03\xff\xff\xff", 4);
	pb_event(&t, "three", "meeting");
	rd_open(&x, LEDGER_FORMAT_PB, t.data, t.bytes, false);
	want_refused(&x, READER_BAD, 1, "record", NULL);
	want_record(&x, 2);
	want_end(&x);
	rd_close(&x);
	fixture_text_free(&t);
	fixture_text_free(&one);
}

static void test_reader_pb_long_varint(void)
{
	fixture_text t = { 0 };
	rd x;

	/* 11 bytes with the continuation bit: longer than any uint64 varint. */
	fixture_text_repeat(&t, '\x80', 11);
	fixture_text_repeat(&t, '\x01', 1);
	fixture_text_repeat(&t, 'x', 20);
	for (int use_fd = 0; use_fd <= 1; use_fd++) {
		rd_open(&x, LEDGER_FORMAT_PB, t.data, t.bytes, use_fd != 0);
		want_refused(&x, READER_FAIL, 1, "length", "varint");
		rd_close(&x);
	}
	/* A 10-byte varint is well formed but far over the record limit. */
	t.bytes = 0;
	fixture_text_repeat(&t, '\xff', 9);
	fixture_text_repeat(&t, '\x01', 1);
	rd_open(&x, LEDGER_FORMAT_PB, t.data, t.bytes, false);
	want_refused(&x, READER_FAIL, 1, "length", "over the limit");
	rd_close(&x);
	/* One byte over the record limit; the limit itself is only truncated. */
	t.bytes = 0;
	uint64_t len = LEDGER_LINE_BYTES_MAX + 1;
	while (len >= 0x80) {
		fixture_text_repeat(&t, (char)(0x80 | (len & 0x7f)), 1);
		len >>= 7;
	}
	fixture_text_repeat(&t, (char)len, 1);
	rd_open(&x, LEDGER_FORMAT_PB, t.data, t.bytes, false);
	want_refused(&x, READER_FAIL, 1, "length", "over the limit");
	rd_close(&x);
	fixture_text_free(&t);
}

void suite_reader(void);

void suite_reader(void)
{
	CU_pSuite s = CU_add_suite("reader", NULL, NULL);

	CU_add_test(s, "ndjson fields", test_reader_ndjson_fields);
	CU_add_test(s, "ndjson unknown field", test_reader_ndjson_unknown_field);
	CU_add_test(s, "ndjson wrong types", test_reader_ndjson_wrong_types);
	CU_add_test(s, "ndjson duplicate keys", test_reader_ndjson_duplicate_keys);
	CU_add_test(s, "ndjson blank lines, BOM, CRLF", test_reader_ndjson_blank_lines_bom_crlf);
	CU_add_test(s, "ndjson invalid text", test_reader_ndjson_bad_text);
	CU_add_test(s, "ndjson long line (fd)", test_reader_ndjson_long_line_fd);
	CU_add_test(s, "ndjson line at max+1", test_reader_ndjson_long_line_max_plus_one);
	CU_add_test(s, "pb valid stream", test_reader_pb_valid);
	CU_add_test(s, "pb truncated", test_reader_pb_truncated);
	CU_add_test(s, "pb lying length", test_reader_pb_lying_length);
	CU_add_test(s, "pb long varint", test_reader_pb_long_varint);
}
