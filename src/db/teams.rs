//! Teams and memberships. Team roles are read from here on every request that needs them, so a
//! change takes effect at once (API.md Conventions: team leaders).

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::keyset::{after_by_name, before_in_time};
use super::schema::users;
use super::schema::{team_members, teams};
use super::DbConnection;
use crate::domain::ids::{Id, TeamId, VolunteerId};
use crate::domain::page::Cursor;
use crate::domain::people::TeamRole;
use crate::error::AppError;

/// A stored team.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = teams)]
pub struct TeamRow {
    pub id: TeamId,
    pub name: String,
    pub description: Option<String>,
    pub created_at: NaiveDateTime,
}

impl TeamRow {
    /// The keyset position of this team in the list by name.
    pub fn cursor(&self) -> Cursor {
        Cursor {
            key: self.name.clone(),
            id: self.id.to_string(),
        }
    }
}

/// One member of a team, as its member list shows them.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = team_members)]
pub struct MemberRow {
    pub volunteer_id: String,
    #[diesel(select_expression = users::name)]
    pub name: String,
    #[diesel(select_expression = users::phone)]
    pub phone: String,
    pub role: TeamRole,
    pub created_at: NaiveDateTime,
}

impl MemberRow {
    /// The keyset position of this member in the list (newest membership first).
    pub fn cursor(&self) -> Cursor {
        Cursor {
            key: self.created_at.and_utc().timestamp_micros().to_string(),
            id: self.volunteer_id.clone(),
        }
    }
}

/// Creates a team.
pub fn create(
    conn: &mut DbConnection,
    name: &str,
    description: Option<&str>,
    now: NaiveDateTime,
) -> Result<TeamRow, AppError> {
    let id = TeamId::fresh();
    diesel::insert_into(teams::table)
        .values((
            teams::id.eq(&id),
            teams::name.eq(name),
            teams::description.eq(description),
            teams::created_at.eq(now),
        ))
        .execute(conn)?;
    find(conn, &id)?.ok_or(AppError::NotFound("team"))
}

/// The team with this id.
pub fn find(conn: &mut DbConnection, id: &TeamId) -> Result<Option<TeamRow>, AppError> {
    Ok(teams::table
        .find(id)
        .select(TeamRow::as_select())
        .first(conn)
        .optional()?)
}

/// A page of teams by name; up to `limit + 1` rows.
pub fn list(
    conn: &mut DbConnection,
    limit: i64,
    after: Option<&Cursor>,
) -> Result<Vec<TeamRow>, AppError> {
    let mut query = teams::table
        .select(TeamRow::as_select())
        .order((teams::name.asc(), teams::id.asc()))
        .limit(limit + 1)
        .into_boxed();
    if let Some(c) = after {
        query = query.filter(after_by_name(teams::name, teams::id, c));
    }
    Ok(query.load(conn)?)
}

/// How many members each of these teams has.
pub fn member_counts(
    conn: &mut DbConnection,
    team_ids: &[TeamId],
) -> Result<HashMap<TeamId, i64>, AppError> {
    // Bound as text, as `activities::enrolled_in` explains.
    let wanted: Vec<&str> = team_ids.iter().map(TeamId::as_str).collect();
    let rows: Vec<(TeamId, i64)> = team_members::table
        .filter(team_members::team_id.eq_any(wanted))
        .group_by(team_members::team_id)
        .select((team_members::team_id, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(rows.into_iter().collect())
}

/// A page of a team's members, newest membership first; up to `limit + 1` rows.
pub fn members(
    conn: &mut DbConnection,
    team_id: &TeamId,
    limit: i64,
    after: Option<&Cursor>,
) -> Result<Vec<MemberRow>, AppError> {
    let mut query = team_members::table
        .inner_join(users::table.on(users::id.eq(team_members::volunteer_id)))
        .filter(team_members::team_id.eq(team_id))
        .select(MemberRow::as_select())
        .order((
            team_members::created_at.desc(),
            team_members::volunteer_id.desc(),
        ))
        .limit(limit + 1)
        .into_boxed();
    if let Some(c) = after {
        let after = before_in_time(team_members::created_at, team_members::volunteer_id, c)?;
        query = query.filter(after);
    }
    Ok(query.load(conn)?)
}

/// Makes `volunteer` a member or leader of `team` (adding them if needed), in one upsert: two
/// requests setting the same membership at once both succeed (the later role stays) instead of
/// one meeting the other's new row.
pub fn set_member(
    conn: &mut DbConnection,
    team_id: &TeamId,
    volunteer_id: &VolunteerId,
    role: TeamRole,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    // `ON CONFLICT` compiles per backend, not through the multi-backend connection, so the
    // values are bound as plain text.
    let upsert = diesel::insert_into(team_members::table)
        .values((
            team_members::team_id.eq(team_id.as_str()),
            team_members::volunteer_id.eq(volunteer_id.as_str()),
            team_members::role.eq(role.as_str()),
            team_members::created_at.eq(now),
        ))
        .on_conflict((team_members::team_id, team_members::volunteer_id))
        .do_update()
        .set(team_members::role.eq(role.as_str()));
    match conn {
        DbConnection::Pg(c) => upsert.execute(c)?,
        DbConnection::Sqlite(c) => upsert.execute(c)?,
    };
    Ok(())
}

/// Removes a membership, if there is one (404 if there is no such person).
pub fn remove_member(
    conn: &mut DbConnection,
    team_id: &TeamId,
    volunteer_id: &VolunteerId,
) -> Result<(), AppError> {
    let n = diesel::delete(
        team_members::table
            .filter(team_members::team_id.eq(team_id))
            .filter(team_members::volunteer_id.eq(volunteer_id)),
    )
    .execute(conn)?;
    if n == 0 {
        super::users::require(conn, volunteer_id)?;
    }
    Ok(())
}

/// The teams `user` belongs to: `(team_id, name, role)`, by team name.
pub fn of_user(
    conn: &mut DbConnection,
    user: &VolunteerId,
) -> Result<Vec<(TeamId, String, TeamRole)>, AppError> {
    Ok(team_members::table
        .inner_join(teams::table)
        .filter(team_members::volunteer_id.eq(user))
        .select((teams::id, teams::name, team_members::role))
        .order((teams::name.asc(), teams::id.asc()))
        .load(conn)?)
}

/// The ids of the teams `user` leads.
pub fn led_by(conn: &mut DbConnection, user: &str) -> Result<Vec<String>, AppError> {
    Ok(team_members::table
        .filter(team_members::volunteer_id.eq(user))
        .filter(team_members::role.eq(TeamRole::Leader))
        .select(team_members::team_id)
        .load(conn)?)
}
