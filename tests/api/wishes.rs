//! Micro-wishes (API.md "Micro-wishes"; LEDGER.md L4, L7): the state machine under concurrent
//! moves, the limit of 3 held wishes, the credit on confirmation, who sees the beneficiary.

use futures_util::future::join_all;
use reqwest::Response;
use serde_json::{json, Value};

use crate::helpers::*;

const FAMILY: &str = "王奶奶, 3 栋 201, 138 0000 0000";

/// An open wish of `points` recorded by `staff`; returns it.
async fn wish(app: &TestApp, staff: &TestUser, points: i64) -> Value {
    let res = app
        .post(
            "/wishes",
            &staff.token,
            &json!({"title": "A winter coat", "beneficiary": FAMILY, "points": points}),
        )
        .await;
    assert_eq!(res.status(), 201, "create wish");
    body(res).await
}

fn id(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_owned()
}

/// `POST /wishes/{id}/{action}`.
async fn act(app: &TestApp, token: &str, wish: &str, action: &str, fields: Value) -> Response {
    app.post(&format!("/wishes/{wish}/{action}"), token, &fields)
        .await
}

/// A move that must succeed; returns the wish.
async fn acted(app: &TestApp, token: &str, wish: &str, action: &str, fields: Value) -> Value {
    let res = act(app, token, wish, action, fields).await;
    assert_eq!(
        res.status(),
        200,
        "{action}: {}",
        res.text().await.unwrap_or_default()
    );
    body(res).await
}

/// A wish adopted and fulfilled by `adopter`; returns its id.
async fn fulfilled(app: &TestApp, staff: &TestUser, adopter: &TestUser, points: i64) -> String {
    let w = id(&wish(app, staff, points).await);
    acted(app, &adopter.token, &w, "adopt", json!({})).await;
    acted(
        app,
        &adopter.token,
        &w,
        "fulfil",
        json!({"note": "delivered"}),
    )
    .await;
    w
}

/// Counts 200s, asserting every other answer is a 409 with one of `codes`.
async fn tally(responses: Vec<Response>, codes: &[&str]) -> usize {
    let mut won = 0;
    for res in responses {
        if res.status() == 200 {
            won += 1;
        } else {
            let problem = body(res).await;
            assert_eq!(problem["status"], 409, "{problem}");
            assert!(
                codes.iter().any(|c| problem["code"] == *c),
                "unexpected {problem}"
            );
        }
    }
    won
}

#[actix_web::test]
async fn a_wish_goes_from_open_to_confirmed_and_credits_its_adopter_once() {
    let app = spawn_app().await;
    let (staff, reviewer, v) = (app.staff().await, app.staff().await, app.volunteer().await);
    let created = wish(&app, &staff, 50).await;
    assert_eq!(created["status"], "open");
    assert_eq!(created["beneficiary"], FAMILY);
    assert_eq!(created["created_by"], staff.id);
    assert_eq!(created["adopted_by"], Value::Null);
    let w = id(&created);

    let adopted = acted(&app, &v.token, &w, "adopt", json!({})).await;
    assert_eq!(adopted["status"], "adopted");
    assert_eq!(adopted["adopted_by"], v.id);
    assert_eq!(adopted["adopted_by_name"], "志愿者");
    assert_eq!(adopted["beneficiary"], FAMILY);
    assert!(adopted["adopted_at"].is_string());
    let done = acted(
        &app,
        &v.token,
        &w,
        "fulfil",
        json!({"note": " coat delivered "}),
    )
    .await;
    assert_eq!(done["status"], "fulfilled");
    assert_eq!(done["fulfilment_note"], "coat delivered");
    assert!(done["fulfilled_at"].is_string());

    let confirmed = acted(&app, &reviewer.token, &w, "confirm", json!({})).await;
    assert_eq!(confirmed["status"], "confirmed");
    assert_eq!(confirmed["confirmed_by"], reviewer.id);
    assert_eq!(confirmed["points_awarded"], 50);
    assert_eq!(confirmed["adopted_by"], v.id);
    let tx = confirmed["transaction_id"].as_str().expect("a credit");
    let tx = body(
        app.get(&format!("/ledger/transactions/{tx}"), &staff.token)
            .await,
    )
    .await;
    assert_eq!(tx["kind"], "earn");

    let balance = body(app.get("/me/balance", &v.token).await).await;
    assert_eq!(balance["balance"], 50);
    assert_eq!(
        balance["earned_total"], 50,
        "confirmed wishes count as earned"
    );
    let fund = body(app.get("/fund", &v.token).await).await;
    assert_eq!(fund["points_issued"], 50);
    assert_eq!(fund["points_outstanding"], 50);

    // The adopter keeps seeing it, beneficiary included; another volunteer does not see it.
    let mine = body(app.get(&format!("/wishes/{w}"), &v.token).await).await;
    assert_eq!(mine["beneficiary"], FAMILY);
    let listed = body(app.get("/wishes?status=confirmed", &v.token).await).await;
    assert_eq!(listed["items"][0]["id"], w);
    let other = app.volunteer().await;
    assert_problem(
        app.get(&format!("/wishes/{w}"), &other.token).await,
        404,
        "not-found",
    )
    .await;
    let theirs = body(app.get("/wishes", &other.token).await).await;
    assert_eq!(theirs["items"], json!([]));
    app.assert_ledger_ok();
}

