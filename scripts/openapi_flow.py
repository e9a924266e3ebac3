"""Drives the service through a client generated from its own OpenAPI document.

Run by scripts/openapi_check.sh with the generated package `vp_client` on PYTHONPATH:
    python3 openapi_flow.py BASE_URL ADMIN_PHONE ADMIN_PASSWORD

Sign-up -> staff publishes an activity -> check-in -> check-out -> approval -> redemption ->
fulfilment, then the lists and the ledger check. Every call goes through the generated
functions (no hand-written HTTP); every answer must parse into the documented model, and every
list into its named page of typed items. Any surprise raises, so the script exits non-zero.
"""

import datetime
import sys
import uuid

from vp_client import AuthenticatedClient, Client
from vp_client.api.activities import check_in, check_in_code, check_out, create_activity
from vp_client.api.activity_logs import approve, my_activity_logs
from vp_client.api.auth import login, register
from vp_client.api.people import create_volunteer, me, set_role
from vp_client.api.points import my_balance, my_ledger, verify
from vp_client.api.rewards import create_reward, fulfil, list_rewards, my_redemptions, redeem
from vp_client.models import (
    Activity,
    ActivityInput,
    ActivityLog,
    ActivityLogPage,
    ApproveInput,
    Auth,
    Balance,
    CheckIn,
    CheckInCode,
    CheckOut,
    Entry,
    EntryPage,
    FulfilRequest,
    LoginRequest,
    LogStatus,
    Me,
    NewVolunteer,
    Problem,
    RedeemRequest,
    Redemption,
    RedemptionPage,
    RedemptionStatus,
    RegisterRequest,
    Report,
    Reward,
    RewardInput,
    RewardPage,
    Role,
    RoleChange,
    TransactionKind,
    User,
)


def expect(response, status, model):
    """The answer has this status and parsed into this model."""
    parsed = response.parsed
    if response.status_code != status or not isinstance(parsed, model):
        detail = parsed.to_dict() if isinstance(parsed, Problem) else response.content[:500]
        raise SystemExit(
            f"FAIL: expected {status} {model.__name__}, got {int(response.status_code)}: {detail}"
        )
    return parsed


def expect_page(response, page_model, item_model):
    """A page of the named model whose items are all of the item model."""
    page = expect(response, 200, page_model)
    bad = [type(i).__name__ for i in page.items if not isinstance(i, item_model)]
    if bad:
        raise SystemExit(f"FAIL: {page_model.__name__} holds {bad}, not {item_model.__name__}")
    return page


def step(text):
    print(f"  ok  {text}")


def signed_in(base_url, phone, password):
    auth = expect(
        login.sync_detailed(client=Client(base_url), body=LoginRequest(phone=phone, password=password)),
        200,
        Auth,
    )
    return AuthenticatedClient(base_url, token=auth.access_token), auth.user


