/* The benchmark workload (DESIGN §10): seeded with splitmix64, so the same
 * seed and size give byte-identical files on every machine.
 *
 * 250 countries (the ISO 3166-1 alpha-2 codes of the library's table and
 * EU) x 2,000 organizations (org-0000 .. org-1999, registered first). Every
 * other event picks its relationship from a Zipf law with s = 1.0 over the
 * 500,000 pairs, ranked through a seeded permutation so that hot pairs are
 * spread over countries and organizations; types are weighted as a news
 * archive would have them, with about 1 % retractions of earlier events.
 * Effective dates are uniform over 1950-01-01 .. 2026-12-31 in random order,
 * 5 % of them partial or qualified. Each event carries a summary, one
 * source (url, title, publisher) and a participant. The bulk events are
 * written three times, as NDJSON, CSV and protobuf input, with the same
 * content in each. */
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "annals.pb-c.h"
#include "country.h"
#include "date.h"

#include "bench.h"

#define GEN_TEXT_BYTES 512u
#define GEN_RECORD_BYTES 4096u

/* ---- records in memory ---- */

static void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n);

	if (!q) {
		fprintf(stderr, "bench: out of memory\n");
		exit(4);
	}
	return q;
}

void records_begin(bench_records *r)
{
	if (r->count + 2 > r->off_cap) {
		r->off_cap = r->off_cap ? r->off_cap * 2 : 1024;
		r->off = xrealloc(r->off, r->off_cap * sizeof *r->off);
	}
	r->off[r->count] = r->bytes;
}

void records_append(bench_records *r, const void *p, size_t n)
{
	if (r->bytes + n > r->cap) {
		r->cap = r->cap ? r->cap * 2 : 1u << 20;
		while (r->cap < r->bytes + n)
			r->cap *= 2;
		r->data = xrealloc(r->data, r->cap);
	}
	memcpy(r->data + r->bytes, p, n);
	r->bytes += n;
}

void records_end(bench_records *r)
{
	r->count++;
	r->off[r->count] = r->bytes;
}

void records_free(bench_records *r)
{
	free(r->data);
	free(r->off);
	memset(r, 0, sizeof *r);
}

/* ---- the vocabulary ---- */

static const country *gen_countries[BENCH_COUNTRIES];

static void gen_load_countries(void)
{
	size_t k = 0;

	if (gen_countries[0])
		return;
	for (size_t i = 0; i < country_count() && k < BENCH_COUNTRIES; i++) {
		const country *c = country_at(i);
		if (strlen(c->code) == 2 && strcmp(c->code, "UN") != 0)
			gen_countries[k++] = c;
	}
	assert(k == BENCH_COUNTRIES);
}

const char *bench_pair_country(uint32_t pair)
{
	gen_load_countries();
	return gen_countries[pair / BENCH_ORGS]->code;
}

void bench_pair_org(char out[16], uint32_t pair)
{
	snprintf(out, 16, "org-%04u", pair % BENCH_ORGS);
}

static const char *const org_adj[16] = {
	"Eastern", "Western", "Northern", "Southern", "Central", "United",
	"Free", "Popular", "National", "Islamic", "Democratic", "Revolutionary",
	"Patriotic", "Independent", "Federal", "Progressive",
};
static const char *const org_noun[16] = {
	"Unity", "Liberation", "Resistance", "Justice", "Freedom", "Renewal",
	"Salvation", "Solidarity", "Defence", "Reform", "Dawn", "Homeland",
	"Peace", "Victory", "Harmony", "Truth",
};
static const char *const org_kind[8] = {
	"Front", "Movement", "Council", "Party", "Army", "Alliance", "League",
	"Brigade",
};

static void org_name(char *out, size_t cap, unsigned org)
{
	snprintf(out, cap, "%s %s %s", org_adj[org % 16], org_noun[org / 16 % 16],
	         org_kind[org / 256 % 8]);
}

