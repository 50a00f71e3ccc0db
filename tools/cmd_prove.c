/* annals prove inclusion SEQ [--size N], annals prove consistency M [N] */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
	"usage: annals [-d DIR] prove inclusion SEQ|ID [--size N]\n"
	"       annals [-d DIR] prove consistency M [N]\n"
	"\n"
	"Print an RFC 9162 proof as one line of JSON, hashes in lower-case hex,\n"
	"elements leaf-adjacent first (as golang.org/x/mod/sumdb/tlog has them):\n"
	"\n"
	"  inclusion of event SEQ in the tree of N events (default: all),\n"
	"  1 <= SEQ <= N:\n"
	"    {\"seq\":S,\"index\":S-1,\"tree_size\":N,\"leaf_hash\":...,\"root\":...,\"proof\":[...]}\n"
	"  consistency of the tree of M events with the tree of N (default: all),\n"
	"  1 <= M <= N:\n"
	"    {\"old_size\":M,\"new_size\":N,\"old_root\":...,\"new_root\":...,\"proof\":[...]}\n"
	"\n"
	"The leaf hash is SHA-256(0x00 || envelope), the envelope being what\n"
	"annals show SEQ --raw prints. Check a proof with annals check, which\n"
	"needs no ledger. Sizes out of range are usage errors (exit 2).\n";

static int prove_print(ledger *l, ledger_err err, const ledger_proof *p)
{
	char *json = NULL;

	if (err == LEDGER_OK)
		err = ledger_proof_json(&json, p);
	if (err != LEDGER_OK)
		return cli_ledger_fail(err, "prove", l);
	printf("%s\n", json);
	free(json);
	return cli_finish_output("prove");
}

static int parse_size(uint64_t *out, const char *s, const char *what)
{
	if (cli_parse_u64(out, s) && *out != LEDGER_SIZE_HEAD)
		return 0;
	return cli_fail(EXIT_USAGE, "prove", "%s '%s' is not a tree size", what, s);
}

int cmd_prove(cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "size", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	uint64_t size = LEDGER_SIZE_HEAD, seq, old_size;
	bool have_size = false;
	ledger_proof p;
	ledger *l;
	int ch, code;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (ch == 's') {
			if ((code = parse_size(&size, optarg, "--size")) != 0)
				return code;
			have_size = true;
		} else {
			return cli_usage(usage, ch != 'h');
		}
	}
	if (optind >= argc)
		return cli_usage(usage, true);
	const char *kind = argv[optind];
	int args = argc - optind - 1;
	if (strcmp(kind, "inclusion") == 0) {
		if (args != 1)
			return cli_usage(usage, true);
		if ((code = cli_open(&l, c, "prove", true)) != 0)
			return code;
		if ((code = cli_resolve_event(&seq, l, argv[optind + 1], "prove")) == 0)
			code = prove_print(l, ledger_prove_inclusion(&p, l, seq, size), &p);
	} else if (strcmp(kind, "consistency") == 0) {
		if (have_size || args < 1 || args > 2)
			return cli_usage(usage, true);
		if ((code = parse_size(&old_size, argv[optind + 1], "M")) != 0 ||
		    (args == 2 && (code = parse_size(&size, argv[optind + 2], "N")) != 0))
			return code;
		if (old_size == 0)
			return cli_fail(EXIT_USAGE, "prove", "M must be at least 1: there "
			                "is no consistency proof from the empty tree");
		if ((code = cli_open(&l, c, "prove", true)) != 0)
			return code;
		code = prove_print(l, ledger_prove_consistency(&p, l, old_size, size), &p);
	} else {
		return cli_usage(usage, true);
	}
	ledger_close(l);
	return code;
}
