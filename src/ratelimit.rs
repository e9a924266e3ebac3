//! Sliding-window rate limits (login, password checks, registration, wrong check-in codes).
//!
//! On PostgreSQL the events are counted in the database (`db::rate_limits`, one statement a hit),
//! so every instance on one database shares one count: N instances are not N times the limit. On
//! SQLite, whose database serves one instance, they are counted in this process.
//!
//! Memory and rows are bounded whatever callers send: a key is kept as its SHA-256 digest (32
//! bytes, however long the key) and holds at most `max` instants. In memory at most
//! [`MAX_KEYS`] keys are kept; in the database a key whose window has passed is deleted by the
//! periodic purge (`startup`), so the table holds the keys hit in the last window and purge
//! interval.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

use crate::clock::Clock;
use crate::config::Limit;
use crate::db::rate_limits::{self, Hit, Key};
use crate::db::{Backend, Db};
use crate::error::AppError;

/// A key as it is kept: the digest of what the caller named.
type KeyDigest = [u8; 32];

/// Counts events per key over a sliding window, where every instance sees the same count.
pub struct Limiter {
    /// Names this limit's keys in the database (`logins`, `check_in_codes`, ...).
    scope: &'static str,
    limit: Limit,
    store: Store,
}

/// Where a limiter counts.
enum Store {
    /// In this process (SQLite).
    Memory(InMemory),
    /// In `rate_limits` (PostgreSQL), at the service clock's times.
    Database { db: Db, clock: Clock },
}

impl Limiter {
    /// A limiter allowing `limit.max` events per `limit.window` per key, counted in the database
    /// on PostgreSQL and in memory on SQLite. `scope` keeps its keys apart from other limits'.
    pub fn new(scope: &'static str, limit: Limit, db: &Db, clock: &Clock) -> Limiter {
        let store = match db.backend() {
            Backend::Postgres => Store::Database {
                db: db.clone(),
                clock: clock.clone(),
            },
            Backend::Sqlite => Store::Memory(InMemory::new(limit)),
        };
        Limiter {
            scope,
            limit,
            store,
        }
    }

    /// Records one event for `key`, or answers 429 (with the seconds until a slot frees) if
    /// `key` already had `max` events in the window. The check and the record are one atomic
    /// step (one lock in memory, one upsert in the database), so concurrent hits, from one
    /// instance or several, never pass more than `max`. A refused hit records nothing.
    pub async fn hit(&self, key: &str) -> Result<(), AppError> {
        let (db, clock) = match &self.store {
            Store::Memory(memory) => return memory.hit(key),
            Store::Database { db, clock } => (db, clock),
        };
        let (scope, digest, limit, now) = (self.scope, digest(key), self.limit, clock.now_naive());
        let hit = db
            .autocommit(move |conn| {
                let key = Key {
                    scope,
                    digest: &digest,
                };
                rate_limits::hit(conn, &key, limit.max, limit.window, now)
            })
            .await?;
        match hit {
            Hit::Recorded => Ok(()),
            Hit::Refused { oldest } => {
                let frees_at = oldest
                    .map(|t| t + limit.window)
                    .unwrap_or(now + limit.window);
                Err(refused((frees_at - now).to_std().unwrap_or_default()))
            }
        }
    }

    /// Takes back the newest event of `key`: an attempt reserved with [`Limiter::hit`] that
    /// turned out not to count (a correct code). Reserving first and releasing after keeps the
    /// limit under concurrent attempts, which a check-then-record would let through.
    pub async fn release(&self, key: &str) {
        match &self.store {
            Store::Memory(memory) => memory.release(key),
            Store::Database { db, .. } => {
                self.in_database(db, key, "release", rate_limits::release)
                    .await
            }
        }
    }

    /// Forgets `key` (a success resets a failure count).
    pub async fn reset(&self, key: &str) {
        match &self.store {
            Store::Memory(memory) => memory.reset(key),
            Store::Database { db, .. } => {
                self.in_database(db, key, "reset", rate_limits::reset).await
            }
        }
    }

    /// Runs a release or reset on the database. Its failure only leaves a count higher than it
    /// should be (stricter, never looser), so it is logged rather than failing the request that
    /// already succeeded.
    async fn in_database(
        &self,
        db: &Db,
        key: &str,
        what: &'static str,
        step: fn(&mut crate::db::DbConnection, &Key) -> Result<(), AppError>,
    ) {
        let (scope, digest) = (self.scope, digest(key));
        let done = db
            .autocommit(move |conn| {
                step(
                    conn,
                    &Key {
                        scope,
                        digest: &digest,
                    },
                )
            })
            .await;
        if let Err(e) = done {
            tracing::warn!(error = %e, scope, what, "a rate-limit count could not be lowered");
        }
    }
}

/// Counts events per key over a sliding window in this process.
struct InMemory {
    limit: Limit,
    state: Mutex<State>,
}

/// The keys and when to sweep out those with no recent events.
#[derive(Default)]
struct State {
    events: HashMap<KeyDigest, VecDeque<Instant>>,
    /// A new key sweeps when there are this many keys; each sweep doubles what is left, so
    /// sweeping costs O(1) a hit on average.
    sweep_at: usize,
    /// When a full limiter last swept: at the cap it sweeps at most once a second.
    swept_full: Option<Instant>,
}

