//! Rewards: the catalogue staff keep (create, edit, restock) and volunteers browse (active ones
//! only). Redemptions are in [`redemptions`]; both are mounted here.

pub mod redemptions;

use actix_web::http::StatusCode;
use actix_web::{get, patch, post};
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::extract::{
    int, json, present, present_int, read_page, run_checked, Command, PageParams,
};
use crate::auth::{CurrentUser, Staff};
use crate::db::rewards::{self, NewReward, RestockRefusal, RewardChanges, RewardRow};
use crate::domain::ids::RewardId;
use crate::domain::rewards as rules;
use crate::domain::rule::Rule;
use crate::domain::text;
use crate::error::{parse_id, AppError, FieldErrors};
use crate::startup::AppState;

/// This module's routes, inside `/api/v1`. `/redemptions/fulfil` comes before
/// `/redemptions/{id}`, so it is never read as an id.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(resource![list, create])
        .service(resource![get, update])
        .service(resource![restock])
        .service(resource![redemptions::mine])
        .service(resource![redemptions::list, redemptions::redeem])
        .service(resource![redemptions::fulfil])
        .service(resource![redemptions::get])
        .service(resource![redemptions::cancel]);
}

/// A reward in the catalogue.
#[derive(Serialize, ToSchema)]
pub struct Reward {
    #[schema(format = Uuid)]
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub sponsor: Option<String>,
    /// The partner that hands it out at their counter; null = the community's own desk.
    #[schema(format = Uuid)]
    pub partner_id: Option<String>,
    pub partner_name: Option<String>,
    pub cost_points: i64,
    /// Units left; null = unlimited.
    pub stock: Option<i64>,
    /// Units one volunteer may hold (reserved + fulfilled); null = no limit.
    pub per_volunteer_limit: Option<i64>,
    pub active: bool,
    pub created_at: DateTime<Utc>,
}

impl From<RewardRow> for Reward {
    fn from(r: RewardRow) -> Reward {
        Reward {
            id: r.id.to_string(),
            name: r.name,
            description: r.description,
            sponsor: r.sponsor,
            partner_id: r.partner_id.map(|p| p.to_string()),
            partner_name: r.partner_name,
            cost_points: r.cost_points,
            stock: r.stock,
            per_volunteer_limit: r.per_volunteer_limit,
            active: r.active,
            created_at: r.created_at.and_utc(),
        }
    }
}

/// `POST /rewards`.
#[derive(Deserialize, ToSchema)]
pub struct RewardInput {
    /// 1–100 characters.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    /// Up to 2,000 characters.
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    /// Up to 100 characters.
    #[schema(max_length = 100)]
    pub sponsor: Option<String>,
    /// A partner's id (unknown → 404).
    #[schema(format = Uuid)]
    pub partner_id: Option<String>,
    /// 1–1,000,000.
    #[schema(minimum = 1, maximum = 1000000)]
    #[serde(deserialize_with = "int")]
    pub cost_points: i64,
    /// 0–1,000,000; absent or null = unlimited.
    #[schema(minimum = 0, maximum = 1000000)]
    #[serde(default, deserialize_with = "int")]
    pub stock: Option<i64>,
    /// 1–1,000; absent or null = no limit.
    #[schema(minimum = 1, maximum = 1000)]
    #[serde(default, deserialize_with = "int")]
    pub per_volunteer_limit: Option<i64>,
    /// Default true.
    pub active: Option<bool>,
}

/// `PATCH /rewards/{id}`: absent fields stay; null clears `description`, `sponsor`,
/// `partner_id` and `per_volunteer_limit` (and is 400 for the others). `stock` is not editable
/// (restock instead) and is ignored.
#[derive(Deserialize, ToSchema)]
pub struct RewardPatch {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, min_length = 1, max_length = 100)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 2000)]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 100)]
    pub sponsor: Option<Option<String>>,
    /// A partner's id (unknown → 404); null: no partner.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = Uuid)]
    pub partner_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "present_int")]
    #[schema(value_type = i64, minimum = 1, maximum = 1000000)]
    pub cost_points: Option<i64>,
    #[serde(default, deserialize_with = "present_int")]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 1000)]
    pub per_volunteer_limit: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = bool)]
    pub active: Option<bool>,
}

/// `POST /rewards/{id}/restock`.
#[derive(Deserialize, ToSchema)]
pub struct Restock {
    /// 1–100,000.
    #[schema(minimum = 1, maximum = 100000)]
    #[serde(deserialize_with = "int")]
    pub quantity: i64,
}

/// Parses an optional text field that may also be cleared: `None` stays, null or blank clears.
pub(crate) fn clearable(
    errs: &mut FieldErrors,
    field: &str,
    value: Option<Option<String>>,
    parse: fn(&str) -> Result<Option<String>, Rule>,
) -> Option<Option<Option<String>>> {
    match value {
        None => Some(None),
        Some(None) => Some(Some(None)),
        Some(Some(s)) => errs.check(field, parse(&s)).map(Some),
    }
}

#[utoipa::path(operation_id = "create_reward", tag = "rewards", request_body = RewardInput,
    responses((status = 201, body = Reward), (status = 403, description = "forbidden"),
        (status = 404, description = "not-found")))]
#[post("/rewards")]
pub async fn create(
    state: web::Data<AppState>,
    staff: Staff,
    cmd: Command<RewardInput>,
) -> Result<HttpResponse, AppError> {
    let created_by = staff.0.id.to_string();
    let checked = check_new_reward(&cmd.body);
    run_checked(
        &state,
        &staff.0,
        cmd.keyed,
        StatusCode::CREATED,
        checked,
        move |conn, now, new| {
            let new = NewReward {
                created_by,
                now,
                ..new
            };
            Ok(Reward::from(rewards::create(conn, new)?))
        },
    )
    .await
}

