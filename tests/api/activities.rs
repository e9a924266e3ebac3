//! Activities over HTTP: publishing, listing, editing, cancelling and enrolment.

use chrono::TimeDelta;
use futures_util::future::join_all;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

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
        let res = app.create_activity(&staff, &bad).await;
        assert_problem(res, 422, "validation-failed").await;
    }
    // Each points field out of its range is named as the field at fault.
    for (field, value) in [("points_per_hour", 1_001), ("fixed_points", 10_001)] {
        let mut bad = json!({"title": "x", "starts_at": rfc(start),
                             "ends_at": rfc(start + TimeDelta::hours(1))});
        bad[field] = json!(value);
        let res = app.create_activity(&staff, &bad).await;
        let problem = assert_problem(res, 422, "validation-failed").await;
        assert_eq!(problem["errors"][0]["field"], field, "{problem}");
    }
    let volunteer = app.volunteer().await;
    let res = app
        .create_activity(
            &volunteer,
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
    let later = app.publish(&staff, json!({"title": "Later",
        "starts_at": rfc(base() + TimeDelta::hours(5)), "ends_at": rfc(base() + TimeDelta::hours(6))})).await;
    let sooner = app.publish(&staff, json!({"title": "Sooner"})).await;
    let _past = app.publish(&staff, json!({"title": "Past",
        "starts_at": rfc(base() - TimeDelta::hours(5)), "ends_at": rfc(base() - TimeDelta::hours(4))})).await;
    app.enrol(&v, &id(&later))
        .expect_status(StatusCode::CREATED)
        .await;

    let page = body(app.activities(&v, "").await).await;
    let titles = each(&page["items"], "title");
    assert_eq!(titles, ["Sooner", "Later"]);
    assert_eq!(page["items"][0]["enrolled"], false);
    assert_eq!(page["items"][1]["enrolled"], true);
    assert_eq!(page["items"][1]["enrolled_count"], 1);

    // A page of one, then the next by cursor.
    let first = body(app.activities(&v, "limit=1").await).await;
    let cursor = first["next_cursor"].as_str().expect("a cursor").to_owned();
    let second = body(
        app.activities(&v, &format!("limit=1&cursor={cursor}"))
            .await,
    )
    .await;
    assert_eq!(second["items"][0]["title"], "Later");
    assert_eq!(second["next_cursor"], Value::Null);

    // A window [from, to) that only the later one overlaps.
    let from = rfc(base() + TimeDelta::hours(3)).replace('+', "%2B");
    let to = rfc(base() + TimeDelta::hours(10));
    let page = body(app.activities(&v, &format!("from={from}&to={to}")).await).await;
    assert_eq!(page["items"].as_array().expect("items").len(), 1);

    let edited = app.edit_activity(&staff, &id(&sooner), &json!({"title": "Sooner, renamed", "capacity": 5, "points_per_hour": 999, "fixed_points": 3}))
        .expect_json(StatusCode::OK).await;
    assert_eq!(edited["title"], "Sooner, renamed");
    assert_eq!(edited["capacity"], 5);
    assert_eq!(edited["points_per_hour"], 60);
    assert_eq!(edited["fixed_points"], Value::Null);
    let res = app
        .edit_activity(&v, &id(&sooner), &json!({"title": "mine now"}))
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
async fn a_cancelled_activity_refuses_check_in_its_code_recorded_attendance_and_a_second_cancel() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let v = app.volunteer().await;
    let activity = app.an_activity(&staff).await;
    let c = app.code(&staff, &activity).await;
    let res = app.cancel_activity(&v, &activity).await;
    assert_problem(res, 403, "forbidden").await;
    let res = app.cancel_activity(&staff, &activity).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body(res).await["status"], "cancelled");
    app.check_in(&v, &activity, &c)
        .expect_problem(409, "activity-cancelled")
        .await;
    // Nor may staff record attendance on it for someone without the app.
    let res = app.record_attendance(&staff, &activity, &v, 30).await;
    assert_problem(res, 409, "activity-cancelled").await;
    let res = app.cancel_activity(&staff, &activity).await;
    assert_problem(res, 409, "activity-cancelled").await;
    let res = app.enrol(&v, &activity).await;
    assert_problem(res, 409, "activity-cancelled").await;
    // No code is shown for it, as text or as a QR code.
    let res = app.check_in_code(&staff, &activity).await;
    assert_problem(res, 409, "activity-cancelled").await;
    let res = app.check_in_qr_code(&staff, &activity).await;
    assert_problem(res, 409, "activity-cancelled").await;
}

