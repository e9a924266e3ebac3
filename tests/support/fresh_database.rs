//! A fresh, empty database for one test: a temporary SQLite file, or a new PostgreSQL database
//! when `TEST_DATABASE_URL` names one; removed when the value drops. The HTTP harness and the
//! tests that run the real binary both take theirs from here.

use diesel::{Connection, PgConnection, RunQueryDsl};

/// A database of one test, and its `DATABASE_URL`.
pub struct FreshDatabase {
    /// What `DATABASE_URL` is for this database.
    pub url: String,
    place: Place,
}

enum Place {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

/// Whether the suite runs on PostgreSQL.
#[allow(dead_code)] // not every test binary that includes this file asks
pub fn on_postgres() -> bool {
    std::env::var("TEST_DATABASE_URL").is_ok_and(|u| u.starts_with("postgres"))
}

impl FreshDatabase {
    /// A new empty database (`prefix` names PostgreSQL ones, so a leftover says whose it was).
    pub fn new(prefix: &str) -> FreshDatabase {
        match std::env::var("TEST_DATABASE_URL") {
            Ok(admin_url) if admin_url.starts_with("postgres") => {
                volunteer_points::db::init_tls();
                let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
                let mut conn =
                    PgConnection::establish(&admin_url).expect("TEST_DATABASE_URL is reachable");
                diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
                    .execute(&mut conn)
                    .expect("create the test database");
                let (base, _) = admin_url
                    .rsplit_once('/')
                    .expect("a database URL has a path");
                FreshDatabase {
                    url: format!("{base}/{name}"),
                    place: Place::Postgres { admin_url, name },
                }
            }
            _ => {
                let dir = tempfile::tempdir().expect("a temporary folder");
                let path = dir.path().join("test.db");
                FreshDatabase {
                    url: path.to_string_lossy().into_owned(),
                    place: Place::Sqlite(dir),
                }
            }
        }
    }
}

impl Drop for FreshDatabase {
    fn drop(&mut self) {
        if let Place::Postgres { admin_url, name } = &self.place {
            if let Ok(mut conn) = PgConnection::establish(admin_url) {
                let _ =
                    diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                        .execute(&mut conn);
            }
        }
    }
}
