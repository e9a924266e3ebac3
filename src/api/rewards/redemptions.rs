//! Redemptions: spending points on a reward (`POST /redemptions`, idempotent), the desk handing it
//! out by pickup code (staff, or a clerk for their partners' rewards), cancellation with refund,
//! and the lists. Pickup codes are shown only to the owner and staff; someone else's redemption
//! is 404.

use actix_web::http::StatusCode;
use actix_web::{get, post};
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use crate::api::extract::{
    int, json, read_page, run_checked, run_command, Command, NoFields, PageParams,
};
use crate::auth::{CurrentUser, Staff};
use crate::db::redemptions::{self, Canceller, Redeem, RedemptionView};
use crate::domain::ids::{Id, RedemptionId, RewardId, VolunteerId};
use crate::domain::page::Page;
use crate::domain::rewards::{self as rules, PickupCode, RedemptionStatus};
use crate::error::{parse_id, AppError};
use crate::startup::AppState;

/// A redemption, as its owner and staff see it.
#[derive(Serialize, ToSchema)]
pub struct Redemption {
    #[schema(format = Uuid)]
    pub id: String,
    #[schema(format = Uuid)]
    pub reward_id: String,
    pub reward_name: String,
    #[schema(format = Uuid)]
    pub volunteer_id: String,
    pub volunteer_name: String,
    /// 1–10.
    #[schema(minimum = 1, maximum = 10)]
    pub quantity: i64,
    /// The points paid (what a cancellation refunds).
    pub points: i64,
    pub status: RedemptionStatus,
    /// Six digits, unique among reserved redemptions; null in a clerk's lists (the volunteer
    /// shows the code at the counter).
    #[schema(pattern = r"^[0-9]{6}$")]
    pub pickup_code: Option<String>,
    /// Who asked: the volunteer, or staff on their behalf.
    #[schema(format = Uuid)]
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub fulfilled_at: Option<DateTime<Utc>>,
    pub cancelled_at: Option<DateTime<Utc>>,
}

impl From<RedemptionView> for Redemption {
    fn from(r: RedemptionView) -> Redemption {
        Redemption {
            status: r.status,
            id: r.id.to_string(),
            reward_id: r.reward_id.to_string(),
            reward_name: r.reward_name,
            volunteer_id: r.volunteer_id.to_string(),
            volunteer_name: r.volunteer_name,
            quantity: r.quantity,
            points: r.points,
            pickup_code: Some(r.pickup_code),
            created_by: r.created_by,
            created_at: r.created_at.and_utc(),
            fulfilled_at: r.fulfilled_at.map(|t| t.and_utc()),
            cancelled_at: r.cancelled_at.map(|t| t.and_utc()),
        }
    }
}

/// `POST /redemptions`.
#[derive(Deserialize, ToSchema)]
pub struct RedeemRequest {
    #[schema(format = Uuid)]
    pub reward_id: String,
    /// 1–10, default 1.
    #[schema(minimum = 1, maximum = 10)]
    #[serde(default, deserialize_with = "int")]
    pub quantity: Option<i64>,
    /// Staff only (on behalf of someone); a volunteer may name only themself.
    #[schema(format = Uuid)]
    pub volunteer_id: Option<String>,
}

/// `POST /redemptions/fulfil`.
#[derive(Deserialize, ToSchema)]
pub struct FulfilRequest {
    /// The six digits the volunteer shows.
    #[schema(pattern = r"^[0-9]{6}$")]
    pub pickup_code: String,
}

/// `?status=` of the redemption lists.
#[derive(Deserialize, IntoParams)]
pub struct StatusFilter {
    /// `reserved`, `fulfilled` or `cancelled`.
    pub status: Option<RedemptionStatus>,
}

impl Redemption {
    /// The redemption without its pickup code, as a clerk sees it.
    pub fn without_pickup_code(self) -> Redemption {
        Redemption {
            pickup_code: None,
            ..self
        }
    }
}

/// A page of redemptions as their owner and staff see them.
pub fn page_of(rows: Vec<RedemptionView>, limit: i64) -> Page<Redemption> {
    Page::from_rows(rows, limit, RedemptionView::cursor, Redemption::from)
}

#[utoipa::path(tag = "rewards", request_body = RedeemRequest,
    params(("Idempotency-Key" = String, Header, description = "required")),
    responses(
        (status = 201, body = Redemption),
        (status = 403, description = "forbidden"),
        (status = 404, description = "not-found"),
        (status = 409, description = "insufficient-points, out-of-stock, limit-reached"),
    ))]
#[post("/redemptions")]
pub async fn redeem(
    state: web::Data<AppState>,
    caller: CurrentUser,
    cmd: Command<RedeemRequest>,
) -> Result<HttpResponse, AppError> {
    cmd.require_key()?;
    let checked = check_redeem(&caller, &cmd.body);
    let by = caller.id.clone();
    run_checked(
        &state,
        &caller,
        cmd.keyed,
        StatusCode::CREATED,
        checked,
        move |conn, now, (reward, volunteer, quantity)| {
            let r = redemptions::redeem(
                conn,
                Redeem {
                    reward_id: &reward,
                    volunteer_id: &volunteer,
                    quantity,
                    created_by: &by,
                    now,
                },
            )?;
            Ok(Redemption::from(r))
        },
    )
    .await
}