static const char *const publishers[][2] = {
	{ "Reuters", "www.reuters.com" },
	{ "Associated Press", "apnews.com" },
	{ "AFP", "www.afp.com" },
	{ "BBC News", "www.bbc.co.uk" },
	{ "Al Jazeera", "www.aljazeera.com" },
	{ "DW", "www.dw.com" },
	{ "Kazinform", "www.inform.kz" },
	{ "Xinhua", "english.news.cn" },
	{ "The Guardian", "www.theguardian.com" },
	{ "Le Monde", "www.lemonde.fr" },
	{ "Official Gazette", "gazette.example.org" },
	{ "UN News", "news.un.org" },
};
#define PUBLISHERS (sizeof publishers / sizeof publishers[0])

static const char *const first_names[] = {
	"Amir", "Elena", "Kenji", "Fatima", "Jonas", "Aigerim", "Carlos", "Mei",
	"Olu", "Sofia", "Arjun", "Leila", "Pieter", "Nadia", "Tomas", "Yusuf",
};
static const char *const last_names[] = {
	"Khan", "Petrova", "Tanaka", "Haddad", "Berg", "Nurlanova", "Silva",
	"Chen", "Adeyemi", "Rossi", "Mehta", "Karimi", "de Vries", "Novak",
	"Ortega", "Demir",
};
static const char *const roles[] = {
	"Ambassador", "Foreign minister", "Deputy foreign minister",
	"Special envoy", "Spokesperson", "Head of delegation",
	"Charg\xc3\xa9 d'affaires", "Minister of justice",
};
static const char *const authorities[] = {
	"Ministry of Foreign Affairs", "Supreme Court", "Cabinet of Ministers",
	"Parliament", "National Security Council", "Office of the President",
	"Prosecutor General", "Ministry of Justice",
};
static const char *const lists[] = {
	"terrorist-organizations", "banned-organizations", "fto",
	"1988-sanctions", "sanctions-list",
};
static const char *const reasons[] = {
	"Duplicate of another report.",
	"Wrong date; a corrected event follows.",
	"The source withdrew the story.",
	"Misattributed to the wrong organization.",
};

/* Types, weighted per thousand events (organizations and retractions
 * apart): statements and meetings dominate a news archive. */
static const struct {
	Annals__EventType type;
	const char *name;
	unsigned weight;
	const char *summary;          /* country, organization */
	const char *headline;         /* title verb */
} types[] = {
	{ ANNALS__EVENT_TYPE__STATEMENT, "statement", 260,
	  "%s issued a statement on %s.", "comments on" },
	{ ANNALS__EVENT_TYPE__MEETING, "meeting", 200,
	  "Officials of %s met representatives of %s.", "meets" },
	{ ANNALS__EVENT_TYPE__AGREEMENT_SIGNED, "agreement_signed", 70,
	  "%s signed an agreement with %s.", "signs deal with" },
	{ ANNALS__EVENT_TYPE__LISTED, "listed", 80,
	  "%s added %s to a national list.", "lists" },
	{ ANNALS__EVENT_TYPE__DELISTED, "delisted", 40,
	  "%s removed %s from a national list.", "delists" },
	{ ANNALS__EVENT_TYPE__RECOGNIZED, "recognized", 40,
	  "%s recognized %s.", "recognizes" },
	{ ANNALS__EVENT_TYPE__RECOGNITION_WITHDRAWN, "recognition_withdrawn", 20,
	  "%s withdrew recognition of %s.", "drops recognition of" },
	{ ANNALS__EVENT_TYPE__RELATIONS_ESTABLISHED, "relations_established", 50,
	  "%s established relations with %s.", "opens ties with" },
	{ ANNALS__EVENT_TYPE__RELATIONS_SUSPENDED, "relations_suspended", 30,
	  "%s suspended relations with %s.", "suspends ties with" },
	{ ANNALS__EVENT_TYPE__MISSION_OPENED, "mission_opened", 50,
	  "%s accepted an envoy of %s.", "accepts envoy of" },
	{ ANNALS__EVENT_TYPE__MISSION_CLOSED, "mission_closed", 30,
	  "%s closed the office of %s.", "closes office of" },
	{ ANNALS__EVENT_TYPE__SANCTIONS_IMPOSED, "sanctions_imposed", 80,
	  "%s imposed sanctions on %s.", "sanctions" },
	{ ANNALS__EVENT_TYPE__SANCTIONS_LIFTED, "sanctions_lifted", 40,
	  "%s lifted sanctions on %s.", "lifts sanctions on" },
	{ ANNALS__EVENT_TYPE__RETRACTION, "retraction", 10, NULL, NULL },
};
#define TYPES (sizeof types / sizeof types[0])

