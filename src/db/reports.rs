//! Reports: aggregates the database computes over indexed ranges of time (`[from, to)`, UTC),
//! never rows pulled into Rust. Each figure is defined as API.md defines it, from the same rows
//! the ledger keeps.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};

use super::DbConnection;
use crate::domain::ids::VolunteerId;
use crate::error::AppError;

/// The community's (or one team's) figures over a range.
#[derive(Debug, Default)]
pub struct Summary {
    pub volunteers_active: i64,
    pub minutes_served: i64,
    pub logs_approved: i64,
    pub points_earned: i64,
    pub points_redeemed: i64,
    pub points_donated: i64,
    pub redemptions_fulfilled: i64,
    pub wishes_confirmed: i64,
    pub by_team: Vec<TeamFigures>,
}

/// One team's service over a range.
#[derive(Debug, QueryableByName)]
pub struct TeamFigures {
    #[diesel(sql_type = Text)]
    pub team_id: String,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = BigInt)]
    pub volunteers_active: i64,
    #[diesel(sql_type = BigInt)]
    pub minutes_served: i64,
    #[diesel(sql_type = BigInt)]
    pub points_earned: i64,
}

#[derive(QueryableByName)]
struct Service {
    #[diesel(sql_type = BigInt)]
    volunteers_active: i64,
    #[diesel(sql_type = BigInt)]
    minutes_served: i64,
    #[diesel(sql_type = BigInt)]
    logs_approved: i64,
}

#[derive(QueryableByName)]
struct Points {
    #[diesel(sql_type = BigInt)]
    points_earned: i64,
    #[diesel(sql_type = BigInt)]
    points_redeemed: i64,
    #[diesel(sql_type = BigInt)]
    points_donated: i64,
}

/// Redemptions handed over and wishes confirmed in the range.
#[derive(QueryableByName)]
struct Done {
    #[diesel(sql_type = BigInt)]
    redemptions_fulfilled: i64,
    #[diesel(sql_type = BigInt)]
    wishes_confirmed: i64,
}

#[derive(QueryableByName)]
struct TeamPoints {
    #[diesel(sql_type = Text)]
    team_id: String,
    #[diesel(sql_type = BigInt)]
    points_earned: i64,
}

/// Logs with their activity.
const LOGS: &str = "activity_logs l JOIN activities a ON a.id = l.activity_id";
/// Approved (not reversed) logs reviewed in the range; `$3` narrows them to one team's
/// activities when it is not null. (SQLite numbers `$n` parameters in the order they first
/// appear: every query names `$1`, `$2`, `$3` in that order.)
const APPROVED_IN_RANGE: &str = "l.status = 'approved' AND l.reviewed_at >= $1 \
     AND l.reviewed_at < $2 AND ($3 IS NULL OR a.team_id = $3)";

/// Volunteer-account entries of transactions made in the range, each with the kind it counts as
/// (a reversal counts as the kind it reverses) and the team of the activity behind it.
const VOLUNTEER_ENTRIES: &str = "ledger_transactions t \
     JOIN ledger_entries e ON e.transaction_id = t.id \
     JOIN accounts ac ON ac.id = e.account_id AND ac.kind = 'volunteer' \
     LEFT JOIN ledger_transactions o ON o.id = t.reverses_id \
     LEFT JOIN activity_logs l ON l.id = t.activity_log_id \
     LEFT JOIN activities a ON a.id = l.activity_id \
     WHERE t.created_at >= $1 AND t.created_at < $2";

