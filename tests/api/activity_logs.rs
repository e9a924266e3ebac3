//! Activity logs over HTTP: attendance recorded at the desk and the approval queue (approve,
//! reject, reverse, bulk approve).

use chrono::TimeDelta;
use futures_util::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

#[actix_web::test]
async fn twenty_concurrent_approvals_of_one_log_credit_it_once() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let v = app.volunteer().await;
    let (_, log) = app.submitted_log(&staff, &v, json!({}), 45).await;
    let mut approvers = Vec::new();
    for _ in 0..4 {
        approvers.push(app.staff().await);
    }
    let responses = join_all((0..20).map(|i| app.approve(&approvers[i % 4], &log))).await;
    let mut ok = 0;
    for res in responses {
        match res.status().as_u16() {
            200 => ok += 1,
            409 => assert_eq!(body(res).await["code"], "log-not-submitted"),
            other => panic!(
                "unexpected {other}: {}",
                res.text().await.unwrap_or_default()
            ),
        }
    }
    assert_eq!(ok, 1);
    assert_eq!(app.balance(&v).await, 45);
    let balance = app.balance_sheet(&v).await;
    assert_eq!(balance["minutes_served"], 45);
    assert_eq!(balance["pending_points"], 0);
}

#[actix_web::test]
async fn approve_racing_reject_lets_exactly_one_win() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let other = app.staff().await;
    let v = app.volunteer().await;
    let (_, log) = app.submitted_log(&staff, &v, json!({}), 30).await;
    let (approved, rejected) = tokio::join!(
        app.approve(&staff, &log),
        app.reject(&other, &log, "not seen"),
    );
    let (a, r) = (approved.status().as_u16(), rejected.status().as_u16());
    assert!((a, r) == (200, 409) || (a, r) == (409, 200), "{a} {r}");
    let expected = if a == 200 { 30 } else { 0 };
    assert_eq!(app.balance(&v).await, expected);
}

#[actix_web::test]
async fn a_leader_manages_their_own_teams_activities_and_the_leader_of_another_team_is_refused_even_in_a_bulk_approve(
) {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let leader = app.volunteer().await;
    let stranger = app.volunteer().await;
    let (v1, v2) = (app.volunteer().await, app.volunteer().await);
    let ours = app.team_with(&staff, &leader, "leader").await;
    let _theirs = app.team_with(&staff, &stranger, "leader").await;

    // The leader publishes for their team, reads its code and approves its logs.
    app.set_time(base());
    let activity = id(&app.publish(&leader, json!({"team_id": ours})).await);
    let res = app
        .create_activity(
            &leader,
            &json!({"title": "x",
        "starts_at": rfc(base()), "ends_at": rfc(base() + TimeDelta::hours(1)), "fixed_points": 5}),
        )
        .await;
    assert_problem(res, 403, "forbidden").await;
    let c = app.code(&leader, &activity).await;
    for v in [&v1, &v2] {
        app.check_in(v, &activity, &c)
            .expect_status(StatusCode::CREATED)
            .await;
    }
    app.clock.advance(TimeDelta::minutes(20));
    let mut logs = Vec::new();
    for v in [&v1, &v2] {
        logs.push(id(&body(app.check_out(v, &activity).await).await));
    }

    // The other team's leader: no code, no queue, no approval, not even in bulk.
    let res = app.check_in_code(&stranger, &activity).await;
    assert_problem(res, 403, "forbidden").await;
    app.approve(&stranger, &logs[0])
        .expect_problem(403, "forbidden")
        .await;
    // Outside their team a leader is a volunteer: 403 before any rule their body breaks.
    app.approve_with(&stranger, &logs[0], &json!({"points": 99_999}))
        .expect_problem(403, "forbidden")
        .await;
    app.reject(&stranger, &logs[0], "")
        .expect_problem(403, "forbidden")
        .await;
    app.reverse(&stranger, &logs[0], " ")
        .expect_problem(403, "forbidden")
        .await;
    let queue = body(app.approval_queue(&stranger, "status=submitted").await).await;
    assert_eq!(queue["items"].as_array().expect("items").len(), 0);
    let bulk = app
        .bulk_approve(&stranger, &json!(logs))
        .expect_json(StatusCode::OK)
        .await;
    assert_eq!(bulk["approved"].as_array().expect("approved").len(), 0);
    assert_eq!(bulk["failed"][0]["code"], "forbidden");
    assert_eq!(bulk["failed"][1]["code"], "forbidden");
    // A plain volunteer is refused outright.
    let res = app.bulk_approve(&v1, &json!(logs)).await;
    assert_problem(res, 403, "forbidden").await;
    app.approval_queue(&v1, "")
        .expect_problem(403, "forbidden")
        .await;

    // Their own leader sees and approves them.
    let queue = body(app.approval_queue(&leader, "status=submitted").await).await;
    assert_eq!(queue["items"].as_array().expect("items").len(), 2);
    let res = app.bulk_approve(&leader, &json!(logs)).await;
    let bulk = body(res).await;
    assert_eq!(bulk["approved"].as_array().expect("approved").len(), 2);
    assert_eq!(bulk["approved"][0]["reviewed_by"], leader.id);
    assert_eq!(app.balance(&v1).await, 20);
    assert_eq!(app.balance(&v2).await, 20);
}

