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

/* LMDB reads (gets and cursor steps) made through l so far: the difference
 * around a call is its cost in reads (tests and `make bench` use it to show
 * that a status reads only its relationship's keys, a proof O(log n)). */
uint64_t ledger_reads(const ledger *l);

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
#define LEDGER_OPEN_REBUILD 2u /* open despite an index_version mismatch, to rebuild */

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
/* Verifiable log: roots, checkpoints, proofs (DESIGN §5, checkpoint.c) */

#define LEDGER_SIZE_HEAD       UINT64_MAX  /* "the current tree size" */
#define LEDGER_VKEY_TEXT_BYTES 320   /* <origin>+<8 hex>+<base64 key> and a NUL */
#define LEDGER_PROOF_HASHES_MAX 128  /* elements of any proof of a tree < 2^63 */
#define LEDGER_NOTE_BYTES_MAX  65536 /* a signed note read from a file */

/* The verifier key of the ledger, "<origin>+<8 hex key hash>+<base64(0x01
 * || Ed25519 public key)>", as stored in the meta database at init: it
 * needs no private key. LEDGER_ECORRUPT when it is missing or malformed. */
ledger_err ledger_verifier_key(char out[LEDGER_VKEY_TEXT_BYTES], ledger *l);

/* Root of the tree of the first `size` events (size <= the tree size;
 * LEDGER_SIZE_HEAD: the tree size), from O(log size) stored subtree hashes.
 * The empty tree's root is SHA-256(""). LEDGER_EUSAGE when size is past
 * the tree size; LEDGER_ECORRUPT when a stored hash is missing. */
ledger_err ledger_root(uint8_t out[LEDGER_HASH_BYTES], ledger *l, uint64_t size);

/* Sign a C2SP checkpoint of the tree of `size` events (LEDGER_SIZE_HEAD:
 * the tree size) with the key of ledger_set_key_path (else $ANNALS_KEY,
 * else DIR/signing.key) and store it in the ledger by tree size. *out is
 * the signed note text, ending in '\n', malloc'd; the caller frees it.
 *
 * Fork protection: DIR/signing.state holds the last signed (size M, root
 * R) and is replaced atomically (temporary file, fsync, rename, fsync of
 * DIR) before the checkpoint is committed. For size N >= M, R must be the
 * ledger's root of size M (and so must the root of the newest stored
 * checkpoint), else LEDGER_EFORK: the ledger does not extend the last
 * signed tree (a restored old copy?). For N < M the stored checkpoint of
 * size N is returned unchanged when there is one, else LEDGER_EFORK.
 * LEDGER_EKEY: the key is missing, readable or writable by group or others,
 * not a signer key of this ledger's origin, or not the ledger's key.
 * LEDGER_EUSAGE: size past the tree size. Needs a writable ledger. */
ledger_err ledger_checkpoint(char **out, ledger *l, uint64_t size);

typedef enum ledger_proof_kind {
	LEDGER_PROOF_INCLUSION = 1,
	LEDGER_PROOF_CONSISTENCY,
} ledger_proof_kind;

/* An RFC 9162 proof, elements leaf-adjacent first (as golang.org/x/mod/
 * sumdb/tlog produces them). JSON (ledger_proof_json), lower-case hex:
 *   inclusion   {"seq":S,"index":S-1,"tree_size":N,"leaf_hash":…,
 *                "root":…,"proof":[…]}                   1 <= S <= N
 *   consistency {"old_size":M,"new_size":N,"old_root":…,"new_root":…,
 *                "proof":[…]}                            1 <= M <= N */
typedef struct ledger_proof {
	ledger_proof_kind kind;
	uint64_t seq;                             /* inclusion: index + 1 */
	uint64_t old_size;                        /* consistency: M */
	uint64_t tree_size;                       /* inclusion: N; consistency: new size N */
	uint8_t leaf_hash[LEDGER_HASH_BYTES];     /* inclusion */
	uint8_t old_root[LEDGER_HASH_BYTES];      /* consistency */
	uint8_t root[LEDGER_HASH_BYTES];          /* inclusion: root; consistency: new root */
	size_t hashes_count;
	uint8_t hashes[LEDGER_PROOF_HASHES_MAX][LEDGER_HASH_BYTES];
} ledger_proof;

/* Inclusion proof of event seq in the tree of `size` events
 * (LEDGER_SIZE_HEAD: the tree size), from O(log size) stored hashes; the
 * leaf hash is recomputed from the stored envelope and checked against the
 * stored one. LEDGER_EUSAGE unless 1 <= seq <= size <= tree size. */
