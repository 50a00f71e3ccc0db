/* The import loop: read records, append them in one write transaction, and
 * replay from the start after growing the map on MDB_MAP_FULL (DESIGN §8). */
#ifndef LEDGER_IMPORT_H
#define LEDGER_IMPORT_H

#include "ledger.h"
#include "store.h"
#include "writer.h"

typedef struct import_source {
	int fd;                 /* seekable descriptor, or -1 */
	off_t offset;           /* where the records start in fd */
	const void *data;       /* records in memory when fd < 0 */
	size_t bytes;           /* input size, for the map margin */
} import_source;

/* Append everything src holds, all or nothing. margin: the map margin the
 * caller wants at least (0: derived from the input size); margin_exact
 * sets the map to exactly used + margin before the first pass. */
ledger_err import_run(ledger_import_stats *out, store *s, errbuf *e,
                      const uint8_t secret[WRITER_SECRET_BYTES], size_t margin,
                      bool margin_exact, const import_source *src, const ledger_import_opts *opts);

/* Copy a descriptor that cannot seek into an unlinked temporary file in
 * dir (or $TMPDIR) and return its descriptor at offset 0, or -1 with a
 * message in e. */
int import_spool(int fd, const char *dir, size_t *out_bytes, errbuf *e);

#endif
