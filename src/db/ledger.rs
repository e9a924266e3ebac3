//! The points ledger (LEDGER.md): the only code that writes accounts, transactions and entries.
//!
//! Every function takes the caller's connection inside the caller's transaction and opens none
//! of its own (L7): a business event (approval, redemption, ...) commits its ledger writes
//! together with its own rows, or nothing.

use chrono::NaiveDateTime;
use diesel::dsl::case_when;
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Timestamp};
use uuid::Uuid;

use super::prepared::Prepared;
use super::schema::{accounts, ledger_entries as entries, ledger_transactions as txs};
use super::{is_unique_violation, savepoint, DbConnection};
use crate::domain::ids::{Id, LogId, RedemptionId, TransactionId, VolunteerId, WishId};
use crate::domain::ledger::AccountKind;
pub use crate::domain::ledger::Kind;
use crate::domain::page::Cursor;
use crate::error::{AppError, Conflict};

/// The community fund: issues points for approved hours and adjustments; may go negative.
pub const COMMUNITY_FUND: &str = "00000000-0000-0000-0000-000000000001";
/// Receives the points spent on rewards.
pub const REDEMPTIONS: &str = "00000000-0000-0000-0000-000000000002";

/// A system account: where issued points come from, where spent points go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum System {
    /// [`COMMUNITY_FUND`].
    CommunityFund,
    /// [`REDEMPTIONS`].
    Redemptions,
}

impl System {
    /// Its fixed account id.
    pub fn id(self) -> &'static str {
        match self {
            System::CommunityFund => COMMUNITY_FUND,
            System::Redemptions => REDEMPTIONS,
        }
    }

    fn kind(self) -> AccountKind {
        match self {
            System::CommunityFund => AccountKind::CommunityFund,
            System::Redemptions => AccountKind::Redemptions,
        }
    }
}

/// One side of a posting: a volunteer's account (id = the volunteer's id) or a system account.
#[derive(Debug, Clone)]
enum Account {
    Volunteer(VolunteerId),
    System(System),
}

impl Account {
    fn id(&self) -> &str {
        match self {
            Account::Volunteer(v) => v.as_str(),
            Account::System(s) => s.id(),
        }
    }

    /// The account an entry as read from the database is on.
    fn of(entry: &EntryRow) -> Result<Account, AppError> {
        Ok(match entry.account_kind {
            AccountKind::Volunteer => {
                Account::Volunteer(VolunteerId::parse(&entry.account_id).ok_or_else(|| {
                    AppError::Internal(anyhow::anyhow!("account id {}", entry.account_id))
                })?)
            }
            AccountKind::CommunityFund => Account::System(System::CommunityFund),
            AccountKind::Redemptions => Account::System(System::Redemptions),
        })
    }
}

/// What caused a transaction; the UNIQUE indexes on these keep L4.
#[derive(Debug, Clone, Default)]
pub struct Cause {
    /// The activity log an earn or its reversal belongs to.
    pub activity_log_id: Option<LogId>,
    /// The redemption a redeem or its refund belongs to.
    pub redemption_id: Option<RedemptionId>,
    /// The confirmed wish an earn belongs to.
    pub wish_id: Option<WishId>,
    /// The volunteer account an opening balance is credited to (one per account ever).
    pub opening_account_id: Option<VolunteerId>,
}

/// Opens the points account of a new volunteer (their id is its id).
pub fn open_account(
    conn: &mut DbConnection,
    volunteer_id: &VolunteerId,
    now: NaiveDateTime,
) -> Result<(), AppError> {
    diesel::insert_into(accounts::table)
        .values((
            accounts::id.eq(volunteer_id),
            accounts::kind.eq(AccountKind::Volunteer),
            accounts::volunteer_id.eq(volunteer_id),
            accounts::created_at.eq(now),
        ))
        .execute(conn)?;
    Ok(())
}

