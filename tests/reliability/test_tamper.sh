#!/usr/bin/env bash
# Tamper evidence (DESIGN §8, issue 8 item 2): one changed byte anywhere in
# a stored envelope, body, Merkle tile, heads-map node or checkpoint is
# found by `annals verify` (exit 1), whose message names the changed seq or
# node. Each change is made through LMDB (tests/reliability/tamper.c) on a
# fresh copy of a ledger of a few thousand events written in many
# transactions, with checkpoints, a retraction and a redaction. A flipped
# byte may leave a record decodable but different, or not decodable: the
# mask is random, so both happen. Also: a truncated log (the last events
# deleted, alone or with their bodies, ids and Merkle tiles), a rolled-back
# copy checked against a newer checkpoint, reordered pairs of events, and
# a data.mdb cut short.
#
# REL_TAMPER_CASES (default 100) flips per kind of record; the seeds are
# fixed, so every run makes the same changes. Prints the counts; exits 1 on
# any failure.
set -u
NAME=test_tamper
. "$(dirname "$0")/lib.sh"
[ -x "$TAMPER" ] || { echo "$NAME: $TAMPER is missing (make check-reliability builds it)" >&2; exit 2; }

CASES=${REL_TAMPER_CASES:-100}
cd "$T" || exit 2

# ---- the ledger: 3000 events in 30 transactions, 10 checkpoints ----

"$ANNALS" -d base init --origin example.org/tamper >/dev/null || exit 2
rel_org | "$ANNALS" -d base import - >/dev/null || exit 2
for ((b = 1; b <= 30; b++)); do
	rel_events "b$b" 100 | "$ANNALS" -d base import - >/dev/null || exit 2
	if [ $((b % 3)) -eq 0 ]; then
		"$ANNALS" -d base checkpoint >"cp-$b.note" || exit 2
	fi
done
"$ANNALS" -d base retract b2-5 --reason "wrong date" >/dev/null || exit 2
"$ANNALS" -d base redact b3-6 --reason "court order" >/dev/null || exit 2
"$ANNALS" -d base checkpoint >cp-last.note || exit 2
"$ANNALS" -d base key >vkey || exit 2
N=$(events base)
run -d base verify
expect_rc 0 "the clean ledger verifies"
for db in events bodies merkle heads_map checkpoints; do
	printf '  %-12s %6s entries\n' "$db" "$("$TAMPER" base count "$db")"
done

# hex2dec HEX: a big-endian key as a number.
hex2dec() { printf '%d' "0x$1"; }

detected=0
# expect_caught WHAT DIR PATTERN: verify exits 1 and its message matches the
# extended regular expression PATTERN.
expect_caught() {
	local what=$1 dir=$2 pattern=$3
	"$ANNALS" -d "$dir" verify >"$T/out" 2>"$T/err"
	local code=$?
	if [ "$code" -ne 1 ]; then
		fail "$what: verify exit $code, want 1: $(head -c 300 "$T/err") $(head -c 200 "$T/out")"
	elif ! grep -Eq -- "$pattern" "$T/err"; then
		fail "$what: the message does not name it ($pattern): $(head -c 300 "$T/err")"
	else
		detected=$((detected + 1))
		pass
	fi
}

# decodes DB KEY: the changed value is still a well-formed protobuf message
# (protoc --decode_raw), so only its content differs.
decodes() {
	"$TAMPER" db get "$1" "$2" | tr -d '\n' | sed 's/../\\x&/g' | xargs -0 printf '%b' |
		protoc --decode_raw >/dev/null 2>&1
}

# flips DB COUNT SEED0 PATTERN-FUNCTION: COUNT random one-byte changes.
flips() {
	local db=$1 count=$2 seed0=$3 namer=$4 i out key off mask bytes before=$detected
	local decodable=0 note=""
	for ((i = 0; i < count; i++)); do
		rm -rf db && cp -a base db
		out=$("$TAMPER" db flip-random "$db" $((seed0 + i))) || { fail "$db flip $i: tamper failed"; continue; }
		read -r key off mask bytes <<<"$out"
		case $db in events|bodies)
			command -v protoc >/dev/null && decodes "$db" "$key" && decodable=$((decodable + 1)) ;;
		esac
		expect_caught "$db key $key byte $off/$bytes ^ $mask" db "$($namer "$key")"
	done
	case $db in events|bodies)
		command -v protoc >/dev/null && note=" ($decodable still decodable, $((count - decodable)) not)" ;;
	esac
	printf '  %-12s %4d of %4d one-byte changes found and named%s\n' "$db" $((detected - before)) "$count" "$note"
}

