/* annals export --at D [--as-of S] --format json|csv|pb [-o FILE] */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
	"usage: annals [-d DIR] export [--at YYYY-MM-DD] [--as-of SEQ|TIME]\n"
	"           [--format json|csv|pb] [-o FILE]\n"
	"\n"
	"A citable snapshot: the status of every relationship at a day\n"
	"(default today) as known after a seq (default the newest), sorted by\n"
	"country then organization. The snapshot names the origin, tree size\n"
	"and Merkle root and carries the signed checkpoint it holds for (JSON:\n"
	"in its header; protobuf: an annals.Snapshot message; CSV: in\n"
	"FILE.checkpoint beside FILE, so CSV needs -o). Two exports of the same\n"
	"--at and --as-of are byte-identical. -o writes a temporary file,\n"
	"fsyncs and renames it.\n";

static int write_checkpoint(const char *path, const char *note)
{
	size_t n = strlen(path) + sizeof ".checkpoint";
	char *cp = malloc(n), *tmp = NULL;
	int code;

	if (!cp)
		return cli_fail(EXIT_SYSTEM, "export", "out of memory");
	snprintf(cp, n, "%s.checkpoint", path);
	FILE *f = cli_out_open(cp, &tmp, "export");
	if (!f) {
		free(cp);
		return EXIT_SYSTEM;
	}
	fputs(note, f);
	code = cli_out_close(f, cp, tmp, "export");
	free(cp);
	return code;
}

int cmd_export(cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "at", required_argument, NULL, 'a' },
		{ "as-of", required_argument, NULL, 's' },
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	ledger_export_opts o = { 0 };
	ledger_export_info info;
	const char *path = NULL;
	char *tmp = NULL;
	ledger *l;
	int ch, code;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
		if (ch == 'a')
			o.at = optarg;
		else if (ch == 's')
			o.as_of = optarg;
		else if (ch == 'o')
			path = optarg;
		else if (ch == 'f' && strcmp(optarg, "json") == 0)
			o.format = LEDGER_EXPORT_JSON;
		else if (ch == 'f' && strcmp(optarg, "csv") == 0)
			o.format = LEDGER_EXPORT_CSV;
		else if (ch == 'f' && (strcmp(optarg, "pb") == 0 || strcmp(optarg, "protobuf") == 0))
			o.format = LEDGER_EXPORT_PB;
		else
			return cli_usage(usage, ch != 'h');
	}
	if (optind != argc)
		return cli_usage(usage, true);
	if (o.format == LEDGER_EXPORT_CSV && (!path || strcmp(path, "-") == 0))
		return cli_fail(EXIT_USAGE, "export", "--format csv needs -o FILE: the "
		                "checkpoint goes to FILE.checkpoint beside it");
	if ((code = cli_open(&l, c, "export", false)) != 0)
		return code;
	FILE *f = cli_out_open(path, &tmp, "export");
	if (!f) {
		ledger_close(l);
		return EXIT_SYSTEM;
	}
	ledger_err err = ledger_export(&info, l, &o, f);
	if (err != LEDGER_OK) {
		code = cli_ledger_fail(err, "export", l);
		if (tmp) {
			fclose(f);
			remove(tmp);
			free(tmp);
		}
	} else {
		code = cli_out_close(f, path, tmp, "export");
		if (code == 0 && o.format == LEDGER_EXPORT_CSV)
			code = write_checkpoint(path, info.checkpoint);
		if (code == 0 && path)
			fprintf(stderr, "annals export: %llu relationships at tree size "
			        "%llu\n", (unsigned long long)info.relationships,
			        (unsigned long long)info.tree_size);
	}
	ledger_export_info_free(&info);
	ledger_close(l);
	return code;
}
