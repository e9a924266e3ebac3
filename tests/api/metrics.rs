//! `GET /metrics`: Prometheus text with requests by route pattern, latency histograms, the pool
//! and the ledger; closed to anyone without `METRICS_TOKEN` when one is set.

use reqwest::{Method, Response, StatusCode};
use serde_json::json;

use crate::helpers::{header, on_postgres, spawn_app, spawn_app_with, Answer, TestApp, TestUser};

async fn metrics_page(app: &TestApp, token: Option<&str>) -> Response {
    let authorization = token.map(|t| format!("Bearer {t}"));
    let headers: Vec<(&str, &str)> = authorization
        .iter()
        .map(|a| ("Authorization", a.as_str()))
        .collect();
    app.send_raw(Method::GET, "/metrics", &headers, None).await
}

/// An app where an admin has adjusted a volunteer's points by 30: the app, the admin and the
/// volunteer's id.
async fn adjusted() -> (TestApp, TestUser, String) {
    let app = spawn_app().await;
    let volunteer = app.volunteer().await.id;
    let admin = app.admin().await;
    app.adjust(
        &admin,
        "metrics-adjustment",
        &json!({"volunteer_id": volunteer, "amount": 30, "reason": "metrics"}),
    )
    .expect_status(StatusCode::CREATED)
    .await;
    (app, admin, volunteer)
}

#[actix_web::test]
async fn metrics_count_requests_by_route_pattern_with_latency_and_ledger_kinds() {
    let (app, admin, volunteer) = adjusted().await;
    app.points_of(&admin, &volunteer, "balance")
        .expect_status(StatusCode::OK)
        .await;

    let res = metrics_page(&app, None).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(header(&res, "content-type").starts_with("text/plain"));
    let page = res.text().await.expect("a page");
    assert!(
        page.contains(r#"http_requests_total{route="/api/v1/volunteers/{id}/balance",method="GET",status="200"}"#),
        "{page}"
    );
    assert!(
        !page.contains(&volunteer),
        "a raw id became a label: {page}"
    );
    assert!(
        page.contains("http_request_duration_seconds_bucket{"),
        "{page}"
    );
    assert!(
        page.contains(r#"ledger_transactions_total{kind="adjust"}"#),
        "{page}"
    );
    assert!(page.contains("db_pool_max_connections"), "{page}");
    assert!(page.contains("db_pool_wait_seconds_bucket"), "{page}");
}

#[actix_web::test]
async fn on_sqlite_the_wal_is_checkpointed_beside_the_writer_after_its_batches() {
    if on_postgres() {
        return; // PostgreSQL checkpoints by itself.
    }
    let (app, _, _) = adjusted().await;
    // The checkpointer runs on its own thread once the batch has committed: wait for it.
    for _ in 0..100 {
        let page = metrics_page(&app, None).await.text().await.expect("a page");
        if page.contains("db_wal_checkpoints_total") {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("no WAL checkpoint ran within 5 s of a committed write");
}

#[actix_web::test]
async fn with_a_metrics_token_only_a_request_bearing_it_reads_the_page() {
    let app = spawn_app_with(&[("METRICS_TOKEN", "metrics-secret")]).await;

    metrics_page(&app, None)
        .expect_problem(401, "unauthenticated")
        .await;
    metrics_page(&app, Some("not-the-secret"))
        .expect_problem(403, "forbidden")
        .await;

    let right = metrics_page(&app, Some("metrics-secret")).await;
    assert_eq!(right.status(), StatusCode::OK);
    assert!(right
        .text()
        .await
        .expect("a page")
        .contains("http_requests_total"));
}

/// `GET /healthz` sending this `X-Request-Id`.
async fn healthz_with_request_id(app: &TestApp, id: &str) -> Response {
    app.send_raw(Method::GET, "/healthz", &[("X-Request-Id", id)], None)
        .await
}

#[actix_web::test]
async fn every_answer_carries_a_request_id_taken_from_a_sane_request_header() {
    let app = spawn_app().await;

    let given = healthz_with_request_id(&app, "edge-7f3a9c").await;
    assert_eq!(given.headers()["x-request-id"], "edge-7f3a9c");

    let insane = healthz_with_request_id(&app, "not a sane id; DROP").await;
    let made = insane.headers()["x-request-id"].to_str().expect("ASCII");
    assert!(uuid::Uuid::parse_str(made).is_ok(), "{made}");

    let problem = app
        .send_raw(Method::GET, "/api/v1/no-such-route", &[], None)
        .await;
    assert_eq!(problem.status(), StatusCode::NOT_FOUND);
    assert!(problem.headers().contains_key("x-request-id"));
}
