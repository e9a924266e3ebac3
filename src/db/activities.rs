//! Activities, enrolments and activity logs (issue 4 fills this in).

use super::DbConnection;
use crate::error::AppError;

/// A volunteer's `(minutes_served, pending_points)` from their activity logs.
pub fn hours_of(_conn: &mut DbConnection, _volunteer_id: &str) -> Result<(i64, i64), AppError> {
    Ok((0, 0))
}