#[actix_web::test]
async fn eight_concurrent_sign_ups_for_two_places_give_exactly_two_enrolments() {
    let app = spawn_app().await;
    app.set_time(base());
    let staff = app.staff().await;
    let activity = id(&app.publish(&staff, json!({"capacity": 2})).await);
    let mut volunteers = Vec::new();
    for _ in 0..8 {
        volunteers.push(app.volunteer().await);
    }
    let responses = join_all(volunteers.iter().map(|v| app.enrol(v, &activity))).await;
    let mut created = 0;
    for res in responses {
        match res.status().as_u16() {
            201 => created += 1,
            409 => assert_eq!(body(res).await["code"], "activity-full"),
            other => panic!("unexpected {other}"),
        }
    }
    assert_eq!(created, 2);
    let a = body(app.activity(&staff, &activity).await).await;
    assert_eq!(a["enrolled_count"], 2);
}

#[actix_web::test]
async fn enrolment_is_once_open_until_the_end_and_its_cancellation_frees_the_place() {
    let app = spawn_app().await;
    app.set_time(base());
    let staff = app.staff().await;
    let (a, b) = (app.volunteer().await, app.volunteer().await);
    let activity = id(&app.publish(&staff, json!({"capacity": 1})).await);
    let e = app
        .enrol(&a, &activity)
        .expect_json(StatusCode::CREATED)
        .await;
    assert_eq!(e["volunteer_id"], a.id);
    app.enrol(&a, &activity)
        .expect_problem(409, "already-enrolled")
        .await;
    app.enrol(&b, &activity)
        .expect_problem(409, "activity-full")
        .await;
    let res = app.unenrol(&a, &activity).await;
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    app.set_time(base() + TimeDelta::hours(2));
    app.enrol(&b, &activity)
        .expect_problem(409, "activity-ended")
        .await;
    app.set_time(base() + TimeDelta::minutes(119));
    app.enrol(&b, &activity)
        .expect_status(StatusCode::CREATED)
        .await;
}

#[actix_web::test]
async fn the_openapi_document_lists_every_teams_activities_and_activity_logs_path() {
    let app = spawn_app().await;
    let doc = body(app.openapi().await).await;
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
async fn a_leader_may_name_their_team_in_upper_case_to_publish_and_edit_its_activities() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let leader = app.volunteer().await;
    let team = app.team_with(&staff, &leader, "leader").await;
    app.set_time(base());
    let activity = app
        .publish(&leader, json!({"team_id": team.to_uppercase()}))
        .await;
    assert_eq!(activity["team_id"], team.as_str());
    let edited = app
        .edit_activity(
            &leader,
            &id(&activity),
            &json!({"team_id": team.to_uppercase(), "title": "Renamed"}),
        )
        .expect_json(StatusCode::OK)
        .await;
    assert_eq!(edited["team_id"], team.as_str());
    assert_eq!(edited["title"], "Renamed");
}

#[actix_web::test]
async fn times_outside_years_2000_to_2099_are_422_wherever_they_come_in_and_change_nothing() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let fields = |problem: &Value| -> Vec<String> {
        let errors = problem["errors"].as_array().cloned().unwrap_or_default();
        errors
            .iter()
            .map(|e| e["field"].as_str().unwrap_or("").to_owned())
            .collect()
    };
    let ancient = json!({"title": "Old", "starts_at": "1900-01-01T09:00:00Z",
        "ends_at": "1900-01-01T10:00:00Z", "points_per_hour": 10});
    let refused = app
        .create_activity(&staff, &ancient)
        .expect_problem(422, "validation-failed")
        .await;
    assert_eq!(fields(&refused), ["starts_at", "ends_at"]);
    for query in ["from=-5000-01-01T00:00:00Z", "to=2200-01-01T00:00:00Z"] {
        let refused = app
            .activities(&staff, query)
            .expect_problem(422, "validation-failed")
            .await;
        let field = query.split('=').next().unwrap_or_default();
        assert_eq!(fields(&refused), [field]);
    }
    let partner = app.a_partner(&staff, "老年食堂").await;
    app.settlement(&staff, &partner, "from=1000-01-01T00:00:00Z")
        .expect_problem(422, "validation-failed")
        .await;
    let wish = json!({"title": "A coat", "beneficiary": "The Wang family", "points": 10,
        "due_at": "2200-01-01T00:00:00Z"});
    let refused = app
        .create_wish(&staff, &wish)
        .expect_problem(422, "validation-failed")
        .await;
    assert_eq!(fields(&refused), ["due_at"]);
    for report in [
        "/reports/summary",
        "/reports/leaderboard",
        "/exports/ledger.csv",
    ] {
        let path = format!("{report}?from=0001-01-01T00:00:00Z");
        let admin = app.admin().await;
        app.get(&path, &admin.token)
            .expect_problem(422, "validation-failed")
            .await;
    }
    let listed = app.activities(&staff, "").expect_json(StatusCode::OK).await;
    assert_eq!(listed["items"], json!([]));
}
