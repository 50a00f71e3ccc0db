#!/usr/bin/env bash
# Bad input of any kind (DESIGN §4, §8; issue 8 item 3): every case of the
# corpus in tests/bad/ (listed with its line and field in tests/bad/EXPECTED)
# is imported from its file and again from stdin; each must exit 3, report
# "FILE:LINE: FIELD: ..." (stdin: "-:LINE: FIELD: ..."), and leave the
# ledger byte for byte unchanged: the same data.mdb (SHA-256), dump and tip.
# Also over-long lines and rows (generated) and bad `add` arguments,
# including a stale --expect-version. Needs $ANNALS and jq. Prints the
# counts; exits 1 on any failure.
set -u
NAME=test_bad_inputs
HERE=$(cd "$(dirname "$0")" && pwd)
BAD=$HERE/../bad
. "$HERE/../reliability/lib.sh"
cd "$T" || exit 2

# The ledger the cases are refused by: an organization, two meetings of
# (KZ, taliban) and a retraction.
"$ANNALS" -d db init --origin example.org/bad >/dev/null || exit 2
"$ANNALS" -d db import - >/dev/null <<'EOF2' || exit 2
{"id":"org-taliban","type":"organization","organization":"taliban","name":"Taliban","aliases":["Islamic Emirate"]}
{"id":"base-1","type":"meeting","country":"KZ","organization":"taliban","date":"2023-12","summary":"the first meeting"}
{"id":"base-2","type":"meeting","country":"KZ","organization":"taliban","date":"2023-11"}
{"id":"base-retraction","type":"retraction","retracts":"base-2","reason":"never happened"}
EOF2
cp -a db pristine

# The checks read the ledger with $ANNALS_CHECK when set (test_valgrind.sh
# sets it to the plain binary: only the refused commands need valgrind).
CHECK=${ANNALS_CHECK:-$ANNALS}
fingerprint() {
	printf '%s %s %s' "$(sha256sum <db/data.mdb | cut -c1-16)" \
		"$("$CHECK" -d db dump | sha256sum | cut -c1-16)" \
		"$("$CHECK" -d db log --json | tail -n 1 | jq -r .leaf_hash)"
}
want=$(fingerprint)
refused=0 cases=0

# refuse WHAT LINE FIELD NAME ARGS...: `annals -d db ARGS` exits 3, reports
# NAME:LINE: FIELD: and changes nothing (else the ledger is restored, so one
# failure does not hide the next).
refuse() {
	local what=$1 line=$2 field=$3 name=$4
	shift 4
	"$ANNALS" -d db "$@" >"$T/out" 2>"$T/err"
	local code=$? ok=1
	if [ "$code" -ne 3 ]; then
		fail "$what: exit $code, want 3: $(head -c 300 "$T/err")"; ok=0
	elif ! grep -qF -- "$name:$line: $field: " "$T/err"; then
		fail "$what: no '$name:$line: $field: ' in: $(head -c 300 "$T/err")"; ok=0
	fi
	local got
	got=$(fingerprint)
	if [ "$got" != "$want" ]; then
		fail "$what: the ledger changed (data.mdb, dump, tip: $want -> $got)"
		rm -rf db && cp -a pristine db
		ok=0
	fi
	if [ "$ok" -eq 1 ]; then refused=$((refused + 1)); pass; fi
}

