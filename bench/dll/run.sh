#!/usr/bin/env bash
# The DLL alone: CPU per request of kallithea_isapi (native/isapi/tests/request_bench.cpp)
# with the unit tests' fake host, the FastCGI responder in a child process, at 1 and 32
# requests in flight, medians of 3 runs. The target of issue 12: <= 10 us at both.
# Usage: bench/dll/run.sh [--threads T] [--requests N] [--runs R] [--in-flight 1,32]
# (Release build in build-dll/bench; not part of npm test: it measures, it does not assert.)
set -euo pipefail
cd "$(dirname "$0")/../.."
build=build-dll/bench
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=ON >/dev/null
cmake --build "$build" --target kallithea_isapi_bench >/dev/null
exec "$build/kallithea_isapi_bench" "$@"
