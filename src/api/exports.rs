//! CSV exports: `/exports/activity-logs.csv`, `/exports/volunteers.csv`, `/exports/ledger.csv`.
//! Each is streamed: the body is made one keyset batch at a time, each batch read on the
//! blocking pool, so memory stays flat however many rows there are.

use std::collections::HashMap;
use std::sync::Arc;

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{get, web, HttpResponse};
use chrono::{NaiveDateTime, SecondsFormat};
use serde::Deserialize;
use utoipa::IntoParams;
use utoipa_actix_web::service_config::ServiceConfig;

use super::activity_logs::status_filter;
use super::reports::{range, team_scope};
use crate::auth::{Admin, CurrentUser, Staff};
use crate::db::exports::{self, After, LogLine, PersonLine};
use crate::db::{Db, DbConnection};
use crate::domain::ids::TeamId;
use crate::domain::reports::{guard_cell, local_date};
use crate::error::AppError;
use crate::startup::AppState;

/// This module's routes, inside `/api/v1`.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(resource![activity_logs])
        .service(resource![volunteers])
        .service(resource![ledger]);
}

/// Rows read from the database at a time.
const BATCH: i64 = 1000;

/// One CSV cell. Only text is guarded against formulas; numbers are never prefixed.
enum Cell {
    Text(String),
    Number(i64),
    Time(NaiveDateTime),
    Empty,
}

impl From<String> for Cell {
    fn from(s: String) -> Cell {
        Cell::Text(s)
    }
}

impl From<i64> for Cell {
    fn from(n: i64) -> Cell {
        Cell::Number(n)
    }
}

impl From<NaiveDateTime> for Cell {
    fn from(t: NaiveDateTime) -> Cell {
        Cell::Time(t)
    }
}

impl<T: Into<Cell>> From<Option<T>> for Cell {
    fn from(v: Option<T>) -> Cell {
        v.map_or(Cell::Empty, Into::into)
    }
}

/// A batch of rows and where the next batch starts (`None`: this was the last).
type Batch = (Vec<Vec<Cell>>, Option<After>);

/// Writes rows (and, first, the byte-order mark and the header) as RFC 4180 CSV.
fn encode(header: Option<&[&str]>, rows: &[Vec<Cell>]) -> Result<Bytes, AppError> {
    let mut out = Vec::new();
    if header.is_some() {
        out.extend_from_slice("\u{feff}".as_bytes());
    }
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out);
    let failed = |e: csv::Error| AppError::Internal(anyhow::anyhow!("writing CSV failed: {e}"));
    if let Some(header) = header {
        writer.write_record(header).map_err(failed)?;
    }
    for row in rows {
        let cells = row.iter().map(|cell| match cell {
            Cell::Text(s) => guard_cell(s).into_owned(),
            Cell::Number(n) => n.to_string(),
            Cell::Time(t) => t.and_utc().to_rfc3339_opts(SecondsFormat::AutoSi, true),
            Cell::Empty => String::new(),
        });
        writer.write_record(cells).map_err(failed)?;
    }
    let out = writer
        .into_inner()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("writing CSV failed: {e}")))?;
    Ok(Bytes::from(out))
}

/// A streamed CSV attachment named `file`: `fetch` reads one batch after a position, the first
/// after `start`.
fn csv_stream<F>(
    db: Db,
    file: &str,
    header: &'static [&'static str],
    start: NaiveDateTime,
    fetch: F,
) -> HttpResponse
where
    F: Fn(&mut DbConnection, &After) -> Result<Batch, AppError> + Send + Sync + 'static,
{
    let fetch = Arc::new(fetch);
    let start = After::start(start);
    let body = futures_util::stream::unfold(Some((true, start)), move |state| {
        let (db, fetch) = (db.clone(), fetch.clone());
        async move {
            let (first, after) = state?;
            let batch = db.read(move |conn| fetch(conn, &after)).await;
            let encoded = batch.and_then(|(rows, next)| {
                encode(first.then_some(header), &rows).map(|bytes| (bytes, next))
            });
            Some(match encoded {
                Ok((bytes, next)) => (Ok(bytes), next.map(|after| (false, after))),
                Err(e) => (Err(e), None),
            })
        }
    });
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, "text/csv; charset=utf-8"))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{file}\""),
        ))
        .streaming(body)
}

