/* annals check [DOCUMENT] [--checkpoint NOTE]... [--vkey FILE] [--record RAW]:
 * offline checks for an auditor who holds files and no ledger. DOCUMENT is
 * told by its content; the table `documents` lists the kinds understood
 * (inclusion and consistency proofs today; a proved-status bundle is
 * another entry there). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define CHECK_CHECKPOINTS_MAX 2            /* the old and the new tree */
#define CHECK_DOCUMENT_BYTES_MAX (16u << 20)
#define CHECK_RECORD_BYTES_MAX   (1u << 20) /* an envelope is at most 64 KiB */
#define CHECK_VKEY_BYTES_MAX     1024u

static const char usage[] =
	"usage: annals check [DOCUMENT] [--checkpoint NOTE]... [--vkey FILE]\n"
	"                    [--record RAW] [--json]\n"
	"\n"
	"Verify, without a ledger, what an auditor holds as files:\n"
	"\n"
	"  BUNDLE           a proved status (annals status --prove), checked\n"
	"                   with --vkey: the checkpoint's signature, every\n"
	"                   proof, the heads proof and the unbroken stream;\n"
	"                   then folded, and the answer printed (--json: as\n"
	"                   status --json) with the tree size it holds for\n"
	"  SNAPSHOT         an export (JSON or protobuf), checked with --vkey:\n"
	"                   its checkpoint, tree size and root\n"
	"  PROOF.json       an inclusion or consistency proof as annals prove\n"
	"                   prints it (told apart by its keys), checked as\n"
	"                   RFC 9162 §2.1.3.2 / §2.1.4.2 say\n"
	"  --checkpoint NOTE  a signed checkpoint, verified with the verifier\n"
	"                   key in --vkey FILE (signatures by other keys are\n"
	"                   ignored); give it twice for the old and the new\n"
	"                   tree of a consistency proof\n"
	"  --record RAW     the raw envelope (annals show SEQ --raw): the\n"
	"                   inclusion proof's leaf hash must be\n"
	"                   SHA-256(0x00 || RAW)\n"
	"\n"
	"With a proof and a checkpoint, the checkpoint's size and root must be\n"
	"those of the proof: the tree of an inclusion proof, either tree of a\n"
	"consistency proof. '-' reads a file from standard input. Prints each\n"
	"thing verified and exits 0, or names each failure and exits 1.\n";

typedef struct check_ctx {
	const char *doc_path;
	const char *note_path[CHECK_CHECKPOINTS_MAX];
	size_t notes;
	const char *vkey_path;
	const char *record_path;
	char *vkey;
	size_t vkey_bytes;
	ledger_checkpoint_info cp[CHECK_CHECKPOINTS_MAX];
	bool cp_ok[CHECK_CHECKPOINTS_MAX];
	bool failed;
	bool json;                       /* --json: a bundle's status as JSON */
} check_ctx;

int cli_read_file(char **out, size_t *out_bytes, const char *path,
                  size_t max_bytes, const char *cmd, const char *what)
{
	bool in = strcmp(path, "-") == 0;
	int fd = in ? 0 : open(path, O_RDONLY | O_CLOEXEC);
	size_t n = 0, cap = 4096;
	char *buf = NULL;
	int code = 0;

	*out = NULL;
	*out_bytes = 0;
	if (fd < 0)
		return cli_fail(EXIT_USAGE, cmd, "%s: cannot open '%s': %s", what,
		                path, strerror(errno));
	for (;;) {
		if (n + 1 >= cap || !buf) {
			char *grown = n + 1 >= cap ? realloc(buf, cap *= 2) : malloc(cap);
			if (!grown) {
				code = cli_fail(EXIT_SYSTEM, cmd, "out of memory");
				break;
			}
			buf = grown;
		}
		ssize_t r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			code = cli_fail(EXIT_USAGE, cmd, "%s: cannot read '%s': %s", what,
			                path, strerror(errno));
			break;
		}
		if (r == 0)
			break;
		if ((n += (size_t)r) > max_bytes) {
			code = cli_fail(EXIT_CHECK, cmd, "%s: '%s' is larger than %zu "
			                "bytes", what, path, max_bytes);
			break;
		}
	}
	if (!in)
		close(fd);
	if (code) {
		free(buf);
		return code;
	}
	buf[n] = '\0';
	*out = buf;
	*out_bytes = n;
	return 0;
}

