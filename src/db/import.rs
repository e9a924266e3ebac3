//! Importing the community's volunteer list (API.md "Importing volunteers"): the one function the
//! HTTP endpoint and the CLI both call. Good rows are applied in one transaction; a dry run runs
//! the very same work and rolls it back.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use serde::Serialize;
use utoipa::ToSchema;

use super::ledger::{self, Cause, Event};
use super::schema::{team_members, teams, users};
use super::{teams as team_rows, users as user_rows, Db, DbConnection};
use crate::domain::ids::{TeamId, VolunteerId};
use crate::domain::import::{Parsed, Row, RowError};
use crate::domain::people::{Role, TeamRole};
use crate::domain::rule::Rule;
use crate::error::AppError;

/// The memo of an imported opening balance, on the volunteer's statement.
pub const OPENING_MEMO: &str = "Opening balance brought over from the previous platform";

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

/// Imports a read file in one transaction (a dry run changes nothing). `by` is the admin
/// importing it (`None`: the command line).
pub fn run(
    db: &Db,
    parsed: Parsed,
    dry_run: bool,
    by: Option<&VolunteerId>,
    now: NaiveDateTime,
) -> Result<ImportReport, AppError> {
    db.write_blocking(|conn| apply(conn, parsed, dry_run, by, now))
}

/// Applies the good rows of a file on `conn` (inside the caller's transaction), or for a dry
/// run reports what it would do and rolls it back. A row whose opening balance differs from
/// the one already recorded is refused whole (`opening-already-set`).
pub fn apply(
    conn: &mut DbConnection,
    parsed: Parsed,
    dry_run: bool,
    by: Option<&VolunteerId>,
    now: NaiveDateTime,
) -> Result<ImportReport, AppError> {
    if dry_run {
        let report = super::rehearsal(conn, |conn| apply(conn, parsed, false, by, now))?;
        return Ok(ImportReport {
            dry_run: true,
            ..report
        });
    }
    let mut report = ImportReport {
        rows: parsed.rows,
        errors: parsed.errors,
        ..ImportReport::default()
    };
    let mut teams = TeamsByName::default();
    let known = Known::read(conn, &parsed.good)?;
    for row in parsed.good {
        match apply_row(conn, &known, &row, &mut teams, by, now)? {
            Outcome::Created(credited) => {
                report.created += 1;
                report.opening_points += credited;
            }
            Outcome::Updated(credited) => {
                report.updated += 1;
                report.opening_points += credited;
            }
            Outcome::Unchanged => report.unchanged += 1,
            Outcome::OpeningAlreadySet(recorded) => report.errors.push(RowError::new(
                row.line,
                "opening_points",
                "opening-already-set",
                &Rule::OpeningAlreadySet(recorded),
                parsed.lang,
            )),
        }
    }
    report.teams_created = teams.created;
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
    /// volunteer id → the opening balance recorded.
    openings: HashMap<String, i64>,
}

impl Known {
    /// Rows per `IN (...)` list (SQLite allows a few thousand parameters at least).
    const CHUNK: usize = 500;

    fn read(conn: &mut DbConnection, rows: &[Row]) -> Result<Known, AppError> {
        let phones: Vec<&str> = rows.iter().map(|r| r.phone.as_str()).collect();
        let mut people = HashMap::new();
        let mut memberships = HashMap::new();
        let mut openings = HashMap::new();
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
            openings.extend(ledger::openings(conn, &ids)?);
            people.extend(
                found
                    .into_iter()
                    .map(|(phone, id, name)| (phone, (id, name))),
            );
        }
        Ok(Known {
            people,
            memberships,
            openings,
        })
    }
}

/// What became of a row: with the opening balance it credited, or the one already recorded
/// that it contradicts.
enum Outcome {
    Created(i64),
    Updated(i64),
    Unchanged,
    OpeningAlreadySet(i64),
}

