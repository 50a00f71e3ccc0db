/* libannals: an event-sourced, verifiable ledger of diplomatic and legal
 * status changes (DESIGN.md). This is the only public header.
 *
 * A `ledger *` is used by one thread at a time. No call holds an LMDB
 * transaction after it returns and no call returns a pointer into LMDB's
 * map: what a call hands out is a copy the caller owns, or a view valid only
 * during a callback, as each declaration says. */
#ifndef LEDGER_H
#define LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LEDGER_HASH_BYTES 32

typedef struct ledger ledger;          /* opaque: one per open ledger */

typedef enum ledger_err {
	LEDGER_OK = 0,
	LEDGER_EINPUT,     /* input refused (bad event, unknown name); nothing written */
	LEDGER_EUSAGE,     /* bad argument to a call (size out of range, ...) */
	LEDGER_ENOTFOUND,  /* no such event, ledger or organization */
	LEDGER_EEXIST,     /* the ledger already exists */
	LEDGER_ECONFLICT,  /* expect_version does not match the stream */
	LEDGER_ECORRUPT,   /* a check failed: hash, link, proof, signature, format */
	LEDGER_EVERSION,   /* format_version or index_version differs */
	LEDGER_EFORK,      /* refused to sign a tree that does not extend the last signed one */
	LEDGER_EKEY,       /* signing key missing, unreadable or unsafe */
	LEDGER_ESTORE,     /* LMDB failure, including a full disk */
	LEDGER_EIO,        /* file or system call failure */
	LEDGER_ENOMEM,     /* allocation failure */
} ledger_err;

/* Short description of a code; static, never NULL. */
const char *ledger_strerror(ledger_err err);

/* Details of the last error on l (what is wrong and what to do); empty when
 * there is none. Owned by l, valid until the next call on l. */
const char *ledger_errmsg(const ledger *l);

/* ------------------------------------------------------------------ */
/* Opening */

typedef struct ledger_init_opts {
	const char *origin;    /* checkpoint origin; NULL: annals.invalid/<32 hex> */
	const char *key_path;  /* signing key to create; NULL: DIR/signing.key */
} ledger_init_opts;

/* Create a ledger in dir (created if missing; must not hold one): the LMDB
 * environment, its meta database with format and index versions, the
 * per-ledger id secret and origin, and a new Ed25519 signing key written
 * with O_EXCL at mode 0600. On failure, writes a reason to errmsg (a
 * caller-owned buffer of errmsg_bytes, may be NULL). */
ledger_err ledger_init(const char *dir, const ledger_init_opts *opts,
                       char *errmsg, size_t errmsg_bytes);

#define LEDGER_OPEN_RDONLY 1u  /* open for reading only */

/* Open the ledger in dir. Opens read-only when asked or when the directory
 * is not writable (falling back to MDB_NOLOCK when the lock file cannot be
 * written). Checks format and index versions and clears stale readers. On
 * success *out is a handle the caller closes with ledger_close. On failure
 * *out is a handle that only carries ledger_errmsg (close it too), or NULL
 * when out of memory. */
ledger_err ledger_open(ledger **out, const char *dir, unsigned flags);

/* Close a handle; NULL is a no-op. */
void ledger_close(ledger *l);

/* Minimum bytes the map is grown by before a write (the margin of DESIGN
 * §8); tests set it small to exercise the replay on MDB_MAP_FULL. */
void ledger_set_map_margin(ledger *l, size_t bytes);

/* Path of the signing key to use: explicit path, else $ANNALS_KEY, else
 * DIR/signing.key. NULL restores the default. The string is copied. */
ledger_err ledger_set_key_path(ledger *l, const char *path);

/* ------------------------------------------------------------------ */
/* Appending */

typedef enum ledger_format {
	LEDGER_FORMAT_NDJSON = 0,
	LEDGER_FORMAT_CSV,
	LEDGER_FORMAT_PB,      /* varint-length-delimited annals.InputEvent */
} ledger_format;

/* Called for each rejected record with "FILE:LINE: field: what is wrong"
 * (no newline). The text is valid during the call. */
typedef void (*ledger_report_fn)(void *ctx, const char *message);

typedef struct ledger_import_stats {
	uint64_t records;      /* records read */
	uint64_t appended;     /* events appended */
	uint64_t skipped;      /* already stored with the same content */
	uint64_t rejected;     /* records refused (then nothing was written) */
	uint64_t first_seq;    /* first seq appended, 0 when none */
	uint64_t last_seq;     /* last seq appended, 0 when none */
	unsigned replays;      /* times the map was grown and the import replayed */
} ledger_import_stats;

typedef struct ledger_import_opts {
	const char *name;      /* FILE in messages; NULL: "-" */
	ledger_format format;
	ledger_report_fn report; /* NULL: rejected records are only counted */
	void *report_ctx;
	int64_t expect_version; /* applies to every record when >= 0 (add --expect-version) */
	bool progress;          /* a progress line on stderr every second */
} ledger_import_opts;

/* Append every event read from fd, in one write transaction: all or none.
 * fd is read from its current offset to its end; a descriptor that cannot
 * seek (a pipe) is first spooled to an unlinked temporary file so the
 * import can be replayed when the map must grow. Returns LEDGER_EINPUT when
 * any record was refused (each one reported), LEDGER_ECONFLICT for a stale
 * expect_version; the ledger is then unchanged. Does not close fd. */
