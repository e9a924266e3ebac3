//! Micro-wishes (API.md "Micro-wishes"; LEDGER.md L4, L7): the state machine under concurrent
//! moves, the limit of 3 held wishes, the credit on confirmation, who sees the beneficiary.

use chrono::TimeDelta;
use futures_util::future::{join, join_all};
use reqwest::Response;
use serde_json::{json, Value};

use crate::helpers::*;

/// Counts 200s, asserting every other answer is a 409 with one of `codes`.
async fn winners(responses: Vec<Response>, codes: &[&str]) -> usize {
    let mut won = 0;
    for res in responses {
        if res.status() == StatusCode::OK {
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
    let created = app.open_wish(&staff, 50).await;
    assert_eq!(created["status"], "open");
    assert_eq!(created["beneficiary"], FAMILY);
    assert_eq!(created["created_by"], staff.id);
    assert_eq!(created["adopted_by"], Value::Null);
    let w = id(&created);

    let adopted = app.adopt_wish(&v, &w).expect_json(StatusCode::OK).await;
    assert_eq!(adopted["status"], "adopted");
    assert_eq!(adopted["adopted_by"], v.id);
    assert_eq!(adopted["adopted_by_name"], "志愿者");
    assert_eq!(adopted["beneficiary"], FAMILY);
    assert!(adopted["adopted_at"].is_string());
    let done = app
        .fulfil_wish(&v, &w, " coat delivered ")
        .expect_json(StatusCode::OK)
        .await;
    assert_eq!(done["status"], "fulfilled");
    assert_eq!(done["fulfilment_note"], "coat delivered");
    assert!(done["fulfilled_at"].is_string());

    let confirmed = app
        .confirm_wish(&reviewer, &w, &json!({}))
        .expect_json(StatusCode::OK)
        .await;
    assert_eq!(confirmed["status"], "confirmed");
    assert_eq!(confirmed["confirmed_by"], reviewer.id);
    assert_eq!(confirmed["points_awarded"], 50);
    assert_eq!(confirmed["adopted_by"], v.id);
    let tx = confirmed["transaction_id"].as_str().expect("a credit");
    let tx = app
        .transaction(&staff, tx)
        .expect_json(StatusCode::OK)
        .await;
    assert_eq!(tx["kind"], "earn");

    let sheet = app.balance_sheet(&v).await;
    assert_eq!(sheet["balance"], 50);
    assert_eq!(
        sheet["earned_total"], 50,
        "confirmed wishes count as earned"
    );
    let fund = app.fund_figures(&v).await;
    assert_eq!(fund["points_issued"], 50);
    assert_eq!(fund["points_outstanding"], 50);

    // The adopter keeps seeing it, beneficiary included; another volunteer does not see it.
    let mine = app.wish(&v, &w).expect_json(StatusCode::OK).await;
    assert_eq!(mine["beneficiary"], FAMILY);
    let listed = app
        .wishes(&v, "status=confirmed")
        .expect_json(StatusCode::OK)
        .await;
    assert_eq!(listed["items"][0]["id"], w);
    let other = app.volunteer().await;
    app.wish(&other, &w).expect_problem(404, "not-found").await;
    let theirs = app.wishes(&other, "").expect_json(StatusCode::OK).await;
    assert_eq!(theirs["items"], json!([]));
}

#[actix_web::test]
async fn eight_concurrent_adopters_of_one_wish_get_exactly_one_winner() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let w = id(&app.open_wish(&staff, 10).await);
    let mut people = Vec::new();
    for _ in 0..8 {
        people.push(app.volunteer().await);
    }
    let answers = join_all(people.iter().map(|p| app.adopt_wish(p, &w))).await;
    assert_eq!(winners(answers, &["wish-not-open"]).await, 1);
    let shown = app.wish(&staff, &w).expect_json(StatusCode::OK).await;
    assert_eq!(shown["status"], "adopted");
    assert!(people.iter().any(|p| shown["adopted_by"] == p.id.as_str()));
}

#[actix_web::test]
async fn a_fourth_wish_is_refused_with_limit_reached_but_a_taken_one_with_wish_not_open() {
    let app = spawn_app().await;
    let (staff, reviewer) = (app.staff().await, app.staff().await);
    let [v, other] = app.volunteers().await;
    let mut held = Vec::new();
    for _ in 0..3 {
        let w = id(&app.open_wish(&staff, 5).await);
        app.adopt_wish(&v, &w).expect_status(StatusCode::OK).await;
        held.push(w);
    }
    // A fulfilled wish is still held.
    app.fulfil_wish(&v, &held[0], "done")
        .expect_status(StatusCode::OK)
        .await;
    let fourth = id(&app.open_wish(&staff, 5).await);
    let taken = id(&app.open_wish(&staff, 5).await);
    app.adopt_wish(&other, &taken)
        .expect_status(StatusCode::OK)
        .await;

    app.adopt_wish(&v, &taken)
        .expect_problem(409, "wish-not-open")
        .await;
    app.adopt_wish(&v, &fourth)
        .expect_problem(409, "limit-reached")
        .await;
    let still = app.wish(&v, &fourth).expect_json(StatusCode::OK).await;
    assert_eq!(still["status"], "open");

    // Once one is confirmed, it no longer counts.
    app.confirm_wish(&reviewer, &held[0], &json!({}))
        .expect_status(StatusCode::OK)
        .await;
    app.adopt_wish(&v, &fourth)
        .expect_status(StatusCode::OK)
        .await;
}

#[actix_web::test]
async fn the_limit_of_three_holds_under_concurrent_adoptions_by_one_person() {
    let app = spawn_app().await;
    let (staff, v) = (app.staff().await, app.volunteer().await);
    let mut open = Vec::new();
    for _ in 0..8 {
        open.push(id(&app.open_wish(&staff, 5).await));
    }
    let answers = join_all(open.iter().map(|w| app.adopt_wish(&v, w))).await;
    assert_eq!(winners(answers, &["limit-reached"]).await, 3);
    let mine = app
        .wishes(&v, "status=adopted")
        .expect_json(StatusCode::OK)
        .await;
    assert_eq!(mine["items"].as_array().map(Vec::len), Some(3));
}

#[actix_web::test]
async fn confirm_racing_cancel_lets_exactly_one_win() {
    let app = spawn_app().await;
    let (staff, other_staff, v) = (app.staff().await, app.staff().await, app.volunteer().await);
    let mut credited = 0;
    for _ in 0..3 {
        let w = app.fulfilled_wish(&staff, &v, 40).await;
        let (confirm, cancel) = join(
            app.confirm_wish(&staff, &w, &json!({})),
            app.cancel_wish(&other_staff, &w, "moved away"),
        )
        .await;
        let confirmed = confirm.status() == StatusCode::OK;
        let cancelled = cancel.status() == StatusCode::OK;
        assert!(confirmed != cancelled, "exactly one wins");
        if confirmed {
            credited += 40;
            assert_problem(cancel, 409, "wish-closed").await;
        } else {
            assert_problem(confirm, 409, "wish-not-fulfilled").await;
        }
        let shown = app.wish(&staff, &w).expect_json(StatusCode::OK).await;
        let expected = if confirmed { "confirmed" } else { "cancelled" };
        assert_eq!(shown["status"], expected);
        assert_eq!(shown["transaction_id"].is_string(), confirmed);
        assert_eq!(app.balance(&v).await, credited);
    }
}

#[actix_web::test]
async fn concurrent_confirmations_credit_the_adopter_once() {
    let app = spawn_app().await;
    let (staff, other_staff, v) = (app.staff().await, app.staff().await, app.volunteer().await);
    let w = app.fulfilled_wish(&staff, &v, 70).await;
    let defaults = json!({});
    let answers = join_all((0..8).map(|i| {
        let who = if i % 2 == 0 { &staff } else { &other_staff };
        app.confirm_wish(who, &w, &defaults)
    }))
    .await;
    assert_eq!(winners(answers, &["wish-not-fulfilled"]).await, 1);
    assert_eq!(app.balance(&v).await, 70);
    let statement = app.my_ledger(&v, "").expect_json(StatusCode::OK).await;
    assert_eq!(statement["items"].as_array().map(Vec::len), Some(1));
}

#[actix_web::test]
async fn a_staff_adopter_cannot_confirm_or_reject_their_own_wish() {
    let app = spawn_app().await;
    let (staff, adopter, v) = (app.staff().await, app.staff().await, app.volunteer().await);
    let w = app.fulfilled_wish(&staff, &adopter, 30).await;
    app.confirm_wish(&adopter, &w, &json!({}))
        .expect_problem(403, "self-approval")
        .await;
    app.reject_wish(&adopter, &w, "mine")
        .expect_problem(403, "self-approval")
        .await;
    // The role's 403 comes first, even for a wish that does not exist.
    app.confirm_wish(&v, &w, &json!({}))
        .expect_problem(403, "forbidden")
        .await;
    let unknown = uuid::Uuid::new_v4().to_string();
    app.confirm_wish(&v, &unknown, &json!({}))
        .expect_problem(403, "forbidden")
        .await;
    app.confirm_wish(&staff, &unknown, &json!({}))
        .expect_problem(404, "not-found")
        .await;
    assert_eq!(app.balance(&adopter).await, 0);

    app.confirm_wish(&staff, &w, &json!({}))
        .expect_status(StatusCode::OK)
        .await;
    assert_eq!(app.balance(&adopter).await, 30);
}

#[actix_web::test]
async fn the_beneficiary_is_hidden_from_other_volunteers_and_from_the_adopter_after_release() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let [v, w] = app.volunteers().await;
    let open = id(&app.open_wish(&staff, 5).await);
    let seen = app.wish(&w, &open).expect_json(StatusCode::OK).await;
    assert_eq!(seen["beneficiary"], Value::Null);
    assert_eq!(seen["title"], "A winter coat");
    let listed = app.wishes(&w, "").expect_json(StatusCode::OK).await;
    assert_eq!(listed["items"][0]["beneficiary"], Value::Null);

    let adopted = app.adopt_wish(&v, &open).expect_json(StatusCode::OK).await;
    assert_eq!(adopted["beneficiary"], FAMILY);
    app.wish(&w, &open).expect_problem(404, "not-found").await;
    let listed = app.wishes(&w, "").expect_json(StatusCode::OK).await;
    assert_eq!(listed["items"], json!([]));
    app.release_wish(&w, &open)
        .expect_problem(404, "not-found")
        .await;

    let released = app
        .release_wish(&v, &open)
        .expect_json(StatusCode::OK)
        .await;
    assert_eq!(released["status"], "open");
    assert_eq!(released["adopted_by"], Value::Null);
    assert_eq!(released["beneficiary"], Value::Null);
    let again = app.wish(&v, &open).expect_json(StatusCode::OK).await;
    assert_eq!(again["beneficiary"], Value::Null);
    let listed = app.wishes(&v, "").expect_json(StatusCode::OK).await;
    assert_eq!(listed["items"][0]["beneficiary"], Value::Null);

    // After a cancellation the adopter still sees it; staff always do.
    app.adopt_wish(&v, &open)
        .expect_status(StatusCode::OK)
        .await;
    let cancelled = app
        .cancel_wish(&staff, &open, "moved")
        .expect_json(StatusCode::OK)
        .await;
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["beneficiary"], FAMILY);
    assert_eq!(cancelled["cancel_reason"], "moved");
    let kept = app.wish(&v, &open).expect_json(StatusCode::OK).await;
    assert_eq!(kept["beneficiary"], FAMILY);
    assert_eq!(kept["adopted_by"], v.id);
    app.wish(&w, &open).expect_problem(404, "not-found").await;
}

