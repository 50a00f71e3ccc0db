/* The verifiable log through ledger.h (checkpoint.c): signed checkpoints
 * and their fork protection, roots and proofs of every size against a
 * recursive model, offline checks, verify against old checkpoints, and
 * backups. The forgery helper rewrites a copied ledger consistently
 * through LMDB directly (generated protobuf-c code, merkle.h, note.h), as
 * someone holding the files and the signing key could. */
#define _XOPEN_SOURCE 700   /* nftw */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <jansson.h>
#include <lmdb.h>
#include <openssl/evp.h>

#include "annals.pb-c.h"
#include "heads.h"
#include "ledger.h"
#include "merkle.h"
#include "tiles.h"
#include "note.h"

#define TEST_EVENTS     70u     /* every proof of every size up to this */
#define TEST_PATH_BYTES 256u
#define TEST_RELS_MAX   16u     /* relationships in the test ledgers */

typedef struct tl {
	char root[64];                 /* temporary directory */
	char dir[TEST_PATH_BYTES];     /* root/db: the ledger */
	ledger *l;
} tl;

/* ---- files ---- */

static int rm_one(const char *path, const struct stat *st, int flag,
                  struct FTW *ftw)
{
	(void)st; (void)flag; (void)ftw;
	return remove(path);
}

static void rm_tree(const char *path)
{
	nftw(path, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static char *read_text(const char *path, size_t *out_bytes)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 &&
	    fseek(f, 0, SEEK_SET) == 0 && (buf = malloc((size_t)n + 1)) != NULL) {
		if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
			free(buf);
			buf = NULL;
		} else {
			buf[n] = '\0';
			if (out_bytes)
				*out_bytes = (size_t)n;
		}
	}
	fclose(f);
	return buf;
}

static void write_text(const char *path, const char *text, size_t n, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(write(fd, text, n) == (ssize_t)n);
	CU_ASSERT_FATAL(fchmod(fd, mode) == 0);
	close(fd);
}

static void copy_file(const char *from, const char *to, mode_t mode)
{
	size_t n = 0;
	char *text = read_text(from, &n);

	CU_ASSERT_FATAL(text != NULL);
	write_text(to, text, n, mode);
	free(text);
}

static void path_of(char out[TEST_PATH_BYTES], const char *dir, const char *name)
{
	int n = snprintf(out, TEST_PATH_BYTES, "%s/%s", dir, name);

	CU_ASSERT_FATAL(n > 0 && n < (int)TEST_PATH_BYTES);
}

/* ---- ledgers ---- */

/* Event i of a test ledger: two organizations, then meetings spread over
 * six relationships; variant tells two histories apart. */
static void event_line(char *buf, size_t cap, unsigned i, char variant)
{
	static const char *const countries[] = { "KZ", "AF", "US" };

	if (i == 1 || i == 2)
		snprintf(buf, cap, "{\"type\":\"organization\",\"organization\":"
		         "\"org-%c\",\"name\":\"Org %c\"}\n", 'a' + i - 1,
		         'A' + i - 1);
	else
		snprintf(buf, cap, "{\"id\":\"ev-%u\",\"type\":\"meeting\","
		         "\"country\":\"%s\",\"organization\":\"org-%c\","
		         "\"date\":\"20%02u-%02u-%02u\",\"summary\":\"Event %u, "
		         "history %c.\"}\n", i, countries[i % 3], 'a' + i % 2,
		         i % 25, i % 12 + 1, i % 28 + 1, i, variant);
}

static void tl_import(tl *t, unsigned from, unsigned to, char variant)
{
	char *text = malloc(512u * (to - from + 1));
	size_t n = 0;
	ledger_import_stats st;

	CU_ASSERT_FATAL(text != NULL);
	for (unsigned i = from; i <= to; i++) {
		event_line(text + n, 512, i, variant);
		n += strlen(text + n);
	}
	ledger_err err = ledger_import_mem(&st, t->l, text, n, NULL);
	if (err != LEDGER_OK)
		fprintf(stderr, "import: %s\n", ledger_errmsg(t->l));
	CU_ASSERT_FATAL(err == LEDGER_OK);
	CU_ASSERT_EQUAL(st.appended, to - from + 1);
	free(text);
}

static void tl_open(tl *t)
{
	ledger_err err = ledger_open(&t->l, t->dir, 0);

	if (err != LEDGER_OK)
		fprintf(stderr, "open %s: %s\n", t->dir, ledger_errmsg(t->l));
	CU_ASSERT_FATAL(err == LEDGER_OK);
}

static void tl_close(tl *t)
{
	ledger_close(t->l);
	t->l = NULL;
}

/* A new ledger in a new temporary directory, with events 1..events. */
static void tl_make(tl *t, unsigned events)
{
	char msg[1024];

	unsetenv("ANNALS_KEY");
	snprintf(t->root, sizeof t->root, "/tmp/annals-test-cp-XXXXXX");
	CU_ASSERT_FATAL(mkdtemp(t->root) != NULL);
	path_of(t->dir, t->root, "db");
	CU_ASSERT_FATAL(ledger_init(t->dir, NULL, msg, sizeof msg) == LEDGER_OK);
	tl_open(t);
	if (events)
		tl_import(t, 1, events, 'a');
}

static void tl_free(tl *t)
{
	tl_close(t);
	rm_tree(t->root);
}

/* A copy of t's directory (data.mdb, key, state) taken while t is closed,
 * as `cp` would: dst is a ledger directory inside t->root. */
static void tl_copy(tl *t, tl *copy, const char *name)
{
	static const char *const files[] = { "data.mdb", "signing.key", "signing.state" };
	char from[TEST_PATH_BYTES], to[TEST_PATH_BYTES];
	struct stat st;

	tl_close(t);
	*copy = (tl){ { 0 }, { 0 }, NULL };
	path_of(copy->dir, t->root, name);
	CU_ASSERT_FATAL(mkdir(copy->dir, 0700) == 0);
	for (size_t i = 0; i < 3; i++) {
		path_of(from, t->dir, files[i]);
		path_of(to, copy->dir, files[i]);
		if (stat(from, &st) == 0)
			copy_file(from, to, i == 1 ? 0600 : 0644);
	}
	tl_open(t);
}

static char *tl_checkpoint(tl *t, uint64_t size)
{
	char *note = NULL;
	ledger_err err = ledger_checkpoint(&note, t->l, size);

	if (err != LEDGER_OK)
		fprintf(stderr, "checkpoint: %s\n", ledger_errmsg(t->l));
	CU_ASSERT_FATAL(err == LEDGER_OK);
	return note;
}

static void tl_vkey(tl *t, char vkey[LEDGER_VKEY_TEXT_BYTES])
{
	CU_ASSERT_FATAL(ledger_verifier_key(vkey, t->l) == LEDGER_OK);
}

static bool msg_has(tl *t, const char *words)
{
	bool ok = strstr(ledger_errmsg(t->l), words) != NULL;

	if (!ok)
		fprintf(stderr, "message '%s' lacks '%s'\n", ledger_errmsg(t->l), words);
	return ok;
}

/* ---- the recursive model of RFC 9162 MTH ---- */

static void sha256(uint8_t out[32], const void *data, size_t n)
{
	unsigned int len = 0;

	if (EVP_Digest(data, n, out, &len, EVP_sha256(), NULL) != 1 || len != 32)
		abort();
}

static void ref_mth(uint8_t out[32], uint8_t (*leaf)[32], uint64_t n)
{
	uint8_t buf[65];
	uint64_t k = 1;

	if (n == 0) {
		sha256(out, "", 0);
		return;
	}
	if (n == 1) {
		memcpy(out, leaf[0], 32);
		return;
	}
	while (k * 2 < n)
		k *= 2;
	buf[0] = 1;
	ref_mth(buf + 1, leaf, k);
	ref_mth(buf + 33, leaf + k, n - k);
	sha256(out, buf, sizeof buf);
}

