/* annals checkpoint [--size N] [--key FILE], annals key, and the
 * --checkpoint mode of annals verify. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char checkpoint_usage[] =
	"usage: annals [-d DIR] checkpoint [--size N] [--key FILE]\n"
	"\n"
	"Print a C2SP checkpoint (origin, tree size, base64 root) of the first N\n"
	"events (default: all of them) signed as a C2SP signed note with the\n"
	"ledger's Ed25519 key, and store it in the ledger. The key is --key\n"
	"FILE, else $ANNALS_KEY, else DIR/signing.key; a key file that group or\n"
	"others may read is refused.\n"
	"\n"
	"annals never signs a tree that is not an append-only extension of the\n"
	"last one it signed (DIR/signing.state), so a restored old copy of the\n"
	"ledger cannot sign a fork: that is refused with exit 1. Below the last\n"
	"signed size, the stored checkpoint of size N is printed again when\n"
	"there is one. Needs write access to DIR.\n";

static const char key_usage[] =
	"usage: annals [-d DIR] key\n"
	"\n"
	"Print the ledger's verifier key, <origin>+<8 hex key hash>+<base64\n"
	"key>, for annals check --vkey, annals verify --vkey and any C2SP\n"
	"signed-note verifier (Go's golang.org/x/mod/sumdb/note). It is stored\n"
	"in the ledger; the private key is not needed.\n";

int cmd_checkpoint(cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "key", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	uint64_t size = LEDGER_SIZE_HEAD;
	const char *key = NULL;
	char *note = NULL;
	ledger *l;
	int ch, code;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 's':
			if (!cli_parse_u64(&size, optarg) || size == LEDGER_SIZE_HEAD)
				return cli_fail(EXIT_USAGE, "checkpoint", "--size '%s' is "
				                "not a tree size", optarg);
			break;
		case 'k': key = optarg; break;
		case 'h': return cli_usage(checkpoint_usage, false);
		default:  return cli_usage(checkpoint_usage, true);
		}
	}
	if (optind != argc)
		return cli_usage(checkpoint_usage, true);
	if ((code = cli_open(&l, c, "checkpoint", false)) != 0)
		return code;
	ledger_err err = key ? ledger_set_key_path(l, key) : LEDGER_OK;
	if (err == LEDGER_OK)
		err = ledger_checkpoint(&note, l, size);
	if (err == LEDGER_OK) {
		fputs(note, stdout);
		code = cli_finish_output("checkpoint");
	} else {
		code = cli_ledger_fail(err, "checkpoint", l);
	}
	free(note);
	ledger_close(l);
	return code;
}

int cmd_key(cli *c, int argc, char **argv)
{
	char vkey[LEDGER_VKEY_TEXT_BYTES];
	ledger *l;
	int code;

	optind = 1;
	if (cli_wants_help(argc, argv))
		return cli_usage(key_usage, false);
	if (argc != 1)
		return cli_usage(key_usage, true);
	if ((code = cli_open(&l, c, "key", true)) != 0)
		return code;
	ledger_err err = ledger_verifier_key(vkey, l);
	if (err == LEDGER_OK) {
		printf("%s\n", vkey);
		code = cli_finish_output("key");
	} else {
		code = cli_ledger_fail(err, "key", l);
	}
	ledger_close(l);
	return code;
}

/* Sign the verified size, not the head: another writer may have appended
 * since, and the new checkpoint and the proof must be about what was
 * verified. */
static int verify_print_new(ledger *l, const ledger_checkpoint_info *old,
                            uint64_t size)
{
	ledger_proof p;
	char *note = NULL, *json = NULL;
	ledger_err err = ledger_checkpoint(&note, l, size);

	if (err == LEDGER_OK && old->size > 0)
		err = ledger_prove_consistency(&p, l, old->size, size);
	if (err == LEDGER_OK && old->size > 0)
		err = ledger_proof_json(&json, &p);
	if (err != LEDGER_OK) {
		free(note);
		return cli_ledger_fail(err, "verify", l);
	}
	fputs(note, stdout);
	if (json)
		printf("%s\n", json);
	free(note);
	free(json);
	return cli_finish_output("verify");
}

int cli_verify_checkpoint(cli *c, const char *note_path, const char *vkey_path,
                          const char *key_path)
{
	ledger_checkpoint_info old;
	ledger_verify_stats st;
	char *note = NULL, *vkey = NULL;
	size_t note_bytes, vkey_bytes;
	ledger *l = NULL;
	int code;

	if ((code = cli_read_file(&note, &note_bytes, note_path,
	                          LEDGER_NOTE_BYTES_MAX, "verify", "--checkpoint")) ||
	    (code = cli_read_file(&vkey, &vkey_bytes, vkey_path,
	                          1024, "verify", "--vkey")) ||
	    (code = cli_open(&l, c, "verify", false)))
		goto out;
	ledger_err err = key_path ? ledger_set_key_path(l, key_path) : LEDGER_OK;
	if (err == LEDGER_OK)
		err = ledger_verify_checkpoint(&st, &old, l, note, note_bytes,
		                               vkey, vkey_bytes);
	if (err != LEDGER_OK) {
		code = cli_ledger_fail(err, "verify", l);
		goto out;
	}
	fprintf(stderr, "annals verify: ok: %llu events, %llu checkpoints; the "
	        "ledger is an append-only extension of the checkpoint of size "
	        "%llu (%s)\n", (unsigned long long)st.events,
	        (unsigned long long)st.checkpoints, (unsigned long long)old.size,
	        old.origin);
	code = verify_print_new(l, &old, st.events);
out:
	ledger_close(l);
	free(note);
	free(vkey);
	return code;
}
