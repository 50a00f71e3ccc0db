#!/usr/bin/env bash
# Regenerates the seed corpora of the fuzz targets in tests/fuzz/corpus/
# (committed; run again only when the formats change):
#   make && ANNALS=$PWD/build/annals bash tests/fuzz/make_seeds.sh
# ndjson, csv, pb: small valid and invalid records; date: EDTF and RFC 3339
# texts; envelope, body: records stored by a real ledger (show --raw and
# --raw-body); fold: projection folds ("status" and "agg" databases).
set -euo pipefail
: "${ANNALS:?set ANNALS to the annals binary}"
cd "$(dirname "$0")"
C=corpus
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
rm -rf "$C"
mkdir -p "$C"/{ndjson,csv,pb,date,envelope,body,fold}
EX=../../docs/examples/kazakhstan-taliban.ndjson

# ---- ndjson: each line of the example, the whole file, edge cases ----
i=0
while IFS= read -r line; do
	i=$((i + 1)); printf '%s\n' "$line" >"$C/ndjson/example-$i"
done <"$EX"
cp "$EX" "$C/ndjson/example-all"
printf '%s\n' \
 '{"type":"meeting","country":"KZ","organization":"taliban","date":"2023-12","participants":[{"name":"A","role":"B","country":"AF"}]}' \
 '{"type":"retraction","retracts":"x","reason":"wrong"}' \
 '{"type":"redaction","redacts":"x","reason":"court"}' \
 '{"type":"statement","country":"KAZ","organization":"Taliban","date":"2023-XX-XX~","expect_version":3}' \
 '{"type":"sanctions_imposed","country":"United States","organization":"t","date":"1999-07-06%","authority":"US Treasury","instrument":"EO 13129"}' \
 '{"type":"organization","organization":"o","name":"N","aliases":["a","b"],"external_ids":["un:QDe.001","opensanctions:x"]}' \
 >"$C/ndjson/types"
printf '\xef\xbb\xbf{"type":"statement","country":"KZ","organization":"t","date":"2023"}\r\n\n\n{"type":1}\n{\n' >"$C/ndjson/bom-crlf-bad"
printf '{"type":"listed","country":"KZ","organization":"t","date":"2023-02-30","list":"l","colour":"red","sources":[{"url":"u","bogus":1}]}' >"$C/ndjson/bad-fields"

# ---- csv ----
printf '%s\n' 'id,type,country,organization,date,list,authority,instrument,summary,retracts,redacts,reason,name,aliases,external_ids,expect_version,source_url,source_title,source_publisher,source_date,source_language,source_quote,participants' \
 'e1,listed,KZ,taliban,2023-12-29,banned,Court,Decree 5,Sum,r1,d1,Why,Taliban,A;B,wikidata:Q42,7,https://x.test/a,Title,Pub,2023-12,en,Quote,P|Role|AF' >"$C/csv/all-columns"
printf '%s\n' 'type,country,organization,date,summary' \
 'meeting,KZ,taliban,2023-12,"met, in ""Kabul"""' \
 'statement,Kazakhstan,Taliban,2024?,' '' 'delisted,KZ,taliban,2023-12-29' >"$C/csv/quoted"
printf 'type,organization,name,aliases\r\norganization,taliban,Taliban,"Islamic Emirate;IEA"\r\n' >"$C/csv/crlf-org"
printf 'id,type\n1,listed,extra\n2\n"3,listed\n' >"$C/csv/ragged"
printf 'id,colour\nx,red\n' >"$C/csv/unknown-column"

