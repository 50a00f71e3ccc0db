#!/bin/bash
# The verifiable log from the command line: checkpoint, key, prove, check,
# backup and verify --checkpoint, their exit codes and output formats, fork
# refusal, and the tlog oracle's vectors (tests/vectors/tlog, made with
# golang.org/x/mod/sumdb/tlog). usage: ANNALS=build/annals bash tests/sh/test_tlog.sh
set -u
A=${ANNALS:?set ANNALS to the annals binary}
here=$(cd "$(dirname "$0")/.." && pwd)
V=$here/vectors/tlog
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
unset ANNALS_KEY ANNALS_DIR
passed=0 failed=0

ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "FAIL: $*" >&2; }

# expect CODE DESCRIPTION -- COMMAND...: runs it with stdout in $w/out and
# stderr in $w/err, and checks the exit code.
expect() {
	local want=$1 what=$2
	shift 3
	"$@" >"$w/out" 2>"$w/err"
	local rc=$?
	if [ "$rc" = "$want" ]; then ok; else
		bad "$what: exit $rc, wanted $want"; sed 's/^/  | /' "$w/err" >&2; fi
}

# has FILE REGEX DESCRIPTION
has() {
	if grep -Eq -- "$2" "$1"; then ok; else bad "$3: '$2' not in $(basename "$1")"; sed 's/^/  | /' "$1" >&2; fi
}

# flip KEY FILE: change the first hex digit of the value (or first
# element) of KEY, pretty-printed or not.
flip() {
	sed -E "s/(\"$1\": ?\[?\")([0-9a-f])/\1X\2/; s/X0/1/; s/X[1-9a-f]/0/" "$2"
}

events() {  # events FROM TO VARIANT
	for i in $(seq "$1" "$2"); do
		printf '{"id":"ev-%d","type":"meeting","country":"KZ","organization":"example-org","date":"20%02d-%02d-%02d","summary":"Event %d, history %s."}\n' \
			"$i" $((i % 25)) $((i % 12 + 1)) $((i % 28 + 1)) "$i" "$3"
	done
}

L=$w/ledger
echo '{"type":"organization","organization":"example-org","name":"Example Organization"}' >"$w/org.ndjson"
events 2 30 a >"$w/a1.ndjson"
events 31 60 a >"$w/a2.ndjson"
events 31 45 b >"$w/b.ndjson"

# ---- help texts ----
for c in checkpoint key prove check backup verify; do
	expect 0 "$c --help" -- "$A" "$c" --help
	has "$w/out" "^usage: annals" "$c --help"
done
expect 2 "unknown option" -- "$A" prove --bogus

# ---- key and checkpoint ----
expect 0 "init" -- "$A" -d "$L" init --origin example.org/annals-test
expect 0 "import" -- "$A" -d "$L" import "$w/org.ndjson"
expect 0 "import" -- "$A" -d "$L" import "$w/a1.ndjson"
expect 0 "key" -- "$A" -d "$L" key
cp "$w/out" "$w/vkey"
has "$w/vkey" '^example\.org/annals-test\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}$' "verifier key format"
expect 2 "key with an argument" -- "$A" -d "$L" key extra
expect 0 "checkpoint" -- "$A" -d "$L" checkpoint
cp "$w/out" "$w/c30"
if [ "$(sed -n 1p "$w/c30")" = example.org/annals-test ] && [ "$(sed -n 2p "$w/c30")" = 30 ] &&
	sed -n 3p "$w/c30" | grep -Eq '^[A-Za-z0-9+/]{43}=$' && [ -z "$(sed -n 4p "$w/c30")" ] &&
	sed -n 5p "$w/c30" | grep -q '^— example\.org/annals-test [A-Za-z0-9+/]*=*$' &&
	[ "$(wc -l <"$w/c30")" = 5 ]; then ok; else bad "checkpoint format"; cat "$w/c30" >&2; fi
