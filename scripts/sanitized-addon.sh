#!/usr/bin/env bash
# Builds the isapi-host addon with a sanitizer into a folder of its own, leaving build/ alone:
# the same binding.gyp with the `sanitize` variable set and paths made relative to that folder.
# Usage: scripts/sanitized-addon.sh <out folder> <1: ASan+UBSan | 2: TSan>
# Prints where the .node is (for KALLITHEA_ISAPI_HOST_ADDON) on its last line.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$1 level=$2
mkdir -p "$out"
python3 - "$out/binding.gyp" "$level" "$(realpath --relative-to="$out" .)" <<'PY'
import ast, re, sys
text = open('binding.gyp').read()
text = re.sub(r'^\s*#.*$', '', text, flags=re.M)
gyp = ast.literal_eval(text)
gyp['variables']['sanitize%'] = int(sys.argv[2])
up = sys.argv[3] + '/'
for target in gyp['targets']:
    target['sources'] = [up + s for s in target['sources']]
    target['include_dirs'] = [d if d.startswith('<!') else up + d for d in target['include_dirs']]
open(sys.argv[1], 'w').write(repr(gyp))
PY
npx node-gyp rebuild -C "$out" >"$out/build.log" 2>&1 || { cat "$out/build.log" >&2; exit 1; }
echo "$PWD/$out/build/Release/isapi_host.node"
