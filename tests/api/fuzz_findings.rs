//! What schemathesis (scripts/fuzz.sh, run by .ci/run) found besides issue 13's item 10: answers
//! the service gave rightly but the OpenAPI document did not allow. Each test makes the answer and
//! checks the served document lists it.

use serde_json::{json, Value};

use crate::helpers::*;

/// The statuses the served document lists for `METHOD /api/v1{path}`.
async fn documented(app: &TestApp, method: &str, path: &str) -> Vec<u16> {
    let doc = app.openapi().expect_json(StatusCode::OK).await;
    let responses = &doc["paths"][format!("/api/v1{path}")][method]["responses"];
    responses
        .as_object()
        .unwrap_or_else(|| panic!("{method} {path} is in the document"))
        .keys()
        .map(|s| s.parse().expect("a status"))
        .collect()
}

#[actix_web::test]
async fn a_wrong_current_password_past_the_limit_is_a_documented_429() {
    let app = spawn_app_with(&[("LOGIN_FAILURES_PER_PHONE", "1")]).await;
    let v = app.volunteer().await;
    app.change_my_password(&v, "wrong password", "a new password 1")
        .expect_problem(401, "invalid-credentials")
        .await;
    app.change_my_password(&v, "wrong password", "a new password 1")
        .expect_problem(429, "rate-limited")
        .await;
    assert!(documented(&app, "put", "/me/password").await.contains(&429));
}

#[actix_web::test]
async fn a_report_or_export_of_an_unknown_team_is_a_documented_404() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let unknown = uuid::Uuid::new_v4();
    for path in [
        "/reports/summary",
        "/reports/leaderboard",
        "/exports/activity-logs.csv",
    ] {
        for team in [unknown.to_string(), "null".to_owned()] {
            app.get(&format!("{path}?team_id={team}"), &admin.token)
                .expect_problem(404, "not-found")
                .await;
        }
        assert!(documented(&app, "get", path).await.contains(&404), "{path}");
    }
}

#[actix_web::test]
async fn a_reward_of_an_unknown_partner_is_a_documented_404() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let fields = json!({"name": "午餐", "cost_points": 10, "partner_id": uuid::Uuid::new_v4()});
    app.create_reward(&staff, &fields)
        .expect_problem(404, "not-found")
        .await;
    assert!(documented(&app, "post", "/rewards").await.contains(&404));
}

#[actix_web::test]
async fn a_bulk_approval_lists_an_id_that_is_not_a_uuid_as_sent_in_a_documented_shape() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let result = app
        .bulk_approve(&staff, &json!([""]))
        .expect_json(StatusCode::OK)
        .await;
    assert_eq!(
        result["failed"],
        json!([{"id": "", "code": "not-found",
        "detail": result["failed"][0]["detail"]}])
    );
    let doc = app.openapi().expect_json(StatusCode::OK).await;
    let id = &doc["components"]["schemas"]["BulkFailure"]["properties"]["id"];
    assert_eq!(id["type"], "string");
    assert_eq!(
        id.get("format"),
        None::<&Value>,
        "any string sent is echoed"
    );
}