/// Holds a volunteer's account row until the caller's transaction ends, with a conditional
/// UPDATE that changes nothing: a transaction that must count something of this person's before
/// it acts (the wishes they hold) runs after any other holding the same row, so on PostgreSQL
/// its count sees what that one committed. (SQLite runs one writer at a time anyway.)
/// 404 if the person has no account.
pub fn hold(conn: &mut DbConnection, volunteer_id: &VolunteerId) -> Result<(), AppError> {
    let n = diesel::update(
        accounts::table
            .filter(accounts::id.eq(volunteer_id))
            .filter(accounts::kind.eq(AccountKind::Volunteer)),
    )
    .set(accounts::entry_count.eq(accounts::entry_count))
    .execute(conn)?;
    if n == 0 {
        return Err(AppError::NotFound("account"));
    }
    Ok(())
}

/// Who records an event, why, what caused it, and when.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    /// Shown on statements.
    pub memo: &'a str,
    /// The person who did it (`None` for the system).
    pub created_by: Option<&'a VolunteerId>,
    /// The activity log or redemption behind it.
    pub cause: Cause,
    /// The service's clock.
    pub now: NaiveDateTime,
}

/// Credits `amount` (> 0) to a volunteer from the community fund: an earn or a positive
/// adjustment. Returns the transaction as written.
pub fn credit(
    conn: &mut DbConnection,
    kind: Kind,
    volunteer_id: &VolunteerId,
    amount: i64,
    event: Event<'_>,
) -> Result<TransactionRow, AppError> {
    let legs = vec![
        (Account::Volunteer(volunteer_id.clone()), amount),
        (Account::System(System::CommunityFund), -amount),
    ];
    post(conn, kind, kind, None, legs, event)
}

/// Credits a volunteer's opening balance (`amount` > 0, the points they held on the platform
/// this service replaces) from the community fund as an `opening` transaction. At most once per
/// volunteer ever (L4): the UNIQUE index on `opening_account_id` refuses a second, whoever tries
/// and however concurrently; then this answers `Ok(None)` and, the attempt having run in a
/// savepoint, nothing changed.
pub fn open_balance(
    conn: &mut DbConnection,
    volunteer_id: &VolunteerId,
    amount: i64,
    event: Event<'_>,
) -> Result<Option<TransactionId>, AppError> {
    let event = Event {
        cause: Cause {
            opening_account_id: Some(volunteer_id.clone()),
            ..Cause::default()
        },
        ..event
    };
    match savepoint(conn, |conn| {
        credit(conn, Kind::Opening, volunteer_id, amount, event)
    }) {
        Ok(tx) => Ok(Some(tx.id)),
        Err(AppError::Database(e)) if is_unique_violation(&e) => Ok(None),
        Err(e) => Err(e),
    }
}

/// The opening balances recorded for these volunteers: volunteer id → points credited.
pub fn openings(
    conn: &mut DbConnection,
    volunteer_ids: &[&str],
) -> Result<std::collections::HashMap<String, i64>, AppError> {
    let found: Vec<(String, i64)> = txs::table
        .inner_join(entries::table)
        .filter(txs::opening_account_id.eq_any(volunteer_ids))
        .filter(entries::account_id.nullable().eq(txs::opening_account_id))
        .select((entries::account_id, entries::amount))
        .load(conn)?;
    Ok(found.into_iter().collect())
}

/// Debits `amount` (> 0) from a volunteer to `to` (a system account): a redemption or a negative
/// adjustment. Refused with `insufficient-points`, changing nothing, if the balance would go
/// below zero (L2).
pub fn debit(
    conn: &mut DbConnection,
    kind: Kind,
    volunteer_id: &VolunteerId,
    to: System,
    amount: i64,
    event: Event<'_>,
) -> Result<TransactionRow, AppError> {
    let legs = vec![
        (Account::Volunteer(volunteer_id.clone()), -amount),
        (Account::System(to), amount),
    ];
    post(conn, kind, kind, None, legs, event)
}

/// Refunds `amount` (> 0) from `from` (a system account) back to a volunteer.
pub fn refund(
    conn: &mut DbConnection,
    volunteer_id: &VolunteerId,
    from: System,
    amount: i64,
    event: Event<'_>,
) -> Result<TransactionRow, AppError> {
    let legs = vec![
        (Account::System(from), -amount),
        (Account::Volunteer(volunteer_id.clone()), amount),
    ];
    post(conn, Kind::Refund, Kind::Refund, None, legs, event)
}

