/* annals add ...; annals org add SLUG --name N [--alias A]... */
#include <getopt.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"

static const char add_usage[] =
	"usage: annals [-d DIR] add --type T --country C --org O --date D\n"
	"           [--list L] [--authority A] [--instrument I] [--summary S]\n"
	"           [--source URL]... [--participant \"NAME|ROLE[|COUNTRY]\"]...\n"
	"           [--reason R] [--id ID] [--expect-version N]\n"
	"\n"
	"Append one event. T is one of listed, delisted, recognized,\n"
	"recognition_withdrawn, relations_established, relations_suspended,\n"
	"mission_opened, mission_closed, sanctions_imposed, sanctions_lifted,\n"
	"meeting, agreement_signed, statement. C is a country code or English\n"
	"name; O an organization slug, name or alias; D an EDTF date (2023,\n"
	"2023-12, 2023-12-29, 2023-12-XX, with ?, ~ or %). --list is required\n"
	"for listed and delisted. Without --id, the id is derived from the\n"
	"content. --expect-version N refuses the append unless the\n"
	"relationship has exactly N events (exit 3).\n";

static const char org_usage[] =
	"usage: annals [-d DIR] org add SLUG --name NAME [--alias A]...\n"
	"           [--external-id ID]... [--id ID]\n"
	"\n"
	"Register an organization under SLUG ([a-z0-9][a-z0-9-]{0,62}), or\n"
	"rename a registered one and add aliases. External ids look like\n"
	"wikidata:Q123, opensanctions:ID or un:ID. Commands accept the slug,\n"
	"the name or any alias, case-insensitively.\n";

/* A JSON string of a command-line argument; sets *bad when the argument
 * is not valid UTF-8 (jansson refuses it), so nothing is dropped silently. */
static json_t *arg_string(const char *s, bool *bad)
{
	json_t *v = json_string(s);

	if (!v)
		*bad = true;
	return v;
}

static int append_array(json_t *o, const char *key, json_t *v)
{
	json_t *a = json_object_get(o, key);

	if (!a) {
		a = json_array();
		json_object_set_new(o, key, a);
	}
	return json_array_append_new(a, v);
}

static json_t *participant(const char *arg)
{
	char *copy = strdup(arg), *t;
	json_t *p = json_object();
	const char *keys[] = { "name", "role", "country" };
	size_t i = 0;

	if (!copy || !p) {
		free(copy);
		json_decref(p);
		return NULL;
	}
	/* Split at each '|' (an empty part stays empty: "NAME||KZ"); a
	 * fourth part is kept in the country, which then fails validation. */
	t = copy;
	for (;;) {
		char *bar = i < 2 ? strchr(t, '|') : NULL;
		if (bar)
			*bar = '\0';
		if (*t) {
			json_t *v = json_string(t);
			if (!v) {
				free(copy);
				json_decref(p);
				return NULL;
			}
			json_object_set_new(p, keys[i], v);
		}
		if (!bar)
			break;
		t = bar + 1;
		i++;
	}
	free(copy);
	return p;
}

static int run_append(cli *c, const char *cmd, json_t *o, int64_t expect)
{
	char *text = json_dumps(o, JSON_COMPACT);
	int code;

	if (!text)   /* only invalid UTF-8 in an argument makes this fail */
		return cli_fail(EXIT_INPUT, cmd, "an argument is not valid UTF-8");
	code = cli_append_json(c, cmd, text, expect);
	free(text);
	return code;
}

