//! Idempotency keys (L5): one mechanism every POST goes through. The key row is written in the
//! same transaction as the request's effect and answer, so a retry finds either nothing (the
//! first attempt left no trace) or the effect together with the answer to replay.
//!
//! Concurrent requests with one key are settled by the key's primary key: the row is inserted
//! last, with the answer, so on PostgreSQL a second insert waits for the first transaction and
//! then fails (its own effect rolls back and it replays), or succeeds if the first rolled back
//! (its 5xx freed the key); on SQLite write transactions run one at a time. Within one process a
//! repeat does not even start beside the first: it waits for it ([`Running`]).

use std::collections::HashSet;
use std::time::{Duration, Instant};

use chrono::{NaiveDateTime, TimeDelta};
use diesel::prelude::*;
use parking_lot::{Condvar, Mutex};

use super::schema::idempotency_keys as keys;
use super::{is_unique_violation, Db, DbConnection};
use crate::error::{AppError, Conflict};
use crate::messages::Lang;

/// How long an answer is kept (API.md: at least 24 hours).
pub const RETENTION: TimeDelta = TimeDelta::hours(24);

/// A request's key and the hash of its method, path and body.
#[derive(Debug, Clone)]
pub struct KeyedRequest {
    pub key: String,
    pub request_hash: String,
    /// The language a kept refusal is written in. Not part of the hash: a repeat in another
    /// language is the same request and gets the kept bytes, in the first one's language.
    pub lang: Lang,
}

/// A stored or fresh answer: status and body.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: String,
    /// Whether this answer is a replay of an earlier one.
    pub replayed: bool,
}

/// What a request's work produced: an answer, or a refusal to keep (an `AppError` below 500).
pub type Effect = Result<(u16, String), AppError>;

/// Runs `effect` at most once per `(caller, key)`: in one write transaction with the key, whose
/// effect commits only if the key held no answer yet; if it did, the transaction rolls back and
/// that answer is replayed (a replay's work is undone, never seen). Without a key it runs once in
/// its own transaction. Answers below 500 are kept, refusals included; a 5xx (an
/// `Err` of 500 or above) rolls everything back and leaves the key free.
///
/// The key row is written once, last, with its answer: the effect's answer is known before
/// commit, so the row needs no placeholder and no second write. A refusal's writes are rolled
/// back with the rest of its transaction, and the refusal is then kept in a transaction of its
/// own (it changed nothing, so nothing is lost between the two). Two requests with one key that
/// both get this far settle on the key's primary key: the second insert fails (on PostgreSQL
/// after waiting for the first to commit), its whole transaction rolls back, and it replays the
/// first's answer.
pub fn execute(
    db: &Db,
    caller: &str,
    keyed: Option<&KeyedRequest>,
    now: NaiveDateTime,
    effect: impl FnOnce(&mut DbConnection) -> Effect + Send + 'static,
) -> Result<Answer, AppError> {
    let Some(keyed) = keyed else {
        let (status, body) = db.write_batched_blocking(effect)?;
        return Ok(Answer {
            status,
            body,
            replayed: false,
        });
    };
    let (_running, waited) = db.running.enter(caller, &keyed.key, db.timeout)?;
    if waited {
        // A request with this key just finished here: its answer, if it kept one, is replayed
        // without running this one's work.
        if let Some(answer) = db.read_blocking(|conn| stored(conn, caller, keyed))? {
            return Ok(answer);
        }
    }
    // No look-up first: the key's row, inserted last, finds an earlier answer (a replay then
    // rolls its own work back unseen), which saves every first attempt a round trip.
    let (owner, key) = (caller.to_owned(), keyed.clone());
    let done = db.write_batched_blocking(move |conn| {
        let (status, body) = effect(conn)?;
        keep(conn, &owner, &key, now, status, &body)?;
        Ok((status, body))
    });
    let (status, body) = match done {
        Ok(answer) => answer,
        Err(AppError::Conflict(Conflict::IdempotencyInFlight)) => return replay(db, caller, keyed),
        Err(refusal) if !refusal.is_fault() => {
            let (status, body) = refusal.to_body(keyed.lang);
            return keep_refusal(db, caller, keyed, now, status.as_u16(), body);
        }
        Err(fault) => return Err(fault),
    };
    Ok(Answer {
        status,
        body,
        replayed: false,
    })
}

