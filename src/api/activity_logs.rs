//! Activity logs: staff-recorded attendance, the approval queue (approve, reject, bulk approve,
//! reverse) and the volunteer's own logs. Mounted and documented from `activities`.

use actix_web::http::StatusCode;
use actix_web::{get, post};
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;

use super::activities::{canonical_id, run_managed};
use super::extract::{int, json, read_page, status_param, Command, PageParams};
use crate::auth::CurrentUser;
use crate::db::activities::Manager;
use crate::db::activity_logs::{self, Filter, LogView, Record};
use crate::domain::activities::{LogStatus, MAX_AWARD};
use crate::domain::ids::LogId;
use crate::domain::page::Page;
use crate::domain::text;
use crate::error::{parse_id, AppError, FieldErrors};
use crate::messages::Lang;
use crate::startup::AppState;

/// The activity logs' routes, inside `/api/v1`.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(resource![list, record])
        .service(resource![bulk_approve])
        .service(resource![approve])
        .service(resource![reject])
        .service(resource![reverse])
        .service(resource![mine]);
}

/// A reported position.
#[derive(Deserialize, Serialize, ToSchema, Clone, Copy, Debug)]
pub struct Location {
    #[schema(minimum = -90, maximum = 90)]
    pub lat: f64,
    #[schema(minimum = -180, maximum = 180)]
    pub lng: f64,
    pub accuracy_m: Option<f64>,
}

fn location(lat: Option<f64>, lng: Option<f64>, accuracy_m: Option<f64>) -> Option<Location> {
    Some(Location {
        lat: lat?,
        lng: lng?,
        accuracy_m,
    })
}

/// One volunteer's attendance at one activity, and its review.
#[derive(Serialize, ToSchema)]
pub struct ActivityLog {
    #[schema(format = Uuid)]
    pub id: String,
    #[schema(format = Uuid)]
    pub activity_id: String,
    pub activity_title: String,
    #[schema(format = Uuid)]
    pub volunteer_id: String,
    pub volunteer_name: String,
    /// `checked_in`, `submitted`, `approved`, `rejected` or `reversed`.
    #[schema(value_type = crate::api::schema::LogStatus)]
    pub status: String,
    /// `self` or `staff`.
    #[schema(value_type = crate::api::schema::LogSource)]
    pub source: String,
    #[schema(format = Uuid)]
    pub recorded_by: Option<String>,
    /// The recorder's note.
    pub note: Option<String>,
    pub checked_in_at: Option<DateTime<Utc>>,
    pub checked_out_at: Option<DateTime<Utc>>,
    pub check_in_location: Option<Location>,
    pub check_out_location: Option<Location>,
    pub minutes: Option<i64>,
    /// `fixed_points`, or `floor(minutes * points_per_hour / 60)`.
    pub points_proposed: Option<i64>,
    pub points_awarded: Option<i64>,
    pub check_in_distance_m: Option<f64>,
    #[schema(format = Uuid)]
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<DateTime<Utc>>,
    pub review_note: Option<String>,
    #[schema(format = Uuid)]
    pub transaction_id: Option<String>,
    #[schema(format = Uuid)]
    pub reversed_by: Option<String>,
    pub reversed_at: Option<DateTime<Utc>>,
    pub reversal_reason: Option<String>,
    #[schema(format = Uuid)]
    pub reversal_transaction_id: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl From<LogView> for ActivityLog {
    fn from(v: LogView) -> ActivityLog {
        let l = v.log;
        ActivityLog {
            check_in_location: location(l.check_in_lat, l.check_in_lng, l.check_in_accuracy_m),
            check_out_location: location(l.check_out_lat, l.check_out_lng, l.check_out_accuracy_m),
            id: l.id.to_string(),
            activity_id: l.activity_id.to_string(),
            activity_title: v.activity_title,
            volunteer_id: l.volunteer_id.to_string(),
            volunteer_name: v.volunteer_name,
            status: l.status.as_str().to_owned(),
            source: l.source.as_str().to_owned(),
            recorded_by: l.recorded_by,
            note: l.note,
            checked_in_at: l.checked_in_at.map(|t| t.and_utc()),
            checked_out_at: l.checked_out_at.map(|t| t.and_utc()),
            minutes: l.minutes,
            points_proposed: l.points_proposed,
            points_awarded: l.points_awarded,
            check_in_distance_m: l.check_in_distance_m,
            reviewed_by: l.reviewed_by,
            reviewed_at: l.reviewed_at.map(|t| t.and_utc()),
            review_note: l.review_note,
            transaction_id: l.transaction_id.map(|t| t.to_string()),
            reversed_by: l.reversed_by,
            reversed_at: l.reversed_at.map(|t| t.and_utc()),
            reversal_reason: l.reversal_reason,
            reversal_transaction_id: l.reversal_transaction_id.map(|t| t.to_string()),
            created_at: l.created_at.and_utc(),
        }
    }
}

/// `POST /activity-logs`: attendance recorded by staff or a leader.
#[derive(Deserialize, ToSchema)]
pub struct RecordInput {
    #[schema(format = Uuid)]
    pub activity_id: String,
    #[schema(format = Uuid)]
    pub volunteer_id: String,
    /// 1 up to the activity's length.
    #[schema(minimum = 1)]
    #[serde(deserialize_with = "int")]
    pub minutes: i64,
    #[schema(min_length = 1, max_length = 500)]
    pub note: Option<String>,
}

#[utoipa::path(tag = "activity logs", request_body = RecordInput,
    responses(
        (status = 201, body = ActivityLog),
        (status = 403, description = "forbidden"),
        (status = 404, description = "not-found"),
        (status = 409, description = "already-checked-in, activity-cancelled"),
    ))]
