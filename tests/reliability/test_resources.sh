#!/usr/bin/env bash
# Resources (DESIGN §8, issue 8 item 5):
#  1. Map growth: imports of 20000 events from a file and from stdin with
#     ANNALS_MAP_MARGIN_BYTES=65536 (the map starts at used + 64 KiB and
#     must be doubled and the import replayed, several times) give the same
#     ledger as without a margin, while readers run status and verify the
#     whole time (they must adopt the new map size and retry).
#  2. A full disk: a ledger on a tmpfs of 8 MiB (mounted here when running
#     as root; skipped with a message otherwise) takes imports until one
#     fails with exit 4 and a message; the ledger still verifies and holds
#     every earlier import; an add then fails the same way; after space is
#     freed (a bigger tmpfs remount) the same import succeeds.
#  3. A read-only ledger read by a user who cannot write it (created here
#     with useradd, commands run with runuser; skipped when not root): a
#     directory that is not writable with a lock file that is, then one that
#     is not, then none at all. status, log, verify and export work; a
#     write says why it cannot, with exit 4.
#  4. `annals backup` while two writers append: every copy verifies and
#     holds a prefix of the final ledger.
# Prints the counts; exits 1 on any failure.
set -u
NAME=test_resources
. "$(dirname "$0")/lib.sh"
cd "$T" || exit 2
chmod 755 "$T"                 # the unprivileged user reads below it

rel_org >org.ndjson
rel_events grow 20000 >grow.ndjson

# ---- 1. map growth under readers ----

echo "$NAME: map growth from a 64 KiB margin, with readers"
"$ANNALS" -d plain init >/dev/null && "$ANNALS" -d plain import org.ndjson >/dev/null &&
	"$ANNALS" -d plain import grow.ndjson >/dev/null || fail "plain import"
want=$(state plain)
reads=0
for src in file stdin; do
	db=grow-$src
	"$ANNALS" -d "$db" init >/dev/null && "$ANNALS" -d "$db" import org.ndjson >/dev/null ||
		fail "set up $db"
	# Readers: status and verify in a loop until the import is done.
	: >"$T/readers-$src.bad"
	for r in 1 2; do
		(
			n=0
			while [ ! -e "$T/done-$src" ]; do
				if [ "$r" -eq 1 ]; then
					"$ANNALS" -d "$db" status KZ taliban --json >/dev/null 2>"$T/rerr-$r" ||
						{ echo "status: $(head -c 200 "$T/rerr-$r")" >>"$T/readers-$src.bad"; }
				else
					"$ANNALS" -d "$db" verify >/dev/null 2>"$T/rerr-$r" ||
						{ echo "verify: $(head -c 200 "$T/rerr-$r")" >>"$T/readers-$src.bad"; }
				fi
				n=$((n + 1))
			done
			echo "$n" >"$T/reads-$src-$r"
		) &
	done
	# strace, when there is one, shows the map being remapped as it grows.
	tracer=()
	command -v strace >/dev/null && tracer=(strace -f -qq -e trace=mmap -o "$T/mmap-$src")
	if [ "$src" = file ]; then
		ANNALS_MAP_MARGIN_BYTES=65536 "${tracer[@]}" "$ANNALS" -d "$db" import grow.ndjson >"$T/out" 2>"$T/err"
	else
		ANNALS_MAP_MARGIN_BYTES=65536 "${tracer[@]}" "$ANNALS" -d "$db" import - <grow.ndjson >"$T/out" 2>"$T/err"
	fi
	rc=$?
	touch "$T/done-$src"
	wait
	expect_rc 0 "import of 20000 events from $src with a 64 KiB margin"
	has "$T/out" "imported 20000 events" "$src import output"
	same "$(state "$db")" "$want" "$src import gives the ledger of an import without a margin"
	ok "verify $db" verifies "$db"
	used=$("$ANNALS" -d "$db" stats --json | jq -r .used_bytes)
	maps="(no strace)"
	if [ -s "$T/mmap-$src" ]; then
		# The shared mappings of data.mdb in order: the open's, the map
		# set to used + margin, then one per growth.
		maps=$(grep MAP_SHARED "$T/mmap-$src" | awk -F', ' '$2 > 65536 { print $2 }' | tr '\n' ' ')
		small=$(printf '%s\n' $maps | awk -v u="$used" '$1 < u' | wc -l)
		[ "$small" -ge 1 ] && pass || fail "$src: the map never started below the used size: $maps"
		[ "$(printf '%s\n' $maps | wc -l)" -ge 4 ] && pass || fail "$src: the map did not grow: $maps"
	fi
	n=$(( $(cat "$T/reads-$src-1") + $(cat "$T/reads-$src-2") ))
	reads=$((reads + n))
	if [ -s "$T/readers-$src.bad" ]; then
		fail "$src: readers failed while the map grew: $(head -n 3 "$T/readers-$src.bad")"
	else
		pass
	fi
	printf '  %-5s %s bytes used; data.mdb mapped with sizes %s; %d reads during the import\n' "$src" "$used" "$maps" "$n"
