#!/usr/bin/env bash
# The README's main job (npm start): sets up a fresh machine, creates the local Kallithea
# instance on first run, then serves it through isapi-host -> DLL -> bridge -> Kallithea at
# http://127.0.0.1:${PORT:-8080}/ with emulated Windows authentication.
# VIRTUALDIR=/kallithea serves it under that virtual directory (with my-vdir.ini, which has
# Kallithea's proxy-prefix filter for /kallithea).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/kallithea-instance.sh
instance=.cache/kallithea
ini=$instance/my.ini
vdir=${VIRTUALDIR:-/}
[ "$vdir" != / ] && ini=$instance/my-vdir.ini
exec node bin/kallithea-isapi.js serve -c "$ini" --venv "$instance/venv" --virtualdir "$vdir" \
  --port "${PORT:-8080}" --users scripts/kallithea/windows-users.txt "$@"
