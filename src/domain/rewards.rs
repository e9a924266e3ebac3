//! Rules of rewards and redemptions (API.md "Rewards and redemptions"): bounds of every value, the
//! redemption state machine and pickup codes. Plain Rust: no actix, no diesel.

use rand::Rng;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::rule::Rule;
use super::text::{bounded, in_range};

/// The largest price of a reward, in points.
pub const MAX_COST: i64 = 1_000_000;
/// The largest stock a reward may hold.
pub const MAX_STOCK: i64 = 1_000_000;
/// The largest per-volunteer limit.
pub const MAX_LIMIT: i64 = 1_000;
/// The largest restock.
pub const MAX_RESTOCK: i64 = 100_000;
/// The most units one redemption takes.
pub const MAX_QUANTITY: i64 = 10;

/// A sponsor: up to 100 characters, trimmed; empty means none.
pub fn sponsor(raw: &str) -> Result<Option<String>, Rule> {
    bounded(raw, 0, 100).map(non_empty)
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

/// A price: 1–1,000,000 points.
pub fn cost_points(n: i64) -> Result<i64, Rule> {
    in_range(n, 1, MAX_COST)
}

/// A limited stock: 0–1,000,000 (unlimited is the absence of a stock).
pub fn stock(n: i64) -> Result<i64, Rule> {
    in_range(n, 0, MAX_STOCK)
}

/// A per-volunteer limit: 1–1,000 units.
pub fn per_volunteer_limit(n: i64) -> Result<i64, Rule> {
    in_range(n, 1, MAX_LIMIT)
}

/// A restock: 1–100,000 units.
pub fn restock_quantity(n: i64) -> Result<i64, Rule> {
    in_range(n, 1, MAX_RESTOCK)
}

/// Units in one redemption: 1–10, default 1.
pub fn quantity(n: Option<i64>) -> Result<i64, Rule> {
    in_range(n.unwrap_or(1), 1, MAX_QUANTITY)
}

/// What `quantity` units of a reward costing `cost` take: `None` on overflow (which the bounds
/// above rule out, but points arithmetic is always checked).
pub fn total_cost(cost: i64, quantity: i64) -> Option<i64> {
    cost.checked_mul(quantity)
}

named_enum! {
    /// Where a redemption is in its life. `reserved` → `fulfilled` (handed out at the desk) or
    /// `reserved` → `cancelled` (points refunded, stock restored); nothing leaves the last two.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum RedemptionStatus {
        Reserved = "reserved",
        Fulfilled = "fulfilled",
        Cancelled = "cancelled",
    }
}

impl RedemptionStatus {
    /// Whether a redemption in this status may move to `next`.
    pub fn can_become(self, next: RedemptionStatus) -> bool {
        self == RedemptionStatus::Reserved && next != RedemptionStatus::Reserved
    }

    /// Whether units in this status count against stock and the per-volunteer limit.
    pub fn holds_units(self) -> bool {
        self != RedemptionStatus::Cancelled
    }
}

/// A pickup code: six ASCII digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PickupCode(String);

impl PickupCode {
    /// A fresh random code, `000000`–`999999`.
    pub fn random() -> PickupCode {
        let n: u32 = rand::thread_rng().gen_range(0..1_000_000);
        PickupCode(format!("{n:06}"))
    }

    /// A code as the desk typed it (surrounding spaces ignored).
    pub fn parse(raw: &str) -> Result<PickupCode, Rule> {
        let s = raw.trim();
        if s.len() == 6 && s.bytes().all(|b| b.is_ascii_digit()) {
            Ok(PickupCode(s.to_owned()))
        } else {
            Err(Rule::SixDigits)
        }
    }

    /// The digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reward_values_keep_their_bounds() {
        assert!(sponsor(&"s".repeat(101)).is_err());
        assert_eq!(sponsor(" 书店 "), Ok(Some("书店".to_owned())));
        assert!(cost_points(0).is_err());
        assert!(cost_points(1_000_001).is_err());
        assert!(cost_points(1_000_000).is_ok());
        assert!(stock(-1).is_err());
        assert!(stock(0).is_ok());
        assert!(stock(1_000_001).is_err());
        assert!(per_volunteer_limit(0).is_err());
        assert!(per_volunteer_limit(1001).is_err());
        assert!(restock_quantity(0).is_err());
        assert!(restock_quantity(100_001).is_err());
    }

    #[test]
    fn quantity_defaults_to_one_and_stays_within_one_to_ten() {
        assert_eq!(quantity(None), Ok(1));
        assert_eq!(quantity(Some(10)), Ok(10));
        assert!(quantity(Some(0)).is_err());
        assert!(quantity(Some(11)).is_err());
        assert_eq!(total_cost(MAX_COST, MAX_QUANTITY), Some(10_000_000));
        assert_eq!(total_cost(i64::MAX, 2), None);
    }

    #[test]
    fn only_a_reserved_redemption_moves_and_only_forward() {
        use RedemptionStatus::*;
        assert!(Reserved.can_become(Fulfilled));
        assert!(Reserved.can_become(Cancelled));
        assert!(!Reserved.can_become(Reserved));
        for done in [Fulfilled, Cancelled] {
            for next in [Reserved, Fulfilled, Cancelled] {
                assert!(!done.can_become(next));
            }
        }
        assert!(Reserved.holds_units() && Fulfilled.holds_units() && !Cancelled.holds_units());
        for s in [Reserved, Fulfilled, Cancelled] {
            assert_eq!(RedemptionStatus::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn pickup_codes_are_six_digits() {
        for _ in 0..1000 {
            let code = PickupCode::random();
            assert_eq!(PickupCode::parse(code.as_str()), Ok(code));
        }
        assert!(PickupCode::parse("12345").is_err());
        assert!(PickupCode::parse("1234567").is_err());
        assert!(PickupCode::parse("12a456").is_err());
        assert_eq!(
            PickupCode::parse(" 012345 ").map(|c| c.0),
            Ok("012345".into())
        );
    }
}
