#!/usr/bin/env bash
# Create (idempotently, cached) a local Kallithea 0.7.0 instance for the tests
# and the local `serve` command.
#
# usage: scripts/kallithea-instance.sh [--check] [--postgres] [DIR]
#
#   DIR         instance directory (default: <repo>/.cache/kallithea)
#   --check     after building, start both servers, prove container auth,
#               hg/git clone, 401 and 403 through them, then stop them
#   --postgres  also build a PostgreSQL-backed instance in the same DIR (same
#               venv): Debian's PostgreSQL cluster in DIR/pg (socket only,
#               started for the build and stopped after it), database
#               `kallithea`, DIR/my-pg.ini, repositories in DIR/repos-pg
#
# Environment:
#   KALLITHEA_PORT            port of DIR/my.ini            (default 5050)
#   KALLITHEA_VDIR_PORT       port of DIR/my-vdir.ini       (default 5051)
#   KALLITHEA_ADMIN_PASSWORD  password of user admin        (default admin-secret-1)
#   KALLITHEA_BOB_PASSWORD    password of user bob          (default bob-secret-1)
#   KALLITHEA_CAROL_PASSWORD  password of user carol        (default carol-secret-1)
#   KALLITHEA_PYTHON          Python 3.11 interpreter       (default python3)
#   KALLITHEA_PG_PORT         PostgreSQL's port (its socket name)  (default 5439)
#   KALLITHEA_PG_KALLITHEA_PORT  port of DIR/my-pg.ini      (default 5052)
#
# Result in DIR: venv/ (Kallithea and its pinned dependencies), my.ini (port
# KALLITHEA_PORT, served at /), my-vdir.ini (same database, port
# KALLITHEA_VDIR_PORT, served under /kallithea), kallithea.db, repos/ (hgrepo,
# gitrepo), logs/<stage>.log, and the stamp file `stamp`. Start a server with
#   (cd DIR && venv/bin/gearbox serve -c my.ini)
# See scripts/kallithea/README.md for why each step is there.

set -euo pipefail

usage() { sed -n '2,/^$/p' "$0" | sed 's/^# \{0,1\}//'; }

CHECK=0
POSTGRES=0
DIR=
while [ $# -gt 0 ]; do
    case "$1" in
        --check) CHECK=1 ;;
        --postgres) POSTGRES=1 ;;
        -h|--help) usage; exit 0 ;;
        -*) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
        *) [ -z "$DIR" ] || { echo "only one DIR, please" >&2; exit 2; }; DIR=$1 ;;
    esac
    shift
done

REPO_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HERE=$REPO_ROOT/scripts/kallithea
REQUIREMENTS=$HERE/requirements.txt
PROVISION=$HERE/provision.py

DIR=${DIR:-$REPO_ROOT/.cache/kallithea}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)

PORT=${KALLITHEA_PORT:-5050}
VDIR_PORT=${KALLITHEA_VDIR_PORT:-5051}
VDIR_PREFIX=/kallithea
ADMIN_USER=admin
ADMIN_PASSWORD=${KALLITHEA_ADMIN_PASSWORD:-admin-secret-1}
ADMIN_EMAIL=admin@example.com
BOB_PASSWORD=${KALLITHEA_BOB_PASSWORD:-bob-secret-1}
CAROL_PASSWORD=${KALLITHEA_CAROL_PASSWORD:-carol-secret-1}
export KALLITHEA_BOB_PASSWORD=$BOB_PASSWORD KALLITHEA_CAROL_PASSWORD=$CAROL_PASSWORD
PYTHON=${KALLITHEA_PYTHON:-python3}

VENV=$DIR/venv
VBIN=$VENV/bin
LOGS=$DIR/logs
STAMP=$DIR/stamp
SITE=$VENV/lib/python3.11/site-packages
mkdir -p "$LOGS"
touch "$STAMP"

