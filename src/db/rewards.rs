//! The rewards catalogue: rewards, their stock and restocks, and the L10 check of `verify`
//! (LEDGER.md). Redemptions live in [`super::redemptions`].
//!
//! Stock changes only by restock and redemptions, each one conditional `UPDATE`: `stock` never
//! goes below zero (and `CHECK (stock >= 0)` backs it). `stocked_total` (initial stock plus every
//! restock) lets `verify` recompute what the stock must be.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};

use super::keyset::after_by_name;
use super::prepared::Prepared;
use super::schema::{partners, rewards};
use super::verify::Problem;
use super::DbConnection;
use crate::domain::ids::{Id, PartnerId, RewardId};
use crate::domain::page::Cursor;
use crate::domain::rewards::RedemptionStatus;
use crate::error::AppError;

/// A stored reward.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = rewards)]
pub struct RewardRow {
    pub id: RewardId,
    pub name: String,
    pub description: Option<String>,
    pub sponsor: Option<String>,
    pub cost_points: i64,
    pub stock: Option<i64>,
    pub stocked_total: Option<i64>,
    pub per_volunteer_limit: Option<i64>,
    pub active: bool,
    pub created_by: String,
    pub created_at: NaiveDateTime,
    pub partner_id: Option<PartnerId>,
    /// Read through the join with `partners` that [`find`] and [`list`] make.
    #[diesel(select_expression = partners::name.nullable())]
    #[diesel(select_expression_type = diesel::dsl::Nullable<partners::name>)]
    pub partner_name: Option<String>,
}

impl RewardRow {
    /// The keyset position of this row in the catalogue (by name).
    pub fn cursor(&self) -> Cursor {
        Cursor {
            key: self.name.clone(),
            id: self.id.to_string(),
        }
    }
}

/// A reward to create (values already checked by `domain::rewards`).
pub struct NewReward {
    pub name: String,
    pub description: Option<String>,
    pub sponsor: Option<String>,
    pub cost_points: i64,
    /// `None` = unlimited.
    pub stock: Option<i64>,
    pub per_volunteer_limit: Option<i64>,
    pub active: bool,
    /// The partner that hands it out ([`create`] checks it exists).
    pub partner_id: Option<PartnerId>,
    pub created_by: String,
    pub now: NaiveDateTime,
}

/// What a PATCH changes: `None` leaves a field alone, `Some(None)` clears a nullable one.
/// Stock is not here: it changes only by restock and redemptions.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = rewards)]
pub struct RewardChanges {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub sponsor: Option<Option<String>>,
    pub cost_points: Option<i64>,
    pub per_volunteer_limit: Option<Option<i64>>,
    pub active: Option<bool>,
    pub partner_id: Option<Option<PartnerId>>,
}

impl RewardChanges {
    fn is_empty(&self) -> bool {
        self.name.is_none()
            && self.description.is_none()
            && self.sponsor.is_none()
            && self.cost_points.is_none()
            && self.per_volunteer_limit.is_none()
            && self.active.is_none()
            && self.partner_id.is_none()
    }
}

/// Creates a reward; an unknown partner is 404 `not-found`.
pub fn create(conn: &mut DbConnection, new: NewReward) -> Result<RewardRow, AppError> {
    if let Some(partner) = &new.partner_id {
        super::partners::require(conn, partner)?;
    }
    let id = RewardId::fresh();
    diesel::insert_into(rewards::table)
        .values((
            rewards::id.eq(&id),
            rewards::name.eq(&new.name),
            rewards::description.eq(&new.description),
            rewards::sponsor.eq(&new.sponsor),
            rewards::cost_points.eq(new.cost_points),
            rewards::stock.eq(new.stock),
            rewards::stocked_total.eq(new.stock),
            rewards::per_volunteer_limit.eq(new.per_volunteer_limit),
            rewards::active.eq(new.active),
            rewards::partner_id.eq(&new.partner_id),
            rewards::created_by.eq(&new.created_by),
            rewards::created_at.eq(new.now),
        ))
        .execute(conn)?;
    find(conn, &id)?.ok_or(AppError::NotFound("reward"))
}

/// Rewards with their partner's name beside them.
fn with_partner() -> diesel::dsl::LeftJoinOn<
    rewards::table,
    partners::table,
    diesel::dsl::Eq<diesel::dsl::Nullable<partners::id>, rewards::partner_id>,
