//! Activity logs: check-in and check-out, staff-recorded attendance, and the approval queue.
//!
//! Every move of a log is one conditional `UPDATE ... WHERE status = <from>`: 0 rows means
//! someone else moved it first, so a log is approved, rejected or reversed at most once (L4).
//! Approval and its credit, and reversal and its reversal transaction, happen in the caller's
//! one transaction (L7). Each move also moves the volunteer's hours in their account row
//! (`minutes_served` of approved logs, `pending_points` of submitted ones) in the same
//! transaction, after the log: log, then account, the lock order of every review.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::activities::Manager;
use super::keyset::before_in_time;
use super::ledger::{self, Cause, Event, Kind};
use super::prepared::Prepared;
use super::schema::{accounts, users};
use super::schema::{activities, activity_logs as logs};
use super::{is_unique_violation, savepoint, DbConnection};
use crate::domain::activities::{
    decide_check_in, length_minutes, CheckInAttempt, LogSource, LogStatus,
};
use crate::domain::ids::{ActivityId, Id, LogId, TransactionId, VolunteerId};
use crate::domain::page::Cursor;
use crate::domain::rule::Rule;
use crate::domain::text;
use crate::error::{parse_id, AppError, Conflict, FieldErrors};

/// A stored activity log.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = logs)]
pub struct LogRow {
    pub id: LogId,
    pub activity_id: ActivityId,
    pub volunteer_id: VolunteerId,
    pub status: LogStatus,
    pub source: LogSource,
    pub recorded_by: Option<String>,
    pub note: Option<String>,
    pub checked_in_at: Option<NaiveDateTime>,
    pub checked_out_at: Option<NaiveDateTime>,
    pub check_in_lat: Option<f64>,
    pub check_in_lng: Option<f64>,
    pub check_in_accuracy_m: Option<f64>,
    pub check_out_lat: Option<f64>,
    pub check_out_lng: Option<f64>,
    pub check_out_accuracy_m: Option<f64>,
    pub minutes: Option<i64>,
    pub points_proposed: Option<i64>,
    pub points_awarded: Option<i64>,
    pub check_in_distance_m: Option<f64>,
    pub reviewed_by: Option<String>,
    pub reviewed_at: Option<NaiveDateTime>,
    pub review_note: Option<String>,
    pub transaction_id: Option<TransactionId>,
    pub reversed_by: Option<String>,
    pub reversed_at: Option<NaiveDateTime>,
    pub reversal_reason: Option<String>,
    pub reversal_transaction_id: Option<TransactionId>,
    pub created_at: NaiveDateTime,
}

/// A log with what its answer shows beside it (selected from logs ⋈ activities ⋈ users).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = logs)]
pub struct LogView {
    #[diesel(embed)]
    pub log: LogRow,
    #[diesel(select_expression = activities::title)]
    pub activity_title: String,
    #[diesel(select_expression = users::name)]
    pub volunteer_name: String,
    /// The activity's team: who may review the log.
    #[diesel(select_expression = activities::team_id)]
    pub team_id: Option<String>,
}

impl LogView {
    /// The keyset position of this log in a list (newest first).
    pub fn cursor(&self) -> Cursor {
        Cursor {
            key: self.log.created_at.and_utc().timestamp_micros().to_string(),
            id: self.log.id.to_string(),
        }
    }
}

/// A reported position: `(lat, lng, accuracy_m)`.
pub type Position = (f64, f64, Option<f64>);

/// The log with this id and its activity title, volunteer name and team.
pub fn find(conn: &mut DbConnection, id: &LogId) -> Result<Option<LogView>, AppError> {
    Ok(logs::table
        .inner_join(activities::table)
        .inner_join(users::table.on(users::id.eq(logs::volunteer_id)))
        .filter(logs::id.eq(id))
        .select(LogView::as_select())
        .first(conn)
        .optional()?)
}

/// The log with this id, or 404.
pub fn get(conn: &mut DbConnection, id: &LogId) -> Result<LogView, AppError> {
    find(conn, id)?.ok_or(AppError::NotFound("activity log"))
}

/// What a list may be narrowed to.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub status: Option<LogStatus>,
    pub activity_id: Option<String>,
    pub volunteer_id: Option<String>,
    /// Only logs of activities of these teams (a leader's view); `None` = all (staff).
    pub teams: Option<Vec<String>>,
}

