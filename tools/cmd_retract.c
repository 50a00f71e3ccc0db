/* annals retract SEQ|ID --reason R;  annals redact SEQ|ID --reason R */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"

static const char retract_usage[] =
	"usage: annals [-d DIR] retract SEQ|ID --reason R\n"
	"\n"
	"Withdraw an event: append a retraction that joins the event's\n"
	"relationship. Statuses as of a seq before the retraction are\n"
	"unchanged; later ones no longer count the event. A retraction, a\n"
	"redaction, an organization event or an event already retracted cannot\n"
	"be retracted. To correct an event, retract it and add the correction.\n";

static const char redact_usage[] =
	"usage: annals [-d DIR] redact SEQ|ID --reason R\n"
	"\n"
	"Remove the body of an event (summary, sources, participants,\n"
	"instrument, reason) for a legal takedown: the envelope, every hash,\n"
	"proof and status stay valid, and verify reports the body as redacted.\n"
	"The freed pages stay in data.mdb until it is compacted with\n"
	"'annals backup'.\n";

static int withdraw(cli *c, int argc, char **argv, const char *cmd,
                    const char *usage, const char *type, const char *field)
{
	static const struct option opts[] = {
		{ "reason", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *reason = NULL;
	char id[LEDGER_ID_TEXT_BYTES];
	ledger *l = NULL;
	uint64_t seq;
	int ch, code;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (ch == 'r')
			reason = optarg;
		else
			return cli_usage(usage, ch != 'h');
	}
	if (optind + 1 != argc || !reason)
		return cli_usage(usage, true);
	if ((code = cli_open(&l, c, cmd, true)) != 0)
		return code;
	/* The record names its target by id, whatever the user typed. */
	if ((code = cli_resolve_event(&seq, l, argv[optind], cmd)) == 0) {
		ledger_err err = ledger_get_id(id, l, seq);
		if (err != LEDGER_OK)
			code = cli_ledger_fail(err, cmd, l);
	}
	ledger_close(l);
	if (code)
		return code;
	json_t *o = json_pack("{s:s, s:s, s:s?}", "type", type, field, id,
	                      "reason", reason);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!text)
		return cli_fail(EXIT_INPUT, cmd, "the reason is not valid UTF-8");
	code = cli_append_json(c, cmd, text, -1);
	free(text);
	return code;
}

int cmd_retract(cli *c, int argc, char **argv)
{
	return withdraw(c, argc, argv, "retract", retract_usage, "retraction",
	                "retracts");
}

int cmd_redact(cli *c, int argc, char **argv)
{
	return withdraw(c, argc, argv, "redact", redact_usage, "redaction",
	                "redacts");
}
