//! Rules of partners (API.md "Partners"): their kinds, who works which counter, and the calendar
//! month a settlement covers by default. Plain Rust: no actix, no diesel.

use chrono::{DateTime, Datelike, LocalResult, Months, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::ids::PartnerId;

named_enum! {
    /// What kind of organisation a partner is.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "kebab-case")]
    pub enum PartnerKind {
        SocialEnterprise = "social-enterprise",
        Unit = "unit",
        Fund = "fund",
        Other = "other",
    }
}

/// Who may work a partner's counter (list its redemptions, hand them out, read its settlement):
/// staff work every counter, a clerk only their partners'. Someone who is neither has no
/// counter at all, and the role check refuses them before any partner is looked at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Desk {
    /// Staff or admin: every partner, and rewards without one.
    Staff,
    /// A clerk of these partners (never empty).
    Clerk(Vec<PartnerId>),
}

impl Desk {
    /// The desk of someone with this role who clerks `partners`; `None` when they work none.
    pub fn of(is_staff: bool, partners: Vec<PartnerId>) -> Option<Desk> {
        if is_staff {
            Some(Desk::Staff)
        } else if partners.is_empty() {
            None
        } else {
            Some(Desk::Clerk(partners))
        }
    }

    /// Whether this desk works `partner`'s counter.
    pub fn works(&self, partner: &PartnerId) -> bool {
        match self {
            Desk::Staff => true,
            Desk::Clerk(partners) => partners.iter().any(|p| p == partner),
        }
    }

    /// The partners whose rewards this desk may hand out; `None` = any reward.
    pub fn partners(&self) -> Option<&[PartnerId]> {
        match self {
            Desk::Staff => None,
            Desk::Clerk(partners) => Some(partners),
        }
    }

    /// Whether lists show pickup codes: clerks never see them (the volunteer shows the code at
    /// the counter).
    pub fn sees_pickup_codes(&self) -> bool {
        matches!(self, Desk::Staff)
    }
}

/// The calendar month of `zone` that contains `now`, as the instants `[start, end)`.
pub fn month_containing(now: DateTime<Utc>, zone: Tz) -> (DateTime<Utc>, DateTime<Utc>) {
    let today = now.with_timezone(&zone).date_naive();
    let first = today.with_day(1).unwrap_or(today);
    let next = first.checked_add_months(Months::new(1)).unwrap_or(first);
    (start_of_day(first, zone), start_of_day(next, zone))
}

/// The first instant of `date` in `zone`: local midnight, or when a clock change skips
/// midnight, the first local time that exists on that day.
fn start_of_day(date: NaiveDate, zone: Tz) -> DateTime<Utc> {
    let midnight = date.and_time(chrono::NaiveTime::MIN);
    let mut local = midnight;
    // Clock changes skip at most a few hours; step by minutes until a local time exists.
    for _ in 0..(24 * 60) {
        match zone.from_local_datetime(&local) {
            LocalResult::Single(t) => return t.with_timezone(&Utc),
            LocalResult::Ambiguous(earliest, _) => return earliest.with_timezone(&Utc),
            LocalResult::None => local += chrono::TimeDelta::minutes(1),
        }
    }
    midnight.and_utc()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::ids::Id;

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .expect("a test time")
    }

    #[test]
    fn kinds_round_trip_in_kebab_case() {
        for &k in PartnerKind::ALL {
            assert_eq!(PartnerKind::parse(k.as_str()), Some(k));
            assert_eq!(
                serde_json::to_value(k).ok(),
                Some(serde_json::Value::from(k.as_str()))
            );
        }
        assert_eq!(PartnerKind::parse("shop"), None);
    }

    #[test]
    fn staff_work_every_counter_and_a_clerk_only_their_partners() {
        assert_eq!(Desk::of(false, vec![]), None);
        let staff = Desk::of(true, vec![]).expect("staff have a desk");
        let (a, b) = (PartnerId::fresh(), PartnerId::fresh());
        assert!(staff.works(&a) && staff.sees_pickup_codes() && staff.partners().is_none());
        let clerk = Desk::of(false, vec![a.clone()]).expect("a clerk has a desk");
        assert!(clerk.works(&a) && !clerk.works(&b) && !clerk.sees_pickup_codes());
        assert_eq!(clerk.partners(), Some(&[a][..]));
    }

    #[test]
    fn the_month_is_the_community_zone_s_calendar_month() {
        let shanghai: Tz = "Asia/Shanghai".parse().expect("a zone");
        // 17:00 UTC on 30 November is already 1 December in Shanghai.
        let (from, to) = month_containing(utc("2026-11-30T17:00:00Z"), shanghai);
        assert_eq!(from, utc("2026-11-30T16:00:00Z"));
        assert_eq!(to, utc("2026-12-31T16:00:00Z"));
        let (from, to) = month_containing(utc("2026-11-15T00:00:00Z"), chrono_tz::UTC);
        assert_eq!(from, utc("2026-11-01T00:00:00Z"));
        assert_eq!(to, utc("2026-12-01T00:00:00Z"));
    }

    #[test]
    fn a_day_whose_midnight_does_not_exist_starts_at_its_first_local_time() {
        // Cuba moves its clocks from 00:00 to 01:00 on the second Sunday of March.
        let havana: Tz = "America/Havana".parse().expect("a zone");
        let day = NaiveDate::from_ymd_opt(2026, 3, 8).expect("a date");
        assert_eq!(start_of_day(day, havana), utc("2026-03-08T05:00:00Z"));
    }
}
