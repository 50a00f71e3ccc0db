/* CSV input through the public reader API: header mapping, quoting, blank
 * rows, BOM and CRLF, header and row errors, ';' and '|' lists,
 * expect_version, line numbers, the record size limit at max and max+1,
 * malformed CSV, and streaming from a file and a pipe with quoted
 * multi-line fields placed across the reader's chunk boundaries. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "limits.h"
#include "reader.h"

typedef struct rd {
	reader *r;
	arena a;
	Annals__InputEvent *ev;
	uint64_t line;
	field_err fe;
} rd;

static void rd_open_fd(rd *t, int fd, const void *data, size_t bytes)
{
	t->r = reader_new(LEDGER_FORMAT_CSV, fd, data, bytes);
	arena_init(&t->a);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t->r);
}

static void rd_open(rd *t, const char *text)
{
	rd_open_fd(t, -1, text, strlen(text));
}

static reader_status rd_next(rd *t)
{
	arena_reset(&t->a);
	t->ev = NULL;
	t->line = 0;
	memset(&t->fe, 0, sizeof t->fe);
	return reader_next(t->r, &t->ev, &t->line, &t->a, &t->fe);
}

static void rd_close(rd *t)
{
	reader_free(t->r);
	arena_free(&t->a);
}

/* The next call must refuse a record with this field and reason text. */
static void rd_expect(rd *t, reader_status want, uint64_t line,
                      const char *field, const char *reason_part)
{
	CU_ASSERT_EQUAL(rd_next(t), want);
	CU_ASSERT_EQUAL(t->line, line);
	CU_ASSERT_STRING_EQUAL(t->fe.field, field);
	CU_ASSERT_PTR_NOT_NULL(strstr(t->fe.reason, reason_part));
	if (!strstr(t->fe.reason, reason_part))
		fprintf(stderr, "\n  got %s: %s\n", t->fe.field, t->fe.reason);
}

static bool absent(const char *s)
{
	return s == NULL || *s == '\0';
}

typedef struct buf {
	char *p;
	size_t n, cap;
} buf;

static void buf_add(buf *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		while (cap < b->n + n + 1)
			cap *= 2;
		b->p = realloc(b->p, cap);
		CU_ASSERT_PTR_NOT_NULL_FATAL(b->p);
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
}