/// A page of logs, newest first; up to `limit + 1` rows.
pub fn list(
    conn: &mut DbConnection,
    filter: &Filter,
    limit: i64,
    after: Option<&Cursor>,
) -> Result<Vec<LogView>, AppError> {
    let mut query = logs::table
        .inner_join(activities::table)
        .inner_join(users::table.on(users::id.eq(logs::volunteer_id)))
        .select(LogView::as_select())
        .order((logs::created_at.desc(), logs::id.desc()))
        .limit(limit + 1)
        .into_boxed();
    if let Some(s) = filter.status {
        query = query.filter(logs::status.eq(s));
    }
    if let Some(a) = &filter.activity_id {
        query = query.filter(logs::activity_id.eq(a.clone()));
    }
    if let Some(v) = &filter.volunteer_id {
        query = query.filter(logs::volunteer_id.eq(v.clone()));
    }
    // A leader's view walks the log's own team column, newest first (`(team_id, created_at,
    // id)`, or `(team_id, status, created_at, id)` for one status), rather than every log in
    // the city, each looked up to see whose team it is. One team (the usual leader) is an
    // equality, which keeps the index's order; several are an `IN`.
    match filter.teams.as_deref() {
        None => {}
        Some([team]) => query = query.filter(logs::team_id.eq(team.clone())),
        Some(teams) => query = query.filter(logs::team_id.eq_any(teams.to_vec())),
    }
    if let Some(c) = after {
        query = query.filter(before_in_time(logs::created_at, logs::id, c)?);
    }
    Ok(query.load(conn)?)
}

fn already_checked_in() -> AppError {
    AppError::Conflict(Conflict::AlreadyCheckedIn)
}

/// Checks a volunteer in: 404 for an unknown activity, then the rules of
/// [`decide_check_in`] (cancelled, window, code, geofence), then opens the log while the
/// activity is held scheduled (a cancel racing it is 409 `activity-cancelled`, never a log on a
/// cancelled activity); 409 `already-checked-in` if the volunteer has a log there (the UNIQUE
/// index decides, so concurrent check-ins give one log).
pub fn check_in(
    conn: &mut DbConnection,
    activity_id: &ActivityId,
    volunteer_id: &VolunteerId,
    code: &str,
    at: Option<Position>,
    now: NaiveDateTime,
) -> Result<LogView, AppError> {
    let activity = super::activities::get(conn, activity_id)?;
    let distance_m = decide_check_in(&CheckInAttempt {
        cancelled: activity.is_cancelled(),
        starts_at: activity.starts_at,
        ends_at: activity.ends_at,
        secret: &activity.secret(),
        geofence: activity.geofence(),
        code,
        at: at.map(|(lat, lng, _)| (lat, lng)),
        now,
    })?;
    let team_id = super::activities::hold_scheduled(conn, &activity.id)?;
    let id = LogId::fresh();
    let inserted = diesel::insert_into(logs::table)
        .values((
            logs::id.eq(&id),
            logs::activity_id.eq(&activity.id),
            logs::volunteer_id.eq(volunteer_id),
            logs::team_id.eq(&team_id),
            logs::status.eq(LogStatus::CheckedIn),
            logs::source.eq(LogSource::SelfCheckIn),
            logs::checked_in_at.eq(now),
            logs::check_in_lat.eq(at.map(|p| p.0)),
            logs::check_in_lng.eq(at.map(|p| p.1)),
            logs::check_in_accuracy_m.eq(at.and_then(|p| p.2)),
            logs::check_in_distance_m.eq(distance_m),
            logs::created_at.eq(now),
        ))
        .execute(conn);
    match inserted {
        Err(e) if is_unique_violation(&e) => Err(already_checked_in()),
        Err(e) => Err(e.into()),
        Ok(_) => get(conn, &id),
    }
}

