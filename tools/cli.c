/* Helpers shared by the subcommands. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

int cli_exit_code(ledger_err err)
{
	switch (err) {
	case LEDGER_OK:        return EXIT_OK;
	case LEDGER_EINPUT:    return EXIT_INPUT;
	case LEDGER_ECONFLICT: return EXIT_INPUT;
	case LEDGER_EUSAGE:    return EXIT_USAGE;
	case LEDGER_ENOTFOUND: return EXIT_USAGE;
	case LEDGER_EEXIST:    return EXIT_USAGE;
	case LEDGER_ECORRUPT:  return EXIT_CHECK;
	case LEDGER_EFORK:     return EXIT_CHECK;
	case LEDGER_EVERSION:  return EXIT_SYSTEM;
	case LEDGER_EKEY:      return EXIT_SYSTEM;
	case LEDGER_ESTORE:    return EXIT_SYSTEM;
	case LEDGER_EIO:       return EXIT_SYSTEM;
	case LEDGER_ENOMEM:    return EXIT_SYSTEM;
	}
	return EXIT_SYSTEM;
}

int cli_fail(int code, const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "annals%s%s: ", cmd ? " " : "", cmd ? cmd : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

int cli_ledger_fail(ledger_err err, const char *cmd, ledger *l)
{
	const char *msg = l ? ledger_errmsg(l) : "";

	return cli_fail(cli_exit_code(err), cmd, "%s", *msg ? msg : ledger_strerror(err));
}

int cli_open(ledger **out, cli *c, const char *cmd, bool rdonly)
{
	ledger_err err = ledger_open(out, c->dir, rdonly ? LEDGER_OPEN_RDONLY : 0);

	if (err == LEDGER_OK) {
		const char *margin = getenv("ANNALS_MAP_MARGIN_BYTES");
		if (margin && *margin)
			ledger_set_map_margin(*out, (size_t)strtoull(margin, NULL, 10));
		return 0;
	}
	int code = cli_ledger_fail(err, cmd, *out);
	ledger_close(*out);
	*out = NULL;
	return code;
}

int cli_usage(const char *usage, bool error)
{
	fputs(usage, error ? stderr : stdout);
	return error ? EXIT_USAGE : EXIT_OK;
}

bool cli_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return false;
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return true;
	}
	return false;
}

bool cli_parse_u64(uint64_t *out, const char *s)
{
	char *end;

	if (!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

int cli_finish_output(const char *cmd)
{
	if (fflush(stdout) == 0 && !ferror(stdout))
		return EXIT_OK;
	if (errno == EPIPE)
		return EXIT_OK;
	return cli_fail(EXIT_SYSTEM, cmd, "cannot write the output: %s", strerror(errno));
}

FILE *cli_out_open(const char *path, char **tmp_path, const char *cmd)
{
	*tmp_path = NULL;
	if (!path || strcmp(path, "-") == 0)
		return stdout;
	size_t n = strlen(path) + 16;
	char *tmp = malloc(n);
	if (!tmp) {
		cli_fail(EXIT_SYSTEM, cmd, "out of memory");
		return NULL;
	}
	snprintf(tmp, n, "%s.tmp.XXXXXX", path);
	int fd = mkstemp(tmp);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		cli_fail(EXIT_SYSTEM, cmd, "cannot create '%s': %s", tmp, strerror(errno));
		if (fd >= 0) {
			close(fd);
			unlink(tmp);
		}
		free(tmp);
		return NULL;
	}
	*tmp_path = tmp;
	return f;
}

int cli_out_close(FILE *f, const char *path, char *tmp_path, const char *cmd)
{
	if (!tmp_path)
		return cli_finish_output(cmd);
	bool ok = fflush(f) == 0 && !ferror(f) && fsync(fileno(f)) == 0;
	int saved = errno;
	ok = fclose(f) == 0 && ok;
	if (ok && rename(tmp_path, path) != 0) {
		saved = errno;
		ok = false;
	}
	if (!ok) {
		unlink(tmp_path);
		free(tmp_path);
		return cli_fail(EXIT_SYSTEM, cmd, "cannot write '%s': %s", path,
		                strerror(saved));
	}
	free(tmp_path);
	return EXIT_OK;
}

static int take_id(void *ctx, const ledger_event_view *ev)
{
	*(uint64_t *)ctx = ev->seq;
	return 1;
}

int cli_resolve_event(uint64_t *seq, ledger *l, const char *arg, const char *cmd)
{
	ledger_err err;

	if (cli_parse_u64(seq, arg)) {
		uint64_t found = 0;
		err = ledger_get(l, *seq, take_id, &found);
		if (err == LEDGER_OK)
			return 0;
		if (err != LEDGER_ENOTFOUND)
			return cli_ledger_fail(err, cmd, l);
		/* A numeric id is still an id. */
	}
	err = ledger_find_id(seq, l, arg);
	if (err == LEDGER_ENOTFOUND)
		return cli_fail(EXIT_USAGE, cmd, "no event with seq or id '%s' "
		                "(see annals log)", arg);
	return err == LEDGER_OK ? 0 : cli_ledger_fail(err, cmd, l);
}

struct append_report {
	const char *cmd;
	unsigned count;
};

/* "-:1: field: reason" -> "annals CMD: field: reason" */
static void append_report_fn(void *ctx, const char *message)
{
	struct append_report *r = ctx;
	const char *p = strchr(message, ':');

	p = p ? strchr(p + 1, ':') : NULL;
	fprintf(stderr, "annals %s: %s\n", r->cmd, p ? p + 2 : message);
	r->count++;
}

int cli_append_json(cli *c, const char *cmd, const char *ndjson,
                    int64_t expect_version)
{
	ledger *l;
	ledger_import_stats st;
	struct append_report rep = { cmd, 0 };
	ledger_import_opts o = {
		.name = cmd, .format = LEDGER_FORMAT_NDJSON,
		.report = append_report_fn, .report_ctx = &rep,
		.expect_version = expect_version,
	};
	int code = cli_open(&l, c, cmd, false);

	if (code)
		return code;
	ledger_err err = ledger_import_mem(&st, l, ndjson, strlen(ndjson), &o);
	if (err == LEDGER_OK) {
		if (st.appended)
			printf("appended seq %llu\n", (unsigned long long)st.last_seq);
		else
			printf("already stored: nothing appended\n");
		code = cli_finish_output(cmd);
	} else if ((err == LEDGER_EINPUT || err == LEDGER_ECONFLICT) && rep.count) {
		code = EXIT_INPUT;
	} else {
		code = cli_ledger_fail(err, cmd, l);
	}
	ledger_close(l);
	return code;
}