#[actix_web::test]
async fn eight_concurrent_adopters_of_one_wish_get_exactly_one_winner() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let w = id(&wish(&app, &staff, 10).await);
    let mut people = Vec::new();
    for _ in 0..8 {
        people.push(app.volunteer().await);
    }
    let answers = join_all(
        people
            .iter()
            .map(|p| act(&app, &p.token, &w, "adopt", json!({}))),
    )
    .await;
    assert_eq!(tally(answers, &["wish-not-open"]).await, 1);
    let shown = body(app.get(&format!("/wishes/{w}"), &staff.token).await).await;
    assert_eq!(shown["status"], "adopted");
    assert!(people.iter().any(|p| shown["adopted_by"] == p.id.as_str()));
}

#[actix_web::test]
async fn a_fourth_wish_is_refused_with_limit_reached_but_a_taken_one_with_wish_not_open() {
    let app = spawn_app().await;
    let (staff, reviewer, v, other) = (
        app.staff().await,
        app.staff().await,
        app.volunteer().await,
        app.volunteer().await,
    );
    let mut held = Vec::new();
    for _ in 0..3 {
        let w = id(&wish(&app, &staff, 5).await);
        acted(&app, &v.token, &w, "adopt", json!({})).await;
        held.push(w);
    }
    // A fulfilled wish is still held.
    acted(&app, &v.token, &held[0], "fulfil", json!({"note": "done"})).await;
    let fourth = id(&wish(&app, &staff, 5).await);
    let taken = id(&wish(&app, &staff, 5).await);
    acted(&app, &other.token, &taken, "adopt", json!({})).await;

    assert_problem(
        act(&app, &v.token, &taken, "adopt", json!({})).await,
        409,
        "wish-not-open",
    )
    .await;
    assert_problem(
        act(&app, &v.token, &fourth, "adopt", json!({})).await,
        409,
        "limit-reached",
    )
    .await;
    let still = body(app.get(&format!("/wishes/{fourth}"), &v.token).await).await;
    assert_eq!(still["status"], "open");

    // Once one is confirmed, it no longer counts.
    acted(&app, &reviewer.token, &held[0], "confirm", json!({})).await;
    acted(&app, &v.token, &fourth, "adopt", json!({})).await;
    app.assert_ledger_ok();
}

#[actix_web::test]
async fn the_limit_of_three_holds_under_concurrent_adoptions_by_one_person() {
    let app = spawn_app().await;
    let (staff, v) = (app.staff().await, app.volunteer().await);
    let mut open = Vec::new();
    for _ in 0..8 {
        open.push(id(&wish(&app, &staff, 5).await));
    }
    let answers = join_all(
        open.iter()
            .map(|w| act(&app, &v.token, w, "adopt", json!({}))),
    )
    .await;
    assert_eq!(tally(answers, &["limit-reached"]).await, 3);
    let mine = body(app.get("/wishes?status=adopted", &v.token).await).await;
    assert_eq!(mine["items"].as_array().map(Vec::len), Some(3));
}

