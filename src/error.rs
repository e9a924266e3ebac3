//! `AppError`: every failure the service can answer with, and the one place that decides its
//! HTTP status and problem `code` (the table in API.md). Internal causes are logged, never shown.

use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::activities::CheckInRefusal;
use crate::domain::ids::Id;
use crate::domain::rule::Rule;
use crate::messages::{self, Lang};

/// One rule a request value broke.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
pub struct FieldError {
    /// The request field, as named in the body or query.
    pub field: String,
    /// What is wrong with it.
    pub message: String,
}

/// One rule a request value broke, before it is put in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRule {
    /// The request field, as named in the body or query.
    pub field: String,
    /// The rule it broke.
    pub rule: Rule,
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

    /// What happened, in words: `(English, Chinese)`, one row per code (the other problems'
    /// texts are in `messages.rs`).
    pub fn detail(self, lang: Lang) -> &'static str {
        let (en, zh) = match self {
            Conflict::PhoneTaken => (
                "an account with this phone already exists",
                "该手机号已注册",
            ),
            Conflict::AlreadyEnrolled => (
                "you are already enrolled in this activity",
                "你已报名该活动",
            ),
            Conflict::ActivityFull => ("this activity is full", "该活动名额已满"),
            Conflict::ActivityEnded => ("this activity has ended", "该活动已结束"),
            Conflict::ActivityCancelled => ("this activity was cancelled", "该活动已取消"),
            Conflict::AlreadyCheckedIn => (
                "this volunteer already has a log for this activity",
                "该志愿者在此活动已有服务记录",
            ),
            Conflict::NotCheckedIn => (
                "you are not checked in to this activity",
                "你尚未在该活动签到",
            ),
            Conflict::OutsideCheckInWindow => (
                "check-in opens 30 minutes before the start and closes at the end",
                "签到时间为活动开始前 30 分钟至活动结束",
            ),
            Conflict::LogNotSubmitted => (
                "only a submitted log can be reviewed",
                "只能审核已提交的服务记录",
            ),
            Conflict::LogNotApproved => (
                "only an approved log can be reversed",
                "只能撤销已通过的服务记录",
            ),
            Conflict::InsufficientPoints => (
                "the balance is lower than the points this needs",
                "积分余额不足",
            ),
            Conflict::OutOfStock => ("the reward does not have that many left", "该奖品库存不足"),
            Conflict::LimitReached => (
                "this would pass a limit per person: a reward's units, or 3 wishes held at once",
                "超出每人上限：奖品的兑换数量，或同时认领的心愿（最多 3 个）",
            ),
            Conflict::RedemptionNotReserved => (
                "only a reserved redemption can be cancelled",
                "只能取消已预约的兑换",
            ),
            Conflict::WishNotOpen => ("only an open wish can be adopted", "只能认领待认领的心愿"),
            Conflict::WishNotAdopted => (
                "only an adopted wish can be released or fulfilled",
                "只能放弃或完成已认领的心愿",
            ),
            Conflict::WishNotFulfilled => (
                "only a fulfilled wish can be confirmed or rejected",
                "只能确认或驳回已完成的心愿",
            ),
            Conflict::WishClosed => (
                "this wish is already confirmed or cancelled",
                "该心愿已确认或已取消",
            ),
            Conflict::IdempotencyInFlight => (
                "a request with this Idempotency-Key is still running",
                "使用该 Idempotency-Key 的请求仍在处理中",
            ),
        };
        lang.pick(en, zh)
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

/// Which credentials were wrong: a sign-in's (one answer for a wrong phone and a wrong
/// password), or the current password a signed-in person gave to change it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credentials {
    PhoneOrPassword,
    CurrentPassword,
}

/// Every failure a request can end in. Its words (Display, and the problem's `detail`) come
/// from `messages.rs`; the 500s display their cause, for the log only.
#[derive(Debug)]
pub enum AppError {
    BadRequest(String),
    IdempotencyKeyRequired,
    Unauthenticated(&'static str),
    InvalidCredentials(Credentials),
    Forbidden(&'static str),
    SelfApproval(&'static str),
    NotFound(&'static str),
    MethodNotAllowed,
    /// A valid request that the current state does not allow (one of API.md's 409s).
    Conflict(Conflict),
    PayloadTooLarge,
    UnsupportedMediaType,
    Validation(Vec<FieldRule>),
    InvalidCheckInCode,
    /// Check-in with a geofence: no location (`distance_m` is `None`) or too far away.
    OutsideGeofence {
        distance_m: Option<f64>,
        radius_m: i64,
    },
    IdempotencyKeyReused,
    RateLimited {
        retry_after: u64,
    },
    Unavailable,
    Database(diesel::result::Error),
    Internal(anyhow::Error),
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AppError::Database(e) => e.fmt(f),
            AppError::Internal(e) => e.fmt(f),
            other => f.write_str(&messages::detail(other, Lang::En)),
        }
    }
}

impl std::error::Error for AppError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AppError::Database(e) => Some(e),
            AppError::Internal(e) => Some(e.as_ref()),
            _ => None,
        }
    }
}

impl From<anyhow::Error> for AppError {
    fn from(e: anyhow::Error) -> AppError {
        AppError::Internal(e)
    }
}

