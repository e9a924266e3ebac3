# Shared by scripts/openapi_check.sh and scripts/fuzz.sh (sourced, not run): a Python virtualenv
# with pinned tools, and the real binary serving a temporary database with an admin: SQLite, or,
# when SERVICE_PG_URL names a PostgreSQL server (a database there to connect to), a new database
# on it, dropped at the end. The caller sets WORK (a temporary folder) and NAME (what its failures
# are called) first.

SERVER_PID=""
BASE=""
PG_SCRATCH=""
ADMIN_PHONE=13800000001
ADMIN_PASSWORD="tooling check admin"

cleanup() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
  fi
  if [ -n "$PG_SCRATCH" ]; then
    psql -q "$SERVICE_PG_URL" -c "DROP DATABASE IF EXISTS $PG_SCRATCH WITH (FORCE)" || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
  echo "$NAME FAILED: $*" >&2
  if [ -f "$WORK/server.log" ]; then
    echo "--- server log (last 40 lines)" >&2
    tail -n 40 "$WORK/server.log" >&2
  fi
  exit 1
}

# venv_with DIR REQUIREMENT...: a virtualenv in DIR holding these PyPI packages (pip does nothing
# when they are there already, so reruns are fast). Sets PY.
venv_with() {
  local venv="$1"
  shift
  echo "-- tools (virtualenv $venv)"
  if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv" || fail "cannot create a virtualenv (install python3-venv)"
  fi
  "$venv/bin/pip" install --quiet --disable-pip-version-check "$@" ||
    fail "pip could not install $*"
  PY="$venv/bin/python"
}

# start_service [VAR=VALUE...]: builds the debug binary, creates the admin on a new database (a
# SQLite file in WORK, or PostgreSQL's scratch one) and serves it on a free port with these settings
# added. Sets BASE and SERVER_PID.
start_service() {
  local db="sqlite://$WORK/volunteer-points.db"
  if [ -n "${SERVICE_PG_URL:-}" ]; then
    echo "-- the service on PostgreSQL"
    PG_SCRATCH="vp_${NAME//[^a-z]/_}_$$"
    psql -q "$SERVICE_PG_URL" -c "CREATE DATABASE $PG_SCRATCH" || fail "cannot create $PG_SCRATCH"
    db="${SERVICE_PG_URL%/*}/$PG_SCRATCH"
  else
    echo "-- the service on SQLite"
  fi
  cargo build --quiet --bin volunteer-points
  local bin=target/debug/volunteer-points
  # PostgreSQL needs the key given; on SQLite the service keeps its own beside the file.
  export JWT_SECRET="${JWT_SECRET:-tooling-check-$(date +%s%N)-0123456789abcdef}"
  DATABASE_URL="$db" ADMIN_PASSWORD="$ADMIN_PASSWORD" \
    "$bin" create-admin --phone "$ADMIN_PHONE" --name 管理员 || fail "create-admin"
  env "$@" DATABASE_URL="$db" BIND_ADDR=127.0.0.1:0 RUST_LOG=warn "$bin" serve \
    >"$WORK/server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 100); do
    BASE="$(grep -o 'listening on http://[0-9.:]*' "$WORK/server.log" | head -n1 | cut -d' ' -f3 || true)"
    [ -n "$BASE" ] && break
    kill -0 "$SERVER_PID" 2>/dev/null || fail "the service exited at start"
    sleep 0.1
  done
  [ -n "$BASE" ] || fail "the service did not say where it listens"
  echo "listening on $BASE"
}