/// A move of a wish, as the wrong-status table names it.
#[derive(Clone, Copy)]
enum Step {
    Adopt,
    Release,
    Fulfil,
    Reject,
    Confirm,
    Cancel,
}

impl TestApp {
    /// Sends `step` on `wish` as `who` (with a note or reason where the move needs one).
    async fn step(&self, who: &TestUser, wish: &str, step: Step) -> Response {
        match step {
            Step::Adopt => self.adopt_wish(who, wish).await,
            Step::Release => self.release_wish(who, wish).await,
            Step::Fulfil => self.fulfil_wish(who, wish, "n").await,
            Step::Reject => self.reject_wish(who, wish, "r").await,
            Step::Confirm => self.confirm_wish(who, wish, &json!({})).await,
            Step::Cancel => self.cancel_wish(who, wish, "r").await,
        }
    }

    /// Asserts that each `(step, code)` on `wish` by `who` is refused with 409 `code`.
    async fn all_refused(&self, who: &TestUser, wish: &str, steps: &[(Step, &str)]) {
        for (step, code) in steps {
            self.step(who, wish, *step).expect_problem(409, code).await;
        }
    }
}

#[actix_web::test]
async fn every_move_from_the_wrong_status_is_refused_with_its_409_and_changes_nothing() {
    let app = spawn_app().await;
    let (s, t) = (app.staff().await, app.volunteer().await);
    let not_adopted = [
        (Step::Release, "wish-not-adopted"),
        (Step::Fulfil, "wish-not-adopted"),
    ];
    let not_fulfilled = [
        (Step::Reject, "wish-not-fulfilled"),
        (Step::Confirm, "wish-not-fulfilled"),
    ];
    let not_open = [(Step::Adopt, "wish-not-open")];
    let closed = [(Step::Cancel, "wish-closed")];

    let w = id(&app.open_wish(&s, 20).await);
    // open
    app.all_refused(&t, &w, &not_adopted).await;
    app.all_refused(&s, &w, &not_fulfilled).await;
    // adopted
    app.adopt_wish(&t, &w).expect_status(StatusCode::OK).await;
    app.all_refused(&t, &w, &not_open).await;
    app.all_refused(&s, &w, &not_fulfilled).await;
    // fulfilled; rejected back to its adopter; fulfilled again
    app.fulfil_wish(&t, &w, "n")
        .expect_status(StatusCode::OK)
        .await;
    app.all_refused(&t, &w, &not_open).await;
    app.all_refused(&t, &w, &not_adopted).await;
    let back = app
        .reject_wish(&s, &w, "no photo")
        .expect_json(StatusCode::OK)
        .await;
    assert_eq!(back["status"], "adopted");
    assert_eq!(back["rejection_reason"], "no photo");
    assert_eq!(back["adopted_by"], t.id);
    app.fulfil_wish(&t, &w, "n")
        .expect_status(StatusCode::OK)
        .await;
    // Other points need a note; 0 points confirm without a credit.
    app.confirm_wish(&s, &w, &json!({"points": 0}))
        .expect_problem(422, "validation-failed")
        .await;
    app.confirm_wish(&s, &w, &json!({"points": 10_001, "note": "n"}))
        .expect_problem(422, "validation-failed")
        .await;
    let done = app
        .confirm_wish(&s, &w, &json!({"points": 0, "note": "a gift"}))
        .expect_json(StatusCode::OK)
        .await;
    assert_eq!(done["points_awarded"], 0);
    assert_eq!(done["transaction_id"], Value::Null);
    // confirmed, and cancelled
    let c = id(&app.open_wish(&s, 20).await);
    app.cancel_wish(&s, &c, "r")
        .expect_status(StatusCode::OK)
        .await;
    for gone in [&w, &c] {
        app.all_refused(&t, gone, &not_open).await;
        app.all_refused(&s, gone, &not_adopted).await;
        app.all_refused(&s, gone, &not_fulfilled).await;
        app.all_refused(&s, gone, &closed).await;
    }

    assert_eq!(app.balance(&t).await, 0);
    let shown = app.wish(&s, &c).expect_json(StatusCode::OK).await;
    assert_eq!(shown["status"], "cancelled");
    let shown = app.wish(&s, &w).expect_json(StatusCode::OK).await;
    assert_eq!(shown["status"], "confirmed");
}