int cmd_add(cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "type", required_argument, NULL, 't' },
		{ "country", required_argument, NULL, 'c' },
		{ "org", required_argument, NULL, 'o' },
		{ "date", required_argument, NULL, 'd' },
		{ "list", required_argument, NULL, 'l' },
		{ "authority", required_argument, NULL, 'a' },
		{ "instrument", required_argument, NULL, 'i' },
		{ "summary", required_argument, NULL, 's' },
		{ "source", required_argument, NULL, 'S' },
		{ "participant", required_argument, NULL, 'P' },
		{ "reason", required_argument, NULL, 'r' },
		{ "id", required_argument, NULL, 'I' },
		{ "expect-version", required_argument, NULL, 'E' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	static const char *keys[128] = {
		['t'] = "type", ['c'] = "country", ['o'] = "organization",
		['d'] = "date", ['l'] = "list", ['a'] = "authority",
		['i'] = "instrument", ['s'] = "summary", ['r'] = "reason", ['I'] = "id",
	};
	json_t *o = json_object();
	int64_t expect = -1;
	uint64_t v;
	int ch, code;
	bool bad = false;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (ch > 0 && ch < 128 && keys[ch]) {
			json_object_set_new(o, keys[ch], arg_string(optarg, &bad));
		} else if (ch == 'S') {
			json_t *s = json_object();
			json_object_set_new(s, "url", arg_string(optarg, &bad));
			append_array(o, "sources", s);
		} else if (ch == 'P') {
			json_t *p = participant(optarg);
			bad |= !p;
			append_array(o, "participants", p);
		} else if (ch == 'E') {
			if (!cli_parse_u64(&v, optarg) || v > INT64_MAX) {
				/* Digits alone: a whole number, but past what a
				 * version can be (strtoull's ERANGE, or 2^63 on). */
				bool digits = strspn(optarg, "0123456789") == strlen(optarg);
				json_decref(o);
				if (digits && *optarg)
					return cli_fail(EXIT_USAGE, "add", "--expect-version "
					                "%.40s%s: out of range: a version is at "
					                "most %" PRId64, optarg,
					                strlen(optarg) > 40 ? "..." : "", INT64_MAX);
				return cli_fail(EXIT_USAGE, "add", "--expect-version takes "
				                "a whole number, not '%s'", optarg);
			}
			expect = (int64_t)v;
		} else {
			json_decref(o);
			return cli_usage(add_usage, ch != 'h');
		}
	}
	if (bad) {
		json_decref(o);
		return cli_fail(EXIT_INPUT, "add", "an argument is not valid UTF-8");
	}
	if (optind != argc || !json_object_get(o, "type")) {
		json_decref(o);
		if (optind == argc)
			fprintf(stderr, "annals add: --type is required\n");
		return cli_usage(add_usage, true);
	}
	code = run_append(c, "add", o, expect);
	json_decref(o);
	return code;
}

int cmd_org(cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "alias", required_argument, NULL, 'a' },
		{ "external-id", required_argument, NULL, 'x' },
		{ "id", required_argument, NULL, 'I' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	json_t *o;
	int ch, code;
	bool bad = false;

	if (argc < 2 || strcmp(argv[1], "add") != 0)
		return cli_usage(org_usage, !cli_wants_help(argc, argv));
	o = json_pack("{s:s}", "type", "organization");
	optind = 1;
	argc--;
	argv++;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (ch == 'n')
			json_object_set_new(o, "name", arg_string(optarg, &bad));
		else if (ch == 'I')
			json_object_set_new(o, "id", arg_string(optarg, &bad));
		else if (ch == 'a')
			append_array(o, "aliases", arg_string(optarg, &bad));
		else if (ch == 'x')
			append_array(o, "external_ids", arg_string(optarg, &bad));
		else {
			json_decref(o);
			return cli_usage(org_usage, ch != 'h');
		}
	}
	if (optind + 1 != argc) {
		json_decref(o);
		return cli_usage(org_usage, true);
	}
	json_object_set_new(o, "organization", arg_string(argv[optind], &bad));
	if (bad) {
		json_decref(o);
		return cli_fail(EXIT_INPUT, "org add", "an argument is not valid UTF-8");
	}
	code = run_append(c, "org add", o, -1);
	json_decref(o);
	return code;
}
