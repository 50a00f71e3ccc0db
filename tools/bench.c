/* annals-bench: the benchmark of DESIGN §10 and issue 7.
 *
 *   annals-bench [WORKDIR]        WORKDIR defaults to $TMPDIR, else /tmp
 *
 * Environment: BENCH_EVENTS (1000000), BENCH_SEED (1), BENCH_BATCH_EVENTS
 * (100000 appended in transactions of 1,000 after the bulk import),
 * BENCH_SINGLE_EVENTS (2000 appended one per durable transaction),
 * BENCH_QUERY_BUDGET_S (30, per query set), BENCH_SKIP_SQLITE (1: annals
 * only).
 *
 * Generates the workload into a fresh directory under WORKDIR, measures
 * annals in process through ledger.h (the bulk imports of the protobuf,
 * NDJSON and CSV files run in a child process, fork and exec of this
 * program, so that their RssAnon and peak RSS are their own; the CSV ledger
 * is compared with the NDJSON one), then the two SQLite peers
 * (bench_sqlite.c), prints a table with the ratios and one `BENCH <name>
 * <value> <unit>` line per figure, and removes everything it wrote. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <lmdb.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sqlite3.h>

#include "ledger.h"

#include "bench.h"

#define BENCH_ANSWERS      2000u    /* statuses cross-checked with the peers */
#define BENCH_SHA_EVENTS   1000000u /* records hashed for the raw SHA-256 figure */
#define BENCH_PROOFS       10000u
#define BENCH_UNIFORM      100000u
#define BENCH_HOT_ANNALS   10000u
#define BENCH_HOT_SQLITE   200u
#define BENCH_CSV_SAMPLES  1000u    /* events compared, CSV ledger vs NDJSON */

/* ---- clocks, latencies ---- */

double bench_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t proc_status_kb(const char *path, const char *key);

uint64_t bench_wchar(void)
{
	/* /proc/PID/io reads "wchar: N", the same shape as a status line. */
	return proc_status_kb("/proc/self/io", "wchar");
}

void lat_add(bench_lat *l, uint64_t ns)
{
	if (l->count == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 4096;
		l->ns = realloc(l->ns, l->cap * sizeof *l->ns);
		if (!l->ns) {
			fprintf(stderr, "bench: out of memory\n");
			exit(4);
		}
	}
	l->ns[l->count++] = ns;
}

void lat_free(bench_lat *l)
{
	free(l->ns);
	memset(l, 0, sizeof *l);
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

double lat_pct_us(bench_lat *l, double p)
{
	if (!l->count)
		return 0;
	qsort(l->ns, l->count, sizeof *l->ns, u64_cmp);
	size_t i = (size_t)(p / 100.0 * (double)l->count);
	if (i >= l->count)
		i = l->count - 1;
	return (double)l->ns[i] / 1000.0;
}

/* ---- small helpers ---- */

static void fail(ledger *l, ledger_err err, const char *what)
{
	fprintf(stderr, "bench: %s: %s%s%s\n", what, ledger_strerror(err),
	        l && *ledger_errmsg(l) ? ": " : "", l ? ledger_errmsg(l) : "");
	exit(4);
}

static uint64_t env_u64(const char *name, uint64_t dflt)
{
	const char *v = getenv(name);
	char *end;

	if (!v || !*v)
		return dflt;
	unsigned long long x = strtoull(v, &end, 10);
	if (*end) {
		fprintf(stderr, "bench: %s=%s is not a number\n", name, v);
		exit(2);
	}
	return x;
}

static void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static double run_started;

static void progress(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "bench: [%6.1f s] ", bench_now_s() - run_started);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* The number of a /proc status line ("RssAnon:  1234 kB": 1234); 0 if absent. */
static uint64_t proc_status_kb(const char *path, const char *key)
{
	char line[256];
	size_t n = strlen(key);
	uint64_t v = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return 0;
	while (fgets(line, sizeof line, f))
		if (strncmp(line, key, n) == 0 && line[n] == ':') {
			v = strtoull(line + n + 1, NULL, 10);
			break;
		}
	fclose(f);
	return v;
}

static void rm_rf(const char *dir)
{
	char cmd[BENCH_PATH_BYTES + 32];

	if (!*dir)
		return;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "bench: cannot remove %s\n", dir);
}

/* ---- the machine ---- */

typedef struct machine {
	char cpu[128];
	long cores;
	double mem_gib;
	char kernel[256];
	bool sha_ni;
	char load_start[64], load_end[64];  /* /proc/loadavg: other work on the machine */
	double fsync_p50_us, fsync_p99_us;  /* 4 KiB pwrite + fdatasync in WORKDIR */
} machine;

static void loadavg(char *out, size_t n)
{
	FILE *f = fopen("/proc/loadavg", "r");
	double a = 0, b = 0, c = 0;

	if (f && fscanf(f, "%lf %lf %lf", &a, &b, &c) == 3)
		snprintf(out, n, "%.2f %.2f %.2f", a, b, c);
	else
		snprintf(out, n, "?");
	if (f)
		fclose(f);
}

/* The price of one durable write on this disk: the floor under a durable
 * commit (LMDB syncs twice per commit: data pages, then the meta page).
 * It varies with the other writes on the machine, so it is probed again
 * just before each set of single appends. */
void bench_fsync_probe(double *p50_us, double *p99_us, const char *dir, int samples)
{
	char path[BENCH_PATH_BYTES + 16], page[4096];
	bench_lat lat = { 0 };
	int fd;

	*p50_us = *p99_us = 0;
	snprintf(path, sizeof path, "%s/fsync.probe", dir);
	if ((fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600)) < 0)
		return;
	memset(page, 'x', sizeof page);
	for (int i = 0; i < samples; i++) {
		uint64_t a = bench_now_ns();
		if (pwrite(fd, page, sizeof page, (off_t)(i % 64) * 4096) != sizeof page ||
		    fdatasync(fd) != 0)
			break;
		lat_add(&lat, bench_now_ns() - a);
	}
	close(fd);
	unlink(path);
	*p50_us = lat_pct_us(&lat, 50);
	*p99_us = lat_pct_us(&lat, 99);
	lat_free(&lat);
}

static void machine_get(machine *m)
{
	char line[4096];
	struct utsname u;
	FILE *f = fopen("/proc/cpuinfo", "r");

	memset(m, 0, sizeof *m);
	snprintf(m->cpu, sizeof m->cpu, "unknown CPU");
	while (f && fgets(line, sizeof line, f)) {
		if (strncmp(line, "model name", 10) == 0 && !strcmp(m->cpu, "unknown CPU")) {
			char *v = strchr(line, ':');
			if (v) {
				v += 1 + strspn(v + 1, " \t");
				v[strcspn(v, "\n")] = 0;
				snprintf(m->cpu, sizeof m->cpu, "%s", v);
			}
		}
		if (strncmp(line, "flags", 5) == 0 && strstr(line, " sha_ni"))
			m->sha_ni = true;
	}
	if (f)
		fclose(f);
	m->cores = sysconf(_SC_NPROCESSORS_ONLN);
	m->mem_gib = (double)proc_status_kb("/proc/meminfo", "MemTotal") / (1024.0 * 1024.0);
	if (uname(&u) == 0)
		snprintf(m->kernel, sizeof m->kernel, "%s %s", u.sysname, u.release);
	loadavg(m->load_start, sizeof m->load_start);
}