/// The `(caller, key)` pairs of the requests running in this process now. A repeat of a key
/// that runs waits for it, so it never runs its work beside the first (whose locks it would wait
/// for) and replays the first's answer once that commits; if the first still runs after
/// `DATABASE_TIMEOUT` (a large import), the repeat is 409 `idempotency-in-flight` (API.md),
/// not a 503 for a database that is neither down nor overloaded. Requests on other instances
/// sharing a PostgreSQL database settle on the key's row as before.
#[derive(Default)]
pub struct Running {
    keys: Mutex<HashSet<(String, String)>>,
    finished: Condvar,
}

/// A key marked running until this is dropped.
pub struct RunningKey<'a> {
    running: &'a Running,
    id: (String, String),
}

impl Running {
    /// Marks `(caller, key)` running, once no other request of this process runs it, waiting at
    /// most `timeout` for that (409 `idempotency-in-flight` if it still runs then); and whether
    /// it waited.
    pub fn enter(
        &self,
        caller: &str,
        key: &str,
        timeout: Duration,
    ) -> Result<(RunningKey<'_>, bool), AppError> {
        let deadline = Instant::now() + timeout;
        let id = (caller.to_owned(), key.to_owned());
        let mut keys = self.keys.lock();
        let waited = keys.contains(&id);
        while keys.contains(&id) {
            if self.finished.wait_until(&mut keys, deadline).timed_out() && keys.contains(&id) {
                return Err(AppError::Conflict(Conflict::IdempotencyInFlight));
            }
        }
        keys.insert(id.clone());
        Ok((RunningKey { running: self, id }, waited))
    }
}

impl Drop for RunningKey<'_> {
    fn drop(&mut self) {
        self.running.keys.lock().remove(&self.id);
        self.running.finished.notify_all();
    }
}

/// Keeps a refusal (an answer below 500 that changed nothing) under its key, in a write of its
/// own, and answers it; if the key already holds an answer, that one is replayed instead (422 if
/// it was another request's). For refusals given before any work ran as well as after.
pub fn keep_refusal(
    db: &Db,
    caller: &str,
    keyed: &KeyedRequest,
    now: NaiveDateTime,
    status: u16,
    body: String,
) -> Result<Answer, AppError> {
    let (owner, key, kept) = (caller.to_owned(), keyed.clone(), body.clone());
    match db.write_batched_blocking(move |conn| keep(conn, &owner, &key, now, status, &kept)) {
        Ok(()) => Ok(Answer {
            status,
            body,
            replayed: false,
        }),
        Err(AppError::Conflict(Conflict::IdempotencyInFlight)) => replay(db, caller, keyed),
        Err(e) => Err(e),
    }
}

/// Writes the key's row with its answer. `IdempotencyInFlight` if another request with this key
/// wrote it first (this transaction must then roll back).
fn keep(
    conn: &mut DbConnection,
    caller: &str,
    keyed: &KeyedRequest,
    now: NaiveDateTime,
    status: u16,
    body: &str,
) -> Result<(), AppError> {
    diesel::insert_into(keys::table)
        .values((
            keys::caller_id.eq(caller),
            keys::key.eq(&keyed.key),
            keys::request_hash.eq(&keyed.request_hash),
            keys::response_status.eq(i32::from(status)),
            keys::response_body.eq(body),
            keys::created_at.eq(now),
        ))
        .execute(conn)
        .map_err(|e| match e {
            e if is_unique_violation(&e) => AppError::Conflict(Conflict::IdempotencyInFlight),
            e => AppError::from(e),
        })?;
    Ok(())
}

