//! The service's clock. Every business time (check-in windows, code rotation, created_at) comes
//! from here, so tests can set the time instead of sleeping; production reads the system clock.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, NaiveDateTime, TimeDelta, Timelike, Utc};

/// Where "now" comes from.
#[derive(Clone)]
pub enum Clock {
    /// The system clock.
    System,
    /// A clock the tests move by hand; microseconds since the epoch. Each reading moves it one
    /// microsecond on, so rows made one after another keep their creation order.
    Manual(Arc<AtomicI64>),
}

impl Clock {
    /// A manual clock standing at `at`.
    pub fn manual(at: DateTime<Utc>) -> Clock {
        Clock::Manual(Arc::new(AtomicI64::new(at.timestamp_micros())))
    }

    /// Now, in UTC, truncated to microseconds (what PostgreSQL keeps, so values round-trip).
    pub fn now(&self) -> DateTime<Utc> {
        match self {
            Clock::System => {
                let now = Utc::now();
                now.with_nanosecond(now.nanosecond() / 1000 * 1000)
                    .unwrap_or(now)
            }
            Clock::Manual(micros) => {
                DateTime::from_timestamp_micros(micros.fetch_add(1, Ordering::SeqCst))
                    .unwrap_or_default()
            }
        }
    }

    /// Now as the database stores it (UTC, no zone).
    pub fn now_naive(&self) -> NaiveDateTime {
        self.now().naive_utc()
    }

    /// Sets a manual clock; the system clock ignores it.
    pub fn set(&self, at: DateTime<Utc>) {
        if let Clock::Manual(micros) = self {
            micros.store(at.timestamp_micros(), Ordering::SeqCst);
        }
    }

    /// Moves a manual clock forward (or back, with a negative delta).
    pub fn advance(&self, by: TimeDelta) {
        if let Clock::Manual(micros) = self {
            micros.fetch_add(by.num_microseconds().unwrap_or(0), Ordering::SeqCst);
        }
    }
}