#[post("/activity-logs")]
pub async fn record(
    state: web::Data<AppState>,
    caller: CurrentUser,
    cmd: Result<Command<RecordInput>, AppError>,
) -> Result<HttpResponse, AppError> {
    run_managed(
        &state,
        &caller,
        cmd,
        StatusCode::CREATED,
        |conn, who, now, body| {
            let record = Record {
                activity_id: &body.activity_id,
                volunteer_id: &body.volunteer_id,
                minutes: body.minutes,
                note: body.note.as_deref(),
            };
            Ok(ActivityLog::from(activity_logs::record(
                conn, who, record, now,
            )?))
        },
    )
    .await
}

/// `?status=&activity_id=&volunteer_id=` of the approval queue.
#[derive(Deserialize, IntoParams)]
pub struct LogQuery {
    /// `checked_in`, `submitted`, `approved`, `rejected` or `reversed`.
    #[param(value_type = Option<crate::api::schema::LogStatus>)]
    pub status: Option<String>,
    #[param(format = Uuid)]
    pub activity_id: Option<String>,
    #[param(format = Uuid)]
    pub volunteer_id: Option<String>,
}

pub(crate) fn status_filter(raw: Option<&str>) -> Result<Option<LogStatus>, AppError> {
    status_param(raw, LogStatus::parse)
}

#[utoipa::path(operation_id = "list_activity_logs", tag = "activity logs",
    params(LogQuery, PageParams),
    responses(
        (status = 200, body = crate::api::schema::ActivityLogPage),
        (status = 403, description = "forbidden"),
    ))]
#[get("/activity-logs")]
pub async fn list(
    state: web::Data<AppState>,
    caller: CurrentUser,
    query: web::Query<LogQuery>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, AppError> {
    let q = query.into_inner();
    let (caller_id, staff) = (caller.id.clone(), caller.is_staff());
    let (rows, limit) = state
        .db
        .read(move |conn| {
            // The role check comes first: a volunteer gets 403 even for a bad `limit` or status.
            let who = Manager::acting(conn, &caller_id, staff)?;
            let (limit, cursor) = page.parse()?;
            let status = status_filter(q.status.as_deref())?;
            // An id that is not a UUID matches nothing.
            let filter = Filter {
                status,
                activity_id: canonical_id(q.activity_id),
                volunteer_id: canonical_id(q.volunteer_id),
                teams: (!who.staff).then(|| who.led.clone()),
            };
            Ok((
                activity_logs::list(conn, &filter, limit, cursor.as_ref())?,
                limit,
            ))
        })
        .await?;
    Ok(json(
        StatusCode::OK,
        &Page::from_rows(rows, limit, LogView::cursor, ActivityLog::from),
    ))
}

/// `?status=` of the caller's own logs.
#[derive(Deserialize, IntoParams)]
pub struct MyLogQuery {
    /// `checked_in` finds an open check-in.
    #[param(value_type = Option<crate::api::schema::LogStatus>)]
    pub status: Option<String>,
}

#[utoipa::path(operation_id = "my_activity_logs", tag = "activity logs",
    params(MyLogQuery, PageParams),
    responses((status = 200, body = crate::api::schema::ActivityLogPage)))]