done

# ---- 2. a full disk ----

full_imports=0
if [ "$(id -u)" -ne 0 ]; then
	echo "$NAME: SKIP full disk: needs root to mount a tmpfs"
elif ! { mkdir -p full && mount -t tmpfs -o size=8m,mode=755 annals-full "$T/full" 2>"$T/err"; }; then
	echo "$NAME: SKIP full disk: cannot mount a tmpfs: $(head -c 200 "$T/err")"
else
	echo "$NAME: a full disk (tmpfs of 8 MiB)"
	umount_full() { umount "$T/full" 2>/dev/null; }
	trap 'umount_full; rel_cleanup' EXIT
	run -d full/db init
	expect_rc 0 "init on the tmpfs"
	"$ANNALS" -d full/db import org.ndjson >/dev/null || fail "org import on the tmpfs"
	total=2
	code=0
	for ((b = 1; b <= 200; b++)); do
		rel_events "full$b" 2000 >batch.ndjson
		"$ANNALS" -d full/db import batch.ndjson >"$T/out" 2>"$T/err"
		code=$?
		[ "$code" -eq 0 ] || break
		total=$((total + 2000))
		full_imports=$((full_imports + 1))
	done
	same "$code" 4 "the import that fills the disk exits 4"
	known_begin full-disk-message
	grep -qi "full\|space" "$T/err" && pass || fail "the full-disk message says so: $(head -c 300 "$T/err")"
	known_end
	printf '  %d imports of 2000 events fit, then: %s\n' "$full_imports" "$(head -n 1 "$T/err")"
	ok "verify after the full disk" verifies full/db
	same "$(events full/db)" "$total" "every earlier import is there"
	"$ANNALS" -d full/db log --json | jq -r .id >ids.txt
	missing=0
	for ((k = 1; k <= full_imports; k++)); do
		grep -qx "full$k-2000" ids.txt || missing=$((missing + 1))
	done
	same "$missing" 0 "the last event of every earlier import is there"
	run -d full/db add --id after-full --type meeting --country KZ --org taliban --date 2024
	if [ "$rc" -eq 0 ]; then
		total=$((total + 1))      # a single add may still fit
		pass
	else
		expect_rc 4 "add on the full disk"
	fi
	ok "verify after the add" verifies full/db
	# Room again: the same import now succeeds.
	mount -o remount,size=64m "$T/full" || fail "remount"
	run -d full/db import batch.ndjson
	expect_rc 0 "the refused import succeeds once there is space"
	ok "verify after more space" verifies full/db
	same "$(events full/db)" "$((total + 2000))" "events after more space"
	umount_full
	trap rel_cleanup EXIT
fi

# ---- 3. a read-only ledger, read by a user without write access ----

RO_USER=annals-ro-test
ro_reads=0
if [ "$(id -u)" -ne 0 ]; then
	echo "$NAME: SKIP read-only ledger: needs root to create a user"
elif ! id "$RO_USER" >/dev/null 2>&1 && ! useradd --system --no-create-home --shell /usr/sbin/nologin "$RO_USER" 2>"$T/err"; then
	echo "$NAME: SKIP read-only ledger: cannot create a user: $(head -c 200 "$T/err")"
elif ! runuser -u "$RO_USER" -- test -x "$ANNALS"; then
	echo "$NAME: SKIP read-only ledger: $RO_USER cannot run $ANNALS"
