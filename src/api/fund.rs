//! The community fund: donations to it (`POST /donations`, idempotent) and its public figures.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;

use super::extract::{int, json, run_checked, Command};
use super::ledger::Transaction;
use crate::auth::CurrentUser;
use crate::db::fund;
use crate::domain::text;
use crate::error::{AppError, FieldErrors};
use crate::startup::AppState;

/// This module's routes, inside `/api/v1`.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(resource![donate]).service(resource![figures]);
}

/// The largest donation, in points.
const MAX_DONATION: i64 = 1_000_000;

/// `POST /donations`.
#[derive(Deserialize, ToSchema)]
pub struct DonationRequest {
    /// 1–1,000,000 points.
    #[serde(deserialize_with = "int")]
    pub amount: i64,
    /// 1–500 characters; shown on the statement.
    pub note: Option<String>,
}

#[utoipa::path(operation_id = "donate", tag = "points", request_body = DonationRequest,
    params(("Idempotency-Key" = String, Header, description = "required")),
    responses(
        (status = 201, body = Transaction),
        (status = 409, description = "insufficient-points"),
    ))]
#[post("/donations")]
pub async fn donate(
    state: web::Data<AppState>,
    caller: CurrentUser,
    cmd: Command<DonationRequest>,
) -> Result<HttpResponse, AppError> {
    cmd.require_key()?;
    let checked = check_donation(&cmd.body);
    let donor = caller.id.clone();
    run_checked(
        &state,
        &caller,
        cmd.keyed,
        StatusCode::CREATED,
        checked,
        move |conn, now, (amount, note)| {
            let tx = fund::donate(conn, &donor, amount, note.as_deref(), now)?;
            Ok(Transaction::from(tx))
        },
    )
    .await
}

/// The amount and trimmed note of a donation, or the fields that break a rule.
fn check_donation(body: &DonationRequest) -> Result<(i64, Option<String>), AppError> {
    let mut errs = FieldErrors::default();
    let amount = errs.check("amount", text::in_range(body.amount, 1, MAX_DONATION));
    let note = errs.check_opt("note", body.note.as_deref(), text::reason);
    errs.finish_with(amount.zip(note))
}

#[utoipa::path(operation_id = "get_fund", tag = "points",
    responses((status = 200, body = fund::Fund)))]
#[get("/fund")]
pub async fn figures(
    state: web::Data<AppState>,
    _caller: CurrentUser,
) -> Result<HttpResponse, AppError> {
    let figures = state.db.read(fund::figures).await?;
    Ok(json(StatusCode::OK, &figures))
}
