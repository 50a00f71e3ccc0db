#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each, as many at once as there are
# cores: bash tests/fuzz/run.sh BUILD SECONDS TARGET...  (make fuzz).
# Each target starts from its seed corpus tests/fuzz/corpus/TARGET and
# grows BUILD/corpus/TARGET; a crash, leak or timeout input is written to
# BUILD/crashes/TARGET-*, and should become tests/fuzz/regressions/TARGET/.
# Prints the executions of each target; exits 1 when any target failed.
set -u
build=$1 seconds=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
jobs=$(nproc 2>/dev/null || echo 1)
mkdir -p "$build/crashes"

run_one() {
	local t=$1 build=$2 seconds=$3 here=$4
	mkdir -p "$build/corpus/$t"
	"$build/fuzz/fuzz_$t" -max_total_time="$seconds" -print_final_stats=1 \
		-max_len=16384 -timeout=20 -rss_limit_mb=2048 \
		-artifact_prefix="$build/crashes/$t-" \
		"$build/corpus/$t" "$here/corpus/$t" >"$build/fuzz-$t.log" 2>&1
	echo $? >"$build/fuzz-$t.rc"
}
export -f run_one
printf '%s\n' "$@" | xargs -P "$jobs" -I{} bash -c 'run_one "$@"' _ {} "$build" "$seconds" "$here"

failed=0
total=0
for t in "$@"; do
	rc=$(cat "$build/fuzz-$t.rc" 2>/dev/null || echo 1)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$build/fuzz-$t.log" | tail -n 1)
	cov=$(grep -Eo 'cov: [0-9]+' "$build/fuzz-$t.log" | tail -n 1)
	corpus=$(ls "$build/corpus/$t" | wc -l)
	total=$((total + ${execs:-0}))
	if [ "$rc" -eq 0 ]; then
		printf 'fuzz %-9s ok: %s executions in %ss, %s, corpus %s\n' "$t" "${execs:-?}" "$seconds" "${cov:-cov: ?}" "$corpus"
	else
		failed=$((failed + 1))
		printf 'fuzz %-9s FAILED (exit %s): see %s and %s\n' "$t" "$rc" \
			"$build/fuzz-$t.log" "$(ls "$build/crashes/$t-"* 2>/dev/null | tr '\n' ' ')"
		grep -m 3 -E 'ERROR|SUMMARY|invariant' "$build/fuzz-$t.log" | sed 's/^/    /'
	fi
done
echo "fuzz: $# targets, $total executions, $failed failed"
[ "$failed" -eq 0 ]
