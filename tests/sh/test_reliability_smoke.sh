#!/usr/bin/env bash
# A short version of the reliability suites for `make test` (the full ones
# run in `make check-reliability`, see docs/RELIABILITY.md): SIGKILL at
# every write and sync call of a small import and of an add (killshim.so),
# a few random-time kills of an import, and a few one-byte changes of
# stored envelopes, bodies, Merkle tiles and checkpoints (tamper), each
# found by verify naming the seq or node. Needs $ANNALS and the tools of
# tests/reliability built in $REL_BUILD (default: next to $ANNALS).
set -u
NAME=test_reliability_smoke
. "$(cd "$(dirname "$0")/../reliability" && pwd)/lib.sh"
for f in "$SHIM" "$TAMPER"; do
	[ -e "$f" ] || { echo "$NAME: $f is missing (make builds it)" >&2; exit 2; }
done
cd "$T" || exit 2
RANDOM=5

"$ANNALS" -d base init >/dev/null || exit 2
rel_org | "$ANNALS" -d base import - >/dev/null || exit 2
rel_events base 100 | "$ANNALS" -d base import - >/dev/null || exit 2
"$ANNALS" -d base checkpoint >/dev/null || exit 2
rel_events small 5 >small.ndjson
rel_events big 5000 >big.ndjson

kills=0
# kill_each NAME COMMAND...: SIGKILL at each call of COMMAND (run in ./db),
# before, after and halfway through it; the ledger verifies and is as
# before or as after.
kill_each() {
	local name=$1 n mode total before after got
	shift
	rm -rf db && cp -a base db
	before=$(state db)
	(cd db && ANNALS_KILL_COUNT="$T/count" LD_PRELOAD="$SHIM_PRELOAD" "$@") >/dev/null 2>&1 ||
		{ fail "$name: reference run"; return; }
	after=$(state db)
	total=$(head -n 1 "$T/count")
	for mode in before after short; do
		for ((n = 1; n <= total; n++)); do
			rm -rf db && cp -a base db
			# (A subshell that waits, so that bash reports the kill to
			# /dev/null.)
			(cd db && ANNALS_KILL_AT=$n ANNALS_KILL_WHEN=$mode LD_PRELOAD="$SHIM_PRELOAD" "$@"
			 exit $?) >/dev/null 2>&1
			[ $? -eq 137 ] || { fail "$name: call $n ($mode) not killed"; continue; }
			kills=$((kills + 1))
			verifies db || { fail "$name: killed at call $n ($mode): $(head -c 300 "$T/verify.out")"; continue; }
			got=$(state db)
			[ "$got" = "$before" ] || [ "$got" = "$after" ] && pass ||
				fail "$name: killed at call $n ($mode): neither before nor after"
		done
	done
}
kill_each import "$ANNALS" -d . import ../small.ndjson
kill_each add "$ANNALS" -d . add --id smoke-add --type meeting --country KZ --org taliban --date 2024

rm -rf db && cp -a base db
before=$(state db)
"$ANNALS" -d db import big.ndjson >/dev/null || fail "big import"
after=$(state db)
for ((i = 1; i <= 5; i++)); do
	rm -rf db && cp -a base db
	timeout --foreground -s KILL "0.$(printf '%02d' $((RANDOM % 40 + 2)))" \
		"$ANNALS" -d db import big.ndjson >/dev/null 2>&1
	[ $? -eq 137 ] && kills=$((kills + 1))
	verifies db || { fail "random kill $i: $(head -c 300 "$T/verify.out")"; continue; }
	got=$(state db)
	[ "$got" = "$before" ] || [ "$got" = "$after" ] && pass || fail "random kill $i: neither before nor after"
done

found=0
flip() {   # flip DB SEED PATTERN-PREFIX (of the key as a decimal number)
	rm -rf db && cp -a base db
	local out key want
	out=$("$TAMPER" db flip-random "$1" "$2") || { fail "tamper $1"; return; }
	key=${out%% *}
	case $1 in
	merkle) want=$(merkle_tile_pattern "$key") ;;
	*)      want="$3 $(printf '%d' "0x$key")([^0-9]|\$)" ;;
	esac
	"$ANNALS" -d db verify >/dev/null 2>"$T/err"
	local code=$?
	if [ "$code" -eq 1 ] && grep -Eq "$want" "$T/err"; then
		found=$((found + 1)); pass
	else
		fail "$1 $out: verify exit $code: $(head -c 300 "$T/err")"
	fi
}
for s in 1 2 3 4 5; do
	flip events "$s" "seq"
	flip bodies "$s" "seq"
	flip merkle "$s" "merkle tile"
	flip checkpoints "$s" "checkpoint.*"
done

echo "$NAME: $kills kills survived, $found of 20 changed records found"
rel_summary
