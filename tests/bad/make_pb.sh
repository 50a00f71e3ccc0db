#!/usr/bin/env bash
# Writes the protobuf cases of the bad-input corpus, tests/bad/pb/*.pb
# (committed; run again only to change them): bash tests/bad/make_pb.sh
# Each file is a stream of varint-length-delimited annals.InputEvent
# messages (DESIGN §4); record 1 is valid and record 2 is the bad one,
# except where a case says otherwise. Encoded by hand, byte by byte, so
# that malformed encodings (wrong wire types, lying lengths, invalid UTF-8)
# can be written too.
set -euo pipefail
cd "$(dirname "$0")/pb"
rm -f ./*.pb

# Everything is built as lower-case hex, then written as bytes.
varint() {
	local n=$1 out=""
	while [ "$n" -ge 128 ]; do
		out+=$(printf '%02x' $(( (n & 127) | 128 )))
		n=$(( n >> 7 ))
	done
	printf '%s%02x' "$out" "$n"
}
hexof() { printf '%s' "$1" | od -An -tx1 -v | tr -d ' \n'; }
# field NUM HEX: a length-delimited field holding the bytes HEX.
field() { printf '%s%s%s' "$(varint $(( $1 << 3 | 2 )))" "$(varint $(( ${#2} / 2 )))" "$2"; }
str() { field "$1" "$(hexof "$2")"; }
# frame HEX: a length prefix, then the message.
frame() { printf '%s%s' "$(varint $(( ${#1} / 2 )))" "$1"; }
write() { printf '%s' "$2" | sed 's/../\\x&/g' | xargs -0 printf '%b' >"$1.pb"; }

event() {   # event ID TYPE COUNTRY ORG DATE: the common fields
	printf '%s' "$(str 1 "$1")$(str 2 "$2")$(str 3 "$3")$(str 4 "$4")$(str 5 "$5")"
}
OK=$(frame "$(event ok-1 meeting KZ taliban 2024-01-02)$(str 9 'a valid record before the bad one')")
bad() { write "$1" "$OK$(frame "$2")"; }

# Framing
write truncated-record "$OK$(varint 40)$(event x meeting KZ taliban 2024 | cut -c1-30)"
write lying-length-huge "$OK$(varint 1099511627776)$(event x meeting KZ taliban 2024)"
write lying-length-short "$OK$(varint 3)$(event x meeting KZ taliban 2024)"
write varint-too-long "${OK}ffffffffffffffffffff01$(event x meeting KZ taliban 2024)"
write varint-truncated "${OK}8080"
# Message encoding
bad garbage "ffffffffffff0102030405"
bad wrong-wire-type "$(event x meeting KZ taliban 2024)10$(varint 5)"
bad field-length-past-end "$(str 1 x)$(varint $(( 2 << 3 | 2 )))$(varint 100)6d656574"
bad unknown-field-number "$(event x meeting KZ taliban 2024)$(str 99 surprise)"
bad invalid-utf8 "$(event x meeting KZ taliban 2024)$(field 9 63616fe9)"
bad nul-in-string "$(event x meeting KZ taliban 2024)$(field 9 610062)"
# Content
bad missing-type "$(str 1 x)$(str 3 KZ)$(str 4 taliban)$(str 5 2024)"
bad bad-date "$(event x meeting KZ taliban 2023-02-30)"
bad year-0000 "$(event x meeting KZ taliban 0000)"
bad unknown-country "$(event x meeting XX taliban 2024)"
bad unknown-organization "$(event x meeting KZ nobody 2024)"
bad id-too-long "$(event "$(printf 'i%.0s' $(seq 129))" meeting KZ taliban 2024)"
bad expect-version-stale "$(event x meeting KZ taliban 2024)$(field 18 "08$(varint 0)")"
bad expect-version-max "$(event x meeting KZ taliban 2024)$(field 18 "08ffffffffffffffffff01")"
bad duplicate-id-other-content "$(event base-1 meeting KZ taliban 2024)$(str 9 'not what base-1 says')"
bad retraction-unknown-id "$(str 2 retraction)$(str 12 no-such-event)$(str 14 wrong)"
bad redaction-unknown-id "$(str 2 redaction)$(str 13 no-such-event)$(str 14 'court order')"
bad source-unknown-field "$(event x meeting KZ taliban 2024)$(field 10 "$(str 1 https://example.org/a)$(str 9 x)")"
ls | wc -l
