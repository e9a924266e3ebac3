//! The rotating check-in code (JSON and SVG QR) and check-in/check-out at the site. Mounted and
//! documented from `activities`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use actix_web::http::{header, StatusCode};
use actix_web::{get, post};
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::activity_logs::{ActivityLog, Location};
use super::extract::{run_command, Command};
use crate::auth::CurrentUser;
use crate::db::activities::{self, Manager};
use crate::db::activity_logs;
use crate::domain::activities as rules;
use crate::domain::ids::ActivityId;
use crate::error::{parse_id, AppError, Conflict};
use crate::startup::AppState;

/// The current check-in code.
#[derive(Serialize, ToSchema)]
pub struct CheckInCode {
    /// 6 digits.
    #[schema(pattern = r"^[0-9]{6}$")]
    pub code: String,
    /// The end of this code's minute (it is still accepted during the next one).
    pub valid_until: DateTime<Utc>,
    /// `vp-checkin:<activity_id>:<code>`: what the QR code shows.
    pub qr_payload: String,
}

async fn current_code(
    state: &AppState,
    caller: &CurrentUser,
    raw: String,
) -> Result<CheckInCode, AppError> {
    let (caller_id, staff) = (caller.id.clone(), caller.is_staff());
    let row = state
        .db
        .read(move |conn| {
            let who = Manager::acting(conn, &caller_id, staff)?;
            let row = activities::get(conn, &parse_id::<ActivityId>(&raw)?)?;
            who.require(row.team_id.as_deref())?;
            Ok(row)
        })
        .await?;
    if row.is_cancelled() {
        return Err(AppError::Conflict(Conflict::ActivityCancelled));
    }
    let step = rules::code_step(state.clock.now_naive());
    let code = rules::code_at(&row.secret(), step);
    Ok(CheckInCode {
        qr_payload: rules::qr_payload(row.id.as_str(), &code),
        valid_until: rules::step_end(step).and_utc(),
        code,
    })
}

#[utoipa::path(tag = "activities",
    responses(
        (status = 200, body = CheckInCode),
        (status = 403, description = "forbidden"),
        (status = 409, description = "activity-cancelled"),
    ))]
#[get("/activities/{id}/check-in-code")]
pub async fn check_in_code(
    state: web::Data<AppState>,
    caller: CurrentUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let code = current_code(&state, &caller, path.into_inner()).await?;
    Ok(HttpResponse::Ok()
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .json(code))
}

#[utoipa::path(tag = "activities",
    responses(
        (status = 200, content_type = "image/svg+xml", body = String),
        (status = 403, description = "forbidden"),
        (status = 409, description = "activity-cancelled"),
    ))]
#[get("/activities/{id}/check-in-code.svg")]
pub async fn check_in_code_svg(
    state: web::Data<AppState>,
    caller: CurrentUser,
    path: web::Path<String>,
) -> Result<HttpResponse, AppError> {
    let code = current_code(&state, &caller, path.into_inner()).await?;
    let qr = qrcode::QrCode::new(code.qr_payload.as_bytes())
        .map_err(|e| AppError::Internal(anyhow::anyhow!("QR code failed: {e}")))?;
    let svg = qr
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(256, 256)
        .build();
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "image/svg+xml"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(svg))
}

/// `POST /activities/{id}/check-in`.
#[derive(Deserialize, ToSchema)]
pub struct CheckIn {
    /// The 6-digit code shown at the site.
    #[schema(pattern = r"^[0-9]{6}$")]
    pub code: String,
    pub location: Option<Location>,
}

/// `POST /activities/{id}/check-out`.
#[derive(Deserialize, ToSchema)]
pub struct CheckOut {
    pub location: Option<Location>,
}

fn position(location: Option<Location>) -> Result<Option<activity_logs::Position>, AppError> {
    match location {
        None => Ok(None),
        Some(l) => {
            rules::check_coordinates(l.lat, l.lng).map_err(|m| AppError::invalid("location", m))?;
            Ok(Some((l.lat, l.lng, l.accuracy_m)))
        }
    }
}

#[utoipa::path(tag = "activities", request_body = CheckIn,
    responses(
        (status = 201, body = ActivityLog),
        (status = 409, description = "already-checked-in, outside-check-in-window, activity-cancelled"),
        (status = 422, description = "invalid-check-in-code, outside-geofence"),
        (status = 429, description = "rate-limited"),
    ))]
#[post("/activities/{id}/check-in")]
pub async fn check_in(
    state: web::Data<AppState>,
    caller: CurrentUser,
    path: web::Path<Uuid>,
    cmd: Command<CheckIn>,
) -> Result<HttpResponse, AppError> {
    let (id, caller_id) = (ActivityId::from(path.into_inner()), caller.id.clone());
    let attempts_key = format!("{caller_id}:{id}");
    // After 5 wrong codes in 10 minutes, no more guesses (429). The attempt is reserved before
    // the code is checked (so concurrent guesses cannot all slip through) and released unless
    // the code was wrong.
    state.limiters.check_in_codes.hit(&attempts_key).await?;
    let wrong_code = Arc::new(AtomicBool::new(false));
    let wrong = wrong_code.clone();
    // Refused inside the command, so a keyed refusal is kept and replayed like any answer.
    let (at, code) = (position(cmd.body.location), cmd.body.code);
    let answer = run_command(
        &state,
        &caller,
        cmd.keyed,
        StatusCode::CREATED,
        move |conn, now| {
            let checked_in = activity_logs::check_in(conn, &id, &caller_id, &code, at?, now);
            let was_wrong = matches!(checked_in, Err(AppError::InvalidCheckInCode));
            wrong.store(was_wrong, Ordering::SeqCst);
            Ok(ActivityLog::from(checked_in?))
        },
    )
    .await;
    // A replay's work ran only to be rolled back: it guessed nothing.
    let replayed = matches!(&answer, Ok(r) if r.headers().contains_key(super::extract::REPLAYED));
    if replayed || !wrong_code.load(Ordering::SeqCst) {
        state.limiters.check_in_codes.release(&attempts_key).await;
    }
    answer
}

#[utoipa::path(tag = "activities", request_body = CheckOut,
    responses(
        (status = 200, body = ActivityLog),
        (status = 409, description = "not-checked-in"),
    ))]
#[post("/activities/{id}/check-out")]
pub async fn check_out(
    state: web::Data<AppState>,
    caller: CurrentUser,
    path: web::Path<Uuid>,
    cmd: Command<CheckOut>,
) -> Result<HttpResponse, AppError> {
    let (id, caller_id) = (ActivityId::from(path.into_inner()), caller.id.clone());
    let at = position(cmd.body.location);
    run_command(
        &state,
        &caller,
        cmd.keyed,
        StatusCode::OK,
        move |conn, now| {
            let log = activity_logs::check_out(conn, &id, &caller_id, at?, now)?;
            Ok(ActivityLog::from(log))
        },
    )
    .await
}
