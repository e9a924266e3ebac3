#!/usr/bin/env bash
# Fuzzes the service with schemathesis over its own served OpenAPI document: starts the real
# binary on a temporary SQLite database, signs in an admin, a staff member and a volunteer
# (scripts/fuzz_users.py), and runs schemathesis once as each: every phase (examples, coverage,
# fuzzing, stateful with the links it infers), positive and negative data, seeded and bounded.
# Checks: no 5xx, every status and content type documented for its operation, every body valid
# against its documented schema. Prints schemathesis' counts per role and the service's own count
# of answers by status; fails on any failure or any 5xx.
# FUZZ_SEED (default 20261129) and FUZZ_EXAMPLES (cases per operation and phase, default 5) vary
# the run. Needs python3 (with venv) and PyPI on the first run; the virtualenv is kept in
# target/fuzz-venv (FUZZ_VENV to put it elsewhere).
set -euo pipefail
cd "$(dirname "$0")/.."

WORK="$(mktemp -d)"
NAME="fuzz"
# shellcheck source=scripts/lib/service.sh
. scripts/lib/service.sh

SEED="${FUZZ_SEED:-20261129}"
EXAMPLES="${FUZZ_EXAMPLES:-5}"
METRICS_TOKEN="fuzz-metrics-$$"

venv_with "$(realpath -m "${FUZZ_VENV:-target/fuzz-venv}")" "schemathesis==4.32.5"
ST="$(dirname "$PY")/st"

# Tokens outlive the run; the per-address limits would only turn fuzzing into 429s.
start_service ACCESS_TOKEN_TTL=2h LOGINS_PER_ADDRESS=1000000 REGISTRATIONS_PER_ADDRESS=1000000 \
  METRICS_TOKEN="$METRICS_TOKEN"
"$PY" scripts/fuzz_users.py "$BASE" "$ADMIN_PHONE" "$ADMIN_PASSWORD" >"$WORK/tokens" ||
  fail "signing in the admin, staff member and volunteer"

failed=""
while read -r role token; do
  echo "-- schemathesis as $role (seed $SEED, $EXAMPLES examples)"
  # From the temporary folder: schemathesis keeps a cache (.schemathesis/) in the folder it runs
  # in, which would replay earlier runs' cases and make a run depend on the last.
  if ! (cd "$WORK" && "$ST" run "$BASE/api-docs/openapi.json" \
    --header "Authorization: Bearer $token" \
    --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
    --phases examples,coverage,fuzzing,stateful --mode all \
    --seed "$SEED" --max-examples "$EXAMPLES" --workers 2 \
    --generation-database none --request-timeout 30 --no-color) \
    >"$WORK/$role.txt" 2>&1; then
    failed="$failed $role"
    sed -n '/FAILURES/,/SUMMARY/p' "$WORK/$role.txt"
  fi
  grep -A1 -E '^(Test cases|Failures):' "$WORK/$role.txt" | grep -v -- '--' || true
  grep -E '^ +❌ ST' "$WORK/$role.txt" || true
done <"$WORK/tokens"

echo "-- what the service answered (its own http_requests_total, by status)"
"$PY" - "$BASE/metrics" "$METRICS_TOKEN" >"$WORK/statuses" <<'PYEOF' || fail "cannot read /metrics"
import collections, re, sys, urllib.request
request = urllib.request.Request(sys.argv[1], headers={"authorization": f"Bearer {sys.argv[2]}"})
text = urllib.request.urlopen(request, timeout=10).read().decode()
by_status = collections.Counter()
for line in text.splitlines():
    m = re.match(r'http_requests_total\{.*status="(\d+)".*\} (\d+)', line)
    if m:
        by_status[m.group(1)] += int(m.group(2))
print(f"requests {sum(by_status.values())}: " + ", ".join(f"{s}: {n}" for s, n in sorted(by_status.items())))
print(f"5xx {sum(n for s, n in by_status.items() if s.startswith('5'))}")
PYEOF
cat "$WORK/statuses"
grep -q '^5xx 0$' "$WORK/statuses" || failed="$failed 5xx"
[ -z "$failed" ] || fail "schemathesis found failures (as:$failed)"
echo "fuzz passed"
