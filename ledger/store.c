/* LMDB environment, transactions and databases of one ledger. */
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "store.h"

#define STORE_MAP_BYTES_INITIAL (64ull << 20)  /* a new ledger's map */
#define STORE_MAP_ALIGN_BYTES   (1ull << 20)   /* maps grow in whole MiB */
#define STORE_READERS_MAX       126u           /* LMDB's default */

struct store {
	MDB_env *env;
	MDB_dbi dbi[DB_COUNT];
	bool readonly;
	char *dir;
};

static const struct {
	const char *name;
	unsigned flags;
} store_dbs[DB_COUNT] = {
	[DB_META]        = { "meta", 0 },
	[DB_EVENTS]      = { "events", 0 },
	[DB_BODIES]      = { "bodies", 0 },
	[DB_IDS]         = { "ids", 0 },
	[DB_HEADS]       = { "heads", 0 },
	[DB_ORGS]        = { "orgs", 0 },
	[DB_NAMES]       = { "names", MDB_DUPSORT },
	[DB_MERKLE]      = { "merkle", 0 },
	[DB_CHECKPOINTS] = { "checkpoints", 0 },
	[DB_REDACTIONS]  = { "redactions", 0 },
	[DB_RETRACTIONS] = { "retractions", 0 },
	[DB_REL]         = { "rel", 0 },
	[DB_BYDATE]      = { "bydate", 0 },
	[DB_AGG]         = { "agg", 0 },
	[DB_STATUS]      = { "status", 0 },
	[DB_SMT]         = { "heads_map", 0 },
};

/* The one place that turns an LMDB code into a ledger_err. */
static ledger_err store_fail(errbuf *e, int rc, const char *what)
{
	if (rc == MDB_NOTFOUND)
		return LEDGER_ENOTFOUND;
	if (rc == MDB_MAP_FULL)
		e->map_full = true;
	if (rc == ENOMEM)
		return err_set(e, LEDGER_ENOMEM, "%s: out of memory", what);
	return err_set(e, LEDGER_ESTORE, "%s: %s%s", what, mdb_strerror(rc),
	               rc == ENOSPC ? " (the disk is full: free space and retry)" : "");
}

const char *store_db_name(store_db db)
{
	assert(db < DB_COUNT);
	return store_dbs[db].name;
}

static ledger_err store_open_dbs(store *s, bool create, errbuf *e)
{
	MDB_txn *txn = NULL;
	int rc = mdb_txn_begin(s->env, NULL, s->readonly ? MDB_RDONLY : 0, &txn);

	if (rc)
		return store_fail(e, rc, "cannot begin the first transaction");
	for (int i = 0; i < DB_COUNT; i++) {
		unsigned flags = store_dbs[i].flags | (create ? MDB_CREATE : 0);
		rc = mdb_dbi_open(txn, store_dbs[i].name, flags, &s->dbi[i]);
		if (rc == MDB_NOTFOUND) {
			mdb_txn_abort(txn);
			return err_set(e, LEDGER_EVERSION,
			               "database '%s' is missing: this is not an annals "
			               "ledger of this version (run annals rebuild, or "
			               "dump and import it)", store_dbs[i].name);
		}
		if (rc) {
			mdb_txn_abort(txn);
			return store_fail(e, rc, "cannot open a database");
		}
	}
	rc = mdb_txn_commit(txn);   /* keeps the handles open */
	return rc ? store_fail(e, rc, "cannot open the databases") : LEDGER_OK;
}

static int store_env_open(store *s, unsigned flags)
{
	int rc = mdb_env_create(&s->env);

	if (rc)
		return rc;
	if ((rc = mdb_env_set_maxdbs(s->env, DB_COUNT + 4)) != 0 ||
	    (rc = mdb_env_set_maxreaders(s->env, STORE_READERS_MAX)) != 0 ||
	    (rc = mdb_env_set_mapsize(s->env, STORE_MAP_BYTES_INITIAL)) != 0 ||
	    (rc = mdb_env_open(s->env, s->dir, flags, 0644)) != 0) {
		mdb_env_close(s->env);
		s->env = NULL;
	}
	return rc;
}

