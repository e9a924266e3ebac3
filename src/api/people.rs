//! People: `/me`, passwords, the staff directory, desk registration, roles and desk resets.

use actix_web::http::StatusCode;
use actix_web::{get, post, put};
use actix_web::{web, HttpResponse};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::auth::hash;
use super::extract::{json, read_page, run_checked, Command, PageParams};
use crate::auth::{Admin, CurrentUser, Staff};
use crate::db::users::{self, NewUser, UserRow};
use crate::db::{tokens, DbConnection};
use crate::domain::ids::VolunteerId;
use crate::domain::people::{Password, PersonName, Phone, Role, TeamRole};
use crate::error::{AppError, Credentials, FieldErrors};
use crate::startup::AppState;

/// A person as others see them.
#[derive(Serialize, ToSchema)]
pub struct User {
    #[schema(format = Uuid)]
    pub id: String,
    #[schema(pattern = r"^1[0-9]{10}$")]
    pub phone: String,
    #[schema(min_length = 1, max_length = 50)]
    pub name: String,
    pub role: Role,
    pub created_at: DateTime<Utc>,
}

impl From<&UserRow> for User {
    fn from(u: &UserRow) -> User {
        User {
            id: u.id.to_string(),
            phone: u.phone.clone(),
            name: u.name.clone(),
            role: u.role(),
            created_at: u.created_at.and_utc(),
        }
    }
}

impl From<UserRow> for User {
    fn from(u: UserRow) -> User {
        User::from(&u)
    }
}

/// One of the caller's teams.
#[derive(Serialize, ToSchema)]
pub struct MyTeam {
    #[schema(format = Uuid)]
    pub team_id: String,
    pub name: String,
    pub role: TeamRole,
}

/// The caller, with their teams.
#[derive(Serialize, ToSchema)]
pub struct Me {
    #[serde(flatten)]
    pub user: User,
    pub teams: Vec<MyTeam>,
    /// The partners whose counters the caller clerks for.
    pub partners: Vec<super::partners::MyPartner>,
}

/// `PUT /me/password`.
#[derive(Deserialize, ToSchema)]
pub struct ChangePassword {
    pub current_password: String,
    #[schema(min_length = 8, max_length = 128)]
    pub new_password: String,
}

/// `POST /volunteers`.
#[derive(Deserialize, ToSchema)]
pub struct NewVolunteer {
    #[schema(pattern = r"^1[0-9]{10}$")]
    pub phone: String,
    #[schema(min_length = 1, max_length = 50)]
    pub name: String,
    /// Optional: without one the person cannot sign in until staff reset it at the desk.
    #[schema(min_length = 8, max_length = 128)]
    pub password: Option<String>,
}

/// `PUT /volunteers/{id}/role`.
#[derive(Deserialize, ToSchema)]
pub struct RoleChange {
    pub role: Role,
}

/// `PUT /volunteers/{id}/password`.
#[derive(Deserialize, ToSchema)]
pub struct PasswordReset {
    #[schema(min_length = 8, max_length = 128)]
    pub password: String,
}

/// `?q=` of the directory.
#[derive(Deserialize, IntoParams)]
pub struct Search {
    /// Part of a name or phone.
    pub q: Option<String>,
}

/// The person with this path id, if the caller may see them (staff, or themself); else 404.
pub fn visible_person(caller: &CurrentUser, id: VolunteerId) -> Result<VolunteerId, AppError> {
    if caller.is_staff() || caller.id == id {
        Ok(id)
    } else {
        Err(AppError::NotFound("volunteer"))
    }
}

#[utoipa::path(tag = "people", responses((status = 200, body = Me)))]
#[get("/me")]
pub async fn me(state: web::Data<AppState>, caller: CurrentUser) -> Result<HttpResponse, AppError> {
    let id = caller.id.clone();
    let (user, teams, partners) = state
        .db
        .read(move |conn| {
            let user = users::find(conn, &id)?
                .ok_or(AppError::Unauthenticated("this account no longer exists"))?;
            let teams = crate::db::teams::of_user(conn, &id)?;
            let partners = super::partners::clerked_by(conn, &caller.id)?;
            Ok((user, teams, partners))
        })
        .await?;
    let me = Me {
        user: User::from(user),
        teams: teams
            .into_iter()
            .map(|(team_id, name, role)| MyTeam {
                team_id: team_id.to_string(),
                name,
                role,
            })
            .collect(),
        partners,
    };
    Ok(json(StatusCode::OK, &me))
}

#[utoipa::path(tag = "people", request_body = ChangePassword,
    responses(
        (status = 204),
        (status = 401, description = "invalid-credentials"),
        (status = 429, description = "rate-limited"),
    ))]
