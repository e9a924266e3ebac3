//! Points: balances, statements, adjustments, transactions and the integrity check.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::extract::{json, run_checked, Command, PageParams};
use super::people::visible_person;
use crate::auth::{Admin, CurrentUser, Staff};
use crate::db::ledger::{self, Cause, Event, Kind, StatementLine, TransactionRow};
use crate::db::verify::Report;
use crate::db::{users, DbConnection};
use crate::domain::page::Page;
use crate::domain::text;
use crate::error::{AppError, FieldErrors};
use crate::startup::AppState;

/// A volunteer's points and hours.
#[derive(Serialize, ToSchema)]
pub struct Balance {
    pub volunteer_id: String,
    pub balance: i64,
    /// Points from approvals and confirmed wishes less reversals.
    pub earned_total: i64,
    /// Points of redemptions less refunds.
    pub spent_total: i64,
    /// Points given to the community fund.
    pub donated_total: i64,
    /// Minutes of approved, not reversed, logs.
    pub minutes_served: i64,
    /// `points_proposed` of submitted logs.
    pub pending_points: i64,
}

/// One statement line, signed as the volunteer sees it.
#[derive(Serialize, ToSchema)]
pub struct Entry {
    pub id: String,
    pub transaction_id: String,
    /// `earn`, `redeem`, `refund`, `adjust`, `reversal`, `donate` or `opening`.
    pub kind: String,
    pub amount: i64,
    pub balance_after: i64,
    pub memo: String,
    pub created_at: DateTime<Utc>,
}

impl From<StatementLine> for Entry {
    fn from(l: StatementLine) -> Entry {
        Entry {
            id: l.id,
            transaction_id: l.transaction_id,
            kind: l.kind,
            amount: l.amount,
            balance_after: l.balance_after.unwrap_or_default(),
            memo: l.memo,
            created_at: l.created_at.and_utc(),
        }
    }
}

/// One leg of a transaction.
#[derive(Serialize, ToSchema)]
pub struct TransactionEntry {
    pub account_id: String,
    /// `volunteer`, `community_fund` or `redemptions`.
    pub account_kind: String,
    pub volunteer_id: Option<String>,
    pub amount: i64,
}

/// A ledger transaction; its entries sum to zero.
#[derive(Serialize, ToSchema)]
pub struct Transaction {
    pub id: String,
    pub kind: String,
    pub memo: String,
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub entries: Vec<TransactionEntry>,
}

impl From<TransactionRow> for Transaction {
    fn from(t: TransactionRow) -> Transaction {
        Transaction {
            id: t.id,
            kind: t.kind,
            memo: t.memo,
            created_by: t.created_by,
            created_at: t.created_at.and_utc(),
            entries: t
                .entries
                .into_iter()
                .map(|e| TransactionEntry {
                    account_id: e.account_id,
                    account_kind: e.account_kind,
                    volunteer_id: e.volunteer_id,
                    amount: e.amount,
                })
                .collect(),
        }
    }
}

/// `POST /ledger/adjustments`.
#[derive(Deserialize, ToSchema)]
pub struct AdjustmentRequest {
    pub volunteer_id: String,
    /// ±1 to ±1,000,000, not 0.
    pub amount: i64,
    /// 1–500 characters.
    pub reason: String,
}

/// The balance of `volunteer_id`, or `None` if there is no such person.
pub fn balance_of(
    conn: &mut DbConnection,
    volunteer_id: &str,
) -> Result<Option<Balance>, AppError> {
    let Some(f) = ledger::figures(conn, volunteer_id)? else {
        return Ok(None);
    };
    let (minutes_served, pending_points) = crate::db::activities::hours_of(conn, volunteer_id)?;
    Ok(Some(Balance {
        volunteer_id: volunteer_id.to_owned(),
        balance: f.balance,
        earned_total: f.earned_total,
        spent_total: f.spent_total,
        donated_total: f.donated_total,
        minutes_served,
        pending_points,
    }))
}

async fn balance_response(state: &AppState, id: String) -> Result<HttpResponse, AppError> {
    let balance = state
        .db
        .read(move |conn| balance_of(conn, &id))
        .await?
        .ok_or(AppError::NotFound("volunteer"))?;
    Ok(json(StatusCode::OK, &balance))
}

async fn statement_response(
    state: &AppState,
    id: String,
    page: &PageParams,
) -> Result<HttpResponse, AppError> {
    let (limit, cursor) = page.parse()?;
    let rows = state
        .db
        .read(move |conn| {
            if users::find(conn, &id)?.is_none() {
                return Err(AppError::NotFound("volunteer"));
            }
            ledger::statement(conn, &id, limit, cursor.as_ref())
        })
        .await?;
    Ok(json(
        StatusCode::OK,
        &Page::from_rows(rows, limit, StatementLine::cursor, Entry::from),
    ))
}

#[utoipa::path(get, path = "/api/v1/me/balance", tag = "points",
    responses((status = 200, body = Balance), (status = 401, body = crate::error::Problem)), security(("bearer" = [])))]
