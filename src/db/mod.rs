//! The database layer: the only place that imports diesel. One connection type over PostgreSQL
//! and SQLite, the pool, how blocking work leaves the async runtime, and write transactions.

pub mod activities;
pub mod activity_logs;
pub mod adjustments;
pub mod batch;
pub mod exports;
pub mod fund;
pub mod idempotency;
pub mod import;
pub mod keyset;
pub mod ledger;
pub mod partners;
mod prepared;
pub mod rate_limits;
pub mod redemptions;
pub mod reports;
pub mod rewards;
pub mod schema;
pub mod teams;
mod text_types;
pub mod tokens;
pub mod users;
pub mod verify;
pub mod wishes;

use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{self, R2D2Connection};
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

use crate::error::AppError;

const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");
const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");

/// A connection to whichever database `DATABASE_URL` names.
#[derive(diesel::MultiConnection)]
pub enum DbConnection {
    /// PostgreSQL (production).
    Pg(PgConnection),
    /// SQLite (embedded; the default).
    Sqlite(SqliteConnection),
}

/// Which database a URL names, decided by its scheme and nothing else.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    /// `postgres://` or `postgresql://`.
    Postgres,
    /// Anything else: a file path (optionally `sqlite://`).
    Sqlite,
}

impl Backend {
    /// The backend a database URL names.
    pub fn of(url: &str) -> Backend {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        }
    }

    /// A name for logs and the start-up banner.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Postgres => "PostgreSQL",
            Backend::Sqlite => "SQLite",
        }
    }
}

/// A pooled connection, and when it last proved the server was there.
///
/// r2d2 checks a connection before lending it; a `SELECT 1` each time was a third of a balance
/// read's statements. A PostgreSQL connection that answered within [`RECENTLY_ALIVE`] is lent
/// without the check (HikariCP's rule); one whose last use failed (5xx: the server may be gone),
/// or that sat idle, is checked first, and a dead one is replaced. A SQLite connection is a
/// file handle and is never checked.
pub struct Pooled {
    conn: DbConnection,
    /// When a statement last succeeded on it; `None` after a use that failed.
    alive_at: Option<Instant>,
}

/// How recently a PostgreSQL connection must have answered to be lent without a `SELECT 1`.
const RECENTLY_ALIVE: Duration = Duration::from_millis(500);

impl Pooled {
    /// Runs `f` on the connection and remembers whether the server was there.
    fn run<T>(
        &mut self,
        f: impl FnOnce(&mut DbConnection) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        let answer = f(&mut self.conn);
        self.alive_at = match &answer {
            Err(e) if e.is_fault() => None,
            _ => Some(Instant::now()),
        };
        answer
    }
}

impl std::ops::Deref for Pooled {
    type Target = DbConnection;
    fn deref(&self) -> &DbConnection {
        &self.conn
    }
}

impl std::ops::DerefMut for Pooled {
    fn deref_mut(&mut self) -> &mut DbConnection {
        &mut self.conn
    }
}

/// Opens connections of the variant the URL's scheme names. diesel's derived `establish` tries
/// every backend in turn and loses the real error; this reports it.
#[derive(Debug)]
struct Manager {
    url: String,
    backend: Backend,
    /// `DATABASE_TIMEOUT`: the longest a statement waits for a lock.
    timeout: Duration,
}

/// On PostgreSQL a runaway statement is cancelled after this many `DATABASE_TIMEOUT`s.
const STATEMENT_TIMEOUTS: u32 = 6;

/// The PostgreSQL session settings: a statement that waits for a lock longer than `timeout`, or
/// runs far longer, is cancelled (503 `unavailable`) instead of holding its request and
/// connection.
fn pg_timeouts(timeout: Duration) -> String {
    let ms = timeout.as_millis();
    format!(
        "SET lock_timeout = {ms}; SET statement_timeout = {}",
        ms * u128::from(STATEMENT_TIMEOUTS)
    )
}

impl r2d2::ManageConnection for Manager {
    type Connection = Pooled;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<Pooled, r2d2::Error> {
        Ok(Pooled {
            conn: self.open()?,
            alive_at: Some(Instant::now()),
        })
    }

    fn is_valid(&self, pooled: &mut Pooled) -> Result<(), r2d2::Error> {
        let recent = pooled
            .alive_at
            .is_some_and(|at| at.elapsed() < RECENTLY_ALIVE);
        if self.backend == Backend::Sqlite || recent {
            return Ok(());
        }
        pooled.conn.ping().map_err(r2d2::Error::QueryError)?;
        pooled.alive_at = Some(Instant::now());
        Ok(())
    }

    fn has_broken(&self, pooled: &mut Pooled) -> bool {
        pooled.conn.is_broken()
    }
}