#[actix_web::test]
async fn nobody_approves_their_own_log_and_the_recorder_does_not_approve_what_they_recorded() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let other = app.staff().await;
    let v = app.volunteer().await;
    // Staff serving themselves.
    let (activity, own) = app.submitted_log(&other, &staff, json!({}), 30).await;
    app.approve(&staff, &own)
        .expect_problem(403, "self-approval")
        .await;
    let res = app.reject(&staff, &own, "x").await;
    assert_problem(res, 403, "self-approval").await;

    // Attendance recorded at the desk.
    let res = app.record_attendance(&staff, &activity, &v, 121).await;
    assert_problem(res, 422, "validation-failed").await;
    let recorded = app.record_attendance_with(&staff, &json!({"activity_id": activity, "volunteer_id": v.id, "minutes": 50, "note": "no phone"}))
        .expect_json(StatusCode::CREATED).await;
    assert_eq!(recorded["source"], "staff");
    assert_eq!(recorded["status"], "submitted");
    assert_eq!(recorded["recorded_by"], staff.id);
    assert_eq!(recorded["points_proposed"], 50);
    let log = id(&recorded);
    app.approve(&staff, &log)
        .expect_problem(403, "self-approval")
        .await;
    let res = app.approve(&other, &log).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(app.balance(&v).await, 50);
    // Reversing one's own log is refused too.
    app.approve(&other, &own)
        .expect_status(StatusCode::OK)
        .await;
    let res = app.reverse(&staff, &own, "x").await;
    assert_problem(res, 403, "self-approval").await;
    assert_eq!(app.balance(&staff).await, 30);
}