# One build at a time per DIR (tests and a developer may start it together).
exec 9> "$DIR/.lock"
if ! flock -n 9; then
    echo "kallithea-instance: waiting for another run on $DIR"
    flock 9
fi

T0=$(date +%s)

hash_of() { cat "$@" | sha256sum | cut -c1-16; }
hash_str() { printf '%s\n' "$@" | sha256sum | cut -c1-16; }

# run_stage NAME KEY OUTPUT FUNCTION
# Runs FUNCTION (output to logs/NAME.log) unless the stamp file has "NAME KEY"
# and OUTPUT exists. On success records "NAME KEY" in the stamp file.
run_stage() {
    local name=$1 key=$2 output=$3 fn=$4 log=$LOGS/$1.log start rc
    if grep -qxF "$name $key" "$STAMP" && [ -e "$output" ]; then
        printf '%-12s cached\n' "$name"
        return 0
    fi
    sed -i "/^$name /d" "$STAMP"
    start=$(date +%s)
    # Not "( ... ) || rc=$?": errexit is ignored inside the left side of ||.
    set +e
    ( set -euo pipefail; "$fn" ) > "$log" 2>&1
    rc=$?
    set -e
    if [ "$rc" -ne 0 ]; then
        printf '%-12s FAILED (exit %s) after %ss\n' "$name" "$rc" "$(( $(date +%s) - start ))"
        echo "---- last lines of $log ----" >&2
        tail -n 25 "$log" >&2
        echo "kallithea-instance: stage '$name' failed; full log: $log" >&2
        exit 1
    fi
    echo "$name $key" >> "$STAMP"
    printf '%-12s done in %ss (log: %s)\n' "$name" "$(( $(date +%s) - start ))" "$log"
}

# ---------------------------------------------------------------- stages

stage_venv() {
    "$PYTHON" - <<'EOF'
import sys
if sys.version_info[:2] != (3, 11):
    sys.exit('need Python 3.11, got %s (set KALLITHEA_PYTHON)' % sys.version.split()[0])
EOF
    rm -rf "$VENV"
    sed -i '/^frontend /d' "$STAMP"  # the front-end is built into the venv
    "$PYTHON" -m venv "$VENV"
    # Keep the venv's bundled pip (<24.1: newer pip rejects celery 5.0.5's
    # metadata) and setuptools 65.5.0 (pkg_resources, which Kallithea, TG,
    # gearbox, Paste and Markdown import); never upgrade them here.
    "$VBIN/python" - <<'EOF'
from importlib.metadata import version
pip, setuptools = version('pip'), version('setuptools')
print('pip', pip, 'setuptools', setuptools)
if tuple(int(x) for x in pip.split('.')[:2]) >= (24, 1):
    raise SystemExit('bundled pip %s is >= 24.1: it refuses celery 5.0.5' % pip)
if setuptools != '65.5.0':
    raise SystemExit('expected setuptools 65.5.0 in a fresh 3.11 venv, got %s' % setuptools)
EOF
    # wheel first: the no-isolation sdist builds below need its bdist_wheel.
    "$VBIN/pip" install --no-deps "$(sed -n 's/^\(wheel==[^ ]*\).*/\1/p' "$REQUIREMENTS")"
    # Mercurial 5.8.1 without C extensions: its setup.py takes a global
    # --pure option, which distutils reads from this config file.
    printf '[global]\npure = 1\n' > "$VENV/hgpure.cfg"
    DIST_EXTRA_CONFIG=$VENV/hgpure.cfg \
        "$VBIN/pip" install --no-deps --no-build-isolation -r "$REQUIREMENTS"
    "$VBIN/python" - <<'EOF'
from importlib.metadata import version
from mercurial import policy
print('mercurial module policy', policy.policy)
assert policy.policy == b'py', 'mercurial was not built pure'
assert version('setuptools') == '65.5.0', version('setuptools')
EOF
    # The only dependency conflicts allowed are the deliberate out-of-pin
    # versions listed in requirements.txt.
    local out
    out=$("$VBIN/pip" check 2>&1 || true)
    echo "$out"
    if echo "$out" | grep -v -e '^DEPRECATION: celery 5.0.5 has a non-standard dependency specifier pytz>dev' \
            -e '^kallithea 0.7.0 has requirement bleach<3.1.4,>=3.0, but you have bleach 4.1.0.$' \
            -e '^kallithea 0.7.0 has requirement FormEncode<1.4,>=1.3.1, but you have formencode 2.0.1.$' \
            -e '^kallithea 0.7.0 has requirement WebHelpers2<2.1,>=2.0, but you have webhelpers2 2.1.$' \
            | grep .; then
        echo "unexpected dependency problems (above)"
        return 1
    fi
}

