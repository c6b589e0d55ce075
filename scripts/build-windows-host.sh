#!/usr/bin/env bash
# Cross-builds the isapi-host addon (native/host) for Windows with mingw-w64, for the Windows
# test stack under Wine (scripts/test-windows.sh). Usage: build-windows-host.sh [x64|ia32]
# Output: build-win/<arch>/isapi_host.node, linked statically against libstdc++/winpthread so
# it imports only system DLLs and node.exe (through an import library made from
# node-api-headers' def/node_api.def). Node's headers come from node-api-headers too: nothing
# is downloaded. Rebuilds only when a source is newer than the output.
set -euo pipefail
cd "$(dirname "$0")/.."
arch=${1:-x64}
case $arch in
  x64) triple=x86_64-w64-mingw32 ;;
  ia32) triple=i686-w64-mingw32 ;;
  *) echo "build-windows-host: unknown arch $arch (x64 or ia32)" >&2; exit 2 ;;
esac
out=build-win/$arch
target=$out/isapi_host.node
sources=(native/host/addon/*.cc native/host/core/*.cc)
if [ -f "$target" ] && [ -z "$(find native/host "$0" -newer "$target" -type f | head -1)" ]; then
  echo "[build-windows-host] $target is up to date"
  exit 0
fi
mkdir -p "$out/obj"
headers=node_modules/node-api-headers
"$triple-dlltool" -d "$headers/def/node_api.def" -l "$out/libnode_api.a" -D node.exe
flags=(-std=c++17 -O2 -Wall -Wextra -fexceptions -DNAPI_VERSION=8 -DNAPI_CPP_EXCEPTIONS
  -DBUILDING_NODE_EXTENSION -D_WIN32_WINNT=0x0601 -DWIN32_LEAN_AND_MEAN -DNOMINMAX
  -I "$headers/include" -I node_modules/node-addon-api -I native/include)
objects=()
for src in "${sources[@]}"; do
  obj=$out/obj/$(basename "${src%.cc}").o
  objects+=("$obj")
  [ "$obj" -nt "$src" ] && [ -z "$(find native/host native/include -name '*.h' -newer "$obj" | head -1)" ] && continue
  # two at a time: the machine is shared
  while [ "$(jobs -rp | wc -l)" -ge 2 ]; do wait -n || exit 1; done
  nice "$triple-g++-posix" "${flags[@]}" -c "$src" -o "$obj" &
done
while [ "$(jobs -rp | wc -l)" -gt 0 ]; do wait -n || exit 1; done
"$triple-g++-posix" -shared -o "$target" "${objects[@]}" "$out/libnode_api.a" \
  -static -static-libgcc -static-libstdc++ -Wl,--no-undefined
# Only system DLLs and node.exe may be imported (a stray libstdc++-6.dll would not be found
# beside node.exe on a real machine).
imports=$("$triple-objdump" -p "$target" | sed -n 's/^\tDLL Name: //p' | tr 'A-Z' 'a-z' | sort -u)
for dll in $imports; do
  case $dll in
    node.exe | kernel32.dll | msvcrt.dll | ws2_32.dll | advapi32.dll | user32.dll | api-ms-win-*) ;;
    *) echo "[build-windows-host] $target imports $dll, which is not a system DLL" >&2; exit 1 ;;
  esac
done
echo "[build-windows-host] built $target (imports: $(echo $imports))"
