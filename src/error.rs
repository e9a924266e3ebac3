//! `AppError`: every failure the service can answer with, and the one place that decides its
//! HTTP status and problem `code` (the table in API.md). Internal causes are logged, never shown.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::activities::CheckInRefusal;
use crate::domain::ids::Id;

/// One rule a request value broke.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    /// The request field, as named in the body or query.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// The problem+json body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// `/problems/<code>`.
    #[serde(rename = "type")]
    pub type_: String,
    /// The machine-readable reason clients branch on.
    pub code: &'static str,
    /// A short summary of the code.
    pub title: &'static str,
    /// The HTTP status.
    pub status: u16,
    /// What happened in this case.
    pub detail: String,
    /// The fields that broke a rule (validation failures only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<FieldError>>,
}

/// The 409 answers of the contract: the request is valid, but the current state does not allow
/// it. Each code and its detail are named here once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conflict {
    PhoneTaken,
    AlreadyEnrolled,
    ActivityFull,
    ActivityEnded,
    ActivityCancelled,
    AlreadyCheckedIn,
    NotCheckedIn,
    OutsideCheckInWindow,
    LogNotSubmitted,
    LogNotApproved,
    InsufficientPoints,
    OutOfStock,
    LimitReached,
    RedemptionNotReserved,
    WishNotOpen,
    WishNotAdopted,
    WishNotFulfilled,
    WishClosed,
    IdempotencyInFlight,
}

impl Conflict {
    /// The problem `code` clients branch on.
    pub fn code(self) -> &'static str {
        match self {
            Conflict::PhoneTaken => "phone-taken",
            Conflict::AlreadyEnrolled => "already-enrolled",
            Conflict::ActivityFull => "activity-full",
            Conflict::ActivityEnded => "activity-ended",
            Conflict::ActivityCancelled => "activity-cancelled",
            Conflict::AlreadyCheckedIn => "already-checked-in",
            Conflict::NotCheckedIn => "not-checked-in",
            Conflict::OutsideCheckInWindow => "outside-check-in-window",
            Conflict::LogNotSubmitted => "log-not-submitted",
            Conflict::LogNotApproved => "log-not-approved",
            Conflict::InsufficientPoints => "insufficient-points",
            Conflict::OutOfStock => "out-of-stock",
            Conflict::LimitReached => "limit-reached",
            Conflict::RedemptionNotReserved => "redemption-not-reserved",
            Conflict::WishNotOpen => "wish-not-open",
            Conflict::WishNotAdopted => "wish-not-adopted",
            Conflict::WishNotFulfilled => "wish-not-fulfilled",
            Conflict::WishClosed => "wish-closed",
            Conflict::IdempotencyInFlight => "idempotency-in-flight",
        }
    }

    /// What happened, in words.
    pub fn detail(self) -> &'static str {
        match self {
            Conflict::PhoneTaken => "an account with this phone already exists",
            Conflict::AlreadyEnrolled => "you are already enrolled in this activity",
            Conflict::ActivityFull => "this activity is full",
            Conflict::ActivityEnded => "this activity has ended",
            Conflict::ActivityCancelled => "this activity was cancelled",
            Conflict::AlreadyCheckedIn => "this volunteer already has a log for this activity",
            Conflict::NotCheckedIn => "you are not checked in to this activity",
            Conflict::OutsideCheckInWindow => {
                "check-in opens 30 minutes before the start and closes at the end"
            }
            Conflict::LogNotSubmitted => "only a submitted log can be reviewed",
            Conflict::LogNotApproved => "only an approved log can be reversed",
            Conflict::InsufficientPoints => "the balance is lower than the points this needs",
            Conflict::OutOfStock => "the reward does not have that many left",
            Conflict::LimitReached => {
                "this would pass a limit per person: a reward's units, or 3 wishes held at once"
            }
            Conflict::RedemptionNotReserved => "only a reserved redemption can be cancelled",
            Conflict::WishNotOpen => "only an open wish can be adopted",
            Conflict::WishNotAdopted => "only an adopted wish can be released or fulfilled",
            Conflict::WishNotFulfilled => "only a fulfilled wish can be confirmed or rejected",
            Conflict::WishClosed => "this wish is already confirmed or cancelled",
            Conflict::IdempotencyInFlight => "a request with this Idempotency-Key is still running",
        }
    }
}

impl From<Conflict> for AppError {
    fn from(c: Conflict) -> AppError {
        AppError::Conflict(c)
    }
}

