//! Partners, their clerks, and what was handed out at their counters (the settlement). Clerks
//! are read from here on every request that needs them, so adding or removing one takes effect
//! at once, like team roles.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::BigInt;

use super::keyset::{after_by_name, before_in_time};
use super::schema::{partner_clerks, partners, redemptions, rewards, users};
use super::{is_unique_violation, savepoint, DbConnection};
use crate::domain::ids::{Id, PartnerId, RewardId, VolunteerId};
use crate::domain::page::Cursor;
use crate::domain::partners::{Desk, PartnerKind};
use crate::domain::rewards::RedemptionStatus;
use crate::error::AppError;

/// A stored partner.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = partners)]
pub struct PartnerRow {
    pub id: PartnerId,
    pub name: String,
    pub kind: PartnerKind,
    pub description: Option<String>,
    pub created_at: NaiveDateTime,
}

impl PartnerRow {
    /// The keyset position of this partner in the list by name.
    pub fn cursor(&self) -> Cursor {
        Cursor {
            key: self.name.clone(),
            id: self.id.to_string(),
        }
    }
}

/// What a PATCH changes: `None` leaves a field alone, `Some(None)` clears the description.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = partners)]
pub struct PartnerChanges {
    pub name: Option<String>,
    pub kind: Option<PartnerKind>,
    pub description: Option<Option<String>>,
}

/// One clerk of a partner, as its clerk list shows them.
#[derive(Debug, Clone, Queryable)]
pub struct ClerkRow {
    pub volunteer_id: VolunteerId,
    pub name: String,
    pub phone: String,
    pub created_at: NaiveDateTime,
}

impl ClerkRow {
    /// The keyset position of this clerk in the list (newest first).
    pub fn cursor(&self) -> Cursor {
        Cursor {
            key: self.created_at.and_utc().timestamp_micros().to_string(),
            id: self.volunteer_id.to_string(),
        }
    }
}

/// One reward's line in a settlement.
#[derive(Debug, Clone, Queryable)]
pub struct SettlementLine {
    pub reward_id: RewardId,
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
    let id = PartnerId::fresh();
    diesel::insert_into(partners::table)
        .values((
            partners::id.eq(&id),
            partners::name.eq(name),
            partners::kind.eq(kind),
            partners::description.eq(description),
            partners::created_at.eq(now),
        ))
        .execute(conn)?;
    require(conn, &id)
}

/// The partner with this id.
pub fn find(conn: &mut DbConnection, id: &PartnerId) -> Result<Option<PartnerRow>, AppError> {
    Ok(partners::table
        .find(id)
        .select(PartnerRow::as_select())
        .first(conn)
        .optional()?)
}

/// The partner with this id, or 404 `not-found`.
pub fn require(conn: &mut DbConnection, id: &PartnerId) -> Result<PartnerRow, AppError> {
    find(conn, id)?.ok_or(AppError::NotFound("partner"))
}

/// A page of partners by name with their reward counts; up to `limit + 1` rows.
pub fn list(
    conn: &mut DbConnection,
    limit: i64,
    after: Option<&Cursor>,
) -> Result<Vec<(PartnerRow, i64)>, AppError> {
    let mut query = partners::table
        .select(PartnerRow::as_select())
        .order((partners::name.asc(), partners::id.asc()))
        .limit(limit + 1)
        .into_boxed();
    if let Some(c) = after {
        query = query.filter(after_by_name(partners::name, partners::id, c));
    }
    let rows = query.load(conn)?;
    with_counts(conn, rows)
}

/// The partner with this id and its reward count, or 404 `not-found`.
pub fn get(conn: &mut DbConnection, id: &PartnerId) -> Result<(PartnerRow, i64), AppError> {
    let row = require(conn, id)?;
    Ok(with_counts(conn, vec![row])?.remove(0))
}

/// Each partner beside how many rewards (active and inactive) it has.
fn with_counts(
    conn: &mut DbConnection,
    rows: Vec<PartnerRow>,
) -> Result<Vec<(PartnerRow, i64)>, AppError> {
    let ids: Vec<PartnerId> = rows.iter().map(|p| p.id.clone()).collect();
    let counts = reward_counts(conn, &ids)?;
    Ok(rows
        .into_iter()
        .map(|p| {
            let n = counts.get(&p.id).copied().unwrap_or(0);
            (p, n)
        })
        .collect())
}

fn reward_counts(
    conn: &mut DbConnection,
    partner_ids: &[PartnerId],
) -> Result<HashMap<PartnerId, i64>, AppError> {
    // Bound as text: PostgreSQL binds `eq_any` as one array, which the connection enum can
    // only build from a built-in type.
    let wanted: Vec<&str> = partner_ids.iter().map(PartnerId::as_str).collect();
    let rows: Vec<(Option<PartnerId>, i64)> = rewards::table
        .filter(rewards::partner_id.eq_any(wanted))
        .group_by(rewards::partner_id)
        .select((rewards::partner_id, diesel::dsl::count_star()))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, n)| id.map(|id| (id, n)))
        .collect())
}

