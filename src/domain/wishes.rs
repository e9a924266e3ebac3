//! Rules of micro-wishes (微心愿, API.md "Micro-wishes"): the bounds of a wish's values and its
//! state machine. Plain Rust: no actix, no diesel.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::rule::Rule;
use super::text::{bounded, in_range};
use crate::error::Conflict;

/// The most points a wish credits.
pub const MAX_POINTS: i64 = 10_000;
/// How many wishes one person may hold (`adopted` or `fulfilled`) at once.
pub const MAX_HELD: i64 = 3;

/// Who the family is, where, how to reach them: 1–500 characters, trimmed.
pub fn beneficiary(raw: &str) -> Result<String, Rule> {
    bounded(raw, 1, 500)
}

/// The points of a wish or of its confirmation: 0–10,000.
pub fn points(n: i64) -> Result<i64, Rule> {
    in_range(n, 0, MAX_POINTS)
}

named_enum! {
    /// Where a wish is in its life:
    /// `open` → `adopted` (adopt) → `fulfilled` (fulfil) → `confirmed` (confirm, which credits);
    /// `adopted` → `open` (release); `fulfilled` → `adopted` (reject);
    /// `open`, `adopted` or `fulfilled` → `cancelled`. Nothing leaves `confirmed` or `cancelled`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
    #[serde(rename_all = "snake_case")]
    pub enum WishStatus {
        Open = "open",
        Adopted = "adopted",
        Fulfilled = "fulfilled",
        Confirmed = "confirmed",
        Cancelled = "cancelled",
    }
}

/// A move of the state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    Adopt,
    Release,
    Fulfil,
    Reject,
    Confirm,
    Cancel,
}

impl Move {
    /// The statuses this move starts from.
    pub fn from(self) -> &'static [WishStatus] {
        use WishStatus::*;
        match self {
            Move::Adopt => &[Open],
            Move::Release | Move::Fulfil => &[Adopted],
            Move::Reject | Move::Confirm => &[Fulfilled],
            Move::Cancel => &[Open, Adopted, Fulfilled],
        }
    }

    /// The status this move ends in.
    pub fn to(self) -> WishStatus {
        match self {
            Move::Adopt | Move::Reject => WishStatus::Adopted,
            Move::Release => WishStatus::Open,
            Move::Fulfil => WishStatus::Fulfilled,
            Move::Confirm => WishStatus::Confirmed,
            Move::Cancel => WishStatus::Cancelled,
        }
    }

    /// The 409 when the wish is in none of [`Move::from`].
    pub fn refusal(self) -> Conflict {
        match self {
            Move::Adopt => Conflict::WishNotOpen,
            Move::Release | Move::Fulfil => Conflict::WishNotAdopted,
            Move::Reject | Move::Confirm => Conflict::WishNotFulfilled,
            Move::Cancel => Conflict::WishClosed,
        }
    }
}

impl WishStatus {
    /// The statuses in which a wish counts against its adopter's limit of [`MAX_HELD`].
    pub const HELD: [WishStatus; 2] = [WishStatus::Adopted, WishStatus::Fulfilled];

    /// Whether `m` may start from this status.
    pub fn allows(self, m: Move) -> bool {
        m.from().contains(&self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use WishStatus::*;

    #[test]
    fn wishes_move_only_along_the_allowed_transitions() {
        let moves = [
            Move::Adopt,
            Move::Release,
            Move::Fulfil,
            Move::Reject,
            Move::Confirm,
            Move::Cancel,
        ];
        let allowed: Vec<(WishStatus, WishStatus)> = WishStatus::ALL
            .iter()
            .copied()
            .flat_map(|s| {
                moves
                    .into_iter()
                    .filter(move |m| s.allows(*m))
                    .map(move |m| (s, m.to()))
            })
            .collect();
        assert_eq!(
            allowed,
            vec![
                (Open, Adopted),
                (Open, Cancelled),
                (Adopted, Open),
                (Adopted, Fulfilled),
                (Adopted, Cancelled),
                (Fulfilled, Adopted),
                (Fulfilled, Confirmed),
                (Fulfilled, Cancelled),
            ]
        );
        for done in [Confirmed, Cancelled] {
            assert!(moves.iter().all(|m| !done.allows(*m)));
        }
        assert_eq!(Move::Cancel.refusal(), Conflict::WishClosed);
        assert_eq!(Move::Adopt.refusal(), Conflict::WishNotOpen);
    }

    #[test]
    fn wish_statuses_round_trip_through_their_stored_names() {
        for &s in WishStatus::ALL {
            assert_eq!(WishStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(WishStatus::parse("done"), None);
    }

    #[test]
    fn wish_values_keep_their_bounds() {
        assert!(points(-1).is_err());
        assert_eq!(points(0), Ok(0));
        assert_eq!(points(10_000), Ok(10_000));
        assert!(points(10_001).is_err());
        assert!(beneficiary("  ").is_err());
        assert_eq!(beneficiary(" 王奶奶, 3 栋 ").as_deref(), Ok("王奶奶, 3 栋"));
        assert!(beneficiary(&"户".repeat(501)).is_err());
    }
}
