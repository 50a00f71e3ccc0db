/* annals stats [--json] */
#include <getopt.h>

#include "cli.h"

static const char usage[] =
	"usage: annals [-d DIR] stats [--json]\n"
	"\n"
	"Counts (events, organizations, relationships, redacted bodies) and\n"
	"sizes (map, pages in use, data.mdb, and entries and bytes of each\n"
	"LMDB database).\n";

int cmd_stats(cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	ledger_stats st;
	ledger *l;
	bool json = false;
	int ch, code;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (ch == 'j')
			json = true;
		else
			return cli_usage(usage, ch != 'h');
	}
	if (optind != argc)
		return cli_usage(usage, true);
	if ((code = cli_open(&l, c, "stats", true)) != 0)
		return code;
	ledger_err err = ledger_get_stats(&st, l);
	if (err != LEDGER_OK) {
		code = cli_ledger_fail(err, "stats", l);
		ledger_close(l);
		return code;
	}
	if (json) {
		printf("{\"origin\":\"%s\",\"events\":%llu,\"organizations\":%llu,"
		       "\"relationships\":%llu,\"redacted\":%llu,\"format_version\":%u,"
		       "\"index_version\":%u,\"map_bytes\":%llu,\"used_bytes\":%llu,"
		       "\"file_bytes\":%llu,\"databases\":{", st.origin,
		       (unsigned long long)st.events, (unsigned long long)st.organizations,
		       (unsigned long long)st.relationships, (unsigned long long)st.redacted,
		       st.format_version, st.index_version,
		       (unsigned long long)st.map_bytes, (unsigned long long)st.used_bytes,
		       (unsigned long long)st.file_bytes);
		for (size_t i = 0; i < st.dbs_count; i++)
			printf("%s\"%s\":{\"entries\":%llu,\"bytes\":%llu}", i ? "," : "",
			       st.dbs[i].name, (unsigned long long)st.dbs[i].entries,
			       (unsigned long long)st.dbs[i].bytes);
		printf("}}\n");
	} else {
		printf("origin         %s\nevents         %llu\norganizations  %llu\n"
		       "relationships  %llu\nredacted       %llu\nformat version %u\n"
		       "index version  %u\nmap            %llu bytes\n"
		       "used           %llu bytes\ndata.mdb       %llu bytes\n\n"
		       "%-14s %12s %14s\n", st.origin,
		       (unsigned long long)st.events, (unsigned long long)st.organizations,
		       (unsigned long long)st.relationships, (unsigned long long)st.redacted,
		       st.format_version, st.index_version,
		       (unsigned long long)st.map_bytes, (unsigned long long)st.used_bytes,
		       (unsigned long long)st.file_bytes, "database", "entries", "bytes");
		for (size_t i = 0; i < st.dbs_count; i++)
			printf("%-14s %12llu %14llu\n", st.dbs[i].name,
			       (unsigned long long)st.dbs[i].entries,
			       (unsigned long long)st.dbs[i].bytes);
	}
	code = cli_finish_output("stats");
	ledger_close(l);
	return code;
}
