/* The status fold (ledger/fold.h): every event type, same-day order, partial
 * dates and `certain`, composition (fold(a) then fold(b) must equal the
 * fold of a followed by b, which bucket folds rely on), and the encoding of
 * a fold: round trip and refusal of malformed bytes. Expected encodings are
 * built here from the layout drawn in fold.c, not with fold_encode. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "date.h"
#include "fold.h"
#include "rand.h"

#define T(x) ANNALS__EVENT_TYPE__##x

/* ---- helpers ---- */

/* One event with its date parsed from EDTF text; the strings must outlive
 * the event. */
static fold_event ev(Annals__EventType type, uint64_t seq, const char *edtf,
                     const char *list, const char *authority)
{
	fold_event e;
	date_span d;

	memset(&e, 0, sizeof e);
	e.type = type;
	e.seq = seq;
	if (edtf) {
		CU_ASSERT_PTR_NULL_FATAL(date_parse(&d, edtf, strlen(edtf)));
		e.first_day = d.first_day;
		e.last_day = d.last_day;
	}
	e.edtf = edtf;
	e.list = list;
	e.list_bytes = list ? strlen(list) : 0;
	e.authority = authority;
	e.authority_bytes = authority ? strlen(authority) : 0;
	return e;
}

static void apply(fold *f, fold_event e)
{
	CU_ASSERT_FATAL(fold_apply(f, &e));
}

static uint32_t day(const char *ymd)
{
	date_span d;

	CU_ASSERT_PTR_NULL_FATAL(date_parse(&d, ymd, strlen(ymd)));
	return d.first_day;
}

/* `certain` at day D as DESIGN §6 defines it, from a fold. */
static bool certain_at(const fold *f, uint32_t d)
{
	return f->max_last_day <= d;
}

static const fold_list *find_list(const fold *f, const char *name)
{
	for (size_t i = 0; i < f->lists_count; i++)
		if (strcmp(f->lists[i].name, name) == 0)
			return &f->lists[i];
	return NULL;
}

static bool list_on(const fold *f, const char *name)
{
	const fold_list *l = find_list(f, name);
	return l && fold_list_on(l);
}

/* A malloc'd encoding of f; *n gets its length. */
static uint8_t *encode(const fold *f, size_t *n)
{
	size_t want = fold_encoded_bytes(f);
	uint8_t *buf = malloc(want + 1);

	CU_ASSERT_FATAL(buf != NULL);
	*n = fold_encode(buf, want, f);
	CU_ASSERT_EQUAL(*n, want);
	return buf;
}

static bool same_bytes(const fold *a, const fold *b)
{
	size_t na, nb;
	uint8_t *x = encode(a, &na), *y = encode(b, &nb);
	bool same = na == nb && memcmp(x, y, na) == 0;

	free(x);
	free(y);
	return same;
}

/* What a status shows of a fold, as text: the four axes with their since
 * seq, the lists that are on with since seq and authority, meetings, the
 * last change and the day bounds. Lists that are off are not shown. */
static void observe(char *out, size_t cap, const fold *f)
{
	size_t n = 0;

	for (int i = 0; i < FOLD_AXES; i++)
		n += (size_t)snprintf(out + n, cap - n, "axis%d=%u@%llu/%s ", i,
		                      f->axes[i].state,
		                      (unsigned long long)(f->axes[i].state ? f->axes[i].since.seq : 0),
		                      f->axes[i].state ? f->axes[i].since.edtf : "");
	for (size_t i = 0; i < f->lists_count && n < cap; i++)
		if (fold_list_on(&f->lists[i]))
			n += (size_t)snprintf(out + n, cap - n, "list %s@%llu/%s by '%s' ",
			                      f->lists[i].name,
			                      (unsigned long long)f->lists[i].since.seq,
			                      f->lists[i].since.edtf, f->lists[i].authority);
	if (n < cap)
		snprintf(out + n, cap - n, "meetings=%llu last=%llu/%s change=%llu/%u/%s "
		         "maxlast=%u maxfirst=%u",
		         (unsigned long long)f->meetings,
		         (unsigned long long)f->last_meeting.seq, f->last_meeting.edtf,
		         (unsigned long long)f->last_change.seq, f->last_change_type,
		         f->last_change.edtf, f->max_last_day, f->max_first_day);
}

/* ---- every event type ---- */

static void test_fold_identity(void)
{
	fold f, g;
	size_t n;
	uint8_t *b;

	fold_init(&f);
	fold_init(&g);
	CU_ASSERT_EQUAL(f.lists_count, 0);
	CU_ASSERT_EQUAL(f.meetings, 0);
	CU_ASSERT_EQUAL(f.last_change.seq, 0);
	for (int i = 0; i < FOLD_AXES; i++)
		CU_ASSERT_EQUAL(f.axes[i].state, FOLD_UNSET);
	CU_ASSERT_TRUE(certain_at(&f, 1));
	CU_ASSERT_FATAL(fold_compose(&f, &g));
	CU_ASSERT_TRUE(same_bytes(&f, &g));
	b = encode(&f, &n);
	/* version, 4 x (state, same, ref of 13), meetings, 2 refs, type,
	 * 2 days, count */
	CU_ASSERT_EQUAL(n, 1 + 4 * 15 + 8 + 13 + 13 + 1 + 8 + 2);
	free(b);
	fold_free(&f);
	fold_free(&g);
	fold_free(&f);   /* freeing twice is harmless: fold_free re-inits */
}

static void test_fold_takes_types(void)
{
	for (int t = 0; t <= T(REDACTION); t++)
		CU_ASSERT_EQUAL(fold_takes((Annals__EventType)t),
		                t >= T(LISTED) && t <= T(MEETING));
}