#[actix_web::test]
async fn only_the_adopter_fulfils_and_only_staff_record_review_and_cancel() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let [v, w] = app.volunteers().await;
    let fields = json!({"title": "书包", "beneficiary": FAMILY, "points": 5});
    app.create_wish(&v, &fields)
        .expect_problem(403, "forbidden")
        .await;
    let wish = id(&app.open_wish(&staff, 5).await);
    app.reject_wish(&v, &wish, "r")
        .expect_problem(403, "forbidden")
        .await;
    app.cancel_wish(&v, &wish, "r")
        .expect_problem(403, "forbidden")
        .await;
    app.adopt_wish(&v, &wish)
        .expect_status(StatusCode::OK)
        .await;
    app.fulfil_wish(&w, &wish, "n")
        .expect_problem(404, "not-found")
        .await;
    app.fulfil_wish(&staff, &wish, "n")
        .expect_problem(403, "forbidden")
        .await;
    app.fulfil_wish(&v, &wish, " ")
        .expect_problem(422, "validation-failed")
        .await;
    // Staff may release someone's wish.
    let released = app
        .release_wish(&staff, &wish)
        .expect_json(StatusCode::OK)
        .await;
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
        app.create_wish(&staff, &fields)
            .expect_problem(422, "validation-failed")
            .await;
    }
    let unknown_team = json!({"title": "t", "beneficiary": FAMILY, "points": 5,
                              "team_id": uuid::Uuid::new_v4()});
    app.create_wish(&staff, &unknown_team)
        .expect_problem(404, "not-found")
        .await;
    app.wishes(&staff, "status=done")
        .expect_problem(400, "bad-request")
        .await;
    let full = json!({"title": " 书包 ", "beneficiary": FAMILY, "points": 10_000,
                      "due_at": "2026-12-24T10:00:00Z", "description": "blue"});
    let made = app
        .create_wish(&staff, &full)
        .expect_json(StatusCode::CREATED)
        .await;
    assert_eq!(made["title"], "书包");
    assert_eq!(made["due_at"], "2026-12-24T10:00:00Z");
    assert_eq!(made["points"], 10_000);
    let listed = app.wishes(&staff, "").expect_json(StatusCode::OK).await;
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(1));
}