/// The file's teams by name, found or created as rows need them.
#[derive(Default)]
struct TeamsByName {
    ids: HashMap<String, TeamId>,
    /// How many this import created.
    created: u64,
}

impl TeamsByName {
    /// The team with this name (the oldest, if several share it), created if there is none.
    fn named(
        &mut self,
        conn: &mut DbConnection,
        name: &str,
        now: NaiveDateTime,
    ) -> Result<TeamId, AppError> {
        if let Some(id) = self.ids.get(name) {
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
                self.created += 1;
                team_rows::create(conn, name, None, now)?.id
            }
        };
        self.ids.insert(name.to_owned(), id.clone());
        Ok(id)
    }
}

/// One row: the person (created, or renamed if the name differs), their opening balance and
/// their membership. A contradicted opening balance is checked first, so such a row changes
/// nothing (its team is not even created).
fn apply_row(
    conn: &mut DbConnection,
    known: &Known,
    row: &Row,
    teams: &mut TeamsByName,
    by: Option<&VolunteerId>,
    now: NaiveDateTime,
) -> Result<Outcome, AppError> {
    let person = known.people.get(row.phone.as_str());
    let recorded = person.and_then(|(id, _)| known.openings.get(id.as_str()).copied());
    let credit = match recorded {
        Some(recorded) if row.opening_points > 0 && row.opening_points != recorded => {
            return Ok(Outcome::OpeningAlreadySet(recorded))
        }
        // Already credited, or nothing to credit (0 or no column): the row does not touch it.
        Some(_) => 0,
        None => row.opening_points,
    };
    let (mut changed, mut credited) = (false, 0);
    let volunteer = match person {
        None => {
            // No password: they get one at the desk (a reset by staff).
            let new = user_rows::NewUser {
                phone: &row.phone,
                name: &row.name,
                role: Role::Volunteer,
                password_hash: "",
                now,
            };
            match user_rows::create_unless_taken(conn, new)? {
                Some(user) => user.id,
                // Someone with this phone was created since the file was read (another import
                // or a registration, committed meanwhile): the row is about them.
                None => {
                    let known = Known::read(conn, std::slice::from_ref(row))?;
                    if !known.people.contains_key(row.phone.as_str()) {
                        return Err(AppError::Internal(anyhow::anyhow!(
                            "a phone taken by nobody the import can read"
                        )));
                    }
                    return apply_row(conn, &known, row, teams, by, now);
                }
            }
        }
        Some((id, _)) => id.clone(),
    };
    if credit > 0 {
        let event = Event {
            memo: OPENING_MEMO,
            created_by: by,
            cause: Cause::default(),
            now,
        };
        if ledger::open_balance(conn, &volunteer, credit, event)?.is_none() {
            // Another import credited one since this one read: say what it recorded.
            let ids = [volunteer.as_str()];
            let recorded = ledger::openings(conn, &ids)?;
            let recorded = recorded
                .get(volunteer.as_str())
                .copied()
                .unwrap_or_default();
            if recorded != credit {
                return Ok(Outcome::OpeningAlreadySet(recorded));
            }
        } else {
            (changed, credited) = (true, credit);
        }
    }
    if let Some((id, name)) = person {
        if *name != row.name {
            diesel::update(users::table.find(id))
                .set(users::name.eq(&row.name))
                .execute(conn)?;
            changed = true;
        }
    }
    if let Some(name) = &row.team {
        let team = teams.named(conn, name, now)?;
        let key = (team, volunteer.clone());
        if known.memberships.get(&key) != Some(&row.team_role) {
            team_rows::set_member(conn, &key.0, &volunteer, row.team_role, now)?;
            changed = true;
        }
    }
    Ok(match (person, changed) {
        (None, _) => Outcome::Created(credited),
        (Some(_), true) => Outcome::Updated(credited),
        (Some(_), false) => Outcome::Unchanged,
    })
}
