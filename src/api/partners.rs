//! Partners and their counters: `/partners`, `/partners/{id}`, its clerks, its redemptions and
//! its settlement. A clerk works their partners' counters only; for anything else they are
//! whatever their role is.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};
use uuid::Uuid;

use super::extract::{json, run_checked, Command, PageParams};
use super::rewards::redemptions::{page_of, Redemption, StatusFilter};
use super::rewards::{clearable, present};
use crate::auth::{CurrentUser, Staff};
use crate::db::partners::{self, ClerkRow, PartnerChanges, PartnerRow, SettlementLine};
use crate::db::{redemptions, users, DbConnection};
use crate::domain::page::Page;
use crate::domain::partners::{self as rules, Desk, PartnerKind};
use crate::error::{AppError, FieldErrors};
use crate::startup::AppState;

/// This module's part of the OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    paths(
        create,
        list,
        get,
        update,
        clerks,
        add_clerk,
        remove_clerk,
        partner_redemptions,
        settlement
    ),
    components(schemas(
        Partner,
        PartnerKind,
        NewPartner,
        PartnerPatch,
        Clerk,
        Clerkship,
        MyPartner,
        Settlement,
        SettlementReward
    ))
)]
pub struct Doc;

/// This module's routes, inside `/api/v1`.
pub fn routes(cfg: &mut web::ServiceConfig) {
    use web::{delete, get as get_, patch, post, put, resource};
    cfg.service(
        resource("/partners")
            .route(get_().to(list))
            .route(post().to(create)),
    )
    .service(
        resource("/partners/{id}")
            .route(get_().to(get))
            .route(patch().to(update)),
    )
    .service(resource("/partners/{id}/clerks").route(get_().to(clerks)))
    .service(
        resource("/partners/{id}/clerks/{volunteer_id}")
            .route(put().to(add_clerk))
            .route(delete().to(remove_clerk)),
    )
    .service(resource("/partners/{id}/redemptions").route(get_().to(partner_redemptions)))
    .service(resource("/partners/{id}/settlement").route(get_().to(settlement)));
}

/// A partner: a social enterprise, unit or fund that sponsors rewards and hands them out.
#[derive(Serialize, ToSchema)]
pub struct Partner {
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
    pub name: String,
    pub kind: PartnerKind,
    /// Up to 2,000 characters.
    pub description: Option<String>,
}

/// `PATCH /partners/{id}`: absent fields stay; null clears `description`.
#[derive(Deserialize, ToSchema)]
pub struct PartnerPatch {
    pub name: Option<String>,
    pub kind: Option<PartnerKind>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
}

/// One clerk of a partner.
#[derive(Serialize, ToSchema)]
pub struct Clerk {
    pub volunteer_id: String,
    pub name: String,
    pub phone: String,
}

/// `PUT /partners/{id}/clerks/{volunteer_id}`: who now clerks for whom.
#[derive(Serialize, ToSchema)]
pub struct Clerkship {
    pub partner_id: String,
    pub volunteer_id: String,
}

/// A partner the caller clerks for (`Me.partners`).
#[derive(Serialize, ToSchema)]
pub struct MyPartner {
    pub partner_id: String,
    pub name: String,
}

/// What was handed out at a partner's counter in `[from, to)`, by `fulfilled_at`.
#[derive(Serialize, ToSchema)]
pub struct Settlement {
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
    pub reward_id: String,
    pub name: String,
    pub units: i64,
    pub points: i64,
}

/// `?from=&to=` of a settlement.
#[derive(Deserialize, IntoParams)]
pub struct SettlementQuery {
    /// Start, inclusive (default: the start of the current month in `COMMUNITY_TZ`).
    pub from: Option<DateTime<Utc>>,
    /// End, exclusive (default: the start of the next month in `COMMUNITY_TZ`).
    pub to: Option<DateTime<Utc>>,
}