stage_config() {
    # The bridge runs several Kallithea processes on this config: the one cache region
    # kept in memory (long_term: commit author -> user) goes to files shared by them, so no
    # process shows what another changed. Sessions are files already (cache_dir/sessions).
    local common=(host=127.0.0.1 '[app:main]' remote_addr_variable=HTTP_X_FORWARDED_FOR
        beaker.cache.long_term.type=file)
    rm -f "$DIR/my.ini" "$DIR/my-vdir.ini"
    "$VBIN/kallithea-cli" config-create "$DIR/my.ini" port="$PORT" "${common[@]}"
    # Same database (sqlite:///%(here)s/kallithea.db), served under a prefix by
    # PasteDeploy's prefix filter, spelled as in config-create's commented
    # template. The Host and X-Forwarded-* headers are left alone.
    "$VBIN/kallithea-cli" config-create "$DIR/my-vdir.ini" port="$VDIR_PORT" "${common[@]}" \
        filter-with=proxy-prefix \
        '[filter:proxy-prefix]' 'use=egg:PasteDeploy#prefix' prefix="$VDIR_PREFIX" \
        translate_forwarded_server=false
    # config-create prints template errors but still exits 0: check the result.
    grep -qx "port = $PORT" "$DIR/my.ini"
    grep -qx "remote_addr_variable = HTTP_X_FORWARDED_FOR" "$DIR/my.ini"
    grep -qx "beaker.cache.long_term.type = file" "$DIR/my.ini"
    if grep -q '^url_scheme_variable' "$DIR/my.ini"; then echo "url_scheme_variable must stay unset"; return 1; fi
    grep -qx "port = $VDIR_PORT" "$DIR/my-vdir.ini"
    grep -qx "filter-with = proxy-prefix" "$DIR/my-vdir.ini"
    grep -qx "prefix = $VDIR_PREFIX" "$DIR/my-vdir.ini"
    diff "$DIR/my.ini" "$DIR/my-vdir.ini" || true
}

stage_db() {
    # A new database must not pick up repositories of an old one.
    rm -rf "$DIR/kallithea.db" "$DIR/repos" "$DIR/data"
    mkdir -p "$DIR/repos"
    "$VBIN/kallithea-cli" db-create -c "$DIR/my.ini" \
        --user="$ADMIN_USER" --password="$ADMIN_PASSWORD" --email="$ADMIN_EMAIL" \
        --repos="$DIR/repos" --force-yes --no-public-access
}

stage_frontend() {
    command -v npm >/dev/null || { echo "npm not found (Debian: apt-get install nodejs npm)"; return 1; }
    # lessc and license-checker are devDependencies: they must not be omitted.
    # pygmentize is looked up on PATH.
    env -u npm_config_omit -u NPM_CONFIG_OMIT -u npm_config_production -u NPM_CONFIG_PRODUCTION \
        PATH="$VBIN:$PATH" NODE_ENV=development "$VBIN/kallithea-cli" front-end-build
    test -s "$SITE/kallithea/public/css/style.css"
}

stage_provision() {
    (cd "$DIR" && "$VBIN/python" "$PROVISION" -c "$DIR/my.ini" provision)
}

# ------------------------------------------------------------------ build

