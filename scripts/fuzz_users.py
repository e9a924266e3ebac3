"""Signs in the three roles scripts/fuzz.sh fuzzes as, through the API itself.

    python3 fuzz_users.py BASE_URL ADMIN_PHONE ADMIN_PASSWORD

The admin (made by `volunteer-points create-admin`) signs in; a staff member registers and is
promoted by the admin (`PUT /volunteers/{id}/role`), then signs in again for a token with the new
role; a volunteer registers. Prints one line per role: `ROLE ACCESS_TOKEN`.
"""

import json
import sys
import urllib.request

BASE, ADMIN_PHONE, ADMIN_PASSWORD = sys.argv[1:4]
PASSWORD = "fuzz password 1"


def call(method, path, body, token=None):
    request = urllib.request.Request(
        f"{BASE}/api/v1{path}",
        method=method,
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json"}
        | ({"authorization": f"Bearer {token}"} if token else {}),
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.load(answer)


def login(phone, password):
    return call("POST", "/auth/login", {"phone": phone, "password": password})


admin = login(ADMIN_PHONE, ADMIN_PASSWORD)["access_token"]
staff = call("POST", "/auth/register", {"phone": "13800000002", "name": "工作人员", "password": PASSWORD})
call("PUT", f"/volunteers/{staff['user']['id']}/role", {"role": "staff"}, admin)
staff = login("13800000002", PASSWORD)["access_token"]
volunteer = call("POST", "/auth/register", {"phone": "13800000003", "name": "志愿者", "password": PASSWORD})
for role, token in [("admin", admin), ("staff", staff), ("volunteer", volunteer["access_token"])]:
    print(role, token)
