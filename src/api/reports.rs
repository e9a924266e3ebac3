//! Reports: `/reports/summary`, `/reports/leaderboard`, `/me/service-record`. The database adds
//! up; this module reads the range, checks who may see what, and masks names.

use actix_web::http::StatusCode;
use actix_web::{get, web, HttpResponse};
use chrono::{DateTime, Datelike, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::extract::json;
use crate::auth::CurrentUser;
use crate::db::activities::Manager;
use crate::db::{reports, teams, users, DbConnection};
use crate::domain::ids::TeamId;
use crate::domain::reports::{local_date, mask_name, month_of, year_of};
use crate::domain::rule::Rule;
use crate::domain::time;
use crate::error::{parse_id, AppError, FieldErrors};
use crate::startup::AppState;

/// This module's routes, inside `/api/v1`.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(resource![summary])
        .service(resource![leaderboard])
        .service(resource![service_record]);
}

/// `?from=&to=&team_id=` of reports and exports.
#[derive(Debug, Deserialize, IntoParams)]
pub struct RangeQuery {
    /// Start of the range (default: the start of this month in `COMMUNITY_TZ`).
    #[param(value_type = Option<DateTime<Utc>>)]
    pub from: Option<String>,
    /// End of the range, exclusive (default: the start of next month).
    #[param(value_type = Option<DateTime<Utc>>)]
    pub to: Option<String>,
    /// Only this team's activities.
    pub team_id: Option<String>,
}

/// `?from=&to=` as `[from, to)` in UTC, each bound defaulting to the current month in
/// `COMMUNITY_TZ`; 422 naming a bound that is not a time, or `to` if it is not after `from`.
pub fn range(
    state: &AppState,
    from: Option<&str>,
    to: Option<&str>,
) -> Result<(NaiveDateTime, NaiveDateTime), AppError> {
    let (month_start, month_end) = month_of(state.config.community_tz, state.clock.now_naive());
    let mut errs = FieldErrors::default();
    let from = errs.check_opt("from", from, time::parse);
    let to = errs.check_opt("to", to, time::parse);
    errs.finish()?;
    let (from, to) = (
        from.flatten().unwrap_or(month_start),
        to.flatten().unwrap_or(month_end),
    );
    if to <= from {
        return Err(AppError::invalid("to", Rule::AfterFrom));
    }
    Ok((from, to))
}

/// Who may read a team's (or the community's) log figures: staff for anything, a leader for
/// their own team (403 before any 404), then the team must exist.
pub fn team_scope(
    conn: &mut DbConnection,
    caller: &CurrentUser,
    team_id: Option<&str>,
) -> Result<Option<TeamId>, AppError> {
    let who = Manager::load(conn, &caller.id, caller.is_staff())?;
    who.require_role()?;
    who.require(team_id)?;
    let Some(raw) = team_id else {
        return Ok(None);
    };
    let id: TeamId = parse_id(raw)?;
    teams::find(conn, &id)?.ok_or(AppError::NotFound("team"))?;
    Ok(Some(id))
}

/// One team's service in a summary.
#[derive(Serialize, ToSchema)]
pub struct TeamSummary {
    pub team_id: String,
    pub name: String,
    pub volunteers_active: i64,
    pub minutes_served: i64,
    pub points_earned: i64,
}

/// What the community did in a range.
#[derive(Serialize, ToSchema)]
pub struct Summary {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    /// Volunteers with an approved log in the range.
    pub volunteers_active: i64,
    pub minutes_served: i64,
    pub logs_approved: i64,
    /// Earn credits less their reversals (approvals and wishes).
    pub points_earned: i64,
    /// Redemptions less refunds.
    pub points_redeemed: i64,
    /// Donations to the community fund.
    pub points_donated: i64,
    /// Redemptions (not units) fulfilled in the range.
    pub redemptions_fulfilled: i64,
    /// Wishes confirmed in the range.
    pub wishes_confirmed: i64,
    /// The teams with approved service in the range, by name.
    pub by_team: Vec<TeamSummary>,
}

#[utoipa::path(operation_id = "report_summary", tag = "reports", params(RangeQuery),
    responses((status = 200, body = Summary), (status = 403, description = "forbidden"),
        (status = 404, description = "not-found")))]
#[get("/reports/summary")]
pub async fn summary(
    state: web::Data<AppState>,
    caller: CurrentUser,
    query: web::Query<RangeQuery>,
) -> Result<HttpResponse, AppError> {
    let q = query.into_inner();
    let bounds = range(&state, q.from.as_deref(), q.to.as_deref());
    let figures = state
        .db
        .read(move |conn| {
            let team = team_scope(conn, &caller, q.team_id.as_deref())?;
            let (from, to) = bounds?;
            let s = reports::summary(conn, from, to, team.as_ref().map(TeamId::as_str))?;
            Ok(Summary {
                from: from.and_utc(),
                to: to.and_utc(),
                volunteers_active: s.volunteers_active,
                minutes_served: s.minutes_served,
                logs_approved: s.logs_approved,
                points_earned: s.points_earned,
                points_redeemed: s.points_redeemed,
                points_donated: s.points_donated,
                redemptions_fulfilled: s.redemptions_fulfilled,
                wishes_confirmed: s.wishes_confirmed,
                by_team: s
                    .by_team
                    .into_iter()
                    .map(|t| TeamSummary {
                        team_id: t.team_id,
                        name: t.name,
                        volunteers_active: t.volunteers_active,
                        minutes_served: t.minutes_served,
                        points_earned: t.points_earned,
                    })
                    .collect(),
            })
        })
        .await?;
    Ok(json(StatusCode::OK, &figures))
}