#[actix_web::test]
async fn confirm_racing_cancel_lets_exactly_one_win() {
    let app = spawn_app().await;
    let (staff, other_staff, v) = (app.staff().await, app.staff().await, app.volunteer().await);
    let mut credited = 0;
    for _ in 0..3 {
        let w = fulfilled(&app, &staff, &v, 40).await;
        let (confirm, cancel) = futures_util::future::join(
            act(&app, &staff.token, &w, "confirm", json!({})),
            act(
                &app,
                &other_staff.token,
                &w,
                "cancel",
                json!({"reason": "moved away"}),
            ),
        )
        .await;
        let (confirmed, cancelled) = (confirm.status() == 200, cancel.status() == 200);
        assert!(confirmed != cancelled, "exactly one wins");
        if confirmed {
            credited += 40;
            assert_problem(cancel, 409, "wish-closed").await;
        } else {
            assert_problem(confirm, 409, "wish-not-fulfilled").await;
        }
        let shown = body(app.get(&format!("/wishes/{w}"), &staff.token).await).await;
        let expected = if confirmed { "confirmed" } else { "cancelled" };
        assert_eq!(shown["status"], expected);
        assert_eq!(shown["transaction_id"].is_string(), confirmed);
        assert_eq!(app.balance(&v.token).await, credited);
    }
    app.assert_ledger_ok();
}

#[actix_web::test]
async fn concurrent_confirmations_credit_the_adopter_once() {
    let app = spawn_app().await;
    let (staff, other_staff, v) = (app.staff().await, app.staff().await, app.volunteer().await);
    let w = fulfilled(&app, &staff, &v, 70).await;
    let answers = join_all((0..8).map(|i| {
        let token = if i % 2 == 0 {
            &staff.token
        } else {
            &other_staff.token
        };
        act(&app, token, &w, "confirm", json!({}))
    }))
    .await;
    assert_eq!(tally(answers, &["wish-not-fulfilled"]).await, 1);
    assert_eq!(app.balance(&v.token).await, 70);
    let statement = body(app.get("/me/ledger", &v.token).await).await;
    assert_eq!(statement["items"].as_array().map(Vec::len), Some(1));
    app.assert_ledger_ok();
}

#[actix_web::test]
async fn a_staff_adopter_cannot_confirm_or_reject_their_own_wish() {
    let app = spawn_app().await;
    let (staff, adopter, v) = (app.staff().await, app.staff().await, app.volunteer().await);
    let w = fulfilled(&app, &staff, &adopter, 30).await;
    assert_problem(
        act(&app, &adopter.token, &w, "confirm", json!({})).await,
        403,
        "self-approval",
    )
    .await;
    assert_problem(
        act(
            &app,
            &adopter.token,
            &w,
            "reject",
            json!({"reason": "mine"}),
        )
        .await,
        403,
        "self-approval",
    )
    .await;
    // The role's 403 comes first, even for a wish that does not exist.
    assert_problem(
        act(&app, &v.token, &w, "confirm", json!({})).await,
        403,
        "forbidden",
    )
    .await;
    let unknown = uuid::Uuid::new_v4();
    assert_problem(
        act(&app, &v.token, &unknown.to_string(), "confirm", json!({})).await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        act(
            &app,
            &staff.token,
            &unknown.to_string(),
            "confirm",
            json!({}),
        )
        .await,
        404,
        "not-found",
    )
    .await;
    assert_eq!(app.balance(&adopter.token).await, 0);

    acted(&app, &staff.token, &w, "confirm", json!({})).await;
    assert_eq!(app.balance(&adopter.token).await, 30);
    app.assert_ledger_ok();
}