static void test_fold_listed_delisted(void)
{
	fold f;
	const fold_list *l;

	fold_init(&f);
	apply(&f, ev(T(LISTED), 3, "2005?", "banned-organizations", "Supreme Court"));
	CU_ASSERT_EQUAL_FATAL(f.lists_count, 1);
	l = &f.lists[0];
	CU_ASSERT_STRING_EQUAL(l->name, "banned-organizations");
	CU_ASSERT_TRUE(fold_list_on(l));
	CU_ASSERT_EQUAL(l->since.seq, 3);
	CU_ASSERT_EQUAL(l->since.day, day("2005-01-01"));
	CU_ASSERT_STRING_EQUAL(l->since.edtf, "2005?");
	CU_ASSERT_STRING_EQUAL(l->authority, "Supreme Court");
	CU_ASSERT_EQUAL(f.last_change.seq, 3);
	CU_ASSERT_EQUAL(f.last_change_type, T(LISTED));

	apply(&f, ev(T(DELISTED), 4, "2023-12-29", "banned-organizations", "Supreme Court"));
	CU_ASSERT_FALSE(list_on(&f, "banned-organizations"));
	CU_ASSERT_EQUAL(f.last_change.seq, 4);
	CU_ASSERT_EQUAL(f.last_change_type, T(DELISTED));
	CU_ASSERT_STRING_EQUAL(f.last_change.edtf, "2023-12-29");

	/* Listed again: a new since, authority and seq. */
	apply(&f, ev(T(LISTED), 9, "2024-02", "banned-organizations", NULL));
	l = find_list(&f, "banned-organizations");
	CU_ASSERT_TRUE_FATAL(l && fold_list_on(l));
	CU_ASSERT_EQUAL(l->since.seq, 9);
	CU_ASSERT_STRING_EQUAL(l->since.edtf, "2024-02");
	CU_ASSERT_STRING_EQUAL(l->authority, "");
	fold_free(&f);
}

static void test_fold_relisting_keeps_since(void)
{
	fold f;
	const fold_list *l;

	fold_init(&f);
	apply(&f, ev(T(LISTED), 1, "2001-09-12", "fto", "State Department"));
	apply(&f, ev(T(LISTED), 2, "2002", "fto", "Congress"));
	l = find_list(&f, "fto");
	CU_ASSERT_TRUE_FATAL(l != NULL);
	CU_ASSERT_EQUAL(l->since.seq, 1);
	CU_ASSERT_STRING_EQUAL(l->since.edtf, "2001-09-12");
	CU_ASSERT_STRING_EQUAL(l->authority, "State Department");
	/* The re-listing is still the last change. */
	CU_ASSERT_EQUAL(f.last_change.seq, 2);
	CU_ASSERT_EQUAL(f.max_last_day, day("2002-12-31"));
	fold_free(&f);
}

static void test_fold_lists_are_independent_and_sorted(void)
{
	fold f;

	fold_init(&f);
	apply(&f, ev(T(LISTED), 1, "2001", "zeta", NULL));
	apply(&f, ev(T(LISTED), 2, "2001", "alpha", NULL));
	apply(&f, ev(T(LISTED), 3, "2001", "alpha-2", NULL));
	apply(&f, ev(T(DELISTED), 4, "2002", "alpha", NULL));
	apply(&f, ev(T(DELISTED), 5, "2002", "never-listed", NULL));
	CU_ASSERT_EQUAL_FATAL(f.lists_count, 4);
	CU_ASSERT_STRING_EQUAL(f.lists[0].name, "alpha");
	CU_ASSERT_STRING_EQUAL(f.lists[1].name, "alpha-2");
	CU_ASSERT_STRING_EQUAL(f.lists[2].name, "never-listed");
	CU_ASSERT_STRING_EQUAL(f.lists[3].name, "zeta");
	CU_ASSERT_FALSE(list_on(&f, "alpha"));
	CU_ASSERT_TRUE(list_on(&f, "alpha-2"));
	CU_ASSERT_FALSE(list_on(&f, "never-listed"));
	CU_ASSERT_TRUE(list_on(&f, "zeta"));
	fold_free(&f);
}

static void test_fold_axes(void)
{
	static const struct {
		Annals__EventType on, off;
		enum fold_axis axis;
	} axes[] = {
		{ T(RECOGNIZED), T(RECOGNITION_WITHDRAWN), FOLD_RECOGNITION },
		{ T(RELATIONS_ESTABLISHED), T(RELATIONS_SUSPENDED), FOLD_RELATIONS },
		{ T(MISSION_OPENED), T(MISSION_CLOSED), FOLD_MISSION },
		{ T(SANCTIONS_IMPOSED), T(SANCTIONS_LIFTED), FOLD_SANCTIONS },
	};

	for (size_t i = 0; i < sizeof axes / sizeof axes[0]; i++) {
		fold f;
		const fold_flag *x;
		fold_init(&f);
		apply(&f, ev(axes[i].on, 10, "1992-03", NULL, "Parliament"));
		x = &f.axes[axes[i].axis];
		CU_ASSERT_EQUAL(x->state, FOLD_ON);
		CU_ASSERT_EQUAL(x->since.seq, 10);
		CU_ASSERT_STRING_EQUAL(x->since.edtf, "1992-03");
		CU_ASSERT_EQUAL(x->since.day, day("1992-03-01"));
		/* The other axes are untouched. */
		for (int k = 0; k < FOLD_AXES; k++)
			if (k != (int)axes[i].axis)
				CU_ASSERT_EQUAL(f.axes[k].state, FOLD_UNSET);
		/* A repeated state keeps its since. */
		apply(&f, ev(axes[i].on, 11, "1993", NULL, NULL));
		CU_ASSERT_EQUAL(x->since.seq, 10);
		CU_ASSERT_EQUAL(f.last_change.seq, 11);
		CU_ASSERT_EQUAL(f.last_change_type, axes[i].on);
		apply(&f, ev(axes[i].off, 12, "2001-09-11", NULL, NULL));
		CU_ASSERT_EQUAL(x->state, FOLD_OFF);
		CU_ASSERT_EQUAL(x->since.seq, 12);
		CU_ASSERT_STRING_EQUAL(x->since.edtf, "2001-09-11");
		apply(&f, ev(axes[i].off, 13, "2002", NULL, NULL));
		CU_ASSERT_EQUAL(x->since.seq, 12);
		apply(&f, ev(axes[i].on, 14, "2021-08-15", NULL, NULL));
		CU_ASSERT_EQUAL(x->state, FOLD_ON);
		CU_ASSERT_EQUAL(x->since.seq, 14);
		CU_ASSERT_EQUAL(f.last_change_type, axes[i].on);
		CU_ASSERT_EQUAL(f.lists_count, 0);
		CU_ASSERT_EQUAL(f.meetings, 0);
		fold_free(&f);
	}
}

