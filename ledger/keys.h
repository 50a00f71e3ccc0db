/* Key layouts shared by the writer, the verifier and the readers. */
#ifndef LEDGER_KEYS_H
#define LEDGER_KEYS_H

#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "limits.h"

#define KEYS_REL_BYTES_MAX (4 + LEDGER_SLUG_BYTES_MAX)

/* Relationship key, 5 to 67 bytes; memcmp order is country, then
 * organization (no event has an empty slug, and a slug has no NUL):
 *   [0..3]     country, ASCII, NUL-padded ("KZ" 00 00; 00 00 00 00 for
 *              the organization stream (none, org))
 *   [4..4+n)   organization slug, n = 1..63 bytes                    */
static inline size_t keys_rel(uint8_t key[KEYS_REL_BYTES_MAX],
                              const char *country_code, const char *org)
{
	size_t c = country_code ? strlen(country_code) : 0, n = strlen(org);

	assert(c <= LEDGER_COUNTRY_BYTES_MAX);
	assert(n >= 1 && n <= LEDGER_SLUG_BYTES_MAX);
	memset(key, 0, 4);
	memcpy(key, country_code, c);
	memcpy(key + 4, org, n);
	return 4 + n;
}

#endif
