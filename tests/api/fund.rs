//! The community fund and donations (API.md "The community fund and donations"; LEDGER.md L2,
//! L5 and the fund check of `verify`).

use serde_json::{json, Value};

use crate::helpers::*;

/// `(balance, earned_total, spent_total, donated_total)` of a `/me/balance`.
fn totals(sheet: &Value) -> [&Value; 4] {
    [
        &sheet["balance"],
        &sheet["earned_total"],
        &sheet["spent_total"],
        &sheet["donated_total"],
    ]
}

#[actix_web::test]
async fn a_donation_moves_points_to_the_fund_as_one_donate_transaction() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let v = app.volunteer_with(&admin, 100).await;
    let fields = json!({"amount": 30, "note": "  for the canteen "});
    let tx = app
        .donate(&v, "give-1", &fields)
        .expect_json(StatusCode::CREATED)
        .await;
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

    let sheet = app.balance_sheet(&v).await;
    assert_eq!(
        totals(&sheet),
        [&json!(70), &json!(0), &json!(0), &json!(30)]
    );
    let statement = app.my_ledger(&v, "").expect_json(StatusCode::OK).await;
    assert_eq!(statement["items"][0]["kind"], "donate");
    assert_eq!(statement["items"][0]["amount"], -30);
    assert_eq!(statement["items"][0]["balance_after"], 70);
    assert_eq!(app.fund_figures(&v).await["points_donated"], 30);
}

#[actix_web::test]
async fn a_donation_larger_than_the_balance_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let v = app.volunteer_with(&admin, 20).await;
    let before = app.fund_figures(&v).await;
    app.donate(&v, "too-much", &json!({"amount": 21}))
        .expect_problem(409, "insufficient-points")
        .await;

    let sheet = app.balance_sheet(&v).await;
    assert_eq!(sheet["balance"], 20);
    assert_eq!(sheet["donated_total"], 0);
    let statement = app.my_ledger(&v, "").expect_json(StatusCode::OK).await;
    assert_eq!(statement["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(app.fund_figures(&v).await, before);
}

#[actix_web::test]
async fn a_replayed_donation_acts_once_and_answers_the_same_bytes() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let v = app.volunteer_with(&admin, 50).await;
    let fields = json!({"amount": 15});
    let first = app.donate(&v, "once", &fields).await;
    assert_eq!(first.status(), StatusCode::CREATED);
    assert_eq!(replayed(&first), None);
    let first = first.text().await.expect("body");
    let again = app.donate(&v, "once", &fields).await;
    assert_eq!(again.status(), StatusCode::CREATED);
    assert_eq!(replayed(&again), Some("true"));
    assert_eq!(again.text().await.expect("body"), first);
    assert_eq!(app.balance(&v).await, 35);
    assert_eq!(app.balance_sheet(&v).await["donated_total"], 15);
    assert_eq!(app.fund_figures(&v).await["points_donated"], 15);

    app.donate(&v, "once", &json!({"amount": 16}))
        .expect_problem(422, "idempotency-key-reused")
        .await;
    assert_eq!(app.balance(&v).await, 35);
}

#[actix_web::test]
async fn a_donation_needs_a_key_a_signed_in_caller_and_an_amount_in_range() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let v = app.volunteer_with(&admin, 10).await;
    app.post("/donations", &v.token, &json!({"amount": 5}))
        .expect_problem(400, "idempotency-key-required")
        .await;
    app.request_with(
        reqwest::Method::POST,
        "/donations",
        None,
        Some(&json!({"amount": 5})),
        &[("Idempotency-Key", "anon")],
    )
    .expect_problem(401, "unauthenticated")
    .await;
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
        app.donate(&v, &format!("bad-{i}"), fields)
            .expect_problem(422, "validation-failed")
            .await;
    }
    app.donate(&v, "no-amount", &json!({}))
        .expect_problem(400, "bad-request")
        .await;
    assert_eq!(app.balance(&v).await, 10);
    assert_eq!(app.balance_sheet(&v).await["donated_total"], 0);
}

