/* Text rules of DESIGN §2. UTF-8 checks, white space and case folding come
 * from libunistring so that every caller folds a name the same way. */
#include <assert.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <unicase.h>
#include <unictype.h>
#include <uninorm.h>
#include <unistr.h>

#include "text.h"

/* Folding changes the length of a name by a few bytes at most in practice,
 * so a stack buffer of four times the limit holds the folded text of nearly
 * every name that passes, with room for runs of white space inside it that
 * are collapsed only after folding. Only longer text makes libunistring
 * allocate, which we then free. */
#define TEXT_FOLD_STACK_BYTES (4u * LEDGER_NAME_BYTES_MAX)

/* External id schemes, each with its own value rule:
 *   wikidata       Wikidata item, "Q" and a decimal number without a
 *                  leading zero (wikidata:Q107202)
 *   opensanctions  OpenSanctions entity id
 *   un             UN Security Council consolidated list reference
 *   lei            ISO 17442 Legal Entity Identifier
 *   ofac           US Treasury OFAC SDN entry
 *   eu             EU consolidated financial sanctions list entry
 * The last five take any printable ASCII without space: their issuers'
 * formats change, and a wrong id is corrected by a later event. */
static const char *const text_schemes[] = {
	"wikidata", "opensanctions", "un", "lei", "ofac", "eu",
};

static bool text_is_graph(unsigned char c)
{
	return c > ' ' && c < 0x7f;
}

static bool text_is_slug_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

static bool text_is_id_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '.' || c == '_' || c == ':' ||
	       c == '-';
}

const char *text_check_id(const char *s, size_t n)
{
	_Static_assert(LEDGER_ID_BYTES_MAX == 128, "reason text names the limit");
	if (n == 0)
		return "empty";
	if (n > LEDGER_ID_BYTES_MAX)
		return "longer than 128 bytes";
	for (size_t i = 0; i < n; i++)
		if (!text_is_id_char((unsigned char)s[i]))
			return "may contain only A-Z, a-z, 0-9, '.', '_', ':' and '-'";
	return NULL;
}

const char *text_check_slug(const char *s, size_t n)
{
	_Static_assert(LEDGER_SLUG_BYTES_MAX == 63, "reason text names the limit");
	if (n == 0)
		return "empty";
	if (n > LEDGER_SLUG_BYTES_MAX)
		return "longer than 63 bytes";
	if (s[0] == '-')
		return "must start with a-z or 0-9";
	for (size_t i = 0; i < n; i++)
		if (!text_is_slug_char((unsigned char)s[i]))
			return "may contain only a-z, 0-9 and '-'";
	return NULL;
}

const char *text_check_utf8(const char *s, size_t n, size_t max_bytes)
{
	if (n > max_bytes)
		return "too long";
	if (n > 0 && memchr(s, '\0', n) != NULL)
		return "contains a NUL byte";
	if (u8_check((const uint8_t *)s, n) != NULL)
		return "not valid UTF-8";
	return NULL;
}

static bool text_is_space_at(const uint8_t *s, size_t n, size_t *len)
{
	ucs4_t uc;
	*len = (size_t)u8_mbtouc(&uc, s, n);
	return uc_is_property_white_space(uc);
}

/* Drops white space at both ends of valid UTF-8, so that padding never
 * makes the folded text outgrow the stack buffer of text_fold(). */
static const uint8_t *text_trim(const uint8_t *s, size_t *n)
{
	const uint8_t *end = s + *n, *prev;
	size_t len;
	ucs4_t uc;

	while (s < end && text_is_space_at(s, (size_t)(end - s), &len))
		s += len;
	while (end > s && (prev = u8_prev(&uc, end, s)) != NULL &&
	       uc_is_property_white_space(uc))
		end = prev;
	*n = (size_t)(end - s);
	return s;
}

/* Collapses each run of white space in s[0..n) to one ' ' and drops it at
 * both ends, in place; returns the new length. s is valid UTF-8. */
