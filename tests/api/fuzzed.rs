//! What fuzzing found (issue 13, items 10 and 11). Query values and body times that do not parse
//! are 422 `validation-failed` naming the field, as the contract's table has format and range
//! errors; the document says a body is required exactly where a missing one is refused; and the
//! answers schemathesis (scripts/fuzz.sh, run by .ci/run) saw the service give rightly are the
//! ones the document lists.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

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

#[actix_web::test]
async fn a_body_integer_of_any_size_is_a_number_whose_range_is_checked_and_a_fraction_is_not_one() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let volunteer = app.volunteer().await;
    let bearer = format!("Bearer {}", admin.token);
    // Each request with a key of its own (a kept answer would be replayed).
    let send = |path: &'static str, key: String, body: String| {
        let bearer = bearer.clone();
        let app = &app;
        async move {
            let headers = [
                ("content-type", "application/json"),
                ("authorization", bearer.as_str()),
                ("idempotency-key", key.as_str()),
            ];
            app.send_raw(Method::POST, path, &headers, Some(&body))
                .await
        }
    };
    // Beyond i64 either way: the range rule answers, naming the field, as for 1000001.
    for (n, huge) in [
        "9223372036854775808",
        "100000000000000000000",
        "-9223372036854775809",
        "1e30",
    ]
    .into_iter()
    .enumerate()
    {
        let reward = format!(r#"{{"name": "Tea {n}", "cost_points": {huge}}}"#);
        let res = send("/rewards", format!("r{n}"), reward).await;
        let problem = assert_problem(res, 422, "validation-failed").await;
        assert_eq!(fields_named(&problem), ["cost_points"], "{huge}");
        let adjustment = format!(
            r#"{{"volunteer_id": "{}", "amount": {huge}, "reason": "typo"}}"#,
            volunteer.id
        );
        let res = send("/ledger/adjustments", format!("a{n}"), adjustment).await;
        let problem = assert_problem(res, 422, "validation-failed").await;
        assert_eq!(fields_named(&problem), ["amount"], "{huge}");
    }
    // A fraction is not an integer: the wrong JSON type.
    let fraction = r#"{"name": "Tea", "cost_points": 1.5}"#.to_owned();
    assert_problem(
        send("/rewards", "f".into(), fraction).await,
        400,
        "bad-request",
    )
    .await;
    // Nothing was made or moved.
    let rewards = app.rewards(&admin, "").expect_json(StatusCode::OK).await;
    assert_eq!(rewards["items"], json!([]));
    let balance = app.points_of(&admin, &volunteer.id, "balance");
    assert_eq!(balance.expect_json(StatusCode::OK).await["balance"], 0);
    // A whole number written with a fraction or an exponent is that integer.
    let written = r#"{"name": "Tea", "cost_points": 2.0e1, "stock": 5.0}"#.to_owned();
    let res = send("/rewards", "w".into(), written);
    let reward = res.expect_json(StatusCode::CREATED).await;
    assert_eq!(
        (reward["cost_points"].clone(), reward["stock"].clone()),
        (json!(20), json!(5))
    );
}

#[actix_web::test]
async fn a_400_says_whether_the_body_is_not_json_or_has_the_wrong_shape() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let partner = app.a_partner(&staff, "Canteen").await;
    // `null` where an enum goes is JSON of the wrong shape (serde_json calls it syntax).
    let problem = app
        .edit_partner(&staff, &partner, &json!({"kind": null}))
        .expect_problem(400, "bad-request")
        .await;
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(
        detail.starts_with("the body does not have the expected fields and types"),
        "{detail}"
    );
    let path = format!("/partners/{partner}");
    let res = app
        .send_json_text(Method::PATCH, &path, &staff.token, "{\"kind\": nul")
        .await;
    let problem = assert_problem(res, 400, "bad-request").await;
    let detail = problem["detail"].as_str().unwrap_or_default();
    assert!(detail.starts_with("the body is not valid JSON"), "{detail}");
}