#[actix_web::test]
async fn the_beneficiary_is_hidden_from_other_volunteers_and_from_the_adopter_after_release() {
    let app = spawn_app().await;
    let (staff, v, w) = (
        app.staff().await,
        app.volunteer().await,
        app.volunteer().await,
    );
    let open = id(&wish(&app, &staff, 5).await);
    let seen = body(app.get(&format!("/wishes/{open}"), &w.token).await).await;
    assert_eq!(seen["beneficiary"], Value::Null);
    assert_eq!(seen["title"], "A winter coat");
    let listed = body(app.get("/wishes", &w.token).await).await;
    assert_eq!(listed["items"][0]["beneficiary"], Value::Null);

    let adopted = acted(&app, &v.token, &open, "adopt", json!({})).await;
    assert_eq!(adopted["beneficiary"], FAMILY);
    assert_problem(
        app.get(&format!("/wishes/{open}"), &w.token).await,
        404,
        "not-found",
    )
    .await;
    assert_eq!(
        body(app.get("/wishes", &w.token).await).await["items"],
        json!([])
    );
    assert_problem(
        act(&app, &w.token, &open, "release", json!({})).await,
        404,
        "not-found",
    )
    .await;

    let released = acted(&app, &v.token, &open, "release", json!({})).await;
    assert_eq!(released["status"], "open");
    assert_eq!(released["adopted_by"], Value::Null);
    assert_eq!(released["beneficiary"], Value::Null);
    let again = body(app.get(&format!("/wishes/{open}"), &v.token).await).await;
    assert_eq!(again["beneficiary"], Value::Null);
    let listed = body(app.get("/wishes", &v.token).await).await;
    assert_eq!(listed["items"][0]["beneficiary"], Value::Null);

    // After a cancellation the adopter still sees it; staff always do.
    acted(&app, &v.token, &open, "adopt", json!({})).await;
    let cancelled = acted(
        &app,
        &staff.token,
        &open,
        "cancel",
        json!({"reason": "moved"}),
    )
    .await;
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["beneficiary"], FAMILY);
    assert_eq!(cancelled["cancel_reason"], "moved");
    let kept = body(app.get(&format!("/wishes/{open}"), &v.token).await).await;
    assert_eq!(kept["beneficiary"], FAMILY);
    assert_eq!(kept["adopted_by"], v.id);
    assert_problem(
        app.get(&format!("/wishes/{open}"), &w.token).await,
        404,
        "not-found",
    )
    .await;
}

/// Asserts that each `(action, body, code)` on `wish` by `token` is refused with 409 `code`.
async fn all_refused(app: &TestApp, token: &str, wish: &str, moves: &[(&str, Value, &str)]) {
    for (action, fields, code) in moves {
        let res = act(app, token, wish, action, fields.clone()).await;
        assert_problem(res, 409, code).await;
    }
}

#[actix_web::test]
async fn every_move_from_the_wrong_status_is_refused_with_its_409_and_changes_nothing() {
    let app = spawn_app().await;
    let (staff, v) = (app.staff().await, app.volunteer().await);
    let (s, t) = (staff.token.as_str(), v.token.as_str());
    let reason = || json!({"reason": "r"});
    let note = || json!({"note": "n"});
    let none = || json!({});

    let w = id(&wish(&app, &staff, 20).await);
    // open
    let not_adopted = [
        ("release", none(), "wish-not-adopted"),
        ("fulfil", note(), "wish-not-adopted"),
    ];
    let not_fulfilled = [
        ("reject", reason(), "wish-not-fulfilled"),
        ("confirm", none(), "wish-not-fulfilled"),
    ];
    let not_open = [("adopt", none(), "wish-not-open")];
    all_refused(&app, t, &w, &not_adopted).await;
    all_refused(&app, s, &w, &not_fulfilled).await;
    // adopted
    acted(&app, t, &w, "adopt", none()).await;
    all_refused(&app, t, &w, &not_open).await;
    all_refused(&app, s, &w, &not_fulfilled).await;
    // fulfilled; rejected back to its adopter; fulfilled again
    acted(&app, t, &w, "fulfil", note()).await;
    all_refused(&app, t, &w, &not_open).await;
    all_refused(&app, t, &w, &not_adopted).await;
    let back = acted(&app, s, &w, "reject", json!({"reason": "no photo"})).await;
    assert_eq!(back["status"], "adopted");
    assert_eq!(back["rejection_reason"], "no photo");
    assert_eq!(back["adopted_by"], v.id);
    acted(&app, t, &w, "fulfil", note()).await;
    // Other points need a note; 0 points confirm without a credit.
    let res = act(&app, s, &w, "confirm", json!({"points": 0})).await;
    assert_problem(res, 422, "validation-failed").await;
    let res = act(
        &app,
        s,
        &w,
        "confirm",
        json!({"points": 10_001, "note": "n"}),
    )
    .await;
    assert_problem(res, 422, "validation-failed").await;
    let done = acted(
        &app,
        s,
        &w,
        "confirm",
        json!({"points": 0, "note": "a gift"}),
    )
    .await;
    assert_eq!(done["points_awarded"], 0);
    assert_eq!(done["transaction_id"], Value::Null);
    // confirmed, and cancelled
    let closed = [("cancel", reason(), "wish-closed")];
    let c = id(&wish(&app, &staff, 20).await);
    acted(&app, s, &c, "cancel", reason()).await;
    for gone in [&w, &c] {
        all_refused(&app, t, gone, &not_open).await;
        all_refused(&app, s, gone, &not_adopted).await;
        all_refused(&app, s, gone, &not_fulfilled).await;
        all_refused(&app, s, gone, &closed).await;
    }

    assert_eq!(app.balance(t).await, 0);
    let shown = body(app.get(&format!("/wishes/{c}"), s).await).await;
    assert_eq!(shown["status"], "cancelled");
    assert_eq!(
        body(app.get(&format!("/wishes/{w}"), s).await).await["status"],
        "confirmed"
    );
    app.assert_ledger_ok();
}

