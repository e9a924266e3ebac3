//! No lost updates, no stale checks: a write decided on what a request read holds only if what it
//! read still holds when it writes. On PostgreSQL another transaction is committed between a
//! request's read and its write (the test holds the row lock until the request waits for it);
//! SQLite runs one write transaction at a time, so there the same requests simply run
//! concurrently and the outcome must be as good.

use chrono::TimeDelta;
use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

/// Runs `requests` while `held` (a transaction of the test's own, on PostgreSQL) keeps the row they
/// write locked: lets it commit once all of them wait for it, so each read the row before the
/// commit and writes after it. Without `held` (SQLite) they simply run concurrently.
async fn racing<F: std::future::Future<Output = reqwest::Response>>(
    app: &TestApp,
    held: Option<PausedTransaction>,
    requests: Vec<F>,
) -> Vec<reqwest::Response> {
    let waiting = i64::try_from(requests.len()).expect("a few requests");
    let commit = async {
        if let Some(held) = held {
            app.until_lock_waiters(waiting).await;
            held.resume();
            held.finish().expect("the racing transaction commits");
        }
    };
    let (answers, ()) = tokio::join!(join_all(requests), commit);
    answers
}

/// An app with room in its pool for the held transaction, the requests racing it and the look
/// at who waits.
async fn spawn() -> TestApp {
    spawn_app_with(&[("DATABASE_POOL_SIZE", "8")]).await
}

/// `sql` held open on PostgreSQL (see [`racing`]); on SQLite it is simply run first.
fn held(app: &TestApp, sql: String) -> Option<PausedTransaction> {
    if on_postgres() {
        Some(app.paused_statement(sql))
    } else {
        app.plant(&sql);
        None
    }
}

#[actix_web::test]
async fn two_edits_of_different_fields_at_once_both_stay() {
    let app = spawn().await;
    let staff = app.staff().await;
    let activity = app.an_activity(&staff).await;
    let touch = format!("UPDATE activities SET title = title WHERE id = '{activity}'");
    let (title, location) = (
        json!({"title": "River walk"}),
        json!({"location": "North gate"}),
    );
    let answers = racing(
        &app,
        held(&app, touch),
        vec![
            app.edit_activity(&staff, &activity, &title),
            app.edit_activity(&staff, &activity, &location),
        ],
    )
    .await;
    for res in answers {
        assert_eq!(res.status(), StatusCode::OK);
    }
    let now = body(app.activity(&staff, &activity).await).await;
    assert_eq!(now["title"], "River walk");
    assert_eq!(now["location"], "North gate");
}

#[actix_web::test]
async fn an_edit_of_one_time_keeps_the_other_fields_and_is_checked_against_the_stored_other_time() {
    let app = spawn().await;
    let staff = app.staff().await;
    let activity = app.an_activity(&staff).await;
    app.edit_activity(&staff, &activity, &json!({"location": "North gate"}))
        .expect_status(StatusCode::OK)
        .await;
    let later = rfc(base() + TimeDelta::hours(3));
    let edited = app
        .edit_activity(&staff, &activity, &json!({"ends_at": later}))
        .expect_json(StatusCode::OK)
        .await;
    assert_eq!(edited["location"], "North gate");
    assert_eq!(edited["starts_at"], rfc(base()));
    assert_eq!(edited["ends_at"], later);
    // A start sent alone must come before the stored end.
    app.edit_activity(&staff, &activity, &json!({"starts_at": later}))
        .expect_problem(422, "validation-failed")
        .await;
    let edited = app
        .edit_activity(&staff, &activity, &json!({}))
        .expect_json(StatusCode::OK)
        .await;
    assert_eq!(edited["starts_at"], rfc(base()));
}

