/* annals rebuild */
#include "cli.h"

static const char usage[] =
	"usage: annals [-d DIR] rebuild\n"
	"\n"
	"Drop every index and projection (ids, stream heads, organization\n"
	"names, the relationship and date indexes, bucket folds and current\n"
	"statuses) and recompute them from the events alone, in one\n"
	"transaction; report whether the result equals what was stored. Run it\n"
	"when annals says the index version differs: the indexes of the old\n"
	"version are then replaced without comparing them. Exits 1 when the\n"
	"rebuilt indexes of the same version differ from the old ones (they\n"
	"are replaced all the same).\n";

int cmd_rebuild(cli *c, int argc, char **argv)
{
	ledger_rebuild_stats st;
	ledger *l = NULL;

	if (cli_wants_help(argc, argv))
		return cli_usage(usage, false);
	if (argc != 1)
		return cli_usage(usage, true);
	ledger_err err = ledger_open(&l, c->dir, LEDGER_OPEN_REBUILD);
	if (err == LEDGER_OK)
		err = ledger_rebuild(&st, l);
	if (err != LEDGER_OK) {
		int code = cli_ledger_fail(err, "rebuild", l);
		ledger_close(l);
		return code;
	}
	ledger_close(l);
	if (st.upgraded)
		printf("rebuilt the indexes of %llu events: index version %u "
		       "replaced by %u\n", (unsigned long long)st.events,
		       st.old_index_version, st.index_version);
	else
		printf("rebuilt the indexes of %llu events: %s\n",
		       (unsigned long long)st.events, st.equal ?
		       "identical to the stored ones" : "they DIFFER from the stored ones");
	int code = cli_finish_output("rebuild");
	return code ? code : (st.equal || st.upgraded ? EXIT_OK : EXIT_CHECK);
}