static size_t text_collapse(uint8_t *s, size_t n)
{
	size_t in = 0, out = 0, len;
	bool pending = false;

	while (in < n) {
		if (text_is_space_at(s + in, n - in, &len)) {
			pending = out > 0;
			in += len;
			continue;
		}
		if (pending)
			s[out++] = ' ';
		pending = false;
		memmove(s + out, s + in, len);
		out += len;
		in += len;
	}
	return out;
}

const char *text_fold(char *out, size_t cap, size_t *out_bytes,
                      const char *s, size_t n)
{
	_Static_assert(LEDGER_NAME_BYTES_MAX == 400, "reason text names the limit");
	uint8_t stack[TEXT_FOLD_STACK_BYTES];
	size_t folded_bytes = sizeof stack;
	const uint8_t *trimmed;
	uint8_t *folded = NULL;
	const char *reason = NULL;

	assert(out != NULL && out_bytes != NULL && (s != NULL || n == 0));
	*out_bytes = 0;
	if ((reason = text_check_utf8(s, n, SIZE_MAX)) != NULL)
		return reason;
	trimmed = text_trim((const uint8_t *)s, &n);
	if (n == 0)
		return "empty";
	/* No language: a name folds the same way for every user. */
	folded = u8_casefold(trimmed, n, NULL, UNINORM_NFC, stack,
	                     &folded_bytes);
	if (folded == NULL) {
		reason = errno == ENOMEM ? "out of memory" : "not valid UTF-8";
		goto out;
	}
	/* White space folds and normalizes to white space, so collapsing
	 * the runs inside after folding gives the same text as before, and
	 * needs no second buffer. */
	folded_bytes = text_collapse(folded, folded_bytes);
	if (folded_bytes == 0)
		reason = "empty";
	else if (folded_bytes > LEDGER_NAME_BYTES_MAX)
		reason = "longer than 400 bytes once case-folded";
	else if (folded_bytes > cap)
		reason = "longer than the output buffer";
	if (reason != NULL)
		goto out;
	memcpy(out, folded, folded_bytes);
	*out_bytes = folded_bytes;
out:
	if (folded != stack)
		free(folded);
	return reason;
}

/* wikidata:Q<digits>, the first digit not 0. */
static bool text_is_wikidata_value(const char *v, size_t n)
{
	if (n < 2 || v[0] != 'Q' || v[1] < '1' || v[1] > '9')
		return false;
	for (size_t i = 2; i < n; i++)
		if (v[i] < '0' || v[i] > '9')
			return false;
	return true;
}

const char *text_check_external_id(const char *s, size_t n)
{
	_Static_assert(LEDGER_EXTERNAL_ID_BYTES_MAX == 128,
	               "reason text names the limit");
	const char *colon;
	size_t scheme_bytes, k;

	if (n > LEDGER_EXTERNAL_ID_BYTES_MAX)
		return "longer than 128 bytes";
	for (size_t i = 0; i < n; i++)
		if (!text_is_graph((unsigned char)s[i]))
			return "may contain only printable ASCII without spaces";
	colon = n > 0 ? memchr(s, ':', n) : NULL;
	if (colon == NULL || colon == s || colon == s + n - 1)
		return "not scheme:value";
	scheme_bytes = (size_t)(colon - s);
	for (k = 0; k < sizeof text_schemes / sizeof text_schemes[0]; k++)
		if (strlen(text_schemes[k]) == scheme_bytes &&
		    memcmp(text_schemes[k], s, scheme_bytes) == 0)
			break;
	if (k == sizeof text_schemes / sizeof text_schemes[0])
		return "unknown scheme (known: wikidata, opensanctions, un, lei, ofac, eu)";
	if (k == 0 && !text_is_wikidata_value(colon + 1, n - scheme_bytes - 1))
		return "a wikidata id is Q followed by digits";
	return NULL;
}

const char *text_check_origin(const char *s, size_t n)
{
	_Static_assert(LEDGER_ORIGIN_BYTES_MAX == 255, "reason text names the limit");
	if (n == 0)
		return "empty";
	if (n > LEDGER_ORIGIN_BYTES_MAX)
		return "longer than 255 bytes";
	for (size_t i = 0; i < n; i++)
		if (!text_is_graph((unsigned char)s[i]) || s[i] == '+')
			return "may contain only printable ASCII without '+' or spaces";
	return NULL;
}
