/* libFuzzer target: EDTF effective dates (date_parse) and RFC 3339 times
 * (date_parse_rfc3339), with the invariants of DESIGN §3.1: a parsed date
 * is a span of real days within years 1 to 9999, its canonical text is the
 * input, and formatting its days gives dates that parse again. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "date.h"
#include "limits.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(cond) do { if (!(cond)) { \
	fprintf(stderr, "fuzz invariant failed: %s (%s:%d)\n", #cond, \
	        __FILE__, __LINE__); abort(); } } while (0)

static void check_day(uint32_t day)
{
	int y, m, d;
	char text[11];
	date_span again;

	date_ymd(&y, &m, &d, day);
	FUZZ_ASSERT(y >= 1 && y <= 9999 && m >= 1 && m <= 12 && d >= 1 && d <= 31);
	FUZZ_ASSERT(date_day(y, m, d) == day);
	date_format_day(text, day);
	FUZZ_ASSERT(date_parse(&again, text, 10) == NULL);
	FUZZ_ASSERT(again.first_day == day && again.last_day == day);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	date_span s;
	/* A heap copy of exactly size bytes: ASan sees any read past it. */
	char *text = malloc(size ? size : 1);

	if (!text)
		return 0;
	memcpy(text, data, size);
	const char *why = date_parse(&s, text, size);
	if (why) {
		FUZZ_ASSERT(*why != '\0');
	} else {
		FUZZ_ASSERT(s.first_day >= 1 && s.first_day <= s.last_day &&
		            s.last_day <= LEDGER_DAY_MAX);
		FUZZ_ASSERT(s.qualifier >= DATE_EXACT &&
		            s.qualifier <= DATE_UNCERTAIN_APPROXIMATE);
		FUZZ_ASSERT(strlen(s.edtf) == size && memcmp(s.edtf, text, size) == 0);
		check_day(s.first_day);
		check_day(s.last_day);
	}
	free(text);

	/* date_parse_rfc3339 takes a NUL-ended string. */
	char *z = malloc(size + 1);
	if (!z)
		return 0;
	memcpy(z, data, size);
	z[size] = '\0';
	int64_t us;
	why = date_parse_rfc3339(&us, z);
	if (!why) {
		char back[28];
		int64_t again;
		date_format_rfc3339(back, us);
		FUZZ_ASSERT(date_parse_rfc3339(&again, back) == NULL && again == us);
	}
	free(z);
	return 0;
}
