/* Roots, signed checkpoints, fork protection, proofs and backups over the
 * stored Merkle tree (DESIGN §5). */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/crypto.h>

#include "bytes.h"
#include "checkpoint.h"
#include "hash.h"
#include "merkle.h"
#include "note.h"
#include "publish.h"
#include "tiles.h"

#define CHECKPOINT_NOTE_BYTES_MAX 2048u   /* a note we sign: one signature */
#define CHECKPOINT_PATH_BYTES_MAX 4096u
#define CHECKPOINT_MAP_MARGIN_BYTES (256u * 1024u)  /* one note and its pages */
#define CHECKPOINT_ATTEMPTS_MAX   4u      /* map doublings before giving up */

_Static_assert(LEDGER_PROOF_HASHES_MAX == MERKLE_PROOF_MAX,
               "ledger_proof holds any merkle proof");
_Static_assert(LEDGER_NOTE_BYTES_MAX == NOTE_BYTES_MAX,
               "a note read from a file is a note note.c opens");
_Static_assert(CHECKPOINT_NOTE_BYTES_MAX <= NOTE_BYTES_MAX,
               "the notes we sign are notes we can open");

static const char state_magic[] = "annals signing.state 1";

/* ---- small helpers ---- */

static void why_set(char *why, size_t why_bytes, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void why_set(char *why, size_t why_bytes, const char *fmt, ...)
{
	va_list ap;

	if (!why || why_bytes == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, why_bytes, fmt, ap);
	va_end(ap);
}

static void hex32(char out[2 * LEDGER_HASH_BYTES + 1], const uint8_t *h)
{
	hex_encode(out, h, LEDGER_HASH_BYTES);
}

/* Events in the ledger: the last key of the events database. */
static ledger_err tree_size(uint64_t *out, ledger *l, MDB_txn *txn)
{
	MDB_cursor *c = NULL;
	MDB_val k, v;
	ledger_err err = store_cursor(&c, txn, l->s, DB_EVENTS, &l->e);

	*out = 0;
	if (err != LEDGER_OK)
		return err;
	err = store_cursor_get(c, &k, &v, MDB_LAST, &l->e);
	if (err == LEDGER_OK && k.mv_size != 8)
		err = err_set(&l->e, LEDGER_ECORRUPT, "an events key is not 8 "
		              "bytes (run annals verify)");
	else if (err == LEDGER_OK)
		*out = get_u64_be(k.mv_data);
	else if (err == LEDGER_ENOTFOUND)
		err = LEDGER_OK;
	store_cursor_close(c);
	return err;
}

/* Stored subtree hashes, read through merkle.h's callback from the tiles
 * of the stored tree, whose size is looked up on the first read unless the
 * caller set it (reader_sized). */
typedef struct merkle_reader {
	ledger *l;
	MDB_txn *txn;
	ledger_err err;
	bool sized;
	tile_reader t;
} merkle_reader;

static void reader_sized(merkle_reader *r, uint64_t size)
{
	tile_reader_init(&r->t, r->txn, r->l->s, size);
	r->sized = true;
}

static void reader_done(merkle_reader *r)
{
	if (r->sized)
		tile_reader_done(&r->t);
	r->sized = false;
}

static int read_merkle(void *ctx, unsigned level, uint64_t index, merkle_hash out)
{
	merkle_reader *r = ctx;
	uint64_t size;

	if (!r->sized) {
		if ((r->err = tree_size(&size, r->l, r->txn)) != LEDGER_OK)
			return -1;
		reader_sized(r, size);
	}
	r->err = tile_read(&r->t, level, index, out, &r->l->e);
	return r->err == LEDGER_OK ? 0 : -1;
}

/* The root of tree size `size`. The handle keeps the root of the largest
 * size it computed: proofs and checkpoints mostly name the newest size, and
 * the root of a size never changes in an append-only log. */
static int tree_root(merkle_hash out, merkle_reader *r, uint64_t size)
{
	ledger *l = r->l;

	if (size && size == l->root_size) {
		memcpy(out, l->root, LEDGER_HASH_BYTES);
		return 0;
	}
	if (merkle_root_with(out, ledger_sha(l), size, read_merkle, r) != 0)
		return -1;
	if (size > l->root_size) {
		l->root_size = size;
		memcpy(l->root, out, LEDGER_HASH_BYTES);
	}
	return 0;
}

static ledger_err root_at(uint8_t out[LEDGER_HASH_BYTES], ledger *l,
                          MDB_txn *txn, uint64_t size)
{
	merkle_reader r = { l, txn, LEDGER_OK, false, { 0 } };
	int rc = tree_root(out, &r, size);

	reader_done(&r);
	return rc == 0 ? LEDGER_OK : r.err;
}

/* The stored verifier key, whose name must be the ledger's origin. */
static ledger_err load_verifier(note_verifier *v, char *text, ledger *l,
                                MDB_txn *txn)
{
	MDB_val x;
	ledger_err err = store_get(txn, l->s, DB_META, "verifier_key", 12, &x, &l->e);
	const char *why;

	if (err == LEDGER_ENOTFOUND)
		return err_set(&l->e, LEDGER_ECORRUPT, "the verifier key is missing "
		               "from the meta database");
	if (err != LEDGER_OK)
		return err;
	if (x.mv_size >= LEDGER_VKEY_TEXT_BYTES)
		return err_set(&l->e, LEDGER_ECORRUPT, "the stored verifier key is too long");
	if ((why = note_verifier_parse(v, x.mv_data, x.mv_size)) != NULL)
		return err_set(&l->e, LEDGER_ECORRUPT, "the stored verifier key is "
		               "invalid: %s", why);
	if (strcmp(v->name, l->origin) != 0)
		return err_set(&l->e, LEDGER_ECORRUPT, "the stored verifier key is "
		               "named '%s', not the ledger's origin '%s'", v->name,
		               l->origin);
	if (text) {
		memcpy(text, x.mv_data, x.mv_size);
		text[x.mv_size] = '\0';
	}
	return LEDGER_OK;
}

ledger_err ledger_verifier_key(char out[LEDGER_VKEY_TEXT_BYTES], ledger *l)
{
	note_verifier v;
	MDB_txn *txn = NULL;
	ledger_err err;

	out[0] = '\0';
	if ((err = ledger_read_begin(&txn, l)) != LEDGER_OK)
		return err;
	err = load_verifier(&v, out, l, txn);
	store_abort(txn);
	return err;
}

ledger_err ledger_root(uint8_t out[LEDGER_HASH_BYTES], ledger *l, uint64_t size)
{
	MDB_txn *txn = NULL;
	uint64_t n;
	ledger_err err;

	if ((err = ledger_read_begin(&txn, l)) != LEDGER_OK)
		return err;
	if ((err = tree_size(&n, l, txn)) != LEDGER_OK)
		goto out;
	if (size == LEDGER_SIZE_HEAD)
		size = n;
	if (size > n) {
		err = err_set(&l->e, LEDGER_EUSAGE, "size %" PRIu64 " is larger than "
		              "the tree (%" PRIu64 " events)", size, n);
		goto out;
	}
	err = root_at(out, l, txn, size);
out:
	store_abort(txn);
	return err;
}

void ledger_leaf_hash(uint8_t out[LEDGER_HASH_BYTES], const void *record,
                      size_t record_bytes)
{
	merkle_leaf_hash(out, record, record_bytes);
}

/* ---- files: the key, the state, fsync ---- */

static ssize_t write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	size_t done = 0;

	while (done < n) {
		ssize_t w = write(fd, p + done, n - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		done += (size_t)w;
	}
	return (ssize_t)done;
}

/* Read a whole small file without following a symbolic link. With
 * private_key, refuse one that group or others may read or write. Returns
 * LEDGER_ENOTFOUND (no message) when it does not exist. */
static ledger_err read_small(char *buf, size_t cap, size_t *out_bytes,
                             const char *path, bool private_key, errbuf *e)
{
	const char *what = private_key ? "the signing key" : "the file";
	struct stat st;
	size_t n = 0;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0 && errno == ENOENT)
		return LEDGER_ENOTFOUND;
	if (fd < 0)
		return err_set(e, private_key ? LEDGER_EKEY : LEDGER_EIO, "cannot "
		               "open %s '%s': %s%s", what, path, strerror(errno),
		               errno == ELOOP ? " (a symbolic link: annals does not "
		               "follow one here)" : "");
	ledger_err err = LEDGER_OK;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		err = err_set(e, private_key ? LEDGER_EKEY : LEDGER_EIO,
		              "%s '%s' is not a regular file", what, path);
	} else if (private_key && (st.st_mode & 077) != 0) {
		err = err_set(e, LEDGER_EKEY, "the signing key '%s' has mode %04o: "
		              "it must not be readable or writable by group or "
		              "others; run chmod 600 '%s' (and check who saw it)",
		              path, (unsigned)(st.st_mode & 07777), path);
	}
	while (err == LEDGER_OK) {
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			err = err_set(e, private_key ? LEDGER_EKEY : LEDGER_EIO,
			              "cannot read %s '%s': %s", what, path, strerror(errno));
		else if (r == 0)
			break;
		else if ((n += (size_t)r) == cap)
			err = err_set(e, private_key ? LEDGER_EKEY : LEDGER_ECORRUPT,
			              "%s '%s' is larger than %zu bytes", what, path, cap - 1);
	}
	close(fd);
	*out_bytes = n;
	return err;
}