impl From<CheckInRefusal> for AppError {
    fn from(r: CheckInRefusal) -> AppError {
        match r {
            CheckInRefusal::Cancelled => AppError::Conflict(Conflict::ActivityCancelled),
            CheckInRefusal::OutsideWindow => AppError::Conflict(Conflict::OutsideCheckInWindow),
            CheckInRefusal::WrongCode => AppError::InvalidCheckInCode,
            CheckInRefusal::OutsideGeofence {
                distance_m,
                radius_m,
            } => AppError::OutsideGeofence {
                distance_m,
                radius_m,
            },
        }
    }
}

/// The one policy for an id in a path or a body (API.md): one that is not a UUID names nothing,
/// so it is a 404 like an unknown one.
pub fn parse_id<I: Id>(raw: &str) -> Result<I, AppError> {
    I::parse(raw).ok_or(AppError::NotFound(I::WHAT))
}

/// Every failure a request can end in.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("{0}")]
    BadRequest(String),
    #[error("this request needs an Idempotency-Key header")]
    IdempotencyKeyRequired,
    #[error("{0}")]
    Unauthenticated(&'static str),
    #[error("wrong phone or password")]
    InvalidCredentials,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0}")]
    SelfApproval(&'static str),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("this path does not take that method")]
    MethodNotAllowed,
    /// A valid request that the current state does not allow (one of API.md's 409s).
    #[error("{}", .0.detail())]
    Conflict(Conflict),
    #[error("the request body is larger than 64 KiB")]
    PayloadTooLarge,
    #[error("the request body must be application/json")]
    UnsupportedMediaType,
    #[error("some fields break a rule")]
    Validation(Vec<FieldError>),
    #[error("this check-in code is wrong or expired")]
    InvalidCheckInCode,
    /// Check-in with a geofence: no location (`distance_m` is `None`) or too far away.
    #[error("{}", match .distance_m {
        None => "this activity needs your location to check in".to_owned(),
        Some(d) => format!("you are {d:.0} m away; the limit is {radius_m} m"),
    })]
    OutsideGeofence {
        distance_m: Option<f64>,
        radius_m: i64,
    },
    #[error("this Idempotency-Key was used for a different request")]
    IdempotencyKeyReused,
    #[error("too many attempts; try again in {retry_after} seconds")]
    RateLimited { retry_after: u64 },
    #[error("the database is unavailable")]
    Unavailable,
    #[error(transparent)]
    Database(diesel::result::Error),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    /// A 422 `validation-failed` for one field.
    pub fn invalid(field: &str, message: impl Into<String>) -> AppError {
        AppError::Validation(vec![FieldError {
            field: field.to_owned(),
            message: message.into(),
        }])
    }

    /// The problem `code` and its title.
    pub fn code_and_title(&self) -> (&'static str, &'static str) {
        match self {
            AppError::BadRequest(_) => ("bad-request", "Bad request"),
            AppError::IdempotencyKeyRequired => {
                ("idempotency-key-required", "Idempotency-Key required")
            }
            AppError::Unauthenticated(_) => ("unauthenticated", "Not signed in"),
            AppError::InvalidCredentials => ("invalid-credentials", "Invalid credentials"),
            AppError::Forbidden(_) => ("forbidden", "Forbidden"),
            AppError::SelfApproval(_) => ("self-approval", "Separation of duties"),
            AppError::NotFound(_) => ("not-found", "Not found"),
            AppError::MethodNotAllowed => ("method-not-allowed", "Method not allowed"),
            AppError::Conflict(c) => (c.code(), "Conflict with the current state"),
            AppError::PayloadTooLarge => ("payload-too-large", "Payload too large"),
            AppError::UnsupportedMediaType => ("unsupported-media-type", "Unsupported media type"),
            AppError::Validation(_) => ("validation-failed", "Validation failed"),
            AppError::InvalidCheckInCode => ("invalid-check-in-code", "Invalid check-in code"),
            AppError::OutsideGeofence { .. } => ("outside-geofence", "Outside the geofence"),
            AppError::IdempotencyKeyReused => ("idempotency-key-reused", "Idempotency-Key reused"),
            AppError::RateLimited { .. } => ("rate-limited", "Too many requests"),
            AppError::Unavailable => ("unavailable", "Service unavailable"),
            AppError::Database(_) | AppError::Internal(_) => ("internal-error", "Internal error"),
        }
    }

    /// The problem+json body of this error.
    pub fn problem(&self) -> Problem {
        let (code, title) = self.code_and_title();
        let status = self.status_code();
        let detail = match self {
            AppError::Database(_) | AppError::Internal(_) => {
                "the service failed; the fault is logged".to_owned()
            }
            other => other.to_string(),
        };
        Problem {
            type_: format!("/problems/{code}"),
            code,
            title,
            status: status.as_u16(),
            detail,
            errors: match self {
                AppError::Validation(errors) => Some(errors.clone()),
                _ => None,
            },
        }
    }

    /// Whether this is a fault of the service (500 and above): such answers are never kept.
    pub fn is_fault(&self) -> bool {
        self.status_code().is_server_error()
    }

    /// The status and JSON body that answer this error (what idempotency keeps for a refusal).
    pub fn to_body(&self) -> (StatusCode, String) {
        let body = serde_json::to_string(&self.problem()).unwrap_or_default();
        (self.status_code(), body)
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> AppError {
        use diesel::result::{DatabaseErrorKind, Error};
        match &e {
            Error::NotFound => AppError::NotFound("resource"),
            // The connection died under the query: the database is down or restarting.
            Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => AppError::Unavailable,
            // Waited too long for a lock: overload sheds (503) rather than queueing.
            Error::DatabaseError(DatabaseErrorKind::Unknown, info)
                if is_timeout(info.message()) =>
            {
                tracing::warn!(error = %e, "a database wait timed out");
                AppError::Unavailable
            }
            _ => AppError::Database(e),
        }
    }
}

