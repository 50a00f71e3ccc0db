/* annals import [--format ndjson|csv|pb] [FILE|-] */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static const char usage[] =
	"usage: annals [-d DIR] import [--format ndjson|csv|pb] [FILE|-]\n"
	"\n"
	"Append every event of FILE (default: standard input) in one\n"
	"transaction: all of them or none. The format defaults to the file's\n"
	"extension (.ndjson, .jsonl, .csv, .pb), else NDJSON. Each refused\n"
	"record is reported as FILE:LINE: field: what is wrong, and the command\n"
	"exits 3 with the ledger unchanged. Events already stored with the same\n"
	"id and content are skipped, so running an import twice appends nothing\n"
	"the second time.\n";

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int parse_format(ledger_format *out, const char *s)
{
	if (strcmp(s, "ndjson") == 0 || strcmp(s, "json") == 0)
		*out = LEDGER_FORMAT_NDJSON;
	else if (strcmp(s, "csv") == 0)
		*out = LEDGER_FORMAT_CSV;
	else if (strcmp(s, "pb") == 0 || strcmp(s, "protobuf") == 0)
		*out = LEDGER_FORMAT_PB;
	else
		return -1;
	return 0;
}

static void report(void *ctx, const char *message)
{
	unsigned *count = ctx;

	fprintf(stderr, "%s\n", message);
	(*count)++;
}

int cmd_import(cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	ledger_import_opts o = { .expect_version = -1 };
	ledger_import_stats st;
	const char *path = "-", *format = NULL;
	unsigned reported = 0;
	ledger *l = NULL;
	int ch, fd = 0, code;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (ch == 'f')
			format = optarg;
		else
			return cli_usage(usage, ch != 'h');
	}
	if (optind + 1 < argc)
		return cli_usage(usage, true);
	if (optind < argc)
		path = argv[optind];
	if (format && parse_format(&o.format, format) != 0)
		return cli_fail(EXIT_USAGE, "import", "unknown format '%s' (ndjson, "
		                "csv or pb)", format);
	if (!format && ends_with(path, ".csv"))
		o.format = LEDGER_FORMAT_CSV;
	else if (!format && ends_with(path, ".pb"))
		o.format = LEDGER_FORMAT_PB;
	if (strcmp(path, "-") != 0 &&
	    (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return cli_fail(EXIT_USAGE, "import", "cannot open '%s': %s", path,
		                strerror(errno));
	if ((code = cli_open(&l, c, "import", false)) != 0)
		goto out;
	o.name = path;
	o.report = report;
	o.report_ctx = &reported;
	o.progress = isatty(2);
	ledger_err err = ledger_import_fd(&st, l, fd, &o);
	if (err == LEDGER_OK) {
		printf("imported %llu events", (unsigned long long)st.appended);
		if (st.appended)
			printf(" (seq %llu to %llu)", (unsigned long long)st.first_seq,
			       (unsigned long long)st.last_seq);
		if (st.skipped)
			printf(", skipped %llu already stored",
			       (unsigned long long)st.skipped);
		printf("\n");
		code = cli_finish_output("import");
	} else if ((err == LEDGER_EINPUT || err == LEDGER_ECONFLICT) && reported) {
		code = cli_fail(EXIT_INPUT, "import", "%s", ledger_errmsg(l));
	} else {
		code = cli_ledger_fail(err, "import", l);
	}
out:
	ledger_close(l);
	if (fd > 0)
		close(fd);
	return code;
}
