# Helpers shared by the reliability suites (tests/reliability/test_*.sh and
# tests/sh/test_reliability_smoke.sh, test_bad_inputs.sh). Source it after
# setting NAME (the suite's name, for messages). Needs $ANNALS (absolute
# path of the annals binary); $REL_BUILD (the directory of killshim.so and
# tamper) defaults to $(dirname $ANNALS)/reliability. Makes a temporary
# directory $T, removed at exit, and counts checks in passed/failed.

if [ -z "${ANNALS:-}" ] || [ ! -x "$ANNALS" ]; then
	echo "$NAME: set ANNALS to the absolute path of the annals binary" >&2
	exit 2
fi
command -v jq >/dev/null || { echo "$NAME: jq is required" >&2; exit 2; }
REL_BUILD=${REL_BUILD:-$(dirname "$ANNALS")/reliability}
SHIM=$REL_BUILD/killshim.so
# An annals built with ASan (make sanitize) wants its runtime first among
# the preloaded libraries: preload it before the shim. Use $SHIM_PRELOAD
# as LD_PRELOAD.
SHIM_PRELOAD=$(ldd "$ANNALS" 2>/dev/null | awk '/libasan/ { printf "%s ", $3 }')$SHIM
TAMPER=$REL_BUILD/tamper

T=$(mktemp -d "${TMPDIR:-/tmp}/annals-$NAME-XXXXXX") || exit 2
rel_cleanup() {
	# Stop what the suite started in the background (its own jobs only).
	local p
	for p in $(jobs -p); do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
	rm -rf "$T"
}
trap rel_cleanup EXIT
unset ANNALS_DIR ANNALS_KEY ANNALS_MAP_MARGIN_BYTES
export LC_ALL=C

passed=0
failed=0
known=0
# Bugs the suites found and the library does not fix yet are listed, one
# ID a line, in tests/reliability/known-bugs.txt. A check made between
# `known_begin ID` and `known_end` that fails while ID is listed is counted
# as a known bug, not as a failure (so that `make test` stays usable), and
# a listed bug whose checks all pass is a failure: remove the line. The
# checks keep asserting the correct behaviour either way.
KNOWN_BUGS=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/known-bugs.txt
known_id=""
known_hits=0
known_listed() { [ -n "$1" ] && grep -q "^$1\b" "$KNOWN_BUGS" 2>/dev/null; }
known_begin() { known_id=$1; known_hits=0; }
known_end() {
	if known_listed "$known_id" && [ "$known_hits" -eq 0 ]; then
		failed=$((failed + 1))
		printf 'FAIL: known bug %s no longer shows: remove it from %s\n' \
			"$known_id" "$KNOWN_BUGS" >&2
	fi
	known_id=""
}
# The name verify gives a Merkle tile, as a pattern, from its key in hex
# (ledger/tiles.h): 01 ‖ u64be(E) ‖ t is the complete tile
# t/(E / 16^(t+1) - 1); 00 ‖ t is the tile level t is filling.
merkle_tile_pattern() {
	local k=$1 t
	case $k in
	01*) t=$((16#${k:18:2}))
	     echo "merkle tile $t/$(( (16#${k:2:16} >> (4 * (t + 1))) - 1 ))([^0-9]|\$)" ;;
	*)   t=$((16#${k:2:2})); echo "merkle tile $t/[0-9]+" ;;
	esac
}

pass() { passed=$((passed + 1)); }
fail() {
	if known_listed "$known_id"; then
		known=$((known + 1))
		known_hits=$((known_hits + 1))
		[ "$known_hits" -le 3 ] && printf 'KNOWN BUG %s: %s\n' "$known_id" "$*" >&2
		return
	fi
	failed=$((failed + 1))
	printf 'FAIL: %s\n' "$*" >&2
}
# check COND... WHAT: pass when the command succeeds.
ok() { local what=$1; shift; if "$@"; then pass; else fail "$what"; fi; }

# run ARGS...: annals with stdout in $T/out, stderr in $T/err, code in $rc.
run() {
	"$ANNALS" "$@" >"$T/out" 2>"$T/err"
	rc=$?
}

expect_rc() {
	if [ "$rc" -eq "$1" ]; then
		pass
	else
		fail "$2: exit $rc, want $1; stderr: $(head -c 600 "$T/err")"
	fi
}

has() {
	if grep -qF -- "$2" "$1"; then
		pass
	else
		fail "$3: '$2' not in $(basename "$1"): $(head -c 600 "$1")"
	fi
}

same() {
	if [ "$1" = "$2" ]; then
		pass
	else
		fail "$3: '$(printf %.300s "$1")' != '$(printf %.300s "$2")'"
	fi
}

# events DIR: the number of events (from verify's count, so it is checked).
events() { "$ANNALS" -d "$1" stats --json 2>/dev/null | jq -r .events; }

# state DIR: a digest of what the ledger holds: every event in the input
# format (with ids), the seq of each id and the stored checkpoints' count.
state() {
	{ "$ANNALS" -d "$1" dump; "$ANNALS" -d "$1" log --json | jq -c '{seq, id}'
	  "$ANNALS" -d "$1" stats --json | jq -c '.databases.checkpoints.entries'; } 2>&1 |
		sha256sum | cut -c1-16
}

# verifies DIR: annals verify exits 0.
verifies() { "$ANNALS" -d "$1" verify >"$T/verify.out" 2>&1; }

# The org and events every suite starts from, in NDJSON.
rel_org() {
	printf '%s\n' '{"id":"org-taliban","type":"organization","organization":"taliban","name":"Taliban","aliases":["Islamic Emirate"]}' \
		'{"id":"org-isis","type":"organization","organization":"isis","name":"Islamic State"}'
}

# rel_events PREFIX COUNT: COUNT meeting and listing events over five
# countries and two organizations, ids PREFIX-1 .. PREFIX-COUNT.
rel_events() {
	awk -v p="$1" -v n="$2" 'BEGIN {
		split("AF KZ US RU CN", c, " ");
		split("taliban isis", o, " ");
		for (i = 1; i <= n; i++) {
			if (i % 7 == 0)
				printf "{\"id\":\"%s-%d\",\"type\":\"listed\",\"country\":\"%s\",\"organization\":\"%s\",\"date\":\"%d-%02d\",\"list\":\"l%d\",\"authority\":\"Court %d\"}\n", p, i, c[i % 5 + 1], o[i % 2 + 1], 1990 + i % 30, i % 12 + 1, i % 3, i;
			else
				printf "{\"id\":\"%s-%d\",\"type\":\"meeting\",\"country\":\"%s\",\"organization\":\"%s\",\"date\":\"%d-%02d-%02d\",\"summary\":\"event %d of %s\",\"participants\":[{\"name\":\"Person %d\",\"role\":\"envoy\"}]}\n", p, i, c[i % 5 + 1], o[i % 2 + 1], 1990 + i % 30, i % 12 + 1, i % 28 + 1, i, p, i;
		}
	}'
}

# rel_summary: the last line every suite prints, and its exit status.
rel_summary() {
	if [ "$known" -gt 0 ]; then
		echo "$NAME: $passed passed, $failed failed, $known checks failed by known bugs (see $KNOWN_BUGS)"
	else
		echo "$NAME: $passed passed, $failed failed"
	fi
	[ "$failed" -eq 0 ]
}
