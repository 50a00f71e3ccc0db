/* annals timeline [C] [O] [--from D] [--to D] [--as-of S] [--json] */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"

static const char usage[] =
	"usage: annals [-d DIR] timeline [COUNTRY [ORGANIZATION]] [--org O]\n"
	"           [--from D] [--to D] [--as-of SEQ|TIME] [--json]\n"
	"\n"
	"Dated events in effective-date order (date start, then seq), with\n"
	"their dates as written (EDTF qualifiers included). Retracted events\n"
	"are marked with their retraction. --from and --to take EDTF dates:\n"
	"events whose date starts within [first day of --from, last day of\n"
	"--to]. Give COUNTRY and ORGANIZATION for one relationship, COUNTRY\n"
	"alone or --org alone for all of one side, nothing for every event.\n";

struct tl_print {
	ledger *l;
	bool json;
	ledger_err err;
};

static const char *field(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));
	return s ? s : "";
}

static int print_item(void *ctx, const ledger_timeline_item *it)
{
	struct tl_print *p = ctx;
	char *text = NULL;
	json_t *o;

	p->err = ledger_event_json(&text, p->l, it->event, LEDGER_JSON_RECORD);
	if (p->err != LEDGER_OK)
		return 1;
	o = json_loads(text, 0, NULL);
	free(text);
	if (!o)
		return 1;
	/* Marks are as of the query's seq, not the newest. */
	if (!it->retracted_by) {
		json_object_del(o, "retracted_by");
		json_object_del(o, "retraction_reason");
	}
	if (p->json) {
		text = json_dumps(o, JSON_COMPACT);
		if (text)
			puts(text);
		free(text);
	} else {
		const char *list = field(o, "list"), *summary = field(o, "summary");
		printf("%-12s %-22s %-4s %-20s seq %-6llu %s%s%s\n", field(o, "date"),
		       field(o, "type"), field(o, "country"), field(o, "organization"),
		       (unsigned long long)it->event->seq, list,
		       *list && *summary ? ": " : "", summary);
		if (it->retracted_by)
			printf("%12s   RETRACTED by seq %llu: %s\n", "",
			       (unsigned long long)it->retracted_by,
			       field(o, "retraction_reason"));
	}
	json_decref(o);
	return ferror(stdout) ? 1 : 0;
}

int cmd_timeline(cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "as-of", required_argument, NULL, 's' },
		{ "org", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	ledger_timeline_query q = { 0 };
	struct tl_print p = { 0 };
	int ch, code;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'f': q.from = optarg; break;
		case 't': q.to = optarg; break;
		case 's': q.as_of = optarg; break;
		case 'o': q.organization = optarg; break;
		case 'j': p.json = true; break;
		default:  return cli_usage(usage, ch != 'h');
		}
	}
	if (argc - optind > 2 || (argc - optind == 2 && q.organization))
		return cli_usage(usage, true);
	if (optind < argc)
		q.country = argv[optind];
	if (optind + 1 < argc)
		q.organization = argv[optind + 1];
	if ((code = cli_open(&p.l, c, "timeline", true)) != 0)
		return code;
	ledger_err err = ledger_timeline(p.l, &q, print_item, &p);
	if (err == LEDGER_OK)
		err = p.err;
	code = err == LEDGER_OK ? cli_finish_output("timeline")
	                        : cli_ledger_fail(err, "timeline", p.l);
	ledger_close(p.l);
	return code;
}