/// The reward a `POST /rewards` body describes (its creator and time still to fill in).
fn check_new_reward(b: &RewardInput) -> Result<NewReward, AppError> {
    let mut errs = FieldErrors::default();
    let name = errs.check("name", text::title(&b.name));
    let description = errs.check_opt(
        "description",
        b.description.as_deref(),
        text::optional_description,
    );
    let sponsor = errs.check_opt("sponsor", b.sponsor.as_deref(), rules::sponsor);
    let cost = errs.check("cost_points", rules::cost_points(b.cost_points));
    let stock = errs.check_opt("stock", b.stock, rules::stock);
    let limit = errs.check_opt(
        "per_volunteer_limit",
        b.per_volunteer_limit,
        rules::per_volunteer_limit,
    );
    let (Some(name), Some(description), Some(sponsor), Some(cost), Some(stock), Some(limit)) =
        (name, description, sponsor, cost, stock, limit)
    else {
        return Err(errs.into_error());
    };
    Ok(NewReward {
        name,
        description: description.flatten(),
        sponsor: sponsor.flatten(),
        cost_points: cost,
        stock,
        per_volunteer_limit: limit,
        active: b.active.unwrap_or(true),
        partner_id: b.partner_id.as_deref().map(parse_id).transpose()?,
        created_by: String::new(),
        now: chrono::NaiveDateTime::default(),
    })
}

#[utoipa::path(operation_id = "list_rewards", tag = "rewards", params(PageParams),
    responses((status = 200, body = crate::api::schema::RewardPage)))]
#[get("/rewards")]
pub async fn list(
    state: web::Data<AppState>,
    caller: CurrentUser,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, AppError> {
    let active_only = !caller.is_staff();
    read_page(
        &state,
        &page,
        move |conn, limit, cursor| rewards::list(conn, active_only, limit, cursor),
        RewardRow::cursor,
        Reward::from,
    )
    .await
}

#[utoipa::path(operation_id = "get_reward", tag = "rewards",
    responses((status = 200, body = Reward)))]
#[get("/rewards/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    caller: CurrentUser,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    let id = RewardId::from(path.into_inner());
    let reward = state
        .db
        .read(move |conn| rewards::find(conn, &id))
        .await?
        .filter(|r| r.active || caller.is_staff())
        .ok_or(AppError::NotFound("reward"))?;
    Ok(json(StatusCode::OK, &Reward::from(reward)))
}

#[utoipa::path(operation_id = "update_reward", tag = "rewards", request_body = RewardPatch,
    responses((status = 200, body = Reward), (status = 403, description = "forbidden")))]
#[patch("/rewards/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<Uuid>,
    cmd: Command<RewardPatch>,
) -> Result<HttpResponse, AppError> {
    let checked = check_patch(cmd.body);
    let id = RewardId::from(path.into_inner());
    run_checked(
        &state,
        &staff.0,
        cmd.keyed,
        StatusCode::OK,
        checked,
        move |conn, _, changes| {
            let reward =
                rewards::update(conn, &id, changes)?.ok_or(AppError::NotFound("reward"))?;
            Ok(Reward::from(reward))
        },
    )
    .await
}

/// The changes a `PATCH /rewards/{id}` body asks for.
fn check_patch(b: RewardPatch) -> Result<RewardChanges, AppError> {
    let mut errs = FieldErrors::default();
    let name = errs.check_opt("name", b.name.as_deref(), text::title);
    let description = clearable(
        &mut errs,
        "description",
        b.description,
        text::optional_description,
    );
    let sponsor = clearable(&mut errs, "sponsor", b.sponsor, rules::sponsor);
    let cost = errs.check_opt("cost_points", b.cost_points, rules::cost_points);
    let limit = match b.per_volunteer_limit {
        None => Some(None),
        Some(None) => Some(Some(None)),
        Some(Some(n)) => errs
            .check("per_volunteer_limit", rules::per_volunteer_limit(n))
            .map(|n| Some(Some(n))),
    };
    let (Some(name), Some(description), Some(sponsor), Some(cost), Some(limit)) =
        (name, description, sponsor, cost, limit)
    else {
        return Err(errs.into_error());
    };
    Ok(RewardChanges {
        name,
        description,
        sponsor,
        cost_points: cost,
        per_volunteer_limit: limit,
        active: b.active,
        partner_id: b
            .partner_id
            .map(|p| p.as_deref().map(parse_id).transpose())
            .transpose()?,
    })
}

#[utoipa::path(tag = "rewards", request_body = Restock,
    responses((status = 200, body = Reward), (status = 403, description = "forbidden")))]
#[post("/rewards/{id}/restock")]
pub async fn restock(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<Uuid>,
    cmd: Command<Restock>,
) -> Result<HttpResponse, AppError> {
    let checked =
        rules::restock_quantity(cmd.body.quantity).map_err(|m| AppError::invalid("quantity", m));
    let id = RewardId::from(path.into_inner());
    run_checked(
        &state,
        &staff.0,
        cmd.keyed,
        StatusCode::OK,
        checked,
        move |conn, _, quantity| match rewards::restock(conn, &id, quantity, rules::MAX_STOCK)? {
            Ok(reward) => Ok(Reward::from(reward)),
            Err(RestockRefusal::NotFound) => Err(AppError::NotFound("reward")),
            Err(RestockRefusal::Unlimited) => {
                Err(AppError::invalid("quantity", Rule::StockUnlimited))
            }
            Err(RestockRefusal::TooMuch) => Err(AppError::invalid(
                "quantity",
                Rule::StockAbove(rules::MAX_STOCK),
            )),
        },
    )
    .await
}
