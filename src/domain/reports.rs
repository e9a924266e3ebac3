//! Rules of reports and exports: the community's calendar (months and years in its time zone),
//! masked names on the leaderboard, and the spreadsheet formula guard of CSV cells.

use chrono::{Datelike, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;

/// The UTC instant at which `date` begins in `tz` (the first instant that exists, so a day that
/// starts in a daylight-saving gap still has a start).
pub fn start_of(tz: Tz, date: NaiveDate) -> NaiveDateTime {
    let midnight = date.and_time(chrono::NaiveTime::MIN);
    match tz.from_local_datetime(&midnight).earliest() {
        Some(local) => local.naive_utc(),
        // No local midnight at all: the gap's end is an hour later at most.
        None => tz
            .from_local_datetime(&(midnight + chrono::Duration::hours(1)))
            .earliest()
            .map_or(midnight, |local| local.naive_utc()),
    }
}

/// The calendar date of the UTC instant `at` in `tz`.
pub fn local_date(tz: Tz, at: NaiveDateTime) -> NaiveDate {
    tz.from_utc_datetime(&at).date_naive()
}

/// `[from, to)`: the calendar month of `tz` holding the UTC instant `now`.
pub fn month_of(tz: Tz, now: NaiveDateTime) -> (NaiveDateTime, NaiveDateTime) {
    let today = local_date(tz, now);
    let first = today.with_day(1).unwrap_or(today);
    let next = first
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(first);
    (start_of(tz, first), start_of(tz, next))
}

/// `[from, to)`: the calendar year `year` of `tz`.
pub fn year_of(tz: Tz, year: i32) -> (NaiveDateTime, NaiveDateTime) {
    let day = |y| NaiveDate::from_ymd_opt(y, 1, 1).unwrap_or(NaiveDate::MIN);
    (start_of(tz, day(year)), start_of(tz, day(year + 1)))
}

/// A name as the leaderboard shows it to anyone but staff: the first character kept, each other
/// one `*` (`李阿姨` → `李**`).
pub fn mask_name(name: &str) -> String {
    let mut chars = name.chars();
    match chars.next() {
        None => String::new(),
        Some(first) => std::iter::once(first).chain(chars.map(|_| '*')).collect(),
    }
}

/// A text cell as a CSV export writes it: one that a spreadsheet would run as a formula (it
/// begins with `=`, `+`, `-`, `@`, tab or carriage return) gets a leading `'`.
pub fn guard_cell(text: &str) -> std::borrow::Cow<'_, str> {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}").into()
    } else {
        text.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").expect("a time")
    }

    #[test]
    fn a_month_is_the_community_calendar_month() {
        // 30 Nov 17:00 UTC is already 1 December in Shanghai (UTC+8).
        let (from, to) = month_of(chrono_tz::Asia::Shanghai, at("2026-11-30 17:00:00"));
        assert_eq!(from, at("2026-11-30 16:00:00"));
        assert_eq!(to, at("2026-12-31 16:00:00"));
        let (from, to) = month_of(chrono_tz::UTC, at("2026-12-31 23:59:59"));
        assert_eq!(
            (from, to),
            (at("2026-12-01 00:00:00"), at("2027-01-01 00:00:00"))
        );
    }

    #[test]
    fn names_are_masked_but_their_first_character() {
        assert_eq!(mask_name("李阿姨"), "李**");
        assert_eq!(mask_name("A"), "A");
        assert_eq!(mask_name("Bob Li"), "B*****");
    }

    #[test]
    fn formula_cells_are_guarded() {
        for bad in ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(guard_cell(bad), format!("'{bad}"));
        }
        assert_eq!(guard_cell("李, \"x\""), "李, \"x\"");
    }
}