has "$L/signing.state" '^size 30$' "signing.state"
expect 0 "import" -- "$A" -d "$L" import "$w/a2.ndjson"
expect 2 "checkpoint --size past the tree" -- "$A" -d "$L" checkpoint --size 61
has "$w/err" "larger than the tree" "checkpoint --size 61"
expect 2 "checkpoint --size abc" -- "$A" -d "$L" checkpoint --size abc
expect 0 "checkpoint --size 40" -- "$A" -d "$L" checkpoint --size 40
cp "$w/out" "$w/c40"
expect 0 "checkpoint" -- "$A" -d "$L" checkpoint
cp "$w/out" "$w/c60"
expect 0 "checkpoint --size 40 again" -- "$A" -d "$L" checkpoint --size 40
cmp -s "$w/out" "$w/c40" && ok || bad "a stored checkpoint is printed again unchanged"
expect 1 "checkpoint below the last signed size, never issued" -- "$A" -d "$L" checkpoint --size 50
has "$w/err" "no checkpoint of size 50 was issued" "checkpoint --size 50"
chmod 640 "$L/signing.key"
expect 4 "checkpoint with a group-readable key" -- "$A" -d "$L" checkpoint
has "$w/err" "chmod 600" "group-readable key"
chmod 600 "$L/signing.key"
mv "$L/signing.key" "$w/moved.key"
expect 4 "checkpoint without the key" -- "$A" -d "$L" checkpoint
expect 0 "checkpoint --key" -- "$A" -d "$L" checkpoint --key "$w/moved.key"
ANNALS_KEY=$w/moved.key expect 0 "checkpoint with \$ANNALS_KEY" -- "$A" -d "$L" checkpoint
mv "$w/moved.key" "$L/signing.key"

# ---- prove ----
expect 0 "prove inclusion" -- "$A" -d "$L" prove inclusion 7 --size 40
has "$w/out" '^\{"seq":7,"index":6,"tree_size":40,"leaf_hash":"[0-9a-f]{64}","root":"[0-9a-f]{64}","proof":\["[0-9a-f]{64}"(,"[0-9a-f]{64}")*\]\}$' "inclusion JSON"
cp "$w/out" "$w/inc7"
expect 0 "prove inclusion by id" -- "$A" -d "$L" prove inclusion ev-7 --size 40
cmp -s "$w/out" "$w/inc7" && ok || bad "prove inclusion by id and by seq"
expect 0 "prove inclusion, head" -- "$A" -d "$L" prove inclusion 60
has "$w/out" '"tree_size":60,' "inclusion at the head"
expect 0 "prove inclusion, single leaf" -- "$A" -d "$L" prove inclusion 1 --size 1
has "$w/out" '"proof":\[\]\}$' "inclusion in a tree of one"
expect 2 "prove inclusion 0" -- "$A" -d "$L" prove inclusion 0
expect 2 "prove inclusion past the tree" -- "$A" -d "$L" prove inclusion 61
expect 2 "prove inclusion seq > size" -- "$A" -d "$L" prove inclusion 41 --size 40
expect 2 "prove inclusion --size past the tree" -- "$A" -d "$L" prove inclusion 1 --size 61
expect 0 "prove consistency" -- "$A" -d "$L" prove consistency 30 40
has "$w/out" '^\{"old_size":30,"new_size":40,"old_root":"[0-9a-f]{64}","new_root":"[0-9a-f]{64}","proof":\["[0-9a-f]{64}"(,"[0-9a-f]{64}")*\]\}$' "consistency JSON"
cp "$w/out" "$w/cons30-40"
expect 0 "prove consistency to the head" -- "$A" -d "$L" prove consistency 30
has "$w/out" '"new_size":60,' "consistency to the head"
cp "$w/out" "$w/cons30-60"
expect 0 "prove consistency M = N" -- "$A" -d "$L" prove consistency 40 40
has "$w/out" '"proof":\[\]\}$' "empty consistency proof"
expect 2 "prove consistency 0" -- "$A" -d "$L" prove consistency 0
has "$w/err" "empty tree" "prove consistency 0"
expect 2 "prove consistency M > N" -- "$A" -d "$L" prove consistency 41 40
expect 2 "prove consistency N past the tree" -- "$A" -d "$L" prove consistency 1 61
expect 2 "prove nothing" -- "$A" -d "$L" prove
expect 2 "prove something else" -- "$A" -d "$L" prove membership 3
expect 2 "prove consistency --size" -- "$A" -d "$L" prove consistency 3 --size 5