/* ---- one generated event ---- */

typedef struct gen_event {
	const char *type;
	char id[64];
	const char *country;
	char org[16];
	char date[16];
	const char *list;
	const char *authority;
	char summary[GEN_TEXT_BYTES];
	char url[GEN_TEXT_BYTES];
	char title[GEN_TEXT_BYTES];
	const char *publisher;
	char pname[64];
	const char *prole;
	const char *pcountry;
	char retracts[64];
	const char *reason;
	char name[128];
	char alias[64];
	char external_id[64];
} gen_event;

typedef struct gen {
	bench_rng rng;
	uint32_t *perm;                 /* Zipf rank -> pair */
	double *cdf;                    /* cdf[k]: P(rank <= k) */
	uint32_t *ev_pair;              /* per event: its pair, or UINT32_MAX */
	uint8_t *ev_retractable;
	uint64_t total;
	uint32_t day_first, day_last;
	uint8_t pb[GEN_RECORD_BYTES + 16];
	char json[GEN_RECORD_BYTES];
	char csv[GEN_RECORD_BYTES];
} gen;

static void gen_date(gen *g, char out[16], bool *partial)
{
	uint32_t day = g->day_first + (uint32_t)rng_below(&g->rng, g->day_last - g->day_first + 1);
	int y, m, d;

	date_ymd(&y, &m, &d, day);
	*partial = rng_unit(&g->rng) < 0.05;
	if (!*partial) {
		snprintf(out, 16, "%04d-%02d-%02d", y, m, d);
		return;
	}
	switch (rng_below(&g->rng, 10)) {
	case 0: case 1: case 2: case 3:
		snprintf(out, 16, "%04d", y);
		break;
	case 4: case 5: case 6:
		snprintf(out, 16, "%04d-%02d", y, m);
		break;
	case 7:
		snprintf(out, 16, "%04d-%02d-XX", y, m);
		break;
	case 8:
		snprintf(out, 16, "%04d-%02d-%02d~", y, m, d);
		break;
	default:
		snprintf(out, 16, "%04d-%02d%s", y, m, rng_below(&g->rng, 2) ? "?" : "%");
		break;
	}
}

static uint32_t gen_zipf_pair(gen *g)
{
	double u = rng_unit(&g->rng);
	size_t lo = 0, hi = BENCH_PAIRS - 1;

	while (lo < hi) {                   /* first rank with cdf >= u */
		size_t mid = lo + (hi - lo) / 2;
		if (g->cdf[mid] < u)
			lo = mid + 1;
		else
			hi = mid;
	}
	return g->perm[lo];
}

static void pair_id(char out[64], uint32_t pair, uint64_t i)
{
	const char *cc = bench_pair_country(pair);

	snprintf(out, 64, "%c%c-org-%04u-%llu", cc[0] | 0x20, cc[1] | 0x20,
	         pair % BENCH_ORGS, (unsigned long long)i);
}

static void gen_organization(gen *g, gen_event *e, uint64_t i)
{
	unsigned org = (unsigned)i;

	memset(e, 0, sizeof *e);
	e->type = "organization";
	snprintf(e->id, sizeof e->id, "reg-org-%04u", org);
	snprintf(e->org, sizeof e->org, "org-%04u", org);
	org_name(e->name, sizeof e->name, org);
	snprintf(e->alias, sizeof e->alias, "%c%c%c-%u", org_adj[org % 16][0],
	         org_noun[org / 16 % 16][0], org_kind[org / 256 % 8][0], org);
	snprintf(e->external_id, sizeof e->external_id, "wikidata:Q%u", 7000000 + org);
	g->ev_pair[i] = UINT32_MAX;
	g->ev_retractable[i] = 0;
}

