/* Error details kept on the handle (STYLE §4): a code travels up unchanged,
 * the words that explain it are written once, where the fault is found. */
#ifndef LEDGER_ERROR_H
#define LEDGER_ERROR_H

#include <stdbool.h>

#include "ledger.h"

#define ERR_MSG_BYTES 1024u

typedef struct errbuf {
	char msg[ERR_MSG_BYTES];
	bool map_full;      /* the failure was MDB_MAP_FULL: grow and replay */
	uint64_t reads;     /* LMDB gets and cursor steps made with this buffer:
	                     * the cost of a call, for tests and the benchmark */
} errbuf;

/* Set the message (printf format) and return code, for `return err_set(...)`. */
ledger_err err_set(errbuf *e, ledger_err code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Clear the message and the map_full flag. */
void err_clear(errbuf *e);

#endif