# ---- check, for an auditor without the ledger ----
"$A" -d "$L" show 7 --raw >"$w/rec7"
"$A" -d "$L" show 8 --raw >"$w/rec8"
expect 0 "check inclusion" -- "$A" check "$w/inc7"
has "$w/out" "^inclusion proof ok: seq 7 \(index 6\) is in the tree of size 40" "check inclusion"
expect 0 "check inclusion with its record and checkpoint" -- "$A" check "$w/inc7" --record "$w/rec7" --checkpoint "$w/c40" --vkey "$w/vkey"
has "$w/out" "^record ok" "check --record"
has "$w/out" "^checkpoint ok: .*tree size 40" "check --checkpoint"
has "$w/out" "^checkpoint matches the proof" "checkpoint matches"
expect 1 "check inclusion with another record" -- "$A" check "$w/inc7" --record "$w/rec8"
has "$w/err" "FAILED: record" "wrong record"
expect 1 "check inclusion against another checkpoint" -- "$A" check "$w/inc7" --checkpoint "$w/c30" --vkey "$w/vkey"
has "$w/err" "is not a tree of the proof" "checkpoint mismatch"
flip proof "$w/inc7" >"$w/inc7.bad"
cmp -s "$w/inc7" "$w/inc7.bad" && bad "the tampered proof is unchanged" || ok
expect 1 "check a tampered inclusion proof" -- "$A" check "$w/inc7.bad"
has "$w/err" "does not lead from leaf hash" "tampered inclusion"
expect 0 "check consistency with old and new checkpoints" -- "$A" check "$w/cons30-40" --checkpoint "$w/c30" --checkpoint "$w/c40" --vkey "$w/vkey"
has "$w/out" "^consistency proof ok: the tree of size 30" "check consistency"
has "$w/out" "is the old tree of size 30" "old checkpoint matched"
has "$w/out" "is the new tree of size 40" "new checkpoint matched"
expect 1 "check consistency against the wrong checkpoint" -- "$A" check "$w/cons30-40" --checkpoint "$w/c60" --vkey "$w/vkey"
expect 1 "two checkpoints of the same tree" -- "$A" check "$w/cons30-40" --checkpoint "$w/c40" --checkpoint "$w/c40" --vkey "$w/vkey"
expect 0 "check a checkpoint alone" -- "$A" check --checkpoint "$w/c60" --vkey "$w/vkey"
has "$w/out" "tree size 60" "checkpoint alone"
sed '2s/60/61/' "$w/c60" >"$w/c60.bad"
expect 1 "check a checkpoint with a changed size" -- "$A" check --checkpoint "$w/c60.bad" --vkey "$w/vkey"
{ cat "$w/c60"; echo "— witness.example AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"; } >"$w/c60.cosigned"
expect 0 "a signature by an unknown key is ignored" -- "$A" check --checkpoint "$w/c60.cosigned" --vkey "$w/vkey"
echo 'not a key' >"$w/vkey.bad"
expect 2 "check with a malformed verifier key" -- "$A" check --checkpoint "$w/c60" --vkey "$w/vkey.bad"
echo '{"hello":1}' >"$w/notproof.json"
expect 1 "check a document that is not a proof" -- "$A" check "$w/notproof.json"
has "$w/err" "not a proof" "not a proof"
echo '{"old_size":0,"new_size":3,"old_root":"00","new_root":"00","proof":[]}' >"$w/zero.json"
expect 1 "check a consistency proof from 0" -- "$A" check "$w/zero.json"
expect 2 "check without arguments" -- "$A" check
expect 2 "check --checkpoint without --vkey" -- "$A" check --checkpoint "$w/c60"
expect 2 "check --vkey alone" -- "$A" check "$w/inc7" --vkey "$w/vkey"
expect 2 "check --record with a consistency proof" -- "$A" check "$w/cons30-40" --record "$w/rec7"
expect 2 "check a missing file" -- "$A" check "$w/missing.json"
expect 0 "check from stdin" -- "$A" check - <"$w/inc7"

