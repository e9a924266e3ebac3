//! `POST /volunteers/import`: the community's volunteer list as CSV (the one body that is not
//! JSON), up to 5 MiB, imported by the same function as the CLI's `import-volunteers`.

use actix_web::http::StatusCode;
use actix_web::{post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

use super::extract::{idempotency_key, media_type, read_body, request_hash, run_checked};
use crate::auth::Admin;
use crate::db::idempotency::KeyedRequest;
use crate::db::import::{self, ImportReport};
use crate::domain::import::parse;
use crate::error::AppError;
use crate::messages::Lang;
use crate::startup::AppState;

/// The largest import file (API.md: 5 MiB).
pub const MAX_IMPORT: usize = 5 * 1024 * 1024;

/// This module's routes, inside `/api/v1`.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(resource![import_volunteers]);
}

/// `?dry_run=`.
#[derive(Debug, Deserialize, IntoParams)]
pub struct ImportQuery {
    /// Report what the import would do and change nothing (default false).
    pub dry_run: Option<bool>,
}

#[utoipa::path(operation_id = "import_volunteers", tag = "people", params(ImportQuery),
    request_body(content = String, content_type = "text/csv",
        description = "A header row naming phone, name (required), team, team_role, opening_points; UTF-8 or GB18030"),
    responses((status = 200, body = ImportReport), (status = 403, description = "forbidden")))]
#[post("/volunteers/import")]
pub async fn import_volunteers(
    state: web::Data<AppState>,
    admin: Admin,
    req: HttpRequest,
    query: web::Query<ImportQuery>,
    mut payload: web::Payload,
) -> Result<HttpResponse, AppError> {
    let key = idempotency_key(&req)?;
    let bytes = read_body(&req, &mut payload, MAX_IMPORT).await?;
    if media_type(&req) != "text/csv" {
        return Err(AppError::UnsupportedMediaType);
    }
    let lang = Lang::of(req.headers());
    let parsed = parse(&bytes, lang).map_err(|rule| AppError::invalid("file", rule));
    let by = admin.0.id.clone();
    let dry_run = query.dry_run.unwrap_or(false);
    let keyed = key.map(|key| KeyedRequest {
        key,
        request_hash: request_hash(&req, &bytes),
        lang,
    });
    // A dry run's answer is kept under its key like any other; its work is rolled back.
    run_checked(
        &state,
        &admin.0,
        keyed,
        StatusCode::OK,
        parsed,
        move |conn, now, parsed| import::apply(conn, parsed, dry_run, Some(&by), now),
    )
    .await
}