/* A retraction of an earlier, still standing event; false when a few
 * tries find none (the caller then makes an ordinary event). */
static bool gen_retraction(gen *g, gen_event *e, uint64_t i)
{
	for (int tries = 0; i > BENCH_ORGS && tries < 8; tries++) {
		uint64_t t = BENCH_ORGS + rng_below(&g->rng, i - BENCH_ORGS);
		if (!g->ev_retractable[t])
			continue;
		memset(e, 0, sizeof *e);
		e->type = "retraction";
		snprintf(e->id, sizeof e->id, "retraction-%llu", (unsigned long long)i);
		pair_id(e->retracts, g->ev_pair[t], t);
		e->reason = reasons[rng_below(&g->rng, sizeof reasons / sizeof reasons[0])];
		g->ev_retractable[t] = 0;
		g->ev_retractable[i] = 0;
		g->ev_pair[i] = g->ev_pair[t];
		return true;
	}
	return false;
}

static void gen_relationship(gen *g, gen_event *e, uint64_t i, size_t t,
                             bool *partial)
{
	uint32_t pair = gen_zipf_pair(g);
	const country *c = gen_countries[pair / BENCH_ORGS];
	unsigned org = pair % BENCH_ORGS;
	char oname[128];
	const char *const *pub = publishers[rng_below(&g->rng, PUBLISHERS)];

	memset(e, 0, sizeof *e);
	e->type = types[t].name;
	pair_id(e->id, pair, i);
	/* Input may name the country by its alpha-3 code (DESIGN §2). */
	e->country = rng_below(&g->rng, 20) == 0 && c->alpha3 ? c->alpha3 : c->code;
	snprintf(e->org, sizeof e->org, "org-%04u", org);
	gen_date(g, e->date, partial);
	if (types[t].type == ANNALS__EVENT_TYPE__LISTED ||
	    types[t].type == ANNALS__EVENT_TYPE__DELISTED)
		e->list = lists[rng_below(&g->rng, sizeof lists / sizeof lists[0])];
	if (types[t].type <= ANNALS__EVENT_TYPE__SANCTIONS_LIFTED &&
	    rng_below(&g->rng, 2) == 0)
		e->authority = authorities[rng_below(&g->rng, sizeof authorities /
		                                     sizeof authorities[0])];
	org_name(oname, sizeof oname, org);
	snprintf(e->summary, sizeof e->summary, types[t].summary, c->name, oname);
	snprintf(e->title, sizeof e->title, "%s %s %s", c->name,
	         types[t].headline, oname);
	snprintf(e->url, sizeof e->url, "https://%s/%.7s/%llu", pub[1],
	         e->date, (unsigned long long)i);
	e->publisher = pub[0];
	snprintf(e->pname, sizeof e->pname, "%s %s",
	         first_names[rng_below(&g->rng, 16)], last_names[rng_below(&g->rng, 16)]);
	e->prole = roles[rng_below(&g->rng, sizeof roles / sizeof roles[0])];
	e->pcountry = rng_below(&g->rng, 2) ? c->code : NULL;
	g->ev_pair[i] = pair;
	g->ev_retractable[i] = 1;
}

/* ---- encoding ---- */

static size_t json_str(char *p, const char *key, const char *s, bool comma)
{
	char *start = p;

	if (comma)
		*p++ = ',';
	p += sprintf(p, "\"%s\":\"", key);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\') {
			*p++ = '\\';
			*p++ = *s;
		} else if ((unsigned char)*s < 0x20) {
			p += sprintf(p, "\\u%04x", (unsigned char)*s);
		} else {
			*p++ = *s;
		}
	}
	*p++ = '"';
	return (size_t)(p - start);
}

