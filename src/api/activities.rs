//! Activities: publishing and editing, the time-overlap list, enrolment, cancelling. The
//! check-in code and check-in/out live in `check_in`, the logs in `activity_logs`; this module
//! mounts and documents all three.

use actix_web::http::StatusCode;
use actix_web::{delete, get, patch, post};
use actix_web::{web, HttpResponse};
use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_actix_web::service_config::ServiceConfig;
use uuid::Uuid;

use super::extract::{int, json, present, present_int, run_command, Command, PageParams};
use crate::auth::CurrentUser;
use crate::db::activities::{self, ActivityRow, Editable, Manager, Sent};
use crate::db::DbConnection;
use crate::domain::activities as rules;
use crate::domain::ids::{ActivityId, VolunteerId};
use crate::domain::page::Page;
use crate::domain::rule::Rule;
use crate::domain::text;
use crate::domain::time;
use crate::error::{parse_id, AppError, FieldErrors};
use crate::startup::AppState;

/// This module's routes, inside `/api/v1` (with the activity logs' routes).
pub fn routes(cfg: &mut ServiceConfig) {
    use super::check_in;
    cfg.service(resource![list, create])
        .service(resource![get, update])
        .service(resource![cancel])
        .service(resource![enroll, unenroll])
        .service(resource![check_in::check_in_code])
        .service(resource![check_in::check_in_code_svg])
        .service(resource![check_in::check_in])
        .service(resource![check_in::check_out]);
    super::activity_logs::routes(cfg);
}

/// An activity's geofence.
#[derive(Deserialize, Serialize, ToSchema, Clone, Copy, Debug)]
pub struct Geofence {
    #[schema(minimum = -90, maximum = 90)]
    pub lat: f64,
    #[schema(minimum = -180, maximum = 180)]
    pub lng: f64,
    /// 10–10,000 metres.
    #[schema(minimum = 10, maximum = 10000)]
    #[serde(deserialize_with = "int")]
    pub radius_m: i64,
}

/// `POST /activities`.
#[derive(Deserialize, ToSchema)]
pub struct ActivityInput {
    #[schema(min_length = 1, max_length = 100)]
    pub title: String,
    #[schema(max_length = 2000)]
    pub description: Option<String>,
    #[schema(max_length = 2000)]
    pub location: Option<String>,
    #[schema(format = Uuid)]
    pub team_id: Option<String>,
    #[schema(value_type = String, format = DateTime)]
    pub starts_at: time::SentTime,
    #[schema(value_type = String, format = DateTime)]
    pub ends_at: time::SentTime,
    #[schema(minimum = 1, maximum = 10000)]
    #[serde(default, deserialize_with = "int")]
    pub capacity: Option<i64>,
    /// Points per hour served, 1–1,000. A log's `points_proposed` is
    /// `floor(minutes * points_per_hour / 60)`, capped at 10,000 (the most one approval awards).
    #[schema(minimum = 1, maximum = 1000)]
    #[serde(default, deserialize_with = "int")]
    pub points_per_hour: Option<i64>,
    #[schema(minimum = 1, maximum = 10000)]
    #[serde(default, deserialize_with = "int")]
    pub fixed_points: Option<i64>,
    pub geofence: Option<Geofence>,
}

/// `PATCH /activities/{id}`: any field of `ActivityInput` but the points rule (ignored). Only the
/// fields sent are written.
#[derive(Deserialize, ToSchema, Clone)]
pub struct ActivityPatch {
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, min_length = 1, max_length = 100)]
    pub title: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 2000)]
    pub description: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, max_length = 2000)]
    pub location: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>, format = Uuid)]
    pub team_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, format = DateTime)]
    pub starts_at: Option<time::SentTime>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = String, format = DateTime)]
    pub ends_at: Option<time::SentTime>,
    #[serde(default, deserialize_with = "present_int")]
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 10000)]
    pub capacity: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Geofence>)]
    pub geofence: Option<Option<Geofence>>,
}

/// An activity as the caller sees it.
#[derive(Serialize, ToSchema)]
pub struct Activity {
    #[schema(format = Uuid)]
    pub id: String,
    pub title: String,
    pub description: Option<String>,
    pub location: Option<String>,
    #[schema(format = Uuid)]
    pub team_id: Option<String>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub capacity: Option<i64>,
    pub points_per_hour: Option<i64>,
    pub fixed_points: Option<i64>,
    pub geofence: Option<Geofence>,
    pub enrolled_count: i64,
    /// Whether the caller is enrolled.
    pub enrolled: bool,
    /// `scheduled` or `cancelled`.
    #[schema(value_type = crate::api::schema::ActivityStatus)]
    pub status: String,
    pub created_at: DateTime<Utc>,
}