/// The reward, the volunteer and the quantity of a redemption, or why it is refused.
fn check_redeem(
    caller: &CurrentUser,
    b: &RedeemRequest,
) -> Result<(RewardId, VolunteerId, i64), AppError> {
    let volunteer = match &b.volunteer_id {
        None => caller.id.clone(),
        Some(raw) => {
            let named = VolunteerId::parse(raw);
            if !caller.is_staff() && named.as_ref() != Some(&caller.id) {
                return Err(AppError::Forbidden("a volunteer redeems only for themself"));
            }
            named.ok_or(AppError::NotFound("volunteer"))?
        }
    };
    let quantity = rules::quantity(b.quantity).map_err(|m| AppError::invalid("quantity", m))?;
    let reward = parse_id(&b.reward_id)?;
    Ok((reward, volunteer, quantity))
}

#[utoipa::path(operation_id = "my_redemptions", tag = "rewards", params(StatusFilter, PageParams),
    responses((status = 200, body = crate::api::schema::RedemptionPage)))]
#[get("/me/redemptions")]
pub async fn mine(
    state: web::Data<AppState>,
    caller: CurrentUser,
    filter: web::Query<StatusFilter>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, AppError> {
    let (status, me) = (filter.status, caller.id);
    read_page(
        &state,
        &page,
        move |conn, limit, cursor| redemptions::list(conn, Some(&me), status, limit, cursor),
        RedemptionView::cursor,
        Redemption::from,
    )
    .await
}

#[utoipa::path(operation_id = "list_redemptions", tag = "rewards", params(StatusFilter, PageParams),
    responses(
        (status = 200, body = crate::api::schema::RedemptionPage),
        (status = 403, description = "forbidden"),
    ))]
#[get("/redemptions")]
pub async fn list(
    state: web::Data<AppState>,
    _staff: Staff,
    filter: web::Query<StatusFilter>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, AppError> {
    let status = filter.status;
    read_page(
        &state,
        &page,
        move |conn, limit, cursor| redemptions::list(conn, None, status, limit, cursor),
        RedemptionView::cursor,
        Redemption::from,
    )
    .await
}

#[utoipa::path(operation_id = "get_redemption", tag = "rewards",
    responses((status = 200, body = Redemption)))]
#[get("/redemptions/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    caller: CurrentUser,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    let id = RedemptionId::from(path.into_inner());
    let r = state
        .db
        .read(move |conn| redemptions::find(conn, &id))
        .await?
        .filter(|r| caller.is_staff() || r.volunteer_id == caller.id)
        .ok_or(AppError::NotFound("redemption"))?;
    Ok(json(StatusCode::OK, &Redemption::from(r)))
}

#[utoipa::path(tag = "rewards", request_body = FulfilRequest,
    responses(
        (status = 200, body = Redemption),
        (status = 403, description = "forbidden"),
        (status = 404, description = "not-found"),
    ))]
#[post("/redemptions/fulfil")]
pub async fn fulfil(
    state: web::Data<AppState>,
    caller: CurrentUser,
    cmd: Command<FulfilRequest>,
) -> Result<HttpResponse, AppError> {
    let checked =
        PickupCode::parse(&cmd.body.pickup_code).map_err(|m| AppError::invalid("pickup_code", m));
    let by = caller.id.clone();
    let is_staff = caller.is_staff();
    run_command(
        &state,
        &caller,
        cmd.keyed,
        StatusCode::OK,
        move |conn, now| {
            // Staff or a clerk (403 for anyone else) before the code is even read.
            let desk = crate::db::partners::desk(conn, &by, is_staff)?;
            let code = checked?;
            let r = Redemption::from(redemptions::fulfil(conn, &code, desk.partners(), &by, now)?);
            // The counter's rule, as in its list: a clerk typed the code in but does not see it.
            Ok(if desk.sees_pickup_codes() {
                r
            } else {
                r.without_pickup_code()
            })
        },
    )
    .await
}

#[utoipa::path(operation_id = "cancel_redemption", tag = "rewards",
    responses(
        (status = 200, body = Redemption),
        (status = 409, description = "redemption-not-reserved"),
    ))]
#[post("/redemptions/{id}/cancel")]
pub async fn cancel(
    state: web::Data<AppState>,
    caller: CurrentUser,
    path: web::Path<Uuid>,
    cmd: Command<NoFields>,
) -> Result<HttpResponse, AppError> {
    let id = RedemptionId::from(path.into_inner());
    let by = caller.id.clone();
    let is_staff = caller.is_staff();
    run_command(
        &state,
        &caller,
        cmd.keyed,
        StatusCode::OK,
        move |conn, now| {
            let by = Canceller { id: &by, is_staff };
            Ok(Redemption::from(redemptions::cancel(conn, &id, by, now)?))
        },
    )
    .await
}