> {
    rewards::table.left_join(partners::table.on(partners::id.nullable().eq(rewards::partner_id)))
}

/// The reward with this id, active or not.
pub fn find(conn: &mut DbConnection, id: &RewardId) -> Result<Option<RewardRow>, AppError> {
    Ok(with_partner()
        .filter(rewards::id.eq(id))
        .select(RewardRow::as_select())
        .first(conn)
        .optional()?)
}

/// A catalogue page by name (then id), only active rewards when `active_only`; up to
/// `limit + 1` rows.
pub fn list(
    conn: &mut DbConnection,
    active_only: bool,
    limit: i64,
    after: Option<&Cursor>,
) -> Result<Vec<RewardRow>, AppError> {
    let mut q = with_partner()
        .select(RewardRow::as_select())
        .order((rewards::name.asc(), rewards::id.asc()))
        .limit(limit + 1)
        .into_boxed();
    if active_only {
        q = q.filter(rewards::active.eq(true));
    }
    if let Some(c) = after {
        q = q.filter(after_by_name(rewards::name, rewards::id, c));
    }
    Ok(q.load(conn)?)
}

/// Applies a PATCH; `None` if there is no such reward; an unknown partner is 404 `not-found`.
pub fn update(
    conn: &mut DbConnection,
    id: &RewardId,
    changes: RewardChanges,
) -> Result<Option<RewardRow>, AppError> {
    if let Some(Some(partner)) = &changes.partner_id {
        super::partners::require(conn, partner)?;
    }
    if !changes.is_empty() {
        diesel::update(rewards::table.find(id))
            .set(&changes)
            .execute(conn)?;
    }
    find(conn, id)
}

/// What a restock may be refused for.
#[derive(Debug, PartialEq, Eq)]
pub enum RestockRefusal {
    /// No such reward.
    NotFound,
    /// Its stock is unlimited.
    Unlimited,
    /// The stock would pass its maximum.
    TooMuch,
}

/// Adds `quantity` units to a limited stock, keeping the stock at most `max`: one conditional
/// UPDATE, so it composes with concurrent redemptions.
pub fn restock(
    conn: &mut DbConnection,
    id: &RewardId,
    quantity: i64,
    max: i64,
) -> Result<Result<RewardRow, RestockRefusal>, AppError> {
    let n = diesel::update(
        rewards::table
            .filter(rewards::id.eq(id))
            .filter(rewards::stock.is_not_null())
            .filter(rewards::stock.le(max - quantity)),
    )
    .set((
        rewards::stock.eq(rewards::stock + quantity),
        rewards::stocked_total.eq(rewards::stocked_total + quantity),
    ))
    .execute(conn)?;
    let reward = find(conn, id)?;
    Ok(match reward {
        None => Err(RestockRefusal::NotFound),
        Some(r) if n == 1 => Ok(r),
        Some(r) if r.stock.is_none() => Err(RestockRefusal::Unlimited),
        Some(_) => Err(RestockRefusal::TooMuch),
    })
}

/// What a reward is, as a redemption takes it.
#[derive(Debug, Clone, Queryable)]
pub struct Taken {
    pub name: String,
    pub cost_points: i64,
    pub per_volunteer_limit: Option<i64>,
}

/// Takes `quantity` units of an active reward with a limited stock in one conditional UPDATE
/// (L10): `None` when the reward is unknown, inactive, unlimited or short of stock (nothing
/// changed). The row stays locked until the caller's transaction ends, so the price and limit
/// answered are current. An unlimited stock is never written: redemptions of it share no row.
pub fn take_stock(
    conn: &mut DbConnection,
    id: &RewardId,
    quantity: i64,
) -> Result<Option<Taken>, AppError> {
    Ok(Prepared(
        diesel::update(
            rewards::table
                .filter(rewards::id.eq(id))
                .filter(rewards::active.eq(true))
                .filter(rewards::stock.ge(quantity)),
        )
        .set(rewards::stock.eq(rewards::stock - quantity))
        .returning((
            rewards::name,
            rewards::cost_points,
            rewards::per_volunteer_limit,
        )),
    )
    .get_result(conn)
    .optional()?)
}