#[actix_web::test]
async fn approving_other_points_needs_a_note_and_zero_points_record_the_hours_without_a_transaction(
) {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let v = app.volunteer().await;
    let (_, log) = app.submitted_log(&staff, &v, json!({}), 40).await;
    let approver = app.staff().await;
    let res = app
        .approve_with(&approver, &log, &json!({"points": 10}))
        .await;
    assert_problem(res, 422, "validation-failed").await;
    let res = app
        .approve_with(&approver, &log, &json!({"points": 10001, "note": "x"}))
        .await;
    assert_problem(res, 422, "validation-failed").await;
    let approved = app
        .approve_with(&approver, &log, &json!({"points": 0, "note": "left early"}))
        .expect_json(StatusCode::OK)
        .await;
    assert_eq!(approved["status"], "approved");
    assert_eq!(approved["points_awarded"], 0);
    assert_eq!(approved["transaction_id"], Value::Null);
    assert_eq!(approved["review_note"], "left early");
    assert_eq!(app.balance(&v).await, 0);
    let balance = app.balance_sheet(&v).await;
    assert_eq!(balance["minutes_served"], 40);

    let v2 = app.volunteer().await;
    let (_, log2) = app.submitted_log(&staff, &v2, json!({}), 40).await;
    let res = app
        .approve_with(
            &approver,
            &log2,
            &json!({"points": 55, "note": "stayed to tidy"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body(res).await["points_awarded"], 55);
    assert_eq!(app.balance(&v2).await, 55);
}

#[actix_web::test]
async fn reversal_takes_the_points_back_but_after_spending_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let admin = app.admin().await;
    let v = app.volunteer().await;
    let (_, log) = app.submitted_log(&admin, &v, json!({}), 60).await;
    app.approve(&staff, &log)
        .expect_status(StatusCode::OK)
        .await;
    assert_eq!(app.balance(&v).await, 60);
    // Spend 50 of them.
    let res = app
        .adjust(
            &admin,
            "spend-1",
            &json!({"volunteer_id": v.id, "amount": -50, "reason": "spent"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = app.reverse(&staff, &log, "no-show").await;
    assert_problem(res, 409, "insufficient-points").await;
    assert_eq!(app.balance(&v).await, 10);
    let mine = body(app.my_logs(&v, "").await).await;
    assert_eq!(mine["items"][0]["status"], "approved");
    assert_eq!(mine["items"][0]["reversed_by"], Value::Null);
    app.assert_ledger_ok();

    // Given the points back, the reversal goes through.
    app.grant(&admin, &v.id, 50).await;
    let reversed = app
        .reverse(&staff, &log, "no-show")
        .expect_json(StatusCode::OK)
        .await;
    assert_eq!(reversed["status"], "reversed");
    assert_eq!(reversed["reversed_by"], staff.id);
    assert_eq!(reversed["reversal_reason"], "no-show");
    assert!(reversed["reversal_transaction_id"].is_string());
    assert!(reversed["transaction_id"].is_string());
    assert_eq!(app.balance(&v).await, 0);
    let res = app.reverse(&staff, &log, "again").await;
    assert_problem(res, 409, "log-not-approved").await;
}

#[actix_web::test]
async fn reversing_a_log_that_is_not_approved_is_refused() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let v = app.volunteer().await;
    let (_, log) = app.submitted_log(&staff, &v, json!({}), 30).await;
    let reviewer = app.staff().await;
    app.reverse(&reviewer, &log, "x")
        .expect_problem(409, "log-not-approved")
        .await;
    let res = app.reject(&reviewer, &log, "not seen").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body(res).await["status"], "rejected");
    app.reverse(&reviewer, &log, "x")
        .expect_problem(409, "log-not-approved")
        .await;
    app.approve(&reviewer, &log)
        .expect_problem(409, "log-not-submitted")
        .await;
    assert_eq!(app.balance(&v).await, 0);
}

#[actix_web::test]
async fn bulk_approve_approves_the_good_ids_and_reports_unknown_and_already_approved_ones() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let reviewer = app.staff().await;
    let [a, b, c] = app.volunteers().await;
    let (_, la) = app.submitted_log(&staff, &a, json!({}), 10).await;
    let (_, lb) = app.submitted_log(&staff, &b, json!({}), 20).await;
    let (_, lc) = app.submitted_log(&staff, &c, json!({}), 30).await;
    app.approve(&reviewer, &lb)
        .expect_status(StatusCode::OK)
        .await;
    let unknown = uuid::Uuid::new_v4().to_string();
    let bulk = app
        .bulk_approve(&reviewer, &json!([la, unknown, lb, "not-a-uuid", lc]))
        .expect_json(StatusCode::OK)
        .await;
    let approved = each(&bulk["approved"], "id");
    assert_eq!(approved, [la.as_str(), lc.as_str()]);
    let failed: Vec<(&str, &str)> = bulk["failed"]
        .as_array()
        .expect("failed")
        .iter()
        .map(|f| {
            (
                f["id"].as_str().expect("id"),
                f["code"].as_str().expect("code"),
            )
        })
        .collect();
    assert_eq!(
        failed,
        [
            (unknown.as_str(), "not-found"),
            (lb.as_str(), "log-not-submitted"),
            ("not-a-uuid", "not-found")
        ]
    );
    assert_eq!(app.balance(&a).await, 10);
    assert_eq!(app.balance(&b).await, 20);
    assert_eq!(app.balance(&c).await, 30);
    let res = app.bulk_approve(&reviewer, &json!([])).await;
    assert_problem(res, 422, "validation-failed").await;
}

#[actix_web::test]
async fn an_approval_retried_with_its_idempotency_key_is_replayed_and_credits_once() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let reviewer = app.staff().await;
    let v = app.volunteer().await;
    let (_, log) = app.submitted_log(&staff, &v, json!({}), 25).await;
    let path = format!("/activity-logs/{log}/approve");
    let first = app
        .post_keyed(&path, &reviewer.token, "approve-1", &json!({}))
        .await;
    assert_eq!(first.status(), StatusCode::OK);
    let first = first.text().await.expect("a body");
    let again = app
        .post_keyed(&path, &reviewer.token, "approve-1", &json!({}))
        .await;
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(replayed(&again), Some("true"));
    assert_eq!(again.text().await.expect("a body"), first);
    assert_eq!(app.balance(&v).await, 25);
}

