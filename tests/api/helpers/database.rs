//! Behind the service's back: the few things tests do straight on the database (promote a user,
//! verify the ledger, plant a state no request can make, count rows, hold row locks or the write
//! lock, purge idempotency keys). The one place tests reach into the library's `db` module, so
//! its signatures change in one file.

use std::sync::mpsc;
use std::thread::JoinHandle;

use chrono::NaiveDateTime;
use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
use volunteer_points::db::schema::idempotency_keys as keys;
use volunteer_points::db::users::NewUser;
use volunteer_points::db::{self, idempotency, users, DbConnection};
use volunteer_points::domain::ids::{Id, VolunteerId};
use volunteer_points::domain::people::{Phone, Role};
use volunteer_points::error::AppError;

use super::{unique_phone, TestApp};

/// The community fund's account id, the other side of grants and adjustments.
pub const COMMUNITY_FUND: &str = db::ledger::COMMUNITY_FUND;
/// The account redemptions pay into.
pub const REDEMPTIONS: &str = db::ledger::REDEMPTIONS;

/// How many expired idempotency keys one write transaction of the purge deletes.
pub const IDEMPOTENCY_PURGE_BATCH: i64 = idempotency::PURGE_BATCH;

/// How long an idempotency key is kept.
pub const IDEMPOTENCY_RETENTION: chrono::TimeDelta = idempotency::RETENTION;

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

impl TestApp {
    /// Gives the person `id` this role.
    pub(super) fn promote(&self, id: &str, role: Role) {
        let id = VolunteerId::parse(id).expect("a volunteer id");
        self.db
            .write_blocking(move |conn| users::set_role(conn, &id, role).map(|_| ()))
            .expect("promote");
    }

    /// `n` volunteers made straight in the database (no password hashing: only their rows
    /// matter), all at the same time.
    pub fn plant_people(&self, n: usize) {
        let now = self.clock.now().naive_utc();
        self.db
            .write_blocking(|conn| {
                for i in 0..n {
                    let phone = Phone::parse(&unique_phone()).expect("a phone");
                    let name = format!("志愿者{i}");
                    let person = NewUser {
                        phone: &phone,
                        name: &name,
                        role: Role::Volunteer,
                        password_hash: "",
                        now,
                    };
                    users::create(conn, person)?;
                }
                Ok(())
            })
            .expect("planted");
    }

    /// The integrity report, read straight from the database by the library's verify.
    pub fn verify(&self) -> db::verify::Report {
        self.db.read_blocking(db::verify_all).expect("verify runs")
    }

    /// Runs `sql` in a write transaction; the database's answer, refusal included.
    pub fn execute(&self, sql: &str) -> Result<usize, AppError> {
        let sql = sql.to_owned();
        self.db
            .write_blocking(move |conn| Ok(diesel::sql_query(sql).execute(conn)?))
    }

    /// Runs `sql`, which must succeed: for tests that plant a state no request can make.
    pub fn plant(&self, sql: &str) {
        self.execute(sql).expect("plant");
    }

    /// The `n` that `sql` (`SELECT CAST(COUNT(*) AS BIGINT) AS n ...`) counts, read on the
    /// blocking pool so the requests a test has in flight keep going.
    pub async fn count(&self, sql: &'static str) -> i64 {
        self.db
            .read(move |conn| Ok(diesel::sql_query(sql).get_result::<Count>(conn)?.n))
            .await
            .expect("count")
    }

    /// One purge round of the idempotency keys expired at `now`, as the service runs it (a
    /// batch per write transaction until none is left); how many went.
    pub fn purge_idempotency_keys(&self, now: NaiveDateTime) -> usize {
        idempotency::purge_expired(&self.db, now).expect("purge")
    }

    /// Stores an answer under each of these keys (by one caller), created at the time given.
    pub fn plant_idempotency_keys(&self, planted: Vec<(String, NaiveDateTime)>) {
        self.db
            .write_blocking(move |conn| {
                for (key, at) in planted {
                    diesel::insert_into(keys::table)
                        .values((
                            keys::caller_id.eq("someone"),
                            keys::key.eq(key),
                            keys::request_hash.eq("h"),
                            keys::response_status.eq(201),
                            keys::response_body.eq("{}"),
                            keys::created_at.eq(at),
                        ))
                        .execute(conn)?;
                }
                Ok(())
            })
            .expect("planted");
    }

    /// Every stored idempotency key.
    pub fn idempotency_keys(&self) -> Vec<String> {
        self.db
            .read_blocking(|conn| Ok(keys::table.select(keys::key).load(conn)?))
            .expect("the keys")
    }

    /// A write transaction on its own thread that runs `first`, holds its row locks until
    /// `resume`, then runs `second` and commits. Each statement binds one id as `$1`.
    pub fn paused_transaction(
        &self,
        first: (&'static str, String),
        second: (&'static str, String),
    ) -> PausedTransaction {
        let run = |(sql, id): (&'static str, String)| {
            move |conn: &mut DbConnection| {
                diesel::sql_query(sql)
                    .bind::<diesel::sql_types::Text, _>(id)
                    .execute(conn)?;
                Ok(())
            }
        };
        self.paused(run(first), run(second))
    }

    /// A write transaction on its own thread that holds the write lock until `resume`, then
    /// commits: on SQLite the database's one write lock, on PostgreSQL the idempotency table
    /// (every keyed POST writes to it).
    pub fn held_write_lock(&self) -> PausedTransaction {
        self.paused(
            |conn| {
                if super::on_postgres() {
                    diesel::sql_query("LOCK TABLE idempotency_keys IN EXCLUSIVE MODE")
                        .execute(conn)?;
                }
                Ok(())
            },
            |_| Ok(()),
        )
    }

    /// A write transaction on its own thread that runs `first`, waits for `resume`, then runs
    /// `second` and commits.
    fn paused(
        &self,
        first: impl FnOnce(&mut DbConnection) -> Result<(), AppError> + Send + 'static,
        second: impl FnOnce(&mut DbConnection) -> Result<(), AppError> + Send + 'static,
    ) -> PausedTransaction {
        let (locked_tx, locked) = mpsc::channel::<()>();
        let (go, go_rx) = mpsc::channel::<()>();
        let db = self.db.clone();
        let thread = std::thread::spawn(move || {
            db.write_blocking(|conn| {
                first(conn)?;
                let _ = locked_tx.send(());
                let _ = go_rx.recv();
                second(conn)
            })
        });
        locked.recv().expect("the first statement ran");
        PausedTransaction { go, thread }
    }
}

/// A transaction paused between two statements (see `TestApp::paused_transaction`).
pub struct PausedTransaction {
    go: mpsc::Sender<()>,
    thread: JoinHandle<Result<(), AppError>>,
}

impl PausedTransaction {
    /// Lets the second statement run.
    pub fn resume(&self) {
        self.go.send(()).expect("the transaction waits");
    }

    /// Waits for the transaction to end; its outcome.
    pub fn finish(self) -> Result<(), AppError> {
        self.thread.join().expect("the transaction's thread")
    }
}
