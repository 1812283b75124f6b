#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the test suite: its own data folder, listening on
# loopback only, trust authentication (nothing but this machine can reach it).
#   scripts/postgres-test-server.sh start     prints: export EDGENAS_TEST_POSTGRES_URL=...
#   scripts/postgres-test-server.sh restart   stops and starts it (the reconnection test)
#   scripts/postgres-test-server.sh stop
# PostgreSQL refuses to run as root: as root the cluster belongs to the system user edgenas-pg.
set -euo pipefail

readonly DIR=${EDGENAS_PG_DIR:-/tmp/edgenas-test-postgres}
readonly PORT=${EDGENAS_PG_PORT:-55432}
readonly OWNER=edgenas-pg
# Addresses to listen on (comma-separated) and a network whose clients are trusted besides
# loopback: the network-fault test adds its namespace's link here.
readonly LISTEN=${EDGENAS_PG_LISTEN:-127.0.0.1}
readonly TRUSTED_NETWORK=${EDGENAS_PG_TRUSTED_NETWORK:-}

fail() {
    echo "postgres-test-server.sh: error: $*" >&2
    exit 1
}

BIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
[[ -n $BIN ]] || fail "no PostgreSQL server found under /usr/lib/postgresql: run scripts/setup.sh --for-tests"

as_owner() {
    if [[ $(id -u) -eq 0 ]]; then runuser -u "$OWNER" -- "$@"; else "$@"; fi
}

running() {
    [[ -f $DIR/data/PG_VERSION ]] && as_owner "$BIN/pg_ctl" -D "$DIR/data" status >/dev/null 2>&1
}

start() {
    if [[ $(id -u) -eq 0 ]] && ! id "$OWNER" >/dev/null 2>&1; then
        useradd --system --no-create-home --shell /usr/sbin/nologin "$OWNER"
    fi
    mkdir -p "$DIR"
    [[ $(id -u) -eq 0 ]] && chown "$OWNER" "$DIR"
    if [[ ! -f $DIR/data/PG_VERSION ]]; then
        as_owner "$BIN/initdb" -D "$DIR/data" -U edgenas --auth=trust --no-sync >"$DIR/initdb.log" 2>&1 \
            || { cat "$DIR/initdb.log" >&2; fail "initdb failed"; }
        if [[ -n $TRUSTED_NETWORK ]]; then
            echo "host all all $TRUSTED_NETWORK trust" | as_owner tee -a "$DIR/data/pg_hba.conf" >/dev/null
        fi
    fi
    if ! running; then
        as_owner "$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 \
            -o "-c listen_addresses=$LISTEN -p $PORT -k $DIR -c fsync=off -c max_connections=200" start >/dev/null \
            || { tail -n 20 "$DIR/server.log" >&2; fail "the server did not start"; }
    fi
    echo "export EDGENAS_TEST_POSTGRES_URL=postgresql://edgenas@127.0.0.1:$PORT/postgres"
}

stop() {
    running && as_owner "$BIN/pg_ctl" -D "$DIR/data" -m fast -w stop >/dev/null
    return 0
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    restart) stop; start >/dev/null ;;
    *) fail "usage: $0 start|restart|stop" ;;
esac