static int collect_leaf(void *ctx, const ledger_event_view *ev)
{
	uint8_t (*leaf)[32] = ctx;
	uint8_t check[32];

	ledger_leaf_hash(check, ev->envelope, ev->envelope_bytes);
	CU_ASSERT(memcmp(check, ev->leaf_hash, 32) == 0);
	memcpy(leaf[ev->seq - 1], ev->leaf_hash, 32);
	return 0;
}

/* ---- tests: checkpoints ---- */

static void test_checkpoint_sign_and_open(void)
{
	tl t;
	char vkey[LEDGER_VKEY_TEXT_BYTES], path[TEST_PATH_BYTES], want[512];
	char hex[65];
	uint8_t root[32];
	note_verifier v;
	note_checkpoint cp;
	ledger_checkpoint_info info;
	ledger_verify_stats st;
	ledger_stats stats;

	tl_make(&t, TEST_EVENTS);
	char *note = tl_checkpoint(&t, LEDGER_SIZE_HEAD);
	tl_vkey(&t, vkey);
	CU_ASSERT_FATAL(note_verifier_parse(&v, vkey, strlen(vkey)) == NULL);
	CU_ASSERT_FATAL(note_open_checkpoint(&cp, note, strlen(note), &v) == NULL);
	CU_ASSERT_EQUAL(cp.size, TEST_EVENTS);
	CU_ASSERT(ledger_root(root, t.l, LEDGER_SIZE_HEAD) == LEDGER_OK);
	CU_ASSERT(memcmp(root, cp.root, 32) == 0);
	CU_ASSERT(ledger_get_stats(&stats, t.l) == LEDGER_OK);
	CU_ASSERT_STRING_EQUAL(cp.origin, stats.origin);
	/* The body is exactly origin, size, base64 root; one signature line. */
	CU_ASSERT(strncmp(note, stats.origin, strlen(stats.origin)) == 0);
	CU_ASSERT(strstr(note, "\n70\n") != NULL);
	CU_ASSERT(strstr(note, "\n\n\xe2\x80\x94 ") != NULL);
	CU_ASSERT(ledger_checkpoint_open(&info, note, strlen(note), vkey,
	                                 strlen(vkey), NULL, 0) == LEDGER_OK);
	CU_ASSERT_EQUAL(info.size, TEST_EVENTS);
	/* signing.state records the signed tree in its documented format. */
	path_of(path, t.dir, "signing.state");
	char *state = read_text(path, NULL);
	CU_ASSERT_FATAL(state != NULL);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", root[i]);
	snprintf(want, sizeof want, "annals signing.state 1\norigin %s\nsize 70\n"
	         "root %s\n", stats.origin, hex);
	CU_ASSERT_STRING_EQUAL(state, want);
	free(state);
	/* Stored, and checked by verify. */
	CU_ASSERT(ledger_verify(&st, t.l) == LEDGER_OK);
	CU_ASSERT_EQUAL(st.checkpoints, 1);
	/* Signing the same tree again gives the same note (Ed25519 is
	 * deterministic) and stores nothing new. */
	char *again = tl_checkpoint(&t, TEST_EVENTS);
	CU_ASSERT_STRING_EQUAL(again, note);
	CU_ASSERT(ledger_verify(&st, t.l) == LEDGER_OK);
	CU_ASSERT_EQUAL(st.checkpoints, 1);
	free(again);
	free(note);
	tl_free(&t);
}

static void test_checkpoint_empty_tree(void)
{
	tl t;
	char vkey[LEDGER_VKEY_TEXT_BYTES];
	ledger_checkpoint_info info;
	ledger_verify_stats st;
	uint8_t empty[32];

	tl_make(&t, 0);
	sha256(empty, "", 0);
	char *note = tl_checkpoint(&t, LEDGER_SIZE_HEAD);
	tl_vkey(&t, vkey);
	CU_ASSERT(ledger_checkpoint_open(&info, note, strlen(note), vkey,
	                                 strlen(vkey), NULL, 0) == LEDGER_OK);
	CU_ASSERT_EQUAL(info.size, 0);
	CU_ASSERT(memcmp(info.root, empty, 32) == 0);
	CU_ASSERT(ledger_verify(&st, t.l) == LEDGER_OK);
	CU_ASSERT_EQUAL(st.checkpoints, 1);
	tl_import(&t, 1, 5, 'a');
	free(note);
	note = tl_checkpoint(&t, LEDGER_SIZE_HEAD);
	CU_ASSERT(ledger_verify(&st, t.l) == LEDGER_OK);
	CU_ASSERT_EQUAL(st.checkpoints, 2);
	free(note);
	tl_free(&t);
}

static void test_checkpoint_sizes_and_reprint(void)
{
	tl t;
	char *note = NULL;

	tl_make(&t, 30);
	char *n30 = tl_checkpoint(&t, LEDGER_SIZE_HEAD);
	tl_import(&t, 31, 50, 'a');
	char *n50 = tl_checkpoint(&t, LEDGER_SIZE_HEAD);
	/* Below the last signed size: the stored note, byte for byte. */
	char *again = tl_checkpoint(&t, 30);
	CU_ASSERT_STRING_EQUAL(again, n30);
	/* ... and none was issued for 40. */
	CU_ASSERT_EQUAL(ledger_checkpoint(&note, t.l, 40), LEDGER_EFORK);
	CU_ASSERT(note == NULL);
	CU_ASSERT(msg_has(&t, "no checkpoint of size 40 was issued"));
	CU_ASSERT_EQUAL(ledger_checkpoint(&note, t.l, 51), LEDGER_EUSAGE);
	CU_ASSERT(msg_has(&t, "larger than the tree"));
	/* Between the last signed size and the head: signs. */
	tl_import(&t, 51, 60, 'a');
	char *n55 = tl_checkpoint(&t, 55);
	CU_ASSERT(strstr(n55, "\n55\n") != NULL);
	free(n30);
	free(n50);
	free(n55);
	free(again);
	tl_free(&t);
}

