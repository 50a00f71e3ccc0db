#!/usr/bin/env bash
# Import and export formats (issue "Import and export"): the same events as
# NDJSON, CSV and protobuf give the same statuses; dump | import round trip;
# a malformed record anywhere leaves the ledger unchanged; exports are
# deterministic, parse with jq and protoc --decode, and their checkpoint
# verifies; proved statuses check and refuse tampering. Needs $ANNALS, jq,
# protoc. Prints "N passed, M failed"; exits 1 on any failure.
set -u

[ -x "${ANNALS:-}" ] || { echo "test_formats.sh: set ANNALS" >&2; exit 2; }
here=$(cd "$(dirname "$0")/../.." && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/annals-formats-XXXXXX") || exit 2
trap 'rm -rf "$T"' EXIT
unset ANNALS_DIR ANNALS_KEY ANNALS_MAP_MARGIN_BYTES
passed=0 failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); printf 'FAIL: %s\n' "$*" >&2; }
check() { if "$@" >/dev/null; then ok; else bad "$*"; fi; }
a() { "$ANNALS" "$@"; }

# ---- one set of events in three formats ----
cat >"$T/ev.ndjson" <<'J'
{"id":"o1","type":"organization","organization":"taliban","name":"Taliban","aliases":["Islamic Emirate"]}
{"id":"e1","type":"listed","country":"KZ","organization":"taliban","date":"2005?","list":"banned-organizations","authority":"Supreme Court"}
{"id":"e2","type":"meeting","country":"KZ","organization":"taliban","date":"2023-12","summary":"A meeting, with \"quotes\", commas","participants":[{"name":"A","role":"envoy","country":"KZ"}]}
{"id":"e3","type":"delisted","country":"KZ","organization":"taliban","date":"2023-12-29","list":"banned-organizations","sources":[{"url":"https://example.org/a","title":"T","publisher":"P"}]}
{"id":"e4","type":"sanctions_imposed","country":"US","organization":"taliban","date":"1999-07-06"}
{"id":"r1","type":"retraction","retracts":"e4","reason":"wrong country"}
J
cat >"$T/ev.csv" <<'C'
id,type,country,organization,date,list,authority,summary,name,aliases,participants,source_url,source_title,source_publisher,retracts,reason
o1,organization,,taliban,,,,,Taliban,Islamic Emirate,,,,,,
e1,listed,KZ,taliban,2005?,banned-organizations,Supreme Court,,,,,,,,,
e2,meeting,KZ,taliban,2023-12,,,"A meeting, with ""quotes"", commas",,,A|envoy|KZ,,,,,
e3,delisted,KZ,taliban,2023-12-29,banned-organizations,,,,,,https://example.org/a,T,P,,
e4,sanctions_imposed,US,taliban,1999-07-06,,,,,,,,,,,
r1,retraction,,,,,,,,,,,,,e4,wrong country
C
for f in ndjson csv pb; do
	a -d "$T/$f" init >/dev/null || bad "init $f"
done
a -d "$T/ndjson" import "$T/ev.ndjson" >/dev/null; check [ $? -eq 0 ]
a -d "$T/csv" import "$T/ev.csv" >/dev/null; check [ $? -eq 0 ]
# The protobuf input: the NDJSON ledger's dump, encoded with protoc.
a -d "$T/ndjson" dump >"$T/dump.ndjson"
: >"$T/ev.pb"
while IFS= read -r line; do
	# One message a record: protoc's text format from the JSON fields.
	jq -r 'to_entries | map(
	  if (.value|type) == "array" then
	    (.key as $k | .value | map(if type == "object" then
	      "\($k) { " + (to_entries | map("\(.key): \(.value|@json)") | join(" ")) + " }"
	     else "\($k): \(@json)" end) | join(" "))
	  else "\(.key): \(.value|@json)" end) | join(" ")' <<<"$line" |
	protoc --proto_path="$here/proto" --encode=annals.InputEvent "$here/proto/annals.proto" >"$T/one.pb" ||
		bad "protoc --encode of $line"
	n=$(stat -c %s "$T/one.pb")
	# varint length (records here are < 16384 bytes)
	if [ "$n" -lt 128 ]; then printf "\\x$(printf %02x "$n")" >>"$T/ev.pb"
	else printf "\\x$(printf %02x $(( (n & 127) | 128 )))\\x$(printf %02x $((n >> 7)))" >>"$T/ev.pb"; fi
	cat "$T/one.pb" >>"$T/ev.pb"
done <"$T/dump.ndjson"
a -d "$T/pb" import --format pb "$T/ev.pb" >/dev/null; check [ $? -eq 0 ]
for d in 2005-06-01 2023-12-28 2023-12-29 2024-01-01; do
	for pair in "KZ taliban" "US taliban"; do
		set -- $pair
		s1=$(a -d "$T/ndjson" status "$1" "$2" --at $d --json | jq -c 'del(.as_of)')
		s2=$(a -d "$T/csv" status "$1" "$2" --at $d --json | jq -c 'del(.as_of)')
		s3=$(a -d "$T/pb" status "$1" "$2" --at $d --json | jq -c 'del(.as_of)')
		check [ -n "$s1" ]
		check [ "$s1" = "$s2" ]
		check [ "$s1" = "$s3" ]
	done
done
# Derived and given ids agree across formats: the same dump.
check cmp -s "$T/dump.ndjson" <(a -d "$T/csv" dump)
check cmp -s "$T/dump.ndjson" <(a -d "$T/pb" dump)

