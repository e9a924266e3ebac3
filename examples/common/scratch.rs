//! A scratch database for an example: a SQLite file in a folder, or, when `DATABASE_URL` names
//! PostgreSQL, a new database on that server, dropped (with its connections) when this drops
//! (unless `SCRATCH_KEEP` is set).

use diesel::{Connection, PgConnection, RunQueryDsl};

pub struct Scratch {
    /// What the service or `Db::connect` opens.
    pub url: String,
    /// The server's admin URL and the database to drop.
    made: Option<(String, String)>,
}

impl Scratch {
    /// `<dir>/<label>.db`, or a new PostgreSQL database `vp_<label>_<random>`.
    pub fn new(dir: &std::path::Path, label: &str) -> anyhow::Result<Scratch> {
        match std::env::var("DATABASE_URL") {
            Ok(admin) if admin.starts_with("postgres") => {
                let name = format!("vp_{label}_{}", uuid::Uuid::new_v4().simple());
                let mut conn = PgConnection::establish(&admin)?;
                diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut conn)?;
                let (base, _) = admin.rsplit_once('/').unwrap_or((&admin, ""));
                Ok(Scratch {
                    url: format!("{base}/{name}"),
                    made: Some((admin.clone(), name)),
                })
            }
            _ => Ok(Scratch {
                url: dir
                    .join(format!("{label}.db"))
                    .to_string_lossy()
                    .into_owned(),
                made: None,
            }),
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let Some((admin, name)) = self.made.take() else {
            return;
        };
        // SCRATCH_KEEP=1 keeps it (to look at query plans afterwards); drop it by hand.
        if std::env::var_os("SCRATCH_KEEP").is_some() {
            eprintln!("kept the scratch database {name}");
            return;
        }
        let dropped = PgConnection::establish(&admin).map(|mut conn| {
            diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut conn)
        });
        if !matches!(dropped, Ok(Ok(_))) {
            eprintln!("could not drop the scratch database {name}");
        }
    }
}
