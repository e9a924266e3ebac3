//! Points: balances, statements, adjustments, transactions and the integrity check.

use actix_web::http::StatusCode;
use actix_web::{get, post};
use actix_web::{web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::extract::{int, json, read_page, run_checked, Command, PageParams};
use super::people::visible_person;
use crate::auth::{Admin, CurrentUser, Staff};
use crate::db::adjustments::{self, Adjustment};
use crate::db::ledger::{self, StatementLine, TransactionRow};
use crate::db::verify::Report;
use crate::db::{users, DbConnection};
use crate::domain::ids::{TransactionId, VolunteerId};
use crate::domain::text;
use crate::error::{parse_id, AppError, FieldErrors};
use crate::startup::AppState;

/// A volunteer's points and hours.
#[derive(Serialize, ToSchema)]
pub struct Balance {
    #[schema(format = Uuid)]
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
    #[schema(format = Uuid)]
    pub id: String,
    #[schema(format = Uuid)]
    pub transaction_id: String,
    /// `earn`, `redeem`, `refund`, `adjust`, `reversal`, `donate` or `opening`.
    #[schema(value_type = crate::api::schema::TransactionKind)]
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
            kind: l.kind.as_str().to_owned(),
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
    #[schema(format = Uuid)]
    pub account_id: String,
    /// `volunteer`, `community_fund` or `redemptions`.
    #[schema(value_type = crate::api::schema::AccountKind)]
    pub account_kind: String,
    #[schema(format = Uuid)]
    pub volunteer_id: Option<String>,
    pub amount: i64,
}

/// A ledger transaction; its entries sum to zero.
#[derive(Serialize, ToSchema)]
pub struct Transaction {
    #[schema(format = Uuid)]
    pub id: String,
    #[schema(value_type = crate::api::schema::TransactionKind)]
    pub kind: String,
    pub memo: String,
    #[schema(format = Uuid)]
    pub created_by: Option<String>,
    pub created_at: DateTime<Utc>,
    pub entries: Vec<TransactionEntry>,
}

impl From<TransactionRow> for Transaction {
    fn from(t: TransactionRow) -> Transaction {
        Transaction {
            id: t.id.to_string(),
            kind: t.kind.as_str().to_owned(),
            memo: t.memo,
            created_by: t.created_by,
            created_at: t.created_at.and_utc(),
            entries: t
                .entries
                .into_iter()
                .map(|e| TransactionEntry {
                    account_id: e.account_id,
                    account_kind: e.account_kind.as_str().to_owned(),
                    volunteer_id: e.volunteer_id.map(|v| v.to_string()),
                    amount: e.amount,
                })
                .collect(),
        }
    }
}

/// `POST /ledger/adjustments`.
#[derive(Deserialize, ToSchema)]
pub struct AdjustmentRequest {
    #[schema(format = Uuid)]
    pub volunteer_id: String,
    /// ±1 to ±1,000,000, not 0.
    #[schema(minimum = -1000000, maximum = 1000000)]
    #[serde(deserialize_with = "int")]
    pub amount: i64,
    /// 1–500 characters.
    #[schema(min_length = 1, max_length = 500)]
    pub reason: String,
}

/// The balance of `volunteer_id`, or `None` if there is no such person.
pub fn balance_of(
    conn: &mut DbConnection,
    volunteer_id: &VolunteerId,
) -> Result<Option<Balance>, AppError> {
    let Some(f) = ledger::figures(conn, volunteer_id)? else {
        return Ok(None);
    };
    Ok(Some(Balance {
        volunteer_id: volunteer_id.to_string(),
        balance: f.balance,
        earned_total: f.earned_total,
        spent_total: f.spent_total,
        donated_total: f.donated_total,
        minutes_served: f.minutes_served,
        pending_points: f.pending_points,
    }))
}

async fn balance_response(state: &AppState, id: VolunteerId) -> Result<HttpResponse, AppError> {
    let balance = state
        .db
        .read_point(move |conn| balance_of(conn, &id))
        .await?
        .ok_or(AppError::NotFound("volunteer"))?;
    Ok(json(StatusCode::OK, &balance))
}

async fn statement_response(
    state: &AppState,
    id: VolunteerId,
    page: &PageParams,
) -> Result<HttpResponse, AppError> {
    read_page(
        state,
        page,
        move |conn, limit, cursor| {
            if users::find(conn, &id)?.is_none() {
                return Err(AppError::NotFound("volunteer"));
            }
            ledger::statement(conn, &id, limit, cursor)
        },
        StatementLine::cursor,
        Entry::from,
    )
    .await
}

#[utoipa::path(tag = "points",
    responses((status = 200, body = Balance)))]
