/* Input readers (DESIGN §4): NDJSON, CSV and varint-delimited protobuf,
 * read record by record from a descriptor or from memory, never holding the
 * whole input. Each record becomes an annals.InputEvent in an arena. */
#ifndef LEDGER_READER_H
#define LEDGER_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "annals.pb-c.h"
#include "arena.h"
#include "event.h"
#include "ledger.h"

#define READER_BUF_BYTES (256u * 1024u)   /* read(2) size */

typedef enum reader_status {
	READER_RECORD,     /* *out holds a record */
	READER_END,        /* no more records */
	READER_BAD,        /* this record is refused: *fe says why; go on */
	READER_FAIL,       /* the input cannot be read further: *fe says why */
} reader_status;

typedef struct reader reader;

/* A reader over fd from its current offset, or over bytes in memory when
 * fd < 0. Returns NULL when out of memory. */
reader *reader_new(ledger_format format, int fd, const void *data, size_t bytes);
void reader_free(reader *r);

/* The next record. Its line (NDJSON, CSV: the line it starts on) or record
 * number (protobuf) is written to *line. Allocations come from a. */
reader_status reader_next(reader *r, Annals__InputEvent **out, uint64_t *line,
                          arena *a, field_err *fe);

#endif