VENV_KEY=$(hash_str "$("$PYTHON" -c 'import sys; print(sys.version)' 2>&1)" "$(hash_of "$REQUIREMENTS")" venv-1)
CONFIG_KEY=$(hash_str "$VENV_KEY" "$PORT" "$VDIR_PORT" "$VDIR_PREFIX" config-2)
DB_KEY=$(hash_str "$ADMIN_USER" "$ADMIN_PASSWORD" "$ADMIN_EMAIL" "$DIR" db-1)
FRONTEND_KEY=$(hash_str "$VENV_KEY" frontend-1)
PROVISION_KEY=$(hash_str "$DB_KEY" "$(hash_of "$PROVISION")" "$BOB_PASSWORD" "$CAROL_PASSWORD" provision-1)

echo "kallithea-instance: $DIR"
run_stage venv "$VENV_KEY" "$VBIN/kallithea-cli" stage_venv
run_stage config "$CONFIG_KEY" "$DIR/my-vdir.ini" stage_config
run_stage db "$DB_KEY" "$DIR/kallithea.db" stage_db
run_stage frontend "$FRONTEND_KEY" "$SITE/kallithea/public/css/style.css" stage_frontend
run_stage provision "$PROVISION_KEY" "$DIR/repos/gitrepo" stage_provision

# ------------------------------------------------------------- postgres

PG_BIN=/usr/lib/postgresql/15/bin
PG=$DIR/pg
PG_PORT=${KALLITHEA_PG_PORT:-5439}
PG_KALLITHEA_PORT=${KALLITHEA_PG_KALLITHEA_PORT:-5052}
PG_URL="postgresql://kallithea@/kallithea?host=$PG/run&port=$PG_PORT"

# pg_ctl as the postgres user (PostgreSQL refuses to run as root), socket only.
pg() { runuser -u postgres -- "$PG_BIN/$1" "${@:2}"; }
pg_start() {
    pg pg_ctl -D "$PG/data" -l "$PG/server.log" -w -o "-k $PG/run -p $PG_PORT -c listen_addresses=''" start
}
pg_stop() { pg pg_ctl -D "$PG/data" -w -m fast stop || true; }

stage_pg_driver() {
    # A wheel: no libpq headers or compiler needed.
    "$VBIN/pip" install --no-deps psycopg2-binary==2.9.10
    "$VBIN/python" -c 'import psycopg2; print("psycopg2", psycopg2.__version__)'
}

stage_pg_db() {
    pg_stop
    rm -rf "$PG" "$DIR/repos-pg" "$DIR/my-pg.ini"
    mkdir -p "$PG/run" "$DIR/repos-pg"
    chown -R postgres:postgres "$PG"
    pg initdb -D "$PG/data" -A trust -U postgres --no-sync
    pg_start
    trap pg_stop EXIT
    pg psql -h "$PG/run" -p "$PG_PORT" -U postgres -c 'CREATE ROLE kallithea LOGIN CREATEDB'
    pg psql -h "$PG/run" -p "$PG_PORT" -U postgres -c 'CREATE DATABASE kallithea OWNER kallithea'
    "$VBIN/kallithea-cli" config-create "$DIR/my-pg.ini" port="$PG_KALLITHEA_PORT" host=127.0.0.1 \
        '[app:main]' remote_addr_variable=HTTP_X_FORWARDED_FOR beaker.cache.long_term.type=file \
        "sqlalchemy.url=$PG_URL"
    grep -qxF "sqlalchemy.url = $PG_URL" "$DIR/my-pg.ini"
    "$VBIN/kallithea-cli" db-create -c "$DIR/my-pg.ini" \
        --user="$ADMIN_USER" --password="$ADMIN_PASSWORD" --email="$ADMIN_EMAIL" \
        --repos="$DIR/repos-pg" --force-yes --no-public-access
    (cd "$DIR" && "$VBIN/python" "$PROVISION" -c "$DIR/my-pg.ini" provision)
    pg_stop
    trap - EXIT
}

