/* annals verify */
#include <getopt.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
	"usage: annals [-d DIR] verify [--json]\n"
	"       annals [-d DIR] verify --checkpoint NOTE --vkey FILE [--key FILE]\n"
	"\n"
	"Recompute and check everything stored: each envelope's canonical\n"
	"encoding, seq, leaf and body hash, every prev_hash and stream link,\n"
	"recorded_at order, the id index, stream heads and Merkle subtree\n"
	"hashes. Prints a summary and exits 0, or names the first bad seq or\n"
	"node and exits 1. Bodies removed by a redaction are counted as\n"
	"redacted; a body missing without one is tampering. Every stored\n"
	"checkpoint must verify under the ledger's verifier key and have the\n"
	"root recomputed from the events at its size.\n"
	"\n"
	"With --checkpoint, also proves that the ledger is an append-only\n"
	"extension of an old signed checkpoint (NOTE, verified with the\n"
	"verifier key in FILE; its origin must be the ledger's): the old root\n"
	"is recomputed from the stored envelopes. Exits 1 naming the reason\n"
	"when the ledger was rewritten, truncated or is smaller. On success it\n"
	"prints a new signed checkpoint of the verified tree (annals checkpoint,\n"
	"--key as there) and then the consistency proof as one line of JSON.\n";

int cmd_verify(cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "checkpoint", required_argument, NULL, 'c' },
		{ "vkey", required_argument, NULL, 'v' },
		{ "key", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *note = NULL, *vkey = NULL, *key = NULL;
	ledger_verify_stats st;
	ledger *l;
	bool json = false;
	int ch, code;
	char hex[2 * LEDGER_HASH_BYTES + 1];

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (ch == 'j')
			json = true;
		else if (ch == 'c')
			note = optarg;
		else if (ch == 'v')
			vkey = optarg;
		else if (ch == 'k')
			key = optarg;
		else
			return cli_usage(usage, ch != 'h');
	}
	if (optind != argc || !note != !vkey || (key && !note) || (note && json))
		return cli_usage(usage, true);
	if (note)
		return cli_verify_checkpoint(c, note, vkey, key);
	if ((code = cli_open(&l, c, "verify", true)) != 0)
		return code;
	ledger_err err = ledger_verify(&st, l);
	if (err == LEDGER_OK) {
		for (size_t i = 0; i < LEDGER_HASH_BYTES; i++)
			snprintf(hex + 2 * i, 3, "%02x", st.root[i]);
		if (json)
			printf("{\"ok\":true,\"events\":%llu,\"relationships\":%llu,"
			       "\"redacted\":%llu,\"checkpoints\":%llu,\"tree_size\":%llu,"
			       "\"root\":\"%s\"}\n", (unsigned long long)st.events,
			       (unsigned long long)st.streams,
			       (unsigned long long)st.redacted,
			       (unsigned long long)st.checkpoints,
			       (unsigned long long)st.events, hex);
		else
			printf("ok: %llu events, %llu relationships, %llu redacted "
			       "bodies, %llu checkpoints\ntree size %llu, root %s\n",
			       (unsigned long long)st.events,
			       (unsigned long long)st.streams,
			       (unsigned long long)st.redacted,
			       (unsigned long long)st.checkpoints,
			       (unsigned long long)st.events, hex);
		code = cli_finish_output("verify");
	} else {
		code = cli_ledger_fail(err, "verify", l);
	}
	ledger_close(l);
	return code;
}
