//! The points ledger over HTTP: LEDGER.md's invariants, idempotency, statements, verify.

use futures_util::future::join_all;
use reqwest::{Method, Response};
use serde_json::{json, Value};

use crate::helpers::*;
use volunteer_points::error::{AppError, Conflict};

/// The whole statement of `who`, read three entries a page.
async fn statement(app: &TestApp, who: &TestUser) -> Vec<Value> {
    let mut all = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = match &cursor {
            Some(c) => format!("limit=3&cursor={c}"),
            None => "limit=3".to_owned(),
        };
        let page = body(app.my_ledger(who, &query).await).await;
        all.extend(page["items"].as_array().expect("items").iter().cloned());
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return all,
        }
    }
}

#[actix_web::test]
async fn fifty_concurrent_debits_of_7_against_100_let_exactly_14_through() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let v = app.volunteer_with(&admin, 100).await;
    let requests = (0..50).map(|i| {
        let (app, admin, debit) = (&app, &admin, adjustment(&v.id, -7));
        async move { app.adjust(admin, &format!("debit-{i}"), &debit).await }
    });
    let mut created = 0;
    let mut refused = 0;
    for res in join_all(requests).await {
        match res.status().as_u16() {
            201 => created += 1,
            409 => {
                assert_eq!(body(res).await["code"], "insufficient-points");
                refused += 1;
            }
            other => panic!(
                "unexpected status {other}: {}",
                res.text().await.unwrap_or_default()
            ),
        }
    }
    assert_eq!((created, refused), (14, 36));
    assert_eq!(app.balance(&v).await, 2);
}

#[actix_web::test]
async fn overdrawing_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let v = app.volunteer_with(&admin, 10).await;
    let before = statement(&app, &v).await;
    let res = app
        .adjust(&admin, "overdraw", &adjustment(&v.id, -11))
        .await;
    assert_problem(res, 409, "insufficient-points").await;
    assert_eq!(app.balance(&v).await, 10);
    assert_eq!(statement(&app, &v).await, before, "no entry was written");
    let txs = app
        .count("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM ledger_transactions")
        .await;
    assert_eq!(txs, 1, "only the grant exists");
}

#[actix_web::test]
async fn an_adjustment_is_one_balanced_transaction_that_staff_can_read() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let staff = app.staff().await;
    let v = app.volunteer().await;
    let tx = app
        .adjust(&admin, "k1", &adjustment(&v.id, 25))
        .expect_json(StatusCode::CREATED)
        .await;
    assert_eq!(tx["kind"], "adjust");
    assert_eq!(tx["memo"], "test adjustment");
    assert_eq!(tx["created_by"], admin.id.as_str());
    let entries = tx["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 2);
    let sum: i64 = entries
        .iter()
        .map(|e| e["amount"].as_i64().expect("amount"))
        .sum();
    assert_eq!(sum, 0, "L1");
    assert!(entries.iter().any(|e| e["account_kind"] == "volunteer"
        && e["volunteer_id"] == v.id.as_str()
        && e["amount"] == 25));
    assert!(entries
        .iter()
        .any(|e| e["account_kind"] == "community_fund" && e["amount"] == -25));

    let id = tx["id"].as_str().expect("id");
    let read = body(app.transaction(&staff, id).await).await;
    assert_eq!(read, tx);
    app.transaction(&v, id)
        .expect_problem(403, "forbidden")
        .await;
    app.transaction(&staff, &uuid::Uuid::new_v4().to_string())
        .expect_problem(404, "not-found")
        .await;

    let balance = app.balance_sheet(&v).await;
    assert_eq!(balance["balance"], 25);
    assert_eq!(
        balance["earned_total"], 0,
        "adjustments count in neither total"
    );
    assert_eq!(balance["spent_total"], 0);
    assert_eq!(balance["volunteer_id"], v.id.as_str());
}

