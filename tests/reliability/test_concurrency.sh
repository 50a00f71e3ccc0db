#!/usr/bin/env bash
# Concurrency (DESIGN §8, issue 8 item 6): two writer processes append with
# `annals add` (REL_ADDS each, default 150) while two readers run `status`
# and `verify` in a loop. Every read must succeed and see a consistent
# ledger (verify passes at every point, and the event count a reader sees
# never goes down), every add must succeed, and at the end no append is
# lost: each writer's events are all there, in its order, and the seqs run
# 1..n without a gap. Prints the counts; exits 1 on any failure.
set -u
NAME=test_concurrency
. "$(dirname "$0")/lib.sh"
ADDS=${REL_ADDS:-150}
cd "$T" || exit 2

"$ANNALS" -d db init >/dev/null || exit 2
rel_org | "$ANNALS" -d db import - >/dev/null || exit 2
rel_events base 500 | "$ANNALS" -d db import - >/dev/null || exit 2
base=$(events db)

# Writers: writer 1 appends to (KZ, taliban), writer 2 to (KZ, taliban) and
# (AF, isis) in turn, so that both contend for one stream too.
for w in 1 2; do
	(
		for ((i = 1; i <= ADDS; i++)); do
			org=taliban country=KZ
			[ "$w" -eq 2 ] && [ $((i % 2)) -eq 0 ] && org=isis country=AF
			out=$("$ANNALS" -d db add --id "w$w-$i" --type meeting --country "$country" \
				--org "$org" --date 2024-03-04 --summary "writer $w add $i" 2>"$T/werr-$w")
			code=$?
			case $code:$out in
			"0:appended seq "*) echo "w$w-$i ${out#appended seq }" >>"$T/adds-$w" ;;
			*) echo "w$w-$i exit $code: $out $(head -c 200 "$T/werr-$w")" >>"$T/errors" ;;
			esac
		done
	) &
	writers[$w]=$!
done
# Readers run until both writers are done.
for r in 1 2; do
	(
		n=0 last=0
		while kill -0 "${writers[1]}" 2>/dev/null || kill -0 "${writers[2]}" 2>/dev/null; do
			if [ "$r" -eq 1 ]; then
				"$ANNALS" -d db status KZ taliban --json >"$T/rout-$r" 2>"$T/rerr-$r" ||
					echo "status exit $?: $(head -c 200 "$T/rerr-$r")" >>"$T/errors"
				v=$(jq -r .version "$T/rout-$r" 2>/dev/null)
			else
				"$ANNALS" -d db verify --json >"$T/rout-$r" 2>"$T/rerr-$r" ||
					echo "verify exit $?: $(head -c 200 "$T/rerr-$r")" >>"$T/errors"
				v=$(jq -r .events "$T/rout-$r" 2>/dev/null)
			fi
			case $v in
			''|*[!0-9]*) echo "reader $r: no count in $(head -c 200 "$T/rout-$r")" >>"$T/errors" ;;
			*) [ "$v" -ge "$last" ] || echo "reader $r: count went from $last down to $v" >>"$T/errors"
			   last=$v ;;
			esac
			n=$((n + 1))
		done
		echo "$n" >"$T/reads-$r"
	) &
done
wait

if [ -s "$T/errors" ]; then
	fail "$(wc -l <"$T/errors") errors, first: $(head -n 3 "$T/errors")"
else
	pass
fi
ok "verify at the end" verifies db
total=$(events db)
same "$total" $((base + 2 * ADDS)) "every add is there"
"$ANNALS" -d db log --json | jq -c '{seq, id}' >log.json
same "$(jq -s -r '[.[].seq] == [range(1; length + 1)]' log.json)" true "seqs 1..n without gaps"
for w in 1 2; do
	# Each reported seq holds that add, and each writer's adds are in order.
	bad=0
	while read -r id seq; do
		grep -qxF "{\"seq\":$seq,\"id\":\"$id\"}" log.json || bad=$((bad + 1))
	done <"$T/adds-$w"
	same "$bad" 0 "writer $w: every reported seq holds its add"
	same "$(wc -l <"$T/adds-$w")" "$ADDS" "writer $w: every add reported success"
	order=$(grep "\"w$w-" log.json | jq -r .id | sed "s/^w$w-//" | tr '\n' ' ')
	same "$order" "$(seq 1 "$ADDS" | tr '\n' ' ')" "writer $w: its adds in its order"
done
same "$("$ANNALS" -d db status KZ taliban --json | jq -r .version)" \
	"$(jq -s '[.[] | select(.id | test("^w1-|^w2-[0-9]*[13579]$"))] | length' log.json | \
	   awk -v b="$("$ANNALS" -d "$T/db" status KZ taliban --json --as-of "$base" | jq -r .version)" '{ print $1 + b }')" \
	"the stream version of (KZ, taliban) counts every add to it"
reads=$(( $(cat "$T/reads-1") + $(cat "$T/reads-2") ))
echo "$NAME: $((2 * ADDS)) adds by 2 writers, $reads reads by 2 readers (status and verify), $total events, no gap"
rel_summary
