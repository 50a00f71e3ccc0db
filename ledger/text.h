/* Text rules of DESIGN §2: identifiers, slugs, UTF-8 text and case-folded
 * names. Each check returns NULL when the value is valid, else a static
 * English reason without the field name, e.g. "longer than 128 bytes". */
#ifndef LEDGER_TEXT_H
#define LEDGER_TEXT_H

#include <stddef.h>
#include <stdint.h>

#include "limits.h"

/* An event id: 1 to LEDGER_ID_BYTES_MAX bytes of [A-Za-z0-9._:-]. */
const char *text_check_id(const char *s, size_t n);

/* A slug (organization, list): [a-z0-9][a-z0-9-]{0,62}. */
const char *text_check_slug(const char *s, size_t n);

/* Valid UTF-8 without NUL, at most max_bytes bytes (libunistring u8_check).
 * Empty text is valid here; callers decide whether a field is required. */
const char *text_check_utf8(const char *s, size_t n, size_t max_bytes);

/* Case-fold a name for lookup (libunistring u8_casefold, NFC), after
 * collapsing runs of white space to one space and trimming both ends.
 * Writes at most cap bytes to out (no NUL) and the length to *out_bytes.
 * Returns NULL on success, or a reason: invalid UTF-8, empty, or longer than
 * LEDGER_NAME_BYTES_MAX bytes once folded. */
const char *text_fold(char *out, size_t cap, size_t *out_bytes,
                      const char *s, size_t n);

/* An external id: "scheme:value" with a known scheme (wikidata:Q123,
 * opensanctions:..., un:...), printable ASCII without spaces, at most
 * LEDGER_EXTERNAL_ID_BYTES_MAX bytes. */
const char *text_check_external_id(const char *s, size_t n);

/* A checkpoint origin: 1 to 255 bytes of printable ASCII without '+' or
 * space. */
const char *text_check_origin(const char *s, size_t n);

#endif
