/* CSV input (DESIGN §4) is built with libcsv in the import-formats issue;
 * until then a CSV import is refused with a clear message. */
#include "reader_impl.h"

int reader_csv_init(reader *r)
{
	r->csv = NULL;
	return 0;
}

void reader_csv_free(reader *r)
{
	(void)r;
}

reader_status reader_csv(reader *r, Annals__InputEvent **out, uint64_t *line,
                         arena *a, field_err *fe)
{
	(void)r; (void)out; (void)a;
	*line = 0;
	field_fail(fe, "format", "CSV input is not available in this build yet; "
	           "convert to NDJSON");
	return READER_FAIL;
}
