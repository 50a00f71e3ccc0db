/* EDTF effective dates (DESIGN §3.1): level 0 YYYY, YYYY-MM, YYYY-MM-DD,
 * level 1 qualifiers '?', '~', '%' at the end, and unspecified digits for
 * the day or month ("2023-12-XX", "2023-XX-XX", "2023-XX"). Days are counted
 * from 1 = 0001-01-01 in the proleptic Gregorian calendar; 0 means unset. */
#ifndef LEDGER_DATE_H
#define LEDGER_DATE_H

#include <stddef.h>
#include <stdint.h>

#include "limits.h"

typedef enum date_qualifier {
	DATE_EXACT = 0,                 /* values match annals.proto DateQualifier */
	DATE_UNCERTAIN = 1,             /* '?' */
	DATE_APPROXIMATE = 2,           /* '~' */
	DATE_UNCERTAIN_APPROXIMATE = 3, /* '%' */
} date_qualifier;

typedef struct date_span {
	uint32_t first_day;             /* first day of the span, >= 1 */
	uint32_t last_day;              /* last day, >= first_day */
	date_qualifier qualifier;
	char edtf[LEDGER_EDTF_BYTES_MAX]; /* canonical text, NUL-ended */
} date_span;

/* Parse n bytes of EDTF text (not NUL-ended necessarily) into *out.
 * Returns NULL on success, else a static English reason such as
 * "2023-02-30 is not a calendar day" (without the field name). The canonical
 * text equals the input: upper-case 'X' only; lower-case 'x' is refused. */
const char *date_parse(date_span *out, const char *text, size_t n);

/* Day number of a calendar date; the date must be valid. */
uint32_t date_day(int year, int month, int day);

/* Calendar date of a day number in [1, LEDGER_DAY_MAX]. */
void date_ymd(int *year, int *month, int *day, uint32_t day_number);

/* Writes "YYYY-MM-DD" and a NUL into buf (11 bytes) for a day number. */
void date_format_day(char buf[11], uint32_t day_number);

/* Parse an RFC 3339 time ("2024-01-02T03:04:05Z", "...+05:00", fractional
 * seconds allowed) into microseconds since 1970-01-01T00:00:00Z. Returns NULL
 * on success or a static reason. */
const char *date_parse_rfc3339(int64_t *out_us, const char *text);

/* Format microseconds since the Unix epoch as RFC 3339 UTC with
 * microseconds, "2024-01-02T03:04:05.123456Z", into buf (28 bytes). */
void date_format_rfc3339(char buf[28], int64_t us);

#endif