#[actix_web::test]
async fn a_volunteer_is_refused_with_403_before_any_problem_with_their_body_or_query() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let leader = app.volunteer().await;
    let volunteer = app.volunteer().await;
    app.team_with(&staff, &leader, "leader").await;
    let activity = app.an_activity(&staff).await;
    let log = uuid::Uuid::new_v4();

    // Bodies of the wrong shape: the volunteer's role never allows these actions (403), while a
    // leader, whose role does, hears about the body (400).
    let wrong = json!({"title": 5, "minutes": "many", "reason": 5, "points": "x", "ids": 1});
    for (method, path) in [
        (Method::POST, "/activities".to_owned()),
        (Method::PATCH, format!("/activities/{activity}")),
        (Method::POST, "/activity-logs".to_owned()),
        (Method::POST, format!("/activity-logs/{log}/approve")),
        (Method::POST, format!("/activity-logs/{log}/reject")),
        (Method::POST, format!("/activity-logs/{log}/reverse")),
        (Method::POST, "/activity-logs/bulk-approve".to_owned()),
    ] {
        let res = app
            .request(method.clone(), &path, Some(&volunteer.token), Some(&wrong))
            .await;
        assert_problem(res, 403, "forbidden").await;
        let res = app
            .request(method, &path, Some(&leader.token), Some(&wrong))
            .await;
        assert_problem(res, 400, "bad-request").await;
    }
    let path = format!("/activities/{activity}/cancel");
    let res = app
        .send_json_text(Method::POST, &path, &volunteer.token, "{not json")
        .await;
    assert_problem(res, 403, "forbidden").await;

    // The approval queue: 403 before a bad limit or status; staff hear about those.
    for query in ["limit=0", "status=lost"] {
        app.approval_queue(&volunteer, query)
            .expect_problem(403, "forbidden")
            .await;
    }
    app.approval_queue(&staff, "limit=0")
        .expect_problem(422, "validation-failed")
        .await;
    app.approval_queue(&staff, "status=lost")
        .expect_problem(400, "bad-request")
        .await;
}

#[actix_web::test]
async fn bulk_approval_and_a_concurrent_single_review_of_the_same_volunteer_do_not_deadlock() {
    // SQLite runs one write transaction at a time: row locks interleave on PostgreSQL only.
    if !on_postgres() {
        return;
    }
    let app = spawn_app().await;
    let staff = app.staff().await;
    let approver = app.staff().await;
    let v = app.volunteer().await;
    let (_, first) = app.submitted_log(&staff, &v, json!({}), 30).await;
    let (_, second) = app.submitted_log(&staff, &v, json!({}), 40).await;
    let (low, high) = if first < second {
        (first, second)
    } else {
        (second, first)
    };

    // A single review of `high` (approve and reverse lock the log, then the account), paused
    // between its two locks.
    let single = app.paused_transaction(
        (
            "UPDATE activity_logs SET note = note WHERE id = $1",
            high.clone(),
        ),
        (
            "UPDATE accounts SET balance = balance WHERE id = $1",
            v.id.clone(),
        ),
    );

    let ids = json!([low, high]);
    let bulk = app.bulk_approve(&approver, &ids);
    let resume = async {
        for _ in 0..500 {
            if app.lock_waiters().await > 0 {
                break;
            }
            actix_web::rt::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        single.resume();
    };
    let (res, ()) = tokio::join!(bulk, resume);
    let single = single.finish();
    assert!(single.is_ok(), "the single review failed: {single:?}");
    assert_eq!(res.status(), StatusCode::OK);
    let result = body(res).await;
    assert_eq!(result["failed"], json!([]));
    assert_eq!(result["approved"].as_array().map(Vec::len), Some(2));
    assert_eq!(app.balance(&v).await, 70);
}

#[actix_web::test]
async fn eleven_hours_at_a_thousand_an_hour_propose_eleven_thousand_and_approve_in_bulk() {
    let app = spawn_app().await;
    let (recorder, approver) = (app.staff().await, app.staff().await);
    let (long, short) = (app.volunteer().await, app.volunteer().await);
    app.set_time(base());
    let rich = json!({"points_per_hour": 1_000, "ends_at": rfc(base() + TimeDelta::hours(11))});
    let activity = id(&app.publish(&recorder, rich).await);
    let mut logs = Vec::new();
    for (who, minutes) in [(&long, 660), (&short, 60)] {
        let log = app
            .record_attendance(&recorder, &activity, who, minutes)
            .expect_json(StatusCode::CREATED)
            .await;
        logs.push(log);
    }
    // API.md's formula, uncapped: the approve body's 0–10,000 bounds only a `points` it names.
    assert_eq!(logs[0]["points_proposed"], 11_000);
    assert_eq!(logs[1]["points_proposed"], 1_000);
    let answer = app
        .bulk_approve(&approver, &json!([id(&logs[0]), id(&logs[1])]))
        .expect_json(StatusCode::OK)
        .await;
    assert_eq!(answer["approved"].as_array().map(Vec::len), Some(2));
    assert_eq!(answer["failed"], json!([]));
    assert_eq!(app.balance(&long).await, 11_000);
    assert_eq!(app.balance(&short).await, 1_000);
}

#[actix_web::test]
async fn the_hours_in_the_balance_follow_every_move_of_a_log_and_verify_names_a_drift() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let v = app.volunteer().await;
    let hours = |sheet: &Value| {
        (
            sheet["minutes_served"].clone(),
            sheet["pending_points"].clone(),
        )
    };

    let (_, first) = app.submitted_log(&staff, &v, json!({}), 30).await;
    assert_eq!(hours(&app.balance_sheet(&v).await), (json!(0), json!(30)));
    app.approve(&staff, &first)
        .expect_json(StatusCode::OK)
        .await;
    assert_eq!(hours(&app.balance_sheet(&v).await), (json!(30), json!(0)));

    let (_, second) = app.submitted_log(&staff, &v, json!({}), 45).await;
    assert_eq!(hours(&app.balance_sheet(&v).await), (json!(30), json!(45)));
    app.reject(&staff, &second, "not there")
        .expect_json(StatusCode::OK)
        .await;
    assert_eq!(hours(&app.balance_sheet(&v).await), (json!(30), json!(0)));

    app.reverse(&staff, &first, "entered twice")
        .expect_json(StatusCode::OK)
        .await;
    assert_eq!(hours(&app.balance_sheet(&v).await), (json!(0), json!(0)));
    app.assert_ledger_ok();

    app.expect_broken_ledger();
    app.plant(&format!(
        "UPDATE accounts SET minutes_served = 7 WHERE volunteer_id = '{}'",
        v.id
    ));
    let problems = app.verify_rule("hours");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].0, format!("account:{}", v.id));
    assert!(problems[0].1.contains("7/0"), "{}", problems[0].1);
}

