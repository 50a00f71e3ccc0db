/* Map growth (DESIGN §8): after MDB_MAP_FULL the map is doubled and the
 * command replayed, and the replay keeps the doubled map even when the
 * last committed map was small. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "fixture.h"
#include "ledger.h"

void suite_growth(void);

static char *meetings(size_t from, size_t n)
{
	char *t = malloc(n * 160 + 1);
	size_t at = 0;

	CU_ASSERT_FATAL(t != NULL);
	t[0] = '\0';
	for (size_t i = from; i < from + n; i++)
		at += (size_t)sprintf(t + at, "{\"id\":\"m-%zu\",\"type\":\"meeting\","
		      "\"country\":\"%s\",\"organization\":\"taliban\",\"date\":"
		      "\"19%02zu-01-01\",\"summary\":\"meeting %zu\"}\n",
		      i, i % 2 ? "KZ" : "AF", i % 100, i);
	return t;
}

static void test_growth_replay_keeps_the_doubled_map(void)
{
	fixture f;
	ledger_import_stats st;
	ledger_rebuild_stats rs;
	ledger_verify_stats vs;

	CU_ASSERT_FATAL(fixture_open(&f) == 0);
	CU_ASSERT_EQUAL(fixture_import(&f, "{\"type\":\"organization\",\"organization\":"
	                "\"taliban\",\"name\":\"Taliban\"}\n", NULL), LEDGER_OK);
	/* Commit a map that is barely larger than the data... */
	ledger_set_map_margin(f.l, 64 * 1024);
	char *small = meetings(0, 50);
	CU_ASSERT_EQUAL(fixture_import(&f, small, &st), LEDGER_OK);
	/* ...then outgrow it many times over in one transaction. */
	char *big = meetings(50, 6000);
	CU_ASSERT_EQUAL(fixture_import(&f, big, &st), LEDGER_OK);
	CU_ASSERT(st.replays >= 1);
	CU_ASSERT_EQUAL(st.appended, 6000);
	/* A rebuild that outgrows the map grows it too. */
	ledger_set_map_margin(f.l, 0);
	CU_ASSERT_EQUAL(ledger_rebuild(&rs, f.l), LEDGER_OK);
	CU_ASSERT_TRUE(rs.equal);
	CU_ASSERT_EQUAL(rs.events, 6051);
	CU_ASSERT_EQUAL(ledger_verify(&vs, f.l), LEDGER_OK);
	free(small);
	free(big);
	fixture_close(&f);
}

void suite_growth(void)
{
	CU_pSuite s = CU_add_suite("growth", NULL, fixture_suite_cleanup);
	CU_add_test(s, "a replay keeps the doubled map", test_growth_replay_keeps_the_doubled_map);
}