/// Whether a database message is a wait that ran out: PostgreSQL's `lock_timeout` and
/// `statement_timeout` cancellations, SQLite's busy timeout. Neither driver gives these a kind of
/// their own, so the (English, server default) messages are matched.
fn is_timeout(message: &str) -> bool {
    [
        "canceling statement due to lock timeout",
        "canceling statement due to statement timeout",
        "database is locked",
        "database table is locked",
    ]
    .iter()
    .any(|m| message.contains(m))
}

impl From<diesel::r2d2::PoolError> for AppError {
    fn from(e: diesel::r2d2::PoolError) -> AppError {
        tracing::warn!(error = %e, "no database connection");
        AppError::Unavailable
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::IdempotencyKeyRequired => StatusCode::BAD_REQUEST,
            AppError::Unauthenticated(_) | AppError::InvalidCredentials => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) | AppError::SelfApproval(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            AppError::Conflict(_) => StatusCode::CONFLICT,
            AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Validation(_)
            | AppError::InvalidCheckInCode
            | AppError::OutsideGeofence { .. }
            | AppError::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            AppError::Database(_) | AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        if self.status_code().is_server_error() && !matches!(self, AppError::Unavailable) {
            tracing::error!(error = ?self, "request failed");
        }
        let (status, body) = self.to_body();
        let mut response = HttpResponse::build(status);
        response.insert_header((header::CONTENT_TYPE, PROBLEM_JSON));
        match self {
            AppError::RateLimited { retry_after } => {
                response.insert_header((header::RETRY_AFTER, retry_after.to_string()));
            }
            AppError::Unavailable => {
                response.insert_header((header::RETRY_AFTER, "5"));
            }
            _ => {}
        }
        response.body(body)
    }
}

/// The media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// Collects field errors while a request is parsed into domain values, so one answer names
/// every field that is wrong.
#[derive(Default)]
pub struct FieldErrors(Vec<FieldError>);

impl FieldErrors {
    /// Keeps the value, or records the error against `field`.
    pub fn check<T>(&mut self, field: &str, parsed: Result<T, String>) -> Option<T> {
        match parsed {
            Ok(value) => Some(value),
            Err(message) => {
                self.0.push(FieldError {
                    field: field.to_owned(),
                    message,
                });
                None
            }
        }
    }

    /// Like [`FieldErrors::check`] for an optional field: absent stays `Some(None)`.
    pub fn check_opt<T, U>(
        &mut self,
        field: &str,
        value: Option<U>,
        parse: impl FnOnce(U) -> Result<T, String>,
    ) -> Option<Option<T>> {
        match value {
            None => Some(None),
            Some(v) => self.check(field, parse(v)).map(Some),
        }
    }

    /// Records an error that is not one field's parse.
    pub fn add(&mut self, field: &str, message: impl Into<String>) {
        self.0.push(FieldError {
            field: field.to_owned(),
            message: message.into(),
        });
    }

    /// The 422 answer naming every recorded field.
    pub fn into_error(self) -> AppError {
        AppError::Validation(self.0)
    }

    /// `Err` when any field was wrong.
    pub fn finish(self) -> Result<(), AppError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(self.into_error())
        }
    }
}
