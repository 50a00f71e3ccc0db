/* EDTF effective dates and RFC 3339 times (DESIGN §3.1). Everything is
 * computed from day numbers in the proleptic Gregorian calendar, so no
 * locale, time zone or libc time conversion takes part. */
#include <assert.h>
#include <stdbool.h>
#include <string.h>

#include "date.h"

#define DATE_UNIX_EPOCH_DAY 719163        /* day number of 1970-01-01 */
#define DATE_DAY_SECONDS    86400
#define DATE_SECOND_US      1000000
#define DATE_DAY_US         ((int64_t)DATE_DAY_SECONDS * DATE_SECOND_US)
#define DATE_FRACTION_DIGITS_MAX 9        /* nanoseconds; finer is not a real clock */

/* Microseconds of 0001-01-01T00:00:00Z and of the last microsecond of
 * 9999-12-31, so that every accepted time can be formatted again. */
#define DATE_US_MIN ((int64_t)(1 - DATE_UNIX_EPOCH_DAY) * DATE_DAY_US)
#define DATE_US_MAX ((int64_t)(LEDGER_DAY_MAX + 1 - DATE_UNIX_EPOCH_DAY) * \
                     DATE_DAY_US - 1)

_Static_assert(sizeof "9999-12-XX%" <= LEDGER_EDTF_BYTES_MAX,
               "the longest EDTF date and its NUL fit date_span.edtf");

static const char date_reason_edtf[] =
	"not an EDTF date (YYYY, YYYY-MM or YYYY-MM-DD, optionally ending in ?, ~ or %)";
static const char date_reason_rfc3339[] =
	"not an RFC 3339 time (YYYY-MM-DDTHH:MM:SS, optional fraction, then Z or +HH:MM)";
static const char date_reason_year[] = "year must be 0001 to 9999";
static const char date_reason_month[] = "month must be 01 to 12";
static const char date_reason_day[] = "not a calendar day";

/* A two-character month or day field. Negative values are not numbers. */
enum {
	DATE_FIELD_ABSENT = -1,      /* "2023": no month given */
	DATE_FIELD_UNSPECIFIED = -2, /* "XX" */
	DATE_FIELD_LOWER_X = -3,     /* "xx", "Xx": refused with its own reason */
	DATE_FIELD_BAD = -4,
};

static bool date_is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool date_is_leap(int year)
{
	return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int date_month_days(int year, int month)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30,
	                              31, 31, 30, 31, 30, 31 };
	assert(month >= 1 && month <= 12);
	if (month == 2 && date_is_leap(year))
		return 29;
	return days[month - 1];
}

/* Reads exactly `digits` decimal digits at s. Stops at the first non-digit,
 * so a NUL-ended string is never read past its end. */