#[actix_web::test]
async fn a_volunteer_pages_through_the_open_wishes_and_their_own_newest_first_each_once() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let [v, other] = app.volunteers().await;
    let mut wishes = Vec::new();
    for _ in 0..5 {
        app.clock.advance(TimeDelta::minutes(1));
        wishes.push(id(&app.open_wish(&staff, 5).await));
    }
    for (who, wish) in [(&v, &wishes[1]), (&other, &wishes[2]), (&v, &wishes[3])] {
        app.adopt_wish(who, wish).expect_json(StatusCode::OK).await;
    }
    let expected = [4, 3, 1, 0].map(|i| wishes[i].clone());

    for limit in [1, 2, 3] {
        let mut walked = Vec::new();
        let mut query = format!("limit={limit}");
        loop {
            let page = app.wishes(&v, &query).expect_json(StatusCode::OK).await;
            walked.extend(each(&page["items"], "id"));
            match page["next_cursor"].as_str() {
                Some(cursor) => query = format!("limit={limit}&cursor={cursor}"),
                None => break,
            }
        }
        assert_eq!(walked, expected, "limit={limit}");
    }
    let adopted = app
        .wishes(&v, "status=adopted")
        .expect_json(StatusCode::OK)
        .await;
    assert_eq!(
        each(&adopted["items"], "id"),
        [wishes[3].clone(), wishes[1].clone()]
    );
}
