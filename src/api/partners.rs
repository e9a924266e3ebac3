//! Partners and their counters: `/partners`, `/partners/{id}`, its clerks, its redemptions and
//! its settlement. A clerk works their partners' counters only; for anything else they are
//! whatever their role is.

use actix_web::http::StatusCode;
use actix_web::{delete, get, patch, post, put};
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::extract::{
    json, name_and_description, present, read_page, run_checked, status_param, Command, NoFields,
    PageParams,
};
use super::rewards::clearable;
use super::rewards::redemptions::{page_of, Redemption};
use crate::auth::{CurrentUser, Staff};
use crate::db::partners::{self, ClerkRow, PartnerChanges, PartnerRow, SettlementLine};
use crate::db::{redemptions, DbConnection};
use crate::domain::ids::{Id, PartnerId, VolunteerId};
use crate::domain::partners::{self as rules, PartnerKind};
use crate::domain::rewards::RedemptionStatus;
use crate::domain::rule::Rule;
use crate::domain::text::{self, optional_description};
use crate::domain::time;
use crate::error::{AppError, FieldErrors};
use crate::startup::AppState;

/// This module's routes, inside `/api/v1`.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(resource![list, create])
        .service(resource![get_partner, update])
        .service(resource![clerks])
        .service(resource![add_clerk, remove_clerk])
        .service(resource![partner_redemptions])
        .service(resource![settlement]);
}

/// A partner: a social enterprise, unit or fund that sponsors rewards and hands them out.
#[derive(Serialize, ToSchema)]
pub struct Partner {
    #[schema(format = Uuid)]
    pub id: String,
    pub name: String,
    pub kind: PartnerKind,
    pub description: Option<String>,
    /// Its rewards, active and inactive.
    pub reward_count: i64,
    pub created_at: DateTime<Utc>,
}

/// `POST /partners`.
#[derive(Deserialize, ToSchema)]
pub struct NewPartner {
    /// 1–100 characters.
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    pub kind: PartnerKind,
    /// Up to 2,000 characters.
    #[schema(max_length = 2000)]
    pub description: Option<String>,
}

/// `PATCH /partners/{id}`: absent fields stay; null clears `description` (and is 400 for the
/// others).
#[derive(Deserialize, ToSchema)]
pub struct PartnerPatch {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, min_length = 1, max_length = 100)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = PartnerKind)]
    pub kind: Option<PartnerKind>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 2000)]
    pub description: Option<Option<String>>,
}

/// One clerk of a partner.
#[derive(Serialize, ToSchema)]
pub struct Clerk {
    #[schema(format = Uuid)]
    pub volunteer_id: String,
    pub name: String,
    pub phone: String,
}

/// `PUT /partners/{id}/clerks/{volunteer_id}`: who now clerks for whom.
#[derive(Serialize, ToSchema)]
pub struct Clerkship {
    #[schema(format = Uuid)]
    pub partner_id: String,
    #[schema(format = Uuid)]
    pub volunteer_id: String,
}

/// A partner the caller clerks for (`Me.partners`).
#[derive(Serialize, ToSchema)]
pub struct MyPartner {
    #[schema(format = Uuid)]
    pub partner_id: String,
    pub name: String,
}

/// What was handed out at a partner's counter in `[from, to)`, by `fulfilled_at`.
#[derive(Serialize, ToSchema)]
pub struct Settlement {
    #[schema(format = Uuid)]
    pub partner_id: String,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Units handed out.
    pub units: i64,
    /// Points those units cost.
    pub points: i64,
    /// Per reward, by name.
    pub rewards: Vec<SettlementReward>,
}

/// One reward's line in a settlement.
#[derive(Serialize, ToSchema)]
pub struct SettlementReward {
    #[schema(format = Uuid)]
    pub reward_id: String,
    pub name: String,
    pub units: i64,
    pub points: i64,
}

/// `?status=` of a partner's redemptions, read once the caller may see them (403 first).
#[derive(Deserialize, IntoParams)]
pub struct PartnerRedemptionsQuery {
    /// `reserved`, `fulfilled` or `cancelled`.
    #[param(value_type = Option<RedemptionStatus>)]
    pub status: Option<String>,
}

/// `?from=&to=` of a settlement.
#[derive(Deserialize, IntoParams)]
pub struct SettlementQuery {
    /// Start, inclusive (default: the start of the current month in `COMMUNITY_TZ`).
    #[param(value_type = Option<DateTime<Utc>>)]
    pub from: Option<String>,
    /// End, exclusive (default: the start of the next month in `COMMUNITY_TZ`).
    #[param(value_type = Option<DateTime<Utc>>)]
    pub to: Option<String>,
}