static void buf_str(buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static void buf_fill(buf *b, char c, size_t n)
{
	char chunk[4096];

	memset(chunk, c, sizeof chunk);
	while (n > 0) {
		size_t k = n < sizeof chunk ? n : sizeof chunk;
		buf_add(b, chunk, k);
		n -= k;
	}
}

/* A descriptor reading bytes from an unlinked temporary file. */
static int temp_fd(const void *data, size_t bytes)
{
	char path[] = "/tmp/annals-test-csv-XXXXXX";
	int fd = mkstemp(path);

	CU_ASSERT_FATAL(fd >= 0);
	unlink(path);
	CU_ASSERT_FATAL(write(fd, data, bytes) == (ssize_t)bytes);
	CU_ASSERT_FATAL(lseek(fd, 0, SEEK_SET) == 0);
	return fd;
}

/* A pipe fed by a child in odd-sized pieces, so reads end anywhere. */
static int pipe_fd(const void *data, size_t bytes, pid_t *child)
{
	int p[2];

	CU_ASSERT_FATAL(pipe(p) == 0);
	*child = fork();
	CU_ASSERT_FATAL(*child >= 0);
	if (*child == 0) {
		const char *s = data;
		close(p[0]);
		for (size_t at = 0; at < bytes;) {
			size_t k = bytes - at < 4093 ? bytes - at : 4093;
			ssize_t w = write(p[1], s + at, k);
			if (w <= 0)
				_exit(1);
			at += (size_t)w;
		}
		_exit(0);
	}
	close(p[1]);
	return p[0];
}

static void test_csv_header_maps_every_column(void)
{
	rd t;
	rd_open(&t,
	        "id,type,country,organization,date,list,authority,instrument,"
	        "summary,retracts,redacts,reason,name,aliases,external_ids,"
	        "expect_version,source_url,source_title,source_publisher,"
	        "source_date,source_language,source_quote,participants\n"
	        "e1,listed,KZ,taliban,2023-12-29,banned,Court,Decree 5,Sum,"
	        "r1,d1,Why,Taliban,A;B,wikidata:Q42,7,https://x.test/a,Title,"
	        "Pub,2023-12,en,Quote,P|Role|AF\n");
	CU_ASSERT_EQUAL_FATAL(rd_next(&t), READER_RECORD);
	Annals__InputEvent *e = t.ev;
	CU_ASSERT_EQUAL(t.line, 2);
	CU_ASSERT_STRING_EQUAL(e->id, "e1");
	CU_ASSERT_STRING_EQUAL(e->type, "listed");
	CU_ASSERT_STRING_EQUAL(e->country, "KZ");
	CU_ASSERT_STRING_EQUAL(e->organization, "taliban");
	CU_ASSERT_STRING_EQUAL(e->date, "2023-12-29");
	CU_ASSERT_STRING_EQUAL(e->list, "banned");
	CU_ASSERT_STRING_EQUAL(e->authority, "Court");
	CU_ASSERT_STRING_EQUAL(e->instrument, "Decree 5");
	CU_ASSERT_STRING_EQUAL(e->summary, "Sum");
	CU_ASSERT_STRING_EQUAL(e->retracts, "r1");
	CU_ASSERT_STRING_EQUAL(e->redacts, "d1");
	CU_ASSERT_STRING_EQUAL(e->reason, "Why");
	CU_ASSERT_STRING_EQUAL(e->name, "Taliban");
	CU_ASSERT_EQUAL_FATAL(e->n_aliases, 2);
	CU_ASSERT_STRING_EQUAL(e->aliases[1], "B");
	CU_ASSERT_EQUAL_FATAL(e->n_external_ids, 1);
	CU_ASSERT_STRING_EQUAL(e->external_ids[0], "wikidata:Q42");
	CU_ASSERT_PTR_NOT_NULL_FATAL(e->expect_version);
	CU_ASSERT_EQUAL(e->expect_version->version, 7);
	CU_ASSERT_EQUAL_FATAL(e->n_sources, 1);
	CU_ASSERT_STRING_EQUAL(e->sources[0]->url, "https://x.test/a");
	CU_ASSERT_STRING_EQUAL(e->sources[0]->title, "Title");
	CU_ASSERT_STRING_EQUAL(e->sources[0]->publisher, "Pub");
	CU_ASSERT_STRING_EQUAL(e->sources[0]->date, "2023-12");
	CU_ASSERT_STRING_EQUAL(e->sources[0]->language, "en");
	CU_ASSERT_STRING_EQUAL(e->sources[0]->quote, "Quote");
	CU_ASSERT_EQUAL_FATAL(e->n_participants, 1);
	CU_ASSERT_STRING_EQUAL(e->participants[0]->name, "P");
	CU_ASSERT_STRING_EQUAL(e->participants[0]->role, "Role");
	CU_ASSERT_STRING_EQUAL(e->participants[0]->country, "AF");
	CU_ASSERT_EQUAL(rd_next(&t), READER_END);
	rd_close(&t);
}

static void test_csv_header_order_is_free(void)
{
	rd t;
	rd_open(&t, "summary,type,id\ns,statement,x\n");
	CU_ASSERT_EQUAL_FATAL(rd_next(&t), READER_RECORD);
	CU_ASSERT_STRING_EQUAL(t.ev->summary, "s");
	CU_ASSERT_STRING_EQUAL(t.ev->type, "statement");
	CU_ASSERT_STRING_EQUAL(t.ev->id, "x");
	CU_ASSERT(absent(t.ev->country));
	rd_close(&t);
}

static void test_csv_quotes_commas_and_newlines(void)
{
	rd t;
	rd_open(&t, "type,summary,reason\n"
	        "statement,\"a, b\",\"say \"\"hi\"\"\"\n"
	        "statement,\"line1\nline2\n\nline4\",x\n"
	        "statement,last,\"\"\"\"\n");
	CU_ASSERT_EQUAL_FATAL(rd_next(&t), READER_RECORD);
	CU_ASSERT_EQUAL(t.line, 2);
	CU_ASSERT_STRING_EQUAL(t.ev->summary, "a, b");
	CU_ASSERT_STRING_EQUAL(t.ev->reason, "say \"hi\"");
	CU_ASSERT_EQUAL_FATAL(rd_next(&t), READER_RECORD);
	CU_ASSERT_EQUAL(t.line, 3);
	CU_ASSERT_STRING_EQUAL(t.ev->summary, "line1\nline2\n\nline4");
	CU_ASSERT_STRING_EQUAL(t.ev->reason, "x");
	CU_ASSERT_EQUAL_FATAL(rd_next(&t), READER_RECORD);
	CU_ASSERT_EQUAL(t.line, 7);   /* not 4: the quoted field took 4 lines */
	CU_ASSERT_STRING_EQUAL(t.ev->reason, "\"");
	CU_ASSERT_EQUAL(rd_next(&t), READER_END);
	rd_close(&t);
}

static void test_csv_spaces_trimmed_unless_quoted(void)
{
	rd t;
	rd_open(&t, "type,summary,name\n  statement\t, \" padded \" , x y \n");
	CU_ASSERT_EQUAL_FATAL(rd_next(&t), READER_RECORD);
	CU_ASSERT_STRING_EQUAL(t.ev->type, "statement");
	CU_ASSERT_STRING_EQUAL(t.ev->summary, " padded ");
	CU_ASSERT_STRING_EQUAL(t.ev->name, "x y");
	rd_close(&t);
}

static void test_csv_empty_cells_are_absent(void)
{
	rd t;
	rd_open(&t, "id,type,country,summary,aliases,participants,"
	        "expect_version,source_url,source_quote\n"
	        ",statement,,\"\",,\"\",,,\n");
	CU_ASSERT_EQUAL_FATAL(rd_next(&t), READER_RECORD);
	Annals__InputEvent *e = t.ev;
	CU_ASSERT_STRING_EQUAL(e->type, "statement");
	CU_ASSERT(absent(e->id));
	CU_ASSERT(absent(e->country));
	CU_ASSERT(absent(e->summary));
	CU_ASSERT_EQUAL(e->n_aliases, 0);
	CU_ASSERT_EQUAL(e->n_participants, 0);
	CU_ASSERT_EQUAL(e->n_sources, 0);
	CU_ASSERT_PTR_NULL(e->expect_version);
	rd_close(&t);
}

static void test_csv_bom_is_skipped_at_start_only(void)
{
	rd t;
	rd_open(&t, "\xEF\xBB\xBFtype,summary\nstatement,\xEF\xBB\xBFx\n");
	CU_ASSERT_EQUAL_FATAL(rd_next(&t), READER_RECORD);
	CU_ASSERT_EQUAL(t.line, 2);
	CU_ASSERT_STRING_EQUAL(t.ev->type, "statement");
	CU_ASSERT_STRING_EQUAL(t.ev->summary, "\xEF\xBB\xBFx");
	rd_close(&t);
}

static void test_csv_crlf(void)
{
	rd t;
	rd_open(&t, "type,summary,id\r\n"
	        "statement,hello,a\r\n"
	        "statement,\"two\r\nlines\",\"b\"\r\n"
	        "statement,,c\r\n");
	CU_ASSERT_EQUAL_FATAL(rd_next(&t), READER_RECORD);
	CU_ASSERT_EQUAL(t.line, 2);
	CU_ASSERT_STRING_EQUAL(t.ev->summary, "hello");
	CU_ASSERT_STRING_EQUAL(t.ev->id, "a");
	CU_ASSERT_EQUAL_FATAL(rd_next(&t), READER_RECORD);
	CU_ASSERT_EQUAL(t.line, 3);
	CU_ASSERT_STRING_EQUAL(t.ev->summary, "two\r\nlines");   /* verbatim */
	CU_ASSERT_STRING_EQUAL(t.ev->id, "b");
	CU_ASSERT_EQUAL_FATAL(rd_next(&t), READER_RECORD);
	CU_ASSERT_EQUAL(t.line, 5);
	CU_ASSERT(absent(t.ev->summary));
	CU_ASSERT_STRING_EQUAL(t.ev->id, "c");
	CU_ASSERT_EQUAL(rd_next(&t), READER_END);
	rd_close(&t);
}

static void test_csv_blank_rows_are_skipped(void)
{
	rd t;
	rd_open(&t, "\n\ntype,id\n\n   \n\"\"\n,\nstatement,a\n\r\n\n"
	        "statement,b");
	CU_ASSERT_EQUAL_FATAL(rd_next(&t), READER_RECORD);
	CU_ASSERT_EQUAL(t.line, 8);
	CU_ASSERT_STRING_EQUAL(t.ev->id, "a");
	CU_ASSERT_EQUAL_FATAL(rd_next(&t), READER_RECORD);
	CU_ASSERT_EQUAL(t.line, 11);
	CU_ASSERT_STRING_EQUAL(t.ev->id, "b");
	CU_ASSERT_EQUAL(rd_next(&t), READER_END);
	CU_ASSERT_EQUAL(rd_next(&t), READER_END);
	rd_close(&t);
}

static void test_csv_empty_input_and_header_only(void)
{
	const char *inputs[] = { "", "\n\n  \r\n", "type,id\n", "type,id" };

	for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
		rd t;
		rd_open(&t, inputs[i]);
		CU_ASSERT_EQUAL(rd_next(&t), READER_END);
		rd_close(&t);
	}
}

