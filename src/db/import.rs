//! Importing the community's volunteer list (API.md "Importing volunteers"): the one function the
//! HTTP endpoint and the CLI both call. Good rows are applied in one transaction; a dry run runs
//! the very same work and rolls it back.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::schema::{team_members, teams, users};
use super::{teams as team_rows, users as user_rows, Db, DbConnection};
use crate::domain::ids::{Id, TeamId, VolunteerId};
use crate::domain::import::{Parsed, Row, RowError};
use crate::domain::people::{Role, TeamRole};
use crate::error::AppError;

/// What an import did (or, in a dry run, would do).
#[derive(Debug, Default, Serialize, ToSchema)]
pub struct ImportReport {
    pub dry_run: bool,
    /// Data rows, error rows included.
    pub rows: u64,
    pub created: u64,
    /// Rows that changed a name or a membership.
    pub updated: u64,
    pub unchanged: u64,
    pub teams_created: u64,
    /// The sum of opening balances credited.
    pub opening_points: i64,
    /// By line.
    pub errors: Vec<RowError>,
}

/// Imports a read file: in one transaction that commits, or that rolls back for a dry run.
pub fn run(
    db: &Db,
    parsed: Parsed,
    dry_run: bool,
    now: NaiveDateTime,
) -> Result<ImportReport, AppError> {
    let work = |conn: &mut DbConnection| apply(conn, parsed, dry_run, now);
    if dry_run {
        db.rehearse_blocking(work)
    } else {
        db.write_blocking(work)
    }
}

/// Applies the good rows of a file on `conn` (inside the caller's transaction).
pub fn apply(
    conn: &mut DbConnection,
    parsed: Parsed,
    dry_run: bool,
    now: NaiveDateTime,
) -> Result<ImportReport, AppError> {
    let mut report = ImportReport {
        dry_run,
        rows: parsed.rows,
        errors: parsed.errors,
        ..ImportReport::default()
    };
    let mut team_ids: HashMap<String, TeamId> = HashMap::new();
    for row in parsed.good {
        let team = match &row.team {
            None => None,
            Some(name) => Some(team_named(conn, name, &mut team_ids, &mut report, now)?),
        };
        match apply_row(conn, &row, team.as_ref(), now)? {
            Outcome::Created => report.created += 1,
            Outcome::Updated => report.updated += 1,
            Outcome::Unchanged => report.unchanged += 1,
        }
    }
    report.errors.sort_by_key(|e| e.line);
    Ok(report)
}

enum Outcome {
    Created,
    Updated,
    Unchanged,
}

/// The team with this name (the oldest, if several share it), created if there is none.
fn team_named(
    conn: &mut DbConnection,
    name: &str,
    known: &mut HashMap<String, TeamId>,
    report: &mut ImportReport,
    now: NaiveDateTime,
) -> Result<TeamId, AppError> {
    if let Some(id) = known.get(name) {
        return Ok(id.clone());
    }
    let found: Option<TeamId> = teams::table
        .filter(teams::name.eq(name))
        .order((teams::created_at, teams::id))
        .select(teams::id)
        .first(conn)
        .optional()?;
    let id = match found {
        Some(id) => id,
        None => {
            report.teams_created += 1;
            team_rows::create(conn, name, None, now)?.id
        }
    };
    known.insert(name.to_owned(), id.clone());
    Ok(id)
}

/// One row: the person (created, or renamed if the name differs) and their membership.
fn apply_row(
    conn: &mut DbConnection,
    row: &Row,
    team: Option<&TeamId>,
    now: NaiveDateTime,
) -> Result<Outcome, AppError> {
    let (volunteer, mut outcome) = match user_rows::find_by_phone(conn, row.phone.as_str())? {
        None => {
            // No password: they get one at the desk (a reset by staff).
            let user = user_rows::create(
                conn,
                user_rows::NewUser {
                    phone: &row.phone,
                    name: &row.name,
                    role: Role::Volunteer,
                    password_hash: "",
                    now,
                },
            )?;
            (user.id, Outcome::Created)
        }
        Some(user) if user.name != row.name => {
            diesel::update(users::table.find(&user.id))
                .set(users::name.eq(&row.name))
                .execute(conn)?;
            (user.id, Outcome::Updated)
        }
        Some(user) => (user.id, Outcome::Unchanged),
    };
    let volunteer = VolunteerId::parse(&volunteer).ok_or(AppError::NotFound("volunteer"))?;
    if let Some(team) = team {
        let role: Option<TeamRole> = team_members::table
            .filter(team_members::team_id.eq(team))
            .filter(team_members::volunteer_id.eq(&volunteer))
            .select(team_members::role)
            .first(conn)
            .optional()?;
        if role != Some(row.team_role) {
            team_rows::set_member(conn, team, &volunteer, row.team_role, now)?;
            if matches!(outcome, Outcome::Unchanged) {
                outcome = Outcome::Updated;
            }
        }
    }
    Ok(outcome)
}