ledger_err store_open(store **out, const char *dir, unsigned flags,
                      bool create, errbuf *e)
{
	ledger_err err;
	store *s = calloc(1, sizeof *s);

	*out = NULL;
	if (!s || !(s->dir = strdup(dir))) {
		free(s);
		return err_set(e, LEDGER_ENOMEM, "out of memory");
	}
	s->readonly = (flags & STORE_RDONLY) || access(dir, W_OK) != 0;
	if (create && s->readonly) {
		err = err_set(e, LEDGER_EIO, "cannot write to '%s'", dir);
		goto fail;
	}
	if (!create) {
		/* LMDB would create an empty environment: say there is none. */
		char path[4096];
		struct stat st;
		snprintf(path, sizeof path, "%s/data.mdb", dir);
		if (stat(path, &st) != 0) {
			err = err_set(e, LEDGER_ENOTFOUND, "no ledger in '%s' (run "
			              "annals init, or give -d DIR)", dir);
			goto fail;
		}
	}
	/* The environment is opened once per handle with MDB_NOTLS: read
	 * transactions are not tied to threads, and none outlives a call. */
	unsigned env_flags = MDB_NOTLS | (s->readonly ? MDB_RDONLY : 0);
	int rc = store_env_open(s, env_flags);
	if (rc == EACCES && s->readonly)   /* lock file not writable */
		rc = store_env_open(s, env_flags | MDB_NOLOCK);
	if (rc == ENOENT && !create) {
		err = err_set(e, LEDGER_ENOTFOUND, "no ledger in '%s' (run annals init)", dir);
		goto fail;
	}
	if (rc) {
		err = store_fail(e, rc, "cannot open the ledger");
		goto fail;
	}
	int dead = 0;
	unsigned opened = 0;
	mdb_env_get_flags(s->env, &opened);
	/* Stale readers are cleared wherever the lock file can be used. */
	if (!(opened & MDB_NOLOCK) && (rc = mdb_reader_check(s->env, &dead)) != 0) {
		err = store_fail(e, rc, "cannot clear stale readers");
		goto fail;
	}
	/* A data.mdb shorter than the pages its meta page names would make
	 * LMDB read past the end of the mapped file (SIGBUS): refuse it. */
	if (!create) {
		uint64_t map, used;
		char path[4096];
		struct stat st;
		snprintf(path, sizeof path, "%s/data.mdb", dir);
		if ((err = store_env_sizes(s, &map, &used, e)) != LEDGER_OK)
			goto fail;
		if (stat(path, &st) != 0 || (uint64_t)st.st_size < used) {
			err = err_set(e, LEDGER_ECORRUPT, "'%s' is cut short: %lld bytes, "
			              "its pages need %llu (restore it from a backup)",
			              path, (long long)st.st_size, (unsigned long long)used);
			goto fail;
		}
	}
	if ((err = store_open_dbs(s, create, e)) != LEDGER_OK)
		goto fail;
	*out = s;
	return LEDGER_OK;
fail:
	store_close(s);
	return err;
}

void store_close(store *s)
{
	if (!s)
		return;
	if (s->env)
		mdb_env_close(s->env);
	free(s->dir);
	free(s);
}

bool store_readonly(const store *s) { return s->readonly; }
const char *store_dir(const store *s) { return s->dir; }

MDB_dbi store_dbi(const store *s, store_db db)
{
	assert(db < DB_COUNT);
	return s->dbi[db];
}

ledger_err store_env_sizes(const store *s, uint64_t *map_bytes,
                           uint64_t *used_bytes, errbuf *e)
{
	MDB_envinfo info;
	MDB_stat st;
	int rc;

	if ((rc = mdb_env_info(s->env, &info)) != 0 ||
	    (rc = mdb_env_stat(s->env, &st)) != 0)
		return store_fail(e, rc, "cannot read the map size");
	*map_bytes = info.me_mapsize;
	*used_bytes = ((uint64_t)info.me_last_pgno + 1) * st.ms_psize;
	return LEDGER_OK;
}

static ledger_err store_set_map(store *s, uint64_t bytes, errbuf *e)
{
	bytes = (bytes + STORE_MAP_ALIGN_BYTES - 1) / STORE_MAP_ALIGN_BYTES *
	        STORE_MAP_ALIGN_BYTES;
	int rc = mdb_env_set_mapsize(s->env, (size_t)bytes);
	return rc ? store_fail(e, rc, "cannot grow the map") : LEDGER_OK;
}

ledger_err store_reserve(store *s, size_t margin, bool exact, errbuf *e)
{
	uint64_t map, used;
	ledger_err err;

	/* The in-process size only: a size another process set is adopted by
	 * store_begin on MDB_MAP_RESIZED, and remapping on every write (what
	 * mdb_env_set_mapsize(env, 0) does) would cost more than the write.
	 * Never shrink below what this process chose: after MDB_MAP_FULL the
	 * map was doubled and the replay must keep it. */
	if ((err = store_env_sizes(s, &map, &used, e)) != LEDGER_OK)
		return err;
	if (!exact && map >= used + margin)
		return LEDGER_OK;
	return store_set_map(s, used + margin, e);
}

ledger_err store_grow(store *s, errbuf *e)
{
	uint64_t map, used;
	ledger_err err = store_env_sizes(s, &map, &used, e);

	if (err != LEDGER_OK)
		return err;
	e->map_full = false;
	return store_set_map(s, map * 2, e);
}

ledger_err store_begin(MDB_txn **out, store *s, bool write, errbuf *e)
{
	unsigned flags = write ? 0 : MDB_RDONLY;
	int rc;

	*out = NULL;
	if (write && s->readonly)
		return err_set(e, LEDGER_EIO, "the ledger in '%s' is read-only "
		               "(no write access to the directory)", s->dir);
	rc = mdb_txn_begin(s->env, NULL, flags, out);
	if (rc == MDB_MAP_RESIZED) {
		/* Another process grew the map: adopt its size and retry. */
		if ((rc = mdb_env_set_mapsize(s->env, 0)) == 0)
			rc = mdb_txn_begin(s->env, NULL, flags, out);
	}
	if (rc) {
		*out = NULL;
		return store_fail(e, rc, "cannot begin a transaction");
	}
	return LEDGER_OK;
}

