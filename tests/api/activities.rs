//! Activities, check-in and the approval queue, over HTTP.

use chrono::{DateTime, TimeDelta, Utc};
use futures_util::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

/// A fixed start for the manual clock: tests move it by hand.
pub fn base() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-12-01T09:00:10Z")
        .expect("a time")
        .with_timezone(&Utc)
}

pub fn rfc(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Publishes an activity from `base()` to two hours later at 60 points an hour, with `extra`
/// fields on top; returns it.
pub async fn publish(app: &TestApp, token: &str, extra: Value) -> Value {
    let mut input = json!({
        "title": "Park clean-up",
        "starts_at": rfc(base()),
        "ends_at": rfc(base() + TimeDelta::hours(2)),
        "points_per_hour": 60,
    });
    if let (Some(into), Some(from)) = (input.as_object_mut(), extra.as_object()) {
        for (k, v) in from {
            into.insert(k.clone(), v.clone());
        }
    }
    let res = app.post("/activities", token, &input).await;
    assert_eq!(
        res.status(),
        StatusCode::CREATED,
        "publish: {}",
        res.text().await.unwrap_or_default()
    );
    body(res).await
}

pub fn id(v: &Value) -> String {
    v["id"].as_str().expect("an id").to_owned()
}

/// The current check-in code, as staff or a leader reads it.
pub async fn code(app: &TestApp, token: &str, activity: &str) -> String {
    let res = app
        .get(&format!("/activities/{activity}/check-in-code"), token)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    body(res).await["code"].as_str().expect("code").to_owned()
}

pub async fn check_in(app: &TestApp, token: &str, activity: &str, code: &str) -> reqwest::Response {
    app.post(
        &format!("/activities/{activity}/check-in"),
        token,
        &json!({"code": code}),
    )
    .await
}

pub async fn check_out(app: &TestApp, token: &str, activity: &str) -> reqwest::Response {
    app.post(
        &format!("/activities/{activity}/check-out"),
        token,
        &json!({}),
    )
    .await
}

/// A submitted log of `volunteer` at a fresh activity of `manager`, checked in at the start and
/// out `minutes` later (60 points an hour, so `minutes` points proposed).
pub async fn submitted_log(
    app: &TestApp,
    manager: &TestUser,
    volunteer: &TestUser,
    extra: Value,
    minutes: i64,
) -> (String, String) {
    app.set_time(base());
    let activity = id(&publish(app, &manager.token, extra).await);
    let c = code(app, &manager.token, &activity).await;
    let res = check_in(app, &volunteer.token, &activity, &c).await;
    assert_eq!(
        res.status(),
        StatusCode::CREATED,
        "check in: {}",
        res.text().await.unwrap_or_default()
    );
    app.clock.advance(TimeDelta::minutes(minutes));
    let res = check_out(app, &volunteer.token, &activity).await;
    assert_eq!(res.status(), StatusCode::OK, "check out");
    let log = body(res).await;
    assert_eq!(log["status"], "submitted");
    assert_eq!(log["points_proposed"], minutes);
    (activity, id(&log))
}

pub async fn approve(app: &TestApp, token: &str, log: &str, body: Value) -> reqwest::Response {
    app.post(&format!("/activity-logs/{log}/approve"), token, &body)
        .await
}

/// Makes `who` a `role` of a new team; returns the team id.
pub async fn team_with(app: &TestApp, staff: &TestUser, who: &TestUser, role: &str) -> String {
    let res = app
        .post("/teams", &staff.token, &json!({"name": "Riverside"}))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let team = id(&body(res).await);
    let res = app
        .put(
            &format!("/teams/{team}/members/{}", who.id),
            &staff.token,
            &json!({"role": role}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    team
}

#[actix_web::test]
async fn an_activity_needs_exactly_one_points_rule_and_sane_times() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let start = base();
    for bad in [
        json!({"title": "x", "starts_at": rfc(start), "ends_at": rfc(start + TimeDelta::hours(1))}),
        json!({"title": "x", "starts_at": rfc(start), "ends_at": rfc(start + TimeDelta::hours(1)),
               "points_per_hour": 10, "fixed_points": 10}),
        json!({"title": "x", "starts_at": rfc(start), "ends_at": rfc(start), "fixed_points": 10}),
        json!({"title": "x", "starts_at": rfc(start), "ends_at": rfc(start + TimeDelta::days(8)),
               "fixed_points": 10}),
        json!({"title": "x", "starts_at": rfc(start), "ends_at": rfc(start + TimeDelta::hours(1)),
               "fixed_points": 10, "capacity": 0}),
        json!({"title": "x", "starts_at": rfc(start), "ends_at": rfc(start + TimeDelta::hours(1)),
               "fixed_points": 10, "geofence": {"lat": 31.2, "lng": 121.5, "radius_m": 5}}),
        json!({"title": " ", "starts_at": rfc(start), "ends_at": rfc(start + TimeDelta::hours(1)),
               "fixed_points": 10}),
    ] {
        let res = app.post("/activities", &staff.token, &bad).await;
        assert_problem(res, 422, "validation-failed").await;
    }
    let volunteer = app.volunteer().await;
    let res = app
        .post(
            "/activities",
            &volunteer.token,
            &json!({"title": "x", "starts_at": rfc(start),
                    "ends_at": rfc(start + TimeDelta::hours(1)), "fixed_points": 10}),
        )
        .await;
    assert_problem(res, 403, "forbidden").await;
}

#[actix_web::test]
async fn activities_are_listed_by_overlap_soonest_first_with_the_callers_enrolment_and_edited_but_not_their_points(
) {
    let app = spawn_app().await;
    app.set_time(base());
    let staff = app.staff().await;
    let v = app.volunteer().await;
    let later = publish(&app, &staff.token, json!({"title": "Later",
        "starts_at": rfc(base() + TimeDelta::hours(5)), "ends_at": rfc(base() + TimeDelta::hours(6))})).await;
    let sooner = publish(&app, &staff.token, json!({"title": "Sooner"})).await;
    let _past = publish(&app, &staff.token, json!({"title": "Past",
        "starts_at": rfc(base() - TimeDelta::hours(5)), "ends_at": rfc(base() - TimeDelta::hours(4))})).await;
    let res = app
        .post(
            &format!("/activities/{}/enrollment", id(&later)),
            &v.token,
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);

    let page = body(app.get("/activities", &v.token).await).await;
    let titles: Vec<&str> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|a| a["title"].as_str().expect("title"))
        .collect();
    assert_eq!(titles, ["Sooner", "Later"]);
    assert_eq!(page["items"][0]["enrolled"], false);
    assert_eq!(page["items"][1]["enrolled"], true);
    assert_eq!(page["items"][1]["enrolled_count"], 1);

    // A page of one, then the next by cursor.
    let first = body(app.get("/activities?limit=1", &v.token).await).await;
    let cursor = first["next_cursor"].as_str().expect("a cursor").to_owned();
    let second = body(
        app.get(&format!("/activities?limit=1&cursor={cursor}"), &v.token)
            .await,
    )
    .await;
    assert_eq!(second["items"][0]["title"], "Later");
    assert_eq!(second["next_cursor"], Value::Null);

    // A window [from, to) that only the later one overlaps.
    let from = rfc(base() + TimeDelta::hours(3)).replace('+', "%2B");
    let to = rfc(base() + TimeDelta::hours(10));
    let page = body(
        app.get(&format!("/activities?from={from}&to={to}"), &v.token)
            .await,
    )
    .await;
    assert_eq!(page["items"].as_array().expect("items").len(), 1);

    let res = app
        .request(Method::PATCH, &format!("/activities/{}", id(&sooner)), Some(&staff.token),
            Some(&json!({"title": "Sooner, renamed", "capacity": 5, "points_per_hour": 999, "fixed_points": 3})))
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let edited = body(res).await;
    assert_eq!(edited["title"], "Sooner, renamed");
    assert_eq!(edited["capacity"], 5);
    assert_eq!(edited["points_per_hour"], 60);
    assert_eq!(edited["fixed_points"], Value::Null);
    let res = app
        .request(
            Method::PATCH,
            &format!("/activities/{}", id(&sooner)),
            Some(&v.token),
            Some(&json!({"title": "mine now"})),
        )
        .await;
    assert_problem(res, 403, "forbidden").await;
    let res = app
        .request(
            Method::PUT,
            &format!("/activities/{}", id(&sooner)),
            Some(&staff.token),
            Some(&json!({})),
        )
        .await;
    assert_eq!(res.status(), StatusCode::METHOD_NOT_ALLOWED);
}

#[actix_web::test]
async fn the_check_in_code_changes_every_minute_and_the_previous_minutes_code_still_works_but_not_an_older_one(
) {
    let app = spawn_app().await;
    app.set_time(base());
    let staff = app.staff().await;
    let (a, b) = (app.volunteer().await, app.volunteer().await);
    let activity = id(&publish(&app, &staff.token, json!({})).await);

    let res = app
        .get(
            &format!("/activities/{activity}/check-in-code"),
            &staff.token,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let shown = body(res).await;
    let first = shown["code"].as_str().expect("code").to_owned();
    assert_eq!(first.len(), 6);
    assert!(first.chars().all(|c| c.is_ascii_digit()));
    assert_eq!(shown["valid_until"], "2026-12-01T09:01:00Z");
    assert_eq!(
        shown["qr_payload"],
        format!("vp-checkin:{activity}:{first}")
    );

    let res = app
        .get(
            &format!("/activities/{activity}/check-in-code.svg"),
            &staff.token,
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "image/svg+xml");
    assert!(res.text().await.expect("svg").contains("<svg"));

    app.clock.advance(TimeDelta::seconds(60));
    let second = code(&app, &staff.token, &activity).await;
    assert_ne!(first, second, "the code rotates");
    // The previous minute's code still works...
    let res = check_in(&app, &a.token, &activity, &first).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let log = body(res).await;
    assert_eq!(log["status"], "checked_in");
    assert_eq!(log["source"], "self");
    assert_eq!(log["recorded_by"], Value::Null);
    // ...but one two minutes old does not.
    app.clock.advance(TimeDelta::seconds(60));
    let res = check_in(&app, &b.token, &activity, &first).await;
    assert_problem(res, 422, "invalid-check-in-code").await;

    let volunteer = app.volunteer().await;
    let res = app
        .get(
            &format!("/activities/{activity}/check-in-code"),
            &volunteer.token,
        )
        .await;
    assert_problem(res, 403, "forbidden").await;
}

#[actix_web::test]
async fn wrong_codes_are_refused_and_after_five_in_ten_minutes_the_volunteer_is_rate_limited() {
    let app = spawn_app().await;
    app.set_time(base());
    let staff = app.staff().await;
    let v = app.volunteer().await;
    let activity = id(&publish(&app, &staff.token, json!({})).await);
    let right = code(&app, &staff.token, &activity).await;
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    for _ in 0..5 {
        let res = check_in(&app, &v.token, &activity, wrong).await;
        assert_problem(res, 422, "invalid-check-in-code").await;
    }
    let res = check_in(&app, &v.token, &activity, &right).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key("retry-after"));
    assert_problem(res, 429, "rate-limited").await;
    // Someone else is not held back.
    let other = app.volunteer().await;
    let res = check_in(&app, &other.token, &activity, &right).await;
    assert_eq!(res.status(), StatusCode::CREATED);
}

#[actix_web::test]
async fn check_in_is_refused_before_and_after_its_window() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let v = app.volunteer().await;
    app.set_time(base());
    let activity = id(&publish(&app, &staff.token, json!({})).await);

    app.set_time(base() - TimeDelta::minutes(31));
    let c = code(&app, &staff.token, &activity).await;
    assert_problem(
        check_in(&app, &v.token, &activity, &c).await,
        409,
        "outside-check-in-window",
    )
    .await;

    app.set_time(base() + TimeDelta::hours(2) + TimeDelta::minutes(1));
    let c = code(&app, &staff.token, &activity).await;
    assert_problem(
        check_in(&app, &v.token, &activity, &c).await,
        409,
        "outside-check-in-window",
    )
    .await;

    app.set_time(base() - TimeDelta::minutes(29));
    let c = code(&app, &staff.token, &activity).await;
    assert_eq!(
        check_in(&app, &v.token, &activity, &c).await.status(),
        StatusCode::CREATED
    );
}

