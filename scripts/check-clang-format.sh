#!/usr/bin/env bash
# Checks (or with --fix, applies) clang-format on every C/C++ file the project owns.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files --cached --others --exclude-standard -- 'native/*.h' 'native/*.cc' 'native/*.cpp' 'native/*.hpp' 'test/*.cc' 'test/*.cpp' 'test/*.h' 'bench/*.cc' | while read -r f; do [ -f "$f" ] && echo "$f"; done)
[ ${#files[@]} -eq 0 ] && exit 0
if [ "${1:-}" = "--fix" ]; then
  clang-format -i "${files[@]}"
else
  clang-format --dry-run --Werror "${files[@]}"
fi
