/* Projections through the public API only (ledger.h): status, timeline,
 * changes and rebuild (DESIGN §6). The expected answers come from a naive
 * reference fold written here over the list of generated events; nothing
 * of fold.c or index.c is used to compute them. */
#define _GNU_SOURCE
#include <ftw.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <jansson.h>

#include "ledger.h"
#include "rand.h"

/* ---- a ledger in a temporary directory ---- */

typedef struct tledger {
	char dir[64];
	ledger *l;
	char report[4096];
} tledger;

static int rm_entry(const char *path, const struct stat *sb, int flag,
                    struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void t_open(tledger *t)
{
	char why[256] = "";

	memset(t, 0, sizeof *t);
	snprintf(t->dir, sizeof t->dir, "/tmp/annals-projection-XXXXXX");
	CU_ASSERT_PTR_NOT_NULL_FATAL(mkdtemp(t->dir));
	if (ledger_init(t->dir, NULL, why, sizeof why) != LEDGER_OK) {
		fprintf(stderr, "\nledger_init: %s\n", why);
		CU_FAIL_FATAL("ledger_init");
	}
	CU_ASSERT_EQUAL_FATAL(ledger_open(&t->l, t->dir, 0), LEDGER_OK);
}

static void t_close(tledger *t)
{
	ledger_close(t->l);
	t->l = NULL;
	nftw(t->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void collect(void *ctx, const char *message)
{
	tledger *t = ctx;
	size_t n = strlen(t->report);

	snprintf(t->report + n, sizeof t->report - n, "%s\n", message);
}

/* Import NDJSON in one transaction; returns the code. */
static ledger_err t_import(tledger *t, const char *ndjson, ledger_import_stats *st)
{
	ledger_import_opts o = {
		.name = "test", .format = LEDGER_FORMAT_NDJSON, .report = collect,
		.report_ctx = t, .expect_version = -1,
	};
	ledger_import_stats s;
	ledger_err err;

	t->report[0] = '\0';
	err = ledger_import_mem(st ? st : &s, t->l, ndjson, strlen(ndjson), &o);
	if (err != LEDGER_OK)
		fprintf(stderr, "\nimport refused (%s): %s%s\n", ledger_strerror(err),
		        t->report, ledger_errmsg(t->l));
	return err;
}

#define IMPORT(t, text) CU_ASSERT_EQUAL_FATAL(t_import((t), (text), NULL), LEDGER_OK)

static ledger_err t_status(ledger_status *st, tledger *t, const char *c,
                           const char *o, const char *at, const char *as_of)
{
	ledger_status_query q = { c, o, at, as_of };

	return ledger_status_get(st, t->l, &q);
}

/* The status, which must be answered. */
static ledger_status get(tledger *t, const char *c, const char *o,
                         const char *at, const char *as_of)
{
	ledger_status st;
	ledger_err err = t_status(&st, t, c, o, at, as_of);

	if (err != LEDGER_OK)
		fprintf(stderr, "\nstatus %s %s at %s as of %s: %s: %s\n", c, o,
		        at ? at : "-", as_of ? as_of : "-", ledger_strerror(err),
		        ledger_errmsg(t->l));
	CU_ASSERT_EQUAL_FATAL(err, LEDGER_OK);
	return st;
}

static uint64_t head(tledger *t)
{
	ledger_head h;

	CU_ASSERT_EQUAL_FATAL(ledger_get_head(&h, t->l), LEDGER_OK);
	return h.seq;
}

static uint64_t seq_of(tledger *t, const char *id)
{
	uint64_t seq = 0;

	CU_ASSERT_EQUAL(ledger_find_id(&seq, t->l, id), LEDGER_OK);
	return seq;
}

static char *json_of(const ledger_status *st)
{
	char *s = ledger_status_json(st);

	CU_ASSERT_PTR_NOT_NULL_FATAL(s);
	return s;
}

/* Two statuses say exactly the same (as their JSON, which has every
 * field). */
static bool same_status(const ledger_status *a, const ledger_status *b)
{
	char *x = json_of(a), *y = json_of(b);
	bool same = strcmp(x, y) == 0;

	if (!same)
		fprintf(stderr, "\n  before: %s\n  after:  %s\n", x, y);
	free(x);
	free(y);
	return same;
}

static const char *u64(char buf[24], uint64_t v)
{
	snprintf(buf, 24, "%llu", (unsigned long long)v);
	return buf;
}

#define ORG_TALIBAN \
	"{\"id\":\"org-taliban\",\"type\":\"organization\",\"organization\":\"taliban\"," \
	"\"name\":\"Taliban\",\"aliases\":[\"Islamic Emirate of Afghanistan\"," \
	"\"Islamic Emirate\"]}\n"

/* ---- every event type ---- */

static void test_projection_every_type(void)
{
	tledger t;
	ledger_status st;

	t_open(&t);
	IMPORT(&t, ORG_TALIBAN
	       "{\"id\":\"a\",\"type\":\"listed\",\"country\":\"KZ\",\"organization\":\"taliban\",\"date\":\"2001-01-01\",\"list\":\"fto\",\"authority\":\"Court\"}\n"
	       "{\"id\":\"b\",\"type\":\"recognized\",\"country\":\"KZ\",\"organization\":\"taliban\",\"date\":\"2002-01-01\"}\n"
	       "{\"id\":\"c\",\"type\":\"relations_established\",\"country\":\"KZ\",\"organization\":\"taliban\",\"date\":\"2003-01-01\"}\n"
	       "{\"id\":\"d\",\"type\":\"mission_opened\",\"country\":\"KZ\",\"organization\":\"taliban\",\"date\":\"2004-01-01\"}\n"
	       "{\"id\":\"e\",\"type\":\"sanctions_imposed\",\"country\":\"KZ\",\"organization\":\"taliban\",\"date\":\"2005-01-01\"}\n"
	       "{\"id\":\"f\",\"type\":\"meeting\",\"country\":\"KZ\",\"organization\":\"taliban\",\"date\":\"2006-01-01\"}\n"
	       "{\"id\":\"g\",\"type\":\"agreement_signed\",\"country\":\"KZ\",\"organization\":\"taliban\",\"date\":\"2007-01-01\"}\n"
	       "{\"id\":\"h\",\"type\":\"statement\",\"country\":\"KZ\",\"organization\":\"taliban\",\"date\":\"2008-01-01\"}\n"
	       "{\"id\":\"i\",\"type\":\"delisted\",\"country\":\"KZ\",\"organization\":\"taliban\",\"date\":\"2011-01-01\",\"list\":\"fto\"}\n"
	       "{\"id\":\"j\",\"type\":\"recognition_withdrawn\",\"country\":\"KZ\",\"organization\":\"taliban\",\"date\":\"2012-01-01\"}\n"
	       "{\"id\":\"k\",\"type\":\"relations_suspended\",\"country\":\"KZ\",\"organization\":\"taliban\",\"date\":\"2013-01-01\"}\n"
	       "{\"id\":\"l\",\"type\":\"mission_closed\",\"country\":\"KZ\",\"organization\":\"taliban\",\"date\":\"2014-01-01\"}\n"
	       "{\"id\":\"m\",\"type\":\"sanctions_lifted\",\"country\":\"KZ\",\"organization\":\"taliban\",\"date\":\"2015-01-01\"}\n"
	       "{\"id\":\"n\",\"type\":\"meeting\",\"country\":\"KZ\",\"organization\":\"taliban\",\"date\":\"2016-05\"}\n");

	/* Before anything: the empty status, but the version counts all. */
	st = get(&t, "KZ", "taliban", "2000-12-31", NULL);
	CU_ASSERT_STRING_EQUAL(st.country, "KZ");
	CU_ASSERT_STRING_EQUAL(st.organization, "taliban");
	CU_ASSERT_STRING_EQUAL(st.at, "2000-12-31");
	CU_ASSERT_EQUAL(st.as_of, 15);
	CU_ASSERT_FALSE(st.listed);
	CU_ASSERT_EQUAL(st.lists_count, 0);
	CU_ASSERT_STRING_EQUAL(st.recognition.state, "none");
	CU_ASSERT_STRING_EQUAL(st.recognition.since, "");
	CU_ASSERT_EQUAL(st.recognition.seq, 0);
	CU_ASSERT_STRING_EQUAL(st.relations.state, "none");
	CU_ASSERT_STRING_EQUAL(st.mission.state, "none");
	CU_ASSERT_STRING_EQUAL(st.sanctions.state, "none");
	CU_ASSERT_EQUAL(st.meetings, 0);
	CU_ASSERT_STRING_EQUAL(st.last_meeting, "");
	CU_ASSERT_EQUAL(st.last_change_seq, 0);
	CU_ASSERT_PTR_NULL(st.last_change_type);
	CU_ASSERT_TRUE(st.certain);
	CU_ASSERT_EQUAL(st.version, 14);
	ledger_status_free(&st);

	/* listed: on the list with since, authority and seq. */
	st = get(&t, "KZ", "taliban", "2001-01-01", NULL);
	CU_ASSERT_TRUE(st.listed);
	CU_ASSERT_EQUAL_FATAL(st.lists_count, 1);
	CU_ASSERT_STRING_EQUAL(st.lists[0].list, "fto");
	CU_ASSERT_STRING_EQUAL(st.lists[0].since, "2001-01-01");
	CU_ASSERT_STRING_EQUAL(st.lists[0].authority, "Court");
	CU_ASSERT_EQUAL(st.lists[0].seq, 2);
	CU_ASSERT_EQUAL(st.last_change_seq, 2);
	CU_ASSERT_STRING_EQUAL(st.last_change_type, "listed");
	CU_ASSERT_STRING_EQUAL(st.last_change_date, "2001-01-01");
	ledger_status_free(&st);

	/* The four axes and a meeting, each from its own date. */
	st = get(&t, "KZ", "taliban", "2006-01-01", NULL);
	CU_ASSERT_STRING_EQUAL(st.recognition.state, "recognized");
	CU_ASSERT_STRING_EQUAL(st.recognition.since, "2002-01-01");
	CU_ASSERT_EQUAL(st.recognition.seq, 3);
	CU_ASSERT_STRING_EQUAL(st.relations.state, "established");
	CU_ASSERT_STRING_EQUAL(st.relations.since, "2003-01-01");
	CU_ASSERT_EQUAL(st.relations.seq, 4);
	CU_ASSERT_STRING_EQUAL(st.mission.state, "open");
	CU_ASSERT_EQUAL(st.mission.seq, 5);
	CU_ASSERT_STRING_EQUAL(st.sanctions.state, "imposed");
	CU_ASSERT_EQUAL(st.sanctions.seq, 6);
	CU_ASSERT_EQUAL(st.meetings, 1);
	CU_ASSERT_STRING_EQUAL(st.last_meeting, "2006-01-01");
	CU_ASSERT_EQUAL(st.last_change_seq, 7);
	CU_ASSERT_STRING_EQUAL(st.last_change_type, "meeting");
	ledger_status_free(&st);

	/* agreement_signed and statement: no change, not the last change. */
	st = get(&t, "KZ", "taliban", "2010-12-31", NULL);
	CU_ASSERT_EQUAL(st.last_change_seq, 7);
	CU_ASSERT_STRING_EQUAL(st.last_change_type, "meeting");
	CU_ASSERT_TRUE(st.listed);
	ledger_status_free(&st);

	/* The reverse of each. */
	st = get(&t, "KZ", "taliban", "2015-01-01", NULL);
	CU_ASSERT_FALSE(st.listed);
	CU_ASSERT_EQUAL(st.lists_count, 0);
	CU_ASSERT_STRING_EQUAL(st.recognition.state, "withdrawn");
	CU_ASSERT_STRING_EQUAL(st.recognition.since, "2012-01-01");
	CU_ASSERT_EQUAL(st.recognition.seq, 11);
	CU_ASSERT_STRING_EQUAL(st.relations.state, "suspended");
	CU_ASSERT_EQUAL(st.relations.seq, 12);
	CU_ASSERT_STRING_EQUAL(st.mission.state, "closed");
	CU_ASSERT_EQUAL(st.mission.seq, 13);
	CU_ASSERT_STRING_EQUAL(st.sanctions.state, "lifted");
	CU_ASSERT_STRING_EQUAL(st.sanctions.since, "2015-01-01");
	CU_ASSERT_EQUAL(st.sanctions.seq, 14);
	CU_ASSERT_STRING_EQUAL(st.last_change_type, "sanctions_lifted");
	CU_ASSERT_TRUE(st.certain);
	ledger_status_free(&st);

	/* A meeting dated by month: uncertain inside it, certain on its end. */
	st = get(&t, "KZ", "taliban", "2016-05-01", NULL);
	CU_ASSERT_EQUAL(st.meetings, 2);
	CU_ASSERT_STRING_EQUAL(st.last_meeting, "2016-05");
	CU_ASSERT_FALSE(st.certain);
	ledger_status_free(&st);
	st = get(&t, "KZ", "taliban", "2016-05-31", NULL);
	CU_ASSERT_TRUE(st.certain);
	ledger_status_free(&st);

	/* Another country, same organization: nothing. */
	st = get(&t, "US", "taliban", "2016-05-31", NULL);
	CU_ASSERT_EQUAL(st.version, 0);
	CU_ASSERT_EQUAL(st.last_change_seq, 0);
	CU_ASSERT_FALSE(st.listed);
	ledger_status_free(&st);
	t_close(&t);
}

static void test_projection_repeats_keep_since(void)
{
	tledger t;
	ledger_status st;

	t_open(&t);
	IMPORT(&t, ORG_TALIBAN
	       "{\"id\":\"a\",\"type\":\"listed\",\"country\":\"US\",\"organization\":\"taliban\",\"date\":\"2002\",\"list\":\"fto\",\"authority\":\"State\"}\n"
	       "{\"id\":\"b\",\"type\":\"listed\",\"country\":\"US\",\"organization\":\"taliban\",\"date\":\"2003-05-05\",\"list\":\"fto\",\"authority\":\"Congress\"}\n"
	       "{\"id\":\"c\",\"type\":\"listed\",\"country\":\"US\",\"organization\":\"taliban\",\"date\":\"2003-05-05\",\"list\":\"1988-sanctions\"}\n"
	       "{\"id\":\"d\",\"type\":\"sanctions_imposed\",\"country\":\"US\",\"organization\":\"taliban\",\"date\":\"2001\"}\n"
	       "{\"id\":\"e\",\"type\":\"sanctions_imposed\",\"country\":\"US\",\"organization\":\"taliban\",\"date\":\"2004\"}\n");
	st = get(&t, "US", "taliban", "2010-01-01", NULL);
	CU_ASSERT_EQUAL_FATAL(st.lists_count, 2);
	/* Sorted by list name. */
	CU_ASSERT_STRING_EQUAL(st.lists[0].list, "1988-sanctions");
	CU_ASSERT_STRING_EQUAL(st.lists[0].authority, "");
	CU_ASSERT_EQUAL(st.lists[0].seq, 4);
	CU_ASSERT_STRING_EQUAL(st.lists[1].list, "fto");
	CU_ASSERT_STRING_EQUAL(st.lists[1].since, "2002");
	CU_ASSERT_STRING_EQUAL(st.lists[1].authority, "State");
	CU_ASSERT_EQUAL(st.lists[1].seq, 2);
	CU_ASSERT_STRING_EQUAL(st.sanctions.since, "2001");
	CU_ASSERT_EQUAL(st.sanctions.seq, 5);
	/* The repeat is still the last change. */
	CU_ASSERT_EQUAL(st.last_change_seq, 6);
	ledger_status_free(&st);
	t_close(&t);
}

/* ---- retractions, late events, same day ---- */

static void test_projection_retraction_after_as_of(void)
{
	tledger t;
	ledger_status before, again, now;
	char s[24];

	t_open(&t);
	IMPORT(&t, ORG_TALIBAN
	       "{\"id\":\"l\",\"type\":\"listed\",\"country\":\"KZ\",\"organization\":\"taliban\",\"date\":\"2005?\",\"list\":\"banned-organizations\"}\n"
	       "{\"id\":\"m\",\"type\":\"meeting\",\"country\":\"KZ\",\"organization\":\"taliban\",\"date\":\"2023-12\"}\n");
	before = get(&t, "KZ", "taliban", "2024-01-01", u64(s, 3));
	CU_ASSERT_EQUAL(before.meetings, 1);
	CU_ASSERT_EQUAL(before.version, 2);
	IMPORT(&t, "{\"id\":\"r\",\"type\":\"retraction\",\"retracts\":\"m\",\"reason\":\"wrong month\"}\n");
	CU_ASSERT_EQUAL(seq_of(&t, "r"), 4);

	/* The earlier answer does not change. */
	again = get(&t, "KZ", "taliban", "2024-01-01", u64(s, 3));
	CU_ASSERT_TRUE(same_status(&before, &again));
	CU_ASSERT_EQUAL(again.as_of, 3);
	ledger_status_free(&again);

	/* As of the retraction: the meeting is gone and the version counts
	 * the retraction. */
	now = get(&t, "KZ", "taliban", "2024-01-01", NULL);
	CU_ASSERT_EQUAL(now.as_of, 4);
	CU_ASSERT_EQUAL(now.meetings, 0);
	CU_ASSERT_STRING_EQUAL(now.last_meeting, "");
	CU_ASSERT_EQUAL(now.last_change_seq, 2);
	CU_ASSERT_EQUAL(now.version, 3);
	CU_ASSERT_TRUE(now.listed);
	CU_ASSERT_TRUE(now.certain);
	ledger_status_free(&now);
	now = get(&t, "KZ", "taliban", "2024-01-01", u64(s, 4));
	CU_ASSERT_EQUAL(now.meetings, 0);
	ledger_status_free(&now);

	/* Retracting the listing too: nothing folds, certain at any day. */
	IMPORT(&t, "{\"type\":\"retraction\",\"retracts\":\"l\",\"reason\":\"no source\"}\n");
	now = get(&t, "KZ", "taliban", "2005-06-01", NULL);
	CU_ASSERT_FALSE(now.listed);
	CU_ASSERT_TRUE(now.certain);
	CU_ASSERT_EQUAL(now.last_change_seq, 0);
	CU_ASSERT_EQUAL(now.version, 4);
	ledger_status_free(&now);
	again = get(&t, "KZ", "taliban", "2024-01-01", u64(s, 3));
	CU_ASSERT_TRUE(same_status(&before, &again));
	ledger_status_free(&again);
	ledger_status_free(&before);
	t_close(&t);
}

static void test_projection_late_event_early_date(void)
{
	tledger t;
	ledger_status st;
	char s[24];

	t_open(&t);
	IMPORT(&t, ORG_TALIBAN
	       "{\"id\":\"a\",\"type\":\"meeting\",\"country\":\"KZ\",\"organization\":\"taliban\",\"date\":\"2023-12-01\"}\n");
	IMPORT(&t, "{\"id\":\"b\",\"type\":\"sanctions_imposed\",\"country\":\"KZ\",\"organization\":\"taliban\",\"date\":\"1999\"}\n");
	CU_ASSERT_EQUAL(seq_of(&t, "b"), 3);
	st = get(&t, "KZ", "taliban", "2000-01-01", NULL);
	CU_ASSERT_STRING_EQUAL(st.sanctions.state, "imposed");
	CU_ASSERT_STRING_EQUAL(st.sanctions.since, "1999");
	CU_ASSERT_EQUAL(st.sanctions.seq, 3);
	CU_ASSERT_EQUAL(st.last_change_seq, 3);
	CU_ASSERT_TRUE(st.certain);
	ledger_status_free(&st);
	/* Inside 1999: folded, but uncertain. */
	st = get(&t, "KZ", "taliban", "1999-01-01", NULL);
	CU_ASSERT_STRING_EQUAL(st.sanctions.state, "imposed");
	CU_ASSERT_FALSE(st.certain);
	ledger_status_free(&st);
	st = get(&t, "KZ", "taliban", "1998-12-31", NULL);
	CU_ASSERT_STRING_EQUAL(st.sanctions.state, "none");
	CU_ASSERT_TRUE(st.certain);
	ledger_status_free(&st);
	/* The last change is the last in date order, not in seq order. */
	st = get(&t, "KZ", "taliban", "2024-01-01", NULL);
	CU_ASSERT_EQUAL(st.last_change_seq, 2);
	CU_ASSERT_STRING_EQUAL(st.last_change_type, "meeting");
	ledger_status_free(&st);
	/* As of seq 2 the ledger did not know. */
	st = get(&t, "KZ", "taliban", "2000-01-01", u64(s, 2));
	CU_ASSERT_STRING_EQUAL(st.sanctions.state, "none");
	CU_ASSERT_EQUAL(st.version, 1);
	ledger_status_free(&st);
	t_close(&t);
}

static void test_projection_same_day(void)
{
	tledger t;
	ledger_status st;

	t_open(&t);
	/* Listed then delisted on one day, in separate transactions; and
	 * the reverse for another list, recorded in the other order. */
	IMPORT(&t, ORG_TALIBAN
	       "{\"id\":\"a\",\"type\":\"listed\",\"country\":\"FR\",\"organization\":\"taliban\",\"date\":\"2020-03-03\",\"list\":\"one\"}\n"
	       "{\"id\":\"b\",\"type\":\"delisted\",\"country\":\"FR\",\"organization\":\"taliban\",\"date\":\"2020-03-03\",\"list\":\"two\"}\n");
	IMPORT(&t, "{\"id\":\"c\",\"type\":\"delisted\",\"country\":\"FR\",\"organization\":\"taliban\",\"date\":\"2020-03-03\",\"list\":\"one\"}\n"
	       "{\"id\":\"d\",\"type\":\"listed\",\"country\":\"FR\",\"organization\":\"taliban\",\"date\":\"2020-03-03\",\"list\":\"two\"}\n"
	       "{\"id\":\"e\",\"type\":\"recognized\",\"country\":\"FR\",\"organization\":\"taliban\",\"date\":\"2020-03\"}\n");
	IMPORT(&t, "{\"id\":\"f\",\"type\":\"recognition_withdrawn\",\"country\":\"FR\",\"organization\":\"taliban\",\"date\":\"2020-03-01\"}\n");
	st = get(&t, "FR", "taliban", "2020-03-03", NULL);
	CU_ASSERT_EQUAL_FATAL(st.lists_count, 1);
	CU_ASSERT_STRING_EQUAL(st.lists[0].list, "two");
	CU_ASSERT_EQUAL(st.lists[0].seq, 5);
	/* 2020-03 (seq 6) and 2020-03-01 (seq 7) start on the same day: seq
	 * order, so withdrawn; uncertain because March is not over. */
	CU_ASSERT_STRING_EQUAL(st.recognition.state, "withdrawn");
	CU_ASSERT_EQUAL(st.recognition.seq, 7);
	CU_ASSERT_EQUAL(st.last_change_seq, 5);
	CU_ASSERT_FALSE(st.certain);
	ledger_status_free(&st);
	st = get(&t, "FR", "taliban", "2020-03-02", NULL);
	CU_ASSERT_FALSE(st.listed);
	CU_ASSERT_EQUAL(st.last_change_seq, 7);
	ledger_status_free(&st);
	t_close(&t);
}

static void test_projection_redaction_counts(void)
{
	tledger t;
	ledger_status st;

	t_open(&t);
	IMPORT(&t, ORG_TALIBAN
	       "{\"id\":\"a\",\"type\":\"listed\",\"country\":\"DE\",\"organization\":\"taliban\",\"date\":\"2020\",\"list\":\"x\",\"summary\":\"private\"}\n"
	       "{\"id\":\"b\",\"type\":\"redaction\",\"redacts\":\"a\",\"reason\":\"court order\"}\n");
	st = get(&t, "DE", "taliban", "2021-01-01", NULL);
	/* The redaction removes a body, not the event from the status. */
	CU_ASSERT_TRUE(st.listed);
	CU_ASSERT_EQUAL(st.version, 2);
	CU_ASSERT_EQUAL(st.last_change_seq, 2);
	ledger_status_free(&st);
	t_close(&t);
}

/* ---- the Kazakhstan example ---- */

static char *read_example(void)
{
	const char *dir = getenv("ANNALS_SRCDIR");
	char path[512];
	FILE *f;
	char *buf;
	long n;

	snprintf(path, sizeof path, "%s/docs/examples/kazakhstan-taliban.ndjson",
	         dir && *dir ? dir : ".");
	f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "\ncannot open %s (run from the source tree or set "
		        "ANNALS_SRCDIR)\n", path);
		return NULL;
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (buf)
		buf[n] = '\0';
	fclose(f);
	return buf;
}

static void test_projection_kazakhstan(void)
{
	tledger t;
	ledger_status st, st2;
	char *text = read_example();

	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	t_open(&t);
	IMPORT(&t, text);
	free(text);

	st = get(&t, "KZ", "taliban", "2023-12-28", NULL);
	CU_ASSERT_TRUE(st.listed);
	CU_ASSERT_EQUAL_FATAL(st.lists_count, 1);
	CU_ASSERT_STRING_EQUAL(st.lists[0].list, "banned-organizations");
	CU_ASSERT_STRING_EQUAL(st.lists[0].since, "2005?");
	CU_ASSERT_STRING_EQUAL(st.lists[0].authority, "Supreme Court of Kazakhstan");
	CU_ASSERT_EQUAL(st.lists[0].seq, 2);
	CU_ASSERT_EQUAL(st.meetings, 1);
	CU_ASSERT_STRING_EQUAL(st.last_meeting, "2023-12");
	CU_ASSERT_FALSE(st.certain);       /* the meeting's month is not over */
	CU_ASSERT_EQUAL(st.last_change_seq, 4);
	CU_ASSERT_EQUAL(st.version, 4);
	CU_ASSERT_EQUAL(st.as_of, 5);
	ledger_status_free(&st);

	st = get(&t, "KZ", "taliban", "2023-12-29", NULL);
	CU_ASSERT_FALSE(st.listed);
	CU_ASSERT_EQUAL(st.lists_count, 0);
	CU_ASSERT_EQUAL(st.last_change_seq, 3);
	CU_ASSERT_STRING_EQUAL(st.last_change_type, "delisted");
	CU_ASSERT_STRING_EQUAL(st.last_change_date, "2023-12-29");
	CU_ASSERT_FALSE(st.certain);
	ledger_status_free(&st);

	/* docs/STATUS.md: uncertain inside 2005, certain from 2006 and after
	 * the meeting's month. */
	st = get(&t, "KZ", "taliban", "2005-06-01", NULL);
	CU_ASSERT_TRUE(st.listed);
	CU_ASSERT_FALSE(st.certain);
	ledger_status_free(&st);
	st = get(&t, "KZ", "taliban", "2004-12-31", NULL);
	CU_ASSERT_FALSE(st.listed);
	CU_ASSERT_TRUE(st.certain);
	ledger_status_free(&st);
	st = get(&t, "KZ", "taliban", "2006-01-01", NULL);
	CU_ASSERT_TRUE(st.listed);
	CU_ASSERT_TRUE(st.certain);
	ledger_status_free(&st);
	st = get(&t, "KZ", "taliban", "2024-01-01", NULL);
	CU_ASSERT_FALSE(st.listed);
	CU_ASSERT_TRUE(st.certain);
	ledger_status_free(&st);

	/* Names: the country by name and alpha-3, the organization by alias,
	 * case-insensitive, give the same answer. */
	st = get(&t, "KZ", "taliban", "2023-12-28", NULL);
	st2 = get(&t, "Kazakhstan", "islamic emirate", "2023-12-28", NULL);
	CU_ASSERT_TRUE(same_status(&st, &st2));
	ledger_status_free(&st2);
	st2 = get(&t, "KAZ", "TALIBAN", "2023-12-28", NULL);
	CU_ASSERT_TRUE(same_status(&st, &st2));
	ledger_status_free(&st2);
	ledger_status_free(&st);
	t_close(&t);
}

/* ---- as-of ---- */

struct rec_at {
	uint64_t us;
};

static int take_recorded_at(void *ctx, const ledger_event_view *ev)
{
	((struct rec_at *)ctx)->us = ev->recorded_at_us;
	return 0;
}

static uint64_t recorded_at(tledger *t, uint64_t seq)
{
	struct rec_at r = { 0 };

	CU_ASSERT_EQUAL(ledger_get(t->l, seq, take_recorded_at, &r), LEDGER_OK);
	return r.us;
}

/* RFC 3339 of microseconds since 1970, UTC, or shifted to +05:30. */
static void rfc3339(char out[96], int64_t us, bool offset)
{
	time_t s = (time_t)(us / 1000000) + (offset ? 5 * 3600 + 30 * 60 : 0);
	struct tm tm;

	gmtime_r(&s, &tm);
	snprintf(out, 96, "%04d-%02d-%02dT%02d:%02d:%02d.%06lld%s",
	         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	         tm.tm_min, tm.tm_sec, (long long)(us % 1000000),
	         offset ? "+05:30" : "Z");
}

static void test_projection_as_of_time(void)
{
	tledger t;
	ledger_status st;
	char when[96];
	uint64_t t1, t2;

	t_open(&t);
	IMPORT(&t, ORG_TALIBAN
	       "{\"id\":\"a\",\"type\":\"listed\",\"country\":\"KZ\",\"organization\":\"taliban\",\"date\":\"2005\",\"list\":\"l\"}\n");
	t1 = recorded_at(&t, 2);
	/* Make sure the next transaction is recorded at a later microsecond. */
	while (1) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		if ((uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u > t1 + 2)
			break;
	}
	IMPORT(&t, "{\"id\":\"b\",\"type\":\"delisted\",\"country\":\"KZ\",\"organization\":\"taliban\",\"date\":\"2023-12-29\",\"list\":\"l\"}\n"
	       "{\"id\":\"c\",\"type\":\"meeting\",\"country\":\"KZ\",\"organization\":\"taliban\",\"date\":\"2023-12-29\"}\n");
	t2 = recorded_at(&t, 3);
	CU_ASSERT_EQUAL(head(&t), 4);
	CU_ASSERT(t2 > t1);
	CU_ASSERT_EQUAL(recorded_at(&t, 4), t2);

	/* Exactly the first transaction's time: as of its last seq. */
	rfc3339(when, (int64_t)t1, false);
	st = get(&t, "KZ", "taliban", "2024-01-01", when);
	CU_ASSERT_EQUAL(st.as_of, 2);
	CU_ASSERT_TRUE(st.listed);
	CU_ASSERT_EQUAL(st.version, 1);
	ledger_status_free(&st);
	/* The same instant in another zone. */
	rfc3339(when, (int64_t)t1, true);
	st = get(&t, "KZ", "taliban", "2024-01-01", when);
	CU_ASSERT_EQUAL(st.as_of, 2);
	ledger_status_free(&st);
	/* Just before it: nothing recorded yet. */
	rfc3339(when, (int64_t)t1 - 1, false);
	st = get(&t, "KZ", "taliban", "2024-01-01", when);
	CU_ASSERT_EQUAL(st.as_of, 0);
	CU_ASSERT_EQUAL(st.version, 0);
	CU_ASSERT_FALSE(st.listed);
	ledger_status_free(&st);
	/* Between the two, and at the second. */
	rfc3339(when, (int64_t)t2 - 1, false);
	st = get(&t, "KZ", "taliban", "2024-01-01", when);
	CU_ASSERT_EQUAL(st.as_of, 2);
	ledger_status_free(&st);
	rfc3339(when, (int64_t)t2, false);
	st = get(&t, "KZ", "taliban", "2024-01-01", when);
	CU_ASSERT_EQUAL(st.as_of, 4);
	CU_ASSERT_FALSE(st.listed);
	CU_ASSERT_EQUAL(st.version, 3);
	ledger_status_free(&st);
	/* Long before the ledger, and far ahead. */
	st = get(&t, "KZ", "taliban", "2024-01-01", "1969-12-31T23:59:59Z");
	CU_ASSERT_EQUAL(st.as_of, 0);
	ledger_status_free(&st);
	st = get(&t, "KZ", "taliban", "2024-01-01", "9999-12-31T23:59:59Z");
	CU_ASSERT_EQUAL(st.as_of, 4);
	ledger_status_free(&st);
	/* As of seq 0: nothing. */
	st = get(&t, "KZ", "taliban", "2024-01-01", "0");
	CU_ASSERT_EQUAL(st.as_of, 0);
	CU_ASSERT_EQUAL(st.version, 0);
	ledger_status_free(&st);
	t_close(&t);
}

static void test_projection_errors(void)
{
	tledger t;
	ledger_status st;

	t_open(&t);
	IMPORT(&t, ORG_TALIBAN
	       "{\"type\":\"organization\",\"organization\":\"emirate-party\",\"name\":\"Emirate Party\",\"aliases\":[\"Islamic Emirate\"]}\n"
	       "{\"id\":\"a\",\"type\":\"listed\",\"country\":\"KZ\",\"organization\":\"taliban\",\"date\":\"2005\",\"list\":\"l\"}\n");
	static const char *bad_days[] = {
		"2023-13-01", "2023-02-30", "2023-12", "2023", "2023-12-XX",
		"2023-12-01?", "23-12-01", "", "yesterday", "10000-01-01",
		"0000-01-01",
	};
	for (size_t i = 0; i < sizeof bad_days / sizeof bad_days[0]; i++) {
		CU_ASSERT_EQUAL(t_status(&st, &t, "KZ", "taliban", bad_days[i], NULL),
		                LEDGER_EUSAGE);
		CU_ASSERT(strlen(ledger_errmsg(t.l)) > 0);
	}
	static const char *bad_as_of[] = {
		"4", "99999999999999999999", "-1", "2023-12-01", "2023-12-01T00:00:00",
		"seq", "",
	};
	for (size_t i = 0; i < sizeof bad_as_of / sizeof bad_as_of[0]; i++)
		if (t_status(&st, &t, "KZ", "taliban", "2024-01-01", bad_as_of[i]) != LEDGER_EUSAGE) {
			CU_FAIL("a bad as-of was not a usage error");
			fprintf(stderr, "\n  as-of '%s'\n", bad_as_of[i]);
		}
	CU_ASSERT_EQUAL(t_status(&st, &t, "XQ", "taliban", "2024-01-01", NULL), LEDGER_ENOTFOUND);
	CU_ASSERT_PTR_NOT_NULL(strstr(ledger_errmsg(t.l), "XQ"));
	CU_ASSERT_EQUAL(t_status(&st, &t, "KZ", "hezbollah", "2024-01-01", NULL), LEDGER_ENOTFOUND);
	CU_ASSERT_EQUAL(t_status(&st, &t, "KZ", "islamic emirate", "2024-01-01", NULL), LEDGER_EUSAGE);
	CU_ASSERT_PTR_NOT_NULL(strstr(ledger_errmsg(t.l), "taliban"));
	CU_ASSERT_PTR_NOT_NULL(strstr(ledger_errmsg(t.l), "emirate-party"));
	/* A day at the ends of the calendar is fine. */
	st = get(&t, "KZ", "taliban", "0001-01-01", NULL);
	CU_ASSERT_FALSE(st.listed);
	ledger_status_free(&st);
	st = get(&t, "KZ", "taliban", "9999-12-31", NULL);
	CU_ASSERT_TRUE(st.listed);
	ledger_status_free(&st);
	/* Without --at: today, which is after 2005. */
	st = get(&t, "KZ", "taliban", NULL, NULL);
	CU_ASSERT_TRUE(st.listed);
	CU_ASSERT_EQUAL(strlen(st.at), 10);
	ledger_status_free(&st);
	t_close(&t);
}

static void test_projection_status_json(void)
{
	tledger t;
	ledger_status st;
	json_error_t jerr;
	json_t *o, *x;
	char *text;

	t_open(&t);
	IMPORT(&t, ORG_TALIBAN
	       "{\"id\":\"a\",\"type\":\"listed\",\"country\":\"KZ\",\"organization\":\"taliban\",\"date\":\"2005?\",\"list\":\"l\",\"authority\":\"Court\"}\n"
	       "{\"id\":\"b\",\"type\":\"meeting\",\"country\":\"KZ\",\"organization\":\"taliban\",\"date\":\"2023-12\"}\n");
	st = get(&t, "KZ", "taliban", "2023-12-28", NULL);
	text = json_of(&st);
	o = json_loads(text, 0, &jerr);
	CU_ASSERT_PTR_NOT_NULL_FATAL(o);
	CU_ASSERT_EQUAL(json_object_size(o), 14);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "country")), "KZ");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "organization")), "taliban");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(o, "at")), "2023-12-28");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(o, "as_of")), 3);
	CU_ASSERT_TRUE(json_is_true(json_object_get(o, "listed")));
	CU_ASSERT_TRUE(json_is_false(json_object_get(o, "certain")));
	x = json_array_get(json_object_get(o, "lists"), 0);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(x, "list")), "l");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(x, "since")), "2005?");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(x, "authority")), "Court");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(x, "seq")), 2);
	static const char *axes[] = { "recognition", "relations", "mission", "sanctions" };
	for (int i = 0; i < 4; i++) {
		x = json_object_get(o, axes[i]);
		CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(x, "state")), "none");
		CU_ASSERT_TRUE(json_is_null(json_object_get(x, "since")));
	}
	x = json_object_get(o, "meetings");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(x, "count")), 1);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(x, "last")), "2023-12");
	x = json_object_get(o, "last_change");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(x, "seq")), 3);
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(x, "date")), "2023-12");
	CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(x, "type")), "meeting");
	CU_ASSERT_EQUAL(json_integer_value(json_object_get(o, "version")), 2);
	json_decref(o);
	free(text);
	ledger_status_free(&st);
	t_close(&t);
}

