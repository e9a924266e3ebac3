//! The database layer: the only place that imports diesel. One connection type over PostgreSQL
//! and SQLite, the pool, how blocking work leaves the async runtime, and write transactions.

pub mod activities;
pub mod activity_logs;
pub mod adjustments;
pub mod exports;
pub mod idempotency;
pub mod import;
pub mod ledger;
pub mod redemptions;
pub mod reports;
pub mod rewards;
pub mod schema;
pub mod teams;
mod text_types;
pub mod tokens;
pub mod users;
pub mod verify;

use std::sync::{Arc, Mutex};
use std::time::Duration;

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

/// Opens connections of the variant the URL's scheme names. diesel's derived `establish` tries
/// every backend in turn and loses the real error; this reports it.
#[derive(Debug)]
struct Manager {
    url: String,
    backend: Backend,
}

impl r2d2::ManageConnection for Manager {
    type Connection = DbConnection;
    type Error = r2d2::Error;

    fn connect(&self) -> Result<DbConnection, r2d2::Error> {
        match self.backend {
            Backend::Postgres => {
                let mut conn =
                    PgConnection::establish(&self.url).map_err(r2d2::Error::ConnectionError)?;
                // L8: an acknowledged commit is on disk.
                conn.batch_execute("SET synchronous_commit = on; SET TIME ZONE 'UTC'")
                    .map_err(r2d2::Error::QueryError)?;
                Ok(DbConnection::Pg(conn))
            }
            Backend::Sqlite => {
                let path = self.url.strip_prefix("sqlite://").unwrap_or(&self.url);
                let mut conn =
                    SqliteConnection::establish(path).map_err(r2d2::Error::ConnectionError)?;
                // L8: WAL with synchronous=FULL keeps every acknowledged commit; the busy timeout
                // makes a second writer (another process) wait instead of failing.
                conn.batch_execute(
                    "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
                     PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;",
                )
                .map_err(r2d2::Error::QueryError)?;
                Ok(DbConnection::Sqlite(conn))
            }
        }
    }

    fn is_valid(&self, conn: &mut DbConnection) -> Result<(), r2d2::Error> {
        conn.ping().map_err(r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConnection) -> bool {
        conn.is_broken()
    }
}

/// The pool and what write transactions share. Cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: r2d2::Pool<Manager>,
    backend: Backend,
    /// SQLite has one writer at a time; writers queue here rather than in SQLite's busy handler.
    write_lock: Option<Arc<Mutex<()>>>,
}

impl Db {
    /// Builds the pool. It opens connections lazily, so a database that is down now does not stop
    /// the start (readiness reports it) unless `migrate` needs it.
    pub fn connect(url: &str, pool_size: u32, timeout: Duration) -> Result<Db, AppError> {
        let backend = Backend::of(url);
        let pool = r2d2::Pool::builder()
            .max_size(pool_size)
            .min_idle(Some(0))
            .connection_timeout(timeout)
            .build_unchecked(Manager {
                url: url.to_owned(),
                backend,
            });
        let write_lock = (backend == Backend::Sqlite).then(|| Arc::new(Mutex::new(())));
        Ok(Db {
            pool,
            backend,
            write_lock,
        })
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
        conn.run_pending_migrations(migrations)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("migration failed: {e}")))?;
        Ok(())
    }

    /// Runs read work on a pooled connection, blocking this thread.
    pub fn read_blocking<T>(
        &self,
        f: impl FnOnce(&mut DbConnection) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        let mut conn = self.pool.get()?;
        f(&mut conn)
    }

    /// Runs `f` in one write transaction, blocking this thread: committed if it returns `Ok`,
    /// rolled back if it returns `Err`. On SQLite the transaction begins `IMMEDIATE`, so a
    /// transaction that reads and then writes never fails with "database is locked" (L7).
    pub fn write_blocking<T>(
        &self,
        f: impl FnOnce(&mut DbConnection) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        self.writer(|conn| transaction(conn, f))
    }

    /// Runs `f` on a pooled connection as this process's one writer (SQLite's in-process lock).
    fn writer<T>(
        &self,
        f: impl FnOnce(&mut DbConnection) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        let _guard = self
            .write_lock
            .as_ref()
            .map(|lock| lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
        let mut conn = self.pool.get()?;
        f(&mut conn)
    }

    /// Runs `f` in a write transaction that always rolls back: a rehearsal (a dry run) that
    /// answers what `f` would do and changes nothing.
    pub fn rehearse_blocking<T>(
        &self,
        f: impl FnOnce(&mut DbConnection) -> Result<T, AppError>,
    ) -> Result<T, AppError> {
        self.writer(|conn| {
            begin_write(conn)?;
            let answer = f(conn);
            DbConnection::rollback_transaction(conn)?;
            answer
        })
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

    /// Runs `f` in one write transaction on the blocking pool (see [`Db::write_blocking`]).
    pub async fn write<T, F>(&self, f: F) -> Result<T, AppError>
    where
        F: FnOnce(&mut DbConnection) -> Result<T, AppError> + Send + 'static,
        T: Send + 'static,
    {
        let db = self.clone();
        blocking(move || db.write_blocking(f)).await
    }

    /// Whether the database answers now.
    pub async fn ping(&self) -> Result<(), AppError> {
        self.read(|conn| conn.ping().map_err(AppError::from)).await
    }
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
            DbConnection::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => {
            if let Err(rollback) = DbConnection::rollback_transaction(conn) {
                tracing::error!(error = %rollback, "rollback failed");
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
    match f(conn) {
        Ok(value) => {
            DbConnection::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => {
            DbConnection::rollback_transaction(conn)?;
            Err(e)
        }
    }
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