static size_t gen_json(char *out, const gen_event *e)
{
	char *p = out;

	*p++ = '{';
	p += json_str(p, "id", e->id, false);
	p += json_str(p, "type", e->type, true);
	if (e->country)
		p += json_str(p, "country", e->country, true);
	if (*e->org)
		p += json_str(p, "organization", e->org, true);
	if (*e->date)
		p += json_str(p, "date", e->date, true);
	if (e->list)
		p += json_str(p, "list", e->list, true);
	if (e->authority)
		p += json_str(p, "authority", e->authority, true);
	if (*e->name) {
		p += json_str(p, "name", e->name, true);
		p += sprintf(p, ",\"aliases\":[\"%s\"],\"external_ids\":[\"%s\"]",
		             e->alias, e->external_id);
	}
	if (*e->retracts) {
		p += json_str(p, "retracts", e->retracts, true);
		p += json_str(p, "reason", e->reason, true);
	}
	if (*e->summary)
		p += json_str(p, "summary", e->summary, true);
	if (*e->url) {
		p += sprintf(p, ",\"sources\":[{");
		p += json_str(p, "url", e->url, false);
		p += json_str(p, "title", e->title, true);
		p += json_str(p, "publisher", e->publisher, true);
		p += sprintf(p, "}],\"participants\":[{");
		p += json_str(p, "name", e->pname, false);
		p += json_str(p, "role", e->prole, true);
		if (e->pcountry)
			p += json_str(p, "country", e->pcountry, true);
		p += sprintf(p, "}]");
	}
	*p++ = '}';
	*p++ = '\n';
	assert((size_t)(p - out) < GEN_RECORD_BYTES);
	return (size_t)(p - out);
}

/* The CSV header (docs/FORMATS.md): the columns of every field the
 * generator fills, in the order gen_csv writes a row's cells. */
static const char csv_header[] =
	"id,type,country,organization,date,list,authority,name,aliases,"
	"external_ids,retracts,reason,summary,source_url,source_title,"
	"source_publisher,participants\n";

/* One CSV cell, after a comma unless it is the row's first. An absent or
 * empty value is an empty cell, which the reader takes as absent, as the
 * NDJSON reader takes "". The reader (libcsv, strict) refuses a '"' in an
 * unquoted cell and trims spaces, tabs and CRs around one, and a comma or
 * '\n' would end the cell or row; so a value holding any of those, or
 * starting or ending with a space or tab, is quoted with each '"' doubled,
 * and a quoted cell is kept byte for byte. Country names hold commas
 * ("Korea, Republic of"), so summaries and titles need this. */
static size_t csv_cell(char *p, const char *s, bool comma)
{
	char *start = p;
	size_t n = s ? strlen(s) : 0;

	if (comma)
		*p++ = ',';
	if (n == 0)
		return (size_t)(p - start);
	if (!strpbrk(s, ",\"\r\n") && s[0] != ' ' && s[0] != '\t' &&
	    s[n - 1] != ' ' && s[n - 1] != '\t') {
		memcpy(p, s, n);
		return (size_t)(p + n - start);
	}
	*p++ = '"';
	for (; *s; s++) {
		if (*s == '"')
			*p++ = '"';
		*p++ = *s;
	}
	*p++ = '"';
	return (size_t)(p - start);
}

/* A value of a repeatable cell (aliases, external_ids, participants) or a
 * part of a participant: CSV has no escape for the separators, and the
 * reader trims each value and part, so the generator must not make such
 * values (docs/FORMATS.md: they would have to come as NDJSON). */
static bool csv_item_ok(const char *s)
{
	size_t n = strlen(s);

	return !strpbrk(s, ";|") && n > 0 && s[0] != ' ' && s[n - 1] != ' ';
}

/* One row of bulk.csv: the same fields as gen_json writes, in the columns
 * of csv_header. */