static void key_path(char path[CHECKPOINT_PATH_BYTES_MAX], const ledger *l)
{
	const char *env = getenv("ANNALS_KEY");

	if (l->key_path)
		snprintf(path, CHECKPOINT_PATH_BYTES_MAX, "%s", l->key_path);
	else if (env && *env)
		snprintf(path, CHECKPOINT_PATH_BYTES_MAX, "%s", env);
	else
		snprintf(path, CHECKPOINT_PATH_BYTES_MAX, "%s/%s", store_dir(l->s),
		         CHECKPOINT_KEY_FILE);
}

/* Load the signing key and check it is the ledger's (v, stored at init). */
static ledger_err load_signer(note_signer *s, ledger *l, const note_verifier *v)
{
	char path[CHECKPOINT_PATH_BYTES_MAX], text[CHECKPOINT_KEY_BYTES_MAX];
	size_t n;
	const char *why;
	ledger_err err;

	key_path(path, l);
	err = read_small(text, sizeof text, &n, path, true, &l->e);
	if (err == LEDGER_ENOTFOUND)
		return err_set(&l->e, LEDGER_EKEY, "no signing key at '%s' (give "
		               "--key FILE or set $ANNALS_KEY)", path);
	if (err == LEDGER_OK && (why = note_signer_parse(s, text, n)) != NULL)
		err = err_set(&l->e, LEDGER_EKEY, "'%s' is not a signer key: %s",
		              path, why);
	OPENSSL_cleanse(text, sizeof text);
	if (err != LEDGER_OK)
		return err;
	if (strcmp(s->name, l->origin) != 0 || s->key_hash != v->key_hash ||
	    CRYPTO_memcmp(s->public_key, v->public_key, sizeof v->public_key) != 0) {
		err = err_set(&l->e, LEDGER_EKEY, "the key '%s' (%s) is not this "
		              "ledger's signing key (%s, see annals key)", path,
		              s->name, l->origin);
		OPENSSL_cleanse(s, sizeof *s);
	}
	return err;
}

typedef struct signed_state {
	bool found;
	uint64_t size;
	uint8_t root[LEDGER_HASH_BYTES];
} signed_state;

static void state_path(char path[CHECKPOINT_PATH_BYTES_MAX], const ledger *l,
                       const char *suffix)
{
	snprintf(path, CHECKPOINT_PATH_BYTES_MAX, "%s/%s%s", store_dir(l->s),
	         CHECKPOINT_STATE_FILE, suffix);
}

/* Parse the four lines of checkpoint.h's layout. */
static const char *state_parse(signed_state *st, const char *text, size_t n,
                               const char *origin)
{
	char buf[CHECKPOINT_STATE_BYTES_MAX + 1], *line[4], *save = NULL;
	size_t count = 0;

	if (n == 0 || n > CHECKPOINT_STATE_BYTES_MAX || text[n - 1] != '\n' ||
	    memchr(text, '\0', n))
		return "it is not four lines of text";
	memcpy(buf, text, n);
	buf[n] = '\0';
	for (char *t = strtok_r(buf, "\n", &save); t; t = strtok_r(NULL, "\n", &save)) {
		if (count == 4)
			return "it has more than four lines";
		line[count++] = t;
	}
	if (count != 4 || strcmp(line[0], state_magic) != 0)
		return "it does not start with '" "annals signing.state 1" "'";
	if (strncmp(line[1], "origin ", 7) != 0 || strcmp(line[1] + 7, origin) != 0)
		return "its origin is not this ledger's";
	const char *s = line[2] + 5;
	if (strncmp(line[2], "size ", 5) != 0 || !*s || (s[0] == '0' && s[1]) ||
	    strspn(s, "0123456789") != strlen(s) || strlen(s) > 19)
		return "its size line is malformed";
	st->size = strtoull(s, NULL, 10);
	if (strncmp(line[3], "root ", 5) != 0 || strlen(line[3] + 5) != 64 ||
	    hex_decode(st->root, LEDGER_HASH_BYTES, line[3] + 5, 64) != 0)
		return "its root line is malformed";
	st->found = true;
	return NULL;
}

