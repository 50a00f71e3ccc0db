/* Atomic imports with replay on map growth. */
#define _GNU_SOURCE   /* O_TMPFILE */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "import.h"
#include "reader.h"
#include "relay.h"

#define IMPORT_MARGIN_MIN_BYTES  (32ull << 20)  /* map head room for any write */
#define IMPORT_MARGIN_PER_BYTE   4u             /* input bytes -> map bytes */
#define IMPORT_REPLAYS_MAX       40u            /* 2^40 times the map: never reached */
#define IMPORT_SPOOL_BYTES       (1u << 16)
#define IMPORT_BATCH_RECORDS     64u   /* records handed over at once */

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int import_spool(int fd, const char *dir, size_t *out_bytes, errbuf *e)
{
	char buf[IMPORT_SPOOL_BYTES];
	size_t total = 0;
	int tmp = open(dir, O_TMPFILE | O_RDWR, 0600);

	if (tmp < 0) {
		const char *t = getenv("TMPDIR");
		tmp = open(t && *t ? t : "/tmp", O_TMPFILE | O_RDWR, 0600);
	}
	if (tmp < 0) {
		err_set(e, LEDGER_EIO, "cannot make a temporary file to hold the "
		        "input: %s", strerror(errno));
		return -1;
	}
	for (;;) {
		ssize_t n = read(fd, buf, sizeof buf);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || (n > 0 && write_all(tmp, buf, (size_t)n) != 0)) {
			err_set(e, LEDGER_EIO, "cannot spool the input: %s", strerror(errno));
			close(tmp);
			return -1;
		}
		if (n == 0)
			break;
		total += (size_t)n;
	}
	if (lseek(tmp, 0, SEEK_SET) != 0) {
		err_set(e, LEDGER_EIO, "cannot rewind the spooled input: %s", strerror(errno));
		close(tmp);
		return -1;
	}
	*out_bytes = total;
	return tmp;
}

typedef struct import_pass {
	const ledger_import_opts *opts;
	ledger_import_stats st;
	uint64_t reported_upto;       /* records reported in an earlier pass */
	bool conflict;
	double started;
} import_pass;

static void import_report(import_pass *p, uint64_t record, uint64_t line,
                          const field_err *fe)
{
	char msg[sizeof fe->field + sizeof fe->reason + 300];

	if (record <= p->reported_upto || !p->opts->report)
		return;
	snprintf(msg, sizeof msg, "%s:%llu: %s: %s",
	         p->opts->name ? p->opts->name : "-", (unsigned long long)line,
	         fe->field, fe->reason);
	p->opts->report(p->opts->report_ctx, msg);
}

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void import_progress(import_pass *p, double *last, bool final)
{
	double now = mono_s();

	if (!p->opts->progress || (!final && now - *last < 1.0))
		return;
	*last = now;
	fprintf(stderr, "\rannals: %llu records, %.0f events/s%s",
	        (unsigned long long)p->st.records,
	        (double)p->st.appended / (now - p->started + 1e-9),
	        final ? "\n" : "");
}

/* One record read: what the writer is given, in input order. */
typedef struct import_rec {
	reader_status rs;
	Annals__InputEvent *in;
	writer_input wi;              /* once prepared: checked, MACed, its
	                               * body packed (a refused one is
	                               * READER_BAD) */
	bool prepared;
	bool no_memory;               /* preparing ran out of memory */
	uint64_t line;
	field_err fe;
} import_rec;

/* Records handed over at once, with what they point into. */
typedef struct import_batch {
	arena a;
	import_rec rec[IMPORT_BATCH_RECORDS];
	size_t count;
	/* A salt for each record's body, drawn by the writer when it hands
	 * the batch over. */
	uint8_t salt[IMPORT_BATCH_RECORDS][WRITER_SALT_BYTES];
} import_batch;

/* writer_prepare of a record read, on either thread, into its batch's
 * arena. */
