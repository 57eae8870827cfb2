#!/usr/bin/env bash
# The fault suite (tests/faults, docs/reliability.md) on both backends:
#   1. SQLite with the ORM broker;
#   2. PostgreSQL with the Redis broker, both private to this run (a temporary PostgreSQL cluster
#      made with initdb and a redis-server, on free ports), because scenarios restart them.
# FAULTS_SIZE=full (make faults) or ci (.ci/run) picks the sizes; any FAULTS_* variable overrides
# one (tests/faults/harness.py). FAULTS_REPORT=path collects one JSON line per scenario.
# TEST_PORT_RANGE=first-last keeps every port this run listens on in that range.
# FAULTS_BACKENDS="sqlite postgres" (the default) says which passes run (.ci/run runs each in its own pass).
# Extra arguments go to pytest. Both servers are stopped at the end, whatever happened.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
export FAULTS_SIZE=${FAULTS_SIZE:-full}
BACKENDS=${FAULTS_BACKENDS:-sqlite postgres}
# Debian keeps initdb and pg_ctl out of PATH.
PATH="$PATH:$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | tail -1)"

free_port() {
  "$PY" - <<'EOF'
import os, socket
first, _, last = os.environ.get("TEST_PORT_RANGE", "0-0").partition("-")
taken = set(os.environ.get("PORTS_TAKEN", "").split())
for port in range(int(first), int(last or first) + 1):
    if str(port) in taken:
        continue
    with socket.socket() as probe:
        try:
            probe.bind(("0.0.0.0", port))
        except OSError:
            continue
        print(probe.getsockname()[1])
        break
EOF
}

WORK=""
PG_PORT=""
REDIS_PORT=""
as_postgres() {
  # initdb and pg_ctl refuse to run as root.
  if [ "$(id -u)" = 0 ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi
}
cleanup() {
  local status=$?
  set +e
  if [ -n "$REDIS_PORT" ]; then redis-cli -p "$REDIS_PORT" shutdown nosave >/dev/null 2>&1; fi
  if [ -n "$PG_PORT" ]; then as_postgres "pg_ctl -D $WORK/pg -m immediate stop" >/dev/null 2>&1; fi
  if [ -n "$WORK" ]; then rm -rf "$WORK"; fi
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

pass1=0
pass2=0
if [[ " $BACKENDS " == *" sqlite "* ]]; then
  started=$SECONDS
  echo "== Fault suite ($FAULTS_SIZE): SQLite, ORM broker"
  env -u DATABASE_URL -u REDIS_URL "$PY" -m pytest tests/faults -m faults -p no:cacheprovider -q -rs "$@"
  pass1=$((SECONDS - started))
fi
if [[ " $BACKENDS " != *" postgres "* ]]; then
  echo "Fault suite ($FAULTS_SIZE) passed on SQLite in ${pass1} s."
  exit 0
fi

echo "== Fault suite ($FAULTS_SIZE): PostgreSQL and Redis of this run's own"
WORK="$(mktemp -d /tmp/faults-services.XXXXXX)"
chmod 755 "$WORK"
mkdir "$WORK/pg"
[ "$(id -u)" = 0 ] && chown postgres "$WORK/pg"
PG_PORT="$(free_port)"
REDIS_PORT="$(PORTS_TAKEN="$PG_PORT" free_port)"
as_postgres "initdb -D $WORK/pg -U postgres -A trust" >/dev/null
# Every address, so that the worker hosts of the network-namespace scenario reach it (trust: a
# throw-away cluster of this run's own).
cat >>"$WORK/pg/pg_hba.conf" <<EOF
host all all 10.0.0.0/8 trust
EOF
as_postgres "pg_ctl -D $WORK/pg -l $WORK/pg/log -w -o \"-p $PG_PORT -k $WORK/pg -c listen_addresses='*' -c max_connections=200 -c fsync=off\" start" >/dev/null
REDIS_START="redis-server --port $REDIS_PORT --save '' --appendonly no --daemonize yes --bind 0.0.0.0 --protected-mode no --dir $WORK --logfile $WORK/redis.log"
eval "$REDIS_START"
for _ in $(seq 50); do [ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ] && break; sleep 0.1; done
echo "PostgreSQL on 127.0.0.1:$PG_PORT and Redis on 127.0.0.1:$REDIS_PORT, in $WORK"
pass_start=$SECONDS
DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres" \
TEST_DATABASE_NAME="test_faults" \
REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0" \
FAULTS_PG_RESTART="$(declare -f as_postgres); as_postgres 'pg_ctl -D $WORK/pg -w -m fast restart' >/dev/null" \
FAULTS_REDIS_RESTART="redis-cli -p $REDIS_PORT shutdown nosave; sleep 1; $REDIS_START" \
  "$PY" -m pytest tests/faults -m faults -p no:cacheprovider -q -rs "$@"
pass2=$((SECONDS - pass_start))
echo "Fault suite ($FAULTS_SIZE) passed: SQLite ${pass1} s, PostgreSQL + Redis ${pass2} s."