/// The partners `user` clerks for, as `Me.partners` shows them.
pub fn clerked_by(conn: &mut DbConnection, user: &str) -> Result<Vec<MyPartner>, AppError> {
    Ok(partners::clerked_by(conn, user)?
        .into_iter()
        .map(|(partner_id, name)| MyPartner { partner_id, name })
        .collect())
}

/// The counter `user` works: 403 `forbidden` unless they are staff or clerk some partner.
pub fn desk(conn: &mut DbConnection, user: &str, is_staff: bool) -> Result<Desk, AppError> {
    partners::desk(conn, user, is_staff)?.ok_or(AppError::Forbidden(
        "only staff and partners' clerks work a counter",
    ))
}

/// The desk of someone asking about partner `raw_id`'s counter, and the partner's id: 403
/// unless they are staff or one of its clerks (checked first, whatever the id), then 404 if
/// there is no such partner.
fn counter(
    conn: &mut DbConnection,
    caller: &CurrentUser,
    raw_id: &str,
) -> Result<(Desk, String), AppError> {
    let desk = desk(conn, &caller.id.to_string(), caller.is_staff())?;
    if !desk.works(raw_id) {
        return Err(AppError::Forbidden("you are not a clerk of this partner"));
    }
    let partner = partners::require(conn, raw_id)?;
    Ok((desk, partner.id))
}

/// `{id}` and `{volunteer_id}` of a clerk's path.
fn clerk_path(path: web::Path<(Uuid, Uuid)>) -> (String, String) {
    let (partner_id, volunteer_id) = path.into_inner();
    (partner_id.to_string(), volunteer_id.to_string())
}

fn with_counts(
    conn: &mut DbConnection,
    rows: Vec<PartnerRow>,
) -> Result<Vec<(PartnerRow, i64)>, AppError> {
    let ids: Vec<String> = rows.iter().map(|p| p.id.clone()).collect();
    let counts = partners::reward_counts(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|p| {
            let n = counts.get(&p.id).copied().unwrap_or(0);
            (p, n)
        })
        .collect())
}

fn partner((p, reward_count): (PartnerRow, i64)) -> Partner {
    Partner {
        kind: p.kind(),
        id: p.id,
        name: p.name,
        description: p.description,
        reward_count,
        created_at: p.created_at.and_utc(),
    }
}

/// One partner with its reward count.
fn partner_with_count(conn: &mut DbConnection, row: PartnerRow) -> Result<Partner, AppError> {
    Ok(partner(with_counts(conn, vec![row])?.remove(0)))
}