pub async fn my_balance(
    state: web::Data<AppState>,
    caller: CurrentUser,
) -> Result<HttpResponse, AppError> {
    balance_response(&state, caller.id.to_string()).await
}

#[utoipa::path(get, path = "/api/v1/me/ledger", tag = "points", params(PageParams),
    responses((status = 200, body = inline(Page<Entry>)), (status = "4XX", body = crate::error::Problem)), security(("bearer" = [])))]
pub async fn my_ledger(
    state: web::Data<AppState>,
    caller: CurrentUser,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, AppError> {
    statement_response(&state, caller.id.to_string(), &page).await
}

#[utoipa::path(get, path = "/api/v1/volunteers/{id}/balance", tag = "points",
    responses((status = 200, body = Balance), (status = "4XX", body = crate::error::Problem)), security(("bearer" = [])))]
pub async fn balance(
    state: web::Data<AppState>,
    caller: CurrentUser,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    balance_response(&state, visible_person(&caller, &path)?).await
}

#[utoipa::path(get, path = "/api/v1/volunteers/{id}/ledger", tag = "points", params(PageParams),
    responses((status = 200, body = inline(Page<Entry>)), (status = "4XX", body = crate::error::Problem)), security(("bearer" = [])))]
pub async fn statement(
    state: web::Data<AppState>,
    caller: CurrentUser,
    path: web::Path<Uuid>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, AppError> {
    statement_response(&state, visible_person(&caller, &path)?, &page).await
}

#[utoipa::path(post, path = "/api/v1/ledger/adjustments", tag = "points", request_body = AdjustmentRequest,
    params(("Idempotency-Key" = String, Header, description = "required")),
    responses((status = 201, body = Transaction), (status = "4XX", body = crate::error::Problem)), security(("bearer" = [])))]
pub async fn adjust(
    state: web::Data<AppState>,
    admin: Admin,
    cmd: Command<AdjustmentRequest>,
) -> Result<HttpResponse, AppError> {
    cmd.require_key()?;
    let checked = check_adjustment(&admin.0, &cmd.body);
    let admin_id = admin.0.id.to_string();
    run_checked(
        &state,
        &admin.0,
        cmd.keyed,
        StatusCode::CREATED,
        checked,
        move |conn, now, (volunteer, amount, reason)| {
            let volunteer = volunteer.to_string();
            if users::find(conn, &volunteer)?.is_none() {
                return Err(AppError::NotFound("volunteer"));
            }
            let event = Event {
                memo: &reason,
                created_by: Some(&admin_id),
                cause: Cause::default(),
                now,
            };
            let id = if amount > 0 {
                ledger::credit(conn, Kind::Adjust, &volunteer, amount, event)?
            } else {
                let fund = ledger::COMMUNITY_FUND;
                ledger::debit(conn, Kind::Adjust, &volunteer, fund, -amount, event)?
            };
            let tx =
                ledger::find_transaction(conn, &id)?.ok_or(AppError::NotFound("transaction"))?;
            Ok(Transaction::from(tx))
        },
    )
    .await
}

/// The volunteer, signed amount and trimmed reason of an adjustment, or why it is refused.
fn check_adjustment(
    admin: &CurrentUser,
    body: &AdjustmentRequest,
) -> Result<(Uuid, i64, String), AppError> {
    let mut errs = FieldErrors::default();
    // `i64::MIN` has no absolute value: it is out of range, not an overflow.
    let size = body.amount.checked_abs().unwrap_or(i64::MAX);
    let amount = errs.check(
        "amount",
        text::in_range(size, 1, 1_000_000).map(|_| body.amount),
    );
    let reason = errs.check("reason", text::reason(&body.reason));
    let (Some(amount), Some(reason)) = (amount, reason) else {
        return Err(errs.into_error());
    };
    let volunteer =
        Uuid::parse_str(&body.volunteer_id).map_err(|_| AppError::NotFound("volunteer"))?;
    if volunteer == admin.id {
        return Err(AppError::SelfApproval("nobody adjusts their own balance"));
    }
    Ok((volunteer, amount, reason))
}

#[utoipa::path(get, path = "/api/v1/ledger/transactions/{id}", tag = "points",
    responses((status = 200, body = Transaction), (status = "4XX", body = crate::error::Problem)), security(("bearer" = [])))]
pub async fn transaction(
    state: web::Data<AppState>,
    _staff: Staff,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    let id = path.to_string();
    let tx = state
        .db
        .read(move |conn| ledger::find_transaction(conn, &id))
        .await?
        .ok_or(AppError::NotFound("transaction"))?;
    Ok(json(StatusCode::OK, &Transaction::from(tx)))
}

#[utoipa::path(get, path = "/api/v1/ledger/verify", tag = "points",
    responses((status = 200, body = Report), (status = "4XX", body = crate::error::Problem)), security(("bearer" = [])))]
pub async fn verify(state: web::Data<AppState>, _admin: Admin) -> Result<HttpResponse, AppError> {
    let report = state.db.read(crate::db::verify_all).await?;
    Ok(json(StatusCode::OK, &report))
}
