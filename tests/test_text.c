/* Identifiers, slugs, UTF-8 text and case-folded names (ledger/text.h). */
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "text.h"

#define FOLD_CAP 4096u   /* larger than any folded name, to test the limit */

typedef const char *(*check_fn)(const char *s, size_t n);

static void expect_ok(check_fn check, const char *s, size_t n)
{
	const char *reason = check(s, n);
	CU_ASSERT_PTR_NULL(reason);
	if (reason != NULL)
		fprintf(stderr, "\n%.*s: %s\n", (int)n, s, reason);
}

static void expect_refused(check_fn check, const char *s, size_t n,
                           const char *want)
{
	const char *reason = check(s, n);
	CU_ASSERT_PTR_NOT_NULL(reason);
	if (reason == NULL)
		fprintf(stderr, "\naccepted: %.*s\n", (int)n, s);
	else if (want != NULL)
		CU_ASSERT_STRING_EQUAL(reason, want);
}

static void ok(check_fn check, const char *s)
{
	expect_ok(check, s, strlen(s));
}

static void refused(check_fn check, const char *s, const char *want)
{
	expect_refused(check, s, strlen(s), want);
}

/* A string of n copies of c, NUL-ended, in buf. */
static const char *repeat(char *buf, char c, size_t n)
{
	memset(buf, c, n);
	buf[n] = '\0';
	return buf;
}

static void test_text_id_limits(void)
{
	char buf[256];
	const char *chars = "may contain only A-Z, a-z, 0-9, '.', '_', ':' and '-'";
	ok(text_check_id, "a");
	ok(text_check_id, repeat(buf, 'a', LEDGER_ID_BYTES_MAX));
	refused(text_check_id, repeat(buf, 'a', LEDGER_ID_BYTES_MAX + 1),
	        "longer than 128 bytes");
	refused(text_check_id, "", "empty");
	ok(text_check_id, "kz-taliban-delisted-2023");
	ok(text_check_id, "AZaz09._:-");
	refused(text_check_id, "a b", chars);
	refused(text_check_id, "a/b", chars);
	refused(text_check_id, "a+b", chars);
	refused(text_check_id, "caf\xc3\xa9", chars);
	expect_refused(text_check_id, "a\0b", 3, chars);
	/* Only n bytes are read. */
	expect_ok(text_check_id, "ab cd", 2);
}

static void test_text_slug_limits(void)
{
	char buf[128];
	const char *chars = "may contain only a-z, 0-9 and '-'";
	ok(text_check_slug, "a");
	ok(text_check_slug, "0");
	ok(text_check_slug, "taliban");
	ok(text_check_slug, "1988-sanctions");
	ok(text_check_slug, "a-");
	ok(text_check_slug, repeat(buf, 'a', LEDGER_SLUG_BYTES_MAX));
	refused(text_check_slug, repeat(buf, 'a', LEDGER_SLUG_BYTES_MAX + 1),
	        "longer than 63 bytes");
	refused(text_check_slug, "", "empty");
	refused(text_check_slug, "-a", "must start with a-z or 0-9");
	refused(text_check_slug, "Taliban", chars);
	refused(text_check_slug, "a_b", chars);
	refused(text_check_slug, "a b", chars);
	refused(text_check_slug, "a.b", chars);
	expect_refused(text_check_slug, "a\0", 2, chars);
}

static const char *check_utf8_10(const char *s, size_t n)
{
	return text_check_utf8(s, n, 10);
}

