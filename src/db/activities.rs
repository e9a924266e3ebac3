//! Activities and enrolments, and who may manage an activity (staff, or the leader of its team).

use std::collections::HashSet;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use rand::RngCore;

use super::keyset::micros_to_naive;
use super::schema::{activities, activity_logs, enrollments};
use super::{is_unique_violation, DbConnection};
use crate::domain::activities::{ActivityStatus, PointsRule, MAX_LENGTH};
use crate::domain::ids::{ActivityId, Id, TeamId, VolunteerId};
use crate::domain::page::Cursor;
use crate::error::{parse_id, AppError, Conflict};

/// A stored activity (the check-in secret included: never show it).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = activities)]
pub struct ActivityRow {
    pub id: ActivityId,
    pub title: String,
    pub description: Option<String>,
    pub location: Option<String>,
    pub team_id: Option<String>,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub capacity: Option<i64>,
    pub points_per_hour: Option<i64>,
    pub fixed_points: Option<i64>,
    pub geofence_lat: Option<f64>,
    pub geofence_lng: Option<f64>,
    pub geofence_radius_m: Option<i64>,
    pub enrolled_count: i64,
    pub status: ActivityStatus,
    pub checkin_secret: String,
    pub created_by: String,
    pub created_at: NaiveDateTime,
}

impl ActivityRow {
    /// The keyset position of this activity in the list (soonest first).
    pub fn cursor(&self) -> Cursor {
        Cursor {
            key: self.starts_at.and_utc().timestamp_micros().to_string(),
            id: self.id.to_string(),
        }
    }

    /// The points rule (the CHECK constraint keeps exactly one of the two).
    pub fn rule(&self) -> PointsRule {
        match (self.points_per_hour, self.fixed_points) {
            (Some(p), _) => PointsRule::PerHour(p),
            (None, f) => PointsRule::Fixed(f.unwrap_or(0)),
        }
    }

    /// Whether it was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.status == ActivityStatus::Cancelled
    }

    /// `(lat, lng, radius_m)` when it has a geofence.
    pub fn geofence(&self) -> Option<(f64, f64, i64)> {
        match (self.geofence_lat, self.geofence_lng, self.geofence_radius_m) {
            (Some(lat), Some(lng), Some(r)) => Some((lat, lng, r)),
            _ => None,
        }
    }

    /// The secret behind the rotating check-in code.
    pub fn secret(&self) -> Vec<u8> {
        (0..self.checkin_secret.len() / 2)
            .filter_map(|i| u8::from_str_radix(self.checkin_secret.get(2 * i..2 * i + 2)?, 16).ok())
            .collect()
    }
}

/// The fields of an activity that may change after it is published (all but the points rule).
#[derive(Debug, Clone)]
pub struct Editable {
    pub title: String,
    pub description: Option<String>,
    pub location: Option<String>,
    pub team_id: Option<String>,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub capacity: Option<i64>,
    /// `(lat, lng, radius_m)`.
    pub geofence: Option<(f64, f64, i64)>,
}

impl Editable {
    /// The current values of a stored activity.
    pub fn of(row: &ActivityRow) -> Editable {
        Editable {
            title: row.title.clone(),
            description: row.description.clone(),
            location: row.location.clone(),
            team_id: row.team_id.clone(),
            starts_at: row.starts_at,
            ends_at: row.ends_at,
            capacity: row.capacity,
            geofence: row.geofence(),
        }
    }
}

/// Who is acting on activities and logs, with the teams they lead read from the database now.
#[derive(Debug, Clone)]
pub struct Manager {
    pub id: VolunteerId,
    pub staff: bool,
    pub led: Vec<String>,
}

impl Manager {
    /// Reads the teams `id` leads.
    pub fn load(
        conn: &mut DbConnection,
        id: &VolunteerId,
        staff: bool,
    ) -> Result<Manager, AppError> {
        let led = if staff {
            Vec::new()
        } else {
            super::teams::led_by(conn, id.as_str())?
        };
        Ok(Manager {
            id: id.clone(),
            staff,
            led,
        })
    }