/* ---- timeline ---- */

typedef struct tl_seen {
	uint64_t seq[64], retracted_by[64];
	size_t n;
} tl_seen;

static int tl_take(void *ctx, const ledger_timeline_item *it)
{
	tl_seen *s = ctx;

	if (s->n < 64) {
		s->seq[s->n] = it->event->seq;
		s->retracted_by[s->n] = it->retracted_by;
		s->n++;
	}
	return 0;
}

static void expect_timeline(tledger *t, ledger_timeline_query q,
                            const uint64_t *want, size_t n,
                            const uint64_t *retracted_by)
{
	tl_seen s = { .n = 0 };
	bool ok;

	CU_ASSERT_EQUAL_FATAL(ledger_timeline(t->l, &q, tl_take, &s), LEDGER_OK);
	ok = s.n == n;
	for (size_t i = 0; ok && i < n; i++)
		ok = s.seq[i] == want[i] &&
		     s.retracted_by[i] == (retracted_by ? retracted_by[i] : 0);
	CU_ASSERT_TRUE(ok);
	if (!ok) {
		fprintf(stderr, "\n  timeline %s %s from %s to %s as of %s:\n  got ",
		        q.country ? q.country : "*", q.organization ? q.organization : "*",
		        q.from ? q.from : "-", q.to ? q.to : "-", q.as_of ? q.as_of : "-");
		for (size_t i = 0; i < s.n; i++)
			fprintf(stderr, "%llu/%llu ", (unsigned long long)s.seq[i],
			        (unsigned long long)s.retracted_by[i]);
		fprintf(stderr, "\n  want ");
		for (size_t i = 0; i < n; i++)
			fprintf(stderr, "%llu/%llu ", (unsigned long long)want[i],
			        (unsigned long long)(retracted_by ? retracted_by[i] : 0));
		fprintf(stderr, "\n");
	}
}