/// Puts back `quantity` units of a cancelled redemption of a reward with a limited stock.
pub fn return_stock(conn: &mut DbConnection, id: &RewardId, quantity: i64) -> Result<(), AppError> {
    Prepared(
        diesel::update(rewards::table.filter(rewards::id.eq(id)))
            .set(rewards::stock.eq(rewards::stock + quantity))
            .returning(rewards::id),
    )
    .load::<String>(conn)?;
    Ok(())
}

#[derive(QueryableByName)]
struct StockCheck {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    stock: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    stocked_total: Option<i64>,
    #[diesel(sql_type = BigInt)]
    held: i64,
}

#[derive(QueryableByName)]
struct RedemptionCheck {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    reward_id: String,
    #[diesel(sql_type = Text)]
    status: RedemptionStatus,
    #[diesel(sql_type = BigInt)]
    points: i64,
    #[diesel(sql_type = BigInt)]
    redeemed: i64,
    #[diesel(sql_type = BigInt)]
    refunded: i64,
    #[diesel(sql_type = BigInt)]
    refunds: i64,
}

/// L10 over every reward: stock is never negative and equals initial stock plus restocks less
/// the units of reserved and fulfilled redemptions; every redemption was paid once with its `points`, and refunded
/// exactly once if and only if it was cancelled (never handed out twice).
pub fn verify(conn: &mut DbConnection) -> Result<Vec<Problem>, AppError> {
    let mut problems = Vec::new();
    let problem = |reward: &str, detail: String| Problem {
        rule: "L10".into(),
        subject: format!("reward:{reward}"),
        detail,
    };

    let stocks: Vec<StockCheck> = diesel::sql_query(
        "SELECT r.id AS id, r.stock AS stock, r.stocked_total AS stocked_total, \
                CAST(COALESCE(SUM(d.quantity), 0) AS BIGINT) AS held \
         FROM rewards r LEFT JOIN redemptions d \
           ON d.reward_id = r.id AND d.status IN ('reserved', 'fulfilled') \
         GROUP BY r.id, r.stock, r.stocked_total",
    )
    .load(conn)?;
    for s in stocks {
        match (s.stock, s.stocked_total) {
            (None, None) => {}
            (Some(stock), Some(total)) => {
                if stock < 0 {
                    problems.push(problem(&s.id, format!("stock is {stock}")));
                }
                if stock != total - s.held {
                    problems.push(problem(
                        &s.id,
                        format!(
                            "stock is {stock} but restocks total {total} and redemptions hold {}",
                            s.held
                        ),
                    ));
                }
            }
            (stock, total) => problems.push(problem(
                &s.id,
                format!("stock {stock:?} and stocked total {total:?} disagree on being limited"),
            )),
        }
    }

    // What the redemptions account received and returned per redemption.
    let paid: Vec<RedemptionCheck> = diesel::sql_query(
        "SELECT d.id AS id, d.reward_id AS reward_id, d.status AS status, d.points AS points, \
                CAST(COALESCE(SUM(CASE WHEN t.kind = 'redeem' THEN e.amount ELSE 0 END), 0) \
                     AS BIGINT) AS redeemed, \
                CAST(COALESCE(SUM(CASE WHEN t.kind = 'refund' THEN -e.amount ELSE 0 END), 0) \
                     AS BIGINT) AS refunded, \
                CAST(COUNT(DISTINCT CASE WHEN t.kind = 'refund' THEN t.id END) AS BIGINT) \
                     AS refunds \
         FROM redemptions d \
         LEFT JOIN ledger_transactions t ON t.redemption_id = d.id \
         LEFT JOIN ledger_entries e ON e.transaction_id = t.id AND e.account_id = $1 \
         GROUP BY d.id, d.reward_id, d.status, d.points",
    )
    .bind::<Text, _>(super::ledger::REDEMPTIONS)
    .load(conn)?;
    for r in paid {
        let cancelled = r.status == RedemptionStatus::Cancelled;
        let expected_refund = if cancelled { r.points } else { 0 };
        if r.redeemed != r.points
            || r.refunded != expected_refund
            || r.refunds != i64::from(cancelled)
        {
            problems.push(problem(
                &r.reward_id,
                format!(
                    "redemption {} ({}) cost {} but paid {} and {} refunds returned {}",
                    r.id, r.status, r.points, r.redeemed, r.refunds, r.refunded
                ),
            ));
        }
    }
    Ok(problems)
}