static void hex(char out[2 * LEDGER_HASH_BYTES + 1], const uint8_t *h)
{
	for (size_t i = 0; i < LEDGER_HASH_BYTES; i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
}

static void failed(check_ctx *x, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* One failed check on stderr; the others still run. */
static void failed(check_ctx *x, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "annals check: FAILED: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	x->failed = true;
}

static int check_checkpoints(check_ctx *x)
{
	char why[1024], root[2 * LEDGER_HASH_BYTES + 1];

	for (size_t i = 0; i < x->notes; i++) {
		char *note;
		size_t bytes;
		int code = cli_read_file(&note, &bytes, x->note_path[i],
		                         LEDGER_NOTE_BYTES_MAX, "check", "--checkpoint");
		if (code)
			return code;
		ledger_err err = ledger_checkpoint_open(&x->cp[i], note, bytes,
		                                        x->vkey, x->vkey_bytes,
		                                        why, sizeof why);
		free(note);
		if (err == LEDGER_EUSAGE)
			return cli_fail(EXIT_USAGE, "check", "--vkey '%s': %s",
			                x->vkey_path, why);
		if (err != LEDGER_OK) {
			failed(x, "checkpoint '%s': %s", x->note_path[i], why);
			continue;
		}
		x->cp_ok[i] = true;
		hex(root, x->cp[i].root);
		printf("checkpoint ok: %s: origin %s, tree size %llu, root %s\n",
		       x->note_path[i], x->cp[i].origin,
		       (unsigned long long)x->cp[i].size, root);
	}
	return 0;
}

static void check_record(check_ctx *x, const ledger_proof *p, const char *raw,
                         size_t bytes)
{
	uint8_t leaf[LEDGER_HASH_BYTES];
	char a[2 * LEDGER_HASH_BYTES + 1], b[2 * LEDGER_HASH_BYTES + 1];

	ledger_leaf_hash(leaf, raw, bytes);
	hex(a, leaf);
	if (memcmp(leaf, p->leaf_hash, LEDGER_HASH_BYTES) != 0) {
		hex(b, p->leaf_hash);
		failed(x, "record: SHA-256(0x00 || record) is %s, not the proof's "
		       "leaf hash %s", a, b);
		return;
	}
	printf("record ok: %s hashes to the proof's leaf hash %s\n",
	       x->record_path, a);
}

/* A checkpoint vouches for one tree of the proof: its size and root. Two
 * checkpoints with a consistency proof stand for its two trees. */
static void check_match(check_ctx *x, const ledger_proof *p)
{
	bool is_new[CHECK_CHECKPOINTS_MAX] = { 0 }, is_old[CHECK_CHECKPOINTS_MAX] = { 0 };
	char root[2 * LEDGER_HASH_BYTES + 1];

	for (size_t i = 0; i < x->notes; i++) {
		const ledger_checkpoint_info *cp = &x->cp[i];
		if (!x->cp_ok[i])
			continue;
		is_new[i] = cp->size == p->tree_size &&
		            memcmp(cp->root, p->root, LEDGER_HASH_BYTES) == 0;
		is_old[i] = p->kind == LEDGER_PROOF_CONSISTENCY &&
		            cp->size == p->old_size &&
		            memcmp(cp->root, p->old_root, LEDGER_HASH_BYTES) == 0;
		hex(root, cp->root);
		if (!is_new[i] && !is_old[i])
			failed(x, "checkpoint '%s' (tree size %llu, root %s) is not a "
			       "tree of the proof: the sizes or roots differ",
			       x->note_path[i], (unsigned long long)cp->size, root);
		else
			printf("checkpoint matches the proof: %s is the %s tree of "
			       "size %llu\n", x->note_path[i],
			       p->kind == LEDGER_PROOF_INCLUSION ? "proof's" :
			       is_new[i] && is_old[i] ? "old and new" :
			       is_new[i] ? "new" : "old", (unsigned long long)cp->size);
	}
	if (x->notes == 2 && p->kind == LEDGER_PROOF_CONSISTENCY &&
	    p->old_size != p->tree_size && (is_new[0] || is_old[0]) &&
	    (is_new[1] || is_old[1]) &&
	    !((is_new[0] && is_old[1]) || (is_old[0] && is_new[1])))
		failed(x, "the two checkpoints stand for the same tree of size %llu, "
		       "not for the old and the new one",
		       (unsigned long long)(is_new[0] ? p->tree_size : p->old_size));
}

static int check_proof(check_ctx *x, const char *text, size_t bytes)
{
	char why[1024], root[2 * LEDGER_HASH_BYTES + 1], old[2 * LEDGER_HASH_BYTES + 1];
	char *raw = NULL;
	size_t raw_bytes = 0;
	ledger_proof p;
	int code;

	if (x->vkey_path && !x->notes)
		return cli_fail(EXIT_USAGE, "check", "--vkey goes with --checkpoint "
		                "when checking a proof");
	if (ledger_proof_parse(&p, text, bytes, why, sizeof why) != LEDGER_OK) {
		failed(x, "'%s': %s", x->doc_path, why);
		return 0;
	}
	if (x->record_path && p.kind != LEDGER_PROOF_INCLUSION)
		return cli_fail(EXIT_USAGE, "check", "--record goes with an "
		                "inclusion proof; '%s' is a consistency proof",
		                x->doc_path);
	if (x->record_path && (code = cli_read_file(&raw, &raw_bytes, x->record_path,
	                                            CHECK_RECORD_BYTES_MAX, "check",
	                                            "--record")) != 0)
		return code;
	if (ledger_proof_check(&p, why, sizeof why) != LEDGER_OK) {
		failed(x, "'%s': %s", x->doc_path, why);
	} else if (p.kind == LEDGER_PROOF_INCLUSION) {
		hex(root, p.root);
		printf("inclusion proof ok: seq %llu (index %llu) is in the tree of "
		       "size %llu with root %s\n", (unsigned long long)p.seq,
		       (unsigned long long)(p.seq - 1),
		       (unsigned long long)p.tree_size, root);
	} else {
		hex(old, p.old_root);
		hex(root, p.root);
		printf("consistency proof ok: the tree of size %llu (root %s) is a "
		       "prefix of the tree of size %llu (root %s)\n",
		       (unsigned long long)p.old_size, old,
		       (unsigned long long)p.tree_size, root);
	}
	if (raw)
		check_record(x, &p, raw, raw_bytes);
	free(raw);
	check_match(x, &p);
	return 0;
}

/* The kinds of DOCUMENT. Each parser looks at the text first and returns
 * -1 when it is not its kind, so the next one is tried. */
static int try_proof(check_ctx *x, const char *text, size_t bytes)
{
	return check_proof(x, text, bytes);
}

static int try_status(check_ctx *x, const char *text, size_t bytes)
{
	return cli_check_status(x->doc_path, text, bytes, x->vkey, x->vkey_bytes,
	                        x->json);
}

static const struct {
	const char *name;
	int (*run)(check_ctx *x, const char *text, size_t bytes);
} documents[] = {
	{ "proved status or snapshot", try_status },
	{ "proof", try_proof },
};

static int check_document(check_ctx *x)
{
	char *text;
	size_t bytes;
	int code = cli_read_file(&text, &bytes, x->doc_path,
	                         CHECK_DOCUMENT_BYTES_MAX, "check", "document");

	if (code)
		return code;
	for (size_t i = 0; i < sizeof documents / sizeof documents[0]; i++) {
		code = documents[i].run(x, text, bytes);
		if (code != -1)
			break;
	}
	free(text);
	return code == -1 ? 0 : code;
}

static int check_args(check_ctx *x, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "checkpoint", required_argument, NULL, 'c' },
		{ "vkey", required_argument, NULL, 'v' },
		{ "record", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			if (x->notes == CHECK_CHECKPOINTS_MAX)
				return cli_fail(EXIT_USAGE, "check", "at most %d --checkpoint "
				                "options", CHECK_CHECKPOINTS_MAX);
			x->note_path[x->notes++] = optarg;
			break;
		case 'v': x->vkey_path = optarg; break;
		case 'r': x->record_path = optarg; break;
		case 'j': x->json = true; break;
		case 'h': cli_usage(usage, false); return -1;
		default:  return cli_usage(usage, true);
		}
	}
	if (optind < argc)
		x->doc_path = argv[optind++];
	if (optind != argc || (!x->doc_path && !x->notes) ||
	    (x->notes && !x->vkey_path) || (x->vkey_path && !x->notes && !x->doc_path) ||
	    (x->record_path && !x->doc_path))
		return cli_usage(usage, true);
	return 0;
}

int cmd_check(cli *c, int argc, char **argv)
{
	check_ctx x = { 0 };
	int code = check_args(&x, argc, argv);

	(void)c;
	if (code)
		return code < 0 ? EXIT_OK : code;
	if (x.vkey_path && (code = cli_read_file(&x.vkey, &x.vkey_bytes, x.vkey_path,
	                                         CHECK_VKEY_BYTES_MAX, "check",
	                                         "--vkey")) != 0)
		return code;
	if ((code = check_checkpoints(&x)) == 0 && x.doc_path)
		code = check_document(&x);
	free(x.vkey);
	if (code)
		return code;
	if (x.failed)
		return EXIT_CHECK;
	return cli_finish_output("check");
}