/// The partners `user` clerks for, as `Me.partners` shows them.
pub fn clerked_by(conn: &mut DbConnection, user: &VolunteerId) -> Result<Vec<MyPartner>, AppError> {
    Ok(partners::clerked_by(conn, user)?
        .into_iter()
        .map(|(id, name)| MyPartner {
            partner_id: id.to_string(),
            name,
        })
        .collect())
}

/// `{id}` and `{volunteer_id}` of a clerk's path.
fn clerk_path(path: web::Path<(Uuid, Uuid)>) -> (PartnerId, VolunteerId) {
    let (partner_id, volunteer_id) = path.into_inner();
    (partner_id.into(), volunteer_id.into())
}

fn partner((p, reward_count): (PartnerRow, i64)) -> Partner {
    Partner {
        kind: p.kind,
        id: p.id.to_string(),
        name: p.name,
        description: p.description,
        reward_count,
        created_at: p.created_at.and_utc(),
    }
}

#[utoipa::path(operation_id = "create_partner", tag = "partners", request_body = NewPartner,
    responses((status = 201, body = Partner), (status = 403, description = "forbidden")))]
#[post("/partners")]
pub async fn create(
    state: web::Data<AppState>,
    staff: Staff,
    cmd: Command<NewPartner>,
) -> Result<HttpResponse, AppError> {
    let b = &cmd.body;
    let checked = name_and_description(&b.name, b.description.as_deref(), optional_description);
    let kind = b.kind;
    run_checked(
        &state,
        &staff.0,
        cmd.keyed,
        StatusCode::CREATED,
        checked,
        move |conn, now, (name, description)| {
            let description = description.flatten();
            let row = partners::create(conn, &name, kind, description.as_deref(), now)?;
            Ok(partner((row, 0)))
        },
    )
    .await
}

#[utoipa::path(operation_id = "list_partners", tag = "partners", params(PageParams),
    responses((status = 200, body = crate::api::schema::PartnerPage)))]
#[get("/partners")]
pub async fn list(
    state: web::Data<AppState>,
    _caller: CurrentUser,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, AppError> {
    read_page(&state, &page, partners::list, |(p, _)| p.cursor(), partner).await
}

#[utoipa::path(operation_id = "get_partner", tag = "partners",
    responses((status = 200, body = Partner)))]
#[get("/partners/{id}")]
pub async fn get_partner(
    state: web::Data<AppState>,
    _caller: CurrentUser,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    let id = PartnerId::from(path.into_inner());
    let found = state.db.read(move |conn| partners::get(conn, &id)).await?;
    Ok(json(StatusCode::OK, &partner(found)))
}

#[utoipa::path(operation_id = "update_partner", tag = "partners", request_body = PartnerPatch,
    responses((status = 200, body = Partner), (status = 403, description = "forbidden")))]
#[patch("/partners/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<Uuid>,
    cmd: Command<PartnerPatch>,
) -> Result<HttpResponse, AppError> {
    let id = PartnerId::from(path.into_inner());
    let b = cmd.body;
    let mut errs = FieldErrors::default();
    let name = errs.check_opt("name", b.name.as_deref(), text::title);
    let description = clearable(
        &mut errs,
        "description",
        b.description,
        text::optional_description,
    );
    let checked = errs
        .finish_with(name.zip(description))
        .map(|(name, description)| PartnerChanges {
            name,
            kind: b.kind,
            description,
        });
    run_checked(
        &state,
        &staff.0,
        cmd.keyed,
        StatusCode::OK,
        checked,
        move |conn, _, changes| Ok(partner(partners::update(conn, &id, changes)?)),
    )
    .await
}

#[utoipa::path(operation_id = "list_clerks", tag = "partners", params(PageParams),
    responses((status = 200, body = crate::api::schema::ClerkPage), (status = 403, description = "forbidden")))]
#[get("/partners/{id}/clerks")]
pub async fn clerks(
    state: web::Data<AppState>,
    _staff: Staff,
    path: web::Path<Uuid>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, AppError> {
    let id = PartnerId::from(path.into_inner());
    read_page(
        &state,
        &page,
        move |conn, limit, cursor| partners::clerks(conn, &id, limit, cursor),
        ClerkRow::cursor,
        |c| Clerk {
            volunteer_id: c.volunteer_id.to_string(),
            name: c.name,
            phone: c.phone,
        },
    )
    .await
}

#[utoipa::path(operation_id = "add_clerk", tag = "partners",
    responses((status = 200, body = Clerkship), (status = 403, description = "forbidden")))]
#[put("/partners/{id}/clerks/{volunteer_id}")]
pub async fn add_clerk(
    state: web::Data<AppState>,
    _staff: Staff,
    path: web::Path<(Uuid, Uuid)>,
    _no_body: Command<NoFields>,
) -> Result<HttpResponse, AppError> {
    let (partner_id, volunteer_id) = clerk_path(path);
    let now = state.clock.now_naive();
    let added = state
        .db
        .write(move |conn| {
            partners::add_clerk(conn, &partner_id, &volunteer_id, now)?;
            Ok(Clerkship {
                partner_id: partner_id.to_string(),
                volunteer_id: volunteer_id.to_string(),
            })
        })
        .await?;
    Ok(json(StatusCode::OK, &added))
}