ledger_err ledger_prove_inclusion(ledger_proof *out, ledger *l, uint64_t seq,
                                  uint64_t size);

/* Consistency proof from old_size to new_size (LEDGER_SIZE_HEAD: the tree
 * size); empty when they are equal. LEDGER_EUSAGE unless
 * 1 <= old_size <= new_size <= tree size. */
ledger_err ledger_prove_consistency(ledger_proof *out, ledger *l,
                                    uint64_t old_size, uint64_t new_size);

/* Render p as one line of JSON (no newline) in the format above, exactly
 * those keys in that order, into a malloc'd string the caller frees. */
ledger_err ledger_proof_json(char **out, const ledger_proof *p);

/* Parse a proof in the JSON format above; the kind is told by its keys
 * (tree_size: inclusion, old_size: consistency). Every key of the format
 * is required and no other is accepted. LEDGER_EINPUT with a reason in why
 * (a caller-owned buffer of why_bytes, may be NULL) when it is malformed.
 * Needs no ledger. */
ledger_err ledger_proof_parse(ledger_proof *out, const char *json,
                              size_t json_bytes, char *why, size_t why_bytes);

/* Check a proof: RFC 9162 §2.1.3.2 for inclusion, §2.1.4.2 for consistency
 * (old == new needs an empty proof and equal roots). LEDGER_ECORRUPT with
 * the reason in why when it does not verify. Needs no ledger. */
ledger_err ledger_proof_check(const ledger_proof *p, char *why, size_t why_bytes);

/* SHA-256(0x00 || record): the leaf hash of an envelope's bytes. */
void ledger_leaf_hash(uint8_t out[LEDGER_HASH_BYTES], const void *record,
                      size_t record_bytes);

typedef struct ledger_checkpoint_info {
	char origin[256];
	uint64_t size;
	uint8_t root[LEDGER_HASH_BYTES];
} ledger_checkpoint_info;

/* Open a signed checkpoint note with a verifier key text (C2SP: signature
 * lines by other keys are ignored, up to 100 lines are read; the origin
 * must be the key's name). LEDGER_EUSAGE when vkey is not a verifier key,
 * LEDGER_ECORRUPT when the note is malformed or not signed by it; the
 * reason goes to why (may be NULL). Needs no ledger. */
ledger_err ledger_checkpoint_open(ledger_checkpoint_info *out,
                                  const char *note, size_t note_bytes,
                                  const char *vkey, size_t vkey_bytes,
                                  char *why, size_t why_bytes);

/* ledger_verify, then check that the ledger is an append-only extension of
 * an old signed checkpoint (note, opened with vkey): its origin must be the
 * ledger's, its size at most the tree size, and its root the root of that
 * size recomputed from the stored envelopes (never from stored subtree
 * hashes or checkpoints). LEDGER_ECORRUPT naming the reason otherwise
 * (rewritten, truncated, smaller, another ledger); LEDGER_EUSAGE for a bad
 * verifier key. *old receives the opened checkpoint. */
ledger_err ledger_verify_checkpoint(ledger_verify_stats *out,
                                    ledger_checkpoint_info *old, ledger *l,
                                    const char *note, size_t note_bytes,
                                    const char *vkey, size_t vkey_bytes);

/* Compacted copy of the ledger (mdb_env_copy2 with MDB_CP_COMPACT, so the
 * pages freed by redactions are not copied) as dir, which must be absent
 * or an empty directory, with the signing key (see ledger_checkpoint) as
 * dir/signing.key at mode 0600, and signing.state when there is one. The
 * copy is written, fsynced and verified in a new directory
 * "<dir>.backup-XXXXXX" beside dir, then renamed to dir in one rename(2)
 * and the parent fsynced: a backup that fails or is killed leaves nothing
 * at dir (a killed one leaves its dir.backup-* directory). On failure the
 * work directory is removed. LEDGER_EEXIST: dir is not empty, not a
 * directory or a symbolic link; LEDGER_EKEY: the key cannot be used. */
ledger_err ledger_backup(ledger *l, const char *dir);

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

/* ------------------------------------------------------------------ */
/* Status, timeline, changes (DESIGN §6, status.c) */

#define LEDGER_EDTF_TEXT_BYTES 16   /* an EDTF date and a NUL */
#define LEDGER_SLUG_TEXT_BYTES 64   /* a slug and a NUL */