/// Applies a PATCH; 404 if there is no such partner. The partner with its reward count.
pub fn update(
    conn: &mut DbConnection,
    id: &PartnerId,
    changes: PartnerChanges,
) -> Result<(PartnerRow, i64), AppError> {
    require(conn, id)?;
    if changes.name.is_some() || changes.kind.is_some() || changes.description.is_some() {
        diesel::update(partners::table.find(id))
            .set(&changes)
            .execute(conn)?;
    }
    get(conn, id)
}

/// A page of a partner's clerks, newest first; up to `limit + 1` rows; 404 if there is no such
/// partner.
pub fn clerks(
    conn: &mut DbConnection,
    partner_id: &PartnerId,
    limit: i64,
    after: Option<&Cursor>,
) -> Result<Vec<ClerkRow>, AppError> {
    require(conn, partner_id)?;
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
        let after = before_in_time(partner_clerks::created_at, partner_clerks::volunteer_id, c)?;
        query = query.filter(after);
    }
    Ok(query.load(conn)?)
}

/// Makes `volunteer` a clerk of `partner` (404 if either is unknown); already being one changes
/// nothing. The primary key settles concurrent adds of the same pair.
pub fn add_clerk(
    conn: &mut DbConnection,
    partner_id: &PartnerId,
    volunteer_id: &VolunteerId,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    require(conn, partner_id)?;
    super::users::find(conn, volunteer_id)?.ok_or(AppError::NotFound("volunteer"))?;
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

/// Removes a clerk, if they are one (404 if there is no such partner or person).
pub fn remove_clerk(
    conn: &mut DbConnection,
    partner_id: &PartnerId,
    volunteer_id: &VolunteerId,
) -> Result<(), AppError> {
    require(conn, partner_id)?;
    let n = diesel::delete(
        partner_clerks::table
            .filter(partner_clerks::partner_id.eq(partner_id))
            .filter(partner_clerks::volunteer_id.eq(volunteer_id)),
    )
    .execute(conn)?;
    if n == 0 {
        super::users::require(conn, volunteer_id)?;
    }
    Ok(())
}

/// The partners `user` clerks for: `(partner_id, name)`, by partner name.
pub fn clerked_by(
    conn: &mut DbConnection,
    user: &VolunteerId,
) -> Result<Vec<(PartnerId, String)>, AppError> {
    Ok(partner_clerks::table
        .inner_join(partners::table.on(partners::id.eq(partner_clerks::partner_id)))
        .filter(partner_clerks::volunteer_id.eq(user))
        .select((partners::id, partners::name))
        .order((partners::name.asc(), partners::id.asc()))
        .load(conn)?)
}

/// The counter `user` works: every one for staff, their partners' for a clerk; 403
/// `forbidden` for anyone else.
pub fn desk(conn: &mut DbConnection, user: &VolunteerId, is_staff: bool) -> Result<Desk, AppError> {
    let partners: Vec<PartnerId> = if is_staff {
        Vec::new()
    } else {
        partner_clerks::table
            .filter(partner_clerks::volunteer_id.eq(user))
            .select(partner_clerks::partner_id)
            .load(conn)?
    };
    Desk::of(is_staff, partners).ok_or(AppError::Forbidden(
        "only staff and partners' clerks work a counter",
    ))
}

/// The desk of someone asking about partner `id`'s counter (`None`: not a UUID), and the
/// partner's id: 403 unless they are staff or one of its clerks (checked first, whatever the
/// id), then 404 if there is no such partner.
pub fn counter(
    conn: &mut DbConnection,
    user: &VolunteerId,
    is_staff: bool,
    id: Option<PartnerId>,
) -> Result<(Desk, PartnerId), AppError> {
    let desk = desk(conn, user, is_staff)?;
    let id = match id {
        Some(id) if desk.works(&id) => id,
        None if desk == Desk::Staff => return Err(AppError::NotFound("partner")),
        _ => return Err(AppError::Forbidden("you are not a clerk of this partner")),
    };
    require(conn, &id)?;
    Ok((desk, id))
}

/// What was handed out at `partner` (the reward's partner when it was fulfilled) with
/// `fulfilled_at` in `[from, to)`, per reward by name.
/// Only fulfilled redemptions count: reserved ones are not handed out yet and cancelled ones
/// never will be.
pub fn settlement(
    conn: &mut DbConnection,
    partner_id: &PartnerId,
    from: NaiveDateTime,
    to: NaiveDateTime,
) -> Result<Vec<SettlementLine>, AppError> {
    Ok(redemptions::table
        .inner_join(rewards::table.on(rewards::id.eq(redemptions::reward_id)))
        .filter(redemptions::fulfilled_partner_id.eq(partner_id))
        .filter(redemptions::status.eq(RedemptionStatus::Fulfilled))
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