static void test_projection_timeline(void)
{
	tledger t;

	t_open(&t);
	/* seq 1 org, 2.. events recorded out of date order. */
	IMPORT(&t, ORG_TALIBAN
	       "{\"type\":\"organization\",\"organization\":\"isis\",\"name\":\"ISIS\",\"date\":\"2014\"}\n"
	       "{\"id\":\"a\",\"type\":\"meeting\",\"country\":\"KZ\",\"organization\":\"taliban\",\"date\":\"2023-12\"}\n"
	       "{\"id\":\"b\",\"type\":\"delisted\",\"country\":\"KZ\",\"organization\":\"taliban\",\"date\":\"2023-12-29\",\"list\":\"l\"}\n"
	       "{\"id\":\"c\",\"type\":\"listed\",\"country\":\"KZ\",\"organization\":\"taliban\",\"date\":\"2005?\",\"list\":\"l\"}\n"
	       "{\"id\":\"d\",\"type\":\"statement\",\"country\":\"KZ\",\"organization\":\"taliban\",\"date\":\"2023-12-01\"}\n"
	       "{\"id\":\"e\",\"type\":\"listed\",\"country\":\"US\",\"organization\":\"taliban\",\"date\":\"2002\",\"list\":\"fto\"}\n"
	       "{\"id\":\"f\",\"type\":\"listed\",\"country\":\"KZ\",\"organization\":\"isis\",\"date\":\"2015-XX-XX\",\"list\":\"l\"}\n");
	IMPORT(&t, "{\"id\":\"r\",\"type\":\"retraction\",\"retracts\":\"a\",\"reason\":\"wrong\"}\n");
	CU_ASSERT_EQUAL(seq_of(&t, "r"), 9);

	/* One relationship in date order (first day, then seq); the meeting
	 * and the statement both start on 2023-12-01. */
	static const uint64_t kz_tal[] = { 5, 3, 6, 4 };
	static const uint64_t kz_tal_r[] = { 0, 9, 0, 0 };
	expect_timeline(&t, (ledger_timeline_query){ "KZ", "taliban", NULL, NULL, NULL },
	                kz_tal, 4, kz_tal_r);
	/* As of seq 8 the retraction was not recorded yet. */
	expect_timeline(&t, (ledger_timeline_query){ "Kazakhstan", "Taliban", NULL, NULL, "8" },
	                kz_tal, 4, NULL);
	/* As of seq 4, only what was recorded by then. */
	static const uint64_t kz_tal4[] = { 3, 4 };
	expect_timeline(&t, (ledger_timeline_query){ "KZ", "taliban", NULL, NULL, "4" },
	                kz_tal4, 2, NULL);
	/* --from and --to take EDTF: from the first day, to the last day. */
	static const uint64_t dec[] = { 3, 6, 4 };
	static const uint64_t dec_r[] = { 9, 0, 0 };
	expect_timeline(&t, (ledger_timeline_query){ "KZ", "taliban", "2023-12", "2023", NULL },
	                dec, 3, dec_r);
	static const uint64_t to_dec1[] = { 5, 3, 6 };
	static const uint64_t to_dec1_r[] = { 0, 9, 0 };
	expect_timeline(&t, (ledger_timeline_query){ "KZ", "taliban", NULL, "2023-12-01", NULL },
	                to_dec1, 3, to_dec1_r);
	expect_timeline(&t, (ledger_timeline_query){ "KZ", "taliban", "2023-12-30", NULL, NULL },
	                NULL, 0, NULL);
	/* One country, every organization; one organization, every country;
	 * everything (the dated organization event is not in a timeline). */
	static const uint64_t kz[] = { 5, 8, 3, 6, 4 };
	static const uint64_t kz_r[] = { 0, 0, 9, 0, 0 };
	expect_timeline(&t, (ledger_timeline_query){ "KZ", NULL, NULL, NULL, NULL },
	                kz, 5, kz_r);
	static const uint64_t tal[] = { 7, 5, 3, 6, 4 };
	static const uint64_t tal_r[] = { 0, 0, 9, 0, 0 };
	expect_timeline(&t, (ledger_timeline_query){ NULL, "taliban", NULL, NULL, NULL },
	                tal, 5, tal_r);
	static const uint64_t all[] = { 7, 5, 8, 3, 6, 4 };
	static const uint64_t all_r[] = { 0, 0, 0, 9, 0, 0 };
	expect_timeline(&t, (ledger_timeline_query){ NULL, NULL, NULL, NULL, NULL },
	                all, 6, all_r);
	/* Bad arguments. */
	ledger_timeline_query q = { NULL, NULL, "2023-13", NULL, NULL };
	tl_seen s = { .n = 0 };
	CU_ASSERT_EQUAL(ledger_timeline(t.l, &q, tl_take, &s), LEDGER_EUSAGE);
	q = (ledger_timeline_query){ "XQ", NULL, NULL, NULL, NULL };
	CU_ASSERT_EQUAL(ledger_timeline(t.l, &q, tl_take, &s), LEDGER_ENOTFOUND);
	q = (ledger_timeline_query){ NULL, "nobody", NULL, NULL, NULL };
	CU_ASSERT_EQUAL(ledger_timeline(t.l, &q, tl_take, &s), LEDGER_ENOTFOUND);
	q = (ledger_timeline_query){ NULL, NULL, NULL, NULL, "10" };
	CU_ASSERT_EQUAL(ledger_timeline(t.l, &q, tl_take, &s), LEDGER_EUSAGE);
	CU_ASSERT_EQUAL(s.n, 0);
	t_close(&t);
}