/// Reverses a whole transaction with one that negates each of its entries. At most once (L4:
/// UNIQUE `reverses_id`); refused with `insufficient-points` if a volunteer has spent the points.
pub fn reverse(
    conn: &mut DbConnection,
    transaction_id: &TransactionId,
    event: Event<'_>,
) -> Result<TransactionRow, AppError> {
    let original =
        find_transaction(conn, transaction_id)?.ok_or(AppError::NotFound("transaction"))?;
    let legs = original
        .entries
        .iter()
        .map(|e| Ok((Account::of(e)?, -e.amount)))
        .collect::<Result<_, AppError>>()?;
    post(
        conn,
        Kind::Reversal,
        original.kind,
        Some(transaction_id),
        legs,
        event,
    )
}

/// Ledger transactions posted on this thread's open database transaction, counted in
/// `ledger_transactions_total{kind}` only once it commits (`db::transaction` drives this; a
/// rolled-back savepoint discards what it posted).
pub(crate) mod posted {
    use std::cell::RefCell;

    use crate::domain::ledger::Kind;

    thread_local! {
        static POSTED: RefCell<Vec<Kind>> = const { RefCell::new(Vec::new()) };
    }

    /// Notes a posted transaction.
    pub(crate) fn push(kind: Kind) {
        POSTED.with(|p| p.borrow_mut().push(kind));
    }

    /// How many are noted.
    pub(crate) fn len() -> usize {
        POSTED.with(|p| p.borrow().len())
    }

    /// Forgets those noted from `from` on (rolled back).
    pub(crate) fn discard_from(from: usize) {
        POSTED.with(|p| p.borrow_mut().truncate(from));
    }

    /// Counts every noted transaction (committed).
    pub(crate) fn count_committed() {
        POSTED.with(|p| {
            for kind in p.borrow().iter() {
                metrics::counter!("ledger_transactions_total", "kind" => kind.as_str())
                    .increment(1);
            }
        });
    }
}

/// Writes one transaction and its entries: the only writer of entries (L1, L2, L6, L9). Answers
/// the transaction as written, so no caller reads it back.
///
/// `totals_kind` is the kind whose totals rule applies: a reversal undoes its original's.
fn post(
    conn: &mut DbConnection,
    kind: Kind,
    totals_kind: Kind,
    reverses: Option<&TransactionId>,
    mut legs: Vec<(Account, i64)>,
    e: Event<'_>,
) -> Result<TransactionRow, AppError> {
    // L1: the legs sum to zero, with checked arithmetic.
    let sum = legs
        .iter()
        .try_fold(0i64, |acc, (_, a)| acc.checked_add(*a))
        .ok_or_else(|| AppError::Internal(anyhow::anyhow!("ledger amount overflow")))?;
    if sum != 0 || legs.len() < 2 || legs.iter().any(|(_, a)| *a == 0) {
        return Err(AppError::Internal(anyhow::anyhow!(
            "unbalanced posting: {:?}",
            legs
        )));
    }
    // Rows are touched in one fixed order, so concurrent transactions never deadlock.
    legs.sort_by(|a, b| a.0.id().cmp(b.0.id()));

    // The volunteer accounts move first (L2/L3), each giving the posting's time in its order.
    let mut moved = Vec::with_capacity(legs.len());
    let mut at = e.now;
    for (account, amount) in &legs {
        let Account::Volunteer(volunteer) = account else {
            // No cached balance on system accounts: no hot row every transaction waits on.
            moved.push((None, None));
            continue;
        };
        let (seq, balance_after, posted_at) =
            move_account(conn, volunteer, totals_kind, *amount, e.now)?;
        at = at.max(posted_at);
        moved.push((Some(seq), Some(balance_after)));
    }

    let id = TransactionId::fresh();
    diesel::insert_into(txs::table)
        .values((
            txs::id.eq(&id),
            txs::kind.eq(kind),
            txs::memo.eq(e.memo),
            txs::created_by.eq(e.created_by),
            txs::created_at.eq(at),
            txs::activity_log_id.eq(e.cause.activity_log_id.as_ref()),
            txs::redemption_id.eq(e.cause.redemption_id.as_ref()),
            txs::reverses_id.eq(reverses),
            txs::wish_id.eq(e.cause.wish_id.as_ref()),
            txs::opening_account_id.eq(e.cause.opening_account_id.as_ref()),
        ))
        .execute(conn)?;

    let mut written = Vec::with_capacity(legs.len());
    let mut rows = Vec::with_capacity(legs.len());
    for ((account, amount), (seq, balance_after)) in legs.iter().zip(moved) {
        rows.push(NewEntry {
            // Time-ordered, as every new id (`Id::fresh`).
            id: Uuid::now_v7().to_string(),
            transaction_id: id.to_string(),
            account_id: account.id().to_owned(),
            amount: *amount,
            seq,
            balance_after,
            created_at: at,
        });
        let (account_kind, volunteer_id) = match account {
            Account::Volunteer(v) => (AccountKind::Volunteer, Some(v.clone())),
            Account::System(s) => (s.kind(), None),
        };
        written.push(EntryRow {
            account_id: account.id().to_owned(),
            account_kind,
            volunteer_id,
            amount: *amount,
        });
    }
    insert_entries(conn, &rows)?;
    posted::push(kind);
    Ok(TransactionRow {
        id,
        kind,
        memo: e.memo.to_owned(),
        created_by: e.created_by.map(VolunteerId::to_string),
        created_at: at,
        entries: written,
    })
}

