#!/usr/bin/env bash
# Builds the Windows ISAPI DLLs with mingw-w64 (static C++ runtime) for x64 and x86, checks
# each with objdump and copies it to prebuilds/win32-<arch>/kallithea_isapi.dll, which the
# npm package ships (an administrator needs no compiler; `install` picks the one matching
# the pool's bitness). Checked for each DLL:
#   - format: pei-x86-64 with PE32+ (x64), pei-i386 with PE32 (x86);
#   - imports only system DLLs: KERNEL32, ADVAPI32, WS2_32, MSWSOCK, bcrypt, msvcrt (the
#     mingw C runtime, part of Windows) - no libstdc++-6, libgcc_s, libwinpthread;
#   - exports exactly GetExtensionVersion, HttpExtensionProc, TerminateExtension, undecorated
#     (x86 __stdcall would otherwise export GetExtensionVersion@4, which IIS does not find).
# Prints one line per check and ends with 'build-windows: N passed, M failed'.
# The warning check sees only what this run compiled: a fresh build-root checks everything.
# Usage: build-windows.sh [build-root]   (default build-dll/windows)
set -uo pipefail
cd "$(dirname "$0")/.."
root=${1:-build-dll/windows}
passed=0 failed=0
check() { # name, status, detail
  if [ "$2" -eq 0 ]; then passed=$((passed + 1)); echo "ok   $1"
  else failed=$((failed + 1)); echo "FAIL $1"; [ -n "${3:-}" ] && printf '%s\n' "$3" | sed 's/^/     /'; fi
}
allowed_imports='^(KERNEL32|ADVAPI32|WS2_32|MSWSOCK|bcrypt|msvcrt)\.dll$'

for arch in x64 ia32; do
  case $arch in
  x64) toolchain=cmake/mingw-w64-x86_64.cmake format=pei-x86-64 magic='(PE32+)' strip=x86_64-w64-mingw32-strip ;;
  ia32) toolchain=cmake/mingw-w64-i686.cmake format=pei-i386 magic='(PE32)' strip=i686-w64-mingw32-strip ;;
  esac
  build=$root/$arch
  log=$build.log
  mkdir -p "$build"
  if cmake -S . -B "$build" -G Ninja -DCMAKE_TOOLCHAIN_FILE=$toolchain >"$log" 2>&1 &&
    nice ninja -C "$build" -j2 kallithea_isapi >>"$log" 2>&1; then
    warnings=$(grep -c 'warning:' "$log")
    check "$arch: builds without warnings" "$warnings" "$(grep -A3 'warning:' "$log" | head -20)"
  else
    check "$arch: builds" 1 "$(tail -20 "$log")"
    continue
  fi
  dll=$build/kallithea_isapi.dll
  dump=$(x86_64-w64-mingw32-objdump -p "$dll")
  grep -q "file format $format" <<<"$dump" && grep -qF "$magic" <<<"$dump"
  check "$arch: $format $magic" $? "$(grep -E 'file format|Magic' <<<"$dump")"
  imports=$(grep -oP 'DLL Name: \K\S+' <<<"$dump" | sort -u)
  bad=$(grep -viE "$allowed_imports" <<<"$imports")
  [ -n "$imports" ] && [ -z "$bad" ]
  check "$arch: imports only system DLLs ($(tr '\n' ' ' <<<"$imports"| sed 's/ $//'))" $? \
    "not allowed: $bad"
  exports=$(sed -n '/\[Ordinal\/Name Pointer\] Table/,/^$/p' <<<"$dump" | grep -oP '^\s+\[\s*\d+\]\s+\K\S+' |
    sort | tr '\n' ' ')
  [ "$exports" = "GetExtensionVersion HttpExtensionProc TerminateExtension " ]
  check "$arch: exports the three ISAPI names undecorated" $? "exports: $exports"
  mkdir -p "prebuilds/win32-$arch"
  # The shipped copy without symbols (a third of the size); the build keeps them.
  "$strip" --strip-unneeded -o "prebuilds/win32-$arch/kallithea_isapi.dll" "$dll"
done

echo "build-windows: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
