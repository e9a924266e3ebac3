//! Redemptions: spending points on a reward, the desk handing it out by pickup code, and
//! cancellation with its refund. Each is one function running inside the caller's write
//! transaction (L7); none opens its own.
//!
//! Rows are touched in one order on every path (reward when its stock is limited, then the
//! volunteer account), so concurrent redemptions and cancellations never deadlock on PostgreSQL.

use chrono::NaiveDateTime;
use diesel::dsl;
use diesel::dsl::sql;
use diesel::expression::SqlLiteral;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Timestamp};

use super::keyset::{before_in_time, micros_to_naive};
use super::ledger::{self, Cause, Event, Kind};
use super::prepared::Prepared;
use super::rewards as catalogue;
use super::schema::{redemptions, rewards, users};
use super::{DbConnection, MultiBackend};
use crate::domain::ids::{Id, PartnerId, RedemptionId, RewardId, VolunteerId};
use crate::domain::page::Cursor;
use crate::domain::rewards::{total_cost, PickupCode, RedemptionStatus};
use crate::error::{AppError, Conflict};

/// How many fresh pickup codes to try before giving up (a clash needs another reserved
/// redemption holding the same one of a million codes).
const CODE_ATTEMPTS: usize = 20;

/// A redemption as API.md shows it, with its reward's and volunteer's names (selected from
/// redemptions ⋈ rewards ⋈ users).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = redemptions)]
pub struct RedemptionView {
    pub id: RedemptionId,
    pub reward_id: RewardId,
    #[diesel(select_expression = rewards::name)]
    pub reward_name: String,
    pub volunteer_id: VolunteerId,
    #[diesel(select_expression = users::name)]
    pub volunteer_name: String,
    pub quantity: i64,
    pub points: i64,
    pub status: RedemptionStatus,
    pub pickup_code: String,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub fulfilled_at: Option<NaiveDateTime>,
    pub cancelled_at: Option<NaiveDateTime>,
}

impl RedemptionView {
    /// The keyset position of this row (newest first).
    pub fn cursor(&self) -> Cursor {
        Cursor {
            key: self.created_at.and_utc().timestamp_micros().to_string(),
            id: self.id.to_string(),
        }
    }
}

/// The redemption with this id.
pub fn find(
    conn: &mut DbConnection,
    id: &RedemptionId,
) -> Result<Option<RedemptionView>, AppError> {
    Ok(redemptions::table
        .inner_join(rewards::table.on(rewards::id.eq(redemptions::reward_id)))
        .inner_join(users::table.on(users::id.eq(redemptions::volunteer_id)))
        .filter(redemptions::id.eq(id))
        .select(RedemptionView::as_select())
        .first(conn)
        .optional()?)
}

/// A page of redemptions, newest first, optionally one volunteer's and/or of one status; up to
/// `limit + 1` rows.
pub fn list(
    conn: &mut DbConnection,
    volunteer_id: Option<&VolunteerId>,
    status: Option<RedemptionStatus>,
    limit: i64,
    after: Option<&Cursor>,
) -> Result<Vec<RedemptionView>, AppError> {
    views(
        conn,
        Narrow::Filter {
            volunteer_id,
            status,
            after,
        },
        limit,
    )
}