#[actix_web::test]
async fn a_leaders_edit_racing_a_move_out_of_their_team_is_refused_and_never_moves_it_back() {
    if !on_postgres() {
        return; // One write transaction at a time: the move cannot come between read and write.
    }
    let app = spawn().await;
    let staff = app.staff().await;
    let leader = app.volunteer().await;
    let ours = app.team_with(&staff, &leader, "leader").await;
    let theirs = id(&app
        .create_team(&staff, &json!({"name": "Hillside"}))
        .expect_json(StatusCode::CREATED)
        .await);
    let activity = id(&app.publish(&leader, json!({"team_id": ours})).await);
    let moved = format!("UPDATE activities SET team_id = '{theirs}' WHERE id = '{activity}'");
    let answers = racing(
        &app,
        held(&app, moved),
        vec![app.edit_activity(&leader, &activity, &json!({"title": "Ours now"}))],
    )
    .await;
    for res in answers {
        assert_problem(res, 403, "forbidden").await;
    }
    let now = body(app.activity(&staff, &activity).await).await;
    assert_eq!(now["team_id"], theirs.as_str());
    assert_eq!(now["title"], "Park clean-up");
}

#[actix_web::test]
async fn sign_ups_check_ins_and_recorded_attendance_racing_a_cancel_are_refused_and_leave_nothing()
{
    let app = spawn().await;
    let staff = app.staff().await;
    let [a, b, c] = app.volunteers().await;
    let activity = app.an_activity(&staff).await;
    let code = app.code(&staff, &activity).await;
    let cancel = format!("UPDATE activities SET status = 'cancelled' WHERE id = '{activity}'");
    let answers = racing(
        &app,
        held(&app, cancel),
        vec![
            Box::pin(app.enrol(&a, &activity))
                as std::pin::Pin<Box<dyn std::future::Future<Output = _>>>,
            Box::pin(app.check_in(&b, &activity, &code)),
            Box::pin(app.record_attendance(&staff, &activity, &c, 30)),
        ],
    )
    .await;
    for res in answers {
        assert_problem(res, 409, "activity-cancelled").await;
    }
    let now = body(app.activity(&staff, &activity).await).await;
    assert_eq!(now["enrolled_count"], 0);
    let logs = body(
        app.approval_queue(&staff, &format!("activity_id={activity}"))
            .await,
    )
    .await;
    assert_eq!(logs["items"], json!([]));
    let enrolments = app
        .count("SELECT CAST(COUNT(*) AS BIGINT) AS n FROM enrollments")
        .await;
    assert_eq!(enrolments, 0);
}

#[actix_web::test]
async fn a_cancel_among_many_sign_ups_leaves_exactly_the_places_taken_before_it() {
    let app = spawn().await;
    let staff = app.staff().await;
    let activity = app.an_activity(&staff).await;
    let mut volunteers = Vec::new();
    for _ in 0..12 {
        volunteers.push(app.volunteer().await);
    }
    let sign_ups = join_all(volunteers.iter().map(|v| app.enrol(v, &activity)));
    let (sign_ups, cancelled) = tokio::join!(sign_ups, app.cancel_activity(&staff, &activity));
    assert_eq!(cancelled.status(), StatusCode::OK);
    let cancelled: Value = body(cancelled).await;
    let (taken, refused) = tally(sign_ups, 201, "activity-cancelled").await;
    assert_eq!(taken + refused, volunteers.len());
    let now = body(app.activity(&staff, &activity).await).await;
    // Every place was taken before the cancel (which saw them all), none after it.
    assert_eq!(now["enrolled_count"], cancelled["enrolled_count"]);
    assert_eq!(now["enrolled_count"], taken);
}

#[actix_web::test]
async fn a_desk_reset_racing_a_promotion_to_staff_is_refused_for_staff() {
    if !on_postgres() {
        return; // One write transaction at a time: the promotion cannot come between the two.
    }
    let app = spawn().await;
    let desk = app.staff().await;
    let target = app.volunteer().await;
    let promoted = format!("UPDATE users SET role = 'staff' WHERE id = '{}'", target.id);
    let answers = racing(
        &app,
        held(&app, promoted),
        vec![app.reset_password(&desk, &target.id, "chosen at the desk")],
    )
    .await;
    for res in answers {
        assert_problem(res, 403, "forbidden").await;
    }
    app.login(&target.phone, &target.password)
        .expect_status(StatusCode::OK)
        .await;
}

