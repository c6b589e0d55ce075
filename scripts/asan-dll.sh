#!/usr/bin/env bash
# Builds the ISAPI DLL and its unit tests with -fsanitize=address,undefined, runs the unit
# tests, then the e2e suite with the sanitized .so loaded into isapi-host (the ASan runtime
# is preloaded, since node itself is not built with it).
# Usage: scripts/asan-dll.sh [mocha file globs...]   (default: every e2e test)
set -euo pipefail
cd "$(dirname "$0")/.."
build=build-dll/asan
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DBUILD_TESTING=ON \
  -DKALLITHEA_ISAPI_SANITIZE=ON >/dev/null
cmake --build "$build"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
# The early-answer tests (an answer before the body, then a drain: the hostile responder in
# the unit tests, the bridge with Kallithea down in e2e) run 1,000 times here, where ASan
# turns a connection freed under an outstanding write into a failure.
export KALLITHEA_ISAPI_EARLY_ANSWER_ITERATIONS=1000
# The unit tests run with leak detection: nothing else lives in that process.
ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:halt_on_error=1" "$build/kallithea_isapi_tests"
# Under node, LeakSanitizer reports V8's own start-up allocations at exit (in the host and in
# the bridge the DLL spawns, which inherits the preload), and changes their exit codes; the
# e2e run therefore checks memory errors, not leaks.
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:verify_asan_link_order=0:halt_on_error=1"
npx tsc -p tsconfig.json
export KALLITHEA_ISAPI_DLL="$PWD/$build/kallithea_isapi.so"
export KALLITHEA_ISAPI_ASAN_PRELOAD="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)"
if [ $# -eq 0 ]; then set -- 'dist/test/e2e/**/*.test.js'; fi
npx mocha --timeout 600000 "$@"
