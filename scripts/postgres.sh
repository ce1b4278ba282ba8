# shellcheck shell=bash
# Starts a throwaway PostgreSQL 15 cluster in a temporary directory and exports
# TEST_POSTGRES_URL; stops it and removes the directory on exit. Source it, then call
# start_postgres. As root, the cluster runs as the `postgres` user.

pg_bin() {
  local d
  for d in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
    [ -x "$d/pg_ctl" ] && { echo "$d"; return 0; }
  done
  command -v pg_ctl >/dev/null 2>&1 && { dirname "$(command -v pg_ctl)"; return 0; }
  return 1
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# psql on the cluster's administrative database, with the arguments given.
psql_admin() {
  "$PG_BIN/psql" "$TEST_POSTGRES_URL" -X -q "$@"
}

stop_postgres() {
  if [ -n "${PG_TMP:-}" ] && [ -d "$PG_TMP" ]; then
    as_pg "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -m immediate stop >/dev/null 2>&1 || true
    rm -rf "$PG_TMP"
  fi
}

start_postgres() {
  PG_BIN=$(pg_bin) || { echo "PostgreSQL binaries not found (install postgresql-15)" >&2; return 1; }
  PG_TMP=$(mktemp -d /tmp/portcullis-pg.XXXXXX)
  trap stop_postgres EXIT
  trap 'exit 130' INT TERM
  [ "$(id -u)" = 0 ] && chown postgres "$PG_TMP"
  as_pg "$PG_BIN/initdb" -D "$PG_TMP/data" -U postgres --auth=trust -E UTF8 >"$PG_TMP/initdb.log" 2>&1 \
    || { cat "$PG_TMP/initdb.log" >&2; return 1; }
  local port
  port=$(free_port)
  as_pg "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/server.log" -w -t 60 \
    -o "-p $port -k $PG_TMP -c listen_addresses=127.0.0.1 -c max_connections=500 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
    start >/dev/null || { cat "$PG_TMP/server.log" >&2; return 1; }
  export TEST_POSTGRES_URL="postgres://postgres@127.0.0.1:$port/postgres"
  echo "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$port (throwaway, $PG_TMP)"
}
