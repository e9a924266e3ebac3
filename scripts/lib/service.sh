# Shared by scripts/openapi_check.sh and scripts/fuzz.sh (sourced, not run): a Python virtualenv
# with pinned tools, and the real binary serving a temporary SQLite database with an admin.
# The caller sets WORK (a temporary folder) and NAME (what its failures are called) first.

SERVER_PID=""
BASE=""
ADMIN_PHONE=13800000001
ADMIN_PASSWORD="tooling check admin"

cleanup() {
  if [ -n "$SERVER_PID" ]; then
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
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

# start_service [VAR=VALUE...]: builds the debug binary, creates the admin on a new SQLite database
# in WORK and serves it on a free port with these settings added. Sets BASE and SERVER_PID.
start_service() {
  echo "-- the service on SQLite"
  cargo build --quiet --bin volunteer-points
  local bin=target/debug/volunteer-points
  local db="sqlite://$WORK/volunteer-points.db"
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