static ledger_err state_read(signed_state *st, ledger *l)
{
	char path[CHECKPOINT_PATH_BYTES_MAX], text[CHECKPOINT_STATE_BYTES_MAX + 1];
	size_t n;
	const char *why;
	ledger_err err;

	memset(st, 0, sizeof *st);
	state_path(path, l, "");
	err = read_small(text, sizeof text, &n, path, false, &l->e);
	if (err == LEDGER_ENOTFOUND)
		return LEDGER_OK;
	if (err != LEDGER_OK)
		return err;
	if ((why = state_parse(st, text, n, l->origin)) != NULL)
		return err_set(&l->e, LEDGER_ECORRUPT, "'%s' is malformed: %s. It "
		               "records the last signed tree; annals will not sign "
		               "until it is restored from a backup", path, why);
	return LEDGER_OK;
}

/* Replace signing.state atomically: temporary file, fsync, rename, fsync
 * of the directory, so a crash leaves the old state or the new one. */
static ledger_err state_write(ledger *l, uint64_t size,
                              const uint8_t root[LEDGER_HASH_BYTES])
{
	char path[CHECKPOINT_PATH_BYTES_MAX], tmp[CHECKPOINT_PATH_BYTES_MAX];
	char text[CHECKPOINT_STATE_BYTES_MAX + 1], hex[2 * LEDGER_HASH_BYTES + 1];
	int n, fd;

	state_path(path, l, "");
	state_path(tmp, l, ".tmp");
	hex32(hex, root);
	n = snprintf(text, sizeof text, "%s\norigin %s\nsize %" PRIu64 "\nroot %s\n",
	             state_magic, l->origin, size, hex);
	assert(n > 0 && (size_t)n <= CHECKPOINT_STATE_BYTES_MAX);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0)
		return err_set(&l->e, LEDGER_EIO, "cannot create '%s': %s", tmp,
		               strerror(errno));
	bool ok = write_all(fd, text, (size_t)n) == n && fsync(fd) == 0;
	int saved = errno;
	ok = close(fd) == 0 && ok;
	if (ok && rename(tmp, path) != 0) {
		saved = errno;
		ok = false;
	}
	if (!ok) {
		unlink(tmp);
		return err_set(&l->e, LEDGER_EIO, "cannot write '%s': %s", path,
		               strerror(saved));
	}
	publish_fsync_dir(store_dir(l->s));
	return LEDGER_OK;
}

/* ---- checkpoints ---- */

/* Open a stored note and check it against the ledger's root of its size. */
static ledger_err stored_note_check(note_checkpoint *cp, ledger *l, MDB_txn *txn,
                                    const note_verifier *v, uint64_t size,
                                    const MDB_val *note)
{
	uint8_t root[LEDGER_HASH_BYTES];
	const char *why = note_open_checkpoint(cp, note->mv_data, note->mv_size, v);
	ledger_err err;

	if (why)
		return err_set(&l->e, LEDGER_ECORRUPT, "the stored checkpoint of size "
		               "%" PRIu64 " does not verify: %s (run annals verify)",
		               size, why);
	if (cp->size != size)
		return err_set(&l->e, LEDGER_ECORRUPT, "the stored checkpoint under "
		               "size %" PRIu64 " has size %" PRIu64 " (run annals "
		               "verify)", size, cp->size);
	if ((err = root_at(root, l, txn, size)) != LEDGER_OK)
		return err;
	if (memcmp(root, cp->root, LEDGER_HASH_BYTES) != 0)
		return err_set(&l->e, LEDGER_EFORK, "the stored checkpoint of size "
		               "%" PRIu64 " has another root than this ledger: this "
		               "ledger is not the one that signed it (run annals "
		               "verify)", size);
	return LEDGER_OK;
}

/* The newest stored checkpoint, as a second record of the last signed
 * tree: it survives a lost signing.state. */
static ledger_err newest_stored(signed_state *st, ledger *l, MDB_txn *txn,
                                const note_verifier *v)
{
	MDB_cursor *c = NULL;
	MDB_val k, x;
	note_checkpoint cp;
	const char *why;
	ledger_err err = store_cursor(&c, txn, l->s, DB_CHECKPOINTS, &l->e);

	memset(st, 0, sizeof *st);
	if (err != LEDGER_OK)
		return err;
	err = store_cursor_get(c, &k, &x, MDB_LAST, &l->e);
	if (err == LEDGER_OK) {
		if (k.mv_size != 8)
			err = err_set(&l->e, LEDGER_ECORRUPT, "a checkpoints key is not "
			              "8 bytes (run annals verify)");
		else if ((why = note_open_checkpoint(&cp, x.mv_data, x.mv_size, v)) ||
		         cp.size != get_u64_be(k.mv_data))
			err = err_set(&l->e, LEDGER_ECORRUPT, "the newest stored "
			              "checkpoint (size %" PRIu64 ") does not verify: %s "
			              "(run annals verify)", get_u64_be(k.mv_data),
			              why ? why : "its size differs from its key");
		else {
			st->found = true;
			st->size = cp.size;
			memcpy(st->root, cp.root, LEDGER_HASH_BYTES);
		}
	} else if (err == LEDGER_ENOTFOUND) {
		err = LEDGER_OK;
	}
	store_cursor_close(c);
	return err;
}

/* A signed tree that the tree of size n must extend. */
static ledger_err check_extends(ledger *l, MDB_txn *txn, const signed_state *st,
                                const char *what)
{
	uint8_t root[LEDGER_HASH_BYTES];
	char want[2 * LEDGER_HASH_BYTES + 1], have[2 * LEDGER_HASH_BYTES + 1];
	ledger_err err;

	if (!st->found)
		return LEDGER_OK;
	if ((err = root_at(root, l, txn, st->size)) != LEDGER_OK)
		return err;
	if (memcmp(root, st->root, LEDGER_HASH_BYTES) == 0)
		return LEDGER_OK;
	hex32(want, st->root);
	hex32(have, root);
	return err_set(&l->e, LEDGER_EFORK, "refusing to sign: this ledger is not "
	               "an extension of the last signed tree (%s: size %" PRIu64
	               ", root %s; this ledger's root of that size is %s). Is it "
	               "a restored old copy? Signing would publish a fork; find "
	               "the ledger that signed it", what, st->size, want, have);
}