/// The summary of `[from, to)`; with `team`, the log figures cover that team's activities only.
pub fn summary(
    conn: &mut DbConnection,
    from: NaiveDateTime,
    to: NaiveDateTime,
    team: Option<&str>,
) -> Result<Summary, AppError> {
    let service: Service = diesel::sql_query(format!(
        "SELECT CAST(COUNT(DISTINCT l.volunteer_id) AS BIGINT) AS volunteers_active, \
                CAST(COALESCE(SUM(l.minutes), 0) AS BIGINT) AS minutes_served, \
                CAST(COUNT(*) AS BIGINT) AS logs_approved \
         FROM {LOGS} WHERE {APPROVED_IN_RANGE}"
    ))
    .bind::<Timestamp, _>(from)
    .bind::<Timestamp, _>(to)
    .bind::<Nullable<Text>, _>(team)
    .get_result(conn)?;
    // Every earn counts community-wide; with a team, only its activities' (from `by_team`).
    let points: Points = diesel::sql_query(format!(
        "SELECT CAST(COALESCE(SUM(CASE WHEN COALESCE(o.kind, t.kind) = 'earn' \
                                  THEN e.amount ELSE 0 END), 0) AS BIGINT) AS points_earned, \
                CAST(-COALESCE(SUM(CASE WHEN t.kind IN ('redeem', 'refund') \
                                   THEN e.amount ELSE 0 END), 0) AS BIGINT) AS points_redeemed, \
                CAST(-COALESCE(SUM(CASE WHEN COALESCE(o.kind, t.kind) = 'donate' \
                                   THEN e.amount ELSE 0 END), 0) AS BIGINT) AS points_donated \
         FROM {VOLUNTEER_ENTRIES}"
    ))
    .bind::<Timestamp, _>(from)
    .bind::<Timestamp, _>(to)
    .get_result(conn)?;
    let done: Done = diesel::sql_query(
        "SELECT (SELECT CAST(COUNT(*) AS BIGINT) FROM redemptions \
                 WHERE status = 'fulfilled' AND fulfilled_at >= $1 AND fulfilled_at < $2) \
                 AS redemptions_fulfilled, \
                (SELECT CAST(COUNT(*) AS BIGINT) FROM wishes \
                 WHERE status = 'confirmed' AND confirmed_at >= $1 AND confirmed_at < $2) \
                 AS wishes_confirmed",
    )
    .bind::<Timestamp, _>(from)
    .bind::<Timestamp, _>(to)
    .get_result(conn)?;
    let team_points = team_points(conn, from, to, team)?;
    // With a team, its own earn credits less reversals in the range, also when none of its logs
    // is still approved there (a team that only had a reversal is not in `by_team`).
    let points_earned = match team {
        None => points.points_earned,
        Some(t) => team_points.get(t).copied().unwrap_or(0),
    };
    let by_team = by_team(conn, from, to, team, &team_points)?;
    Ok(Summary {
        volunteers_active: service.volunteers_active,
        minutes_served: service.minutes_served,
        logs_approved: service.logs_approved,
        points_earned,
        points_redeemed: points.points_redeemed,
        points_donated: points.points_donated,
        redemptions_fulfilled: done.redemptions_fulfilled,
        wishes_confirmed: done.wishes_confirmed,
        by_team,
    })
}

/// Each team's earn credits less their reversals made in the range (of `team` only, if given),
/// by team id.
fn team_points(
    conn: &mut DbConnection,
    from: NaiveDateTime,
    to: NaiveDateTime,
    team: Option<&str>,
) -> Result<HashMap<String, i64>, AppError> {
    let points: Vec<TeamPoints> = diesel::sql_query(format!(
        "SELECT a.team_id AS team_id, CAST(COALESCE(SUM(e.amount), 0) AS BIGINT) AS points_earned \
         FROM {VOLUNTEER_ENTRIES} \
           AND COALESCE(o.kind, t.kind) = 'earn' AND a.team_id IS NOT NULL \
           AND ($3 IS NULL OR a.team_id = $3) \
         GROUP BY a.team_id"
    ))
    .bind::<Timestamp, _>(from)
    .bind::<Timestamp, _>(to)
    .bind::<Nullable<Text>, _>(team)
    .load(conn)?;
    Ok(points
        .into_iter()
        .map(|p| (p.team_id, p.points_earned))
        .collect())
}