typedef struct ledger_status_list {
	char list[LEDGER_SLUG_TEXT_BYTES];
	char since[LEDGER_EDTF_TEXT_BYTES];  /* date of the listing, as written */
	char authority[401];
	uint64_t seq;                        /* the listing event */
} ledger_status_list;

typedef struct ledger_status_axis {
	const char *state;   /* static: "none", or for recognition "recognized" /
	                      * "withdrawn", relations "established" /
	                      * "suspended", mission "open" / "closed",
	                      * sanctions "imposed" / "lifted" */
	char since[LEDGER_EDTF_TEXT_BYTES];  /* "" when none */
	uint64_t seq;                        /* 0 when none */
} ledger_status_axis;

typedef struct ledger_status {
	char country[5];
	char organization[LEDGER_SLUG_TEXT_BYTES];
	char at[11];                 /* YYYY-MM-DD */
	uint64_t as_of;              /* the seq the answer holds for */
	bool listed;                 /* on at least one list */
	bool certain;                /* false: a folded event's span holds `at`
	                              * without ending on it */
	size_t lists_count;
	ledger_status_list *lists;   /* sorted by list; owned, see ledger_status_free */
	ledger_status_axis recognition, relations, mission, sanctions;
	uint64_t meetings;
	char last_meeting[LEDGER_EDTF_TEXT_BYTES];   /* "" when none */
	uint64_t last_change_seq;                    /* 0 when none */
	char last_change_date[LEDGER_EDTF_TEXT_BYTES];
	const char *last_change_type;                /* static; NULL when none */
	uint64_t version;            /* events of the relationship as of as_of */
} ledger_status;

typedef struct ledger_status_query {
	const char *country;         /* code (alpha-2, -3, -4) or English name */
	const char *organization;    /* slug, name or alias, case-insensitive */
	const char *at;              /* YYYY-MM-DD; NULL: today (UTC) */
	const char *as_of;           /* seq or RFC 3339 time; NULL: the newest */
} ledger_status_query;

/* The status of a relationship (DESIGN §6). As of the newest seq it reads
 * the current-status projection, or composes bucket folds of long streams
 * (a bounded number of records); as of an older seq it folds the stream's
 * events from the start. LEDGER_EUSAGE for a bad date or as-of,
 * LEDGER_ENOTFOUND for an unknown country or organization, LEDGER_EUSAGE
 * for an ambiguous name (the candidates are in ledger_errmsg). *out owns
 * its lists: free them with ledger_status_free. */
ledger_err ledger_status_get(ledger_status *out, ledger *l,
                             const ledger_status_query *q);

/* Free what a status owns; the struct itself is the caller's. */
void ledger_status_free(ledger_status *s);

/* The status as one JSON object (DESIGN §6 field names), malloc'd; NULL
 * when out of memory. */
char *ledger_status_json(const ledger_status *s);

typedef struct ledger_timeline_query {
	const char *country;         /* NULL: every country */
	const char *organization;    /* NULL: every organization */
	const char *from;            /* EDTF: dates starting on or after its first day */
	const char *to;              /* EDTF: dates starting on or before its last day */
	const char *as_of;           /* seq or RFC 3339 time; NULL: the newest */
} ledger_timeline_query;

typedef struct ledger_timeline_item {
	const ledger_event_view *event;
	uint64_t retracted_by;       /* seq of its retraction as of as_of, or 0 */
} ledger_timeline_item;

typedef int (*ledger_timeline_fn)(void *ctx, const ledger_timeline_item *item);

/* The dated events of relationships in effective-date order (date start,
 * then seq) as of as_of; retractions, redactions and organization events
 * are not in a timeline. fn returns non-zero to stop. */
ledger_err ledger_timeline(ledger *l, const ledger_timeline_query *q,
                           ledger_timeline_fn fn, void *ctx);

typedef struct ledger_changes_query {
	const char *from, *to;       /* date mode: statuses at these days differ */
	uint64_t since_seq;          /* seq mode (from and to NULL): as of this seq
	                              * and as of the newest differ */
	const char *at;              /* seq mode: the day compared; NULL: today */
} ledger_changes_query;

/* Called for each relationship whose status differs, in relationship
 * order, with both statuses and the seqs of the events that changed it. */
typedef int (*ledger_changes_fn)(void *ctx, const ledger_status *before,
                                 const ledger_status *after,
                                 const uint64_t *seqs, size_t seqs_count);

ledger_err ledger_changes(ledger *l, const ledger_changes_query *q,
                          ledger_changes_fn fn, void *ctx);

