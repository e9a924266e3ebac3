//! Behind the service's back: the few things tests do straight on the database (promote a user,
//! verify the ledger, plant a state no request can make, count rows, hold row locks). The one
//! place tests reach into the library's `db` module, so its signatures change in one file.

use std::sync::mpsc;
use std::thread::JoinHandle;

use chrono::NaiveDateTime;
use diesel::RunQueryDsl;
use volunteer_points::db::{self, idempotency, users};
use volunteer_points::domain::people::Role;
use volunteer_points::error::AppError;

use super::TestApp;

/// The community fund's account id, the other side of grants and adjustments.
pub const COMMUNITY_FUND: &str = db::ledger::COMMUNITY_FUND;
/// The account redemptions pay into.
pub const REDEMPTIONS: &str = db::ledger::REDEMPTIONS;

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}

impl TestApp {
    /// Gives the person `id` this role.
    pub(super) fn promote(&self, id: &str, role: Role) {
        let id = id.to_owned();
        self.db
            .write_blocking(move |conn| users::set_role(conn, &id, role).map(|_| ()))
            .expect("promote");
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

    /// Purges the idempotency keys expired at `now`; how many went.
    pub fn purge_idempotency_keys(&self, now: NaiveDateTime) -> usize {
        self.db
            .write_blocking(move |conn| idempotency::purge(conn, now, 100))
            .expect("purge")
    }

    /// A write transaction on its own thread that runs `first`, holds its row locks until
    /// `resume`, then runs `second` and commits. Each statement binds one id as `$1`.
    pub fn paused_transaction(
        &self,
        first: (&'static str, String),
        second: (&'static str, String),
    ) -> PausedTransaction {
        let (locked_tx, locked) = mpsc::channel::<()>();
        let (go, go_rx) = mpsc::channel::<()>();
        let db = self.db.clone();
        let thread = std::thread::spawn(move || {
            db.write_blocking(|conn| {
                for (i, (sql, id)) in [first, second].into_iter().enumerate() {
                    if i == 1 {
                        let _ = locked_tx.send(());
                        let _ = go_rx.recv();
                    }
                    diesel::sql_query(sql)
                        .bind::<diesel::sql_types::Text, _>(id)
                        .execute(conn)?;
                }
                Ok(())
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
