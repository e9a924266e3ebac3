//! Micro-wishes (微心愿): staff record them, anyone signed in adopts and fulfils one, staff
//! confirm it (crediting the adopter) or reject, release or cancel it. The beneficiary is shown
//! only to staff and the adopter; a wish someone may not see is 404 to them.

use actix_web::http::StatusCode;
use actix_web::{get, post, web, HttpResponse};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::extract::{int, json, read_page, run_checked, Command, NoFields, PageParams};
use crate::auth::{CurrentUser, Staff};
use crate::db::wishes::{self, Caller, NewWish, WishView};
use crate::db::DbConnection;
use crate::domain::ids::{VolunteerId, WishId};
use crate::domain::text;
use crate::domain::time;
use crate::domain::wishes::{self as rules, WishStatus};
use crate::error::{parse_id, AppError, FieldErrors};
use crate::startup::AppState;

/// This module's routes, inside `/api/v1`.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(resource![list, create])
        .service(resource![get])
        .service(resource![adopt])
        .service(resource![release])
        .service(resource![fulfil])
        .service(resource![reject])
        .service(resource![confirm])
        .service(resource![cancel]);
}

/// A micro-wish.
#[derive(Serialize, ToSchema)]
pub struct Wish {
    #[schema(format = Uuid)]
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    /// Who the family is, where, how to reach them: shown only to staff and the adopter.
    pub beneficiary: Option<String>,
    pub team_id: Option<String>,
    /// What confirmation credits by default, 0–10,000.
    pub points: i64,
    pub due_at: Option<DateTime<Utc>>,
    pub status: WishStatus,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// Kept after confirmation and cancellation; cleared by release.
    pub adopted_by: Option<String>,
    pub adopted_by_name: Option<String>,
    pub adopted_at: Option<DateTime<Utc>>,
    pub fulfilment_note: Option<String>,
    pub fulfilled_at: Option<DateTime<Utc>>,
    /// Why staff last sent the fulfilment back.
    pub rejection_reason: Option<String>,
    pub confirmed_by: Option<String>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub confirm_note: Option<String>,
    pub points_awarded: Option<i64>,
    /// The credit of the confirmation (none for 0 points).
    pub transaction_id: Option<String>,
    pub cancel_reason: Option<String>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

impl Wish {
    /// The wish as `caller` sees it.
    fn shown_to(v: WishView, caller: Caller<'_>) -> Wish {
        let beneficiary = v.beneficiary_visible_to(caller);
        let status = v.status();
        let w = v.wish;
        Wish {
            id: w.id.as_str().to_owned(),
            title: w.title,
            description: w.description,
            beneficiary: beneficiary.then_some(w.beneficiary),
            team_id: w.team_id.map(|t| t.to_string()),
            points: w.points,
            due_at: w.due_at.map(|t| t.and_utc()),
            status,
            created_by: w.created_by.to_string(),
            created_at: w.created_at.and_utc(),
            adopted_by: w.adopted_by.map(|v| v.to_string()),
            adopted_by_name: v.adopted_by_name,
            adopted_at: w.adopted_at.map(|t| t.and_utc()),
            fulfilment_note: w.fulfilment_note,
            fulfilled_at: w.fulfilled_at.map(|t| t.and_utc()),
            rejection_reason: w.rejection_reason,
            confirmed_by: w.confirmed_by.map(|v| v.to_string()),
            confirmed_at: w.confirmed_at.map(|t| t.and_utc()),
            confirm_note: w.confirm_note,
            points_awarded: w.points_awarded,
            transaction_id: w.transaction_id.map(|t| t.to_string()),
            cancel_reason: w.cancel_reason,
            cancelled_at: w.cancelled_at.map(|t| t.and_utc()),
        }
    }
}

/// `POST /wishes`.
#[derive(Deserialize, ToSchema)]
pub struct WishInput {
    /// 1–100 characters.
    pub title: String,
    /// Up to 2,000 characters.
    pub description: Option<String>,
    /// 1–500 characters.
    pub beneficiary: String,
    pub team_id: Option<String>,
    /// 0–10,000.
    #[serde(deserialize_with = "int")]
    pub points: i64,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub due_at: Option<time::SentTime>,
}

/// `POST /wishes/{id}/fulfil`.
#[derive(Deserialize, ToSchema)]
pub struct WishFulfilment {
    /// 1–500 characters: what was done.
    pub note: String,
}

/// `POST /wishes/{id}/reject` and `/cancel`.
#[derive(Deserialize, ToSchema)]
pub struct WishReason {
    /// 1–500 characters.
    pub reason: String,
}

/// `POST /wishes/{id}/confirm`.
#[derive(Deserialize, ToSchema)]
pub struct WishConfirmation {
    /// 0–10,000; default the wish's `points`; a different value needs a `note`.
    #[serde(default, deserialize_with = "int")]
    pub points: Option<i64>,
    /// 1–500 characters.
    pub note: Option<String>,
}

/// `?status=` of the wish list.
#[derive(Deserialize, IntoParams)]
pub struct StatusFilter {
    /// `open`, `adopted`, `fulfilled`, `confirmed` or `cancelled`.
    pub status: Option<WishStatus>,
}

fn caller_of(c: &CurrentUser) -> (VolunteerId, bool) {
    (c.id.clone(), c.is_staff())
}

/// Runs a move of the wish at `path` as `caller`, with what `check` reads from the body, and
/// answers the wish as they now see it.
async fn run_move<B, P, F>(
    state: &AppState,
    caller: &CurrentUser,
    path: &Uuid,
    cmd: Command<B>,
    check: impl FnOnce(B) -> Result<P, AppError>,
    work: F,
) -> Result<HttpResponse, AppError>
where
    P: Send + 'static,
    F: FnOnce(
            &mut DbConnection,
            NaiveDateTime,
            &WishId,
            Caller<'_>,
            P,
        ) -> Result<WishView, AppError>
        + Send
        + 'static,
{
    let id = WishId::from(*path);
    let (who, is_staff) = caller_of(caller);
    run_checked(
        state,
        caller,
        cmd.keyed,
        StatusCode::OK,
        check(cmd.body),
        move |conn, now, p| {
            let c = Caller { id: &who, is_staff };
            Ok(Wish::shown_to(work(conn, now, &id, c, p)?, c))
        },
    )
    .await
}

#[utoipa::path(operation_id = "create_wish", tag = "wishes", request_body = WishInput,
    responses(
        (status = 201, body = Wish),
        (status = 403, description = "forbidden"),
        (status = 404, description = "not-found"),
    ))]