/// A page of the redemptions of a partner's rewards, newest first, optionally of one status; up
/// to `limit + 1` rows.
///
/// The page is chosen in one statement: a `UNION ALL` of one keyset walk per reward down
/// `redemptions (reward_id, created_at, id)`, each stopping after `limit + 1` positions, then
/// read with its names in one query. So a partner's page costs a short index walk per reward in
/// one round trip, not a sort of everything ever redeemed there. (A reward's partner is not
/// copied onto its redemptions: a reward can move to another partner while it is being
/// redeemed.)
pub fn of_partner(
    conn: &mut DbConnection,
    partner: &PartnerId,
    status: Option<RedemptionStatus>,
    limit: i64,
    after: Option<&Cursor>,
) -> Result<Vec<RedemptionView>, AppError> {
    let rewards: Vec<String> = rewards::table
        .filter(rewards::partner_id.eq(partner.as_str().to_owned()))
        .select(rewards::id)
        .load(conn)?;
    if rewards.is_empty() {
        return Ok(Vec::new());
    }
    // Parameters are numbered in the order they first appear in the text, as SQLite numbers a
    // `$n` (the first walk's reward, its filters, the limit, then each other walk's reward), and
    // reused by every walk.
    let mut q = diesel::sql_query("")
        .into_boxed::<MultiBackend>()
        .bind::<Text, _>(rewards[0].clone());
    let mut conditions = String::new();
    let mut n = 1;
    if let Some(s) = status {
        n += 1;
        conditions += &format!(" AND status = ${n}");
        q = q.bind::<Text, _>(s);
    }
    if let Some(c) = after {
        let (at, id) = (n + 1, n + 2);
        n += 2;
        conditions += &format!(" AND (created_at < ${at} OR (created_at = ${at} AND id < ${id}))");
        q = q
            .bind::<Timestamp, _>(micros_to_naive(&c.key)?)
            .bind::<Text, _>(c.id.clone());
    }
    let limit_at = n + 1;
    q = q.bind::<BigInt, _>(limit + 1);
    let walks: Vec<String> = (0..rewards.len())
        .map(|i| {
            let reward_at = if i == 0 { 1 } else { limit_at + i };
            format!(
                "SELECT * FROM (SELECT created_at, id FROM redemptions \
                 WHERE reward_id = ${reward_at}{conditions} \
                 ORDER BY created_at DESC, id DESC LIMIT ${limit_at}) AS w{i}"
            )
        })
        .collect();
    for reward in rewards.into_iter().skip(1) {
        q = q.bind::<Text, _>(reward);
    }
    let sql = format!(
        "SELECT id FROM ({}) AS page ORDER BY created_at DESC, id DESC LIMIT ${limit_at}",
        walks.join(" UNION ALL ")
    );
    let page: Vec<PageId> = q.sql(sql).load(conn)?;
    let ids = page.into_iter().map(|p| p.id).collect();
    views(conn, Narrow::Ids(ids), limit)
}

/// One id of a partner's page.
#[derive(QueryableByName)]
struct PageId {
    #[diesel(sql_type = Text)]
    id: String,
}

/// Which redemptions [`views`] reads.
enum Narrow<'a> {
    /// These (a partner's page, already chosen).
    Ids(Vec<String>),
    /// One keyset walk, optionally of one volunteer's and/or of one status.
    Filter {
        volunteer_id: Option<&'a VolunteerId>,
        status: Option<RedemptionStatus>,
        after: Option<&'a Cursor>,
    },
}

/// The redemptions `narrow` names with their reward's and volunteer's names, newest first; up
/// to `limit + 1`.
fn views(
    conn: &mut DbConnection,
    narrow: Narrow<'_>,
    limit: i64,
) -> Result<Vec<RedemptionView>, AppError> {
    let mut q = redemptions::table
        .inner_join(rewards::table.on(rewards::id.eq(redemptions::reward_id)))
        .inner_join(users::table.on(users::id.eq(redemptions::volunteer_id)))
        .select(RedemptionView::as_select())
        .order((redemptions::created_at.desc(), redemptions::id.desc()))
        .limit(limit + 1)
        .into_boxed();
    match narrow {
        Narrow::Ids(ids) => q = q.filter(redemptions::id.eq_any(ids)),
        Narrow::Filter {
            volunteer_id,
            status,
            after,
        } => {
            if let Some(v) = volunteer_id {
                q = q.filter(redemptions::volunteer_id.eq(v.clone()));
            }
            if let Some(s) = status {
                q = q.filter(redemptions::status.eq(s));
            }
            if let Some(c) = after {
                q = q.filter(before_in_time(redemptions::created_at, redemptions::id, c)?);
            }
        }
    }
    Ok(q.load(conn)?)
}

/// `redemptions.status = '<status>'` with the status written into the statement, not bound.
/// The desk's pickup-code lookup needs the partial index `redemptions_pickup_reserved`
/// (`WHERE status = 'reserved'`), which serves only a condition the planner can match without
/// looking at bound values: SQLite is built not to look (`SQLITE_ENABLE_QPSG`,
/// `.cargo/config.toml`), and a PostgreSQL generic plan cannot.
fn status_is(status: RedemptionStatus) -> dsl::Eq<redemptions::status, SqlLiteral<Text>> {
    redemptions::status.eq(dsl::sql::<Text>(&format!("'{}'", status.as_str())))
}

