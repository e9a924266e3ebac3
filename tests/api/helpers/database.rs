//! Behind the service's back: the few things tests do straight on the database (promote a user,
//! verify the ledger, plant a state no request can make, count rows, hold row locks or the write
//! lock, purge idempotency keys). The one place tests reach into the library's `db` module, so
//! its signatures change in one file.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Mutex, Once};
use std::thread::JoinHandle;

use chrono::NaiveDateTime;
use diesel::connection::{Instrumentation, InstrumentationEvent};
use diesel::{ExpressionMethods, QueryDsl, RunQueryDsl};
use volunteer_points::db::schema::idempotency_keys as keys;
use volunteer_points::db::users::NewUser;
use volunteer_points::db::{self, idempotency, users, DbConnection};
use volunteer_points::domain::ids::{Id, VolunteerId};
use volunteer_points::domain::people::{Phone, Role};
use volunteer_points::error::AppError;

use super::{on_postgres, unique_phone, TestApp};

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
            .write_blocking(move |conn| {
                users::set_role(conn, &id, role, chrono::Utc::now().naive_utc()).map(|_| ())
            })
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

    /// What `verify` finds against this one rule: (subject, detail) each.
    pub fn verify_rule(&self, rule: &str) -> Vec<(String, String)> {
        self.verify()
            .problems
            .into_iter()
            .filter(|p| p.rule == rule)
            .map(|p| (p.subject, p.detail))
            .collect()
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

    /// What SQLite's `EXPLAIN QUERY PLAN` says of `sql`, one line a step (its parameters
    /// unbound, as the planner sees them: the service's SQLite does not plan from bound values).
    pub async fn query_plan(&self, sql: &str) -> Vec<String> {
        #[derive(diesel::QueryableByName)]
        struct Step {
            #[diesel(sql_type = diesel::sql_types::Text)]
            detail: String,
        }
        let sql = format!("EXPLAIN QUERY PLAN {sql}");
        self.db
            .read(move |conn| Ok(diesel::sql_query(sql).load::<Step>(conn)?))
            .await
            .expect("a query plan")
            .into_iter()
            .map(|s| s.detail)
            .collect()
    }

    /// One purge round of the idempotency keys expired at `now`, as the service runs it (a
    /// batch per write transaction until none is left); how many went.
    pub fn purge_idempotency_keys(&self, now: NaiveDateTime) -> usize {
        idempotency::purge_expired(&self.db, now).expect("purge")
    }

    /// One purge round of the rate-limit keys whose window had passed at `now` (PostgreSQL; none on
    /// SQLite, which counts in memory), as the service runs it; how many went.
    pub fn purge_rate_limits(&self, now: NaiveDateTime) -> usize {
        db::rate_limits::purge_expired(&self.db, now).expect("purge")
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

    /// A write transaction on its own thread that runs `sql` (ids written into it), holds its
    /// row locks until `resume`, then commits: another transaction committing in the middle of a
    /// request's read and its write.
    pub fn paused_statement(&self, sql: String) -> PausedTransaction {
        self.paused(
            move |conn| {
                diesel::sql_query(sql).execute(conn)?;
                Ok(())
            },
            |_| Ok(()),
        )
    }

    /// How many of the service's connections wait for a lock (PostgreSQL).
    pub async fn lock_waiters(&self) -> i64 {
        self.count(
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock'",
        )
        .await
    }

    /// Returns once `n` of the service's connections wait for a lock (PostgreSQL), looking
    /// every 10 ms; panics after 30 s.
    pub async fn until_lock_waiters(&self, n: i64) {
        for _ in 0..3_000 {
            if self.lock_waiters().await >= n {
                return;
            }
            actix_web::rt::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("{n} requests never came to wait for the held lock");
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

    /// Writes that reach the group-commit writer together: they queue while the write lock is
    /// held, so on SQLite they commit in at most two batches (what the writer took before it
    /// waited for the lock, and the rest) once it is released. Each runs its statements in order
    /// in one write; their outcomes, in order. (On PostgreSQL, no batching: each is its own
    /// transaction.)
    pub fn batched_writes(&self, writes: Vec<Vec<&'static str>>) -> Vec<Result<(), AppError>> {
        let held = self.held_write_lock();
        let n = writes.len();
        let threads: Vec<_> = writes
            .into_iter()
            .map(|sqls| {
                let db = self.db.clone();
                std::thread::spawn(move || {
                    db.write_batched_blocking(move |conn| {
                        for sql in sqls {
                            diesel::sql_query(sql).execute(conn)?;
                        }
                        Ok(())
                    })
                })
            })
            .collect();
        self.until_queued(n);
        held.resume();
        held.finish().expect("the held transaction commits");
        threads
            .into_iter()
            .map(|t| t.join().expect("a write's thread"))
            .collect()
    }

    /// Waits (at most 30 s) until exactly `n` writes wait for the group-commit writer (on
    /// PostgreSQL, where none ever does, a moment for them to block on the held lock).
    pub fn until_queued(&self, n: usize) {
        if on_postgres() {
            // No queue: give the threads a moment to block on the held lock instead.
            std::thread::sleep(std::time::Duration::from_millis(200));
            return;
        }
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while self.db.queued_writes() != n {
            assert!(
                std::time::Instant::now() < deadline,
                "{} writes queued, not {n}",
                self.db.queued_writes()
            );
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    /// [`TestApp::until_queued`] for async tests: waits without blocking the runtime.
    pub async fn until_writes_queued(&self, n: usize) {
        let wait = std::time::Duration::from_millis(if on_postgres() { 200 } else { 5 });
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        loop {
            if on_postgres() {
                actix_web::rt::time::sleep(wait).await;
                return;
            }
            if self.db.queued_writes() == n {
                return;
            }
            assert!(std::time::Instant::now() < deadline, "writes never queued");
            actix_web::rt::time::sleep(wait).await;
        }
    }

    /// A command of `caller` under idempotency key `key`, on its own thread, whose work waits
    /// for `resume` and then answers 201 `{"first":true}`: a request that is still running.
    pub fn running_command(&self, caller: &str, key: &str) -> PausedTransaction {
        let (running_tx, running) = mpsc::channel::<()>();
        let (go, go_rx) = mpsc::channel::<()>();
        let (db, caller, keyed) = (self.db.clone(), caller.to_owned(), keyed(key));
        let now = chrono::Utc::now().naive_utc();
        let thread = std::thread::spawn(move || {
            idempotency::execute(&db, &caller, Some(&keyed), now, move |_| {
                let _ = running_tx.send(());
                let _ = go_rx.recv();
                Ok((201, r#"{"first":true}"#.to_owned()))
            })
            .map(|_| ())
        });
        running.recv().expect("the command runs");
        PausedTransaction { go, thread }
    }

    /// The same command again (same caller, key and request): its answer, and whether its own
    /// work ran.
    pub fn repeat_command(&self, caller: &str, key: &str) -> (Result<(u16, bool), AppError>, bool) {
        let ran = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = ran.clone();
        let now = chrono::Utc::now().naive_utc();
        let answer = idempotency::execute(&self.db, caller, Some(&keyed(key)), now, move |_| {
            flag.store(true, Ordering::SeqCst);
            Ok((201, r#"{"second":true}"#.to_owned()))
        });
        let answer = answer.map(|a| (a.status, a.replayed));
        (answer, ran.load(Ordering::SeqCst))
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

/// The statements sent on the connections of each database being counted, by database URL.
static STATEMENTS: Mutex<Option<HashMap<String, Vec<String>>>> = Mutex::new(None);
/// How many databases are being counted (0: nothing is recorded, no lock is taken).
static COUNTED: AtomicUsize = AtomicUsize::new(0);

/// Records every statement one connection sends, under its database's URL, while that database
/// is being counted ([`TestApp::count_statements`]).
struct StatementRecorder {
    url: Option<String>,
}

impl Instrumentation for StatementRecorder {
    fn on_connection_event(&mut self, event: InstrumentationEvent<'_>) {
        match event {
            InstrumentationEvent::StartEstablishConnection { url, .. } => {
                self.url = Some(url.to_owned());
            }
            InstrumentationEvent::StartQuery { query, .. } => {
                if COUNTED.load(Ordering::SeqCst) == 0 {
                    return;
                }
                let (Some(url), Ok(mut all)) = (&self.url, STATEMENTS.lock()) else {
                    return;
                };
                let query = query.to_string();
                // The checkpointer's, sent beside the writer after a batch, not by a request.
                if query.starts_with("PRAGMA wal_checkpoint") {
                    return;
                }
                if let Some(list) = all.as_mut().and_then(|all| all.get_mut(url)) {
                    list.push(query);
                }
            }
            _ => {}
        }
    }
}

/// Installs the recorder on every connection opened from now on (once per test binary).
pub(super) fn record_statements() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        diesel::connection::set_default_instrumentation(|| {
            Some(Box::new(StatementRecorder { url: None }))
        })
        .expect("statement recorder installed");
    });
}

impl TestApp {
    /// Starts (or restarts) counting the statements this app sends to its database.
    pub fn count_statements(&self) {
        let mut all = STATEMENTS.lock().expect("statements");
        if all
            .get_or_insert_with(HashMap::new)
            .insert(self.database_url.clone(), Vec::new())
            .is_none()
        {
            COUNTED.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// The statements sent since [`TestApp::count_statements`], which counting restarts from.
    pub fn statements(&self) -> Vec<String> {
        let mut all = STATEMENTS.lock().expect("statements");
        all.as_mut()
            .and_then(|all| all.get_mut(&self.database_url))
            .map(std::mem::take)
            .unwrap_or_default()
    }
}

/// The key of a test command, with the one request hash its repeats share.
fn keyed(key: &str) -> idempotency::KeyedRequest {
    idempotency::KeyedRequest {
        key: key.to_owned(),
        request_hash: "the same request".to_owned(),
        lang: volunteer_points::messages::Lang::En,
    }
}
