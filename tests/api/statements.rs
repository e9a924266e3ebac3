//! How many statements each write sends to the database (issue 12: lean write transactions).
//! Counted on the app's own connections, the idempotency look-up and the caller's role reads
//! included; printed with `--nocapture`. The bounds are what the code sends today: a change that
//! adds a statement to a hot write shows up here.

use serde_json::json;

use crate::helpers::*;

/// Runs `request`, prints the statements it sent under `name`, and answers how many.
macro_rules! counted {
    ($app:expr, $name:expr, $request:expr) => {{
        $app.count_statements();
        let answer = $request.await;
        let sent = $app.statements();
        println!("{}: {} statements", $name, sent.len());
        for s in &sent {
            println!("    {s}");
        }
        (answer, sent.len())
    }};
}

#[actix_web::test]
async fn each_write_sends_a_bounded_number_of_statements() {
    let app = spawn_app().await;
    let (admin, staff, volunteer) = app.shop(1_000).await;
    let unlimited = json!({"name": "Tea", "cost_points": 10});
    let unlimited = id(&app
        .create_reward(&admin, &unlimited)
        .expect_json(StatusCode::CREATED)
        .await);
    let limited = json!({"name": "Mug", "cost_points": 10, "stock": 5, "per_volunteer_limit": 2});
    let limited = id(&app
        .create_reward(&admin, &limited)
        .expect_json(StatusCode::CREATED)
        .await);

    let (answer, redeem) = counted!(
        app,
        "redeem (unlimited, no limit)",
        app.redeem_keyed(&volunteer, "s-1", &json!({"reward_id": unlimited}))
    );
    let red = async { answer }.expect_json(StatusCode::CREATED).await;
    let (answer, redeem_limited) = counted!(
        app,
        "redeem (stock and limit)",
        app.redeem_keyed(&volunteer, "s-2", &json!({"reward_id": limited}))
    );
    let limited_red = async { answer }.expect_json(StatusCode::CREATED).await;
    let (answer, fulfil) = counted!(app, "fulfil", app.fulfil(&staff, &red["pickup_code"]));
    async { answer }.expect_json(StatusCode::OK).await;
    let (answer, cancel) = counted!(
        app,
        "cancel",
        app.cancel_redemption(&volunteer, &id(&limited_red))
    );
    async { answer }.expect_json(StatusCode::OK).await;
    let (answer, adjust) = counted!(
        app,
        "adjust",
        app.adjust(&admin, "s-3", &adjustment(&volunteer.id, 5))
    );
    async { answer }.expect_json(StatusCode::CREATED).await;
    let (_, log) = app.submitted_log(&staff, &volunteer, json!({}), 30).await;
    let (answer, approve) = counted!(app, "approve", app.approve(&staff, &log));
    async { answer }.expect_json(StatusCode::OK).await;

    // A balance read, hours included, is one primary-key row: no `SELECT 1` for a connection
    // that answered within the last 500 ms (on SQLite: ever), no sum over the logs.
    app.count_statements();
    let sheet = app.my_balance(&volunteer).expect_json(StatusCode::OK).await;
    let read: Vec<String> = app
        .statements()
        .into_iter()
        .filter(|s| s != "SELECT 1")
        .collect();
    assert_eq!(read.len(), 1, "{read:?}");
    assert!(read[0].contains("minutes_served"), "{read:?}");
    assert_eq!(sheet["minutes_served"], 30, "{sheet}");

    println!(
        "statements: redeem {redeem}, redeem limited {redeem_limited}, fulfil {fulfil}, \
         cancel {cancel}, adjust {adjust}, approve {approve}"
    );
    // Before issue 12: 26, 26, 5, 13, 18 and 11; now 8, 10, 4, 9, 6 and 9. On PostgreSQL a
    // figure may count the check-out ping (`SELECT 1`) of a connection idle for more than
    // 500 ms: the bounds allow that one.
    assert!(redeem <= 9, "redeem sent {redeem}");
    assert!(redeem_limited <= 11, "redeem limited sent {redeem_limited}");
    assert!(fulfil <= 5, "fulfil sent {fulfil}");
    assert!(cancel <= 10, "cancel sent {cancel}");
    assert!(adjust <= 7, "adjust sent {adjust}");
    assert!(approve <= 10, "approve sent {approve}");
}