/* ---- changes ---- */

typedef struct ch_seen {
	char rel[16][72];
	char seqs[16][128];
	size_t n;
} ch_seen;

static int ch_take(void *ctx, const ledger_status *before,
                   const ledger_status *after, const uint64_t *seqs, size_t n)
{
	ch_seen *s = ctx;

	CU_ASSERT_STRING_EQUAL(before->country, after->country);
	CU_ASSERT_STRING_EQUAL(before->organization, after->organization);
	if (s->n < 16) {
		size_t k = 0;
		snprintf(s->rel[s->n], sizeof s->rel[0], "%s %s", after->country,
		         after->organization);
		s->seqs[s->n][0] = '\0';
		for (size_t i = 0; i < n && k < sizeof s->seqs[0]; i++)
			k += (size_t)snprintf(s->seqs[s->n] + k, sizeof s->seqs[0] - k,
			                      "%s%llu", i ? "," : "", (unsigned long long)seqs[i]);
		s->n++;
	}
	return 0;
}

static void test_projection_changes(void)
{
	tledger t;
	ch_seen s;
	ledger_changes_query q;

	t_open(&t);
	IMPORT(&t, ORG_TALIBAN
	       "{\"type\":\"organization\",\"organization\":\"isis\",\"name\":\"ISIS\"}\n"
	       "{\"id\":\"a\",\"type\":\"listed\",\"country\":\"KZ\",\"organization\":\"taliban\",\"date\":\"2005\",\"list\":\"l\"}\n"
	       "{\"id\":\"b\",\"type\":\"delisted\",\"country\":\"KZ\",\"organization\":\"taliban\",\"date\":\"2023-12-29\",\"list\":\"l\"}\n"
	       "{\"id\":\"c\",\"type\":\"statement\",\"country\":\"KZ\",\"organization\":\"taliban\",\"date\":\"2023-06\"}\n"
	       "{\"id\":\"d\",\"type\":\"statement\",\"country\":\"US\",\"organization\":\"taliban\",\"date\":\"2023-06\"}\n"
	       "{\"id\":\"e\",\"type\":\"recognized\",\"country\":\"US\",\"organization\":\"isis\",\"date\":\"2023-02-02\"}\n"
	       "{\"id\":\"f\",\"type\":\"recognized\",\"country\":\"US\",\"organization\":\"isis\",\"date\":\"2023-03-03\"}\n"
	       "{\"id\":\"g\",\"type\":\"listed\",\"country\":\"FR\",\"organization\":\"isis\",\"date\":\"2023-01-01\",\"list\":\"l\"}\n");

	/* 2023: KZ-taliban delisted, US-isis recognized; FR-isis was listed
	 * on the first day (not after it); a statement alone changes
	 * nothing. Events are those dated after --from up to --to. */
	memset(&s, 0, sizeof s);
	q = (ledger_changes_query){ .from = "2023-01-01", .to = "2023-12-31" };
	CU_ASSERT_EQUAL_FATAL(ledger_changes(t.l, &q, ch_take, &s), LEDGER_OK);
	CU_ASSERT_EQUAL_FATAL(s.n, 2);
	CU_ASSERT_STRING_EQUAL(s.rel[0], "KZ taliban");
	CU_ASSERT_STRING_EQUAL(s.seqs[0], "4,5");
	CU_ASSERT_STRING_EQUAL(s.rel[1], "US isis");
	CU_ASSERT_STRING_EQUAL(s.seqs[1], "7,8");

	memset(&s, 0, sizeof s);
	q = (ledger_changes_query){ .from = "2022-12-31", .to = "2023-12-28" };
	CU_ASSERT_EQUAL_FATAL(ledger_changes(t.l, &q, ch_take, &s), LEDGER_OK);
	CU_ASSERT_EQUAL_FATAL(s.n, 2);
	CU_ASSERT_STRING_EQUAL(s.rel[0], "FR isis");
	CU_ASSERT_STRING_EQUAL(s.seqs[0], "9");
	CU_ASSERT_STRING_EQUAL(s.rel[1], "US isis");

	/* The same day twice: nothing (and no qsort of an empty, NULL array,
	 * which UBSan once caught here). */
	memset(&s, 0, sizeof s);
	q = (ledger_changes_query){ .from = "2023-12-29", .to = "2023-12-29" };
	CU_ASSERT_EQUAL(ledger_changes(t.l, &q, ch_take, &s), LEDGER_OK);
	CU_ASSERT_EQUAL(s.n, 0);

	/* Along transaction time: a retraction recorded later. */
	IMPORT(&t, "{\"type\":\"retraction\",\"retracts\":\"b\",\"reason\":\"appeal\"}\n"
	       "{\"id\":\"h\",\"type\":\"statement\",\"country\":\"DE\",\"organization\":\"isis\",\"date\":\"2024\"}\n");
	memset(&s, 0, sizeof s);
	q = (ledger_changes_query){ .since_seq = 9, .at = "2024-06-01" };
	CU_ASSERT_EQUAL_FATAL(ledger_changes(t.l, &q, ch_take, &s), LEDGER_OK);
	CU_ASSERT_EQUAL_FATAL(s.n, 1);
	CU_ASSERT_STRING_EQUAL(s.rel[0], "KZ taliban");
	CU_ASSERT_STRING_EQUAL(s.seqs[0], "10");
	/* Before the delisting's date the retraction changes nothing. */
	memset(&s, 0, sizeof s);
	q = (ledger_changes_query){ .since_seq = 9, .at = "2023-01-01" };
	CU_ASSERT_EQUAL(ledger_changes(t.l, &q, ch_take, &s), LEDGER_OK);
	CU_ASSERT_EQUAL(s.n, 0);
	/* Since seq 0: everything. */
	memset(&s, 0, sizeof s);
	q = (ledger_changes_query){ .since_seq = 0, .at = "2024-06-01" };
	CU_ASSERT_EQUAL(ledger_changes(t.l, &q, ch_take, &s), LEDGER_OK);
	CU_ASSERT_EQUAL(s.n, 3);

	/* Bad arguments. */
	q = (ledger_changes_query){ .from = "2023-12-31", .to = "2023-01-01" };
	CU_ASSERT_EQUAL(ledger_changes(t.l, &q, ch_take, &s), LEDGER_EUSAGE);
	q = (ledger_changes_query){ .from = "2023-01-01", .to = NULL };
	CU_ASSERT_EQUAL(ledger_changes(t.l, &q, ch_take, &s), LEDGER_EUSAGE);
	q = (ledger_changes_query){ .from = "2023", .to = "2024-01-01" };
	CU_ASSERT_EQUAL(ledger_changes(t.l, &q, ch_take, &s), LEDGER_EUSAGE);
	q = (ledger_changes_query){ .since_seq = 12 };
	CU_ASSERT_EQUAL(ledger_changes(t.l, &q, ch_take, &s), LEDGER_EUSAGE);
	t_close(&t);
}

/* ---- rebuild ---- */

static void test_projection_rebuild_example(void)
{
	tledger t;
	ledger_rebuild_stats rs;
	ledger_status a, b;
	char *text = read_example();

	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	t_open(&t);
	IMPORT(&t, text);
	free(text);
	a = get(&t, "KZ", "taliban", "2023-12-28", NULL);
	CU_ASSERT_EQUAL_FATAL(ledger_rebuild(&rs, t.l), LEDGER_OK);
	CU_ASSERT_TRUE(rs.equal);
	CU_ASSERT_EQUAL(rs.events, 5);
	CU_ASSERT(memcmp(rs.before, rs.after, sizeof rs.before) == 0);
	b = get(&t, "KZ", "taliban", "2023-12-28", NULL);
	CU_ASSERT_TRUE(same_status(&a, &b));
	ledger_status_free(&a);
	ledger_status_free(&b);
	/* Twice in a row, after closing and opening again. */
	ledger_close(t.l);
	CU_ASSERT_EQUAL_FATAL(ledger_open(&t.l, t.dir, 0), LEDGER_OK);
	CU_ASSERT_EQUAL(ledger_rebuild(&rs, t.l), LEDGER_OK);
	CU_ASSERT_TRUE(rs.equal);
	t_close(&t);
}

/* A relationship reaches the 32 events from which bucket folds are kept
 * through an event that does not fold: a statement, a retraction (undated)
 * or a redaction, alone in its transaction. The indexes written on append
 * must equal those rebuilt from the events (once a bug: buckets were made
 * only when a folding event marked the relationship). */
static void test_projection_rebuild_threshold(void)
{
	static const char *const orgs3[] = { "org-a", "org-b", "org-c" };
	static const char *const last[] = {
		"{\"type\":\"statement\",\"country\":\"KZ\",\"organization\":\"org-a\",\"date\":\"2040\"}\n",
		"{\"type\":\"retraction\",\"retracts\":\"org-b-3\",\"reason\":\"x\"}\n",
		"{\"type\":\"redaction\",\"redacts\":\"org-c-3\",\"reason\":\"x\"}\n",
	};
	tledger t;
	ledger_rebuild_stats rs;
	ledger_status a[3], b;
	size_t cap = 128 * 256, n = 0;
	char *text = malloc(cap);

	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	t_open(&t);
	for (int k = 0; k < 3; k++)
		n += (size_t)snprintf(text + n, cap - n, "{\"type\":\"organization\","
		                      "\"organization\":\"%s\",\"name\":\"%s\"}\n",
		                      orgs3[k], orgs3[k]);
	for (int k = 0; k < 3; k++)
		for (int i = 0; i < 31; i++)
			n += (size_t)snprintf(text + n, cap - n, "{\"id\":\"%s-%d\","
			                      "\"type\":\"meeting\",\"country\":\"KZ\","
			                      "\"organization\":\"%s\",\"date\":\"20%02d-0%d\"}\n",
			                      orgs3[k], i, orgs3[k], i, 1 + i % 9);
	IMPORT(&t, text);
	for (int k = 0; k < 3; k++)
		IMPORT(&t, last[k]);
	for (int k = 0; k < 3; k++) {
		a[k] = get(&t, "KZ", orgs3[k], "2015-06-15", NULL);
		CU_ASSERT_EQUAL(a[k].version, 32);
		/* 2000..2014, less the retracted 2003 meeting of org-b. */
		CU_ASSERT_EQUAL(a[k].meetings, k == 1 ? 14 : 15);
	}
	CU_ASSERT_EQUAL_FATAL(ledger_rebuild(&rs, t.l), LEDGER_OK);
	CU_ASSERT_TRUE(rs.equal);
	for (int k = 0; k < 3; k++) {
		b = get(&t, "KZ", orgs3[k], "2015-06-15", NULL);
		CU_ASSERT_TRUE(same_status(&a[k], &b));
		ledger_status_free(&a[k]);
		ledger_status_free(&b);
	}
	free(text);
	t_close(&t);
}

