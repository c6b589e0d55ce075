#!/usr/bin/env bash
# Sets up everything the project needs on a fresh Debian 12 machine, idempotently:
# system packages, npm packages, and the builds (TypeScript, the isapi-host addon, the
# ISAPI DLL, the test fixtures). Both README commands (npm start, npm test) run it first.
#
# Nothing here downloads a toolchain or headers: node-gyp and cmake-js build against the
# headers of the installed Node.js (.npmrc: nodedir=/usr, i.e. /usr/include/node).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '[setup] %s\n' "$*"; }

# --- 1. Debian packages ---------------------------------------------------------------
# nginx, libfcgi-bin (cgi-fcgi): real FastCGI peers of the bridge in tests and benches.
# libasio-dev: the DLL's asynchronous I/O. build-essential, cmake, libgtest-dev: native builds
# and C++ unit tests. mingw-w64, wine: the Windows DLL builds and their run under Wine.
# mercurial, git: real VCS clients for the Kallithea tests. chromium: browser tests.
# wrk: benchmarks. clang-format: C++ formatting check. curl: test client.
# clang, libclang-rt-14-dev: the DLL's libFuzzer targets (scripts/fuzz.sh) and its
# ThreadSanitizer build (scripts/tsan-dll.sh).
# postgresql: the PostgreSQL-backed Kallithea instance (kallithea-instance.sh --postgres).
packages=(nginx libfcgi-bin libasio-dev build-essential cmake libgtest-dev mingw-w64 wine
  mercurial git chromium wrk clang-format curl python3-venv clang libclang-rt-14-dev postgresql)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    say "missing Debian packages: ${missing[*]}; run as root or install them: apt-get install ${missing[*]}"
    exit 1
  fi
  say "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian installs nginx with a default site that starts on boot; tests run their own.

# --- 2. Node.js and its headers -------------------------------------------------------
node_major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$node_major" -lt 20 ]; then
  say "Node.js >= 20 is required (found $(node --version))"
  exit 1
fi
nodedir=$(npm config get nodedir)
if [ ! -f "$nodedir/include/node/node_api.h" ]; then
  say "no Node.js headers under nodedir=$nodedir/include/node: install the nodejs package that ships them, or set nodedir in .npmrc"
  exit 1
fi

# --- 3. npm packages (also builds the addon through the package's install script) ----
stamp=node_modules/.kallithea-isapi-stamp
if [ ! -f "$stamp" ] || [ package-lock.json -nt "$stamp" ] || [ package.json -nt "$stamp" ]; then
  say "npm ci"
  npm ci --ignore-scripts --no-audit --no-fund >/dev/null
  touch "$stamp"
fi

# --- 4. Builds ------------------------------------------------------------------------
say "building TypeScript"
npx tsc -p tsconfig.json
if [ -f binding.gyp ]; then
  say "building the isapi-host addon (node-gyp)"
  npx node-gyp rebuild >build-addon.log 2>&1 || { cat build-addon.log; exit 1; }
fi
if [ -f CMakeLists.txt ]; then
  say "building the ISAPI DLL (cmake-js)"
  npm run -s build:dll >build-dll.log 2>&1 || { cat build-dll.log; exit 1; }
fi
if [ -f scripts/build-windows.sh ]; then
  # The package's prebuilt Windows DLLs (prebuilds/), which `install` registers by default.
  say "building the Windows DLLs (mingw-w64)"
  bash scripts/build-windows.sh >build-windows.log 2>&1 || { cat build-windows.log; exit 1; }
fi
if [ -f scripts/build-fixtures.sh ]; then
  say "building the test fixtures"
  bash scripts/build-fixtures.sh >build-fixtures.log 2>&1 || { cat build-fixtures.log; exit 1; }
fi
say "ready"