# The message must name the seq, the Merkle tile, the heads-map node (its
# depth, and its size when the node decodes) or the checkpoint's size.
name_seq() { echo "seq $(hex2dec "$1")([^0-9]|\$)"; }
name_merkle() { merkle_tile_pattern "$1"; }
name_heads() {
	# heads.c: the depth follows the epoch (class 0) or the path (8 bytes
	# in class 1, 32 in class 2)
	local c=$((16#${1:0:2})) at
	case $c in 0|1) at=18 ;; *) at=66 ;; esac
	local d=$((16#${1:$at:2}))
	echo "heads map.*depth $d([^0-9]|\$)"
}
name_checkpoint() { echo "checkpoint.* $(hex2dec "$1")([^0-9]|\$)"; }

echo "$NAME: one random byte changed in a random record, $CASES times per database"
flips events "$CASES" 1000 name_seq
flips bodies "$CASES" 2000 name_seq
flips merkle "$CASES" 3000 name_merkle
known_begin heads-map-old-versions
flips heads_map "$CASES" 4000 name_heads
known_end
flips checkpoints "$((CASES / 2))" 5000 name_checkpoint

# ---- truncation ----

echo "$NAME: truncated logs"
seqkey() { printf 'seq:%d' "$1"; }
for k in 1 2 50; do
	rm -rf db && cp -a base db
	for ((s = N - k + 1; s <= N; s++)); do "$TAMPER" db del events "$(seqkey $s)"; done
	expect_caught "last $k events deleted" db "seq|merkle|checkpoint"
	for ((s = N - k + 1; s <= N; s++)); do "$TAMPER" db del bodies "$(seqkey $s)" || true; done
	expect_caught "last $k events and bodies deleted" db "seq|merkle|checkpoint"
	# Their ids and the Merkle tiles too, the tiles replaced by those of the
	# shorter log (laid out by a rebuild of a copy): a prefix of the log,
	# but the stored checkpoints and stream heads still tell.
	ids=$("$ANNALS" -d base log --from $((N - k + 1)) --json | jq -r .id)
	for id in $ids; do
		"$TAMPER" db del ids "$(printf '%s' "$id" | od -An -tx1 | tr -d ' \n')" || true
	done
	rm -rf short && cp -a db short && "$ANNALS" -d short rebuild >/dev/null 2>&1
	for key in $("$TAMPER" db keys merkle); do "$TAMPER" db del merkle "$key"; done
	for key in $("$TAMPER" short keys merkle); do
		"$TAMPER" db put merkle "$key" "$("$TAMPER" short get merkle "$key")"
	done
	expect_caught "last $k events deleted with their bodies, ids and Merkle tiles" db "seq|merkle|checkpoint|stream|heads"
	# And every index rebuilt for the shorter log: the stored checkpoints
	# (and a body the deleted redaction removed) are left to tell.
	expect_caught "last $k events deleted, every index and tile rebuilt" short "seq|checkpoint"
done

# A rolled-back copy (a backup made before the last transactions) verifies
# on its own, and fails against a checkpoint signed after it.
rm -rf old && cp -a base old
"$ANNALS" -d base import - >/dev/null <<<"$(rel_events late 10)" || fail "late import"
"$ANNALS" -d base checkpoint >cp-newer.note || fail "newer checkpoint"
run -d old verify --checkpoint "$T/cp-last.note" --vkey "$T/vkey"
expect_rc 0 "the copy verifies against its own checkpoint"
run -d old verify --checkpoint "$T/cp-newer.note" --vkey "$T/vkey"
if [ "$rc" -eq 1 ]; then detected=$((detected + 1)); pass; else
	fail "a rolled-back copy against a newer checkpoint: exit $rc, want 1: $(head -c 300 "$T/err")"; fi
N=$(events base)

# ---- a truncated data.mdb ----

# A file cut short (a bad copy, a full disk outside LMDB) is corrupt storage:
# every command must answer with an exit code and a message, never die of
# SIGBUS reading a page past the end of the file.
echo "$NAME: data.mdb cut short"
size=$(stat -c %s base/data.mdb)
cuts=0 signals=""
for cut in 0 4096 8192 16384 $((size / 4)) $((size / 2)) $((size * 3 / 4)); do
	cut=$(( cut / 4096 * 4096 ))
	rm -rf db && cp -a base db && truncate -s "$cut" db/data.mdb
	for cmd in verify "log --json" "status KZ taliban" "show 5" dump; do
		# shellcheck disable=SC2086
		( "$ANNALS" -d db $cmd; exit $? ) >/dev/null 2>"$T/err"
		code=$?
		cuts=$((cuts + 1))
		if [ "$code" -ge 128 ]; then
			signals="$signals $cmd@$cut"
		elif [ "$cmd" = verify ] && [ "$code" -eq 0 ]; then
			fail "verify of data.mdb cut to $cut of $size bytes exits 0"
		else
			pass
		fi
	done
done
known_begin truncated-file-sigbus
[ -z "$signals" ] && pass || fail "commands died of a signal on a data.mdb cut short:$signals"
known_end
printf '  %d commands on data.mdb cut to 7 sizes\n' "$cuts"

# ---- reordered pairs ----

echo "$NAME: reordered pairs of events"
RANDOM=11
for ((i = 0; i < 20; i++)); do
	a=$(( 1 + RANDOM % (N - 1) ))
	b=$(( i % 2 ? a + 1 : 1 + RANDOM % N ))
	[ "$a" -eq "$b" ] && b=$((a + 1))
	lo=$(( a < b ? a : b ))
	rm -rf db && cp -a base db
	"$TAMPER" db swap events "$(seqkey $a)" "$(seqkey $b)" || { fail "swap $a $b"; continue; }
	expect_caught "envelopes $a and $b swapped" db "seq $lo([^0-9]|\$)"
	"$TAMPER" db swap bodies "$(seqkey $a)" "$(seqkey $b)" || true
	expect_caught "events $a and $b swapped with their bodies" db "seq $lo([^0-9]|\$)"
done

echo "$NAME: $detected tampered ledgers detected"
rel_summary