/// The answer another request with this key committed first.
fn replay(db: &Db, caller: &str, keyed: &KeyedRequest) -> Result<Answer, AppError> {
    db.read_blocking(|conn| stored(conn, caller, keyed))?
        .ok_or(AppError::Conflict(Conflict::IdempotencyInFlight))
}

/// The kept answer for this key, if any; 422 if the key was used for another request.
fn stored(
    conn: &mut DbConnection,
    caller: &str,
    keyed: &KeyedRequest,
) -> Result<Option<Answer>, AppError> {
    let row: Option<(String, i32, String)> = keys::table
        .filter(keys::caller_id.eq(caller))
        .filter(keys::key.eq(&keyed.key))
        .select((
            keys::request_hash,
            keys::response_status,
            keys::response_body,
        ))
        .first(conn)
        .optional()?;
    match row {
        None => Ok(None),
        Some((hash, _, _)) if hash != keyed.request_hash => Err(AppError::IdempotencyKeyReused),
        Some((_, status, body)) => {
            metrics::counter!("idempotency_replays_total").increment(1);
            Ok(Some(Answer {
                status: u16::try_from(status).unwrap_or(500),
                body,
                replayed: true,
            }))
        }
    }
}

/// How many expired answers one write transaction of [`purge_expired`] deletes.
pub const PURGE_BATCH: i64 = 1000;

/// Deletes every answer older than the retention, one batch per write transaction so the write
/// lock is never held long: keys go as fast as they come. Returns how many were deleted.
pub fn purge_expired(db: &Db, now: NaiveDateTime) -> Result<usize, AppError> {
    let mut total = 0;
    loop {
        let deleted = db.write_blocking(|conn| purge(conn, now, PURGE_BATCH))?;
        total += deleted;
        if deleted < PURGE_BATCH as usize {
            return Ok(total);
        }
    }
}

/// Deletes at most `batch` answers older than the retention. Returns how many were deleted.
pub fn purge(conn: &mut DbConnection, now: NaiveDateTime, batch: i64) -> Result<usize, AppError> {
    let cutoff = now - RETENTION;
    let old: Vec<(String, String)> = keys::table
        .filter(keys::created_at.lt(cutoff))
        .select((keys::caller_id, keys::key))
        .limit(batch)
        .load(conn)?;
    let mut deleted = 0;
    for (caller, key) in old {
        deleted += diesel::delete(
            keys::table
                .filter(keys::caller_id.eq(caller))
                .filter(keys::key.eq(key))
                .filter(keys::created_at.lt(cutoff)),
        )
        .execute(conn)?;
    }
    Ok(deleted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeat_of_a_running_key_waits_for_it_and_is_409_if_it_still_runs() {
        let running = Running::default();
        let (first, waited) = running.enter("a", "k", Duration::ZERO).expect("a free key");
        assert!(!waited);
        // Another caller's key of the same name, and the caller's other keys, run beside it.
        let _theirs = running
            .enter("b", "k", Duration::ZERO)
            .expect("another caller's key");
        let _other = running
            .enter("a", "j", Duration::ZERO)
            .expect("another key");
        let repeat = running.enter("a", "k", Duration::from_millis(20));
        assert!(matches!(
            repeat.err(),
            Some(AppError::Conflict(Conflict::IdempotencyInFlight))
        ));
        // A repeat waiting when the first finishes goes on.
        std::thread::scope(|s| {
            let waiting = s.spawn(|| {
                running
                    .enter("a", "k", Duration::from_secs(60))
                    .map(|e| e.1)
            });
            std::thread::sleep(Duration::from_millis(20));
            drop(first);
            let waited = waiting.join().expect("the waiting thread");
            assert!(matches!(waited, Ok(true)), "it waited, then ran");
        });
    }
}