/// A batch of `rows`, each made into cells by `cells`, and the position after the last of them
/// (`key`) if the batch is full; after a short one (the last), `None`.
fn batch<T>(rows: Vec<T>, key: impl Fn(&T) -> After, cells: impl FnMut(T) -> Vec<Cell>) -> Batch {
    let next = if rows.len() < BATCH as usize {
        None
    } else {
        rows.last().map(key)
    };
    (rows.into_iter().map(cells).collect(), next)
}

/// `<name>-<from>-<to>.csv` with the range's dates in the community's time zone.
fn range_file(state: &AppState, name: &str, from: NaiveDateTime, to: NaiveDateTime) -> String {
    let tz = state.config.community_tz;
    format!("{name}-{}-{}.csv", local_date(tz, from), local_date(tz, to))
}

/// `?from=&to=&team_id=&status=` of the activity-log export.
#[derive(Debug, Deserialize, IntoParams)]
pub struct LogExportQuery {
    /// Start of the range (default: the start of this month in `COMMUNITY_TZ`).
    #[param(value_type = Option<chrono::DateTime<chrono::Utc>>)]
    pub from: Option<String>,
    /// End of the range, exclusive (default: the start of next month).
    #[param(value_type = Option<chrono::DateTime<chrono::Utc>>)]
    pub to: Option<String>,
    /// Only this team's activities (required for a leader: their team).
    pub team_id: Option<String>,
    /// Only logs in this status.
    pub status: Option<String>,
}

const LOG_COLUMNS: &[&str] = &[
    "log_id",
    "activity_id",
    "activity_title",
    "team",
    "volunteer_id",
    "volunteer_name",
    "phone",
    "status",
    "source",
    "checked_in_at",
    "checked_out_at",
    "minutes",
    "points_awarded",
    "reviewed_by",
    "reviewed_at",
];

#[utoipa::path(operation_id = "export_activity_logs", tag = "reports",
    params(LogExportQuery),
    responses((status = 200, description = "Activity logs created in the range, oldest first",
        content_type = "text/csv", body = String),
        (status = 403, description = "forbidden"),
        (status = 404, description = "not-found")))]
#[get("/exports/activity-logs.csv")]
pub async fn activity_logs(
    state: web::Data<AppState>,
    caller: CurrentUser,
    query: web::Query<LogExportQuery>,
) -> Result<HttpResponse, AppError> {
    let q = query.into_inner();
    let raw_team = q.team_id.clone();
    let team: Option<TeamId> = state
        .db
        .read(move |conn| team_scope(conn, &caller, raw_team.as_deref()))
        .await?;
    let status = status_filter(q.status.as_deref())?;
    let (from, to) = range(&state, q.from.as_deref(), q.to.as_deref())?;
    let file = range_file(&state, "activity-logs", from, to);
    Ok(csv_stream(
        state.db.clone(),
        &file,
        LOG_COLUMNS,
        from,
        move |conn, after| {
            let team = team.as_ref().map(TeamId::as_str);
            let rows = exports::activity_logs(conn, after, to, team, status, BATCH)?;
            Ok(batch(
                rows,
                |r| After {
                    at: r.created_at,
                    id: r.log_id.clone(),
                    entry_id: String::new(),
                },
                log_cells,
            ))
        },
    ))
}

/// One row of the activity-log export, in `LOG_COLUMNS` order.
fn log_cells(r: LogLine) -> Vec<Cell> {
    vec![
        r.log_id.into(),
        r.activity_id.into(),
        r.activity_title.into(),
        r.team.into(),
        r.volunteer_id.into(),
        r.volunteer_name.into(),
        r.phone.into(),
        r.status.into(),
        r.source.into(),
        r.checked_in_at.into(),
        r.checked_out_at.into(),
        r.minutes.into(),
        r.points_awarded.into(),
        r.reviewed_by.into(),
        r.reviewed_at.into(),
    ]
}

const PEOPLE_COLUMNS: &[&str] = &[
    "volunteer_id",
    "phone",
    "name",
    "role",
    "teams",
    "balance",
    "earned_total",
    "minutes_served",
    "created_at",
];

