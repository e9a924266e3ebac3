//! The integrity check (`verify`, API and CLI): LEDGER.md's L1, L2 and L9 over the whole
//! ledger, plus L10 from the rewards module. Read-only; full scans by design, as an audit reads
//! everything.

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};
use serde::Serialize;
use utoipa::ToSchema;

use super::schema::{accounts, ledger_transactions as txs};
use super::DbConnection;
use crate::error::AppError;

/// One broken rule that `verify` found.
#[derive(Debug, Clone, Serialize, ToSchema, PartialEq, Eq)]
#[schema(as = LedgerProblem)]
pub struct Problem {
    /// The LEDGER.md rule (`L1`, `L2`, `L9`, `L10`); `fund` when the fund's figures do not
    /// add up; `hours` when an account's `minutes_served` or `pending_points` is not what its
    /// logs add up to.
    pub rule: String,
    /// What breaks it: `account:<id>`, `transaction:<id>`, `entry:<id>`, `reward:<id>` or
    /// `fund`.
    pub subject: String,
    /// How.
    pub detail: String,
}

/// What `verify` checked and found.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Report {
    /// No rule is broken.
    pub ok: bool,
    pub accounts_checked: i64,
    pub transactions_checked: i64,
    pub problems: Vec<Problem>,
}

#[derive(QueryableByName)]
struct TxSum {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = BigInt)]
    total: i64,
    #[diesel(sql_type = BigInt)]
    legs: i64,
}

#[derive(QueryableByName)]
struct AccountSum {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = BigInt)]
    balance: i64,
    #[diesel(sql_type = BigInt)]
    entry_count: i64,
    #[diesel(sql_type = BigInt)]
    total: i64,
    #[diesel(sql_type = BigInt)]
    entries: i64,
    #[diesel(sql_type = Nullable<BigInt>)]
    last_balance_after: Option<i64>,
    #[diesel(sql_type = BigInt)]
    earned_total: i64,
    #[diesel(sql_type = BigInt)]
    spent_total: i64,
    #[diesel(sql_type = BigInt)]
    earned: i64,
    #[diesel(sql_type = BigInt)]
    spent: i64,
    #[diesel(sql_type = BigInt)]
    donated_total: i64,
    #[diesel(sql_type = BigInt)]
    donated: i64,
}

#[derive(QueryableByName)]
struct ChainBreak {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    account_id: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    seq: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    balance_after: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    expected: Option<i64>,
}