/* ---- busy months: day buckets ---- */

/* One NDJSON event of KZ/org-a, numbered i, dated `date`. */
static size_t busy_event(char *out, size_t cap, int i, const char *date)
{
	static const char *const types[] = {
		"listed", "meeting", "sanctions_imposed", "statement", "delisted",
		"recognized", "meeting", "mission_opened", "sanctions_lifted",
		"relations_established", "agreement_signed", "mission_closed",
		"recognition_withdrawn", "relations_suspended",
	};
	const char *type = types[i % 14];
	bool list = strcmp(type, "listed") == 0 || strcmp(type, "delisted") == 0;

	return (size_t)snprintf(out, cap, "{\"id\":\"b%d\",\"type\":\"%s\","
	                        "\"country\":\"KZ\",\"organization\":\"org-a\","
	                        "\"date\":\"%s\"%s%s%s,\"authority\":\"A%d\"}\n", i,
	                        type, date, list ? ",\"list\":\"l" : "",
	                        list ? (i % 3 ? "1" : "2") : "", list ? "\"" : "", i);
}

/* The date of busy event i: most on days of May 2023, some on the month
 * (2023-05, 2023-05-XX, qualified), a few in April and June. */
static void busy_date(char out[16], int i)
{
	switch (i % 11) {
	case 0:  snprintf(out, 16, "2023-05"); break;
	case 1:  snprintf(out, 16, "2023-05-XX"); break;
	case 2:  snprintf(out, 16, "2023-04-%02d", 1 + i % 30); break;
	case 3:  snprintf(out, 16, "2023-06-%02d~", 1 + i % 30); break;
	case 4:  snprintf(out, 16, "2023-05-%02d?", 1 + i % 31); break;
	default: snprintf(out, 16, "2023-05-%02d", 1 + (i * 7) % 31); break;
	}
}

/* Every status of KZ/org-a from 2023-04-28 to 2023-06-02 as of the newest
 * seq (bucket folds: month, then day buckets of the busy May) equals the
 * fold of its events (as of the newest seq too, but asked as of it while
 * a later event of another relationship makes the stream be folded from
 * its events alone). */
static void busy_compare(tledger *t)
{
	char at[16], as_of[24];
	uint64_t newest = head(t);

	IMPORT(t, "{\"type\":\"meeting\",\"country\":\"KZ\",\"organization\":\"org-b\","
	          "\"date\":\"2001\"}\n");
	u64(as_of, newest);
	for (uint32_t d = 0; d < 36; d++) {
		static const int days[] = { 28, 29, 30 };
		if (d < 3)
			snprintf(at, sizeof at, "2023-04-%02d", days[d]);
		else if (d < 34)
			snprintf(at, sizeof at, "2023-05-%02u", d - 2);
		else
			snprintf(at, sizeof at, "2023-06-%02u", d - 33);
		ledger_status a = get(t, "KZ", "org-a", at, NULL);
		ledger_status b = get(t, "KZ", "org-a", at, as_of);
		b.as_of = a.as_of;
		CU_ASSERT_TRUE(same_status(&a, &b));
		ledger_status_free(&a);
		ledger_status_free(&b);
	}
}

/* Hundreds of events in one month, appended in batches of 40 and
 * retracted in part: the statuses at every day boundary around the month
 * equal the fold of the events, after each step; the indexes the appends
 * wrote equal those rebuilt from the events. */
static void test_projection_busy_month(void)
{
	tledger t;
	ledger_rebuild_stats rs;
	size_t cap = 64 * 1024;
	char *text = malloc(cap), date[16];

	CU_ASSERT_PTR_NOT_NULL_FATAL(text);
	t_open(&t);
	IMPORT(&t, "{\"type\":\"organization\",\"organization\":\"org-a\",\"name\":\"A\"}\n"
	           "{\"type\":\"organization\",\"organization\":\"org-b\",\"name\":\"B\"}\n");
	for (int batch = 0; batch < 10; batch++) {
		size_t n = 0;
		for (int i = batch * 40; i < batch * 40 + 40; i++) {
			busy_date(date, i);
			n += busy_event(text + n, cap - n, i, date);
		}
		IMPORT(&t, text);
		if (batch % 3 == 2)
			busy_compare(&t);
	}
	busy_compare(&t);
	/* Retract all but one event in ten, 12 a transaction: May stops
	 * being busy on the way (fewer than INDEX_DAY_MIN_EVENTS left). */
	size_t n = 0;
	for (int i = 1, k = 0; i < 400; i++) {
		if (i % 10 == 0)
			continue;
		n += (size_t)snprintf(text + n, cap - n, "{\"type\":\"retraction\","
		                      "\"retracts\":\"b%d\",\"reason\":\"test\"}\n", i);
		if (++k % 12 == 0 || i == 399) {
			IMPORT(&t, text);
			n = 0;
			if (k % 48 == 0)
				busy_compare(&t);
		}
	}
	busy_compare(&t);
	CU_ASSERT_EQUAL_FATAL(ledger_rebuild(&rs, t.l), LEDGER_OK);
	CU_ASSERT_TRUE(rs.equal);
	busy_compare(&t);
	free(text);
	t_close(&t);
}

/* ======================================================================
 * The property test: random ledgers against a naive reference fold.
 * ====================================================================== */

static uint32_t rng(uint64_t *s, uint32_t n)
{
	return n ? (uint32_t)(test_rand(s) % n) : 0;
}

/* Days from 1 = 0001-01-01, computed here (H. Hinnant's civil calendar
 * algorithms), independently of ledger/date.c. */
static int64_t civil_days(int y, int m, int d)
{
	y -= m <= 2;
	int64_t era = y / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe;
}

static uint32_t day_of(int y, int m, int d)
{
	return (uint32_t)(civil_days(y, m, d) - civil_days(1, 1, 1) + 1);
}

