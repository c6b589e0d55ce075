#!/usr/bin/env bash
# Builds the isapi-host addon and the fixture extensions with AddressSanitizer and
# UndefinedBehaviorSanitizer (into build-asan/, leaving build/ alone) and runs the
# isapi-host conformance tests (test/native) against them, after the core's GoogleTest
# units (native/host/test) built the same way.
#
# Node itself is not instrumented, so the sanitizer runtimes are preloaded into the Node
# processes of the run (LD_PRELOAD of gcc's libasan and libubsan; the tests drop it for
# curl and openssl). Leak detection is on: Node's own allocations at exit have not
# produced reports with this Node; should a Node update bring some, add `leak:` lines
# for them to scripts/lsan-node.supp.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=build-asan
mkdir -p "$out/addon"

echo "[asan] building the addon with -fsanitize=address,undefined"
addon=$(bash scripts/sanitized-addon.sh "$out/addon" 1 | tail -n 1)
echo "[asan] building the fixtures with -fsanitize=address,undefined"
bash scripts/build-fixtures.sh "$out/fixtures" -DFIXTURE_SANITIZE=ON >"$out/fixtures.log" 2>&1 ||
  { cat "$out/fixtures.log"; exit 1; }

echo "[asan] the core's GoogleTest units with -fsanitize=address,undefined"
ASAN_OPTIONS="detect_leaks=1:abort_on_error=1" UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
  bash scripts/host-unit.sh "$out/host-unit" -DHOST_UNIT_SANITIZE=ON

echo "[asan] compiling the tests"
npx tsc -p tsconfig.json

libasan=$(gcc -print-file-name=libasan.so)
libubsan=$(gcc -print-file-name=libubsan.so)
[ -f "$libasan" ] && [ -f "$libubsan" ] || { echo "gcc's libasan/libubsan not found"; exit 1; }

echo "[asan] running test/native under the sanitizers"
shopt -s nullglob globstar
tests=(dist/test/native/**/*.test.js)
export KALLITHEA_ISAPI_HOST_ADDON="$addon"
export KALLITHEA_ISAPI_FIXTURES="$root/$out/fixtures"
# ASan's shadow memory and quarantine raise RSS: the memory-bound test gets more room.
export ISAPI_HOST_RSS_LIMIT_KIB=$((1024 * 1024))
# The quarantine (64 MiB below) holds freed buffers back: a download lifts RSS by that much.
export ISAPI_HOST_RSS_GROWTH_KIB=$((160 * 1024))
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:quarantine_size_mb=64:allocator_may_return_null=0"
export LSAN_OPTIONS="suppressions=$root/scripts/lsan-node.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
LD_PRELOAD="$libasan $libubsan" node node_modules/mocha/bin/mocha.js --timeout 600000 --reporter spec "${tests[@]}"
