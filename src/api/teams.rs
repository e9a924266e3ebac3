//! teams endpoints (filled in by its issue).

use actix_web::web;
use utoipa::OpenApi;

/// This module's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi()]
pub struct Doc;

/// This module's routes, inside `/api/v1`.
pub fn routes(_cfg: &mut web::ServiceConfig) {}
