#!/usr/bin/env bash
# Crash safety (DESIGN §8, issue 8 item 1): a writer killed with SIGKILL
# leaves the ledger as before or as after its command, never in between,
# and the ledger verifies and accepts the command again.
#
#  1. Enumerated kills: killshim.so (LD_PRELOAD) raises SIGKILL at the Nth
#     pwrite/pwrite64/write/writev/fdatasync/fsync/msync of a command, for
#     every N from 1 to the number of calls the command makes, before the
#     call, after it, and after writing half of it; for imports (small,
#     large, from a pipe, with map growth), add, retract, redact, checkpoint,
#     rebuild, init and backup.
#  2. Random-time kills (timeout -s KILL after a seeded random delay) of a
#     large import, until REL_RANDOM_KILLS (default 60) were killed before
#     the import ended.
#  3. A writer appending single events with `annals add` in a loop, killed
#     at random REL_ADD_ROUNDS times (default 20): every add that reported
#     "appended seq N" and exited 0 is present at seq N.
# Prints the counts; exits 1 on any failure.
set -u
NAME=test_crash
. "$(dirname "$0")/lib.sh"
[ -f "$SHIM" ] || { echo "$NAME: $SHIM is missing (make check-reliability builds it)" >&2; exit 2; }

RANDOM_KILLS=${REL_RANDOM_KILLS:-60}
ADD_ROUNDS=${REL_ADD_ROUNDS:-20}
RANDOM=8                   # seeded: the same delays on every run
cd "$T" || exit 2

kills=0          # processes killed by the shim or by timeout
kills_before=0   # ... that left the ledger as before
kills_after=0    # ... that left it as after

# ---- templates ----

"$ANNALS" -d base init --origin example.org/crash >/dev/null || exit 2
rel_org >org.ndjson
rel_events base 200 >base.ndjson
"$ANNALS" -d base import org.ndjson >/dev/null && "$ANNALS" -d base import base.ndjson >/dev/null || exit 2
"$ANNALS" -d base checkpoint >/dev/null || exit 2
rel_events small 5 >small.ndjson
rel_events large 3000 >large.ndjson

# scenario NAME SETUP COMMAND: SETUP (a shell snippet run in a fresh copy
# of base at ./db) prepares, COMMAND (a shell snippet) is the one killed.
# A reference run gives the "after" state and the number of calls.
scenario() {
	local name=$1 setup=$2 cmd=$3 total mode n before after got code
	rm -rf db ref && cp -a base ref
	(cd ref && eval "$setup") >/dev/null 2>&1 || { fail "$name: setup"; return; }
	before=$(state ref)
	(cd ref && ANNALS_KILL_COUNT=$T/count LD_PRELOAD="$SHIM_PRELOAD" eval "$cmd") >/dev/null 2>"$T/err" ||
		{ fail "$name: reference run: $(head -c 300 "$T/err")"; return; }
	after=$(state ref)
	total=$(head -n 1 "$T/count")
	# LMDB's default sync (DESIGN §8): the data pages are synced before
	# the meta page is written, and the meta page goes through its O_DSYNC
	# descriptor, so a commit shows a sync call followed by a write.
	if awk 'NR > 1 && ($2 == "fdatasync" || $2 == "fsync" || $2 == "msync") { s = NR }
	        NR > 1 && s && NR > s && ($2 ~ /^pwrite/ || $2 == "write") { w = 1 }
	        END { exit !(s && w) }' "$T/count"; then
		pass
	else
		fail "$name: no sync call followed by the meta page write: $(tail -n +2 "$T/count" | awk '{ print $2 }' | uniq -c | tr '\n' ' ')"
	fi
	if [ "$before" = "$after" ] && [ "$name" != rebuild ]; then
		fail "$name: the command changed nothing"
	fi
	local runs=0 nb=0 na=0
	for mode in before after short; do
		for ((n = 1; n <= total; n++)); do
			rm -rf db && cp -a base db
			(cd db && eval "$setup") >/dev/null 2>&1
			( (cd db && ANNALS_KILL_AT=$n ANNALS_KILL_WHEN=$mode LD_PRELOAD="$SHIM_PRELOAD" \
				eval "$cmd") >/dev/null 2>&1 ) 2>/dev/null
			code=$?
			if [ "$code" -ne 137 ]; then
				fail "$name: call $n/$total ($mode): exit $code, not killed"
				continue
			fi
			runs=$((runs + 1))
			if ! verifies db; then
				fail "$name: killed at call $n/$total ($mode): verify: $(head -c 400 "$T/verify.out")"
				continue
			fi
			got=$(state db)
			if [ "$got" = "$before" ]; then
				nb=$((nb + 1)); pass
			elif [ "$got" = "$after" ]; then
				na=$((na + 1)); pass
			else
				fail "$name: killed at call $n/$total ($mode): the ledger is neither as before nor as after"
				continue
			fi
			# The ledger takes the command again and ends as after.
			(cd db && eval "$cmd") >/dev/null 2>"$T/err"
			code=$?
			if [ "$code" -ne 0 ] || [ "$(state db)" != "$after" ] || ! verifies db; then
				fail "$name: killed at call $n/$total ($mode), then run again: exit $code, $(head -c 300 "$T/err")"
			else
				pass
			fi
		done
	done
	kills=$((kills + runs)); kills_before=$((kills_before + nb)); kills_after=$((kills_after + na))
	printf '  %-16s %3d calls, %3d kills: %3d as before, %3d as after\n' "$name" "$total" "$runs" "$nb" "$na"
}

