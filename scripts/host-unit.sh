#!/usr/bin/env bash
# Builds and runs the isapi-host core's GoogleTest units (native/host/test) into
# build-host-unit/ (or $1). Extra cmake arguments after the directory, e.g.
# -DHOST_UNIT_SANITIZE=ON. scripts/test.sh counts them as the "host-unit" suite.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-build-host-unit}"
shift || true
cmake -S native/host/test -B "$out" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
nice ninja -C "$out" -j 2 >/dev/null
"$out/isapi_host_core_tests"