ledger_err ledger_import_fd(ledger_import_stats *out, ledger *l, int fd,
                            const ledger_import_opts *opts);

/* The same for records held in memory (the caller keeps ownership). */
ledger_err ledger_import_mem(ledger_import_stats *out, ledger *l,
                             const void *data, size_t bytes,
                             const ledger_import_opts *opts);

/* ------------------------------------------------------------------ */
/* Reading events */

typedef struct ledger_head {
	uint64_t seq;                            /* events in the ledger */
	uint64_t recorded_at_us;                 /* of the last event; 0 when empty */
	uint8_t leaf_hash[LEDGER_HASH_BYTES];    /* L(seq), zeros when empty */
} ledger_head;

/* The newest event's seq and leaf hash. */
ledger_err ledger_get_head(ledger_head *out, ledger *l);

/* One stored event as the ledger wrote it. The pointers are valid only
 * during the callback that receives the view. */
typedef struct ledger_event_view {
	uint64_t seq;
	uint64_t recorded_at_us;
	uint8_t leaf_hash[LEDGER_HASH_BYTES];
	const void *envelope;
	size_t envelope_bytes;
	const void *body;        /* NULL when the body was redacted */
	size_t body_bytes;
} ledger_event_view;

/* Return 0 to go on, anything else to stop (ledger_each returns
 * LEDGER_OK after a stop). */
typedef int (*ledger_event_fn)(void *ctx, const ledger_event_view *ev);

/* Call fn for events from seq `from` (>= 1) on, in seq order, at most
 * `limit` of them (0: no limit), inside one read transaction that ends
 * before the call returns. */
ledger_err ledger_each(ledger *l, uint64_t from, uint64_t limit,
                       ledger_event_fn fn, void *ctx);

#define LEDGER_ID_TEXT_BYTES 129   /* an event id (<= 128 bytes) and a NUL */

/* Copy the id of the event at seq into out. */
ledger_err ledger_get_id(char out[LEDGER_ID_TEXT_BYTES], ledger *l, uint64_t seq);

/* Seq of the event with this id, or LEDGER_ENOTFOUND. */
ledger_err ledger_find_id(uint64_t *out_seq, ledger *l, const char *id);

/* JSON renderings of an event. */
#define LEDGER_JSON_INPUT   1u  /* the input format (dump): id, type, fields */
#define LEDGER_JSON_RECORD  2u  /* everything: seq, hashes, stream, body state */

/* Render ev as one line of JSON (no newline) into a malloc'd string that
 * the caller frees. flags: one of LEDGER_JSON_INPUT, LEDGER_JSON_RECORD.
 * For RECORD, redaction details are looked up in l. */
ledger_err ledger_event_json(char **out, ledger *l,
                             const ledger_event_view *ev, unsigned flags);

/* Render ev as human-readable text lines, each ending in '\n', into a
 * malloc'd string the caller frees. */
ledger_err ledger_event_text(char **out, ledger *l,
                             const ledger_event_view *ev);

/* Call fn with the event of one seq. LEDGER_ENOTFOUND when there is none. */
ledger_err ledger_get(ledger *l, uint64_t seq, ledger_event_fn fn, void *ctx);

/* ------------------------------------------------------------------ */
/* Verification */

typedef struct ledger_verify_stats {
	uint64_t events;          /* envelopes checked */
	uint64_t bytes;           /* envelope and body bytes hashed */
	uint64_t redacted;        /* bodies removed by a redaction */
	uint64_t streams;         /* relationships */
	uint64_t checkpoints;     /* stored checkpoints verified */
	uint64_t first_bad_seq;   /* 0 when none; else the first seq at fault */
	uint8_t root[LEDGER_HASH_BYTES]; /* recomputed Merkle root */
} ledger_verify_stats;

/* Recompute and check everything stored: every envelope's canonical form,
 * seq, leaf and body hash, prev_hash and stream links, recorded_at order,
 * the id index and stream heads, every Merkle subtree hash, and every
 * stored checkpoint. Returns LEDGER_ECORRUPT naming the first bad seq or
 * node in ledger_errmsg; out->first_bad_seq is set when it is a seq. */
ledger_err ledger_verify(ledger_verify_stats *out, ledger *l);

/* ------------------------------------------------------------------ */
/* Statistics */

typedef struct ledger_db_stats {
	char name[32];
	uint64_t entries;
	uint64_t bytes;            /* pages * page size */
} ledger_db_stats;

#define LEDGER_DBS_MAX 24

typedef struct ledger_stats {
	uint64_t events;
	uint64_t redacted;
	uint64_t organizations;
	uint64_t relationships;
	uint64_t map_bytes;        /* current map size */
	uint64_t used_bytes;       /* pages in use * page size */
	uint64_t file_bytes;       /* size of data.mdb */
	unsigned format_version;
	unsigned index_version;
	char origin[256];
	size_t dbs_count;
	ledger_db_stats dbs[LEDGER_DBS_MAX];
} ledger_stats;

ledger_err ledger_get_stats(ledger_stats *out, ledger *l);

#ifdef __cplusplus
}
#endif

#endif
