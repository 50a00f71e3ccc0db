/* annals show SEQ|ID [--json | --raw | --raw-body] */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char usage[] =
	"usage: annals [-d DIR] show SEQ|ID [--json | --raw | --raw-body]\n"
	"\n"
	"One event with its hashes, stream position and body. --raw writes the\n"
	"stored envelope bytes (the leaf hash is SHA-256 of 0x00 and them);\n"
	"--raw-body the stored body bytes (exit 1 when it was redacted).\n";

enum show_mode { SHOW_TEXT, SHOW_JSON, SHOW_RAW, SHOW_RAW_BODY };

struct show_ctx {
	ledger *l;
	enum show_mode mode;
	ledger_err err;
	int code;
};

static int show_one(void *ctx, const ledger_event_view *ev)
{
	struct show_ctx *x = ctx;
	char *out = NULL;

	switch (x->mode) {
	case SHOW_RAW:
		fwrite(ev->envelope, 1, ev->envelope_bytes, stdout);
		return 0;
	case SHOW_RAW_BODY:
		if (!ev->body)
			x->code = cli_fail(EXIT_CHECK, "show", "the body of seq %llu "
			                   "was redacted", (unsigned long long)ev->seq);
		else
			fwrite(ev->body, 1, ev->body_bytes, stdout);
		return 0;
	case SHOW_JSON:
		x->err = ledger_event_json(&out, x->l, ev, LEDGER_JSON_RECORD);
		break;
	case SHOW_TEXT:
		x->err = ledger_event_text(&out, x->l, ev);
		break;
	}
	if (out)
		fputs(out, stdout);
	if (out && x->mode == SHOW_JSON)
		fputc('\n', stdout);
	free(out);
	return 0;
}

int cmd_show(cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "raw", no_argument, NULL, 'r' },
		{ "raw-body", no_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct show_ctx x = { .mode = SHOW_TEXT };
	uint64_t seq;
	int ch, modes = 0, code;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (ch == 'j') { x.mode = SHOW_JSON; modes++; }
		else if (ch == 'r') { x.mode = SHOW_RAW; modes++; }
		else if (ch == 'b') { x.mode = SHOW_RAW_BODY; modes++; }
		else return cli_usage(usage, ch != 'h');
	}
	if (optind + 1 != argc || modes > 1)
		return cli_usage(usage, true);
	if ((code = cli_open(&x.l, c, "show", true)) != 0)
		return code;
	if ((code = cli_resolve_event(&seq, x.l, argv[optind], "show")) == 0) {
		ledger_err err = ledger_get(x.l, seq, show_one, &x);
		if (err == LEDGER_OK)
			err = x.err;
		if (err != LEDGER_OK)
			code = cli_ledger_fail(err, "show", x.l);
		else if (!(code = x.code))
			code = cli_finish_output("show");
	}
	ledger_close(x.l);
	return code;
}
