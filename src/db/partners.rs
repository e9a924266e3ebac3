//! Partners, their clerks, and what was handed out at their counters (the settlement). Clerks
//! are read from here on every request that needs them, so adding or removing one takes effect
//! at once, like team roles.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use uuid::Uuid;

use super::rewards::{redemptions, rewards};
use super::schema::users;
use super::users::micros_to_naive;
use super::{is_unique_violation, savepoint, DbConnection};
use crate::domain::page::Cursor;
use crate::domain::partners::{Desk, PartnerKind};
use crate::domain::rewards::RedemptionStatus;
use crate::error::AppError;

diesel::table! {
    partners (id) {
        id -> Text,
        name -> Text,
        kind -> Text,
        description -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    partner_clerks (partner_id, volunteer_id) {
        partner_id -> Text,
        volunteer_id -> Text,
        created_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(partners, partner_clerks, rewards);
diesel::allow_tables_to_appear_in_same_query!(partners, redemptions);
diesel::allow_tables_to_appear_in_same_query!(partners, users);
diesel::allow_tables_to_appear_in_same_query!(partner_clerks, users);
diesel::allow_tables_to_appear_in_same_query!(partner_clerks, redemptions);

/// A stored partner.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = partners)]
pub struct PartnerRow {
    pub id: String,
    pub name: String,
    pub kind: String,
    pub description: Option<String>,
    pub created_at: NaiveDateTime,
}

impl PartnerRow {
    /// The stored kind (the CHECK constraint keeps it one of the four).
    pub fn kind(&self) -> PartnerKind {
        PartnerKind::parse(&self.kind).unwrap_or(PartnerKind::Other)
    }

    /// The keyset position of this partner in the list by name.
    pub fn cursor(&self) -> Cursor {
        Cursor {
            key: self.name.clone(),
            id: self.id.clone(),
        }
    }
}

/// What a PATCH changes: `None` leaves a field alone, `Some(None)` clears the description.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = partners)]
pub struct PartnerChanges {
    pub name: Option<String>,
    pub kind: Option<String>,
    pub description: Option<Option<String>>,
}

/// One clerk of a partner, as its clerk list shows them.
#[derive(Debug, Clone, Queryable)]
pub struct ClerkRow {
    pub volunteer_id: String,
    pub name: String,
    pub phone: String,
    pub created_at: NaiveDateTime,
}

impl ClerkRow {
    /// The keyset position of this clerk in the list (newest first).
    pub fn cursor(&self) -> Cursor {
        Cursor {
            key: self.created_at.and_utc().timestamp_micros().to_string(),
            id: self.volunteer_id.clone(),
        }
    }
}

/// One reward's line in a settlement.
#[derive(Debug, Clone, Queryable)]
pub struct SettlementLine {
    pub reward_id: String,
    pub name: String,
    pub units: i64,
    pub points: i64,
}

/// Creates a partner.
pub fn create(
    conn: &mut DbConnection,
    name: &str,
    kind: PartnerKind,
    description: Option<&str>,
    now: NaiveDateTime,
) -> Result<PartnerRow, AppError> {
    let id = Uuid::new_v4().to_string();
    diesel::insert_into(partners::table)
        .values((
            partners::id.eq(&id),
            partners::name.eq(name),
            partners::kind.eq(kind.as_str()),
            partners::description.eq(description),
            partners::created_at.eq(now),
        ))
        .execute(conn)?;
    require(conn, &id)
}

/// The partner with this id (any text: a malformed id is simply not found).
pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<PartnerRow>, AppError> {
    Ok(partners::table
        .find(id)
        .select(PartnerRow::as_select())
        .first(conn)
        .optional()?)
}

/// The partner with this id, or 404 `not-found`.
pub fn require(conn: &mut DbConnection, id: &str) -> Result<PartnerRow, AppError> {
    find(conn, id)?.ok_or(AppError::NotFound("partner"))
}

/// A page of partners by name; up to `limit + 1` rows.
pub fn list(
    conn: &mut DbConnection,
    limit: i64,
    after: Option<&Cursor>,
) -> Result<Vec<PartnerRow>, AppError> {
    let mut query = partners::table
        .select(PartnerRow::as_select())
        .order((partners::name.asc(), partners::id.asc()))
        .limit(limit + 1)
        .into_boxed();
    if let Some(c) = after {
        query = query.filter(
            partners::name.gt(c.key.clone()).or(partners::name
                .eq(c.key.clone())
                .and(partners::id.gt(c.id.clone()))),
        );
    }
    Ok(query.load(conn)?)
}

/// How many rewards (active and inactive) each of these partners has.
pub fn reward_counts(
    conn: &mut DbConnection,
    partner_ids: &[String],
) -> Result<HashMap<String, i64>, AppError> {
    let rows: Vec<(Option<String>, i64)> = rewards::table
        .filter(rewards::partner_id.eq_any(partner_ids))
        .group_by(rewards::partner_id)
        .select((rewards::partner_id, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, n)| id.map(|id| (id, n)))
        .collect())
}

/// Applies a PATCH; 404 if there is no such partner.
pub fn update(
    conn: &mut DbConnection,
    id: &str,
    changes: PartnerChanges,
) -> Result<PartnerRow, AppError> {
    let partner = require(conn, id)?;
    if changes.name.is_none() && changes.kind.is_none() && changes.description.is_none() {
        return Ok(partner);
    }
    diesel::update(partners::table.find(id))
        .set(&changes)
        .execute(conn)?;
    require(conn, id)
}

/// A page of a partner's clerks, newest first; up to `limit + 1` rows.
pub fn clerks(
    conn: &mut DbConnection,
    partner_id: &str,
    limit: i64,
    after: Option<&Cursor>,
) -> Result<Vec<ClerkRow>, AppError> {
    let mut query = partner_clerks::table
        .inner_join(users::table.on(users::id.eq(partner_clerks::volunteer_id)))
        .filter(partner_clerks::partner_id.eq(partner_id))
        .select((
            partner_clerks::volunteer_id,
            users::name,
            users::phone,
            partner_clerks::created_at,
        ))
        .order((
            partner_clerks::created_at.desc(),
            partner_clerks::volunteer_id.desc(),
        ))
        .limit(limit + 1)
        .into_boxed();
    if let Some(c) = after {
        let at = micros_to_naive(&c.key)?;
        query = query.filter(
            partner_clerks::created_at
                .lt(at)
                .or(partner_clerks::created_at
                    .eq(at)
                    .and(partner_clerks::volunteer_id.lt(c.id.clone()))),
        );
    }
    Ok(query.load(conn)?)
}

/// Makes `volunteer` a clerk of `partner`; already being one changes nothing. The primary key
/// settles concurrent adds of the same pair.
pub fn add_clerk(
    conn: &mut DbConnection,
    partner_id: &str,
    volunteer_id: &str,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    let inserted = savepoint(conn, |conn| {
        diesel::insert_into(partner_clerks::table)
            .values((
                partner_clerks::partner_id.eq(partner_id),
                partner_clerks::volunteer_id.eq(volunteer_id),
                partner_clerks::created_at.eq(now),
            ))
            .execute(conn)
            .map_err(AppError::from)
    });
    match inserted {
        Ok(_) => Ok(()),
        Err(AppError::Database(e)) if is_unique_violation(&e) => Ok(()),
        Err(e) => Err(e),
    }
}

/// Removes a clerk; whether there was one.
pub fn remove_clerk(
    conn: &mut DbConnection,
    partner_id: &str,
    volunteer_id: &str,
) -> Result<bool, AppError> {
    let n = diesel::delete(
        partner_clerks::table
            .filter(partner_clerks::partner_id.eq(partner_id))
            .filter(partner_clerks::volunteer_id.eq(volunteer_id)),
    )
    .execute(conn)?;
    Ok(n > 0)
}

/// The partners `user` clerks for: `(partner_id, name)`, by partner name.
pub fn clerked_by(conn: &mut DbConnection, user: &str) -> Result<Vec<(String, String)>, AppError> {
    Ok(partner_clerks::table
        .inner_join(partners::table.on(partners::id.eq(partner_clerks::partner_id)))
        .filter(partner_clerks::volunteer_id.eq(user))
        .select((partners::id, partners::name))
        .order((partners::name.asc(), partners::id.asc()))
        .load(conn)?)
}

/// The counter `user` works: every one for staff, their partners' for a clerk, `None` for
/// anyone else.
pub fn desk(conn: &mut DbConnection, user: &str, is_staff: bool) -> Result<Option<Desk>, AppError> {
    if is_staff {
        return Ok(Desk::of(true, Vec::new()));
    }
    let partners: Vec<String> = partner_clerks::table
        .filter(partner_clerks::volunteer_id.eq(user))
        .select(partner_clerks::partner_id)
        .load(conn)?;
    Ok(Desk::of(false, partners))
}

/// What was handed out at `partner` with `fulfilled_at` in `[from, to)`, per reward by name.
/// Only fulfilled redemptions count: reserved ones are not handed out yet and cancelled ones
/// never will be.
pub fn settlement(
    conn: &mut DbConnection,
    partner_id: &str,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<Vec<SettlementLine>, AppError> {
    Ok(redemptions::table
        .inner_join(rewards::table.on(rewards::id.eq(redemptions::reward_id)))
        .filter(rewards::partner_id.eq(partner_id))
        .filter(redemptions::status.eq(RedemptionStatus::Fulfilled.as_str()))
        .filter(redemptions::fulfilled_at.ge(from))
        .filter(redemptions::fulfilled_at.lt(to))
        .group_by((rewards::id, rewards::name))
        .select((
            rewards::id,
            rewards::name,
            sql::<BigInt>("CAST(COALESCE(SUM(redemptions.quantity), 0) AS BIGINT)"),
            sql::<BigInt>("CAST(COALESCE(SUM(redemptions.points), 0) AS BIGINT)"),
        ))
        .order((rewards::name.asc(), rewards::id.asc()))
        .load(conn)?)
}
