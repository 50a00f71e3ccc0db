/* Limits of DESIGN §2, with their units and reasons. */
#ifndef LEDGER_LIMITS_H
#define LEDGER_LIMITS_H

#define LEDGER_HASH_BYTES 32   /* SHA-256; the same token as in ledger.h */
#define LEDGER_ID_BYTES_MAX        128u           /* an event id, [A-Za-z0-9._:-] */
#define LEDGER_SLUG_BYTES_MAX      63u            /* [a-z0-9][a-z0-9-]{0,62} */
#define LEDGER_COUNTRY_BYTES_MAX   4u             /* KZ, SUHH */
#define LEDGER_NAME_BYTES_MAX      400u           /* a name or alias after case folding */
#define LEDGER_ALIASES_MAX         64u            /* aliases on one organization event */
#define LEDGER_EXTERNAL_ID_BYTES_MAX 128u         /* wikidata:Q..., opensanctions:... */
#define LEDGER_EXTERNAL_IDS_MAX    32u
#define LEDGER_AUTHORITY_BYTES_MAX 400u
#define LEDGER_INSTRUMENT_BYTES_MAX 1000u
#define LEDGER_SUMMARY_BYTES_MAX   4000u
#define LEDGER_REASON_BYTES_MAX    1000u
#define LEDGER_URL_BYTES_MAX       2000u
#define LEDGER_SOURCE_TEXT_BYTES_MAX 1000u        /* title, publisher, language */
#define LEDGER_QUOTE_BYTES_MAX     4000u
#define LEDGER_SOURCES_MAX         32u
#define LEDGER_PARTICIPANTS_MAX    64u
#define LEDGER_PARTICIPANT_TEXT_BYTES_MAX 400u    /* name, role */
#define LEDGER_EDTF_BYTES_MAX      16u            /* "2023-12-XX%" and NUL */
#define LEDGER_EVENT_BYTES_MAX     (64u * 1024u)  /* one encoded envelope + body */
#define LEDGER_LINE_BYTES_MAX      (1024u * 1024u) /* one input line or record */
#define LEDGER_KEY_BYTES_MAX       511u           /* LMDB's default key limit */
#define LEDGER_ORIGIN_BYTES_MAX    255u           /* C2SP checkpoint origin */
#define LEDGER_DAY_MAX             3652059u       /* 9999-12-31, days from 1 = 0001-01-01 */

_Static_assert(LEDGER_EVENT_BYTES_MAX < LEDGER_LINE_BYTES_MAX,
               "an input line must hold any event");
_Static_assert(4 + LEDGER_SLUG_BYTES_MAX + 1 + 4 + 8 <= LEDGER_KEY_BYTES_MAX,
               "relationship keys fit LMDB's key limit");
_Static_assert(LEDGER_NAME_BYTES_MAX + 1 <= LEDGER_KEY_BYTES_MAX,
               "a folded name is an LMDB key");

#endif