/* ------------------------------------------------------------------ */
/* Snapshots (DESIGN §7, export.c) */

typedef enum ledger_export_format {
	LEDGER_EXPORT_JSON = 0,
	LEDGER_EXPORT_CSV,
	LEDGER_EXPORT_PB,        /* an annals.Snapshot message */
} ledger_export_format;

typedef struct ledger_export_opts {
	const char *at;          /* YYYY-MM-DD; NULL: today (UTC) */
	const char *as_of;       /* seq or RFC 3339 time; NULL: the newest */
	ledger_export_format format;
} ledger_export_opts;

typedef struct ledger_export_info {
	uint64_t tree_size;      /* = as_of: the snapshot holds for this size */
	uint8_t root[LEDGER_HASH_BYTES];
	uint64_t checkpoint_size;/* tree_size, or a larger size when only a
	                          * newer checkpoint covers it */
	char *checkpoint;        /* the signed note; malloc'd, see ledger_export_info_free */
	uint64_t relationships;  /* relationships written */
} ledger_export_info;

/* Write a snapshot of every relationship's status at `at` as of `as_of`
 * to out, sorted by country then organization, streamed (not built in
 * memory), deterministic: no timestamps or versions of the tool, and
 * organization names as of as_of. The header names the origin, tree size
 * and root and carries the checkpoint: the stored checkpoint of that size,
 * else a new one signed now when the ledger is writable and the size
 * extends the last signed tree, else the smallest stored checkpoint of a
 * larger size with a consistency proof from the snapshot's size. The
 * checkpoint is stored, so exports of the same (at, as_of) are
 * byte-identical. LEDGER_ENOTFOUND when no checkpoint can cover the size;
 * LEDGER_EIO when writing to out fails. */
ledger_err ledger_export(ledger_export_info *info, ledger *l,
                         const ledger_export_opts *opts, FILE *out);

void ledger_export_info_free(ledger_export_info *info);

/* ------------------------------------------------------------------ */
/* Proved statuses (DESIGN §6, prove.c) */

/* Write the proved-status bundle of q (JSON, one line; the format is
 * described in prove.c and docs/AUDITING.md) to out: the checkpoint, the
 * last envelope of the tree size as_of with its inclusion proof and the
 * heads-map proof for the relationship, and every envelope of the
 * relationship's stream, versions v .. 1, with inclusion proofs.
 * LEDGER_EUSAGE when as_of does not end a write transaction (the message
 * names the nearest sizes that do). */
ledger_err ledger_status_prove(ledger *l, const ledger_status_query *q, FILE *out);

/* Check a bundle offline against a verifier key: the signature, every
 * proof, the heads proof, the unbroken stream; then fold it with the code
 * of `status` into *out (free it with ledger_status_free). Returns
 * LEDGER_ECORRUPT with the reason in why (a caller buffer) when any check
 * fails; out->as_of is the tree size it holds for. Needs no ledger. */
ledger_err ledger_bundle_check(ledger_status *out, const char *bundle,
                               size_t bundle_bytes, const char *vkey,
                               size_t vkey_bytes, char *why, size_t why_bytes);

/* Check the header of a snapshot (ledger_export, JSON or protobuf): the
 * checkpoint's signature and that the snapshot's root of tree_size is the
 * signed tree or a prefix of it. header holds the whole snapshot. */
ledger_err ledger_snapshot_check(uint64_t *tree_size, uint8_t root[LEDGER_HASH_BYTES],
                                 const char *header, size_t header_bytes,
                                 const char *vkey, size_t vkey_bytes,
                                 char *why, size_t why_bytes);

typedef struct ledger_rebuild_stats {
	uint64_t events;
	unsigned old_index_version;  /* of the indexes replaced (0: none stored) */
	unsigned index_version;      /* of the rebuilt ones */
	bool upgraded;       /* they were of another index version: not compared */
	bool equal;          /* the rebuilt indexes equal what was there */
	uint8_t before[LEDGER_HASH_BYTES], after[LEDGER_HASH_BYTES]; /* digests */
} ledger_rebuild_stats;

/* Drop every index and projection and recompute them from the events
 * alone, in one write transaction and one pass; report whether the result
 * equals what was stored (it must, unless the stored indexes were of
 * another index version: then `upgraded` is set and `equal` false). Also
 * sets index_version. */
ledger_err ledger_rebuild(ledger_rebuild_stats *out, ledger *l);

#ifdef __cplusplus
}
#endif

#endif