/// The teams with approved service in the range, by name, with their `points`.
fn by_team(
    conn: &mut DbConnection,
    from: NaiveDateTime,
    to: NaiveDateTime,
    team: Option<&str>,
    points: &HashMap<String, i64>,
) -> Result<Vec<TeamFigures>, AppError> {
    let mut teams: Vec<TeamFigures> = diesel::sql_query(format!(
        "SELECT tm.id AS team_id, tm.name AS name, \
                CAST(COUNT(DISTINCT l.volunteer_id) AS BIGINT) AS volunteers_active, \
                CAST(COALESCE(SUM(l.minutes), 0) AS BIGINT) AS minutes_served, \
                CAST(0 AS BIGINT) AS points_earned \
         FROM {LOGS} JOIN teams tm ON tm.id = a.team_id WHERE {APPROVED_IN_RANGE} \
         GROUP BY tm.id, tm.name ORDER BY tm.name, tm.id"
    ))
    .bind::<Timestamp, _>(from)
    .bind::<Timestamp, _>(to)
    .bind::<Nullable<Text>, _>(team)
    .load(conn)?;
    for t in &mut teams {
        t.points_earned = points.get(&t.team_id).copied().unwrap_or(0);
    }
    Ok(teams)
}

/// One leaderboard row, ranked by the database (equal minutes and points share a rank).
#[derive(Debug, QueryableByName)]
pub struct Ranked {
    #[diesel(sql_type = BigInt)]
    pub rank: i64,
    #[diesel(sql_type = Text)]
    pub volunteer_id: String,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = BigInt)]
    pub minutes_served: i64,
    #[diesel(sql_type = BigInt)]
    pub points_earned: i64,
}

/// The first `limit` volunteers by approved service in the range: most minutes, then most
/// points awarded for those logs, then name.
pub fn leaderboard(
    conn: &mut DbConnection,
    from: NaiveDateTime,
    to: NaiveDateTime,
    team: Option<&str>,
    limit: i64,
) -> Result<Vec<Ranked>, AppError> {
    Ok(diesel::sql_query(format!(
        "SELECT CAST(RANK() OVER (ORDER BY s.minutes_served DESC, s.points_earned DESC) AS BIGINT) \
                  AS rank, \
                s.volunteer_id AS volunteer_id, u.name AS name, \
                s.minutes_served AS minutes_served, s.points_earned AS points_earned \
         FROM (SELECT l.volunteer_id AS volunteer_id, \
                      CAST(COALESCE(SUM(l.minutes), 0) AS BIGINT) AS minutes_served, \
                      CAST(COALESCE(SUM(l.points_awarded), 0) AS BIGINT) AS points_earned \
               FROM {LOGS} WHERE {APPROVED_IN_RANGE} GROUP BY l.volunteer_id) s \
         JOIN users u ON u.id = s.volunteer_id \
         ORDER BY s.minutes_served DESC, s.points_earned DESC, u.name, u.id \
         LIMIT $4"
    ))
    .bind::<Timestamp, _>(from)
    .bind::<Timestamp, _>(to)
    .bind::<Nullable<Text>, _>(team)
    .bind::<BigInt, _>(limit)
    .load(conn)?)
}

/// A volunteer's approved (not reversed) service, each log served at its activity's start.
#[derive(Debug, QueryableByName)]
pub struct Served {
    #[diesel(sql_type = BigInt)]
    pub minutes_served: i64,
    #[diesel(sql_type = BigInt)]
    pub activities: i64,
    #[diesel(sql_type = Nullable<Timestamp>)]
    pub first_served_at: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    pub last_served_at: Option<NaiveDateTime>,
}

/// A volunteer's service with activities starting in `[from, to)` (`None`: all of it).
pub fn served(
    conn: &mut DbConnection,
    volunteer_id: &VolunteerId,
    range: Option<(NaiveDateTime, NaiveDateTime)>,
) -> Result<Served, AppError> {
    Ok(diesel::sql_query(
        "SELECT CAST(COALESCE(SUM(l.minutes), 0) AS BIGINT) AS minutes_served, \
                CAST(COUNT(*) AS BIGINT) AS activities, \
                MIN(a.starts_at) AS first_served_at, MAX(a.starts_at) AS last_served_at \
         FROM activity_logs l JOIN activities a ON a.id = l.activity_id \
         WHERE l.volunteer_id = $1 AND l.status = 'approved' \
           AND ($2 IS NULL OR a.starts_at >= $2) AND ($3 IS NULL OR a.starts_at < $3)",
    )
    .bind::<Text, _>(volunteer_id.as_str())
    .bind::<Nullable<Timestamp>, _>(range.map(|r| r.0))
    .bind::<Nullable<Timestamp>, _>(range.map(|r| r.1))
    .get_result(conn)?)
}