#[get("/me/activity-logs")]
pub async fn mine(
    state: web::Data<AppState>,
    caller: CurrentUser,
    query: web::Query<MyLogQuery>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, AppError> {
    // A bad status is answered in the read, so after `?limit=&cursor=` (as every list checks them
    // first).
    let status = status_filter(query.status.as_deref());
    let volunteer_id = Some(caller.id.to_string());
    read_page(
        &state,
        &page,
        move |conn, limit, cursor| {
            let filter = Filter {
                status: status?,
                volunteer_id,
                ..Filter::default()
            };
            activity_logs::list(conn, &filter, limit, cursor)
        },
        LogView::cursor,
        ActivityLog::from,
    )
    .await
}

/// `POST /activity-logs/{id}/approve`.
#[derive(Deserialize, ToSchema)]
pub struct ApproveInput {
    /// 0–10,000 (default `points_proposed`); other points need a `note`.
    #[schema(minimum = 0, maximum = 10000)]
    #[serde(default, deserialize_with = "int")]
    pub points: Option<i64>,
    #[schema(min_length = 1, max_length = 500)]
    pub note: Option<String>,
}

/// `POST /activity-logs/{id}/reject` and `/reverse`.
#[derive(Deserialize, ToSchema)]
pub struct ReasonInput {
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

#[utoipa::path(tag = "activity logs",
    request_body = ApproveInput,
    responses(
        (status = 200, body = ActivityLog),
        (status = 403, description = "forbidden, self-approval"),
        (status = 409, description = "log-not-submitted"),
    ))]
#[post("/activity-logs/{id}/approve")]
pub async fn approve(
    state: web::Data<AppState>,
    caller: CurrentUser,
    path: web::Path<String>,
    cmd: Result<Command<ApproveInput>, AppError>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id::<LogId>(&path);
    run_managed(
        &state,
        &caller,
        cmd,
        StatusCode::OK,
        move |conn, who, now, body| {
            let id = id?;
            let (points, note) = check_approval(&body)
                .map_err(|e| activity_logs::refuse_for_review(conn, who, &id, e))?;
            let v = activity_logs::approve(conn, who, &id, points, note.as_deref(), now)?;
            Ok(ActivityLog::from(v))
        },
    )
    .await
}

/// The points and note of an approval, or the fields that break a rule.
fn check_approval(b: &ApproveInput) -> Result<(Option<i64>, Option<String>), AppError> {
    let mut errs = FieldErrors::default();
    let points = errs.check_opt("points", b.points, |p| text::in_range(p, 0, MAX_AWARD));
    let note = errs.check_opt("note", b.note.as_deref(), text::reason);
    errs.finish().map(|_| (points.flatten(), note.flatten()))
}

#[utoipa::path(tag = "activity logs",
    request_body = ReasonInput,
    responses(
        (status = 200, body = ActivityLog),
        (status = 403, description = "forbidden, self-approval"),
        (status = 409, description = "log-not-submitted"),
    ))]
#[post("/activity-logs/{id}/reject")]
pub async fn reject(
    state: web::Data<AppState>,
    caller: CurrentUser,
    path: web::Path<String>,
    cmd: Result<Command<ReasonInput>, AppError>,
) -> Result<HttpResponse, AppError> {
    with_reason(state, caller, path, cmd, activity_logs::reject).await
}

