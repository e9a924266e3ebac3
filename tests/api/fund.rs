//! The community fund and donations (API.md "The community fund and donations"; LEDGER.md L2,
//! L5 and the fund check of `verify`).

use diesel::RunQueryDsl;
use reqwest::Response;
use serde_json::{json, Value};
use volunteer_points::db::ledger::{COMMUNITY_FUND, REDEMPTIONS};

use crate::activities::{approve, submitted_log};
use crate::helpers::*;

/// `POST /donations` with `key`.
async fn donate(app: &TestApp, token: &str, key: &str, fields: &Value) -> Response {
    app.post_keyed("/donations", token, key, fields).await
}

/// A donation of `amount` that must succeed.
async fn donated(app: &TestApp, user: &TestUser, amount: i64) -> Value {
    let key = uuid::Uuid::new_v4().to_string();
    let res = donate(app, &user.token, &key, &json!({"amount": amount})).await;
    assert_eq!(res.status(), 201, "donate");
    body(res).await
}

/// `GET /fund`.
async fn fund(app: &TestApp, token: &str) -> Value {
    let res = app.get("/fund", token).await;
    assert_eq!(res.status(), 200);
    body(res).await
}

async fn balance_of(app: &TestApp, user: &TestUser) -> Value {
    let res = app.get("/me/balance", &user.token).await;
    assert_eq!(res.status(), 200);
    body(res).await
}