#[actix_web::test]
async fn check_ins_and_recorded_attendance_racing_a_move_to_another_team_land_in_the_new_team() {
    let app = spawn().await;
    let staff = app.staff().await;
    let [a, b, leader] = app.volunteers().await;
    let north = app.team_named(&staff, "North").await;
    let south = app.team_named(&staff, "South").await;
    app.lead(&staff, &south, &leader).await;
    let activity = app.activity_now(&staff, Some(&north), "River walk").await;
    let code = app.code(&staff, &activity).await;
    // Each request reads the activity in the North and opens its log after the move commits.
    let moved = format!("UPDATE activities SET team_id = '{south}' WHERE id = '{activity}'");
    let answers = racing(
        &app,
        held(&app, moved),
        vec![
            Box::pin(app.check_in(&a, &activity, &code))
                as std::pin::Pin<Box<dyn std::future::Future<Output = _>>>,
            Box::pin(app.record_attendance(&staff, &activity, &b, 30)),
        ],
    )
    .await;
    for res in answers {
        assert_eq!(res.status(), StatusCode::CREATED);
    }
    // The South's leader sees both logs (and the ledger check on drop finds no log whose team
    // is not its activity's).
    let queue = body(app.approval_queue(&leader, "").await).await;
    assert_eq!(queue["items"].as_array().expect("items").len(), 2);
}

#[actix_web::test]
async fn a_membership_set_while_another_request_adds_the_same_one_is_set() {
    let app = spawn().await;
    let staff = app.staff().await;
    let volunteer = app.volunteer().await;
    let team = app.team_named(&staff, "Riverside").await;
    // The other request's membership, not yet committed when this one looks for it.
    let added = held(
        &app,
        format!(
            "INSERT INTO team_members (team_id, volunteer_id, role, created_at) \
             VALUES ('{team}', '{}', 'member', CURRENT_TIMESTAMP)",
            volunteer.id
        ),
    );
    let answers = racing(
        &app,
        added,
        vec![app.set_member(&staff, &team, &volunteer.id, "leader")],
    )
    .await;
    for res in answers {
        assert_eq!(
            body(res).await,
            json!({"team_id": team, "volunteer_id": volunteer.id, "role": "leader"})
        );
    }
    let members = body(app.team_members(&staff, &team).await).await;
    assert_eq!(each(&members["items"], "role"), ["leader"]);
}

#[actix_web::test]
async fn an_import_meeting_someone_created_meanwhile_takes_the_row_as_about_them() {
    let app = spawn().await;
    let admin = app.admin().await;
    let (id, phone) = (uuid::Uuid::new_v4(), "13966660001");
    // Another import's (or a registration's) new person, not yet committed when this import
    // reads the file's phones.
    let person = format!(
        "INSERT INTO users (id, phone, name, role, password_hash, created_at) \
         VALUES ('{id}', '{phone}', '王师傅', 'volunteer', '', CURRENT_TIMESTAMP)"
    );
    let created = if on_postgres() {
        // One statement, both rows: the held transaction runs a single statement.
        let account = "INSERT INTO accounts (id, kind, volunteer_id, created_at) \
                       SELECT id, 'volunteer', id, CURRENT_TIMESTAMP FROM u";
        Some(app.paused_statement(format!("WITH u AS ({person} RETURNING id) {account}")))
    } else {
        app.plant(&person);
        app.plant(&format!(
            "INSERT INTO accounts (id, kind, volunteer_id, created_at) \
             VALUES ('{id}', 'volunteer', '{id}', CURRENT_TIMESTAMP)"
        ));
        None
    };
    let file = format!("phone,name,opening_points\n{phone},王师傅,30\n");
    let answers = racing(
        &app,
        created,
        vec![app.import_volunteers(&admin, file, false)],
    )
    .await;
    for res in answers {
        assert_eq!(res.status(), StatusCode::OK);
        let report = body(res).await;
        assert_eq!(report["created"], 0, "{report}");
        assert_eq!(report["updated"], 1, "{report}");
        assert_eq!(report["opening_points"], 30, "{report}");
        assert_eq!(report["errors"], json!([]), "{report}");
    }
    let balance = body(
        app.get(&format!("/volunteers/{id}/balance"), &admin.token)
            .await,
    )
    .await;
    assert_eq!(balance["balance"], 30, "{balance}");
}