fn activity(a: ActivityRow, enrolled: bool) -> Activity {
    let geofence = a
        .geofence()
        .map(|(lat, lng, radius_m)| Geofence { lat, lng, radius_m });
    Activity {
        geofence,
        id: a.id.to_string(),
        title: a.title,
        description: a.description,
        location: a.location,
        team_id: a.team_id,
        starts_at: a.starts_at.and_utc(),
        ends_at: a.ends_at.and_utc(),
        capacity: a.capacity,
        points_per_hour: a.points_per_hour,
        fixed_points: a.fixed_points,
        enrolled_count: a.enrolled_count,
        enrolled,
        status: a.status.as_str().to_owned(),
        created_at: a.created_at.and_utc(),
    }
}

/// The activity as `user` sees it (with their `enrolled`).
fn activity_for(
    conn: &mut DbConnection,
    a: ActivityRow,
    user: &VolunteerId,
) -> Result<Activity, AppError> {
    let enrolled =
        activities::enrolled_in(conn, user, std::slice::from_ref(&a.id))?.contains(&a.id);
    Ok(activity(a, enrolled))
}

/// An id sent in a body or a query as stored: a UUID in its canonical (lower-case) form,
/// anything else [`NO_ID`].
pub(super) fn canonical_id(raw: Option<String>) -> Option<String> {
    raw.map(|r| {
        Uuid::parse_str(&r)
            .map(|u| u.to_string())
            .unwrap_or_else(|_| NO_ID.to_owned())
    })
}

/// What an id that is not a UUID becomes: a text no row's id is, so it matches nothing (and
/// whatever it held, a NUL that PostgreSQL's text refuses included, never reaches a statement).
const NO_ID: &str = "-";

/// The request body, or why it could not be read, but only once the caller's role allows the
/// action at all: a volunteer who leads no team gets 403 whatever the body (API.md: the role
/// check comes first).
pub(super) async fn body_after_role<T>(
    state: &AppState,
    caller: &CurrentUser,
    cmd: Result<Command<T>, AppError>,
) -> Result<Command<T>, AppError> {
    let refusal = match cmd {
        Ok(cmd) => return Ok(cmd),
        Err(refusal) => refusal,
    };
    if !caller.is_staff() {
        let id = caller.id.clone();
        state
            .db
            .read(move |conn| Manager::acting(conn, &id, false).map(drop))
            .await?;
    }
    Err(refusal)
}

/// Runs a command that only staff and team leaders may give: a body the extractor refused is
/// answered after the role check ([`body_after_role`]), and `work` gets the body in the
/// command's transaction after [`Manager::acting`], so 403 comes before what the body or the
/// path could be refused for.
pub(super) async fn run_managed<T, R, F>(
    state: &AppState,
    caller: &CurrentUser,
    cmd: Result<Command<T>, AppError>,
    status: StatusCode,
    work: F,
) -> Result<HttpResponse, AppError>
where
    T: Send + 'static,
    R: Serialize,
    F: FnOnce(&mut DbConnection, &Manager, NaiveDateTime, T) -> Result<R, AppError>
        + Send
        + 'static,
{
    let cmd = body_after_role(state, caller, cmd).await?;
    let (caller_id, staff, body) = (caller.id.clone(), caller.is_staff(), cmd.body);
    run_command(state, caller, cmd.keyed, status, move |conn, now| {
        let who = Manager::acting(conn, &caller_id, staff)?;
        work(conn, &who, now, body)
    })
    .await
}

/// Checks what API.md bounds on an activity's editable fields, naming every broken one (the
/// times were read already: their order is checked only if both were times).
fn check_fields(f: &Editable, errs: &mut FieldErrors) {
    if !errs.names("starts_at") && !errs.names("ends_at") {
        if let Err(m) = rules::check_times(f.starts_at, f.ends_at) {
            errs.add("ends_at", m);
        }
    }
    if let Some(c) = f.capacity {
        errs.check("capacity", text::in_range(c, 1, 10_000));
    }
    if let Some((lat, lng, r)) = f.geofence {
        errs.check("geofence", rules::check_coordinates(lat, lng));
        errs.check("geofence.radius_m", text::in_range(r, 10, 10_000));
    }
}

fn new_activity(body: ActivityInput) -> Result<(Editable, rules::PointsRule), AppError> {
    let mut errs = FieldErrors::default();
    let title = errs.check("title", text::title(&body.title));
    let description = errs.check_opt(
        "description",
        body.description.as_deref(),
        text::description,
    );
    let location = errs.check_opt("location", body.location.as_deref(), text::description);
    let rule = rules::PointsRule::parse(body.points_per_hour, body.fixed_points);
    // The field the broken rule is about (either, when both or neither were given).
    let field = match rule {
        Err(Rule::FixedPoints) => "fixed_points",
        _ => "points_per_hour",
    };
    let rule = errs.check(field, rule);
    let fields = Editable {
        title: title.unwrap_or_default(),
        description: description.flatten(),
        location: location.flatten(),
        team_id: canonical_id(body.team_id),
        starts_at: errs
            .check("starts_at", body.starts_at.accepted())
            .unwrap_or_default(),
        ends_at: errs
            .check("ends_at", body.ends_at.accepted())
            .unwrap_or_default(),
        capacity: body.capacity,
        geofence: body.geofence.map(|g| (g.lat, g.lng, g.radius_m)),
    };
    check_fields(&fields, &mut errs);
    let Some(rule) = rule else {
        return Err(errs.into_error());
    };
    errs.finish()?;
    Ok((fields, rule))
}

