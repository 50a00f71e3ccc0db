/* Open, close, init and the public calls: glue over store, writer, import. */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "bytes.h"
#include "checkpoint.h"
#include "codec.h"
#include "hash.h"
#include "import.h"
#include "ledger_impl.h"
#include "note.h"
#include "publish.h"
#include "text.h"
#include "verify.h"

const char *ledger_errmsg(const ledger *l)
{
	return l ? l->e.msg : "out of memory";
}

uint64_t ledger_reads(const ledger *l)
{
	return l->e.reads;
}

void ledger_set_map_margin(ledger *l, size_t bytes)
{
	l->map_margin = bytes;
	l->map_margin_exact = bytes != 0;
}

ledger_err ledger_set_key_path(ledger *l, const char *path)
{
	char *p = NULL;

	if (path && !(p = strdup(path)))
		return err_set(&l->e, LEDGER_ENOMEM, "out of memory");
	free(l->key_path);
	l->key_path = p;
	return LEDGER_OK;
}

/* ---- init ---- */

static ledger_err write_meta(MDB_txn *txn, store *s, const char *name,
                             const void *v, size_t n, errbuf *e)
{
	return store_put(txn, s, DB_META, name, strlen(name), v, n, 0, e);
}

static ledger_err init_meta(store *s, const char *origin, const char *vkey,
                            errbuf *e)
{
	uint8_t fv[4], iv[4], secret[WRITER_SECRET_BYTES];
	MDB_txn *txn = NULL;
	ledger_err err;

	if (RAND_bytes(secret, sizeof secret) != 1)
		return err_set(e, LEDGER_EIO, "the random number generator failed");
	put_u32_be(fv, LEDGER_FORMAT_VERSION);
	put_u32_be(iv, LEDGER_INDEX_VERSION);
	if ((err = store_begin(&txn, s, true, e)) != LEDGER_OK)
		return err;
	if ((err = write_meta(txn, s, "format_version", fv, 4, e)) != LEDGER_OK ||
	    (err = write_meta(txn, s, "index_version", iv, 4, e)) != LEDGER_OK ||
	    (err = write_meta(txn, s, "id_secret", secret, sizeof secret, e)) != LEDGER_OK ||
	    (err = write_meta(txn, s, "origin", origin, strlen(origin), e)) != LEDGER_OK ||
	    (err = write_meta(txn, s, "verifier_key", vkey, strlen(vkey), e)) != LEDGER_OK) {
		store_abort(txn);
		return err;
	}
	return store_commit(&txn, e);
}

/* Write the signing key with O_EXCL|O_NOFOLLOW at mode 0600 and fsync it
 * and its directory (DESIGN §5). Its verifier key text goes to vkey, for
 * the meta database. */
static ledger_err init_key(const char *path, const char *origin,
                           char vkey[LEDGER_VKEY_TEXT_BYTES], errbuf *e)
{
	note_signer signer;
	char text[512];
	const char *why = note_signer_generate(&signer, origin);
	size_t n;
	int fd;

	if (why)
		return err_set(e, LEDGER_EKEY, "cannot make a signing key: %s", why);
	note_verifier verifier;
	note_verifier_of(&verifier, &signer);
	if (note_verifier_format(vkey, LEDGER_VKEY_TEXT_BYTES, &verifier) == 0) {
		OPENSSL_cleanse(&signer, sizeof signer);
		return err_set(e, LEDGER_EKEY, "cannot format the verifier key");
	}
	n = note_signer_format(text, sizeof text - 1, &signer);
	OPENSSL_cleanse(&signer, sizeof signer);
	if (n == 0)
		return err_set(e, LEDGER_EKEY, "cannot format the signing key");
	text[n++] = '\n';
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return err_set(e, errno == EEXIST ? LEDGER_EEXIST : LEDGER_EIO,
		               "cannot create the signing key '%s': %s%s", path,
		               strerror(errno), errno == EEXIST ?
		               " (choose another --key or remove it)" : "");
	bool ok = write(fd, text, n) == (ssize_t)n && fsync(fd) == 0;
	OPENSSL_cleanse(text, sizeof text);
	if (close(fd) != 0 || !ok) {
		unlink(path);
		return err_set(e, LEDGER_EIO, "cannot write the signing key '%s'", path);
	}
	char *dir = strdup(path), *slash = dir ? strrchr(dir, '/') : NULL;
	int dfd = -1;
	if (slash)
		*slash = '\0';
	if (dir)
		dfd = open(slash ? (*dir ? dir : "/") : ".", O_RDONLY | O_DIRECTORY);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	free(dir);
	return LEDGER_OK;
}

