#!/usr/bin/env bash
# Checks the served OpenAPI document with tools nobody here wrote: starts the real binary on a
# temporary SQLite database, fetches /api-docs/openapi.json, validates it with
# openapi-spec-validator, generates a client with openapi-python-client (warnings are
# failures) and drives the volunteer flow through that client (scripts/openapi_flow.py).
# Needs python3 (with venv) and network access to PyPI on the first run; the virtualenv is kept
# in target/openapi-venv (OPENAPI_VENV to put it elsewhere).
set -euo pipefail
cd "$(dirname "$0")/.."

WORK="$(mktemp -d)"
NAME="openapi check"
# shellcheck source=scripts/lib/service.sh
. scripts/lib/service.sh

venv_with "$(realpath -m "${OPENAPI_VENV:-target/openapi-venv}")" \
  "openapi-spec-validator>=0.7,<0.8" "openapi-python-client>=0.29,<0.30"
"$PY" -m pip list --disable-pip-version-check 2>/dev/null |
  grep -Ei '^(openapi-spec-validator|openapi-python-client) ' || true

start_service

echo "-- fetch $BASE/api-docs/openapi.json"
"$PY" - "$BASE/api-docs/openapi.json" "$WORK/openapi.json" <<'EOF' || fail "cannot fetch the document"
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1], timeout=10) as res:
    open(sys.argv[2], "wb").write(res.read())
EOF

echo "-- openapi-spec-validator"
"$PY" - "$WORK/openapi.json" <<'EOF' || fail "the document is not valid OpenAPI"
import collections, json, sys
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename
spec, _ = read_from_filename(sys.argv[1])
validate(spec)
ops = [(m, p, o) for p, item in spec["paths"].items() for m, o in item.items()]
ids = collections.Counter(o.get("operationId") for _, _, o in ops)
problems = sum(
    1 for _, _, o in ops for s, r in o["responses"].items()
    if s >= "400" and "application/problem+json" in r.get("content", {})
)
print(f"valid OpenAPI {spec['openapi']}: {len(spec['paths'])} paths, {len(ops)} operations, "
      f"{len(ids)} distinct operationIds, {problems} problem+json answers, "
      f"{len(spec['components']['schemas'])} schemas")
EOF

echo "-- openapi-python-client generate"
cat >"$WORK/generator.yaml" <<'EOF'
project_name_override: vp_client
package_name_override: vp_client
post_hooks: []
content_type_overrides:
  image/svg+xml: application/octet-stream
  text/csv: application/octet-stream
EOF
(cd "$WORK" && "$(dirname "$PY")/openapi-python-client" generate --path openapi.json \
  --config generator.yaml --meta none --output-path vp_client --fail-on-warning) ||
  fail "openapi-python-client could not generate a client without warnings"
ls "$WORK/vp_client/api" | tr '\n' ' '
echo

echo "-- the volunteer flow through the generated client"
PYTHONPATH="$WORK" "$PY" scripts/openapi_flow.py "$BASE" "$ADMIN_PHONE" "$ADMIN_PASSWORD" ||
  fail "the generated client's flow"
echo "openapi check passed"