static void test_checkpoint_key_rules(void)
{
	tl t, other;
	char key[TEST_PATH_BYTES], moved[TEST_PATH_BYTES], *note = NULL;

	tl_make(&t, 3);
	path_of(key, t.dir, "signing.key");
	struct stat st;
	CU_ASSERT(stat(key, &st) == 0 && (st.st_mode & 0777) == 0600);
	/* Readable by group: refused, saying what to do. */
	CU_ASSERT_FATAL(chmod(key, 0640) == 0);
	CU_ASSERT_EQUAL(ledger_checkpoint(&note, t.l, LEDGER_SIZE_HEAD), LEDGER_EKEY);
	CU_ASSERT(msg_has(&t, "chmod 600"));
	CU_ASSERT_FATAL(chmod(key, 0604) == 0);
	CU_ASSERT_EQUAL(ledger_checkpoint(&note, t.l, LEDGER_SIZE_HEAD), LEDGER_EKEY);
	CU_ASSERT_FATAL(chmod(key, 0600) == 0);
	/* A symbolic link is not followed. */
	path_of(moved, t.root, "key.real");
	CU_ASSERT_FATAL(rename(key, moved) == 0);
	CU_ASSERT_FATAL(symlink(moved, key) == 0);
	CU_ASSERT_EQUAL(ledger_checkpoint(&note, t.l, LEDGER_SIZE_HEAD), LEDGER_EKEY);
	CU_ASSERT(msg_has(&t, "symbolic link"));
	CU_ASSERT_FATAL(unlink(key) == 0);
	/* Missing. */
	CU_ASSERT_EQUAL(ledger_checkpoint(&note, t.l, LEDGER_SIZE_HEAD), LEDGER_EKEY);
	CU_ASSERT(msg_has(&t, "no signing key"));
	/* $ANNALS_KEY, then an explicit path, which wins. */
	setenv("ANNALS_KEY", moved, 1);
	note = tl_checkpoint(&t, LEDGER_SIZE_HEAD);
	free(note);
	note = NULL;
	unsetenv("ANNALS_KEY");
	CU_ASSERT(ledger_set_key_path(t.l, moved) == LEDGER_OK);
	note = tl_checkpoint(&t, LEDGER_SIZE_HEAD);
	free(note);
	note = NULL;
	/* Another ledger's key is not this ledger's key. */
	tl_make(&other, 0);
	path_of(key, other.dir, "signing.key");
	CU_ASSERT(ledger_set_key_path(t.l, key) == LEDGER_OK);
	CU_ASSERT_EQUAL(ledger_checkpoint(&note, t.l, LEDGER_SIZE_HEAD), LEDGER_EKEY);
	CU_ASSERT(msg_has(&t, "not this ledger's signing key"));
	/* Not a key at all. */
	write_text(moved, "hello\n", 6, 0600);
	CU_ASSERT(ledger_set_key_path(t.l, moved) == LEDGER_OK);
	CU_ASSERT_EQUAL(ledger_checkpoint(&note, t.l, LEDGER_SIZE_HEAD), LEDGER_EKEY);
	CU_ASSERT(note == NULL);
	tl_free(&other);
	tl_free(&t);
}

static void test_checkpoint_state_malformed(void)
{
	tl t;
	char path[TEST_PATH_BYTES], *note = NULL;

	tl_make(&t, 3);
	path_of(path, t.dir, "signing.state");
	write_text(path, "size 2\n", 7, 0644);
	CU_ASSERT_EQUAL(ledger_checkpoint(&note, t.l, LEDGER_SIZE_HEAD), LEDGER_ECORRUPT);
	CU_ASSERT(msg_has(&t, "signing.state"));
	CU_ASSERT(note == NULL);
	tl_free(&t);
}

/* ---- tests: roots and proofs ---- */

static void test_checkpoint_roots_all_sizes(void)
{
	tl t;
	uint8_t leaf[TEST_EVENTS][32], want[32], got[32];

	tl_make(&t, TEST_EVENTS);
	CU_ASSERT_FATAL(ledger_each(t.l, 1, 0, collect_leaf, leaf) == LEDGER_OK);
	for (uint64_t n = 0; n <= TEST_EVENTS; n++) {
		ref_mth(want, leaf, n);
		CU_ASSERT_FATAL(ledger_root(got, t.l, n) == LEDGER_OK);
		CU_ASSERT(memcmp(want, got, 32) == 0);
	}
	CU_ASSERT(ledger_root(got, t.l, LEDGER_SIZE_HEAD) == LEDGER_OK);
	CU_ASSERT(memcmp(want, got, 32) == 0);
	CU_ASSERT_EQUAL(ledger_root(got, t.l, TEST_EVENTS + 1), LEDGER_EUSAGE);
	tl_free(&t);
}

/* The JSON of p parses back to p. */
static void json_round_trip(const ledger_proof *p)
{
	ledger_proof q;
	char *json = NULL;

	CU_ASSERT_FATAL(ledger_proof_json(&json, p) == LEDGER_OK);
	CU_ASSERT_FATAL(ledger_proof_parse(&q, json, strlen(json), NULL, 0) == LEDGER_OK);
	CU_ASSERT(memcmp(p, &q, sizeof q) == 0);
	free(json);
}

static void test_checkpoint_inclusion_all(void)
{
	tl t;
	uint8_t leaf[TEST_EVENTS][32], root[32];
	ledger_proof p;
	unsigned checked = 0;

	tl_make(&t, TEST_EVENTS);
	CU_ASSERT_FATAL(ledger_each(t.l, 1, 0, collect_leaf, leaf) == LEDGER_OK);
	for (uint64_t n = 1; n <= TEST_EVENTS; n++) {
		ref_mth(root, leaf, n);
		for (uint64_t s = 1; s <= n; s++) {
			CU_ASSERT_FATAL(ledger_prove_inclusion(&p, t.l, s, n) == LEDGER_OK);
			CU_ASSERT(p.kind == LEDGER_PROOF_INCLUSION && p.seq == s &&
			          p.tree_size == n);
			CU_ASSERT(memcmp(p.leaf_hash, leaf[s - 1], 32) == 0);
			CU_ASSERT(memcmp(p.root, root, 32) == 0);
			CU_ASSERT(merkle_check_inclusion((const merkle_hash *)p.hashes,
			                                 p.hashes_count, s - 1, n,
			                                 leaf[s - 1], root));
			CU_ASSERT(ledger_proof_check(&p, NULL, 0) == LEDGER_OK);
			if (p.hashes_count) {
				p.hashes[(s + n) % p.hashes_count][s % 32] ^= 1;
				CU_ASSERT(ledger_proof_check(&p, NULL, 0) == LEDGER_ECORRUPT);
				p.hashes[(s + n) % p.hashes_count][s % 32] ^= 1;
			}
			json_round_trip(&p);
			checked++;
		}
	}
	CU_ASSERT_EQUAL(checked, TEST_EVENTS * (TEST_EVENTS + 1) / 2);
	/* The head by default; sizes out of range are usage errors. */
	CU_ASSERT(ledger_prove_inclusion(&p, t.l, 5, LEDGER_SIZE_HEAD) == LEDGER_OK);
	CU_ASSERT_EQUAL(p.tree_size, TEST_EVENTS);
	CU_ASSERT_EQUAL(ledger_prove_inclusion(&p, t.l, 0, 10), LEDGER_EUSAGE);
	CU_ASSERT_EQUAL(ledger_prove_inclusion(&p, t.l, 11, 10), LEDGER_EUSAGE);
	CU_ASSERT_EQUAL(ledger_prove_inclusion(&p, t.l, 1, TEST_EVENTS + 1), LEDGER_EUSAGE);
	CU_ASSERT_EQUAL(ledger_prove_inclusion(&p, t.l, TEST_EVENTS + 1,
	                                       LEDGER_SIZE_HEAD), LEDGER_EUSAGE);
	tl_free(&t);
}