impl ActivityPatch {
    /// Which fields came in the body.
    fn sent(&self) -> Sent {
        Sent {
            title: self.title.is_some(),
            description: self.description.is_some(),
            location: self.location.is_some(),
            team_id: self.team_id.is_some(),
            starts_at: self.starts_at.is_some(),
            ends_at: self.ends_at.is_some(),
            capacity: self.capacity.is_some(),
            geofence: self.geofence.is_some(),
        }
    }
}

fn patched(mut f: Editable, p: ActivityPatch) -> Result<Editable, AppError> {
    let mut errs = FieldErrors::default();
    if let Some(t) = p.title {
        f.title = errs.check("title", text::title(&t)).unwrap_or_default();
    }
    if let Some(d) = p.description {
        f.description = errs
            .check_opt("description", d.as_deref(), text::description)
            .flatten();
    }
    if let Some(l) = p.location {
        f.location = errs
            .check_opt("location", l.as_deref(), text::description)
            .flatten();
    }
    if let Some(t) = p.team_id {
        f.team_id = canonical_id(t);
    }
    if let Some(s) = p.starts_at {
        f.starts_at = errs.check("starts_at", s.accepted()).unwrap_or_default();
    }
    if let Some(e) = p.ends_at {
        f.ends_at = errs.check("ends_at", e.accepted()).unwrap_or_default();
    }
    if let Some(c) = p.capacity {
        f.capacity = c;
    }
    if let Some(g) = p.geofence {
        f.geofence = g.map(|g| (g.lat, g.lng, g.radius_m));
    }
    check_fields(&f, &mut errs);
    errs.finish()?;
    Ok(f)
}

#[utoipa::path(operation_id = "create_activity", tag = "activities", request_body = ActivityInput,
    responses(
        (status = 201, body = Activity),
        (status = 403, description = "forbidden"),
        (status = 404, description = "not-found"),
    ))]
#[post("/activities")]
pub async fn create(
    state: web::Data<AppState>,
    caller: CurrentUser,
    cmd: Result<Command<ActivityInput>, AppError>,
) -> Result<HttpResponse, AppError> {
    let cmd = body_after_role(&state, &caller, cmd).await?;
    let team = canonical_id(cmd.body.team_id.clone());
    let parsed = new_activity(cmd.body);
    let (caller_id, staff) = (caller.id.clone(), caller.is_staff());
    run_command(
        &state,
        &caller,
        cmd.keyed,
        StatusCode::CREATED,
        move |conn, now| {
            let who = Manager::load(conn, &caller_id, staff)?;
            // Staff publish anything; a leader publishes only with their own team's id.
            who.require(team.as_deref())?;
            let (fields, rule) = parsed?;
            let row = activities::create(conn, fields, rule, &caller_id, now)?;
            Ok(activity(row, false))
        },
    )
    .await
}

#[utoipa::path(operation_id = "update_activity", tag = "activities", request_body = ActivityPatch,
    responses(
        (status = 200, body = Activity),
        (status = 403, description = "forbidden"),
    ))]
#[patch("/activities/{id}")]
pub async fn update(
    state: web::Data<AppState>,
    caller: CurrentUser,
    path: web::Path<String>,
    cmd: Result<Command<ActivityPatch>, AppError>,
) -> Result<HttpResponse, AppError> {
    let cmd = body_after_role(&state, &caller, cmd).await?;
    let id = parse_id::<ActivityId>(&path);
    let (caller_id, staff) = (caller.id.clone(), caller.is_staff());
    let patch = cmd.body;
    let updated = state
        .db
        .write(move |conn| {
            let who = Manager::acting(conn, &caller_id, staff)?;
            let (id, sent) = (id?, patch.sent());
            let row = activities::edit(conn, &who, &id, sent, |f| patched(f, patch.clone()))?;
            activity_for(conn, row, &caller_id)
        })
        .await?;
    Ok(json(StatusCode::OK, &updated))
}

/// `?from=&to=&team_id=` of the activity list.
#[derive(Deserialize, IntoParams)]
pub struct ActivityQuery {
    /// Start of the window (default: now).
    #[param(value_type = Option<DateTime<Utc>>)]
    pub from: Option<String>,
    /// End of the window (exclusive; default: open).
    #[param(value_type = Option<DateTime<Utc>>)]
    pub to: Option<String>,
    /// Only this team's activities.
    #[param(format = Uuid)]
    pub team_id: Option<String>,
}

