//! Rewards and redemptions (issue 5 fills this in).

use super::ledger::Problem;
use super::DbConnection;
use crate::error::AppError;

/// L10 over every reward: problems found.
pub fn verify(_conn: &mut DbConnection) -> Result<Vec<Problem>, AppError> {
    Ok(Vec::new())
}