/// A redemption to make.
pub struct Redeem<'a> {
    pub reward_id: &'a RewardId,
    pub volunteer_id: &'a VolunteerId,
    /// 1–10 (checked by `domain::rewards::quantity`).
    pub quantity: i64,
    /// Who asked: the volunteer, or staff on their behalf.
    pub created_by: &'a VolunteerId,
    pub now: NaiveDateTime,
}

/// A reward as a redemption reads it (name, cost, per-volunteer limit, stock, active) and the
/// volunteer's name (`None`: no such volunteer).
type RewardAndName = (String, i64, Option<i64>, Option<i64>, bool, Option<String>);

/// Reserves `quantity` units of a reward for a volunteer and pays for them, all or nothing:
/// takes the stock (409 `out-of-stock`), counts the units against the per-volunteer limit
/// (409 `limit-reached`), debits cost × quantity (409 `insufficient-points`) and creates the
/// redemption `reserved` with a pickup code unique among reserved ones. Any refusal is an `Err`,
/// and the caller's transaction rolls back what came before it.
///
/// Lean on purpose (issue 12): one read of the reward and the volunteer's name, the stock UPDATE
/// only when the stock is limited (an unlimited reward's row is never locked, so its redemptions
/// do not queue on it), the debit's three statements, the insert (which draws the pickup
/// code again on a clash). A per-volunteer limit is checked by summing the volunteer's units of the reward
/// *after* the debit: the debit holds their account row until commit, so any other redemption
/// of theirs has committed before this sum is read (PostgreSQL READ COMMITTED reads a fresh
/// snapshot per statement; SQLite has one writer) and the limit holds under concurrency.
pub fn redeem(conn: &mut DbConnection, r: Redeem<'_>) -> Result<RedemptionView, AppError> {
    let volunteer_name = users::table
        .filter(users::id.eq(r.volunteer_id))
        .select(users::name)
        .single_value();
    let found: Option<RewardAndName> = rewards::table
        .filter(rewards::id.eq(r.reward_id))
        .select((
            rewards::name,
            rewards::cost_points,
            rewards::per_volunteer_limit,
            rewards::stock,
            rewards::active,
            volunteer_name,
        ))
        .first(conn)
        .optional()?;
    let Some((name, cost_points, limit, stock, active, volunteer_name)) = found else {
        if super::users::find(conn, r.volunteer_id)?.is_none() {
            return Err(AppError::NotFound("volunteer"));
        }
        return Err(AppError::NotFound("reward"));
    };
    let volunteer_name = volunteer_name.ok_or(AppError::NotFound("volunteer"))?;
    if !active {
        return Err(AppError::NotFound("reward"));
    }
    let taken = match stock {
        None => catalogue::Taken {
            name,
            cost_points,
            per_volunteer_limit: limit,
        },
        Some(_) => match catalogue::take_stock(conn, r.reward_id, r.quantity)? {
            Some(taken) => taken,
            None => {
                return Err(match catalogue::find(conn, r.reward_id)? {
                    Some(reward) if reward.active => AppError::Conflict(Conflict::OutOfStock),
                    _ => AppError::NotFound("reward"),
                })
            }
        },
    };
    let points = total_cost(taken.cost_points, r.quantity)
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("reward cost overflow")))?;
    let id = RedemptionId::fresh();
    let memo = format!("Redeemed {} × {}", r.quantity, taken.name);
    let debited = ledger::debit(
        conn,
        Kind::Redeem,
        r.volunteer_id,
        ledger::System::Redemptions,
        points,
        Event {
            memo: &memo,
            created_by: Some(r.created_by),
            cause: Cause {
                redemption_id: Some(id.clone()),
                ..Cause::default()
            },
            now: r.now,
        },
    );
    // The limit is refused before the balance, whichever the debit met first.
    if let (Some(limit), Ok(_) | Err(AppError::Conflict(Conflict::InsufficientPoints))) =
        (taken.per_volunteer_limit, &debited)
    {
        if held(conn, r.reward_id, r.volunteer_id)? + r.quantity > limit {
            return Err(AppError::Conflict(Conflict::LimitReached));
        }
    }
    let transaction = debited?;
    let code = insert_reserved(
        conn,
        &NewRedemption {
            id: id.to_string(),
            reward_id: r.reward_id.to_string(),
            volunteer_id: r.volunteer_id.to_string(),
            quantity: r.quantity,
            points,
            status: RedemptionStatus::Reserved.as_str(),
            pickup_code: String::new(),
            created_by: r.created_by.to_string(),
            created_at: r.now,
            redeem_transaction_id: transaction.id.to_string(),
        },
    )?;
    Ok(RedemptionView {
        id,
        reward_id: r.reward_id.clone(),
        reward_name: taken.name,
        volunteer_id: r.volunteer_id.clone(),
        volunteer_name,
        quantity: r.quantity,
        points,
        status: RedemptionStatus::Reserved,
        pickup_code: code.as_str().to_owned(),
        created_by: r.created_by.to_string(),
        created_at: r.now,
        fulfilled_at: None,
        cancelled_at: None,
    })
}