/// Checks L1, L2 and L9 over the whole ledger and names everything that breaks one.
fn ledger_rules(conn: &mut DbConnection) -> Result<Report, AppError> {
    let mut problems = Vec::new();

    // L1: every transaction has two or more entries summing to zero.
    let sums: Vec<TxSum> = diesel::sql_query(
        "SELECT t.id AS id, CAST(COALESCE(SUM(e.amount), 0) AS BIGINT) AS total, \
                CAST(COUNT(e.id) AS BIGINT) AS legs \
         FROM ledger_transactions t LEFT JOIN ledger_entries e ON e.transaction_id = t.id \
         GROUP BY t.id \
         HAVING COALESCE(SUM(e.amount), 0) <> 0 OR COUNT(e.id) < 2",
    )
    .load(conn)?;
    for s in sums {
        problems.push(Problem {
            rule: "L1".into(),
            subject: format!("transaction:{}", s.id),
            detail: format!("{} entries sum to {}, not 0", s.legs, s.total),
        });
    }

    // L2 and L9, per volunteer account: balance >= 0, balance = sum of entries = last
    // entry's balance_after, and the entry count matches. The cached totals must agree with the
    // entries too: earned = earns less their reversals, spent = redemptions less refunds,
    // donated = donations (a reversal counts as the kind it reverses).
    let accounts: Vec<AccountSum> = diesel::sql_query(
        "SELECT a.id AS id, a.balance AS balance, a.entry_count AS entry_count, \
                CAST(COALESCE(SUM(e.amount), 0) AS BIGINT) AS total, \
                CAST(COUNT(e.id) AS BIGINT) AS entries, \
                (SELECT l.balance_after FROM ledger_entries l \
                  WHERE l.account_id = a.id ORDER BY l.seq DESC LIMIT 1) AS last_balance_after, \
                a.earned_total AS earned_total, a.spent_total AS spent_total, \
                CAST(COALESCE(SUM(CASE WHEN COALESCE(o.kind, t.kind) = 'earn' \
                                  THEN e.amount ELSE 0 END), 0) AS BIGINT) AS earned, \
                CAST(-COALESCE(SUM(CASE WHEN COALESCE(o.kind, t.kind) IN ('redeem', 'refund') \
                                   THEN e.amount ELSE 0 END), 0) AS BIGINT) AS spent, \
                a.donated_total AS donated_total, \
                CAST(-COALESCE(SUM(CASE WHEN COALESCE(o.kind, t.kind) = 'donate' \
                                   THEN e.amount ELSE 0 END), 0) AS BIGINT) AS donated \
         FROM accounts a \
         LEFT JOIN ledger_entries e ON e.account_id = a.id \
         LEFT JOIN ledger_transactions t ON t.id = e.transaction_id \
         LEFT JOIN ledger_transactions o ON o.id = t.reverses_id \
         WHERE a.kind = 'volunteer' \
         GROUP BY a.id, a.balance, a.entry_count, a.earned_total, a.spent_total, \
                  a.donated_total",
    )
    .load(conn)?;
    for a in &accounts {
        let subject = format!("account:{}", a.id);
        if a.balance < 0 {
            problems.push(Problem {
                rule: "L2".into(),
                subject: subject.clone(),
                detail: format!("balance is {}", a.balance),
            });
        }
        if a.balance != a.total {
            problems.push(Problem {
                rule: "L9".into(),
                subject: subject.clone(),
                detail: format!(
                    "cached balance {} but entries sum to {}",
                    a.balance, a.total
                ),
            });
        }
        if a.balance != a.last_balance_after.unwrap_or(0) {
            problems.push(Problem {
                rule: "L9".into(),
                subject: subject.clone(),
                detail: format!(
                    "cached balance {} but the last entry's balance_after is {:?}",
                    a.balance, a.last_balance_after
                ),
            });
        }
        let cached = (a.earned_total, a.spent_total, a.donated_total);
        let recomputed = (a.earned, a.spent, a.donated);
        if cached != recomputed {
            problems.push(Problem {
                rule: "L9".into(),
                subject: subject.clone(),
                detail: format!(
                    "cached earned/spent/donated totals {}/{}/{} but entries give {}/{}/{}",
                    cached.0, cached.1, cached.2, recomputed.0, recomputed.1, recomputed.2
                ),
            });
        }
        if a.entry_count != a.entries {
            problems.push(Problem {
                rule: "L9".into(),
                subject,
                detail: format!("entry_count {} but {} entries", a.entry_count, a.entries),
            });
        }
    }

    // L2 and L9 entry by entry: each balance_after is never negative and equals the previous
    // one plus this amount; positions run 1, 2, 3, ... without gaps.
    let breaks: Vec<ChainBreak> = diesel::sql_query(
        "SELECT id, account_id, seq, balance_after, expected FROM ( \
           SELECT e.id AS id, e.account_id AS account_id, e.seq AS seq, \
                  e.balance_after AS balance_after, \
                  COALESCE(LAG(e.balance_after) OVER w, 0) + e.amount AS expected, \
                  COALESCE(LAG(e.seq) OVER w, 0) + 1 AS expected_seq \
           FROM ledger_entries e JOIN accounts a ON a.id = e.account_id \
           WHERE a.kind = 'volunteer' \
           WINDOW w AS (PARTITION BY e.account_id ORDER BY e.seq) \
         ) chain \
         WHERE balance_after IS NULL OR balance_after < 0 \
            OR balance_after <> expected OR seq <> expected_seq",
    )
    .load(conn)?;
    for b in breaks {
        let rule = if b.balance_after.is_some_and(|v| v < 0) {
            "L2"
        } else {
            "L9"
        };
        problems.push(Problem {
            rule: rule.into(),
            subject: format!("entry:{}", b.id),
            detail: format!(
                "entry {:?} of account {} has balance_after {:?}, expected {:?}",
                b.seq, b.account_id, b.balance_after, b.expected
            ),
        });
    }

    let accounts_checked: i64 = accounts::table.count().get_result(conn)?;
    let transactions_checked: i64 = txs::table.count().get_result(conn)?;
    Ok(Report {
        ok: problems.is_empty(),
        accounts_checked,
        transactions_checked,
        problems,
    })
}

/// Every integrity rule `verify` knows (L1, L2, L9, L10, the fund's figures, the hours) over
/// the whole database.
pub fn all(conn: &mut DbConnection) -> Result<Report, AppError> {
    let mut report = ledger_rules(conn)?;
    report.problems.extend(super::rewards::verify(conn)?);
    report.problems.extend(super::fund::verify(conn)?);
    report.problems.extend(super::activity_logs::verify(conn)?);
    report.ok = report.problems.is_empty();
    Ok(report)
}
