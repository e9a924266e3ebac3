//! Teams and memberships (issue 4 fills this in).

use super::DbConnection;
use crate::error::AppError;

/// The teams `user` belongs to: `(team_id, name, role)`, by team name.
pub fn of_user(
    _conn: &mut DbConnection,
    _user: &str,
) -> Result<Vec<(String, String, String)>, AppError> {
    Ok(Vec::new())
}
