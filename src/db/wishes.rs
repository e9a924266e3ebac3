//! Micro-wishes (微心愿): staff record them, a person adopts one, fulfils it, and staff confirm
//! it, which credits the adopter from the fund.
//!
//! Every move is ONE conditional `UPDATE ... WHERE status IN (<from>)`: of concurrent adopters,
//! confirmers and cancellers exactly one changes the row and the others find 0 rows and are
//! refused with the move's 409. The credit of a confirmation is posted in the caller's same
//! transaction (L7), at most once per wish (L4: UNIQUE `ledger_transactions (wish_id, kind)`
//! and `wishes.transaction_id`).

use chrono::NaiveDateTime;
use diesel::{dsl, prelude::*};

use super::keyset::before_in_time;
use super::ledger::{self, Cause, Event, Kind};
use super::schema::{teams, users, wishes};
use super::DbConnection;
use crate::domain::ids::{Id, TeamId, TransactionId, VolunteerId, WishId};
use crate::domain::page::Cursor;
use crate::domain::rule::Rule;
use crate::domain::wishes::{Move, WishStatus, MAX_HELD};
use crate::error::{AppError, Conflict};

/// A stored wish.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = wishes)]
pub struct WishRow {
    pub id: WishId,
    pub title: String,
    pub description: Option<String>,
    pub beneficiary: String,
    pub team_id: Option<TeamId>,
    pub points: i64,
    pub due_at: Option<NaiveDateTime>,
    pub status: WishStatus,
    pub created_by: VolunteerId,
    pub created_at: NaiveDateTime,
    pub adopted_by: Option<VolunteerId>,
    pub adopted_at: Option<NaiveDateTime>,
    pub fulfilment_note: Option<String>,
    pub fulfilled_at: Option<NaiveDateTime>,
    pub rejection_reason: Option<String>,
    pub confirmed_by: Option<VolunteerId>,
    pub confirmed_at: Option<NaiveDateTime>,
    pub confirm_note: Option<String>,
    pub points_awarded: Option<i64>,
    pub transaction_id: Option<TransactionId>,
    pub cancel_reason: Option<String>,
    pub cancelled_by: Option<VolunteerId>,
    pub cancelled_at: Option<NaiveDateTime>,
}

/// A wish with its adopter's name.
#[derive(Debug, Clone, Queryable, Selectable)]
pub struct WishView {
    #[diesel(embed)]
    pub wish: WishRow,
    #[diesel(select_expression = users::name.nullable())]
    #[diesel(select_expression_type = diesel::dsl::Nullable<users::name>)]
    pub adopted_by_name: Option<String>,
}

/// Who asks.
#[derive(Debug, Clone, Copy)]
pub struct Caller<'a> {
    pub id: &'a VolunteerId,
    pub is_staff: bool,
}

impl<'a> Caller<'a> {
    /// Staff member `id` (who sees every wish).
    pub fn staff(id: &'a VolunteerId) -> Caller<'a> {
        Caller { id, is_staff: true }
    }
}

impl WishView {
    /// The stored status.
    pub fn status(&self) -> WishStatus {
        self.wish.status
    }

    /// Whether `who` adopted it and still has it (release clears the adopter).
    pub fn is_adopter(&self, who: &VolunteerId) -> bool {
        self.wish.adopted_by.as_ref() == Some(who)
    }

    /// Staff see every wish; others see open ones and those they adopted.
    pub fn visible_to(&self, c: Caller<'_>) -> bool {
        c.is_staff || self.status() == WishStatus::Open || self.is_adopter(c.id)
    }

    /// Whether `c` may see the beneficiary: staff and the adopter only.
    pub fn beneficiary_visible_to(&self, c: Caller<'_>) -> bool {
        c.is_staff || self.is_adopter(c.id)
    }

