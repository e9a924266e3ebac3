//! The window of times the service accepts from a client: years 2000 to 2099 (UTC). Outside it a
//! time is a typo or an attack, and some would not fit a database column (PostgreSQL's
//! `TIMESTAMP` ends at 4713 BC) or the check-in arithmetic.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Timelike, Utc};
use serde::Deserialize;

use super::rule::Rule;

/// The first accepted instant: 2000-01-01T00:00:00Z.
fn earliest() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2000, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .unwrap_or(NaiveDateTime::MIN)
}

/// The first instant no longer accepted: 2100-01-01T00:00:00Z.
fn end() -> NaiveDateTime {
    NaiveDate::from_ymd_opt(2100, 1, 1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .unwrap_or(NaiveDateTime::MAX)
}

/// A client-sent instant, as the UTC the database stores (to the microsecond), if it lies in
/// years 2000–2099. A leap second (`:60`, which chrono reads at the end of any minute) is not one
/// the databases keep: PostgreSQL turns `10:00:60` into `10:01:00` and SQLite keeps the text, so
/// a rule checked on it would not hold for what is stored. It is refused as not a time.
pub fn accepted(t: DateTime<Utc>) -> Result<NaiveDateTime, Rule> {
    let t = t.naive_utc();
    if t.nanosecond() >= 1_000_000_000 {
        return Err(Rule::NotATime);
    }
    let t = t.with_nanosecond(t.nanosecond() / 1000 * 1000).unwrap_or(t);
    if (earliest()..end()).contains(&t) {
        Ok(t)
    } else {
        Err(Rule::TimeOutOfRange)
    }
}

/// A time in a JSON body, kept as the text the client sent: one that is not a time is a 422
/// naming its field, like a value outside the window (API.md: format errors are
/// `validation-failed`), where a typed field would make serde answer 400.
#[derive(Debug, Clone, Deserialize)]
#[serde(transparent)]
pub struct SentTime(String);

impl SentTime {
    /// The instant, if it is an RFC 3339 time in the accepted window.
    pub fn accepted(&self) -> Result<NaiveDateTime, Rule> {
        parse(&self.0)
    }
}

/// A time as a client writes it in a query string (RFC 3339), as the UTC the database stores: a
/// text that is not a time is refused like one outside the window, so either is a 422 naming the
/// parameter (not the 400 a typed query parameter would make of it).
pub fn parse(raw: &str) -> Result<NaiveDateTime, Rule> {
    accepted(raw.parse::<DateTime<Utc>>().map_err(|_| Rule::NotATime)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .expect("a test time")
    }

    #[test]
    fn times_in_years_2000_to_2099_are_accepted_and_others_refused() {
        assert!(accepted(at("2000-01-01T00:00:00Z")).is_ok());
        assert!(accepted(at("2099-12-31T23:59:59Z")).is_ok());
        assert_eq!(
            accepted(at("1999-12-31T23:59:59Z")),
            Err(Rule::TimeOutOfRange)
        );
        assert_eq!(
            accepted(at("2100-01-01T00:00:00Z")),
            Err(Rule::TimeOutOfRange)
        );
        let ancient = DateTime::<Utc>::MIN_UTC;
        assert_eq!(accepted(ancient), Err(Rule::TimeOutOfRange));
    }

    #[test]
    fn a_leap_second_is_not_a_time_the_service_takes() {
        assert_eq!(parse("2026-11-30T10:00:60Z"), Err(Rule::NotATime));
        assert_eq!(parse("2026-12-31T23:59:60Z"), Err(Rule::NotATime));
        assert!(parse("2026-11-30T10:00:59.999999Z").is_ok());
    }

    #[test]
    fn a_query_time_that_does_not_parse_is_refused_as_not_a_time() {
        assert!(parse("2026-11-27T08:30:00Z").is_ok());
        assert_eq!(parse("yesterday"), Err(Rule::NotATime));
        assert_eq!(parse("2026-13-01T00:00:00Z"), Err(Rule::NotATime));
        assert_eq!(parse("1999-12-31T23:59:59Z"), Err(Rule::TimeOutOfRange));
    }
}