/* What init writes into the ledger directory, removed when it fails. */
static const char *const init_files[] = {
	"data.mdb", "lock.mdb", "signing.key", NULL };

ledger_err ledger_init(const char *dir, const ledger_init_opts *opts,
                       char *errmsg, size_t errmsg_bytes)
{
	errbuf e;
	char origin[LEDGER_ORIGIN_BYTES_MAX + 1], path[4200], key_path[4200];
	char work[PUBLISH_PATH_BYTES_MAX];   /* dir.init-XXXXXX */
	char vkey[LEDGER_VKEY_TEXT_BYTES];
	store *s = NULL;
	ledger_err err;
	struct stat st;

	err_clear(&e);
	if (strlen(dir) > PUBLISH_TARGET_BYTES_MAX) {
		err = err_set(&e, LEDGER_EUSAGE, "the directory path is too long");
		goto out;
	}
	if (opts && opts->origin) {
		const char *why = text_check_origin(opts->origin, strlen(opts->origin));
		if (why) {
			err = err_set(&e, LEDGER_EUSAGE, "origin '%.64s': %s", opts->origin, why);
			goto out;
		}
		snprintf(origin, sizeof origin, "%s", opts->origin);
	} else {
		uint8_t r[16];
		char hex[33];
		if (RAND_bytes(r, sizeof r) != 1) {
			err = err_set(&e, LEDGER_EIO, "the random number generator failed");
			goto out;
		}
		hex_encode(hex, r, sizeof r);
		snprintf(origin, sizeof origin, "annals.invalid/%s", hex);
	}
	snprintf(path, sizeof path, "%s/data.mdb", dir);
	if (stat(path, &st) == 0) {
		err = err_set(&e, LEDGER_EEXIST, "a ledger already exists in '%s'", dir);
		goto out;
	}
	/* Build the ledger in a fresh sibling directory and rename it into
	 * place at the end, so that an init killed part-way leaves no
	 * half-made ledger in DIR (only a DIR.init-* directory). A DIR that
	 * holds other files is initialized in place. */
	bool in_place = publish_has_files(dir);
	if (!in_place && (err = publish_begin(work, dir, "init", &e)) != LEDGER_OK)
		goto out;
	if (in_place && mkdir(dir, 0755) != 0 && errno != EEXIST) {
		err = err_set(&e, LEDGER_EIO, "cannot create '%s': %s", dir, strerror(errno));
		goto out;
	}
	const char *at = in_place ? dir : work;
	snprintf(key_path, sizeof key_path, "%s/signing.key", at);
	const char *kp = opts && opts->key_path ? opts->key_path : key_path;
	if ((err = init_key(kp, origin, vkey, &e)) != LEDGER_OK)
		goto fail;
	if ((err = store_open(&s, at, 0, true, &e)) != LEDGER_OK ||
	    (err = init_meta(s, origin, vkey, &e)) != LEDGER_OK) {
		store_close(s);
		s = NULL;
		unlink(kp);
		goto fail;
	}
	store_close(s);
	s = NULL;
	if (!in_place && (err = publish_commit(work, dir, "the new ledger", &e)) != LEDGER_OK) {
		if (opts && opts->key_path)
			unlink(kp);
		goto fail;
	}
	goto out;
fail:
	if (in_place)
		publish_remove_files(dir, init_files);
	else
		publish_abandon(work, init_files);
out:
	store_close(s);
	if (errmsg && errmsg_bytes)
		snprintf(errmsg, errmsg_bytes, "%s", e.msg);
	return err;
}

/* ---- open ---- */

static ledger_err read_meta(ledger *l, MDB_txn *txn, const char *name,
                            MDB_val *v)
{
	ledger_err err = store_get(txn, l->s, DB_META, name, strlen(name), v, &l->e);

	if (err == LEDGER_ENOTFOUND)
		return err_set(&l->e, LEDGER_EVERSION, "'%s' is missing from the meta "
		               "database: not an annals ledger", name);
	return err;
}