impl AppError {
    /// A 422 `validation-failed` for one field.
    pub fn invalid(field: &str, rule: Rule) -> AppError {
        AppError::Validation(vec![FieldRule {
            field: field.to_owned(),
            rule,
        }])
    }

    /// The problem `code` clients branch on.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::BadRequest(_) => "bad-request",
            AppError::IdempotencyKeyRequired => "idempotency-key-required",
            AppError::Unauthenticated(_) => "unauthenticated",
            AppError::InvalidCredentials(_) => "invalid-credentials",
            AppError::Forbidden(_) => "forbidden",
            AppError::SelfApproval(_) => "self-approval",
            AppError::NotFound(_) => "not-found",
            AppError::MethodNotAllowed => "method-not-allowed",
            AppError::Conflict(c) => c.code(),
            AppError::PayloadTooLarge => "payload-too-large",
            AppError::UnsupportedMediaType => "unsupported-media-type",
            AppError::Validation(_) => "validation-failed",
            AppError::InvalidCheckInCode => "invalid-check-in-code",
            AppError::OutsideGeofence { .. } => "outside-geofence",
            AppError::IdempotencyKeyReused => "idempotency-key-reused",
            AppError::RateLimited { .. } => "rate-limited",
            AppError::Unavailable => "unavailable",
            AppError::Database(_) | AppError::Internal(_) => "internal-error",
        }
    }

    /// The problem+json body of this error, in `lang`.
    pub fn problem(&self, lang: Lang) -> Problem {
        let code = self.code();
        Problem {
            type_: format!("/problems/{code}"),
            code,
            title: messages::title(code, lang),
            status: self.status_code().as_u16(),
            detail: messages::detail(self, lang),
            errors: match self {
                AppError::Validation(rules) => Some(
                    rules
                        .iter()
                        .map(|r| FieldError {
                            field: r.field.clone(),
                            message: messages::rule(&r.rule, lang),
                        })
                        .collect(),
                ),
                _ => None,
            },
        }
    }

    /// Whether this is a fault of the service (500 and above): such answers are never kept.
    pub fn is_fault(&self) -> bool {
        self.status_code().is_server_error()
    }

    /// The status and JSON body that answer this error in `lang` (what idempotency keeps for a
    /// refusal).
    pub fn to_body(&self, lang: Lang) -> (StatusCode, String) {
        let body = serde_json::to_string(&self.problem(lang)).unwrap_or_default();
        (self.status_code(), body)
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> AppError {
        use diesel::result::{DatabaseErrorKind, Error};
        match &e {
            Error::NotFound => AppError::NotFound("resource"),
            // The connection died under the query (or could not even send it): the database is
            // down or restarting. A rollback that then failed leaves the transaction manager
            // broken, which also takes the connection out of the pool (`has_broken`); the
            // request is answered like any other that found no database.
            Error::DatabaseError(
                DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
                _,
            )
            | Error::BrokenTransactionManager => {
                tracing::warn!(error = %e, "the database connection was lost");
                AppError::Unavailable
            }
            Error::RollbackErrorOnCommit {
                commit_error,
                rollback_error,
            } if lost(commit_error) || lost(rollback_error) => {
                tracing::warn!(error = %e, "the database connection was lost at commit");
                AppError::Unavailable
            }
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

/// Whether a diesel error says the connection is gone.
fn lost(e: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    matches!(
        e,
        Error::DatabaseError(
            DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand,
            _
        ) | Error::BrokenTransactionManager
    )
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
            AppError::Unauthenticated(_) | AppError::InvalidCredentials(_) => {
                StatusCode::UNAUTHORIZED
            }
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
        // English here; `messages::localise` renders it again for another language.
        let (status, body) = self.to_body(Lang::En);
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
pub struct FieldErrors(Vec<FieldRule>);

impl FieldErrors {
    /// Keeps the value, or records the error against `field`.
    pub fn check<T>(&mut self, field: &str, parsed: Result<T, Rule>) -> Option<T> {
        match parsed {
            Ok(value) => Some(value),
            Err(rule) => {
                self.add(field, rule);
                None
            }
        }
    }

    /// Like [`FieldErrors::check`] for an optional field: absent stays `Some(None)`.
    pub fn check_opt<T, U>(
        &mut self,
        field: &str,
        value: Option<U>,
        parse: impl FnOnce(U) -> Result<T, Rule>,
    ) -> Option<Option<T>> {
        match value {
            None => Some(None),
            Some(v) => self.check(field, parse(v)).map(Some),
        }
    }

    /// Whether an error is recorded against `field`.
    pub fn names(&self, field: &str) -> bool {
        self.0.iter().any(|e| e.field == field)
    }

    /// Records an error that is not one field's parse.
    pub fn add(&mut self, field: &str, rule: Rule) {
        self.0.push(FieldRule {
            field: field.to_owned(),
            rule,
        });
    }

    /// The 422 answer naming every recorded field.
    pub fn into_error(self) -> AppError {
        AppError::Validation(self.0)
    }

    /// The value read from the fields (`checked`, `None` if any field was wrong), or the 422
    /// naming every wrong one.
    pub fn finish_with<T>(self, checked: Option<T>) -> Result<T, AppError> {
        match checked {
            Some(value) if self.0.is_empty() => Ok(value),
            _ => Err(self.into_error()),
        }
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
