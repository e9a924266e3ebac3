//! Names for the OpenAPI document only: the page of each list, and the values a text field can
//! hold. Nothing here is (de)serialised; each is a schema that request and response types
//! point at with `#[schema(value_type = ...)]` or `body = ...`.

use std::borrow::Cow;

use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use crate::domain::page::Page;

/// `page!(TeamPage of Team)`: the named schema of a page of `Team`.
macro_rules! page {
    ($($name:ident of $item:ty),* $(,)?) => {$(
        #[doc = concat!("A page of `", stringify!($item), "` (schema only).")]
        pub struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                <Page<$item> as PartialSchema>::schema()
            }
        }

        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }

            fn schemas(schemas: &mut Vec<(String, RefOr<Schema>)>) {
                schemas.push((<$item>::name().into(), <$item>::schema()));
                <$item>::schemas(schemas);
            }
        }
    )*};
}

/// `values!(LogSource "where a log came from": "self", "staff")`: a named string enum.
macro_rules! values {
    ($($name:ident $doc:literal: $($value:literal),+;)*) => {$(
        #[doc = concat!($doc, " (schema only).")]
        pub struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .description(Some($doc))
                    .enum_values(Some([$($value),+]))
                    .into()
            }
        }

        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
        }
    )*};
}

page!(
    UserPage of super::people::User,
    TeamPage of super::teams::Team,
    MemberPage of super::teams::Member,
    ActivityPage of super::activities::Activity,
    ActivityLogPage of super::activity_logs::ActivityLog,
    EntryPage of super::ledger::Entry,
    RewardPage of super::rewards::Reward,
    WishPage of super::wishes::Wish,
    RedemptionPage of super::rewards::redemptions::Redemption,
    PartnerPage of super::partners::Partner,
    ClerkPage of super::partners::Clerk,
);

values! {
    ActivityStatus "An activity's state": "scheduled", "cancelled";
    LogStatus "An activity log's state":
        "checked_in", "submitted", "approved", "rejected", "reversed";
    LogSource "Who made a log: the volunteer checking in, or staff recording attendance":
        "self", "staff";
    TransactionKind "What a ledger transaction records":
        "earn", "redeem", "refund", "adjust", "reversal", "donate", "opening";
    AccountKind "Whose ledger account": "volunteer", "community_fund", "redemptions";
}