#[actix_web::test]
async fn a_leap_second_is_422_naming_the_field_on_both_databases() {
    // PostgreSQL would store 10:00:60 as 10:01:00, the activity's end: never a 500.
    let app = spawn_app().await;
    let staff = app.staff().await;
    let activity = json!({"title": "Leap", "fixed_points": 5,
        "starts_at": "2026-11-30T10:00:60Z", "ends_at": "2026-11-30T10:01:00Z"});
    let problem = app
        .create_activity(&staff, &activity)
        .expect_problem(422, "validation-failed")
        .await;
    assert_eq!(fields_named(&problem), ["starts_at"]);
    let problem = app
        .get("/activities?from=2026-11-30T10:00:60Z", &staff.token)
        .expect_problem(422, "validation-failed")
        .await;
    assert_eq!(fields_named(&problem), ["from"]);
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
            &json!({"title": "Sweep", "starts_at": "tomorrow",
                "ends_at": "2026-13-01T00:00:00Z", "points_per_hour": 10}),
        )
        .expect_problem(422, "validation-failed")
        .await;
    assert_eq!(fields_named(&problem), ["ends_at", "starts_at"]);

    let activity = app.an_activity(&staff).await;
    let problem = app
        .edit_activity(&staff, &activity, &json!({"ends_at": "soon"}))
        .expect_problem(422, "validation-failed")
        .await;
    assert_eq!(fields_named(&problem), ["ends_at"]);

    let problem = app
        .create_wish(
            &staff,
            &json!({"title": "Rice", "beneficiary": "Mrs Li, building 3",
                "points": 5, "due_at": "next week"}),
        )
        .expect_problem(422, "validation-failed")
        .await;
    assert_eq!(fields_named(&problem), ["due_at"]);
    // Nothing was made.
    let listed = app.wishes(&staff, "").expect_json(StatusCode::OK).await;
    assert_eq!(listed["items"].as_array().map(Vec::len), Some(0));
}

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

#[actix_web::test]
async fn a_nul_in_a_query_or_a_cursor_not_made_here_is_never_a_500() {
    use base64::Engine as _;
    let app = spawn_app().await;
    let admin = app.admin().await;
    // PostgreSQL's text cannot hold a NUL: a filter or a search holding one matches nothing.
    for path in [
        "/volunteers?q=a%00b",
        "/activities?team_id=%00",
        "/activity-logs?activity_id=%00",
        "/activity-logs?volunteer_id=a%00",
    ] {
        let page = app
            .get(path, &admin.token)
            .expect_json(StatusCode::OK)
            .await;
        assert_eq!(page["items"], json!([]), "{path}");
    }
    let id = uuid::Uuid::new_v4();
    let cursor = |text: String| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text);
    let foreign = [
        cursor(format!("17\u{0}00\n{id}")),
        cursor(format!("Tea\u{0}\n{id}")),
        cursor("1700000000000000\nnot-a-uuid".to_owned()),
    ];
    for path in [
        "/volunteers",
        "/activity-logs",
        "/redemptions",
        "/wishes",
        "/activities",
        "/rewards",
        "/teams",
        "/partners",
    ] {
        for c in &foreign {
            app.get(&format!("{path}?cursor={c}"), &admin.token)
                .expect_problem(400, "bad-request")
                .await;
        }
    }
}

#[actix_web::test]
async fn names_with_line_breaks_page_in_order() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    for name in ["Tea\nfor two", "Tea\nfor three", "Tea"] {
        app.create_team(&staff, &json!({ "name": name }))
            .expect_status(StatusCode::CREATED)
            .await;
    }
    let mut names = Vec::new();
    let mut query = "limit=1".to_owned();
    // A cursor that lost its place would repeat a page for ever: three pages, then stop.
    for _ in 0..4 {
        let page = body(app.teams(&staff, &query).await).await;
        names.extend(each(&page["items"], "name"));
        match page["next_cursor"].as_str() {
            Some(next) => query = format!("limit=1&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(names, ["Tea", "Tea\nfor three", "Tea\nfor two"]);
}

#[actix_web::test]
async fn a_patch_with_null_for_a_field_no_patch_clears_is_400_and_changes_nothing() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let activity = app.an_activity(&admin).await;
    let reward = id(&app
        .reward(&admin, json!({"name": "Tea", "cost_points": 5}))
        .await);
    let partner = app.a_partner(&admin, "Canteen").await;
    let fields = [
        (
            format!("/activities/{activity}"),
            ["title", "starts_at", "ends_at"].as_slice(),
        ),
        (
            format!("/rewards/{reward}"),
            ["name", "cost_points", "active"].as_slice(),
        ),
        (format!("/partners/{partner}"), ["name", "kind"].as_slice()),
    ];
    for (path, names) in fields {
        let before = body(app.get(&path, &admin.token).await).await;
        for name in names {
            app.patch(&path, &admin.token, &json!({ *name: null }))
                .expect_problem(400, "bad-request")
                .await;
        }
        assert_eq!(
            body(app.get(&path, &admin.token).await).await,
            before,
            "{path}"
        );
    }
    // A field a PATCH clears still takes null.
    let cleared = app
        .patch(
            &format!("/rewards/{reward}"),
            &admin.token,
            &json!({"description": null, "name": "Green tea"}),
        )
        .expect_json(StatusCode::OK)
        .await;
    assert_eq!(cleared["name"], "Green tea");
    assert_eq!(cleared["description"], Value::Null);
}
