#!/usr/bin/env bash
# The annals command line (DESIGN §7): exit codes, output and messages of
# init, add, org add, import (file, stdin, twice, refused), retract, redact,
# show, log, dump, verify, stats and --help; -d and ANNALS_DIR; a closed
# pipe; map growth from a tiny margin. Needs $ANNALS (absolute path of the
# binary), jq and coreutils. Prints "N passed, M failed"; exits 1 on any
# failure.
set -u

if [ -z "${ANNALS:-}" ] || [ ! -x "$ANNALS" ]; then
	echo "test_cli.sh: set ANNALS to the absolute path of the annals binary" >&2
	exit 2
fi
command -v jq >/dev/null || { echo "test_cli.sh: jq is required" >&2; exit 2; }

T=$(mktemp -d "${TMPDIR:-/tmp}/annals-cli-XXXXXX") || exit 2
trap 'rm -rf "$T"' EXIT
cd "$T" || exit 2
unset ANNALS_DIR ANNALS_KEY ANNALS_MAP_MARGIN_BYTES

passed=0
failed=0

pass() { passed=$((passed + 1)); }
fail() {
	failed=$((failed + 1))
	printf 'FAIL: %s\n' "$*" >&2
}

# run ARGS...: run annals, keeping stdout in $T/out, stderr in $T/err and
# the exit code in $rc.
run() {
	"$ANNALS" "$@" >"$T/out" 2>"$T/err"
	rc=$?
}

# expect_rc WANT WHAT: the last run exited with WANT.
expect_rc() {
	if [ "$rc" -eq "$1" ]; then
		pass
	else
		fail "$2: exit $rc, want $1; stderr: $(head -c 600 "$T/err")"
	fi
}

# has FILE TEXT WHAT: FILE contains TEXT (fixed string).
has() {
	if grep -qF -- "$2" "$1"; then
		pass
	else
		fail "$3: '$2' not in $(basename "$1"): $(head -c 600 "$1")"
	fi
}

# lacks FILE TEXT WHAT
lacks() {
	if grep -qF -- "$2" "$1"; then
		fail "$3: '$2' in $(basename "$1"): $(head -c 600 "$1")"
	else
		pass
	fi
}

# same A B WHAT: two strings are equal.
same() {
	if [ "$1" = "$2" ]; then
		pass
	else
		fail "$3: '$(printf %.300s "$1")' != '$(printf %.300s "$2")'"
	fi
}

empty() {
	if [ ! -s "$1" ]; then
		pass
	else
		fail "$2: not empty: $(head -c 600 "$1")"
	fi
}

# tip DIR: the leaf hash of the newest event, from log --json.
tip() {
	"$ANNALS" -d "$1" log --json | tail -n 1 | jq -r .leaf_hash
}

events_in() {
	"$ANNALS" -d "$1" stats --json | jq -r .events
}

# ---- init ----

run -d db init
expect_rc 0 "init"
has "$T/out" "created ledger in db" "init output"
[ -f db/signing.key ] && pass || fail "init makes db/signing.key"
same "$(stat -c %a db/signing.key)" 600 "signing key mode"
run -d db init
expect_rc 2 "init twice"
has "$T/err" "already exists" "init twice message"
run -d db2 init --origin "has space"
expect_rc 2 "init with a bad origin"
run -d origin.db init --origin example.org/log
expect_rc 0 "init with an origin"
run -d origin.db stats --json
same "$(jq -r .origin "$T/out")" example.org/log "origin kept"

# ---- org add ----

run -d db org add taliban --name Taliban --alias "Islamic Emirate of Afghanistan" \
	--alias "Islamic Emirate" --external-id wikidata:Q42418
expect_rc 0 "org add"
has "$T/out" "appended seq 1" "org add output"
run -d db org add taliban --name Taliban --alias "Islamic Emirate of Afghanistan" \
	--alias "Islamic Emirate" --external-id wikidata:Q42418
expect_rc 0 "org add again"
has "$T/out" "already stored" "org add again output"
run -d db org add "Not A Slug" --name X
expect_rc 3 "org add with a bad slug"
has "$T/err" "annals org add: organization: " "bad slug message"
run -d db org add nameless
expect_rc 3 "org add without a name"
has "$T/err" "name" "org add without a name message"
run -d db org add hamas --name Hamas --external-id bogus:1
expect_rc 3 "org add with a bad external id"
has "$T/err" "external_ids[0]" "bad external id message"
run -d db org
expect_rc 2 "org without add"
run -d db org add etat --name "Islamic State" --alias ISIS
expect_rc 0 "org add second"

