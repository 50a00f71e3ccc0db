#!/usr/bin/env bash
# Replays every fuzz regression input (tests/fuzz/regressions/TARGET/) and
# seed (tests/fuzz/corpus/TARGET/) through the libFuzzer targets built
# with clang, ASan and UBSan in $FUZZ_BUILD/fuzz (make check-reliability
# builds them): each must run without a sanitizer report or a broken
# invariant. `make test` replays the same files with the ordinary build,
# which does not see undefined behaviour. A regression file named
# BUG--NAME belongs to the entry BUG of known-bugs.txt. Prints the counts.
set -u
NAME=test_fuzz_regressions
. "$(dirname "$0")/lib.sh"
FUZZ=$(cd "$(dirname "$0")/../fuzz" && pwd)
: "${FUZZ_BUILD:?set FUZZ_BUILD to the clang fuzz build directory}"

inputs=0
for bin in "$FUZZ_BUILD"/fuzz/fuzz_*; do
	t=${bin##*/fuzz_}
	for f in "$FUZZ/regressions/$t"/* "$FUZZ/corpus/$t"/*; do
		[ -f "$f" ] || continue
		inputs=$((inputs + 1))
		base=${f##*/}
		case $base in *--*) known_begin "${base%%--*}" ;; esac
		if "$bin" "$f" >"$T/log" 2>&1; then
			pass
		else
			fail "$t: $f: $(grep -m 1 -E 'SUMMARY|invariant|ERROR' "$T/log")"
		fi
		case $base in *--*) known_end ;; esac
	done
done
echo "$NAME: $inputs inputs replayed under ASan and UBSan"
rel_summary