static bool date_number(int *out, const char *s, int digits)
{
	int v = 0;
	for (int i = 0; i < digits; i++) {
		if (!date_is_digit(s[i]))
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

static int date_field(const char *p)
{
	int v;
	if (p[0] == 'X' && p[1] == 'X')
		return DATE_FIELD_UNSPECIFIED;
	if ((p[0] == 'x' || p[0] == 'X') && (p[1] == 'x' || p[1] == 'X'))
		return DATE_FIELD_LOWER_X;
	if (date_number(&v, p, 2))
		return v;
	return DATE_FIELD_BAD;
}

uint32_t date_day(int year, int month, int day)
{
	assert(year >= 1 && year <= 9999);
	assert(day >= 1 && day <= date_month_days(year, month));
	/* Counting years from March puts the leap day last, so the day of
	 * the year follows from the month by one formula (H. Hinnant's
	 * days_from_civil). y >= 0 keeps every division exact toward 0. */
	int y = month <= 2 ? year - 1 : year;
	int era = y / 400;
	int year_of_era = y - era * 400;
	int month_from_march = (month + 9) % 12;
	int day_of_year = (153 * month_from_march + 2) / 5 + day - 1;
	int day_of_era = year_of_era * 365 + year_of_era / 4 -
	                 year_of_era / 100 + day_of_year;
	int32_t since_0000_03_01 = era * 146097 + day_of_era;
	/* 0001-01-01 is 306 days after 0000-03-01 and is day 1. */
	return (uint32_t)(since_0000_03_01 - 305);
}

void date_ymd(int *year, int *month, int *day, uint32_t day_number)
{
	assert(day_number >= 1 && day_number <= LEDGER_DAY_MAX);
	int32_t z = (int32_t)day_number + 305;
	int32_t era = z / 146097;
	int32_t day_of_era = z - era * 146097;
	int32_t year_of_era = (day_of_era - day_of_era / 1460 +
	                       day_of_era / 36524 - day_of_era / 146096) / 365;
	int32_t day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 -
	                                    year_of_era / 100);
	int32_t month_from_march = (5 * day_of_year + 2) / 153;
	int32_t m = month_from_march < 10 ? month_from_march + 3
	                                  : month_from_march - 9;
	*day = (int)(day_of_year - (153 * month_from_march + 2) / 5 + 1);
	*month = (int)m;
	*year = (int)(year_of_era + era * 400 + (m <= 2));
}

/* Writes v as exactly `digits` decimal digits; no NUL. */
static void date_put(char *buf, int v, int digits)
{
	assert(v >= 0);
	for (int i = digits - 1; i >= 0; i--) {
		buf[i] = (char)('0' + v % 10);
		v /= 10;
	}
	assert(v == 0);
}

void date_format_day(char buf[11], uint32_t day_number)
{
	int y, m, d;
	date_ymd(&y, &m, &d, day_number);
	date_put(buf, y, 4);
	buf[4] = '-';
	date_put(buf + 5, m, 2);
	buf[7] = '-';
	date_put(buf + 8, d, 2);
	buf[10] = '\0';
}

static int date_qualifier_of(char c)
{
	switch (c) {
	case '?': return DATE_UNCERTAIN;
	case '~': return DATE_APPROXIMATE;
	case '%': return DATE_UNCERTAIN_APPROXIMATE;
	}
	return -1;
}

/* Splits the body (without qualifier) into year, month and day fields. */
static const char *date_fields(int *year, int *month, int *day,
                               const char *s, size_t body)
{
	size_t digits = 0;
	while (digits < body && digits <= 4 && date_is_digit(s[digits]))
		digits++;
	if (digits > 4)
		return date_reason_year;
	if (digits < 4 || (body != 4 && body != 7 && body != 10) ||
	    (body >= 7 && s[4] != '-') || (body == 10 && s[7] != '-'))
		return date_reason_edtf;
	date_number(year, s, 4);
	*month = body >= 7 ? date_field(s + 5) : DATE_FIELD_ABSENT;
	*day = body == 10 ? date_field(s + 8) : DATE_FIELD_ABSENT;
	if (*month == DATE_FIELD_LOWER_X || *day == DATE_FIELD_LOWER_X)
		return "unspecified digits must be upper-case XX";
	if (*month == DATE_FIELD_BAD || *day == DATE_FIELD_BAD)
		return date_reason_edtf;
	return NULL;
}

const char *date_parse(date_span *out, const char *text, size_t n)
{
	const char *reason;
	int year = 0, month = 0, day = 0;
	int q = -1;

	assert(out != NULL && (text != NULL || n == 0));
	memset(out, 0, sizeof *out);
	if (n > 0)
		q = date_qualifier_of(text[n - 1]);
	size_t body = q < 0 ? n : n - 1;
	if ((reason = date_fields(&year, &month, &day, text, body)) != NULL)
		return reason;
	if (year < 1)
		return date_reason_year;
	if (month == 0 || month > 12)
		return date_reason_month;
	if (month < 0 && day >= 0)
		return "a day needs a month: YYYY-XX-DD is not allowed";
	if (month > 0 && day >= 0 &&
	    (day < 1 || day > date_month_days(year, month)))
		return date_reason_day;

	if (month < 0) {
		out->first_day = date_day(year, 1, 1);
		out->last_day = date_day(year, 12, 31);
	} else if (day < 0) {
		out->first_day = date_day(year, month, 1);
		out->last_day = date_day(year, month,
		                         date_month_days(year, month));
	} else {
		out->first_day = out->last_day = date_day(year, month, day);
	}
	out->qualifier = q < 0 ? DATE_EXACT : (date_qualifier)q;
	assert(n < sizeof out->edtf);
	memcpy(out->edtf, text, n);
	out->edtf[n] = '\0';
	return NULL;
}

/* Reads the optional fraction and the zone of an RFC 3339 time at s:
 * microseconds into *us (finer digits are truncated) and the zone's offset
 * east of UTC into *offset_s. */
static const char *date_rfc3339_tail(int *us, int *offset_s, const char *s)
{
	int scale = DATE_SECOND_US / 10, hours, minutes;
	size_t i = 0;

	*us = 0;
	if (s[0] == '.') {
		for (i = 1; date_is_digit(s[i]); i++) {
			if (i > DATE_FRACTION_DIGITS_MAX)
				return "at most 9 digits of fractional seconds";
			*us += (s[i] - '0') * scale;
			scale /= 10;
		}
		if (i == 1)
			return date_reason_rfc3339;
	}
	if ((s[i] == 'Z' || s[i] == 'z') && s[i + 1] == '\0') {
		*offset_s = 0;
		return NULL;
	}
	if ((s[i] != '+' && s[i] != '-') || !date_number(&hours, s + i + 1, 2) ||
	    s[i + 3] != ':' || !date_number(&minutes, s + i + 4, 2) ||
	    s[i + 6] != '\0')
		return date_reason_rfc3339;
	if (hours > 23 || minutes > 59)
		return "offset must be at most 23:59";
	*offset_s = (hours * 3600 + minutes * 60) * (s[i] == '-' ? -1 : 1);
	return NULL;
}

const char *date_parse_rfc3339(int64_t *out_us, const char *text)
{
	const char *reason;
	int y, mo, d, h, mi, sec, us, offset_s;

	assert(out_us != NULL && text != NULL);
	/* && evaluates left to right, so no byte after a NUL is read. */
	if (!date_number(&y, text, 4) || text[4] != '-' ||
	    !date_number(&mo, text + 5, 2) || text[7] != '-' ||
	    !date_number(&d, text + 8, 2) ||
	    (text[10] != 'T' && text[10] != 't') ||
	    !date_number(&h, text + 11, 2) || text[13] != ':' ||
	    !date_number(&mi, text + 14, 2) || text[16] != ':' ||
	    !date_number(&sec, text + 17, 2))
		return date_reason_rfc3339;
	if ((reason = date_rfc3339_tail(&us, &offset_s, text + 19)) != NULL)
		return reason;
	if (y < 1)
		return date_reason_year;
	if (mo < 1 || mo > 12)
		return date_reason_month;
	if (d < 1 || d > date_month_days(y, mo))
		return date_reason_day;
	if (h > 23)
		return "hour must be 00 to 23";
	if (mi > 59)
		return "minute must be 00 to 59";
	/* A leap second has no place on a count of days of 86400 s. */
	if (sec > 59)
		return "second must be 00 to 59";

	int64_t seconds = ((int64_t)date_day(y, mo, d) - DATE_UNIX_EPOCH_DAY) *
	                  DATE_DAY_SECONDS + h * 3600 + mi * 60 + sec - offset_s;
	int64_t t = seconds * DATE_SECOND_US + us;
	if (t < DATE_US_MIN || t > DATE_US_MAX)
		return "time in UTC is outside years 0001 to 9999";
	*out_us = t;
	return NULL;
}

void date_format_rfc3339(char buf[28], int64_t us)
{
	assert(us >= DATE_US_MIN && us <= DATE_US_MAX);
	/* Floor division, so times before 1970 land on the previous day. */
	int64_t days = us / DATE_DAY_US;
	int64_t rest = us % DATE_DAY_US;
	if (rest < 0) {
		days--;
		rest += DATE_DAY_US;
	}
	date_format_day(buf, (uint32_t)(days + DATE_UNIX_EPOCH_DAY));
	int64_t sec = rest / DATE_SECOND_US;
	buf[10] = 'T';
	date_put(buf + 11, (int)(sec / 3600), 2);
	buf[13] = ':';
	date_put(buf + 14, (int)(sec / 60 % 60), 2);
	buf[16] = ':';
	date_put(buf + 17, (int)(sec % 60), 2);
	buf[19] = '.';
	date_put(buf + 20, (int)(rest % DATE_SECOND_US), 6);
	buf[26] = 'Z';
	buf[27] = '\0';
}
