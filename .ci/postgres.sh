#!/usr/bin/env bash
# A throwaway PostgreSQL server for the store tests (tests marked `postgres`).
#
#   source .ci/postgres.sh         start one and export CRE_ADVISOR_TEST_POSTGRES_URL (and _DIR)
#   eval "$(.ci/postgres.sh)"      the same from a script that does not source
#   .ci/postgres.sh stop           stop the cluster in $CRE_ADVISOR_TEST_POSTGRES_DIR, remove its files
#
# Installs Debian's `postgresql` with apt-get when its server binaries are missing, runs
# initdb in a fresh directory under /tmp as the `postgres` user (when started as root),
# listens on 127.0.0.1 only, on a free port, with trust authentication for that address
# alone, and creates the database `cre_advisor_test`. Durability settings are off: the
# cluster holds test data only and is deleted afterwards.

_cre_pg_bindir() {
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

_cre_pg_as_owner() {
    # Run a server binary as the cluster owner: postgres refuses to run as root.
    if [ "$(id -u)" = "0" ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

_cre_pg_start() (
    set -euo pipefail
    if [ -z "$(_cre_pg_bindir)" ]; then
        echo "postgres.sh: installing Debian postgresql" >&2
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >&2
        apt-get install -y -qq --no-install-recommends postgresql >&2
    fi
    bindir="$(_cre_pg_bindir)"
    [ -x "$bindir/initdb" ] || { echo "postgres.sh: no initdb under /usr/lib/postgresql" >&2; exit 1; }

    datadir="$(mktemp -d /tmp/cre-advisor-pg.XXXXXX)"
    if [ "$(id -u)" = "0" ]; then chown postgres: "$datadir"; fi
    chmod 700 "$datadir"
    port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"

    _cre_pg_as_owner "$bindir/initdb" -D "$datadir/data" -U postgres -A trust \
        --no-sync -E UTF8 --locale=C.UTF-8 >/dev/null
    # Trust only loopback TCP; no Unix-socket logins, no other host.
    printf 'host all postgres 127.0.0.1/32 trust\n' >"$datadir/data/pg_hba.conf"
    if ! _cre_pg_as_owner "$bindir/pg_ctl" -D "$datadir/data" -l "$datadir/server.log" -w -t 60 -s \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $datadir -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
        start >&2; then
        tail -n 20 "$datadir/server.log" >&2
        exit 1
    fi
    "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres cre_advisor_test >&2
    echo "postgresql+psycopg://postgres@127.0.0.1:$port/cre_advisor_test"
    echo "$datadir"
)

_cre_pg_stop() {
    local datadir="${CRE_ADVISOR_TEST_POSTGRES_DIR:-}"
    [ -n "$datadir" ] && [ -d "$datadir/data" ] || { echo "postgres.sh: no cluster to stop" >&2; return 0; }
    _cre_pg_as_owner "$(_cre_pg_bindir)/pg_ctl" -D "$datadir/data" -m fast -w -s stop >&2 || true
    rm -rf "$datadir"
}

_cre_pg_main() {
    local lines url datadir
    lines="$(_cre_pg_start)" || { echo "postgres.sh: could not start PostgreSQL" >&2; return 1; }
    url="$(printf '%s\n' "$lines" | sed -n 1p)"
    datadir="$(printf '%s\n' "$lines" | sed -n 2p)"
    export CRE_ADVISOR_TEST_POSTGRES_URL="$url"
    export CRE_ADVISOR_TEST_POSTGRES_DIR="$datadir"
    echo "export CRE_ADVISOR_TEST_POSTGRES_URL='$url'"
    echo "export CRE_ADVISOR_TEST_POSTGRES_DIR='$datadir'"
}

if [ "${1:-}" = "stop" ]; then
    _cre_pg_stop
elif [ "${BASH_SOURCE[0]}" != "$0" ]; then
    _cre_pg_main >&2
else
    _cre_pg_main
fi