/// `?from=&to=&team_id=&limit=` of the leaderboard.
#[derive(Debug, Deserialize, IntoParams)]
pub struct LeaderboardQuery {
    /// Start of the range (default: the start of this month in `COMMUNITY_TZ`).
    #[param(value_type = Option<DateTime<Utc>>)]
    pub from: Option<String>,
    /// End of the range, exclusive (default: the start of next month).
    #[param(value_type = Option<DateTime<Utc>>)]
    pub to: Option<String>,
    /// Only service in this team's activities.
    pub team_id: Option<String>,
    /// 1–100, default 10 (read as text: a number out of range, however long, is 422).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
}

/// One place on the leaderboard.
#[derive(Serialize, ToSchema)]
pub struct Place {
    /// Equal minutes and points share a rank; the next rank skips (1, 1, 3).
    pub rank: i64,
    /// `null` to anyone but staff, except on the caller's own row.
    pub volunteer_id: Option<String>,
    /// Masked (`李**`) to anyone but staff, except on the caller's own row.
    pub name: String,
    pub minutes_served: i64,
    pub points_earned: i64,
}

/// The leaderboard.
#[derive(Serialize, ToSchema)]
pub struct Leaderboard {
    pub items: Vec<Place>,
}

#[utoipa::path(operation_id = "report_leaderboard", tag = "reports", params(LeaderboardQuery),
    responses((status = 200, body = Leaderboard), (status = 404, description = "not-found")))]
#[get("/reports/leaderboard")]
pub async fn leaderboard(
    state: web::Data<AppState>,
    caller: CurrentUser,
    query: web::Query<LeaderboardQuery>,
) -> Result<HttpResponse, AppError> {
    let q = query.into_inner();
    let limit = super::extract::limit_or(q.limit.as_deref(), 10)?;
    let (from, to) = range(&state, q.from.as_deref(), q.to.as_deref())?;
    let team = match q.team_id.as_deref() {
        None => None,
        Some(raw) => Some(parse_id::<TeamId>(raw)?),
    };
    let rows = state
        .db
        .read(move |conn| {
            if let Some(id) = &team {
                teams::find(conn, id)?.ok_or(AppError::NotFound("team"))?;
            }
            reports::leaderboard(conn, from, to, team.as_ref().map(TeamId::as_str), limit)
        })
        .await?;
    let items = rows
        .into_iter()
        .map(|r| {
            let whole = caller.is_staff() || r.volunteer_id == caller.id.as_str();
            Place {
                rank: r.rank,
                name: if whole { r.name } else { mask_name(&r.name) },
                volunteer_id: whole.then_some(r.volunteer_id),
                minutes_served: r.minutes_served,
                points_earned: r.points_earned,
            }
        })
        .collect();
    Ok(json(StatusCode::OK, &Leaderboard { items }))
}

/// One year of a service record (a year of `COMMUNITY_TZ`).
#[derive(Serialize, ToSchema)]
pub struct ServiceYear {
    pub year: i32,
    pub minutes_served: i64,
    pub activities: i64,
}

/// A volunteer's approved, not reversed, service; each log served at its activity's start.
#[derive(Serialize, ToSchema)]
pub struct ServiceRecord {
    pub volunteer_id: String,
    pub name: String,
    pub minutes_served: i64,
    pub activities: i64,
    pub first_served_at: Option<DateTime<Utc>>,
    pub last_served_at: Option<DateTime<Utc>>,
    /// Newest year first; years without service are left out.
    pub by_year: Vec<ServiceYear>,
}

#[utoipa::path(operation_id = "my_service_record", tag = "reports",
    responses((status = 200, body = ServiceRecord)))]
#[get("/me/service-record")]
pub async fn service_record(
    state: web::Data<AppState>,
    caller: CurrentUser,
) -> Result<HttpResponse, AppError> {
    let tz = state.config.community_tz;
    let record = state
        .db
        .read(move |conn| {
            let me = users::find(conn, &caller.id)?.ok_or(AppError::NotFound("user"))?;
            let all = reports::served(conn, &me.id, None)?;
            let mut by_year = Vec::new();
            if let (Some(first), Some(last)) = (all.first_served_at, all.last_served_at) {
                let (first, last) = (local_date(tz, first).year(), local_date(tz, last).year());
                for year in (first..=last).rev() {
                    let s = reports::served(conn, &me.id, Some(year_of(tz, year)))?;
                    if s.activities > 0 {
                        by_year.push(ServiceYear {
                            year,
                            minutes_served: s.minutes_served,
                            activities: s.activities,
                        });
                    }
                }
            }
            Ok(ServiceRecord {
                volunteer_id: me.id.to_string(),
                name: me.name,
                minutes_served: all.minutes_served,
                activities: all.activities,
                first_served_at: all.first_served_at.map(|t| t.and_utc()),
                last_served_at: all.last_served_at.map(|t| t.and_utc()),
                by_year,
            })
        })
        .await?;
    Ok(json(StatusCode::OK, &record))
}
