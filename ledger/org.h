/* Organizations: the registry of slugs and the index of their names and
 * aliases, case-folded (DESIGN §2). */
#ifndef LEDGER_ORG_H
#define LEDGER_ORG_H

#include <stddef.h>
#include <stdint.h>

#include "annals.pb-c.h"
#include "limits.h"
#include "store.h"

#define ORG_CANDIDATES_MAX 8u   /* candidates named in an ambiguity message */

/* Resolve text (a registered slug, or a name or alias of one) to its slug,
 * written with a NUL into slug. Returns LEDGER_OK, LEDGER_ENOTFOUND or
 * LEDGER_EINPUT (ambiguous; the candidates are listed in why), with a
 * reason in why (why_bytes) on failure; other codes are storage errors
 * with details in e. */
ledger_err org_resolve(char slug[LEDGER_SLUG_BYTES_MAX + 1], MDB_txn *txn,
                       const store *s, const char *text, char *why,
                       size_t why_bytes, errbuf *e);

/* Register the organization event env stored at seq: the slug's latest
 * registration becomes seq, and its name and every alias are indexed. */
ledger_err org_index(MDB_txn *txn, const store *s,
                     const Annals__Envelope *env, uint64_t seq, errbuf *e);

#endif