/* For a size below the last signed one: the stored note of that size. */
static ledger_err reprint(char **out, ledger *l, MDB_txn *txn,
                          const note_verifier *v, uint64_t n, uint64_t m)
{
	uint8_t k[8];
	MDB_val x;
	note_checkpoint cp;
	ledger_err err;

	put_u64_be(k, n);
	err = store_get(txn, l->s, DB_CHECKPOINTS, k, 8, &x, &l->e);
	if (err == LEDGER_ENOTFOUND)
		return err_set(&l->e, LEDGER_EFORK, "refusing to sign size %" PRIu64
		               ": a tree of size %" PRIu64 " was signed already and no "
		               "checkpoint of size %" PRIu64 " was issued (a restored "
		               "old copy of the ledger?)", n, m, n);
	if (err != LEDGER_OK ||
	    (err = stored_note_check(&cp, l, txn, v, n, &x)) != LEDGER_OK)
		return err;
	if (!(*out = malloc(x.mv_size + 1)))
		return err_set(&l->e, LEDGER_ENOMEM, "out of memory");
	memcpy(*out, x.mv_data, x.mv_size);
	(*out)[x.mv_size] = '\0';
	return LEDGER_OK;
}

static ledger_err sign_and_store(char **out, ledger *l, MDB_txn *txn,
                                 const note_verifier *v, uint64_t n,
                                 const signed_state *state)
{
	uint8_t root[LEDGER_HASH_BYTES], k[8];
	char note[CHECKPOINT_NOTE_BYTES_MAX];
	note_signer s;
	size_t bytes;
	ledger_err err;

	if ((err = root_at(root, l, txn, n)) != LEDGER_OK ||
	    (err = load_signer(&s, l, v)) != LEDGER_OK)
		return err;
	bytes = note_sign_checkpoint(note, sizeof note, &s, n, root);
	OPENSSL_cleanse(&s, sizeof s);
	if (bytes == 0)
		return err_set(&l->e, LEDGER_EKEY, "cannot sign the checkpoint");
	put_u64_be(k, n);
	if ((err = store_put(txn, l->s, DB_CHECKPOINTS, k, 8, note, bytes, 0,
	                     &l->e)) != LEDGER_OK)
		return err;
	/* The state moves before the commit: a crash in between leaves a
	 * state the ledger extends, never a printed tree the state lacks. */
	if ((!state->found || n > state->size) &&
	    (err = state_write(l, n, root)) != LEDGER_OK)
		return err;
	if (!(*out = malloc(bytes + 1)))
		return err_set(&l->e, LEDGER_ENOMEM, "out of memory");
	memcpy(*out, note, bytes);
	(*out)[bytes] = '\0';
	return LEDGER_OK;
}

/* One attempt, in one write transaction: LMDB's writer lock serializes
 * the signers of this ledger, so the state read here is the latest. */
static ledger_err checkpoint_once(char **out, ledger *l, uint64_t size)
{
	note_verifier v;
	signed_state state, newest;
	MDB_txn *txn = NULL;
	uint64_t n;
	ledger_err err;

	if ((err = store_begin(&txn, l->s, true, &l->e)) != LEDGER_OK)
		return err;
	if ((err = tree_size(&n, l, txn)) != LEDGER_OK ||
	    (err = load_verifier(&v, NULL, l, txn)) != LEDGER_OK ||
	    (err = state_read(&state, l)) != LEDGER_OK ||
	    (err = newest_stored(&newest, l, txn, &v)) != LEDGER_OK)
		goto out;
	if (size != LEDGER_SIZE_HEAD && size > n) {
		err = err_set(&l->e, LEDGER_EUSAGE, "size %" PRIu64 " is larger than "
		              "the tree (%" PRIu64 " events)", size, n);
		goto out;
	}
	if (size != LEDGER_SIZE_HEAD)
		n = size;
	uint64_t m = state.size > newest.size ? state.size : newest.size;
	if ((state.found || newest.found) && n < m) {
		err = reprint(out, l, txn, &v, n, m);
		goto out;
	}
	if ((err = check_extends(l, txn, &state, "signing.state")) != LEDGER_OK ||
	    (err = check_extends(l, txn, &newest, "the newest stored "
	                         "checkpoint")) != LEDGER_OK ||
	    (err = sign_and_store(out, l, txn, &v, n, &state)) != LEDGER_OK)
		goto out;
	err = store_commit(&txn, &l->e);
	if (err != LEDGER_OK) {
		free(*out);
		*out = NULL;
	}
out:
	store_abort(txn);
	return err;
}

ledger_err ledger_checkpoint(char **out, ledger *l, uint64_t size)
{
	ledger_err err = LEDGER_OK;

	assert(l && l->s);
	*out = NULL;
	for (unsigned i = 0; i < CHECKPOINT_ATTEMPTS_MAX; i++) {
		err_clear(&l->e);
		if (!store_readonly(l->s) &&
		    (err = store_reserve(l->s, CHECKPOINT_MAP_MARGIN_BYTES, false,
		                         &l->e)) != LEDGER_OK)
			return err;
		err = checkpoint_once(out, l, size);
		if (err == LEDGER_OK || !l->e.map_full)
			return err;
		free(*out);
		*out = NULL;
		if ((err = store_grow(l->s, &l->e)) != LEDGER_OK)
			return err;
	}
	return err_set(&l->e, LEDGER_ESTORE, "the map is still full after "
	               "growing it %u times", CHECKPOINT_ATTEMPTS_MAX);
}

/* ---- proofs ---- */