    /// The keyset position of this wish in a list (newest first).
    pub fn cursor(&self) -> Cursor {
        Cursor {
            key: self
                .wish
                .created_at
                .and_utc()
                .timestamp_micros()
                .to_string(),
            id: self.wish.id.as_str().to_owned(),
        }
    }
}

/// The wish with this id and its adopter's name.
pub fn find(conn: &mut DbConnection, id: &WishId) -> Result<Option<WishView>, AppError> {
    Ok(wishes::table
        .left_join(users::table.on(users::id.nullable().eq(wishes::adopted_by)))
        .filter(wishes::id.eq(id))
        .select(WishView::as_select())
        .first(conn)
        .optional()?)
}

fn get(conn: &mut DbConnection, id: &WishId) -> Result<WishView, AppError> {
    find(conn, id)?.ok_or(AppError::NotFound("wish"))
}

/// A page of wishes, newest first: all of them for staff, for anyone else the open ones and
/// those they adopted; optionally of one status. Up to `limit + 1` rows.
///
/// Anyone else's page is merged from two keyset walks, each at most `limit + 1` rows: the open
/// wishes down `wishes (status, created_at, id)` and theirs down `wishes (adopted_by,
/// created_at, id)`, rather than every wish newest first, each looked at to see whether it is
/// open or theirs.
pub fn list(
    conn: &mut DbConnection,
    c: Caller<'_>,
    status: Option<WishStatus>,
    limit: i64,
    after: Option<&Cursor>,
) -> Result<Vec<WishView>, AppError> {
    let page = || -> Result<_, AppError> {
        let mut q = wishes::table
            .left_join(users::table.on(users::id.nullable().eq(wishes::adopted_by)))
            .select(WishView::as_select())
            .order((wishes::created_at.desc(), wishes::id.desc()))
            .limit(limit + 1)
            .into_boxed();
        if let Some(s) = status {
            q = q.filter(wishes::status.eq(s));
        }
        if let Some(cur) = after {
            q = q.filter(before_in_time(wishes::created_at, wishes::id, cur)?);
        }
        Ok(q)
    };
    if c.is_staff {
        return Ok(page()?.load(conn)?);
    }
    let mut rows: Vec<WishView> = page()?
        .filter(wishes::adopted_by.eq(c.id.clone()))
        .load(conn)?;
    if status.is_none_or(|s| s == WishStatus::Open) {
        let open = page()?.filter(wishes::status.eq(WishStatus::Open.as_str()));
        rows.extend(open.load::<WishView>(conn)?);
    }
    rows.sort_by(|a, b| {
        (b.wish.created_at, b.wish.id.as_str()).cmp(&(a.wish.created_at, a.wish.id.as_str()))
    });
    rows.dedup_by(|a, b| a.wish.id == b.wish.id);
    rows.truncate(usize::try_from(limit + 1).unwrap_or(usize::MAX));
    Ok(rows)
}

/// A wish to record.
pub struct NewWish {
    pub title: String,
    pub description: Option<String>,
    pub beneficiary: String,
    pub team_id: Option<TeamId>,
    pub points: i64,
    pub due_at: Option<NaiveDateTime>,
}

/// Records an `open` wish; an unknown `team_id` is 404.
pub fn create(
    conn: &mut DbConnection,
    new: NewWish,
    by: &VolunteerId,
    now: NaiveDateTime,
) -> Result<WishView, AppError> {
    if let Some(team) = &new.team_id {
        let known: i64 = teams::table
            .filter(teams::id.eq(team))
            .count()
            .get_result(conn)?;
        if known == 0 {
            return Err(AppError::NotFound("team"));
        }
    }
    let id = WishId::fresh();
    diesel::insert_into(wishes::table)
        .values((
            wishes::id.eq(&id),
            wishes::title.eq(&new.title),
            wishes::description.eq(&new.description),
            wishes::beneficiary.eq(&new.beneficiary),
            wishes::team_id.eq(&new.team_id),
            wishes::points.eq(new.points),
            wishes::due_at.eq(new.due_at),
            wishes::status.eq(WishStatus::Open),
            wishes::created_by.eq(by),
            wishes::created_at.eq(now),
        ))
        .execute(conn)?;
    get(conn, &id)
}

type Movable<'a> = dsl::Filter<
    dsl::Filter<wishes::table, dsl::Eq<wishes::id, &'a WishId>>,
    dsl::EqAny<wishes::status, Vec<&'static str>>,
>;

/// Statuses bound as text: PostgreSQL binds `eq_any` as one array, which the connection enum
/// can only build from a built-in type.
fn names(statuses: &[WishStatus]) -> Vec<&'static str> {
    statuses.iter().map(|s| s.as_str()).collect()
}

/// The wish `id` if its status allows `m`: what `m`'s conditional UPDATE targets.
fn movable(id: &WishId, m: Move) -> Movable<'_> {
    wishes::table
        .filter(wishes::id.eq(id))
        .filter(wishes::status.eq_any(names(m.from())))
}

