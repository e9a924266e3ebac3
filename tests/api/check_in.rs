//! Check-in over HTTP: the rotating code, the window, the geofence, check-out and the wrong-code limit.

use chrono::TimeDelta;
use futures_util::future::join_all;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

/// A volunteer at the door of a plain activity: (volunteer, activity, the code that is right
/// now, one that is not).
async fn at_the_door(app: &TestApp) -> (TestUser, String, String, &'static str) {
    let staff = app.staff().await;
    let volunteer = app.volunteer().await;
    let activity = app.an_activity(&staff).await;
    let right = app.code(&staff, &activity).await;
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    (volunteer, activity, right, wrong)
}

#[actix_web::test]
async fn the_check_in_code_changes_every_minute_and_the_previous_minutes_code_still_works_but_not_an_older_one(
) {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let (a, b) = (app.volunteer().await, app.volunteer().await);
    let activity = app.an_activity(&staff).await;

    let shown = app
        .check_in_code(&staff, &activity)
        .expect_json(StatusCode::OK)
        .await;
    let first = shown["code"].as_str().expect("code").to_owned();
    assert_eq!(first.len(), 6);
    assert!(first.chars().all(|c| c.is_ascii_digit()));
    assert_eq!(shown["valid_until"], "2026-12-01T09:01:00Z");
    assert_eq!(
        shown["qr_payload"],
        format!("vp-checkin:{activity}:{first}")
    );

    let res = app.check_in_qr_code(&staff, &activity).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.headers()["content-type"], "image/svg+xml");
    assert!(res.text().await.expect("svg").contains("<svg"));

    app.clock.advance(TimeDelta::seconds(60));
    let second = app.code(&staff, &activity).await;
    assert_ne!(first, second, "the code rotates");
    // The previous minute's code still works...
    let log = app
        .check_in(&a, &activity, &first)
        .expect_json(StatusCode::CREATED)
        .await;
    assert_eq!(log["status"], "checked_in");
    assert_eq!(log["source"], "self");
    assert_eq!(log["recorded_by"], Value::Null);
    // ...but one two minutes old does not.
    app.clock.advance(TimeDelta::seconds(60));
    let res = app.check_in(&b, &activity, &first).await;
    assert_problem(res, 422, "invalid-check-in-code").await;

    let volunteer = app.volunteer().await;
    let res = app.check_in_code(&volunteer, &activity).await;
    assert_problem(res, 403, "forbidden").await;
}

#[actix_web::test]
async fn wrong_codes_are_refused_and_after_five_in_ten_minutes_the_volunteer_is_rate_limited() {
    let app = spawn_app().await;
    let (v, activity, right, wrong) = at_the_door(&app).await;
    for _ in 0..5 {
        let res = app.check_in(&v, &activity, wrong).await;
        assert_problem(res, 422, "invalid-check-in-code").await;
    }
    let res = app.check_in(&v, &activity, &right).await;
    assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(res.headers().contains_key("retry-after"));
    assert_problem(res, 429, "rate-limited").await;
    // A 429 asks for the same request again later: under a key it is not kept (a replay could
    // not carry its Retry-After), so each try is answered afresh.
    let path = format!("/activities/{activity}/check-in");
    for _ in 0..2 {
        let res = app
            .post_keyed(
                &path,
                &v.token,
                "later",
                &serde_json::json!({"code": right}),
            )
            .await;
        assert!(res.headers().contains_key("retry-after"));
        assert!(replayed(&res).is_none());
        assert_problem(res, 429, "rate-limited").await;
    }
    // Someone else is not held back.
    let other = app.volunteer().await;
    let res = app.check_in(&other, &activity, &right).await;
    assert_eq!(res.status(), StatusCode::CREATED);
}

#[actix_web::test]
async fn a_replayed_wrong_code_is_not_another_guess() {
    let app = spawn_app().await;
    let (v, activity, right, wrong) = at_the_door(&app).await;
    let path = format!("/activities/{activity}/check-in");
    let guess = serde_json::json!({"code": wrong});
    // One wrong guess, then its retries under the same key: each replays the kept 422.
    for _ in 0..5 {
        let res = app.post_keyed(&path, &v.token, "guess", &guess).await;
        assert_problem(res, 422, "invalid-check-in-code").await;
    }
    // Only the first counted: the right code still gets in.
    app.check_in(&v, &activity, &right)
        .expect_status(StatusCode::CREATED)
        .await;
}

#[actix_web::test]
async fn check_in_is_refused_before_and_after_its_window() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let v = app.volunteer().await;
    let activity = app.an_activity(&staff).await;

    app.set_time(base() - TimeDelta::minutes(31));
    let c = app.code(&staff, &activity).await;
    app.check_in(&v, &activity, &c)
        .expect_problem(409, "outside-check-in-window")
        .await;

    app.set_time(base() + TimeDelta::hours(2) + TimeDelta::minutes(1));
    let c = app.code(&staff, &activity).await;
    app.check_in(&v, &activity, &c)
        .expect_problem(409, "outside-check-in-window")
        .await;

    app.set_time(base() - TimeDelta::minutes(29));
    let c = app.code(&staff, &activity).await;
    app.check_in(&v, &activity, &c)
        .expect_status(StatusCode::CREATED)
        .await;
}

