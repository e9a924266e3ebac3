//! Teams and memberships: `/teams`, `/teams/{id}`, `/teams/{id}/members[/{volunteer_id}]`.

use actix_web::http::StatusCode;
use actix_web::{delete, get, post, put};
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::extract::{json, name_and_description, read_page, run_checked, Command, PageParams};
use crate::auth::{CurrentUser, Staff};
use crate::db::teams::{self, MemberRow, TeamRow};
use crate::db::{users, DbConnection};
use crate::domain::ids::{TeamId, VolunteerId};
use crate::domain::page::Page;
use crate::domain::people::TeamRole;
use crate::domain::text;
use crate::error::{parse_id, AppError};
use crate::startup::AppState;

/// This module's routes, inside `/api/v1`.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(resource![list, create])
        .service(resource![get])
        .service(resource![members])
        .service(resource![set_member, remove_member]);
}

/// A team.
#[derive(Serialize, ToSchema)]
pub struct Team {
    #[schema(format = Uuid)]
    pub id: String,
    pub name: String,
    pub description: Option<String>,
    pub member_count: i64,
    pub created_at: DateTime<Utc>,
}

/// `POST /teams`.
#[derive(Deserialize, ToSchema)]
pub struct NewTeam {
    #[schema(min_length = 1, max_length = 100)]
    pub name: String,
    #[schema(max_length = 2000)]
    pub description: Option<String>,
}

/// One member of a team.
#[derive(Serialize, ToSchema)]
pub struct Member {
    #[schema(format = Uuid)]
    pub volunteer_id: String,
    pub name: String,
    #[schema(pattern = r"^1[0-9]{10}$")]
    pub phone: String,
    pub role: TeamRole,
}

impl From<MemberRow> for Member {
    fn from(m: MemberRow) -> Member {
        Member {
            volunteer_id: m.volunteer_id,
            name: m.name,
            phone: m.phone,
            role: m.role,
        }
    }
}

/// `PUT /teams/{id}/members/{volunteer_id}`.
#[derive(Deserialize, ToSchema)]
pub struct MembershipInput {
    pub role: TeamRole,
}

/// A membership.
#[derive(Serialize, ToSchema)]
pub struct Membership {
    #[schema(format = Uuid)]
    pub team_id: String,
    #[schema(format = Uuid)]
    pub volunteer_id: String,
    pub role: TeamRole,
}

fn teams_with_counts(
    conn: &mut DbConnection,
    rows: Vec<TeamRow>,
) -> Result<Vec<(TeamRow, i64)>, AppError> {
    let ids: Vec<TeamId> = rows.iter().map(|t| t.id.clone()).collect();
    let counts = teams::member_counts(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|t| {
            let n = counts.get(&t.id).copied().unwrap_or(0);
            (t, n)
        })
        .collect())
}

fn team((t, member_count): (TeamRow, i64)) -> Team {
    Team {
        id: t.id.to_string(),
        name: t.name,
        description: t.description,
        member_count,
        created_at: t.created_at.and_utc(),
    }
}

#[utoipa::path(operation_id = "create_team", tag = "teams", request_body = NewTeam,
    responses((status = 201, body = Team), (status = 403, description = "forbidden")))]
#[post("/teams")]
pub async fn create(
    state: web::Data<AppState>,
    staff: Staff,
    cmd: Command<NewTeam>,
) -> Result<HttpResponse, AppError> {
    let b = &cmd.body;
    let checked = name_and_description(&b.name, b.description.as_deref(), text::description);
    run_checked(
        &state,
        &staff.0,
        cmd.keyed,
        StatusCode::CREATED,
        checked,
        move |conn, now, (name, description)| {
            let row = teams::create(conn, &name, description.as_deref(), now)?;
            Ok(team((row, 0)))
        },
    )
    .await
}

#[utoipa::path(operation_id = "list_teams", tag = "teams", params(PageParams),
    responses((status = 200, body = crate::api::schema::TeamPage)))]
