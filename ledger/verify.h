/* The full scan behind ledger_verify. */
#ifndef LEDGER_VERIFY_H
#define LEDGER_VERIFY_H

#include "ledger_impl.h"

/* Called after each event with the recomputed root of the tree of that
 * size; non-zero stops the scan with LEDGER_ECORRUPT (message set by the
 * callback in the handle's errbuf). */
typedef int (*verify_root_fn)(void *ctx, uint64_t size,
                              const uint8_t root[LEDGER_HASH_BYTES]);

/* Tells whether on_root wants the root of the tree of `size` (with the
 * same ctx). A root costs up to log2(size) hashes, so a scan that needs a
 * few sizes asks only for those. */
typedef bool (*verify_want_fn)(void *ctx, uint64_t size);

/* Check every event, body, index and Merkle node inside txn. */
ledger_err verify_run(ledger_verify_stats *out, ledger *l, MDB_txn *txn,
                      verify_root_fn on_root, void *ctx);

/* verify_run, calling on_root only at the sizes want accepts (every size
 * when want is NULL). */
ledger_err verify_run_at(ledger_verify_stats *out, ledger *l, MDB_txn *txn,
                         verify_want_fn want, verify_root_fn on_root, void *ctx);

#endif