else
	echo "$NAME: a read-only ledger read by $RO_USER"
	"$ANNALS" -d ro init >/dev/null && "$ANNALS" -d ro import org.ndjson >/dev/null &&
		rel_events ro 500 | "$ANNALS" -d ro import - >/dev/null && "$ANNALS" -d ro checkpoint >/dev/null ||
		fail "set up ro"
	want_log=$("$ANNALS" -d ro log --json | sha256sum)
	want_status=$("$ANNALS" -d ro status KZ taliban --at 2024-01-01 --json)
	want_export=$("$ANNALS" -d ro export --at 2024-01-01 --format json 2>/dev/null | sha256sum)
	as_user() { runuser -u "$RO_USER" -- "$ANNALS" -d "$T/ro" "$@"; }
	for variant in "lock file writable" "lock file read-only" "no lock file"; do
		chown -R root:root ro
		chmod 755 ro
		chmod 644 ro/data.mdb
		case $variant in
		"lock file writable")  chmod 666 ro/lock.mdb ;;
		"lock file read-only") chmod 644 ro/lock.mdb ;;
		"no lock file")        rm -f ro/lock.mdb ;;
		esac
		runuser -u "$RO_USER" -- test -w "$T/ro" && { fail "$variant: the directory is writable"; continue; }
		got=$(as_user log --json 2>"$T/err" | sha256sum)
		same "$got" "$want_log" "$variant: log --json"
		got=$(as_user status KZ taliban --at 2024-01-01 --json 2>"$T/err")
		same "$got" "$want_status" "$variant: status --json ($(head -c 200 "$T/err"))"
		as_user verify >"$T/out" 2>"$T/err"
		rc=$?
		expect_rc 0 "$variant: verify"
		got=$(as_user export --at 2024-01-01 --format json 2>"$T/err" | sha256sum)
		same "$got" "$want_export" "$variant: export ($(head -c 200 "$T/err"))"
		as_user stats >/dev/null 2>"$T/err" && pass || fail "$variant: stats: $(head -c 200 "$T/err")"
		ro_reads=$((ro_reads + 5))
		as_user add --type meeting --country KZ --org taliban --date 2024 >"$T/out" 2>"$T/err"
		rc=$?
		expect_rc 4 "$variant: add to a read-only ledger"
		grep -qiE "read-only|permission|cannot write|not writable" "$T/err" && pass ||
			fail "$variant: the refused add says why: $(head -c 300 "$T/err")"
		[ -e ro/lock.mdb ] || [ "$variant" = "no lock file" ] || fail "$variant: lock file gone"
		[ "$variant" != "no lock file" ] || [ ! -e ro/lock.mdb ] && pass ||
			fail "$variant: a lock file appeared in a read-only directory"
		printf '  %-20s log, status, verify, export, stats as %s: ok\n' "$variant" "$RO_USER"
	done
	userdel "$RO_USER" 2>/dev/null
fi

# ---- 4. backups under concurrent writes ----

echo "$NAME: backups while two writers append"
"$ANNALS" -d live init >/dev/null && "$ANNALS" -d live import org.ndjson >/dev/null &&
	rel_events live 3000 | "$ANNALS" -d live import - >/dev/null || fail "set up live"
for w in 1 2; do
	(
		for ((i = 1; i <= 400; i++)); do
			if [ "$w" -eq 1 ]; then
				"$ANNALS" -d live add --id "w$w-$i" --type meeting --country KZ \
					--org taliban --date 2024-02-03 --summary "writer $w add $i" >/dev/null 2>&1 ||
					echo "w$w-$i" >>"$T/writer-failed"
			else
				rel_events "w$w-$i" 20 | "$ANNALS" -d live import - >/dev/null 2>&1 ||
					echo "w$w-$i" >>"$T/writer-failed"
			fi
			[ -e "$T/stop-writers" ] && break
		done
	) &
done
backups=0
for ((k = 1; k <= 8; k++)); do
	sleep 0.3
	run -d live backup "$T/bk$k"
	if [ "$rc" -ne 0 ]; then
		fail "backup $k under writes: exit $rc: $(head -c 300 "$T/err")"
		continue
	fi
	backups=$((backups + 1))
	ok "backup $k verifies" verifies "bk$k"
	[ -f "bk$k/signing.key" ] && pass || fail "backup $k has the signing key"
done
touch "$T/stop-writers"
wait
[ ! -s "$T/writer-failed" ] && pass || fail "writers failed during backups: $(head -n 3 "$T/writer-failed")"
ok "the live ledger verifies" verifies live
# Each backup is a prefix of the final ledger: its log is the start of the
# live log, hash for hash.
"$ANNALS" -d live log --json | jq -c '{seq, leaf_hash}' >live.log
sizes=""
for ((k = 1; k <= 8; k++)); do
	[ -d "bk$k" ] || continue
	"$ANNALS" -d "bk$k" log --json | jq -c '{seq, leaf_hash}' >bk.log
	n=$(wc -l <bk.log)
	sizes="$sizes $n"
	same "$(head -n "$n" live.log | sha256sum)" "$(sha256sum <bk.log)" "backup $k is a prefix of the ledger"
done
printf '  %d backups taken while writers appended, sizes%s of %s events\n' "$backups" "$sizes" "$(wc -l <live.log)"

echo "$NAME: map growth with $reads concurrent reads; $full_imports imports before the disk was full; $ro_reads read-only reads; $backups backups under writes"
rel_summary