/// Closes the caller's open check-in at this activity with the minutes and points the server
/// computed; 404 for an unknown activity, 409 `not-checked-in` if there is no open check-in.
pub fn check_out(
    conn: &mut DbConnection,
    activity_id: &ActivityId,
    volunteer_id: &VolunteerId,
    at: Option<Position>,
    now: NaiveDateTime,
) -> Result<LogView, AppError> {
    let activity = super::activities::get(conn, activity_id)?;
    let not_checked_in = || AppError::Conflict(Conflict::NotCheckedIn);
    let log: LogRow = logs::table
        .filter(logs::activity_id.eq(&activity.id))
        .filter(logs::volunteer_id.eq(volunteer_id))
        .select(LogRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(not_checked_in)?;
    let Some(checked_in_at) = log
        .checked_in_at
        .filter(|_| log.status == LogStatus::CheckedIn)
    else {
        return Err(not_checked_in());
    };
    let minutes = crate::domain::activities::minutes_served(
        checked_in_at,
        activity.starts_at,
        activity.ends_at,
        now,
    );
    let points = activity.rule().proposed(minutes);
    let moved: Option<String> = Prepared(
        diesel::update(
            logs::table
                .find(&log.id)
                .filter(logs::status.eq(LogStatus::CheckedIn)),
        )
        .set((
            logs::status.eq(LogStatus::Submitted),
            logs::checked_out_at.eq(now),
            logs::check_out_lat.eq(at.map(|p| p.0)),
            logs::check_out_lng.eq(at.map(|p| p.1)),
            logs::check_out_accuracy_m.eq(at.and_then(|p| p.2)),
            logs::minutes.eq(minutes),
            logs::points_proposed.eq(points),
        ))
        .returning(logs::id),
    )
    .get_result(conn)
    .optional()?;
    if moved.is_none() {
        return Err(not_checked_in());
    }
    count_hours(conn, volunteer_id, 0, points)?;
    get(conn, &log.id)
}

/// Attendance recorded at the desk, as sent (ids not yet parsed, fields not yet checked).
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    pub activity_id: &'a str,
    pub volunteer_id: &'a str,
    /// 1 up to the activity's length.
    pub minutes: i64,
    pub note: Option<&'a str>,
}

/// Records attendance on a volunteer's behalf, already submitted. In order: 404 for an unknown
/// activity, 403 unless `who` manages it, 404 for an unknown volunteer, 422 for the minutes
/// and note, 409 `activity-cancelled` (also for a cancel that commits while this runs: the
/// activity is held scheduled), 409 `already-checked-in` if they have a log there.
pub fn record(
    conn: &mut DbConnection,
    who: &Manager,
    r: Record<'_>,
    now: NaiveDateTime,
) -> Result<LogView, AppError> {
    let activity = super::activities::get(conn, &parse_id(r.activity_id)?)?;
    who.require(activity.team_id.as_deref())?;
    let volunteer: VolunteerId = parse_id(r.volunteer_id)?;
    super::users::find(conn, &volunteer)?.ok_or(AppError::NotFound("volunteer"))?;
    let mut errs = FieldErrors::default();
    let longest = length_minutes(activity.starts_at, activity.ends_at);
    errs.check("minutes", text::in_range(r.minutes, 1, longest));
    let note = errs.check_opt("note", r.note, text::reason);
    errs.finish()?;
    let note = note.flatten();
    // Attendance recorded at the desk is a check-in on someone's behalf: the same rule holds.
    if activity.is_cancelled() {
        return Err(AppError::Conflict(Conflict::ActivityCancelled));
    }
    let team_id = super::activities::hold_scheduled(conn, &activity.id)?;
    let id = LogId::fresh();
    let points = activity.rule().proposed(r.minutes);
    let inserted = diesel::insert_into(logs::table)
        .values((
            logs::id.eq(&id),
            logs::activity_id.eq(&activity.id),
            logs::volunteer_id.eq(&volunteer),
            logs::team_id.eq(&team_id),
            logs::status.eq(LogStatus::Submitted),
            logs::source.eq(LogSource::Staff),
            logs::recorded_by.eq(&who.id),
            logs::note.eq(note),
            logs::minutes.eq(r.minutes),
            logs::points_proposed.eq(points),
            logs::created_at.eq(now),
        ))
        .execute(conn);
    match inserted {
        Err(e) if is_unique_violation(&e) => Err(already_checked_in()),
        Err(e) => Err(e.into()),
        Ok(_) => {
            count_hours(conn, &volunteer, 0, points)?;
            get(conn, &id)
        }
    }
}

/// Loads a log for review: 404 if unknown, 403 `forbidden` unless `who` manages its activity's
/// team, 403 `self-approval` for one's own log.
fn for_review(conn: &mut DbConnection, who: &Manager, id: &LogId) -> Result<LogView, AppError> {
    let v = get(conn, id)?;
    who.require(v.team_id.as_deref())?;
    if v.log.volunteer_id == who.id {
        return Err(AppError::SelfApproval("nobody reviews their own log"));
    }
    Ok(v)
}