def main(base_url, admin_phone, admin_password):
    base_url = base_url.rstrip("/")
    admin, admin_user = signed_in(base_url, admin_phone, admin_password)
    if admin_user.role != Role.ADMIN:
        raise SystemExit(f"FAIL: the CLI's admin signs in as {admin_user.role}")
    step(f"admin {admin_user.phone} (created by the CLI) signs in: role {admin_user.role.value}")

    suffix = f"{uuid.uuid4().int % 10**9:09d}"
    staff_phone, volunteer_phone = f"13{suffix}", f"15{suffix}"
    staff_user = expect(
        create_volunteer.sync_detailed(
            client=admin,
            body=NewVolunteer(phone=staff_phone, name="前台", password="staff password 1"),
        ),
        201,
        User,
    )
    staff_user = expect(
        set_role.sync_detailed(staff_user.id, client=admin, body=RoleChange(role=Role.STAFF)),
        200,
        User,
    )
    staff, _ = signed_in(base_url, staff_phone, "staff password 1")
    step(f"admin registers {staff_phone} at the desk and makes them {staff_user.role.value}")

    auth = expect(
        register.sync_detailed(
            client=Client(base_url),
            body=RegisterRequest(phone=volunteer_phone, name="志愿者", password="volunteer pass 1"),
        ),
        201,
        Auth,
    )
    volunteer = AuthenticatedClient(base_url, token=auth.access_token)
    expect(me.sync_detailed(client=volunteer), 200, Me)
    step(f"volunteer {volunteer_phone} signs up: role {auth.user.role.value}, {auth.expires_in} s token")

    now = datetime.datetime.now(datetime.timezone.utc)
    activity = expect(
        create_activity.sync_detailed(
            client=staff,
            body=ActivityInput(
                title="社区清洁",
                starts_at=now - datetime.timedelta(minutes=10),
                ends_at=now + datetime.timedelta(hours=2),
                fixed_points=50,
            ),
        ),
        201,
        Activity,
    )
    step(f"staff publish activity {activity.id} ({activity.status.value}, 50 points)")

    code = expect(check_in_code.sync_detailed(activity.id, client=staff), 200, CheckInCode)
    log = expect(
        check_in.sync_detailed(activity.id, client=volunteer, body=CheckIn(code=code.code)),
        201,
        ActivityLog,
    )
    assert log.status == LogStatus.CHECKED_IN, log.status
    step(f"volunteer checks in with code {code.code}: log {log.id} {log.status.value}")

    log = expect(check_out.sync_detailed(activity.id, client=volunteer, body=CheckOut()), 200, ActivityLog)
    assert log.status == LogStatus.SUBMITTED, log.status
    step(f"volunteer checks out: {log.status.value}, {log.points_proposed} points proposed")

    log = expect(approve.sync_detailed(log.id, client=staff, body=ApproveInput()), 200, ActivityLog)
    assert log.status == LogStatus.APPROVED and log.points_awarded == 50, log.to_dict()
    balance = expect(my_balance.sync_detailed(client=volunteer), 200, Balance)
    assert balance.balance == 50, balance.to_dict()
    step(f"staff approve: {log.points_awarded} points awarded; balance {balance.balance}")

    reward = expect(
        create_reward.sync_detailed(
            client=staff, body=RewardInput(name="环保袋", cost_points=20, stock=5)
        ),
        201,
        Reward,
    )
    redemption = expect(
        redeem.sync_detailed(
            client=volunteer,
            body=RedeemRequest(reward_id=reward.id),
            idempotency_key=str(uuid.uuid4()),
        ),
        201,
        Redemption,
    )
    assert redemption.status == RedemptionStatus.RESERVED, redemption.status
    step(f"volunteer redeems {reward.name} for {redemption.points}: pickup code {redemption.pickup_code}")

    redemption = expect(
        fulfil.sync_detailed(client=staff, body=FulfilRequest(pickup_code=redemption.pickup_code)),
        200,
        Redemption,
    )
    assert redemption.status == RedemptionStatus.FULFILLED, redemption.status
    step(f"the desk fulfils it: {redemption.status.value} for {redemption.volunteer_name}")

    pages = [
        ("my_activity_logs", my_activity_logs.sync_detailed(client=volunteer), ActivityLogPage, ActivityLog),
        ("my_ledger", my_ledger.sync_detailed(client=volunteer), EntryPage, Entry),
        ("my_redemptions", my_redemptions.sync_detailed(client=volunteer), RedemptionPage, Redemption),
        ("list_rewards", list_rewards.sync_detailed(client=volunteer), RewardPage, Reward),
    ]
    for name, response, page_model, item_model in pages:
        page = expect_page(response, page_model, item_model)
        step(f"{name} -> {page_model.__name__} of {len(page.items)} {item_model.__name__}")
    entries = expect_page(my_ledger.sync_detailed(client=volunteer), EntryPage, Entry).items
    kinds = sorted(e.kind.value for e in entries)
    assert kinds == ["earn", "redeem"] and isinstance(entries[0].kind, TransactionKind), kinds
    balance = expect(my_balance.sync_detailed(client=volunteer), 200, Balance)
    assert balance.balance == 30, balance.to_dict()
    step(f"ledger entries {kinds}; balance {balance.balance}")

    report = expect(verify.sync_detailed(client=admin), 200, Report)
    if not report.ok:
        raise SystemExit(f"FAIL: the ledger check found {[p.to_dict() for p in report.problems]}")
    step(
        f"ledger verify ok: {report.accounts_checked} accounts, "
        f"{report.transactions_checked} transactions, problems {report.problems}"
    )

    refused = expect(
        redeem.sync_detailed(client=volunteer, body=RedeemRequest(reward_id=reward.id), idempotency_key=""),
        400,
        Problem,
    )
    step(f"a refusal parses as Problem too: {refused.status} {refused.code}")
    print("the generated client drove the whole flow")


if __name__ == "__main__":
    main(*sys.argv[1:4])