static ledger_err open_meta(ledger *l)
{
	MDB_txn *txn = NULL;
	MDB_val v;
	ledger_err err;

	if ((err = store_begin(&txn, l->s, false, &l->e)) != LEDGER_OK)
		return err;
	if ((err = read_meta(l, txn, "format_version", &v)) != LEDGER_OK)
		goto out;
	if (v.mv_size != 4 || get_u32_be(v.mv_data) != LEDGER_FORMAT_VERSION) {
		err = err_set(&l->e, LEDGER_EVERSION, "this ledger has format version "
		              "%u; this annals reads version %u: dump it with the "
		              "annals that wrote it and import the dump",
		              v.mv_size == 4 ? get_u32_be(v.mv_data) : 0,
		              LEDGER_FORMAT_VERSION);
		goto out;
	}
	if ((err = read_meta(l, txn, "index_version", &v)) != LEDGER_OK)
		goto out;
	if ((v.mv_size != 4 || get_u32_be(v.mv_data) != LEDGER_INDEX_VERSION) &&
	    !(l->open_flags & LEDGER_OPEN_REBUILD)) {
		err = err_set(&l->e, LEDGER_EVERSION, "the indexes have version %u; "
		              "this annals uses version %u: run annals rebuild",
		              v.mv_size == 4 ? get_u32_be(v.mv_data) : 0,
		              LEDGER_INDEX_VERSION);
		goto out;
	}
	if ((err = read_meta(l, txn, "id_secret", &v)) != LEDGER_OK)
		goto out;
	if (v.mv_size != WRITER_SECRET_BYTES) {
		err = err_set(&l->e, LEDGER_ECORRUPT, "the id secret has the wrong size");
		goto out;
	}
	memcpy(l->secret, v.mv_data, WRITER_SECRET_BYTES);
	if ((err = read_meta(l, txn, "origin", &v)) != LEDGER_OK)
		goto out;
	if (v.mv_size == 0 || v.mv_size > LEDGER_ORIGIN_BYTES_MAX) {
		err = err_set(&l->e, LEDGER_ECORRUPT, "the stored origin is invalid");
		goto out;
	}
	memcpy(l->origin, v.mv_data, v.mv_size);
	l->origin[v.mv_size] = '\0';
out:
	store_abort(txn);
	return err;
}

ledger_err ledger_open(ledger **out, const char *dir, unsigned flags)
{
	ledger *l = calloc(1, sizeof *l);
	ledger_err err;

	*out = l;
	if (!l)
		return LEDGER_ENOMEM;
	l->open_flags = flags;
	err = store_open(&l->s, dir, flags & LEDGER_OPEN_RDONLY ? STORE_RDONLY : 0,
	                 false, &l->e);
	if (err == LEDGER_OK)
		err = open_meta(l);
	if (err != LEDGER_OK) {
		store_close(l->s);
		l->s = NULL;
	}
	return err;
}

hasher *ledger_sha(ledger *l)
{
	if (!l->sha) {
		hasher *h = calloc(1, sizeof *h);
		if (!h || hasher_init_sha256(h) != 0) {
			free(h);             /* a failed init frees what it made */
			return NULL;
		}
		l->sha = h;
	}
	return l->sha;
}

void ledger_close(ledger *l)
{
	if (!l)
		return;
	store_close(l->s);
	if (l->rx)
		index_free(l->rx);
	free(l->rx);
	if (l->sha)
		hasher_free(l->sha);
	free(l->sha);
	free(l->key_path);
	OPENSSL_cleanse(l->secret, sizeof l->secret);
	free(l);
}

/* ---- import ---- */

static ledger_err import_with(ledger_import_stats *out, ledger *l,
                              const import_source *src,
                              const ledger_import_opts *opts)
{
	ledger_import_opts o = { 0 };

	if (!opts) {
		o.expect_version = -1;
		opts = &o;
	}
	return import_run(out, l->s, &l->e, l->secret, l->map_margin,
	                  l->map_margin_exact, src, opts);
}

ledger_err ledger_import_fd(ledger_import_stats *out, ledger *l, int fd,
                            const ledger_import_opts *opts)
{
	import_source src = { .fd = fd };
	struct stat st;
	int spooled = -1;
	ledger_err err;

	assert(l && l->s);
	err_clear(&l->e);
	src.offset = lseek(fd, 0, SEEK_CUR);
	if (src.offset < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		/* A pipe cannot be replayed: keep a private copy first. */
		spooled = import_spool(fd, store_dir(l->s), &src.bytes, &l->e);
		if (spooled < 0)
			return LEDGER_EIO;
		src.fd = spooled;
		src.offset = 0;
	} else {
		src.bytes = (size_t)(st.st_size - src.offset);
	}
	err = import_with(out, l, &src, opts);
	if (spooled >= 0)
		close(spooled);
	return err;
}

ledger_err ledger_import_mem(ledger_import_stats *out, ledger *l,
                             const void *data, size_t bytes,
                             const ledger_import_opts *opts)
{
	import_source src = { .fd = -1, .data = data, .bytes = bytes };

	assert(l && l->s);
	err_clear(&l->e);
	return import_with(out, l, &src, opts);
}