static void test_csv_header_missing_type(void)
{
	rd t;
	rd_open(&t, "id,summary\nx,y\n");
	rd_expect(&t, READER_FAIL, 1, "type", "missing header column");
	/* The failure sticks: the rest cannot be read without a header. */
	rd_expect(&t, READER_FAIL, 1, "type", "missing header column");
	rd_close(&t);
}

static void test_csv_header_unknown_column(void)
{
	rd t;
	rd_open(&t, "type,colour\nstatement,red\n");
	rd_expect(&t, READER_FAIL, 1, "colour", "unknown column");
	rd_close(&t);
	rd_open(&t, "Type,id\nstatement,x\n");         /* names are exact */
	rd_expect(&t, READER_FAIL, 1, "Type", "unknown column");
	rd_close(&t);
	rd_open(&t, "type,sources\nstatement,x\n");
	rd_expect(&t, READER_FAIL, 1, "sources", "unknown column");
	rd_close(&t);
}

static void test_csv_header_duplicate_and_empty_names(void)
{
	rd t;
	rd_open(&t, "type,id,type\n");
	rd_expect(&t, READER_FAIL, 1, "type", "duplicate column");
	rd_close(&t);
	rd_open(&t, "type,,id\n");
	rd_expect(&t, READER_FAIL, 1, "header", "column 2 has no name");
	rd_close(&t);
	/* Every column once and one more: the extra must be a repeat. */
	rd_open(&t, "id,type,country,organization,date,list,authority,instrument,"
	        "summary,retracts,redacts,reason,name,aliases,external_ids,"
	        "expect_version,source_url,source_title,source_publisher,"
	        "source_date,source_language,source_quote,participants,name,"
	        "x,y,z\n");
	rd_expect(&t, READER_FAIL, 1, "name", "duplicate column");
	rd_close(&t);
}

