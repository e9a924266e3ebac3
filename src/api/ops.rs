//! Operations: liveness and readiness.

use actix_web::get;
use actix_web::{web, HttpResponse};
use serde_json::json;

use crate::error::AppError;
use crate::startup::AppState;

#[utoipa::path(tag = "operations", responses((status = 200, description = "the process runs")))]
#[get("/healthz")]
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({"status": "ok"}))
}

#[utoipa::path(tag = "operations", responses((status = 200, description = "the database answers")))]
#[get("/readyz")]
pub async fn readyz(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    state.db.ping().await.map_err(|e| {
        tracing::warn!(error = %e, "not ready");
        AppError::Unavailable
    })?;
    Ok(HttpResponse::Ok().json(json!({"status": "ready"})))
}