impl Manager {
    fn open(&self) -> Result<DbConnection, r2d2::Error> {
        match self.backend {
            Backend::Postgres => {
                let mut conn =
                    PgConnection::establish(&self.url).map_err(r2d2::Error::ConnectionError)?;
                // L8: an acknowledged commit is on disk. No Memoize nodes: for a list's first
                // page (a LIMIT over joins) PostgreSQL 15 sizes a Memoize cache by the rows the
                // join would have without the LIMIT, and setting it up cost 1.6 ms of a 1.9 ms
                // page at 1,000,000 logs (0.2 ms without; `examples/growth.rs`, ARCHITECTURE.md).
                conn.batch_execute(&format!(
                    "SET synchronous_commit = on; SET TIME ZONE 'UTC'; SET enable_memoize = off; {}",
                    pg_timeouts(self.timeout)
                ))
                .map_err(r2d2::Error::QueryError)?;
                Ok(DbConnection::Pg(conn))
            }
            Backend::Sqlite => {
                let path = self.url.strip_prefix("sqlite://").unwrap_or(&self.url);
                let mut conn =
                    SqliteConnection::establish(path).map_err(r2d2::Error::ConnectionError)?;
                // L8: WAL with synchronous=FULL keeps every acknowledged commit; the busy timeout
                // makes a second writer (another process) wait, as long as a request waits for
                // anything, instead of failing at once. `temp_store = MEMORY` keeps the
                // savepoint journals of a group-commit batch (and sorts) out of temporary files:
                // they only undo a savepoint inside a live transaction, and a crash needs none of
                // them (the WAL holds every commit).
                conn.batch_execute(&format!(
                    "PRAGMA busy_timeout = {}; PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; \
                     PRAGMA temp_store = MEMORY;",
                    self.timeout.as_millis()
                ))
                .map_err(r2d2::Error::QueryError)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }
}

/// Times how long requests wait for a pooled connection, and counts the waits that time out.
#[derive(Debug)]
struct PoolEvents;

impl r2d2::HandleEvent for PoolEvents {
    fn handle_checkout(&self, event: r2d2::event::CheckoutEvent) {
        metrics::histogram!("db_pool_wait_seconds").record(event.duration().as_secs_f64());
    }

    fn handle_timeout(&self, _: r2d2::event::TimeoutEvent) {
        metrics::counter!("db_pool_timeouts_total").increment(1);
    }
}

/// The pool and what write transactions share. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: r2d2::Pool<Manager>,
    backend: Backend,
    /// SQLite has one writer at a time; writers queue here rather than in SQLite's busy handler,
    /// each at most `timeout`.
    write_lock: Option<Arc<parking_lot::Mutex<()>>>,
    /// `DATABASE_TIMEOUT`: the longest a request waits for the write lock and a connection.
    timeout: Duration,
    /// The group-commit writer requests' writes queue to, when batching is on (SQLite).
    batcher: Option<Arc<batch::Batcher>>,
    /// The idempotency keys of this process's requests running now.
    running: Arc<idempotency::Running>,
}

impl Db {
    /// Builds the pool. It opens connections lazily, so a database that is down now does not stop
    /// the start (readiness reports it) unless `migrate` needs it.
    pub fn connect(url: &str, pool_size: u32, timeout: Duration) -> Result<Db, AppError> {
        let backend = Backend::of(url);
        if backend == Backend::Postgres {
            init_tls();
        }
        let pool = r2d2::Pool::builder()
            .max_size(pool_size)
            .min_idle(Some(0))
            .connection_timeout(timeout)
            .event_handler(Box::new(PoolEvents))
            .build_unchecked(Manager {
                url: url.to_owned(),
                backend,
                timeout,
            });
        let write_lock =
            (backend == Backend::Sqlite).then(|| Arc::new(parking_lot::Mutex::new(())));
        Ok(Db {
            pool,
            backend,
            write_lock,
            timeout,
            batcher: None,
            running: Arc::default(),
        })
    }

    /// Turns group commit on (SQLite only: PostgreSQL runs concurrent writers in parallel, and
    /// measured no gain): requests' writes through [`Db::write`] and
    /// [`Db::write_batched_blocking`] queue to one writer thread that commits up to
    /// `batching.max` of them per transaction (see [`batch`]). `max` 1 leaves it off.
    pub fn with_batching(mut self, batching: batch::Batching) -> Result<Db, AppError> {
        if self.backend == Backend::Sqlite && batching.max > 1 {
            let writer = batch::Batcher::start(self.clone(), batching)
                .map_err(|e| AppError::Internal(anyhow::anyhow!("no writer thread: {e}")))?;
            self.batcher = Some(Arc::new(writer));
        }
        Ok(self)
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Applies every pending migration of this backend's dialect.
    pub fn migrate(&self) -> Result<(), AppError> {
        let mut conn = self.pool.get()?;
        let migrations = match self.backend {
            Backend::Postgres => PG_MIGRATIONS,
            Backend::Sqlite => SQLITE_MIGRATIONS,
        };
        // A migration may rightly take longer than any request.
        if self.backend == Backend::Postgres {
            conn.batch_execute("SET lock_timeout = 0; SET statement_timeout = 0")?;
        }
        conn.run_pending_migrations(migrations)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("migration failed: {e}")))?;
        if self.backend == Backend::Postgres {
            conn.batch_execute(&pg_timeouts(self.timeout))?;
        }
        Ok(())
    }

