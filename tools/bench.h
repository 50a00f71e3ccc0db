/* The benchmark of DESIGN §10 (issue 7): a seeded workload, annals measured
 * in process through ledger.h, and two SQLite peers in the same run.
 *
 *   bench.c         driver, annals figures, the table and BENCH lines
 *   bench_gen.c     the workload generator (NDJSON, CSV and protobuf input)
 *   bench_sqlite.c  the SQLite peers: plain, and an equivalent of annals
 *
 * Shared here: the random generator, clocks, latency samples and the
 * workload description. */
#ifndef BENCH_H
#define BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define BENCH_COUNTRIES     250u
#define BENCH_ORGS          2000u
#define BENCH_PAIRS         (BENCH_COUNTRIES * BENCH_ORGS)
#define BENCH_HOT_PAIRS     10u        /* "the hottest relationships" */
#define BENCH_BATCH_RECORDS 1000u      /* records in one batch transaction */
#define BENCH_PATH_BYTES    4096u

/* ---- splitmix64: seeded and reproducible on every platform ---- */

typedef struct bench_rng {
	uint64_t s;
} bench_rng;

static inline uint64_t rng_next(bench_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [0, 1). */
static inline double rng_unit(bench_rng *r)
{
	return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

/* Uniform in [0, n), n >= 1 (the modulo bias is below 2^-40 here). */
static inline uint64_t rng_below(bench_rng *r, uint64_t n)
{
	return rng_next(r) % n;
}

/* ---- clocks and latencies ---- */

double bench_now_s(void);          /* CLOCK_MONOTONIC, seconds */
uint64_t bench_wchar(void);        /* bytes this process passed to write(2) */
/* p50 and p99 in µs of `samples` 4 KiB pwrite + fdatasync in dir: the
 * floor under a durable commit at that moment. */
void bench_fsync_probe(double *p50_us, double *p99_us, const char *dir, int samples);
uint64_t bench_now_ns(void);

typedef struct bench_lat {
	uint64_t *ns;                   /* one sample per operation */
	size_t count, cap;
} bench_lat;

void lat_add(bench_lat *l, uint64_t ns);
void lat_free(bench_lat *l);
/* Percentile p (0..100) in µs; sorts the samples. 0 when empty. */
double lat_pct_us(bench_lat *l, double p);

/* ---- records held in memory ---- */

typedef struct bench_records {
	uint8_t *data;
	size_t bytes, cap;
	size_t *off;                    /* off[i] .. off[i+1]: record i */
	size_t count, off_cap;
} bench_records;

void records_begin(bench_records *r);        /* marks the start of a record */
void records_append(bench_records *r, const void *p, size_t n);
void records_end(bench_records *r);          /* closes the record */
void records_free(bench_records *r);
/* Bytes of records [from, from + n). */
static inline size_t records_span(const bench_records *r, size_t from, size_t n)
{
	return r->off[from + n] - r->off[from];
}

/* ---- the workload ---- */

/* A status query: a relationship (pair index) and a day. */
typedef struct bench_query {
	uint32_t pair;
	uint32_t day;                   /* days from 1 = 0001-01-01 */
	char at[11];                    /* YYYY-MM-DD */
} bench_query;

typedef struct bench_workload {
	uint64_t events;                /* records in the bulk files */
	uint64_t seed;
	char pb_path[BENCH_PATH_BYTES], ndjson_path[BENCH_PATH_BYTES];
	char csv_path[BENCH_PATH_BYTES];
	uint64_t pb_bytes, ndjson_bytes, csv_bytes;
	/* The records appended after the bulk import: batches, then single
	 * appends, in both formats. */
	bench_records extra_pb, extra_ndjson;
	size_t batch_events, single_events;
	/* Per relationship, events of the bulk files (retractions included). */
	uint32_t *pair_events;
	uint32_t hot[BENCH_HOT_PAIRS];  /* the hottest pairs */
	uint32_t hot_events[BENCH_HOT_PAIRS];
	uint64_t pairs_used;            /* relationships with an event */
	bench_query *uniform, *hottest;
	size_t uniform_count, hottest_count;
	/* Shape of the bulk files. */
	uint64_t retractions, partial_dates, organizations;
	uint64_t type_counts[17];
	double gen_s;
} bench_workload;

/* Generate n bulk events (organizations first) into dir/bulk.pb,
 * dir/bulk.ndjson and dir/bulk.csv (the same events in each), then
 * batch_events + single_events more in memory, and the status queries.
 * Returns 0, or -1 with a message on stderr. */
int bench_generate(bench_workload *w, const char *dir, uint64_t n,
                   size_t batch_events, size_t single_events,
                   size_t uniform_queries, size_t hot_queries, uint64_t seed);
void bench_workload_free(bench_workload *w);

/* The country code and organization slug of a pair. */
const char *bench_pair_country(uint32_t pair);
void bench_pair_org(char out[16], uint32_t pair);

/* ---- the SQLite peers ---- */

typedef enum peer_kind { PEER_PLAIN = 0, PEER_EQUIV = 1 } peer_kind;

/* What a status answered, for the cross-check between annals and peers. */
typedef struct bench_answer {
	uint64_t last_change_seq;
	uint64_t meetings;
	uint32_t lists;
	bool valid;
} bench_answer;

typedef struct peer_result {
	double import_s, import_eps;
	double batch_eps;
	double append_p50_us, append_p99_us;
	size_t appends;
	double status_p50_us, status_p99_us;
	size_t status_count;
	double hot_p50_us, hot_p99_us;
	size_t hot_count;
	uint64_t file_bytes;            /* database (and WAL) bytes after the import */
	/* Bytes handed to write(2) per event (/proc/self/io wchar). */
	double import_wpe, batch_wpe, single_wpe;
	double fsync_p50_us;            /* probed just before the single appends */
	uint64_t checked, mismatches;   /* statuses compared with annals */
	char mismatch[256];             /* the first one */
} peer_result;

typedef struct peer_limits {
	size_t uniform_queries, hot_queries;
	double query_budget_s;          /* per query set */
} peer_limits;

int bench_sqlite_run(peer_result *out, peer_kind kind, const bench_workload *w,
                     const char *dir, const peer_limits *lim,
                     const bench_answer *uniform_ans, const bench_answer *hot_ans,
                     size_t answers);

#endif
