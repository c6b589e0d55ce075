#!/usr/bin/env bash
# Builds the ISAPI DLL and its unit tests with -fsanitize=thread, runs the unit tests, then
# the e2e suite with the TSan .so loaded into isapi-host. node is not built with TSan, so the
# runtime is preloaded into the host process (as asan-dll.sh preloads libasan; the bridge the
# DLL spawns inherits it). Races TSan reports in node's own code, which it sees only in part,
# are suppressed in scripts/tsan-node.supp; any other report fails the run.
# Usage: scripts/tsan-dll.sh [mocha file globs...]   (default: every e2e test)
set -uo pipefail
cd "$(dirname "$0")/.."
build=build-dll/tsan
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Debug -DBUILD_TESTING=ON \
  -DKALLITHEA_ISAPI_TSAN=ON >/dev/null &&
  cmake --build "$build" || exit 1
reports=.cache/tsan
rm -rf "$reports" && mkdir -p "$reports"
export TSAN_OPTIONS="halt_on_error=0:second_deadlock_stack=1:log_exe_name=1:suppressions=$PWD/scripts/tsan-node.supp:log_path=$PWD/$reports/tsan"
"$build/kallithea_isapi_tests"
unit_rc=$?
npx tsc -p tsconfig.json || exit 1
# isapi-host built with TSan too: uninstrumented, its shared_ptr reference counts are atomics
# TSan cannot see, and every request it frees on the JS thread after a DLL thread's last call
# into it is reported as a race.
addon=$(bash scripts/sanitized-addon.sh "$build/addon" 2 | tail -n 1) || exit 1
export KALLITHEA_ISAPI_HOST_ADDON="$addon"
export KALLITHEA_ISAPI_DLL="$PWD/$build/kallithea_isapi.so"
# stack.ts preloads this into isapi-host and counts the run as sanitized (no memory figures).
export KALLITHEA_ISAPI_ASAN_PRELOAD="$(gcc -print-file-name=libtsan.so)"
# The bridge the DLL spawns would inherit the preload; it runs without it (stack.ts writes
# this as the ini's node): TSan in node's own threads is not what this run checks. The
# wrapper runs through env, since /bin/sh crashes with libtsan preloaded.
cat >"$reports/bridge-node.mjs" <<EOF
#!/usr/bin/env -S -u LD_PRELOAD $(command -v node)
// node without the preloaded TSan; the DLL's arguments follow this file's name.
import { pathToFileURL } from 'node:url';
process.argv.splice(1, 1);
await import(pathToFileURL(process.argv[1]).href);
EOF
chmod +x "$reports/bridge-node.mjs"
export KALLITHEA_ISAPI_BRIDGE_NODE="$PWD/$reports/bridge-node.mjs"
if [ $# -eq 0 ]; then set -- 'dist/test/e2e/**/*.test.js'; fi
npx mocha --timeout 600000 "$@"
e2e_rc=$?
# Once in a few full runs since the isapi-host and DLL changes of issue 12, a process under
# the TSan runtime dies on the runtime's own shadow mapping ("ThreadSanitizer failed to
# allocate ... (errno: 12)"), an error of the tool, not a report of a race; the test that had
# the host then fails. Not yet understood: which mapping of node's asks for it. The suite is
# run once more in that case, saying so; a second failure, or any race report, fails. The
# report files are named by executable (log_exe_name), so the one that failed is seen.
tool_failed=$(grep -l 'ThreadSanitizer failed to allocate' "$reports"/* 2>/dev/null)
if [ "$e2e_rc" -ne 0 ] && [ -n "$tool_failed" ] && ! grep -q 'WARNING: ThreadSanitizer' "$reports"/* 2>/dev/null; then
  cat $tool_failed
  echo "tsan-dll: the TSan runtime itself failed to map shadow memory, in:" $tool_failed
  echo "tsan-dll: running the e2e suite once more"
  mkdir -p "$reports/first-run" && mv $tool_failed "$reports/first-run/"
  npx mocha --timeout 600000 "$@"
  e2e_rc=$?
fi
found=$(grep -l 'WARNING: ThreadSanitizer' "$reports"/* 2>/dev/null)
if [ -n "$found" ]; then
  cat $found
  echo "tsan-dll: ThreadSanitizer reports in: $found"
  exit 1
fi
echo "tsan-dll: no ThreadSanitizer reports (unit tests exit $unit_rc, e2e exit $e2e_rc)"
[ "$unit_rc" -eq 0 ] && [ "$e2e_rc" -eq 0 ]