#[utoipa::path(post, path = "/api/v1/partners", tag = "partners", request_body = NewPartner,
    responses((status = 201, body = Partner),
        (status = 403, description = "`forbidden`: not staff", body = crate::error::Problem),
        (status = "4XX", body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn create(
    state: web::Data<AppState>,
    staff: Staff,
    cmd: Command<NewPartner>,
) -> Result<HttpResponse, AppError> {
    let mut errs = FieldErrors::default();
    let name = errs.check("name", rules::name(&cmd.body.name));
    let description = errs.check_opt(
        "description",
        cmd.body.description.as_deref(),
        rules::description,
    );
    let kind = cmd.body.kind;
    let checked = match (name, description) {
        (Some(name), Some(description)) => Ok((name, description.flatten())),
        _ => Err(errs.into_error()),
    };
    run_checked(
        &state,
        &staff.0,
        cmd.keyed,
        StatusCode::CREATED,
        checked,
        move |conn, now, (name, description)| {
            let row = partners::create(conn, &name, kind, description.as_deref(), now)?;
            Ok(partner((row, 0)))
        },
    )
    .await
}

#[utoipa::path(get, path = "/api/v1/partners", tag = "partners", params(PageParams),
    responses((status = 200, body = inline(Page<Partner>)), (status = "4XX", body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn list(
    state: web::Data<AppState>,
    _caller: CurrentUser,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, AppError> {
    let (limit, cursor) = page.parse()?;
    let rows = state
        .db
        .read(move |conn| {
            let rows = partners::list(conn, limit, cursor.as_ref())?;
            with_counts(conn, rows)
        })
        .await?;
    Ok(json(
        StatusCode::OK,
        &Page::from_rows(rows, limit, |(p, _)| p.cursor(), partner),
    ))
}

#[utoipa::path(get, path = "/api/v1/partners/{id}", tag = "partners",
    responses((status = 200, body = Partner),
        (status = 404, description = "`not-found`", body = crate::error::Problem),
        (status = "4XX", body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn get(
    state: web::Data<AppState>,
    _caller: CurrentUser,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    let id = path.to_string();
    let found = state
        .db
        .read(move |conn| {
            let row = partners::require(conn, &id)?;
            partner_with_count(conn, row)
        })
        .await?;
    Ok(json(StatusCode::OK, &found))
}

#[utoipa::path(patch, path = "/api/v1/partners/{id}", tag = "partners", request_body = PartnerPatch,
    responses((status = 200, body = Partner),
        (status = 403, description = "`forbidden`: not staff", body = crate::error::Problem),
        (status = 404, description = "`not-found`", body = crate::error::Problem),
        (status = 422, description = "`validation-failed`", body = crate::error::Problem),
        (status = "4XX", body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn update(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<Uuid>,
    cmd: Command<PartnerPatch>,
) -> Result<HttpResponse, AppError> {
    let b = cmd.body;
    let mut errs = FieldErrors::default();
    let name = errs.check_opt("name", b.name.as_deref(), rules::name);
    let description = clearable(&mut errs, "description", b.description, rules::description);
    let checked = match (name, description) {
        (Some(name), Some(description)) => Ok(PartnerChanges {
            name,
            kind: b.kind.map(|k| k.as_str().to_owned()),
            description,
        }),
        _ => Err(errs.into_error()),
    };
    let id = path.to_string();
    run_checked(
        &state,
        &staff.0,
        cmd.keyed,
        StatusCode::OK,
        checked,
        move |conn, _, changes| {
            let row = partners::update(conn, &id, changes)?;
            partner_with_count(conn, row)
        },
    )
    .await
}

#[utoipa::path(get, path = "/api/v1/partners/{id}/clerks", tag = "partners", params(PageParams),
    responses((status = 200, body = inline(Page<Clerk>)),
        (status = 403, description = "`forbidden`: not staff", body = crate::error::Problem),
        (status = 404, description = "`not-found`", body = crate::error::Problem),
        (status = "4XX", body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn clerks(
    state: web::Data<AppState>,
    _staff: Staff,
    path: web::Path<Uuid>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, AppError> {
    let (limit, cursor) = page.parse()?;
    let id = path.to_string();
    let rows = state
        .db
        .read(move |conn| {
            partners::require(conn, &id)?;
            partners::clerks(conn, &id, limit, cursor.as_ref())
        })
        .await?;
    Ok(json(
        StatusCode::OK,
        &Page::from_rows(rows, limit, ClerkRow::cursor, |c| Clerk {
            volunteer_id: c.volunteer_id,
            name: c.name,
            phone: c.phone,
        }),
    ))
}

#[utoipa::path(put, path = "/api/v1/partners/{id}/clerks/{volunteer_id}", tag = "partners",
    responses((status = 200, body = Clerkship),
        (status = 403, description = "`forbidden`: not staff", body = crate::error::Problem),
        (status = 404, description = "`not-found`: no such partner or person", body = crate::error::Problem),
        (status = "4XX", body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn add_clerk(
    state: web::Data<AppState>,
    _staff: Staff,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, AppError> {
    let (partner_id, volunteer_id) = clerk_path(path);
    let now = state.clock.now_naive();
    let added = state
        .db
        .write(move |conn| {
            partners::require(conn, &partner_id)?;
            users::find(conn, &volunteer_id)?.ok_or(AppError::NotFound("volunteer"))?;
            partners::add_clerk(conn, &partner_id, &volunteer_id, now)?;
            Ok(Clerkship {
                partner_id,
                volunteer_id,
            })
        })
        .await?;
    Ok(json(StatusCode::OK, &added))
}

#[utoipa::path(delete, path = "/api/v1/partners/{id}/clerks/{volunteer_id}", tag = "partners",
    responses((status = 204),
        (status = 403, description = "`forbidden`: not staff", body = crate::error::Problem),
        (status = 404, description = "`not-found`: no such partner", body = crate::error::Problem),
        (status = "4XX", body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn remove_clerk(
    state: web::Data<AppState>,
    _staff: Staff,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, AppError> {
    let (partner_id, volunteer_id) = clerk_path(path);
    state
        .db
        .write(move |conn| {
            partners::require(conn, &partner_id)?;
            partners::remove_clerk(conn, &partner_id, &volunteer_id).map(|_| ())
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(get, path = "/api/v1/partners/{id}/redemptions", tag = "partners",
    params(StatusFilter, PageParams),
    responses((status = 200, description = "Redemptions of its rewards, newest first; `pickup_code` is null for clerks",
            body = inline(Page<Redemption>)),
        (status = 403, description = "`forbidden`: neither staff nor a clerk of this partner", body = crate::error::Problem),
        (status = 404, description = "`not-found`", body = crate::error::Problem),
        (status = "4XX", body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn partner_redemptions(
    state: web::Data<AppState>,
    caller: CurrentUser,
    path: web::Path<String>,
    filter: web::Query<StatusFilter>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, AppError> {
    let raw = path.into_inner();
    let status = filter.status;
    let (desk, rows, limit) = state
        .db
        .read(move |conn| {
            let (desk, id) = counter(conn, &caller, &raw)?;
            let (limit, cursor) = page.parse()?;
            let rows = redemptions::list(conn, None, Some(&id), status, limit, cursor.as_ref())?;
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

#[utoipa::path(get, path = "/api/v1/partners/{id}/settlement", tag = "partners",
    params(SettlementQuery),
    responses((status = 200, body = Settlement),
        (status = 403, description = "`forbidden`: neither staff nor a clerk of this partner", body = crate::error::Problem),
        (status = 404, description = "`not-found`", body = crate::error::Problem),
        (status = 422, description = "`validation-failed`: `to` not after `from`", body = crate::error::Problem),
        (status = "4XX", body = crate::error::Problem)),
    security(("bearer" = [])))]
pub async fn settlement(
    state: web::Data<AppState>,
    caller: CurrentUser,
    path: web::Path<String>,
    query: web::Query<SettlementQuery>,
) -> Result<HttpResponse, AppError> {
    let raw = path.into_inner();
    let (month_start, month_end) =
        rules::month_containing(state.clock.now(), state.config.community_tz);
    let from = query.from.unwrap_or(month_start);
    let to = query.to.unwrap_or(month_end);
    let (partner_id, lines) = state
        .db
        .read(move |conn| {
            let (_, id) = counter(conn, &caller, &raw)?;
            if to <= from {
                return Err(AppError::invalid("to", "must be after from"));
            }
            let lines = partners::settlement(conn, &id, from.naive_utc(), to.naive_utc())?;
            Ok((id, lines))
        })
        .await?;
    let rewards: Vec<SettlementReward> = lines
        .into_iter()
        .map(|l: SettlementLine| SettlementReward {
            reward_id: l.reward_id,
            name: l.name,
            units: l.units,
            points: l.points,
        })
        .collect();
    Ok(json(
        StatusCode::OK,
        &Settlement {
            partner_id,
            from,
            to,
            units: rewards.iter().map(|r| r.units).sum(),
            points: rewards.iter().map(|r| r.points).sum(),
            rewards,
        },
    ))
}
