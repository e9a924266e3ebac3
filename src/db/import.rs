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
use crate::domain::ids::{TeamId, VolunteerId};
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
    let known = Known::read(conn, &parsed.good)?;
    for row in parsed.good {
        let team = match &row.team {
            None => None,
            Some(name) => Some(team_named(conn, name, &mut team_ids, &mut report, now)?),
        };
        match apply_row(conn, &known, &row, team.as_ref(), now)? {
            Outcome::Created => report.created += 1,
            Outcome::Updated => report.updated += 1,
            Outcome::Unchanged => report.unchanged += 1,
        }
    }
    report.errors.sort_by_key(|e| e.line);
    Ok(report)
}

/// What the database already holds about the file's phones, read in a few queries rather than
/// a few per row.
struct Known {
    /// phone → (id, name).
    people: HashMap<String, (VolunteerId, String)>,
    /// (team, volunteer) → role.
    memberships: HashMap<(TeamId, VolunteerId), TeamRole>,
}

impl Known {
    /// Rows per `IN (...)` list (SQLite allows a few thousand parameters at least).
    const CHUNK: usize = 500;

    fn read(conn: &mut DbConnection, rows: &[Row]) -> Result<Known, AppError> {
        let phones: Vec<&str> = rows.iter().map(|r| r.phone.as_str()).collect();
        let mut people = HashMap::new();
        let mut memberships = HashMap::new();
        for chunk in phones.chunks(Self::CHUNK) {
            let found: Vec<(String, VolunteerId, String)> = users::table
                .filter(users::phone.eq_any(chunk))
                .select((users::phone, users::id, users::name))
                .load(conn)?;
            let ids: Vec<&str> = found.iter().map(|(_, id, _)| id.as_str()).collect();
            let roles: Vec<(TeamId, VolunteerId, TeamRole)> = team_members::table
                .filter(team_members::volunteer_id.eq_any(&ids))
                .select((
                    team_members::team_id,
                    team_members::volunteer_id,
                    team_members::role,
                ))
                .load(conn)?;
            memberships.extend(roles.into_iter().map(|(t, v, r)| ((t, v), r)));
            people.extend(
                found
                    .into_iter()
                    .map(|(phone, id, name)| (phone, (id, name))),
            );
        }
        Ok(Known {
            people,
            memberships,
        })
    }
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
    known: &Known,
    row: &Row,
    team: Option<&TeamId>,
    now: NaiveDateTime,
) -> Result<Outcome, AppError> {
    let (volunteer, mut outcome) = match known.people.get(row.phone.as_str()) {
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
        Some((id, name)) if *name != row.name => {
            diesel::update(users::table.find(id))
                .set(users::name.eq(&row.name))
                .execute(conn)?;
            (id.clone(), Outcome::Updated)
        }
        Some((id, _)) => (id.clone(), Outcome::Unchanged),
    };
    if let Some(team) = team {
        let key = (team.clone(), volunteer.clone());
        if known.memberships.get(&key) != Some(&row.team_role) {
            team_rows::set_member(conn, team, &volunteer, row.team_role, now)?;
            if matches!(outcome, Outcome::Unchanged) {
                outcome = Outcome::Updated;
            }
        }
    }
    Ok(outcome)
}