/// Why a move that changed 0 rows was refused, decided from the wish as it is now: 404 if the
/// caller may not see it, the move's 409 if its status does not allow it, else `otherwise`
/// (a wish the caller may see and that is in the right status, but is not theirs to move).
fn refusal(
    conn: &mut DbConnection,
    id: &WishId,
    m: Move,
    c: Caller<'_>,
    otherwise: AppError,
) -> AppError {
    match find(conn, id) {
        Err(e) => e,
        Ok(None) => AppError::NotFound("wish"),
        Ok(Some(w)) if !w.visible_to(c) => AppError::NotFound("wish"),
        Ok(Some(w)) if !w.status().allows(m) => AppError::Conflict(wrong_status(m)),
        Ok(Some(_)) => otherwise,
    }
}

/// Adopts an open wish: 404 if unknown, 409 `wish-not-open` for anyone if it is not open, then
/// 409 `limit-reached` if the caller already holds [`MAX_HELD`] wishes.
///
/// The limit holds under concurrency because the count and the adoption run after
/// [`ledger::hold`] has taken the adopter's account row: two adoptions by one person queue on
/// that row, and on PostgreSQL (READ COMMITTED) the second's count is a new statement that sees
/// the first's commit. A count inside the UPDATE's WHERE would not do: both statements would
/// count from snapshots taken before either committed. On SQLite writers run one at a time.
pub fn adopt(
    conn: &mut DbConnection,
    id: &WishId,
    by: &VolunteerId,
    now: NaiveDateTime,
) -> Result<WishView, AppError> {
    let w = get(conn, id)?;
    if w.status() != WishStatus::Open {
        return Err(AppError::Conflict(wrong_status(Move::Adopt)));
    }
    ledger::hold(conn, by)?;
    let held: i64 = wishes::table
        .filter(wishes::adopted_by.eq(by))
        .filter(wishes::status.eq_any(names(&WishStatus::HELD)))
        .count()
        .get_result(conn)?;
    let n = if held >= MAX_HELD {
        0
    } else {
        diesel::update(movable(id, Move::Adopt))
            .set((
                wishes::status.eq(Move::Adopt.to()),
                wishes::adopted_by.eq(by),
                wishes::adopted_at.eq(now),
            ))
            .execute(conn)?
    };
    if n == 0 {
        // `wish-not-open` answers anyone, as to staff: that a wish exists is no secret.
        let full = AppError::Conflict(Conflict::LimitReached);
        return Err(refusal(conn, id, Move::Adopt, Caller::staff(by), full));
    }
    get(conn, id)
}

/// Gives an adopted wish back (`adopted` → `open`), by its adopter or staff; clears the adopter.
pub fn release(conn: &mut DbConnection, id: &WishId, c: Caller<'_>) -> Result<WishView, AppError> {
    let mut update = diesel::update(movable(id, Move::Release)).into_boxed();
    if !c.is_staff {
        update = update.filter(wishes::adopted_by.eq(c.id.clone()));
    }
    let n = update
        .set((
            wishes::status.eq(Move::Release.to()),
            wishes::adopted_by.eq(None::<VolunteerId>),
            wishes::adopted_at.eq(None::<NaiveDateTime>),
            wishes::rejection_reason.eq(None::<String>),
        ))
        .execute(conn)?;
    if n == 0 {
        let not_theirs = AppError::Forbidden("only its adopter or staff release a wish");
        return Err(refusal(conn, id, Move::Release, c, not_theirs));
    }
    get(conn, id)
}

/// Reports an adopted wish done (`adopted` → `fulfilled`), by its adopter only.
pub fn fulfil(
    conn: &mut DbConnection,
    id: &WishId,
    c: Caller<'_>,
    note: &str,
    now: NaiveDateTime,
) -> Result<WishView, AppError> {
    let n = diesel::update(movable(id, Move::Fulfil).filter(wishes::adopted_by.eq(c.id)))
        .set((
            wishes::status.eq(Move::Fulfil.to()),
            wishes::fulfilment_note.eq(note),
            wishes::fulfilled_at.eq(now),
        ))
        .execute(conn)?;
    if n == 0 {
        let not_theirs = AppError::Forbidden("only its adopter fulfils a wish");
        return Err(refusal(conn, id, Move::Fulfil, c, not_theirs));
    }
    get(conn, id)
}

fn own_wish() -> AppError {
    AppError::SelfApproval("nobody reviews a wish they adopted")
}

/// Loads a wish for a staff review (reject, confirm): 404 if unknown, 403 `self-approval` if
/// the reviewer adopted it, the move's 409 if it is not fulfilled.
fn for_review(
    conn: &mut DbConnection,
    id: &WishId,
    by: &VolunteerId,
    m: Move,
) -> Result<WishView, AppError> {
    let w = get(conn, id)?;
    if w.is_adopter(by) {
        return Err(own_wish());
    }
    if !w.status().allows(m) {
        return Err(AppError::Conflict(wrong_status(m)));
    }
    Ok(w)
}