if [ "$POSTGRES" = 1 ]; then
    PG_KEY=$(hash_str "$DB_KEY" "$PROVISION_KEY" "$PG_PORT" "$PG_KALLITHEA_PORT" pg-1)
    run_stage pg_driver "$VENV_KEY-pg-1" "$SITE/psycopg2" stage_pg_driver
    run_stage pg_db "$PG_KEY" "$DIR/repos-pg/gitrepo" stage_pg_db
fi

# ------------------------------------------------------------------ check

SERVER_PGIDS=()
stop_servers() {
    local pgid
    for pgid in "${SERVER_PGIDS[@]}"; do
        kill -TERM -- "-$pgid" 2>/dev/null || true
    done
    for pgid in "${SERVER_PGIDS[@]}"; do
        for _ in $(seq 50); do kill -0 -- "-$pgid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL -- "-$pgid" 2>/dev/null || true
    done
    SERVER_PGIDS=()
}

# start_server INI LOG: gearbox in a new session and process group of its own,
# run from DIR (which holds no *.egg-info, so gearbox does not
# pkg_resources.require anything). The shell that setsid starts writes its pid
# (= the group id) and then execs gearbox, so the pid file holds the group to
# kill, whether or not setsid had to fork.
start_server() {
    local ini=$1 log=$2 pidfile=$2.pgid pgid=
    rm -f "$pidfile"
    (cd "$DIR" && exec setsid sh -c 'echo $$ > "$0"; exec "$@"' "$pidfile" \
        "$VBIN/gearbox" serve -c "$ini" > "$log" 2>&1 < /dev/null) &
    for _ in $(seq 50); do
        [ -s "$pidfile" ] && { pgid=$(cat "$pidfile"); break; }
        sleep 0.1
    done
    if [ -z "$pgid" ]; then
        echo "gearbox for $ini did not start; see $log"
        return 1
    fi
    SERVER_PGIDS+=("$pgid")
    rm -f "$pidfile"
}

run_logged() {  # run_logged WHAT LOG CMD...: run CMD, print ok or FAIL + log
    local what=$1 log=$2
    shift 2
    if "$@" > "$log" 2>&1; then
        echo "ok   $what"
    else
        echo "FAIL $what (exit $?): $*"
        cat "$log"
        return 1
    fi
}

run_refused() {  # run_refused WHAT LOG PATTERN CMD...: CMD must fail and print PATTERN
    local what=$1 log=$2 pattern=$3
    shift 3
    if "$@" > "$log" 2>&1; then
        echo "FAIL $what: succeeded: $*"
        return 1
    fi
    expect_grep "$what" "$pattern" "$log"
}

wait_http() {
    local url=$1 log=$2
    for _ in $(seq 120); do
        if curl -s -o /dev/null "$url"; then return 0; fi
        sleep 0.5
    done
    echo "server did not answer at $url; see $log"
    return 1
}

expect_eq() {  # expect_eq WHAT EXPECTED ACTUAL
    if [ "$2" = "$3" ]; then echo "ok   $1 ($3)"; else echo "FAIL $1: expected $2, got $3"; return 1; fi
}

expect_grep() {  # expect_grep WHAT PATTERN FILE
    if grep -qi -- "$2" "$3"; then echo "ok   $1"; else echo "FAIL $1: no '$2' in:"; cat "$3"; return 1; fi
}

