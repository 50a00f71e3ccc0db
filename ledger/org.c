/* Organization registry and name index. */
#include <stdio.h>
#include <string.h>

#include "bytes.h"
#include "org.h"
#include "text.h"

static ledger_err org_by_name(char slug[LEDGER_SLUG_BYTES_MAX + 1],
                              MDB_txn *txn, const store *s, const char *fold,
                              size_t fold_bytes, const char *text, char *why,
                              size_t why_bytes, errbuf *e)
{
	MDB_cursor *c = NULL;
	MDB_val k = { fold_bytes, (void *)fold }, v;
	size_t found = 0, at = 0;
	ledger_err err;

	if ((err = store_cursor(&c, txn, s, DB_NAMES, e)) != LEDGER_OK)
		return err;
	err = store_cursor_get(c, &k, &v, MDB_SET_KEY, e);
	while (err == LEDGER_OK) {
		if (found == 0) {
			memcpy(slug, v.mv_data, v.mv_size);
			slug[v.mv_size] = '\0';
			at = (size_t)snprintf(why, why_bytes, "'%.64s' is ambiguous; "
			                      "it names: %s", text, slug);
		} else if (found < ORG_CANDIDATES_MAX && at < why_bytes) {
			at += (size_t)snprintf(why + at, why_bytes - at, ", %.*s",
			                       (int)v.mv_size, (char *)v.mv_data);
		}
		found++;
		err = store_cursor_get(c, &k, &v, MDB_NEXT_DUP, e);
	}
	store_cursor_close(c);
	if (err != LEDGER_ENOTFOUND)
		return err;
	if (found == 1)
		return LEDGER_OK;
	if (found == 0) {
		snprintf(why, why_bytes, "unknown organization '%.64s' (register it "
		         "first: annals org add SLUG --name NAME, or an organization "
		         "event)", text);
		return LEDGER_ENOTFOUND;
	}
	if (at < why_bytes && found > ORG_CANDIDATES_MAX)
		snprintf(why + at, why_bytes - at, " and %zu more; use the slug",
		         found - ORG_CANDIDATES_MAX);
	return LEDGER_EINPUT;
}

ledger_err org_resolve(char slug[LEDGER_SLUG_BYTES_MAX + 1], MDB_txn *txn,
                       const store *s, const char *text, char *why,
                       size_t why_bytes, errbuf *e)
{
	size_t n = strlen(text), fold_bytes;
	char fold[LEDGER_NAME_BYTES_MAX];
	MDB_val v;
	ledger_err err;

	if (text_check_slug(text, n) == NULL) {
		err = store_get(txn, s, DB_ORGS, text, n, &v, e);
		if (err == LEDGER_OK) {
			memcpy(slug, text, n + 1);
			return LEDGER_OK;
		}
		if (err != LEDGER_ENOTFOUND)
			return err;
	}
	const char *bad = text_fold(fold, sizeof fold, &fold_bytes, text, n);
	if (bad) {
		snprintf(why, why_bytes, "'%.64s': %s", text, bad);
		return LEDGER_EINPUT;
	}
	/* The slug case-folded ("TALIBAN"), then names and aliases. */
	if (fold_bytes <= LEDGER_SLUG_BYTES_MAX &&
	    text_check_slug(fold, fold_bytes) == NULL) {
		err = store_get(txn, s, DB_ORGS, fold, fold_bytes, &v, e);
		if (err == LEDGER_OK) {
			memcpy(slug, fold, fold_bytes);
			slug[fold_bytes] = '\0';
			return LEDGER_OK;
		}
		if (err != LEDGER_ENOTFOUND)
			return err;
	}
	return org_by_name(slug, txn, s, fold, fold_bytes, text, why, why_bytes, e);
}

static ledger_err org_index_name(MDB_txn *txn, const store *s,
                                 const char *name, const char *slug, errbuf *e)
{
	char fold[LEDGER_NAME_BYTES_MAX];
	size_t fold_bytes;

	/* Names were checked before the event was accepted. */
	if (text_fold(fold, sizeof fold, &fold_bytes, name, strlen(name)))
		return err_set(e, LEDGER_ECORRUPT, "name '%.64s' cannot be folded", name);
	return store_put(txn, s, DB_NAMES, fold, fold_bytes, slug, strlen(slug),
	                 0, e);
}

ledger_err org_index(MDB_txn *txn, const store *s,
                     const Annals__Envelope *env, uint64_t seq, errbuf *e)
{
	uint8_t v[8];
	ledger_err err;

	put_u64_be(v, seq);
	err = store_put(txn, s, DB_ORGS, env->organization,
	                strlen(env->organization), v, sizeof v, 0, e);
	/* Old names stay in the index so that a renamed organization is
	 * still found by the name historians knew it by. */
	if (err == LEDGER_OK && env->name && *env->name)
		err = org_index_name(txn, s, env->name, env->organization, e);
	for (size_t i = 0; err == LEDGER_OK && i < env->n_aliases; i++)
		err = org_index_name(txn, s, env->aliases[i], env->organization, e);
	return err;
}