#[post("/wishes")]
pub async fn create(
    state: web::Data<AppState>,
    staff: Staff,
    cmd: Command<WishInput>,
) -> Result<HttpResponse, AppError> {
    let checked = check_new_wish(cmd.body);
    let (by, _) = caller_of(&staff.0);
    run_checked(
        &state,
        &staff.0,
        cmd.keyed,
        StatusCode::CREATED,
        checked,
        move |conn, now, new| {
            let created = wishes::create(conn, new, &by, now)?;
            Ok(Wish::shown_to(created, Caller::staff(&by)))
        },
    )
    .await
}

/// The wish a `POST /wishes` body describes, or the fields that break a rule. A `team_id` that
/// is not a UUID is an unknown team: 404.
fn check_new_wish(b: WishInput) -> Result<NewWish, AppError> {
    let mut errs = FieldErrors::default();
    let title = errs.check("title", text::title(&b.title));
    let description = errs.check_opt("description", b.description.as_deref(), text::description);
    let beneficiary = errs.check("beneficiary", rules::beneficiary(&b.beneficiary));
    let points = errs.check("points", rules::points(b.points));
    let due_at = errs.check_opt("due_at", b.due_at.as_ref(), time::SentTime::accepted);
    let (Some(title), Some(description), Some(beneficiary), Some(points), Some(due_at)) =
        (title, description, beneficiary, points, due_at)
    else {
        return Err(errs.into_error());
    };
    let team_id = b.team_id.as_deref().map(parse_id).transpose()?;
    Ok(NewWish {
        title,
        description: description.filter(|d| !d.is_empty()),
        beneficiary,
        team_id,
        points,
        due_at,
    })
}

#[utoipa::path(operation_id = "list_wishes", tag = "wishes", params(PageParams, StatusFilter),
    responses(
        (status = 200, body = crate::api::schema::WishPage),
    ))]
#[get("/wishes")]
pub async fn list(
    state: web::Data<AppState>,
    caller: CurrentUser,
    page: web::Query<PageParams>,
    filter: web::Query<StatusFilter>,
) -> Result<HttpResponse, AppError> {
    let status = filter.status;
    let (who, is_staff) = caller_of(&caller);
    let reader = who.clone();
    read_page(
        &state,
        &page,
        move |conn, limit, cursor| {
            let c = Caller {
                id: &reader,
                is_staff,
            };
            wishes::list(conn, c, status, limit, cursor)
        },
        WishView::cursor,
        |v| Wish::shown_to(v, Caller { id: &who, is_staff }),
    )
    .await
}

#[utoipa::path(operation_id = "get_wish", tag = "wishes",
    responses(
        (status = 200, body = Wish),
    ))]
#[get("/wishes/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    caller: CurrentUser,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    let id = WishId::from(path.into_inner());
    let (who, is_staff) = caller_of(&caller);
    let wish = state
        .db
        .read(move |conn| {
            let c = Caller { id: &who, is_staff };
            match wishes::find(conn, &id)? {
                Some(v) if v.visible_to(c) => Ok(Wish::shown_to(v, c)),
                _ => Err(AppError::NotFound("wish")),
            }
        })
        .await?;
    Ok(json(StatusCode::OK, &wish))
}