static void test_csv_header_with_nul_or_too_long(void)
{
	static const char nul[] = "type,i\0d\nstatement,x\n";
	rd t;
	rd_open_fd(&t, -1, nul, sizeof nul - 1);
	rd_expect(&t, READER_FAIL, 1, "header", "column 2 contains a NUL");
	rd_close(&t);

	buf b = { 0 };
	buf_str(&b, "type,");
	buf_fill(&b, 'x', LEDGER_LINE_BYTES_MAX);
	buf_str(&b, "\nstatement\n");
	rd_open(&t, b.p);
	rd_expect(&t, READER_FAIL, 1, "header", "longer than");
	rd_close(&t);
	free(b.p);
}

static void test_csv_row_field_count(void)
{
	rd t;
	rd_open(&t, "id,type\n1,listed,extra\n2\n3,listed\n4,listed,,\n");
	rd_expect(&t, READER_BAD, 2, "record", "3 fields, the header has 2");
	rd_expect(&t, READER_BAD, 3, "record", "1 field, the header has 2");
	CU_ASSERT_EQUAL_FATAL(rd_next(&t), READER_RECORD);
	CU_ASSERT_EQUAL(t.line, 4);
	CU_ASSERT_STRING_EQUAL(t.ev->id, "3");
	/* Trailing empty cells still count. */
	rd_expect(&t, READER_BAD, 5, "record", "4 fields, the header has 2");
	CU_ASSERT_EQUAL(rd_next(&t), READER_END);
	rd_close(&t);
}