# check_server NAME BASE_URL CONTAINER_USER EXPECTED_USERNAME TMPDIR
check_server() {
    local name=$1 base=$2 cuser=$3 uname=$4 tmp=$5 hostport out code
    local work=$tmp/$name
    mkdir -p "$work"
    hostport=${base#http://}
    echo "== $name: $base"

    code=$(curl -s -o /dev/null -w '%{http_code}' "$base/")
    expect_eq "$name anonymous GET / redirects to login" 302 "$code"

    local existed=no
    if "$VBIN/python" "$PROVISION" -c "$DIR/my.ini" user-info "$uname" >/dev/null; then existed=yes; fi
    code=$(curl -s -o "$work/home.html" -w '%{http_code}' -H "X-Forwarded-User: $cuser" "$base/")
    expect_eq "$name GET / with X-Forwarded-User: $cuser" 200 "$code"
    expect_grep "$name page is rendered for $uname" "$uname" "$work/home.html"
    out=$("$VBIN/python" "$PROVISION" -c "$DIR/my.ini" user-info "$uname")
    echo "     model: $out (existed before: $existed)"
    case "$out" in
        *"active=True"*"extern_type=container"*) echo "ok   $name $uname is an active container user" ;;
        *) echo "FAIL $name $uname not auto-created as active container user"; return 1 ;;
    esac

    code=$(curl -s -o /dev/null -w '%{http_code}' "$base/css/style.css")
    expect_eq "$name front-end css" 200 "$code"

    # hg/git with only the container header: served as that user (read via the
    # default permission); internal users (bob) are refused by the container
    # plugin, so for them the header is ignored and Basic auth is required.
    code=$(curl -s -o /dev/null -w '%{http_code}' -H 'Accept: application/mercurial-0.1' \
        -H "X-Forwarded-User: $cuser" "$base/hgrepo?cmd=capabilities")
    expect_eq "$name hg capabilities with X-Forwarded-User only" 200 "$code"
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Forwarded-User: $cuser" \
        "$base/gitrepo/info/refs?service=git-upload-pack")
    expect_eq "$name git info/refs with X-Forwarded-User only" 200 "$code"
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Forwarded-User: $cuser" \
        "$base/gitrepo/info/refs?service=git-receive-pack")
    expect_eq "$name git push with X-Forwarded-User only (read-only default)" 403 "$code"
    code=$(curl -s -o /dev/null -w '%{http_code}' -H 'X-Forwarded-User: bob' \
        "$base/gitrepo/info/refs?service=git-upload-pack")
    expect_eq "$name X-Forwarded-User naming an internal user is not accepted" 401 "$code"

    run_logged "$name hg clone as bob" "$work/hg-clone.log" \
        hg clone "http://bob:$BOB_PASSWORD@$hostport/hgrepo" "$work/hg-bob"
    run_logged "$name hg checkout has README.txt" /dev/null test -f "$work/hg-bob/README.txt"
    run_logged "$name git clone as bob" "$work/git-clone.log" \
        git clone "http://bob:$BOB_PASSWORD@$hostport/gitrepo" "$work/git-bob"
    run_logged "$name git checkout has README.txt" /dev/null test -f "$work/git-bob/README.txt"
    run_logged "$name git push --dry-run as bob is authorised" "$work/git-bob-push.log" \
        git -C "$work/git-bob" push --dry-run "http://bob:$BOB_PASSWORD@$hostport/gitrepo" HEAD:refs/heads/bob-check

    code=$(curl -s -o /dev/null -D "$work/hg401.h" -w '%{http_code}' -H 'Accept: application/mercurial-0.1' \
        "http://bob:wrong-password@$hostport/hgrepo?cmd=capabilities")
    expect_eq "$name hg wrong password" 401 "$code"
    expect_grep "$name hg 401 has WWW-Authenticate Basic" 'WWW-Authenticate: Basic' "$work/hg401.h"
    code=$(curl -s -o /dev/null -w '%{http_code}' \
        "http://bob:wrong-password@$hostport/gitrepo/info/refs?service=git-upload-pack")
    expect_eq "$name git wrong password" 401 "$code"
    run_refused "$name hg clone with wrong password refused" "$work/hg-bad.log" 'authorization failed' \
        hg clone "http://bob:wrong-password@$hostport/hgrepo" "$work/hg-bad"
    run_refused "$name git clone with wrong password refused" "$work/git-bad.log" 'Authentication failed' \
        git clone "http://bob:wrong-password@$hostport/gitrepo" "$work/git-bad"

    echo carol >> "$work/hg-bob/README.txt"
    hg -R "$work/hg-bob" commit -q -u carol -m 'carol tries to push'
    run_refused "$name hg push as carol (read-only) gets 403" "$work/hg-carol.log" 'HTTP Error 403' \
        hg -R "$work/hg-bob" push "http://carol:$CAROL_PASSWORD@$hostport/hgrepo"
    echo carol >> "$work/git-bob/README.txt"
    git -C "$work/git-bob" -c user.name=carol -c user.email=carol@example.com commit -q -am 'carol tries to push'
    run_refused "$name git push as carol (read-only) gets 403" "$work/git-carol.log" 'error: 403' \
        git -C "$work/git-bob" push "http://carol:$CAROL_PASSWORD@$hostport/gitrepo" HEAD:master
}