#[actix_web::test]
async fn only_the_adopter_fulfils_and_only_staff_record_review_and_cancel() {
    let app = spawn_app().await;
    let (staff, v, w) = (
        app.staff().await,
        app.volunteer().await,
        app.volunteer().await,
    );
    let fields = json!({"title": "书包", "beneficiary": FAMILY, "points": 5});
    assert_problem(
        app.post("/wishes", &v.token, &fields).await,
        403,
        "forbidden",
    )
    .await;
    let wish_id = id(&wish(&app, &staff, 5).await);
    for action in ["reject", "cancel"] {
        let res = act(&app, &v.token, &wish_id, action, json!({"reason": "r"})).await;
        assert_problem(res, 403, "forbidden").await;
    }
    acted(&app, &v.token, &wish_id, "adopt", json!({})).await;
    let res = act(&app, &w.token, &wish_id, "fulfil", json!({"note": "n"})).await;
    assert_problem(res, 404, "not-found").await;
    let res = act(&app, &staff.token, &wish_id, "fulfil", json!({"note": "n"})).await;
    assert_problem(res, 403, "forbidden").await;
    let res = act(&app, &v.token, &wish_id, "fulfil", json!({"note": " "})).await;
    assert_problem(res, 422, "validation-failed").await;
    // Staff may release someone's wish.
    let released = acted(&app, &staff.token, &wish_id, "release", json!({})).await;
    assert_eq!(released["status"], "open");
}

#[actix_web::test]
async fn wishes_keep_their_bounds() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    for fields in [
        json!({"title": "", "beneficiary": FAMILY, "points": 5}),
        json!({"title": "t".repeat(101), "beneficiary": FAMILY, "points": 5}),
        json!({"title": "t", "beneficiary": "  ", "points": 5}),
        json!({"title": "t", "beneficiary": "b".repeat(501), "points": 5}),
        json!({"title": "t", "beneficiary": FAMILY, "points": -1}),
        json!({"title": "t", "beneficiary": FAMILY, "points": 10_001}),
        json!({"title": "t", "beneficiary": FAMILY, "points": 5, "description": "d".repeat(2001)}),
    ] {
        let res = app.post("/wishes", &staff.token, &fields).await;
        assert_problem(res, 422, "validation-failed").await;
    }
    let unknown_team = json!({"title": "t", "beneficiary": FAMILY, "points": 5,
                              "team_id": uuid::Uuid::new_v4()});
    assert_problem(
        app.post("/wishes", &staff.token, &unknown_team).await,
        404,
        "not-found",
    )
    .await;
    let res = app.get("/wishes?status=done", &staff.token).await;
    assert_problem(res, 400, "bad-request").await;
    let full = json!({"title": " 书包 ", "beneficiary": FAMILY, "points": 10_000,
                      "due_at": "2026-12-24T10:00:00Z", "description": "blue"});
    let res = app.post("/wishes", &staff.token, &full).await;
    assert_eq!(res.status(), 201);
    let made = body(res).await;
    assert_eq!(made["title"], "书包");
    assert_eq!(made["due_at"], "2026-12-24T10:00:00Z");
    assert_eq!(made["points"], 10_000);
    assert_eq!(
        body(app.get("/wishes", &staff.token).await).await["items"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}