static void test_checkpoint_consistency_all(void)
{
	tl t;
	uint8_t leaf[TEST_EVENTS][32], roots[TEST_EVENTS + 1][32];
	ledger_proof p;

	tl_make(&t, TEST_EVENTS);
	CU_ASSERT_FATAL(ledger_each(t.l, 1, 0, collect_leaf, leaf) == LEDGER_OK);
	for (uint64_t n = 0; n <= TEST_EVENTS; n++)
		ref_mth(roots[n], leaf, n);
	for (uint64_t n = 1; n <= TEST_EVENTS; n++) {
		for (uint64_t m = 1; m <= n; m++) {
			CU_ASSERT_FATAL(ledger_prove_consistency(&p, t.l, m, n) == LEDGER_OK);
			CU_ASSERT(p.kind == LEDGER_PROOF_CONSISTENCY && p.old_size == m &&
			          p.tree_size == n);
			CU_ASSERT(memcmp(p.old_root, roots[m], 32) == 0);
			CU_ASSERT(memcmp(p.root, roots[n], 32) == 0);
			CU_ASSERT(m != n || p.hashes_count == 0);
			CU_ASSERT(merkle_check_consistency((const merkle_hash *)p.hashes,
			                                   p.hashes_count, m, n,
			                                   roots[m], roots[n]));
			CU_ASSERT(ledger_proof_check(&p, NULL, 0) == LEDGER_OK);
			p.old_root[(m * n) % 32] ^= 0x80;
			CU_ASSERT(ledger_proof_check(&p, NULL, 0) == LEDGER_ECORRUPT);
			p.old_root[(m * n) % 32] ^= 0x80;
			json_round_trip(&p);
		}
	}
	CU_ASSERT(ledger_prove_consistency(&p, t.l, 3, LEDGER_SIZE_HEAD) == LEDGER_OK);
	CU_ASSERT_EQUAL(p.tree_size, TEST_EVENTS);
	CU_ASSERT_EQUAL(ledger_prove_consistency(&p, t.l, 0, 5), LEDGER_EUSAGE);
	CU_ASSERT(msg_has(&t, "empty tree"));
	CU_ASSERT_EQUAL(ledger_prove_consistency(&p, t.l, 6, 5), LEDGER_EUSAGE);
	CU_ASSERT_EQUAL(ledger_prove_consistency(&p, t.l, 1, TEST_EVENTS + 1), LEDGER_EUSAGE);
	tl_free(&t);
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void test_checkpoint_proof_json_format(void)
{
	tl t;
	ledger_proof p;
	char *json = NULL, want[256];

	tl_make(&t, 5);
	CU_ASSERT_FATAL(ledger_prove_inclusion(&p, t.l, 5, 5) == LEDGER_OK);
	CU_ASSERT_FATAL(ledger_proof_json(&json, &p) == LEDGER_OK);
	CU_ASSERT(starts_with(json, "{\"seq\":5,\"index\":4,\"tree_size\":5,\"leaf_hash\":\""));
	CU_ASSERT(strstr(json, "\",\"root\":\"") != NULL);
	/* index 4 of 5: one element, the root of leaves 0..3. */
	snprintf(want, sizeof want, "\",\"proof\":[\"");
	CU_ASSERT(strstr(json, want) != NULL);
	CU_ASSERT(strcmp(json + strlen(json) - 3, "\"]}") == 0);
	CU_ASSERT_EQUAL(p.hashes_count, 1);
	for (const char *c = json; *c; c++)
		CU_ASSERT(!(*c >= 'A' && *c <= 'F'));
	free(json);
	CU_ASSERT_FATAL(ledger_prove_consistency(&p, t.l, 4, 4) == LEDGER_OK);
	CU_ASSERT_FATAL(ledger_proof_json(&json, &p) == LEDGER_OK);
	CU_ASSERT(starts_with(json, "{\"old_size\":4,\"new_size\":4,\"old_root\":\""));
	CU_ASSERT(strcmp(json + strlen(json) - 13, "\",\"proof\":[]}") == 0);
	free(json);
	tl_free(&t);
}

static void expect_parse_error(const char *json, const char *words)
{
	ledger_proof p;
	char why[512] = "";

	CU_ASSERT_EQUAL(ledger_proof_parse(&p, json, strlen(json), why, sizeof why),
	                LEDGER_EINPUT);
	if (!strstr(why, words))
		fprintf(stderr, "reason '%s' lacks '%s'\n", why, words);
	CU_ASSERT(strstr(why, words) != NULL);
}

#define H64 "0000000000000000000000000000000000000000000000000000000000000000"

static void test_checkpoint_proof_parse_rejects(void)
{
	expect_parse_error("", "not JSON");
	expect_parse_error("[1]", "not a proof");
	expect_parse_error("{\"seq\":1}", "not a proof");
	expect_parse_error("{\"tree_size\":1,\"old_size\":1}", "not a proof");
	expect_parse_error("{\"seq\":1,\"index\":0,\"tree_size\":1,\"leaf_hash\":\""
	                   H64 "\",\"root\":\"" H64 "\",\"proof\":[],\"x\":1}",
	                   "unknown key 'x'");
	expect_parse_error("{\"seq\":1,\"index\":0,\"tree_size\":1,\"leaf_hash\":\""
	                   H64 "\",\"root\":\"" H64 "\"}", "proof is missing");
	expect_parse_error("{\"seq\":2,\"index\":0,\"tree_size\":2,\"leaf_hash\":\""
	                   H64 "\",\"root\":\"" H64 "\",\"proof\":[]}", "index is not seq - 1");
	expect_parse_error("{\"seq\":3,\"index\":2,\"tree_size\":2,\"leaf_hash\":\""
	                   H64 "\",\"root\":\"" H64 "\",\"proof\":[]}", "seq is not between");
	expect_parse_error("{\"seq\":1,\"index\":0,\"tree_size\":1,\"leaf_hash\":\""
	                   "00\",\"root\":\"" H64 "\",\"proof\":[]}", "leaf_hash is not 64 hex");
	expect_parse_error("{\"seq\":1,\"index\":0,\"tree_size\":1,\"leaf_hash\":\""
	                   H64 "\",\"root\":\"" H64 "\",\"proof\":[\"zz\"]}", "element 0");
	expect_parse_error("{\"seq\":-1,\"index\":0,\"tree_size\":1,\"leaf_hash\":\""
	                   H64 "\",\"root\":\"" H64 "\",\"proof\":[]}", "seq is not a whole");
	expect_parse_error("{\"old_size\":0,\"new_size\":1,\"old_root\":\"" H64
	                   "\",\"new_root\":\"" H64 "\",\"proof\":[]}", "empty tree");
	expect_parse_error("{\"old_size\":2,\"new_size\":1,\"old_root\":\"" H64
	                   "\",\"new_root\":\"" H64 "\",\"proof\":[]}", "larger than new_size");
	expect_parse_error("{\"old_size\":1,\"old_size\":1}", "not JSON");
}

/* The oracle's vectors (golang.org/x/mod/sumdb/tlog) parse and verify,
 * and stop verifying with a flipped bit. */
static void vectors_check(const char *name, unsigned want)
{
	char path[512];
	json_error_t e;
	const char *d = getenv("ANNALS_TEST_VECTORS");
	unsigned count = 0;

	snprintf(path, sizeof path, "%s/%s", d && *d ? d : "tests/vectors/tlog", name);
	json_t *all = json_load_file(path, 0, &e), *x;
	size_t i;

	CU_ASSERT_FATAL(all != NULL && json_is_array(all));
	json_array_foreach(all, i, x) {
		ledger_proof p;
		char why[512];
		char *text = json_dumps(x, JSON_COMPACT);
		CU_ASSERT_FATAL(text != NULL);
		ledger_err err = ledger_proof_parse(&p, text, strlen(text), why, sizeof why);
		if (err != LEDGER_OK)
			fprintf(stderr, "%s[%zu]: %s\n", name, i, why);
		CU_ASSERT(err == LEDGER_OK);
		CU_ASSERT(ledger_proof_check(&p, why, sizeof why) == LEDGER_OK);
		p.root[i % 32] ^= 4;
		CU_ASSERT(ledger_proof_check(&p, why, sizeof why) == LEDGER_ECORRUPT);
		free(text);
		count++;
	}
	CU_ASSERT_EQUAL(count, want);
	json_decref(all);
}

static void test_checkpoint_vectors(void)
{
	vectors_check("inclusion.json", 36);
	vectors_check("consistency.json", 36);
}

/* ---- tests: fork protection ---- */

static void test_checkpoint_fork_refused(void)
{
	tl t, copy;
	char from[TEST_PATH_BYTES], to[TEST_PATH_BYTES], *note = NULL;

	tl_make(&t, 30);
	tl_copy(&t, &copy, "copy");       /* an old copy, kept aside */
	tl_import(&t, 31, 50, 'a');
	char *n50 = tl_checkpoint(&t, LEDGER_SIZE_HEAD);
	/* The copy is restored with the original's state and gets other
	 * events: signing it would publish a fork. */
	tl_open(&copy);
	tl_import(&copy, 31, 60, 'b');
	tl_close(&copy);
	path_of(from, t.dir, "signing.state");
	path_of(to, copy.dir, "signing.state");
	copy_file(from, to, 0644);
	tl_open(&copy);
	CU_ASSERT_EQUAL(ledger_checkpoint(&note, copy.l, LEDGER_SIZE_HEAD), LEDGER_EFORK);
	CU_ASSERT(msg_has(&copy, "not an extension of the last signed tree"));
	CU_ASSERT(msg_has(&copy, "restored old copy"));
	CU_ASSERT_EQUAL(ledger_checkpoint(&note, copy.l, 50), LEDGER_EFORK);
	CU_ASSERT_EQUAL(ledger_checkpoint(&note, copy.l, 40), LEDGER_EFORK);
	CU_ASSERT(note == NULL);
	tl_close(&copy);
	/* The original goes on signing. */
	tl_import(&t, 51, 55, 'a');
	note = tl_checkpoint(&t, LEDGER_SIZE_HEAD);
	free(note);
	free(n50);
	tl_free(&t);
}

/* A copy restored from before the last checkpoint, with the state from
 * after it, and fewer events than that checkpoint. */
static void test_checkpoint_fork_smaller_refused(void)
{
	tl t, copy;
	char from[TEST_PATH_BYTES], to[TEST_PATH_BYTES], *note = NULL;

	tl_make(&t, 30);
	char *n30 = tl_checkpoint(&t, LEDGER_SIZE_HEAD);
	tl_copy(&t, &copy, "copy");
	tl_import(&t, 31, 50, 'a');
	char *n50 = tl_checkpoint(&t, LEDGER_SIZE_HEAD);
	path_of(from, t.dir, "signing.state");
	path_of(to, copy.dir, "signing.state");
	copy_file(from, to, 0644);
	tl_open(&copy);
	tl_import(&copy, 31, 40, 'b');
	CU_ASSERT_EQUAL(ledger_checkpoint(&note, copy.l, LEDGER_SIZE_HEAD), LEDGER_EFORK);
	/* The checkpoint it did issue is still printed. */
	char *again = tl_checkpoint(&copy, 30);
	CU_ASSERT_STRING_EQUAL(again, n30);
	/* The original goes on signing. */
	tl_import(&t, 51, 55, 'a');
	char *n55 = tl_checkpoint(&t, LEDGER_SIZE_HEAD);
	free(n30);
	free(n50);
	free(n55);
	free(again);
	tl_close(&copy);
	tl_free(&t);
}

/* A lost signing.state: the newest stored checkpoint still guards. */
static void test_checkpoint_fork_without_state(void)
{
	tl t;
	char path[TEST_PATH_BYTES], *note = NULL;

	tl_make(&t, 20);
	char *n20 = tl_checkpoint(&t, LEDGER_SIZE_HEAD);
	path_of(path, t.dir, "signing.state");
	CU_ASSERT_FATAL(unlink(path) == 0);
	CU_ASSERT_EQUAL(ledger_checkpoint(&note, t.l, 10), LEDGER_EFORK);
	tl_import(&t, 21, 25, 'a');
	note = tl_checkpoint(&t, LEDGER_SIZE_HEAD);
	free(note);
	free(n20);
	tl_free(&t);
}

/* ---- the forgery helper ---- */

typedef struct forge_rel {
	char key[80];                     /* country NUL organization */
	uint64_t version, seq;
	uint8_t leaf[32];
} forge_rel;

typedef struct forge {
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi events, bodies, ids, heads, merkle, checkpoints;
	forge_rel rel[TEST_RELS_MAX];
	size_t rels;
	merkle_frontier f;
	tile_builder tiles;
	uint8_t (*roots)[32];             /* roots[n]: root of size n */
} forge;

static MDB_val val_of(const void *p, size_t n)
{
	return (MDB_val){ n, (void *)p };
}

static void put_be(uint8_t k[8], uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		k[i] = (uint8_t)v;
}

static uint64_t get_be(const void *p)
{
	const uint8_t *b = p;
	uint64_t v = 0;

	for (int i = 0; i < 8; i++)
		v = v << 8 | b[i];
	return v;
}

static int forge_tile(void *ctx, unsigned t, uint64_t n,
                      const uint8_t key[TILE_KEY_BYTES],
                      const merkle_hash hashes[TILE_HASHES])
{
	forge *g = ctx;
	MDB_val k = val_of(key, TILE_KEY_BYTES), v = val_of(hashes, TILE_HASHES * 32);

	(void)t;
	(void)n;
	return mdb_put(g->txn, g->merkle, &k, &v, MDB_APPEND);
}

/* The partial tiles of the forged tree, as tiles.h lays them out. */
static void forge_partial_tiles(forge *g)
{
	for (unsigned t = 0; t < TILE_LEVELS; t++) {
		uint8_t key[2] = { 0x00, (uint8_t)t };
		MDB_val k = val_of(key, 2), v = val_of(g->tiles.h[t], g->tiles.count[t] * 32);

		if (g->tiles.count[t])
			CU_ASSERT_FATAL(mdb_put(g->txn, g->merkle, &k, &v, 0) == 0);
	}
}

static forge_rel *forge_find(forge *g, const char *country, const char *org)
{
	char key[80] = { 0 };

	snprintf(key, sizeof key, "%s", country);
	snprintf(key + strlen(country) + 1, sizeof key - strlen(country) - 1, "%s", org);
	for (size_t i = 0; i < g->rels; i++)
		if (memcmp(g->rel[i].key, key, sizeof key) == 0)
			return &g->rel[i];
	CU_ASSERT_FATAL(g->rels < TEST_RELS_MAX);
	forge_rel *r = &g->rel[g->rels++];
	memset(r, 0, sizeof *r);
	memcpy(r->key, key, sizeof key);
	return r;
}

static void forge_open(forge *g, const char *dir)
{
	memset(g, 0, sizeof *g);
	CU_ASSERT_FATAL(mdb_env_create(&g->env) == 0);
	CU_ASSERT_FATAL(mdb_env_set_maxdbs(g->env, 64) == 0);
	CU_ASSERT_FATAL(mdb_env_set_mapsize(g->env, 1u << 30) == 0);
	CU_ASSERT_FATAL(mdb_env_open(g->env, dir, 0, 0644) == 0);
	CU_ASSERT_FATAL(mdb_txn_begin(g->env, NULL, 0, &g->txn) == 0);
	CU_ASSERT_FATAL(mdb_dbi_open(g->txn, "events", 0, &g->events) == 0 &&
	                mdb_dbi_open(g->txn, "bodies", 0, &g->bodies) == 0 &&
	                mdb_dbi_open(g->txn, "ids", 0, &g->ids) == 0 &&
	                mdb_dbi_open(g->txn, "heads", 0, &g->heads) == 0 &&
	                mdb_dbi_open(g->txn, "merkle", 0, &g->merkle) == 0 &&
	                mdb_dbi_open(g->txn, "checkpoints", 0, &g->checkpoints) == 0);
}

/* A new body for seq (its summary changed) and the envelope's body_hash. */
static void forge_body(forge *g, Annals__Envelope *env, uint8_t hash[32])
{
	uint8_t k[8];
	MDB_val key = val_of(k, 8), v;

	put_be(k, env->seq);
	CU_ASSERT_FATAL(mdb_get(g->txn, g->bodies, &key, &v) == 0);
	Annals__Body *b = annals__body__unpack(NULL, v.mv_size, v.mv_data);
	CU_ASSERT_FATAL(b != NULL);
	char *summary = b->summary;
	b->summary = (char *)"A different account of the meeting.";
	size_t n = annals__body__get_packed_size(b);
	uint8_t *buf = malloc(n);
	CU_ASSERT_FATAL(buf != NULL);
	annals__body__pack(b, buf);
	sha256(hash, buf, n);
	v = val_of(buf, n);
	CU_ASSERT_FATAL(mdb_put(g->txn, g->bodies, &key, &v, 0) == 0);
	b->summary = summary;
	annals__body__free_unpacked(b, NULL);
	free(buf);
	env->body_hash.data = hash;
	env->body_hash.len = 32;
}

/* Re-chain seq 1..n from the stored envelopes, rewriting the body of
 * `rewrite` and every later prev_hash and stream_prev; rebuild the Merkle
 * tree, keeping each size's root. */
static void forge_chain(forge *g, uint64_t rewrite, uint64_t n)
{
	uint8_t prev[32] = { 0 }, leaf[32], k[8], body_hash[32];

	CU_ASSERT_FATAL(mdb_drop(g->txn, g->merkle, 0) == 0);
	memset(&g->f, 0, sizeof g->f);
	tiles_init(&g->tiles, forge_tile, g);
	for (uint64_t seq = 1; seq <= n; seq++) {
		MDB_val key = val_of(k, 8), v;
		put_be(k, seq);
		CU_ASSERT_FATAL(mdb_get(g->txn, g->events, &key, &v) == 0);
		Annals__Envelope *env = annals__envelope__unpack(NULL, v.mv_size, v.mv_data);
		CU_ASSERT_FATAL(env != NULL);
		ProtobufCBinaryData saved_prev = env->prev_hash, saved_sp = env->stream_prev,
		                    saved_bh = env->body_hash;
		if (seq == rewrite)
			forge_body(g, env, body_hash);
		forge_rel *r = forge_find(g, env->country, env->organization);
		env->prev_hash = (ProtobufCBinaryData){ 32, prev };
		env->stream_prev = (ProtobufCBinaryData){ 32, r->leaf };
		size_t bytes = annals__envelope__get_packed_size(env);
		uint8_t *buf = malloc(bytes);
		CU_ASSERT_FATAL(buf != NULL);
		annals__envelope__pack(env, buf);
		MDB_val nv = val_of(buf, bytes);
		CU_ASSERT_FATAL(mdb_put(g->txn, g->events, &key, &nv, 0) == 0);
		merkle_leaf_hash(leaf, buf, bytes);
		free(buf);
		r->version = env->stream_version;
		r->seq = seq;
		memcpy(r->leaf, leaf, 32);
		memcpy(prev, leaf, 32);
		CU_ASSERT_FATAL(merkle_frontier_push(&g->f, leaf, tiles_emit, &g->tiles) == 0);
		merkle_frontier_root(g->roots[seq], &g->f);
		env->prev_hash = saved_prev;
		env->stream_prev = saved_sp;
		env->body_hash = saved_bh;
		annals__envelope__free_unpacked(env, NULL);
	}
	forge_partial_tiles(g);
}

/* Stream heads point at the new leaves; heads of streams cut off by a
 * truncation fall back to their last kept event. */
static void forge_heads(forge *g)
{
	MDB_cursor *c;
	MDB_val k, v;
	int rc;

	CU_ASSERT_FATAL(mdb_cursor_open(g->txn, g->heads, &c) == 0);
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		uint8_t ek[8], nv[48];
		MDB_val key = val_of(ek, 8), e;
		CU_ASSERT_FATAL(v.mv_size == 48);
		put_be(ek, get_be((uint8_t *)v.mv_data + 8));
		CU_ASSERT_FATAL(mdb_get(g->txn, g->events, &key, &e) == 0);
		Annals__Envelope *env = annals__envelope__unpack(NULL, e.mv_size, e.mv_data);
		CU_ASSERT_FATAL(env != NULL);
		forge_rel *r = forge_find(g, env->country, env->organization);
		annals__envelope__free_unpacked(env, NULL);
		if (r->seq == 0) {
			CU_ASSERT_FATAL(mdb_cursor_del(c, 0) == 0);
			continue;
		}
		put_be(nv, r->version);
		put_be(nv + 8, r->seq);
		memcpy(nv + 16, r->leaf, 32);
		MDB_val x = val_of(nv, 48);
		CU_ASSERT_FATAL(mdb_cursor_put(c, &k, &x, MDB_CURRENT) == 0);
	}
	CU_ASSERT(rc == MDB_NOTFOUND);
	mdb_cursor_close(c);
}

