//! What a fuzzer found (issue 13, item 10): query values that do not parse are 422
//! `validation-failed` naming the parameter, as the contract's table has format and range errors,
//! and the document says a body is required exactly where a missing one is refused.

use reqwest::{Method, StatusCode};
use serde_json::Value;

use crate::helpers::*;

#[actix_web::test]
async fn a_time_that_does_not_parse_or_a_huge_limit_is_422_naming_the_parameter_everywhere() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let partner = app.a_partner(&admin, "Canteen").await;
    let settlement = format!("/partners/{partner}/settlement");
    let times = [
        "/activities",
        "/reports/summary",
        "/reports/leaderboard",
        "/exports/activity-logs.csv",
        "/exports/ledger.csv",
        settlement.as_str(),
    ];
    for path in times {
        for (query, field) in [
            ("from=yesterday", "from"),
            ("to=2026-13-01T00:00:00Z", "to"),
            ("from=-5000-01-01T00:00:00Z", "from"),
        ] {
            let problem = app
                .get(&format!("{path}?{query}"), &admin.token)
                .expect_problem(422, "validation-failed")
                .await;
            assert_eq!(fields_named(&problem), [field], "{path}?{query}");
        }
    }
    let lists = [
        "/activities",
        "/teams",
        "/volunteers",
        "/rewards",
        "/redemptions",
        "/me/ledger",
        "/wishes",
        "/reports/leaderboard",
    ];
    for path in lists {
        for limit in [
            "100000000000000000000",
            "-100000000000000000000",
            "0",
            "101",
        ] {
            let problem = app
                .get(&format!("{path}?limit={limit}"), &admin.token)
                .expect_problem(422, "validation-failed")
                .await;
            assert_eq!(fields_named(&problem), ["limit"], "{path}?limit={limit}");
        }
    }
    app.get("/activities?limit=100", &admin.token)
        .expect_status(StatusCode::OK)
        .await;
    // Not a number at all is a value of the wrong type.
    app.get("/activities?limit=ten", &admin.token)
        .expect_problem(400, "bad-request")
        .await;
}

/// The operations whose JSON body the document marks as not required, and those it marks as
/// required: `(method path, required)`.
fn documented_bodies(doc: &Value) -> Vec<(String, bool)> {
    let mut bodies = Vec::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("an item") {
            if let Some(body) = op.get("requestBody") {
                if body["content"].get("application/json").is_some() {
                    let required = body["required"].as_bool().unwrap_or(false);
                    bodies.push((format!("{} {path}", method.to_uppercase()), required));
                }
            }
        }
    }
    bodies
}

#[actix_web::test]
async fn the_document_marks_a_body_required_exactly_where_a_missing_one_is_refused() {
    let app = spawn_app().await;
    let doc = app.openapi().expect_json(StatusCode::OK).await;
    let schemas = &doc["components"]["schemas"];
    let bodies = documented_bodies(&doc);
    assert!(!bodies.is_empty());
    for (operation, required) in &bodies {
        let (method, path) = operation.split_once(' ').expect("method and path");
        let item = &doc["paths"][path][method.to_lowercase()];
        let schema = &item["requestBody"]["content"]["application/json"]["schema"];
        let named = schema["$ref"]
            .as_str()
            .and_then(|r| r.strip_prefix("#/components/schemas/"))
            .map_or(schema, |name| &schemas[name]);
        let has_required_fields = named["required"].as_array().is_some_and(|r| !r.is_empty());
        assert_eq!(*required, has_required_fields, "{operation}");
    }
    assert!(bodies.contains(&("PATCH /api/v1/activities/{id}".to_owned(), false)));
    assert!(bodies.contains(&("POST /api/v1/teams".to_owned(), true)));

    // And so the service reads them: no body where none is required is `{}`; where one is,
    // it is 400 `bad-request` (a required field missing).
    let staff = app.staff().await;
    let activity = app.an_activity(&staff).await;
    let path = format!("/activities/{activity}");
    let res = app
        .request(Method::PATCH, &path, Some(&staff.token), None)
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = app
        .request(Method::POST, "/teams", Some(&staff.token), None)
        .await;
    assert_problem(res, 400, "bad-request").await;
}

#[actix_web::test]
async fn a_time_in_a_body_that_does_not_parse_is_422_naming_the_field() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let problem = app
        .create_activity(
            &staff,
            &serde_json::json!({"title": "Sweep", "starts_at": "tomorrow",
                "ends_at": "2026-13-01T00:00:00Z", "points_per_hour": 10}),
        )
        .expect_problem(422, "validation-failed")
        .await;
    assert_eq!(fields_named(&problem), ["ends_at", "starts_at"]);

    let activity = app.an_activity(&staff).await;
    let problem = app
        .edit_activity(&staff, &activity, &serde_json::json!({"ends_at": "soon"}))
        .expect_problem(422, "validation-failed")
        .await;
    assert_eq!(fields_named(&problem), ["ends_at"]);

    let problem = app
        .create_wish(
            &staff,
            &serde_json::json!({"title": "Rice", "beneficiary": "Mrs Li, building 3",
                "points": 5, "due_at": "next week"}),
        )
        .expect_problem(422, "validation-failed")
        .await;
    assert_eq!(fields_named(&problem), ["due_at"]);
    // Nothing was made.
    let listed = app.wishes(&staff, "").expect_json(StatusCode::OK).await;
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(0));
}