#[actix_web::test]
async fn adjustments_are_bounded_and_only_admins_make_them_never_for_themselves() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let staff = app.staff().await;
    let v = app.volunteer().await;
    for (key, amount) in [("zero", 0), ("big", 1_000_001), ("small", -1_000_001)] {
        let res = app.adjust(&admin, key, &adjustment(&v.id, amount)).await;
        let problem = assert_problem(res, 422, "validation-failed").await;
        assert_eq!(problem["errors"][0]["field"], "amount");
    }
    let res = app
        .adjust(
            &admin,
            "reason",
            &json!({"volunteer_id": v.id, "amount": 5, "reason": "  "}),
        )
        .await;
    assert_eq!(
        assert_problem(res, 422, "validation-failed").await["errors"][0]["field"],
        "reason"
    );
    app.adjust(&admin, "self", &adjustment(&admin.id, 5))
        .expect_problem(403, "self-approval")
        .await;
    app.adjust(&staff, "staff", &adjustment(&v.id, 5))
        .expect_problem(403, "forbidden")
        .await;
    app.adjust(&v, "vol", &adjustment(&v.id, 5))
        .expect_problem(403, "forbidden")
        .await;
    let unknown = uuid::Uuid::new_v4().to_string();
    app.adjust(&admin, "unknown", &adjustment(&unknown, 5))
        .expect_problem(404, "not-found")
        .await;
    app.adjust(&admin, "garbage", &adjustment("not-a-uuid", 5))
        .expect_problem(404, "not-found")
        .await;
    app.adjust(
        &admin,
        "type",
        &json!({"volunteer_id": v.id, "amount": "5", "reason": "x"}),
    )
    .expect_problem(400, "bad-request")
    .await;
    let res = app
        .post("/ledger/adjustments", &admin.token, &adjustment(&v.id, 5))
        .await;
    assert_problem(res, 400, "idempotency-key-required").await;
    app.adjust(&admin, "has space", &adjustment(&v.id, 5))
        .expect_problem(400, "bad-request")
        .await;
    assert_eq!(app.balance(&v).await, 0, "nothing was applied");
}

#[actix_web::test]
async fn a_replay_answers_the_same_bytes_and_acts_once() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let v = app.volunteer().await;
    let first = app.adjust(&admin, "same", &adjustment(&v.id, 40)).await;
    assert_eq!(first.status(), 201);
    assert!(replayed(&first).is_none());
    let first_body = first.text().await.expect("body");
    let again = app.adjust(&admin, "same", &adjustment(&v.id, 40)).await;
    assert_eq!(again.status(), 201);
    assert_eq!(replayed(&again), Some("true"));
    assert_eq!(
        again.text().await.expect("body"),
        first_body,
        "byte for byte"
    );
    assert_eq!(app.balance(&v).await, 40);

    // Same key, another request: refused, nothing done.
    let other = app.adjust(&admin, "same", &adjustment(&v.id, 41)).await;
    assert_problem(other, 422, "idempotency-key-reused").await;
    assert_eq!(app.balance(&v).await, 40);

    // Keys belong to their caller: another admin's identical key is a new request.
    let admin2 = app.admin().await;
    let res = app.adjust(&admin2, "same", &adjustment(&v.id, 40)).await;
    assert_eq!(res.status(), 201);
    assert!(replayed(&res).is_none());
    assert_eq!(app.balance(&v).await, 80);
}

/// `POST /donations` by `who` under `key`, with this media type and these body bytes as sent.
async fn donate_raw(app: &TestApp, who: &TestUser, key: &str, media: &str, body: &str) -> Response {
    let auth = format!("Bearer {}", who.token);
    let headers = [
        ("Authorization", auth.as_str()),
        ("Idempotency-Key", key),
        ("Content-Type", media),
    ];
    app.send_raw(Method::POST, "/donations", &headers, Some(body))
        .await
}

