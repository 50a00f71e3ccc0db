/* The generated country table (ledger/country.h, tools/gen_countries.c). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "country.h"

/* Asserts that text names the country stored as code. */
static void expect_find(const char *text, const char *code)
{
	const country *c = country_find(text, strlen(text));
	CU_ASSERT_PTR_NOT_NULL(c);
	if (c == NULL) {
		fprintf(stderr, "\nnot found: %s\n", text);
		return;
	}
	CU_ASSERT_STRING_EQUAL(c->code, code);
}

static void expect_unknown(const char *text, size_t n)
{
	const country *c = country_find(text, n);
	CU_ASSERT_PTR_NULL(c);
	if (c != NULL)
		fprintf(stderr, "\n%.*s found as %s\n", (int)n, text, c->code);
}

static void test_country_find_current(void)
{
	static const char *const kz[] = {
		"KZ", "kz", "Kz", "KAZ", "kaz", "Kazakhstan", "kazakhstan",
		"KAZAKHSTAN", "Republic of Kazakhstan",
	};
	for (size_t i = 0; i < sizeof kz / sizeof kz[0]; i++)
		expect_find(kz[i], "KZ");
	expect_find("Russian Federation", "RU");
	expect_find("RUS", "RU");
	expect_find("AF", "AF");
	expect_find("Afghanistan", "AF");
	expect_find("Islamic Republic of Afghanistan", "AF");
	/* Common names, and four-letter names that are not alpha-4 codes. */
	expect_find("South Korea", "KR");
	expect_find("Korea, Republic of", "KR");
	expect_find("Vietnam", "VN");
	expect_find("Viet Nam", "VN");
	expect_find("Oman", "OM");
	expect_find("peru", "PE");
	/* Names beyond ASCII match byte for byte, their ASCII part in any case. */
	expect_find("C\xc3\xb4te d'Ivoire", "CI");
	expect_find("c\xc3\xb4te D'IVOIRE", "CI");
	expect_find("\xc3\x85land Islands", "AX");
}

static void test_country_find_former_and_reserved(void)
{
	const country *c;
	expect_find("SUHH", "SUHH");
	expect_find("suhh", "SUHH");
	expect_find("SUN", "SUHH");
	expect_find("USSR, Union of Soviet Socialist Republics", "SUHH");
	expect_find("DDR", "DDDE");
	expect_find("German Democratic Republic", "DDDE");
	expect_find("YUCS", "YUCS");
	/* ATF is both the French Southern Territories and the withdrawn
	 * French Southern and Antarctic Territories: the current one wins. */
	expect_find("ATF", "TF");
	expect_find("FQHH", "FQHH");
	expect_find("UN", "UN");
	expect_find("un", "UN");
	expect_find("United Nations", "UN");
	expect_find("EU", "EU");
	expect_find("european union", "EU");
	c = country_by_code("UN");
	CU_ASSERT(c != NULL && c->alpha3 == NULL);
	c = country_by_code("FQHH");
	CU_ASSERT(c != NULL && strcmp(c->alpha3, "ATF") == 0);
}

static void test_country_find_unknown(void)
{
	static const char *const bad[] = {
		"XX", "ZZ", "ZZZ", "ZZZZ", "Narnia", "K", "KZ ", " KZ", "K Z",
		"Kazakh", "Kazakhstan ", "SU", "DD", "Soviet Union", "UNO",
		"United Nations Organization", "XK",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		expect_unknown(bad[i], strlen(bad[i]));
	expect_unknown("", 0);
	expect_unknown(NULL, 0);
	expect_unknown("KZ\0", 3);
	expect_unknown("K\0Z", 3);
	expect_unknown("\0", 1);
	/* Only n bytes are read. */
	CU_ASSERT(country_find("KZAXX", 2) == country_by_code("KZ"));
	CU_ASSERT(country_find("KAZAKHSTAN!", 10) == country_by_code("KZ"));
}

static void test_country_by_code(void)
{
	const country *c = country_by_code("KZ");
	CU_ASSERT_PTR_NOT_NULL(c);
	if (c != NULL) {
		CU_ASSERT_STRING_EQUAL(c->alpha3, "KAZ");
		CU_ASSERT_STRING_EQUAL(c->name, "Kazakhstan");
	}
	CU_ASSERT_PTR_NOT_NULL(country_by_code("SUHH"));
	CU_ASSERT_PTR_NOT_NULL(country_by_code("EU"));
	CU_ASSERT_PTR_NOT_NULL(country_by_code("AD"));
	CU_ASSERT_PTR_NOT_NULL(country_by_code("ZW"));
	/* Stored codes are exact: upper case, no alpha-3, no names. */
	CU_ASSERT_PTR_NULL(country_by_code("kz"));
	CU_ASSERT_PTR_NULL(country_by_code("KAZ"));
	CU_ASSERT_PTR_NULL(country_by_code("Kazakhstan"));
	CU_ASSERT_PTR_NULL(country_by_code("SU"));
	CU_ASSERT_PTR_NULL(country_by_code(""));
	CU_ASSERT_PTR_NULL(country_by_code("AA"));
	CU_ASSERT_PTR_NULL(country_by_code("ZZ"));
	CU_ASSERT_PTR_NULL(country_by_code(NULL));
}

static bool is_code(const char *s)
{
	size_t n = strlen(s);
	if (n != 2 && n != 4)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 'A' || s[i] > 'Z')
			return false;
	return true;
}

/* Every entry is found by each of its spellings, itself or, for a former
 * country, possibly a current one that shares the spelling. */
static bool found_as(const country *c, const char *text)
{
	const country *f;
	if (text == NULL)
		return true;
	f = country_find(text, strlen(text));
	return f == c || (f != NULL && strlen(c->code) == 4 &&
	                  strlen(f->code) == 2);
}

static void test_country_table_is_consistent(void)
{
	size_t n = country_count(), bad = 0;
	/* 249 current, 31 former, UN and EU in iso-codes 4.15. */
	CU_ASSERT(n >= 280);
	for (size_t i = 0; i < n; i++) {
		const country *c = country_at(i);
		bool ok = is_code(c->code) && c->name != NULL &&
		          country_by_code(c->code) == c &&
		          country_find(c->code, strlen(c->code)) == c &&
		          (i == 0 || strcmp(country_at(i - 1)->code, c->code) < 0) &&
		          found_as(c, c->alpha3) && found_as(c, c->name) &&
		          found_as(c, c->official_name) &&
		          found_as(c, c->common_name);
		if (!ok && bad++ == 0)
			fprintf(stderr, "\nentry %zu (%s) is inconsistent\n", i, c->code);
	}
	CU_ASSERT_EQUAL(bad, 0);
}

/* Called by tests/run.c, which declares it from suites.inc. */
void suite_country(void);

void suite_country(void)
{
	CU_pSuite s = CU_add_suite("country", NULL, NULL);
	CU_add_test(s, "find_current", test_country_find_current);
	CU_add_test(s, "find_former_and_reserved",
	            test_country_find_former_and_reserved);
	CU_add_test(s, "find_unknown", test_country_find_unknown);
	CU_add_test(s, "by_code", test_country_by_code);
	CU_add_test(s, "table_is_consistent", test_country_table_is_consistent);
}