    /// [`Manager::load`] then [`Manager::require_role`]: who may act on activities at all.
    pub fn acting(
        conn: &mut DbConnection,
        id: &VolunteerId,
        staff: bool,
    ) -> Result<Manager, AppError> {
        let who = Manager::load(conn, id, staff)?;
        who.require_role()?;
        Ok(who)
    }

    /// 403 unless staff or the leader of some team: the role check that comes before any 404.
    pub fn require_role(&self) -> Result<(), AppError> {
        if self.staff || !self.led.is_empty() {
            Ok(())
        } else {
            Err(AppError::Forbidden(
                "only staff and team leaders may do this",
            ))
        }
    }

    /// Whether they may manage what belongs to `team_id` (staff: anything; leaders: their team,
    /// its id in any spelling of a UUID: upper case or without hyphens names the same team).
    pub fn may(&self, team_id: Option<&str>) -> bool {
        self.staff
            || team_id
                .and_then(TeamId::parse)
                .is_some_and(|t| self.led.iter().any(|l| l == t.as_str()))
    }

    /// 403 unless they may manage what belongs to `team_id`.
    pub fn require(&self, team_id: Option<&str>) -> Result<(), AppError> {
        if self.may(team_id) {
            Ok(())
        } else {
            Err(AppError::Forbidden(
                "only staff and this team's leaders may do this",
            ))
        }
    }
}

/// The team id of a body, as stored: 404 unless the team exists (an unknown id inside a body).
fn require_team(
    conn: &mut DbConnection,
    team_id: Option<&str>,
) -> Result<Option<String>, AppError> {
    match team_id {
        None => Ok(None),
        Some(raw) => {
            let id: TeamId = parse_id(raw)?;
            super::teams::find(conn, &id)?.ok_or(AppError::NotFound("team"))?;
            Ok(Some(id.to_string()))
        }
    }
}

/// Publishes an activity with a fresh random check-in secret; 404 for an unknown team.
pub fn create(
    conn: &mut DbConnection,
    mut fields: Editable,
    rule: PointsRule,
    created_by: &VolunteerId,
    now: NaiveDateTime,
) -> Result<ActivityRow, AppError> {
    fields.team_id = require_team(conn, fields.team_id.as_deref())?;
    let id = ActivityId::fresh();
    let mut secret = [0u8; 20];
    rand::thread_rng().fill_bytes(&mut secret);
    let secret: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    let (pph, fixed) = rule.columns();
    diesel::insert_into(activities::table)
        .values((
            activities::id.eq(&id),
            activities::title.eq(&fields.title),
            activities::description.eq(&fields.description),
            activities::location.eq(&fields.location),
            activities::team_id.eq(&fields.team_id),
            activities::starts_at.eq(fields.starts_at),
            activities::ends_at.eq(fields.ends_at),
            activities::capacity.eq(fields.capacity),
            activities::points_per_hour.eq(pph),
            activities::fixed_points.eq(fixed),
            activities::geofence_lat.eq(fields.geofence.map(|g| g.0)),
            activities::geofence_lng.eq(fields.geofence.map(|g| g.1)),
            activities::geofence_radius_m.eq(fields.geofence.map(|g| g.2)),
            activities::enrolled_count.eq(0),
            activities::status.eq(ActivityStatus::Scheduled),
            activities::checkin_secret.eq(&secret),
            activities::created_by.eq(created_by),
            activities::created_at.eq(now),
        ))
        .execute(conn)?;
    find(conn, &id)?.ok_or(AppError::NotFound("activity"))
}

/// Which fields a PATCH sent: only these are written (a field left out keeps whatever is stored
/// when the edit commits, even if another edit changed it meanwhile).
#[derive(Debug, Clone, Copy, Default)]
pub struct Sent {
    pub title: bool,
    pub description: bool,
    pub location: bool,
    pub team_id: bool,
    pub starts_at: bool,
    pub ends_at: bool,
    pub capacity: bool,
    pub geofence: bool,
}

impl Sent {
    fn any(&self) -> bool {
        self.title
            || self.description
            || self.location
            || self.team_id
            || self.starts_at
            || self.ends_at
            || self.capacity
            || self.geofence
    }
}