#[utoipa::path(operation_id = "export_volunteers", tag = "reports",
    responses((status = 200, description = "Everyone, oldest account first; `teams` joined by `;`",
        content_type = "text/csv", body = String),
        (status = 403, description = "forbidden")))]
#[get("/exports/volunteers.csv")]
pub async fn volunteers(
    state: web::Data<AppState>,
    _staff: Staff,
) -> Result<HttpResponse, AppError> {
    let today = local_date(state.config.community_tz, state.clock.now_naive());
    Ok(csv_stream(
        state.db.clone(),
        &format!("volunteers-{today}.csv"),
        PEOPLE_COLUMNS,
        chrono::DateTime::UNIX_EPOCH.naive_utc(),
        |conn, after| {
            let rows = exports::people(conn, after, BATCH)?;
            let ids: Vec<&str> = rows.iter().map(|r| r.volunteer_id.as_str()).collect();
            let mut teams: HashMap<String, Vec<String>> = HashMap::new();
            for (volunteer, team) in exports::teams_of(conn, &ids)? {
                teams.entry(volunteer).or_default().push(team);
            }
            Ok(batch(
                rows,
                |r| After {
                    at: r.created_at,
                    id: r.volunteer_id.clone(),
                    entry_id: String::new(),
                },
                |r| {
                    let joined = teams.remove(&r.volunteer_id).unwrap_or_default().join(";");
                    person_cells(r, joined)
                },
            ))
        },
    ))
}

/// One row of the people export, in `PEOPLE_COLUMNS` order; `teams` joined by `;`.
fn person_cells(r: PersonLine, teams: String) -> Vec<Cell> {
    vec![
        r.volunteer_id.into(),
        r.phone.into(),
        r.name.into(),
        r.role.into(),
        teams.into(),
        r.balance.into(),
        r.earned_total.into(),
        r.minutes_served.into(),
        r.created_at.into(),
    ]
}

const LEDGER_COLUMNS: &[&str] = &[
    "transaction_id",
    "created_at",
    "kind",
    "account_id",
    "account_kind",
    "volunteer_id",
    "volunteer_name",
    "amount",
    "balance_after",
    "memo",
];

/// `?from=&to=` of the ledger export.
#[derive(Debug, Deserialize, IntoParams)]
pub struct LedgerExportQuery {
    /// Start of the range (default: the start of this month in `COMMUNITY_TZ`).
    #[param(value_type = Option<chrono::DateTime<chrono::Utc>>)]
    pub from: Option<String>,
    /// End of the range, exclusive (default: the start of next month).
    #[param(value_type = Option<chrono::DateTime<chrono::Utc>>)]
    pub to: Option<String>,
}

#[utoipa::path(operation_id = "export_ledger", tag = "reports", params(LedgerExportQuery),
    responses((status = 200, description = "Entries of the transactions made in the range, in ledger order",
        content_type = "text/csv", body = String),
        (status = 403, description = "forbidden")))]
#[get("/exports/ledger.csv")]
pub async fn ledger(
    state: web::Data<AppState>,
    _admin: Admin,
    query: web::Query<LedgerExportQuery>,
) -> Result<HttpResponse, AppError> {
    let q = query.into_inner();
    let (from, to) = range(&state, q.from.as_deref(), q.to.as_deref())?;
    let file = range_file(&state, "ledger", from, to);
    Ok(csv_stream(
        state.db.clone(),
        &file,
        LEDGER_COLUMNS,
        from,
        move |conn, after| {
            let rows = exports::entries(conn, after, to, BATCH)?;
            Ok(batch(
                rows,
                |r| After {
                    at: r.created_at,
                    id: r.transaction_id.clone(),
                    entry_id: r.entry_id.clone(),
                },
                |r| {
                    vec![
                        r.transaction_id.into(),
                        r.created_at.into(),
                        r.kind.into(),
                        r.account_id.into(),
                        r.account_kind.into(),
                        r.volunteer_id.into(),
                        r.volunteer_name.into(),
                        r.amount.into(),
                        r.balance_after.into(),
                        r.memo.into(),
                    ]
                },
            ))
        },
    ))
}