/* Delete every key > n of a u64be-keyed database. */
static void forge_cut(forge *g, MDB_dbi db, uint64_t n)
{
	MDB_cursor *c;
	uint8_t k[8];
	MDB_val key = val_of(k, 8), v;

	put_be(k, n + 1);
	CU_ASSERT_FATAL(mdb_cursor_open(g->txn, db, &c) == 0);
	while (mdb_cursor_get(c, &key, &v, MDB_SET_RANGE) == 0) {
		CU_ASSERT_FATAL(mdb_cursor_del(c, 0) == 0);
		key = val_of(k, 8);
	}
	mdb_cursor_close(c);
}

static void forge_ids(forge *g, uint64_t n)
{
	MDB_cursor *c;
	MDB_val k, v;
	int rc;

	CU_ASSERT_FATAL(mdb_cursor_open(g->txn, g->ids, &c) == 0);
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT))
		if (get_be(v.mv_data) > n)
			CU_ASSERT_FATAL(mdb_cursor_del(c, 0) == 0);
	mdb_cursor_close(c);
}

/* Roll the heads map (heads.c) back to tree size n: its nodes are
 * versioned by the size that ends the transaction which wrote them, in the
 * last 8 bytes of the key as UINT64_MAX - size, so a cut at the end of a
 * transaction drops the nodes of later sizes, and the top nodes (class 0)
 * of later epochs, copies of older versions among them. */