#[actix_web::test]
async fn a_cancelled_activity_refuses_check_in_recorded_attendance_and_a_second_cancel() {
    let app = spawn_app().await;
    app.set_time(base());
    let staff = app.staff().await;
    let v = app.volunteer().await;
    let activity = id(&publish(&app, &staff.token, json!({})).await);
    let c = code(&app, &staff.token, &activity).await;
    let res = app
        .post(
            &format!("/activities/{activity}/cancel"),
            &v.token,
            &json!({}),
        )
        .await;
    assert_problem(res, 403, "forbidden").await;
    let res = app
        .post(
            &format!("/activities/{activity}/cancel"),
            &staff.token,
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body(res).await["status"], "cancelled");
    assert_problem(
        check_in(&app, &v.token, &activity, &c).await,
        409,
        "activity-cancelled",
    )
    .await;
    // Nor may staff record attendance on it for someone without the app.
    let res = app
        .post(
            "/activity-logs",
            &staff.token,
            &json!({"activity_id": activity, "volunteer_id": v.id, "minutes": 30}),
        )
        .await;
    assert_problem(res, 409, "activity-cancelled").await;
    let res = app
        .post(
            &format!("/activities/{activity}/cancel"),
            &staff.token,
            &json!({}),
        )
        .await;
    assert_problem(res, 409, "activity-cancelled").await;
    let res = app
        .post(
            &format!("/activities/{activity}/enrollment"),
            &v.token,
            &json!({}),
        )
        .await;
    assert_problem(res, 409, "activity-cancelled").await;
}

