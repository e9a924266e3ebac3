//! Activity logs: staff-recorded attendance, the approval queue (approve, reject, bulk approve,
//! reverse) and the volunteer's own logs. Mounted and documented from `activities`.

use actix_web::http::StatusCode;
use actix_web::{get, post};
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::activities::body_after_role;
use super::extract::{json, run_command, Command, PageParams};
use crate::auth::CurrentUser;
use crate::db::activities::{self, Manager};
use crate::db::activity_logs::{self, Filter, LogView};
use crate::db::{savepoint, users};
use crate::domain::activities::{length_minutes, LogStatus};
use crate::domain::page::Page;
use crate::domain::text;
use crate::error::{AppError, FieldErrors};
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
            id: l.id,
            activity_id: l.activity_id,
            activity_title: v.activity_title,
            volunteer_id: l.volunteer_id,
            volunteer_name: v.volunteer_name,
            status: l.status,
            source: l.source,
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
            transaction_id: l.transaction_id,
            reversed_by: l.reversed_by,
            reversed_at: l.reversed_at.map(|t| t.and_utc()),
            reversal_reason: l.reversal_reason,
            reversal_transaction_id: l.reversal_transaction_id,
            created_at: l.created_at.and_utc(),
        }
    }
}

fn not_found(what: &'static str) -> impl Fn(uuid::Error) -> AppError {
    move |_| AppError::NotFound(what)
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
    ),
    security(("bearer" = [])))]
