/* Snapshot export failures say what failed (the rows themselves are checked
 * byte for byte by tests/sh/test_formats.sh). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "fixture.h"
#include "keys.h"

void suite_export(void);

static const char example[] =
	"{\"type\":\"organization\",\"organization\":\"taliban\",\"name\":\"Taliban\"}\n"
	"{\"id\":\"kz-1\",\"type\":\"listed\",\"country\":\"KZ\",\"organization\":"
	"\"taliban\",\"date\":\"2005-03-15\",\"list\":\"banned\",\"authority\":"
	"\"Supreme Court\"}\n";

/* A relationship whose stored key is not UTF-8 (a tampered status record)
 * stops the export with a message that names the problem, not errno. */
static void test_export_bad_stored_text(void)
{
	fixture f;
	ledger_import_stats st;
	uint8_t key[KEYS_REL_BYTES_MAX];
	void *head = NULL;
	size_t head_bytes = 0, n = keys_rel(key, "KZ", "taliban");
	char *buf = NULL;
	size_t bytes = 0;
	ledger_export_info info;
	ledger_export_opts o = { .at = "2010-01-01", .format = LEDGER_EXPORT_JSON };

	CU_ASSERT_FATAL(fixture_open(&f) == 0);
	CU_ASSERT_FATAL(fixture_import(&f, example, &st) == LEDGER_OK);
	FILE *m = open_memstream(&buf, &bytes);
	CU_ASSERT_FATAL(m != NULL);
	CU_ASSERT_EQUAL(ledger_export(&info, f.l, &o, m), LEDGER_OK);
	ledger_export_info_free(&info);
	fclose(m);
	CU_ASSERT(buf && strstr(buf, "\"Supreme Court\"") != NULL);
	free(buf);
	buf = NULL;

	CU_ASSERT_FATAL(fixture_db_get(&f, "status", key, n, &head, &head_bytes) == 0);
	key[4 + 3] = 0xff;   /* "tal\xffban" */
	CU_ASSERT_FATAL(fixture_db_put(&f, "status", key, n, head, head_bytes) == 0);
	m = open_memstream(&buf, &bytes);
	CU_ASSERT_FATAL(m != NULL);
	CU_ASSERT_EQUAL(ledger_export(&info, f.l, &o, m), LEDGER_EIO);
	CU_ASSERT(strstr(ledger_errmsg(f.l), "not UTF-8") != NULL);
	CU_ASSERT(strstr(ledger_errmsg(f.l), "Success") == NULL);
	ledger_export_info_free(&info);
	fclose(m);
	free(buf);
	free(head);
	fixture_close(&f);
}

void suite_export(void)
{
	CU_pSuite s = CU_add_suite("export", NULL, fixture_suite_cleanup);
	CU_add_test(s, "a stored text that is not UTF-8 is named",
	            test_export_bad_stored_text);
}
