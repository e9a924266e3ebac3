//! The domain's ids and named enums (statuses, kinds, roles) stored as TEXT: diesel's
//! `ToSql`/`FromSql` through the connection enum's `MultiBackend`, so queries bind and read the
//! domain types themselves. The impls live here, not in `domain/`, which knows no diesel. A
//! stored value that does not parse is a read error (500), never a silent default.

use diesel::backend::Backend;
use diesel::deserialize::{self, FromSql, FromSqlRow};
use diesel::expression::AsExpression;
use diesel::serialize::{self, IsNull, Output, ToSql};
use diesel::sql_types::Text;

use super::MultiBackend;
use crate::domain::activities::{ActivityStatus, LogSource, LogStatus};
use crate::domain::ids::{
    ActivityId, Id, LogId, PartnerId, RedemptionId, RewardId, TeamId, TransactionId, VolunteerId,
    WishId,
};
use crate::domain::ledger::{AccountKind, Kind};
use crate::domain::partners::PartnerKind;
use crate::domain::people::{Role, TeamRole};
use crate::domain::rewards::RedemptionStatus;
use crate::domain::wishes::WishStatus;

macro_rules! stored_as_text {
    ($($ty:ident => $proxy:ident),+ $(,)?) => {$(
        /// Carries diesel's `AsExpression` and `FromSqlRow` derives to the domain type.
        #[derive(AsExpression, FromSqlRow)]
        #[diesel(foreign_derive, sql_type = Text)]
        #[allow(dead_code)]
        struct $proxy($ty);

        impl FromSql<Text, MultiBackend> for $ty {
            fn from_sql(bytes: <MultiBackend as Backend>::RawValue<'_>) -> deserialize::Result<Self> {
                let name = <String as FromSql<Text, MultiBackend>>::from_sql(bytes)?;
                $ty::parse(&name)
                    .ok_or_else(|| format!("{name:?} is not a {}", stringify!($ty)).into())
            }
        }

        impl ToSql<Text, MultiBackend> for $ty {
            fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, MultiBackend>) -> serialize::Result {
                out.set_value((Text, self.as_str()));
                Ok(IsNull::No)
            }
        }
    )+};
}

stored_as_text!(
    LogStatus => LogStatusText,
    LogSource => LogSourceText,
    ActivityStatus => ActivityStatusText,
    RedemptionStatus => RedemptionStatusText,
    WishStatus => WishStatusText,
    PartnerKind => PartnerKindText,
    Kind => KindText,
    AccountKind => AccountKindText,
    Role => RoleText,
    TeamRole => TeamRoleText,
    VolunteerId => VolunteerIdText,
    ActivityId => ActivityIdText,
    LogId => LogIdText,
    TeamId => TeamIdText,
    RewardId => RewardIdText,
    RedemptionId => RedemptionIdText,
    PartnerId => PartnerIdText,
    TransactionId => TransactionIdText,
    WishId => WishIdText,
);