static void test_fold_off_first(void)
{
	fold f;

	/* A withdrawal with nothing before it still sets the state. */
	fold_init(&f);
	apply(&f, ev(T(SANCTIONS_LIFTED), 5, "2010", NULL, NULL));
	CU_ASSERT_EQUAL(f.axes[FOLD_SANCTIONS].state, FOLD_OFF);
	CU_ASSERT_EQUAL(f.axes[FOLD_SANCTIONS].since.seq, 5);
	fold_free(&f);
}

static void test_fold_meetings(void)
{
	fold f;

	fold_init(&f);
	apply(&f, ev(T(MEETING), 1, "2022-05-XX", NULL, NULL));
	apply(&f, ev(T(MEETING), 7, "2023-12", NULL, NULL));
	apply(&f, ev(T(MEETING), 2, "2023-12-20", NULL, NULL));
	CU_ASSERT_EQUAL(f.meetings, 3);
	/* The last meeting in fold order, not the newest seq. */
	CU_ASSERT_EQUAL(f.last_meeting.seq, 2);
	CU_ASSERT_STRING_EQUAL(f.last_meeting.edtf, "2023-12-20");
	CU_ASSERT_EQUAL(f.last_change.seq, 2);
	CU_ASSERT_EQUAL(f.last_change_type, T(MEETING));
	CU_ASSERT_EQUAL(f.max_last_day, day("2023-12-31"));
	CU_ASSERT_EQUAL(f.max_first_day, day("2023-12-20"));
	fold_free(&f);
}

static void test_fold_ignored_types(void)
{
	static const Annals__EventType ignored[] = {
		ANNALS__EVENT_TYPE__EVENT_TYPE_UNSPECIFIED, T(AGREEMENT_SIGNED),
		T(STATEMENT), T(ORGANIZATION), T(RETRACTION), T(REDACTION),
	};
	fold f, g;

	fold_init(&f);
	fold_init(&g);
	apply(&f, ev(T(LISTED), 1, "2000", "l", NULL));
	apply(&g, ev(T(LISTED), 1, "2000", "l", NULL));
	for (size_t i = 0; i < sizeof ignored / sizeof ignored[0]; i++) {
		/* Even a statement dated later with a long span changes nothing:
		 * not the last change, not `certain`, not max_first_day. */
		fold_event e = ev(ignored[i], 10 + i, "2030", "l", "x");
		CU_ASSERT_TRUE(fold_apply(&f, &e));
		e = ev(ignored[i], 20 + i, "2030", NULL, NULL);
		CU_ASSERT_TRUE(fold_apply(&f, &e));
	}
	CU_ASSERT_TRUE(same_bytes(&f, &g));
	CU_ASSERT_EQUAL(f.last_change.seq, 1);
	CU_ASSERT_EQUAL(f.max_first_day, day("2000-01-01"));
	fold_free(&f);
	fold_free(&g);
}

/* ---- order and dates ---- */

static void test_fold_same_day_order_by_seq(void)
{
	fold f;

	/* Listed and delisted on one day: what folds last wins, and the
	 * caller folds in seq order within a day. */
	fold_init(&f);
	apply(&f, ev(T(LISTED), 5, "2023-12-29", "x", NULL));
	apply(&f, ev(T(DELISTED), 6, "2023-12-29", "x", NULL));
	CU_ASSERT_FALSE(list_on(&f, "x"));
	CU_ASSERT_EQUAL(f.last_change.seq, 6);
	fold_free(&f);

	fold_init(&f);
	apply(&f, ev(T(DELISTED), 5, "2023-12-29", "x", NULL));
	apply(&f, ev(T(LISTED), 6, "2023-12-29", "x", NULL));
	CU_ASSERT_TRUE(list_on(&f, "x"));
	CU_ASSERT_EQUAL(find_list(&f, "x")->since.seq, 6);
	fold_free(&f);

	/* A partial date starting on the same first day as an exact one is
	 * ordered by seq too: 2023-12 (seq 3) before 2023-12-01 (seq 4). */
	fold_init(&f);
	apply(&f, ev(T(RECOGNIZED), 3, "2023-12", NULL, NULL));
	apply(&f, ev(T(RECOGNITION_WITHDRAWN), 4, "2023-12-01", NULL, NULL));
	CU_ASSERT_EQUAL(f.axes[FOLD_RECOGNITION].state, FOLD_OFF);
	CU_ASSERT_EQUAL(f.last_change.seq, 4);
	CU_ASSERT_STRING_EQUAL(f.last_change.edtf, "2023-12-01");
	fold_free(&f);
}