#[actix_web::test]
async fn a_refusal_given_before_any_work_is_kept_under_its_key_too() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let v = app.volunteer_with(&admin, 30).await;

    // A body that is not JSON: 400, kept; the key then makes no donation.
    let first = donate_raw(&app, &v, "not-json", "application/json", "{x").await;
    assert!(replayed(&first).is_none());
    let first = assert_problem(first, 400, "bad-request").await;
    let again = donate_raw(&app, &v, "not-json", "application/json", "{x").await;
    assert_eq!(replayed(&again), Some("true"));
    assert_eq!(assert_problem(again, 400, "bad-request").await, first);
    let other = donate_raw(&app, &v, "not-json", "application/json", r#"{"amount":1}"#).await;
    assert_problem(other, 422, "idempotency-key-reused").await;

    // Another media type: 415, kept.
    let res = donate_raw(&app, &v, "plain", "text/plain", r#"{"amount":2}"#).await;
    let first = assert_problem(res, 415, "unsupported-media-type").await;
    let again = donate_raw(&app, &v, "plain", "text/plain", r#"{"amount":2}"#).await;
    assert_eq!(replayed(&again), Some("true"));
    assert_eq!(
        assert_problem(again, 415, "unsupported-media-type").await,
        first
    );

    // A role that may not: 403, kept.
    let res = app.adjust(&v, "not-mine", &adjustment(&v.id, 5)).await;
    let first = assert_problem(res, 403, "forbidden").await;
    let again = app.adjust(&v, "not-mine", &adjustment(&v.id, 5)).await;
    assert_eq!(replayed(&again), Some("true"));
    assert_eq!(assert_problem(again, 403, "forbidden").await, first);

    assert_eq!(app.balance(&v).await, 30, "nothing was taken");
}

#[actix_web::test]
async fn a_refusal_replays_as_refused_even_after_a_top_up() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let v = app.volunteer().await;
    let res = app
        .adjust(&admin, "too-much", &adjustment(&v.id, -30))
        .await;
    let first = assert_problem(res, 409, "insufficient-points").await;
    app.grant(&admin, &v.id, 100).await;
    let res = app
        .adjust(&admin, "too-much", &adjustment(&v.id, -30))
        .await;
    assert_eq!(replayed(&res), Some("true"));
    let again = assert_problem(res, 409, "insufficient-points").await;
    assert_eq!(again, first);
    assert_eq!(app.balance(&v).await, 100, "the replay took nothing");
}

#[actix_web::test]
async fn a_success_replays_as_a_success_when_the_same_work_would_now_be_refused() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let v = app.volunteer_with(&admin, 30).await;
    let res = app.adjust(&admin, "spend", &adjustment(&v.id, -30)).await;
    assert_eq!(res.status(), 201);
    let first = res.text().await.expect("body");
    assert_eq!(app.balance(&v).await, 0);
    // Done again now, the debit would be refused (insufficient-points) and a different body
    // under the key would be 422: the retry replays the success and takes nothing more.
    let res = app.adjust(&admin, "spend", &adjustment(&v.id, -30)).await;
    assert_eq!(res.status(), 201);
    assert_eq!(replayed(&res), Some("true"));
    assert_eq!(res.text().await.expect("body"), first);
    let other = app.adjust(&admin, "spend", &adjustment(&v.id, -31)).await;
    assert_problem(other, 422, "idempotency-key-reused").await;
    assert_eq!(app.balance(&v).await, 0);
}

#[actix_web::test]
async fn concurrent_requests_with_one_key_act_once() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let v = app.volunteer().await;
    let credit = adjustment(&v.id, 9);
    let requests = (0..20).map(|_| app.adjust(&admin, "one-key", &credit));
    let mut ids = Vec::new();
    let mut replays = 0;
    for res in join_all(requests).await {
        let status = res.status().as_u16();
        if replayed(&res).is_some() {
            replays += 1;
        }
        let b = body(res).await;
        match status {
            201 => ids.push(b["id"].as_str().expect("id").to_owned()),
            409 => assert_eq!(b["code"], "idempotency-in-flight"),
            other => panic!("unexpected {other}: {b}"),
        }
    }
    assert!(!ids.is_empty());
    assert!(
        ids.iter().all(|id| *id == ids[0]),
        "every answer names the same transaction"
    );
    assert_eq!(replays, ids.len() - 1, "all but the first are replays");
    assert_eq!(app.balance(&v).await, 9, "acted once");
}