#[utoipa::path(operation_id = "list_activities", tag = "activities",
    params(ActivityQuery, PageParams),
    responses((status = 200, body = crate::api::schema::ActivityPage)))]
#[get("/activities")]
pub async fn list(
    state: web::Data<AppState>,
    caller: CurrentUser,
    query: web::Query<ActivityQuery>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, AppError> {
    let (limit, cursor) = page.parse()?;
    let q = query.into_inner();
    let mut errs = FieldErrors::default();
    let from = errs
        .check_opt("from", q.from.as_deref(), time::parse)
        .flatten();
    let to = errs.check_opt("to", q.to.as_deref(), time::parse).flatten();
    errs.finish()?;
    let from = from.unwrap_or_else(|| state.clock.now_naive());
    if to.is_some_and(|to| to <= from) {
        return Err(AppError::invalid("to", Rule::AfterFrom));
    }
    let team = canonical_id(q.team_id);
    let caller_id = caller.id.clone();
    let (rows, enrolled) = state
        .db
        .read(move |conn| {
            let rows = activities::list(conn, from, to, team.as_deref(), limit, cursor.as_ref())?;
            let ids: Vec<ActivityId> = rows.iter().map(|a| a.id.clone()).collect();
            let enrolled = activities::enrolled_in(conn, &caller_id, &ids)?;
            Ok((rows, enrolled))
        })
        .await?;
    Ok(json(
        StatusCode::OK,
        &Page::from_rows(rows, limit, ActivityRow::cursor, |a| {
            let e = enrolled.contains(&a.id);
            activity(a, e)
        }),
    ))
}

#[utoipa::path(operation_id = "get_activity", tag = "activities",
    responses((status = 200, body = Activity)))]
#[get("/activities/{id}")]
pub async fn get(
    state: web::Data<AppState>,
    caller: CurrentUser,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    let id = ActivityId::from(path.into_inner());
    let caller_id = caller.id.clone();
    let found = state
        .db
        .read(move |conn| {
            let row = activities::get(conn, &id)?;
            activity_for(conn, row, &caller_id)
        })
        .await?;
    Ok(json(StatusCode::OK, &found))
}

#[utoipa::path(operation_id = "cancel_activity", tag = "activities",
    responses(
        (status = 200, body = Activity),
        (status = 403, description = "forbidden"),
        (status = 409, description = "activity-cancelled"),
    ))]
#[post("/activities/{id}/cancel")]
pub async fn cancel(
    state: web::Data<AppState>,
    caller: CurrentUser,
    path: web::Path<String>,
    cmd: Result<Command<serde_json::Value>, AppError>,
) -> Result<HttpResponse, AppError> {
    let id = parse_id::<ActivityId>(&path);
    run_managed(
        &state,
        &caller,
        cmd,
        StatusCode::OK,
        move |conn, who, _, _| {
            let row = activities::cancel(conn, who, &id?)?;
            activity_for(conn, row, &who.id)
        },
    )
    .await
}

/// An enrolment.
#[derive(Serialize, ToSchema)]
pub struct Enrollment {
    #[schema(format = Uuid)]
    pub activity_id: String,
    #[schema(format = Uuid)]
    pub volunteer_id: String,
    pub created_at: DateTime<Utc>,
}

#[utoipa::path(tag = "activities",
    responses(
        (status = 201, body = Enrollment),
        (status = 409, description = "already-enrolled, activity-full, activity-ended, activity-cancelled"),
    ))]
#[post("/activities/{id}/enrollment")]
pub async fn enroll(
    state: web::Data<AppState>,
    caller: CurrentUser,
    path: web::Path<Uuid>,
    cmd: Command<serde_json::Value>,
) -> Result<HttpResponse, AppError> {
    let id = ActivityId::from(path.into_inner());
    let caller_id = caller.id.clone();
    run_command(
        &state,
        &caller,
        cmd.keyed,
        StatusCode::CREATED,
        move |conn, now| {
            activities::enroll(conn, &id, &caller_id, now)?;
            Ok(Enrollment {
                activity_id: id.to_string(),
                volunteer_id: caller_id.to_string(),
                created_at: now.and_utc(),
            })
        },
    )
    .await
}

#[utoipa::path(tag = "activities",
    responses((status = 204)))]
#[delete("/activities/{id}/enrollment")]
pub async fn unenroll(
    state: web::Data<AppState>,
    caller: CurrentUser,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    let id = ActivityId::from(path.into_inner());
    let caller_id = caller.id.clone();
    state
        .db
        .write(move |conn| activities::unenroll(conn, &id, &caller_id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
