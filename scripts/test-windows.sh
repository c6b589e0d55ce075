#!/usr/bin/env bash
# npm run test:windows: the Windows chain under Wine. Builds what it needs (TypeScript, the
# isapi-host addon for win32-x64 with mingw-w64, the x64 DLL with mingw-w64 unless the
# prebuilt one in prebuilds/win32-x64 is up to date with the sources), fetches the pinned
# Windows node.exe, makes a throwaway Wine prefix, starts the Linux side of the Kallithea
# smoke test (a Kallithea worker on loopback, hg and git for the Windows tests), runs
# dist/test/windows/*.test.js with mocha under that node.exe, and always stops both. Ends with 'N passed, M failed' (', K skipped' if any).
# Arguments are passed to mocha (e.g. --grep GET, or test files instead of all of them).
# KALLITHEA_ISAPI_WIN_ARCH=ia32 runs the 32-bit chain (node-win-x86, the i686 DLL and addon;
# needs wine32:i386).; KALLITHEA_ISAPI_WIN_DLL picks another DLL.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
arch=${KALLITHEA_ISAPI_WIN_ARCH:-x64}
case $arch in
  x64) triple=x86_64-w64-mingw32 toolchain=cmake/mingw-w64-x86_64.cmake ;;
  ia32) triple=i686-w64-mingw32 toolchain=cmake/mingw-w64-i686.cmake ;;
  *) echo "KALLITHEA_ISAPI_WIN_ARCH: x64 or ia32, not $arch" >&2; exit 2 ;;
esac
source scripts/windows-stack.sh
set +e # counted failures, not the first one, decide the exit status
say() { printf '[test-windows] %s\n' "$*"; }
fail_setup() {
  say "$*"
  echo "0 passed, 1 failed"
  exit 1
}

say "building TypeScript"
npx tsc -p tsconfig.json || fail_setup "tsc failed"
# The Linux half of the Kallithea smoke test (dist/test/windows/support/linux-side.js): one
# Kallithea worker on loopback from a copy of the cached instance, and hg/git run for the
# Windows tests. Started now, so Kallithea loads while the rest is built; its stdin is a
# FIFO this script holds open, so it stops when the script ends.
mkdir -p .cache/logs
side_dir=$(mktemp -d /tmp/kallithea-isapi-linux-side.XXXXXX)
mkfifo "$side_dir/stdin"
node dist/test/windows/support/linux-side.js <"$side_dir/stdin" >"$side_dir/out" \
  2>.cache/logs/test-windows-linux-side.log &
side_pid=$!
exec 9>"$side_dir/stdin"
stop_linux_side() {
  exec 9>&-
  kill "$side_pid" 2>/dev/null # Wine's processes inherited the FIFO too
  wait "$side_pid" 2>/dev/null
  rm -rf "$side_dir"
}
trap stop_linux_side EXIT

say "building the isapi-host addon for win32-$arch"
bash scripts/build-windows-host.sh "$arch" || fail_setup "the win32-$arch addon did not build"
dll=${KALLITHEA_ISAPI_WIN_DLL:-}
if [ -z "$dll" ]; then
  prebuilt=prebuilds/win32-$arch/kallithea_isapi.dll
  # The prebuilt DLL (npm run build:windows-dll) is what an administrator registers: test it
  # unless a DLL source is newer than it.
  if [ -f "$prebuilt" ] && [ -z "$(find native/isapi native/include CMakeLists.txt cmake -newer "$prebuilt" -type f | head -1)" ]; then
    dll=$root/$prebuilt
  else
    say "building the $arch DLL with mingw-w64"
    mkdir -p build-win
    {
      cmake -S . -B "build-win/dll-$arch" -G Ninja -DCMAKE_TOOLCHAIN_FILE=$toolchain &&
        nice ninja -C "build-win/dll-$arch" -j2 kallithea_isapi
    } >"build-win/dll-$arch.log" 2>&1 || { cat "build-win/dll-$arch.log"; fail_setup "the $arch DLL did not build"; }
    dll=$root/build-win/dll-$arch/kallithea_isapi.dll
  fi
fi
"$triple-gcc" -municode -O2 -Wall -Wextra -static -o "build-win/$arch/launcher_shim.exe" \
  test/windows/fixtures/launcher_shim.c || fail_setup "the launcher shim did not build"
