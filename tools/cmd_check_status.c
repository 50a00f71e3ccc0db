/* annals check for proved statuses and snapshots: the documents of
 * `status --prove` and `export` (the proof and checkpoint kinds are in
 * cmd_check.c). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static bool starts(const char *text, size_t bytes, const char *prefix)
{
	size_t n = strlen(prefix);

	return bytes >= n && memcmp(text, prefix, n) == 0;
}

static void print_status(const ledger_status *st, bool json)
{
	if (json) {
		char *t = ledger_status_json(st);
		if (t)
			puts(t);
		free(t);
		return;
	}
	printf("proved status of %s %s at %s holds for tree size %llu:\n",
	       st->country, st->organization, st->at, (unsigned long long)st->as_of);
	printf("  listed %s", st->listed ? "yes" : "no");
	for (size_t i = 0; i < st->lists_count; i++)
		printf("%s %s since %s", i ? "," : ":", st->lists[i].list, st->lists[i].since);
	printf("\n  recognition %s, relations %s, mission %s, sanctions %s\n"
	       "  meetings %llu%s%s; version %llu; certain %s\n",
	       st->recognition.state, st->relations.state, st->mission.state,
	       st->sanctions.state, (unsigned long long)st->meetings,
	       *st->last_meeting ? ", last " : "", st->last_meeting,
	       (unsigned long long)st->version, st->certain ? "yes" : "no");
}

int cli_check_status(const char *path, const char *text, size_t bytes,
                     const char *vkey, size_t vkey_bytes, bool json)
{
	char why[1024];
	bool bundle = starts(text, bytes, "{\"format\":\"annals-status-proof-1\"");
	bool snap = starts(text, bytes, "{\"format\":\"annals-snapshot-1\"") ||
	            starts(text, bytes, "\x0a\x11" "annals-snapshot-1");

	if (!bundle && !snap)
		return -1;
	if (!vkey)
		return cli_fail(EXIT_USAGE, "check", "'%s' needs --vkey FILE: the key "
		                "that signed its checkpoint", path);
	if (bundle) {
		ledger_status st;
		if (ledger_bundle_check(&st, text, bytes, vkey, vkey_bytes, why,
		                        sizeof why) != LEDGER_OK)
			return cli_fail(EXIT_CHECK, "check", "FAILED: '%s': %s", path, why);
		print_status(&st, json);
		ledger_status_free(&st);
		return cli_finish_output("check");
	}
	uint64_t size;
	uint8_t root[LEDGER_HASH_BYTES];
	if (ledger_snapshot_check(&size, root, text, bytes, vkey, vkey_bytes, why,
	                          sizeof why) != LEDGER_OK)
		return cli_fail(EXIT_CHECK, "check", "FAILED: '%s': %s", path, why);
	printf("snapshot ok: tree size %llu, root ", (unsigned long long)size);
	for (size_t i = 0; i < LEDGER_HASH_BYTES; i++)
		printf("%02x", root[i]);
	printf(", under a verified checkpoint\n");
	return cli_finish_output("check");
}
