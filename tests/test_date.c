/* EDTF dates, day numbers and RFC 3339 times (ledger/date.h). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "date.h"

static const char reason_edtf[] =
	"not an EDTF date (YYYY, YYYY-MM or YYYY-MM-DD, optionally ending in ?, ~ or %)";
static const char reason_rfc3339[] =
	"not an RFC 3339 time (YYYY-MM-DDTHH:MM:SS, optional fraction, then Z or +HH:MM)";

static const char *parse(date_span *d, const char *s)
{
	return date_parse(d, s, strlen(s));
}

/* Asserts that s parses to the span first..last with qualifier q. */
static void expect_span(const char *s, int y1, int m1, int d1,
                        int y2, int m2, int d2, date_qualifier q)
{
	date_span d;
	const char *reason = parse(&d, s);
	CU_ASSERT_PTR_NULL(reason);
	if (reason != NULL) {
		fprintf(stderr, "\n%s: %s\n", s, reason);
		return;
	}
	CU_ASSERT_EQUAL(d.first_day, date_day(y1, m1, d1));
	CU_ASSERT_EQUAL(d.last_day, date_day(y2, m2, d2));
	CU_ASSERT_EQUAL(d.qualifier, q);
	CU_ASSERT_STRING_EQUAL(d.edtf, s);
}

/* Asserts that s is refused with exactly the given reason. */
static void expect_refused(const char *s, size_t n, const char *want)
{
	date_span d;
	const char *reason = date_parse(&d, s, n);
	CU_ASSERT_PTR_NOT_NULL(reason);
	if (reason == NULL) {
		fprintf(stderr, "\naccepted: %.*s\n", (int)n, s);
		return;
	}
	CU_ASSERT_STRING_EQUAL(reason, want);
}

static void refused(const char *s, const char *want)
{
	expect_refused(s, strlen(s), want);
}

static void test_date_levels(void)
{
	expect_span("2023", 2023, 1, 1, 2023, 12, 31, DATE_EXACT);
	expect_span("2023-02", 2023, 2, 1, 2023, 2, 28, DATE_EXACT);
	expect_span("2024-02", 2024, 2, 1, 2024, 2, 29, DATE_EXACT);
	expect_span("2023-12", 2023, 12, 1, 2023, 12, 31, DATE_EXACT);
	expect_span("2023-12-29", 2023, 12, 29, 2023, 12, 29, DATE_EXACT);
}

static void test_date_unspecified(void)
{
	expect_span("2023-12-XX", 2023, 12, 1, 2023, 12, 31, DATE_EXACT);
	expect_span("2023-04-XX", 2023, 4, 1, 2023, 4, 30, DATE_EXACT);
	expect_span("2023-XX-XX", 2023, 1, 1, 2023, 12, 31, DATE_EXACT);
	expect_span("2023-XX", 2023, 1, 1, 2023, 12, 31, DATE_EXACT);
	refused("2023-XX-05", "a day needs a month: YYYY-XX-DD is not allowed");
	refused("2023-xx", "unspecified digits must be upper-case XX");
	refused("2023-12-xx", "unspecified digits must be upper-case XX");
	refused("2023-12-Xx", "unspecified digits must be upper-case XX");
	refused("2023-xX-XX", "unspecified digits must be upper-case XX");
	refused("2023-1X", reason_edtf);
	refused("2023-12-2X", reason_edtf);
	refused("XXXX", reason_edtf);
	refused("20XX", reason_edtf);
}

static void test_date_qualifiers(void)
{
	expect_span("2023?", 2023, 1, 1, 2023, 12, 31, DATE_UNCERTAIN);
	expect_span("2023-12~", 2023, 12, 1, 2023, 12, 31, DATE_APPROXIMATE);
	expect_span("2023-12-29%", 2023, 12, 29, 2023, 12, 29,
	            DATE_UNCERTAIN_APPROXIMATE);
	expect_span("2023-12-XX?", 2023, 12, 1, 2023, 12, 31, DATE_UNCERTAIN);
	expect_span("2023-XX-XX~", 2023, 1, 1, 2023, 12, 31, DATE_APPROXIMATE);
	/* The longest canonical text, and its NUL, fill the buffer. */
	expect_span("9999-12-XX%", 9999, 12, 1, 9999, 12, 31,
	            DATE_UNCERTAIN_APPROXIMATE);
	refused("2023??", reason_edtf);
	refused("2023?~", reason_edtf);
	refused("?2023", reason_edtf);
	refused("?", reason_edtf);
	refused("2023!", reason_edtf);
	refused("2023 ?", reason_edtf);
}