static size_t gen_csv(char *out, const gen_event *e)
{
	char part[3 * 64 + 8];
	char *p = out;

	p += csv_cell(p, e->id, false);
	p += csv_cell(p, e->type, true);
	p += csv_cell(p, e->country, true);
	p += csv_cell(p, e->org, true);
	p += csv_cell(p, e->date, true);
	p += csv_cell(p, e->list, true);
	p += csv_cell(p, e->authority, true);
	p += csv_cell(p, e->name, true);
	assert(!*e->name || (csv_item_ok(e->alias) && csv_item_ok(e->external_id)));
	p += csv_cell(p, *e->name ? e->alias : NULL, true);
	p += csv_cell(p, *e->name ? e->external_id : NULL, true);
	p += csv_cell(p, e->retracts, true);
	p += csv_cell(p, *e->retracts ? e->reason : NULL, true);
	p += csv_cell(p, e->summary, true);
	p += csv_cell(p, e->url, true);
	p += csv_cell(p, *e->url ? e->title : NULL, true);
	p += csv_cell(p, *e->url ? e->publisher : NULL, true);
	*part = '\0';
	if (*e->url) {
		assert(csv_item_ok(e->pname) && csv_item_ok(e->prole) &&
		       (!e->pcountry || csv_item_ok(e->pcountry)));
		snprintf(part, sizeof part, "%s|%s%s%s", e->pname, e->prole,
		         e->pcountry ? "|" : "", e->pcountry ? e->pcountry : "");
	}
	p += csv_cell(p, part, true);
	*p++ = '\n';
	assert((size_t)(p - out) < GEN_RECORD_BYTES);
	return (size_t)(p - out);
}

/* Varint length, then the packed InputEvent. */
static size_t gen_pb(uint8_t *out, const gen_event *e)
{
	Annals__InputEvent m = ANNALS__INPUT_EVENT__INIT;
	Annals__Source src = ANNALS__SOURCE__INIT;
	Annals__Participant part = ANNALS__PARTICIPANT__INIT;
	Annals__Source *srcs[1] = { &src };
	Annals__Participant *parts[1] = { &part };
	char *aliases[1] = { (char *)e->alias };
	char *ext[1] = { (char *)e->external_id };

	m.id = (char *)e->id;
	m.type = (char *)e->type;
	if (e->country)
		m.country = (char *)e->country;
	if (*e->org)
		m.organization = (char *)e->org;
	if (*e->date)
		m.date = (char *)e->date;
	if (e->list)
		m.list = (char *)e->list;
	if (e->authority)
		m.authority = (char *)e->authority;
	if (*e->name) {
		m.name = (char *)e->name;
		m.n_aliases = 1;
		m.aliases = aliases;
		m.n_external_ids = 1;
		m.external_ids = ext;
	}
	if (*e->retracts) {
		m.retracts = (char *)e->retracts;
		m.reason = (char *)e->reason;
	}
	if (*e->summary)
		m.summary = (char *)e->summary;
	if (*e->url) {
		src.url = (char *)e->url;
		src.title = (char *)e->title;
		src.publisher = (char *)e->publisher;
		part.name = (char *)e->pname;
		part.role = (char *)e->prole;
		if (e->pcountry)
			part.country = (char *)e->pcountry;
		m.n_sources = 1;
		m.sources = srcs;
		m.n_participants = 1;
		m.participants = parts;
	}
	size_t n = annals__input_event__get_packed_size(&m), h = 0;
	assert(n < GEN_RECORD_BYTES);
	for (size_t v = n; ; v >>= 7) {
		out[h++] = (uint8_t)((v & 0x7f) | (v >= 0x80 ? 0x80 : 0));
		if (v < 0x80)
			break;
	}
	return h + annals__input_event__pack(&m, out + h);
}

/* ---- the workload ---- */

static int gen_setup(gen *g, uint64_t total, uint64_t seed)
{
	double h = 0;

	memset(g, 0, sizeof *g);
	g->rng.s = seed;
	g->total = total;
	g->perm = malloc(BENCH_PAIRS * sizeof *g->perm);
	g->cdf = malloc(BENCH_PAIRS * sizeof *g->cdf);
	g->ev_pair = malloc(total * sizeof *g->ev_pair);
	g->ev_retractable = malloc(total);
	if (!g->perm || !g->cdf || !g->ev_pair || !g->ev_retractable)
		return -1;
	for (uint32_t i = 0; i < BENCH_PAIRS; i++)
		g->perm[i] = i;
	for (uint32_t i = BENCH_PAIRS - 1; i > 0; i--) {   /* Fisher-Yates */
		uint32_t j = (uint32_t)rng_below(&g->rng, (uint64_t)i + 1), t = g->perm[i];
		g->perm[i] = g->perm[j];
		g->perm[j] = t;
	}
	for (uint32_t k = 0; k < BENCH_PAIRS; k++)           /* Zipf, s = 1 */
		g->cdf[k] = (h += 1.0 / (k + 1));
	for (uint32_t k = 0; k < BENCH_PAIRS; k++)
		g->cdf[k] /= h;
	g->cdf[BENCH_PAIRS - 1] = 1.0;
	g->day_first = date_day(1950, 1, 1);
	g->day_last = date_day(2026, 12, 31);
	return 0;
}

