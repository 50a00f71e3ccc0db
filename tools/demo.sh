#!/bin/bash
# make demo: load docs/examples/kazakhstan-taliban.ndjson into a fresh
# ledger and show the log, verify, and the Kazakhstan-Taliban status before
# and after the Supreme Court's removal on 2023-12-29.
set -eu
annals=$1 example=$2 dir=$3
rm -rf "$dir"
run() { printf '\n$ annals %s\n' "$*"; "$annals" -d "$dir" "$@"; }
run init --origin annals.invalid/demo
run import "$example"
run log
run verify
run status KZ Taliban --at 2023-12-28
run status KZ Taliban --at 2023-12-29
run timeline Kazakhstan "Islamic Emirate"