static void test_date_leap_days(void)
{
	expect_span("2000-02-29", 2000, 2, 29, 2000, 2, 29, DATE_EXACT);
	expect_span("2024-02-29", 2024, 2, 29, 2024, 2, 29, DATE_EXACT);
	expect_span("1600-02-29", 1600, 2, 29, 1600, 2, 29, DATE_EXACT);
	expect_span("0004-02-29", 4, 2, 29, 4, 2, 29, DATE_EXACT);
	refused("1900-02-29", "not a calendar day");
	refused("2023-02-29", "not a calendar day");
	refused("2100-02-29", "not a calendar day");
	refused("2024-02-30", "not a calendar day");
	refused("2023-02-30", "not a calendar day");
}

static void test_date_day_limits(void)
{
	expect_span("2023-01-31", 2023, 1, 31, 2023, 1, 31, DATE_EXACT);
	expect_span("2023-04-30", 2023, 4, 30, 2023, 4, 30, DATE_EXACT);
	expect_span("2023-01-01", 2023, 1, 1, 2023, 1, 1, DATE_EXACT);
	refused("2023-01-32", "not a calendar day");
	refused("2023-04-31", "not a calendar day");
	refused("2023-01-00", "not a calendar day");
	refused("2023-01-99", "not a calendar day");
	expect_span("2023-01", 2023, 1, 1, 2023, 1, 31, DATE_EXACT);
	expect_span("2023-12", 2023, 12, 1, 2023, 12, 31, DATE_EXACT);
	refused("2023-00", "month must be 01 to 12");
	refused("2023-13", "month must be 01 to 12");
	refused("2023-13-01", "month must be 01 to 12");
	refused("2023-00-XX", "month must be 01 to 12");
}

static void test_date_year_limits(void)
{
	date_span d;
	CU_ASSERT_PTR_NULL(parse(&d, "0001-01-01"));
	CU_ASSERT_EQUAL(d.first_day, 1);
	CU_ASSERT_PTR_NULL(parse(&d, "0001"));
	CU_ASSERT_EQUAL(d.first_day, 1);
	CU_ASSERT_PTR_NULL(parse(&d, "9999-12-31"));
	CU_ASSERT_EQUAL(d.first_day, LEDGER_DAY_MAX);
	CU_ASSERT_EQUAL(d.last_day, LEDGER_DAY_MAX);
	CU_ASSERT_PTR_NULL(parse(&d, "9999"));
	CU_ASSERT_EQUAL(d.last_day, LEDGER_DAY_MAX);
	refused("0000", "year must be 0001 to 9999");
	refused("0000-01-01", "year must be 0001 to 9999");
	refused("10000", "year must be 0001 to 9999");
	refused("10000-01-01", "year must be 0001 to 9999");
	/* More than four digits can only be a year, as in EDTF's "Y" years. */
	refused("20231229", "year must be 0001 to 9999");
	refused("123", reason_edtf);
	refused("-2023", reason_edtf);
	refused("+2023", reason_edtf);
}