# ---- add ----

run -d db add --type meeting --country KZ --org taliban --date 2023-12 \
	--summary "met in Kabul" --participant "Alim Khan Yasin Galdiev|Ambassador|KZ" \
	--source https://example.org/a --id m1
expect_rc 0 "add"
has "$T/out" "appended seq 3" "add output"
run -d db add --type meeting --country Kazakhstan --org "islamic emirate" \
	--date 2023-12 --summary "met in Kabul" \
	--participant "Alim Khan Yasin Galdiev|Ambassador|KZ" \
	--source https://example.org/a --id m1
expect_rc 0 "add the same event by other names"
has "$T/out" "already stored" "add the same event again"
run -d db add --type meeting --country KZ --org nobody --date 2023
expect_rc 3 "add with an unknown organization"
has "$T/err" "annals add: organization: unknown organization 'nobody'" "unknown org message"
has "$T/err" "annals org add" "unknown org message says how to register"
run -d db add --type meeting --country KZ --org taliban --date 2023-02-30
expect_rc 3 "add with a bad date"
has "$T/err" "annals add: date: " "bad date message"
run -d db add --type meeting --country XX --org taliban --date 2023
expect_rc 3 "add with a bad country"
has "$T/err" "'XX'" "bad country message names the value"
run -d db add --type listed --country KZ --org taliban --date 2023
expect_rc 3 "add listed without a list"
has "$T/err" "list" "listed without a list message"
run -d db add --country KZ --org taliban --date 2023
expect_rc 2 "add without --type"
run -d db add --type meeting --country KZ --org taliban --date 2023 --bogus
expect_rc 2 "add with an unknown option"
run -d db add --type meeting --country KZ --org taliban --date 2023 --expect-version abc
expect_rc 2 "add --expect-version abc"
run -d db add --type statement --country KZ --org taliban --date 2023 --expect-version 0
expect_rc 3 "add --expect-version stale"
has "$T/err" "expect_version" "stale expect-version message"
run -d db add --type statement --country KZ --org taliban --date 2023 --expect-version 1
expect_rc 0 "add --expect-version current"
run -d db add --type meeting --country KZ --org taliban --date 2023 --summary $'caf\xff'
expect_rc 3 "add with an argument that is not UTF-8"
has "$T/err" "UTF-8" "invalid UTF-8 argument message"
run -d db add --type meeting --country KZ --org taliban --date 2023 \
	--id "bad id with spaces"
expect_rc 3 "add with a bad id"
has "$T/err" "annals add: id: " "bad id message"
same "$(events_in db)" 4 "events after add"

# ---- import ----

cat >good.ndjson <<'EOF'
{"id":"kz-taliban-listed-2005","type":"listed","country":"KZ","organization":"taliban","date":"2005?","list":"banned-organizations","authority":"Supreme Court of Kazakhstan","summary":"On the national list of banned organizations."}
{"id":"kz-taliban-delisted-2023","type":"delisted","country":"KZ","organization":"taliban","date":"2023-12-29","list":"banned-organizations","authority":"Supreme Court of Kazakhstan","sources":[{"url":"https://example.org/a","title":"Removed","publisher":"Example"}]}

{"type":"statement","country":"KAZ","organization":"Taliban","date":"2023-12","summary":"Routine revision of the list."}
{"id":"af-etat-meeting","type":"meeting","country":"AF","organization":"ISIS","date":"2022-XX-XX~"}
EOF
run -d db import good.ndjson
expect_rc 0 "import a good file"
has "$T/out" "imported 4 events (seq 5 to 8)" "import output"
d1=$("$ANNALS" -d db dump)
t1=$(tip db)
run -d db import good.ndjson
expect_rc 0 "import twice"
has "$T/out" "imported 0 events, skipped 4 already stored" "import twice output"
same "$("$ANNALS" -d db dump)" "$d1" "import twice leaves the dump"
same "$(tip db)" "$t1" "import twice leaves the tip"

