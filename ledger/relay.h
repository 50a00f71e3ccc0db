/* A second thread that works through batches in order, for loops whose
 * work splits into a part that must stay on the calling thread (the LMDB
 * transaction, the order-dependent checks) and a part that need not
 * (parsing, decoding, hashing). The caller owns RELAY_SLOTS batches; it
 * submits slot k % RELAY_SLOTS for the k-th batch, and takes the batches
 * back, processed, in the order it submitted them:
 *
 *   import: submit every slot; the thread reads records into it
 *   verify: fill a slot with stored bytes, submit; the thread decodes and
 *           hashes them; the caller checks them in order
 *
 * When no thread can be started, relay_take runs the work itself, so the
 * result is the same either way. */
#ifndef LEDGER_RELAY_H
#define LEDGER_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RELAY_SLOTS 4u

/* Process the batch in `slot` (0 .. RELAY_SLOTS-1). Runs on the relay's
 * thread (or in relay_take), one batch at a time, in submission order. */
typedef void (*relay_work_fn)(void *ctx, size_t slot);

typedef struct relay relay;

/* A relay calling work(ctx, slot) for each submitted batch, on a second
 * thread when `threaded` and one can be started. NULL when out of memory.
 * Free with relay_stop. */
relay *relay_start(relay_work_fn work, void *ctx, bool threaded);

/* Hand the next batch (slot = batches submitted so far % RELAY_SLOTS) to
 * the worker. At most RELAY_SLOTS may be submitted and not yet taken. */
void relay_submit(relay *r);

/* Wait for the oldest submitted batch not yet taken to be processed, and
 * return its slot; the caller owns it again. Must not be called with
 * nothing submitted. */
size_t relay_take(relay *r);

/* From the work function: whether the caller has a processed batch it
 * has not taken yet, so that more work done on this batch here does not
 * keep it waiting. Always false without a thread. */
bool relay_ahead(relay *r);

/* Submitted batches not yet taken. */
size_t relay_pending(const relay *r);

/* End the thread (after the batch it is working on, if any) and free r
 * (NULL is fine). Batches submitted and not taken are dropped, processed
 * or not. */
void relay_stop(relay *r);

#endif
