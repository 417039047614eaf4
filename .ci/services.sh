#!/usr/bin/env bash
# Install and start PostgreSQL and Redis from the Debian packages, for the second test run and
# the scale-out test (.ci/run). Idempotent: on a machine where they already run it only checks.
# Needs root (CI runs as root). No systemd is assumed: the daemons are started directly.
#
# Afterwards:  DATABASE_URL=postgres://erpintegr:erpintegr@127.0.0.1:5432/erpintegr
#              REDIS_URL=redis://127.0.0.1:6379/0
# The role may create databases: pytest-django creates and drops test_erpintegr.
set -euo pipefail

PG_USER="${PG_USER:-erpintegr}"
PG_PASSWORD="${PG_PASSWORD:-erpintegr}"
PG_DB="${PG_DB:-erpintegr}"
PG_PORT="${PG_PORT:-5432}"
REDIS_PORT="${REDIS_PORT:-6379}"
WAIT_SECONDS=60

say() { printf '[services] %s\n' "$*"; }
fail() { printf '[services] ERROR: %s\n' "$*" >&2; exit 1; }

if [ "$(id -u)" -ne 0 ]; then
  fail "run as root (it installs packages and starts daemons)"
fi

# --- packages ------------------------------------------------------------------------------
need=()
command -v pg_ctlcluster >/dev/null 2>&1 || need+=(postgresql)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
if [ ${#need[@]} -gt 0 ]; then
  say "installing ${need[*]} (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

# --- PostgreSQL ----------------------------------------------------------------------------
# The package creates a cluster "main" for its version; start it if the package could not
# (no systemd, policy-rc.d) and create one if none exists.
if ! pg_lsclusters -h | grep -q .; then
  version="$(ls /usr/lib/postgresql | sort -V | tail -1)"
  say "creating PostgreSQL $version cluster main"
  pg_createcluster "$version" main --port "$PG_PORT" >/dev/null
fi
read -r pg_version pg_cluster pg_cluster_port pg_status _ < <(pg_lsclusters -h | head -1)
[ "$pg_cluster_port" = "$PG_PORT" ] || fail "PostgreSQL $pg_version/$pg_cluster listens on $pg_cluster_port, not $PG_PORT"
if [ "$pg_status" != "online" ]; then
  say "starting PostgreSQL $pg_version/$pg_cluster"
  pg_ctlcluster "$pg_version" "$pg_cluster" start
fi
for _ in $(seq "$WAIT_SECONDS"); do
  pg_isready -q -h 127.0.0.1 -p "$PG_PORT" && break
  sleep 1
done
if ! pg_isready -q -h 127.0.0.1 -p "$PG_PORT"; then
  tail -n 30 "/var/log/postgresql/postgresql-$pg_version-$pg_cluster.log" >&2 || true
  fail "PostgreSQL did not accept connections on 127.0.0.1:$PG_PORT within ${WAIT_SECONDS}s"
fi

psql_admin() { runuser -u postgres -- psql -p "$PG_PORT" -v ON_ERROR_STOP=1 -qAt "$@"; }
if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = '$PG_USER'")" != "1" ]; then
  say "creating role $PG_USER"
  psql_admin -c "CREATE ROLE \"$PG_USER\" LOGIN CREATEDB PASSWORD '$PG_PASSWORD'"
fi
if [ "$(psql_admin -c "SELECT 1 FROM pg_database WHERE datname = '$PG_DB'")" != "1" ]; then
  say "creating database $PG_DB"
  psql_admin -c "CREATE DATABASE \"$PG_DB\" OWNER \"$PG_USER\""
fi
PGPASSWORD="$PG_PASSWORD" psql -h 127.0.0.1 -p "$PG_PORT" -U "$PG_USER" -d "$PG_DB" -qAt \
  -c "SELECT 1" >/dev/null || fail "cannot log in to PostgreSQL as $PG_USER over TCP"
say "PostgreSQL $pg_version ready: postgres://$PG_USER:***@127.0.0.1:$PG_PORT/$PG_DB"

# --- Redis -----------------------------------------------------------------------------------
if ! redis-cli -p "$REDIS_PORT" ping >/dev/null 2>&1; then
  say "starting redis-server on 127.0.0.1:$REDIS_PORT"
  # No persistence: a broker for tests. Logs beside the other CI state.
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save '' \
    --appendonly no --logfile /tmp/erpintegr-ci-redis.log
fi
for _ in $(seq "$WAIT_SECONDS"); do
  [ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ] && break
  sleep 1
done
if [ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" != "PONG" ]; then
  tail -n 30 /tmp/erpintegr-ci-redis.log >&2 || true
  fail "Redis did not answer PING on 127.0.0.1:$REDIS_PORT within ${WAIT_SECONDS}s"
fi
say "Redis $(redis-server --version | sed -E 's/.* v=([^ ]+).*/\1/') ready: redis://127.0.0.1:$REDIS_PORT/0"