# ---- pb: varint-length-delimited annals.InputEvent ----
pb() {   # pb NAME TEXTPROTO...: one framed message per argument
	local out="$C/pb/$1"; shift
	: >"$out"
	for m in "$@"; do
		printf '%s' "$m" | protoc --proto_path=../../proto \
			--encode=annals.InputEvent annals.proto >"$T/msg"
		local n; n=$(stat -c %s "$T/msg")
		if [ "$n" -lt 128 ]; then
			printf "\\x$(printf %02x "$n")" >>"$out"
		else
			printf "\\x$(printf %02x $(( (n & 127) | 128 )))\\x$(printf %02x $((n >> 7)))" >>"$out"
		fi
		cat "$T/msg" >>"$out"
	done
}
pb one 'type: "meeting" country: "KZ" organization: "taliban" date: "2023-12"'
pb org 'type: "organization" organization: "taliban" name: "Taliban" aliases: "Islamic Emirate" external_ids: "wikidata:Q42418"'
pb full 'id: "e1" type: "listed" country: "KZ" organization: "taliban" date: "2005?" list: "banned" authority: "Court" instrument: "Decree" summary: "S" sources { url: "https://x.test" title: "T" publisher: "P" date: "2023" language: "en" quote: "Q" } participants { name: "N" role: "R" country: "AF" } expect_version { version: 2 }'
pb two 'type: "retraction" retracts: "e1" reason: "wrong"' 'type: "redaction" redacts: "e1" reason: "court"'
printf '\x05\x0a\x03abc' >"$C/pb/short"          # announces 5, holds 5 of a bad message
printf '\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01' >"$C/pb/long-varint"

# ---- date ----
d=0
for s in 2023 2023-12 2023-12-29 2023? 2023~ 2023% 2023-12-XX 2023-XX-XX 2023-XX \
	2024-02-29 0001-01-01 9999-12-31 2023-02-30 2023-13 0000 10000 2023-12-xx \
	"2024-01-02T03:04:05Z" "2024-01-02T03:04:05.123456+05:30" "1970-01-01T00:00:00Z"; do
	d=$((d + 1)); printf '%s' "$s" >"$C/date/d$d"
done

# ---- envelope, body, fold: from a real ledger ----
DB="$T/db"
"$ANNALS" -d "$DB" init >/dev/null
"$ANNALS" -d "$DB" import "$EX" >/dev/null
printf '%s\n' \
 '{"id":"m1","type":"meeting","country":"KZ","organization":"taliban","date":"2023-12","participants":[{"name":"A","role":"B","country":"AF"}]}' \
 '{"type":"retraction","retracts":"m1","reason":"wrong"}' \
 '{"id":"s1","type":"sanctions_imposed","country":"United States","organization":"taliban","date":"1999-07-06%","authority":"US Treasury","instrument":"EO 13129"}' \
 '{"type":"sanctions_lifted","country":"US","organization":"taliban","date":"2002-07-XX"}' \
 '{"type":"redaction","redacts":"s1","reason":"court"}' \
 '{"type":"mission_opened","country":"CN","organization":"taliban","date":"2023~"}' \
 '{"type":"relations_established","country":"CN","organization":"taliban","date":"2024"}' \
 '{"type":"listed","country":"RU","organization":"taliban","date":"2003","list":"terrorist-organizations"}' \
 '{"type":"listed","country":"RU","organization":"taliban","date":"2003","list":"fto"}' \
 '{"type":"delisted","country":"RU","organization":"taliban","date":"2025-04","list":"fto"}' \
 >"$T/more.ndjson"
"$ANNALS" -d "$DB" import "$T/more.ndjson" >/dev/null
"$ANNALS" -d "$DB" add --type listed --country KZ --org taliban --date 2001 \
	--list fto --authority A >/dev/null
"$ANNALS" -d "$DB" add --type recognized --country AF --org taliban --date 2021-08-XX \
	--participant "N|R|AF" --source https://x.test/a >/dev/null
n=$("$ANNALS" -d "$DB" stats --json | jq -r .events)
for ((s = 1; s <= n; s++)); do
	"$ANNALS" -d "$DB" show "$s" --raw >"$C/envelope/seq-$s"
	"$ANNALS" -d "$DB" show "$s" --raw-body >"$C/body/seq-$s" 2>/dev/null || rm -f "$C/body/seq-$s"
done
# mdb_dump prints each value as one line of hex after its key line.
{ mdb_dump -s status "$DB"; mdb_dump -s agg "$DB"; } | awk 'p && /^ / { if (!k) { print substr($0, 2) } k = !k } /^HEADER=END/ { p = 1; k = 1 }' |
	head -n 40 | while IFS= read -r hex; do
		f="$C/fold/$(printf '%s' "$hex" | sha1sum | cut -c1-12)"
		printf '%s' "$hex" | sed 's/../\\x&/g' | xargs -0 printf >"$f"
	done
for t in ndjson csv pb date envelope body fold; do
	printf '%s: %s seeds\n' "$t" "$(ls "$C/$t" | wc -l)"
done