echo "$NAME: enumerated kills (before, after and in the middle of each call)"
A=$ANNALS
scenario import-small ':' "\"$A\" -d . import ../small.ndjson"
scenario import-large ':' "\"$A\" -d . import ../large.ndjson"
# From a pipe, so that the input is spooled to a temporary file (whose
# writes count too); cat runs without the shim.
scenario import-stdin ':' "env -u LD_PRELOAD cat ../large.ndjson | \"$A\" -d . import -"
scenario import-grow ':' "ANNALS_MAP_MARGIN_BYTES=65536 \"$A\" -d . import ../large.ndjson"
scenario add ':' "\"$A\" -d . add --id crash-add --type meeting --country KZ --org taliban --date 2024-01-02 --summary 'one event'"
scenario retract ':' "\"$A\" -d . retract base-3 --reason 'wrong date'"
scenario redact ':' "\"$A\" -d . redact base-4 --reason 'court order'"
scenario checkpoint "\"$A\" -d . import ../small.ndjson" "\"$A\" -d . checkpoint"
scenario rebuild ':' "\"$A\" -d . rebuild"

# After a killed checkpoint, "run again" above signs one more: the signing
# state (signing.state) and the stored checkpoints stay consistent.

# init: killed anywhere, the directory either holds no ledger (init can be
# run again) or a ledger that verifies.
total=0
ANNALS_KILL_COUNT=$T/count LD_PRELOAD="$SHIM_PRELOAD" "$ANNALS" -d init-ref init >/dev/null 2>&1
total=$(head -n 1 "$T/count")
inits=0
known_begin init-not-atomic
for mode in before after short; do
	bad=""
	for ((n = 1; n <= total; n++)); do
		rm -rf init.db
		( ANNALS_KILL_AT=$n ANNALS_KILL_WHEN=$mode LD_PRELOAD="$SHIM_PRELOAD" \
			"$ANNALS" -d init.db init; exit $? ) >/dev/null 2>&1
		code=$?
		[ "$code" -eq 137 ] || { fail "init: call $n/$total ($mode): exit $code, not killed"; continue; }
		inits=$((inits + 1))
		if verifies init.db; then
			pass
		elif "$ANNALS" -d init.db init >"$T/out" 2>"$T/err" && verifies init.db; then
			pass
		else
			[ -z "$bad" ] && why="$(head -c 200 "$T/verify.out") / then init: $(head -c 200 "$T/err")"
			bad="$bad $n"
		fi
	done
	[ -z "$bad" ] || fail "init killed at calls$bad of $total ($mode): the directory holds no ledger and init refuses it; first: $why"
done
known_end
kills=$((kills + inits))
printf '  %-16s %3d calls, %3d kills\n' init "$total" "$inits"

# backup: killed anywhere, the target is absent or empty, or a complete copy
# (it verifies, holds the source's events and its signing key). Whatever a
# killed backup leaves, verify must answer with an exit code, not a signal.
rm -rf ref bk-ref && cp -a base ref
ANNALS_KILL_COUNT=$T/count LD_PRELOAD="$SHIM_PRELOAD" "$ANNALS" -d ref backup "$T/bk-ref" >/dev/null 2>&1 ||
	fail "backup: reference run"
total=$(head -n 1 "$T/count")
want=$(state ref)
backups=0 partial="" crashed=""
for mode in before after short; do
	for ((n = 1; n <= total; n++)); do
		rm -rf bk
		( ANNALS_KILL_AT=$n ANNALS_KILL_WHEN=$mode LD_PRELOAD="$SHIM_PRELOAD" \
			"$ANNALS" -d ref backup "$T/bk"; exit $? ) >/dev/null 2>&1
		code=$?
		[ "$code" -eq 137 ] || { fail "backup: call $n/$total ($mode): exit $code, not killed"; continue; }
		backups=$((backups + 1))
		[ -n "$(ls -A bk 2>/dev/null)" ] || { pass; continue; }
		( "$ANNALS" -d bk verify; exit $? ) >/dev/null 2>&1
		code=$?
		if [ "$code" -ge 128 ]; then
			crashed="$crashed $n/$mode"
		elif [ "$code" -eq 0 ] && cmp -s ref/signing.key bk/signing.key &&
			[ "$(state bk)" = "$want" ]; then
			pass
		else
			partial="$partial $n/$mode(verify $code)"
		fi
	done
done
known_begin backup-not-atomic
[ -z "$partial" ] && pass ||
	fail "backup killed at calls$partial of $total: the target holds an incomplete copy (no rename into place)"