/* ---- the bulk import, in a child process ---- */

typedef struct import_result {
	double s, eps;
	uint64_t appended;
	uint64_t rss_anon_kb;           /* sampled peak of RssAnon */
	uint64_t hwm_kb;                /* VmHWM: peak RSS, file pages included */
	double wpe;                     /* bytes written per event */
	unsigned replays;               /* map grown and the import replayed */
} import_result;

static void report_refused(void *ctx, const char *message)
{
	unsigned *shown = ctx;

	if ((*shown)++ < 10)
		fprintf(stderr, "bench: refused: %s\n", message);
}

/* The child: `annals-bench --import-child pb|ndjson|csv FILE DIR`. Prints
 * "seconds appended VmHWM-kB RssAnon-kB written-bytes replays" on stdout. */
static int import_child(const char *fmt, const char *file, const char *dir)
{
	char err[512];
	ledger *l = NULL;
	ledger_import_stats st;
	unsigned shown = 0;
	ledger_import_opts o = { .name = file, .expect_version = -1,
	                         .report = report_refused, .report_ctx = &shown };
	ledger_err e;
	int fd = open(file, O_RDONLY);

	if (strcmp(fmt, "pb") == 0)
		o.format = LEDGER_FORMAT_PB;
	else if (strcmp(fmt, "csv") == 0)
		o.format = LEDGER_FORMAT_CSV;
	else if (strcmp(fmt, "ndjson") == 0)
		o.format = LEDGER_FORMAT_NDJSON;
	else {
		fprintf(stderr, "bench: unknown import format %s\n", fmt);
		if (fd >= 0)
			close(fd);
		return 2;
	}
	if (fd < 0) {
		fprintf(stderr, "bench: cannot open %s: %s\n", file, strerror(errno));
		return 4;
	}
	if ((e = ledger_init(dir, NULL, err, sizeof err)) != LEDGER_OK) {
		fprintf(stderr, "bench: init %s: %s: %s\n", dir, ledger_strerror(e), err);
		return 4;
	}
	if ((e = ledger_open(&l, dir, 0)) != LEDGER_OK)
		fail(l, e, "open");
	double t0 = bench_now_s();
	uint64_t w0 = bench_wchar();
	if ((e = ledger_import_fd(&st, l, fd, &o)) != LEDGER_OK)
		fail(l, e, "import");
	double s = bench_now_s() - t0;
	uint64_t written = bench_wchar() - w0;
	uint64_t anon = proc_status_kb("/proc/self/status", "RssAnon");
	ledger_close(l);
	close(fd);
	printf("%.6f %llu %llu %llu %llu %u\n", s, (unsigned long long)st.appended,
	       (unsigned long long)proc_status_kb("/proc/self/status", "VmHWM"),
	       (unsigned long long)anon, (unsigned long long)written, st.replays);
	return 0;
}