cat >bad.ndjson <<'EOF'
{"id":"ok-1","type":"meeting","country":"KZ","organization":"taliban","date":"2024-01"}
{"id":"bad-date","type":"meeting","country":"KZ","organization":"taliban","date":"2024-13"}
{"id":"ok-2","type":"meeting","country":"KZ","organization":"taliban","date":"2024-02"}
{"id":"bad-field","type":"meeting","country":"KZ","organization":"taliban","date":"2024","colour":"red"}
{"id":"bad-org","type":"meeting","country":"KZ","organization":"nobody","date":"2024"}
{"id":"bad-json","type":"meeting"
EOF
run -d db import bad.ndjson
expect_rc 3 "import a bad file"
has "$T/err" "bad.ndjson:2: date: " "bad file: date"
has "$T/err" "bad.ndjson:4: colour: unknown field" "bad file: unknown field"
has "$T/err" "bad.ndjson:5: organization: " "bad file: organization"
has "$T/err" "bad.ndjson:6: json: " "bad file: json"
has "$T/err" "4 of 6 records refused; nothing was written" "bad file summary"
lacks "$T/err" "bad.ndjson:1:" "good lines are not reported"
empty "$T/out" "bad file: nothing on stdout"
same "$("$ANNALS" -d db dump)" "$d1" "bad file leaves the dump"
same "$(tip db)" "$t1" "bad file leaves the tip"
"$ANNALS" -d db import - <bad.ndjson >/dev/null 2>"$T/err"
rc=$?
expect_rc 3 "import a bad file from stdin"
has "$T/err" "-:2: date: " "bad stdin names -"
same "$(tip db)" "$t1" "bad stdin leaves the tip"
run -d db import no-such-file.ndjson
[ "$rc" -ne 0 ] && pass || fail "import of a missing file succeeds"
has "$T/err" "no-such-file.ndjson" "missing file message"
run -d db import --format xml good.ndjson
expect_rc 2 "import --format xml"
run -d db import a.ndjson b.ndjson
expect_rc 2 "import of two files"

cat >more.ndjson <<'EOF'
{"id":"s1","type":"sanctions_imposed","country":"US","organization":"taliban","date":"1999-07-06","authority":"US Treasury"}
{"id":"s2","type":"sanctions_lifted","country":"US","organization":"taliban","date":"2002-07-02"}
EOF
out=$(cat more.ndjson | "$ANNALS" -d db import - 2>"$T/err")
rc=$?
expect_rc 0 "import from stdin"
same "$out" "imported 2 events (seq 9 to 10)" "import from stdin output"
out=$("$ANNALS" -d db import <more.ndjson 2>"$T/err")
rc=$?
expect_rc 0 "import stdin without -"
same "$out" "imported 0 events, skipped 2 already stored" "stdin twice"
same "$(events_in db)" 10 "events after imports"

# ---- show ----

run -d db show m1
expect_rc 0 "show by id"
has "$T/out" "seq: 3" "show text: seq"
has "$T/out" "id: m1" "show text: id"
has "$T/out" "participants[0].name: Alim Khan Yasin Galdiev" "show text: participant"
run -d db show 3 --json
expect_rc 0 "show --json"
same "$(jq -r '.seq, .id, .type, .country, .organization, .stream_version, .body' "$T/out" | tr '\n' ' ')" \
	"3 m1 meeting KZ taliban 1 present " "show --json fields"
leaf=$(jq -r .leaf_hash "$T/out")
same "${#leaf}" 64 "show --json leaf hash length"
"$ANNALS" -d db show 3 --raw >raw.bin 2>"$T/err"
rc=$?
expect_rc 0 "show --raw"
same "$( (printf '\x00'; cat raw.bin) | sha256sum | cut -d' ' -f1)" "$leaf" \
	"SHA-256(0x00 || show --raw) is the leaf hash"
prev4=$("$ANNALS" -d db show 4 --json | jq -r .prev_hash)
same "$prev4" "$leaf" "prev_hash of seq 4 is the leaf of seq 3"
"$ANNALS" -d db show 3 --raw-body >body.bin 2>/dev/null
same "$(sha256sum <body.bin | cut -d' ' -f1)" "$(jq -r .body_hash "$T/out")" \
	"SHA-256(show --raw-body) is body_hash"
run -d db show 999
expect_rc 2 "show of a missing seq"
has "$T/err" "999" "show of a missing seq names it"
run -d db show no-such-id
expect_rc 2 "show of a missing id"
run -d db show 3 --json --raw
expect_rc 2 "show with two modes"

# ---- retract and redact ----

run -d db retract m1 --reason "wrong month"
expect_rc 0 "retract by id"
has "$T/out" "appended seq 11" "retract output"
run -d db show 11 --json
same "$(jq -r '.type, .retracts, .country, .organization, .reason' "$T/out" | tr '\n' ' ')" \
	"retraction m1 KZ taliban wrong month " "the retraction joins the stream"
run -d db show m1 --json
same "$(jq -r .retracted_by "$T/out")" 11 "show names the retraction"
run -d db retract 3 --reason "another reason"
expect_rc 3 "retract twice"
has "$T/err" "already retracted" "retract twice message"
run -d db retract 11 --reason "x"
expect_rc 3 "retract a retraction"
run -d db retract 1 --reason "x"
expect_rc 3 "retract an organization event"
run -d db retract no-such-id --reason x
expect_rc 2 "retract a missing event"
run -d db retract m1
expect_rc 2 "retract without --reason"
run -d db redact 5 --reason "court order"
expect_rc 0 "redact by seq"
has "$T/out" "appended seq 12" "redact output"
run -d db show 5 --json
same "$(jq -r '.body, .redacted_by' "$T/out" | tr '\n' ' ')" "redacted 12 " "show of a redacted event"
lacks "$T/out" "On the national list" "the redacted summary is gone"
run -d db show 5 --raw-body
expect_rc 1 "show --raw-body of a redacted event"
run -d db redact 5 --reason "again"
expect_rc 3 "redact twice"

# ---- log ----

run -d db log
expect_rc 0 "log"
same "$(wc -l <"$T/out")" 12 "log prints one line an event"
has "$T/out" "m1" "log shows ids"
run -d db log --json
expect_rc 0 "log --json"
same "$(jq -s length "$T/out")" 12 "log --json is one object a line"
same "$(jq -s -r 'map(.seq) | join(",")' "$T/out")" "1,2,3,4,5,6,7,8,9,10,11,12" "log --json order"
run -d db log --from 3 --limit 2 --json
same "$(jq -s -r 'map(.seq) | join(",")' "$T/out")" "3,4" "log --from --limit"
run -d db log --from 0
expect_rc 2 "log --from 0"
run -d db log extra
expect_rc 2 "log with an argument"

# ---- verify and stats ----

run -d db verify
expect_rc 0 "verify"
has "$T/out" "ok: 12 events" "verify output: events"
has "$T/out" "1 redacted bodies" "verify output: redacted"
grep -Eq '^tree size 12, root [0-9a-f]{64}$' "$T/out" && pass || fail "verify output: root: $(cat "$T/out")"
run -d db verify --json
same "$(jq -r '.ok, .events, .redacted, .tree_size' "$T/out" | tr '\n' ' ')" "true 12 1 12 " "verify --json"
run -d db stats
expect_rc 0 "stats"
grep -Eq '^events +12$' "$T/out" && pass || fail "stats text: $(head -c 300 "$T/out")"
run -d db stats --json
expect_rc 0 "stats --json"
same "$(jq -r '.events, .organizations, .redacted, .databases.events.entries' "$T/out" | tr '\n' ' ')" \
	"12 2 1 12 " "stats --json counts"

# An output error is exit 4 with a message.
if [ -w /dev/full ]; then
	for cmd in "log" "log --json" "dump" "verify" "stats" "show 3" "show 3 --raw"; do
		# shellcheck disable=SC2086
		"$ANNALS" -d db $cmd >/dev/full 2>"$T/err"
		rc=$?
		expect_rc 4 "'$cmd >/dev/full'"
		has "$T/err" "cannot write" "'$cmd >/dev/full' message"
	done
fi

# ---- dump | import ----

run -d db dump
expect_rc 0 "dump"
same "$(jq -s length "$T/out")" 12 "dump is one object a line"
lacks "$T/out" '"seq"' "dump is in the input format"
run -d copy.db init
"$ANNALS" -d db dump | "$ANNALS" -d copy.db import >"$T/out" 2>"$T/err"
rc=$?
expect_rc 0 "dump | import"
same "$("$ANNALS" -d copy.db dump)" "$("$ANNALS" -d db dump)" "dump | import gives the same dump"
run -d copy.db verify
expect_rc 0 "verify the copy"

# ---- --help, unknown commands and options ----

for c in init add org import retract redact log show dump verify stats; do
	run "$c" --help
	expect_rc 0 "$c --help"
	has "$T/out" "usage: annals" "$c --help prints usage"
	empty "$T/err" "$c --help writes nothing to stderr"
done
run org add --help
expect_rc 0 "org add --help"
run --help
expect_rc 0 "--help"
has "$T/out" "commands:" "--help lists the commands"
run help
expect_rc 0 "help"
run
expect_rc 2 "no command"
has "$T/err" "usage: annals" "no command prints usage"
run frobnicate
expect_rc 2 "unknown command"
has "$T/err" "unknown command 'frobnicate'" "unknown command message"
run --frobnicate log
expect_rc 2 "unknown global option"
has "$T/err" "unknown option '--frobnicate'" "unknown option message"
for c in init add import retract redact log show verify stats; do
	run -d db "$c" --frobnicate
	expect_rc 2 "$c with an unknown option"
done
[ ! -e annals.db ] && pass || fail "--help or usage errors created ./annals.db"

# ---- -d, --dir= and ANNALS_DIR ----

want=$("$ANNALS" -d db log --json)
same "$(ANNALS_DIR="$T/db" "$ANNALS" log --json)" "$want" "ANNALS_DIR"
same "$("$ANNALS" --dir="$T/db" log --json)" "$want" "--dir="
same "$(ANNALS_DIR="$T/copy.db" "$ANNALS" -d "$T/db" log --json)" "$want" "-d overrides ANNALS_DIR"
mkdir -p cwd && (cd cwd && "$ANNALS" init >/dev/null 2>&1) && [ -f cwd/annals.db/data.mdb ] &&
	pass || fail "the default directory is ./annals.db"
run -d no-such.db log
expect_rc 2 "log of a missing ledger"
has "$T/err" "annals init" "a missing ledger says to run init"
ANNALS_DIR="$T/no-such.db" "$ANNALS" stats >/dev/null 2>"$T/err"
rc=$?
expect_rc 2 "ANNALS_DIR of a missing ledger"

# ---- map growth from a tiny margin, and a closed pipe ----

countries=(AF KZ)
for ((i = 1; i <= 5000; i++)); do
	printf '{"id":"grow-%d","type":"meeting","country":"%s","organization":"taliban","date":"2001-01-01","summary":"event %d of a batch that outgrows a tiny map"}\n' \
		"$i" "${countries[i % 2]}" "$i"
done >grow.ndjson
printf '{"id":"org-taliban","type":"organization","organization":"taliban","name":"Taliban"}\n' >org.ndjson
for d in grow-file.db grow-stdin.db; do
	"$ANNALS" -d "$d" init >/dev/null && "$ANNALS" -d "$d" import org.ndjson >/dev/null ||
		fail "set up $d"
done
out=$(ANNALS_MAP_MARGIN_BYTES=65536 "$ANNALS" -d grow-file.db import grow.ndjson 2>"$T/err")
rc=$?
expect_rc 0 "import 5000 events from a file with a tiny map margin"
same "$out" "imported 5000 events (seq 2 to 5001)" "tiny margin file import output"
out=$(cat grow.ndjson | ANNALS_MAP_MARGIN_BYTES=65536 "$ANNALS" -d grow-stdin.db import - 2>"$T/err")
rc=$?
expect_rc 0 "import 5000 events from stdin with a tiny margin"
same "$out" "imported 5000 events (seq 2 to 5001)" "tiny margin stdin import output"
for d in grow-file.db grow-stdin.db; do
	run -d "$d" verify
	expect_rc 0 "verify $d"
	has "$T/out" "ok: 5001 events" "verify $d counts every event"
done
# The map began at used + 64 KiB rounded up to 1 MiB, so a ledger that now
# uses more than 1 MiB grew it (and replayed the import) on the way.
for d in grow-file.db grow-stdin.db; do
	used=$("$ANNALS" -d "$d" stats --json | jq -r .used_bytes)
	[ "$used" -gt 1048576 ] && pass || fail "$d uses $used bytes: the map never had to grow"
done
same "$("$ANNALS" -d grow-file.db dump | sha256sum)" "$("$ANNALS" -d grow-stdin.db dump | sha256sum)" \
	"file and stdin imports give the same dump"

for cmd in "log" "log --json" "dump"; do
	# shellcheck disable=SC2086
	"$ANNALS" -d grow-file.db $cmd 2>"$T/err" | head -n 1 >/dev/null
	status=("${PIPESTATUS[@]}")
	same "${status[0]}" 0 "'$cmd | head -1' exits 0"
	empty "$T/err" "'$cmd | head -1' prints no error"
done

echo "test_cli.sh: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
