//! Reports over HTTP: the summary agrees with the ledger, the leaderboard ranks ties and masks
//! names, the service record adds up by year. Self-contained: only `spawn_app` and plain
//! requests (the few helpers below are shared with the export and import tests).

use chrono::{DateTime, Utc};
use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};
use volunteer_points::domain::people::Role;

use crate::helpers::{spawn_app, Answer, TestApp};

/// Sends a request to `/api/v1{path}`; `body` as JSON when given.
pub async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    token: &str,
    body: Option<Value>,
) -> Response {
    let mut req = app
        .client
        .request(method, format!("{}/api/v1{path}", app.address))
        .bearer_auth(token)
        .header("Idempotency-Key", uuid::Uuid::new_v4().to_string());
    if let Some(body) = body {
        req = req.json(&body);
    }
    req.send().await.expect("the request is sent")
}

/// The JSON answer of a request that must succeed with `status`.
pub async fn ok(res: Response, status: u16) -> Value {
    let got = res.status().as_u16();
    let text = res.text().await.expect("a body");
    assert_eq!(got, status, "{text}");
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// A signed-in person: `(id, access token)`.
pub async fn person(app: &TestApp, name: &str, role: Role) -> (String, String) {
    let user = app.user_named(role, name).await;
    (user.id, user.token)
}

/// A team named `name`; returns its id.
pub async fn team(app: &TestApp, staff: &str, name: &str) -> String {
    let t = ok(
        call(
            app,
            Method::POST,
            "/teams",
            staff,
            Some(json!({"name": name})),
        )
        .await,
        201,
    )
    .await;
    t["id"].as_str().expect("team id").to_owned()
}

/// An activity of `team` starting at the service's now, 3 hours long, 1 point a minute.
pub async fn activity(app: &TestApp, staff: &str, team: Option<&str>, title: &str) -> String {
    let start = app.clock.now();
    let body = json!({
        "title": title, "team_id": team,
        "starts_at": start, "ends_at": start + chrono::Duration::hours(3),
        "points_per_hour": 60,
    });
    let a = ok(
        call(app, Method::POST, "/activities", staff, Some(body)).await,
        201,
    )
    .await;
    a["id"].as_str().expect("activity id").to_owned()
}

/// `leader` made the leader of `team` by `staff`.
pub async fn lead(app: &TestApp, staff: &str, team: &str, leader: &str) {
    let path = format!("/teams/{team}/members/{leader}");
    let body = json!({"role": "leader"});
    ok(call(app, Method::PUT, &path, staff, Some(body)).await, 200).await;
}

/// `minutes` recorded by `recorder` and approved by `approver`; returns the log id.
pub async fn served(
    app: &TestApp,
    recorder: &str,
    approver: &str,
    activity: &str,
    volunteer: &str,
    minutes: i64,
) -> String {
    let body = json!({"activity_id": activity, "volunteer_id": volunteer, "minutes": minutes});
    let log = ok(
        call(app, Method::POST, "/activity-logs", recorder, Some(body)).await,
        201,
    )
    .await;
    let id = log["id"].as_str().expect("log id").to_owned();
    let path = format!("/activity-logs/{id}/approve");
    ok(
        call(app, Method::POST, &path, approver, Some(json!({}))).await,
        200,
    )
    .await;
    id
}

/// Sets the service's clock.
pub fn at(app: &TestApp, when: &str) {
    let t: DateTime<Utc> = when.parse().expect("an RFC 3339 time");
    app.clock.set(t);
}

async fn get(app: &TestApp, path: &str, token: &str) -> Value {
    ok(call(app, Method::GET, path, token, None).await, 200).await
}

#[actix_web::test]
async fn the_summary_of_a_month_agrees_with_the_ledger() {
    let app = spawn_app().await;
    at(&app, "2026-11-10T02:00:00Z");
    let desk = app.user_named(Role::Staff, "社工").await;
    let staff = desk.token.clone();
    let (_, admin) = person(&app, "主任", Role::Admin).await;
    let t = team(&app, &staff, "党员义工队").await;
    let a = activity(&app, &staff, Some(&t), "敬老院探访").await;
    let other = activity(&app, &staff, None, "社区清扫").await;
    let mut people = Vec::new();
    for name in ["李阿姨", "王师傅", "张同学"] {
        people.push(app.user_named(Role::Volunteer, name).await);
    }
    let volunteers: Vec<(String, String)> = people
        .iter()
        .map(|p| (p.id.clone(), p.token.clone()))
        .collect();
    let (v1, v2, v3) = (&volunteers[0], &volunteers[1], &volunteers[2]);
    served(&app, &staff, &admin, &a, &v1.0, 120).await;
    let reversed = served(&app, &staff, &admin, &a, &v2.0, 90).await;
    served(&app, &staff, &admin, &other, &v3.0, 30).await;
    served(&app, &staff, &admin, &other, &v1.0, 60).await;
    let path = format!("/activity-logs/{reversed}/reverse");
    let body = json!({"reason": "recorded twice"});
    ok(
        call(&app, Method::POST, &path, &staff, Some(body)).await,
        200,
    )
    .await;
    // A reward, one redemption handed over and one cancelled (refunded).
    let body = json!({"name": "大米", "cost_points": 40});
    let reward = ok(
        call(&app, Method::POST, "/rewards", &staff, Some(body)).await,
        201,
    )
    .await;
    let body = json!({"reward_id": reward["id"]});
    let kept = ok(
        call(
            &app,
            Method::POST,
            "/redemptions",
            &v1.1,
            Some(body.clone()),
        )
        .await,
        201,
    )
    .await;
    let refunded = ok(
        call(&app, Method::POST, "/redemptions", &v1.1, Some(body)).await,
        201,
    )
    .await;
    let code = json!({"pickup_code": kept["pickup_code"]});
    ok(
        call(
            &app,
            Method::POST,
            "/redemptions/fulfil",
            &staff,
            Some(code),
        )
        .await,
        200,
    )
    .await;
    let path = format!(
        "/redemptions/{}/cancel",
        refunded["id"].as_str().expect("id")
    );
    ok(
        call(&app, Method::POST, &path, &v1.1, Some(json!({}))).await,
        200,
    )
    .await;
    // An adjustment moves points but is none of the summary's figures.
    let body = json!({"volunteer_id": v3.0, "amount": 7, "reason": "opening"});
    ok(
        call(
            &app,
            Method::POST,
            "/ledger/adjustments",
            &admin,
            Some(body),
        )
        .await,
        201,
    )
    .await;
    // A donation to the fund, and a wish confirmed (its points are earned, like an approval's).
    app.donated(&people[0], 25).await;
    let wish = app.fulfilled_wish(&desk, &people[2], 15).await;
    app.confirm_wish(&desk, &wish, &json!({}))
        .expect_status(StatusCode::OK)
        .await;

    let s = get(&app, "/reports/summary", &staff).await;
    assert_eq!(s["from"], "2026-10-31T16:00:00Z", "{s}");
    assert_eq!(s["to"], "2026-11-30T16:00:00Z");
    // The ledger's own figures, read per volunteer.
    let (mut earned, mut spent, mut minutes) = (0, 0, 0);
    for (id, _) in &volunteers {
        let b = get(&app, &format!("/volunteers/{id}/balance"), &staff).await;
        earned += b["earned_total"].as_i64().expect("earned");
        spent += b["spent_total"].as_i64().expect("spent");
        minutes += b["minutes_served"].as_i64().expect("minutes");
    }
    assert_eq!(s["points_earned"], earned);
    assert_eq!(s["points_earned"], 120 + 30 + 60 + 15);
    assert_eq!(s["points_redeemed"], spent);
    assert_eq!(s["points_redeemed"], 40);
    assert_eq!(s["minutes_served"], minutes);
    assert_eq!(s["minutes_served"], 210);
    assert_eq!(s["logs_approved"], 3);
    assert_eq!(s["volunteers_active"], 2);
    assert_eq!(s["redemptions_fulfilled"], 1);
    assert_eq!(s["points_donated"], 25);
    assert_eq!(s["wishes_confirmed"], 1);
    assert_eq!(
        s["by_team"],
        json!([{"team_id": t, "name": "党员义工队", "volunteers_active": 1,
                "minutes_served": 120, "points_earned": 120}])
    );

    // One team: its log figures only; the rest stay community-wide.
    let s = get(&app, &format!("/reports/summary?team_id={t}"), &staff).await;
    assert_eq!(s["minutes_served"], 120);
    assert_eq!(s["logs_approved"], 1);
    assert_eq!(s["points_earned"], 120);
    assert_eq!(s["points_redeemed"], 40);

    // Another month holds none of it.
    let s = get(
        &app,
        "/reports/summary?from=2026-11-30T16:00:00Z&to=2026-12-31T16:00:00Z",
        &staff,
    )
    .await;
    assert_eq!(
        (s["minutes_served"].as_i64(), s["points_earned"].as_i64()),
        (Some(0), Some(0))
    );
    assert_eq!(s["points_redeemed"], 0);
    assert_eq!(s["points_donated"], 0);
    assert_eq!(s["wishes_confirmed"], 0);
    assert_eq!(s["by_team"], json!([]));
}

#[actix_web::test]
async fn the_summary_is_for_staff_and_for_a_leader_with_their_team() {
    let app = spawn_app().await;
    let (_, staff) = person(&app, "社工", Role::Staff).await;
    let (leader, leader_token) = person(&app, "队长", Role::Volunteer).await;
    let (_, volunteer) = person(&app, "队员", Role::Volunteer).await;
    let mine = team(&app, &staff, "蒋姐姐助老服务队").await;
    let theirs = team(&app, &staff, "我来说法评理团").await;
    lead(&app, &staff, &mine, &leader).await;

    for (token, path, status) in [
        (&volunteer, "/reports/summary".to_owned(), 403),
        (&leader_token, "/reports/summary".to_owned(), 403),
        (
            &leader_token,
            format!("/reports/summary?team_id={theirs}"),
            403,
        ),
        (
            &leader_token,
            format!("/reports/summary?team_id={mine}"),
            200,
        ),
        (
            &staff,
            format!("/reports/summary?team_id={}", uuid::Uuid::new_v4()),
            404,
        ),
        (
            &staff,
            "/reports/summary?from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z".to_owned(),
            422,
        ),
    ] {
        let res = call(&app, Method::GET, &path, token, None).await;
        assert_eq!(res.status().as_u16(), status, "{path}");
    }
}

#[actix_web::test]
async fn the_leaderboard_shares_ranks_on_ties_and_masks_names_for_volunteers() {
    let app = spawn_app().await;
    at(&app, "2026-11-10T02:00:00Z");
    let (_, staff) = person(&app, "社工", Role::Staff).await;
    let (_, admin) = person(&app, "主任", Role::Admin).await;
    let a = activity(&app, &staff, None, "邻里义集").await;
    let b = activity(&app, &staff, None, "智慧消防").await;
    let li = person(&app, "李阿姨", Role::Volunteer).await;
    let wang = person(&app, "王师傅", Role::Volunteer).await;
    let zhang = person(&app, "张同学", Role::Volunteer).await;
    let idle = person(&app, "赵大爷", Role::Volunteer).await;
    served(&app, &staff, &admin, &a, &li.0, 60).await;
    served(&app, &staff, &admin, &a, &wang.0, 30).await;
    served(&app, &staff, &admin, &b, &wang.0, 30).await;
    served(&app, &staff, &admin, &a, &zhang.0, 45).await;

    let board = get(&app, "/reports/leaderboard", &staff).await;
    let rows = board["items"].as_array().expect("items");
    let ranks: Vec<_> = rows
        .iter()
        .map(|r| (r["rank"].as_i64(), r["name"].as_str()))
        .collect();
    // 李阿姨 and 王师傅 have equal minutes and points: rank 1 twice, then 3 (by name: 李 < 王).
    assert_eq!(
        ranks,
        [
            (Some(1), Some("李阿姨")),
            (Some(1), Some("王师傅")),
            (Some(3), Some("张同学"))
        ]
    );
    assert_eq!(rows[0]["volunteer_id"], li.0);
    assert_eq!(rows[1]["minutes_served"], 60);
    assert_eq!(rows[1]["points_earned"], 60);

    let board = get(&app, "/reports/leaderboard", &wang.1).await;
    let rows = board["items"].as_array().expect("items");
    assert_eq!(rows[0]["name"], "李**");
    assert_eq!(rows[0]["volunteer_id"], Value::Null);
    assert_eq!(rows[1]["name"], "王师傅", "the caller's own row is whole");
    assert_eq!(rows[1]["volunteer_id"], wang.0);
    assert_eq!(rows[2]["name"], "张**");
    assert!(
        rows.iter()
            .all(|r| r["name"] != "赵大爷" && r["name"] != "赵**"),
        "{idle:?}"
    );

    let board = get(&app, "/reports/leaderboard?limit=1", &zhang.1).await;
    assert_eq!(board["items"].as_array().map(Vec::len), Some(1));
    let res = call(
        &app,
        Method::GET,
        "/reports/leaderboard?limit=0",
        &zhang.1,
        None,
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[actix_web::test]
async fn the_service_record_adds_up_approved_service_by_year() {
    let app = spawn_app().await;
    let (_, staff) = person(&app, "社工", Role::Staff).await;
    let (_, admin) = person(&app, "主任", Role::Admin).await;
    let (v, token) = person(&app, "李阿姨", Role::Volunteer).await;
    // 2025-12-31T17:00Z is already 2026 in Shanghai.
    at(&app, "2025-06-01T02:00:00Z");
    let a = activity(&app, &staff, None, "夏季义诊").await;
    served(&app, &staff, &admin, &a, &v, 60).await;
    at(&app, "2025-12-31T17:00:00Z");
    let b = activity(&app, &staff, None, "元旦游园").await;
    served(&app, &staff, &admin, &b, &v, 30).await;
    let c = activity(&app, &staff, None, "新年慰问").await;
    let log = served(&app, &staff, &admin, &c, &v, 45).await;
    let path = format!("/activity-logs/{log}/reverse");
    ok(
        call(
            &app,
            Method::POST,
            &path,
            &staff,
            Some(json!({"reason": "not there"})),
        )
        .await,
        200,
    )
    .await;

    let r = get(&app, "/me/service-record", &token).await;
    assert_eq!(r["volunteer_id"], v);
    assert_eq!(r["name"], "李阿姨");
    assert_eq!(r["minutes_served"], 90);
    assert_eq!(r["activities"], 2);
    assert_eq!(r["first_served_at"], "2025-06-01T02:00:00Z");
    assert_eq!(r["last_served_at"], "2025-12-31T17:00:00Z");
    assert_eq!(
        r["by_year"],
        json!([{"year": 2026, "minutes_served": 30, "activities": 1},
               {"year": 2025, "minutes_served": 60, "activities": 1}])
    );
}