/// Moves a volunteer's account by `amount` (L2/L3: one conditional UPDATE, no read-then-write
/// window; refused with `insufficient-points` if the balance would go below zero) and counts
/// it in the totals `totals_kind` keeps. Answers the entry's `seq`, `balance_after`, and its
/// time: `now`, or the account's latest posting's if that is later (a request that began first
/// but waited for this row), so a statement's times never run backwards along its `seq`.
fn move_account(
    conn: &mut DbConnection,
    volunteer: &VolunteerId,
    totals_kind: Kind,
    amount: i64,
    now: NaiveDateTime,
) -> Result<(i64, i64, NaiveDateTime), AppError> {
    let (earned, spent, donated) = totals_kind.totals_delta(amount);
    let latest = case_when(accounts::last_posted_at.gt(now), accounts::last_posted_at)
        .otherwise(Some(now).into_sql::<Nullable<Timestamp>>());
    let moved: Option<(i64, i64, Option<NaiveDateTime>)> = Prepared(
        diesel::update(
            accounts::table
                .filter(accounts::id.eq(volunteer))
                .filter(accounts::kind.eq(AccountKind::Volunteer))
                .filter(accounts::balance.ge(-amount)),
        )
        .set((
            accounts::balance.eq(accounts::balance + amount),
            accounts::earned_total.eq(accounts::earned_total + earned),
            accounts::spent_total.eq(accounts::spent_total + spent),
            accounts::donated_total.eq(accounts::donated_total + donated),
            accounts::entry_count.eq(accounts::entry_count + 1),
            accounts::last_posted_at.eq(latest),
        ))
        .returning((
            accounts::balance,
            accounts::entry_count,
            accounts::last_posted_at,
        )),
    )
    .get_result(conn)
    .optional()?;
    match moved {
        Some((balance, seq, posted_at)) => Ok((seq, balance, posted_at.unwrap_or(now))),
        None if amount < 0 => Err(AppError::Conflict(Conflict::InsufficientPoints)),
        None => Err(AppError::NotFound("account")),
    }
}

/// One ledger entry to write.
#[derive(Insertable)]
#[diesel(table_name = entries, treat_none_as_default_value = false)]
struct NewEntry {
    id: String,
    transaction_id: String,
    account_id: String,
    amount: i64,
    seq: Option<i64>,
    balance_after: Option<i64>,
    created_at: NaiveDateTime,
}

/// Writes a posting's entries in one multi-row INSERT, after its account rows moved (one
/// round trip, not one per leg). Diesel's multi-row insert compiles per backend, not through
/// the connection enum. A posting of two legs (nearly every one) is inserted as an array of
/// two, a statement of fixed shape that diesel prepares once and reuses; a slice of any length
/// is a new statement each time.
fn insert_entries(conn: &mut DbConnection, rows: &[NewEntry]) -> Result<(), AppError> {
    let insert = diesel::insert_into(entries::table);
    match (conn, <&[NewEntry; 2]>::try_from(rows)) {
        (DbConnection::Pg(c), Ok(pair)) => insert.values(pair).execute(c)?,
        (DbConnection::Sqlite(c), Ok(pair)) => insert.values(pair).execute(c)?,
        (DbConnection::Pg(c), Err(_)) => insert.values(rows).execute(c)?,
        (DbConnection::Sqlite(c), Err(_)) => insert.values(rows).execute(c)?,
    };
    Ok(())
}