#[get("/teams")]
pub async fn list(
    state: web::Data<AppState>,
    _caller: CurrentUser,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, AppError> {
    read_page(
        &state,
        &page,
        |conn, limit, cursor| {
            let rows = teams::list(conn, limit, cursor)?;
            teams_with_counts(conn, rows)
        },
        |(t, _)| t.cursor(),
        team,
    )
    .await
}

#[utoipa::path(operation_id = "get_team", tag = "teams",
    responses((status = 200, body = Team)))]
#[get("/teams/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    _caller: CurrentUser,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    let id = TeamId::from(path.into_inner());
    let row = state
        .db
        .read(move |conn| {
            let row = teams::find(conn, &id)?.ok_or(AppError::NotFound("team"))?;
            Ok(teams_with_counts(conn, vec![row])?.remove(0))
        })
        .await?;
    Ok(json(StatusCode::OK, &team(row)))
}

#[utoipa::path(operation_id = "list_team_members", tag = "teams", params(PageParams),
    responses(
        (status = 200, body = crate::api::schema::MemberPage),
        (status = 403, description = "forbidden"),
    ))]
#[get("/teams/{id}/members")]
pub async fn members(
    state: web::Data<AppState>,
    caller: CurrentUser,
    path: web::Path<String>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, AppError> {
    let raw = path.into_inner();
    let caller_id = caller.id.clone();
    let staff = caller.is_staff();
    let rows = state
        .db
        .read(move |conn| {
            let who = crate::db::activities::Manager::load(conn, &caller_id, staff)?;
            // The role checks come first: a volunteer, or another team's leader, gets 403 even
            // for a bad `limit`.
            who.require_role()?;
            let id: TeamId = parse_id(&raw)?;
            teams::find(conn, &id)?.ok_or(AppError::NotFound("team"))?;
            who.require(Some(id.as_str()))?;
            let (limit, cursor) = page.parse()?;
            Ok((teams::members(conn, &id, limit, cursor.as_ref())?, limit))
        })
        .await?;
    let (rows, limit) = rows;
    Ok(json(
        StatusCode::OK,
        &Page::from_rows(rows, limit, MemberRow::cursor, Member::from),
    ))
}

#[utoipa::path(tag = "teams",
    request_body = MembershipInput,
    responses((status = 200, body = Membership), (status = 403, description = "forbidden")))]
#[put("/teams/{id}/members/{volunteer_id}")]
pub async fn set_member(
    state: web::Data<AppState>,
    _staff: Staff,
    path: web::Path<(Uuid, Uuid)>,
    cmd: Command<MembershipInput>,
) -> Result<HttpResponse, AppError> {
    let (team_id, volunteer_id) = path.into_inner();
    let (team_id, volunteer_id) = (TeamId::from(team_id), VolunteerId::from(volunteer_id));
    let role = cmd.body.role;
    let now = state.clock.now_naive();
    let membership = state
        .db
        .write(move |conn| {
            teams::find(conn, &team_id)?.ok_or(AppError::NotFound("team"))?;
            users::require(conn, &volunteer_id)?;
            teams::set_member(conn, &team_id, &volunteer_id, role, now)?;
            Ok(Membership {
                team_id: team_id.to_string(),
                volunteer_id: volunteer_id.to_string(),
                role,
            })
        })
        .await?;
    Ok(json(StatusCode::OK, &membership))
}

#[utoipa::path(tag = "teams",
    responses((status = 204), (status = 403, description = "forbidden")))]
#[delete("/teams/{id}/members/{volunteer_id}")]
pub async fn remove_member(
    state: web::Data<AppState>,
    _staff: Staff,
    path: web::Path<(Uuid, Uuid)>,
) -> Result<HttpResponse, AppError> {
    let (team_id, volunteer_id) = path.into_inner();
    let (team_id, volunteer_id) = (TeamId::from(team_id), VolunteerId::from(volunteer_id));
    state
        .db
        .write(move |conn| {
            teams::find(conn, &team_id)?.ok_or(AppError::NotFound("team"))?;
            teams::remove_member(conn, &team_id, &volunteer_id)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
