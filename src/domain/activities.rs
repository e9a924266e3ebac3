//! Rules of activities and their logs: the points rule, minutes at check-out, the check-in
//! window, the rotating check-in code, geofence distance and the log's state machine.

use chrono::{NaiveDateTime, TimeDelta};
use totp_rs::{Algorithm, TOTP};

use super::rule::Rule;

/// The longest activity: `ends_at` at most 7 days after `starts_at`.
pub const MAX_LENGTH: TimeDelta = TimeDelta::days(7);
/// Check-in opens this long before `starts_at`.
pub const EARLY_CHECK_IN: TimeDelta = TimeDelta::minutes(30);
/// A check-in code changes every this many seconds.
pub const CODE_STEP_SECONDS: i64 = 60;

/// How an activity pays: exactly one of the two (API.md `ActivityInput`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PointsRule {
    /// `points_per_hour`, 1–1,000.
    PerHour(i64),
    /// `fixed_points`, 1–10,000.
    Fixed(i64),
}

/// The most points an approval's `points` may name (API.md: 0–10,000). A proposal is not capped
/// by it: an approval without `points` awards `points_proposed`, whatever it is.
pub const MAX_AWARD: i64 = 10_000;

impl PointsRule {
    /// Parses the two optional fields: exactly one, in its range.
    pub fn parse(points_per_hour: Option<i64>, fixed_points: Option<i64>) -> Result<Self, Rule> {
        match (points_per_hour, fixed_points) {
            (Some(p), None) if (1..=1000).contains(&p) => Ok(PointsRule::PerHour(p)),
            (Some(_), None) => Err(Rule::PointsPerHour),
            (None, Some(f)) if (1..=10_000).contains(&f) => Ok(PointsRule::Fixed(f)),
            (None, Some(_)) => Err(Rule::FixedPoints),
            _ => Err(Rule::OnePointsRule),
        }
    }

    /// `points_proposed` for `minutes` served: `fixed_points`, or
    /// `floor(minutes * points_per_hour / 60)` (API.md), at most 168,000 (7 days at 1,000 an
    /// hour).
    pub fn proposed(self, minutes: i64) -> i64 {
        match self {
            PointsRule::Fixed(points) => points,
            PointsRule::PerHour(per_hour) => minutes.max(0).saturating_mul(per_hour) / 60,
        }
    }

    /// The stored `(points_per_hour, fixed_points)`.
    pub fn columns(self) -> (Option<i64>, Option<i64>) {
        match self {
            PointsRule::PerHour(p) => (Some(p), None),
            PointsRule::Fixed(f) => (None, Some(f)),
        }
    }
}

/// Checks an activity's times: `ends_at` after `starts_at`, at most 7 days apart.
pub fn check_times(starts_at: NaiveDateTime, ends_at: NaiveDateTime) -> Result<(), Rule> {
    if ends_at <= starts_at {
        Err(Rule::AfterStart)
    } else if ends_at - starts_at > MAX_LENGTH {
        Err(Rule::WithinSevenDays)
    } else {
        Ok(())
    }
}

/// The activity's length in whole minutes: the most a staff record may claim.
pub fn length_minutes(starts_at: NaiveDateTime, ends_at: NaiveDateTime) -> i64 {
    (ends_at - starts_at).num_minutes().max(0)
}

/// Whether check-in is open at `now`: from 30 minutes before the start until the end.
pub fn check_in_open(starts_at: NaiveDateTime, ends_at: NaiveDateTime, now: NaiveDateTime) -> bool {
    now >= starts_at - EARLY_CHECK_IN && now <= ends_at
}

/// Minutes served at check-out: whole minutes (rounded down) from
/// `max(checked_in_at, starts_at)` to `min(now, ends_at)`, never below 0.
pub fn minutes_served(
    checked_in_at: NaiveDateTime,
    starts_at: NaiveDateTime,
    ends_at: NaiveDateTime,
    now: NaiveDateTime,
) -> i64 {
    let from = checked_in_at.max(starts_at);
    let to = now.min(ends_at);
    (to - from).num_minutes().max(0)
}