#[utoipa::path(operation_id = "remove_clerk", tag = "partners",
    responses((status = 204), (status = 403, description = "forbidden")))]
#[delete("/partners/{id}/clerks/{volunteer_id}")]
pub async fn remove_clerk(
    state: web::Data<AppState>,
    _staff: Staff,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, AppError> {
    let (partner_id, volunteer_id) = clerk_path(path);
    state
        .db
        .write(move |conn| partners::remove_clerk(conn, &partner_id, &volunteer_id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(operation_id = "list_partner_redemptions", tag = "partners",
    params(("id" = String, Path), PartnerRedemptionsQuery, PageParams),
    responses(
        (status = 200, description = "Redemptions of its rewards, newest first; `pickup_code` is null for clerks",
            body = crate::api::schema::RedemptionPage),
        (status = 403, description = "forbidden"),
    ))]
#[get("/partners/{id}/redemptions")]
pub async fn partner_redemptions(
    state: web::Data<AppState>,
    caller: CurrentUser,
    path: web::Path<String>,
    query: web::Query<PartnerRedemptionsQuery>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, AppError> {
    let id = PartnerId::parse(&path.into_inner());
    let status = status_param(query.status.as_deref(), RedemptionStatus::parse);
    let (desk, rows, limit) = state
        .db
        .read(move |conn| {
            let (desk, id) = partners::counter(conn, &caller.id, caller.is_staff(), id)?;
            let (limit, cursor) = page.parse()?;
            let status = status?;
            let rows = redemptions::of_partner(conn, &id, status, limit, cursor.as_ref())?;
            Ok((desk, rows, limit))
        })
        .await?;
    let mut page = page_of(rows, limit);
    if !desk.sees_pickup_codes() {
        page.items = page
            .items
            .into_iter()
            .map(Redemption::without_pickup_code)
            .collect();
    }
    Ok(json(StatusCode::OK, &page))
}

#[utoipa::path(operation_id = "get_settlement", tag = "partners",
    params(("id" = String, Path), SettlementQuery),
    responses((status = 200, body = Settlement), (status = 403, description = "forbidden")))]
#[get("/partners/{id}/settlement")]
pub async fn settlement(
    state: web::Data<AppState>,
    caller: CurrentUser,
    path: web::Path<String>,
    query: web::Query<SettlementQuery>,
) -> Result<HttpResponse, AppError> {
    let id = PartnerId::parse(&path.into_inner());
    let month = rules::month_containing(state.clock.now(), state.config.community_tz);
    let range = settlement_range(&query, month);
    let (partner_id, lines, (from, to)) = state
        .db
        .read(move |conn| {
            // Who may see this counter comes first: 403 before a bad range.
            let (_, id) = partners::counter(conn, &caller.id, caller.is_staff(), id)?;
            let (from, to) = range?;
            let lines = partners::settlement(conn, &id, from.naive_utc(), to.naive_utc())?;
            Ok((id, lines, (from, to)))
        })
        .await?;
    Ok(json(
        StatusCode::OK,
        &Settlement::of(partner_id, from, to, lines),
    ))
}

/// The settlement's `[from, to)`: the query's, or the month `default` is.
fn settlement_range(
    query: &SettlementQuery,
    default: (DateTime<Utc>, DateTime<Utc>),
) -> Result<(DateTime<Utc>, DateTime<Utc>), AppError> {
    let mut errs = FieldErrors::default();
    let at = |raw: &str| time::parse(raw).map(|t| t.and_utc());
    let from = errs.check_opt("from", query.from.as_deref(), at);
    let to = errs.check_opt("to", query.to.as_deref(), at);
    errs.finish()?;
    let from = from.flatten().unwrap_or(default.0);
    let to = to.flatten().unwrap_or(default.1);
    if to <= from {
        return Err(AppError::invalid("to", Rule::AfterFrom));
    }
    Ok((from, to))
}

impl Settlement {
    /// The answer of `GET /partners/{id}/settlement` from the reward lines of `[from, to)`.
    fn of(
        partner_id: PartnerId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        lines: Vec<SettlementLine>,
    ) -> Settlement {
        let rewards: Vec<SettlementReward> = lines
            .into_iter()
            .map(|l| SettlementReward {
                reward_id: l.reward_id.to_string(),
                name: l.name,
                units: l.units,
                points: l.points,
            })
            .collect();
        Settlement {
            partner_id: partner_id.to_string(),
            from,
            to,
            units: rewards.iter().map(|r| r.units).sum(),
            points: rewards.iter().map(|r| r.points).sum(),
            rewards,
        }
    }
}