#[actix_web::test]
async fn the_fund_figures_follow_earns_reversals_redemptions_refunds_adjustments_and_donations() {
    let app = spawn_app().await;
    let (admin, staff) = (app.admin().await, app.staff().await);
    let (v1, v2) = (app.volunteer().await, app.volunteer().await);
    assert_eq!(
        app.fund_figures(&v1).await,
        json!({"points_issued": 0, "points_adjusted": 0, "points_redeemed": 0,
               "points_donated": 0, "points_outstanding": 0, "volunteers_with_points": 0})
    );

    // Earns: 60 to v1, 30 to v2, and v2's taken back by a reversal.
    let (_, log1) = app.submitted_log(&admin, &v1, json!({}), 60).await;
    app.approve(&staff, &log1)
        .expect_status(StatusCode::OK)
        .await;
    let (_, log2) = app.submitted_log(&admin, &v2, json!({}), 30).await;
    app.approve(&staff, &log2)
        .expect_status(StatusCode::OK)
        .await;
    app.reverse(&staff, &log2, "counted twice")
        .expect_status(StatusCode::OK)
        .await;

    // Adjustments: +100 to v2, −10 from v1.
    app.grant(&admin, &v2.id, 100).await;
    app.grant(&admin, &v1.id, -10).await;

    // Redemptions of 20 each: one by v1, two by v2, one of which v2 cancels (a refund).
    let reward = app
        .reward(&staff, json!({"name": "饭票", "cost_points": 20}))
        .await;
    let mut redemptions = Vec::new();
    for who in [&v1, &v2, &v2] {
        let redeemed = app.redeemed(who, &json!({"reward_id": reward["id"]})).await;
        redemptions.push(id(&redeemed));
    }
    app.cancel_redemption(&v2, &redemptions[2])
        .expect_status(StatusCode::OK)
        .await;

    // Donations: 5 from v1, 15 from v2.
    app.donated(&v1, 5).await;
    app.donated(&v2, 15).await;

    let figures = app.fund_figures(&v1).await;
    assert_eq!(
        figures,
        json!({"points_issued": 60, "points_adjusted": 90, "points_redeemed": 40,
               "points_donated": 20, "points_outstanding": 90, "volunteers_with_points": 2})
    );
    let (b1, b2) = (app.balance_sheet(&v1).await, app.balance_sheet(&v2).await);
    assert_eq!(totals(&b1), [&json!(25), &json!(60), &json!(20), &json!(5)]);
    assert_eq!(totals(&b2), [&json!(65), &json!(0), &json!(20), &json!(15)]);
    let mut sum = 0;
    for who in [&admin, &staff, &v1, &v2] {
        sum += app.balance(who).await;
    }
    assert_eq!(figures["points_outstanding"], sum);
    assert_eq!(
        sum,
        60 + 90 - 40 - 20,
        "outstanding = issued + adjusted - redeemed - donated"
    );
}

#[actix_web::test]
async fn verify_names_a_planted_fund_mismatch_and_a_wrong_cached_donated_total() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let v = app.volunteer_with(&admin, 40).await;
    app.donated(&v, 10).await;
    app.assert_ledger_ok();

    app.expect_broken_ledger();
    // A balanced transaction (L1 holds) that issues 7 points to no volunteer: the fund says
    // volunteers hold 7 more than they do.
    let tx = uuid::Uuid::new_v4();
    app.plant(&format!(
        "INSERT INTO ledger_transactions (id, kind, memo, created_at) \
         VALUES ('{tx}', 'earn', 'planted', CURRENT_TIMESTAMP)"
    ));
    for (account, amount) in [(COMMUNITY_FUND, -7), (REDEMPTIONS, 7)] {
        let entry = uuid::Uuid::new_v4();
        app.plant(&format!(
            "INSERT INTO ledger_entries (id, transaction_id, account_id, amount, created_at) \
             VALUES ('{entry}', '{tx}', '{account}', {amount}, CURRENT_TIMESTAMP)"
        ));
    }
    let report = app
        .verify_over_http(&admin)
        .expect_json(StatusCode::OK)
        .await;
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
    app.plant(&format!(
        "UPDATE accounts SET donated_total = donated_total + 3 WHERE id = '{}'",
        v.id
    ));
    let report = app
        .verify_over_http(&admin)
        .expect_json(StatusCode::OK)
        .await;
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
    let doc = app.openapi().expect_json(StatusCode::OK).await;
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
    let schemas = &doc["components"]["schemas"];
    for schema in ["Wish", "Fund", "DonationRequest", "WishFulfilment"] {
        assert!(schemas[schema].is_object(), "{schema}");
    }
    // The redemption desk's request keeps its own name.
    assert!(schemas["FulfilRequest"]["properties"]["pickup_code"].is_object());
    let key = doc["paths"]["/api/v1/donations"]["post"]["parameters"]
        .as_array()
        .expect("parameters")
        .iter()
        .find(|p| p["name"] == "Idempotency-Key")
        .cloned()
        .expect("the Idempotency-Key header");
    assert_eq!(key["required"], true, "{key}");
}