    /// Runs read work on a pooled connection, blocking this thread.
    pub fn read_blocking<T>(
        &self,
        f: impl FnOnce(&mut DbConnection) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        self.pool.get()?.run(f)
    }

    /// Runs `f` in one write transaction, blocking this thread: committed if it returns `Ok`,
    /// rolled back if it returns `Err`. On SQLite the transaction begins `IMMEDIATE`, so a
    /// transaction that reads and then writes never fails with "database is locked" (L7).
    ///
    /// Under overload writes shed instead of queueing without end: waiting longer than
    /// `DATABASE_TIMEOUT` for the write lock and a connection (SQLite), or for a row or table
    /// lock (PostgreSQL's `lock_timeout`), is 503 `unavailable`.
    pub fn write_blocking<T>(
        &self,
        f: impl FnOnce(&mut DbConnection) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        self.writer(|conn| transaction(conn, f))
    }

    /// Runs `f` as one write: batched with concurrent writes in one transaction under group
    /// commit (each in its own savepoint, answered after the commit that holds it), else in a
    /// transaction of its own as [`Db::write_blocking`]. Committed if it returns `Ok`, its own
    /// writes rolled back if it returns `Err`.
    pub fn write_batched_blocking<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        match &self.batcher {
            Some(batcher) => batcher.submit(f),
            None => self.write_blocking(f),
        }
    }

    /// Runs `f` on a pooled connection as this process's one writer (SQLite's in-process lock).
    fn writer<T>(
        &self,
        f: impl FnOnce(&mut DbConnection) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        let deadline = Instant::now() + self.timeout;
        let _guard = match &self.write_lock {
            None => None,
            Some(lock) => Some(lock.try_lock_for(self.timeout).ok_or_else(|| {
                tracing::warn!("the write lock was not free in time");
                AppError::Unavailable
            })?),
        };
        self.pool
            .get_timeout(deadline.saturating_duration_since(Instant::now()))?
            .run(f)
    }

    /// Runs read work on the blocking pool, so no request thread waits on the database.
    pub async fn read<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let db = self.clone();
        blocking(move || db.read_blocking(f)).await
    }

    /// Runs a read of a few primary-key rows (a balance). On SQLite it runs on the calling
    /// thread when a connection is idle: a lookup in a local B-tree, which a WAL reader does
    /// without waiting for writers, costs less than the hop to the blocking pool and back.
    /// Otherwise (PostgreSQL, whose round trip would hold the async worker, or no idle
    /// connection) it is [`Db::read`].
    pub async fn read_point<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        if self.backend == Backend::Sqlite {
            if let Some(mut conn) = self.pool.try_get() {
                return conn.run(f);
            }
        }
        self.read(f).await
    }

    /// Runs `f` on a pooled connection on the blocking pool, outside any transaction and the
    /// write lock: for one statement that commits by itself (a rate-limit hit on PostgreSQL is one
    /// upsert, with no BEGIN and COMMIT around it).
    pub async fn autocommit<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        self.read(f).await
    }

    /// Runs `f` as one write on the blocking pool (see [`Db::write_batched_blocking`]).
    pub async fn write<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let db = self.clone();
        blocking(move || db.write_batched_blocking(f)).await
    }

    /// How many writes wait for the group-commit writer now, queued or in a batch not yet
    /// committed (0 when batching is off).
    pub fn queued_writes(&self) -> usize {
        self.batcher.as_ref().map_or(0, |b| b.waiting())
    }

    /// Records the pool's size and use as gauges (read when `/metrics` renders).
    pub fn record_pool_gauges(&self) {
        metrics::gauge!("db_write_queue").set(self.queued_writes() as f64);
        let state = self.pool.state();
        metrics::gauge!("db_pool_connections").set(state.connections);
        metrics::gauge!("db_pool_idle_connections").set(state.idle_connections);
        metrics::gauge!("db_pool_max_connections").set(self.pool.max_size());
    }

    /// Writes a consistent copy of a live SQLite database to `target` (a new file) with
    /// `VACUUM INTO`: it reads one snapshot, so writers carry on meanwhile and the copy holds
    /// every transaction committed before it began and none after. SQLite only (PostgreSQL has
    /// `pg_dump`).
    pub fn backup_into(&self, target: &str) -> Result<(), AppError> {
        let mut conn = self.pool.get()?;
        let DbConnection::Sqlite(sqlite) = &mut **conn else {
            return Err(AppError::Internal(anyhow::anyhow!(
                "VACUUM INTO copies SQLite databases only"
            )));
        };
        diesel::sql_query("VACUUM INTO ?")
            .bind::<diesel::sql_types::Text, _>(target)
            .execute(sqlite)?;
        Ok(())
    }

    /// Whether the database answers now.
    pub async fn ping(&self) -> Result<(), AppError> {
        self.read(|conn| conn.ping().map_err(AppError::from)).await
    }
}