#[utoipa::path(tag = "activity logs",
    request_body = ReasonInput,
    responses(
        (status = 200, body = ActivityLog),
        (status = 403, description = "forbidden, self-approval"),
        (status = 409, description = "log-not-approved, insufficient-points"),
    ))]
#[post("/activity-logs/{id}/reverse")]
pub async fn reverse(
    state: web::Data<AppState>,
    caller: CurrentUser,
    path: web::Path<String>,
    cmd: Result<Command<ReasonInput>, AppError>,
) -> Result<HttpResponse, AppError> {
    with_reason(state, caller, path, cmd, activity_logs::reverse).await
}

/// A review step that takes a reason (reject, reverse): role first, then the reason's rule,
/// then the step itself, in one command.
async fn with_reason(
    state: web::Data<AppState>,
    caller: CurrentUser,
    path: web::Path<String>,
    cmd: Result<Command<ReasonInput>, AppError>,
    step: fn(
        &mut crate::db::DbConnection,
        &Manager,
        &LogId,
        &str,
        chrono::NaiveDateTime,
    ) -> Result<LogView, AppError>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id::<LogId>(&path);
    run_managed(
        &state,
        &caller,
        cmd,
        StatusCode::OK,
        move |conn, who, now, body| {
            let id = id?;
            let reason = text::reason(&body.reason).map_err(|m| {
                activity_logs::refuse_for_review(conn, who, &id, AppError::invalid("reason", m))
            })?;
            Ok(ActivityLog::from(step(conn, who, &id, &reason, now)?))
        },
    )
    .await
}

/// `POST /activity-logs/bulk-approve`.
#[derive(Deserialize, ToSchema)]
pub struct BulkApproveInput {
    /// 1–200 log ids; each is approved (with its `points_proposed`) or fails on its own.
    #[schema(min_items = 1, max_items = 200)]
    pub ids: Vec<String>,
}

/// A log that a bulk approval did not approve, and why.
#[derive(Serialize, ToSchema)]
pub struct BulkFailure {
    /// The id as it was sent (one that is not a UUID is `not-found`, like an unknown one).
    pub id: String,
    /// The problem code a single approval would have answered.
    pub code: String,
    pub detail: String,
}

/// What a bulk approval did.
#[derive(Serialize, ToSchema)]
pub struct BulkResult {
    pub approved: Vec<ActivityLog>,
    pub failed: Vec<BulkFailure>,
}

#[utoipa::path(tag = "activity logs",
    request_body = BulkApproveInput,
    responses((status = 200, body = BulkResult), (status = 403, description = "forbidden")))]
#[post("/activity-logs/bulk-approve")]
pub async fn bulk_approve(
    state: web::Data<AppState>,
    caller: CurrentUser,
    lang: Lang,
    cmd: Result<Command<BulkApproveInput>, AppError>,
) -> Result<HttpResponse, AppError> {
    run_managed(
        &state,
        &caller,
        cmd,
        StatusCode::OK,
        move |conn, who, now, body| {
            let ids = body.ids;
            text::in_range(ids.len() as i64, 1, 200).map_err(|m| AppError::invalid("ids", m))?;
            let outcomes = activity_logs::bulk_approve(conn, who, &ids, now)?;
            Ok(BulkResult::from_outcomes(&ids, outcomes, lang))
        },
    )
    .await
}

impl BulkResult {
    /// The answer from each id's outcome, in the request's order, its failures told in `lang`.
    fn from_outcomes(
        ids: &[String],
        outcomes: Vec<Result<LogView, AppError>>,
        lang: Lang,
    ) -> BulkResult {
        let mut result = BulkResult {
            approved: Vec::new(),
            failed: Vec::new(),
        };
        for (id, outcome) in ids.iter().zip(outcomes) {
            match outcome {
                Ok(log) => result.approved.push(ActivityLog::from(log)),
                Err(e) => result.failed.push(BulkFailure {
                    id: id.clone(),
                    code: e.code().to_owned(),
                    // The problem's detail: never the internals of a fault.
                    detail: e.problem(lang).detail,
                }),
            }
        }
        result
    }
}