#[actix_web::test]
async fn a_repeat_of_a_key_still_running_waits_for_it_and_never_runs_its_own_work() {
    let app = spawn_app_with(&[("DATABASE_TIMEOUT", "1")]).await;
    let admin = app.admin().await;
    // Running longer than DATABASE_TIMEOUT (a large import): the repeat is 409, unrun.
    let first = app.running_command(&admin.id, "slow");
    let (answer, ran) = app.repeat_command(&admin.id, "slow");
    assert!(
        matches!(
            answer,
            Err(AppError::Conflict(Conflict::IdempotencyInFlight))
        ),
        "{answer:?}"
    );
    assert!(!ran, "the repeat's work never ran");
    // A repeat that is waiting when the first finishes replays the first's answer.
    let repeat = std::thread::scope(|s| {
        let waiting = s.spawn(|| app.repeat_command(&admin.id, "slow"));
        std::thread::sleep(std::time::Duration::from_millis(50));
        first.resume();
        waiting.join().expect("the repeat")
    });
    first.finish().expect("the first committed");
    let (answer, ran) = repeat;
    assert_eq!(
        answer.expect("an answer"),
        (201, true),
        "a replay of the first"
    );
    assert!(!ran);
}

#[actix_web::test]
async fn a_statements_times_never_run_backwards_along_its_ledger_order() {
    // A request that began first but committed second (it waited for the account's row) has
    // the earlier clock reading: here, the clock set back between two postings.
    let app = spawn_app().await;
    let admin = app.admin().await;
    let v = app.volunteer().await;
    app.set_time(time("2026-11-30T10:00:02Z"));
    app.grant(&admin, &v.id, 10).await;
    app.set_time(time("2026-11-30T10:00:01Z"));
    let donation = app.donated(&v, 3).await;
    // Its time is the account's latest posting's: the statement reads newest first both ways.
    assert_eq!(donation["created_at"], "2026-11-30T10:00:02Z");
    let tx = id(&donation);
    let read = app
        .transaction(&admin, &tx)
        .expect_json(StatusCode::OK)
        .await;
    assert_eq!(read["created_at"], "2026-11-30T10:00:02Z");
    let times: Vec<Value> = statement(&app, &v)
        .await
        .into_iter()
        .map(|e| e["created_at"].clone())
        .collect();
    assert_eq!(
        times,
        [json!("2026-11-30T10:00:02Z"), json!("2026-11-30T10:00:02Z")]
    );
    // The clock on again: the next posting takes its own time.
    app.set_time(time("2026-11-30T10:00:03Z"));
    assert_eq!(
        app.donated(&v, 1).await["created_at"],
        "2026-11-30T10:00:03Z"
    );
    // Another account's postings keep the clock's time.
    let w = app.volunteer().await;
    app.set_time(time("2026-11-30T09:00:00Z"));
    app.grant(&admin, &w.id, 5).await;
    let theirs = statement(&app, &w).await;
    assert_eq!(theirs[0]["created_at"], "2026-11-30T09:00:00Z");
}

#[actix_web::test]
async fn many_mixed_operations_at_once_keep_every_invariant() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mut volunteers = Vec::new();
    for _ in 0..4 {
        volunteers.push(app.volunteer_with(&admin, 50).await);
    }
    // Credits, debits (some refused), and replays of the first 15 of them, all at once.
    let mut ops: Vec<(String, String, i64)> = (0..45)
        .map(|i| {
            let v = &volunteers[i % volunteers.len()];
            let amount = if i % 3 == 0 { 15 } else { -8 };
            (format!("mixed-{i}"), v.id.clone(), amount)
        })
        .collect();
    ops.extend(ops[..15].to_vec());
    let requests = ops.iter().map(|(key, vid, amount)| {
        let (app, admin) = (&app, &admin);
        let fields = json!({"volunteer_id": vid, "amount": amount, "reason": "mixed"});
        async move { app.adjust(admin, key, &fields).await }
    });
    for res in join_all(requests).await {
        let status = res.status().as_u16();
        assert!(
            matches!(status, 201 | 409),
            "no 5xx: {status} {}",
            res.text().await.unwrap_or_default()
        );
    }
    app.assert_ledger_ok();
    let report = body(app.verify_over_http(&admin).await).await;
    assert_eq!(report["ok"], true, "{report}");
    let mut total = 0;
    for v in &volunteers {
        let b = app.balance(v).await;
        assert!(b >= 0, "L2");
        let lines = statement(&app, v).await;
        assert_eq!(
            lines.first().map(|e| e["balance_after"].as_i64()),
            Some(Some(b)),
            "L9: newest entry's balance_after"
        );
        let sum: i64 = lines
            .iter()
            .map(|e| e["amount"].as_i64().expect("amount"))
            .sum();
        assert_eq!(sum, b, "L9: entries sum to the balance");
        total += b;
    }
    assert!(total > 0);
}