static void forge_heads_map(forge *g, uint64_t n)
{
	MDB_dbi map;
	MDB_cursor *c;
	MDB_val k, v;
	int rc;

	if (mdb_dbi_open(g->txn, "heads_map", 0, &map) != 0)
		return;
	CU_ASSERT_FATAL(mdb_cursor_open(g->txn, map, &c) == 0);
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		const uint8_t *p = k.mv_data;
		CU_ASSERT_FATAL(k.mv_size >= 18);
		if (UINT64_MAX - get_be(p + k.mv_size - 8) > n ||
		    (p[0] == 0 && UINT64_MAX - get_be(p + 1) > n >> HEADS_EPOCH_BITS))
			CU_ASSERT_FATAL(mdb_cursor_del(c, 0) == 0);
	}
	mdb_cursor_close(c);
}

/* Re-sign every stored checkpoint and signing.state with the copied key. */
static void forge_sign(forge *g, const char *dir, uint64_t n)
{
	char path[TEST_PATH_BYTES], note[2048], origin[300], hex[65], text[600];
	note_signer s;
	MDB_cursor *c;
	MDB_val k, v;
	int rc;

	path_of(path, dir, "signing.key");
	char *key = read_text(path, NULL);
	CU_ASSERT_FATAL(key != NULL);
	CU_ASSERT_FATAL(note_signer_parse(&s, key, strlen(key)) == NULL);
	free(key);
	CU_ASSERT_FATAL(mdb_cursor_open(g->txn, g->checkpoints, &c) == 0);
	for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0;
	     rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
		uint64_t size = get_be(k.mv_data);
		size_t bytes = note_sign_checkpoint(note, sizeof note, &s, size, g->roots[size]);
		CU_ASSERT_FATAL(bytes > 0);
		MDB_val x = val_of(note, bytes);
		CU_ASSERT_FATAL(mdb_cursor_put(c, &k, &x, MDB_CURRENT) == 0);
	}
	mdb_cursor_close(c);
	path_of(path, dir, "signing.state");
	char *state = read_text(path, NULL);
	if (state) {
		unsigned long long size = 0;
		CU_ASSERT_FATAL(sscanf(state, "annals signing.state 1\norigin %299s\nsize %llu",
		                       origin, &size) == 2);
		if (size > n)
			size = n;
		for (int i = 0; i < 32; i++)
			snprintf(hex + 2 * i, 3, "%02x", g->roots[size][i]);
		int len = snprintf(text, sizeof text, "annals signing.state 1\n"
		                   "origin %s\nsize %llu\nroot %s\n", origin, size, hex);
		write_text(path, text, (size_t)len, 0644);
		free(state);
	}
}

