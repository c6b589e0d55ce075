#!/usr/bin/env bash
# The README's main job (npm start): sets up a fresh machine, creates the local Kallithea
# instance on first run, then serves it through isapi-host -> DLL -> bridge -> Kallithea at
# http://127.0.0.1:${PORT:-8080}/ with emulated Windows authentication.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/kallithea-instance.sh
instance=.cache/kallithea
exec node bin/kallithea-isapi.js serve -c "$instance/my.ini" --venv "$instance/venv" \
  --port "${PORT:-8080}" --users scripts/kallithea/windows-users.txt "$@"
