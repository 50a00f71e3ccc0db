#!/usr/bin/env bash
# valgrind (issue 8 item 7): every shell test of the command
# (tests/sh/test_*.sh) runs again with $ANNALS a wrapper that runs annals
# under `valgrind --error-exitcode=1 --leak-check=full`: any invalid read
# or write, use of uninitialized memory, bad free or leak (definite or
# possible) in any command of any test fails. valgrind's reports go to one
# log per process, printed here when not empty. Two suites run at a time.
# Prints the count of commands run under valgrind; exits 1 on any failure.
set -u
NAME=test_valgrind
. "$(dirname "$0")/lib.sh"
SH=$(cd "$(dirname "$0")/../sh" && pwd)
command -v valgrind >/dev/null || { echo "$NAME: valgrind is required" >&2; exit 2; }

mkdir -p "$T/logs"
cat >"$T/annals" <<EOF2
#!/bin/sh
exec valgrind -q --error-exitcode=1 --leak-check=full --num-callers=30 \\
	--log-file="$T/logs/vg.%p" "$ANNALS" "\$@"
EOF2
chmod 755 "$T/annals"

# The smoke test kills processes with SIGKILL, which says nothing about
# memory; the full crash suite runs without valgrind.
suites=()
for t in "$SH"/test_*.sh; do
	[ "$(basename "$t")" = test_reliability_smoke.sh ] || suites+=("$t")
done
jobs_max=$(nproc 2>/dev/null || echo 1)
for t in "${suites[@]}"; do
	while [ "$(jobs -rp | wc -l)" -ge "$jobs_max" ]; do wait -n; done
	n=$(basename "$t" .sh)
	( ANNALS="$T/annals" ANNALS_CHECK="$ANNALS" REL_BAD_STDIN=0 REL_BUILD="$REL_BUILD" \
		bash "$t" >"$T/$n.out" 2>&1
	  echo $? >"$T/$n.rc" ) &
done
wait
for t in "${suites[@]}"; do
	n=$(basename "$t" .sh)
	rc=$(cat "$T/$n.rc")
	if [ "$rc" -eq 0 ]; then
		pass
		printf '  %-22s %s\n' "$n" "$(tail -n 1 "$T/$n.out")"
	else
		fail "$n under valgrind: exit $rc: $(grep -E '^(FAIL|KNOWN)' "$T/$n.out" | head -n 5)"
		tail -n 2 "$T/$n.out" | sed 's/^/    /' >&2
	fi
done
commands=$(ls "$T/logs" | wc -l)
dirty=0
for f in "$T"/logs/vg.*; do
	[ -s "$f" ] || continue
	dirty=$((dirty + 1))
	if [ "$dirty" -le 5 ]; then
		echo "---- $(basename "$f"):" >&2
		head -n 40 "$f" >&2
	fi
done
same "$dirty" 0 "commands with a valgrind report"
echo "$NAME: ${#suites[@]} shell suites, $commands commands under valgrind, $dirty with a report"
rel_summary
