/* What a query costs in LMDB reads (ledger_reads): a status reads only its
 * relationship's keys, a bounded number of them as of the newest seq, and
 * a proof O(log n) stored hashes — whatever else the ledger holds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <CUnit/CUnit.h>

#include "ledger.h"

void suite_cost(void);

#define HOT_EVENTS   3000   /* one long relationship */
#define OTHER_EVENTS 20000  /* unrelated events, added twice */

typedef struct cost_ledger {
	char dir[64];
	ledger *l;
} cost_ledger;

static void cost_import(cost_ledger *c, const char *text)
{
	ledger_import_stats st;
	ledger_import_opts o = { .expect_version = -1 };
	CU_ASSERT_EQUAL_FATAL(ledger_import_mem(&st, c->l, text, strlen(text), &o),
	                      LEDGER_OK);
}

/* n events: the hot pair when hot, else spread over other countries and
 * organizations; dates over 1950..2025, some partial. */
static char *events(size_t n, bool hot, unsigned seed)
{
	static const char *const countries[] = { "US", "FR", "DE", "GB", "RU", "CN", "IN", "BR" };
	static const char *const types[] = { "listed", "delisted", "meeting",
		"recognized", "sanctions_imposed", "sanctions_lifted", "statement" };
	size_t cap = n * 200 + 1024, at = 0;
	char *t = malloc(cap);

	CU_ASSERT_FATAL(t != NULL);
	for (size_t i = 0; i < n; i++) {
		unsigned r = (unsigned)rand_r(&seed);
		const char *type = types[r % 7];
		char date[16];
		int y = 1950 + (int)(r / 7 % 76), m = 1 + (int)(r / 600 % 12), d = 1 + (int)(r / 8000 % 28);
		if (r % 20 == 0)
			snprintf(date, sizeof date, "%04d", y);
		else
			snprintf(date, sizeof date, "%04d-%02d-%02d", y, m, d);
		at += (size_t)snprintf(t + at, cap - at,
		      "{\"type\":\"%s\",\"country\":\"%s\",\"organization\":\"%s\","
		      "\"date\":\"%s\"%s}\n", type, hot ? "KZ" : countries[r % 8],
		      hot ? "taliban" : (r % 3 ? "org-a" : "org-b"), date,
		      strstr(type, "listed") ? ",\"list\":\"l1\"" : "");
	}
	return t;
}

static uint64_t status_reads(cost_ledger *c, const char *at, const char *as_of)
{
	ledger_status st;
	ledger_status_query q = { "KZ", "taliban", at, as_of };
	uint64_t before = ledger_reads(c->l);

	CU_ASSERT_EQUAL(ledger_status_get(&st, c->l, &q), LEDGER_OK);
	ledger_status_free(&st);
	return ledger_reads(c->l) - before;
}

static void test_cost_status_reads_only_its_relationship(void)
{
	cost_ledger c;
	static const char *const days[] = { "1949-01-01", "1960-06-15", "1999-12-31",
		"2010-03-01", "2025-12-31", "2030-01-01" };
	uint64_t newest[6], older[6];

	strcpy(c.dir, "/tmp/annals-cost-XXXXXX");
	CU_ASSERT_FATAL(mkdtemp(c.dir) != NULL);
	CU_ASSERT_FATAL(ledger_init(c.dir, NULL, NULL, 0) == LEDGER_OK);
	CU_ASSERT_FATAL(ledger_open(&c.l, c.dir, 0) == LEDGER_OK);
	cost_import(&c, "{\"type\":\"organization\",\"organization\":\"taliban\",\"name\":\"Taliban\"}\n"
	                "{\"type\":\"organization\",\"organization\":\"org-a\",\"name\":\"A\"}\n"
	                "{\"type\":\"organization\",\"organization\":\"org-b\",\"name\":\"B\"}\n");
	char *hot = events(HOT_EVENTS, true, 1), *other = events(OTHER_EVENTS, false, 2);
	cost_import(&c, hot);
	cost_import(&c, other);
	for (int i = 0; i < 6; i++) {
		newest[i] = status_reads(&c, days[i], NULL);
		older[i] = status_reads(&c, days[i], "1000");
		/* As of the newest seq: bucket folds and one month's events. */
		CU_ASSERT(newest[i] < 400);
		/* As of an older seq: the relationship's events, no more. */
		CU_ASSERT(older[i] <= HOT_EVENTS + 50);
	}
	free(other);
	other = events(OTHER_EVENTS, false, 3);
	cost_import(&c, other);
	for (int i = 0; i < 6; i++) {
		uint64_t n = status_reads(&c, days[i], NULL), o = status_reads(&c, days[i], "1000");
		/* Twice the unrelated events, the same reads. */
		CU_ASSERT_EQUAL(n, newest[i]);
		CU_ASSERT_EQUAL(o, older[i]);
		if (n != newest[i] || o != older[i])
			fprintf(stderr, "\n  %s: %llu -> %llu, %llu -> %llu reads\n", days[i],
			        (unsigned long long)newest[i], (unsigned long long)n,
			        (unsigned long long)older[i], (unsigned long long)o);
	}
	/* Proofs: O(log n) reads. */
	ledger_proof p;
	ledger_head h;
	uint64_t most_newest = 0, most_older = 0;
	for (int i = 0; i < 6; i++) {
		most_newest = newest[i] > most_newest ? newest[i] : most_newest;
		most_older = older[i] > most_older ? older[i] : most_older;
	}
	CU_ASSERT_EQUAL(ledger_get_head(&h, c.l), LEDGER_OK);
	uint64_t before = ledger_reads(c.l);
	CU_ASSERT_EQUAL(ledger_prove_inclusion(&p, c.l, h.seq / 3, LEDGER_SIZE_HEAD), LEDGER_OK);
	uint64_t inc = ledger_reads(c.l) - before;
	CU_ASSERT(inc <= 4 * 17);  /* 2^16 > 43,003 events */
	before = ledger_reads(c.l);
	CU_ASSERT_EQUAL(ledger_prove_consistency(&p, c.l, h.seq / 3, LEDGER_SIZE_HEAD), LEDGER_OK);
	uint64_t cons = ledger_reads(c.l) - before;
	CU_ASSERT(cons <= 6 * 17);
	fprintf(stderr, "\n  cost: %llu events; a status of a %d-event relationship "
	        "reads at most %llu records as of the newest seq, %llu as of seq "
	        "1000; inclusion proof %llu reads, consistency %llu\n",
	        (unsigned long long)h.seq, HOT_EVENTS, (unsigned long long)most_newest,
	        (unsigned long long)most_older, (unsigned long long)inc,
	        (unsigned long long)cons);
	free(hot);
	free(other);
	ledger_close(c.l);
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf %s", c.dir);
	CU_ASSERT_EQUAL(system(cmd), 0);
}

void suite_cost(void)
{
	CU_pSuite s = CU_add_suite("cost", NULL, NULL);
	CU_add_test(s, "a status reads only its relationship; proofs O(log n)",
	            test_cost_status_reads_only_its_relationship);
}
