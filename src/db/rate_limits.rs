//! Rate limits counted in PostgreSQL's `rate_limits` table, shared by every instance on the
//! database (SQLite counts in memory: `crate::ratelimit`). PostgreSQL only: the sliding window is
//! a `TIMESTAMP[]` and a hit is one `INSERT ... ON CONFLICT DO UPDATE`, neither of which diesel's
//! connection enum offers, so each statement is `sql_query` on the PostgreSQL connection.
//!
//! A hit is one statement, atomic however many instances hit one key at once: the upsert locks the
//! key's row and re-reads it before deciding, so at most `max` events are ever recorded in a
//! window. A refused hit records nothing.

use std::time::Duration;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Binary, Nullable, Text, Timestamp};

use super::{Db, DbConnection};
use crate::error::AppError;

/// What a hit found.
#[derive(Debug, PartialEq, Eq)]
pub enum Hit {
    /// Recorded: the key had fewer than `max` events in the window.
    Recorded,
    /// Refused: the key already had `max`; the oldest of them, if still seen, frees a slot when
    /// it leaves the window.
    Refused { oldest: Option<NaiveDateTime> },
}

/// One limited key: its limit's scope (`logins`, `check_in_codes`, ...) and the key's digest.
pub struct Key<'a> {
    pub scope: &'a str,
    pub digest: &'a [u8; 32],
}

#[derive(QueryableByName)]
struct HitRow {
    #[diesel(sql_type = BigInt)]
    recorded: i64,
    #[diesel(sql_type = Nullable<Timestamp>)]
    oldest: Option<NaiveDateTime>,
}

/// The window as microseconds, what the statements add to and subtract from times.
fn micros(window: Duration) -> i64 {
    i64::try_from(window.as_micros()).unwrap_or(i64::MAX)
}

/// Records an event for `key` at `now` unless it already had `max` events in the `window`
/// before `now`. Events older than the window are dropped from the row as it is written.
pub fn hit(
    conn: &mut DbConnection,
    key: &Key,
    max: u32,
    window: Duration,
    now: NaiveDateTime,
) -> Result<Hit, AppError> {
    // The CTE's SELECT reads the snapshot from before the upsert: on a refusal (nothing written)
    // that is the row the refusal saw, or a moment older (then the wait is a whole window).
    let row: HitRow = diesel::sql_query(
        "WITH hit AS ( \
           INSERT INTO rate_limits AS r (scope, key_digest, hits, expires_at) \
           VALUES ($1, $2, ARRAY[$3::timestamp], $3 + $4 * INTERVAL '1 microsecond') \
           ON CONFLICT (scope, key_digest) DO UPDATE \
             SET hits = array_append( \
                   ARRAY(SELECT h FROM unnest(r.hits) AS h \
                         WHERE h > $3 - $4 * INTERVAL '1 microsecond' ORDER BY h), \
                   $3::timestamp), \
                 expires_at = EXCLUDED.expires_at \
             WHERE (SELECT count(*) FROM unnest(r.hits) AS h \
                    WHERE h > $3 - $4 * INTERVAL '1 microsecond') < $5 \
           RETURNING 1) \
         SELECT (SELECT count(*) FROM hit) AS recorded, \
                (SELECT min(h) FROM rate_limits AS r, unnest(r.hits) AS h \
                 WHERE r.scope = $1 AND r.key_digest = $2 \
                   AND h > $3 - $4 * INTERVAL '1 microsecond') AS oldest",
    )
    .bind::<Text, _>(key.scope)
    .bind::<Binary, _>(key.digest.as_slice())
    .bind::<Timestamp, _>(now)
    .bind::<BigInt, _>(micros(window))
    .bind::<BigInt, _>(i64::from(max))
    .get_result(pg(conn)?)?;
    Ok(if row.recorded > 0 {
        Hit::Recorded
    } else {
        Hit::Refused { oldest: row.oldest }
    })
}

/// Takes back the newest event of `key` (an attempt that turned out not to count).
pub fn release(conn: &mut DbConnection, key: &Key) -> Result<(), AppError> {
    diesel::sql_query(
        "UPDATE rate_limits SET hits = hits[1:cardinality(hits) - 1] \
         WHERE scope = $1 AND key_digest = $2",
    )
    .bind::<Text, _>(key.scope)
    .bind::<Binary, _>(key.digest.as_slice())
    .execute(pg(conn)?)?;
    Ok(())
}

/// Forgets every event of `key` (a success resets a failure count).
pub fn reset(conn: &mut DbConnection, key: &Key) -> Result<(), AppError> {
    diesel::sql_query("DELETE FROM rate_limits WHERE scope = $1 AND key_digest = $2")
        .bind::<Text, _>(key.scope)
        .bind::<Binary, _>(key.digest.as_slice())
        .execute(pg(conn)?)?;
    Ok(())
}

/// Rows deleted per statement by [`purge_expired`].
const PURGE_BATCH: usize = 10_000;

/// Deletes every row whose newest event left its window before `now`, in batches until none is
/// left; returns how many. Nothing to do on SQLite.
pub fn purge_expired(db: &Db, now: NaiveDateTime) -> Result<usize, AppError> {
    let mut total = 0;
    loop {
        let deleted = db.read_blocking(|conn| {
            let DbConnection::Pg(pg) = conn else {
                return Ok(0);
            };
            Ok(diesel::sql_query(
                "DELETE FROM rate_limits WHERE ctid IN \
                 (SELECT ctid FROM rate_limits WHERE expires_at <= $1 LIMIT $2)",
            )
            .bind::<Timestamp, _>(now)
            .bind::<BigInt, _>(PURGE_BATCH as i64)
            .execute(pg)?)
        })?;
        total += deleted;
        if deleted < PURGE_BATCH {
            return Ok(total);
        }
    }
}

fn pg(conn: &mut DbConnection) -> Result<&mut PgConnection, AppError> {
    match conn {
        DbConnection::Pg(pg) => Ok(pg),
        DbConnection::Sqlite(_) => Err(AppError::Internal(anyhow::anyhow!(
            "rate limits are counted in the database on PostgreSQL only"
        ))),
    }
}