#[get("/me/balance")]
pub async fn my_balance(
    state: web::Data<AppState>,
    caller: CurrentUser,
) -> Result<HttpResponse, AppError> {
    balance_response(&state, caller.id).await
}

#[utoipa::path(tag = "points", params(PageParams),
    responses((status = 200, body = crate::api::schema::EntryPage)))]
#[get("/me/ledger")]
pub async fn my_ledger(
    state: web::Data<AppState>,
    caller: CurrentUser,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, AppError> {
    statement_response(&state, caller.id, &page).await
}

#[utoipa::path(tag = "points",
    responses((status = 200, body = Balance)))]
#[get("/volunteers/{id}/balance")]
pub async fn volunteer_balance(
    state: web::Data<AppState>,
    caller: CurrentUser,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    balance_response(
        &state,
        visible_person(&caller, VolunteerId::from(path.into_inner()))?,
    )
    .await
}

#[utoipa::path(tag = "points", params(PageParams),
    responses((status = 200, body = crate::api::schema::EntryPage)))]
#[get("/volunteers/{id}/ledger")]
pub async fn statement(
    state: web::Data<AppState>,
    caller: CurrentUser,
    path: web::Path<Uuid>,
    page: web::Query<PageParams>,
) -> Result<HttpResponse, AppError> {
    statement_response(
        &state,
        visible_person(&caller, VolunteerId::from(path.into_inner()))?,
        &page,
    )
    .await
}

#[utoipa::path(tag = "points", request_body = AdjustmentRequest,
    params(("Idempotency-Key" = String, Header, description = "required")),
    responses(
        (status = 201, body = Transaction),
        (status = 403, description = "forbidden, self-approval"),
        (status = 404, description = "not-found"),
        (status = 409, description = "insufficient-points"),
    ))]
#[post("/ledger/adjustments")]
pub async fn adjust(
    state: web::Data<AppState>,
    admin: Admin,
    cmd: Command<AdjustmentRequest>,
) -> Result<HttpResponse, AppError> {
    cmd.require_key()?;
    let checked = check_adjustment(&admin.0, &cmd.body);
    let admin_id = admin.0.id.clone();
    run_checked(
        &state,
        &admin.0,
        cmd.keyed,
        StatusCode::CREATED,
        checked,
        move |conn, now, (volunteer, amount, reason)| {
            let adjustment = Adjustment {
                volunteer_id: &volunteer,
                amount,
                reason: &reason,
                by: &admin_id,
                now,
            };
            Ok(Transaction::from(adjustments::adjust(conn, adjustment)?))
        },
    )
    .await
}

/// The volunteer, signed amount and trimmed reason of an adjustment, or why it is refused.
fn check_adjustment(
    admin: &CurrentUser,
    body: &AdjustmentRequest,
) -> Result<(VolunteerId, i64, String), AppError> {
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
    let volunteer: VolunteerId = parse_id(&body.volunteer_id)?;
    if volunteer == admin.id {
        return Err(AppError::SelfApproval("nobody adjusts their own balance"));
    }
    Ok((volunteer, amount, reason))
}

#[utoipa::path(tag = "points",
    responses(
        (status = 200, body = Transaction),
        (status = 403, description = "forbidden"),
    ))]
#[get("/ledger/transactions/{id}")]
pub async fn transaction(
    state: web::Data<AppState>,
    _staff: Staff,
    path: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    let id = TransactionId::from(path.into_inner());
    let tx = state
        .db
        .read(move |conn| ledger::find_transaction(conn, &id))
        .await?
        .ok_or(AppError::NotFound("transaction"))?;
    Ok(json(StatusCode::OK, &Transaction::from(tx)))
}

#[utoipa::path(tag = "points",
    responses(
        (status = 200, body = Report),
        (status = 403, description = "forbidden"),
    ))]
#[get("/ledger/verify")]
pub async fn verify(state: web::Data<AppState>, _admin: Admin) -> Result<HttpResponse, AppError> {
    let report = state.db.read(crate::db::verify_all).await?;
    Ok(json(StatusCode::OK, &report))
}
