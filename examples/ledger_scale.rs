//! Does a balance read or a statement page slow down as an account's history grows?
//!
//! Seeds one account with a short history and one with a long one (default 1,000,000 entries),
//! then times the same reads on both and prints the ratio (long / short) measured in this run.
//!
//! `cargo run --release --example ledger_scale [-- ENTRIES]` (SQLite in a temporary folder);
//! with `DATABASE_URL=postgres://...` it runs in a new PostgreSQL database, dropped afterwards.

#[path = "common/scratch.rs"]
mod scratch;

use std::time::{Duration, Instant};

use diesel::RunQueryDsl;
use volunteer_points::db::{ledger, Backend, Db};
use volunteer_points::domain::ids::{Id, VolunteerId};
use volunteer_points::domain::page::Cursor;

use scratch::Scratch;

const SHORT: i64 = 100;
const ROUNDS: u32 = 2000;

fn main() -> anyhow::Result<()> {
    let long: i64 = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let dir = tempfile::tempdir()?;
    let scratch = Scratch::new(dir.path(), "ledger_scale")?;
    let url = scratch.url.clone();
    let db = Db::connect(&url, 2, Duration::from_secs(30))?;
    db.migrate()?;
    println!(
        "backend: {}; short account {SHORT} entries, long account {long} entries",
        db.backend().name()
    );

    let started = Instant::now();
    seed(&db, "short", SHORT)?;
    seed(&db, "long", long)?;
    println!("seeded in {:.1} s", started.elapsed().as_secs_f64());

    println!(
        "{:<28} {:>12} {:>12} {:>8}",
        "read", "short (µs)", "long (µs)", "ratio"
    );
    for (name, read) in [
        ("balance", Read::Balance),
        ("statement, first page", Read::FirstPage),
        ("statement, middle page", Read::MiddlePage),
    ] {
        let (short, long_t) = time_pair(
            || read.run(&db, &account("short"), SHORT),
            || read.run(&db, &account("long"), long),
        )?;
        println!(
            "{name:<28} {short:>12.1} {long_t:>12.1} {:>8.2}",
            long_t / short
        );
    }

    drop(db);
    drop(scratch);
    Ok(())
}

/// The reads whose cost must not grow with the history.
#[derive(Clone, Copy)]
enum Read {
    Balance,
    FirstPage,
    MiddlePage,
}

impl Read {
    fn run(self, db: &Db, id: &str, entries: i64) -> anyhow::Result<()> {
        let id = &VolunteerId::parse(id).ok_or_else(|| anyhow::anyhow!("not an id: {id}"))?;
        match self {
            Read::Balance => {
                db.read_blocking(|c| ledger::figures(c, id))?;
            }
            Read::FirstPage => {
                db.read_blocking(|c| ledger::statement(c, id, 20, None))?;
            }
            Read::MiddlePage => {
                let cursor = Cursor {
                    key: (entries / 2).to_string(),
                    id: String::new(),
                };
                db.read_blocking(|c| ledger::statement(c, id, 20, Some(&cursor)))?;
            }
        }
        Ok(())
    }
}

fn account(name: &str) -> String {
    let n = if name == "short" { 1 } else { 2 };
    format!("00000000-0000-0000-0000-1000000000{n:02}")
}

/// Median microseconds of one call of `a` and of `b` over `ROUNDS` calls each (after a warm-up).
/// The calls alternate, so background work (autovacuum, checkpoints) weighs on both alike.
fn time_pair(
    mut a: impl FnMut() -> anyhow::Result<()>,
    mut b: impl FnMut() -> anyhow::Result<()>,
) -> anyhow::Result<(f64, f64)> {
    for _ in 0..50 {
        a()?;
        b()?;
    }
    let mut samples = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let t = Instant::now();
        a()?;
        samples.0.push(t.elapsed().as_secs_f64() * 1e6);
        let t = Instant::now();
        b()?;
        samples.1.push(t.elapsed().as_secs_f64() * 1e6);
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    Ok((median(samples.0), median(samples.1)))
}

/// One person with `n` entries of 1 point each (a transaction per entry, balanced by the fund).
fn seed(db: &Db, name: &str, n: i64) -> anyhow::Result<()> {
    let id = account(name);
    let fund = ledger::COMMUNITY_FUND;
    let series = match db.backend() {
        Backend::Sqlite => {
            format!("WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {n})")
        }
        Backend::Postgres => format!("WITH s(n) AS (SELECT generate_series(1, {n}))"),
    };
    let statements = [
        format!("INSERT INTO users (id, phone, name, role, password_hash, created_at) VALUES ('{id}', '1{}', '{name}', 'volunteer', 'x', CURRENT_TIMESTAMP)", if name == "short" { "3000000001" } else { "3000000002" }),
        format!("INSERT INTO accounts (id, kind, volunteer_id, balance, entry_count, created_at) VALUES ('{id}', 'volunteer', '{id}', {n}, {n}, CURRENT_TIMESTAMP)"),
        format!("{series} INSERT INTO ledger_transactions (id, kind, memo, created_at) SELECT '{name}-t-' || n, 'adjust', 'seed', CURRENT_TIMESTAMP FROM s"),
        format!("{series} INSERT INTO ledger_entries (id, transaction_id, account_id, amount, seq, balance_after, created_at) SELECT '{name}-v-' || n, '{name}-t-' || n, '{id}', 1, n, n, CURRENT_TIMESTAMP FROM s"),
        format!("{series} INSERT INTO ledger_entries (id, transaction_id, account_id, amount, created_at) SELECT '{name}-f-' || n, '{name}-t-' || n, '{fund}', -1, CURRENT_TIMESTAMP FROM s"),
    ];
    db.write_blocking(|conn| {
        for sql in &statements {
            diesel::sql_query(sql.as_str()).execute(conn)?;
        }
        Ok(())
    })?;
    if db.backend() == Backend::Postgres {
        db.read_blocking(|conn| Ok(diesel::sql_query("ANALYZE").execute(conn)?))?;
    }
    Ok(())
}
