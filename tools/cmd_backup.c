/* annals backup DIR [--key FILE] */
#include <getopt.h>
#include <stdio.h>
#include <sys/stat.h>

#include "cli.h"

static const char usage[] =
	"usage: annals [-d DIR] backup TARGET [--key FILE]\n"
	"\n"
	"Write a compacted copy of the ledger as TARGET, which must be absent or\n"
	"an empty directory: data.mdb copied with LMDB's compaction\n"
	"(mdb_env_copy2, MDB_CP_COMPACT), so pages freed by redactions, which\n"
	"still hold the removed bytes in the original data.mdb, are not copied;\n"
	"the signing key (--key FILE, else $ANNALS_KEY, else DIR/signing.key) as\n"
	"TARGET/signing.key at mode 0600; and DIR/signing.state. The copy is\n"
	"written, fsynced and verified in TARGET.backup-XXXXXX beside TARGET,\n"
	"then renamed to TARGET: TARGET holds a complete copy or nothing (a\n"
	"killed backup leaves only its TARGET.backup-* directory). To replace\n"
	"the original by its compacted copy, stop the writers and move TARGET\n"
	"into place.\n";

int cmd_backup(cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *key = NULL;
	ledger_stats st;
	ledger *l;
	int ch, code;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (ch == 'k')
			key = optarg;
		else
			return cli_usage(usage, ch != 'h');
	}
	if (optind + 1 != argc)
		return cli_usage(usage, true);
	const char *target = argv[optind];
	if ((code = cli_open(&l, c, "backup", true)) != 0)
		return code;
	ledger_err err = key ? ledger_set_key_path(l, key) : LEDGER_OK;
	if (err == LEDGER_OK)
		err = ledger_get_stats(&st, l);
	if (err == LEDGER_OK)
		err = ledger_backup(l, target);
	if (err != LEDGER_OK) {
		code = cli_ledger_fail(err, "backup", l);
	} else {
		char path[4096];
		struct stat s;
		snprintf(path, sizeof path, "%s/signing.state", target);
		bool state = stat(path, &s) == 0;
		snprintf(path, sizeof path, "%s/data.mdb", target);
		printf("backed up %llu events to %s: data.mdb %llu bytes (the "
		       "original's is %llu), signing key%s copied; the copy "
		       "verifies\n", (unsigned long long)st.events, target,
		       stat(path, &s) == 0 ? (unsigned long long)s.st_size : 0ull,
		       (unsigned long long)st.file_bytes,
		       state ? " and signing.state" : "");
		code = cli_finish_output("backup");
	}
	ledger_close(l);
	return code;
}
