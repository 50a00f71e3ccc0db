/* Shared helpers of the annals subcommands: exit codes (DESIGN §7),
 * messages, opening the ledger, and output that ends quietly on a closed
 * pipe. Each cmd_<verb>.c uses only ledger.h and this header. */
#ifndef ANNALS_CLI_H
#define ANNALS_CLI_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "ledger.h"

enum {
	EXIT_OK = 0,
	EXIT_CHECK = 1,     /* a check failed: tampering, bad proof or signature */
	EXIT_USAGE = 2,
	EXIT_INPUT = 3,     /* input refused, ledger unchanged */
	EXIT_SYSTEM = 4,    /* storage or system error */
};

typedef struct cli {
	const char *dir;    /* -d DIR, $ANNALS_DIR, else ./annals.db */
	const char *prog;   /* "annals" */
} cli;

typedef int (*cmd_fn)(cli *c, int argc, char **argv);

struct cmd {
	const char *name;
	cmd_fn run;
	const char *summary;
};

/* Exit code for a library error. */
int cli_exit_code(ledger_err err);

/* "annals CMD: MESSAGE\n" on stderr; returns code. */
int cli_fail(int code, const char *cmd, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Report a library error with its details; returns its exit code. */
int cli_ledger_fail(ledger_err err, const char *cmd, ledger *l);

/* Open the ledger of c (read-only when rdonly). On failure prints why and
 * returns the exit code, else 0. */
int cli_open(ledger **out, cli *c, const char *cmd, bool rdonly);

/* Print usage text to stdout (for --help, exit 0) or stderr (exit 2). */
int cli_usage(const char *usage, bool error);

/* True when argv[i] is --help or -h. */
bool cli_wants_help(int argc, char **argv);

/* Parse a positive whole number; false when s is not one. */
bool cli_parse_u64(uint64_t *out, const char *s);

/* Flush stdout: 0, or EXIT_SYSTEM after printing why; a closed pipe is
 * quiet and counts as success. */
int cli_finish_output(const char *cmd);

/* Write output to a file through a temporary file, fsync and rename
 * (DESIGN §7): cli_out_open gives the stream (stdout when path is NULL),
 * cli_out_close commits it; returns 0 or an exit code. */
FILE *cli_out_open(const char *path, char **tmp_path, const char *cmd);
int cli_out_close(FILE *f, const char *path, char *tmp_path, const char *cmd);

/* Resolve "SEQ" or "ID" to a seq. Returns 0 or an exit code after a message. */
int cli_resolve_event(uint64_t *seq, ledger *l, const char *arg, const char *cmd);

/* The subcommands. */
int cmd_init(cli *c, int argc, char **argv);
int cmd_add(cli *c, int argc, char **argv);
int cmd_org(cli *c, int argc, char **argv);
int cmd_import(cli *c, int argc, char **argv);
int cmd_retract(cli *c, int argc, char **argv);
int cmd_redact(cli *c, int argc, char **argv);
int cmd_log(cli *c, int argc, char **argv);
int cmd_show(cli *c, int argc, char **argv);
int cmd_dump(cli *c, int argc, char **argv);
int cmd_verify(cli *c, int argc, char **argv);
int cmd_stats(cli *c, int argc, char **argv);
int cmd_status(cli *c, int argc, char **argv);
int cmd_timeline(cli *c, int argc, char **argv);
int cmd_changes(cli *c, int argc, char **argv);
int cmd_rebuild(cli *c, int argc, char **argv);
int cmd_export(cli *c, int argc, char **argv);
int cmd_checkpoint(cli *c, int argc, char **argv);
int cmd_key(cli *c, int argc, char **argv);
int cmd_prove(cli *c, int argc, char **argv);
int cmd_check(cli *c, int argc, char **argv);
int cmd_backup(cli *c, int argc, char **argv);

/* verify --checkpoint NOTE --vkey FILE [--key FILE] (cmd_checkpoint.c):
 * prove that the ledger only grew since an old checkpoint, then print a
 * new checkpoint and the consistency proof. Returns the exit code. */
int cli_verify_checkpoint(cli *c, const char *note_path, const char *vkey_path,
                          const char *key_path);

/* Read a whole file ("-": stdin) of at most max_bytes into a malloc'd,
 * NUL-terminated buffer (cmd_check.c). Returns 0, or an exit code after a
 * message naming what (e.g. "--vkey"). */
int cli_read_file(char **out, size_t *out_bytes, const char *path,
                  size_t max_bytes, const char *cmd, const char *what);

/* check of a proved-status bundle or a snapshot: -1 when text is neither,
 * else the exit code after printing the result (cmd_check_status.c). */
int cli_check_status(const char *path, const char *text, size_t bytes,
                     const char *vkey, size_t vkey_bytes, bool json);

/* Append records given as one NDJSON text (add, org add, retract, redact):
 * messages name the command instead of a file. */
int cli_append_json(cli *c, const char *cmd, const char *ndjson,
                    int64_t expect_version);

#endif