#[actix_web::test]
async fn the_statement_walks_by_cursor_newest_first_with_chained_balances() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let v = app.volunteer().await;
    let amounts = [10, 20, -5, 7, -12, 30, 1, -1, 4, 9, -3];
    for (i, amount) in amounts.iter().enumerate() {
        let res = app
            .adjust(&admin, &format!("s{i}"), &adjustment(&v.id, *amount))
            .await;
        assert_eq!(res.status(), 201);
    }
    let lines = statement(&app, &v).await;
    assert_eq!(lines.len(), amounts.len(), "every entry exactly once");
    let ids: std::collections::HashSet<_> = lines
        .iter()
        .map(|e| e["id"].as_str().expect("id").to_owned())
        .collect();
    assert_eq!(ids.len(), amounts.len());
    let newest_first: Vec<i64> = lines
        .iter()
        .map(|e| e["amount"].as_i64().expect("amount"))
        .collect();
    let mut expected = amounts.to_vec();
    expected.reverse();
    assert_eq!(newest_first, expected);
    for pair in lines.windows(2) {
        let (newer, older) = (&pair[0], &pair[1]);
        assert_eq!(
            newer["balance_after"].as_i64().expect("after"),
            older["balance_after"].as_i64().expect("after")
                + newer["amount"].as_i64().expect("amount"),
            "balance_after chains"
        );
    }
    assert_eq!(lines.last().map(|e| &e["balance_after"]), Some(&json!(10)));
    assert!(lines
        .iter()
        .all(|e| e["kind"] == "adjust" && e["memo"] == "test adjustment"));
    assert_eq!(
        lines[0]["balance_after"].as_i64(),
        Some(amounts.iter().sum::<i64>())
    );

    // The same statement through /volunteers/{id}/ledger for staff and the volunteer.
    let staff = app.staff().await;
    let page = body(
        app.get(
            &format!("/volunteers/{}/ledger?limit=100", v.id),
            &staff.token,
        )
        .await,
    )
    .await;
    assert_eq!(page["items"].as_array().map(Vec::len), Some(amounts.len()));
    assert_eq!(page["next_cursor"], Value::Null);
    app.my_ledger(&v, "limit=0")
        .expect_problem(422, "validation-failed")
        .await;
    app.my_ledger(&v, "limit=101")
        .expect_problem(422, "validation-failed")
        .await;
    app.my_ledger(&v, "cursor=nonsense!")
        .expect_problem(400, "bad-request")
        .await;
}

#[actix_web::test]
async fn nobody_reads_another_volunteers_balance_or_ledger() {
    let app = spawn_app().await;
    let a = app.volunteer().await;
    let b = app.volunteer().await;
    let staff = app.staff().await;
    for path in ["balance", "ledger"] {
        app.points_of(&a, &b.id, path)
            .expect_problem(404, "not-found")
            .await;
        assert_eq!(app.points_of(&a, &a.id, path).await.status(), 200);
        assert_eq!(app.points_of(&staff, &b.id, path).await.status(), 200);
        app.points_of(&staff, &uuid::Uuid::new_v4().to_string(), path)
            .expect_problem(404, "not-found")
            .await;
        app.points_of(&staff, "not-a-uuid", path)
            .expect_problem(404, "not-found")
            .await;
    }
    app.verify_over_http(&staff)
        .expect_problem(403, "forbidden")
        .await;
}

