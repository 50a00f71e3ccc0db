/* Reader internals shared by reader.c and reader_csv.c. */
#ifndef LEDGER_READER_IMPL_H
#define LEDGER_READER_IMPL_H

#include "reader.h"

struct reader {
	ledger_format format;
	int fd;                 /* < 0: reading from memory */
	char *buf;              /* READER_BUF_BYTES + a line, or the caller's bytes */
	size_t cap, pos, end;
	bool eof, owned;
	uint64_t line;          /* lines (records for protobuf) consumed */
	void *csv;              /* reader_csv.c state */
};

int src_fill(reader *r, size_t want);
bool src_line(reader *r, const char **line, size_t *bytes, bool *too_long,
              bool *read_error);

int reader_csv_init(reader *r);
void reader_csv_free(reader *r);
reader_status reader_csv(reader *r, Annals__InputEvent **out, uint64_t *line,
                         arena *a, field_err *fe);

#endif
