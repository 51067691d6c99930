#!/usr/bin/env bash
# Throwaway PostgreSQL + Redis servers for tests and benchmarks.
#
#   scripts/testenv.sh start DIR   # start both, write DIR/env (source it)
#   scripts/testenv.sh stop DIR    # stop both, remove their data (quiet if already stopped)
#
# DIR/env exports OMS_TEST_POSTGRES_URL, OMS_TEST_REDIS_URL and OMS_TEST_PG_BINDIR.
# OMS_TESTENV_DURABLE=1 keeps PostgreSQL's fsync/synchronous_commit/full_page_writes on.
# Missing servers are installed with apt-get when running as root (Debian), otherwise
# the script says which Debian package to install.
set -euo pipefail

PROG="testenv"
say() { printf '%s: %s\n' "$PROG" "$*"; }
warn() { printf '%s: %s\n' "$PROG" "$*" >&2; }

usage() {
    echo "usage: $0 start|stop DIR" >&2
    exit 2
}

[ $# -eq 2 ] || usage
ACTION=$1
DIR_ARG=$2
[ -n "$DIR_ARG" ] || usage

IS_ROOT=0
if [ "$(id -u)" = 0 ]; then IS_ROOT=1; fi

free_port() {
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# Succeeds when a Redis server answers PING on 127.0.0.1:$1.
redis_ping() {
    python3 - "$1" <<'EOF' >/dev/null 2>&1
import socket, sys
with socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1) as s:
    s.sendall(b"PING\r\n")
    sys.exit(0 if s.recv(64).startswith(b"+PONG") else 1)
EOF
}

apt_install() {  # apt_install PACKAGE
    say "installing Debian package '$1' (apt-get)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null
}

find_pg_bindir() {
    local d
    if command -v pg_config >/dev/null 2>&1; then
        d=$(pg_config --bindir 2>/dev/null || true)
        if [ -n "$d" ] && [ -x "$d/initdb" ]; then echo "$d"; return 0; fi
    fi
    d=$(ls -d /usr/lib/postgresql/*/bin/initdb 2>/dev/null | sort -V | tail -n 1 || true)
    if [ -n "$d" ] && [ -x "$d" ]; then dirname "$d"; return 0; fi
    d=$(command -v initdb 2>/dev/null || true)
    if [ -n "$d" ]; then dirname "$d"; return 0; fi
    return 1
}

require_pg() {
    PG_BINDIR=$(find_pg_bindir || true)
    if [ -z "$PG_BINDIR" ]; then
        if [ $IS_ROOT = 1 ] && command -v apt-get >/dev/null 2>&1; then
            apt_install postgresql
            PG_BINDIR=$(find_pg_bindir || true)
        fi
        if [ -z "$PG_BINDIR" ]; then
            warn "PostgreSQL server binaries (initdb, pg_ctl) not found."
            warn "Install the Debian package 'postgresql' (sudo apt-get install postgresql) and retry."
            exit 1
        fi
    fi
    for b in initdb pg_ctl createdb; do
        if [ ! -x "$PG_BINDIR/$b" ]; then
            warn "$PG_BINDIR/$b is missing; install the Debian package 'postgresql'."
            exit 1
        fi
    done
}

require_redis() {
    REDIS_SERVER=$(command -v redis-server 2>/dev/null || true)
    if [ -z "$REDIS_SERVER" ]; then
        if [ $IS_ROOT = 1 ] && command -v apt-get >/dev/null 2>&1; then
            apt_install redis-server
            REDIS_SERVER=$(command -v redis-server 2>/dev/null || true)
        fi
        if [ -z "$REDIS_SERVER" ]; then
            warn "redis-server not found."
            warn "Install the Debian package 'redis-server' (sudo apt-get install redis-server) and retry."
            exit 1
        fi
    fi
}

# Run a PostgreSQL command as the user that owns the cluster.
as_pg() {
    if [ "${PG_RUNAS:-}" = postgres ]; then
        (cd "$PG_BASE" && runuser -u postgres -- "$@")
    else
        (cd "$PG_BASE" && "$@")
    fi
}

# ---------------------------------------------------------------- stop

stop_pg() {
    local PG_BASE="" PG_BINDIR="" PG_RUNAS=""  # do not clobber the caller's values
    # shellcheck disable=SC1091
    [ -f "$DIR/state" ] && . "$DIR/state"
    if [ -z "$PG_BASE" ]; then  # no state file: look for a cluster in the usual place
        [ -d "$DIR/pg" ] || return 0
        PG_BASE="$DIR/pg"
        PG_BINDIR=$(find_pg_bindir || true)
        if [ $IS_ROOT = 1 ] && [ "$(stat -c %U "$PG_BASE")" = postgres ]; then
            PG_RUNAS=postgres
        fi
    fi
    [ -d "$PG_BASE" ] || return 0
    if [ -f "$PG_BASE/data/postmaster.pid" ] && [ -n "$PG_BINDIR" ]; then
        as_pg "$PG_BINDIR/pg_ctl" stop -D "$PG_BASE/data" -m fast -w -t 30 -s >/dev/null 2>&1 ||
            as_pg "$PG_BINDIR/pg_ctl" stop -D "$PG_BASE/data" -m immediate -w -t 10 -s >/dev/null 2>&1 ||
            true
    fi
    if [ -f "$PG_BASE/data/postmaster.pid" ]; then  # still there: kill the postmaster
        local pid
        pid=$(head -n 1 "$PG_BASE/data/postmaster.pid" 2>/dev/null || true)
        if [ -n "$pid" ] && grep -qs postgres "/proc/$pid/comm"; then
            kill -9 "$pid" 2>/dev/null || true
            sleep 1
        fi
    fi
    # Only ever delete directories this script created.
    case "$PG_BASE" in
        "$DIR/pg" | /tmp/oms-pg.*) rm -rf -- "$PG_BASE" ;;
    esac
}

stop_redis() {
    local pidfile="$DIR/redis.pid" pid i
    [ -f "$pidfile" ] || return 0
    pid=$(cat "$pidfile" 2>/dev/null || true)
    if [ -n "$pid" ] && grep -qs redis "/proc/$pid/comm"; then
        kill "$pid" 2>/dev/null || true
        for i in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.2
        done
        kill -9 "$pid" 2>/dev/null || true
    fi
    rm -f -- "$pidfile"
}

do_stop() {
    [ -d "$DIR" ] || return 0
    stop_pg
    stop_redis
    rm -f -- "$DIR/env" "$DIR/state" "$DIR/redis.log" "$DIR/dump.rdb"
    rmdir -- "$DIR" 2>/dev/null || true
}

# ---------------------------------------------------------------- start

fail() {
    warn "$*"
    do_stop
    exit 1
}

show_log() {  # show_log FILE
    if [ -s "$1" ]; then
        warn "---- $1 ----"
        tail -n 50 "$1" >&2 || true
        warn "----"
    fi
}

choose_pg_base() {
    PG_RUNAS=""
    PG_BASE="$DIR/pg"
    mkdir -p "$PG_BASE"
    if [ $IS_ROOT = 1 ]; then
        getent passwd postgres >/dev/null ||
            fail "running as root, but there is no 'postgres' user to run PostgreSQL as"
        PG_RUNAS=postgres
        chown postgres: "$PG_BASE"
        if ! runuser -u postgres -- test -w "$PG_BASE" 2>/dev/null; then
            # DIR's parents are not traversable by postgres: use a dir under /tmp instead.
            rmdir -- "$PG_BASE"
            PG_BASE=$(mktemp -d /tmp/oms-pg.XXXXXXXX)
            chown postgres: "$PG_BASE"
        fi
    fi
    chmod 700 "$PG_BASE"
    {
        printf 'PG_BASE=%q\n' "$PG_BASE"
        printf 'PG_BINDIR=%q\n' "$PG_BINDIR"
        printf 'PG_RUNAS=%q\n' "$PG_RUNAS"
    } >"$DIR/state"
}

start_pg() {
    choose_pg_base
    if ! as_pg "$PG_BINDIR/initdb" -D "$PG_BASE/data" -A trust -U oms --encoding=UTF8 \
        --locale=C >"$PG_BASE/initdb.log" 2>&1; then
        show_log "$PG_BASE/initdb.log"
        fail "initdb failed"
    fi

    # Unix socket next to the data; sockets are skipped if the path is too long (TCP is used).
    local sockdir="$PG_BASE"
    [ ${#sockdir} -le 90 ] || sockdir=""
    local opts="-c listen_addresses=127.0.0.1 -c max_connections=200 -c shared_buffers=256MB"
    if [ "${OMS_TESTENV_DURABLE:-0}" != 1 ]; then
        opts="$opts -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    fi

    local attempt
    for attempt in 1 2 3; do
        PG_PORT=$(free_port)
        if as_pg "$PG_BINDIR/pg_ctl" start -w -t 60 -s -D "$PG_BASE/data" -l "$PG_BASE/postgres.log" \
            -o "-p $PG_PORT -k '$sockdir' $opts" >/dev/null 2>&1; then
            break
        fi
        if [ $attempt = 3 ] || ! grep -qs 'already in use' "$PG_BASE/postgres.log"; then
            show_log "$PG_BASE/postgres.log"
            fail "PostgreSQL failed to start"
        fi
    done

    if ! "$PG_BINDIR/createdb" -h 127.0.0.1 -p "$PG_PORT" -U oms oms >"$PG_BASE/createdb.log" 2>&1; then
        show_log "$PG_BASE/createdb.log"
        show_log "$PG_BASE/postgres.log"
        fail "createdb failed"
    fi
}

start_redis() {
    local attempt i
    for attempt in 1 2 3; do
        REDIS_PORT=$(free_port)
        rm -f -- "$DIR/redis.pid"
        "$REDIS_SERVER" --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
            --daemonize yes --pidfile "$DIR/redis.pid" --logfile "$DIR/redis.log" \
            --dir "$DIR" >/dev/null 2>&1 || true
        for i in $(seq 50); do
            redis_ping "$REDIS_PORT" && [ -s "$DIR/redis.pid" ] && return 0
            sleep 0.1
        done
        stop_redis
        grep -qs 'already in use' "$DIR/redis.log" || break
    done
    show_log "$DIR/redis.log"
    fail "redis-server failed to start"
}

do_start() {
    if [ -e "$DIR/state" ] || [ -e "$DIR/redis.pid" ] || [ -e "$DIR/pg" ]; then
        do_stop  # leftovers from an earlier run
    fi
    mkdir -p "$DIR"
    start_pg
    start_redis
    {
        echo "export OMS_TEST_POSTGRES_URL=postgresql+psycopg://oms@127.0.0.1:$PG_PORT/oms"
        echo "export OMS_TEST_REDIS_URL=redis://127.0.0.1:$REDIS_PORT/0"
        printf 'export OMS_TEST_PG_BINDIR=%q\n' "$PG_BINDIR"
    } >"$DIR/env"
    local pgver durable=""
    pgver=$("$PG_BINDIR/postgres" --version 2>/dev/null | awk '{print $3}' || true)
    if [ "${OMS_TESTENV_DURABLE:-0}" = 1 ]; then durable=" (durable)"; fi
    say "postgres ${pgver:-?}$durable on 127.0.0.1:$PG_PORT, redis on 127.0.0.1:$REDIS_PORT; env in $DIR_ARG/env"
}

case "$ACTION" in
    start) require_pg && require_redis && mkdir -p -- "$DIR_ARG" ;;
    stop) [ -d "$DIR_ARG" ] || exit 0 ;;  # nothing to stop
    *) usage ;;
esac
DIR=$(cd -- "$DIR_ARG" && pwd -P)  # canonical absolute path
[ "$DIR" != / ] || usage

case "$ACTION" in
    start) do_start ;;
    stop) do_stop ;;
esac