/* ---- reading ---- */

ledger_err ledger_read_begin(MDB_txn **txn, ledger *l)
{
	assert(l && l->s);
	err_clear(&l->e);
	return store_begin(txn, l->s, false, &l->e);
}

ledger_err ledger_view_at(ledger_event_view *out, ledger *l, MDB_txn *txn,
                          uint64_t seq, hasher *h)
{
	static const uint8_t leaf_prefix[1] = { 0 };
	uint8_t k[8];
	MDB_val v, b;
	ledger_err err;

	put_u64_be(k, seq);
	if ((err = store_get(txn, l->s, DB_EVENTS, k, 8, &v, &l->e)) != LEDGER_OK)
		return err == LEDGER_ENOTFOUND ? err_set(&l->e, LEDGER_ENOTFOUND,
		       "no event with seq %llu", (unsigned long long)seq) : err;
	memset(out, 0, sizeof *out);
	out->seq = seq;
	out->envelope = v.mv_data;
	out->envelope_bytes = v.mv_size;
	hasher_sha256(h, out->leaf_hash, leaf_prefix, 1, v.mv_data, v.mv_size);
	err = store_get(txn, l->s, DB_BODIES, k, 8, &b, &l->e);
	if (err == LEDGER_OK) {
		out->body = b.mv_data;
		out->body_bytes = b.mv_size;
	} else if (err != LEDGER_ENOTFOUND) {
		return err;
	}
	/* recorded_at straight from the wire format: no decoding, no allocation
	 * (log, timeline and proofs read many views). */
	if (!codec_envelope_recorded_at(&out->recorded_at_us, v.mv_data, v.mv_size))
		return err_set(&l->e, LEDGER_ECORRUPT, "seq %llu: the envelope cannot "
		               "be decoded (run annals verify)", (unsigned long long)seq);
	return LEDGER_OK;
}

ledger_err ledger_each(ledger *l, uint64_t from, uint64_t limit,
                       ledger_event_fn fn, void *ctx)
{
	MDB_txn *txn = NULL;
	MDB_cursor *c = NULL;
	MDB_val k, v;
	uint8_t key[8];
	hasher h;
	ledger_err err;
	uint64_t count = 0;

	if (hasher_init(&h) != 0)
		return err_set(&l->e, LEDGER_ENOMEM, "cannot set up SHA-256");
	if ((err = ledger_read_begin(&txn, l)) != LEDGER_OK ||
	    (err = store_cursor(&c, txn, l->s, DB_EVENTS, &l->e)) != LEDGER_OK)
		goto out;
	put_u64_be(key, from ? from : 1);
	k.mv_data = key;
	k.mv_size = 8;
	err = store_cursor_get(c, &k, &v, MDB_SET_RANGE, &l->e);
	while (err == LEDGER_OK && (limit == 0 || count < limit)) {
		ledger_event_view ev;
		if (k.mv_size != 8) {
			err = err_set(&l->e, LEDGER_ECORRUPT, "an events key is not 8 bytes");
			break;
		}
		if ((err = ledger_view_at(&ev, l, txn, get_u64_be(k.mv_data), &h)) != LEDGER_OK)
			break;
		if (fn(ctx, &ev) != 0)
			break;
		count++;
		err = store_cursor_get(c, &k, &v, MDB_NEXT, &l->e);
	}
	if (err == LEDGER_ENOTFOUND)
		err = LEDGER_OK;
out:
	store_cursor_close(c);
	store_abort(txn);
	hasher_free(&h);
	return err;
}

ledger_err ledger_get(ledger *l, uint64_t seq, ledger_event_fn fn, void *ctx)
{
	MDB_txn *txn = NULL;
	ledger_event_view ev;
	hasher h;
	ledger_err err;

	if (hasher_init(&h) != 0)
		return err_set(&l->e, LEDGER_ENOMEM, "cannot set up SHA-256");
	if ((err = ledger_read_begin(&txn, l)) == LEDGER_OK &&
	    (err = ledger_view_at(&ev, l, txn, seq, &h)) == LEDGER_OK)
		fn(ctx, &ev);
	store_abort(txn);
	hasher_free(&h);
	return err;
}

ledger_err ledger_find_id(uint64_t *out_seq, ledger *l, const char *id)
{
	MDB_txn *txn = NULL;
	MDB_val v;
	ledger_err err;

	if ((err = ledger_read_begin(&txn, l)) != LEDGER_OK)
		return err;
	err = store_get(txn, l->s, DB_IDS, id, strlen(id), &v, &l->e);
	if (err == LEDGER_OK)
		*out_seq = get_u64_be(v.mv_data);
	else if (err == LEDGER_ENOTFOUND)
		err_set(&l->e, LEDGER_ENOTFOUND, "no event with id '%.128s'", id);
	store_abort(txn);
	return err;
}

