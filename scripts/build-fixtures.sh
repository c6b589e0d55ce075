#!/usr/bin/env bash
# Builds the fixture extensions of the isapi-host conformance tests into build-fixtures/
# (or $1). Extra cmake arguments after the directory, e.g. -DFIXTURE_SANITIZE=ON.
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-build-fixtures}"
shift || true
cmake -S test/fixtures -B "$out" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build "$out" --parallel