#[post("/activity-logs")]
pub async fn record(
    state: web::Data<AppState>,
    caller: CurrentUser,
    cmd: Result<Command<RecordInput>, AppError>,
) -> Result<HttpResponse, AppError> {
    let cmd = body_after_role(&state, &caller, cmd).await?;
    let body = cmd.body;
    let (caller_id, staff) = (caller.id.to_string(), caller.is_staff());
    run_command(
        &state,
        &caller,
        cmd.keyed,
        StatusCode::CREATED,
        move |conn, now| {
            let who = Manager::load(conn, &caller_id, staff)?;
            who.require_role()?;
            let activity_id = Uuid::parse_str(&body.activity_id).map_err(not_found("activity"))?;
            let activity = activities::get(conn, &activity_id.to_string())?;
            who.require(activity.team_id.as_deref())?;
            let volunteer = Uuid::parse_str(&body.volunteer_id)
                .map_err(not_found("volunteer"))?
                .to_string();
            users::find(conn, &volunteer)?.ok_or(AppError::NotFound("volunteer"))?;
            let mut errs = FieldErrors::default();
            let longest = length_minutes(activity.starts_at, activity.ends_at);
            errs.check("minutes", text::in_range(body.minutes, 1, longest));
            let note = errs.check_opt("note", body.note.as_deref(), text::reason);
            errs.finish()?;
            let note = note.flatten();
            let id = activity_logs::record(
                conn,
                &activity,
                &volunteer,
                body.minutes,
                note.as_deref(),
                &caller_id,
                now,
            )?;
            Ok(ActivityLog::from(activity_logs::get(conn, &id)?))
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

fn status_filter(raw: Option<&str>) -> Result<Option<LogStatus>, AppError> {
    match raw {
        None => Ok(None),
        Some(s) => LogStatus::parse(s)
            .map(Some)
            .ok_or_else(|| AppError::BadRequest(format!("unknown status {s:?}"))),
    }
}

#[utoipa::path(operation_id = "list_activity_logs", tag = "activity logs",
    params(LogQuery, PageParams),
    responses(
        (status = 200, body = crate::api::schema::ActivityLogPage),
        (status = 403, description = "forbidden"),
    ),
    security(("bearer" = [])))]
#[get("/activity-logs")]
pub async fn list(
    state: web::Data<AppState>,
    caller: CurrentUser,
    query: web::Query<LogQuery>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, AppError> {
    let q = query.into_inner();
    let (caller_id, staff) = (caller.id.to_string(), caller.is_staff());
    let (rows, limit) = state
        .db
        .read(move |conn| {
            let who = Manager::load(conn, &caller_id, staff)?;
            // The role check comes first: a volunteer gets 403 even for a bad `limit` or status.
            who.require_role()?;
            let (limit, cursor) = page.parse()?;
            let status = status_filter(q.status.as_deref())?;
            // An id that is not a UUID matches nothing.
            let id_or_none = |raw: Option<String>| {
                raw.map(|r| Uuid::parse_str(&r).map(|u| u.to_string()).unwrap_or(r))
            };
            let filter = Filter {
                status,
                activity_id: id_or_none(q.activity_id),
                volunteer_id: id_or_none(q.volunteer_id),
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
    responses((status = 200, body = crate::api::schema::ActivityLogPage)),
    security(("bearer" = [])))]
#[get("/me/activity-logs")]
pub async fn mine(
    state: web::Data<AppState>,
    caller: CurrentUser,
    query: web::Query<MyLogQuery>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, AppError> {
    let (limit, cursor) = page.parse()?;
    let filter = Filter {
        status: status_filter(query.status.as_deref())?,
        volunteer_id: Some(caller.id.to_string()),
        ..Filter::default()
    };
    let rows = state
        .db
        .read(move |conn| activity_logs::list(conn, &filter, limit, cursor.as_ref()))
        .await?;
    Ok(json(
        StatusCode::OK,
        &Page::from_rows(rows, limit, LogView::cursor, ActivityLog::from),
    ))
}

/// `POST /activity-logs/{id}/approve`.
#[derive(Deserialize, ToSchema)]
pub struct ApproveInput {
    /// 0–10,000 (default `points_proposed`); other points need a `note`.
    #[schema(minimum = 0, maximum = 10000)]
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
    ),
    security(("bearer" = [])))]
#[post("/activity-logs/{id}/approve")]
pub async fn approve(
    state: web::Data<AppState>,
    caller: CurrentUser,
    path: web::Path<String>,
    cmd: Result<Command<ApproveInput>, AppError>,
) -> Result<HttpResponse, AppError> {
    let cmd = body_after_role(&state, &caller, cmd).await?;
    let id = path.into_inner();
    let mut errs = FieldErrors::default();
    let points = errs.check_opt("points", cmd.body.points, |p| text::in_range(p, 0, 10_000));
    let note = errs.check_opt("note", cmd.body.note.as_deref(), text::reason);
    let checked = errs.finish().map(|_| (points.flatten(), note.flatten()));
    let (caller_id, staff) = (caller.id.to_string(), caller.is_staff());
    run_command(
        &state,
        &caller,
        cmd.keyed,
        StatusCode::OK,
        move |conn, now| {
            let who = Manager::load(conn, &caller_id, staff)?;
            who.require_role()?;
            let (points, note) = checked?;
            let v = activity_logs::approve(conn, &who, &id, points, note.as_deref(), now)?;
            Ok(ActivityLog::from(v))
        },
    )
    .await
}

#[utoipa::path(tag = "activity logs",
    request_body = ReasonInput,
    responses(
        (status = 200, body = ActivityLog),
        (status = 403, description = "forbidden, self-approval"),
        (status = 409, description = "log-not-submitted"),
    ),
    security(("bearer" = [])))]
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
    ),
    security(("bearer" = [])))]
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
        &str,
        &str,
        chrono::NaiveDateTime,
    ) -> Result<LogView, AppError>,
) -> Result<HttpResponse, AppError> {
    let cmd = body_after_role(&state, &caller, cmd).await?;
    let id = path.into_inner();
    let reason = text::reason(&cmd.body.reason).map_err(|m| AppError::invalid("reason", m));
    let (caller_id, staff) = (caller.id.to_string(), caller.is_staff());
    run_command(
        &state,
        &caller,
        cmd.keyed,
        StatusCode::OK,
        move |conn, now| {
            let who = Manager::load(conn, &caller_id, staff)?;
            who.require_role()?;
            let reason = reason?;
            Ok(ActivityLog::from(step(conn, &who, &id, &reason, now)?))
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
    #[schema(format = Uuid)]
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
    responses((status = 200, body = BulkResult), (status = 403, description = "forbidden")),
    security(("bearer" = [])))]
#[post("/activity-logs/bulk-approve")]
pub async fn bulk_approve(
    state: web::Data<AppState>,
    caller: CurrentUser,
    cmd: Result<Command<BulkApproveInput>, AppError>,
) -> Result<HttpResponse, AppError> {
    let cmd = body_after_role(&state, &caller, cmd).await?;
    let ids = cmd.body.ids;
    let count = text::in_range(ids.len() as i64, 1, 200).map_err(|m| AppError::invalid("ids", m));
    let (caller_id, staff) = (caller.id.to_string(), caller.is_staff());
    run_command(
        &state,
        &caller,
        cmd.keyed,
        StatusCode::OK,
        move |conn, now| {
            let who = Manager::load(conn, &caller_id, staff)?;
            who.require_role()?;
            count?;
            // Two passes, so no deadlock with a single review or another batch: every log is
            // moved (and locked) in id order while no account row is held, then the credits go
            // in volunteer order. Answers keep the request's order.
            let mut order: Vec<usize> = (0..ids.len()).collect();
            order.sort_by(|&a, &b| ids[a].cmp(&ids[b]));
            let mut outcomes: Vec<Option<Result<ActivityLog, BulkFailure>>> =
                ids.iter().map(|_| None).collect();
            let mut moved = Vec::new();
            for i in order {
                let id = &ids[i];
                // Each log in its own savepoint: a refusal undoes only that log's writes, and each
                // id is authorised on its own. A fault (5xx) still fails the whole request.
                match savepoint(conn, |conn| {
                    activity_logs::mark_approved(conn, &who, id, None, None, now)
                }) {
                    Ok(approved) => moved.push((i, approved)),
                    Err(e) if !e.is_fault() => {
                        outcomes[i] = Some(Err(BulkFailure {
                            id: id.clone(),
                            code: e.code_and_title().0.to_owned(),
                            detail: e.problem().detail,
                        }))
                    }
                    Err(fault) => return Err(fault),
                }
            }
            moved.sort_by(|(a, x), (b, y)| {
                (x.volunteer_id(), &ids[*a]).cmp(&(y.volunteer_id(), &ids[*b]))
            });
            for (i, approved) in moved {
                let log = activity_logs::credit_approved(conn, &who, approved, now)?;
                outcomes[i] = Some(Ok(ActivityLog::from(log)));
            }
            let mut result = BulkResult {
                approved: Vec::new(),
                failed: Vec::new(),
            };
            for outcome in outcomes.into_iter().flatten() {
                match outcome {
                    Ok(log) => result.approved.push(log),
                    Err(failure) => result.failed.push(failure),
                }
            }
            Ok(result)
        },
    )
    .await
}
