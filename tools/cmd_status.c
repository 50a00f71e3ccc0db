/* annals status C O [--at D] [--as-of S|TIME] [--json] */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
	"usage: annals [-d DIR] status COUNTRY ORGANIZATION [--at YYYY-MM-DD]\n"
	"           [--as-of SEQ|TIME] [--json] [--prove [-o FILE]]\n"
	"\n"
	"The status of a country-organization relationship on a day (default:\n"
	"today, UTC) as the ledger knew it after a seq or at an RFC 3339 time\n"
	"(default: the newest): the lists the organization is on, recognition,\n"
	"relations, mission and sanctions with the dates they hold since,\n"
	"meetings, the last change, the relationship's version, and whether the\n"
	"answer is certain (no partial date spanning the day). COUNTRY is a\n"
	"code or English name; ORGANIZATION a slug, name or alias.\n"
	"\n"
	"--prove writes a bundle that anyone can check offline with 'annals\n"
	"check BUNDLE --vkey KEY': the signed checkpoint, proofs that every\n"
	"event of the relationship up to the tree size is in the log and that\n"
	"there is no later one, and the events themselves. --as-of must then\n"
	"name a tree size that ends a write transaction.\n";

static void print_axis(const char *name, const ledger_status_axis *a)
{
	if (*a->since)
		printf("%-12s %s since %s (seq %llu)\n", name, a->state, a->since,
		       (unsigned long long)a->seq);
	else
		printf("%-12s %s\n", name, a->state);
}

static void print_text(const ledger_status *s)
{
	printf("%s %s at %s, as of seq %llu (version %llu)\n", s->country,
	       s->organization, s->at, (unsigned long long)s->as_of,
	       (unsigned long long)s->version);
	printf("%-12s %s\n", "listed", s->listed ? "yes" : "no");
	for (size_t i = 0; i < s->lists_count; i++)
		printf("  on %s since %s%s%s (seq %llu)\n", s->lists[i].list,
		       s->lists[i].since, *s->lists[i].authority ? ", by " : "",
		       s->lists[i].authority, (unsigned long long)s->lists[i].seq);
	print_axis("recognition", &s->recognition);
	print_axis("relations", &s->relations);
	print_axis("mission", &s->mission);
	print_axis("sanctions", &s->sanctions);
	if (s->meetings)
		printf("%-12s %llu, last %s\n", "meetings",
		       (unsigned long long)s->meetings, s->last_meeting);
	else
		printf("%-12s 0\n", "meetings");
	if (s->last_change_seq)
		printf("%-12s %s on %s (seq %llu)\n", "last change",
		       s->last_change_type, s->last_change_date,
		       (unsigned long long)s->last_change_seq);
	printf("%-12s %s\n", "certain", s->certain ? "yes" :
	       "no (a partial date spans this day)");
}

/* The bundle may need a checkpoint signed now: open for writing. */
static int run_prove(cli *c, const ledger_status_query *q, const char *path)
{
	char *tmp = NULL;
	ledger *l;
	int code = cli_open(&l, c, "status", false);

	if (code)
		return code;
	FILE *f = cli_out_open(path, &tmp, "status");
	if (!f) {
		ledger_close(l);
		return EXIT_SYSTEM;
	}
	ledger_err err = ledger_status_prove(l, q, f);
	if (err == LEDGER_OK) {
		code = cli_out_close(f, path, tmp, "status");
	} else {
		code = cli_ledger_fail(err, "status", l);
		if (tmp) {
			fclose(f);
			remove(tmp);
			free(tmp);
		}
	}
	ledger_close(l);
	return code;
}

int cmd_status(cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "at", required_argument, NULL, 'a' },
		{ "as-of", required_argument, NULL, 's' },
		{ "json", no_argument, NULL, 'j' },
		{ "prove", no_argument, NULL, 'p' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	ledger_status_query q = { 0 };
	ledger_status st;
	ledger *l;
	bool json = false, prove = false;
	const char *path = NULL;
	int ch, code;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
		if (ch == 'p')
			prove = true;
		else if (ch == 'o')
			path = optarg;
		else if (ch == 'a')
			q.at = optarg;
		else if (ch == 's')
			q.as_of = optarg;
		else if (ch == 'j')
			json = true;
		else
			return cli_usage(usage, ch != 'h');
	}
	if (optind + 2 != argc || (path && !prove) || (prove && json))
		return cli_usage(usage, true);
	q.country = argv[optind];
	q.organization = argv[optind + 1];
	if (prove)
		return run_prove(c, &q, path);
	if ((code = cli_open(&l, c, "status", true)) != 0)
		return code;
	ledger_err err = ledger_status_get(&st, l, &q);
	if (err != LEDGER_OK) {
		code = cli_ledger_fail(err, "status", l);
	} else if (json) {
		char *text = ledger_status_json(&st);
		if (text)
			puts(text);
		free(text);
		code = text ? cli_finish_output("status") :
		       cli_fail(EXIT_SYSTEM, "status", "out of memory");
	} else {
		print_text(&st);
		code = cli_finish_output("status");
	}
	ledger_status_free(&st);
	ledger_close(l);
	return code;
}