#[actix_web::test]
async fn a_donation_moves_points_to_the_fund_as_one_donate_transaction() {
    let app = spawn_app().await;
    let (admin, v) = (app.admin().await, app.volunteer().await);
    app.grant(&admin, &v.id, 100).await;
    let res = donate(
        &app,
        &v.token,
        "give-1",
        &json!({"amount": 30, "note": "  for the canteen "}),
    )
    .await;
    assert_eq!(res.status(), 201);
    let tx = body(res).await;
    assert_eq!(tx["kind"], "donate");
    assert_eq!(tx["memo"], "for the canteen");
    assert_eq!(tx["created_by"], v.id);
    let entries = tx["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 2);
    let leg = |kind: &str| {
        entries
            .iter()
            .find(|e| e["account_kind"] == kind)
            .map(|e| e["amount"].as_i64())
    };
    assert_eq!(leg("volunteer"), Some(Some(-30)));
    assert_eq!(leg("community_fund"), Some(Some(30)));

    let balance = balance_of(&app, &v).await;
    assert_eq!(balance["balance"], 70);
    assert_eq!(balance["donated_total"], 30);
    assert_eq!(balance["earned_total"], 0);
    assert_eq!(balance["spent_total"], 0);
    let statement = body(app.get("/me/ledger", &v.token).await).await;
    assert_eq!(statement["items"][0]["kind"], "donate");
    assert_eq!(statement["items"][0]["amount"], -30);
    assert_eq!(statement["items"][0]["balance_after"], 70);
    assert_eq!(fund(&app, &v.token).await["points_donated"], 30);
    app.assert_ledger_ok();
}

#[actix_web::test]
async fn a_donation_larger_than_the_balance_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let (admin, v) = (app.admin().await, app.volunteer().await);
    app.grant(&admin, &v.id, 20).await;
    let before = fund(&app, &v.token).await;
    let res = donate(&app, &v.token, "too-much", &json!({"amount": 21})).await;
    assert_problem(res, 409, "insufficient-points").await;

    let balance = balance_of(&app, &v).await;
    assert_eq!(balance["balance"], 20);
    assert_eq!(balance["donated_total"], 0);
    let statement = body(app.get("/me/ledger", &v.token).await).await;
    assert_eq!(statement["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(fund(&app, &v.token).await, before);
    app.assert_ledger_ok();
}

#[actix_web::test]
async fn a_replayed_donation_acts_once_and_answers_the_same_bytes() {
    let app = spawn_app().await;
    let (admin, v) = (app.admin().await, app.volunteer().await);
    app.grant(&admin, &v.id, 50).await;
    let fields = json!({"amount": 15});
    let first = donate(&app, &v.token, "once", &fields).await;
    assert_eq!(first.status(), 201);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first = first.text().await.expect("body");
    let again = donate(&app, &v.token, "once", &fields).await;
    assert_eq!(again.status(), 201);
    assert_eq!(
        again
            .headers()
            .get("idempotent-replayed")
            .and_then(|h| h.to_str().ok()),
        Some("true")
    );
    assert_eq!(again.text().await.expect("body"), first);
    assert_eq!(app.balance(&v.token).await, 35);
    assert_eq!(balance_of(&app, &v).await["donated_total"], 15);
    assert_eq!(fund(&app, &v.token).await["points_donated"], 15);

    let other = donate(&app, &v.token, "once", &json!({"amount": 16})).await;
    assert_problem(other, 422, "idempotency-key-reused").await;
    assert_eq!(app.balance(&v.token).await, 35);
    app.assert_ledger_ok();
}

#[actix_web::test]
async fn a_donation_needs_a_key_a_signed_in_caller_and_an_amount_in_range() {
    let app = spawn_app().await;
    let (admin, v) = (app.admin().await, app.volunteer().await);
    app.grant(&admin, &v.id, 10).await;
    let res = app
        .post("/donations", &v.token, &json!({"amount": 5}))
        .await;
    assert_problem(res, 400, "idempotency-key-required").await;
    let res = app
        .request_with(
            reqwest::Method::POST,
            "/donations",
            None,
            Some(&json!({"amount": 5})),
            &[("Idempotency-Key", "anon")],
        )
        .await;
    assert_problem(res, 401, "unauthenticated").await;
    for (i, fields) in [
        json!({"amount": 0}),
        json!({"amount": -5}),
        json!({"amount": 1_000_001}),
        json!({"amount": 5, "note": "   "}),
        json!({"amount": 5, "note": "n".repeat(501)}),
    ]
    .iter()
    .enumerate()
    {
        let res = donate(&app, &v.token, &format!("bad-{i}"), fields).await;
        assert_problem(res, 422, "validation-failed").await;
    }
    assert_problem(
        donate(&app, &v.token, "no-amount", &json!({})).await,
        400,
        "bad-request",
    )
    .await;
    assert_eq!(app.balance(&v.token).await, 10);
    assert_eq!(balance_of(&app, &v).await["donated_total"], 0);
    app.assert_ledger_ok();
}

#[actix_web::test]
async fn the_fund_figures_follow_earns_reversals_redemptions_refunds_adjustments_and_donations() {
    let app = spawn_app().await;
    let (admin, staff) = (app.admin().await, app.staff().await);
    let (v1, v2) = (app.volunteer().await, app.volunteer().await);
    let empty = fund(&app, &v1.token).await;
    assert_eq!(
        empty,
        json!({"points_issued": 0, "points_adjusted": 0, "points_redeemed": 0,
               "points_donated": 0, "points_outstanding": 0, "volunteers_with_points": 0})
    );

    // Earns: 60 to v1, 30 to v2, and v2's taken back by a reversal.
    let (_, log1) = submitted_log(&app, &admin, &v1, json!({}), 60).await;
    assert_eq!(
        approve(&app, &staff.token, &log1, json!({})).await.status(),
        200
    );
    let (_, log2) = submitted_log(&app, &admin, &v2, json!({}), 30).await;
    assert_eq!(
        approve(&app, &staff.token, &log2, json!({})).await.status(),
        200
    );
    let res = app
        .post(
            &format!("/activity-logs/{log2}/reverse"),
            &staff.token,
            &json!({"reason": "counted twice"}),
        )
        .await;
    assert_eq!(res.status(), 200);

    // Adjustments: +100 to v2, −10 from v1.
    app.grant(&admin, &v2.id, 100).await;
    app.grant(&admin, &v1.id, -10).await;

    // Redemptions of 20 each: one by v1, two by v2, one of which v2 cancels (a refund).
    let res = app
        .post(
            "/rewards",
            &staff.token,
            &json!({"name": "饭票", "cost_points": 20}),
        )
        .await;
    assert_eq!(res.status(), 201);
    let reward = body(res).await["id"].clone();
    let mut redemptions = Vec::new();
    for who in [&v1, &v2, &v2] {
        let key = uuid::Uuid::new_v4().to_string();
        let res = app
            .post_keyed(
                "/redemptions",
                &who.token,
                &key,
                &json!({"reward_id": reward}),
            )
            .await;
        assert_eq!(res.status(), 201);
        redemptions.push(body(res).await["id"].as_str().expect("id").to_owned());
    }
    let res = app
        .post(
            &format!("/redemptions/{}/cancel", redemptions[2]),
            &v2.token,
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 200);

    // Donations: 5 from v1, 15 from v2.
    donated(&app, &v1, 5).await;
    donated(&app, &v2, 15).await;

    let figures = fund(&app, &v1.token).await;
    assert_eq!(
        figures,
        json!({"points_issued": 60, "points_adjusted": 90, "points_redeemed": 40,
               "points_donated": 20, "points_outstanding": 90, "volunteers_with_points": 2})
    );
    let (b1, b2) = (balance_of(&app, &v1).await, balance_of(&app, &v2).await);
    assert_eq!(
        (
            &b1["balance"],
            &b1["earned_total"],
            &b1["spent_total"],
            &b1["donated_total"]
        ),
        (&json!(25), &json!(60), &json!(20), &json!(5))
    );
    assert_eq!(
        (
            &b2["balance"],
            &b2["earned_total"],
            &b2["spent_total"],
            &b2["donated_total"]
        ),
        (&json!(65), &json!(0), &json!(20), &json!(15))
    );
    let mut sum = 0;
    for who in [&admin, &staff, &v1, &v2] {
        sum += app.balance(&who.token).await;
    }
    assert_eq!(figures["points_outstanding"], sum);
    assert_eq!(
        sum,
        60 + 90 - 40 - 20,
        "outstanding = issued + adjusted - redeemed - donated"
    );
    app.assert_ledger_ok();
}

#[actix_web::test]
async fn verify_names_a_planted_fund_mismatch_and_a_wrong_cached_donated_total() {
    let app = spawn_app().await;
    let (admin, v) = (app.admin().await, app.volunteer().await);
    app.grant(&admin, &v.id, 40).await;
    donated(&app, &v, 10).await;
    app.assert_ledger_ok();

    // A balanced transaction (L1 holds) that issues 7 points to no volunteer: the fund says
    // volunteers hold 7 more than they do.
    let (tx, e1, e2) = (
        uuid::Uuid::new_v4().to_string(),
        uuid::Uuid::new_v4().to_string(),
        uuid::Uuid::new_v4().to_string(),
    );
    app.db
        .write_blocking(move |conn| {
            diesel::sql_query(format!(
                "INSERT INTO ledger_transactions (id, kind, memo, created_at) \
                 VALUES ('{tx}', 'earn', 'planted', CURRENT_TIMESTAMP)"
            ))
            .execute(conn)?;
            for (e, account, amount) in [(e1, COMMUNITY_FUND, -7), (e2, REDEMPTIONS, 7)] {
                diesel::sql_query(format!(
                    "INSERT INTO ledger_entries (id, transaction_id, account_id, amount, created_at) \
                     VALUES ('{e}', '{tx}', '{account}', {amount}, CURRENT_TIMESTAMP)"
                ))
                .execute(conn)?;
            }
            Ok(())
        })
        .expect("plant");
    let report = body(app.get("/ledger/verify", &admin.token).await).await;
    assert_eq!(report["ok"], false);
    let problems = report["problems"].as_array().expect("problems");
    assert_eq!(problems.len(), 1, "{report}");
    assert_eq!(problems[0]["rule"], "fund");
    assert_eq!(problems[0]["subject"], "fund");
    let detail = problems[0]["detail"].as_str().expect("detail");
    assert!(
        detail.contains("sum to 30") && detail.contains("= 37") && detail.contains("of -7"),
        "{detail}"
    );

    // L9: the cached donated total no longer agrees with the entries.
    let id = v.id.clone();
    app.db
        .write_blocking(move |conn| {
            diesel::sql_query(format!(
                "UPDATE accounts SET donated_total = donated_total + 3 WHERE id = '{id}'"
            ))
            .execute(conn)?;
            Ok(())
        })
        .expect("plant");
    let report = body(app.get("/ledger/verify", &admin.token).await).await;
    let problems = report["problems"].as_array().expect("problems");
    assert!(
        problems.iter().any(|p| p["rule"] == "L9"
            && p["subject"] == format!("account:{}", v.id)
            && p["detail"].as_str().is_some_and(|d| d.contains("13 but"))),
        "{report}"
    );
}

#[actix_web::test]
async fn the_openapi_document_lists_the_fund_and_wish_paths() {
    let app = spawn_app().await;
    let doc = openapi_document(&app).await;
    for (path, method) in [
        ("/api/v1/donations", "post"),
        ("/api/v1/fund", "get"),
        ("/api/v1/wishes", "post"),
        ("/api/v1/wishes", "get"),
        ("/api/v1/wishes/{id}", "get"),
        ("/api/v1/wishes/{id}/adopt", "post"),
        ("/api/v1/wishes/{id}/release", "post"),
        ("/api/v1/wishes/{id}/fulfil", "post"),
        ("/api/v1/wishes/{id}/reject", "post"),
        ("/api/v1/wishes/{id}/confirm", "post"),
        ("/api/v1/wishes/{id}/cancel", "post"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} is missing"
        );
    }
    let confirm = doc["paths"]["/api/v1/wishes/{id}/confirm"]["post"]["responses"].to_string();
    for code in ["self-approval", "wish-not-fulfilled", "forbidden"] {
        assert!(confirm.contains(code), "confirm documents {code}");
    }
    for schema in ["Wish", "Fund", "DonationRequest"] {
        assert!(doc["components"]["schemas"][schema].is_object(), "{schema}");
    }
}
