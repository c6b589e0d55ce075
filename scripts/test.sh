#!/usr/bin/env bash
# The README's test command (npm test): sets up a fresh machine, checks formatting and
# lint, then runs every suite against real parts (nginx, cgi-fcgi, the isapi-host addon,
# the DLL, the bridge, Kallithea, hg, git, Chromium), then the sanitizer builds.
# Ends with one line 'tests: N passed, N failed, N skipped' summed over all suites.
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh || exit 1

say() { printf '\n[test] %s\n' "$*"; }
passed=0 failed=0 skipped=0 broken=()
mkdir -p .cache/logs

# Runs one mocha suite and adds its counts; a suite that cannot run counts as failed.
run_suite() {
  local name=$1; shift
  shopt -s nullglob globstar
  local files=("dist/test/$name"/**/*.test.js)
  shopt -u nullglob globstar
  if [ ${#files[@]} -eq 0 ]; then say "suite $name: no tests"; return; fi
  say "suite $name (${#files[@]} files)"
  local log=.cache/logs/test-$name.log
  npx mocha --reporter spec "$@" "${files[@]}" 2>&1 | tee "$log"
  local rc=${PIPESTATUS[0]}
  local p f s
  p=$(grep -oE '^ +[0-9]+ passing' "$log" | tail -1 | grep -oE '[0-9]+' || echo 0)
  f=$(grep -oE '^ +[0-9]+ failing' "$log" | tail -1 | grep -oE '[0-9]+' || echo 0)
  s=$(grep -oE '^ +[0-9]+ pending' "$log" | tail -1 | grep -oE '[0-9]+' || echo 0)
  passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then failed=$((failed + 1)); broken+=("$name (exit $rc)"); fi
  [ "$f" -gt 0 ] && broken+=("$name")
  return 0
}

say "lint and format"
if npm run -s lint; then passed=$((passed + 1)); else failed=$((failed + 1)); broken+=(lint); fi

# The DLL's own unit tests (GoogleTest): its record parser, PARAMS encoder, CGI header
# parser, config reader and request driver.
say "suite dll-unit (GoogleTest)"
log=.cache/logs/test-dll-unit.log
if cmake -S . -B build-dll/test -G Ninja -DBUILD_TESTING=ON >"$log" 2>&1 &&
  cmake --build build-dll/test >>"$log" 2>&1; then
  build-dll/test/kallithea_isapi_tests 2>&1 | tee -a "$log"
  rc=${PIPESTATUS[0]}
  p=$(grep -oE '^\[  PASSED  \] [0-9]+' "$log" | grep -oE '[0-9]+$' || echo 0)
  f=$(grep -oE '^\[  FAILED  \] [0-9]+ test' "$log" | grep -oE '[0-9]+' || echo 0)
  passed=$((passed + p)) failed=$((failed + f))
  if [ "$rc" -ne 0 ]; then [ "$f" -eq 0 ] && failed=$((failed + 1)); broken+=(dll-unit); fi
else
  cat "$log"; failed=$((failed + 1)); broken+=("dll-unit build")
fi

# The isapi-host core's unit tests (GoogleTest, native/host/test), counted the same way.
say "suite host-unit (GoogleTest)"
log=.cache/logs/test-host-unit.log
bash scripts/host-unit.sh 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
p=$(grep -oE '^\[  PASSED  \] [0-9]+' "$log" | grep -oE '[0-9]+$' || echo 0)
f=$(grep -oE '^\[  FAILED  \] [0-9]+ test' "$log" | grep -oE '[0-9]+' || echo 0)
passed=$((passed + p)) failed=$((failed + f))
if [ "$rc" -ne 0 ]; then [ "$f" -eq 0 ] && failed=$((failed + 1)); broken+=(host-unit); fi

# The Windows DLLs (mingw-w64 x64 and x86): format, system-only imports, undecorated exports;
# also refreshes prebuilds/ for the package. One count per check.
say "Windows DLLs (mingw-w64)"
log=.cache/logs/build-windows.log
bash scripts/build-windows.sh 2>&1 | tee "$log"
p=$(grep -c '^ok ' "$log") f=$(grep -c '^FAIL ' "$log")
passed=$((passed + p)) failed=$((failed + f))
if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then failed=$((failed + 1)); fi # it checked nothing
if [ "$f" -gt 0 ] || [ "$p" -eq 0 ]; then broken+=(build-windows); fi

run_suite unit
run_suite peers --timeout 120000
run_suite native --timeout 120000
run_suite e2e --timeout 300000
if [ -f scripts/kallithea-instance.sh ] && [ -d dist/test/kallithea ]; then
  say "Kallithea instance"
  if bash scripts/kallithea-instance.sh; then
    run_suite kallithea --timeout 600000
  else
    failed=$((failed + 1)); broken+=("kallithea instance")
  fi
fi

# The Windows chain under Wine (scripts/test-windows.sh): Windows node.exe, the x64 DLL, the
# Windows addon, the bridge on a real named pipe. It prints 'N passed, M failed[, K skipped]'.
if [ -f scripts/test-windows.sh ]; then
  say "suite windows (Wine)"
  log=.cache/logs/test-windows-suite.log
  bash scripts/test-windows.sh 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log" | tail -1)
  p=$(echo "$line" | grep -oE '^[0-9]+' || echo 0)
  f=$(echo "$line" | grep -oE '[0-9]+ failed' | grep -oE '[0-9]+' || echo 1)
  s=$(echo "$line" | grep -oE '[0-9]+ skipped' | grep -oE '[0-9]+' || echo 0)
  passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
  if [ "$rc" -ne 0 ]; then [ "$f" -eq 0 ] && failed=$((failed + 1)); broken+=(windows); fi
fi

for sanitizer in scripts/asan-host.sh scripts/asan-dll.sh scripts/tsan-dll.sh; do
  [ -f "$sanitizer" ] || continue
  say "sanitizers: $sanitizer"
  log=.cache/logs/$(basename "$sanitizer" .sh).log
  bash "$sanitizer" 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  p=$(grep -oE '^ +[0-9]+ passing' "$log" | awk '{s+=$1} END {print s+0}')
  f=$(grep -oE '^ +[0-9]+ failing' "$log" | awk '{s+=$1} END {print s+0}')
  s=$(grep -oE '^ +[0-9]+ pending' "$log" | awk '{s+=$1} END {print s+0}')
  # and their GoogleTest runs
  p=$((p + $(grep -oE '^\[  PASSED  \] [0-9]+' "$log" | awk '{s+=$NF} END {print s+0}')))
  f=$((f + $(grep -oE '^\[  FAILED  \] [0-9]+ test' "$log" | awk '{s+=$4} END {print s+0}')))
  passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
  if [ "$rc" -ne 0 ]; then [ "$f" -eq 0 ] && failed=$((failed + 1)); broken+=("$sanitizer"); fi
done

# The parsers of the FastCGI hop, fuzzed for a short time (scripts/fuzz.sh --long runs each
# for 1,000,000 inputs); each target counts as one test.
if [ -f scripts/fuzz.sh ]; then
  say "fuzz (short)"
  log=.cache/logs/fuzz.log
  bash scripts/fuzz.sh 2>&1 | tee "$log"
  rc=${PIPESTATUS[0]}
  p=$(grep -cE '^fuzz .*: ok$' "$log") f=$(grep -cE '^fuzz .*: FAILED' "$log")
  passed=$((passed + p)) failed=$((failed + f))
  if [ "$rc" -ne 0 ]; then [ "$f" -eq 0 ] && failed=$((failed + 1)); broken+=(fuzz); fi
fi

# CI keeps only the end of the output: repeat each failed mocha suite's failure report here,
# so the test that failed and its error are in that end, not only deep in the run.
for log in .cache/logs/test-*.log .cache/logs/*san-*.log; do
  [ -f "$log" ] || continue
  if grep -qE '^ +[0-9]+ failing' "$log"; then
    say "failures in $log"
    sed -n '/^ *[0-9][0-9]* failing/,$p' "$log" | head -n 80
  fi
done

echo
[ ${#broken[@]} -gt 0 ] && echo "failed parts: ${broken[*]}"
echo "tests: $passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