/// `refusal` (a body that breaks a rule), answered only once `who` may review the log at all: a
/// leader outside its team is a volunteer there, whose 403 comes before any 422 (API.md), as an
/// unknown log's 404 and one's own log's `self-approval` do.
pub fn refuse_for_review(
    conn: &mut DbConnection,
    who: &Manager,
    id: &LogId,
    refusal: AppError,
) -> AppError {
    for_review(conn, who, id).err().unwrap_or(refusal)
}

fn not_submitted() -> AppError {
    AppError::Conflict(Conflict::LogNotSubmitted)
}

/// Approves a submitted log with `points` (default `points_proposed`; other points need a
/// `note`) and credits them in the same transaction. The state-machine UPDATE runs first, so
/// of concurrent approvals exactly one credits (L4); 0 points make no transaction.
pub fn approve(
    conn: &mut DbConnection,
    who: &Manager,
    id: &LogId,
    points: Option<i64>,
    note: Option<&str>,
    now: NaiveDateTime,
) -> Result<LogView, AppError> {
    let approved = mark_approved(conn, who, id, points, note, now)?;
    credit_approved(conn, who, approved, now)
}

/// A log [`mark_approved`] moved to `approved`, whose points [`credit_approved`] still has to
/// credit in the same transaction.
pub struct Approved {
    view: LogView,
    points: i64,
}

impl Approved {
    /// The volunteer whose account the credit touches.
    pub fn volunteer_id(&self) -> &VolunteerId {
        &self.view.log.volunteer_id
    }
}

/// The first half of [`approve`]: the checks and the state-machine UPDATE, which locks the log
/// row and no account. Bulk approval moves every log first and credits after, so it never
/// holds an account row while it waits for a log row (a single review takes log, then account).
pub fn mark_approved(
    conn: &mut DbConnection,
    who: &Manager,
    id: &LogId,
    points: Option<i64>,
    note: Option<&str>,
    now: NaiveDateTime,
) -> Result<Approved, AppError> {
    let v = for_review(conn, who, id)?;
    if v.log.recorded_by.as_deref() == Some(who.id.as_str()) {
        return Err(AppError::SelfApproval(
            "whoever recorded a log does not approve it",
        ));
    }
    let Some(proposed) = v
        .log
        .points_proposed
        .filter(|_| v.log.status == LogStatus::Submitted)
    else {
        return Err(not_submitted());
    };
    let points = points.unwrap_or(proposed);
    if points != proposed && note.is_none() {
        return Err(AppError::invalid("note", Rule::NoteRequired));
    }
    let moved: Option<String> = Prepared(
        diesel::update(
            logs::table
                .find(&v.log.id)
                .filter(logs::status.eq(LogStatus::Submitted)),
        )
        .set((
            logs::status.eq(LogStatus::Approved),
            logs::points_awarded.eq(points),
            logs::reviewed_by.eq(&who.id),
            logs::reviewed_at.eq(now),
            logs::review_note.eq(note),
        ))
        .returning(logs::id),
    )
    .get_result(conn)
    .optional()?;
    if moved.is_none() {
        return Err(not_submitted());
    }
    // The row as the UPDATE left it: the answer needs no second read.
    let mut v = v;
    v.log.status = LogStatus::Approved;
    v.log.points_awarded = Some(points);
    v.log.reviewed_by = Some(who.id.to_string());
    v.log.reviewed_at = Some(now);
    v.log.review_note = note.map(str::to_owned);
    Ok(Approved { view: v, points })
}

/// The second half of [`approve`]: credits the points of a log [`mark_approved`] moved (none
/// for 0 points) and answers the log as it now is.
pub fn credit_approved(
    conn: &mut DbConnection,
    who: &Manager,
    Approved {
        view: mut v,
        points,
    }: Approved,
    now: NaiveDateTime,
) -> Result<LogView, AppError> {
    // The log as it was submitted: its proposed points leave `pending_points`, its minutes join
    // `minutes_served` (neither changes after submission).
    let (minutes, proposed) = (v.log.minutes, v.log.points_proposed);
    count_hours(
        conn,
        &v.log.volunteer_id,
        minutes.unwrap_or_default(),
        -proposed.unwrap_or_default(),
    )?;
    if points > 0 {
        let memo = format!("hours at {}", v.activity_title);
        let tx = ledger::credit(
            conn,
            Kind::Earn,
            &v.log.volunteer_id,
            points,
            Event {
                memo: &memo,
                created_by: Some(&who.id),
                cause: Cause {
                    activity_log_id: Some(v.log.id.clone()),
                    ..Cause::default()
                },
                now,
            },
        )?;
        Prepared(
            diesel::update(logs::table.find(&v.log.id))
                .set(logs::transaction_id.eq(&tx.id))
                .returning(logs::id),
        )
        .load::<String>(conn)?;
        v.log.transaction_id = Some(tx.id);
    }
    Ok(v)
}

