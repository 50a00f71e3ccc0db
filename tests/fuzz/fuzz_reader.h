/* Shared body of the record-reader fuzz targets (issue 8): read every
 * record of the input with reader_next, as an import does, and check each
 * one with event_check. A refused record is fine; a crash, a leak, an
 * undefined behaviour or a broken invariant is a bug. */
#ifndef TESTS_FUZZ_READER_H
#define TESTS_FUZZ_READER_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event.h"
#include "limits.h"
#include "reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Abort with a message when an invariant does not hold: the fuzzer and
 * the replay driver both report an abort as a crash. */
#define FUZZ_ASSERT(cond) do { if (!(cond)) { \
	fprintf(stderr, "fuzz invariant failed: %s (%s:%d)\n", #cond, \
	        __FILE__, __LINE__); abort(); } } while (0)

static inline void fuzz_reader_run(ledger_format format, const uint8_t *data,
                                   size_t size)
{
	reader *r = reader_new(format, -1, data, size);
	arena a;
	uint64_t prev_line = 0;
	bool ended = false;

	if (!r)
		return;
	arena_init(&a);
	/* Every record after a CSV header consumes at least one byte, so
	 * size + 2 calls are a bound on a reader that makes progress. */
	for (size_t i = 0; i < size + 2 && !ended; i++) {
		Annals__InputEvent *in = NULL;
		uint64_t line = 0;
		field_err fe;
		memset(&fe, 0, sizeof fe);
		arena_reset(&a);
		reader_status rs = reader_next(r, &in, &line, &a, &fe);
		if (rs == READER_END) {
			ended = true;
			break;
		}
		/* Lines and record numbers only grow: messages name FILE:LINE. */
		FUZZ_ASSERT(line >= 1 && line >= prev_line);
		prev_line = line;
		if (rs == READER_BAD || rs == READER_FAIL) {
			/* A refusal names a field and a reason. */
			FUZZ_ASSERT(memchr(fe.field, 0, sizeof fe.field) != NULL);
			FUZZ_ASSERT(memchr(fe.reason, 0, sizeof fe.reason) != NULL);
			FUZZ_ASSERT(fe.field[0] != '\0' && fe.reason[0] != '\0');
			if (rs == READER_FAIL)
				ended = true;
			continue;
		}
		FUZZ_ASSERT(rs == READER_RECORD && in != NULL);
		event_input ev;
		memset(&fe, 0, sizeof fe);
		if (event_check(&ev, in, &a, &fe)) {
			FUZZ_ASSERT(ev.type != ANNALS__EVENT_TYPE__EVENT_TYPE_UNSPECIFIED);
			if (ev.date.first_day)
				FUZZ_ASSERT(ev.date.first_day <= ev.date.last_day &&
				            ev.date.last_day <= LEDGER_DAY_MAX);
			/* A checked event must pack: the writer hashes it. */
			size_t n = protobuf_c_message_get_packed_size(&ev.norm.base);
			uint8_t *buf = arena_alloc(&a, n ? n : 1);
			FUZZ_ASSERT(buf && protobuf_c_message_pack(&ev.norm.base, buf) == n);
		} else {
			FUZZ_ASSERT(fe.field[0] != '\0' && fe.reason[0] != '\0');
		}
	}
	FUZZ_ASSERT(ended);   /* progress: no endless run of records */
	arena_free(&a);
	reader_free(r);
}

#endif
