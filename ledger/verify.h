/* The full scan behind ledger_verify. */
#ifndef LEDGER_VERIFY_H
#define LEDGER_VERIFY_H

#include "ledger_impl.h"

/* Called after each event with the recomputed root of the tree of that
 * size; non-zero stops the scan with LEDGER_ECORRUPT (message set by the
 * callback in the handle's errbuf). */
typedef int (*verify_root_fn)(void *ctx, uint64_t size,
                              const uint8_t root[LEDGER_HASH_BYTES]);

/* Check every event, body, index and Merkle node inside txn. */
ledger_err verify_run(ledger_verify_stats *out, ledger *l, MDB_txn *txn,
                      verify_root_fn on_root, void *ctx);

#endif