#[actix_web::test]
async fn with_a_geofence_check_in_needs_a_location_inside_the_radius_and_keeps_the_distance() {
    let app = spawn_app().await;
    app.set_time(base());
    let staff = app.staff().await;
    let v = app.volunteer().await;
    let activity = id(&app
        .publish(
            &staff,
            json!({"geofence": {"lat": 31.2304, "lng": 121.4737, "radius_m": 100}}),
        )
        .await);
    let c = app.code(&staff, &activity).await;
    let res = app.check_in(&v, &activity, &c).await;
    assert_problem(res, 422, "outside-geofence").await;
    // About 1.1 km north.
    let far = json!({"code": c, "location": {"lat": 31.2404, "lng": 121.4737, "accuracy_m": 5.0}});
    app.check_in_with(&v, &activity, &far)
        .expect_problem(422, "outside-geofence")
        .await;
    // About 55 m north.
    let near = json!({"code": c, "location": {"lat": 31.2309, "lng": 121.4737, "accuracy_m": 5.0}});
    let log = app
        .check_in_with(&v, &activity, &near)
        .expect_json(StatusCode::CREATED)
        .await;
    let d = log["check_in_distance_m"].as_f64().expect("a distance");
    assert!((50.0..62.0).contains(&d), "{d}");
    assert_eq!(log["check_in_location"]["lat"], 31.2309);
}

#[actix_web::test]
async fn check_out_without_check_in_is_refused_and_a_second_check_in_too() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let v = app.volunteer().await;
    let activity = app.an_activity(&staff).await;
    app.check_out(&v, &activity)
        .expect_problem(409, "not-checked-in")
        .await;
    let c = app.code(&staff, &activity).await;
    app.check_in(&v, &activity, &c)
        .expect_status(StatusCode::CREATED)
        .await;
    app.check_in(&v, &activity, &c)
        .expect_problem(409, "already-checked-in")
        .await;
    // Nor may staff record a second log for them.
    let res = app.record_attendance(&staff, &activity, &v, 30).await;
    assert_problem(res, 409, "already-checked-in").await;
    app.clock.advance(TimeDelta::minutes(10));
    app.check_out(&v, &activity)
        .expect_status(StatusCode::OK)
        .await;
    app.check_out(&v, &activity)
        .expect_problem(409, "not-checked-in")
        .await;
    let c = app.code(&staff, &activity).await;
    app.check_in(&v, &activity, &c)
        .expect_problem(409, "already-checked-in")
        .await;
}

#[actix_web::test]
async fn check_out_counts_whole_minutes_inside_the_activity_on_the_server_clock() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let v = app.volunteer().await;
    app.set_time(base());
    let activity = id(&app.publish(&staff, json!({"points_per_hour": 10})).await);
    // In 20 minutes early; the minutes count from the start.
    app.set_time(base() - TimeDelta::minutes(20));
    let c = app.code(&staff, &activity).await;
    app.check_in(&v, &activity, &c)
        .expect_status(StatusCode::CREATED)
        .await;
    let open = body(app.my_logs(&v, "status=checked_in").await).await;
    assert_eq!(open["items"].as_array().expect("items").len(), 1);
    app.set_time(base() + TimeDelta::minutes(90) + TimeDelta::seconds(59));
    let log = app
        .check_out_with(
            &v,
            &activity,
            &json!({"location": {"lat": 1.0, "lng": 2.0}}),
        )
        .expect_json(StatusCode::OK)
        .await;
    assert_eq!(log["minutes"], 90);
    assert_eq!(log["points_proposed"], 15);
    assert_eq!(log["check_out_location"]["lng"], 2.0);
    let balance = app.balance_sheet(&v).await;
    assert_eq!(balance["pending_points"], 15);
    assert_eq!(balance["minutes_served"], 0);
    let submitted = body(app.my_logs(&v, "status=submitted").await).await;
    assert_eq!(submitted["items"][0]["id"], log["id"]);
}

#[actix_web::test]
async fn a_keyed_check_in_or_check_out_refused_for_its_location_is_kept_and_replayed() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let volunteer = app.volunteer().await;
    let activity = app.an_activity(&staff).await;
    let c = app.code(&staff, &activity).await;
    let bad = json!({"code": c, "location": {"lat": 91.0, "lng": 0.0}});
    let path = format!("/activities/{activity}/check-in");
    app.assert_refusal_kept(&volunteer, &path, "check-in-1", &bad)
        .await;
    // The key is spent on that refusal: another body with it is a reused key.
    let res = app
        .post_keyed(&path, &volunteer.token, "check-in-1", &json!({"code": c}))
        .await;
    assert_problem(res, 422, "idempotency-key-reused").await;

    app.check_in(&volunteer, &activity, &c)
        .expect_status(StatusCode::CREATED)
        .await;
    let path = format!("/activities/{activity}/check-out");
    let bad = json!({"location": {"lat": 0.0, "lng": 181.0}});
    app.assert_refusal_kept(&volunteer, &path, "check-out-1", &bad)
        .await;
}

#[actix_web::test]
async fn concurrent_wrong_codes_cannot_slip_past_the_limit_and_a_right_code_does_not_count() {
    let app = spawn_app().await;
    let (v, activity, right, wrong) = at_the_door(&app).await;
    let guesses = (0..12).map(|_| app.check_in(&v, &activity, wrong));
    let statuses: Vec<u16> = join_all(guesses)
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
        app.check_in(&w, &activity, wrong)
            .expect_problem(422, "invalid-check-in-code")
            .await;
    }
    app.check_in(&w, &activity, &right)
        .expect_status(StatusCode::CREATED)
        .await;
    let res = app.check_in(&w, &activity, &right).await;
    assert_problem(res, 409, "already-checked-in").await;
}