static void ymd_of(int *y, int *m, int *d, uint32_t day)
{
	int64_t z = (int64_t)day - 1 + civil_days(1, 1, 1);
	int64_t era = z / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

static void fmt_day(char out[11], uint32_t day)
{
	int y, m, d;

	ymd_of(&y, &m, &d, day);
	snprintf(out, 11, "%04u-%02u-%02u", (unsigned)y % 10000u, (unsigned)m % 100u,
	         (unsigned)d % 100u);
}

static int month_days(int y, int m)
{
	static const int n[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return m == 2 && leap ? 29 : n[m - 1];
}

#define DAY_MAX 3652059u   /* 9999-12-31 */

enum {
	TY_LISTED = 1, TY_DELISTED, TY_RECOGNIZED, TY_RECOGNITION_WITHDRAWN,
	TY_RELATIONS_ESTABLISHED, TY_RELATIONS_SUSPENDED, TY_MISSION_OPENED,
	TY_MISSION_CLOSED, TY_SANCTIONS_IMPOSED, TY_SANCTIONS_LIFTED, TY_MEETING,
	TY_AGREEMENT_SIGNED, TY_STATEMENT, TY_ORGANIZATION, TY_RETRACTION,
	TY_REDACTION,
};

static const char *const type_names[] = {
	"", "listed", "delisted", "recognized", "recognition_withdrawn",
	"relations_established", "relations_suspended", "mission_opened",
	"mission_closed", "sanctions_imposed", "sanctions_lifted", "meeting",
	"agreement_signed", "statement", "organization", "retraction", "redaction",
};

static const char *const countries[] = { "KZ", "US", "FR", "DE", "AF", "RU", "CN", "GB" };
#define COUNTRIES 8
static const char *const orgs[] = { "taliban", "isis", "hamas", "wagner" };
#define ORGS 4
static const char *const lists[] = { "1988-sanctions", "banned-organizations", "fto" };
#define LISTS 3   /* in name order */
static const char *const authorities[] = { "", "Supreme Court", "Ministry of Justice", "Parliament" };
#define AUTHORITIES 4

typedef struct gev {
	char id[16];
	int type;
	int pair;               /* index into the relationship table; -1: none */
	int org;                /* organization events */
	char edtf[32];
	uint32_t first, last;
	int list, auth;
	int target;             /* retraction, redaction: index of the target */
	uint64_t seq;
	uint64_t retracted_by;  /* seq of the retraction of this event, 0 */
	bool redacted;
} gev;

#define PAIRS_MAX 32

typedef struct gen {
	gev *ev;                /* in seq order: ev[i].seq == i + 1 */
	size_t n, cap;
	int pair_country[PAIRS_MAX], pair_org[PAIRS_MAX];
	int pairs;              /* pairs with events come first */
	int used_pairs;
	size_t batch_end[64];   /* events [batch_end[b-1], batch_end[b]) */
	int batches;
	uint64_t seed;
} gen;

static gev *gen_push(gen *g)
{
	if (g->n == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 1024;
		g->ev = realloc(g->ev, g->cap * sizeof *g->ev);
		CU_ASSERT_PTR_NOT_NULL_FATAL(g->ev);
	}
	memset(&g->ev[g->n], 0, sizeof g->ev[0]);
	g->ev[g->n].pair = -1;
	g->ev[g->n].target = -1;
	return &g->ev[g->n++];
}

/* A random EDTF date near (y, m, d): any of the precisions and qualifiers
 * of DESIGN §3.1, with its span computed here. */
static void rnd_date(gev *e, uint64_t *s, int y, int m, int d)
{
	static const char quals[] = { 0, 0, 0, 0, 0, '?', '~', '%' };
	char q = quals[rng(s, 8)];
	char qs[2] = { q, 0 };

	switch (rng(s, 10)) {
	case 0:
		snprintf(e->edtf, sizeof e->edtf, "%04d%s", y, qs);
		e->first = day_of(y, 1, 1);
		e->last = day_of(y, 12, 31);
		break;
	case 1:
		snprintf(e->edtf, sizeof e->edtf, "%04d-XX%s", y, qs);
		e->first = day_of(y, 1, 1);
		e->last = day_of(y, 12, 31);
		break;
	case 2:
		snprintf(e->edtf, sizeof e->edtf, "%04d-XX-XX%s", y, qs);
		e->first = day_of(y, 1, 1);
		e->last = day_of(y, 12, 31);
		break;
	case 3:
	case 4:
		snprintf(e->edtf, sizeof e->edtf, "%04d-%02d%s", y, m, qs);
		e->first = day_of(y, m, 1);
		e->last = day_of(y, m, month_days(y, m));
		break;
	case 5:
		snprintf(e->edtf, sizeof e->edtf, "%04d-%02d-XX%s", y, m, qs);
		e->first = day_of(y, m, 1);
		e->last = day_of(y, m, month_days(y, m));
		break;
	default:
		snprintf(e->edtf, sizeof e->edtf, "%04d-%02d-%02d%s", y, m, d, qs);
		e->first = e->last = day_of(y, m, d);
		break;
	}
}

/* Years worth testing: the edges of the first decade and century (which
 * start at year 1), of the calendar, and common history. */
static int rnd_year(gen *g, uint64_t *s, int style)
{
	static const int edges[] = { 1, 2, 9, 10, 11, 99, 100, 101, 999, 1000,
	                             1999, 2000, 2001, 9990, 9999 };
	(void)g;
	switch (style) {
	case 0:  return 1 + (int)rng(s, 9999);                 /* anywhere */
	case 1:  return 1600 + (int)rng(s, 430);               /* centuries */
	case 2:  return 1990 + (int)rng(s, 40);                /* decades */
	default: return edges[rng(s, sizeof edges / sizeof edges[0])];
	}
}

static int rnd_event_type(uint64_t *s)
{
	/* Lists and axes often, the rest less. */
	static const int w[] = {
		TY_LISTED, TY_LISTED, TY_LISTED, TY_DELISTED, TY_DELISTED,
		TY_RECOGNIZED, TY_RECOGNITION_WITHDRAWN, TY_RELATIONS_ESTABLISHED,
		TY_RELATIONS_SUSPENDED, TY_MISSION_OPENED, TY_MISSION_CLOSED,
		TY_SANCTIONS_IMPOSED, TY_SANCTIONS_LIFTED, TY_MEETING, TY_MEETING,
		TY_AGREEMENT_SIGNED, TY_STATEMENT,
	};
	return w[rng(s, sizeof w / sizeof w[0])];
}

/* The events of one relationship before they get seqs. */
static void gen_pair_events(gev *out, size_t n, int pair, uint64_t *s)
{
	int style = (int)rng(s, 4);
	int cy = rnd_year(NULL, s, style), cm = 1 + (int)rng(s, 12);

	for (size_t i = 0; i < n; i++) {
		gev *e = &out[i];
		memset(e, 0, sizeof *e);
		e->pair = pair;
		e->target = -1;
		e->type = rnd_event_type(s);
		e->list = (int)rng(s, LISTS);
		e->auth = (int)rng(s, AUTHORITIES);
		if (rng(s, 10) < 4) {
			/* Many in one month (and on a few days of it). */
			rnd_date(e, s, cy, cm, 1 + (int)rng(s, 3) * 9);
		} else {
			int y = rng(s, 4) == 0 ? rnd_year(NULL, s, (int)rng(s, 4))
			                       : rnd_year(NULL, s, style);
			int m = 1 + (int)rng(s, 12);
			rnd_date(e, s, y, m, 1 + (int)rng(s, (uint32_t)month_days(y, m)));
		}
	}
}

static bool retractable(const gev *e)
{
	return e->type >= TY_LISTED && e->type <= TY_STATEMENT && !e->retracted_by;
}

static bool redactable(const gev *e)
{
	return e->type != TY_RETRACTION && e->type != TY_REDACTION && !e->redacted;
}

/* Make a random ledger: organizations, about 20 relationships (a few of
 * more than 40 events), events in random order of dates, retractions and
 * redactions of earlier events, cut into import batches. */
static void gen_make(gen *g, uint64_t seed, size_t long_events, size_t batch_max)
{
	uint64_t s = seed;
	gev *pool;
	size_t pool_n = 0, pool_cap = long_events + 4096;
	int taken[COUNTRIES][ORGS] = { { 0 } };

	memset(g, 0, sizeof *g);
	g->seed = seed;
	for (int o = 0; o < ORGS; o++) {
		gev *e = gen_push(g);
		e->type = TY_ORGANIZATION;
		e->org = o;
		snprintf(e->id, sizeof e->id, "org-%d", o);
	}
	g->batch_end[g->batches++] = g->n;

	/* 20 relationships with events, and the rest of the grid without. */
	g->used_pairs = 20;
	while (g->pairs < g->used_pairs) {
		int c = (int)rng(&s, COUNTRIES), o = (int)rng(&s, ORGS);
		if (taken[c][o])
			continue;
		taken[c][o] = 1;
		g->pair_country[g->pairs] = c;
		g->pair_org[g->pairs] = o;
		g->pairs++;
	}
	for (int c = 0; c < COUNTRIES && g->pairs < PAIRS_MAX; c++)
		for (int o = 0; o < ORGS && g->pairs < PAIRS_MAX; o++)
			if (!taken[c][o]) {
				g->pair_country[g->pairs] = c;
				g->pair_org[g->pairs] = o;
				g->pairs++;
			}

	pool = malloc(pool_cap * sizeof *pool);
	CU_ASSERT_PTR_NOT_NULL_FATAL(pool);
	for (int p = 0; p < g->used_pairs; p++) {
		/* Five long relationships (bucket folds), one of them very long,
		 * the rest short; one just at the threshold. */
		size_t n = p == 0 ? (long_events ? long_events : 400 + rng(&s, 300)) :
		           p < 5 ? 41 + rng(&s, 160) : p == 5 ? 32 : 1 + rng(&s, 20);
		CU_ASSERT_FATAL(pool_n + n <= pool_cap);
		gen_pair_events(pool + pool_n, n, p, &s);
		pool_n += n;
	}
	/* Random recording order. */
	for (size_t i = pool_n; i > 1; i--) {
		size_t j = rng(&s, (uint32_t)i);
		gev x = pool[i - 1];
		pool[i - 1] = pool[j];
		pool[j] = x;
	}
	/* Append, with retractions and redactions of earlier events mixed in,
	 * cutting batches of random sizes. */
	size_t next_cut = g->n + 1 + rng(&s, (uint32_t)batch_max);
	for (size_t i = 0; i < pool_n; i++) {
		gev *e = gen_push(g);
		*e = pool[i];
		snprintf(e->id, sizeof e->id, "e%zu", g->n);
		e->seq = g->n;
		for (int extra = 0; extra < 2; extra++) {
			uint32_t r = rng(&s, 100);
			bool retract = extra == 0 && r < 12, redact = extra == 1 && r < 4;
			if (!retract && !redact)
				continue;
			/* A random earlier event it may withdraw (a few tries). */
			for (int tries = 0; tries < 8; tries++) {
				size_t k = rng(&s, (uint32_t)g->n);
				gev *t = &g->ev[k];
				if (retract ? !retractable(t) : !redactable(t))
					continue;
				gev *w = gen_push(g);
				t = &g->ev[k];       /* gen_push may move the array */
				w->type = retract ? TY_RETRACTION : TY_REDACTION;
				w->target = (int)k;
				w->pair = t->pair;
				w->org = t->org;
				snprintf(w->id, sizeof w->id, "%c%zu", retract ? 'r' : 'x', g->n);
				w->seq = g->n;
				if (retract)
					t->retracted_by = w->seq;
				else
					t->redacted = true;
				break;
			}
		}
		if (g->n >= next_cut && g->batches < 63) {
			g->batch_end[g->batches++] = g->n;
			next_cut = g->n + 1 + rng(&s, (uint32_t)batch_max);
		}
	}
	if (g->batch_end[g->batches - 1] != g->n)
		g->batch_end[g->batches++] = g->n;
	for (size_t i = 0; i < g->n; i++)
		g->ev[i].seq = i + 1;
	free(pool);
}

static void gen_free(gen *g)
{
	free(g->ev);
	g->ev = NULL;
}

/* NDJSON of events [from, to). malloc'd. */
static char *gen_ndjson(const gen *g, size_t from, size_t to)
{
	size_t cap = (to - from) * 256 + 1, n = 0;
	char *out = malloc(cap);

	CU_ASSERT_PTR_NOT_NULL_FATAL(out);
	out[0] = '\0';
	for (size_t i = from; i < to; i++) {
		const gev *e = &g->ev[i];
		switch (e->type) {
		case TY_ORGANIZATION:
			n += (size_t)snprintf(out + n, cap - n, "{\"id\":\"%s\",\"type\":"
			                      "\"organization\",\"organization\":\"%s\","
			                      "\"name\":\"Org %s\"}\n", e->id,
			                      orgs[e->org], orgs[e->org]);
			break;
		case TY_RETRACTION:
		case TY_REDACTION:
			n += (size_t)snprintf(out + n, cap - n, "{\"id\":\"%s\",\"type\":"
			                      "\"%s\",\"%s\":\"%s\",\"reason\":\"test\"}\n",
			                      e->id, type_names[e->type],
			                      e->type == TY_RETRACTION ? "retracts" : "redacts",
			                      g->ev[e->target].id);
			break;
		default:
			n += (size_t)snprintf(out + n, cap - n, "{\"id\":\"%s\",\"type\":"
			                      "\"%s\",\"country\":\"%s\",\"organization\":"
			                      "\"%s\",\"date\":\"%s\"", e->id,
			                      type_names[e->type],
			                      countries[g->pair_country[e->pair]],
			                      orgs[g->pair_org[e->pair]], e->edtf);
			if (e->type == TY_LISTED || e->type == TY_DELISTED)
				n += (size_t)snprintf(out + n, cap - n, ",\"list\":\"%s\"",
				                      lists[e->list]);
			if (*authorities[e->auth])
				n += (size_t)snprintf(out + n, cap - n, ",\"authority\":\"%s\"",
				                      authorities[e->auth]);
			n += (size_t)snprintf(out + n, cap - n, ",\"summary\":\"event %s\"}\n",
			                      e->id);
			break;
		}
		CU_ASSERT_FATAL(n < cap);
	}
	return out;
}

/* ---- the naive reference fold ---- */

typedef struct ref_status {
	bool on[LISTS];
	char list_since[LISTS][32];
	int list_auth[LISTS];
	uint64_t list_seq[LISTS];
	int axis[4];              /* 0 none, 1 on, 2 off */
	char axis_since[4][32];
	uint64_t axis_seq[4];
	uint64_t meetings;
	char last_meeting[32];
	uint64_t change_seq;
	char change_date[32];
	int change_type;
	bool certain;
	uint64_t version;
} ref_status;

static const char *const axis_names[4][3] = {
	{ "none", "recognized", "withdrawn" },
	{ "none", "established", "suspended" },
	{ "none", "open", "closed" },
	{ "none", "imposed", "lifted" },
};

/* Indices of each pair's events (retractions and redactions included). */
typedef struct pair_index {
	size_t *ix[PAIRS_MAX];
	size_t n[PAIRS_MAX];
} pair_index;

static void pair_index_make(pair_index *pi, const gen *g)
{
	memset(pi, 0, sizeof *pi);
	for (int p = 0; p < g->pairs; p++) {
		pi->ix[p] = malloc((g->n + 1) * sizeof(size_t));
		CU_ASSERT_PTR_NOT_NULL_FATAL(pi->ix[p]);
	}
	for (size_t i = 0; i < g->n; i++)
		if (g->ev[i].pair >= 0)
			pi->ix[g->ev[i].pair][pi->n[g->ev[i].pair]++] = i;
}

static void pair_index_free(pair_index *pi)
{
	for (int p = 0; p < PAIRS_MAX; p++)
		free(pi->ix[p]);
}

static const gen *sort_gen;

static int by_date_seq(const void *a, const void *b)
{
	const gev *x = &sort_gen->ev[*(const size_t *)a], *y = &sort_gen->ev[*(const size_t *)b];

	if (x->first != y->first)
		return x->first < y->first ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void ref_fold(ref_status *r, const gen *g, const pair_index *pi, int pair,
                     uint32_t at, uint64_t as_of)
{
	size_t *take = malloc((pi->n[pair] + 1) * sizeof *take), n = 0;

	CU_ASSERT_PTR_NOT_NULL_FATAL(take);
	memset(r, 0, sizeof *r);
	r->certain = true;
	for (size_t k = 0; k < pi->n[pair]; k++) {
		const gev *e = &g->ev[pi->ix[pair][k]];
		if (e->seq > as_of)
			continue;
		r->version++;
		if (e->type < TY_LISTED || e->type > TY_MEETING || e->first > at)
			continue;
		if (e->retracted_by && e->retracted_by <= as_of)
			continue;
		take[n++] = pi->ix[pair][k];
	}
	/* In order of (first day, seq). */
	sort_gen = g;
	qsort(take, n, sizeof *take, by_date_seq);
	for (size_t i = 0; i < n; i++) {
		const gev *e = &g->ev[take[i]];
		int axis = -1, state = 0;
		switch (e->type) {
		case TY_LISTED:
			if (!r->on[e->list]) {
				r->on[e->list] = true;
				snprintf(r->list_since[e->list], 32, "%s", e->edtf);
				r->list_auth[e->list] = e->auth;
				r->list_seq[e->list] = e->seq;
			}
			break;
		case TY_DELISTED:
			r->on[e->list] = false;
			break;
		case TY_MEETING:
			r->meetings++;
			snprintf(r->last_meeting, 32, "%s", e->edtf);
			break;
		default:
			axis = (e->type - TY_RECOGNIZED) / 2;
			state = (e->type - TY_RECOGNIZED) % 2 ? 2 : 1;
			if (r->axis[axis] != state) {
				r->axis[axis] = state;
				snprintf(r->axis_since[axis], 32, "%s", e->edtf);
				r->axis_seq[axis] = e->seq;
			}
			break;
		}
		r->change_seq = e->seq;
		r->change_type = e->type;
		snprintf(r->change_date, 32, "%s", e->edtf);
		if (e->last > at)
			r->certain = false;
	}
	free(take);
}

/* Compare every field; describe the first difference in why. */
static bool ref_matches(const ref_status *r, const ledger_status *st,
                        const gen *g, int pair, uint32_t at, uint64_t as_of,
                        char *why, size_t cap)
{
	char day[11];
	size_t k = 0;
	const ledger_status_axis *axes[4] = {
		&st->recognition, &st->relations, &st->mission, &st->sanctions,
	};

#define DIFF(...) do { snprintf(why, cap, __VA_ARGS__); return false; } while (0)
	fmt_day(day, at);
	if (strcmp(st->country, countries[g->pair_country[pair]]) ||
	    strcmp(st->organization, orgs[g->pair_org[pair]]))
		DIFF("relationship %s %s", st->country, st->organization);
	if (strcmp(st->at, day))
		DIFF("at %s, want %s", st->at, day);
	if (st->as_of != as_of)
		DIFF("as_of %llu, want %llu", (unsigned long long)st->as_of,
		     (unsigned long long)as_of);
	if (st->version != r->version)
		DIFF("version %llu, want %llu", (unsigned long long)st->version,
		     (unsigned long long)r->version);
	for (int l = 0; l < LISTS; l++) {
		if (!r->on[l])
			continue;
		if (k >= st->lists_count || strcmp(st->lists[k].list, lists[l]))
			DIFF("list %s missing or out of order", lists[l]);
		if (strcmp(st->lists[k].since, r->list_since[l]) ||
		    strcmp(st->lists[k].authority, authorities[r->list_auth[l]]) ||
		    st->lists[k].seq != r->list_seq[l])
			DIFF("list %s since %s by '%s' seq %llu, want since %s by '%s' seq %llu",
			     lists[l], st->lists[k].since, st->lists[k].authority,
			     (unsigned long long)st->lists[k].seq, r->list_since[l],
			     authorities[r->list_auth[l]], (unsigned long long)r->list_seq[l]);
		k++;
	}
	if (k != st->lists_count)
		DIFF("%zu lists, want %zu", st->lists_count, k);
	if (st->listed != (k > 0))
		DIFF("listed %d, want %d", st->listed, k > 0);
	for (int a = 0; a < 4; a++) {
		const char *since = r->axis[a] ? r->axis_since[a] : "";
		if (!axes[a]->state || strcmp(axes[a]->state, axis_names[a][r->axis[a]]) ||
		    strcmp(axes[a]->since, since) || axes[a]->seq != r->axis_seq[a])
			DIFF("%s %s since '%s' seq %llu, want %s since '%s' seq %llu",
			     axis_names[a][1], axes[a]->state ? axes[a]->state : "(null)",
			     axes[a]->since, (unsigned long long)axes[a]->seq,
			     axis_names[a][r->axis[a]], since,
			     (unsigned long long)r->axis_seq[a]);
	}
	if (st->meetings != r->meetings || strcmp(st->last_meeting, r->last_meeting))
		DIFF("meetings %llu last '%s', want %llu last '%s'",
		     (unsigned long long)st->meetings, st->last_meeting,
		     (unsigned long long)r->meetings, r->last_meeting);
	if (st->last_change_seq != r->change_seq ||
	    (r->change_seq && (strcmp(st->last_change_date, r->change_date) ||
	                       !st->last_change_type ||
	                       strcmp(st->last_change_type, type_names[r->change_type]))) ||
	    (!r->change_seq && st->last_change_type))
		DIFF("last change %llu %s %s, want %llu %s %s",
		     (unsigned long long)st->last_change_seq, st->last_change_date,
		     st->last_change_type ? st->last_change_type : "(none)",
		     (unsigned long long)r->change_seq, r->change_date,
		     r->change_seq ? type_names[r->change_type] : "(none)");
	if (st->certain != r->certain)
		DIFF("certain %d, want %d", st->certain, r->certain);
#undef DIFF
	return true;
}

/* ---- queries ---- */

typedef struct query {
	int pair;
	uint32_t at;
	uint64_t as_of;
	int as_of_kind;          /* 0 NULL (newest), 1 seq text, 2 RFC 3339 */
	char as_of_text[96];
} query;

typedef struct prop {
	gen g;
	pair_index pi;
	tledger t;
	uint64_t *recorded;      /* recorded_at of seq i at [i] */
	uint64_t queries, failures;
	uint64_t bucket_queries; /* as of the newest, on a long relationship */
	uint64_t timeline_events; /* timeline items compared */
	uint64_t changes_found;  /* relationships reported by changes */
} prop;

/* A day worth asking about for this relationship: span edges, the day
 * before and after them, bucket edges around them, or anywhere. */
static uint32_t rnd_at(prop *p, uint64_t *s, int pair)
{
	const pair_index *pi = &p->pi;
	uint32_t r = rng(s, 20);

	if (pi->n[pair] && r < 14) {
		const gev *e = &p->g.ev[pi->ix[pair][rng(s, (uint32_t)pi->n[pair])]];
		uint32_t base = rng(s, 2) ? e->first : e->last, d;
		int y, m, dd;
		if (!base)
			base = day_of(2000, 1, 1);   /* a retraction: undated */
		ymd_of(&y, &m, &dd, base);
		switch (rng(s, 9)) {
		case 0:  d = base; break;
		case 1:  d = base - 1; break;
		case 2:  d = base + 1; break;
		case 3:  d = day_of(y, m, 1); break;                     /* month */
		case 4:  d = day_of(y, 1, 1); break;                     /* year */
		case 5:  d = day_of(y < 10 ? 1 : y / 10 * 10, 1, 1); break;   /* decade */
		case 6:  d = day_of(y < 100 ? 1 : y / 100 * 100, 1, 1); break; /* century */
		case 7:  d = day_of(y, m, month_days(y, m)); break;     /* month end */
		default: d = base + rng(s, 60) - 30; break;
		}
		if (rng(s, 4) == 0 && d > 1)
			d--;   /* e.g. the last day of the previous bucket */
		return d < 1 ? 1 : d > DAY_MAX ? DAY_MAX : d;
	}
	switch (r) {
	case 14: return 1;
	case 15: return DAY_MAX;
	default: return 1 + rng(s, DAY_MAX);
	}
}

static void rnd_query(query *q, prop *p, uint64_t *s, uint64_t head_now)
{
	const gen *g = &p->g;
	uint32_t r = rng(s, 10);

	memset(q, 0, sizeof *q);
	if (r < 5)
		q->pair = (int)rng(s, 6);                        /* long ones */
	else if (r < 9 || g->pairs == g->used_pairs)
		q->pair = (int)rng(s, (uint32_t)g->used_pairs);
	else
		q->pair = g->used_pairs + (int)rng(s, (uint32_t)(g->pairs - g->used_pairs));
	q->at = rnd_at(p, s, q->pair);
	r = rng(s, 10);
	if (r < 4) {
		q->as_of_kind = 0;
		q->as_of = head_now;
	} else if (r == 4) {
		q->as_of_kind = 1;
		q->as_of = head_now;
	} else if (r < 8) {
		q->as_of_kind = 1;
		q->as_of = rng(s, (uint32_t)head_now + 1);
	} else if (r == 8) {
		/* Just before or at a retraction. */
		q->as_of_kind = 1;
		q->as_of = rng(s, (uint32_t)head_now + 1);
		for (int tries = 0; tries < 16; tries++) {
			size_t k = rng(s, (uint32_t)head_now);
			if (g->ev[k].type == TY_RETRACTION) {
				q->as_of = g->ev[k].seq - rng(s, 2);
				break;
			}
		}
	} else {
		/* An RFC 3339 time: a transaction's time, or a microsecond
		 * before it. */
		uint64_t k = 1 + rng(s, (uint32_t)head_now);
		int64_t us = (int64_t)p->recorded[k] - (int64_t)rng(s, 2);
		q->as_of_kind = 2;
		rfc3339(q->as_of_text, us, rng(s, 2));
		q->as_of = 0;
		for (uint64_t j = 1; j <= head_now; j++)
			if ((int64_t)p->recorded[j] <= us)
				q->as_of = j;
	}
	if (q->as_of_kind == 1)
		snprintf(q->as_of_text, sizeof q->as_of_text, "%llu",
		         (unsigned long long)q->as_of);
}

static void print_pair(const prop *p, int pair, uint64_t as_of)
{
	const gen *g = &p->g;

	fprintf(stderr, "    events of %s %s (seq type date span retracted_by):\n",
	        countries[g->pair_country[pair]], orgs[g->pair_org[pair]]);
	for (size_t k = 0; k < p->pi.n[pair]; k++) {
		const gev *e = &g->ev[p->pi.ix[pair][k]];
		if (e->seq > as_of)
			break;
		fprintf(stderr, "      %llu %s %s %u..%u %s%s%llu\n",
		        (unsigned long long)e->seq, type_names[e->type], e->edtf,
		        e->first, e->last,
		        e->type == TY_LISTED || e->type == TY_DELISTED ? lists[e->list] : "",
		        e->target >= 0 ? " target " : " r ",
		        (unsigned long long)(e->target >= 0 ? g->ev[e->target].seq : e->retracted_by));
	}
}

/* Ask the ledger and the reference; on a difference, say so once with
 * everything needed to reproduce it. json (may be NULL) gets the status
 * as JSON, malloc'd. */
static void run_query(prop *p, const query *q, const char *phase, char **json)
{
	const gen *g = &p->g;
	ledger_status st;
	ref_status r;
	char day[11], why[512];
	ledger_err err;

	fmt_day(day, q->at);
	err = t_status(&st, &p->t, countries[g->pair_country[q->pair]],
	               orgs[g->pair_org[q->pair]], day,
	               q->as_of_kind ? q->as_of_text : NULL);
	p->queries++;
	if (json)
		*json = NULL;
	if (err != LEDGER_OK) {
		if (p->failures++ < 3)
			fprintf(stderr, "\n  seed %#llx (ANNALS_PROPERTY_SEED), %s: status "
			        "%s %s at %s as of %s: %s: %s\n",
			        (unsigned long long)g->seed, phase,
			        countries[g->pair_country[q->pair]], orgs[g->pair_org[q->pair]],
			        day, q->as_of_kind ? q->as_of_text : "(newest)",
			        ledger_strerror(err), ledger_errmsg(p->t.l));
		return;
	}
	if (q->pair < 6 && q->as_of_kind != 2 && q->as_of == p->g.batch_end[p->g.batches - 1])
		p->bucket_queries++;
	ref_fold(&r, g, &p->pi, q->pair, q->at, q->as_of);
	if (!ref_matches(&r, &st, g, q->pair, q->at, q->as_of, why, sizeof why) &&
	    p->failures++ < 3) {
		char *text = ledger_status_json(&st);
		fprintf(stderr, "\n  seed %#llx (ANNALS_PROPERTY_SEED), %s: status %s %s "
		        "at %s as of %s (seq %llu) differs from the reference: %s\n"
		        "    ledger: %s\n", (unsigned long long)g->seed, phase,
		        countries[g->pair_country[q->pair]], orgs[g->pair_org[q->pair]],
		        day, q->as_of_kind ? q->as_of_text : "(newest)",
		        (unsigned long long)q->as_of, why, text ? text : "?");
		free(text);
		if (p->failures == 1)
			print_pair(p, q->pair, q->as_of);
	}
	if (json)
		*json = ledger_status_json(&st);
	ledger_status_free(&st);
}

/* ---- changes against the reference ---- */

static bool ref_same(const ref_status *a, const ref_status *b)
{
	for (int l = 0; l < LISTS; l++)
		if (a->on[l] != b->on[l] || (a->on[l] && a->list_seq[l] != b->list_seq[l]))
			return false;
	for (int x = 0; x < 4; x++)
		if (a->axis[x] != b->axis[x] || a->axis_seq[x] != b->axis_seq[x])
			return false;
	return a->meetings == b->meetings && strcmp(a->last_meeting, b->last_meeting) == 0;
}

typedef struct ch_prop {
	prop *p;
	char got[PAIRS_MAX][4096];
	int n;
	uint32_t from_day, to_day;
	uint64_t before_as_of;
	bool bad_status;
} ch_prop;

static int pair_of(const gen *g, const char *c, const char *o)
{
	for (int k = 0; k < g->pairs; k++)
		if (strcmp(countries[g->pair_country[k]], c) == 0 &&
		    strcmp(orgs[g->pair_org[k]], o) == 0)
			return k;
	return -1;
}

static int ch_prop_take(void *ctx, const ledger_status *before,
                        const ledger_status *after, const uint64_t *seqs, size_t n)
{
	ch_prop *c = ctx;
	const gen *g = &c->p->g;
	uint64_t newest = g->batch_end[g->batches - 1];
	int pair = pair_of(g, after->country, after->organization);
	ref_status r;
	char why[512];
	size_t k;

	if (c->n >= PAIRS_MAX || pair < 0) {
		c->bad_status = true;
		return 1;
	}
	k = (size_t)snprintf(c->got[c->n], sizeof c->got[0], "%s %s:",
	                     after->country, after->organization);
	for (size_t i = 0; i < n && k < sizeof c->got[0]; i++)
		k += (size_t)snprintf(c->got[c->n] + k, sizeof c->got[0] - k, " %llu",
		                      (unsigned long long)seqs[i]);
	c->n++;
	/* The two statuses handed over are statuses too. */
	ref_fold(&r, g, &c->p->pi, pair, c->from_day, c->before_as_of);
	if (!ref_matches(&r, before, g, pair, c->from_day, c->before_as_of, why, sizeof why)) {
		if (!c->bad_status && c->p->failures < 3)
			fprintf(stderr, "\n  changes: the status before of %s %s differs "
			        "from the reference: %s\n", after->country, after->organization, why);
		c->bad_status = true;
	}
	ref_fold(&r, g, &c->p->pi, pair, c->to_day, newest);
	if (!ref_matches(&r, after, g, pair, c->to_day, newest, why, sizeof why)) {
		if (!c->bad_status && c->p->failures < 3)
			fprintf(stderr, "\n  changes: the status after of %s %s differs "
			        "from the reference: %s\n", after->country, after->organization, why);
		c->bad_status = true;
	}
	return 0;
}

static int str_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* One changes query, date mode (since_seq ignored) or seq mode. */
static void changes_check(prop *p, bool by_date, uint32_t d1, uint32_t d2,
                          uint64_t since)
{
	const gen *g = &p->g;
	uint64_t newest = g->batch_end[g->batches - 1];
	static ch_prop c;
	static char want[PAIRS_MAX][4096];
	char f[11], t[11];
	int nw = 0;
	ledger_changes_query q;
	ledger_err err;

	memset(&c, 0, sizeof c);
	c.p = p;
	c.from_day = by_date ? d1 : d2;
	c.to_day = d2;
	c.before_as_of = by_date ? newest : since;
	fmt_day(f, d1);
	fmt_day(t, d2);
	for (int pair = 0; pair < g->used_pairs; pair++) {
		ref_status a, b;
		size_t k;
		ref_fold(&a, g, &p->pi, pair, c.from_day, c.before_as_of);
		ref_fold(&b, g, &p->pi, pair, d2, newest);
		if (ref_same(&a, &b))
			continue;
		k = (size_t)snprintf(want[nw], sizeof want[0], "%s %s:",
		                     countries[g->pair_country[pair]], orgs[g->pair_org[pair]]);
		for (size_t i = 0; i < p->pi.n[pair] && k < sizeof want[0]; i++) {
			const gev *e = &g->ev[p->pi.ix[pair][i]];
			bool in = by_date ? e->first > d1 && e->first <= d2 : e->seq > since;
			if (in)
				k += (size_t)snprintf(want[nw] + k, sizeof want[0] - k, " %llu",
				                      (unsigned long long)e->seq);
		}
		nw++;
	}
	if (by_date)
		q = (ledger_changes_query){ .from = f, .to = t };
	else
		q = (ledger_changes_query){ .since_seq = since, .at = t };
	err = ledger_changes(p->t.l, &q, ch_prop_take, &c);
	p->queries++;
	qsort(want, (size_t)nw, sizeof want[0], str_cmp);
	qsort(c.got, (size_t)c.n, sizeof c.got[0], str_cmp);
	p->changes_found += (uint64_t)c.n;
	bool ok = err == LEDGER_OK && !c.bad_status && c.n == nw;
	for (int i = 0; ok && i < nw; i++)
		ok = strcmp(want[i], c.got[i]) == 0;
	if (!ok && p->failures++ < 3) {
		fprintf(stderr, "\n  seed %#llx (ANNALS_PROPERTY_SEED): changes %s %s %s "
		        "(%s) differs from the reference\n", (unsigned long long)g->seed,
		        by_date ? f : "since", by_date ? t : "", by_date ? "" : "",
		        ledger_strerror(err));
		if (!by_date)
			fprintf(stderr, "    since seq %llu at %s\n", (unsigned long long)since, t);
		for (int i = 0; i < c.n; i++)
			fprintf(stderr, "    got  %s\n", c.got[i]);
		for (int i = 0; i < nw; i++)
			fprintf(stderr, "    want %s\n", want[i]);
	}
}

/* ---- timelines against the reference ---- */

typedef struct tl_prop {
	uint64_t (*got)[2];      /* seq, retracted_by */
	size_t n, cap;
} tl_prop;

static int tl_prop_take(void *ctx, const ledger_timeline_item *it)
{
	tl_prop *t = ctx;

	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 256;
		t->got = realloc(t->got, t->cap * sizeof *t->got);
		if (!t->got)
			return 1;
	}
	t->got[t->n][0] = it->event->seq;
	t->got[t->n][1] = it->retracted_by;
	t->n++;
	return 0;
}

/* One timeline: of a relationship, a country, an organization or all;
 * --from/--to as whole days or not at all; as of a seq. */
static void timeline_check(prop *p, uint64_t *s)
{
	const gen *g = &p->g;
	uint64_t newest = g->batch_end[g->batches - 1];
	int pair = (int)rng(s, (uint32_t)g->used_pairs), mode = (int)rng(s, 4);
	const char *c = mode == 0 || mode == 1 ? countries[g->pair_country[pair]] : NULL;
	const char *o = mode == 0 || mode == 2 ? orgs[g->pair_org[pair]] : NULL;
	uint32_t from = rng(s, 3) ? 0 : rnd_at(p, s, pair);
	uint32_t to = rng(s, 3) ? 0 : rnd_at(p, s, pair);
	uint64_t as_of = rng(s, 2) ? newest : rng(s, (uint32_t)newest + 1);
	char f[11], t[11], a[24];
	size_t *want = malloc(g->n * sizeof *want), nw = 0;
	tl_prop got = { NULL, 0, 0 };
	ledger_timeline_query q = { c, o, NULL, NULL, u64(a, as_of) };
	ledger_err err;
	bool ok;

	CU_ASSERT_PTR_NOT_NULL_FATAL(want);
	if (from) {
		fmt_day(f, from);
		q.from = f;
	}
	if (to) {
		fmt_day(t, to);
		q.to = t;
	}
	for (size_t i = 0; i < g->n; i++) {
		const gev *e = &g->ev[i];
		if (e->seq > as_of || e->pair < 0 || !e->first ||
		    (c && strcmp(countries[g->pair_country[e->pair]], c)) ||
		    (o && strcmp(orgs[g->pair_org[e->pair]], o)) ||
		    (from && e->first < from) || (to && e->first > to))
			continue;
		want[nw++] = i;
	}
	sort_gen = g;
	qsort(want, nw, sizeof *want, by_date_seq);
	err = ledger_timeline(p->t.l, &q, tl_prop_take, &got);
	p->queries++;
	p->timeline_events += nw;
	ok = err == LEDGER_OK && got.n == nw;
	for (size_t i = 0; ok && i < nw; i++) {
		const gev *e = &g->ev[want[i]];
		ok = got.got[i][0] == e->seq &&
		     got.got[i][1] == (e->retracted_by <= as_of ? e->retracted_by : 0);
	}
	if (!ok && p->failures++ < 3) {
		fprintf(stderr, "\n  seed %#llx (ANNALS_PROPERTY_SEED): timeline %s %s "
		        "from %s to %s as of %llu differs from the reference (%s): got "
		        "%zu events, want %zu\n", (unsigned long long)g->seed,
		        c ? c : "*", o ? o : "*", q.from ? q.from : "-", q.to ? q.to : "-",
		        (unsigned long long)as_of, ledger_strerror(err), got.n, nw);
		for (size_t i = 0; i < nw && i < got.n; i++) {
			const gev *e = &g->ev[want[i]];
			if (got.got[i][0] != e->seq || got.got[i][1] != (e->retracted_by <= as_of ? e->retracted_by : 0)) {
				fprintf(stderr, "    first difference at %zu: got %llu/%llu, want %llu/%llu\n",
				        i, (unsigned long long)got.got[i][0], (unsigned long long)got.got[i][1],
				        (unsigned long long)e->seq,
				        (unsigned long long)(e->retracted_by <= as_of ? e->retracted_by : 0));
				break;
			}
		}
	}
	free(got.got);
	free(want);
}


struct rec_fill {
	uint64_t *recorded;
};

static int fill_recorded(void *ctx, const ledger_event_view *ev)
{
	((struct rec_fill *)ctx)->recorded[ev->seq] = ev->recorded_at_us;
	return 0;
}

typedef struct property_cfg {
	const char *name;
	size_t long_events;       /* events of the longest relationship; 0: 400..699 */
	size_t batch_max;         /* events of a batch: 1..batch_max */
	unsigned per_batch, final, by_date, by_seq, timelines;   /* queries */
} property_cfg;

/* The property test of issue 3: for random ledgers appended in several
 * batches, status (as of the newest seq after every batch, and as of any
 * older seq or time), timeline, changes, and status after rebuild all
 * equal the naive reference fold. Seed: ANNALS_PROPERTY_SEED. */
static void property_run(const property_cfg *cfg)
{
	static prop p;
	uint64_t seed = 0x616e6e616c73ull, s;
	const char *env = getenv("ANNALS_PROPERTY_SEED");
	query *final_q;
	char **final_json;
	ledger_rebuild_stats rs;
	clock_t t0 = clock();

	if (env && *env)
		seed = strtoull(env, NULL, 0);
	memset(&p, 0, sizeof p);
	gen_make(&p.g, seed, cfg->long_events, cfg->batch_max);
	pair_index_make(&p.pi, &p.g);
	p.recorded = calloc(p.g.n + 1, sizeof *p.recorded);
	final_q = calloc(cfg->final, sizeof *final_q);
	final_json = calloc(cfg->final, sizeof *final_json);
	CU_ASSERT_FATAL(p.recorded && final_q && final_json);
	t_open(&p.t);
	s = seed ^ 0x5157455249455351ull;   /* a stream of its own for queries */

	/* Batches, with queries after each. */
	for (int b = 0; b < p.g.batches; b++) {
		size_t from = b ? p.g.batch_end[b - 1] : 0, to = p.g.batch_end[b];
		char *text = gen_ndjson(&p.g, from, to);
		ledger_import_stats st;
		struct rec_fill rf = { p.recorded };
		ledger_err err = t_import(&p.t, text, &st);
		free(text);
		if (err != LEDGER_OK)
			fprintf(stderr, "  seed %#llx (ANNALS_PROPERTY_SEED), batch %d\n",
			        (unsigned long long)seed, b);
		CU_ASSERT_EQUAL_FATAL(err, LEDGER_OK);
		CU_ASSERT_EQUAL_FATAL(st.appended, to - from);
		CU_ASSERT_EQUAL_FATAL(st.first_seq, from + 1);
		CU_ASSERT_EQUAL(ledger_each(p.t.l, from + 1, to - from, fill_recorded, &rf),
		                LEDGER_OK);
		for (size_t i = from; i < to; i++)
			if (seq_of(&p.t, p.g.ev[i].id) != p.g.ev[i].seq)
				CU_FAIL_FATAL("an event did not get the seq the reference expects");
		for (unsigned k = 0; k < cfg->per_batch && b > 0; k++) {
			query q;
			char phase[32];
			snprintf(phase, sizeof phase, "after batch %d", b);
			rnd_query(&q, &p, &s, to);
			run_query(&p, &q, phase, NULL);
		}
	}

	/* Many queries on the whole ledger, kept to compare after rebuild. */
	uint64_t newest = p.g.batch_end[p.g.batches - 1];
	for (unsigned k = 0; k < cfg->final; k++) {
		rnd_query(&final_q[k], &p, &s, newest);
		run_query(&p, &final_q[k], "final", &final_json[k]);
	}
	for (unsigned k = 0; k < cfg->by_date; k++) {
		int pair = (int)rng(&s, (uint32_t)p.g.used_pairs);
		uint32_t d1 = rnd_at(&p, &s, pair), d2 = rnd_at(&p, &s, pair);
		if (d1 > d2) {
			uint32_t x = d1;
			d1 = d2;
			d2 = x;
		}
		changes_check(&p, true, d1, d2, 0);
	}
	for (unsigned k = 0; k < cfg->by_seq; k++) {
		int pair = (int)rng(&s, (uint32_t)p.g.used_pairs);
		changes_check(&p, false, 0, rnd_at(&p, &s, pair), rng(&s, (uint32_t)newest + 1));
	}

	for (unsigned k = 0; k < cfg->timelines; k++)
		timeline_check(&p, &s);

	/* Rebuild: equal, and every answer unchanged. */
	CU_ASSERT_EQUAL_FATAL(ledger_rebuild(&rs, p.t.l), LEDGER_OK);
	CU_ASSERT_EQUAL(rs.events, newest);
	if (!rs.equal)
		fprintf(stderr, "\n  seed %#llx (ANNALS_PROPERTY_SEED): rebuild reports "
		        "that the indexes differ\n", (unsigned long long)seed);
	CU_ASSERT_TRUE(rs.equal);
	unsigned changed = 0;
	for (unsigned k = 0; k < cfg->final; k++) {
		char *json;
		run_query(&p, &final_q[k], "after rebuild", &json);
		if (!json || !final_json[k] || strcmp(json, final_json[k]) != 0)
			if (changed++ < 3)
				fprintf(stderr, "\n  after rebuild: %s\n  before:        %s\n",
				        json ? json : "?", final_json[k] ? final_json[k] : "?");
		free(json);
		free(final_json[k]);
	}
	CU_ASSERT_EQUAL(changed, 0);
	CU_ASSERT_EQUAL(p.failures, 0);
	CU_ASSERT(p.queries >= (uint64_t)cfg->final * 2);

	size_t lo = SIZE_MAX, hi = 0;
	for (int k = 0; k < p.g.used_pairs; k++) {
		lo = p.pi.n[k] < lo ? p.pi.n[k] : lo;
		hi = p.pi.n[k] > hi ? p.pi.n[k] : hi;
	}
	fprintf(stderr, "\n  %s: seed %#llx, %zu events in %d batches, %d "
	        "relationships (%zu..%zu events), %llu queries (%llu statuses as "
	        "of the newest on a long relationship, %llu timeline items, %llu "
	        "changed relationships), %llu failures, %.1f s\n",
	        cfg->name, (unsigned long long)seed, p.g.n, p.g.batches, p.g.used_pairs,
	        lo, hi, (unsigned long long)p.queries,
	        (unsigned long long)p.bucket_queries,
	        (unsigned long long)p.timeline_events,
	        (unsigned long long)p.changes_found, (unsigned long long)p.failures,
	        (double)(clock() - t0) / CLOCKS_PER_SEC);
	t_close(&p.t);
	pair_index_free(&p.pi);
	gen_free(&p.g);
	free(p.recorded);
	free(final_q);
	free(final_json);
}

/* About 1,300 events in about 15 batches, 20,000 queries. */
static void test_projection_property(void)
{
	static const property_cfg cfg = {
		"property", 0, 250, 400, 7000, 100, 40, 200,
	};

	property_run(&cfg);
	CU_ASSERT(cfg.final * 2 + cfg.per_batch >= 10000);
}

/* A relationship of 1,500 events, 40 % of them in one month on three of
 * its days (day buckets), appended in up to 63 batches of 1 to 60 events
 * with retractions: the incremental path of the cumulative buckets. */
static void test_projection_property_busy(void)
{
	static const property_cfg cfg = {
		"busy", 1500, 60, 60, 3000, 40, 40, 20,
	};

	property_run(&cfg);
}

/* One relationship of 80,000 events, everything in one import, then
 * rebuild: a long stream's buckets made in one flush. (Flushes in the
 * middle of a transaction, which a set of 4 million marks leaves to far
 * larger imports, are tested with a tiny set in test_pending.c.) About
 * 15 s (minutes under sanitizers or valgrind): run only with
 * ANNALS_TEST_LARGE=1. */
static void test_projection_property_large(void)
{
	static const property_cfg cfg = {
		"large", 80000, 1000000000, 0, 2000, 20, 10, 20,
	};
	const char *env = getenv("ANNALS_TEST_LARGE");

	if (!env || strcmp(env, "1") != 0) {
		fprintf(stderr, "\n  large: skipped (set ANNALS_TEST_LARGE=1)\n");
		return;
	}
	property_run(&cfg);
}

void suite_projection(void);
void suite_projection(void)
{
	CU_pSuite s = CU_add_suite("projection", NULL, NULL);

	CU_add_test(s, "every event type", test_projection_every_type);
	CU_add_test(s, "repeats keep since", test_projection_repeats_keep_since);
	CU_add_test(s, "retraction after as-of", test_projection_retraction_after_as_of);
	CU_add_test(s, "late event, early date", test_projection_late_event_early_date);
	CU_add_test(s, "same day", test_projection_same_day);
	CU_add_test(s, "redaction counts", test_projection_redaction_counts);
	CU_add_test(s, "Kazakhstan example", test_projection_kazakhstan);
	CU_add_test(s, "as-of an RFC 3339 time", test_projection_as_of_time);
	CU_add_test(s, "errors", test_projection_errors);
	CU_add_test(s, "status JSON", test_projection_status_json);
	CU_add_test(s, "timeline", test_projection_timeline);
	CU_add_test(s, "changes", test_projection_changes);
	CU_add_test(s, "rebuild the example", test_projection_rebuild_example);
	CU_add_test(s, "rebuild: threshold reached by a non-folding event", test_projection_rebuild_threshold);
	CU_add_test(s, "busy month: day buckets vs the events, incremental and rebuilt", test_projection_busy_month);
	CU_add_test(s, "property: random ledgers vs reference", test_projection_property);
	CU_add_test(s, "property: a busy relationship in small batches", test_projection_property_busy);
	CU_add_test(s, "property: 80,000 events in one import (ANNALS_TEST_LARGE=1)", test_projection_property_large);
}