static void import_prepare(writer_prep *prep, import_rec *x,
                           const uint8_t salt[WRITER_SALT_BYTES], arena *a)
{
	ledger_err err = writer_prepare(prep, &x->wi, x->in, salt, a, &x->fe);

	if (err == LEDGER_EINPUT)
		x->rs = READER_BAD;
	x->no_memory = err == LEDGER_ENOMEM;
	x->prepared = true;
}

/* Append (or report) record i of batch b. Returns a storage error, else
 * LEDGER_OK; *stop is set once the input cannot be read further. */
static ledger_err import_take(import_pass *p, writer *w, import_batch *b,
                              size_t i, double *last, bool *stop)
{
	import_rec *x = &b->rec[i];
	bool skipped;
	ledger_err err;

	if (x->rs == READER_RECORD && !x->prepared)
		import_prepare(&w->prep, x, b->salt[i], &b->a);

	*stop = x->rs == READER_END || x->rs == READER_FAIL;
	if (x->rs == READER_END)
		return LEDGER_OK;
	p->st.records++;
	if (x->rs == READER_BAD || x->rs == READER_FAIL) {
		p->st.rejected++;
		import_report(p, p->st.records, x->line, &x->fe);
		return LEDGER_OK;
	}
	if (x->no_memory)
		return err_set(w->e, LEDGER_ENOMEM, "out of memory");
	err = writer_append(w, &x->wi, p->opts->expect_version, &skipped, &x->fe);
	if (err == LEDGER_EINPUT || err == LEDGER_ECONFLICT) {
		p->st.rejected++;
		p->conflict |= err == LEDGER_ECONFLICT;
		import_report(p, p->st.records, x->line, &x->fe);
		return LEDGER_OK;
	}
	if (err != LEDGER_OK)
		return err;
	if (skipped) {
		p->st.skipped++;
	} else {
		if (!p->st.first_seq)
			p->st.first_seq = w->seq;
		p->st.last_seq = w->seq;
		p->st.appended++;
	}
	if ((p->st.records & 1023) == 0)
		import_progress(p, last, false);
	return LEDGER_OK;
}

/* The reading thread: parsing (JSON above all) costs as much as the whole
 * append pipeline, and the machine has a second core. It fills batches of
 * records, each in its own arena, at most RELAY_SLOTS ahead of the writer,
 * which takes them in order. Checking a record, its content MAC and its
 * body (writer_prepare) need nothing of the ledger either: this thread
 * does them too when the writer has another batch to work on, else it
 * hands the batch over and the writer does them (with protobuf input the
 * writer is the slower, with NDJSON the reader). */
typedef struct import_feed {
	reader *r;
	relay *y;
	writer_prep *prep;
	bool end;                     /* the reader gave its last record */
	import_batch b[RELAY_SLOTS];
} import_feed;

static void import_read(void *ctx, size_t slot)
{
	import_feed *f = ctx;
	import_batch *b = &f->b[slot];

	arena_reset(&b->a);
	for (b->count = 0; b->count < IMPORT_BATCH_RECORDS && !f->end; b->count++) {
		import_rec *x = &b->rec[b->count];
		x->rs = reader_next(f->r, &x->in, &x->line, &b->a, &x->fe);
		f->end = x->rs == READER_END || x->rs == READER_FAIL;
		x->prepared = x->no_memory = false;
	}
	if (!relay_ahead(f->y))
		return;
	for (size_t i = 0; i < b->count; i++)
		if (b->rec[i].rs == READER_RECORD)
			import_prepare(f->prep, &b->rec[i], b->salt[i], &b->a);
}

/* One pass over the input inside one transaction, read by a second thread
 * when one can be started, else here (relay.h). */