#[actix_web::test]
async fn verify_names_a_planted_inconsistency() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let v = app.volunteer_with(&admin, 30).await;
    let report = body(app.verify_over_http(&admin).await).await;
    assert_eq!(report["ok"], true);
    assert!(report["accounts_checked"].as_i64() >= Some(4));
    assert_eq!(report["transactions_checked"], 1);

    app.expect_broken_ledger();
    // L9: the cached balance no longer matches the entries.
    app.plant(&format!(
        "UPDATE accounts SET balance = balance + 5 WHERE id = '{}'",
        v.id
    ));
    // L9: another account's cached total no longer agrees with its entries.
    let w = app.volunteer().await;
    app.plant(&format!(
        "UPDATE accounts SET earned_total = earned_total + 7 WHERE id = '{}'",
        w.id
    ));
    // L1: a transaction whose entries do not sum to zero.
    let fund = COMMUNITY_FUND;
    let (tx, entry) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    app.plant(&format!(
        "INSERT INTO ledger_transactions (id, kind, memo, created_at) \
         VALUES ('{tx}', 'adjust', 'planted', CURRENT_TIMESTAMP)"
    ));
    app.plant(&format!(
        "INSERT INTO ledger_entries (id, transaction_id, account_id, amount, created_at) \
         VALUES ('{entry}', '{tx}', '{fund}', 3, CURRENT_TIMESTAMP)"
    ));
    let report = body(app.verify_over_http(&admin).await).await;
    assert_eq!(report["ok"], false);
    let problems = report["problems"].as_array().expect("problems");
    assert!(
        problems
            .iter()
            .any(|p| p["rule"] == "L9" && p["subject"] == format!("account:{}", v.id)),
        "{report}"
    );
    assert!(
        problems.iter().any(|p| p["rule"] == "L9"
            && p["subject"] == format!("account:{}", w.id)
            && p["detail"]
                .as_str()
                .is_some_and(|d| d.contains("earned/spent"))),
        "{report}"
    );
    assert!(
        problems
            .iter()
            .any(|p| p["rule"] == "L1" && p["subject"] == format!("transaction:{tx}")),
        "{report}"
    );
}

#[actix_web::test]
async fn ledger_history_cannot_be_edited_or_deleted() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let v = app.volunteer_with(&admin, 30).await;
    for statement in [
        "UPDATE ledger_entries SET amount = amount + 1",
        "DELETE FROM ledger_entries",
        "UPDATE ledger_transactions SET memo = 'edited'",
        "DELETE FROM ledger_transactions",
    ] {
        let result = app.execute(statement);
        assert!(result.is_err(), "L6: {statement} must be refused");
    }
    assert_eq!(app.balance(&v).await, 30);
}

#[actix_web::test]
async fn expired_idempotency_keys_are_purged_and_fresh_ones_kept() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let v = app.volunteer().await;
    let res = app.adjust(&admin, "old", &adjustment(&v.id, 5)).await;
    assert_eq!(res.status(), 201);
    let now = app.clock.now_naive();
    let purged = app.purge_idempotency_keys(now);
    assert_eq!(purged, 0, "a fresh key is kept");
    let later = now + chrono::TimeDelta::hours(25);
    let purged = app.purge_idempotency_keys(later);
    assert_eq!(purged, 1, "a key older than 24 hours is purged");
}

#[actix_web::test]
async fn an_adjustment_of_the_smallest_integer_is_refused_as_out_of_range() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let v = app.volunteer().await;
    let res = app
        .adjust(&admin, "min", &adjustment(&v.id, i64::MIN))
        .await;
    let problem = assert_problem(res, 422, "validation-failed").await;
    assert_eq!(problem["errors"][0]["field"], "amount");
    assert_eq!(app.balance(&v).await, 0);
}

#[actix_web::test]
async fn a_refused_body_is_kept_under_its_key_and_another_body_with_that_key_is_key_reused() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let v = app.volunteer().await;
    let post = |key: &'static str, amount: i64| {
        let (app, admin, fields) = (&app, &admin, adjustment(&v.id, amount));
        async move { app.adjust(admin, key, &fields).await }
    };
    // A validation refusal is an answer below 500: kept and replayed byte for byte.
    let first = post("bad-first", 0).await;
    assert!(replayed(&first).is_none());
    let first = assert_problem(first, 422, "validation-failed").await;
    let again = post("bad-first", 0).await;
    assert_eq!(replayed(&again), Some("true"));
    assert_eq!(assert_problem(again, 422, "validation-failed").await, first);
    // The key is spent: a corrected body under it is another request.
    post("bad-first", 10)
        .expect_problem(422, "idempotency-key-reused")
        .await;
    // A used key with a body that is invalid too is still a reused key.
    assert_eq!(post("good-first", 10).await.status(), 201);
    post("good-first", 0)
        .expect_problem(422, "idempotency-key-reused")
        .await;
    assert_eq!(app.balance(&v).await, 10, "only one adjustment acted");
}