#[utoipa::path(operation_id = "adopt_wish", tag = "wishes",
    responses(
        (status = 200, body = Wish),
        (status = 409, description = "wish-not-open, limit-reached"),
    ))]
#[post("/wishes/{id}/adopt")]
pub async fn adopt(
    state: web::Data<AppState>,
    caller: CurrentUser,
    path: web::Path<Uuid>,
    cmd: Command<NoFields>,
) -> Result<HttpResponse, AppError> {
    run_move(
        &state,
        &caller,
        &path,
        cmd,
        no_fields,
        |conn, now, id, c, ()| wishes::adopt(conn, id, c.id, now),
    )
    .await
}

#[utoipa::path(operation_id = "release_wish", tag = "wishes",
    responses(
        (status = 200, body = Wish),
        (status = 403, description = "forbidden"),
        (status = 409, description = "wish-not-adopted"),
    ))]
#[post("/wishes/{id}/release")]
pub async fn release(
    state: web::Data<AppState>,
    caller: CurrentUser,
    path: web::Path<Uuid>,
    cmd: Command<NoFields>,
) -> Result<HttpResponse, AppError> {
    run_move(
        &state,
        &caller,
        &path,
        cmd,
        no_fields,
        |conn, _, id, c, ()| wishes::release(conn, id, c),
    )
    .await
}

#[utoipa::path(operation_id = "fulfil_wish", tag = "wishes", request_body = WishFulfilment,
    responses(
        (status = 200, body = Wish),
        (status = 403, description = "forbidden"),
        (status = 409, description = "wish-not-adopted"),
    ))]
#[post("/wishes/{id}/fulfil")]
pub async fn fulfil(
    state: web::Data<AppState>,
    caller: CurrentUser,
    path: web::Path<Uuid>,
    cmd: Command<WishFulfilment>,
) -> Result<HttpResponse, AppError> {
    let check = |b: WishFulfilment| text::reason(&b.note).map_err(|m| AppError::invalid("note", m));
    run_move(
        &state,
        &caller,
        &path,
        cmd,
        check,
        |conn, now, id, c, note| wishes::fulfil(conn, id, c, &note, now),
    )
    .await
}

fn no_fields(_: NoFields) -> Result<(), AppError> {
    Ok(())
}

fn check_reason(b: WishReason) -> Result<String, AppError> {
    text::reason(&b.reason).map_err(|m| AppError::invalid("reason", m))
}

#[utoipa::path(operation_id = "reject_wish", tag = "wishes", request_body = WishReason,
    responses(
        (status = 200, body = Wish),
        (status = 403, description = "forbidden, self-approval"),
        (status = 409, description = "wish-not-fulfilled"),
    ))]
#[post("/wishes/{id}/reject")]
pub async fn reject(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<Uuid>,
    cmd: Command<WishReason>,
) -> Result<HttpResponse, AppError> {
    run_move(
        &state,
        &staff.0,
        &path,
        cmd,
        check_reason,
        |conn, _, id, c, reason| wishes::reject(conn, id, c.id, &reason),
    )
    .await
}

#[utoipa::path(operation_id = "confirm_wish", tag = "wishes", request_body = WishConfirmation,
    responses(
        (status = 200, body = Wish),
        (status = 403, description = "forbidden, self-approval"),
        (status = 409, description = "wish-not-fulfilled"),
    ))]
#[post("/wishes/{id}/confirm")]
pub async fn confirm(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<Uuid>,
    cmd: Command<WishConfirmation>,
) -> Result<HttpResponse, AppError> {
    run_move(
        &state,
        &staff.0,
        &path,
        cmd,
        check_confirmation,
        |conn, now, id, c, (points, note)| {
            wishes::confirm(conn, id, c.id, points, note.as_deref(), now)
        },
    )
    .await
}

/// The points and note of a confirmation, or the fields that break a rule.
fn check_confirmation(b: WishConfirmation) -> Result<(Option<i64>, Option<String>), AppError> {
    let mut errs = FieldErrors::default();
    let points = errs.check_opt("points", b.points, rules::points);
    let note = errs.check_opt("note", b.note.as_deref(), text::reason);
    errs.finish_with(points.zip(note))
}

#[utoipa::path(operation_id = "cancel_wish", tag = "wishes", request_body = WishReason,
    responses(
        (status = 200, body = Wish),
        (status = 403, description = "forbidden"),
        (status = 409, description = "wish-closed"),
    ))]
#[post("/wishes/{id}/cancel")]
pub async fn cancel(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<Uuid>,
    cmd: Command<WishReason>,
) -> Result<HttpResponse, AppError> {
    run_move(
        &state,
        &staff.0,
        &path,
        cmd,
        check_reason,
        |conn, now, id, c, reason| wishes::cancel(conn, id, c.id, &reason, now),
    )
    .await
}