#[actix_web::test]
async fn with_a_geofence_check_in_needs_a_location_inside_the_radius_and_keeps_the_distance() {
    let app = spawn_app().await;
    app.set_time(base());
    let staff = app.staff().await;
    let v = app.volunteer().await;
    let activity = id(&publish(
        &app,
        &staff.token,
        json!({"geofence": {"lat": 31.2304, "lng": 121.4737, "radius_m": 100}}),
    )
    .await);
    let c = code(&app, &staff.token, &activity).await;
    let path = format!("/activities/{activity}/check-in");
    let res = app.post(&path, &v.token, &json!({"code": c})).await;
    assert_problem(res, 422, "outside-geofence").await;
    // About 1.1 km north.
    let far = json!({"code": c, "location": {"lat": 31.2404, "lng": 121.4737, "accuracy_m": 5.0}});
    assert_problem(
        app.post(&path, &v.token, &far).await,
        422,
        "outside-geofence",
    )
    .await;
    // About 55 m north.
    let near = json!({"code": c, "location": {"lat": 31.2309, "lng": 121.4737, "accuracy_m": 5.0}});
    let res = app.post(&path, &v.token, &near).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let log = body(res).await;
    let d = log["check_in_distance_m"].as_f64().expect("a distance");
    assert!((50.0..62.0).contains(&d), "{d}");
    assert_eq!(log["check_in_location"]["lat"], 31.2309);
}

#[actix_web::test]
async fn check_out_without_check_in_is_refused_and_a_second_check_in_too() {
    let app = spawn_app().await;
    app.set_time(base());
    let staff = app.staff().await;
    let v = app.volunteer().await;
    let activity = id(&publish(&app, &staff.token, json!({})).await);
    assert_problem(
        check_out(&app, &v.token, &activity).await,
        409,
        "not-checked-in",
    )
    .await;
    let c = code(&app, &staff.token, &activity).await;
    assert_eq!(
        check_in(&app, &v.token, &activity, &c).await.status(),
        StatusCode::CREATED
    );
    assert_problem(
        check_in(&app, &v.token, &activity, &c).await,
        409,
        "already-checked-in",
    )
    .await;
    // Nor may staff record a second log for them.
    let res = app
        .post(
            "/activity-logs",
            &staff.token,
            &json!({"activity_id": activity, "volunteer_id": v.id, "minutes": 30}),
        )
        .await;
    assert_problem(res, 409, "already-checked-in").await;
    app.clock.advance(TimeDelta::minutes(10));
    assert_eq!(
        check_out(&app, &v.token, &activity).await.status(),
        StatusCode::OK
    );
    assert_problem(
        check_out(&app, &v.token, &activity).await,
        409,
        "not-checked-in",
    )
    .await;
    let c = code(&app, &staff.token, &activity).await;
    assert_problem(
        check_in(&app, &v.token, &activity, &c).await,
        409,
        "already-checked-in",
    )
    .await;
}