# ---- dump | import round trip, on the example ----
a -d "$T/ex" init >/dev/null
a -d "$T/ex" import "$here/docs/examples/kazakhstan-taliban.ndjson" >/dev/null
a -d "$T/ex" retract kz-taliban-meeting-2023-12 --reason test >/dev/null
a -d "$T/ex2" init >/dev/null
a -d "$T/ex" dump | a -d "$T/ex2" import - >/dev/null; check [ $? -eq 0 ]
for d in 2004-01-01 2005-06-01 2023-12-28 2023-12-29 2030-01-01; do
	check [ "$(a -d "$T/ex" status KZ taliban --at $d --json | jq -c 'del(.lists[].seq, .last_change.seq, .recognition, .as_of)')" = \
	        "$(a -d "$T/ex2" status KZ taliban --at $d --json | jq -c 'del(.lists[].seq, .last_change.seq, .recognition, .as_of)')" ]
done

# ---- a malformed record first, in the middle, last: nothing written ----
seq 1 300 | while read -r i; do
	printf '{"id":"big-%d","type":"meeting","country":"KZ","organization":"taliban","date":"2001-01-%02d"}\n' "$i" $((i % 28 + 1))
done >"$T/big.ndjson"
before=$(a -d "$T/ex" log --json | tail -1 | jq -r .leaf_hash)
for at in 1 150 300; do
	sed "${at}s/\"date\":\"[^\"]*\"/\"date\":\"2001-02-30\"/" "$T/big.ndjson" >"$T/bad.ndjson"
	a -d "$T/ex" import "$T/bad.ndjson" >/dev/null 2>"$T/err"; rc=$?
	check [ $rc -eq 3 ]
	check grep -q "bad.ndjson:$at: date: " "$T/err"
	check [ "$(a -d "$T/ex" log --json | tail -1 | jq -r .leaf_hash)" = "$before" ]
done

# ---- exports ----
E="$T/ex"
a -d "$E" export --at 2023-12-28 -o "$T/s1.json" 2>/dev/null; check [ $? -eq 0 ]
size=$(jq .tree_size "$T/s1.json")
a -d "$E" add --type meeting --country AF --org taliban --date 2024-05-01 >/dev/null
a -d "$E" export --at 2023-12-28 --as-of "$size" -o "$T/s2.json" 2>/dev/null
check cmp -s "$T/s1.json" "$T/s2.json"
check jq -e '.relationships | length == 1' "$T/s1.json"
a -d "$E" key >"$T/vkey"
a -d "$E" check "$T/s1.json" --vkey "$T/vkey" >/dev/null; check [ $? -eq 0 ]
jq -j .checkpoint "$T/s1.json" >"$T/s1.note"
a check --checkpoint "$T/s1.note" --vkey "$T/vkey" >/dev/null; check [ $? -eq 0 ]
a -d "$E" export --format pb -o "$T/s.pb" 2>/dev/null; check [ $? -eq 0 ]
protoc --proto_path="$here/proto" --decode=annals.Snapshot "$here/proto/annals.proto" <"$T/s.pb" >"$T/s.txt"
check [ $? -eq 0 ]
check grep -q 'organization: "taliban"' "$T/s.txt"
a check "$T/s.pb" --vkey "$T/vkey" >/dev/null; check [ $? -eq 0 ]
a -d "$E" export --format csv -o "$T/s.csv" 2>/dev/null; check [ $? -eq 0 ]
check [ -s "$T/s.csv.checkpoint" ]
check grep -q '^country,organization,organization_name,' "$T/s.csv"
a -d "$E" export --format csv >/dev/null 2>&1; check [ $? -eq 2 ]

# ---- proved statuses ----
a -d "$E" status KZ taliban --at 2023-12-28 --prove -o "$T/b.json"; check [ $? -eq 0 ]
a check "$T/b.json" --vkey "$T/vkey" >"$T/out"; check [ $? -eq 0 ]
check [ "$(a -d "$E" status KZ taliban --at 2023-12-28 --json | jq -c '.listed, .meetings, .version')" = \
        "$(a check "$T/b.json" --vkey "$T/vkey" --json | jq -c '.listed, .meetings, .version')" ]
# An event left out, a byte changed, another relationship's heads proof.
jq -c '.events |= .[1:]' "$T/b.json" >"$T/b1.json"
a check "$T/b1.json" --vkey "$T/vkey" >/dev/null 2>&1; check [ $? -eq 1 ]
jq -c '.events[0].envelope |= (.[0:10] + (if .[10:11] == "A" then "B" else "A" end) + .[11:])' "$T/b.json" >"$T/b2.json"
a check "$T/b2.json" --vkey "$T/vkey" >/dev/null 2>&1; check [ $? -eq 1 ]
a -d "$E" status AF taliban --prove -o "$T/b3.json"
jq -c --slurpfile o "$T/b3.json" '.heads_proof = $o[0].heads_proof' "$T/b.json" >"$T/b4.json"
a check "$T/b4.json" --vkey "$T/vkey" >/dev/null 2>&1; check [ $? -eq 1 ]
# A relationship with no events: a non-membership bundle.
a -d "$E" status US taliban --prove -o "$T/b5.json"; check [ $? -eq 0 ]
check jq -e '.heads_proof.kind != "member" and (.events | length == 0)' "$T/b5.json"
a check "$T/b5.json" --vkey "$T/vkey" --json >"$T/out"; check [ $? -eq 0 ]
check jq -e '.version == 0 and .listed == false' "$T/out"

printf '%d passed, %d failed\n' "$passed" "$failed"
[ "$failed" -eq 0 ]