/// The units of a reward a volunteer holds (reserved or handed out).
fn held(
    conn: &mut DbConnection,
    reward_id: &RewardId,
    volunteer_id: &VolunteerId,
) -> Result<i64, AppError> {
    let units: Vec<i64> = redemptions::table
        .filter(redemptions::volunteer_id.eq(volunteer_id))
        .filter(redemptions::reward_id.eq(reward_id))
        .filter(redemptions::status.ne(RedemptionStatus::Cancelled))
        .select(redemptions::quantity)
        .load(conn)?;
    Ok(units.iter().sum())
}

/// A redemption to insert, `reserved`.
#[derive(Insertable, Clone)]
#[diesel(table_name = redemptions)]
struct NewRedemption {
    id: String,
    reward_id: String,
    volunteer_id: String,
    quantity: i64,
    points: i64,
    status: &'static str,
    pickup_code: String,
    created_by: String,
    created_at: NaiveDateTime,
    redeem_transaction_id: String,
}

/// Inserts `new` with a pickup code no reserved redemption holds, drawn afresh on a clash; the
/// code. One statement on the happy path: `INSERT ... ON CONFLICT DO NOTHING` leaves the row out
/// when the partial unique index `redemptions_pickup_reserved` already holds the code (0 rows,
/// the transaction still usable), and a clash with a redemption not yet committed waits for it
/// (PostgreSQL) or cannot happen (SQLite's one writer). Diesel's upsert compiles per backend,
/// not through the connection enum.
fn insert_reserved(conn: &mut DbConnection, new: &NewRedemption) -> Result<PickupCode, AppError> {
    for _ in 0..CODE_ATTEMPTS {
        let code = PickupCode::random();
        let row = NewRedemption {
            pickup_code: code.as_str().to_owned(),
            ..new.clone()
        };
        // RETURNING, read by value: diesel's `execute` passes a statement by reference, which
        // would lose `Prepared`.
        let insert = Prepared(
            diesel::insert_into(redemptions::table)
                .values(&row)
                .on_conflict_do_nothing()
                .returning(redemptions::id),
        );
        let inserted: Vec<String> = match conn {
            DbConnection::Pg(c) => insert.load(c)?,
            DbConnection::Sqlite(c) => insert.load(c)?,
        };
        if inserted.len() == 1 {
            return Ok(code);
        }
    }
    Err(AppError::Internal(anyhow::anyhow!(
        "no free pickup code in {CODE_ATTEMPTS} draws"
    )))
}