ledger_err ledger_get_head(ledger_head *out, ledger *l)
{
	MDB_txn *txn = NULL;
	MDB_cursor *c = NULL;
	MDB_val k, v;
	hasher h;
	ledger_err err;

	memset(out, 0, sizeof *out);
	if (hasher_init(&h) != 0)
		return err_set(&l->e, LEDGER_ENOMEM, "cannot set up SHA-256");
	if ((err = ledger_read_begin(&txn, l)) != LEDGER_OK ||
	    (err = store_cursor(&c, txn, l->s, DB_EVENTS, &l->e)) != LEDGER_OK)
		goto out;
	err = store_cursor_get(c, &k, &v, MDB_LAST, &l->e);
	if (err == LEDGER_OK) {
		ledger_event_view ev;
		err = ledger_view_at(&ev, l, txn, get_u64_be(k.mv_data), &h);
		if (err == LEDGER_OK) {
			out->seq = ev.seq;
			out->recorded_at_us = ev.recorded_at_us;
			memcpy(out->leaf_hash, ev.leaf_hash, LEDGER_HASH_BYTES);
		}
	} else if (err == LEDGER_ENOTFOUND) {
		err = LEDGER_OK;
	}
out:
	store_cursor_close(c);
	store_abort(txn);
	hasher_free(&h);
	return err;
}

/* ---- stats ---- */

ledger_err ledger_get_stats(ledger_stats *out, ledger *l)
{
	MDB_txn *txn = NULL;
	ledger_err err;
	char path[4096];
	struct stat st;

	memset(out, 0, sizeof *out);
	if ((err = ledger_read_begin(&txn, l)) != LEDGER_OK)
		return err;
	for (int i = 0; i < DB_COUNT && err == LEDGER_OK; i++) {
		ledger_db_stats *d = &out->dbs[out->dbs_count++];
		snprintf(d->name, sizeof d->name, "%s", store_db_name((store_db)i));
		err = store_db_stat(txn, l->s, (store_db)i, &d->entries, &d->bytes, &l->e);
	}
	if (err == LEDGER_OK)
		err = store_env_sizes(l->s, &out->map_bytes, &out->used_bytes, &l->e);
	store_abort(txn);
	if (err != LEDGER_OK)
		return err;
	out->events = out->dbs[DB_EVENTS].entries;
	out->redacted = out->dbs[DB_REDACTIONS].entries;
	out->organizations = out->dbs[DB_ORGS].entries;
	out->relationships = out->dbs[DB_HEADS].entries;
	out->format_version = LEDGER_FORMAT_VERSION;
	out->index_version = LEDGER_INDEX_VERSION;
	snprintf(out->origin, sizeof out->origin, "%s", l->origin);
	snprintf(path, sizeof path, "%s/data.mdb", store_dir(l->s));
	if (stat(path, &st) == 0)
		out->file_bytes = (uint64_t)st.st_size;
	return LEDGER_OK;
}

/* ---- verify ---- */

ledger_err ledger_verify(ledger_verify_stats *out, ledger *l)
{
	MDB_txn *txn = NULL;
	ledger_err err;

	if ((err = ledger_read_begin(&txn, l)) != LEDGER_OK)
		return err;
	err = checkpoint_verify_run(out, l, txn, NULL, NULL);
	store_abort(txn);
	return err;
}

struct id_copy {
	char *out;
	bool ok;
};

static int copy_id(void *ctx, const ledger_event_view *ev)
{
	struct id_copy *x = ctx;
	arena a;

	arena_init(&a);
	Annals__Envelope *env = codec_envelope_decode(&a, ev->envelope,
	                                              ev->envelope_bytes);
	if (env && strlen(env->id) < LEDGER_ID_TEXT_BYTES) {
		memcpy(x->out, env->id, strlen(env->id) + 1);
		x->ok = true;
	}
	arena_free(&a);
	return 0;
}

ledger_err ledger_get_id(char out[LEDGER_ID_TEXT_BYTES], ledger *l, uint64_t seq)
{
	struct id_copy x = { out, false };
	ledger_err err = ledger_get(l, seq, copy_id, &x);

	if (err == LEDGER_OK && !x.ok)
		err = err_set(&l->e, LEDGER_ECORRUPT, "seq %llu cannot be decoded "
		              "(run annals verify)", (unsigned long long)seq);
	return err;
}