static void test_text_utf8(void)
{
	ok(check_utf8_10, "");
	ok(check_utf8_10, "C\xc3\xb4te");
	ok(check_utf8_10, "0123456789");
	refused(check_utf8_10, "0123456789a", "too long");
	/* The limit is in bytes: five two-byte characters fit, six do not. */
	ok(check_utf8_10, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9");
	refused(check_utf8_10, "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9",
	        "too long");
	expect_refused(check_utf8_10, "a\0b", 3, "contains a NUL byte");
	refused(check_utf8_10, "\xc3", "not valid UTF-8");
	refused(check_utf8_10, "\xc0\xaf", "not valid UTF-8");        /* overlong */
	refused(check_utf8_10, "\xed\xa0\x80", "not valid UTF-8");    /* surrogate */
	refused(check_utf8_10, "\xf4\x90\x80\x80", "not valid UTF-8"); /* > U+10FFFF */
	refused(check_utf8_10, "\xff", "not valid UTF-8");
	refused(check_utf8_10, "\x80", "not valid UTF-8");
}

/* Folds s and compares the result with want. */
static void expect_fold_n(const char *s, size_t n, const char *want)
{
	char out[FOLD_CAP];
	size_t out_bytes = 12345;
	const char *reason = text_fold(out, sizeof out, &out_bytes, s, n);
	CU_ASSERT_PTR_NULL(reason);
	if (reason != NULL) {
		fprintf(stderr, "\nfold: %s\n", reason);
		return;
	}
	CU_ASSERT_EQUAL(out_bytes, strlen(want));
	CU_ASSERT(out_bytes == strlen(want) && memcmp(out, want, out_bytes) == 0);
}

static void expect_fold(const char *s, const char *want)
{
	expect_fold_n(s, strlen(s), want);
}

static void refused_fold_n(const char *s, size_t n, const char *want)
{
	char out[FOLD_CAP];
	size_t out_bytes = 12345;
	const char *reason = text_fold(out, sizeof out, &out_bytes, s, n);
	CU_ASSERT_PTR_NOT_NULL(reason);
	CU_ASSERT_EQUAL(out_bytes, 0);
	if (reason != NULL)
		CU_ASSERT_STRING_EQUAL(reason, want);
}

static void refused_fold(const char *s, const char *want)
{
	refused_fold_n(s, strlen(s), want);
}

static void test_text_fold_case(void)
{
	char a[64], b[64];
	size_t na, nb;
	CU_ASSERT_PTR_NULL(text_fold(a, sizeof a, &na, "ISLAMIC Emirate", 15));
	CU_ASSERT_PTR_NULL(text_fold(b, sizeof b, &nb, "islamic emirate", 15));
	CU_ASSERT(na == nb && memcmp(a, b, na) == 0);
	expect_fold("ISLAMIC Emirate", "islamic emirate");
	expect_fold("Stra\xc3\x9f" "e", "strasse");
	expect_fold("STRASSE", "strasse");
	expect_fold("\xc3\x85land", "\xc3\xa5land");           /* Åland */
	expect_fold("\xce\xa3\xce\x9f\xce\xa6\xce\x99\xce\x91", /* ΣΟΦΙΑ */
	            "\xcf\x83\xce\xbf\xcf\x86\xce\xb9\xce\xb1");
	/* NFC: e and a combining acute become one precomposed é. */
	expect_fold("Caf" "e\xcc\x81", "caf\xc3\xa9");
	expect_fold("CAF\xc3\x89", "caf\xc3\xa9");
}

static void test_text_fold_white_space(void)
{
	expect_fold("  Islamic \t\n Emirate  ", "islamic emirate");
	expect_fold("Islamic\r\nEmirate", "islamic emirate");
	/* No-break and ideographic spaces are white space too. */
	expect_fold("\xc2\xa0Islamic\xc2\xa0\xe3\x80\x80" "Emirate\xe2\x80\x83",
	            "islamic emirate");
	expect_fold("a b  c   d", "a b c d");
	refused_fold("", "empty");
	refused_fold(" \t\n ", "empty");
	refused_fold("\xc2\xa0", "empty");
}

static void test_text_fold_refuses_bad_utf8(void)
{
	refused_fold("Caf\xc3", "not valid UTF-8");
	refused_fold("\xed\xa0\x80", "not valid UTF-8");
	refused_fold_n("Islamic\0Emirate", 15, "contains a NUL byte");
}

/* Builds `count` copies of the UTF-8 sequence u into buf, with `pad`
 * spaces on both sides; returns the length. */
static size_t build(char *buf, const char *u, size_t count, size_t pad)
{
	size_t n = 0, u_bytes = strlen(u);
	memset(buf, ' ', pad);
	n += pad;
	for (size_t i = 0; i < count; i++, n += u_bytes)
		memcpy(buf + n, u, u_bytes);
	memset(buf + n, ' ', pad);
	return n + pad;
}

static void test_text_fold_limit(void)
{
	static char in[16384], want[1024];
	size_t n;

	n = build(in, "A", LEDGER_NAME_BYTES_MAX, 0);
	expect_fold_n(in, n, repeat(want, 'a', LEDGER_NAME_BYTES_MAX));
	n = build(in, "A", LEDGER_NAME_BYTES_MAX + 1, 0);
	refused_fold_n(in, n, "longer than 400 bytes once case-folded");
	/* White space counts once collapsed, even when a long run inside
	 * makes libunistring allocate past the stack buffer of text_fold. */
	n = build(in, "A", LEDGER_NAME_BYTES_MAX, 3000);
	expect_fold_n(in, n, repeat(want, 'a', LEDGER_NAME_BYTES_MAX));
	n = build(in, "A", LEDGER_NAME_BYTES_MAX + 1, 3000);
	refused_fold_n(in, n, "longer than 400 bytes once case-folded");
	n = build(in, "A", LEDGER_NAME_BYTES_MAX / 2, 0);
	n += build(in + n, "A", LEDGER_NAME_BYTES_MAX / 2 - 1, 3000) - 3000;
	repeat(want, 'a', LEDGER_NAME_BYTES_MAX);
	want[LEDGER_NAME_BYTES_MAX / 2] = ' ';
	expect_fold_n(in, n, want);
	n = build(in, "A", LEDGER_NAME_BYTES_MAX / 2, 0);
	n += build(in + n, "A", LEDGER_NAME_BYTES_MAX / 2, 3000) - 3000;
	refused_fold_n(in, n, "longer than 400 bytes once case-folded");
	/* The limit applies after folding: ß (2 bytes) becomes "ss" ... */
	n = build(in, "\xc3\x9f", LEDGER_NAME_BYTES_MAX / 2, 0);
	expect_fold_n(in, n, repeat(want, 's', LEDGER_NAME_BYTES_MAX));
	n = build(in, "\xc3\x9f", LEDGER_NAME_BYTES_MAX / 2, 0);
	in[n++] = 'A';
	refused_fold_n(in, n, "longer than 400 bytes once case-folded");
	/* ... and the Kelvin sign (3 bytes) becomes "k". */
	n = build(in, "\xe2\x84\xaa", LEDGER_NAME_BYTES_MAX, 0);
	expect_fold_n(in, n, repeat(want, 'k', LEDGER_NAME_BYTES_MAX));
	n = build(in, "\xe2\x84\xaa", LEDGER_NAME_BYTES_MAX + 1, 0);
	refused_fold_n(in, n, "longer than 400 bytes once case-folded");
}

static void test_text_fold_small_buffer(void)
{
	char out[8];
	size_t out_bytes = 99;
	CU_ASSERT_PTR_NULL(text_fold(out, 7, &out_bytes, "Taliban", 7));
	CU_ASSERT_EQUAL(out_bytes, 7);
	CU_ASSERT_PTR_NOT_NULL(text_fold(out, 6, &out_bytes, "Taliban", 7));
	CU_ASSERT_EQUAL(out_bytes, 0);
}

static void test_text_external_id(void)
{
	char buf[256];
	const char *scheme = "unknown scheme (known: wikidata, opensanctions, un, lei, ofac, eu)";
	const char *wikidata = "a wikidata id is Q followed by digits";
	const char *graph = "may contain only printable ASCII without spaces";
	ok(text_check_external_id, "wikidata:Q107202");
	ok(text_check_external_id, "wikidata:Q1");
	ok(text_check_external_id, "opensanctions:NK-8oUT4ewS2sSKnmwcXPRMZi");
	ok(text_check_external_id, "un:TAe.010");
	ok(text_check_external_id, "lei:529900T8BM49AURSDO55");
	ok(text_check_external_id, "ofac:6907");
	ok(text_check_external_id, "eu:EU.1234.56");
	ok(text_check_external_id, "un:a:b");
	refused(text_check_external_id, "wikidata:Q", wikidata);
	refused(text_check_external_id, "wikidata:q1", wikidata);
	refused(text_check_external_id, "wikidata:Q0", wikidata);
	refused(text_check_external_id, "wikidata:Q012", wikidata);
	refused(text_check_external_id, "wikidata:Q12a", wikidata);
	refused(text_check_external_id, "wikidata:P31", wikidata);
	refused(text_check_external_id, "Wikidata:Q1", scheme);
	refused(text_check_external_id, "isni:0000000121", scheme);
	refused(text_check_external_id, "wikidata", "not scheme:value");
	refused(text_check_external_id, ":Q1", "not scheme:value");
	refused(text_check_external_id, "un:", "not scheme:value");
	refused(text_check_external_id, "", "not scheme:value");
	refused(text_check_external_id, "un:a b", graph);
	refused(text_check_external_id, "un:\xc3\xa9", graph);
	refused(text_check_external_id, "un:a\x7f", graph);
	expect_refused(text_check_external_id, "un:a\0", 5, graph);
	memcpy(buf, "opensanctions:", 14);
	repeat(buf + 14, 'x', LEDGER_EXTERNAL_ID_BYTES_MAX - 14);
	ok(text_check_external_id, buf);
	repeat(buf + 14, 'x', LEDGER_EXTERNAL_ID_BYTES_MAX - 13);
	refused(text_check_external_id, buf, "longer than 128 bytes");
}

static void test_text_origin(void)
{
	char buf[512];
	const char *chars = "may contain only printable ASCII without '+' or spaces";
	ok(text_check_origin, "example.org/annals");
	ok(text_check_origin, "!~");
	ok(text_check_origin, repeat(buf, 'o', LEDGER_ORIGIN_BYTES_MAX));
	refused(text_check_origin, repeat(buf, 'o', LEDGER_ORIGIN_BYTES_MAX + 1),
	        "longer than 255 bytes");
	refused(text_check_origin, "", "empty");
	refused(text_check_origin, "a+b", chars);
	refused(text_check_origin, "a b", chars);
	refused(text_check_origin, "a\tb", chars);
	refused(text_check_origin, "a\x7f", chars);
	refused(text_check_origin, "caf\xc3\xa9", chars);
}

/* Called by tests/run.c, which declares it from suites.inc. */
void suite_text(void);

void suite_text(void)
{
	CU_pSuite s = CU_add_suite("text", NULL, NULL);
	CU_add_test(s, "id_limits", test_text_id_limits);
	CU_add_test(s, "slug_limits", test_text_slug_limits);
	CU_add_test(s, "utf8", test_text_utf8);
	CU_add_test(s, "fold_case", test_text_fold_case);
	CU_add_test(s, "fold_white_space", test_text_fold_white_space);
	CU_add_test(s, "fold_refuses_bad_utf8", test_text_fold_refuses_bad_utf8);
	CU_add_test(s, "fold_limit", test_text_fold_limit);
	CU_add_test(s, "fold_small_buffer", test_text_fold_small_buffer);
	CU_add_test(s, "external_id", test_text_external_id);
	CU_add_test(s, "origin", test_text_origin);
}