static void test_date_syntax_refused(void)
{
	static const char *const bad[] = {
		"", "2023-1-5", "2023-01-5", "2023-1", "2023-", "2023-12-",
		"2023-12-29x", "2023-12-29 ", " 2023", "2023/12/29", "2023-12-29T00",
		"2023_12", "202a", "2023-12-29-01",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		refused(bad[i], reason_edtf);
	/* An embedded NUL is a byte like any other, and not a digit. */
	expect_refused("2023\0", 5, reason_edtf);
	expect_refused("2023-1\0-01", 10, reason_edtf);
}

static void test_date_reads_only_n_bytes(void)
{
	date_span d;
	const char *s = "2023-12-29 and more";
	CU_ASSERT_PTR_NULL(date_parse(&d, s, 10));
	CU_ASSERT_STRING_EQUAL(d.edtf, "2023-12-29");
	CU_ASSERT_PTR_NULL(date_parse(&d, s, 7));
	CU_ASSERT_STRING_EQUAL(d.edtf, "2023-12");
	CU_ASSERT_PTR_NULL(date_parse(&d, s, 4));
	CU_ASSERT_STRING_EQUAL(d.edtf, "2023");
	CU_ASSERT_PTR_NOT_NULL(date_parse(&d, s, 0));
}

static void test_date_known_day_numbers(void)
{
	char buf[11];
	int y, m, d;
	CU_ASSERT_EQUAL(date_day(1, 1, 1), 1);
	CU_ASSERT_EQUAL(date_day(1, 12, 31), 365);
	CU_ASSERT_EQUAL(date_day(2, 1, 1), 366);
	CU_ASSERT_EQUAL(date_day(1970, 1, 1), 719163);
	CU_ASSERT_EQUAL(date_day(2000, 3, 1), 730180);
	CU_ASSERT_EQUAL(date_day(9999, 12, 31), LEDGER_DAY_MAX);
	date_ymd(&y, &m, &d, LEDGER_DAY_MAX);
	CU_ASSERT(y == 9999 && m == 12 && d == 31);
	date_ymd(&y, &m, &d, 1);
	CU_ASSERT(y == 1 && m == 1 && d == 1);
	date_format_day(buf, 1);
	CU_ASSERT_STRING_EQUAL(buf, "0001-01-01");
	date_format_day(buf, LEDGER_DAY_MAX);
	CU_ASSERT_STRING_EQUAL(buf, "9999-12-31");
	date_format_day(buf, date_day(2023, 12, 29));
	CU_ASSERT_STRING_EQUAL(buf, "2023-12-29");
}

/* The reference model: a calendar walked one day at a time, sharing no
 * arithmetic with date.c. */
static int model_month_days(int y, int m)
{
	static const int days[13] = { 0, 31, 28, 31, 30, 31, 30,
	                              31, 31, 30, 31, 30, 31 };
	bool leap = y % 400 == 0 || (y % 4 == 0 && y % 100 != 0);
	return m == 2 && leap ? 29 : days[m];
}

static void test_date_every_day_round_trips(void)
{
	int y = 1, m = 1, d = 1;
	unsigned long mismatches = 0;
	char buf[11], want[48];

	for (uint32_t day = 1; day <= LEDGER_DAY_MAX; day++) {
		int yy, mm, dd;
		date_ymd(&yy, &mm, &dd, day);
		date_format_day(buf, day);
		snprintf(want, sizeof want, "%04d-%02d-%02d", y, m, d);
		if (date_day(y, m, d) != day || yy != y || mm != m || dd != d ||
		    strcmp(buf, want) != 0) {
			if (mismatches++ == 0)
				fprintf(stderr, "\nday %u: model %s, got %s\n",
				        (unsigned)day, want, buf);
		}
		if (++d > model_month_days(y, m)) {
			d = 1;
			if (++m > 12) {
				m = 1;
				y++;
			}
		}
	}
	CU_ASSERT_EQUAL(mismatches, 0);
	/* The walk ends on the day after 9999-12-31. */
	CU_ASSERT(y == 10000 && m == 1 && d == 1);
}

static void expect_rfc3339(const char *s, int64_t want)
{
	int64_t us = -1;
	const char *reason = date_parse_rfc3339(&us, s);
	CU_ASSERT_PTR_NULL(reason);
	if (reason != NULL)
		fprintf(stderr, "\n%s: %s\n", s, reason);
	else
		CU_ASSERT_EQUAL(us, want);
}

static void refused_rfc3339(const char *s, const char *want)
{
	int64_t us = 0;
	const char *reason = date_parse_rfc3339(&us, s);
	CU_ASSERT_PTR_NOT_NULL(reason);
	if (reason == NULL)
		fprintf(stderr, "\naccepted: %s\n", s);
	else
		CU_ASSERT_STRING_EQUAL(reason, want);
}

#define US 1000000LL

static void test_date_rfc3339_parses(void)
{
	int64_t t = 1704164645LL * US;   /* 2024-01-02T03:04:05Z */
	expect_rfc3339("1970-01-01T00:00:00Z", 0);
	expect_rfc3339("2024-01-02T03:04:05Z", t);
	expect_rfc3339("2024-01-02t03:04:05z", t);
	expect_rfc3339("2024-01-02T08:04:05+05:00", t);
	expect_rfc3339("2024-01-01T22:04:05-05:00", t);
	expect_rfc3339("2024-01-02T03:04:05-00:00", t);
	expect_rfc3339("2024-01-02T08:34:05+05:30", t);
	expect_rfc3339("2024-01-03T03:03:05+23:59", t);
	expect_rfc3339("2024-01-02T03:04:05.123456Z", t + 123456);
	expect_rfc3339("2024-01-02T03:04:05.5Z", t + 500000);
	expect_rfc3339("2024-01-02T03:04:05.000001+00:00", t + 1);
	/* Digits past the microsecond are truncated. */
	expect_rfc3339("2024-01-02T03:04:05.123456789Z", t + 123456);
	expect_rfc3339("1969-12-31T23:59:59.999999Z", -1);
	expect_rfc3339("2024-02-29T00:00:00Z", 1709164800LL * US);
	expect_rfc3339("0001-01-01T00:00:00Z", -62135596800LL * US);
	expect_rfc3339("9999-12-31T23:59:59.999999Z", 253402300800LL * US - 1);
	expect_rfc3339("0001-01-01T05:00:00+05:00", -62135596800LL * US);
}

static void test_date_rfc3339_refused(void)
{
	static const char *const bad[] = {
		"", "2024-01-02", "2024-01-02T03:04:05", "2024-01-02 03:04:05Z",
		"2024-01-02T03:04Z", "2024-01-02T03:04:05.Z", "2024-01-02T03:04:05Z ",
		"2024-01-02T03:04:05ZZ", "2024-01-02T03:04:05+05", "2024-01-02T03:04:05+0500",
		"2024-01-02T03:04:05+05:00:00", "2024-1-02T03:04:05Z", "24-01-02T03:04:05Z",
		"2024-01-02T3:04:05Z", "2024-01-02T03:04:05,5Z", "x",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		refused_rfc3339(bad[i], reason_rfc3339);
	refused_rfc3339("2024-01-02T03:04:05.1234567890Z",
	                "at most 9 digits of fractional seconds");
	refused_rfc3339("0000-01-01T00:00:00Z", "year must be 0001 to 9999");
	refused_rfc3339("2024-13-01T00:00:00Z", "month must be 01 to 12");
	refused_rfc3339("2023-02-29T00:00:00Z", "not a calendar day");
	refused_rfc3339("2024-01-02T24:00:00Z", "hour must be 00 to 23");
	refused_rfc3339("2024-01-02T23:60:00Z", "minute must be 00 to 59");
	refused_rfc3339("2016-12-31T23:59:60Z", "second must be 00 to 59");
	refused_rfc3339("2024-01-02T03:04:05+24:00", "offset must be at most 23:59");
	refused_rfc3339("2024-01-02T03:04:05+05:60", "offset must be at most 23:59");
	refused_rfc3339("0001-01-01T00:00:00+00:01",
	                "time in UTC is outside years 0001 to 9999");
	refused_rfc3339("9999-12-31T23:59:59-00:01",
	                "time in UTC is outside years 0001 to 9999");
}

static void expect_format(int64_t us, const char *want)
{
	char buf[28];
	int64_t back = 0;
	date_format_rfc3339(buf, us);
	CU_ASSERT_STRING_EQUAL(buf, want);
	CU_ASSERT_PTR_NULL(date_parse_rfc3339(&back, buf));
	CU_ASSERT_EQUAL(back, us);
}

static void test_date_rfc3339_formats(void)
{
	expect_format(0, "1970-01-01T00:00:00.000000Z");
	expect_format(1704164645LL * US + 123456, "2024-01-02T03:04:05.123456Z");
	expect_format(-1, "1969-12-31T23:59:59.999999Z");
	expect_format(-86400LL * US, "1969-12-31T00:00:00.000000Z");
	expect_format(-62135596800LL * US, "0001-01-01T00:00:00.000000Z");
	expect_format(253402300800LL * US - 1, "9999-12-31T23:59:59.999999Z");
}

/* Called by tests/run.c, which declares it from suites.inc. */
void suite_date(void);

void suite_date(void)
{
	CU_pSuite s = CU_add_suite("date", NULL, NULL);
	CU_add_test(s, "levels", test_date_levels);
	CU_add_test(s, "unspecified", test_date_unspecified);
	CU_add_test(s, "qualifiers", test_date_qualifiers);
	CU_add_test(s, "leap_days", test_date_leap_days);
	CU_add_test(s, "day_limits", test_date_day_limits);
	CU_add_test(s, "year_limits", test_date_year_limits);
	CU_add_test(s, "syntax_refused", test_date_syntax_refused);
	CU_add_test(s, "reads_only_n_bytes", test_date_reads_only_n_bytes);
	CU_add_test(s, "known_day_numbers", test_date_known_day_numbers);
	CU_add_test(s, "every_day_round_trips", test_date_every_day_round_trips);
	CU_add_test(s, "rfc3339_parses", test_date_rfc3339_parses);
	CU_add_test(s, "rfc3339_refused", test_date_rfc3339_refused);
	CU_add_test(s, "rfc3339_formats", test_date_rfc3339_formats);
}
