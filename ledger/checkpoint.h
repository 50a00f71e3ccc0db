/* The verifiable log of DESIGN §5 over the stored Merkle tree: roots,
 * signed checkpoints with fork protection (signing.state), proofs and
 * their JSON, offline checks, and backups. checkpoint.c implements the
 * "Verifiable log" calls of ledger.h and the check of stored checkpoints
 * that ledger_verify runs.
 *
 * DIR/signing.state, the last signed tree, is four lines of ASCII text,
 * each ending in '\n', replaced atomically (temporary file, fsync, rename,
 * fsync of DIR) and never edited by hand:
 *
 *   annals signing.state 1          format name and version
 *   origin <origin>                 the ledger's origin
 *   size <N>                        tree size, decimal, no leading zeros
 *   root <64 lower-case hex>        Merkle root of that size
 */
#ifndef LEDGER_CHECKPOINT_H
#define LEDGER_CHECKPOINT_H

#include "ledger_impl.h"
#include "verify.h"

#define CHECKPOINT_STATE_FILE  "signing.state"
#define CHECKPOINT_KEY_FILE    "signing.key"
#define CHECKPOINT_STATE_BYTES_MAX 512u   /* the four lines above with a 255-byte origin */
#define CHECKPOINT_KEY_BYTES_MAX   1024u  /* a signer key file */

/* verify_run (on_root and ctx are passed through), and every stored
 * checkpoint: its key is 8 bytes, its note opens under the stored verifier
 * key, its size is the key and at most the tree size, and its root equals
 * the root recomputed from the events at that size. out->checkpoints
 * counts them. LEDGER_ECORRUPT names the first bad one. */
ledger_err checkpoint_verify_run(ledger_verify_stats *out, ledger *l,
                                 MDB_txn *txn, verify_root_fn on_root,
                                 void *ctx);

#endif