/// Approves each log of `ids` with its `points_proposed`, in one transaction, and answers in
/// the request's order: the approved log, or the refusal a single approval would have given.
/// Each log runs in its own savepoint, so a refusal undoes only that log's writes and each id
/// is authorised on its own; a fault (5xx) fails the whole batch.
///
/// Two passes, so no deadlock with a single review or another batch: every log is moved (and
/// locked) in id order while no account row is held, then the credits go in volunteer order —
/// the same log-then-account order as a single approve or reverse.
pub fn bulk_approve(
    conn: &mut DbConnection,
    who: &Manager,
    ids: &[String],
    now: NaiveDateTime,
) -> Result<Vec<Result<LogView, AppError>>, AppError> {
    let mut order: Vec<usize> = (0..ids.len()).collect();
    order.sort_by(|&a, &b| ids[a].cmp(&ids[b]));
    let mut outcomes: Vec<Option<Result<LogView, AppError>>> = ids.iter().map(|_| None).collect();
    let mut moved = Vec::new();
    for i in order {
        let approving = |conn: &mut DbConnection| {
            mark_approved(conn, who, &parse_id::<LogId>(&ids[i])?, None, None, now)
        };
        // One bad log never fails the batch: whatever refused it (a rule, or a fault its
        // savepoint rolled back) is reported in `failed`. Only a lost database ends the batch.
        match savepoint(conn, approving) {
            Ok(approved) => moved.push((i, approved)),
            Err(AppError::Unavailable) => return Err(AppError::Unavailable),
            Err(e) => {
                if e.is_fault() {
                    tracing::error!(error = ?e, log = %ids[i], "bulk approve: one log failed");
                }
                outcomes[i] = Some(Err(e));
            }
        }
    }
    moved.sort_by(|(a, x), (b, y)| (x.volunteer_id(), &ids[*a]).cmp(&(y.volunteer_id(), &ids[*b])));
    for (i, approved) in moved {
        outcomes[i] = Some(Ok(credit_approved(conn, who, approved, now)?));
    }
    Ok(outcomes.into_iter().flatten().collect())
}

/// Rejects a submitted log with a reason.
pub fn reject(
    conn: &mut DbConnection,
    who: &Manager,
    id: &LogId,
    reason: &str,
    now: NaiveDateTime,
) -> Result<LogView, AppError> {
    let v = for_review(conn, who, id)?;
    // The points leaving `pending_points` come from the row this UPDATE moved: on PostgreSQL
    // `v` may have been read before the check-out that submitted the log.
    let proposed: Option<i64> = Prepared(
        diesel::update(
            logs::table
                .find(&v.log.id)
                .filter(logs::status.eq(LogStatus::Submitted)),
        )
        .set((
            logs::status.eq(LogStatus::Rejected),
            logs::reviewed_by.eq(&who.id),
            logs::reviewed_at.eq(now),
            logs::review_note.eq(reason),
        ))
        .returning(logs::points_proposed),
    )
    .get_result::<Option<i64>>(conn)
    .optional()?
    .ok_or_else(not_submitted)?;
    count_hours(conn, &v.log.volunteer_id, 0, -proposed.unwrap_or_default())?;
    get(conn, &v.log.id)
}

/// Reverses an approved log: a reversal transaction takes `points_awarded` back. If the
/// volunteer has spent them the ledger refuses with `insufficient-points` and the caller's
/// transaction rolls the status change back too: nothing changes.
pub fn reverse(
    conn: &mut DbConnection,
    who: &Manager,
    id: &LogId,
    reason: &str,
    now: NaiveDateTime,
) -> Result<LogView, AppError> {
    let v = for_review(conn, who, id)?;
    // The credit to take back comes from the row this UPDATE moved, not from `v`: on
    // PostgreSQL an approval may commit between that read and this statement.
    let moved: Option<(Option<TransactionId>, Option<i64>)> = Prepared(
        diesel::update(
            logs::table
                .find(&v.log.id)
                .filter(logs::status.eq(LogStatus::Approved)),
        )
        .set((
            logs::status.eq(LogStatus::Reversed),
            logs::reversed_by.eq(&who.id),
            logs::reversed_at.eq(now),
            logs::reversal_reason.eq(reason),
        ))
        .returning((logs::transaction_id, logs::minutes)),
    )
    .get_result(conn)
    .optional()?;
    let Some((credited, minutes)) = moved else {
        return Err(AppError::Conflict(Conflict::LogNotApproved));
    };
    count_hours(conn, &v.log.volunteer_id, -minutes.unwrap_or_default(), 0)?;
    if let Some(original) = &credited {
        let memo = format!("reversal of hours at {}: {reason}", v.activity_title);
        let tx = ledger::reverse(
            conn,
            original,
            Event {
                memo: &memo,
                created_by: Some(&who.id),
                cause: Cause {
                    activity_log_id: Some(v.log.id.clone()),
                    ..Cause::default()
                },
                now,
            },
        )?;
        Prepared(
            diesel::update(logs::table.find(&v.log.id))
                .set(logs::reversal_transaction_id.eq(&tx.id))
                .returning(logs::id),
        )
        .load::<String>(conn)?;
    }
    get(conn, &v.log.id)
}