# ---- the oracle's vectors (golang.org/x/mod/sumdb/tlog) ----
nv=0
for f in "$V"/inclusion/n*-i*.json; do
	i=${f##*-i}; i=${i%.json}
	"$A" check "$f" --record "$V/records/record-$((i + 1))" >/dev/null 2>"$w/err" || bad "vector $(basename "$f")"
	nv=$((nv + 1))
done
for f in "$V"/consistency/m*-n*.json; do
	"$A" check "$f" >/dev/null 2>"$w/err" || bad "vector $(basename "$f")"
	nv=$((nv + 1))
done
[ "$nv" = 72 ] && ok || bad "72 vector files, found $nv"
# A changed root in every vector is refused.
nb=0
for f in "$V"/inclusion/n*-i*.json "$V"/consistency/m*-n*.json; do
	case $f in */inclusion/*) flip root "$f" ;; *) flip new_root "$f" ;; esac >"$w/vec.bad"
	cmp -s "$f" "$w/vec.bad" && bad "flip left $(basename "$f") unchanged"
	"$A" check "$w/vec.bad" >/dev/null 2>&1
	[ $? = 1 ] && nb=$((nb + 1))
done
[ "$nb" = 72 ] && ok || bad "72 tampered vectors refused, only $nb"

# ---- checkpoints signed by Go's note.Sign (tests/vectors/notes) ----
N=$here/vectors/notes
for f in size8.note size3-ext.note size8-cosigned.note; do
	expect 0 "Go-signed $f" -- "$A" check --checkpoint "$N/$f" --vkey "$N/vkey"
	expect 1 "Go-signed $f with another key" -- "$A" check --checkpoint "$N/$f" --vkey "$N/witness.vkey"
done
expect 0 "Go-signed checkpoint and tlog's inclusion proof" -- "$A" check "$V/inclusion/n8-i5.json" --record "$V/records/record-6" --checkpoint "$N/size8.note" --vkey "$N/vkey"
expect 0 "Go-signed old and new checkpoints and tlog's consistency proof" -- "$A" check "$V/consistency/m3-n8.json" --checkpoint "$N/size3-ext.note" --checkpoint "$N/size8-cosigned.note" --vkey "$N/vkey"
expect 1 "a Go-signed checkpoint of another tree" -- "$A" check "$V/consistency/m3-n7.json" --checkpoint "$N/size8.note" --vkey "$N/vkey"
sed '3s/^U/V/' "$N/size8.note" >"$w/go-bad.note"
expect 1 "a Go-signed checkpoint with a changed root" -- "$A" check --checkpoint "$w/go-bad.note" --vkey "$N/vkey"

# ---- verify and verify --checkpoint ----
expect 0 "verify" -- "$A" -d "$L" verify
has "$w/out" "3 checkpoints" "verify counts the stored checkpoints"
expect 0 "verify --checkpoint" -- "$A" -d "$L" verify --checkpoint "$w/c30" --vkey "$w/vkey"
has "$w/err" "append-only extension of the checkpoint of size 30" "verify --checkpoint summary"
sed '/^{/d' "$w/out" >"$w/vnew"
grep '^{' "$w/out" >"$w/vproof"
cmp -s "$w/vnew" "$w/c60" && ok || bad "verify --checkpoint prints the current checkpoint"
cmp -s "$w/vproof" "$w/cons30-60" && ok || bad "verify --checkpoint prints the consistency proof"
expect 0 "check what verify --checkpoint printed" -- "$A" check "$w/vproof" --checkpoint "$w/c30" --checkpoint "$w/vnew" --vkey "$w/vkey"
expect 2 "verify --checkpoint without --vkey" -- "$A" -d "$L" verify --checkpoint "$w/c30"
expect 2 "verify --vkey alone" -- "$A" -d "$L" verify --vkey "$w/vkey"
O=$w/other
"$A" -d "$O" init >/dev/null && "$A" -d "$O" import "$w/org.ndjson" >/dev/null &&
	"$A" -d "$O" key >"$w/ovkey" && "$A" -d "$O" checkpoint >"$w/oc1" || bad "the other ledger"
expect 1 "verify against another log's checkpoint" -- "$A" -d "$L" verify --checkpoint "$w/oc1" --vkey "$w/ovkey"
has "$w/err" "origin" "another log"
expect 1 "verify against a checkpoint signed by another key" -- "$A" -d "$L" verify --checkpoint "$w/c30" --vkey "$w/ovkey"

# ---- a restored old copy: fork refusal, and verify finds it smaller or forked ----
C=$w/copy
cp -r "$L" "$C"                          # the ledger is closed: a plain copy
cp -r "$L" "$w/pristine"
"$A" -d "$L" import <(events 61 70 a) >/dev/null || bad "import 61..70"
expect 0 "checkpoint of 70" -- "$A" -d "$L" checkpoint
cp "$w/out" "$w/c70"
"$A" -d "$C" import <(events 61 75 b) >/dev/null || bad "import into the copy"
cp "$L/signing.state" "$C/signing.state"
expect 1 "checkpoint of a fork" -- "$A" -d "$C" checkpoint
has "$w/err" "not an extension of the last signed tree" "fork refused"
has "$w/err" "restored old copy" "fork message"
expect 1 "verify a fork against the checkpoint of 70" -- "$A" -d "$C" verify --checkpoint "$w/c70" --vkey "$w/vkey"
has "$w/err" "not an append-only extension" "forked"
expect 1 "verify a smaller copy against the checkpoint of 70" -- "$A" -d "$w/pristine" verify --checkpoint "$w/c70" --vkey "$w/vkey"
has "$w/err" "fewer than the checkpoint's 70" "smaller"
expect 0 "the original still verifies against 70" -- "$A" -d "$L" verify --checkpoint "$w/c70" --vkey "$w/vkey"

# ---- backup and redaction ----
printf '{"id":"takedown","type":"statement","country":"KZ","organization":"example-org","date":"2020","summary":"Zebra-quartz-7731 is to be removed."}\n' >"$w/secret.ndjson"
"$A" -d "$L" import "$w/secret.ndjson" >/dev/null || bad "import the secret"
"$A" -d "$L" redact takedown --reason "court order" >/dev/null || bad "redact"
expect 0 "backup" -- "$A" -d "$L" backup "$w/bk"
has "$w/out" "^backed up 72 events to" "backup summary"
[ "$(stat -c %a "$w/bk/signing.key")" = 600 ] && ok || bad "the backup key is not mode 600"
cmp -s "$L/signing.state" "$w/bk/signing.state" && ok || bad "signing.state copied"
grep -q Zebra-quartz-7731 "$w/bk/data.mdb" && bad "redacted bytes survive the compacted copy" || ok
expect 0 "the backup verifies" -- "$A" -d "$w/bk" verify
has "$w/out" "1 redacted" "backup keeps the redaction"
expect 0 "the backup signs" -- "$A" -d "$w/bk" checkpoint
expect 2 "backup into a non-empty directory" -- "$A" -d "$L" backup "$w/bk"
has "$w/err" "not empty" "backup refuses"
expect 2 "backup without a target" -- "$A" -d "$L" backup
mkdir "$w/empty"
expect 0 "backup into an empty directory" -- "$A" -d "$L" backup "$w/empty"
# The copy is made beside the target and renamed into place: nothing is
# left beside it, and a backup that fails leaves nothing at the target.
expect 0 "backup to a path with a trailing slash" -- "$A" -d "$L" backup "$w/slash/"
expect 0 "the slash backup verifies" -- "$A" -d "$w/slash" verify
[ -z "$(ls -d "$w"/*.backup-* 2>/dev/null)" ] && ok || bad "a DIR.backup-* directory was left: $(ls -d "$w"/*.backup-*)"
: >"$w/afile"
expect 2 "backup onto a file" -- "$A" -d "$L" backup "$w/afile"
has "$w/err" "not a directory" "backup refuses a file"
ln -s "$w/empty2" "$w/alink" && mkdir "$w/empty2"
expect 2 "backup onto a symbolic link" -- "$A" -d "$L" backup "$w/alink"
has "$w/err" "symbolic link" "backup refuses a link"
expect 4 "backup without the signing key" -- "$A" -d "$L" backup "$w/nokey" --key "$w/missing.key"
[ ! -e "$w/nokey" ] && [ -z "$(ls -d "$w"/nokey.backup-* 2>/dev/null)" ] && ok ||
	bad "a failed backup left $(ls -d "$w"/nokey*)"
# A failure after data.mdb and the key were copied (signing.state cannot
# be read): the work directory is removed too.
cp -a "$L" "$w/L2" && rm -f "$w/L2/signing.state" && mkdir "$w/L2/signing.state"
expect 4 "backup of a ledger whose signing.state is unreadable" -- "$A" -d "$w/L2" backup "$w/late"
[ ! -e "$w/late" ] && [ -z "$(ls -d "$w"/late.backup-* 2>/dev/null)" ] && ok ||
	bad "a backup that failed late left $(ls -d "$w"/late*)"

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
