/* Changes stored bytes of a ledger through LMDB directly, for the tamper
 * suite (issue 8): annals must find every change with `verify`. Needs only
 * liblmdb; the ledger must not be open in another process.
 *
 *   tamper DIR count DB                   entries of a database
 *   tamper DIR keys DB                    every key, in hex, one a line
 *   tamper DIR get DB KEY                 the value, in hex
 *   tamper DIR flip DB KEY OFFSET MASK    value byte OFFSET ^= MASK (hex)
 *   tamper DIR flip-random DB SEED        one random byte of one random
 *                                         entry ^= a random non-zero mask;
 *                                         prints "KEY OFFSET MASK BYTES"
 *   tamper DIR del DB KEY                 delete a key
 *   tamper DIR swap DB KEY1 KEY2          exchange two values
 *   tamper DIR put DB KEY VALUE           store a value (hex)
 *
 * KEY is hex, or seq:N for the 8-byte big-endian key of a seq or node
 * index. Exit 0 on success, 1 when the key or offset is absent, 2 on a
 * usage or LMDB error. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lmdb.h>

#define TAMPER_KEY_BYTES_MAX 511u
#define TAMPER_MAX_DBS 32u
#define TAMPER_VALUE_BYTES_MAX (1u << 20)

static uint64_t rng_state;

/* splitmix64: the same seed picks the same change on every machine. */
static uint64_t rng_next(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

/* Parse hex (or seq:N) into out; returns the length or -1. */
static long parse_bytes(uint8_t *out, size_t cap, const char *s)
{
	if (strncmp(s, "seq:", 4) == 0) {
		char *end;
		unsigned long long v = strtoull(s + 4, &end, 10);
		if (*end || cap < 8)
			return -1;
		for (int i = 7; i >= 0; i--, v >>= 8)
			out[i] = (uint8_t)v;
		return 8;
	}
	size_t n = strlen(s);
	if (n % 2 || n / 2 > cap)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (long)(n / 2);
}

static void print_hex(const void *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		printf("%02x", ((const uint8_t *)p)[i]);
}

static int fail(const char *what, int rc)
{
	fprintf(stderr, "tamper: %s: %s\n", what, mdb_strerror(rc));
	return 2;
}

static int usage(void)
{
	fputs("usage: tamper DIR count|keys|get|flip|flip-random|del|swap|put DB ...\n",
	      stderr);
	return 2;
}

/* Copy of a value, so that it can be written back after the cursor moves. */
static uint8_t *dup_val(const MDB_val *v)
{
	uint8_t *p = malloc(v->mv_size ? v->mv_size : 1);

	if (p)
		memcpy(p, v->mv_data, v->mv_size);
	return p;
}

static int run(MDB_txn *txn, MDB_dbi dbi, int argc, char **argv, int *commit)
{
	const char *cmd = argv[2];
	uint8_t k1[TAMPER_KEY_BYTES_MAX], k2[TAMPER_KEY_BYTES_MAX];
	MDB_val key, val, key2, val2;
	MDB_cursor *c;
	MDB_stat st;
	int rc;

	if (strcmp(cmd, "count") == 0 && argc == 4) {
		if ((rc = mdb_stat(txn, dbi, &st)) != 0)
			return fail("stat", rc);
		printf("%zu\n", st.ms_entries);
		return 0;
	}
	if (strcmp(cmd, "keys") == 0 && argc == 4) {
		if ((rc = mdb_cursor_open(txn, dbi, &c)) != 0)
			return fail("cursor", rc);
		for (rc = mdb_cursor_get(c, &key, &val, MDB_FIRST); rc == 0;
		     rc = mdb_cursor_get(c, &key, &val, MDB_NEXT)) {
			print_hex(key.mv_data, key.mv_size);
			putchar('\n');
		}
		mdb_cursor_close(c);
		return rc == MDB_NOTFOUND ? 0 : fail("cursor", rc);
	}
	if (strcmp(cmd, "flip-random") == 0 && argc == 5) {
		rng_state = strtoull(argv[4], NULL, 10);
		if ((rc = mdb_stat(txn, dbi, &st)) != 0)
			return fail("stat", rc);
		if (st.ms_entries == 0)
			return 1;
		size_t pick = (size_t)(rng_next() % st.ms_entries);
		if ((rc = mdb_cursor_open(txn, dbi, &c)) != 0)
			return fail("cursor", rc);
		rc = mdb_cursor_get(c, &key, &val, MDB_FIRST);
		for (size_t i = 0; i < pick && rc == 0; i++)
			rc = mdb_cursor_get(c, &key, &val, MDB_NEXT);
		if (rc) {
			mdb_cursor_close(c);
			return fail("cursor", rc);
		}
		if (val.mv_size == 0) {
			mdb_cursor_close(c);
			return 1;
		}
		size_t off = (size_t)(rng_next() % val.mv_size);
		uint8_t mask = (uint8_t)(1 + rng_next() % 255);
		uint8_t *copy = dup_val(&val);
		if (!copy)
			return 2;
		copy[off] ^= mask;
		val.mv_data = copy;
		memcpy(k1, key.mv_data, key.mv_size);
		key.mv_data = k1;
		mdb_cursor_close(c);
		rc = mdb_put(txn, dbi, &key, &val, 0);
		free(copy);
		if (rc)
			return fail("put", rc);
		print_hex(key.mv_data, key.mv_size);
		printf(" %zu %02x %zu\n", off, mask, val.mv_size);
		*commit = 1;
		return 0;
	}
	if (argc < 5)
		return usage();
	long n1 = parse_bytes(k1, sizeof k1, argv[4]);
	if (n1 <= 0)
		return usage();
	key = (MDB_val){ (size_t)n1, k1 };
	if (strcmp(cmd, "del") == 0 && argc == 5) {
		rc = mdb_del(txn, dbi, &key, NULL);
		if (rc == MDB_NOTFOUND)
			return 1;
		*commit = 1;
		return rc ? fail("del", rc) : 0;
	}
	rc = mdb_get(txn, dbi, &key, &val);
	if (rc == MDB_NOTFOUND && strcmp(cmd, "put") != 0)
		return 1;
	if (rc && rc != MDB_NOTFOUND)
		return fail("get", rc);
	if (strcmp(cmd, "get") == 0 && argc == 5) {
		print_hex(val.mv_data, val.mv_size);
		putchar('\n');
		return 0;
	}
	if (strcmp(cmd, "flip") == 0 && argc == 7) {
		size_t off = strtoul(argv[5], NULL, 10);
		uint8_t mask = (uint8_t)strtoul(argv[6], NULL, 16);
		if (off >= val.mv_size)
			return 1;
		uint8_t *copy = dup_val(&val);
		if (!copy)
			return 2;
		copy[off] ^= mask;
		val.mv_data = copy;
		rc = mdb_put(txn, dbi, &key, &val, 0);
		free(copy);
		*commit = 1;
		return rc ? fail("put", rc) : 0;
	}
	if (strcmp(cmd, "put") == 0 && argc == 6) {
		static uint8_t v[TAMPER_VALUE_BYTES_MAX];
		long n = parse_bytes(v, sizeof v, argv[5]);
		if (n < 0)
			return usage();
		val = (MDB_val){ (size_t)n, v };
		*commit = 1;
		return (rc = mdb_put(txn, dbi, &key, &val, 0)) ? fail("put", rc) : 0;
	}
	if (strcmp(cmd, "swap") == 0 && argc == 6) {
		long n2 = parse_bytes(k2, sizeof k2, argv[5]);
		if (n2 <= 0)
			return usage();
		key2 = (MDB_val){ (size_t)n2, k2 };
		if ((rc = mdb_get(txn, dbi, &key2, &val2)) == MDB_NOTFOUND)
			return 1;
		if (rc)
			return fail("get", rc);
		uint8_t *a = dup_val(&val), *b = dup_val(&val2);
		if (!a || !b)
			return 2;
		MDB_val va = { val.mv_size, a }, vb = { val2.mv_size, b };
		rc = mdb_put(txn, dbi, &key, &vb, 0);
		if (!rc)
			rc = mdb_put(txn, dbi, &key2, &va, 0);
		free(a);
		free(b);
		*commit = 1;
		return rc ? fail("put", rc) : 0;
	}
	return usage();
}

int main(int argc, char **argv)
{
	MDB_env *env;
	MDB_txn *txn;
	MDB_dbi dbi;
	int rc, commit = 0;

	if (argc < 4)
		return usage();
	if ((rc = mdb_env_create(&env)) != 0 ||
	    (rc = mdb_env_set_maxdbs(env, TAMPER_MAX_DBS)) != 0 ||
	    (rc = mdb_env_open(env, argv[1], 0, 0644)) != 0)
		return fail(argv[1], rc);
	if ((rc = mdb_txn_begin(env, NULL, 0, &txn)) != 0)
		return fail("begin", rc);
	if ((rc = mdb_dbi_open(txn, argv[3], 0, &dbi)) != 0) {
		mdb_txn_abort(txn);
		mdb_env_close(env);
		return fail(argv[3], rc);
	}
	int ret = run(txn, dbi, argc, argv, &commit);
	if (ret == 0 && commit) {
		if ((rc = mdb_txn_commit(txn)) != 0)
			ret = fail("commit", rc);
	} else {
		mdb_txn_abort(txn);
	}
	mdb_env_close(env);
	return ret;
}
