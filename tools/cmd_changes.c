/* annals changes --from D1 --to D2 [--json];  annals changes --since-seq S */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
	"usage: annals [-d DIR] changes --from YYYY-MM-DD --to YYYY-MM-DD [--json]\n"
	"       annals [-d DIR] changes --since-seq SEQ [--at YYYY-MM-DD] [--json]\n"
	"\n"
	"Relationships whose status differs between two days (as of the newest\n"
	"seq), with the events dated in between; or, with --since-seq, whose\n"
	"status on a day (default today) differs as of SEQ and as of the newest\n"
	"seq, with the events recorded since. The lists, recognition,\n"
	"relations, mission, sanctions and meetings are compared.\n";

struct ch_print {
	bool json;
	unsigned count;
};

static int print_change(void *ctx, const ledger_status *before,
                        const ledger_status *after, const uint64_t *seqs,
                        size_t n)
{
	struct ch_print *p = ctx;

	p->count++;
	if (p->json) {
		char *a = ledger_status_json(before), *b = ledger_status_json(after);
		printf("{\"country\":\"%s\",\"organization\":\"%s\",\"before\":%s,"
		       "\"after\":%s,\"seqs\":[", after->country, after->organization,
		       a ? a : "null", b ? b : "null");
		for (size_t i = 0; i < n; i++)
			printf("%s%llu", i ? "," : "", (unsigned long long)seqs[i]);
		printf("]}\n");
		free(a);
		free(b);
		return ferror(stdout) ? 1 : 0;
	}
	printf("%-4s %-24s listed %s -> %s", after->country, after->organization,
	       before->listed ? "yes" : "no", after->listed ? "yes" : "no");
	printf("; recognition %s -> %s; relations %s -> %s; mission %s -> %s; "
	       "sanctions %s -> %s; meetings %llu -> %llu\n     events:",
	       before->recognition.state, after->recognition.state,
	       before->relations.state, after->relations.state,
	       before->mission.state, after->mission.state,
	       before->sanctions.state, after->sanctions.state,
	       (unsigned long long)before->meetings, (unsigned long long)after->meetings);
	for (size_t i = 0; i < n; i++)
		printf(" %llu", (unsigned long long)seqs[i]);
	printf("\n");
	return ferror(stdout) ? 1 : 0;
}

int cmd_changes(cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "since-seq", required_argument, NULL, 's' },
		{ "at", required_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	ledger_changes_query q = { 0 };
	struct ch_print p = { 0 };
	bool since = false;
	ledger *l;
	int ch, code;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (ch == 'f')
			q.from = optarg;
		else if (ch == 't')
			q.to = optarg;
		else if (ch == 'a')
			q.at = optarg;
		else if (ch == 'j')
			p.json = true;
		else if (ch == 's' && cli_parse_u64(&q.since_seq, optarg))
			since = true;
		else
			return cli_usage(usage, ch != 'h');
	}
	if (optind != argc || since == (q.from || q.to) || (since && (q.from || q.to)) ||
	    (!since && q.at))
		return cli_usage(usage, true);
	if ((code = cli_open(&l, c, "changes", true)) != 0)
		return code;
	ledger_err err = ledger_changes(l, &q, print_change, &p);
	code = err == LEDGER_OK ? cli_finish_output("changes")
	                        : cli_ledger_fail(err, "changes", l);
	ledger_close(l);
	return code;
}
