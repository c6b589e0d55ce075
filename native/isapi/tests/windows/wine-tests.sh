#!/usr/bin/env bash
# The x64 DLL's Windows-only behaviour, under Wine: a stand-in IIS (isapi_driver.exe) loads
# the DLL with LoadLibraryW from folders whose names have spaces and non-ASCII letters, in
# spawn mode with a stand-in node.exe (fake_node.exe) that prints what it was given into the
# bridge output (log_file) and serves the named pipe. Checks the ini is found and read, the
# logs written, a missing ini and an unwritable log are said on the error page, a launcher
# shim is accepted, the lifeline reaches the child as a C runtime fd and TerminateExtension
# stops the bridge through it. Ends with 'wine-tests: N passed, M failed'.
# Usage: wine-tests.sh [build-dir]   (default /tmp/kallithea-isapi-wine-build)
# KALLITHEA_ISAPI_WINE_DLL=<x64 dll> tests that DLL instead (e.g. prebuilds/win32-x64/...).
set -uo pipefail
cd "$(dirname "$0")/../../../.."
root=$PWD
build=${1:-/tmp/kallithea-isapi-wine-build}

cmake -S . -B "$build" -G Ninja -DCMAKE_TOOLCHAIN_FILE=cmake/mingw-w64-x86_64.cmake >/dev/null ||
  exit 1
nice ninja -C "$build" -j2 kallithea_isapi isapi_driver fake_node >/dev/null || exit 1

dll=$(realpath "${KALLITHEA_ISAPI_WINE_DLL:-$build/kallithea_isapi.dll}")
work=$(mktemp -d /tmp/kallithea-isapi-wine.XXXXXX)
export WINEPREFIX=$work/prefix WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" WINEARCH=win64
unset DISPLAY
cleanup() { wineserver -k 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
wineboot -i >/dev/null 2>&1

passed=0 failed=0
check() { # name, condition result (0 = pass), detail
  if [ "$2" -eq 0 ]; then passed=$((passed + 1)); echo "ok   $1"
  else failed=$((failed + 1)); echo "FAIL $1"; printf '%s\n' "$3" | sed 's/^/     /' | tail -40; fi
}
winpath() { printf 'Z:%s' "$1" | tr / '\\'; }

# Lays out one site folder: DLL, stand-in node (and its shim copy), an ini with `extra`.
site() { # folder, node exe name, extra ini lines
  mkdir -p "$1"
  cp "$dll" "$build/fake_node.exe" "$1/"
  cp "$build/fake_node.exe" "$1/fake_node_shim.exe"
  : >"$1/bridge.js"
  printf '[isapi]\nmode = spawn\nnode = %s\nbridge_script = bridge.js\nstartup_timeout = 30\nconnect_timeout = 2\n%b' \
    "$(winpath "$1/$2")" "${3:-}" >"$1/kallithea-isapi.ini"
}
drive() { # folder -> driver output
  wine "$build/isapi_driver.exe" "$(winpath "$1/kallithea_isapi.dll")" / 2>&1
  wineserver -w
}

for name in 'spawn-é' 'spawn-д' 'spawn 中 space'; do
  dir=$work/sites/$name
  site "$dir" fake_node.exe
  out=$(drive "$dir")
  log=$(cat "$dir/kallithea_isapi.log" 2>/dev/null)
  ini=$(winpath "$dir/kallithea-isapi.ini")
  grep -qF "config $ini" <<<"$log" && grep -q 'bridge ready' <<<"$log"
  check "[$name] the ini is found, read and the DLL's log written" $? "$out
$log"
  grep -qF "arg 4 $ini" <<<"$log" && grep -q 'config readable yes' <<<"$log"
  check "[$name] the bridge gets --config as the ini's exact path and can open it" $? "$log"
  grep -q 'env NODE_PENDING_PIPE_INSTANCES=65' <<<"$log"
  check "[$name] NODE_PENDING_PIPE_INSTANCES = max_connections + 1" $? "$log"
  grep -q 'lifeline fd open' <<<"$log" && grep -q 'lifeline closed: exiting' <<<"$log" &&
    grep -q 'bridge stopped: pid [0-9]* (exit code 7)' <<<"$log"
  check "[$name] the lifeline is fd 3; TerminateExtension stops the bridge through it" $? "$log"
done

dir=$work/sites/no-ini
site "$dir" fake_node.exe && rm "$dir/kallithea-isapi.ini"
out=$(drive "$dir")
grep -q 'status: 500' <<<"$out" && grep -q 'configuration file is missing' <<<"$out" &&
  ! grep -q 'bridge_script' <<<"$out" && grep -q 'configuration file is missing' "$dir/kallithea_isapi.log"
check "a missing ini: a 500 page and a log line that say so" $? "$out"

dir=$work/sites/unwritable-log
site "$dir" fake_node.exe 'log_file = no-such-folder\\kallithea_isapi.log\n'
out=$(drive "$dir")
grep -q 'cannot write its log file' <<<"$out" && grep -q 'status: 50[23]' <<<"$out"
check "a log that cannot be opened: the error page says so" $? "$out"

dir=$work/sites/shim
site "$dir" fake_node_shim.exe
out=$(drive "$dir")
log=$(cat "$dir/kallithea_isapi.log")
real=$(grep -o 'shim: started real node pid [0-9]*' <<<"$log" | grep -o '[0-9]*$')
[ -n "$real" ] && grep -qE "bridge ready: pid [0-9]+ at .*, served by pid $real \((in the bridge's Job Object|a descendant of the started process)\)" <<<"$log"
check "a launcher shim: the pipe served by its child (in the Job Object) is accepted" $? "$out
$log"
grep -o 'served by pid [0-9]* ([^)]*)' <<<"$log" | sed 's/^/     shim: /'
grep -o 'bridge pipe .* is served by pid [0-9]*' <<<"$log" | sed 's/^/     shim: /' | head -1

echo "wine-tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