static void test_csv_lists_and_participants(void)
{
	rd t;
	rd_open(&t, "type,aliases,external_ids,participants\n"
	        "organization,\" Taliban ; Islamic Emirate;;\","
	        "wikidata:Q42;un:QDe.001,"
	        "\"Alim Khan|Ambassador|KZ; Amir Khan Muttaqi|Acting foreign "
	        "minister;Nobody||AF;Solo\"\n"
	        "meeting,,,A|B|C|D\n");
	CU_ASSERT_EQUAL_FATAL(rd_next(&t), READER_RECORD);
	Annals__InputEvent *e = t.ev;
	CU_ASSERT_EQUAL_FATAL(e->n_aliases, 2);
	CU_ASSERT_STRING_EQUAL(e->aliases[0], "Taliban");
	CU_ASSERT_STRING_EQUAL(e->aliases[1], "Islamic Emirate");
	CU_ASSERT_EQUAL_FATAL(e->n_external_ids, 2);
	CU_ASSERT_STRING_EQUAL(e->external_ids[0], "wikidata:Q42");
	CU_ASSERT_STRING_EQUAL(e->external_ids[1], "un:QDe.001");
	CU_ASSERT_EQUAL_FATAL(e->n_participants, 4);
	CU_ASSERT_STRING_EQUAL(e->participants[0]->name, "Alim Khan");
	CU_ASSERT_STRING_EQUAL(e->participants[0]->role, "Ambassador");
	CU_ASSERT_STRING_EQUAL(e->participants[0]->country, "KZ");
	CU_ASSERT_STRING_EQUAL(e->participants[1]->name, "Amir Khan Muttaqi");
	CU_ASSERT_STRING_EQUAL(e->participants[1]->role, "Acting foreign minister");
	CU_ASSERT(absent(e->participants[1]->country));
	CU_ASSERT_STRING_EQUAL(e->participants[2]->name, "Nobody");
	CU_ASSERT(absent(e->participants[2]->role));
	CU_ASSERT_STRING_EQUAL(e->participants[2]->country, "AF");
	CU_ASSERT_STRING_EQUAL(e->participants[3]->name, "Solo");
	CU_ASSERT(absent(e->participants[3]->role));
	CU_ASSERT(absent(e->participants[3]->country));
	rd_expect(&t, READER_BAD, 3, "participants[0]", "more than 3 parts");
	CU_ASSERT_EQUAL(rd_next(&t), READER_END);
	rd_close(&t);
}

static void test_csv_sources_only_when_given(void)
{
	rd t;
	rd_open(&t, "type,source_url,source_language\n"
	        "statement,,\nstatement,,ru\n");
	CU_ASSERT_EQUAL_FATAL(rd_next(&t), READER_RECORD);
	CU_ASSERT_EQUAL(t.ev->n_sources, 0);
	CU_ASSERT_EQUAL_FATAL(rd_next(&t), READER_RECORD);
	CU_ASSERT_EQUAL_FATAL(t.ev->n_sources, 1);
	CU_ASSERT(absent(t.ev->sources[0]->url));
	CU_ASSERT_STRING_EQUAL(t.ev->sources[0]->language, "ru");
	rd_close(&t);
}

static void test_csv_expect_version(void)
{
	static const struct { const char *cell; bool ok; uint64_t v; } cases[] = {
		{ "0", true, 0 }, { "42", true, 42 },
		{ "18446744073709551615", true, UINT64_MAX },
		{ "18446744073709551616", false, 0 },
		{ "99999999999999999999", false, 0 },
		{ "-1", false, 0 }, { "+1", false, 0 }, { "1.5", false, 0 },
		{ "abc", false, 0 }, { "\" 7\"", false, 0 }, { "1e3", false, 0 },
	};

	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char text[128];
		rd t;
		snprintf(text, sizeof text, "type,expect_version\nstatement,%s\n",
		         cases[i].cell);
		rd_open(&t, text);
		if (cases[i].ok) {
			CU_ASSERT_EQUAL_FATAL(rd_next(&t), READER_RECORD);
			CU_ASSERT_PTR_NOT_NULL_FATAL(t.ev->expect_version);
			CU_ASSERT_EQUAL(t.ev->expect_version->version, cases[i].v);
		} else {
			CU_ASSERT_EQUAL(rd_next(&t), READER_BAD);
			CU_ASSERT_STRING_EQUAL(t.fe.field, "expect_version");
		}
		rd_close(&t);
	}
}