ledger_err ledger_prove_inclusion(ledger_proof *out, ledger *l, uint64_t seq,
                                  uint64_t size)
{
	merkle_reader r = { l, NULL, LEDGER_OK, false, { 0 } };
	uint8_t k[8], stored[LEDGER_HASH_BYTES];
	uint64_t n;
	MDB_val v;
	ledger_err err;

	memset(out, 0, sizeof *out);
	out->kind = LEDGER_PROOF_INCLUSION;
	if ((err = ledger_read_begin(&r.txn, l)) != LEDGER_OK)
		return err;
	if ((err = tree_size(&n, l, r.txn)) != LEDGER_OK)
		goto out;
	reader_sized(&r, n);
	if (size == LEDGER_SIZE_HEAD)
		size = n;
	if (size > n) {
		err = err_set(&l->e, LEDGER_EUSAGE, "size %" PRIu64 " is larger than "
		              "the tree (%" PRIu64 " events)", size, n);
		goto out;
	}
	if (seq < 1 || seq > size) {
		err = err_set(&l->e, LEDGER_EUSAGE, "seq %" PRIu64 " is not in the "
		              "tree of size %" PRIu64 ": give 1 <= SEQ <= size",
		              seq, size);
		goto out;
	}
	put_u64_be(k, seq);
	if ((err = store_get(r.txn, l->s, DB_EVENTS, k, 8, &v, &l->e)) != LEDGER_OK) {
		if (err == LEDGER_ENOTFOUND)
			err = err_set(&l->e, LEDGER_ECORRUPT, "seq %" PRIu64 " is "
			              "missing (run annals verify)", seq);
		goto out;
	}
	/* The leaf is hashed from the envelope and checked against the
	 * stored one, so a proof never vouches for a hash nobody checked. */
	merkle_leaf_hash_with(out->leaf_hash, ledger_sha(l), v.mv_data, v.mv_size);
	if (read_merkle(&r, 0, seq - 1, stored) != 0) {
		err = r.err;
		goto out;
	}
	if (memcmp(stored, out->leaf_hash, LEDGER_HASH_BYTES) != 0) {
		err = err_set(&l->e, LEDGER_ECORRUPT, "seq %" PRIu64 ": the stored "
		              "leaf hash differs from the envelope's (run annals "
		              "verify)", seq);
		goto out;
	}
	if (merkle_prove_inclusion_with(out->hashes, &out->hashes_count, ledger_sha(l),
	                                seq - 1, size, read_merkle, &r) != 0 ||
	    tree_root(out->root, &r, size) != 0) {
		err = r.err;
		goto out;
	}
	out->seq = seq;
	out->tree_size = size;
out:
	reader_done(&r);
	store_abort(r.txn);
	return err;
}

ledger_err ledger_prove_consistency(ledger_proof *out, ledger *l,
                                    uint64_t old_size, uint64_t new_size)
{
	merkle_reader r = { l, NULL, LEDGER_OK, false, { 0 } };
	uint64_t n;
	ledger_err err;

	memset(out, 0, sizeof *out);
	out->kind = LEDGER_PROOF_CONSISTENCY;
	if ((err = ledger_read_begin(&r.txn, l)) != LEDGER_OK)
		return err;
	if ((err = tree_size(&n, l, r.txn)) != LEDGER_OK)
		goto out;
	reader_sized(&r, n);
	if (new_size == LEDGER_SIZE_HEAD)
		new_size = n;
	if (new_size > n) {
		err = err_set(&l->e, LEDGER_EUSAGE, "size %" PRIu64 " is larger than "
		              "the tree (%" PRIu64 " events)", new_size, n);
		goto out;
	}
	if (old_size < 1 || old_size > new_size) {
		err = err_set(&l->e, LEDGER_EUSAGE, "old size %" PRIu64 " is out of "
		              "range: give 1 <= M <= N (N = %" PRIu64 "); there is no "
		              "consistency proof from the empty tree", old_size,
		              new_size);
		goto out;
	}
	hasher *h = ledger_sha(l);
	if (merkle_prove_consistency_with(out->hashes, &out->hashes_count, h,
	                                  old_size, new_size, read_merkle, &r) != 0 ||
	    tree_root(out->old_root, &r, old_size) != 0 ||
	    tree_root(out->root, &r, new_size) != 0) {
		err = r.err;
		goto out;
	}
	out->old_size = old_size;
	out->tree_size = new_size;
out:
	reader_done(&r);
	store_abort(r.txn);
	return err;
}

ledger_err ledger_proof_json(char **out, const ledger_proof *p)
{
	char a[2 * LEDGER_HASH_BYTES + 1], b[2 * LEDGER_HASH_BYTES + 1];
	size_t cap = 256 + (2 * LEDGER_HASH_BYTES + 3) * (p->hashes_count + 3);
	char *s = malloc(cap);
	int n;

	assert(p->hashes_count <= LEDGER_PROOF_HASHES_MAX);
	*out = NULL;
	if (!s)
		return LEDGER_ENOMEM;
	if (p->kind == LEDGER_PROOF_INCLUSION) {
		hex32(a, p->leaf_hash);
		hex32(b, p->root);
		n = snprintf(s, cap, "{\"seq\":%" PRIu64 ",\"index\":%" PRIu64
		             ",\"tree_size\":%" PRIu64 ",\"leaf_hash\":\"%s\","
		             "\"root\":\"%s\",\"proof\":[", p->seq, p->seq - 1,
		             p->tree_size, a, b);
	} else {
		assert(p->kind == LEDGER_PROOF_CONSISTENCY);
		hex32(a, p->old_root);
		hex32(b, p->root);
		n = snprintf(s, cap, "{\"old_size\":%" PRIu64 ",\"new_size\":%" PRIu64
		             ",\"old_root\":\"%s\",\"new_root\":\"%s\",\"proof\":[",
		             p->old_size, p->tree_size, a, b);
	}
	assert(n > 0 && (size_t)n < cap);
	size_t used = (size_t)n;
	for (size_t i = 0; i < p->hashes_count; i++) {
		hex32(a, p->hashes[i]);
		used += (size_t)snprintf(s + used, cap - used, "%s\"%s\"",
		                         i ? "," : "", a);
	}
	assert(used + 3 <= cap);
	memcpy(s + used, "]}", 3);
	*out = s;
	return LEDGER_OK;
}

/* ---- reading and checking proofs (no ledger) ---- */

static const char *const inclusion_keys[] = {
	"seq", "index", "tree_size", "leaf_hash", "root", "proof", NULL };
static const char *const consistency_keys[] = {
	"old_size", "new_size", "old_root", "new_root", "proof", NULL };

static const char *json_size(uint64_t *out, json_t *o, const char *key)
{
	json_t *x = json_object_get(o, key);

	if (!x)
		return "is missing";
	if (!json_is_integer(x) || json_integer_value(x) < 0)
		return "is not a whole number";
	*out = (uint64_t)json_integer_value(x);
	return NULL;
}

static const char *json_hash(uint8_t out[LEDGER_HASH_BYTES], json_t *x)
{
	if (!x)
		return "is missing";
	if (!json_is_string(x) || json_string_length(x) != 2 * LEDGER_HASH_BYTES ||
	    hex_decode(out, LEDGER_HASH_BYTES, json_string_value(x),
	               2 * LEDGER_HASH_BYTES) != 0)
		return "is not 64 hex digits";
	return NULL;
}

/* Every key of the kind is present, no other is, and the proof array is
 * a list of hashes. */