static void gen_free(gen *g)
{
	free(g->perm);
	free(g->cdf);
	free(g->ev_pair);
	free(g->ev_retractable);
}

/* Event i of the workload into e; counts go to w when it is a bulk one. */
static void gen_one(gen *g, gen_event *e, uint64_t i, bench_workload *w)
{
	bool bulk = i < w->events, partial = false;

	if (i < BENCH_ORGS) {
		gen_organization(g, e, i);
		w->organizations += bulk;
		w->type_counts[ANNALS__EVENT_TYPE__ORGANIZATION] += bulk;
		return;
	}
	unsigned r = (unsigned)rng_below(&g->rng, 1000), acc = 0;
	size_t t = 0;
	for (t = 0; t < TYPES - 1; t++)
		if (r < (acc += types[t].weight))
			break;
	if (types[t].type == ANNALS__EVENT_TYPE__RETRACTION) {
		if (gen_retraction(g, e, i)) {
			w->retractions += bulk;
			w->type_counts[ANNALS__EVENT_TYPE__RETRACTION] += bulk;
			if (bulk)
				w->pair_events[g->ev_pair[i]]++;
			return;
		}
		t = 0;   /* no target found: a statement */
	}
	gen_relationship(g, e, i, t, &partial);
	if (bulk) {
		w->partial_dates += partial;
		w->type_counts[types[t].type]++;
		w->pair_events[g->ev_pair[i]]++;
	}
}

static void gen_queries(bench_workload *w, bench_rng *rng, size_t uniform,
                        size_t hot)
{
	uint32_t *used = malloc(BENCH_PAIRS * sizeof *used);
	uint32_t d0 = date_day(1950, 1, 1), d1 = date_day(2026, 12, 31);
	int y, m, d;

	if (!used) {
		fprintf(stderr, "bench: out of memory\n");
		exit(4);
	}
	w->pairs_used = 0;
	for (uint32_t p = 0; p < BENCH_PAIRS; p++) {
		if (!w->pair_events[p])
			continue;
		used[w->pairs_used++] = p;
		/* Keep the BENCH_HOT_PAIRS largest, sorted by count. */
		for (size_t k = 0; k < BENCH_HOT_PAIRS; k++) {
			if (w->pair_events[p] <= w->hot_events[k])
				continue;
			memmove(&w->hot[k + 1], &w->hot[k], (BENCH_HOT_PAIRS - 1 - k) * sizeof w->hot[0]);
			memmove(&w->hot_events[k + 1], &w->hot_events[k],
			        (BENCH_HOT_PAIRS - 1 - k) * sizeof w->hot_events[0]);
			w->hot[k] = p;
			w->hot_events[k] = w->pair_events[p];
			break;
		}
	}
	w->uniform = calloc(uniform + 1, sizeof *w->uniform);
	w->hottest = calloc(hot + 1, sizeof *w->hottest);
	if (!w->uniform || !w->hottest) {
		fprintf(stderr, "bench: out of memory\n");
		exit(4);
	}
	w->uniform_count = uniform;
	w->hottest_count = hot;
	for (size_t i = 0; i < uniform + hot; i++) {
		bench_query *q = i < uniform ? &w->uniform[i] : &w->hottest[i - uniform];
		q->pair = i < uniform ? used[rng_below(rng, w->pairs_used)]
		                      : w->hot[rng_below(rng, BENCH_HOT_PAIRS)];
		q->day = d0 + (uint32_t)rng_below(rng, d1 - d0 + 1);
		date_ymd(&y, &m, &d, q->day);
		snprintf(q->at, sizeof q->at, "%04d-%02d-%02d", y, m, d);
	}
	free(used);
}