static void test_csv_nul_in_cell(void)
{
	static const char text[] = "type,summary\nstatement,a\0b\nstatement,ok\n";
	rd t;
	rd_open_fd(&t, -1, text, sizeof text - 1);
	rd_expect(&t, READER_BAD, 2, "summary", "contains a NUL character");
	CU_ASSERT_EQUAL_FATAL(rd_next(&t), READER_RECORD);
	CU_ASSERT_EQUAL(t.line, 3);
	CU_ASSERT_STRING_EQUAL(t.ev->summary, "ok");
	rd_close(&t);
}

static void test_csv_unterminated_quote_at_eof(void)
{
	rd t;
	rd_open(&t, "type,summary\nstatement,ok\nstatement,\"never\nclosed\n");
	CU_ASSERT_EQUAL(rd_next(&t), READER_RECORD);
	rd_expect(&t, READER_FAIL, 3, "csv", "still open at the end");
	CU_ASSERT_PTR_NOT_NULL(strstr(t.fe.reason, "error parsing data"));
	rd_expect(&t, READER_FAIL, 3, "csv", "still open at the end");
	rd_close(&t);
}

static void test_csv_stray_quotes(void)
{
	rd t;
	rd_open(&t, "type,summary\nstatement,ab\"c\nstatement,x\n");
	rd_expect(&t, READER_FAIL, 2, "csv", "unexpected '\"' on line 2, byte 13");
	rd_close(&t);
	rd_open(&t, "type,summary\nstatement,\"a\nb\"c,\n");
	rd_expect(&t, READER_FAIL, 2, "csv",
	          "'c' after a closing quote on line 3, byte 3");
	rd_close(&t);
	rd_open(&t, "type,summary\nstatement,\"ab\" \"c\"\n");
	rd_expect(&t, READER_FAIL, 2, "csv", "unexpected '\"' on line 2, byte 16");
	rd_close(&t);
}

/* A record of exactly LEDGER_LINE_BYTES_MAX bytes is read; one more byte
 * and it is refused, skipped, and reading goes on at the right line. */
static void csv_limit_input(buf *b)
{
	const char lead[] = "statement,";
	size_t fill = LEDGER_LINE_BYTES_MAX - (sizeof lead - 1);

	buf_str(b, "type,summary\n");
	buf_str(b, lead);
	buf_fill(b, 'a', fill);                     /* line 2: max */
	buf_str(b, "\nstatement,\"");
	buf_fill(b, 'b', fill - 3);                 /* line 3: max, quoted, */
	buf_str(b, "\"\r\n");                       /* and the CR counts */
	buf_str(b, lead);
	buf_fill(b, 'c', fill + 1);                 /* line 4: max + 1 */
	/* Lines 5 to 9: one over-long quoted field, with a doubled quote
	 * alone on line 7, skipped as one record. */
	buf_str(b, "\nstatement,\"x\n");
	buf_fill(b, 'd', LEDGER_LINE_BYTES_MAX);
	buf_str(b, "\n\"\"\nstill, quoted\n\"\nstatement,after\n");
}

static void csv_limit_check(rd *t)
{
	const size_t fill = LEDGER_LINE_BYTES_MAX - 10;

	CU_ASSERT_EQUAL_FATAL(rd_next(t), READER_RECORD);
	CU_ASSERT_EQUAL(t->line, 2);
	CU_ASSERT_EQUAL(strlen(t->ev->summary), fill);
	CU_ASSERT_EQUAL_FATAL(rd_next(t), READER_RECORD);
	CU_ASSERT_EQUAL(t->line, 3);
	CU_ASSERT_EQUAL(strlen(t->ev->summary), fill - 3);
	rd_expect(t, READER_BAD, 4, "record", "longer than 1048576 bytes");
	rd_expect(t, READER_BAD, 5, "record", "longer than 1048576 bytes");
	CU_ASSERT_EQUAL_FATAL(rd_next(t), READER_RECORD);
	CU_ASSERT_EQUAL(t->line, 10);
	CU_ASSERT_STRING_EQUAL(t->ev->summary, "after");
	CU_ASSERT_EQUAL(rd_next(t), READER_END);
}

static void test_csv_record_size_limit(void)
{
	buf b = { 0 };
	rd t;

	csv_limit_input(&b);
	rd_open_fd(&t, -1, b.p, b.n);
	csv_limit_check(&t);
	rd_close(&t);
	int fd = temp_fd(b.p, b.n);
	rd_open_fd(&t, fd, NULL, 0);
	csv_limit_check(&t);
	rd_close(&t);
	close(fd);
	free(b.p);
}