/// Sends a fulfilled wish back to its adopter (`fulfilled` → `adopted`) with a reason.
pub fn reject(
    conn: &mut DbConnection,
    id: &WishId,
    by: &VolunteerId,
    reason: &str,
) -> Result<WishView, AppError> {
    for_review(conn, id, by, Move::Reject)?;
    let n = diesel::update(movable(id, Move::Reject).filter(wishes::adopted_by.ne(by)))
        .set((
            wishes::status.eq(Move::Reject.to()),
            wishes::rejection_reason.eq(reason),
            wishes::fulfilment_note.eq(None::<String>),
            wishes::fulfilled_at.eq(None::<NaiveDateTime>),
        ))
        .execute(conn)?;
    if n == 0 {
        return Err(refusal(
            conn,
            id,
            Move::Reject,
            Caller::staff(by),
            own_wish(),
        ));
    }
    get(conn, id)
}

/// Confirms a fulfilled wish and credits its adopter `points` (default the wish's; other points
/// need a `note`) from the fund as an `earn`, in the caller's transaction; 0 points make no
/// transaction. The state-machine UPDATE runs first and names the adopter it moved, so of
/// concurrent confirmations (or a confirmation racing a cancellation) one wins and the wish
/// credits at most once (L4).
pub fn confirm(
    conn: &mut DbConnection,
    id: &WishId,
    by: &VolunteerId,
    points: Option<i64>,
    note: Option<&str>,
    now: NaiveDateTime,
) -> Result<WishView, AppError> {
    let w = for_review(conn, id, by, Move::Confirm)?;
    let points = points.unwrap_or(w.wish.points);
    if points != w.wish.points && note.is_none() {
        return Err(AppError::invalid("note", Rule::WishNoteRequired));
    }
    let adopter: Option<Option<VolunteerId>> =
        diesel::update(movable(id, Move::Confirm).filter(wishes::adopted_by.ne(by)))
            .set((
                wishes::status.eq(Move::Confirm.to()),
                wishes::confirmed_by.eq(by),
                wishes::confirmed_at.eq(now),
                wishes::confirm_note.eq(note),
                wishes::points_awarded.eq(points),
            ))
            .returning(wishes::adopted_by)
            .get_result(conn)
            .optional()?;
    let Some(Some(adopter)) = adopter else {
        return Err(refusal(
            conn,
            id,
            Move::Confirm,
            Caller::staff(by),
            own_wish(),
        ));
    };
    if points > 0 {
        let memo = format!("micro-wish: {}", w.wish.title);
        let tx = ledger::credit(
            conn,
            Kind::Earn,
            &adopter,
            points,
            Event {
                memo: &memo,
                created_by: Some(by),
                cause: Cause {
                    wish_id: Some(id.clone()),
                    ..Cause::default()
                },
                now,
            },
        )?;
        diesel::update(wishes::table.find(id))
            .set(wishes::transaction_id.eq(&tx.id))
            .execute(conn)?;
    }
    get(conn, id)
}

/// Cancels an open, adopted or fulfilled wish with a reason (else 409 `wish-closed`); the
/// adopter stays recorded.
pub fn cancel(
    conn: &mut DbConnection,
    id: &WishId,
    by: &VolunteerId,
    reason: &str,
    now: NaiveDateTime,
) -> Result<WishView, AppError> {
    let n = diesel::update(movable(id, Move::Cancel))
        .set((
            wishes::status.eq(Move::Cancel.to()),
            wishes::cancel_reason.eq(reason),
            wishes::cancelled_by.eq(by),
            wishes::cancelled_at.eq(now),
        ))
        .execute(conn)?;
    if n == 0 {
        let closed = AppError::Conflict(wrong_status(Move::Cancel));
        return Err(refusal(conn, id, Move::Cancel, Caller::staff(by), closed));
    }
    get(conn, id)
}

/// The 409 when the wish is in none of the statuses [`Move::from`] starts from.
fn wrong_status(m: Move) -> Conflict {
    match m {
        Move::Adopt => Conflict::WishNotOpen,
        Move::Release | Move::Fulfil => Conflict::WishNotAdopted,
        Move::Reject | Move::Confirm => Conflict::WishNotFulfilled,
        Move::Cancel => Conflict::WishClosed,
    }
}
