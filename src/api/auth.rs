//! `/auth/*`: register, login, refresh, logout. Idempotency keys are ignored here (API.md).

use actix_web::http::StatusCode;
use actix_web::post;
use actix_web::{web, HttpRequest, HttpResponse};
use chrono::{NaiveDateTime, TimeDelta};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::extract::{client_address, json, Command};
use super::people::{check_new_volunteer, create_volunteer, User};
use crate::auth::{new_refresh_token, refresh_token_hash, CurrentUser};
use crate::db::tokens::{self, Rotation};
use crate::db::users::{self, UserRow};
use crate::db::DbConnection;
use crate::domain::people::{Password, Phone};
use crate::error::{AppError, Credentials};
use crate::startup::AppState;

/// `POST /auth/register`.
#[derive(Deserialize, ToSchema)]
pub struct RegisterRequest {
    /// 11 digits starting with 1.
    #[schema(pattern = r"^1[0-9]{10}$")]
    pub phone: String,
    /// 1–50 characters.
    #[schema(min_length = 1, max_length = 50)]
    pub name: String,
    /// 8–128 characters.
    #[schema(min_length = 8, max_length = 128)]
    pub password: String,
}

/// `POST /auth/login`.
#[derive(Deserialize, ToSchema)]
pub struct LoginRequest {
    pub phone: String,
    pub password: String,
}

/// `POST /auth/refresh` and `POST /auth/logout`.
#[derive(Deserialize, ToSchema)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

/// A signed-in session's tokens.
#[derive(Serialize, ToSchema)]
pub struct Auth {
    pub access_token: String,
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds the access token lives.
    pub expires_in: u64,
    pub user: User,
}

/// Starts a refresh-token family (a sign-in) or continues one, and signs an access token.
fn session(
    state: &AppState,
    conn: &mut DbConnection,
    user: &UserRow,
    family: Option<String>,
    now: NaiveDateTime,
) -> Result<Auth, AppError> {
    let family = family.unwrap_or_else(|| Uuid::new_v4().to_string());
    let (refresh_token, hash) = new_refresh_token();
    let ttl = TimeDelta::from_std(state.config.refresh_token_ttl).unwrap_or(TimeDelta::days(30));
    tokens::insert(conn, &user.id, &family, &hash, now, now + ttl)?;
    let user_id = Uuid::parse_str(user.id.as_str()).map_err(|e| AppError::Internal(e.into()))?;
    let sid = Uuid::parse_str(&family).map_err(|e| AppError::Internal(e.into()))?;
    Ok(Auth {
        access_token: state.tokens.issue(user_id, user.role(), sid)?,
        refresh_token,
        token_type: "Bearer",
        expires_in: state.tokens.ttl().as_secs(),
        user: User::from(user),
    })
}

/// Signs in the person `who` reads or creates, in one write with the new session (a new
/// refresh-token family), and answers the tokens with `status`.
async fn sign_in(
    state: &web::Data<AppState>,
    status: StatusCode,
    who: impl FnOnce(&mut DbConnection, NaiveDateTime) -> Result<UserRow, AppError> + Send + 'static,
) -> Result<HttpResponse, AppError> {
    let now = state.clock.now_naive();
    let st = state.clone();
    let auth = state
        .db
        .write(move |conn| {
            let user = who(conn, now)?;
            session(&st, conn, &user, None, now)
        })
        .await?;
    Ok(json(status, &auth))
}

/// Hashes on the service's hashing threads: argon2 is deliberately slow.
pub async fn hash(state: &AppState, password: Password) -> Result<String, AppError> {
    state.hasher.hash(password).await
}

#[utoipa::path(tag = "auth", security(()), request_body = RegisterRequest,
    responses(
        (status = 201, body = Auth),
        (status = 409, description = "phone-taken"),
        (status = 429, description = "rate-limited"),
    ))]