static ledger_err import_pass_run(import_pass *p, writer *w, writer_prep *prep,
                                  reader *r)
{
	double last = p->started;
	ledger_err err = LEDGER_OK;
	import_feed *f = calloc(1, sizeof *f);
	relay *y = NULL;
	bool stop = false;

	if (!f || !(y = relay_start(import_read, f, true))) {
		free(f);
		return err_set(w->e, LEDGER_ENOMEM, "out of memory");
	}
	f->r = r;
	f->y = y;
	f->prep = prep;
	for (size_t i = 0; i < RELAY_SLOTS; i++) {
		arena_init(&f->b[i].a);
		writer_salts(&f->b[i].salt[0][0], sizeof f->b[i].salt);
		relay_submit(y);
	}
	while (!stop && err == LEDGER_OK) {
		import_batch *b = &f->b[relay_take(y)];
		for (size_t i = 0; i < b->count && !stop && err == LEDGER_OK; i++)
			err = import_take(p, w, b, i, &last, &stop);
		if (!stop) {
			writer_salts(&b->salt[0][0], sizeof b->salt);
			relay_submit(y);
		}
	}
	relay_stop(y);
	for (size_t i = 0; i < RELAY_SLOTS; i++)
		arena_free(&f->b[i].a);
	free(f);
	import_progress(p, &last, true);
	return err;
}

static ledger_err import_once(import_pass *p, store *s, writer *w,
                              writer_prep *prep, const import_source *src)
{
	ledger_err err;
	reader *r;

	if (src->fd >= 0 && lseek(src->fd, src->offset, SEEK_SET) != src->offset)
		return err_set(w->e, LEDGER_EIO, "cannot rewind the input: %s",
		               strerror(errno));
	r = reader_new(p->opts->format, src->fd, src->data, src->bytes);
	if (!r)
		return err_set(w->e, LEDGER_ENOMEM, "out of memory");
	memset(&p->st, 0, sizeof p->st);
	p->conflict = false;
	if ((err = writer_begin(w)) == LEDGER_OK)
		err = import_pass_run(p, w, prep, r);
	reader_free(r);
	if (err == LEDGER_OK && p->st.rejected) {
		writer_abort(w);
		p->st.appended = p->st.first_seq = p->st.last_seq = 0;
		return err_set(w->e, p->conflict && p->st.rejected == 1 ?
		               LEDGER_ECONFLICT : LEDGER_EINPUT,
		               "%llu of %llu records refused; nothing was written",
		               (unsigned long long)p->st.rejected,
		               (unsigned long long)p->st.records);
	}
	if (err == LEDGER_OK)
		err = writer_commit(w);
	writer_abort(w);
	(void)s;
	return err;
}

ledger_err import_run(ledger_import_stats *out, store *s, errbuf *e,
                      const uint8_t secret[WRITER_SECRET_BYTES], size_t margin,
                      bool margin_exact, const import_source *src, const ledger_import_opts *opts)
{
	import_pass p = { .opts = opts, .started = mono_s() };
	writer *w = malloc(sizeof *w);
	writer_prep prep;
	ledger_err err;
	unsigned replays = 0;

	if (!w)
		return err_set(e, LEDGER_ENOMEM, "out of memory");
	if ((err = writer_init(w, s, e, secret)) != LEDGER_OK) {
		free(w);
		return err;
	}
	if ((err = writer_prep_init(&prep, secret, e)) != LEDGER_OK) {
		writer_free(w);
		free(w);
		return err;
	}
	if (margin == 0) {
		uint64_t m = (uint64_t)src->bytes * IMPORT_MARGIN_PER_BYTE;
		margin = m < IMPORT_MARGIN_MIN_BYTES ? IMPORT_MARGIN_MIN_BYTES : (size_t)m;
	}
	err_clear(e);
	for (;;) {
		if ((err = store_reserve(s, margin, margin_exact && replays == 0, e)) != LEDGER_OK)
			break;
		err = import_once(&p, s, w, &prep, src);
		if (!(err == LEDGER_ESTORE && e->map_full) ||
		    replays == IMPORT_REPLAYS_MAX)
			break;
		/* Nothing of this pass was committed: grow and start again. */
		p.reported_upto = p.st.records > p.reported_upto ? p.st.records
		                                                   : p.reported_upto;
		if ((err = store_grow(s, e)) != LEDGER_OK)
			break;
		replays++;
	}
	p.st.replays = replays;
	if (out)
		*out = p.st;
	writer_prep_free(&prep);
	writer_free(w);
	free(w);
	return err;
}