#[put("/me/password")]
pub async fn change_password(
    state: web::Data<AppState>,
    caller: CurrentUser,
    cmd: Command<ChangePassword>,
) -> Result<HttpResponse, AppError> {
    let id = caller.id.clone();
    // Like login: each check is counted before it runs, and a right password clears the count.
    state.limiters.password_failures.hit(id.as_str()).await?;
    let lookup = id.clone();
    let user = state
        .db
        .read(move |conn| users::find(conn, &lookup))
        .await?
        .ok_or(AppError::Unauthenticated("this account no longer exists"))?;
    let current = cmd.body.current_password;
    if !state
        .hasher
        .verify(current, Some(user.password_hash))
        .await?
    {
        return Err(AppError::InvalidCredentials(Credentials::CurrentPassword));
    }
    state.limiters.password_failures.reset(id.as_str()).await;
    let new = Password::parse(&cmd.body.new_password)
        .map_err(|m| AppError::invalid("new_password", m))?;
    let hash = hash(&state, new).await?;
    let now = state.clock.now_naive();
    let keep = caller.session.to_string();
    state
        .db
        .write(move |conn| {
            users::set_password(conn, &id, &hash)?;
            tokens::revoke_user(conn, &id, Some(&keep), now)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

#[utoipa::path(operation_id = "list_volunteers", tag = "people", params(Search, PageParams),
    responses(
        (status = 200, body = crate::api::schema::UserPage),
        (status = 403, description = "forbidden"),
    ))]
#[get("/volunteers")]
pub async fn list(
    state: web::Data<AppState>,
    _staff: Staff,
    search: web::Query<Search>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, AppError> {
    let q = search
        .into_inner()
        .q
        .map(|q| q.trim().to_owned())
        .filter(|q| !q.is_empty());
    read_page(
        &state,
        &page,
        move |conn, limit, cursor| users::list(conn, q.as_deref(), limit, cursor),
        UserRow::cursor,
        User::from,
    )
    .await
}

#[utoipa::path(operation_id = "create_volunteer", tag = "people", request_body = NewVolunteer,
    responses(
        (status = 201, body = User),
        (status = 403, description = "forbidden"),
        (status = 409, description = "phone-taken"),
    ))]
#[post("/volunteers")]
pub async fn create(
    state: web::Data<AppState>,
    staff: Staff,
    cmd: Command<NewVolunteer>,
) -> Result<HttpResponse, AppError> {
    let b = &cmd.body;
    let checked = match check_new_volunteer(&b.phone, &b.name, b.password.as_deref()) {
        Ok((phone, name, password)) => hash(&state, password).await.map(|hash| (phone, name, hash)),
        Err(refusal) => Err(refusal),
    };
    run_checked(
        &state,
        &staff.0,
        cmd.keyed,
        StatusCode::CREATED,
        checked,
        move |conn, now, (phone, name, hash)| {
            Ok(User::from(create_volunteer(
                conn, &phone, name, &hash, now,
            )?))
        },
    )
    .await
}

/// Writes a new volunteer's account.
pub(super) fn create_volunteer(
    conn: &mut DbConnection,
    phone: &Phone,
    name: PersonName,
    password_hash: &str,
    now: NaiveDateTime,
) -> Result<UserRow, AppError> {
    users::create(
        conn,
        NewUser {
            phone,
            name: &name.into_inner(),
            role: Role::Volunteer,
            password_hash,
            now,
        },
    )
}

/// The phone, name and password of someone who registers or is registered at the desk, or the
/// 422 naming each wrong one.
pub(super) fn check_new_volunteer(
    phone: &str,
    name: &str,
    password: Option<&str>,
) -> Result<(Phone, PersonName, Password), AppError> {
    let mut errs = FieldErrors::default();
    let phone = errs.check("phone", Phone::parse(phone));
    let name = errs.check("name", PersonName::parse(name));
    let password = errs.check_opt("password", password, Password::parse);
    let (Some(phone), Some(name), Some(password)) = (phone, name, password) else {
        return Err(errs.into_error());
    };
    // Without a password, an unguessable one: nobody can sign in until a desk reset.
    let password = match password {
        Some(p) => p,
        None => Password::parse(&Uuid::new_v4().to_string())
            .map_err(|m| AppError::Internal(anyhow::anyhow!(m)))?,
    };
    Ok((phone, name, password))
}

#[utoipa::path(operation_id = "get_volunteer", tag = "people",
    responses((status = 200, body = User)))]
#[get("/volunteers/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    caller: CurrentUser,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    let id = visible_person(&caller, VolunteerId::from(path.into_inner()))?;
    let user = state
        .db
        .read(move |conn| users::find(conn, &id))
        .await?
        .ok_or(AppError::NotFound("volunteer"))?;
    Ok(json(StatusCode::OK, &User::from(user)))
}

#[utoipa::path(tag = "people", request_body = RoleChange,
    responses((status = 200, body = User), (status = 403, description = "forbidden")))]
#[put("/volunteers/{id}/role")]
pub async fn set_role(
    state: web::Data<AppState>,
    _admin: Admin,
    path: web::Path<Uuid>,
    cmd: Command<RoleChange>,
) -> Result<HttpResponse, AppError> {
    let id = VolunteerId::from(path.into_inner());
    let role = cmd.body.role;
    let now = state.clock.now_naive();
    let user = state
        .db
        .write(move |conn| {
            users::set_role(conn, &id, role, now)?.ok_or(AppError::NotFound("volunteer"))
        })
        .await?;
    Ok(json(StatusCode::OK, &User::from(user)))
}

#[utoipa::path(tag = "people", request_body = PasswordReset,
    responses((status = 204), (status = 403, description = "forbidden")))]
#[put("/volunteers/{id}/password")]
pub async fn reset_password(
    state: web::Data<AppState>,
    staff: Staff,
    path: web::Path<Uuid>,
    cmd: Command<PasswordReset>,
) -> Result<HttpResponse, AppError> {
    let id = VolunteerId::from(path.into_inner());
    let password =
        Password::parse(&cmd.body.password).map_err(|m| AppError::invalid("password", m))?;
    let lookup = id.clone();
    let target = state
        .db
        .read(move |conn| users::find(conn, &lookup))
        .await?
        .ok_or(AppError::NotFound("volunteer"))?;
    let admin = staff.0.role == Role::Admin;
    // Refused before the costly hash; the write checks the role again.
    if target.role().is_staff() && !admin {
        return Err(users::staff_reset_refused());
    }
    let hash = hash(&state, password).await?;
    let now = state.clock.now_naive();
    state
        .db
        .write(move |conn| {
            users::reset_password(conn, &id, &hash, admin)?;
            tokens::revoke_user(conn, &id, None, now)
        })
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