#[post("/auth/register")]
pub async fn register(
    state: web::Data<AppState>,
    req: HttpRequest,
    cmd: Command<RegisterRequest>,
) -> Result<HttpResponse, AppError> {
    let client = client_address(&req, &state.config.trusted_proxies);
    state.limiters.registrations.hit(&client).await?;
    let body = cmd.body;
    let (phone, name, password) =
        check_new_volunteer(&body.phone, &body.name, Some(&body.password))?;
    let hash = hash(&state, password).await?;
    sign_in(&state, StatusCode::CREATED, move |conn, now| {
        create_volunteer(conn, &phone, name, &hash, now)
    })
    .await
}

#[utoipa::path(tag = "auth", security(()), request_body = LoginRequest,
    responses(
        (status = 200, body = Auth),
        (status = 401, description = "invalid-credentials"),
        (status = 429, description = "rate-limited"),
    ))]
#[post("/auth/login")]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    cmd: Command<LoginRequest>,
) -> Result<HttpResponse, AppError> {
    let client = client_address(&req, &state.config.trusted_proxies);
    state.limiters.logins.hit(&client).await?;
    // No account has a phone that does not parse: refused without a hash, and never a key of
    // the per-phone limiter (which keeps one key per phone, however long the string sent).
    let phone = Phone::parse(&cmd.body.phone)
        .map_err(|_| AppError::InvalidCredentials(Credentials::PhoneOrPassword))?;
    // The attempt is counted before the password is checked, so concurrent guesses cannot all
    // slip past the limit; a success clears the count.
    state.limiters.login_failures.hit(phone.as_str()).await?;
    let lookup = phone.as_str().to_owned();
    let user = state
        .db
        .read(move |conn| users::find_by_phone(conn, &lookup))
        .await?;
    let stored = user.as_ref().map(|u| u.password_hash.clone());
    let ok = state.hasher.verify(cmd.body.password, stored).await?;
    let user = match (ok, user) {
        (true, Some(user)) => user,
        _ => return Err(AppError::InvalidCredentials(Credentials::PhoneOrPassword)),
    };
    state.limiters.login_failures.reset(phone.as_str()).await;
    sign_in(&state, StatusCode::OK, move |_, _| Ok(user)).await
}

#[utoipa::path(tag = "auth", security(()), request_body = RefreshRequest,
    responses((status = 200, body = Auth), (status = 401, description = "unauthenticated")))]
#[post("/auth/refresh")]
pub async fn refresh(
    state: web::Data<AppState>,
    cmd: Command<RefreshRequest>,
) -> Result<HttpResponse, AppError> {
    let hash = refresh_token_hash(&cmd.body.refresh_token);
    let now = state.clock.now_naive();
    let st = state.clone();
    // The rotation commits even when it refuses: a reuse revokes the family for good.
    let auth = state
        .db
        .write(move |conn| match tokens::rotate(conn, &hash, now)? {
            Rotation::Rotated { user_id, family } => {
                let user = users::find(conn, &user_id)?.ok_or(AppError::NotFound("user"))?;
                Ok(Some(session(&st, conn, &user, Some(family), now)?))
            }
            Rotation::Reused | Rotation::Invalid => Ok(None),
        })
        .await?;
    match auth {
        Some(auth) => Ok(json(StatusCode::OK, &auth)),
        None => Err(AppError::Unauthenticated(
            "the refresh token is unknown, used, revoked or expired",
        )),
    }
}

#[utoipa::path(tag = "auth", security(()), request_body = RefreshRequest,
    responses((status = 204)))]
#[post("/auth/logout")]
pub async fn logout(
    state: web::Data<AppState>,
    user: CurrentUser,
    cmd: Command<RefreshRequest>,
) -> Result<HttpResponse, AppError> {
    let hash = refresh_token_hash(&cmd.body.refresh_token);
    let now = state.clock.now_naive();
    state
        .db
        .write(move |conn| tokens::logout(conn, &user.id, &hash, now))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