/// The 60-second step `now` falls in.
pub fn code_step(now: NaiveDateTime) -> i64 {
    now.and_utc().timestamp().div_euclid(CODE_STEP_SECONDS)
}

/// The end of a step's minute (its code's `valid_until`).
pub fn step_end(step: i64) -> NaiveDateTime {
    chrono::DateTime::from_timestamp((step + 1) * CODE_STEP_SECONDS, 0)
        .unwrap_or_default()
        .naive_utc()
}

/// The 6-digit check-in code of `step` for an activity's secret (TOTP, SHA-1, 60 s).
pub fn code_at(secret: &[u8], step: i64) -> String {
    let totp = TOTP::new_unchecked(
        Algorithm::SHA1,
        6,
        0,
        CODE_STEP_SECONDS as u64,
        secret.to_vec(),
    );
    totp.generate(u64::try_from(step * CODE_STEP_SECONDS).unwrap_or(0))
}

/// Whether `code` is accepted at `now`: the code of this minute or of the minute before.
pub fn code_accepted(secret: &[u8], code: &str, now: NaiveDateTime) -> bool {
    let step = code_step(now);
    let code = code.trim();
    code.len() == 6 && (code_at(secret, step) == code || code_at(secret, step - 1) == code)
}

/// What the QR code holds: never the secret.
pub fn qr_payload(activity_id: &str, code: &str) -> String {
    format!("vp-checkin:{activity_id}:{code}")
}

/// Great-circle distance in metres between two points (haversine, mean Earth radius).
pub fn distance_m(lat1: f64, lng1: f64, lat2: f64, lng2: f64) -> f64 {
    const EARTH_RADIUS_M: f64 = 6_371_008.8;
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lng2 - lng1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * a.sqrt().clamp(0.0, 1.0).asin()
}

/// Checks a latitude and longitude.
pub fn check_coordinates(lat: f64, lng: f64) -> Result<(), Rule> {
    if !(-90.0..=90.0).contains(&lat) {
        Err(Rule::Latitude)
    } else if !(-180.0..=180.0).contains(&lng) {
        Err(Rule::Longitude)
    } else {
        Ok(())
    }
}

/// What a check-in is decided on: the activity as stored and what the volunteer sent.
#[derive(Debug, Clone, Copy)]
pub struct CheckInAttempt<'a> {
    pub cancelled: bool,
    pub starts_at: NaiveDateTime,
    pub ends_at: NaiveDateTime,
    pub secret: &'a [u8],
    /// `(lat, lng, radius_m)` when the activity has a geofence.
    pub geofence: Option<(f64, f64, i64)>,
    pub code: &'a str,
    /// The reported `(lat, lng)`, if any.
    pub at: Option<(f64, f64)>,
    pub now: NaiveDateTime,
}

/// Why a check-in is refused, in the order the rules are checked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum CheckInRefusal {
    Cancelled,
    OutsideWindow,
    WrongCode,
    /// No location (`distance_m` is `None`) or farther than `radius_m`.
    OutsideGeofence {
        distance_m: Option<f64>,
        radius_m: i64,
    },
}

/// Decides a check-in: not cancelled, inside the window, the right code, and inside the
/// geofence if there is one. Accepted, it gives the distance from the geofence's centre.
pub fn decide_check_in(a: &CheckInAttempt<'_>) -> Result<Option<f64>, CheckInRefusal> {
    if a.cancelled {
        return Err(CheckInRefusal::Cancelled);
    }
    if !check_in_open(a.starts_at, a.ends_at, a.now) {
        return Err(CheckInRefusal::OutsideWindow);
    }
    if !code_accepted(a.secret, a.code, a.now) {
        return Err(CheckInRefusal::WrongCode);
    }
    let Some((lat, lng, radius_m)) = a.geofence else {
        return Ok(None);
    };
    let Some((at_lat, at_lng)) = a.at else {
        return Err(CheckInRefusal::OutsideGeofence {
            distance_m: None,
            radius_m,
        });
    };
    let d = distance_m(lat, lng, at_lat, at_lng);
    if d > radius_m as f64 {
        return Err(CheckInRefusal::OutsideGeofence {
            distance_m: Some(d),
            radius_m,
        });
    }
    Ok(Some(d))
}

