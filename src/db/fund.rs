//! The community fund: donations to it, its public figures, and the check of `verify` that they
//! add up. Figures are aggregates the database computes over the ledger's entries.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use serde::Serialize;
use utoipa::ToSchema;

use super::ledger::{
    self, Cause, Event, Kind, System, TransactionRow, COMMUNITY_FUND, REDEMPTIONS,
};
use super::verify::Problem;
use super::DbConnection;
use crate::domain::ids::VolunteerId;
use crate::error::AppError;

/// The fund's public figures (API.md `Fund`): `points_outstanding` always equals
/// `points_issued` + `points_adjusted` − `points_redeemed` − `points_donated` (`verify` checks it).
#[derive(Debug, Clone, PartialEq, Eq, QueryableByName, Serialize, ToSchema)]
pub struct Fund {
    /// Earn credits (approvals and confirmed wishes) less their reversals.
    #[diesel(sql_type = BigInt)]
    pub points_issued: i64,
    /// Adjustments and opening balances, net.
    #[diesel(sql_type = BigInt)]
    pub points_adjusted: i64,
    /// Redemptions less refunds.
    #[diesel(sql_type = BigInt)]
    pub points_redeemed: i64,
    /// Donations.
    #[diesel(sql_type = BigInt)]
    pub points_donated: i64,
    /// The sum of all volunteer balances.
    #[diesel(sql_type = BigInt)]
    pub points_outstanding: i64,
    /// Volunteers whose balance is above 0.
    #[diesel(sql_type = BigInt)]
    pub volunteers_with_points: i64,
}

impl Fund {
    /// What the volunteers should hold by the system accounts' side of the ledger: issued +
    /// adjusted − redeemed − donated (`None` on overflow).
    pub fn expected_outstanding(&self) -> Option<i64> {
        self.points_issued
            .checked_add(self.points_adjusted)?
            .checked_sub(self.points_redeemed)?
            .checked_sub(self.points_donated)
    }
}

/// The fund's figures. Issued, adjusted, redeemed and donated are read from the system
/// accounts' side of each transaction (a reversal counts as the kind it reverses), outstanding
/// from the volunteers' cached balances, so that `verify` comparing the two checks something.
pub fn figures(conn: &mut DbConnection) -> Result<Fund, AppError> {
    let query = format!(
        "SELECT flows.points_issued AS points_issued, flows.points_adjusted AS points_adjusted, \
                flows.points_redeemed AS points_redeemed, flows.points_donated AS points_donated, \
                held.points_outstanding AS points_outstanding, \
                held.volunteers_with_points AS volunteers_with_points \
         FROM ( \
           SELECT \
             CAST(-COALESCE(SUM(CASE WHEN e.account_id = '{fund}' \
               AND COALESCE(o.kind, t.kind) = 'earn' THEN e.amount END), 0) AS BIGINT) \
               AS points_issued, \
             CAST(-COALESCE(SUM(CASE WHEN e.account_id = '{fund}' \
               AND COALESCE(o.kind, t.kind) IN ('adjust', 'opening') THEN e.amount END), 0) \
               AS BIGINT) AS points_adjusted, \
             CAST(COALESCE(SUM(CASE WHEN e.account_id = '{desk}' \
               AND COALESCE(o.kind, t.kind) IN ('redeem', 'refund') THEN e.amount END), 0) \
               AS BIGINT) AS points_redeemed, \
             CAST(COALESCE(SUM(CASE WHEN e.account_id = '{fund}' \
               AND COALESCE(o.kind, t.kind) = 'donate' THEN e.amount END), 0) AS BIGINT) \
               AS points_donated \
           FROM ledger_entries e \
           JOIN ledger_transactions t ON t.id = e.transaction_id \
           LEFT JOIN ledger_transactions o ON o.id = t.reverses_id \
           WHERE e.account_id IN ('{fund}', '{desk}') \
         ) flows, ( \
           SELECT CAST(COALESCE(SUM(balance), 0) AS BIGINT) AS points_outstanding, \
                  CAST(COUNT(CASE WHEN balance > 0 THEN 1 END) AS BIGINT) \
                    AS volunteers_with_points \
           FROM accounts WHERE kind = 'volunteer' \
         ) held",
        fund = COMMUNITY_FUND,
        desk = REDEMPTIONS,
    );
    Ok(diesel::sql_query(query).get_result(conn)?)
}

/// `verify`'s fund check: the sum of volunteer balances equals issued + adjusted − redeemed −
/// donated; when it does not, the problem names both sides and the difference.
pub fn verify(conn: &mut DbConnection) -> Result<Vec<Problem>, AppError> {
    let f = figures(conn)?;
    let expected = f.expected_outstanding();
    if expected == Some(f.points_outstanding) {
        return Ok(Vec::new());
    }
    let detail = match expected {
        Some(expected) => format!(
            "volunteer balances sum to {} but issued {} + adjusted {} - redeemed {} - donated {} \
             = {expected}: a difference of {}",
            f.points_outstanding,
            f.points_issued,
            f.points_adjusted,
            f.points_redeemed,
            f.points_donated,
            i128::from(f.points_outstanding) - i128::from(expected),
        ),
        None => format!("the fund's figures overflow: {f:?}"),
    };
    Ok(vec![Problem {
        rule: "fund".into(),
        subject: "fund".into(),
        detail,
    }])
}

/// Moves `amount` (> 0) points from a volunteer to the community fund as one `donate`
/// transaction; refused whole with `insufficient-points` when the balance is short (L2).
/// Returns the transaction as written.
pub fn donate(
    conn: &mut DbConnection,
    volunteer_id: &VolunteerId,
    amount: i64,
    note: Option<&str>,
    now: NaiveDateTime,
) -> Result<TransactionRow, AppError> {
    let memo = note.unwrap_or("Donation to the community fund");
    ledger::debit(
        conn,
        Kind::Donate,
        volunteer_id,
        System::CommunityFund,
        amount,
        Event {
            memo,
            created_by: Some(volunteer_id),
            cause: Cause::default(),
            now,
        },
    )
}
