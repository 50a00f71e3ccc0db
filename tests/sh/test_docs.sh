#!/usr/bin/env bash
# The manuals agree with the code: docs/annals.1 renders without warnings;
# every command that `annals --help` lists, and every long option of each
# command's usage, is in docs/COMMANDS.md and docs/annals.1; and the input
# examples of docs/FORMATS.md (the fenced blocks after a
# "<!-- test_docs: ndjson|csv|pb -->" line) are the files in docs/examples/
# and import into a fresh ledger, each giving the same events as
# docs/examples/kazakhstan-taliban.ndjson. Needs $ANNALS (the annals
# binary), man (man-db), groff and protoc. Prints "N passed, M failed";
# exits 1 on any failure.
set -u

if [ -z "${ANNALS:-}" ] || [ ! -x "$ANNALS" ]; then
	echo "test_docs.sh: set ANNALS to the path of the annals binary" >&2
	exit 2
fi
case "$ANNALS" in /*) ;; *) ANNALS="$PWD/$ANNALS" ;; esac
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
DOCS="$ROOT/docs"
EXAMPLES="$DOCS/examples"
MAN="$DOCS/annals.1"
COMMANDS="$DOCS/COMMANDS.md"
FORMATS="$DOCS/FORMATS.md"
for f in "$MAN" "$COMMANDS" "$FORMATS" "$EXAMPLES/kazakhstan-taliban.ndjson"; do
	[ -r "$f" ] || { echo "test_docs.sh: cannot read $f" >&2; exit 2; }
done

T=$(mktemp -d "${TMPDIR:-/tmp}/annals-docs-XXXXXX") || exit 2
trap 'rm -rf "$T"' EXIT
unset ANNALS_DIR ANNALS_KEY ANNALS_MAP_MARGIN_BYTES

passed=0
failed=0
pass() { passed=$((passed + 1)); }
fail() {
	failed=$((failed + 1))
	printf 'FAIL: %s\n' "$*" >&2
}

# ---- the man page renders without warnings ----

if command -v man >/dev/null; then
	man --warnings -l "$MAN" >/dev/null 2>"$T/man.err"
	rc=$?
	if [ "$rc" -eq 0 ] && [ ! -s "$T/man.err" ]; then
		pass
	else
		fail "man --warnings -l docs/annals.1: exit $rc: $(head -c 600 "$T/man.err")"
	fi
	MANWIDTH=80 man -l "$MAN" 2>"$T/man.err" >"$T/man.txt"
	if head -1 "$T/man.txt" | grep -q '^ANNALS(1)' && [ ! -s "$T/man.err" ]; then
		pass
	else
		fail "MANWIDTH=80 man -l docs/annals.1: no ANNALS(1) header or messages: $(head -c 300 "$T/man.err")"
	fi
	for section in NAME SYNOPSIS DESCRIPTION COMMANDS OPTIONS ENVIRONMENT FILES \
	    'EXIT STATUS' EXAMPLES 'SEE ALSO'; do
		if grep -qx "$section" "$T/man.txt"; then
			pass
		else
			fail "docs/annals.1 has no section $section"
		fi
	done
else
	fail "man (man-db) is not installed: cannot render docs/annals.1"
fi
if command -v groff >/dev/null; then
	groff -ww -z -man "$MAN" 2>"$T/groff.err"
	if [ ! -s "$T/groff.err" ]; then
		pass
	else
		fail "groff -ww -z -man docs/annals.1: $(head -c 600 "$T/groff.err")"
	fi
fi

# ---- every command and option is documented ----

# The man page's source with roff escapes of '-' and fonts removed.
sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' "$MAN" >"$T/man.src"

"$ANNALS" --help >"$T/help" 2>&1
rc=$?
[ "$rc" -eq 0 ] && pass || fail "annals --help: exit $rc"
awk '/^commands:/ { on = 1; next } on && /^$/ { exit } on { print $1 }' \
	"$T/help" >"$T/commands"
count=$(wc -l <"$T/commands")
if [ "$count" -ge 21 ]; then
	pass
else
	fail "annals --help lists $count commands; expected at least 21"
fi

while read -r cmd; do
	# org's only subcommand is "org add".
	full=$cmd
	[ "$cmd" = org ] && full="org add"
	if grep -qE "^### $full\$" "$COMMANDS"; then
		pass
	else
		fail "docs/COMMANDS.md has no section '### $full'"
	fi
	if grep -qE "^\.BR? $full( |\$)" "$T/man.src"; then
		pass
	else
		fail "docs/annals.1 does not describe '$full' (no .B/.BR tag)"
	fi
	# Its usage: the lines up to the first empty one.
	# shellcheck disable=SC2086
	"$ANNALS" $full --help >"$T/usage" 2>&1
	rc=$?
	if [ "$rc" -eq 0 ] && grep -q '^usage:' "$T/usage"; then
		pass
	else
		fail "annals $full --help: exit $rc or no usage line"
	fi
	sed '/^$/q' "$T/usage" | grep -oE -- '--[a-z][a-z-]*' | sort -u >"$T/options"
	while read -r opt; do
		[ "$opt" = --help ] && continue
		if grep -qF -- "$opt" "$COMMANDS"; then
			pass
		else
			fail "docs/COMMANDS.md does not mention $full $opt"
		fi
		if grep -qF -- "$opt" "$T/man.src"; then
			pass
		else
			fail "docs/annals.1 does not mention $full $opt"
		fi
	done <"$T/options"
done <"$T/commands"

for var in ANNALS_DIR ANNALS_KEY ANNALS_MAP_MARGIN_BYTES; do
	if grep -qF "$var" "$COMMANDS" && grep -qF "$var" "$T/man.src"; then
		pass
	else
		fail "$var is not in both docs/COMMANDS.md and docs/annals.1"
	fi
done

# ---- the input examples of docs/FORMATS.md ----

# extract KIND: the fenced block after "<!-- test_docs: KIND -->".
extract() {
	awk -v marker="<!-- test_docs: $1 -->" '
		$0 == marker { armed = 1; next }
		armed && !inside && /^```/ { inside = 1; next }
		inside && /^```/ { exit }
		inside { print }
	' "$FORMATS"
}

# imports FILE [FORMAT]: FILE goes into a fresh ledger (5 events), then the
# NDJSON example into the same ledger appends nothing: the same events.
imports() {
	local file=$1 what=$2 db
	shift 2
	db=$(mktemp -d "$T/db-XXXXXX") || { fail "mktemp"; return; }
	rmdir "$db"
	"$ANNALS" -d "$db" init --origin example.org/test-docs >/dev/null 2>"$T/err" ||
		{ fail "$what: init: $(cat "$T/err")"; return; }
	"$ANNALS" -d "$db" import "$@" "$file" >"$T/out" 2>"$T/err"
	rc=$?
	if [ "$rc" -eq 0 ] && [ "$(cat "$T/out")" = "imported 5 events (seq 1 to 5)" ]; then
		pass
	else
		fail "$what: import: exit $rc: $(cat "$T/out") $(head -c 600 "$T/err")"
		return
	fi
	"$ANNALS" -d "$db" import "$EXAMPLES/kazakhstan-taliban.ndjson" >"$T/out" 2>"$T/err"
	rc=$?
	if [ "$rc" -eq 0 ] &&
	   [ "$(cat "$T/out")" = "imported 0 events, skipped 5 already stored" ]; then
		pass
	else
		fail "$what: not the events of kazakhstan-taliban.ndjson: exit $rc: $(cat "$T/out") $(head -c 300 "$T/err")"
	fi
	"$ANNALS" -d "$db" verify >/dev/null 2>"$T/err" && pass ||
		fail "$what: verify: $(cat "$T/err")"
}

# same_file A B WHAT
same_file() {
	if [ -f "$2" ] && cmp -s "$1" "$2"; then
		pass
	else
		fail "$3: the block in docs/FORMATS.md differs from $2"
	fi
}

extract ndjson >"$T/example.ndjson"
if [ -s "$T/example.ndjson" ]; then
	pass
	same_file "$T/example.ndjson" "$EXAMPLES/kazakhstan-taliban.ndjson" "NDJSON"
	imports "$T/example.ndjson" "NDJSON block of FORMATS.md"
else
	fail "docs/FORMATS.md has no block after <!-- test_docs: ndjson -->"
fi

extract csv >"$T/example.csv"
if [ -s "$T/example.csv" ]; then
	pass
	same_file "$T/example.csv" "$EXAMPLES/kazakhstan-taliban.csv" "CSV"
	imports "$T/example.csv" "CSV block of FORMATS.md"
	imports "$EXAMPLES/kazakhstan-taliban.csv" "docs/examples/kazakhstan-taliban.csv"
else
	fail "docs/FORMATS.md has no block after <!-- test_docs: csv -->"
fi

extract pb >"$T/make-pb.sh"
if [ ! -s "$T/make-pb.sh" ]; then
	fail "docs/FORMATS.md has no block after <!-- test_docs: pb -->"
elif ! command -v protoc >/dev/null; then
	fail "protoc is not installed: cannot run the protobuf example"
else
	pass
	mkdir "$T/pb" && ln -s "$ROOT/proto" "$T/pb/proto"
	if (cd "$T/pb" && sh ../make-pb.sh) 2>"$T/err" && [ -s "$T/pb/kazakhstan-taliban.pb" ]; then
		pass
		same_file "$T/pb/kazakhstan-taliban.pb" "$EXAMPLES/kazakhstan-taliban.pb" "protobuf"
		imports "$T/pb/kazakhstan-taliban.pb" "protobuf block of FORMATS.md"
		imports "$EXAMPLES/kazakhstan-taliban.pb" "docs/examples/kazakhstan-taliban.pb"
		# The format can also be named, whatever the file is called.
		cp "$T/pb/kazakhstan-taliban.pb" "$T/pb/events.bin"
		imports "$T/pb/events.bin" "protobuf with --format pb" --format pb
	else
		fail "the protobuf script of docs/FORMATS.md failed: $(head -c 600 "$T/err")"
	fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