static void import_in_child(import_result *out, const char *fmt,
                            const char *file, const char *dir)
{
	int fds[2];
	char path[64], buf[256] = "";
	pid_t pid;
	int status;

	memset(out, 0, sizeof *out);
	if (pipe(fds) != 0 || (pid = fork()) < 0) {
		fprintf(stderr, "bench: cannot start the import: %s\n", strerror(errno));
		exit(4);
	}
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execl("/proc/self/exe", "annals-bench", "--import-child", fmt, file,
		      dir, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	/* Sample RssAnon every 10 ms while the child runs. */
	while (waitpid(pid, &status, WNOHANG) == 0) {
		uint64_t a = proc_status_kb(path, "RssAnon"), h = proc_status_kb(path, "VmHWM");
		if (a > out->rss_anon_kb)
			out->rss_anon_kb = a;
		if (h > out->hwm_kb)
			out->hwm_kb = h;
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	ssize_t n = read(fds[0], buf, sizeof buf - 1);
	close(fds[0]);
	unsigned long long appended = 0, hwm = 0, anon = 0, written = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || n <= 0 ||
	    sscanf(buf, "%lf %llu %llu %llu %llu %u", &out->s, &appended, &hwm, &anon,
	           &written, &out->replays) != 6) {
		fprintf(stderr, "bench: the %s import failed\n", fmt);
		exit(4);
	}
	out->appended = appended;
	out->eps = (double)appended / out->s;
	out->wpe = appended ? (double)written / (double)appended : 0;
	if (hwm > out->hwm_kb)
		out->hwm_kb = hwm;
	if (anon > out->rss_anon_kb)
		out->rss_anon_kb = anon;
}

/* ---- annals figures ---- */

typedef struct annals_result {
	import_result pb, ndjson, csv;
	/* The CSV ledger compared with the NDJSON one. */
	uint64_t csv_checked_events, csv_checked_statuses;
	double batch_eps;
	double append_p50_us, append_p99_us;
	size_t appends;
	double batch_wpe, single_wpe;   /* bytes written per event */
	double fsync_p50_us;            /* probed just before the single appends */
	double verify_s, verify_eps, verify_mbps;
	uint64_t verify_events, verify_bytes;
	double sha256_mbps;
	uint64_t sha256_records;
	double status_p50_us, status_p99_us;
	size_t status_count;
	double hot_p50_us, hot_p99_us;
	size_t hot_count;
	double inclusion_p50_us, inclusion_p99_us;
	double consistency_p50_us, consistency_p99_us;
	double export_s;
	uint64_t export_bytes, export_relationships;
	double prove_p50_us, prove_p99_us, check_p50_us, check_p99_us;
	size_t prove_count;
	double prove_bundle_bytes;      /* mean, uniform relationships */
	double prove_hot_ms, check_hot_ms;
	uint64_t prove_hot_bundle_bytes;
	double rebuild_s;
	bool rebuild_equal;
	ledger_stats stats;             /* after the bulk import */
	ledger_stats stats_appended;    /* after the batch and single appends */
	uint64_t record_bytes;          /* envelopes and bodies, summed */
	bench_answer *uniform_ans, *hot_ans;
} annals_result;

static int sum_bytes(void *ctx, const ledger_event_view *ev)
{
	*(uint64_t *)ctx += ev->envelope_bytes + ev->body_bytes;
	return 0;
}

static void annals_status(annals_result *r, ledger *l, const bench_query *qs,
                          size_t count, double budget_s, bench_answer *ans,
                          bool hot)
{
	bench_lat lat = { 0 };
	char org[16];
	size_t i, warm = count < 1000 ? count / 10 + 1 : 1000;
	double t0 = bench_now_s();

	for (int pass = 0; pass < 2; pass++) {
		size_t n = pass ? count : warm;
		t0 = bench_now_s();
		for (i = 0; i < n && bench_now_s() - t0 < budget_s; i++) {
			ledger_status st;
			ledger_status_query q = { .country = bench_pair_country(qs[i].pair),
			                          .organization = org, .at = qs[i].at };
			bench_pair_org(org, qs[i].pair);
			uint64_t a = bench_now_ns();
			ledger_err err = ledger_status_get(&st, l, &q);
			uint64_t ns = bench_now_ns() - a;
			if (err != LEDGER_OK)
				fail(l, err, "status");
			if (pass) {
				lat_add(&lat, ns);
				if (i < BENCH_ANSWERS) {
					ans[i].valid = true;
					ans[i].last_change_seq = st.last_change_seq;
					ans[i].meetings = st.meetings;
					ans[i].lists = (uint32_t)st.lists_count;
				}
			}
			ledger_status_free(&st);
		}
	}
	if (hot) {
		r->hot_count = lat.count;
		r->hot_p50_us = lat_pct_us(&lat, 50);
		r->hot_p99_us = lat_pct_us(&lat, 99);
	} else {
		r->status_count = lat.count;
		r->status_p50_us = lat_pct_us(&lat, 50);
		r->status_p99_us = lat_pct_us(&lat, 99);
	}
	lat_free(&lat);
}

static void annals_proofs(annals_result *r, ledger *l, uint64_t n, bench_rng *rng)
{
	static ledger_proof p;
	bench_lat inc = { 0 }, con = { 0 };

	for (size_t i = 0; i < BENCH_PROOFS; i++) {
		uint64_t seq = 1 + rng_below(rng, n), old = 1 + rng_below(rng, n);
		uint64_t a = bench_now_ns();
		ledger_err err = ledger_prove_inclusion(&p, l, seq, LEDGER_SIZE_HEAD);
		uint64_t b = bench_now_ns();
		if (err != LEDGER_OK)
			fail(l, err, "prove inclusion");
		err = ledger_prove_consistency(&p, l, old, LEDGER_SIZE_HEAD);
		uint64_t c = bench_now_ns();
		if (err != LEDGER_OK)
			fail(l, err, "prove consistency");
		lat_add(&inc, b - a);
		lat_add(&con, c - b);
	}
	r->inclusion_p50_us = lat_pct_us(&inc, 50);
	r->inclusion_p99_us = lat_pct_us(&inc, 99);
	r->consistency_p50_us = lat_pct_us(&con, 50);
	r->consistency_p99_us = lat_pct_us(&con, 99);
	lat_free(&inc);
	lat_free(&con);
}

static void annals_appends(annals_result *r, ledger *l, const bench_workload *w,
                           const char *dir)
{
	const bench_records *rec = &w->extra_pb;
	unsigned shown = 0;
	ledger_import_opts o = { .name = "batch", .format = LEDGER_FORMAT_PB,
	                         .expect_version = -1, .report = report_refused,
	                         .report_ctx = &shown };
	ledger_import_stats st;
	bench_lat lat = { 0 };
	uint64_t n = 0, w0 = bench_wchar();
	double t0 = bench_now_s();
	ledger_err err;

	for (size_t i = 0; i < w->batch_events; i += BENCH_BATCH_RECORDS) {
		size_t k = w->batch_events - i < BENCH_BATCH_RECORDS ?
		           w->batch_events - i : BENCH_BATCH_RECORDS;
		if ((err = ledger_import_mem(&st, l, rec->data + rec->off[i],
		                             records_span(rec, i, k), &o)) != LEDGER_OK)
			fail(l, err, "batch import");
		n += st.appended;
	}
	r->batch_eps = (double)n / (bench_now_s() - t0);
	r->batch_wpe = n ? (double)(bench_wchar() - w0) / (double)n : 0;
	double p99;
	bench_fsync_probe(&r->fsync_p50_us, &p99, dir, 100);
	w0 = bench_wchar();
	for (size_t i = w->batch_events; i < w->batch_events + w->single_events; i++) {
		uint64_t a = bench_now_ns();
		err = ledger_import_mem(&st, l, rec->data + rec->off[i],
		                        records_span(rec, i, 1), &o);
		lat_add(&lat, bench_now_ns() - a);
		if (err != LEDGER_OK || st.appended != 1)
			fail(l, err, "single append");
	}
	r->appends = lat.count;
	r->single_wpe = lat.count ? (double)(bench_wchar() - w0) / (double)lat.count : 0;
	r->append_p50_us = lat_pct_us(&lat, 50);
	r->append_p99_us = lat_pct_us(&lat, 99);
	lat_free(&lat);
}

/* Raw SHA-256: the stored envelopes and bodies of up to BENCH_SHA_EVENTS
 * events, copied out, then one digest each on one thread with the digest
 * fetched once. */
typedef struct sha_set {
	bench_records r;
	uint64_t limit;
} sha_set;

static int sha_collect(void *ctx, const ledger_event_view *ev)
{
	sha_set *s = ctx;

	records_begin(&s->r);
	records_append(&s->r, ev->envelope, ev->envelope_bytes);
	records_end(&s->r);
	if (ev->body) {
		records_begin(&s->r);
		records_append(&s->r, ev->body, ev->body_bytes);
		records_end(&s->r);
	}
	return 0;
}

static void raw_sha256(annals_result *r, ledger *l)
{
	sha_set s = { 0 };
	EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char out[EVP_MAX_MD_SIZE];
	unsigned len;
	ledger_err err;

	if (!md || !ctx) {
		fprintf(stderr, "bench: OpenSSL cannot fetch SHA-256\n");
		exit(4);
	}
	if ((err = ledger_each(l, 1, BENCH_SHA_EVENTS, sha_collect, &s)) != LEDGER_OK)
		fail(l, err, "read events");
	double best = 0;
	for (int round = 0; round < 3; round++) {   /* best of three */
		double t0 = bench_now_s();
		for (size_t i = 0; i < s.r.count; i++) {
			EVP_DigestInit_ex2(ctx, md, NULL);
			EVP_DigestUpdate(ctx, s.r.data + s.r.off[i], records_span(&s.r, i, 1));
			EVP_DigestFinal_ex(ctx, out, &len);
		}
		double mbps = (double)s.r.bytes / (bench_now_s() - t0) / 1e6;
		if (mbps > best)
			best = mbps;
	}
	r->sha256_mbps = best;
	r->sha256_records = s.r.count;
	records_free(&s.r);
	EVP_MD_CTX_free(ctx);
	EVP_MD_free(md);
}

/* A full snapshot (JSON) of every relationship at a fixed day, as of the
 * newest seq, into a file; the first export signs the checkpoint. */
static void annals_export(annals_result *r, ledger *l, const char *dir)
{
	char path[BENCH_PATH_BYTES + 32];
	ledger_export_opts o = { .at = "2020-06-30", .format = LEDGER_EXPORT_JSON };
	ledger_export_info info;
	struct stat st;
	ledger_err err;

	snprintf(path, sizeof path, "%s/snapshot.json", dir);
	FILE *f = fopen(path, "w");
	if (!f) {
		fprintf(stderr, "bench: cannot write %s: %s\n", path, strerror(errno));
		exit(4);
	}
	memset(&info, 0, sizeof info);
	double t0 = bench_now_s();
	err = ledger_export(&info, l, &o, f);
	if (err == LEDGER_OK && fflush(f) != 0)
		err = LEDGER_EIO;
	r->export_s = bench_now_s() - t0;
	fclose(f);
	if (err != LEDGER_OK)
		fail(l, err, "export");
	r->export_relationships = info.relationships;
	r->export_bytes = stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
	ledger_export_info_free(&info);
	unlink(path);
}

/* One proved status into memory, then its offline check; returns the
 * bundle's size and the two durations. */
static size_t prove_one(ledger *l, const char *vkey, const bench_query *q,
                        uint64_t *prove_ns, uint64_t *check_ns)
{
	char org[16], why[512], *buf = NULL;
	size_t bytes = 0;
	ledger_status_query sq = { .country = bench_pair_country(q->pair),
	                           .organization = org, .at = q->at };
	ledger_status st;
	ledger_err err;

	bench_pair_org(org, q->pair);
	FILE *f = open_memstream(&buf, &bytes);
	if (!f)
		fail(NULL, LEDGER_ENOMEM, "open_memstream");
	uint64_t a = bench_now_ns();
	err = ledger_status_prove(l, &sq, f);
	if (fclose(f) != 0 && err == LEDGER_OK)
		err = LEDGER_EIO;
	uint64_t b = bench_now_ns();
	if (err != LEDGER_OK)
		fail(l, err, "status --prove");
	err = ledger_bundle_check(&st, buf, bytes, vkey, strlen(vkey), why, sizeof why);
	uint64_t c = bench_now_ns();
	if (err != LEDGER_OK) {
		fprintf(stderr, "bench: check of a bundle: %s: %s\n", ledger_strerror(err), why);
		exit(4);
	}
	ledger_status_free(&st);
	free(buf);
	*prove_ns = b - a;
	*check_ns = c - b;
	return bytes;
}

static void annals_prove(annals_result *r, ledger *l, const bench_workload *w,
                         double budget_s)
{
	char vkey[LEDGER_VKEY_TEXT_BYTES];
	bench_lat pl = { 0 }, cl = { 0 };
	uint64_t pn, cn;
	double total = 0, t0 = bench_now_s();
	ledger_err err;

	if ((err = ledger_verifier_key(vkey, l)) != LEDGER_OK)
		fail(l, err, "verifier key");
	for (size_t i = 0; i < 1000 && i < w->uniform_count &&
	     bench_now_s() - t0 < budget_s; i++) {
		total += (double)prove_one(l, vkey, &w->uniform[i], &pn, &cn);
		lat_add(&pl, pn);
		lat_add(&cl, cn);
	}
	r->prove_count = pl.count;
	r->prove_bundle_bytes = pl.count ? total / (double)pl.count : 0;
	r->prove_p50_us = lat_pct_us(&pl, 50);
	r->prove_p99_us = lat_pct_us(&pl, 99);
	r->check_p50_us = lat_pct_us(&cl, 50);
	r->check_p99_us = lat_pct_us(&cl, 99);
	lat_free(&pl);
	lat_free(&cl);
	/* The hottest relationship: every envelope of its stream is in it. */
	r->prove_hot_bundle_bytes = prove_one(l, vkey, &w->hottest[0], &pn, &cn);
	r->prove_hot_ms = (double)pn / 1e6;
	r->check_hot_ms = (double)cn / 1e6;
}

/* ---- the CSV import checked against the NDJSON one ---- */

/* What a bulk ledger holds, cheaply, for comparing two imports of the same
 * events: the head seq, the input JSON (dump) of BENCH_CSV_SAMPLES events
 * spread over the log and of the last one, and the whole status JSON of
 * the first BENCH_ANSWERS uniform and BENCH_HOT_SQLITE hottest queries.
 * Two ledgers cannot be compared byte for byte: every body has a random
 * salt, and the content MAC a per-ledger key. */
typedef struct ledger_sample {
	uint64_t events;
	bench_records lines;            /* events, then statuses */
	size_t event_lines;
} ledger_sample;

typedef struct sample_ctx {
	ledger_sample *s;
	ledger *l;
} sample_ctx;

static int sample_event(void *ctx, const ledger_event_view *ev)
{
	sample_ctx *c = ctx;
	char *json = NULL;
	ledger_err err = ledger_event_json(&json, c->l, ev, LEDGER_JSON_INPUT);

	if (err != LEDGER_OK)
		fail(c->l, err, "render an event");
	records_begin(&c->s->lines);
	records_append(&c->s->lines, json, strlen(json));
	records_end(&c->s->lines);
	free(json);
	return 0;
}

static void sample_statuses(ledger_sample *s, ledger *l, const bench_query *qs,
                            size_t count)
{
	char org[16];

	for (size_t i = 0; i < count; i++) {
		ledger_status st;
		ledger_status_query q = { .country = bench_pair_country(qs[i].pair),
		                          .organization = org, .at = qs[i].at };
		bench_pair_org(org, qs[i].pair);
		ledger_err err = ledger_status_get(&st, l, &q);
		if (err != LEDGER_OK)
			fail(l, err, "status");
		char *json = ledger_status_json(&st);
		if (!json)
			fail(l, LEDGER_ENOMEM, "status json");
		records_begin(&s->lines);
		records_append(&s->lines, json, strlen(json));
		records_end(&s->lines);
		free(json);
		ledger_status_free(&st);
	}
}

static void ledger_sample_take(ledger_sample *s, const char *dir,
                               const bench_workload *w)
{
	ledger *l = NULL;
	ledger_head head;
	ledger_err err;

	memset(s, 0, sizeof *s);
	if ((err = ledger_open(&l, dir, LEDGER_OPEN_RDONLY)) != LEDGER_OK ||
	    (err = ledger_get_head(&head, l)) != LEDGER_OK)
		fail(l, err, "open an imported ledger");
	s->events = head.seq;
	uint64_t step = head.seq / BENCH_CSV_SAMPLES ? head.seq / BENCH_CSV_SAMPLES : 1;
	sample_ctx ctx = { s, l };
	for (uint64_t seq = 1; seq <= head.seq; seq += step)
		if ((err = ledger_get(l, seq, sample_event, &ctx)) != LEDGER_OK)
			fail(l, err, "read an event");
	if (head.seq && (err = ledger_get(l, head.seq, sample_event, &ctx)) != LEDGER_OK)
		fail(l, err, "read an event");
	s->event_lines = s->lines.count;
	sample_statuses(s, l, w->uniform, w->uniform_count < BENCH_ANSWERS ?
	                w->uniform_count : BENCH_ANSWERS);
	sample_statuses(s, l, w->hottest, w->hottest_count < BENCH_HOT_SQLITE ?
	                w->hottest_count : BENCH_HOT_SQLITE);
	ledger_close(l);
}

/* The CSV import counts only if it stored what the NDJSON one did. A
 * difference is a bug of the generator or of a reader: exit 1. */
static void csv_check(annals_result *r, const ledger_sample *nd,
                      const ledger_sample *cs)
{
	const bench_records *a = &nd->lines, *b = &cs->lines;

	if (nd->events != cs->events || a->count != b->count ||
	    nd->event_lines != cs->event_lines) {
		fprintf(stderr, "bench: the CSV import holds %llu events, the NDJSON "
		        "one %llu\n", (unsigned long long)cs->events,
		        (unsigned long long)nd->events);
		exit(1);
	}
	for (size_t i = 0; i < a->count; i++) {
		size_t n = records_span(a, i, 1);
		if (n == records_span(b, i, 1) &&
		    memcmp(a->data + a->off[i], b->data + b->off[i], n) == 0)
			continue;
		fprintf(stderr, "bench: the CSV and NDJSON imports differ, %s %zu:\n"
		        "  ndjson: %.*s\n  csv:    %.*s\n",
		        i < nd->event_lines ? "sampled event" : "status",
		        i < nd->event_lines ? i : i - nd->event_lines,
		        (int)n, (const char *)a->data + a->off[i],
		        (int)records_span(b, i, 1), (const char *)b->data + b->off[i]);
		exit(1);
	}
	r->csv_checked_events = nd->event_lines;
	r->csv_checked_statuses = a->count - nd->event_lines;
}

static void annals_run(annals_result *r, const bench_workload *w,
                       const char *dir, double budget_s)
{
	char ldir[BENCH_PATH_BYTES + 32], ndir[BENCH_PATH_BYTES + 32];
	char cdir[BENCH_PATH_BYTES + 32];
	bench_rng rng = { w->seed ^ 0x5bd1e995u };
	ledger *l = NULL;
	ledger_err err;

	snprintf(ldir, sizeof ldir, "%s/annals.db", dir);
	snprintf(ndir, sizeof ndir, "%s/annals-ndjson.db", dir);
	snprintf(cdir, sizeof cdir, "%s/annals-csv.db", dir);
	progress("annals: import of %llu events (protobuf, one transaction)",
	         (unsigned long long)w->events);
	import_in_child(&r->pb, "pb", w->pb_path, ldir);
	progress("annals: import of %llu events (NDJSON, one transaction)",
	         (unsigned long long)w->events);
	import_in_child(&r->ndjson, "ndjson", w->ndjson_path, ndir);
	ledger_sample nd, cs;
	ledger_sample_take(&nd, ndir, w);
	rm_rf(ndir);
	progress("annals: import of %llu events (CSV, one transaction)",
	         (unsigned long long)w->events);
	import_in_child(&r->csv, "csv", w->csv_path, cdir);
	ledger_sample_take(&cs, cdir, w);
	rm_rf(cdir);
	csv_check(r, &nd, &cs);
	records_free(&nd.lines);
	records_free(&cs.lines);

	if ((err = ledger_open(&l, ldir, 0)) != LEDGER_OK)
		fail(l, err, "open");
	if ((err = ledger_get_stats(&r->stats, l)) != LEDGER_OK)
		fail(l, err, "stats");
	if ((err = ledger_each(l, 1, 0, sum_bytes, &r->record_bytes)) != LEDGER_OK)
		fail(l, err, "read events");

	progress("annals: status, %zu uniform and %zu hot queries",
	         w->uniform_count, (size_t)BENCH_HOT_ANNALS);
	r->uniform_ans = calloc(BENCH_ANSWERS, sizeof *r->uniform_ans);
	r->hot_ans = calloc(BENCH_ANSWERS, sizeof *r->hot_ans);
	if (!r->uniform_ans || !r->hot_ans)
		fail(NULL, LEDGER_ENOMEM, "answers");
	annals_status(r, l, w->uniform, w->uniform_count, budget_s, r->uniform_ans, false);
	annals_status(r, l, w->hottest, w->hottest_count < BENCH_HOT_ANNALS ?
	              w->hottest_count : BENCH_HOT_ANNALS, budget_s, r->hot_ans, true);
	progress("annals: proofs");
	annals_proofs(r, l, w->events, &rng);
	progress("annals: snapshot export");
	annals_export(r, l, dir);
	progress("annals: status --prove and check");
	annals_prove(r, l, w, budget_s);

	progress("annals: %zu appends in transactions of %u, %zu single appends",
	         w->batch_events, BENCH_BATCH_RECORDS, w->single_events);
	annals_appends(r, l, w, dir);

	if ((err = ledger_get_stats(&r->stats_appended, l)) != LEDGER_OK)
		fail(l, err, "stats");

	progress("annals: verify");
	ledger_verify_stats vs;
	double t0 = bench_now_s();
	if ((err = ledger_verify(&vs, l)) != LEDGER_OK)
		fail(l, err, "verify");
	r->verify_s = bench_now_s() - t0;
	r->verify_events = vs.events;
	r->verify_bytes = vs.bytes;
	r->verify_eps = (double)vs.events / r->verify_s;
	r->verify_mbps = (double)vs.bytes / r->verify_s / 1e6;
	raw_sha256(r, l);

	progress("annals: rebuild");
	ledger_rebuild_stats rs;
	t0 = bench_now_s();
	if ((err = ledger_rebuild(&rs, l)) != LEDGER_OK)
		fail(l, err, "rebuild");
	r->rebuild_s = bench_now_s() - t0;
	r->rebuild_equal = rs.equal;
	ledger_close(l);
	rm_rf(ldir);
}

/* ---- output ---- */

static void bench_line(const char *name, double v, const char *unit)
{
	printf("BENCH %s %.*f %s\n", name, v >= 100 ? 0 : v >= 1 ? 2 : 3, v, unit);
}

static const char *mark(bool met)
{
	return met ? "met" : "MISSED";
}

/* One row: annals, the SQLite equivalent and plain peers, then how many
 * times better annals is than each (throughput: annals / peer; latency:
 * peer / annals; 0 leaves the cell empty), then the target. */
static void print_row(const char *figure, const char *annals, const char *eq,
                      const char *plain, double vs_eq, double vs_plain,
                      const char *target)
{
	char r1[16] = "", r2[16] = "";

	if (vs_eq > 0)
		snprintf(r1, sizeof r1, "%.2fx", vs_eq);
	if (vs_plain > 0)
		snprintf(r2, sizeof r2, "%.2fx", vs_plain);
	printf("%-33s %-17s %-17s %-17s %-8s %-8s %s\n", figure, annals, eq, plain,
	       r1, r2, target);
}

static double ratio(double a, double b)
{
	return a > 0 && b > 0 ? a / b : 0;
}

static void fmt_eps(char *out, size_t n, double eps)
{
	if (eps > 0)
		snprintf(out, n, "%.0f", eps);
	else
		snprintf(out, n, "-");
}

static void fmt_lat(char *out, size_t n, double p50, double p99, size_t count)
{
	if (!count)
		snprintf(out, n, "-");
	else
		snprintf(out, n, "%.1f / %.1f", p50, p99);
}

typedef struct run {
	machine m;
	bench_workload *w;
	annals_result *a;
	peer_result eq, plain;
	bool sqlite;
	double total_s;
} run;

static void print_table(const run *x)
{
	const bench_workload *w = x->w;
	const annals_result *a = x->a;
	const peer_result *eq = &x->eq, *pl = &x->plain;
	char c1[96], c2[96], c3[96], t[128];
	double n = (double)w->events;
	double disk_per = (double)a->stats.file_bytes / n;
	double disk_ratio = (double)a->stats.file_bytes / (double)a->record_bytes;
	double st_target = w->events > 5000000 ? 20 : 10;

	printf("\nannals benchmark: %llu events, seed %llu, %u countries x %u "
	       "organizations\n", (unsigned long long)w->events,
	       (unsigned long long)w->seed, BENCH_COUNTRIES, BENCH_ORGS);
	printf("machine: %s, %ld cores%s, %.1f GiB, %s\n", x->m.cpu, x->m.cores,
	       x->m.sha_ni ? " (SHA-NI)" : "", x->m.mem_gib, x->m.kernel);
	printf("load average at start %s, at end %s; 4 KiB pwrite + fdatasync "
	       "p50/p99 %.0f / %.0f us\n", x->m.load_start, x->m.load_end,
	       x->m.fsync_p50_us, x->m.fsync_p99_us);
	printf("software: %s, SQLite %s, %s\n", MDB_VERSION_STRING, sqlite3_libversion(),
	       OpenSSL_version(OPENSSL_VERSION));
	printf("workload: %.0f B/event protobuf, %.0f B/event NDJSON, %.0f B/event "
	       "CSV, %.0f B/event stored (envelope + body); %.1f%% partial dates, "
	       "%.2f%% retractions; %llu relationships, the hottest with %u events; "
	       "%zu + %zu appends after the import; generated in %.1f s\n",
	       (double)w->pb_bytes / n, (double)w->ndjson_bytes / n,
	       (double)w->csv_bytes / n, (double)a->record_bytes / n,
	       100.0 * (double)w->partial_dates / n,
	       100.0 * (double)w->retractions / n, (unsigned long long)w->pairs_used,
	       w->hot_events[0], w->batch_events, w->single_events, w->gen_s);
	printf("\n");
	printf("%-33s %-17s %-17s %-17s %-8s %-8s %s\n", "figure", "annals",
	       "sqlite equiv", "sqlite plain", "vs equiv", "vs plain", "target");
	fmt_eps(c1, sizeof c1, a->pb.eps);
	fmt_eps(c2, sizeof c2, eq->import_eps);
	snprintf(t, sizeof t, ">= 300000 and 2x equiv: %s",
	         mark(a->pb.eps >= 300000 && ratio(a->pb.eps, eq->import_eps) >= 2));
	print_row("import pb, 1 txn (events/s)", c1, c2, "", ratio(a->pb.eps, eq->import_eps),
	          0, t);
	if (a->pb.replays || a->ndjson.replays || a->csv.replays)
		printf("  (the map was grown and the import replayed: protobuf %u, "
		       "NDJSON %u, CSV %u times)\n", a->pb.replays, a->ndjson.replays,
		       a->csv.replays);
	fmt_eps(c1, sizeof c1, a->ndjson.eps);
	fmt_eps(c3, sizeof c3, pl->import_eps);
	snprintf(t, sizeof t, ">= 150000: %s", mark(a->ndjson.eps >= 150000));
	print_row("import ndjson, 1 txn (events/s)", c1, "", c3, 0,
	          ratio(a->ndjson.eps, pl->import_eps), t);
	/* No SQLite peer reads CSV, and issue 7 sets no target for it. */
	fmt_eps(c1, sizeof c1, a->csv.eps);
	print_row("import csv, 1 txn (events/s)", c1, "", "", 0, 0, "");
	printf("  (the CSV ledger equals the NDJSON one: %llu events, %llu of them "
	       "and %llu statuses compared)\n", (unsigned long long)a->csv.appended,
	       (unsigned long long)a->csv_checked_events,
	       (unsigned long long)a->csv_checked_statuses);
	fmt_eps(c1, sizeof c1, a->batch_eps);
	fmt_eps(c2, sizeof c2, eq->batch_eps);
	fmt_eps(c3, sizeof c3, pl->batch_eps);
	snprintf(t, sizeof t, "1.5x equiv: %s",
	         mark(ratio(a->batch_eps, eq->batch_eps) >= 1.5));
	print_row("appends, txns of 1000 (events/s)", c1, c2, c3,
	          ratio(a->batch_eps, eq->batch_eps), ratio(a->batch_eps, pl->batch_eps), t);
	fmt_lat(c1, sizeof c1, a->append_p50_us, a->append_p99_us, a->appends);
	fmt_lat(c2, sizeof c2, eq->append_p50_us, eq->append_p99_us, eq->appends);
	fmt_lat(c3, sizeof c3, pl->append_p50_us, pl->append_p99_us, pl->appends);
	snprintf(t, sizeof t, "p99 <= 1000: %s", mark(a->append_p99_us <= 1000));
	print_row("single append p50/p99 (us)", c1, c2, c3,
	          ratio(eq->append_p99_us, a->append_p99_us),
	          ratio(pl->append_p99_us, a->append_p99_us), t);
	snprintf(c1, sizeof c1, "%.0f", a->fsync_p50_us);
	snprintf(c2, sizeof c2, "%.0f", eq->fsync_p50_us);
	snprintf(c3, sizeof c3, "%.0f", pl->fsync_p50_us);
	print_row("  fdatasync p50 just before (us)", c1, c2, c3, 0, 0, "");
	snprintf(c1, sizeof c1, "%.0f/%.0f/%.0f", a->pb.wpe, a->batch_wpe, a->single_wpe);
	snprintf(c2, sizeof c2, "%.0f/%.0f/%.0f", eq->import_wpe, eq->batch_wpe, eq->single_wpe);
	snprintf(c3, sizeof c3, "%.0f/%.0f/%.0f", pl->import_wpe, pl->batch_wpe, pl->single_wpe);
	print_row("written B/event, bulk/batch/1", c1, c2, c3, 0, 0, "");
	snprintf(c1, sizeof c1, "%.0f", a->verify_mbps);
	snprintf(c2, sizeof c2, "SHA-256: %.0f", a->sha256_mbps);
	snprintf(t, sizeof t, "0.7x SHA-256: %s (%.2fx)",
	         mark(a->verify_mbps >= 0.7 * a->sha256_mbps), ratio(a->verify_mbps, a->sha256_mbps));
	print_row("verify (MB/s)", c1, c2, "", 0, 0, t);
	snprintf(c1, sizeof c1, "%.0f", a->verify_eps);
	print_row("verify (events/s)", c1, "", "", 0, 0, "");
	fmt_lat(c1, sizeof c1, a->status_p50_us, a->status_p99_us, a->status_count);
	fmt_lat(c2, sizeof c2, eq->status_p50_us, eq->status_p99_us, eq->status_count);
	fmt_lat(c3, sizeof c3, pl->status_p50_us, pl->status_p99_us, pl->status_count);
	snprintf(t, sizeof t, "p99 <= %.0f and < sqlite: %s", st_target,
	         mark(a->status_p99_us <= st_target && x->sqlite &&
	              a->status_p99_us < eq->status_p99_us &&
	              a->status_p99_us < pl->status_p99_us));
	print_row("status, uniform p50/p99 (us)", c1, c2, c3,
	          ratio(eq->status_p99_us, a->status_p99_us),
	          ratio(pl->status_p99_us, a->status_p99_us), t);
	fmt_lat(c1, sizeof c1, a->hot_p50_us, a->hot_p99_us, a->hot_count);
	fmt_lat(c2, sizeof c2, eq->hot_p50_us, eq->hot_p99_us, eq->hot_count);
	fmt_lat(c3, sizeof c3, pl->hot_p50_us, pl->hot_p99_us, pl->hot_count);
	snprintf(t, sizeof t, "p99 <= 50: %s", mark(a->hot_p99_us <= 50));
	print_row("status, hottest p50/p99 (us)", c1, c2, c3,
	          ratio(eq->hot_p99_us, a->hot_p99_us),
	          ratio(pl->hot_p99_us, a->hot_p99_us), t);
	snprintf(c1, sizeof c1, "%zu / %zu / %zu", a->status_count, eq->status_count,
	         pl->status_count);
	snprintf(c2, sizeof c2, "%zu / %zu / %zu", a->hot_count, eq->hot_count, pl->hot_count);
	printf("  (queries timed, annals / equiv / plain: uniform %s, hottest %s)\n", c1, c2);
	fmt_lat(c1, sizeof c1, a->inclusion_p50_us, a->inclusion_p99_us, 1);
	snprintf(t, sizeof t, "p99 <= 50 at 10M: %s", mark(a->inclusion_p99_us <= 50));
	print_row("inclusion proof p50/p99 (us)", c1, "", "", 0, 0, t);
	fmt_lat(c1, sizeof c1, a->consistency_p50_us, a->consistency_p99_us, 1);
	snprintf(t, sizeof t, "p99 <= 50 at 10M: %s", mark(a->consistency_p99_us <= 50));
	print_row("consistency proof p50/p99 (us)", c1, "", "", 0, 0, t);
	fmt_lat(c1, sizeof c1, a->prove_p50_us, a->prove_p99_us, a->prove_count);
	snprintf(c2, sizeof c2, "bundle %.0f B", a->prove_bundle_bytes);
	print_row("status --prove, uniform (us)", c1, c2, "", 0, 0, "");
	fmt_lat(c1, sizeof c1, a->check_p50_us, a->check_p99_us, a->prove_count);
	print_row("check, uniform p50/p99 (us)", c1, "", "", 0, 0, "");
	snprintf(c1, sizeof c1, "%.1f / %.1f", a->prove_hot_ms, a->check_hot_ms);
	snprintf(c2, sizeof c2, "bundle %.1f MB", a->prove_hot_bundle_bytes / 1e6);
	print_row("prove / check, hottest (ms)", c1, c2, "", 0, 0, "");
	snprintf(c1, sizeof c1, "%.2f", a->export_s);
	snprintf(c2, sizeof c2, "%.1f MB", a->export_bytes / 1e6);
	snprintf(t, sizeof t, "<= 2 at 1M: %s", mark(a->export_s <= 2));
	print_row("snapshot export, JSON (s)", c1, c2, "", 0, 0, t);
	snprintf(c1, sizeof c1, "%.1f%s", a->rebuild_s, a->rebuild_equal ? "" : " NOT EQUAL");
	print_row("rebuild (s)", c1, "", "", 0, 0, "");
	snprintf(c1, sizeof c1, "%.0f", disk_per);
	snprintf(c2, sizeof c2, "%.0f", (double)eq->file_bytes / n);
	snprintf(c3, sizeof c3, "%.0f", (double)pl->file_bytes / n);
	print_row("disk bytes/event", c1, c2, c3, ratio((double)eq->file_bytes / n, disk_per),
	          ratio((double)pl->file_bytes / n, disk_per), "");
	snprintf(c1, sizeof c1, "%.2f", disk_ratio);
	snprintf(t, sizeof t, "<= 2.0: %s", mark(disk_ratio <= 2.0));
	print_row("disk ratio (file / records)", c1, "", "", 0, 0, t);
	snprintf(c1, sizeof c1, "%.0f / %.0f", a->pb.rss_anon_kb / 1024.0,
	         a->pb.hwm_kb / 1024.0);
	snprintf(c2, sizeof c2, "ndjson %.0f / %.0f", a->ndjson.rss_anon_kb / 1024.0,
	         a->ndjson.hwm_kb / 1024.0);
	snprintf(c3, sizeof c3, "csv %.0f / %.0f", a->csv.rss_anon_kb / 1024.0,
	         a->csv.hwm_kb / 1024.0);
	snprintf(t, sizeof t, "RssAnon <= 768 at 10M: %s",
	         mark(a->pb.rss_anon_kb / 1024.0 <= 768));
	print_row("import RssAnon / peak RSS (MiB)", c1, c2, c3, 0, 0, t);

	double appended = (double)(w->batch_events + w->single_events);
	printf("\nlmdb databases after the bulk import, and growth per event of "
	       "the %.0f appended after it in small transactions:\n", appended);
	printf("  %-12s %12s %10s %8s %10s %10s\n", "database", "entries", "MiB",
	       "B/event", "+entries", "+B/event");
	for (size_t i = 0; i < a->stats.dbs_count; i++) {
		const ledger_db_stats *d = &a->stats.dbs[i], *e = d;
		for (size_t j = 0; j < a->stats_appended.dbs_count; j++)
			if (!strcmp(a->stats_appended.dbs[j].name, d->name))
				e = &a->stats_appended.dbs[j];
		if (!d->entries && !d->bytes && !e->entries)
			continue;
		printf("  %-12s %12llu %10.1f %8.1f %10.2f %10.0f\n", d->name,
		       (unsigned long long)d->entries, d->bytes / 1048576.0,
		       (double)d->bytes / n,
		       ((double)e->entries - (double)d->entries) / appended,
		       ((double)e->bytes - (double)d->bytes) / appended);
	}
	printf("  data.mdb %.1f MiB, %.1f MiB in use; records %.1f MiB\n",
	       a->stats.file_bytes / 1048576.0, a->stats.used_bytes / 1048576.0,
	       a->record_bytes / 1048576.0);
	if (x->sqlite)
		printf("statuses cross-checked with annals: equivalent %llu (%llu differ), "
		       "plain %llu (%llu differ)%s%s\n",
		       (unsigned long long)eq->checked, (unsigned long long)eq->mismatches,
		       (unsigned long long)pl->checked, (unsigned long long)pl->mismatches,
		       eq->mismatches ? "; first: " : "", eq->mismatch);
	printf("total run %.0f s\n\n", x->total_s);
}

static void print_bench(const run *x)
{
	const annals_result *a = x->a;
	const peer_result *eq = &x->eq, *pl = &x->plain;
	double n = (double)x->w->events;

	bench_line("events", n, "events");
	bench_line("import_eps", a->pb.eps, "events/s");
	bench_line("import_ndjson_eps", a->ndjson.eps, "events/s");
	bench_line("import_csv_eps", a->csv.eps, "events/s");
	bench_line("sqlite_import_eps", eq->import_eps, "events/s");
	bench_line("sqlite_plain_import_eps", pl->import_eps, "events/s");
	bench_line("import_ratio", x->sqlite ? a->pb.eps / eq->import_eps : 0, "x");
	bench_line("batch_eps", a->batch_eps, "events/s");
	bench_line("sqlite_batch_eps", eq->batch_eps, "events/s");
	bench_line("sqlite_plain_batch_eps", pl->batch_eps, "events/s");
	bench_line("batch_ratio", x->sqlite ? a->batch_eps / eq->batch_eps : 0, "x");
	bench_line("append_p50_us", a->append_p50_us, "us");
	bench_line("append_p99_us", a->append_p99_us, "us");
	bench_line("sqlite_append_p99_us", eq->append_p99_us, "us");
	bench_line("sqlite_plain_append_p99_us", pl->append_p99_us, "us");
	bench_line("verify_eps", a->verify_eps, "events/s");
	bench_line("verify_mbps", a->verify_mbps, "MB/s");
	bench_line("sha256_mbps", a->sha256_mbps, "MB/s");
	bench_line("verify_ratio", a->verify_mbps / a->sha256_mbps, "x");
	bench_line("status_p50_us", a->status_p50_us, "us");
	bench_line("status_p99_us", a->status_p99_us, "us");
	bench_line("sqlite_status_p99_us", eq->status_p99_us, "us");
	bench_line("sqlite_plain_status_p99_us", pl->status_p99_us, "us");
	bench_line("status_hot_p50_us", a->hot_p50_us, "us");
	bench_line("status_hot_p99_us", a->hot_p99_us, "us");
	bench_line("sqlite_status_hot_p99_us", eq->hot_p99_us, "us");
	bench_line("sqlite_plain_status_hot_p99_us", pl->hot_p99_us, "us");
	bench_line("inclusion_p50_us", a->inclusion_p50_us, "us");
	bench_line("inclusion_p99_us", a->inclusion_p99_us, "us");
	bench_line("consistency_p50_us", a->consistency_p50_us, "us");
	bench_line("consistency_p99_us", a->consistency_p99_us, "us");
	bench_line("export_s", a->export_s, "s");
	bench_line("export_bytes", (double)a->export_bytes, "B");
	bench_line("prove_p50_us", a->prove_p50_us, "us");
	bench_line("prove_p99_us", a->prove_p99_us, "us");
	bench_line("prove_bundle_bytes", a->prove_bundle_bytes, "B");
	bench_line("check_p50_us", a->check_p50_us, "us");
	bench_line("check_p99_us", a->check_p99_us, "us");
	bench_line("prove_hot_ms", a->prove_hot_ms, "ms");
	bench_line("prove_hot_bundle_bytes", (double)a->prove_hot_bundle_bytes, "B");
	bench_line("check_hot_ms", a->check_hot_ms, "ms");
	bench_line("rebuild_s", a->rebuild_s, "s");
	bench_line("disk_bytes_per_event", (double)a->stats.file_bytes / n, "B");
	bench_line("disk_ratio", (double)a->stats.file_bytes / (double)a->record_bytes, "x");
	bench_line("sqlite_disk_bytes_per_event", (double)eq->file_bytes / n, "B");
	bench_line("sqlite_plain_disk_bytes_per_event", (double)pl->file_bytes / n, "B");
	bench_line("import_replays", a->pb.replays, "replays");
	bench_line("import_rss_anon_mb", a->pb.rss_anon_kb / 1024.0, "MiB");
	bench_line("import_peak_rss_mb", a->pb.hwm_kb / 1024.0, "MiB");
	bench_line("import_ndjson_rss_anon_mb", a->ndjson.rss_anon_kb / 1024.0, "MiB");
	bench_line("import_csv_rss_anon_mb", a->csv.rss_anon_kb / 1024.0, "MiB");
	bench_line("sha256_records", (double)a->sha256_records, "records");
	bench_line("fsync_p50_us", x->m.fsync_p50_us, "us");
	bench_line("fsync_p99_us", x->m.fsync_p99_us, "us");
	bench_line("fsync_before_appends_p50_us", a->fsync_p50_us, "us");
	bench_line("import_written_bytes_per_event", a->pb.wpe, "B");
	bench_line("batch_written_bytes_per_event", a->batch_wpe, "B");
	bench_line("append_written_bytes_per_event", a->single_wpe, "B");
	bench_line("sqlite_batch_written_bytes_per_event", eq->batch_wpe, "B");
	bench_line("sqlite_append_written_bytes_per_event", eq->single_wpe, "B");
}

/* The work directory, removed at exit also when a step fails. */
static char work_dir[BENCH_PATH_BYTES];

static void work_dir_remove(void)
{
	rm_rf(work_dir);
}

int main(int argc, char **argv)
{
	if (argc == 5 && strcmp(argv[1], "--import-child") == 0)
		return import_child(argv[2], argv[3], argv[4]);
	if (argc == 3 && strcmp(argv[1], "--generate") == 0) {
		/* Only the workload files, for profiling an import by hand. */
		static bench_workload g;
		int rc = bench_generate(&g, argv[2], env_u64("BENCH_EVENTS", 1000000),
		                        0, 0, 0, 0, env_u64("BENCH_SEED", 1));
		bench_workload_free(&g);
		return rc ? 4 : 0;
	}
	if (argc > 2 || (argc == 2 && argv[1][0] == '-')) {
		fprintf(stderr, "usage: annals-bench [WORKDIR]\n"
		        "       annals-bench --generate DIR\n"
		        "       annals-bench --import-child pb|ndjson|csv FILE LEDGER-DIR\n");
		return 2;
	}

	static bench_workload w;
	static annals_result a;
	static run x;
	char *dir = work_dir;
	const char *base = argc == 2 ? argv[1] : getenv("TMPDIR");
	uint64_t n = env_u64("BENCH_EVENTS", 1000000);
	size_t batch = env_u64("BENCH_BATCH_EVENTS", 100000);
	size_t single = env_u64("BENCH_SINGLE_EVENTS", 2000);
	double budget = (double)env_u64("BENCH_QUERY_BUDGET_S", 30);

	run_started = bench_now_s();
	if (n < 10 * BENCH_ORGS) {
		fprintf(stderr, "bench: BENCH_EVENTS must be at least %u\n", 10 * BENCH_ORGS);
		return 2;
	}
	batch = batch / BENCH_BATCH_RECORDS * BENCH_BATCH_RECORDS;
	snprintf(dir, sizeof work_dir, "%s/annals-bench.XXXXXX", base && *base ? base : "/tmp");
	mkdir(base && *base ? base : "/tmp", 0755);
	if (!mkdtemp(dir)) {
		fprintf(stderr, "bench: cannot make a directory in %s: %s\n",
		        base && *base ? base : "/tmp", strerror(errno));
		return 4;
	}
	atexit(work_dir_remove);
	x.w = &w;
	x.a = &a;
	x.sqlite = env_u64("BENCH_SKIP_SQLITE", 0) == 0;
	machine_get(&x.m);
	bench_fsync_probe(&x.m.fsync_p50_us, &x.m.fsync_p99_us, dir, 300);
	progress("workload: %llu events into %s", (unsigned long long)n, dir);
	if (bench_generate(&w, dir, n, batch, single, BENCH_UNIFORM, BENCH_HOT_ANNALS,
	                   env_u64("BENCH_SEED", 1)) != 0)
		return 4;
	annals_run(&a, &w, dir, budget);
	if (x.sqlite) {
		peer_limits lim = { BENCH_UNIFORM, BENCH_HOT_SQLITE, budget };
		progress("sqlite equivalent: import, status, appends");
		bench_sqlite_run(&x.eq, PEER_EQUIV, &w, dir, &lim, a.uniform_ans,
		                 a.hot_ans, BENCH_ANSWERS);
		progress("sqlite plain: import, status, appends");
		bench_sqlite_run(&x.plain, PEER_PLAIN, &w, dir, &lim, a.uniform_ans,
		                 a.hot_ans, BENCH_ANSWERS);
	}
	x.total_s = bench_now_s() - run_started;
	loadavg(x.m.load_end, sizeof x.m.load_end);
	print_table(&x);
	print_bench(&x);
	free(a.uniform_ans);
	free(a.hot_ans);
	bench_workload_free(&w);
	return 0;
}
