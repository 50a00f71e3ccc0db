/* libFuzzer target: the ndjson record reader and event_check (issue 8). */
#include "fuzz_reader.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_reader_run(LEDGER_FORMAT_NDJSON, data, size);
	return 0;
}