static const char *proof_fields(ledger_proof *p, json_t *o, const char **field,
                                const char *const *keys, char *scratch,
                                size_t scratch_bytes)
{
	const char *key, *why;
	json_t *x;

	json_object_foreach(o, key, x) {
		size_t i = 0;
		while (keys[i] && strcmp(keys[i], key) != 0)
			i++;
		if (!keys[i]) {
			snprintf(scratch, scratch_bytes, "unknown key '%.64s' (a proof "
			         "has exactly the keys of DESIGN §5)", key);
			*field = NULL;
			return scratch;
		}
	}
	*field = "proof";
	x = json_object_get(o, "proof");
	if (!x)
		return "is missing";
	if (!json_is_array(x) || json_array_size(x) > LEDGER_PROOF_HASHES_MAX)
		return "is not an array of at most 128 hashes";
	p->hashes_count = json_array_size(x);
	for (size_t i = 0; i < p->hashes_count; i++)
		if ((why = json_hash(p->hashes[i], json_array_get(x, i))) != NULL) {
			snprintf(scratch, scratch_bytes, "element %zu %s", i, why);
			return scratch;
		}
	return NULL;
}

static const char *parse_inclusion(ledger_proof *p, json_t *o, const char **field)
{
	uint64_t index;
	const char *why;

	p->kind = LEDGER_PROOF_INCLUSION;
	if ((why = json_size(&p->seq, o, *field = "seq")) ||
	    (why = json_size(&index, o, *field = "index")) ||
	    (why = json_size(&p->tree_size, o, *field = "tree_size")) ||
	    (why = json_hash(p->leaf_hash, json_object_get(o, *field = "leaf_hash"))) ||
	    (why = json_hash(p->root, json_object_get(o, *field = "root"))))
		return why;
	*field = "seq";
	if (p->seq < 1 || p->seq > p->tree_size)
		return "is not between 1 and tree_size";
	*field = "index";
	if (index != p->seq - 1)
		return "is not seq - 1";
	return NULL;
}

static const char *parse_consistency(ledger_proof *p, json_t *o, const char **field)
{
	const char *why;

	p->kind = LEDGER_PROOF_CONSISTENCY;
	if ((why = json_size(&p->old_size, o, *field = "old_size")) ||
	    (why = json_size(&p->tree_size, o, *field = "new_size")) ||
	    (why = json_hash(p->old_root, json_object_get(o, *field = "old_root"))) ||
	    (why = json_hash(p->root, json_object_get(o, *field = "new_root"))))
		return why;
	*field = "old_size";
	if (p->old_size < 1)
		return "is 0: there is no consistency proof from the empty tree";
	if (p->old_size > p->tree_size)
		return "is larger than new_size";
	return NULL;
}

ledger_err ledger_proof_parse(ledger_proof *out, const char *json,
                              size_t json_bytes, char *why, size_t why_bytes)
{
	json_error_t jerr;
	json_t *o = json_loadb(json, json_bytes, JSON_REJECT_DUPLICATES, &jerr);
	const char *field = NULL, *bad = NULL;
	char scratch[160];

	memset(out, 0, sizeof *out);
	if (!o) {
		why_set(why, why_bytes, "not JSON: line %d: %s", jerr.line, jerr.text);
		return LEDGER_EINPUT;
	}
	bool inc = json_object_get(o, "tree_size") != NULL;
	bool cons = json_object_get(o, "old_size") != NULL;
	if (!json_is_object(o) || inc == cons) {
		why_set(why, why_bytes, "not a proof: an inclusion proof has a "
		        "tree_size key, a consistency proof an old_size key");
		json_decref(o);
		return LEDGER_EINPUT;
	}
	bad = proof_fields(out, o, &field, inc ? inclusion_keys : consistency_keys,
	                   scratch, sizeof scratch);
	if (!bad)
		bad = inc ? parse_inclusion(out, o, &field) : parse_consistency(out, o, &field);
	json_decref(o);
	if (!bad)
		return LEDGER_OK;
	if (field)
		why_set(why, why_bytes, "%s proof: %s %s", inc ? "inclusion" :
		        "consistency", field, bad);
	else
		why_set(why, why_bytes, "%s proof: %s", inc ? "inclusion" :
		        "consistency", bad);
	return LEDGER_EINPUT;
}

ledger_err ledger_proof_check(const ledger_proof *p, char *why, size_t why_bytes)
{
	char a[2 * LEDGER_HASH_BYTES + 1], b[2 * LEDGER_HASH_BYTES + 1];

	if (p->kind == LEDGER_PROOF_INCLUSION) {
		if (p->seq >= 1 && p->seq <= p->tree_size &&
		    merkle_check_inclusion((const merkle_hash *)p->hashes,
		                           p->hashes_count, p->seq - 1, p->tree_size,
		                           p->leaf_hash, p->root))
			return LEDGER_OK;
		hex32(a, p->leaf_hash);
		hex32(b, p->root);
		why_set(why, why_bytes, "the inclusion proof does not lead from leaf "
		        "hash %s (seq %" PRIu64 ") to root %s of tree size %" PRIu64,
		        a, p->seq, b, p->tree_size);
		return LEDGER_ECORRUPT;
	}
	assert(p->kind == LEDGER_PROOF_CONSISTENCY);
	if (p->old_size >= 1 && p->old_size <= p->tree_size &&
	    merkle_check_consistency((const merkle_hash *)p->hashes,
	                             p->hashes_count, p->old_size, p->tree_size,
	                             p->old_root, p->root))
		return LEDGER_OK;
	hex32(a, p->old_root);
	hex32(b, p->root);
	why_set(why, why_bytes, "the consistency proof does not show that the "
	        "tree of size %" PRIu64 " with root %s is a prefix of the tree of "
	        "size %" PRIu64 " with root %s", p->old_size, a, p->tree_size, b);
	return LEDGER_ECORRUPT;
}

ledger_err ledger_checkpoint_open(ledger_checkpoint_info *out,
                                  const char *note, size_t note_bytes,
                                  const char *vkey, size_t vkey_bytes,
                                  char *why, size_t why_bytes)
{
	note_verifier v;
	note_checkpoint cp;
	const char *bad;

	memset(out, 0, sizeof *out);
	if ((bad = note_verifier_parse(&v, vkey, vkey_bytes)) != NULL) {
		why_set(why, why_bytes, "not a verifier key: %s", bad);
		return LEDGER_EUSAGE;
	}
	if ((bad = note_open_checkpoint(&cp, note, note_bytes, &v)) != NULL) {
		why_set(why, why_bytes, "the checkpoint does not verify under the "
		        "key of '%s': %s", v.name, bad);
		return LEDGER_ECORRUPT;
	}
	_Static_assert(sizeof out->origin == sizeof cp.origin, "origin buffers");
	memcpy(out->origin, cp.origin, sizeof out->origin);
	out->size = cp.size;
	memcpy(out->root, cp.root, LEDGER_HASH_BYTES);
	return LEDGER_OK;
}