#[actix_web::test]
async fn a_leaders_queue_follows_an_activity_moved_to_another_team_and_verify_names_a_log_left_behind(
) {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let (first, second) = (app.volunteer().await, app.volunteer().await);
    let v = app.volunteer().await;
    let (ours, theirs) = (
        app.team_named(&staff, "North").await,
        app.team_named(&staff, "South").await,
    );
    app.lead(&staff, &ours, &first).await;
    app.lead(&staff, &theirs, &second).await;
    let queue_ids = |queue: Value| -> Vec<String> {
        queue["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(id)
            .collect()
    };

    let (activity, log) = app
        .submitted_log(&staff, &v, json!({"team_id": ours}), 30)
        .await;
    for status in ["", "status=submitted"] {
        let mine = app
            .approval_queue(&first, status)
            .expect_json(StatusCode::OK);
        assert_eq!(queue_ids(mine.await), vec![log.clone()]);
        let other = app
            .approval_queue(&second, status)
            .expect_json(StatusCode::OK);
        assert!(queue_ids(other.await).is_empty());
    }

    // Staff move the activity, with its submitted log, to the other team.
    app.edit_activity(&staff, &activity, &json!({"team_id": theirs}))
        .expect_json(StatusCode::OK)
        .await;
    for status in ["", "status=submitted"] {
        let mine = app
            .approval_queue(&first, status)
            .expect_json(StatusCode::OK);
        assert!(queue_ids(mine.await).is_empty());
        let other = app
            .approval_queue(&second, status)
            .expect_json(StatusCode::OK);
        assert_eq!(queue_ids(other.await), vec![log.clone()]);
    }
    app.approve(&first, &log)
        .expect_problem(403, "forbidden")
        .await;
    app.approve(&second, &log).expect_json(StatusCode::OK).await;
    app.assert_ledger_ok();

    app.expect_broken_ledger();
    app.plant(&format!(
        "UPDATE activity_logs SET team_id = '{ours}' WHERE id = '{log}'"
    ));
    let problems = app.verify_rule("log-team");
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].0, format!("activity_log:{log}"));
}