static void test_fold_partial_dates_certain(void)
{
	static const struct {
		const char *edtf, *first, *inside, *last;
	} spans[] = {
		{ "2023-12", "2023-12-01", "2023-12-15", "2023-12-31" },
		{ "2023-12-XX", "2023-12-01", "2023-12-30", "2023-12-31" },
		{ "2024-02~", "2024-02-01", "2024-02-28", "2024-02-29" },
		{ "2005?", "2005-01-01", "2005-06-01", "2005-12-31" },
		{ "2005-XX%", "2005-01-01", "2005-12-30", "2005-12-31" },
		{ "2005-XX-XX", "2005-01-01", "2005-07-01", "2005-12-31" },
	};

	for (size_t i = 0; i < sizeof spans / sizeof spans[0]; i++) {
		fold f;
		fold_init(&f);
		apply(&f, ev(T(MEETING), 1, spans[i].edtf, NULL, NULL));
		CU_ASSERT_EQUAL(f.max_first_day, day(spans[i].first));
		CU_ASSERT_FALSE(certain_at(&f, day(spans[i].first)));
		CU_ASSERT_FALSE(certain_at(&f, day(spans[i].inside)));
		CU_ASSERT_TRUE(certain_at(&f, day(spans[i].last)));
		CU_ASSERT_TRUE(certain_at(&f, day(spans[i].last) + 1));
		/* A later exact event does not make it certain inside the span. */
		apply(&f, ev(T(LISTED), 2, spans[i].first, "l", NULL));
		CU_ASSERT_FALSE(certain_at(&f, day(spans[i].inside)));
		CU_ASSERT_TRUE(certain_at(&f, day(spans[i].last)));
		fold_free(&f);
	}

	/* An exact day is certain on that day. */
	fold f;
	fold_init(&f);
	apply(&f, ev(T(DELISTED), 1, "2023-12-29", "l", NULL));
	CU_ASSERT_TRUE(certain_at(&f, day("2023-12-29")));
	/* The longest span decides: a year inside a month. */
	apply(&f, ev(T(RECOGNIZED), 2, "2023~", NULL, NULL));
	apply(&f, ev(T(MEETING), 3, "2023-12", NULL, NULL));
	CU_ASSERT_EQUAL(f.max_last_day, day("2023-12-31"));
	CU_ASSERT_FALSE(certain_at(&f, day("2023-06-30")));
	CU_ASSERT_FALSE(certain_at(&f, day("2023-12-30")));
	CU_ASSERT_TRUE(certain_at(&f, day("2023-12-31")));
	fold_free(&f);
}

/* ---- composition ---- */

static void test_fold_compose_simple(void)
{
	fold a, b, all;

	fold_init(&a);
	fold_init(&b);
	fold_init(&all);
	fold_event e[] = {
		ev(T(LISTED), 1, "2001", "fto", "A"),
		ev(T(MEETING), 2, "2002-03", NULL, NULL),
		ev(T(RECOGNIZED), 3, "2003", NULL, NULL),
		ev(T(LISTED), 4, "2004", "fto", "B"),
		ev(T(MEETING), 5, "2005", NULL, NULL),
		ev(T(LISTED), 6, "2006", "other", "C"),
		ev(T(RECOGNIZED), 7, "2007", NULL, NULL),
	};
	for (size_t i = 0; i < 7; i++)
		apply(i < 3 ? &a : &b, e[i]);
	for (size_t i = 0; i < 7; i++)
		apply(&all, e[i]);
	CU_ASSERT_FATAL(fold_compose(&a, &b));
	CU_ASSERT_EQUAL(a.meetings, 2);
	CU_ASSERT_EQUAL(a.last_meeting.seq, 5);
	CU_ASSERT_EQUAL(find_list(&a, "fto")->since.seq, 1);
	CU_ASSERT_STRING_EQUAL(find_list(&a, "fto")->authority, "A");
	CU_ASSERT_EQUAL(a.axes[FOLD_RECOGNITION].since.seq, 3);
	CU_ASSERT_TRUE(same_bytes(&a, &all));
	fold_free(&a);
	fold_free(&b);
	fold_free(&all);
}

/* A bucket that leaves an axis in the state it found it in, after changing
 * it in between, still moves the since-date to its own last change:
 * ON(1) | OFF(2) ON(3) is ON since 3 (once a bug of fold_compose). */
static void test_fold_compose_axis_change_and_back(void)
{
	fold a, b, all;
	char x[1024], y[1024];

	fold_init(&a);
	fold_init(&b);
	fold_init(&all);
	fold_event e[] = {
		ev(T(RECOGNIZED), 1, "2001", NULL, NULL),
		ev(T(RECOGNITION_WITHDRAWN), 2, "2002", NULL, NULL),
		ev(T(RECOGNIZED), 3, "2003", NULL, NULL),
	};
	apply(&a, e[0]);
	apply(&b, e[1]);
	apply(&b, e[2]);
	for (size_t i = 0; i < 3; i++)
		apply(&all, e[i]);
	CU_ASSERT_EQUAL(all.axes[FOLD_RECOGNITION].since.seq, 3);
	CU_ASSERT_FATAL(fold_compose(&a, &b));
	CU_ASSERT_EQUAL(a.axes[FOLD_RECOGNITION].state, FOLD_ON);
	CU_ASSERT_EQUAL(a.axes[FOLD_RECOGNITION].since.seq, 3);
	observe(x, sizeof x, &a);
	observe(y, sizeof y, &all);
	if (strcmp(x, y) != 0)
		fprintf(stderr, "\n  composed:   %s\n  sequential: %s\n", x, y);
	fold_free(&a);
	fold_free(&b);
	fold_free(&all);
}

/* listed | delisted: what a status shows agrees, and so must the bytes: a
 * sequential fold must not keep the stale since and authority of the
 * listing in its unlisted entry when the composed one has none (once a bug
 * of apply_list: the bytes stored for the same events depended on how they
 * were folded). */
static void test_fold_compose_delisting_bytes(void)
{
	fold a, b, all;
	char x[1024], y[1024];

	fold_init(&a);
	fold_init(&b);
	fold_init(&all);
	fold_event e[] = {
		ev(T(LISTED), 1, "2001", "fto", "Court"),
		ev(T(DELISTED), 2, "2002", "fto", NULL),
	};
	apply(&a, e[0]);
	apply(&b, e[1]);
	apply(&all, e[0]);
	apply(&all, e[1]);
	CU_ASSERT_FATAL(fold_compose(&a, &b));
	observe(x, sizeof x, &a);
	observe(y, sizeof y, &all);
	CU_ASSERT_STRING_EQUAL(x, y);
	CU_ASSERT_TRUE(same_bytes(&a, &all));
	fold_free(&a);
	fold_free(&b);
	fold_free(&all);
}