/// A volunteer account's cached figures: its points, and the hours the log's state machine
/// keeps beside them (minutes of approved logs, proposed points of submitted ones).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = accounts)]
pub struct AccountFigures {
    pub balance: i64,
    pub earned_total: i64,
    pub spent_total: i64,
    pub donated_total: i64,
    pub minutes_served: i64,
    pub pending_points: i64,
}

/// A volunteer's balance, totals and hours: one primary-key read, whatever the ledger's size.
pub fn figures(
    conn: &mut DbConnection,
    volunteer_id: &VolunteerId,
) -> Result<Option<AccountFigures>, AppError> {
    Ok(accounts::table
        .filter(accounts::volunteer_id.eq(volunteer_id))
        .select(AccountFigures::as_select())
        .first(conn)
        .optional()?)
}

/// One line of a volunteer's statement (an entry with its transaction's kind and memo).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = entries)]
pub struct StatementLine {
    pub id: String,
    pub transaction_id: String,
    #[diesel(select_expression = txs::kind)]
    pub kind: Kind,
    pub amount: i64,
    pub balance_after: Option<i64>,
    pub seq: Option<i64>,
    #[diesel(select_expression = txs::memo)]
    pub memo: String,
    pub created_at: NaiveDateTime,
}

impl StatementLine {
    /// The keyset position of this line.
    pub fn cursor(&self) -> Cursor {
        Cursor {
            key: self.seq.unwrap_or_default().to_string(),
            id: self.id.clone(),
        }
    }
}

/// A statement page, newest first by ledger order: a keyset walk down the
/// `(account_id, seq)` index, so a page costs the same at any ledger size. Up to `limit + 1`.
pub fn statement(
    conn: &mut DbConnection,
    volunteer_id: &VolunteerId,
    limit: i64,
    after: Option<&Cursor>,
) -> Result<Vec<StatementLine>, AppError> {
    let mut q = entries::table
        .inner_join(txs::table)
        .filter(entries::account_id.eq(volunteer_id))
        .select(StatementLine::as_select())
        .order(entries::seq.desc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(c) = after {
        let seq: i64 = c
            .key
            .parse()
            .map_err(|_| AppError::BadRequest("the cursor is not valid".to_owned()))?;
        q = q.filter(entries::seq.lt(seq));
    }
    Ok(q.load(conn)?)
}

/// A transaction with its entries.
#[derive(Debug, Clone)]
pub struct TransactionRow {
    pub id: TransactionId,
    pub kind: Kind,
    pub memo: String,
    pub created_by: Option<String>,
    pub created_at: NaiveDateTime,
    pub entries: Vec<EntryRow>,
}

/// One leg of a transaction (an entry with its account's kind and volunteer).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = entries)]
pub struct EntryRow {
    pub account_id: String,
    #[diesel(select_expression = accounts::kind)]
    pub account_kind: AccountKind,
    #[diesel(select_expression = accounts::volunteer_id)]
    pub volunteer_id: Option<VolunteerId>,
    pub amount: i64,
}

/// The transaction with this id and its entries.
pub fn find_transaction(
    conn: &mut DbConnection,
    id: &TransactionId,
) -> Result<Option<TransactionRow>, AppError> {
    let head: Option<(TransactionId, Kind, String, Option<String>, NaiveDateTime)> = txs::table
        .find(id)
        .select((
            txs::id,
            txs::kind,
            txs::memo,
            txs::created_by,
            txs::created_at,
        ))
        .first(conn)
        .optional()?;
    let Some((id, kind, memo, created_by, created_at)) = head else {
        return Ok(None);
    };
    let legs = entries::table
        .inner_join(accounts::table)
        .filter(entries::transaction_id.eq(&id))
        .select(EntryRow::as_select())
        .order(entries::account_id)
        .load(conn)?;
    Ok(Some(TransactionRow {
        id,
        kind,
        memo,
        created_by,
        created_at,
        entries: legs,
    }))
}