/* ---- verify: stored checkpoints and old checkpoints ---- */

typedef struct root_capture {
	uint64_t size;             /* the size whose root is wanted */
	bool found;
	uint8_t root[LEDGER_HASH_BYTES];
} root_capture;

typedef struct stored_scan {
	ledger *l;
	MDB_txn *txn;
	MDB_cursor *c;
	note_verifier v;
	bool have;                 /* c is on a checkpoint not yet checked */
	uint64_t size;             /* its size (key) */
	MDB_val note;
	uint64_t checked;
	ledger_err err;            /* the real code behind a stopped scan */
	verify_root_fn next;       /* the caller's, called at every size */
	void *next_ctx;
	root_capture *cap;         /* or one root kept, NULL */
} stored_scan;

static ledger_err scan_step(stored_scan *x, MDB_cursor_op op)
{
	MDB_val k;
	ledger_err err = store_cursor_get(x->c, &k, &x->note, op, &x->l->e);

	x->have = err == LEDGER_OK;
	if (err == LEDGER_ENOTFOUND)
		return LEDGER_OK;
	if (err == LEDGER_OK && k.mv_size != 8)
		return err_set(&x->l->e, LEDGER_ECORRUPT, "checkpoints: a key is not "
		               "8 bytes");
	if (err == LEDGER_OK)
		x->size = get_u64_be(k.mv_data);
	return err;
}

static ledger_err scan_check(stored_scan *x, const uint8_t root[LEDGER_HASH_BYTES])
{
	note_checkpoint cp;
	const char *why = note_open_checkpoint(&cp, x->note.mv_data,
	                                       x->note.mv_size, &x->v);

	if (why)
		return err_set(&x->l->e, LEDGER_ECORRUPT, "checkpoint of size %"
		               PRIu64 ": %s", x->size, why);
	if (cp.size != x->size)
		return err_set(&x->l->e, LEDGER_ECORRUPT, "checkpoint stored under "
		               "size %" PRIu64 " has size %" PRIu64, x->size, cp.size);
	if (memcmp(cp.root, root, LEDGER_HASH_BYTES) != 0)
		return err_set(&x->l->e, LEDGER_ECORRUPT, "checkpoint of size %"
		               PRIu64 ": its root differs from the root recomputed "
		               "from the events", x->size);
	x->checked++;
	return scan_step(x, MDB_NEXT);
}

/* Roots are computed only where they are needed: a stored checkpoint's
 * size, the captured size, or every size for a caller's callback. */
static bool scan_want(void *ctx, uint64_t size)
{
	stored_scan *x = ctx;

	return x->next || (x->have && x->size == size) ||
	       (x->cap && x->cap->size == size);
}

static int scan_on_root(void *ctx, uint64_t size, const uint8_t root[LEDGER_HASH_BYTES])
{
	stored_scan *x = ctx;

	if (x->next && x->next(x->next_ctx, size, root) != 0)
		return -1;
	if (x->cap && x->cap->size == size) {
		memcpy(x->cap->root, root, LEDGER_HASH_BYTES);
		x->cap->found = true;
	}
	/* Keys are in size order and every size is visited, so the cursor is
	 * never behind: one comparison per event. */
	while (x->have && x->size == size)
		if ((x->err = scan_check(x, root)) != LEDGER_OK)
			return -1;
	return 0;
}

static ledger_err scan_run(ledger_verify_stats *out, ledger *l, MDB_txn *txn,
                           verify_root_fn on_root, void *ctx, root_capture *cap)
{
	stored_scan x = { .l = l, .txn = txn, .next = on_root, .next_ctx = ctx,
	                  .cap = cap };
	ledger_err err;

	memset(out, 0, sizeof *out);
	if ((err = load_verifier(&x.v, NULL, l, txn)) != LEDGER_OK ||
	    (err = store_cursor(&x.c, txn, l->s, DB_CHECKPOINTS, &l->e)) != LEDGER_OK ||
	    (err = scan_step(&x, MDB_FIRST)) != LEDGER_OK)
		goto out;
	if (x.have && x.size == 0) {
		uint8_t empty[LEDGER_HASH_BYTES];
		merkle_root(empty, 0, read_merkle, NULL);   /* reads nothing */
		if ((err = scan_check(&x, empty)) != LEDGER_OK)
			goto out;
	}
	err = verify_run_at(out, l, txn, scan_want, scan_on_root, &x);
	if (err != LEDGER_OK && x.err != LEDGER_OK)
		err = x.err;
	if (err == LEDGER_OK && x.have)
		err = err_set(&l->e, LEDGER_ECORRUPT, "a checkpoint of size %" PRIu64
		              " is stored but the log has %" PRIu64 " events (it was "
		              "truncated)", x.size, out->events);
	out->checkpoints = x.checked;
out:
	store_cursor_close(x.c);
	return err;
}

ledger_err checkpoint_verify_run(ledger_verify_stats *out, ledger *l,
                                 MDB_txn *txn, verify_root_fn on_root,
                                 void *ctx)
{
	return scan_run(out, l, txn, on_root, ctx, NULL);
}

ledger_err ledger_verify_checkpoint(ledger_verify_stats *out,
                                    ledger_checkpoint_info *old, ledger *l,
                                    const char *note, size_t note_bytes,
                                    const char *vkey, size_t vkey_bytes)
{
	char why[ERR_MSG_BYTES], a[2 * LEDGER_HASH_BYTES + 1], b[2 * LEDGER_HASH_BYTES + 1];
	root_capture cap = { 0 };
	MDB_txn *txn = NULL;
	ledger_err err;

	assert(l && l->s);
	memset(out, 0, sizeof *out);
	err_clear(&l->e);
	err = ledger_checkpoint_open(old, note, note_bytes, vkey, vkey_bytes,
	                             why, sizeof why);
	if (err != LEDGER_OK)
		return err_set(&l->e, err, "%s", why);
	if (strcmp(old->origin, l->origin) != 0)
		return err_set(&l->e, LEDGER_ECORRUPT, "the checkpoint is for origin "
		               "'%s', this ledger's origin is '%s': another log",
		               old->origin, l->origin);
	cap.size = old->size;
	if (old->size == 0) {
		merkle_root(cap.root, 0, read_merkle, NULL);   /* reads nothing */
		cap.found = true;
	}
	if ((err = ledger_read_begin(&txn, l)) != LEDGER_OK)
		return err;
	err = scan_run(out, l, txn, NULL, NULL, &cap);
	store_abort(txn);
	if (err != LEDGER_OK)
		return err;
	if (!cap.found)
		return err_set(&l->e, LEDGER_ECORRUPT, "the ledger has %" PRIu64
		               " events, fewer than the checkpoint's %" PRIu64 ": it "
		               "was truncated, or it is not the log that signed the "
		               "checkpoint", out->events, old->size);
	if (memcmp(cap.root, old->root, LEDGER_HASH_BYTES) != 0) {
		hex32(a, cap.root);
		hex32(b, old->root);
		return err_set(&l->e, LEDGER_ECORRUPT, "the ledger is not an "
		               "append-only extension of the checkpoint: its first %"
		               PRIu64 " events, recomputed from the stored envelopes, "
		               "have root %s, the checkpoint says %s (an event at or "
		               "before seq %" PRIu64 " was rewritten, removed or "
		               "reordered)", old->size, a, b, old->size);
	}
	return LEDGER_OK;
}