int bench_generate(bench_workload *w, const char *dir, uint64_t n,
                   size_t batch_events, size_t single_events,
                   size_t uniform_queries, size_t hot_queries, uint64_t seed)
{
	double t0 = bench_now_s();
	uint64_t total = n + batch_events + single_events;
	FILE *pb = NULL, *js = NULL, *cs = NULL;
	gen *g = calloc(1, sizeof *g);
	gen_event e;
	int rc = -1;

	memset(w, 0, sizeof *w);
	w->events = n;
	w->seed = seed;
	w->batch_events = batch_events;
	w->single_events = single_events;
	gen_load_countries();
	snprintf(w->pb_path, sizeof w->pb_path, "%s/bulk.pb", dir);
	snprintf(w->ndjson_path, sizeof w->ndjson_path, "%s/bulk.ndjson", dir);
	snprintf(w->csv_path, sizeof w->csv_path, "%s/bulk.csv", dir);
	w->pair_events = calloc(BENCH_PAIRS, sizeof *w->pair_events);
	if (!g || !w->pair_events || gen_setup(g, total, seed) != 0) {
		fprintf(stderr, "bench: out of memory\n");
		goto out;
	}
	pb = fopen(w->pb_path, "wb");
	js = fopen(w->ndjson_path, "wb");
	cs = fopen(w->csv_path, "wb");
	if (!pb || !js || !cs) {
		fprintf(stderr, "bench: cannot write the workload in %s\n", dir);
		goto out;
	}
	setvbuf(pb, NULL, _IOFBF, 1u << 20);
	setvbuf(js, NULL, _IOFBF, 1u << 20);
	setvbuf(cs, NULL, _IOFBF, 1u << 20);
	if (fputs(csv_header, cs) == EOF) {
		fprintf(stderr, "bench: cannot write the workload (disk full?)\n");
		goto out;
	}
	w->csv_bytes = sizeof csv_header - 1;
	for (uint64_t i = 0; i < total; i++) {
		gen_one(g, &e, i, w);
		size_t pn = gen_pb(g->pb, &e), jn = gen_json(g->json, &e);
		if (i < n) {
			size_t cn = gen_csv(g->csv, &e);
			if (fwrite(g->pb, 1, pn, pb) != pn || fwrite(g->json, 1, jn, js) != jn ||
			    fwrite(g->csv, 1, cn, cs) != cn) {
				fprintf(stderr, "bench: cannot write the workload (disk full?)\n");
				goto out;
			}
			w->pb_bytes += pn;
			w->ndjson_bytes += jn;
			w->csv_bytes += cn;
			continue;
		}
		records_begin(&w->extra_pb);
		records_append(&w->extra_pb, g->pb, pn);
		records_end(&w->extra_pb);
		records_begin(&w->extra_ndjson);
		records_append(&w->extra_ndjson, g->json, jn);
		records_end(&w->extra_ndjson);
	}
	int closed = fclose(pb) | fclose(js) | fclose(cs);
	pb = js = cs = NULL;
	if (closed != 0) {
		fprintf(stderr, "bench: cannot write the workload (disk full?)\n");
		goto out;
	}
	gen_queries(w, &g->rng, uniform_queries, hot_queries);
	w->gen_s = bench_now_s() - t0;
	rc = 0;
out:
	if (pb)
		fclose(pb);
	if (js)
		fclose(js);
	if (cs)
		fclose(cs);
	if (g)
		gen_free(g);
	free(g);
	return rc;
}

void bench_workload_free(bench_workload *w)
{
	records_free(&w->extra_pb);
	records_free(&w->extra_ndjson);
	free(w->pair_events);
	free(w->uniform);
	free(w->hottest);
	memset(w, 0, sizeof *w);
}