/* Rewrite the ledger in dir (closed) as a forger holding its files and
 * key would: the body of seq `rewrite` (0: none) changes, and the ledger
 * is cut to `keep` events (0: all; the end of a write transaction), with
 * every hash, head, Merkle and heads-map node, stored checkpoint and
 * signing.state made consistent again. */
static void forge_ledger(const char *dir, uint64_t rewrite, uint64_t keep)
{
	forge g;
	MDB_cursor *c;
	MDB_val k, v;

	forge_open(&g, dir);
	CU_ASSERT_FATAL(mdb_cursor_open(g.txn, g.events, &c) == 0);
	CU_ASSERT_FATAL(mdb_cursor_get(c, &k, &v, MDB_LAST) == 0);
	uint64_t n = get_be(k.mv_data);
	mdb_cursor_close(c);
	if (keep)
		n = keep;
	g.roots = calloc(n + 1, 32);
	CU_ASSERT_FATAL(g.roots != NULL);
	merkle_root(g.roots[0], 0, NULL, NULL);
	forge_chain(&g, rewrite, n);
	forge_heads(&g);
	forge_cut(&g, g.events, n);
	forge_cut(&g, g.bodies, n);
	forge_cut(&g, g.checkpoints, n);
	forge_ids(&g, n);
	forge_heads_map(&g, n);
	forge_sign(&g, dir, n);
	CU_ASSERT_FATAL(mdb_txn_commit(g.txn) == 0);
	mdb_env_close(g.env);
	free(g.roots);
}

/* ---- tests: verify against old checkpoints ---- */

/* An original with checkpoints at 30 and 70, and a copy of it. Seq 20
 * ends a write transaction, so a log cut there is sealed (heads_root). */
static void forged_pair(tl *t, tl *copy, char **n30, char **n70)
{
	tl_make(t, 20);
	tl_import(t, 21, 30, 'a');
	*n30 = tl_checkpoint(t, LEDGER_SIZE_HEAD);
	tl_import(t, 31, TEST_EVENTS, 'a');
	*n70 = tl_checkpoint(t, LEDGER_SIZE_HEAD);
	tl_copy(t, copy, "forged");
}

static ledger_err verify_against(tl *t, const char *note, const char *vkey)
{
	ledger_verify_stats st;
	ledger_checkpoint_info old;

	return ledger_verify_checkpoint(&st, &old, t->l, note, strlen(note),
	                                vkey, strlen(vkey));
}

static void test_checkpoint_verify_extension(void)
{
	tl t, other;
	char vkey[LEDGER_VKEY_TEXT_BYTES], ovkey[LEDGER_VKEY_TEXT_BYTES];
	ledger_verify_stats st;
	ledger_checkpoint_info old;

	tl_make(&t, 30);
	char *n30 = tl_checkpoint(&t, LEDGER_SIZE_HEAD);
	tl_vkey(&t, vkey);
	tl_import(&t, 31, 40, 'a');
	CU_ASSERT(ledger_verify_checkpoint(&st, &old, t.l, n30, strlen(n30), vkey,
	                                   strlen(vkey)) == LEDGER_OK);
	CU_ASSERT_EQUAL(old.size, 30);
	CU_ASSERT_EQUAL(st.events, 40);
	CU_ASSERT_EQUAL(st.checkpoints, 1);
	/* Another ledger's checkpoint, with its own key: another log. */
	tl_make(&other, 30);
	char *o30 = tl_checkpoint(&other, LEDGER_SIZE_HEAD);
	tl_vkey(&other, ovkey);
	CU_ASSERT_EQUAL(verify_against(&t, o30, ovkey), LEDGER_ECORRUPT);
	CU_ASSERT(msg_has(&t, "origin"));
	/* Our note with their key does not verify; a bad key is usage. */
	CU_ASSERT_EQUAL(verify_against(&t, n30, ovkey), LEDGER_ECORRUPT);
	CU_ASSERT_EQUAL(verify_against(&t, n30, "not a key"), LEDGER_EUSAGE);
	/* A changed byte of the note. */
	n30[strlen(n30) - 5] ^= 1;
	CU_ASSERT_EQUAL(verify_against(&t, n30, vkey), LEDGER_ECORRUPT);
	free(n30);
	free(o30);
	tl_free(&other);
	tl_free(&t);
}

static void forgery_case(uint64_t rewrite, uint64_t keep, ledger_err want30,
                         const char *words)
{
	tl t, copy;
	char vkey[LEDGER_VKEY_TEXT_BYTES], *n30, *n70;
	ledger_verify_stats st;

	forged_pair(&t, &copy, &n30, &n70);
	tl_vkey(&t, vkey);
	forge_ledger(copy.dir, rewrite, keep);
	tl_open(&copy);
	/* Consistent enough that plain verify passes... */
	ledger_err err = ledger_verify(&st, copy.l);
	if (err != LEDGER_OK)
		fprintf(stderr, "forged verify: %s\n", ledger_errmsg(copy.l));
	CU_ASSERT(err == LEDGER_OK);
	CU_ASSERT_EQUAL(st.checkpoints, keep ? 0 : 2);
	/* ...but not an extension of what was signed before. */
	CU_ASSERT_EQUAL(verify_against(&copy, n30, vkey), want30);
	if (want30 != LEDGER_OK)
		CU_ASSERT(msg_has(&copy, words));
	CU_ASSERT_EQUAL(verify_against(&copy, n70, vkey), LEDGER_ECORRUPT);
	/* The original still verifies against both. */
	CU_ASSERT_EQUAL(verify_against(&t, n30, vkey), LEDGER_OK);
	CU_ASSERT_EQUAL(verify_against(&t, n70, vkey), LEDGER_OK);
	free(n30);
	free(n70);
	tl_close(&copy);
	tl_free(&t);
}

static void test_checkpoint_forgery_old_event(void)
{
	forgery_case(10, 0, LEDGER_ECORRUPT, "not an append-only extension");
}

static void test_checkpoint_forgery_at_checkpoint_size(void)
{
	forgery_case(30, 0, LEDGER_ECORRUPT, "not an append-only extension");
}

static void test_checkpoint_forgery_after_checkpoint(void)
{
	/* Seq 31 is not covered by the checkpoint of size 30, only by 70. */
	forgery_case(31, 0, LEDGER_OK, "");
}

static void test_checkpoint_forgery_truncated(void)
{
	forgery_case(0, 20, LEDGER_ECORRUPT, "fewer than the checkpoint's");
}