named_enum! {
    /// Where an activity log stands.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum LogStatus {
        CheckedIn = "checked_in",
        Submitted = "submitted",
        Approved = "approved",
        Rejected = "rejected",
        Reversed = "reversed",
    }
}

named_enum! {
    /// How a log came to be: the volunteer checked in, or staff recorded it.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum LogSource {
        SelfCheckIn = "self",
        Staff = "staff",
    }
}

named_enum! {
    /// Whether an activity still happens.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum ActivityStatus {
        Scheduled = "scheduled",
        Cancelled = "cancelled",
    }
}

impl LogStatus {
    /// The only moves a log makes: check-out, approve, reject, reverse. The database applies
    /// each as `UPDATE ... WHERE status = <from>`, so a move happens at most once (L4).
    pub fn can_become(self, to: LogStatus) -> bool {
        use LogStatus::*;
        matches!(
            (self, to),
            (CheckedIn, Submitted)
                | (Submitted, Approved)
                | (Submitted, Rejected)
                | (Approved, Reversed)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> NaiveDateTime {
        chrono::DateTime::parse_from_rfc3339(s)
            .expect("a time")
            .naive_utc()
    }

    #[test]
    fn exactly_one_points_rule_in_range_is_accepted() {
        assert_eq!(
            PointsRule::parse(Some(60), None),
            Ok(PointsRule::PerHour(60))
        );
        assert_eq!(
            PointsRule::parse(None, Some(10_000)),
            Ok(PointsRule::Fixed(10_000))
        );
        assert!(PointsRule::parse(Some(1), Some(1)).is_err());
        assert!(PointsRule::parse(None, None).is_err());
        assert!(PointsRule::parse(Some(1001), None).is_err());
        assert!(PointsRule::parse(None, Some(0)).is_err());
    }

    #[test]
    fn points_per_hour_are_prorated_and_rounded_down() {
        assert_eq!(PointsRule::PerHour(10).proposed(90), 15);
        assert_eq!(PointsRule::PerHour(10).proposed(5), 0);
        assert_eq!(PointsRule::PerHour(7).proposed(59), 6);
        assert_eq!(PointsRule::Fixed(25).proposed(0), 25);
        // No cap at the approve body's 10,000: the formula, up to a whole week at 1,000 an hour.
        assert_eq!(PointsRule::PerHour(1_000).proposed(660), 11_000);
        assert_eq!(PointsRule::PerHour(1_000).proposed(7 * 24 * 60), 168_000);
    }

    #[test]
    fn minutes_count_only_inside_the_activity_and_never_below_zero() {
        let start = at("2026-11-27T09:00:00Z");
        let end = at("2026-11-27T11:00:00Z");
        // Early arrival counts from the start; late stay counts to the end.
        assert_eq!(
            minutes_served(
                at("2026-11-27T08:40:00Z"),
                start,
                end,
                at("2026-11-27T12:00:00Z")
            ),
            120
        );
        assert_eq!(
            minutes_served(
                at("2026-11-27T09:10:30Z"),
                start,
                end,
                at("2026-11-27T10:10:29Z")
            ),
            59
        );
        assert_eq!(
            minutes_served(
                at("2026-11-27T08:40:00Z"),
                start,
                end,
                at("2026-11-27T08:50:00Z")
            ),
            0
        );
    }

    #[test]
    fn the_window_opens_30_minutes_early_and_closes_at_the_end() {
        let start = at("2026-11-27T09:00:00Z");
        let end = at("2026-11-27T11:00:00Z");
        assert!(!check_in_open(start, end, at("2026-11-27T08:29:59Z")));
        assert!(check_in_open(start, end, at("2026-11-27T08:30:00Z")));
        assert!(check_in_open(start, end, at("2026-11-27T11:00:00Z")));
        assert!(!check_in_open(start, end, at("2026-11-27T11:00:01Z")));
    }

    #[test]
    fn times_must_run_forward_and_at_most_seven_days() {
        let start = at("2026-11-27T09:00:00Z");
        assert!(check_times(start, start).is_err());
        assert!(check_times(start, start + TimeDelta::days(7)).is_ok());
        assert!(check_times(start, start + TimeDelta::days(7) + TimeDelta::seconds(1)).is_err());
    }

    #[test]
    fn a_code_lives_for_its_own_minute_and_the_next() {
        let secret = b"0123456789abcdefghij";
        let now = at("2026-11-27T09:00:30Z");
        let code = code_at(secret, code_step(now));
        assert_eq!(code.len(), 6);
        assert!(code_accepted(secret, &code, now));
        assert!(code_accepted(secret, &code, now + TimeDelta::seconds(60)));
        assert!(!code_accepted(secret, &code, now + TimeDelta::seconds(120)));
        assert_eq!(step_end(code_step(now)), at("2026-11-27T09:01:00Z"));
    }

    #[test]
    fn a_check_in_is_decided_by_window_then_code_then_geofence() {
        let secret = b"12345678901234567890";
        let now = at("2026-11-27T09:00:30Z");
        let code = code_at(secret, code_step(now));
        let attempt = CheckInAttempt {
            cancelled: false,
            starts_at: at("2026-11-27T09:20:00Z"),
            ends_at: at("2026-11-27T11:00:00Z"),
            secret,
            geofence: Some((31.23, 121.47, 100)),
            code: &code,
            at: Some((31.23, 121.47)),
            now,
        };
        assert!(matches!(decide_check_in(&attempt), Ok(Some(d)) if d < 1.0));
        let early = CheckInAttempt {
            starts_at: at("2026-11-27T09:31:00Z"),
            ..attempt
        };
        assert_eq!(decide_check_in(&early), Err(CheckInRefusal::OutsideWindow));
        let wrong = CheckInAttempt {
            code: "000000",
            ..attempt
        };
        assert_eq!(decide_check_in(&wrong), Err(CheckInRefusal::WrongCode));
        let nowhere = CheckInAttempt {
            at: None,
            ..attempt
        };
        assert_eq!(
            decide_check_in(&nowhere),
            Err(CheckInRefusal::OutsideGeofence {
                distance_m: None,
                radius_m: 100
            })
        );
        let fenceless = CheckInAttempt {
            geofence: None,
            ..nowhere
        };
        assert_eq!(decide_check_in(&fenceless), Ok(None));
    }

    #[test]
    fn haversine_distance_is_about_right() {
        assert!(distance_m(31.23, 121.47, 31.23, 121.47) < 0.001);
        // One degree of latitude is about 111.2 km.
        let d = distance_m(0.0, 0.0, 1.0, 0.0);
        assert!((d - 111_195.0).abs() < 100.0, "{d}");
    }

    #[test]
    fn logs_move_only_forward_along_the_allowed_paths() {
        use LogStatus::*;
        assert!(CheckedIn.can_become(Submitted));
        assert!(Submitted.can_become(Approved));
        assert!(Submitted.can_become(Rejected));
        assert!(Approved.can_become(Reversed));
        assert!(!Approved.can_become(Approved));
        assert!(!Rejected.can_become(Reversed));
        assert!(!CheckedIn.can_become(Approved));
        for &s in LogStatus::ALL {
            assert_eq!(LogStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(LogStatus::parse("Approved"), None);
    }
}
