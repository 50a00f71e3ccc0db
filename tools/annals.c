/* annals: the command line of the ledger (DESIGN §7). */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const struct cmd cmds[] = {
	{ "init",     cmd_init,     "create a ledger and its signing key" },
	{ "add",      cmd_add,      "append one event" },
	{ "org",      cmd_org,      "register or rename an organization (org add)" },
	{ "import",   cmd_import,   "append a batch of events atomically" },
	{ "retract",  cmd_retract,  "withdraw an event" },
	{ "redact",   cmd_redact,   "remove the body of an event" },
	{ "log",      cmd_log,      "events in recording order with hashes" },
	{ "show",     cmd_show,     "one event" },
	{ "status",   cmd_status,   "one relationship's status at a date" },
	{ "timeline", cmd_timeline, "events in effective-date order" },
	{ "changes",  cmd_changes,  "relationships whose status changed" },
	{ "rebuild",  cmd_rebuild,  "recompute every index and projection" },
	{ "export",   cmd_export,   "snapshot of every relationship" },
	{ "dump",     cmd_dump,     "every event as NDJSON in the input format" },
	{ "verify",   cmd_verify,   "check every hash, link, stream and index" },
	{ "stats",    cmd_stats,    "counts and sizes" },
	{ "checkpoint", cmd_checkpoint, "print a signed checkpoint" },
	{ "key",      cmd_key,      "print the verifier key" },
	{ "prove",    cmd_prove,    "print an inclusion or consistency proof" },
	{ "check",    cmd_check,    "verify proofs and checkpoints offline" },
	{ "backup",   cmd_backup,   "compact copy with the key" },
};

static const char usage_head[] =
	"usage: annals [-d DIR] COMMAND [options]\n"
	"\n"
	"An event-sourced, verifiable ledger of diplomatic and legal status\n"
	"changes. DIR defaults to $ANNALS_DIR, else ./annals.db.\n"
	"\n"
	"commands:\n";

static int usage(bool error)
{
	FILE *f = error ? stderr : stdout;

	fputs(usage_head, f);
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
		fprintf(f, "  %-10s %s\n", cmds[i].name, cmds[i].summary);
	fputs("\n'annals COMMAND --help' describes a command; 'man annals' the rest.\n"
	      "Exit codes: 0 success, 1 a check failed, 2 usage error, 3 input\n"
	      "refused (ledger unchanged), 4 storage or system error.\n", f);
	return error ? EXIT_USAGE : EXIT_OK;
}

int main(int argc, char **argv)
{
	cli c = { .prog = "annals" };
	int i = 1;

	/* A closed pipe must end the output quietly, not kill us mid-write. */
	signal(SIGPIPE, SIG_IGN);
	c.dir = getenv("ANNALS_DIR");
	if (!c.dir || !*c.dir)
		c.dir = "annals.db";
	while (i < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "-d") == 0 && i + 1 < argc) {
			c.dir = argv[i + 1];
			i += 2;
		} else if (strncmp(argv[i], "--dir=", 6) == 0) {
			c.dir = argv[i] + 6;
			i++;
		} else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			return usage(false);
		} else {
			fprintf(stderr, "annals: unknown option '%s'\n", argv[i]);
			return usage(true);
		}
	}
	if (i >= argc)
		return usage(true);
	if (strcmp(argv[i], "help") == 0)
		return usage(false);
	for (size_t k = 0; k < sizeof cmds / sizeof cmds[0]; k++)
		if (strcmp(argv[i], cmds[k].name) == 0)
			return cmds[k].run(&c, argc - i, argv + i);
	fprintf(stderr, "annals: unknown command '%s'\n", argv[i]);
	return usage(true);
}
