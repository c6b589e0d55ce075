#!/usr/bin/env bash
# Fuzzes the parsers of what crosses the FastCGI hop: the DLL's record parser and CGI header
# parser (libFuzzer targets in native/isapi/fuzz, clang with ASan and UBSan) and the bridge's
# record parser (test/fuzz/record-parser-fuzz.ts). Each target checks invariants on every
# input, not only that nothing crashes. Inputs are deterministic (fixed seeds); the
# libFuzzer corpora grow in .cache/fuzz, seeded from native/isapi/fuzz/corpus.
# Short by default (CI: 20 s per target); --long runs each for 1,000,000 inputs.
# Prints one line per target, 'fuzz <target>: <N> inputs: ok' or '...: FAILED', and exits
# non-zero when any failed.
# Usage: scripts/fuzz.sh [--long] [--seconds N]
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=20 long=0
while [ $# -gt 0 ]; do
  case $1 in
  --long) long=1 ;;
  --seconds) seconds=$2 && shift ;;
  *) echo "usage: scripts/fuzz.sh [--long] [--seconds N]" >&2 && exit 2 ;;
  esac
  shift
done
runs=1000000
build=build-dll/fuzz
mkdir -p .cache/fuzz .cache/logs
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_COMPILER=clang++ \
  -DKALLITHEA_ISAPI_FUZZ=ON >/dev/null &&
  cmake --build "$build" --target record_parser_fuzz cgi_header_fuzz &&
  npx tsc -p tsconfig.json || exit 1

failed=0
report() { # target inputs rc log
  if [ "$3" -eq 0 ] && [ -n "$2" ]; then
    echo "fuzz $1: $2 inputs: ok"
  else
    tail -40 "$4"
    echo "fuzz $1: ${2:-?} inputs: FAILED (exit $3, log $4)"
    failed=1
  fi
}

# max_len: the record parser sees records of up to 65535 bytes, but 4 KiB of input already
# reaches every state; the CGI header target holds at most 513 bytes (its max_size + 1).
for target in record_parser:4096 cgi_header:1024; do
  name=${target%%:*} max_len=${target##*:}
  corpus=.cache/fuzz/$name
  mkdir -p "$corpus"
  cp -n native/isapi/fuzz/corpus/"$name"/* "$corpus"/
  log=.cache/logs/fuzz-$name.log
  if [ $long -eq 1 ]; then limit=(-runs=$runs); else limit=(-max_total_time="$seconds"); fi
  "$build/${name}_fuzz" -seed=1 -max_len="$max_len" "${limit[@]}" -print_final_stats=1 \
    -artifact_prefix=".cache/fuzz/$name-" "$corpus" >"$log" 2>&1
  rc=$?
  report "$name (DLL, libFuzzer)" "$(grep -oE '^Done [0-9]+ runs' "$log" | grep -oE '[0-9]+')" $rc "$log"
done

log=.cache/logs/fuzz-bridge-record-parser.log
if [ $long -eq 1 ]; then limit=(--runs $runs); else limit=(--runs 1000000000 --seconds "$seconds"); fi
node dist/test/fuzz/record-parser-fuzz.js "${limit[@]}" >"$log" 2>&1
rc=$?
report "record-parser (bridge, TypeScript)" "$(grep -oE '^record-parser-fuzz: [0-9]+' "$log" | grep -oE '[0-9]+$')" $rc "$log"
exit $failed
