//! Operations: liveness, readiness and the metrics page.

use actix_web::get;
use actix_web::{web, HttpRequest, HttpResponse};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::error::AppError;
use crate::startup::AppState;

#[utoipa::path(tag = "operations", security(()), responses((status = 200, description = "the process runs")))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

#[utoipa::path(tag = "operations", security(()), responses((status = 200, description = "the database answers")))]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    state.db.ping().await.map_err(|e| {
        tracing::warn!(error = %e, "not ready");
        AppError::Unavailable
    })?;
    Ok(HttpResponse::Ok().json(json!({"status": "ready"})))
}

/// The Prometheus page. With `METRICS_TOKEN` set, only `Authorization: Bearer <token>` reads it.
#[utoipa::path(tag = "operations", security(()),
    responses(
        (status = 200, description = "Prometheus text format", content_type = "text/plain", body = String),
        (status = 401, description = "unauthenticated"),
        (status = 403, description = "forbidden"),
    ))]
#[get("/metrics")]
pub async fn metrics(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, AppError> {
    if let Some(expected) = &state.config.metrics_token {
        let given = crate::auth::bearer_token(&req)?;
        // Compare digests, so the time taken does not tell how much of the token was right.
        if Sha256::digest(given.as_bytes()) != Sha256::digest(expected.as_bytes()) {
            return Err(AppError::Forbidden("this is not the metrics token"));
        }
    }
    state.db.record_pool_gauges();
    Ok(HttpResponse::Ok()
        .content_type("text/plain; version=0.0.4; charset=utf-8")
        .body(crate::monitoring::render()))
}
