//! In-process sliding-window rate limits (login, registration, wrong check-in codes).
//!
//! Each instance counts on its own: with several instances behind a balancer the effective limit
//! is the per-instance limit times the instance count, which still stops guessing.

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::config::Limit;
use crate::error::AppError;

/// Counts events per key over a sliding window.
pub struct Limiter {
    limit: Limit,
    events: Mutex<HashMap<String, VecDeque<Instant>>>,
}

/// Past this many keys, a check also sweeps out keys with no recent events.
const SWEEP_ABOVE: usize = 10_000;

impl Limiter {
    /// A limiter allowing `limit.max` events per `limit.window` per key.
    pub fn new(limit: Limit) -> Limiter {
        Limiter {
            limit,
            events: Mutex::new(HashMap::new()),
        }
    }

    /// 429 if `key` already had `max` events in the window; records nothing.
    pub fn check(&self, key: &str) -> Result<(), AppError> {
        let now = Instant::now();
        let mut events = self.lock();
        if let Some(seen) = events.get_mut(key) {
            self.expire(seen, now);
            if seen.len() >= self.limit.max as usize {
                let oldest = seen.front().copied().unwrap_or(now);
                let free_at = oldest + self.limit.window;
                let wait = free_at.saturating_duration_since(now);
                metrics::counter!("rate_limit_refusals_total").increment(1);
                return Err(AppError::RateLimited {
                    retry_after: wait.as_secs().max(1),
                });
            }
        }
        Ok(())
    }

    /// Records one event for `key`.
    pub fn record(&self, key: &str) {
        let now = Instant::now();
        let mut events = self.lock();
        if events.len() > SWEEP_ABOVE {
            let window = self.limit.window;
            events.retain(|_, seen| seen.back().is_some_and(|t| now.duration_since(*t) < window));
        }
        let seen = events.entry(key.to_owned()).or_default();
        self.expire(seen, now);
        seen.push_back(now);
    }

    /// Checks and, if allowed, records one event.
    pub fn hit(&self, key: &str) -> Result<(), AppError> {
        self.check(key)?;
        self.record(key);
        Ok(())
    }

    /// Takes back the newest event of `key`: an attempt reserved with [`Limiter::hit`] that
    /// turned out not to count (a correct code). Reserving first and releasing after keeps the
    /// limit under concurrent attempts, which a check-then-record would let through.
    pub fn release(&self, key: &str) {
        if let Some(seen) = self.lock().get_mut(key) {
            seen.pop_back();
        }
    }

    /// Forgets `key` (a success resets a failure count).
    pub fn reset(&self, key: &str) {
        self.lock().remove(key);
    }

    fn expire(&self, seen: &mut VecDeque<Instant>, now: Instant) {
        while seen
            .front()
            .is_some_and(|t| now.duration_since(*t) >= self.limit.window)
        {
            seen.pop_front();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, VecDeque<Instant>>> {
        self.events.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A window of `minutes` minutes.
pub fn minutes(minutes: u64) -> Duration {
    Duration::from_secs(minutes * 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limit_allows_max_events_then_refuses_with_retry_after() {
        let limiter = Limiter::new(Limit {
            max: 3,
            window: minutes(1),
        });
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
}
