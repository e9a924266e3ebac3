//! The rows of the CSV exports, read in keyset batches (each batch one indexed range scan), so an
//! export of any size never holds more than one batch.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};

use super::schema::{team_members, teams};
use super::DbConnection;
use crate::domain::activities::LogStatus;
use crate::error::AppError;

/// Where the next batch starts: after the row with this time and id (the first batch starts
/// after `(from, "")`, so a row at exactly `from` is included). Compared as a row value, which
/// both databases answer from the `(created_at, id)` index.
#[derive(Debug, Clone)]
pub struct After {
    pub at: NaiveDateTime,
    pub id: String,
    /// The ledger export orders entries within a transaction by their own id.
    pub entry_id: String,
}

impl After {
    /// Before every row at `at` or later.
    pub fn start(at: NaiveDateTime) -> After {
        After {
            at,
            id: String::new(),
            entry_id: String::new(),
        }
    }
}

/// One row of the activity-log export.
#[derive(Debug, QueryableByName)]
pub struct LogLine {
    #[diesel(sql_type = Text)]
    pub log_id: String,
    #[diesel(sql_type = Text)]
    pub activity_id: String,
    #[diesel(sql_type = Text)]
    pub activity_title: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub team: Option<String>,
    #[diesel(sql_type = Text)]
    pub volunteer_id: String,
    #[diesel(sql_type = Text)]
    pub volunteer_name: String,
    #[diesel(sql_type = Text)]
    pub phone: String,
    #[diesel(sql_type = Text)]
    pub status: String,
    #[diesel(sql_type = Text)]
    pub source: String,
    #[diesel(sql_type = Nullable<Timestamp>)]
    pub checked_in_at: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    pub checked_out_at: Option<NaiveDateTime>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub minutes: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub points_awarded: Option<i64>,
    #[diesel(sql_type = Nullable<Text>)]
    pub reviewed_by: Option<String>,
    #[diesel(sql_type = Nullable<Timestamp>)]
    pub reviewed_at: Option<NaiveDateTime>,
    #[diesel(sql_type = Timestamp)]
    pub created_at: NaiveDateTime,
}

/// Up to `limit` logs created in `[after, to)`, oldest first, of `team`'s activities and with
/// `status` when given.
pub fn activity_logs(
    conn: &mut DbConnection,
    after: &After,
    to: NaiveDateTime,
    team: Option<&str>,
    status: Option<LogStatus>,
    limit: i64,
) -> Result<Vec<LogLine>, AppError> {
    Ok(diesel::sql_query(
        "SELECT l.id AS log_id, l.activity_id AS activity_id, a.title AS activity_title, \
                tm.name AS team, l.volunteer_id AS volunteer_id, u.name AS volunteer_name, \
                u.phone AS phone, l.status AS status, l.source AS source, \
                l.checked_in_at AS checked_in_at, l.checked_out_at AS checked_out_at, \
                l.minutes AS minutes, l.points_awarded AS points_awarded, \
                r.name AS reviewed_by, l.reviewed_at AS reviewed_at, l.created_at AS created_at \
         FROM activity_logs l \
         JOIN activities a ON a.id = l.activity_id \
         LEFT JOIN teams tm ON tm.id = a.team_id \
         JOIN users u ON u.id = l.volunteer_id \
         LEFT JOIN users r ON r.id = l.reviewed_by \
         WHERE (l.created_at, l.id) > ($1, $2) AND l.created_at < $3 \
           AND ($4 IS NULL OR a.team_id = $4) AND ($5 IS NULL OR l.status = $5) \
         ORDER BY l.created_at, l.id LIMIT $6",
    )
    .bind::<Timestamp, _>(after.at)
    .bind::<Text, _>(&after.id)
    .bind::<Timestamp, _>(to)
    .bind::<Nullable<Text>, _>(team)
    .bind::<Nullable<Text>, _>(status.map(LogStatus::as_str))
    .bind::<BigInt, _>(limit)
    .load(conn)?)
}