/* ---- backup ---- */

/* What a backup writes into its work directory (lock.mdb comes from the
 * verify of the copy), removed when it fails. */
static const char *const backup_files[] = {
	"data.mdb", "lock.mdb", CHECKPOINT_KEY_FILE, CHECKPOINT_STATE_FILE, NULL };

/* The target must be absent or an empty directory: a backup never mixes
 * with other files, and rename(2) replaces nothing else. */
static ledger_err backup_target_check(ledger *l, const char *dir)
{
	struct stat st;

	if (lstat(dir, &st) != 0)
		return errno == ENOENT ? LEDGER_OK :
		       err_set(&l->e, LEDGER_EIO, "cannot use '%s': %s", dir,
		               strerror(errno));
	if (S_ISLNK(st.st_mode))
		return err_set(&l->e, LEDGER_EEXIST, "'%s' is a symbolic link: give "
		               "a new or empty directory itself", dir);
	if (!S_ISDIR(st.st_mode))
		return err_set(&l->e, LEDGER_EEXIST, "'%s' exists and is not a "
		               "directory: give a new or empty directory", dir);
	if (publish_has_files(dir))
		return err_set(&l->e, LEDGER_EEXIST, "'%s' is not empty: give a new "
		               "or empty directory", dir);
	return LEDGER_OK;
}

/* Create dir/name with O_EXCL|O_NOFOLLOW, write, fsync. */
static ledger_err backup_write(ledger *l, const char *dir, const char *name,
                               const char *text, size_t n, mode_t mode)
{
	char path[CHECKPOINT_PATH_BYTES_MAX];
	int fd;

	snprintf(path, sizeof path, "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return err_set(&l->e, LEDGER_EIO, "cannot create '%s': %s", path,
		               strerror(errno));
	bool ok = write_all(fd, text, n) == (ssize_t)n && fsync(fd) == 0;
	int saved = errno;
	if (close(fd) != 0 || !ok)
		return err_set(&l->e, LEDGER_EIO, "cannot write '%s': %s", path,
		               strerror(saved));
	return LEDGER_OK;
}

/* Open the copy and verify it, as a restore would. */
static ledger_err backup_verify(ledger *l, const char *work)
{
	ledger *copy = NULL;
	ledger_verify_stats st;
	ledger_err err = ledger_open(&copy, work, LEDGER_OPEN_RDONLY);

	if (err == LEDGER_OK)
		err = ledger_verify(&st, copy);
	if (err != LEDGER_OK)
		err_set(&l->e, err == LEDGER_ECORRUPT ? LEDGER_ECORRUPT : err,
		        "the copy does not verify, so it was not kept: %s",
		        copy ? ledger_errmsg(copy) : "out of memory");
	ledger_close(copy);
	return err;
}

/* data.mdb, the signing key and signing.state into the work directory,
 * each fsynced (publish_commit syncs the directory). */
static ledger_err backup_files_write(ledger *l, const char *work,
                                     const note_signer *s)
{
	char text[CHECKPOINT_KEY_BYTES_MAX], path[CHECKPOINT_PATH_BYTES_MAX];
	char state[CHECKPOINT_STATE_BYTES_MAX + 1];
	size_t n;
	ledger_err err;

	if ((err = store_copy_compact(l->s, work, &l->e)) != LEDGER_OK ||
	    (err = publish_fsync_file(work, "data.mdb", &l->e)) != LEDGER_OK)
		return err;
	n = note_signer_format(text, sizeof text - 1, s);
	assert(n > 0);
	text[n++] = '\n';
	err = backup_write(l, work, CHECKPOINT_KEY_FILE, text, n, 0600);
	OPENSSL_cleanse(text, sizeof text);
	if (err != LEDGER_OK)
		return err;
	state_path(path, l, "");
	err = read_small(state, sizeof state, &n, path, false, &l->e);
	if (err == LEDGER_OK)
		err = backup_write(l, work, CHECKPOINT_STATE_FILE, state, n, 0644);
	else if (err == LEDGER_ENOTFOUND)
		err = LEDGER_OK;
	return err;
}

/* The copy is made and verified in DIR.backup-XXXXXX beside DIR, then
 * renamed to DIR: a backup killed part-way leaves nothing at DIR. */
ledger_err ledger_backup(ledger *l, const char *dir)
{
	char work[PUBLISH_PATH_BYTES_MAX];
	note_verifier v;
	note_signer s;
	MDB_txn *txn = NULL;
	ledger_err err;

	assert(l && l->s);
	err_clear(&l->e);
	/* The key is checked first: a backup without it would be a copy that
	 * can never sign again. */
	if ((err = ledger_read_begin(&txn, l)) != LEDGER_OK)
		return err;
	err = load_verifier(&v, NULL, l, txn);
	store_abort(txn);
	if (err != LEDGER_OK || (err = load_signer(&s, l, &v)) != LEDGER_OK)
		return err;
	if ((err = backup_target_check(l, dir)) != LEDGER_OK ||
	    (err = publish_begin(work, dir, "backup", &l->e)) != LEDGER_OK) {
		OPENSSL_cleanse(&s, sizeof s);
		return err;
	}
	err = backup_files_write(l, work, &s);
	OPENSSL_cleanse(&s, sizeof s);
	if (err == LEDGER_OK && (err = backup_verify(l, work)) == LEDGER_OK)
		err = publish_commit(work, dir, "the backup", &l->e);
	if (err != LEDGER_OK)
		publish_abandon(work, backup_files);
	return err;
}