static void test_csv_long_unterminated_quote_fails(void)
{
	buf b = { 0 };
	rd t;

	buf_str(&b, "type,summary\nstatement,\"");
	buf_fill(&b, 'z', 3 * LEDGER_LINE_BYTES_MAX);
	buf_str(&b, "\nmore\n");
	int fd = temp_fd(b.p, b.n);
	rd_open_fd(&t, fd, NULL, 0);
	rd_expect(&t, READER_FAIL, 2, "csv", "still open at the end");
	rd_close(&t);
	close(fd);
	free(b.p);
}

/* ---- streaming across chunk boundaries ---- */

typedef struct expect_rec {
	char id[16];
	uint64_t line;
	bool multi;
} expect_rec;

typedef struct big_input {
	buf b;
	expect_rec *recs;
	size_t n, cap;
	uint64_t lines;              /* '\n' in b so far */
	size_t straddles;            /* boundaries put inside a chosen spot */
} big_input;

#define BIG_SUMMARY(k) "first, \"part\"\nsecond\nthird %06zu", (k)

static void big_record(big_input *in, bool multi, size_t pad)
{
	char rec[256];
	int len;

	if (in->n == in->cap) {
		in->cap = in->cap ? 2 * in->cap : 1024;
		in->recs = realloc(in->recs, in->cap * sizeof *in->recs);
		CU_ASSERT_PTR_NOT_NULL_FATAL(in->recs);
	}
	expect_rec *e = &in->recs[in->n];
	snprintf(e->id, sizeof e->id, "%c%06zu", multi ? 'm' : 'p', in->n);
	e->line = in->lines + 1;
	e->multi = multi;
	if (multi)
		len = snprintf(rec, sizeof rec, "%s,statement,\"first, \"\"part\"\"\n"
		               "second\nthird %06zu\",A;B\n", e->id, in->n);
	else
		len = snprintf(rec, sizeof rec, "%s,statement,", e->id);
	buf_add(&in->b, rec, (size_t)len);
	if (!multi) {
		buf_fill(&in->b, 'x', pad);
		buf_add(&in->b, ",\n", 2);
	}
	in->lines += multi ? 3 : 1;
	in->n++;
}

/* A file reader refills its whole buffer, so its chunks end at multiples
 * of READER_BUF_BYTES + LEDGER_LINE_BYTES_MAX; a pipe's anywhere. */
_Static_assert((READER_BUF_BYTES + LEDGER_LINE_BYTES_MAX) % READER_BUF_BYTES
               == 0, "file chunk boundaries are among the tested offsets");

/* Three-line records, with the byte at each multiple of READER_BUF_BYTES
 * on a chosen spot of one of them: the opening quote, inside a doubled
 * quote, the closing quote, just after the quoted '\n', the record's '\n',
 * the quoted '\n' (for j = 5 and 10, the file's chunk ends), and the
 * next record's first byte. Padding records put each spot in place. */
static void big_input_make(big_input *in, size_t boundaries)
{
	static const char sample[] = "m000000,statement,\"first, \"\"part\"\"\n"
	                             "second\nthird 000000\",A;B\n";
	const size_t rec = sizeof sample - 1, pad_fixed = 20;
	const char *q = strchr(sample, '"');
	const size_t nl = (size_t)(strchr(sample, '\n') - sample);
	const size_t spots[] = {
		(size_t)(q - sample), (size_t)(strstr(sample, "\"\"") - sample) + 1,
		(size_t)(strrchr(sample, '"') - sample), nl + 1, rec - 1, nl, rec,
	};

	memset(in, 0, sizeof *in);
	buf_str(&in->b, "id,type,summary,aliases\n");
	in->lines = 1;
	for (size_t j = 1; j <= boundaries; j++) {
		size_t at = j * READER_BUF_BYTES;
		size_t spot = spots[j % (sizeof spots / sizeof spots[0])];
		while (in->b.n + 3 * rec + pad_fixed < at)
			big_record(in, true, 0);
		size_t pad = at - in->b.n - spot - pad_fixed;
		big_record(in, false, pad);
		CU_ASSERT_EQUAL(in->b.n + spot, at);
		in->straddles += in->b.n + spot == at;
		big_record(in, true, 0);
	}
}

