//! Group commit (issue 12): on SQLite, concurrent writes queue to one writer that commits many
//! requests in one transaction, each in its own savepoint, each answered after the commit. The
//! same tests run on PostgreSQL, where each write is its own transaction: the outcomes must be
//! the same.

use futures_util::future::join_all;
use serde_json::json;

use crate::helpers::*;

const KEY_ROW: &str = "INSERT INTO idempotency_keys \
     (caller_id, key, request_hash, response_status, response_body, created_at) \
     VALUES ('batch', '{key}', 'h', 200, '', '2026-01-01 00:00:00')";

fn key_row(key: &str) -> &'static str {
    Box::leak(KEY_ROW.replace("{key}", key).into_boxed_str())
}

#[actix_web::test]
async fn a_failing_write_in_a_batch_rolls_back_only_its_own_work() {
    let app = spawn_app().await;
    app.count_statements();
    let outcomes = app.batched_writes(vec![
        vec![key_row("a")],
        // Writes a row, then fails: its row must go, the others' stay.
        vec![key_row("b"), "INSERT INTO no_such_table VALUES (1)"],
        vec![key_row("c")],
        // A unique violation inside the batch: refused alone.
        vec![key_row("a")],
        vec![key_row("d")],
    ]);
    let ok: Vec<bool> = outcomes.iter().map(Result::is_ok).collect();
    // Which of the two "a" comes first is the queue's order; exactly one of them is kept.
    assert!(ok[0] != ok[3], "{ok:?}");
    assert_eq!((ok[1], ok[2], ok[4]), (false, true, true));
    let mut keys = app.idempotency_keys();
    keys.sort();
    assert_eq!(keys, ["a", "c", "d"]);
    if !on_postgres() {
        let sent = app.statements();
        let begins = sent.iter().filter(|s| s.starts_with("BEGIN")).count();
        // The held transaction's, then the five writes in at most two transactions.
        assert!(begins <= 3, "{sent:#?}");
    }
}

#[actix_web::test]
async fn concurrent_redemptions_in_one_batch_are_all_acknowledged_and_a_refusal_changes_nothing() {
    let app = spawn_app().await;
    let (admin, _, rich) = app.shop(100).await;
    let poor = app.volunteer_with(&admin, 5).await;
    let reward = json!({"name": "Tea", "cost_points": 10});
    let reward = id(&app
        .create_reward(&admin, &reward)
        .expect_json(StatusCode::CREATED)
        .await);
    let held = app.held_write_lock();
    app.count_statements();
    let body = json!({"reward_id": reward});
    let buyers = [&rich, &rich, &rich, &rich, &rich, &rich, &poor];
    let requests = join_all(buyers.iter().enumerate().map(|(i, who)| {
        let (app, body) = (&app, &body);
        async move { app.redeem_keyed(who, &format!("r-{i}"), body).await }
    }));
    let release = async {
        // Every request's write waits for the writer (or inside it, for the lock).
        app.until_writes_queued(7).await;
        held.resume();
    };
    let (answers, ()) = tokio::join!(requests, release);
    held.finish().expect("the held transaction commits");
    let statuses: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(statuses, [201, 201, 201, 201, 201, 201, 409]);
    assert_eq!(app.balance(&rich).await, 40);
    assert_eq!(app.balance(&poor).await, 5);
    if !on_postgres() {
        let sent = app.statements();
        let commits = sent.iter().filter(|s| s.starts_with("COMMIT")).count();
        // The held transaction, then seven redemptions and the refusal's kept answer in at
        // most three commits.
        assert!(commits <= 4, "{commits} commits: {sent:#?}");
    }
}