/// The columns an edit writes: `None` leaves a column alone, `Some(None)` stores NULL.
#[derive(AsChangeset)]
#[diesel(table_name = activities)]
struct Written<'a> {
    title: Option<&'a str>,
    description: Option<Option<&'a str>>,
    location: Option<Option<&'a str>>,
    team_id: Option<Option<&'a str>>,
    starts_at: Option<NaiveDateTime>,
    ends_at: Option<NaiveDateTime>,
    capacity: Option<Option<i64>>,
    geofence_lat: Option<Option<f64>>,
    geofence_lng: Option<Option<f64>>,
    geofence_radius_m: Option<Option<i64>>,
}

impl<'a> Written<'a> {
    /// The sent fields of `f`.
    fn of(f: &'a Editable, sent: Sent) -> Written<'a> {
        let fence =
            |pick: fn((f64, f64, i64)) -> f64| sent.geofence.then_some(f.geofence.map(pick));
        Written {
            title: sent.title.then_some(f.title.as_str()),
            description: sent.description.then_some(f.description.as_deref()),
            location: sent.location.then_some(f.location.as_deref()),
            team_id: sent.team_id.then_some(f.team_id.as_deref()),
            starts_at: sent.starts_at.then_some(f.starts_at),
            ends_at: sent.ends_at.then_some(f.ends_at),
            capacity: sent.capacity.then_some(f.capacity),
            geofence_lat: fence(|g| g.0),
            geofence_lng: fence(|g| g.1),
            geofence_radius_m: sent.geofence.then_some(f.geofence.map(|g| g.2)),
        }
    }
}

/// How many times an edit reads an activity that changed under it again before it gives up
/// (503 `unavailable`: only a storm of concurrent edits of one activity gets there).
const EDIT_ATTEMPTS: usize = 5;

/// Edits an activity: 404 if unknown, 403 unless `who` manages it, then `patch` makes the new
/// fields from the current ones (its refusal, such as a 422, stops the edit); moving it to
/// another team needs the right to publish for that team too (403), which must exist (404).
///
/// Only the `sent` fields are written, in one conditional UPDATE that holds only while the
/// activity is still in the team the permission was granted on and still has the start or end
/// the time rules were checked against. If another edit got there first (0 rows), the activity
/// is read again and everything is decided afresh: two concurrent edits of different fields both
/// stay, and a leader's edit racing a move out of their team is refused, never writing the old
/// team back.
pub fn edit(
    conn: &mut DbConnection,
    who: &Manager,
    id: &ActivityId,
    sent: Sent,
    patch: impl Fn(Editable) -> Result<Editable, AppError>,
) -> Result<ActivityRow, AppError> {
    for _ in 0..EDIT_ATTEMPTS {
        let row = get(conn, id)?;
        who.require(row.team_id.as_deref())?;
        let mut fields = patch(Editable::of(&row))?;
        if fields.team_id != row.team_id {
            who.require(fields.team_id.as_deref())?;
            fields.team_id = require_team(conn, fields.team_id.as_deref())?;
        }
        if !sent.any() || write_sent(conn, &row, &fields, sent)? {
            if fields.team_id != row.team_id {
                move_logs(conn, &row.id, fields.team_id.as_deref())?;
            }
            return get(conn, &row.id);
        }
    }
    tracing::warn!(activity = %id, "an activity kept changing under an edit");
    Err(AppError::Unavailable)
}

/// Moves the activity's logs to its new team (the column a leader's log list walks), in the
/// edit's transaction and under the row lock its UPDATE took.
fn move_logs(
    conn: &mut DbConnection,
    id: &ActivityId,
    team_id: Option<&str>,
) -> Result<(), AppError> {
    diesel::update(activity_logs::table.filter(activity_logs::activity_id.eq(id)))
        .set(activity_logs::team_id.eq(team_id))
        .execute(conn)?;
    Ok(())
}

/// Writes the `sent` fields if the activity still is as `read` in what the edit was decided on;
/// whether it was.
fn write_sent(
    conn: &mut DbConnection,
    read: &ActivityRow,
    fields: &Editable,
    sent: Sent,
) -> Result<bool, AppError> {
    use diesel::dsl::not;
    use diesel::sql_types::Bool;
    // `team_id IS NOT DISTINCT FROM $1`, portably.
    let same_team = activities::team_id
        .eq(read.team_id.clone())
        .or(activities::team_id
            .is_null()
            .and(read.team_id.is_none().into_sql::<Bool>()));
    // A time sent alone was checked against the other, stored one.
    let start_kept = activities::starts_at
        .eq(read.starts_at)
        .or(not((sent.ends_at && !sent.starts_at).into_sql::<Bool>()));
    let end_kept = activities::ends_at
        .eq(read.ends_at)
        .or(not((sent.starts_at && !sent.ends_at).into_sql::<Bool>()));
    let n = diesel::update(
        activities::table
            .find(&read.id)
            .filter(same_team)
            .filter(start_kept)
            .filter(end_kept),
    )
    .set(Written::of(fields, sent))
    .execute(conn)?;
    Ok(n == 1)
}

/// The activity with this id.
pub fn find(conn: &mut DbConnection, id: &ActivityId) -> Result<Option<ActivityRow>, AppError> {
    Ok(activities::table
        .find(id)
        .select(ActivityRow::as_select())
        .first(conn)
        .optional()?)
}

/// The activity with this id, or 404.
pub fn get(conn: &mut DbConnection, id: &ActivityId) -> Result<ActivityRow, AppError> {
    find(conn, id)?.ok_or(AppError::NotFound("activity"))
}

/// Activities whose time overlaps `[from, to)`, soonest first; up to `limit + 1` rows.
///
/// An activity lasts at most [`MAX_LENGTH`] (7 days), so one that ends after `from` started
/// after `from - 7 days`: that bound lets the walk down `(starts_at, id)` (or `(team_id,
/// starts_at, id)`) begin a week before `from` instead of at the first activity ever.
pub fn list(
    conn: &mut DbConnection,
    from: NaiveDateTime,
    to: Option<NaiveDateTime>,
    team_id: Option<&str>,
    limit: i64,
    after: Option<&Cursor>,
) -> Result<Vec<ActivityRow>, AppError> {
    let mut query = activities::table
        .select(ActivityRow::as_select())
        .filter(activities::ends_at.gt(from))
        .filter(activities::starts_at.gt(from - MAX_LENGTH))
        .order((activities::starts_at.asc(), activities::id.asc()))
        .limit(limit + 1)
        .into_boxed();
    if let Some(to) = to {
        query = query.filter(activities::starts_at.lt(to));
    }
    if let Some(team) = team_id {
        query = query.filter(activities::team_id.eq(team.to_owned()));
    }
    if let Some(c) = after {
        let at = micros_to_naive(&c.key)?;
        query = query.filter(
            activities::starts_at.gt(at).or(activities::starts_at
                .eq(at)
                .and(activities::id.gt(c.id.clone()))),
        );
    }
    Ok(query.load(conn)?)
}

/// Which of these activities `user` is enrolled in.
pub fn enrolled_in(
    conn: &mut DbConnection,
    user: &VolunteerId,
    activity_ids: &[ActivityId],
) -> Result<HashSet<ActivityId>, AppError> {
    // Bound as text: PostgreSQL binds `eq_any` as one array, which the connection enum can
    // only build from a built-in type.
    let wanted: Vec<&str> = activity_ids.iter().map(ActivityId::as_str).collect();
    let ids: Vec<ActivityId> = enrollments::table
        .filter(enrollments::volunteer_id.eq(user))
        .filter(enrollments::activity_id.eq_any(wanted))
        .select(enrollments::activity_id)
        .load(conn)?;
    Ok(ids.into_iter().collect())
}

/// Enrols `user`: 409 `already-enrolled`, `activity-full`, `activity-ended` or
/// `activity-cancelled`. The place is taken by one conditional UPDATE
/// (`status = 'scheduled' AND enrolled_count < capacity`), so concurrent sign-ups never exceed
/// the capacity and none lands on an activity cancelled after it was read.
pub fn enroll(
    conn: &mut DbConnection,
    activity_id: &ActivityId,
    user: &VolunteerId,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let activity = get(conn, activity_id)?;
    if activity.is_cancelled() {
        return Err(AppError::Conflict(Conflict::ActivityCancelled));
    }
    if now >= activity.ends_at {
        return Err(AppError::Conflict(Conflict::ActivityEnded));
    }
    let inserted = diesel::insert_into(enrollments::table)
        .values((
            enrollments::activity_id.eq(activity_id),
            enrollments::volunteer_id.eq(user),
            enrollments::created_at.eq(now),
        ))
        .execute(conn);
    match inserted {
        Err(e) if is_unique_violation(&e) => {
            return Err(AppError::Conflict(Conflict::AlreadyEnrolled))
        }
        other => other?,
    };
    let taken = diesel::update(
        activities::table
            .find(activity_id)
            .filter(activities::status.eq(ActivityStatus::Scheduled))
            .filter(
                activities::capacity
                    .is_null()
                    .or(activities::enrolled_count.lt(activities::capacity.assume_not_null())),
            ),
    )
    .set(activities::enrolled_count.eq(activities::enrolled_count + 1))
    .execute(conn)?;
    if taken == 0 {
        // Full, or cancelled since it was read: the caller's transaction rolls the enrolment
        // row back with this refusal.
        let cancelled = get(conn, activity_id)?.is_cancelled();
        return Err(AppError::Conflict(if cancelled {
            Conflict::ActivityCancelled
        } else {
            Conflict::ActivityFull
        }));
    }
    Ok(())
}

/// Keeps the activity scheduled until the caller's transaction ends, or 409
/// `activity-cancelled`: a conditional UPDATE that changes nothing but, on PostgreSQL, takes the
/// row lock a cancel needs. A cancel committed first makes it 0 rows; one that comes later waits
/// for this transaction. What is written for an activity after reading it scheduled (a check-in,
/// recorded attendance) passes here first.
///
/// Answers the activity's team as the held row has it: an edit moving the activity to another
/// team takes the same row lock, so a log opened with this team is either seen by that edit's
/// move of the logs or opened after it with the new team.
pub fn hold_scheduled(
    conn: &mut DbConnection,
    id: &ActivityId,
) -> Result<Option<String>, AppError> {
    diesel::update(
        activities::table
            .find(id)
            .filter(activities::status.eq(ActivityStatus::Scheduled)),
    )
    .set(activities::status.eq(ActivityStatus::Scheduled))
    .returning(activities::team_id)
    .get_result(conn)
    .optional()?
    .ok_or(AppError::Conflict(Conflict::ActivityCancelled))
}

/// Withdraws `user`'s enrolment, if any, giving the place back.
pub fn unenroll(
    conn: &mut DbConnection,
    activity_id: &ActivityId,
    user: &VolunteerId,
) -> Result<(), AppError> {
    get(conn, activity_id)?;
    let n = diesel::delete(
        enrollments::table
            .filter(enrollments::activity_id.eq(activity_id))
            .filter(enrollments::volunteer_id.eq(user)),
    )
    .execute(conn)?;
    if n > 0 {
        diesel::update(activities::table.find(activity_id))
            .set(activities::enrolled_count.eq(activities::enrolled_count - 1))
            .execute(conn)?;
    }
    Ok(())
}

/// Cancels a scheduled activity: 404 if unknown, 403 unless `who` manages it, 409
/// `activity-cancelled` if it already was.
pub fn cancel(
    conn: &mut DbConnection,
    who: &Manager,
    id: &ActivityId,
) -> Result<ActivityRow, AppError> {
    let row = get(conn, id)?;
    who.require(row.team_id.as_deref())?;
    let n = diesel::update(
        activities::table
            .find(&row.id)
            .filter(activities::status.eq(ActivityStatus::Scheduled)),
    )
    .set(activities::status.eq(ActivityStatus::Cancelled))
    .execute(conn)?;
    if n == 0 {
        return Err(AppError::Conflict(Conflict::ActivityCancelled));
    }
    get(conn, &row.id)
}