static void test_checkpoint_verify_stored_tampering(void)
{
	tl t, copy;
	char *n30, *n70;
	ledger_verify_stats st;
	forge g;
	uint8_t k[8];
	MDB_val key = val_of(k, 8), v;

	forged_pair(&t, &copy, &n30, &n70);
	/* A flipped byte of a stored checkpoint's signature. */
	forge_open(&g, copy.dir);
	put_be(k, 30);
	CU_ASSERT_FATAL(mdb_get(g.txn, g.checkpoints, &key, &v) == 0);
	char *bad = strdup(n30);
	bad[strlen(bad) - 3] ^= 1;
	MDB_val x = val_of(bad, strlen(bad));
	CU_ASSERT_FATAL(mdb_put(g.txn, g.checkpoints, &key, &x, 0) == 0);
	CU_ASSERT_FATAL(mdb_txn_commit(g.txn) == 0);
	mdb_env_close(g.env);
	tl_open(&copy);
	CU_ASSERT_EQUAL(ledger_verify(&st, copy.l), LEDGER_ECORRUPT);
	CU_ASSERT(msg_has(&copy, "checkpoint of size 30"));
	tl_close(&copy);
	/* A genuine checkpoint stored under another size. */
	forge_open(&g, copy.dir);
	x = val_of(n30, strlen(n30));
	CU_ASSERT_FATAL(mdb_put(g.txn, g.checkpoints, &key, &x, 0) == 0);
	put_be(k, 31);
	CU_ASSERT_FATAL(mdb_put(g.txn, g.checkpoints, &key, &x, 0) == 0);
	CU_ASSERT_FATAL(mdb_txn_commit(g.txn) == 0);
	mdb_env_close(g.env);
	tl_open(&copy);
	CU_ASSERT_EQUAL(ledger_verify(&st, copy.l), LEDGER_ECORRUPT);
	CU_ASSERT(msg_has(&copy, "size 31 has size 30"));
	tl_close(&copy);
	/* A checkpoint of a size the log no longer reaches. */
	forge_open(&g, copy.dir);
	CU_ASSERT_FATAL(mdb_del(g.txn, g.checkpoints, &key, NULL) == 0);
	put_be(k, 500);
	x = val_of(n70, strlen(n70));
	CU_ASSERT_FATAL(mdb_put(g.txn, g.checkpoints, &key, &x, 0) == 0);
	CU_ASSERT_FATAL(mdb_txn_commit(g.txn) == 0);
	mdb_env_close(g.env);
	tl_open(&copy);
	CU_ASSERT_EQUAL(ledger_verify(&st, copy.l), LEDGER_ECORRUPT);
	CU_ASSERT(msg_has(&copy, "truncated"));
	tl_close(&copy);
	free(bad);
	free(n30);
	free(n70);
	tl_free(&t);
}

/* ---- tests: backup ---- */

static bool file_has(const char *path, const char *needle)
{
	size_t n = 0, m = strlen(needle);
	char *text = read_text(path, &n);
	bool found = false;

	for (size_t i = 0; text && i + m <= n && !found; i++)
		found = memcmp(text + i, needle, m) == 0;
	free(text);
	return found;
}

static void test_checkpoint_backup(void)
{
	tl t, b;
	char target[TEST_PATH_BYTES], path[TEST_PATH_BYTES], *note;
	ledger_verify_stats st;
	struct stat s;
	const char *secret = "{\"id\":\"takedown\",\"type\":\"statement\","
		"\"country\":\"KZ\",\"organization\":\"org-a\",\"date\":\"2020\","
		"\"summary\":\"Zebra-quartz-7731 must not survive.\"}\n";
	const char *redact = "{\"type\":\"redaction\",\"redacts\":\"takedown\","
		"\"reason\":\"court order\"}\n";
	ledger_import_stats is;

	tl_make(&t, 20);
	/* Written, then removed in a later transaction: the bytes stay in a
	 * freed page of the original until it is compacted. */
	CU_ASSERT_FATAL(ledger_import_mem(&is, t.l, secret, strlen(secret), NULL) == LEDGER_OK);
	CU_ASSERT_FATAL(ledger_import_mem(&is, t.l, redact, strlen(redact), NULL) == LEDGER_OK);
	note = tl_checkpoint(&t, LEDGER_SIZE_HEAD);
	path_of(target, t.root, "backup");
	CU_ASSERT_FATAL(ledger_backup(t.l, target) == LEDGER_OK);
	path_of(path, target, "signing.key");
	CU_ASSERT(stat(path, &s) == 0 && (s.st_mode & 0777) == 0600);
	path_of(path, target, "signing.state");
	CU_ASSERT(stat(path, &s) == 0);
	path_of(path, target, "data.mdb");
	CU_ASSERT(!file_has(path, "Zebra-quartz-7731"));
	/* The copy opens, verifies and can sign. */
	snprintf(b.dir, sizeof b.dir, "%s", target);
	tl_open(&b);
	CU_ASSERT(ledger_verify(&st, b.l) == LEDGER_OK);
	CU_ASSERT_EQUAL(st.events, 22);
	CU_ASSERT_EQUAL(st.redacted, 1);
	CU_ASSERT_EQUAL(st.checkpoints, 1);
	char *again = tl_checkpoint(&b, LEDGER_SIZE_HEAD);
	CU_ASSERT_STRING_EQUAL(again, note);
	tl_close(&b);
	/* Not into a directory that holds something. */
	CU_ASSERT_EQUAL(ledger_backup(t.l, target), LEDGER_EEXIST);
	path_of(path, target, "data.mdb");
	CU_ASSERT(stat(path, &s) == 0);
	/* An empty directory is fine; a key readable by others is not. */
	path_of(target, t.root, "empty");
	CU_ASSERT_FATAL(mkdir(target, 0700) == 0);
	path_of(path, t.dir, "signing.key");
	CU_ASSERT_FATAL(chmod(path, 0644) == 0);
	CU_ASSERT_EQUAL(ledger_backup(t.l, target), LEDGER_EKEY);
	CU_ASSERT_FATAL(chmod(path, 0600) == 0);
	CU_ASSERT(ledger_backup(t.l, target) == LEDGER_OK);
	free(again);
	free(note);
	tl_free(&t);
}

void suite_checkpoint(void);
void suite_checkpoint(void)
{
	CU_pSuite s = CU_add_suite("checkpoint", NULL, NULL);

	CU_add_test(s, "sign and open", test_checkpoint_sign_and_open);
	CU_add_test(s, "empty tree", test_checkpoint_empty_tree);
	CU_add_test(s, "sizes and reprint", test_checkpoint_sizes_and_reprint);
	CU_add_test(s, "key rules", test_checkpoint_key_rules);
	CU_add_test(s, "malformed state", test_checkpoint_state_malformed);
	CU_add_test(s, "roots of every size", test_checkpoint_roots_all_sizes);
	CU_add_test(s, "every inclusion proof", test_checkpoint_inclusion_all);
	CU_add_test(s, "every consistency proof", test_checkpoint_consistency_all);
	CU_add_test(s, "proof JSON format", test_checkpoint_proof_json_format);
	CU_add_test(s, "proof parse rejects", test_checkpoint_proof_parse_rejects);
	CU_add_test(s, "tlog vectors", test_checkpoint_vectors);
	CU_add_test(s, "fork refused", test_checkpoint_fork_refused);
	CU_add_test(s, "smaller fork refused", test_checkpoint_fork_smaller_refused);
	CU_add_test(s, "fork without state", test_checkpoint_fork_without_state);
	CU_add_test(s, "verify extension", test_checkpoint_verify_extension);
	CU_add_test(s, "forgery of an old event", test_checkpoint_forgery_old_event);
	CU_add_test(s, "forgery at the checkpoint size", test_checkpoint_forgery_at_checkpoint_size);
	CU_add_test(s, "forgery after the checkpoint", test_checkpoint_forgery_after_checkpoint);
	CU_add_test(s, "truncated log", test_checkpoint_forgery_truncated);
	CU_add_test(s, "stored checkpoint tampering", test_checkpoint_verify_stored_tampering);
	CU_add_test(s, "backup", test_checkpoint_backup);
}