/// The fewest keys that make a new key sweep.
const SWEEP_ABOVE: usize = 10_000;

/// The most keys an in-memory limiter keeps. When that many keys all have recent events, a new key is
/// refused (429) until some expire: failing closed keeps a flood of fresh keys from pushing out
/// the counts that stop a guesser.
pub const MAX_KEYS: usize = 100_000;

impl InMemory {
    fn new(limit: Limit) -> InMemory {
        InMemory {
            limit,
            state: Mutex::new(State {
                sweep_at: SWEEP_ABOVE,
                ..State::default()
            }),
        }
    }

    /// [`Limiter::hit`] in memory: the check and the record happen under one lock.
    fn hit(&self, key: &str) -> Result<(), AppError> {
        let now = Instant::now();
        let window = self.limit.window;
        let digest = digest(key);
        let mut state = self.lock();
        if state.events.len() >= state.sweep_at && !state.events.contains_key(&digest) {
            let full = state.events.len() >= MAX_KEYS;
            let swept_lately = state
                .swept_full
                .is_some_and(|t| now.duration_since(t) < Duration::from_secs(1));
            if !(full && swept_lately) {
                state
                    .events
                    .retain(|_, seen| seen.back().is_some_and(|t| now.duration_since(*t) < window));
                state.sweep_at = (state.events.len() * 2).clamp(SWEEP_ABOVE, MAX_KEYS);
                state.swept_full = full.then_some(now);
            }
            if state.events.len() >= MAX_KEYS {
                return Err(refused(window));
            }
        }
        let seen = state.events.entry(digest).or_default();
        self.expire(seen, now);
        if seen.len() >= self.limit.max as usize {
            let oldest = seen.front().copied().unwrap_or(now);
            return Err(refused((oldest + window).saturating_duration_since(now)));
        }
        seen.push_back(now);
        Ok(())
    }

    fn release(&self, key: &str) {
        let mut state = self.lock();
        let digest = digest(key);
        if let Some(seen) = state.events.get_mut(&digest) {
            seen.pop_back();
            if seen.is_empty() {
                state.events.remove(&digest);
            }
        }
    }

    fn reset(&self, key: &str) {
        self.lock().events.remove(&digest(key));
    }

    #[cfg(test)]
    fn keys(&self) -> usize {
        self.lock().events.len()
    }

    fn expire(&self, seen: &mut VecDeque<Instant>, now: Instant) {
        while seen
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.limit.window)
        {
            seen.pop_front();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

fn digest(key: &str) -> KeyDigest {
    Sha256::digest(key.as_bytes()).into()
}

/// A window of `minutes` minutes.
pub fn minutes(minutes: u64) -> Duration {
    Duration::from_secs(minutes * 60)
}

/// A 429 asking the client to wait `wait`, in whole seconds rounded up (a client that waits as
/// told finds the slot free) and at least one, counted in `rate_limit_refusals_total`.
fn refused(wait: Duration) -> AppError {
    metrics::counter!("rate_limit_refusals_total").increment(1);
    AppError::RateLimited {
        retry_after: (wait.as_secs() + u64::from(wait.subsec_nanos() > 0)).max(1),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Barrier};

    use super::*;

    fn limiter(max: u32) -> InMemory {
        InMemory::new(Limit {
            max,
            window: minutes(1),
        })
    }

    #[test]
    fn the_limit_allows_max_events_then_refuses_with_retry_after() {
        let limiter = limiter(3);
        for _ in 0..3 {
            assert!(limiter.hit("a").is_ok());
        }
        match limiter.hit("a") {
            Err(AppError::RateLimited { retry_after }) => assert!((1..=60).contains(&retry_after)),
            other => panic!("expected rate-limited, got {other:?}"),
        }
        assert!(limiter.hit("b").is_ok(), "keys are counted apart");
        limiter.reset("a");
        assert!(limiter.hit("a").is_ok());
        limiter.release("a");
        for _ in 0..3 {
            assert!(
                limiter.hit("a").is_ok(),
                "a released attempt does not count"
            );
        }
        assert!(limiter.hit("a").is_err());
    }

    #[test]
    fn concurrent_hits_on_one_key_pass_exactly_max() {
        let limiter = Arc::new(limiter(5));
        let start = Arc::new(Barrier::new(64));
        let workers: Vec<_> = (0..64)
            .map(|_| {
                let (limiter, start) = (limiter.clone(), start.clone());
                std::thread::spawn(move || {
                    start.wait();
                    (0..20).filter(|_| limiter.hit("phone").is_ok()).count()
                })
            })
            .collect();
        let passed: usize = workers
            .into_iter()
            .map(|w| w.join().expect("a worker"))
            .sum();
        assert_eq!(passed, 5);
    }

    #[test]
    fn the_number_of_keys_is_capped() {
        let limiter = limiter(5);
        for i in 0..MAX_KEYS {
            assert!(limiter.hit(&i.to_string()).is_ok());
        }
        assert_eq!(limiter.keys(), MAX_KEYS);
        assert!(
            limiter.hit("one key too many").is_err(),
            "a full limiter refuses new keys"
        );
        assert!(limiter.hit("0").is_ok(), "known keys count on");
        assert_eq!(limiter.keys(), MAX_KEYS);
    }
}