/* Read everything and count the records that differ from the expected. */
static size_t big_check(rd *t, const big_input *in)
{
	size_t bad = 0, i = 0;
	char summary[64];

	while (rd_next(t) == READER_RECORD) {
		if (i >= in->n) {
			bad++;
			break;
		}
		const expect_rec *e = &in->recs[i];
		bool ok = strcmp(t->ev->id, e->id) == 0 && t->line == e->line;
		if (ok && e->multi) {
			snprintf(summary, sizeof summary, BIG_SUMMARY(i));
			ok = strcmp(t->ev->summary, summary) == 0 &&
			     t->ev->n_aliases == 2 &&
			     strcmp(t->ev->aliases[1], "B") == 0;
		}
		bad += !ok;
		i++;
	}
	CU_ASSERT_EQUAL(i, in->n);
	return bad;
}

static void test_csv_stream_from_memory_file_and_pipe(void)
{
	big_input in;
	rd t;
	pid_t child;
	int status = -1;

	big_input_make(&in, 12);
	CU_ASSERT(in.b.n > 2 * (READER_BUF_BYTES + LEDGER_LINE_BYTES_MAX));
	CU_ASSERT_EQUAL(in.straddles, 12);

	rd_open_fd(&t, -1, in.b.p, in.b.n);
	CU_ASSERT_EQUAL(big_check(&t, &in), 0);
	rd_close(&t);

	int fd = temp_fd(in.b.p, in.b.n);
	rd_open_fd(&t, fd, NULL, 0);
	CU_ASSERT_EQUAL(big_check(&t, &in), 0);
	CU_ASSERT_EQUAL(rd_next(&t), READER_END);
	rd_close(&t);
	close(fd);

	fd = pipe_fd(in.b.p, in.b.n, &child);
	rd_open_fd(&t, fd, NULL, 0);
	CU_ASSERT_EQUAL(big_check(&t, &in), 0);
	rd_close(&t);
	close(fd);
	CU_ASSERT_EQUAL(waitpid(child, &status, 0), child);
	CU_ASSERT(WIFEXITED(status) && WEXITSTATUS(status) == 0);

	free(in.b.p);
	free(in.recs);
}

void suite_csv(void);
void suite_csv(void)
{
	CU_pSuite s = CU_add_suite("csv", NULL, NULL);

	CU_add_test(s, "header maps every column", test_csv_header_maps_every_column);
	CU_add_test(s, "header order is free", test_csv_header_order_is_free);
	CU_add_test(s, "quotes, commas, newlines", test_csv_quotes_commas_and_newlines);
	CU_add_test(s, "spaces trimmed unless quoted", test_csv_spaces_trimmed_unless_quoted);
	CU_add_test(s, "empty cells are absent", test_csv_empty_cells_are_absent);
	CU_add_test(s, "BOM skipped at start only", test_csv_bom_is_skipped_at_start_only);
	CU_add_test(s, "CRLF", test_csv_crlf);
	CU_add_test(s, "blank rows are skipped", test_csv_blank_rows_are_skipped);
	CU_add_test(s, "empty input, header only", test_csv_empty_input_and_header_only);
	CU_add_test(s, "header missing type", test_csv_header_missing_type);
	CU_add_test(s, "header unknown column", test_csv_header_unknown_column);
	CU_add_test(s, "header duplicate, empty names", test_csv_header_duplicate_and_empty_names);
	CU_add_test(s, "header NUL, too long", test_csv_header_with_nul_or_too_long);
	CU_add_test(s, "row field count", test_csv_row_field_count);
	CU_add_test(s, "lists and participants", test_csv_lists_and_participants);
	CU_add_test(s, "sources only when given", test_csv_sources_only_when_given);
	CU_add_test(s, "expect_version", test_csv_expect_version);
	CU_add_test(s, "NUL in a cell", test_csv_nul_in_cell);
	CU_add_test(s, "unterminated quote at EOF", test_csv_unterminated_quote_at_eof);
	CU_add_test(s, "stray quotes", test_csv_stray_quotes);
	CU_add_test(s, "record size limit", test_csv_record_size_limit);
	CU_add_test(s, "long unterminated quote", test_csv_long_unterminated_quote_fails);
	CU_add_test(s, "stream: memory, file, pipe", test_csv_stream_from_memory_file_and_pipe);
}
