/* annals log [--from SEQ] [--limit N] [--json] [--follow];  annals dump */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "cli.h"

static const char log_usage[] =
	"usage: annals [-d DIR] log [--from SEQ] [--limit N] [--json] [--follow]\n"
	"\n"
	"Events in recording order: seq, recorded_at, leaf hash, type,\n"
	"relationship, date and id; with --json one JSON object a line with\n"
	"every envelope field and hash. --follow waits for new events.\n";

static const char dump_usage[] =
	"usage: annals [-d DIR] dump\n"
	"\n"
	"Every event as NDJSON in the import format, with its id, in seq order:\n"
	"'annals dump | annals -d NEW import' rebuilds a ledger with the same\n"
	"events (new seqs and hashes; the same statuses). Redacted bodies are\n"
	"not in the dump.\n";

struct log_ctx {
	ledger *l;
	bool json;
	unsigned flags;
	uint64_t last;
	ledger_err err;
};

static int print_text(struct log_ctx *x, const ledger_event_view *ev)
{
	char *js = NULL;
	json_t *o;

	if ((x->err = ledger_event_json(&js, x->l, ev, LEDGER_JSON_RECORD)) != LEDGER_OK)
		return 1;
	o = json_loads(js, 0, NULL);
	free(js);
	if (!o)
		return 1;
	const char *org = json_string_value(json_object_get(o, "organization"));
	const char *country = json_string_value(json_object_get(o, "country"));
	const char *date = json_string_value(json_object_get(o, "date"));
	printf("%-7llu %s %.16s %-22s %-4s %-24s %-11s %s\n",
	       (unsigned long long)ev->seq,
	       json_string_value(json_object_get(o, "recorded_at")),
	       json_string_value(json_object_get(o, "leaf_hash")),
	       json_string_value(json_object_get(o, "type")),
	       country ? country : "-", org ? org : "-", date ? date : "-",
	       json_string_value(json_object_get(o, "id")));
	json_decref(o);
	return ferror(stdout) ? 1 : 0;
}

static int print_event(void *ctx, const ledger_event_view *ev)
{
	struct log_ctx *x = ctx;
	char *js = NULL;

	x->last = ev->seq;
	if (!x->json)
		return print_text(x, ev);
	if ((x->err = ledger_event_json(&js, x->l, ev, x->flags)) != LEDGER_OK)
		return 1;
	puts(js);
	free(js);
	return ferror(stdout) ? 1 : 0;
}

static int run_log(cli *c, const char *cmd, uint64_t from, uint64_t limit,
                   bool json, unsigned flags, bool follow)
{
	struct log_ctx x = { .json = json, .flags = flags };
	int code = cli_open(&x.l, c, cmd, true);

	if (code)
		return code;
	for (;;) {
		ledger_err err = ledger_each(x.l, from, limit, print_event, &x);
		if (err == LEDGER_OK)
			err = x.err;
		if (err != LEDGER_OK) {
			code = cli_ledger_fail(err, cmd, x.l);
			break;
		}
		if ((code = cli_finish_output(cmd)) != 0 || !follow || ferror(stdout))
			break;
		if (x.last >= from)
			from = x.last + 1;
		struct timespec ts = { 0, 200 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	ledger_close(x.l);
	return code;
}

int cmd_log(cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "from", required_argument, NULL, 'f' },
		{ "limit", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "follow", no_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	uint64_t from = 1, limit = 0;
	bool json = false, follow = false;
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (ch == 'f' && cli_parse_u64(&from, optarg) && from > 0)
			continue;
		if (ch == 'n' && cli_parse_u64(&limit, optarg))
			continue;
		if (ch == 'j')
			json = true;
		else if (ch == 'F')
			follow = true;
		else
			return cli_usage(log_usage, ch != 'h');
	}
	if (optind != argc)
		return cli_usage(log_usage, true);
	return run_log(c, "log", from, limit, json, LEDGER_JSON_RECORD, follow);
}

int cmd_dump(cli *c, int argc, char **argv)
{
	if (cli_wants_help(argc, argv))
		return cli_usage(dump_usage, false);
	if (argc != 1)
		return cli_usage(dump_usage, true);
	return run_log(c, "dump", 1, 0, true, LEDGER_JSON_INPUT, false);
}