/// Sets up OpenSSL (libpq's TLS) without its exit handler; call it before the process's first
/// PostgreSQL connection ([`Db::connect`] does). That handler frees OpenSSL's state at process
/// exit while pool and request threads may still hold TLS connections: a test binary crashed
/// there (SIGSEGV in OpenSSL after all its tests passed). `openssl_sys::init` passes
/// `OPENSSL_INIT_NO_ATEXIT`, and OpenSSL's first initialisation decides, so it must come before
/// libpq's (the fix the r2d2 and rust-openssl maintainers give).
pub fn init_tls() {
    openssl_sys::init();
}

/// Runs `f` on actix's blocking pool inside the caller's tracing span.
pub async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, AppError> + Send + 'static,
) -> Result<T, AppError> {
    let span = tracing::Span::current();
    actix_web::web::block(move || span.in_scope(f))
        .await
        .map_err(|e| AppError::Internal(anyhow::anyhow!("blocking task failed: {e}")))?
}

/// Begins a write transaction on `conn`: `BEGIN IMMEDIATE` on SQLite.
fn begin_write(conn: &mut DbConnection) -> Result<(), AppError> {
    match conn {
        DbConnection::Sqlite(inner) => {
            AnsiTransactionManager::begin_transaction_sql(inner, "BEGIN IMMEDIATE")?
        }
        DbConnection::Pg(_) => DbConnection::begin_transaction(conn)?,
    }
    // Ledger postings are counted for the metrics only once their transaction commits.
    ledger::posted::discard_from(0);
    Ok(())
}

/// One transaction on `conn`, `BEGIN IMMEDIATE` on SQLite.
fn transaction<T>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, AppError>,
) -> Result<T, AppError> {
    begin_write(conn)?;
    match f(conn) {
        Ok(value) => {
            let committed = DbConnection::commit_transaction(conn);
            if committed.is_ok() {
                ledger::posted::count_committed();
            }
            ledger::posted::discard_from(0);
            committed?;
            Ok(value)
        }
        Err(e) => {
            ledger::posted::discard_from(0);
            if let Err(rollback) = DbConnection::rollback_transaction(conn) {
                // The connection is gone (the database ended the transaction with it), and the
                // broken transaction manager takes it out of the pool. A fault inside was that
                // same loss, whatever words it came in: the database is unavailable, not the
                // service broken.
                tracing::warn!(error = %rollback, cause = %e, "rollback failed");
                if e.is_fault() {
                    return Err(AppError::Unavailable);
                }
            }
            Err(e)
        }
    }
}

/// Runs `f` inside a savepoint of the current transaction: its writes are undone if it fails,
/// while the enclosing transaction goes on.
pub fn savepoint<T>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, AppError>,
) -> Result<T, AppError> {
    DbConnection::begin_transaction(conn)?;
    let posted_before = ledger::posted::len();
    match f(conn) {
        Ok(value) => {
            DbConnection::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => {
            ledger::posted::discard_from(posted_before);
            DbConnection::rollback_transaction(conn)?;
            Err(e)
        }
    }
}

/// Runs `f` inside a savepoint of the current transaction that is always rolled back: a
/// rehearsal (a dry run) that answers what `f` would do and changes nothing.
pub fn rehearsal<T>(
    conn: &mut DbConnection,
    f: impl FnOnce(&mut DbConnection) -> Result<T, AppError>,
) -> Result<T, AppError> {
    DbConnection::begin_transaction(conn)?;
    let posted_before = ledger::posted::len();
    let answer = f(conn);
    ledger::posted::discard_from(posted_before);
    DbConnection::rollback_transaction(conn)?;
    answer
}

/// Whether a diesel error is a unique-index violation (the same on both databases).
pub fn is_unique_violation(e: &DieselError) -> bool {
    matches!(
        e,
        DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)
    )
}

/// Every integrity rule `verify` knows (LEDGER.md L1, L2, L9, L10) over the whole database.
pub fn verify_all(conn: &mut DbConnection) -> Result<verify::Report, AppError> {
    verify::all(conn)
}