/* LMDB reports a write cut short by a full disk as EIO: say which. */
static bool store_disk_full(MDB_env *env)
{
	const char *path = NULL;
	struct statvfs vfs;

	return mdb_env_get_path(env, &path) == 0 && path &&
	       statvfs(path, &vfs) == 0 &&
	       (uint64_t)vfs.f_bavail * vfs.f_frsize < STORE_MAP_ALIGN_BYTES;
}

ledger_err store_commit(MDB_txn **txn, errbuf *e)
{
	MDB_env *env = mdb_txn_env(*txn);
	int rc = mdb_txn_commit(*txn);

	*txn = NULL;             /* LMDB frees the transaction either way */
	if (rc == EIO && store_disk_full(env))
		rc = ENOSPC;
	return rc ? store_fail(e, rc, "cannot commit") : LEDGER_OK;
}

void store_abort(MDB_txn *txn)
{
	if (txn)
		mdb_txn_abort(txn);
}

ledger_err store_get(MDB_txn *txn, const store *s, store_db db,
                     const void *key, size_t key_bytes, MDB_val *v, errbuf *e)
{
	MDB_val k = { key_bytes, (void *)key };
	int rc = mdb_get(txn, store_dbi(s, db), &k, v);

	e->reads++;
	return rc ? store_fail(e, rc, store_db_name(db)) : LEDGER_OK;
}

static ledger_err put_result(int rc, store_db db, errbuf *e)
{
	if (rc == MDB_KEYEXIST)
		return err_set(e, LEDGER_ECORRUPT, "%s: key already stored",
		               store_db_name(db));
	return rc ? store_fail(e, rc, store_db_name(db)) : LEDGER_OK;
}

ledger_err store_put(MDB_txn *txn, const store *s, store_db db,
                     const void *key, size_t key_bytes,
                     const void *val, size_t val_bytes, unsigned flags,
                     errbuf *e)
{
	MDB_val k = { key_bytes, (void *)key };
	MDB_val v = { val_bytes, (void *)val };

	return put_result(mdb_put(txn, store_dbi(s, db), &k, &v, flags), db, e);
}

ledger_err store_cursor_put(MDB_cursor *c, store_db db, const void *key,
                            size_t key_bytes, const void *val, size_t val_bytes,
                            unsigned flags, errbuf *e)
{
	MDB_val k = { key_bytes, (void *)key };
	MDB_val v = { val_bytes, (void *)val };

	return put_result(mdb_cursor_put(c, &k, &v, flags), db, e);
}

ledger_err store_del(MDB_txn *txn, const store *s, store_db db,
                     const void *key, size_t key_bytes,
                     const void *val, size_t val_bytes, errbuf *e)
{
	MDB_val k = { key_bytes, (void *)key };
	MDB_val v = { val_bytes, (void *)val };
	int rc = mdb_del(txn, store_dbi(s, db), &k, val ? &v : NULL);

	return rc ? store_fail(e, rc, store_db_name(db)) : LEDGER_OK;
}

ledger_err store_drop(MDB_txn *txn, const store *s, store_db db, errbuf *e)
{
	int rc = mdb_drop(txn, store_dbi(s, db), 0);

	return rc ? store_fail(e, rc, store_db_name(db)) : LEDGER_OK;
}

ledger_err store_cursor(MDB_cursor **out, MDB_txn *txn, const store *s,
                        store_db db, errbuf *e)
{
	int rc = mdb_cursor_open(txn, store_dbi(s, db), out);

	if (rc)
		*out = NULL;
	return rc ? store_fail(e, rc, store_db_name(db)) : LEDGER_OK;
}

ledger_err store_cursor_get(MDB_cursor *c, MDB_val *k, MDB_val *v,
                            MDB_cursor_op op, errbuf *e)
{
	int rc = mdb_cursor_get(c, k, v, op);

	e->reads++;
	return rc ? store_fail(e, rc, "cursor") : LEDGER_OK;
}

void store_cursor_close(MDB_cursor *c)
{
	if (c)
		mdb_cursor_close(c);
}

ledger_err store_db_stat(MDB_txn *txn, const store *s, store_db db,
                         uint64_t *entries, uint64_t *bytes, errbuf *e)
{
	MDB_stat st;
	int rc = mdb_stat(txn, store_dbi(s, db), &st);

	if (rc)
		return store_fail(e, rc, store_db_name(db));
	*entries = st.ms_entries;
	*bytes = (uint64_t)(st.ms_branch_pages + st.ms_leaf_pages +
	                    st.ms_overflow_pages) * st.ms_psize;
	return LEDGER_OK;
}

ledger_err store_copy_compact(const store *s, const char *dir, errbuf *e)
{
	int rc = mdb_env_copy2(s->env, dir, MDB_CP_COMPACT);

	return rc ? store_fail(e, rc, "cannot copy the ledger") : LEDGER_OK;
}
