/* annals init [--origin NAME] [--key FILE] */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
	"usage: annals [-d DIR] init [--origin NAME] [--key FILE]\n"
	"\n"
	"Create a ledger in DIR and its Ed25519 signing key (DIR/signing.key,\n"
	"mode 0600, unless --key or $ANNALS_KEY names another file). The origin names the log\n"
	"in its checkpoints: 1 to 255 printable ASCII bytes without '+' or\n"
	"spaces, default annals.invalid/<32 random hex digits>. Refuses a\n"
	"directory that already holds a ledger.\n";

int cmd_init(cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "origin", required_argument, NULL, 'o' },
		{ "key", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	ledger_init_opts o = { 0 };
	char msg[1024];
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'o': o.origin = optarg; break;
		case 'k': o.key_path = optarg; break;
		case 'h': return cli_usage(usage, false);
		default:  return cli_usage(usage, true);
		}
	}
	if (optind != argc)
		return cli_usage(usage, true);
	if (!o.key_path && getenv("ANNALS_KEY") && *getenv("ANNALS_KEY"))
		o.key_path = getenv("ANNALS_KEY");   /* DESIGN §5: --key, $ANNALS_KEY */
	ledger_err err = ledger_init(c->dir, &o, msg, sizeof msg);
	if (err != LEDGER_OK)
		return cli_fail(cli_exit_code(err), "init", "%s",
		                *msg ? msg : ledger_strerror(err));
	printf("created ledger in %s\n", c->dir);
	return cli_finish_output("init");
}
