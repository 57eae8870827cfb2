#!/usr/bin/env bash
# `make run`: migrate, load demo data, and serve the dashboard on http://127.0.0.1:8000 with a
# delivery worker (qcluster) and the local Chartboost sandbox, all pointed at each other.
# Ctrl-C stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."

PY=${PY:-.venv/bin/python}
SANDBOX_PORT=${SANDBOX_PORT:-8765}
PORT=${PORT:-8000}
export CHARTBOOST_ENDPOINT=${CHARTBOOST_ENDPOINT:-http://127.0.0.1:${SANDBOX_PORT}/event_service/v2/level}
export PYTHONUNBUFFERED=1

sandbox_pid=""
cluster_pid=""

# Each background service runs in its own session (setsid), so Ctrl-C reaches only this
# script, and the whole process group (qcluster's sentinel, pusher, monitor and workers)
# can be stopped together.
stop_group() {
  local pid=$1 grace=$2
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for _ in $(seq $((grace * 10))); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  # A qcluster stop can hang waiting for a running task (django-q2 #346): don't wait forever.
  kill -KILL -- "-$pid" 2>/dev/null || true
}

cleanup() {
  trap - EXIT INT TERM
  echo
  echo "Stopping the worker and the sandbox..."
  stop_group "$cluster_pid" 5
  stop_group "$sandbox_pid" 2
}
trap cleanup EXIT
trap 'exit 130' INT TERM

"$PY" manage.py migrate --noinput
sign_in=$("$PY" manage.py seed_demo)
# The sandbox knows the demo apps' current tokens, as Chartboost would: the demo app seeded with
# an old one sees its deliveries fail with status 401.
sandbox_line=$("$PY" manage.py seed_demo --sandbox-args)
read -r -a sandbox_args <<<"$sandbox_line"

# The worker and the sandbox log to files, so the terminal keeps the dev server and the
# sign-in details readable.
mkdir -p .run
setsid "$PY" manage.py chartboost_sandbox --port "$SANDBOX_PORT" "${sandbox_args[@]}" >.run/sandbox.log 2>&1 &
sandbox_pid=$!
setsid "$PY" manage.py qcluster >.run/qcluster.log 2>&1 &
cluster_pid=$!

"$PY" manage.py send_demo_events --wait 20

# Printed once the dev server is up, so the sign-in details are the last thing on screen.
( sleep 3; echo; echo "$sign_in"; echo
  echo "Worker log: .run/qcluster.log   Chartboost sandbox (http://127.0.0.1:$SANDBOX_PORT) log: .run/sandbox.log"
  echo ) &
"$PY" manage.py runserver "127.0.0.1:$PORT"
