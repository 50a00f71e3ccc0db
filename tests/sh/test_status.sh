#!/usr/bin/env bash
# Projections on the command line (DESIGN §6, §7): status, timeline,
# changes (by date and by seq) and rebuild, with --json checked field by
# field with jq; retractions recorded later, late events with early dates,
# as-of a seq or an RFC 3339 time; exit codes of bad dates, unknown
# countries and unknown or ambiguous organizations; --help. Needs $ANNALS
# (the annals binary), jq and coreutils. Prints "N passed, M failed"; exits
# 1 on any failure.
set -u

if [ -z "${ANNALS:-}" ] || [ ! -x "$ANNALS" ]; then
	echo "test_status.sh: set ANNALS to the path of the annals binary" >&2
	exit 2
fi
command -v jq >/dev/null || { echo "test_status.sh: jq is required" >&2; exit 2; }
case "$ANNALS" in /*) ;; *) ANNALS="$PWD/$ANNALS" ;; esac
EXAMPLE="$(cd "$(dirname "$0")/../.." && pwd)/docs/examples/kazakhstan-taliban.ndjson"
[ -r "$EXAMPLE" ] || { echo "test_status.sh: cannot read $EXAMPLE" >&2; exit 2; }

T=$(mktemp -d "${TMPDIR:-/tmp}/annals-status-XXXXXX") || exit 2
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 2
unset ANNALS_DIR ANNALS_KEY ANNALS_MAP_MARGIN_BYTES
DB="$T/ledger"

passed=0
failed=0

pass() { passed=$((passed + 1)); }
fail() {
	failed=$((failed + 1))
	printf 'FAIL: %s\n' "$*" >&2
}

# run ARGS...: annals -d $DB ARGS, stdout in $T/out, stderr in $T/err,
# exit code in $rc.
run() {
	"$ANNALS" -d "$DB" "$@" >"$T/out" 2>"$T/err"
	rc=$?
}

# expect_rc WANT WHAT
expect_rc() {
	if [ "$rc" -eq "$1" ]; then
		pass
	else
		fail "$2: exit $rc, want $1; stderr: $(head -c 400 "$T/err")"
	fi
}

# same GOT WANT WHAT
same() {
	if [ "$1" = "$2" ]; then
		pass
	else
		fail "$3: got '$1', want '$2'"
	fi
}

# field FILTER WANT WHAT: jq -c FILTER of $T/out (one JSON document, or
# with -s several) equals WANT.
field() {
	local got
	got=$(jq -c "$1" "$T/out" 2>&1)
	same "$got" "$2" "$3 ($1)"
}
fields() {
	local got
	got=$(jq -s -c "$1" "$T/out" 2>&1)
	same "$got" "$2" "$3 ($1)"
}

# has FILE TEXT WHAT
has() {
	if grep -qF -- "$2" "$1"; then
		pass
	else
		fail "$3: '$2' not in $(basename "$1"): $(head -c 400 "$1")"
	fi
}

empty() {
	if [ ! -s "$1" ]; then
		pass
	else
		fail "$2: $(basename "$1") is not empty: $(head -c 400 "$1")"
	fi
}

# ---- a ledger with the example ----

run init
expect_rc 0 "init"
run import "$EXAMPLE"
expect_rc 0 "import the example"
# seq 1 organization, 2 listed 2005?, 3 delisted 2023-12-29, 4 meeting
# 2023-12, 5 statement 2023-12. seq 6: another organization with the alias
# "Islamic Emirate", for ambiguity.
run org add emirate-party --name "Emirate Party" --alias "Islamic Emirate"
expect_rc 0 "org add emirate-party"

# ---- status --json, field by field ----

run status KZ taliban --at 2023-12-28 --json
expect_rc 0 "status on 2023-12-28"
field 'keys' '["as_of","at","certain","country","last_change","listed","lists","meetings","mission","organization","recognition","relations","sanctions","version"]' "status keys"
field '.country' '"KZ"' "status country"
field '.organization' '"taliban"' "status organization"
field '.at' '"2023-12-28"' "status at"
field '.as_of' '6' "status as_of is the newest seq"
field '.listed' 'true' "listed on 2023-12-28"
field '.certain' 'false' "uncertain inside the meeting's month"
field '.lists | length' '1' "one list"
field '.lists[0].list' '"banned-organizations"' "list name"
field '.lists[0].since' '"2005?"' "list since, as written"
field '.lists[0].authority' '"Supreme Court of Kazakhstan"' "list authority"
field '.lists[0].seq' '2' "list seq"
for axis in recognition relations mission sanctions; do
	field ".$axis" '{"state":"none","since":null}' "$axis none"
done
field '.meetings' '{"count":1,"last":"2023-12"}' "meetings on 2023-12-28"
field '.last_change' '{"seq":4,"date":"2023-12","type":"meeting"}' "last change on 2023-12-28"
field '.version' '4' "version"
cp "$T/out" "$T/status-1228.json"

run status KZ taliban --at 2023-12-29 --json
expect_rc 0 "status on 2023-12-29"
field '.listed' 'false' "not listed on 2023-12-29"
field '.lists' '[]' "no list on 2023-12-29"
field '.certain' 'false' "still uncertain on 2023-12-29"
field '.last_change' '{"seq":3,"date":"2023-12-29","type":"delisted"}' "last change on 2023-12-29"
field '.meetings.count' '1' "meeting still counted"

run status KZ taliban --at 2024-01-01 --json
field '.certain' 'true' "certain after the meeting's month"
run status KZ taliban --at 2005-06-01 --json
field '[.listed, .certain]' '[true,false]' "listed but uncertain inside 2005"
run status KZ taliban --at 2004-12-31 --json
field '[.listed, .certain, .last_change]' '[false,true,null]' "nothing before 2005"

# Text output.
run status KZ taliban --at 2023-12-28
expect_rc 0 "status text"
has "$T/out" "listed       yes" "text: listed yes"
has "$T/out" "on banned-organizations since 2005?, by Supreme Court of Kazakhstan (seq 2)" "text: the list"
has "$T/out" "certain      no" "text: uncertain"
run status KZ taliban --at 2023-12-29
has "$T/out" "listed       no" "text: listed no"
has "$T/out" "last change  delisted on 2023-12-29 (seq 3)" "text: last change"

# Names: English name, alpha-3, alias, any case.
run status Kazakhstan "islamic emirate of afghanistan" --at 2023-12-28 --json
expect_rc 0 "status by names"
same "$(cat "$T/out")" "$(cat "$T/status-1228.json")" "status by name and alias equals by code and slug"
run status kaz TALIBAN --at 2023-12-28 --json
same "$(cat "$T/out")" "$(cat "$T/status-1228.json")" "status by alpha-3 and upper-case slug"

# Another country: nothing, version 0.
run status US taliban --at 2023-12-28 --json
expect_rc 0 "status of a relationship without events"
field '[.version, .listed, .lists, .meetings, .last_change, .certain]' '[0,false,[],{"count":0,"last":null},null,true]' "empty status"

# ---- a retraction recorded later, a late event with an early date ----

run retract kz-taliban-meeting-2023-12 --reason "wrong month"
expect_rc 0 "retract the meeting"
has "$T/out" "seq 7" "the retraction is seq 7"
sleep 0.01
run add --type sanctions_imposed --country KZ --org taliban --date 1999 --authority "Council"
expect_rc 0 "add a late event dated 1999"
has "$T/out" "seq 8" "the late event is seq 8"

run status KZ taliban --at 2024-01-01 --json
field '[.as_of, .version]' '[8,6]' "version counts the retraction and the late event"
field '.meetings' '{"count":0,"last":null}' "the retracted meeting is gone"
field '.sanctions' '{"state":"imposed","since":"1999"}' "sanctions since 1999"
field '.last_change' '{"seq":3,"date":"2023-12-29","type":"delisted"}' "last change in date order"

# The answer as of seq 6 does not change.
run status KZ taliban --at 2023-12-28 --as-of 6 --json
same "$(cat "$T/out")" "$(cat "$T/status-1228.json")" "as of seq 6 the answer is unchanged"
run status KZ taliban --at 2000-01-01 --as-of 7 --json
field '[.as_of, .version, .sanctions.state]' '[7,5,"none"]' "as of seq 7 the late event was unknown"
run status KZ taliban --at 2000-01-01 --json
field '.sanctions.state' '"imposed"' "as of the newest it is known"
run status KZ taliban --at 1999-06-30 --json
field '[.sanctions.state, .certain]' '["imposed",false]' "inside 1999: imposed, uncertain"

# As of an RFC 3339 time: the last seq recorded at or before it.
run show 6 --json
t6=$(jq -r .recorded_at "$T/out")
run show 7 --json
t7=$(jq -r .recorded_at "$T/out")
if [ "$t6" != "$t7" ]; then
	run status KZ taliban --at 2024-01-01 --as-of "$t6" --json
	expect_rc 0 "status as of an RFC 3339 time"
	field '[.as_of, .meetings.count, .version]' '[6,1,4]' "as of seq 6's recorded_at"
else
	fail "seq 6 and 7 were recorded in the same microsecond: cannot test as-of a time"
fi
run status KZ taliban --at 2024-01-01 --as-of 1970-01-01T00:00:00Z --json
expect_rc 0 "status as of 1970"
field '[.as_of, .version, .listed]' '[0,0,false]' "as of a time before the ledger"
run status KZ taliban --at 2024-01-01 --as-of 9999-01-01T00:00:00+05:00 --json
field '.as_of' '8' "as of a time far ahead"

# ---- timeline ----

run timeline KZ taliban --json
expect_rc 0 "timeline --json"
fields '[.[].seq]' '[8,2,4,5,3]' "timeline order: date start, then seq"
fields '[.[].date]' '["1999","2005?","2023-12","2023-12","2023-12-29"]' "timeline dates as written"
fields '[.[].type]' '["sanctions_imposed","listed","meeting","statement","delisted"]' "timeline types"
fields '[.[] | select(.seq == 4) | .retracted_by, .retraction_reason]' '[7,"wrong month"]' "the meeting is marked retracted"
fields '[.[] | select(.seq != 4) | .retracted_by] | unique' '[null]' "no other mark"
fields '[.[].country] | unique' '["KZ"]' "timeline country"
fields '[.[] | select(.seq == 2) | .date_span]' '[{"first":"2005-01-01","last":"2005-12-31"}]' "date span of 2005?"

run timeline KZ taliban --as-of 6 --json
fields '[.[].seq]' '[2,4,5,3]' "timeline as of seq 6"
fields '[.[] | select(.seq == 4) | .retracted_by]' '[null]' "not retracted as of seq 6"

run timeline KZ taliban --from 2023-12 --to 2023-12-28 --json
fields '[.[].seq]' '[4,5]' "timeline --from 2023-12 --to 2023-12-28"
run timeline KZ taliban --from 2024 --json
expect_rc 0 "an empty timeline"
empty "$T/out" "an empty timeline prints nothing"
run timeline KZ --json
fields '[.[].seq]' '[8,2,4,5,3]' "timeline of one country"
run timeline --org "Islamic Emirate of Afghanistan" --json
fields '[.[].seq]' '[8,2,4,5,3]' "timeline of one organization"
run timeline --json
fields '[.[].seq]' '[8,2,4,5,3]' "the whole timeline leaves out undated events"

run timeline KZ taliban
expect_rc 0 "timeline text"
has "$T/out" "RETRACTED by seq 7: wrong month" "text: retraction mark"
has "$T/out" "2005?" "text: qualifier shown"

# ---- changes ----

run changes --from 2023-01-01 --to 2023-12-31 --json
expect_rc 0 "changes by date"
fields 'length' '1' "one relationship changed in 2023"
field '[.country, .organization]' '["KZ","taliban"]' "changes: the relationship"
field '.seqs' '[3,4,5]' "changes: events dated in (from, to]"
field '[.before.at, .before.listed, .before.lists[0].seq]' '["2023-01-01",true,2]' "changes: before"
field '[.after.at, .after.listed, .after.lists]' '["2023-12-31",false,[]]' "changes: after"
field '[.before.as_of, .after.as_of]' '[8,8]' "changes by date: as of the newest"

run changes --from 2023-01-01 --to 2023-12-31
expect_rc 0 "changes text"
has "$T/out" "listed yes -> no" "text: listed yes -> no"
has "$T/out" "events: 3 4 5" "text: events"

# No event in the range (under UBSan this once caught a qsort of a NULL
# array in ledger_changes).
run changes --from 2024-01-01 --to 2024-06-30 --json
expect_rc 0 "changes with none"
empty "$T/out" "no change in 2024"

run changes --since-seq 6 --at 2024-01-01 --json
expect_rc 0 "changes since seq 6"
fields 'length' '1' "one relationship changed since seq 6"
field '.seqs' '[7,8]' "changes since seq 6: events recorded since"
field '[.before.as_of, .before.meetings.count, .before.sanctions.state]' '[6,1,"none"]' "since: before"
field '[.after.as_of, .after.meetings.count, .after.sanctions.state]' '[8,0,"imposed"]' "since: after"
field '[.before.at, .after.at]' '["2024-01-01","2024-01-01"]' "since: the day compared"

run changes --since-seq 8 --at 2024-01-01 --json
expect_rc 0 "changes since the newest seq"
empty "$T/out" "nothing changed since the newest seq"

# ---- rebuild ----

run status KZ taliban --at 2023-12-29 --json
cp "$T/out" "$T/before-rebuild.json"
run rebuild
expect_rc 0 "rebuild"
has "$T/out" "rebuilt the indexes of 8 events: identical to the stored ones" "rebuild reports equality"
run status KZ taliban --at 2023-12-29 --json
same "$(cat "$T/out")" "$(cat "$T/before-rebuild.json")" "status unchanged by rebuild"
run rebuild
expect_rc 0 "rebuild twice"
run verify
expect_rc 0 "verify after rebuild"

# Indexes of another index version: refused with "run annals rebuild";
# rebuild replaces them and says so, exit 0 (not "they DIFFER", exit 1).
TAMPER=${REL_BUILD:-$(dirname "$ANNALS")/reliability}/tamper
cp -a "$DB" "$T/old-index"
"$TAMPER" "$T/old-index" put meta "$(printf %s index_version | od -An -tx1 | tr -d ' \n')" \
	00000001 || fail "set index_version 1"
"$ANNALS" -d "$T/old-index" status KZ taliban >"$T/out" 2>"$T/err"; rc=$?
expect_rc 4 "status of a ledger of index version 1"
has "$T/err" "run annals rebuild" "index version 1 asks for rebuild"
"$ANNALS" -d "$T/old-index" rebuild >"$T/out" 2>"$T/err"; rc=$?
expect_rc 0 "rebuild of index version 1"
has "$T/out" "rebuilt the indexes of 8 events: index version 1 replaced by" "rebuild reports the upgrade"
"$ANNALS" -d "$T/old-index" verify >"$T/out" 2>"$T/err"; rc=$?
expect_rc 0 "verify after the upgrade"

# ---- exit codes (DESIGN §7: 2 usage error, 3 input refused) ----

for at in 2023-13-01 2023-02-30 2023-12 2023 2023-12-01? 23-12-01 tomorrow; do
	run status KZ taliban --at "$at"
	expect_rc 2 "status --at $at"
	has "$T/err" "--at" "status --at $at names the option"
done
for as_of in 99 -1 yesterday 2023-12-01; do
	run status KZ taliban --as-of "$as_of"
	expect_rc 2 "status --as-of $as_of"
done
run status XQ taliban
expect_rc 2 "status of an unknown country"
has "$T/err" "'XQ'" "unknown country named"
run status KZ hezbollah
expect_rc 2 "status of an unknown organization"
has "$T/err" "'hezbollah'" "unknown organization named"
run status KZ "Islamic Emirate"
has "$T/err" "emirate-party" "ambiguous: candidates listed (emirate-party)"
has "$T/err" "taliban" "ambiguous: candidates listed (taliban)"
# An ambiguous name is the same kind of error as an unknown one (DESIGN
# §2): on a query, a usage error (exit 2), not "input refused" (exit 3,
# which is about records being imported).
expect_rc 2 "status of an ambiguous organization"
run status KZ
expect_rc 2 "status without an organization"
run status KZ taliban extra
expect_rc 2 "status with an extra argument"
run status KZ taliban --bogus
expect_rc 2 "status with an unknown option"

run timeline XQ
expect_rc 2 "timeline of an unknown country"
run timeline KZ nobody
expect_rc 2 "timeline of an unknown organization"
run timeline --org "Islamic Emirate"
expect_rc 2 "timeline of an ambiguous organization"
run timeline --from 2023-13
expect_rc 2 "timeline --from 2023-13"
run timeline KZ taliban --as-of 99
expect_rc 2 "timeline --as-of past the newest"
run timeline KZ taliban extra
expect_rc 2 "timeline with too many arguments"

run changes
expect_rc 2 "changes without a mode"
run changes --from 2023-12-31 --to 2023-01-01
expect_rc 2 "changes --from after --to"
run changes --from 2023-01-01
expect_rc 2 "changes --from without --to"
run changes --from 2023 --to 2024-01-01
expect_rc 2 "changes --from not a whole day"
run changes --since-seq 99
expect_rc 2 "changes --since-seq past the newest"
run changes --since-seq abc
expect_rc 2 "changes --since-seq abc"
run changes --since-seq 1 --from 2023-01-01 --to 2023-02-01
expect_rc 2 "changes with both modes"
run changes --from 2023-01-01 --to 2023-02-01 --at 2023-01-01
expect_rc 2 "changes --at in date mode"

run rebuild extra
expect_rc 2 "rebuild with an argument"

"$ANNALS" -d "$T/none" status KZ taliban >"$T/out" 2>"$T/err"
rc=$?
expect_rc 2 "status without a ledger"
"$ANNALS" -d "$T/none" rebuild >"$T/out" 2>"$T/err"
rc=$?
expect_rc 2 "rebuild without a ledger"

# ---- --help ----

for cmd in status timeline changes rebuild; do
	run "$cmd" --help
	expect_rc 0 "$cmd --help"
	has "$T/out" "usage: annals" "$cmd --help prints usage on stdout"
	empty "$T/err" "$cmd --help prints nothing on stderr"
done

# The ledger is unchanged by every refused query.
run verify
expect_rc 0 "verify at the end"
run status KZ taliban --at 2023-12-29 --json
same "$(cat "$T/out")" "$(cat "$T/before-rebuild.json")" "status unchanged at the end"

echo "test_status.sh: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
