//! Adjustments: an admin's correction of a volunteer's balance, one balanced transaction with
//! the community fund, in the caller's transaction.

use chrono::NaiveDateTime;

use super::ledger::{self, Cause, Event, Kind, TransactionRow};
use super::DbConnection;
use crate::domain::ids::VolunteerId;
use crate::error::AppError;

/// A checked adjustment: the amount is signed and non-zero, the reason trimmed.
#[derive(Debug, Clone, Copy)]
pub struct Adjustment<'a> {
    pub volunteer_id: &'a VolunteerId,
    /// Credited when positive, debited (to the community fund) when negative.
    pub amount: i64,
    pub reason: &'a str,
    /// The admin who makes it.
    pub by: &'a VolunteerId,
    pub now: NaiveDateTime,
}

/// Adjusts a volunteer's balance: 404 for an unknown volunteer, 409 `insufficient-points` if a
/// debit would take the balance below zero (L2). Answers the transaction as written.
///
/// Four statements: the transaction, the account's conditional UPDATE and the two entries. The
/// volunteer is looked up only when the account refused, to tell 404 from 409.
pub fn adjust(conn: &mut DbConnection, a: Adjustment<'_>) -> Result<TransactionRow, AppError> {
    let event = Event {
        memo: a.reason,
        created_by: Some(a.by),
        cause: Cause::default(),
        now: a.now,
    };
    let posted = if a.amount > 0 {
        ledger::credit(conn, Kind::Adjust, a.volunteer_id, a.amount, event)
    } else {
        let fund = ledger::System::CommunityFund;
        ledger::debit(conn, Kind::Adjust, a.volunteer_id, fund, -a.amount, event)
    };
    match posted {
        Err(AppError::Conflict(_) | AppError::NotFound(_))
            if super::users::find(conn, a.volunteer_id)?.is_none() =>
        {
            Err(AppError::NotFound("volunteer"))
        }
        posted => posted,
    }
}