/// One row of the volunteer export (its `teams` read separately, per batch).
#[derive(Debug, QueryableByName)]
pub struct PersonLine {
    #[diesel(sql_type = Text)]
    pub volunteer_id: String,
    #[diesel(sql_type = Text)]
    pub phone: String,
    #[diesel(sql_type = Text)]
    pub name: String,
    #[diesel(sql_type = Text)]
    pub role: String,
    #[diesel(sql_type = BigInt)]
    pub balance: i64,
    #[diesel(sql_type = BigInt)]
    pub earned_total: i64,
    #[diesel(sql_type = BigInt)]
    pub minutes_served: i64,
    #[diesel(sql_type = Timestamp)]
    pub created_at: NaiveDateTime,
}

/// Up to `limit` people created after `after`, oldest first, with their points and hours.
pub fn people(
    conn: &mut DbConnection,
    after: &After,
    limit: i64,
) -> Result<Vec<PersonLine>, AppError> {
    Ok(diesel::sql_query(
        "SELECT u.id AS volunteer_id, u.phone AS phone, u.name AS name, u.role AS role, \
                CAST(COALESCE(ac.balance, 0) AS BIGINT) AS balance, \
                CAST(COALESCE(ac.earned_total, 0) AS BIGINT) AS earned_total, \
                (SELECT CAST(COALESCE(SUM(x.minutes), 0) AS BIGINT) FROM activity_logs x \
                  WHERE x.volunteer_id = u.id AND x.status = 'approved') AS minutes_served, \
                u.created_at AS created_at \
         FROM users u LEFT JOIN accounts ac ON ac.id = u.id \
         WHERE (u.created_at, u.id) > ($1, $2) \
         ORDER BY u.created_at, u.id LIMIT $3",
    )
    .bind::<Timestamp, _>(after.at)
    .bind::<Text, _>(&after.id)
    .bind::<BigInt, _>(limit)
    .load(conn)?)
}

/// `(volunteer_id, team name)` of these people's memberships, by team name.
pub fn teams_of(
    conn: &mut DbConnection,
    people: &[&str],
) -> Result<Vec<(String, String)>, AppError> {
    Ok(team_members::table
        .inner_join(teams::table)
        .filter(team_members::volunteer_id.eq_any(people))
        .order((teams::name, teams::id))
        .select((team_members::volunteer_id, teams::name))
        .load(conn)?)
}

/// One row of the ledger export: an entry with its transaction.
#[derive(Debug, QueryableByName)]
pub struct EntryLine {
    #[diesel(sql_type = Text)]
    pub entry_id: String,
    #[diesel(sql_type = Text)]
    pub transaction_id: String,
    #[diesel(sql_type = Timestamp)]
    pub created_at: NaiveDateTime,
    #[diesel(sql_type = Text)]
    pub kind: String,
    #[diesel(sql_type = Text)]
    pub account_id: String,
    #[diesel(sql_type = Text)]
    pub account_kind: String,
    #[diesel(sql_type = Nullable<Text>)]
    pub volunteer_id: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    pub volunteer_name: Option<String>,
    #[diesel(sql_type = BigInt)]
    pub amount: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub balance_after: Option<i64>,
    #[diesel(sql_type = Text)]
    pub memo: String,
}

/// Up to `limit` entries of transactions made in `[after, to)`, in transaction order.
pub fn entries(
    conn: &mut DbConnection,
    after: &After,
    to: NaiveDateTime,
    limit: i64,
) -> Result<Vec<EntryLine>, AppError> {
    Ok(diesel::sql_query(
        "SELECT e.id AS entry_id, t.id AS transaction_id, t.created_at AS created_at, \
                t.kind AS kind, e.account_id AS account_id, ac.kind AS account_kind, \
                ac.volunteer_id AS volunteer_id, u.name AS volunteer_name, e.amount AS amount, \
                e.balance_after AS balance_after, t.memo AS memo \
         FROM ledger_transactions t \
         JOIN ledger_entries e ON e.transaction_id = t.id \
         JOIN accounts ac ON ac.id = e.account_id \
         LEFT JOIN users u ON u.id = ac.volunteer_id \
         WHERE (t.created_at, t.id, e.id) > ($1, $2, $3) AND t.created_at < $4 \
         ORDER BY t.created_at, t.id, e.id LIMIT $5",
    )
    .bind::<Timestamp, _>(after.at)
    .bind::<Text, _>(&after.id)
    .bind::<Text, _>(&after.entry_id)
    .bind::<Timestamp, _>(to)
    .bind::<BigInt, _>(limit)
    .load(conn)?)
}
