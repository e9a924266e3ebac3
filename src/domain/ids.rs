//! Ids of what the service keeps: UUIDs, parsed once at the edge and passed as their own types,
//! so a reward's id cannot be handed where a volunteer's is meant. Each holds the canonical
//! (lower-case, hyphenated) form, which is also how it is stored (TEXT) and shown (JSON).
//!
//! One policy for an id that is not a UUID (API.md): it names nothing, so it is a 404, exactly
//! like an unknown one. [`Id::parse`] gives `None` and the edge answers not-found.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize};
use uuid::Uuid;

/// What every id type can do.
pub trait Id: Sized {
    /// What a missing one is called in a 404 (`"<what> not found"`).
    const WHAT: &'static str;
    /// The id of a UUID.
    fn from_uuid(uuid: Uuid) -> Self;
    /// The canonical text.
    fn as_str(&self) -> &str;

    /// The id in `raw`, in any case the UUID syntax allows; `None` if it is not a UUID.
    fn parse(raw: &str) -> Option<Self> {
        Uuid::parse_str(raw).ok().map(Self::from_uuid)
    }

    /// A new id: a UUID v7, which begins with the time it was made (in milliseconds, then a
    /// counter and random bits), so the ids of new rows ascend and their index entries go to the
    /// right edge of each index's b-tree instead of a random page of it. A write then touches
    /// the same few pages as the writes beside it, and a commit carries fewer pages to SQLite's
    /// WAL (35% more redemptions a second; PostgreSQL's showed no change; docs/BENCHMARKS.md).
    /// It reveals when the row was made, which each row shows anyway (`created_at`); it stays
    /// unguessable (74 random bits), and nothing relies on an id being secret.
    fn fresh() -> Self {
        Self::from_uuid(Uuid::now_v7())
    }
}

macro_rules! entity_id {
    ($($(#[$meta:meta])* $name:ident => $what:literal),+ $(,)?) => {$(
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
        #[serde(transparent)]
        pub struct $name(String);

        impl Id for $name {
            const WHAT: &'static str = $what;

            fn from_uuid(uuid: Uuid) -> Self {
                $name(uuid.to_string())
            }

            fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl $name {
            /// The canonical text (what is stored and shown).
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                Self::from_uuid(uuid)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        /// Reads a UUID (a path segment, a body field); anything else is a deserialisation
        /// error, which the path extractor answers as 404.
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                Uuid::deserialize(d).map(Self::from_uuid)
            }
        }
    )+};
}

entity_id!(
    /// A person: volunteer, staff or admin (also their points account's id).
    VolunteerId => "volunteer",
    /// An activity.
    ActivityId => "activity",
    /// An activity log.
    LogId => "activity log",
    /// A team.
    TeamId => "team",
    /// A reward.
    RewardId => "reward",
    /// A redemption.
    RedemptionId => "redemption",
    /// A ledger transaction.
    TransactionId => "transaction",
    /// A micro-wish.
    WishId => "wish",
    /// A partner (an organisation whose counter hands out its rewards).
    PartnerId => "partner",
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_is_a_uuid_in_canonical_form_or_nothing() {
        let id = ActivityId::parse("6F9619FF-8B86-D011-B42D-00C04FC964FF").expect("a UUID");
        assert_eq!(id.as_str(), "6f9619ff-8b86-d011-b42d-00c04fc964ff");
        assert_eq!(ActivityId::parse("not-a-uuid"), None);
        assert_eq!(
            serde_json::to_string(&id).expect("json"),
            format!("\"{id}\"")
        );
    }

    #[test]
    fn new_ids_ascend_as_their_stored_text_so_new_rows_go_to_each_index_s_right_edge() {
        let ids: Vec<RedemptionId> = (0..10_000).map(|_| RedemptionId::fresh()).collect();
        assert!(ids.windows(2).all(|w| w[0].as_str() < w[1].as_str()));
        let uuid = Uuid::parse_str(ids[0].as_str()).expect("a UUID");
        assert_eq!(uuid.get_version_num(), 7);
    }
}