# What 0.7.0 does with url_scheme_variable set (it is left unset in my.ini).
probe_url_scheme_variable() {
    # in DIR, so that %(here)s points at the real database
    local ini=$DIR/scheme-probe.ini log=$LOGS/scheme-probe.log
    sed 's/^#url_scheme_variable = /url_scheme_variable = /' "$DIR/my.ini" > "$ini"
    grep '^url_scheme_variable' "$ini"
    if (cd "$DIR" && "$VBIN/python" -c "import sys, paste.deploy; paste.deploy.loadapp('config:' + sys.argv[1])" "$ini") \
            > "$log" 2>&1; then
        echo "info url_scheme_variable = HTTP_X_FORWARDED_PROTO: the app loads (bug absent)"
    else
        echo "info url_scheme_variable = HTTP_X_FORWARDED_PROTO: the app fails to load: $(grep -v '^ *$' "$log" | tail -n 1) (log: $log)"
    fi
    rm -f "$ini"
}

stage_check() {
    command -v hg >/dev/null || { echo "hg not found (Debian: apt-get install mercurial)"; return 1; }
    command -v git >/dev/null || { echo "git not found"; return 1; }
    command -v curl >/dev/null || { echo "curl not found"; return 1; }
    local tmp=$DIR/check  # kept after a failure, for the clients' logs
    rm -rf "$tmp"
    mkdir -p "$tmp"
    # Clients with no user configuration, no prompts, no credential helpers.
    export HOME=$tmp/home HGRCPATH= HGPLAIN=1 GIT_TERMINAL_PROMPT=0 GIT_CONFIG_NOSYSTEM=1
    mkdir -p "$HOME"
    trap 'stop_servers' EXIT
    start_server "$DIR/my.ini" "$LOGS/serve-root.log"
    start_server "$DIR/my-vdir.ini" "$LOGS/serve-vdir.log"
    wait_http "http://127.0.0.1:$PORT/" "$LOGS/serve-root.log"
    wait_http "http://127.0.0.1:$VDIR_PORT$VDIR_PREFIX/" "$LOGS/serve-vdir.log"
    check_server root "http://127.0.0.1:$PORT" 'CORP\alice' alice "$tmp"
    check_server vdir "http://127.0.0.1:$VDIR_PORT$VDIR_PREFIX" 'dave@CORP.EXAMPLE' dave "$tmp"
    probe_url_scheme_variable
    stop_servers
    trap - EXIT
    rm -rf "$tmp"
    echo "all checks passed; servers stopped"
}

if [ "$CHECK" = 1 ]; then
    # always runs; never cached
    sed -i '/^check /d' "$STAMP"
    run_stage check "run-$(date +%s)" /nonexistent stage_check
    sed -i '/^check /d' "$STAMP"
    grep -E '^(ok|FAIL|info)' "$LOGS/check.log" | sed 's/^/  /'
fi

echo "kallithea-instance: ready in $(( $(date +%s) - T0 ))s: $DIR/my.ini (port $PORT), $DIR/my-vdir.ini (port $VDIR_PORT, prefix $VDIR_PREFIX)"