#[actix_web::test]
async fn check_out_counts_whole_minutes_inside_the_activity_on_the_server_clock() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let v = app.volunteer().await;
    app.set_time(base());
    let activity = id(&publish(&app, &staff.token, json!({"points_per_hour": 10})).await);
    // In 20 minutes early; the minutes count from the start.
    app.set_time(base() - TimeDelta::minutes(20));
    let c = code(&app, &staff.token, &activity).await;
    assert_eq!(
        check_in(&app, &v.token, &activity, &c).await.status(),
        StatusCode::CREATED
    );
    let open = body(
        app.get("/me/activity-logs?status=checked_in", &v.token)
            .await,
    )
    .await;
    assert_eq!(open["items"].as_array().expect("items").len(), 1);
    app.set_time(base() + TimeDelta::minutes(90) + TimeDelta::seconds(59));
    let res = app
        .post(
            &format!("/activities/{activity}/check-out"),
            &v.token,
            &json!({"location": {"lat": 1.0, "lng": 2.0}}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let log = body(res).await;
    assert_eq!(log["minutes"], 90);
    assert_eq!(log["points_proposed"], 15);
    assert_eq!(log["check_out_location"]["lng"], 2.0);
    let balance = body(app.get("/me/balance", &v.token).await).await;
    assert_eq!(balance["pending_points"], 15);
    assert_eq!(balance["minutes_served"], 0);
    let submitted = body(
        app.get("/me/activity-logs?status=submitted", &v.token)
            .await,
    )
    .await;
    assert_eq!(submitted["items"][0]["id"], log["id"]);
}

#[actix_web::test]
async fn eight_concurrent_sign_ups_for_two_places_give_exactly_two_enrolments() {
    let app = spawn_app().await;
    app.set_time(base());
    let staff = app.staff().await;
    let activity = id(&publish(&app, &staff.token, json!({"capacity": 2})).await);
    let mut volunteers = Vec::new();
    for _ in 0..8 {
        volunteers.push(app.volunteer().await);
    }
    let path = format!("/activities/{activity}/enrollment");
    let empty = json!({});
    let responses = join_all(volunteers.iter().map(|v| app.post(&path, &v.token, &empty))).await;
    let mut created = 0;
    for res in responses {
        match res.status().as_u16() {
            201 => created += 1,
            409 => assert_eq!(body(res).await["code"], "activity-full"),
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(created, 2);
    let a = body(
        app.get(&format!("/activities/{activity}"), &staff.token)
            .await,
    )
    .await;
    assert_eq!(a["enrolled_count"], 2);
}

#[actix_web::test]
async fn enrolment_is_once_open_until_the_end_and_its_cancellation_frees_the_place() {
    let app = spawn_app().await;
    app.set_time(base());
    let staff = app.staff().await;
    let (a, b) = (app.volunteer().await, app.volunteer().await);
    let activity = id(&publish(&app, &staff.token, json!({"capacity": 1})).await);
    let path = format!("/activities/{activity}/enrollment");
    let res = app.post(&path, &a.token, &json!({})).await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let e = body(res).await;
    assert_eq!(e["volunteer_id"], a.id);
    assert_problem(
        app.post(&path, &a.token, &json!({})).await,
        409,
        "already-enrolled",
    )
    .await;
    assert_problem(
        app.post(&path, &b.token, &json!({})).await,
        409,
        "activity-full",
    )
    .await;
    let res = app
        .request(Method::DELETE, &path, Some(&a.token), None)
        .await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    app.set_time(base() + TimeDelta::hours(2));
    assert_problem(
        app.post(&path, &b.token, &json!({})).await,
        409,
        "activity-ended",
    )
    .await;
    app.set_time(base() + TimeDelta::minutes(119));
    assert_eq!(
        app.post(&path, &b.token, &json!({})).await.status(),
        StatusCode::CREATED
    );
}

#[actix_web::test]
async fn twenty_concurrent_approvals_of_one_log_credit_it_once() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let v = app.volunteer().await;
    let (_, log) = submitted_log(&app, &staff, &v, json!({}), 45).await;
    let mut approvers = Vec::new();
    for _ in 0..4 {
        approvers.push(app.staff().await);
    }
    let responses = join_all((0..20).map(|i| {
        let token = approvers[i % 4].token.clone();
        let app = &app;
        let log = log.clone();
        async move { approve(app, &token, &log, json!({})).await }
    }))
    .await;
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
    assert_eq!(app.balance(&v.token).await, 45);
    let balance = body(app.get("/me/balance", &v.token).await).await;
    assert_eq!(balance["minutes_served"], 45);
    assert_eq!(balance["pending_points"], 0);
    app.assert_ledger_ok();
}

#[actix_web::test]
async fn approve_racing_reject_lets_exactly_one_win() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let other = app.staff().await;
    let v = app.volunteer().await;
    let (_, log) = submitted_log(&app, &staff, &v, json!({}), 30).await;
    let reject_path = format!("/activity-logs/{log}/reject");
    let reason = json!({"reason": "not seen"});
    let (approved, rejected) = tokio::join!(
        approve(&app, &staff.token, &log, json!({})),
        app.post(&reject_path, &other.token, &reason),
    );
    let (a, r) = (approved.status().as_u16(), rejected.status().as_u16());
    assert!((a, r) == (200, 409) || (a, r) == (409, 200), "{a} {r}");
    let expected = if a == 200 { 30 } else { 0 };
    assert_eq!(app.balance(&v.token).await, expected);
    app.assert_ledger_ok();
}

#[actix_web::test]
async fn a_leader_manages_their_own_teams_activities_and_the_leader_of_another_team_is_refused_even_in_a_bulk_approve(
) {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let leader = app.volunteer().await;
    let stranger = app.volunteer().await;
    let (v1, v2) = (app.volunteer().await, app.volunteer().await);
    let ours = team_with(&app, &staff, &leader, "leader").await;
    let _theirs = team_with(&app, &staff, &stranger, "leader").await;

    // The leader publishes for their team, reads its code and approves its logs.
    app.set_time(base());
    let activity = id(&publish(&app, &leader.token, json!({"team_id": ours})).await);
    let res = app
        .post(
            "/activities",
            &leader.token,
            &json!({"title": "x",
        "starts_at": rfc(base()), "ends_at": rfc(base() + TimeDelta::hours(1)), "fixed_points": 5}),
        )
        .await;
    assert_problem(res, 403, "forbidden").await;
    let c = code(&app, &leader.token, &activity).await;
    for v in [&v1, &v2] {
        assert_eq!(
            check_in(&app, &v.token, &activity, &c).await.status(),
            StatusCode::CREATED
        );
    }
    app.clock.advance(TimeDelta::minutes(20));
    let mut logs = Vec::new();
    for v in [&v1, &v2] {
        logs.push(id(&body(check_out(&app, &v.token, &activity).await).await));
    }

    // The other team's leader: no code, no queue, no approval, not even in bulk.
    let res = app
        .get(
            &format!("/activities/{activity}/check-in-code"),
            &stranger.token,
        )
        .await;
    assert_problem(res, 403, "forbidden").await;
    assert_problem(
        approve(&app, &stranger.token, &logs[0], json!({})).await,
        403,
        "forbidden",
    )
    .await;
    let queue = body(
        app.get("/activity-logs?status=submitted", &stranger.token)
            .await,
    )
    .await;
    assert_eq!(queue["items"].as_array().expect("items").len(), 0);
    let res = app
        .post(
            "/activity-logs/bulk-approve",
            &stranger.token,
            &json!({"ids": logs}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let bulk = body(res).await;
    assert_eq!(bulk["approved"].as_array().expect("approved").len(), 0);
    assert_eq!(bulk["failed"][0]["code"], "forbidden");
    assert_eq!(bulk["failed"][1]["code"], "forbidden");
    // A plain volunteer is refused outright.
    let res = app
        .post(
            "/activity-logs/bulk-approve",
            &v1.token,
            &json!({"ids": logs}),
        )
        .await;
    assert_problem(res, 403, "forbidden").await;
    assert_problem(app.get("/activity-logs", &v1.token).await, 403, "forbidden").await;

    // Their own leader sees and approves them.
    let queue = body(
        app.get("/activity-logs?status=submitted", &leader.token)
            .await,
    )
    .await;
    assert_eq!(queue["items"].as_array().expect("items").len(), 2);
    let res = app
        .post(
            "/activity-logs/bulk-approve",
            &leader.token,
            &json!({"ids": logs}),
        )
        .await;
    let bulk = body(res).await;
    assert_eq!(bulk["approved"].as_array().expect("approved").len(), 2);
    assert_eq!(bulk["approved"][0]["reviewed_by"], leader.id);
    assert_eq!(app.balance(&v1.token).await, 20);
    assert_eq!(app.balance(&v2.token).await, 20);
    app.assert_ledger_ok();
}

#[actix_web::test]
async fn nobody_approves_their_own_log_and_the_recorder_does_not_approve_what_they_recorded() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let other = app.staff().await;
    let v = app.volunteer().await;
    // Staff serving themselves.
    let (activity, own) = submitted_log(&app, &other, &staff, json!({}), 30).await;
    assert_problem(
        approve(&app, &staff.token, &own, json!({})).await,
        403,
        "self-approval",
    )
    .await;
    let res = app
        .post(
            &format!("/activity-logs/{own}/reject"),
            &staff.token,
            &json!({"reason": "x"}),
        )
        .await;
    assert_problem(res, 403, "self-approval").await;

    // Attendance recorded at the desk.
    let res = app
        .post(
            "/activity-logs",
            &staff.token,
            &json!({"activity_id": activity, "volunteer_id": v.id, "minutes": 121}),
        )
        .await;
    assert_problem(res, 422, "validation-failed").await;
    let res = app
        .post("/activity-logs", &staff.token,
            &json!({"activity_id": activity, "volunteer_id": v.id, "minutes": 50, "note": "no phone"}))
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let recorded = body(res).await;
    assert_eq!(recorded["source"], "staff");
    assert_eq!(recorded["status"], "submitted");
    assert_eq!(recorded["recorded_by"], staff.id);
    assert_eq!(recorded["points_proposed"], 50);
    let log = id(&recorded);
    assert_problem(
        approve(&app, &staff.token, &log, json!({})).await,
        403,
        "self-approval",
    )
    .await;
    let res = approve(&app, &other.token, &log, json!({})).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(app.balance(&v.token).await, 50);
    // Reversing one's own log is refused too.
    assert_eq!(
        approve(&app, &other.token, &own, json!({})).await.status(),
        StatusCode::OK
    );
    let res = app
        .post(
            &format!("/activity-logs/{own}/reverse"),
            &staff.token,
            &json!({"reason": "x"}),
        )
        .await;
    assert_problem(res, 403, "self-approval").await;
    assert_eq!(app.balance(&staff.token).await, 30);
    app.assert_ledger_ok();
}

#[actix_web::test]
async fn approving_other_points_needs_a_note_and_zero_points_record_the_hours_without_a_transaction(
) {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let v = app.volunteer().await;
    let (_, log) = submitted_log(&app, &staff, &v, json!({}), 40).await;
    let approver = app.staff().await;
    let res = approve(&app, &approver.token, &log, json!({"points": 10})).await;
    assert_problem(res, 422, "validation-failed").await;
    let res = approve(
        &app,
        &approver.token,
        &log,
        json!({"points": 10001, "note": "x"}),
    )
    .await;
    assert_problem(res, 422, "validation-failed").await;
    let res = approve(
        &app,
        &approver.token,
        &log,
        json!({"points": 0, "note": "left early"}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    let approved = body(res).await;
    assert_eq!(approved["status"], "approved");
    assert_eq!(approved["points_awarded"], 0);
    assert_eq!(approved["transaction_id"], Value::Null);
    assert_eq!(approved["review_note"], "left early");
    assert_eq!(app.balance(&v.token).await, 0);
    let balance = body(app.get("/me/balance", &v.token).await).await;
    assert_eq!(balance["minutes_served"], 40);

    let v2 = app.volunteer().await;
    let (_, log2) = submitted_log(&app, &staff, &v2, json!({}), 40).await;
    let res = approve(
        &app,
        &approver.token,
        &log2,
        json!({"points": 55, "note": "stayed to tidy"}),
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body(res).await["points_awarded"], 55);
    assert_eq!(app.balance(&v2.token).await, 55);
    app.assert_ledger_ok();
}

#[actix_web::test]
async fn reversal_takes_the_points_back_but_after_spending_is_refused_and_changes_nothing() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let admin = app.admin().await;
    let v = app.volunteer().await;
    let (_, log) = submitted_log(&app, &admin, &v, json!({}), 60).await;
    assert_eq!(
        approve(&app, &staff.token, &log, json!({})).await.status(),
        StatusCode::OK
    );
    assert_eq!(app.balance(&v.token).await, 60);
    // Spend 50 of them.
    let res = app
        .post_keyed(
            "/ledger/adjustments",
            &admin.token,
            "spend-1",
            &json!({"volunteer_id": v.id, "amount": -50, "reason": "spent"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::CREATED);
    let res = app
        .post(
            &format!("/activity-logs/{log}/reverse"),
            &staff.token,
            &json!({"reason": "no-show"}),
        )
        .await;
    assert_problem(res, 409, "insufficient-points").await;
    assert_eq!(app.balance(&v.token).await, 10);
    let mine = body(app.get("/me/activity-logs", &v.token).await).await;
    assert_eq!(mine["items"][0]["status"], "approved");
    assert_eq!(mine["items"][0]["reversed_by"], Value::Null);
    app.assert_ledger_ok();

    // Given the points back, the reversal goes through.
    app.grant(&admin, &v.id, 50).await;
    let res = app
        .post(
            &format!("/activity-logs/{log}/reverse"),
            &staff.token,
            &json!({"reason": "no-show"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let reversed = body(res).await;
    assert_eq!(reversed["status"], "reversed");
    assert_eq!(reversed["reversed_by"], staff.id);
    assert_eq!(reversed["reversal_reason"], "no-show");
    assert!(reversed["reversal_transaction_id"].is_string());
    assert!(reversed["transaction_id"].is_string());
    assert_eq!(app.balance(&v.token).await, 0);
    let res = app
        .post(
            &format!("/activity-logs/{log}/reverse"),
            &staff.token,
            &json!({"reason": "again"}),
        )
        .await;
    assert_problem(res, 409, "log-not-approved").await;
    app.assert_ledger_ok();
}

#[actix_web::test]
async fn reversing_a_log_that_is_not_approved_is_refused() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let v = app.volunteer().await;
    let (_, log) = submitted_log(&app, &staff, &v, json!({}), 30).await;
    let reviewer = app.staff().await;
    let path = format!("/activity-logs/{log}/reverse");
    assert_problem(
        app.post(&path, &reviewer.token, &json!({"reason": "x"}))
            .await,
        409,
        "log-not-approved",
    )
    .await;
    let res = app
        .post(
            &format!("/activity-logs/{log}/reject"),
            &reviewer.token,
            &json!({"reason": "not seen"}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body(res).await["status"], "rejected");
    assert_problem(
        app.post(&path, &reviewer.token, &json!({"reason": "x"}))
            .await,
        409,
        "log-not-approved",
    )
    .await;
    assert_problem(
        approve(&app, &reviewer.token, &log, json!({})).await,
        409,
        "log-not-submitted",
    )
    .await;
    assert_eq!(app.balance(&v.token).await, 0);
    app.assert_ledger_ok();
}

#[actix_web::test]
async fn bulk_approve_approves_the_good_ids_and_reports_unknown_and_already_approved_ones() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let reviewer = app.staff().await;
    let (a, b, c) = (
        app.volunteer().await,
        app.volunteer().await,
        app.volunteer().await,
    );
    let (_, la) = submitted_log(&app, &staff, &a, json!({}), 10).await;
    let (_, lb) = submitted_log(&app, &staff, &b, json!({}), 20).await;
    let (_, lc) = submitted_log(&app, &staff, &c, json!({}), 30).await;
    assert_eq!(
        approve(&app, &reviewer.token, &lb, json!({}))
            .await
            .status(),
        StatusCode::OK
    );
    let unknown = uuid::Uuid::new_v4().to_string();
    let res = app
        .post(
            "/activity-logs/bulk-approve",
            &reviewer.token,
            &json!({"ids": [la, unknown, lb, "not-a-uuid", lc]}),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let bulk = body(res).await;
    let approved: Vec<&str> = bulk["approved"]
        .as_array()
        .expect("approved")
        .iter()
        .map(|l| l["id"].as_str().expect("id"))
        .collect();
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
    assert_eq!(app.balance(&a.token).await, 10);
    assert_eq!(app.balance(&b.token).await, 20);
    assert_eq!(app.balance(&c.token).await, 30);
    let res = app
        .post(
            "/activity-logs/bulk-approve",
            &reviewer.token,
            &json!({"ids": []}),
        )
        .await;
    assert_problem(res, 422, "validation-failed").await;
    app.assert_ledger_ok();
}

#[actix_web::test]
async fn an_approval_retried_with_its_idempotency_key_is_replayed_and_credits_once() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let reviewer = app.staff().await;
    let v = app.volunteer().await;
    let (_, log) = submitted_log(&app, &staff, &v, json!({}), 25).await;
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
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    assert_eq!(again.text().await.expect("a body"), first);
    assert_eq!(app.balance(&v.token).await, 25);
    app.assert_ledger_ok();
}

#[actix_web::test]
async fn the_openapi_document_lists_every_teams_activities_and_activity_logs_path() {
    let app = spawn_app().await;
    let doc: Value = app
        .client
        .get(app.url("/api-docs/openapi.json"))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("JSON");
    for path in [
        "/api/v1/teams",
        "/api/v1/teams/{id}",
        "/api/v1/teams/{id}/members",
        "/api/v1/teams/{id}/members/{volunteer_id}",
        "/api/v1/activities",
        "/api/v1/activities/{id}",
        "/api/v1/activities/{id}/cancel",
        "/api/v1/activities/{id}/enrollment",
        "/api/v1/activities/{id}/check-in-code",
        "/api/v1/activities/{id}/check-in-code.svg",
        "/api/v1/activities/{id}/check-in",
        "/api/v1/activities/{id}/check-out",
        "/api/v1/activity-logs",
        "/api/v1/activity-logs/bulk-approve",
        "/api/v1/activity-logs/{id}/approve",
        "/api/v1/activity-logs/{id}/reject",
        "/api/v1/activity-logs/{id}/reverse",
        "/api/v1/me/activity-logs",
    ] {
        assert!(doc["paths"][path].is_object(), "{path} is missing");
    }
}

#[actix_web::test]
async fn a_volunteer_is_refused_with_403_before_any_problem_with_their_body_or_query() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let leader = app.volunteer().await;
    let volunteer = app.volunteer().await;
    team_with(&app, &staff, &leader, "leader").await;
    app.set_time(base());
    let activity = id(&publish(&app, &staff.token, json!({})).await);
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
    let res = app
        .client
        .post(app.url(&format!("/activities/{activity}/cancel")))
        .bearer_auth(&volunteer.token)
        .header("Content-Type", "application/json")
        .body("{not json")
        .send()
        .await
        .expect("sent");
    assert_problem(res, 403, "forbidden").await;

    // The approval queue: 403 before a bad limit or status; staff hear about those.
    for query in ["limit=0", "status=lost"] {
        let path = format!("/activity-logs?{query}");
        assert_problem(app.get(&path, &volunteer.token).await, 403, "forbidden").await;
    }
    assert_problem(
        app.get("/activity-logs?limit=0", &staff.token).await,
        422,
        "validation-failed",
    )
    .await;
    assert_problem(
        app.get("/activity-logs?status=lost", &staff.token).await,
        400,
        "bad-request",
    )
    .await;
}

#[actix_web::test]
async fn a_leader_may_name_their_team_in_upper_case_to_publish_and_edit_its_activities() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let leader = app.volunteer().await;
    let team = team_with(&app, &staff, &leader, "leader").await;
    app.set_time(base());
    let activity = publish(&app, &leader.token, json!({"team_id": team.to_uppercase()})).await;
    assert_eq!(activity["team_id"], team.as_str());
    let res = app
        .request(
            Method::PATCH,
            &format!("/activities/{}", id(&activity)),
            Some(&leader.token),
            Some(&json!({"team_id": team.to_uppercase(), "title": "Renamed"})),
        )
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let edited = body(res).await;
    assert_eq!(edited["team_id"], team.as_str());
    assert_eq!(edited["title"], "Renamed");
}

#[actix_web::test]
async fn a_keyed_check_in_or_check_out_refused_for_its_location_is_kept_and_replayed() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let volunteer = app.volunteer().await;
    app.set_time(base());
    let activity = id(&publish(&app, &staff.token, json!({})).await);
    let c = code(&app, &staff.token, &activity).await;
    let bad = json!({"code": c, "location": {"lat": 91.0, "lng": 0.0}});
    let path = format!("/activities/{activity}/check-in");
    for replayed in [None, Some("true")] {
        let res = app
            .post_keyed(&path, &volunteer.token, "check-in-1", &bad)
            .await;
        let header = res
            .headers()
            .get("Idempotent-Replayed")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        assert_eq!(header.as_deref(), replayed);
        assert_problem(res, 422, "validation-failed").await;
    }
    // The key is spent on that refusal: another body with it is a reused key.
    let res = app
        .post_keyed(&path, &volunteer.token, "check-in-1", &json!({"code": c}))
        .await;
    assert_problem(res, 422, "idempotency-key-reused").await;

    assert_eq!(
        check_in(&app, &volunteer.token, &activity, &c)
            .await
            .status(),
        StatusCode::CREATED
    );
    let path = format!("/activities/{activity}/check-out");
    let bad = json!({"location": {"lat": 0.0, "lng": 181.0}});
    for replayed in [None, Some("true")] {
        let res = app
            .post_keyed(&path, &volunteer.token, "check-out-1", &bad)
            .await;
        let header = res
            .headers()
            .get("Idempotent-Replayed")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        assert_eq!(header.as_deref(), replayed);
        assert_problem(res, 422, "validation-failed").await;
    }
}

#[actix_web::test]
async fn concurrent_wrong_codes_cannot_slip_past_the_limit_and_a_right_code_does_not_count() {
    let app = spawn_app().await;
    app.set_time(base());
    let staff = app.staff().await;
    let v = app.volunteer().await;
    let activity = id(&publish(&app, &staff.token, json!({})).await);
    let right = code(&app, &staff.token, &activity).await;
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    let guesses = (0..12).map(|_| {
        let (app, token, activity) = (&app, v.token.clone(), activity.clone());
        async move { check_in(app, &token, &activity, wrong).await }
    });
    let statuses: Vec<u16> = futures_util::future::join_all(guesses)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    let checked = statuses.iter().filter(|s| **s == 422).count();
    assert_eq!(
        checked + statuses.iter().filter(|s| **s == 429).count(),
        12,
        "{statuses:?}"
    );
    assert!(
        checked <= 5,
        "at most 5 wrong codes were tried: {statuses:?}"
    );

    // Attempts that were not wrong codes are given back: another volunteer's right code after
    // four wrong ones still checks in, and the right code does not use up an attempt.
    let w = app.volunteer().await;
    for _ in 0..4 {
        assert_problem(
            check_in(&app, &w.token, &activity, wrong).await,
            422,
            "invalid-check-in-code",
        )
        .await;
    }
    assert_eq!(
        check_in(&app, &w.token, &activity, &right).await.status(),
        StatusCode::CREATED
    );
    let res = check_in(&app, &w.token, &activity, &right).await;
    assert_problem(res, 409, "already-checked-in").await;
}

#[derive(diesel::QueryableByName)]
struct Waiting {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

/// How many sessions of this test's database wait on a row lock now (PostgreSQL).
async fn lock_waiters(app: &TestApp) -> i64 {
    use diesel::RunQueryDsl;
    app.db
        .read(|conn| {
            let w: Waiting = diesel::sql_query(
                "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM pg_stat_activity \
                 WHERE datname = current_database() AND wait_event_type = 'Lock'",
            )
            .get_result(conn)?;
            Ok(w.n)
        })
        .await
        .expect("pg_stat_activity")
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
    let (_, first) = submitted_log(&app, &staff, &v, json!({}), 30).await;
    let (_, second) = submitted_log(&app, &staff, &v, json!({}), 40).await;
    let (low, high) = if first < second {
        (first, second)
    } else {
        (second, first)
    };

    // A single review of `high` (approve and reverse lock the log, then the account), paused
    // between its two locks.
    let (locked_tx, locked_rx) = std::sync::mpsc::channel::<()>();
    let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
    let (db, log_id, account) = (app.db.clone(), high.clone(), v.id.clone());
    let single = std::thread::spawn(move || {
        use diesel::RunQueryDsl;
        db.write_blocking(|conn| {
            diesel::sql_query("UPDATE activity_logs SET note = note WHERE id = $1")
                .bind::<diesel::sql_types::Text, _>(&log_id)
                .execute(conn)?;
            let _ = locked_tx.send(());
            let _ = go_rx.recv();
            diesel::sql_query("UPDATE accounts SET balance = balance WHERE id = $1")
                .bind::<diesel::sql_types::Text, _>(&account)
                .execute(conn)?;
            Ok(())
        })
    });
    locked_rx.recv().expect("the single review locked its log");

    let ids = json!({"ids": [low, high]});
    let bulk = app.post("/activity-logs/bulk-approve", &approver.token, &ids);
    let resume = async {
        for _ in 0..500 {
            if lock_waiters(&app).await > 0 {
                break;
            }
            actix_web::rt::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        go_tx.send(()).expect("the single review waits");
    };
    let (res, ()) = tokio::join!(bulk, resume);
    let single = single.join().expect("the single review's thread");
    assert!(single.is_ok(), "the single review failed: {single:?}");
    assert_eq!(res.status(), StatusCode::OK);
    let result = body(res).await;
    assert_eq!(result["failed"], json!([]));
    assert_eq!(result["approved"].as_array().map(Vec::len), Some(2));
    assert_eq!(app.balance(&v.token).await, 70);
    app.assert_ledger_ok();
}