known_end
known_begin truncated-file-sigbus
[ -z "$crashed" ] && pass ||
	fail "verify of a backup killed at calls$crashed of $total dies of a signal (a data.mdb shorter than its pages)"
known_end
kills=$((kills + backups))
printf '  %-16s %3d calls, %3d kills\n' backup "$total" "$backups"

# ---- random-time kills of a large import ----

echo "$NAME: $RANDOM_KILLS random-time kills of a large import"
rel_events huge 20000 >huge.ndjson
rm -rf ref && cp -a base ref
before=$(state ref)
start=$(date +%s%N)
"$ANNALS" -d ref import huge.ndjson >/dev/null || fail "huge import reference"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
after=$(state ref)
# Runs go on until RANDOM_KILLS of them were killed before the import
# ended (at most three times as many runs): an import's time varies with
# the machine's load, so some delays land after it. Delays are spread over
# the reference import's time; one run in ten waits a little longer.
nb=0 na=0 rk=0 runs=0
while [ "$rk" -lt "$RANDOM_KILLS" ] && [ "$runs" -lt $((3 * RANDOM_KILLS)) ]; do
	runs=$((runs + 1))
	rm -rf db && cp -a base db
	if [ $((runs % 10)) -eq 0 ]; then
		delay_ms=$(( ms + RANDOM % (ms / 4 + 1) ))
	else
		delay_ms=$(( RANDOM % (ms + 1) ))
	fi
	delay=$(printf '%d.%03d' $((delay_ms / 1000)) $((delay_ms % 1000)))
	if [ $((runs % 3)) -eq 0 ]; then   # from a pipe: spooled first
		cat huge.ndjson | timeout --foreground -s KILL "$delay" "$ANNALS" -d db import - >/dev/null 2>&1
		code=${PIPESTATUS[1]}
	else
		timeout --foreground -s KILL "$delay" "$ANNALS" -d db import huge.ndjson >/dev/null 2>&1
		code=$?
	fi
	[ "$code" -eq 137 ] && rk=$((rk + 1))
	if ! verifies db; then
		fail "random kill $runs after ${delay}s: verify: $(head -c 400 "$T/verify.out")"
		continue
	fi
	got=$(state db)
	if [ "$got" = "$before" ]; then nb=$((nb + 1)); pass
	elif [ "$got" = "$after" ]; then na=$((na + 1)); pass
	else fail "random kill $runs after ${delay}s: neither before nor after ($(events db) events)"
	fi
done
kills=$((kills + rk)); kills_before=$((kills_before + nb)); kills_after=$((kills_after + na))
printf '  import of 20000 events (%d ms): %d runs, %d killed; %d as before, %d as after\n' \
	"$ms" "$runs" "$rk" "$nb" "$na"
same "$rk" "$RANDOM_KILLS" "imports killed before they ended"

# ---- a writer appending single events, killed at random ----

echo "$NAME: $ADD_ROUNDS rounds of single adds killed at random"
rm -rf add.db && cp -a base add.db
: >adds.log
adds_ok=0 add_kills=0
for ((r = 1; r <= ADD_ROUNDS; r++)); do
	# The loop logs "ID SEQ" only after annals exited 0 and printed the seq.
	setsid bash -c '
		A=$1 r=$2
		for ((i = 1; ; i++)); do
			out=$("$A" -d add.db add --id "loop-$r-$i" --type meeting --country KZ \
				--org taliban --date 2024-01-02 --summary "round $r add $i") || continue
			case $out in
			"appended seq "*) echo "loop-$r-$i ${out#appended seq }" >>adds.log ;;
			esac
		done' _ "$ANNALS" "$r" &
	pid=$!
	sleep "0.$(printf '%03d' $(( 100 + RANDOM % 700 )))"
	kill -KILL -- "-$pid" 2>/dev/null && add_kills=$((add_kills + 1))
	wait "$pid" 2>/dev/null
done
if verifies add.db; then pass; else fail "adds: verify after the kills: $(head -c 400 "$T/verify.out")"; fi
"$ANNALS" -d add.db log --json | jq -r '"\(.id) \(.seq)"' | sort >present.txt
lost=0
while read -r id seq; do
	adds_ok=$((adds_ok + 1))
	if grep -qxF "$id $seq" present.txt; then pass; else lost=$((lost + 1)); fail "add $id reported seq $seq but is not there"; fi
done <adds.log
seqs=$("$ANNALS" -d add.db log --json | jq -s -r '[.[].seq] == [range(1; length + 1)]')
same "$seqs" true "adds: seqs 1..n without gaps"
kills=$((kills + add_kills))
printf '  %d adds reported success, %d lost; %d writers killed\n' "$adds_ok" "$lost" "$add_kills"
[ "$adds_ok" -gt 0 ] || [ "$ADD_ROUNDS" -eq 0 ] || fail "no add succeeded: the rounds are too short"

echo "$NAME: $kills kills survived ($kills_before left the ledger as before, $kills_after as after, the rest in init, backup or single adds)"
rel_summary