static unsigned rnd(uint64_t *s, unsigned n)
{
	return (unsigned)(test_rand(s) % n);
}

#define SEQ_EVENTS_MAX 48

typedef struct rnd_seq {
	fold_event e[SEQ_EVENTS_MAX];
	char edtf[SEQ_EVENTS_MAX][LEDGER_EDTF_BYTES_MAX];
	size_t n;
} rnd_seq;

static int ev_cmp(const void *a, const void *b)
{
	const fold_event *x = a, *y = b;

	if (x->first_day != y->first_day)
		return x->first_day < y->first_day ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Random events of every type in (first day, seq) order, on few days so
 * that same-day runs are common, with spans of 0 to 400 days. */
static void rnd_events(rnd_seq *q, uint64_t *s)
{
	static const char *lists[] = { "a", "fto", "terrorist-organizations" };
	static const char *auths[] = { NULL, "", "Court", "Ministry of Justice" };
	static const uint32_t spans[] = { 0, 0, 0, 30, 364, 400 };

	q->n = rnd(s, SEQ_EVENTS_MAX + 1);
	for (size_t i = 0; i < q->n; i++) {
		fold_event *e = &q->e[i];
		memset(e, 0, sizeof *e);
		/* Mostly status-changing types, some of every other. */
		e->type = (Annals__EventType)(rnd(s, 4) ? 1 + rnd(s, T(MEETING)) :
		                              rnd(s, T(REDACTION) + 1));
		e->seq = i + 1;
		e->first_day = 700000 + rnd(s, 40);
		e->last_day = e->first_day + spans[rnd(s, 6)];
		snprintf(q->edtf[i], sizeof q->edtf[i], "d%u-%llu", e->first_day,
		         (unsigned long long)e->seq);
		e->edtf = q->edtf[i];
		e->list = lists[rnd(s, 3)];
		e->list_bytes = strlen(e->list);
		e->authority = auths[rnd(s, 4)];
		e->authority_bytes = e->authority ? strlen(e->authority) : 0;
	}
	qsort(q->e, q->n, sizeof q->e[0], ev_cmp);
	/* qsort moved the events, not their EDTF buffers: e->edtf still
	 * points at the text made for that event. */
}

static void fold_run(fold *f, const rnd_seq *q, size_t from, size_t to)
{
	fold_reset(f);
	for (size_t i = from; i < to; i++)
		if (!fold_apply(f, &q->e[i]))
			CU_FAIL_FATAL("fold_apply: out of memory");
}

typedef struct compose_folds {
	fold all, a, b, c, bc;
} compose_folds;

/* Whether e[0..k) | e[k..j) | e[j..n) composed both ways round equals the
 * sequential fold: as a status shows it, and when bytes, byte for byte. */
static bool split_ok(compose_folds *w, const rnd_seq *q, size_t k, size_t j,
                     bool bytes)
{
	char x[2048], y[2048];

	fold_run(&w->all, q, 0, q->n);
	/* (a . b) . c */
	fold_run(&w->a, q, 0, k);
	fold_run(&w->b, q, k, j);
	fold_run(&w->c, q, j, q->n);
	CU_ASSERT_FATAL(fold_compose(&w->a, &w->b) && fold_compose(&w->a, &w->c));
	/* a . (b . c) */
	fold_run(&w->bc, q, k, j);
	CU_ASSERT_FATAL(fold_compose(&w->bc, &w->c));
	fold_run(&w->b, q, 0, k);
	CU_ASSERT_FATAL(fold_compose(&w->b, &w->bc));
	observe(y, sizeof y, &w->all);
	observe(x, sizeof x, &w->a);
	if (strcmp(x, y) != 0)
		return false;
	observe(x, sizeof x, &w->b);
	if (strcmp(x, y) != 0)
		return false;
	return !bytes || (same_bytes(&w->a, &w->all) && same_bytes(&w->b, &w->all));
}

/* Drop events one at a time while the split still fails, then print the
 * smallest counterexample found. */
static void shrink_and_print(compose_folds *w, rnd_seq *q, size_t k, size_t j,
                             bool bytes)
{
	static const char *const names[] = {
		"-", "listed", "delisted", "recognized", "recognition_withdrawn",
		"relations_established", "relations_suspended", "mission_opened",
		"mission_closed", "sanctions_imposed", "sanctions_lifted", "meeting",
		"agreement_signed", "statement", "organization", "retraction", "redaction",
	};
	char x[2048], y[2048];
	bool progress = true;

	while (progress) {
		progress = false;
		for (size_t i = 0; i < q->n; i++) {
			rnd_seq r = *q;
			size_t k2 = k - (i < k), j2 = j - (i < j);
			memmove(&r.e[i], &r.e[i + 1], (r.n - i - 1) * sizeof r.e[0]);
			r.n--;
			if (!split_ok(w, &r, k2, j2, bytes)) {
				*q = r;
				k = k2;
				j = j2;
				progress = true;
				break;
			}
		}
	}
	split_ok(w, q, k, j, bytes);
	fprintf(stderr, "    smallest case, pieces split before events %zu and %zu:\n", k, j);
	for (size_t i = 0; i < q->n; i++)
		fprintf(stderr, "    %s %zu: %s seq %llu days %u..%u list %s authority '%s'\n",
		        i == k || i == j ? "|" : " ", i, names[q->e[i].type],
		        (unsigned long long)q->e[i].seq, q->e[i].first_day,
		        q->e[i].last_day, q->e[i].list,
		        q->e[i].authority ? q->e[i].authority : "(null)");
	observe(x, sizeof x, &w->a);
	observe(y, sizeof y, &w->all);
	fprintf(stderr, "    composed:   %s\n    sequential: %s\n", x, y);
}

#define COMPOSE_SEQUENCES 3000

/* Property: for random sequences and every split point k (with a random
 * second split j >= k), fold(e[0..k)) composed with fold(e[k..j)) and
 * fold(e[j..n)), both ways round (associativity, as month -> year ->
 * decade -> century needs), equals fold(e[0..n)): as a status shows it,
 * and when bytes, byte for byte. Prints the seed and a shrunk case.
 * ANNALS_FOLD_SEED picks another seed. */
static void compose_property(bool bytes)
{
	uint64_t seed = 0x5eed0f01dULL, s;
	const char *env = getenv("ANNALS_FOLD_SEED");
	compose_folds w;
	rnd_seq q;
	unsigned checks = 0;
	bool failed = false;

	if (env && *env)
		seed = strtoull(env, NULL, 0);
	s = seed;
	fold_init(&w.all);
	fold_init(&w.a);
	fold_init(&w.b);
	fold_init(&w.c);
	fold_init(&w.bc);
	for (unsigned round = 0; round < COMPOSE_SEQUENCES && !failed; round++) {
		rnd_events(&q, &s);
		for (size_t k = 0; k <= q.n && !failed; k++) {
			size_t j = k + rnd(&s, (unsigned)(q.n - k + 1));
			checks++;
			if (split_ok(&w, &q, k, j, bytes))
				continue;
			failed = true;
			fprintf(stderr, "\n  fold composition %s differs: seed %#llx "
			        "(ANNALS_FOLD_SEED), sequence %u of %zu events, split at "
			        "%zu and %zu\n", bytes ? "(bytes)" : "(as a status shows it)",
			        (unsigned long long)seed, round, q.n, k, j);
			shrink_and_print(&w, &q, k, j, bytes);
		}
	}
	CU_ASSERT_FALSE(failed);
	if (!failed)
		CU_ASSERT(checks > COMPOSE_SEQUENCES);
	fold_free(&w.all);
	fold_free(&w.a);
	fold_free(&w.b);
	fold_free(&w.c);
	fold_free(&w.bc);
}

static void test_fold_compose_property_status(void)
{
	compose_property(false);
}

static void test_fold_compose_property_bytes(void)
{
	compose_property(true);
}

/* ---- encoding ---- */

/* An independent encoder of the layout drawn in fold.c. */
typedef struct enc {
	uint8_t b[4096];
	size_t n;
} enc;

static void e_u8(enc *e, unsigned v) { e->b[e->n++] = (uint8_t)v; }
static void e_u16(enc *e, unsigned v) { e_u8(e, v >> 8); e_u8(e, v & 0xff); }
static void e_u32(enc *e, uint32_t v) { e_u16(e, v >> 16); e_u16(e, v & 0xffff); }
static void e_u64(enc *e, uint64_t v) { e_u32(e, (uint32_t)(v >> 32)); e_u32(e, (uint32_t)v); }
static void e_bytes(enc *e, const char *s, size_t n) { memcpy(e->b + e->n, s, n); e->n += n; }

static void e_ref(enc *e, uint64_t seq, uint32_t d, const char *edtf)
{
	e_u64(e, seq);
	e_u32(e, d);
	e_u8(e, (unsigned)strlen(edtf));
	e_bytes(e, edtf, strlen(edtf));
}

#define ENCODING_VERSION 2   /* the layout drawn in fold.c */

/* Everything up to the list count, for a fold with recognition ON since
 * seq 3 "2003" (a run of one state: same), one meeting seq 4 "2004-05",
 * last change seq 4 (meeting). */
static void e_head3(enc *e, unsigned recognition_state, unsigned same,
                    unsigned change_type)
{
	e->n = 0;
	e_u8(e, ENCODING_VERSION);
	e_u8(e, recognition_state);
	e_u8(e, same);
	e_ref(e, 3, 731216, "2003");
	for (int i = 1; i < FOLD_AXES; i++) {
		e_u8(e, 0);
		e_u8(e, 0);
		e_ref(e, 0, 0, "");
	}
	e_u64(e, 1);
	e_ref(e, 4, 731702, "2004-05");
	e_ref(e, 4, 731702, "2004-05");
	e_u8(e, change_type);
	e_u32(e, 731732);
	e_u32(e, 731702);
}

static void e_head(enc *e, unsigned recognition_state)
{
	e_head3(e, recognition_state, 1, T(MEETING));
}

static void e_list(enc *e, const char *name, unsigned kind, unsigned listed,
                   uint64_t seq, const char *edtf, const char *authority)
{
	e_u8(e, (unsigned)strlen(name));
	e_bytes(e, name, strlen(name));
	e_u8(e, kind);
	e_u8(e, listed);
	e_ref(e, seq, seq ? 730000 : 0, edtf);
	e_u16(e, (unsigned)strlen(authority));
	e_bytes(e, authority, strlen(authority));
}

static void build_sample(fold *f)
{
	fold_init(f);
	apply(f, ev(T(LISTED), 1, "2001", "alpha", "Court"));
	apply(f, ev(T(LISTED), 2, "2002", "beta", NULL));
	apply(f, ev(T(DELISTED), 5, "2003", "beta", NULL));
	apply(f, ev(T(RECOGNIZED), 3, "2003", NULL, NULL));
	apply(f, ev(T(MEETING), 4, "2004-05", NULL, NULL));
}

static void test_fold_encoding_layout(void)
{
	fold f;
	enc e;
	size_t n;
	uint8_t *b;

	/* A fold as fold.c draws it: recognition and a meeting, no lists. */
	fold_init(&f);
	apply(&f, ev(T(RECOGNIZED), 3, "2003", NULL, NULL));
	apply(&f, ev(T(MEETING), 4, "2004-05", NULL, NULL));
	CU_ASSERT_EQUAL(day("2003-01-01"), 731216);
	CU_ASSERT_EQUAL(day("2004-05-01"), 731702);
	CU_ASSERT_EQUAL(f.max_last_day, 731732);
	e_head(&e, FOLD_ON);
	e_u16(&e, 0);
	b = encode(&f, &n);
	CU_ASSERT_EQUAL(n, e.n);
	CU_ASSERT(n == e.n && memcmp(b, e.b, n) == 0);
	free(b);

	/* A fold with lists decodes from the independent encoding. */
	e_head(&e, FOLD_ON);
	e_u16(&e, 2);
	e_list(&e, "alpha", FOLD_LIST_ADD_ONLY, 1, 1, "2001", "Court");
	e_list(&e, "beta", FOLD_LIST_RESET, 1, 9, "2009", "");
	CU_ASSERT_TRUE_FATAL(fold_decode(&f, e.b, e.n));
	CU_ASSERT_EQUAL(f.axes[FOLD_RECOGNITION].state, FOLD_ON);
	CU_ASSERT_STRING_EQUAL(f.axes[FOLD_RECOGNITION].since.edtf, "2003");
	CU_ASSERT_EQUAL(f.meetings, 1);
	CU_ASSERT_EQUAL(f.last_change_type, T(MEETING));
	CU_ASSERT_EQUAL_FATAL(f.lists_count, 2);
	CU_ASSERT_STRING_EQUAL(f.lists[0].name, "alpha");
	CU_ASSERT_EQUAL(f.lists[0].kind, FOLD_LIST_ADD_ONLY);
	CU_ASSERT_STRING_EQUAL(f.lists[0].authority, "Court");
	CU_ASSERT_STRING_EQUAL(f.lists[1].name, "beta");
	CU_ASSERT_EQUAL(f.lists[1].kind, FOLD_LIST_RESET);
	CU_ASSERT_TRUE(f.lists[1].listed);
	CU_ASSERT_EQUAL(f.lists[1].since.seq, 9);
	b = encode(&f, &n);
	CU_ASSERT(n == e.n && memcmp(b, e.b, n) == 0);
	free(b);
	fold_free(&f);
}

static void test_fold_encoding_round_trip(void)
{
	fold f, g;
	size_t n, m;
	uint8_t *b, *c;

	build_sample(&f);
	b = encode(&f, &n);
	/* Decoding into a fold that holds other lists replaces them. */
	fold_init(&g);
	apply(&g, ev(T(LISTED), 1, "1999", "zzz", NULL));
	CU_ASSERT_TRUE_FATAL(fold_decode(&g, b, n));
	CU_ASSERT_EQUAL(g.lists_count, f.lists_count);
	CU_ASSERT_TRUE(find_list(&g, "zzz") == NULL);
	c = encode(&g, &m);
	CU_ASSERT(n == m && memcmp(b, c, n) == 0);
	free(c);
	/* A decoded fold composes and folds on like the original. */
	apply(&f, ev(T(DELISTED), 9, "2010", "alpha", NULL));
	apply(&g, ev(T(DELISTED), 9, "2010", "alpha", NULL));
	CU_ASSERT_TRUE(same_bytes(&f, &g));
	/* Too small a buffer: nothing written, 0 returned. */
	CU_ASSERT_EQUAL(fold_encode(b, fold_encoded_bytes(&f) - 1, &f), 0);
	CU_ASSERT_EQUAL(fold_encode(b, 0, &f), 0);
	free(b);
	/* Long names and authorities at their limits round-trip. */
	char name[LEDGER_SLUG_BYTES_MAX + 1], auth[LEDGER_AUTHORITY_BYTES_MAX + 1];
	memset(name, 'n', LEDGER_SLUG_BYTES_MAX);
	name[LEDGER_SLUG_BYTES_MAX] = '\0';
	memset(auth, 'a', LEDGER_AUTHORITY_BYTES_MAX);
	auth[LEDGER_AUTHORITY_BYTES_MAX] = '\0';
	fold_reset(&f);
	apply(&f, ev(T(LISTED), 1, "9999-12-XX%", name, auth));
	b = encode(&f, &n);
	CU_ASSERT_TRUE_FATAL(fold_decode(&g, b, n));
	CU_ASSERT_EQUAL_FATAL(g.lists_count, 1);
	CU_ASSERT_STRING_EQUAL(g.lists[0].name, name);
	CU_ASSERT_STRING_EQUAL(g.lists[0].authority, auth);
	CU_ASSERT_STRING_EQUAL(g.lists[0].since.edtf, "9999-12-XX%");
	c = encode(&g, &m);
	CU_ASSERT(n == m && memcmp(b, c, n) == 0);
	free(b);
	free(c);
	fold_free(&f);
	fold_free(&g);
}

/* Every prefix of a valid encoding, and the encoding with a byte more, is
 * refused. */
static void test_fold_decode_refuses_truncated(void)
{
	fold f, g;
	size_t n;
	uint8_t *b, *c;

	build_sample(&f);
	fold_init(&g);
	b = encode(&f, &n);
	for (size_t k = 0; k < n; k++)
		if (fold_decode(&g, b, k)) {
			CU_FAIL("a truncated encoding was accepted");
			fprintf(stderr, "\n  prefix of %zu of %zu bytes accepted\n", k, n);
		}
	c = malloc(n + 1);
	CU_ASSERT_FATAL(c != NULL);
	memcpy(c, b, n);
	c[n] = 0;
	CU_ASSERT_FALSE(fold_decode(&g, c, n + 1));
	CU_ASSERT_TRUE(fold_decode(&g, c, n));
	free(b);
	free(c);
	fold_free(&f);
	fold_free(&g);
}

static void refused(const enc *e, const char *what)
{
	fold g;

	fold_init(&g);
	if (fold_decode(&g, e->b, e->n)) {
		CU_FAIL("a malformed fold encoding was accepted");
		fprintf(stderr, "\n  accepted: %s\n", what);
	}
	fold_free(&g);
}

static void test_fold_decode_refuses_malformed(void)
{
	enc e;
	char longname[LEDGER_SLUG_BYTES_MAX + 2];
	char longauth[LEDGER_AUTHORITY_BYTES_MAX + 2];

	memset(longname, 'n', sizeof longname - 1);
	longname[sizeof longname - 1] = '\0';
	memset(longauth, 'a', sizeof longauth - 1);
	longauth[sizeof longauth - 1] = '\0';

	/* The good encoding first, so that the variants below are refused
	 * for the one thing each changes. */
	e_head(&e, FOLD_ON);
	e_u16(&e, 1);
	e_list(&e, "alpha", FOLD_LIST_ADD_ONLY, 1, 1, "2001", "Court");
	fold g;
	fold_init(&g);
	CU_ASSERT_TRUE(fold_decode(&g, e.b, e.n));
	fold_free(&g);

	e_head(&e, FOLD_ON);
	e.b[0] = ENCODING_VERSION + 1;
	e_u16(&e, 0);
	refused(&e, "the next encoding version");
	e.b[0] = 0;
	refused(&e, "encoding version 0");

	e_head(&e, FOLD_ON);
	e_u16(&e, 2);
	e_list(&e, "alpha", FOLD_LIST_ADD_ONLY, 1, 1, "2001", "Court");
	refused(&e, "list count 2 with one list");

	e_head(&e, FOLD_ON);
	e_u16(&e, 1);
	e_list(&e, "", FOLD_LIST_ADD_ONLY, 1, 1, "2001", "Court");
	refused(&e, "an empty list name");

	e_head(&e, FOLD_ON);
	e_u16(&e, 1);
	e_list(&e, longname, FOLD_LIST_ADD_ONLY, 1, 1, "2001", "Court");
	refused(&e, "a list name of 64 bytes");

	e_head(&e, FOLD_ON);
	e_u16(&e, 1);
	e_list(&e, "alpha", FOLD_LIST_ADD_ONLY, 1, 1, "2001", longauth);
	refused(&e, "an authority of 401 bytes");

	e_head(&e, FOLD_ON);
	e_u16(&e, 1);
	e_list(&e, "alpha", FOLD_LIST_ADD_ONLY, 1, 1, "2023-12-XX%12345", "Court");
	refused(&e, "an EDTF text of 16 bytes");

	/* Values out of range and lists out of order: such bytes cannot come
	 * from fold_encode and would be misread, so they must be refused. */
	e_head(&e, 3);
	e_u16(&e, 0);
	refused(&e, "an axis state of 3");

	e_head3(&e, FOLD_ON, 2, T(MEETING));
	e_u16(&e, 0);
	refused(&e, "an axis 'same' byte of 2");

	e_head3(&e, FOLD_UNSET, 1, T(MEETING));
	e_u16(&e, 0);
	refused(&e, "an unset axis marked 'same'");

	e_head3(&e, FOLD_ON, 1, 99);
	e_u16(&e, 0);
	refused(&e, "a last change of type 99");

	e_head(&e, FOLD_ON);
	e_u16(&e, 1);
	e_list(&e, "alpha", FOLD_LIST_RESET, 2, 1, "2001", "Court");
	refused(&e, "a 'listed' byte of 2");

	e_head(&e, FOLD_ON);
	e_u16(&e, 1);
	e_list(&e, "alpha", 0, 1, 1, "2001", "Court");
	refused(&e, "a list kind of 0");

	e_head(&e, FOLD_ON);
	e_u16(&e, 1);
	e_list(&e, "alpha", 3, 1, 1, "2001", "Court");
	refused(&e, "a list kind of 3");

	e_head(&e, FOLD_ON);
	e_u16(&e, 2);
	e_list(&e, "beta", FOLD_LIST_ADD_ONLY, 1, 1, "2001", "");
	e_list(&e, "alpha", FOLD_LIST_ADD_ONLY, 1, 1, "2001", "");
	refused(&e, "lists out of name order");

	e_head(&e, FOLD_ON);
	e_u16(&e, 2);
	e_list(&e, "alpha", FOLD_LIST_ADD_ONLY, 1, 1, "2001", "");
	e_list(&e, "alpha", FOLD_LIST_RESET, 0, 0, "", "");
	refused(&e, "the same list twice");
}

void suite_fold(void);
void suite_fold(void)
{
	CU_pSuite s = CU_add_suite("fold", NULL, NULL);

	CU_add_test(s, "identity", test_fold_identity);
	CU_add_test(s, "types that fold", test_fold_takes_types);
	CU_add_test(s, "listed and delisted", test_fold_listed_delisted);
	CU_add_test(s, "re-listing keeps since", test_fold_relisting_keeps_since);
	CU_add_test(s, "lists independent and sorted", test_fold_lists_are_independent_and_sorted);
	CU_add_test(s, "four axes", test_fold_axes);
	CU_add_test(s, "withdrawal first", test_fold_off_first);
	CU_add_test(s, "meetings", test_fold_meetings);
	CU_add_test(s, "types that do not fold", test_fold_ignored_types);
	CU_add_test(s, "same day by seq", test_fold_same_day_order_by_seq);
	CU_add_test(s, "partial dates and certain", test_fold_partial_dates_certain);
	CU_add_test(s, "compose", test_fold_compose_simple);
	CU_add_test(s, "compose: axis changed and back", test_fold_compose_axis_change_and_back);
	CU_add_test(s, "compose: delisting bytes", test_fold_compose_delisting_bytes);
	CU_add_test(s, "compose property (as a status shows it)", test_fold_compose_property_status);
	CU_add_test(s, "compose property (bytes)", test_fold_compose_property_bytes);
	CU_add_test(s, "encoding layout", test_fold_encoding_layout);
	CU_add_test(s, "encoding round trip", test_fold_encoding_round_trip);
	CU_add_test(s, "decode refuses truncations", test_fold_decode_refuses_truncated);
	CU_add_test(s, "decode refuses malformed", test_fold_decode_refuses_malformed);
}