cp -r "$BAD/ndjson" "$BAD/csv" "$BAD/pb" .
while read -r file line field bug; do
	case $file in ''|'#'*) continue ;; esac
	fmt=${file%%/*}
	cases=$((cases + 1))
	known_begin "${bug#known:}"
	refuse "$file" "$line" "$field" "$file" import --format "$fmt" "$file"
	# (test_valgrind.sh sets REL_BAD_STDIN=0: the same code, twice as slow.)
	[ "${REL_BAD_STDIN:-1}" = 0 ] ||
		refuse "$file from stdin" "$line" "$field" "-" import --format "$fmt" - <"$file"
	known_end
done <"$BAD/EXPECTED"
listed=$cases
for f in ndjson/* csv/* pb/*; do
	grep -q "^$f " "$BAD/EXPECTED" || fail "$f is not listed in tests/bad/EXPECTED"
done

# Over-long lines and rows, made here rather than stored.
{
	echo '{"id":"ok-1","type":"meeting","country":"KZ","organization":"taliban","date":"2024-01-02"}'
	printf '{"id":"x","type":"meeting","country":"KZ","organization":"taliban","date":"2024","summary":"'
	head -c 1100000 /dev/zero | tr '\0' s
	echo '"}'
	echo '{"id":"ok-2","type":"meeting","country":"KZ","organization":"taliban","date":"2024-01-03"}'
} >long.ndjson
{
	echo 'id,type,country,organization,date,summary'
	echo 'ok-1,meeting,KZ,taliban,2024,s'
	printf 'x,meeting,KZ,taliban,2024,'
	head -c 1100000 /dev/zero | tr '\0' s
	echo
	echo 'ok-2,meeting,KZ,taliban,2024,t'
} >long.csv
cases=$((cases + 2))
refuse "a line over 1 MiB" 2 line long.ndjson import long.ndjson
refuse "a CSV row over 1 MiB" 3 record long.csv import --format csv long.csv

# Bad arguments to add: the same rules, messages "annals add: FIELD: ...".
# A version that is a whole number but out of range, or not a number, is a
# bad option instead: exit 2, naming the option.
usage=0
# add_expect CODE MSG WHAT ARGS...: `annals add ARGS` exits CODE, says
# "annals add: MSG" and changes nothing.
add_expect() {
	local want_code=$1 msg=$2 what=$3
	shift 3
	cases=$((cases + 1))
	"$ANNALS" -d db add "$@" >"$T/out" 2>"$T/err"
	local code=$?
	if [ "$code" -eq "$want_code" ] && grep -qF -- "annals add: $msg" "$T/err" &&
		[ "$(fingerprint)" = "$want" ]; then
		if [ "$want_code" -eq 3 ]; then refused=$((refused + 1)); else usage=$((usage + 1)); fi
		pass
	else
		fail "add $what: exit $code, want $want_code saying '$msg' and nothing written: $(head -c 300 "$T/err")"
		rm -rf db && cp -a pristine db
	fi
}
add_refuse() { local what=$1 field=$2; shift 2; add_expect 3 "$field: " "$what" "$@"; }
add_usage() { local what=$1 msg=$2; shift 2; add_expect 2 "$msg" "$what" "$@"; }
add_refuse "a stale --expect-version" expect_version --expect-version 1 \
	--type meeting --country KZ --org taliban --date 2024
add_refuse "--expect-version 2^63-1" expect_version --expect-version 9223372036854775807 \
	--type meeting --country KZ --org taliban --date 2024
add_usage "--expect-version 2^63" "--expect-version 9223372036854775808: out of range" \
	--expect-version 9223372036854775808 --type meeting --country KZ --org taliban --date 2024
add_usage "--expect-version 2^64" "--expect-version 18446744073709551616: out of range" \
	--expect-version 18446744073709551616 --type meeting --country KZ --org taliban --date 2024
add_usage "--expect-version -1" "--expect-version takes a whole number" \
	--expect-version -1 --type meeting --country KZ --org taliban --date 2024
add_refuse "2023-02-30" date --type meeting --country KZ --org taliban --date 2023-02-30
add_refuse "an unknown country" country --type meeting --country Atlantis --org taliban --date 2024
add_refuse "an unknown organization" organization --type meeting --country KZ --org nobody --date 2024
add_refuse "a duplicate id with other content" id --id base-1 --type meeting \
	--country KZ --org taliban --date 2024 --summary "other"

echo "$NAME: $cases bad inputs ($listed in tests/bad from files and from stdin), $refused refusals with exit 3, the line and field named, and $usage bad options with exit 2, the option named; the ledger unchanged"
rel_summary
