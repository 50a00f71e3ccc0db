/* Countries (DESIGN §2): ISO 3166-1 alpha-2 codes, ISO 3166-3 alpha-4 codes
 * for former countries, and ISO's exceptionally reserved UN and EU. The
 * table is generated at build time from Debian's iso-codes JSON by
 * tools/gen_countries.c into build/countries.c. */
#ifndef LEDGER_COUNTRY_H
#define LEDGER_COUNTRY_H

#include <stddef.h>

typedef struct country {
	const char *code;    /* stored code: "KZ", "SUHH", "UN", "EU" */
	const char *alpha3;  /* "KAZ"; for 3166-3 entries their alpha-3; NULL for UN, EU */
	const char *name;    /* English name from iso-codes */
	const char *official_name; /* or NULL */
	const char *common_name;   /* or NULL */
} country;

/* Normalize input naming a country: an alpha-2, alpha-3 or alpha-4 code, or
 * an English name (name, official name or common name), all compared
 * ASCII-case-insensitively after trimming nothing. Returns the table entry,
 * or NULL when the text names no country. */
const country *country_find(const char *text, size_t n);

/* The entry for a stored code, or NULL. */
const country *country_by_code(const char *code);

/* The number of entries and the i-th entry, sorted by code (for tests). */
size_t country_count(void);
const country *country_at(size_t i);

#endif