/// Hands out the reserved redemption with this pickup code: one state-machine UPDATE
/// (`reserved` → `fulfilled`), so a code is honoured once and never after a cancellation.
/// With `partners` (a clerk's desk) only a reward of one of those partners is handed out, in the
/// same UPDATE. 404 if no reserved redemption the desk may hand out has the code.
pub fn fulfil(
    conn: &mut DbConnection,
    code: &PickupCode,
    partners: Option<&[PartnerId]>,
    by: &VolunteerId,
    now: NaiveDateTime,
) -> Result<RedemptionView, AppError> {
    let reserved = redemptions::table
        .filter(redemptions::pickup_code.eq(code.as_str()))
        .filter(status_is(RedemptionStatus::Reserved));
    // The partner it is handed out at is its reward's now (a settlement counts it there, even if
    // the reward moves to another partner later).
    let partner_now = sql::<Nullable<Text>>(
        "(SELECT partner_id FROM rewards WHERE rewards.id = redemptions.reward_id)",
    );
    let fulfilled = (
        redemptions::status.eq(RedemptionStatus::Fulfilled),
        redemptions::fulfilled_at.eq(now),
        redemptions::fulfilled_by.eq(by),
        redemptions::fulfilled_partner_id.eq(partner_now),
    );
    let id: Option<RedemptionId> = match partners {
        None => Prepared(
            diesel::update(reserved)
                .set(fulfilled)
                .returning(redemptions::id),
        )
        .get_result(conn)
        .optional()?,
        Some(partners) => {
            // As text: PostgreSQL binds `eq_any` as one array of a built-in type.
            let partners: Vec<&str> = partners.iter().map(PartnerId::as_str).collect();
            let theirs = rewards::table
                .filter(rewards::partner_id.eq_any(partners))
                .select(rewards::id);
            Prepared(
                diesel::update(reserved.filter(redemptions::reward_id.eq_any(theirs)))
                    .set(fulfilled)
                    .returning(redemptions::id),
            )
            .get_result(conn)
            .optional()?
        }
    };
    let id = id.ok_or(AppError::NotFound("redemption"))?;
    find(conn, &id)?.ok_or(AppError::NotFound("redemption"))
}

/// Who is cancelling.
pub struct Canceller<'a> {
    pub id: &'a VolunteerId,
    pub is_staff: bool,
}

/// Cancels a reserved redemption: the state-machine UPDATE (`reserved` → `cancelled`) decides,
/// then stock (when limited) and points go back in the same transaction, exactly once (L4:
/// UNIQUE `(redemption_id, kind)` on ledger transactions and `refund_transaction_id`).
/// Someone else's redemption is 404 to a volunteer; a fulfilled or cancelled one is 409
/// `redemption-not-reserved`. The answer is the row read first with what the UPDATE changed.
pub fn cancel(
    conn: &mut DbConnection,
    id: &RedemptionId,
    by: Canceller<'_>,
    now: NaiveDateTime,
) -> Result<RedemptionView, AppError> {
    let row: Option<(RedemptionView, Option<i64>)> = redemptions::table
        .inner_join(rewards::table.on(rewards::id.eq(redemptions::reward_id)))
        .inner_join(users::table.on(users::id.eq(redemptions::volunteer_id)))
        .filter(redemptions::id.eq(id))
        .select((RedemptionView::as_select(), rewards::stock))
        .first(conn)
        .optional()?;
    let Some((mut view, stock)) = row else {
        return Err(AppError::NotFound("redemption"));
    };
    if !by.is_staff && view.volunteer_id != *by.id {
        return Err(AppError::NotFound("redemption"));
    }
    let cancelled: Option<RedemptionId> = Prepared(
        diesel::update(
            redemptions::table
                .filter(redemptions::id.eq(id))
                .filter(redemptions::status.eq(RedemptionStatus::Reserved)),
        )
        .set((
            redemptions::status.eq(RedemptionStatus::Cancelled),
            redemptions::cancelled_at.eq(now),
            redemptions::cancelled_by.eq(by.id),
        ))
        .returning(redemptions::id),
    )
    .get_result(conn)
    .optional()?;
    if cancelled.is_none() {
        return Err(AppError::Conflict(Conflict::RedemptionNotReserved));
    }
    // The reward row before the account, as in `redeem`.
    if stock.is_some() {
        catalogue::return_stock(conn, &view.reward_id, view.quantity)?;
    }
    let memo = "Redemption cancelled: points refunded";
    let refund = ledger::refund(
        conn,
        &view.volunteer_id,
        ledger::System::Redemptions,
        view.points,
        Event {
            memo,
            created_by: Some(by.id),
            cause: Cause {
                redemption_id: Some(id.clone()),
                ..Cause::default()
            },
            now,
        },
    )?;
    Prepared(
        diesel::update(redemptions::table.find(id))
            .set(redemptions::refund_transaction_id.eq(&refund.id))
            .returning(redemptions::id),
    )
    .load::<String>(conn)?;
    view.status = RedemptionStatus::Cancelled;
    view.cancelled_at = Some(now);
    Ok(view)
}