/// Moves a volunteer's hours in their account row with a move of one of their logs: `minutes`
/// into `minutes_served`, `pending` into `pending_points` (negative to take them out).
fn count_hours(
    conn: &mut DbConnection,
    volunteer: &VolunteerId,
    minutes: i64,
    pending: i64,
) -> Result<(), AppError> {
    Prepared(
        diesel::update(accounts::table.filter(accounts::volunteer_id.eq(volunteer.as_str())))
            .set((
                accounts::minutes_served.eq(accounts::minutes_served + minutes),
                accounts::pending_points.eq(accounts::pending_points + pending),
            ))
            .returning(accounts::id),
    )
    .load::<String>(conn)?;
    Ok(())
}

#[derive(QueryableByName)]
struct HoursDrift {
    #[diesel(sql_type = diesel::sql_types::Text)]
    id: String,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    minutes_served: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    minutes: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pending_points: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pending: i64,
}

/// `verify`'s rules over the logs: `hours` (every volunteer account's `minutes_served` and
/// `pending_points` are what its logs add up to) and `log-team` (every log carries its
/// activity's team).
pub fn verify(conn: &mut DbConnection) -> Result<Vec<super::verify::Problem>, AppError> {
    let mut problems = verify_hours(conn)?;
    let strays: Vec<(String, Option<String>, Option<String>)> = logs::table
        .inner_join(activities::table)
        .filter(diesel::dsl::sql::<diesel::sql_types::Bool>(
            "COALESCE(activity_logs.team_id, '') <> COALESCE(activities.team_id, '')",
        ))
        .select((logs::id, logs::team_id, activities::team_id))
        .load(conn)?;
    problems.extend(
        strays
            .into_iter()
            .map(|(id, log, activity)| super::verify::Problem {
                rule: "log-team".into(),
                subject: format!("activity_log:{id}"),
                detail: format!(
                    "the log has team {} but its activity has {}",
                    log.as_deref().unwrap_or("none"),
                    activity.as_deref().unwrap_or("none")
                ),
            }),
    );
    Ok(problems)
}

fn verify_hours(conn: &mut DbConnection) -> Result<Vec<super::verify::Problem>, AppError> {
    let drifts: Vec<HoursDrift> = diesel::sql_query(
        "SELECT a.id AS id, a.minutes_served AS minutes_served, a.pending_points AS pending_points, \
                h.minutes AS minutes, h.pending AS pending \
         FROM accounts a \
         JOIN (SELECT u.id AS volunteer_id, \
                      CAST(COALESCE(SUM(CASE WHEN l.status = 'approved' THEN l.minutes END), 0) \
                           AS BIGINT) AS minutes, \
                      CAST(COALESCE(SUM(CASE WHEN l.status = 'submitted' THEN l.points_proposed END), 0) \
                           AS BIGINT) AS pending \
               FROM users u LEFT JOIN activity_logs l ON l.volunteer_id = u.id \
               GROUP BY u.id) h ON h.volunteer_id = a.volunteer_id \
         WHERE a.minutes_served <> h.minutes OR a.pending_points <> h.pending",
    )
    .load(conn)?;
    Ok(drifts
        .into_iter()
        .map(|d| super::verify::Problem {
            rule: "hours".into(),
            subject: format!("account:{}", d.id),
            detail: format!(
                "cached minutes_served/pending_points {}/{} but the logs give {}/{}",
                d.minutes_served, d.pending_points, d.minutes, d.pending
            ),
        })
        .collect())
}