"$triple-gcc" -municode -O2 -Wall -Wextra -static -o "build-win/$arch/pipe_security.exe" \
  test/windows/fixtures/pipe_security.c -ladvapi32 || fail_setup "pipe_security.exe did not build"
node_exe=$(windows_node "$arch") || fail_setup "no Windows node.exe"

trap 'wine_stop; stop_linux_side' EXIT
say "starting a Wine prefix"
wine_start
say "waiting for the Linux side (Kallithea, hg, git)"
for _ in $(seq 1200); do
  [ -s "$side_dir/out" ] || ! kill -0 "$side_pid" 2>/dev/null && break
  sleep 0.1
done
KALLITHEA_ISAPI_WIN_LINUX_SIDE=$(head -1 "$side_dir/out")
[ -n "$KALLITHEA_ISAPI_WIN_LINUX_SIDE" ] ||
  fail_setup "the Linux side did not start: $(cat .cache/logs/test-windows-linux-side.log)"
export KALLITHEA_ISAPI_WIN_LINUX_SIDE
KALLITHEA_ISAPI_WIN_DLL=$(winepath -w "$dll" 2>/dev/null)
KALLITHEA_ISAPI_HOST_ADDON=$(winepath -w "$root/build-win/$arch/isapi_host.node" 2>/dev/null)
KALLITHEA_ISAPI_WIN_SHIM=$(winepath -w "$root/build-win/$arch/launcher_shim.exe" 2>/dev/null)
KALLITHEA_ISAPI_WIN_PIPE_SECURITY=$(winepath -w "$root/build-win/$arch/pipe_security.exe" 2>/dev/null)
KALLITHEA_ISAPI_WIN_ARCH=$arch
export KALLITHEA_ISAPI_WIN_DLL KALLITHEA_ISAPI_HOST_ADDON KALLITHEA_ISAPI_WIN_SHIM \
  KALLITHEA_ISAPI_WIN_PIPE_SECURITY KALLITHEA_ISAPI_WIN_ARCH
say "DLL $KALLITHEA_ISAPI_WIN_DLL, node.exe ${windows_node_versions[$arch]} ($arch)"

log=.cache/logs/test-windows-$arch.log
# Windows node.exe cannot write to a Linux pipe (EBADF): mocha writes to a file, shown as it grows.
files=(dist/test/windows/*.test.js)
for arg in "$@"; do [[ $arg == *.test.js ]] && files=(); done
: >"$log"
wine "$node_exe" node_modules/mocha/bin/mocha.js --reporter spec --timeout 300000 "$@" \
  "${files[@]}" >"$log" 2>&1 &
mocha_pid=$!
tail -n +1 -f --pid=$mocha_pid "$log"
wait $mocha_pid
rc=$?
tr -d '\r' <"$log" >"$log.txt"
p=$(grep -oE '^ +[0-9]+ passing' "$log.txt" | tail -1 | grep -oE '[0-9]+' || echo 0)
f=$(grep -oE '^ +[0-9]+ failing' "$log.txt" | tail -1 | grep -oE '[0-9]+' || echo 0)
s=$(grep -oE '^ +[0-9]+ pending' "$log.txt" | tail -1 | grep -oE '[0-9]+' || echo 0)
# mocha that died without a summary counts as one failure
if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; fi

# One more test: mocha has exited, so any node.exe still in the prefix is a bridge the DLL
# left behind. Wine's process list through wmic (tasklist prints nothing under Wine 8).
wine cmd /c 'wmic process get name,processid > C:\processes.txt' >/dev/null 2>&1
processes=$(iconv -f UTF-16 -t UTF-8 "$WINEPREFIX/drive_c/processes.txt" 2>/dev/null | tr -d '\r')
if [ -z "$processes" ]; then
  say "FAILED: no process list from wmic"
  f=$((f + 1))
elif grep -qi '^node\.exe' <<<"$processes"; then
  say "FAILED: node.exe left behind after the suite:"
  grep -i '^node\.exe' <<<"$processes"
  f=$((f + 1))
else
  say "passed: no node.exe left in the Wine prefix after the suite"
  p=$((p + 1))
fi
summary="$p passed, $f failed"
[ "$s" -gt 0 ] && summary="$summary, $s skipped"
echo "$summary"
[ "$f" -eq 0 ]
