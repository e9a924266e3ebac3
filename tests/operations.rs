//! Operating the real binary: a SIGTERM lets the requests in flight finish and exits 0, and
//! `backup` copies a live SQLite database under write load into a copy whose ledger verifies.
//! Runs on SQLite, or on PostgreSQL when TEST_DATABASE_URL is set.

use std::process::Command;

use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, SqliteConnection};
use serde_json::{json, Value};

#[path = "support/fresh_database.rs"]
mod fresh_database;
#[path = "support/served.rs"]
mod served;

use fresh_database::{on_postgres, FreshDatabase};

const SECRET: &str = "operations-test-secret-operations-test-secret";

/// The binary on the database at `url`, registering many people from one address and
/// waiting long for the database.
fn service(url: &str) -> Command {
    let mut cmd = served::service(url, SECRET);
    cmd.env("REGISTRATIONS_PER_ADDRESS", "100000")
        .env("DATABASE_TIMEOUT", "60");
    cmd
}

/// A transaction of the test's own that keeps the service's writes to `users` waiting until it
/// ends: SQLite's write lock, or PostgreSQL's exclusive lock on the table.
enum WriteBlocker {
    Sqlite(SqliteConnection),
    Postgres(PgConnection),
}

impl WriteBlocker {
    fn hold(db: &FreshDatabase) -> WriteBlocker {
        if on_postgres() {
            let mut conn = PgConnection::establish(&db.url).expect("connect");
            conn.batch_execute("BEGIN; LOCK TABLE users IN EXCLUSIVE MODE")
                .expect("lock users");
            WriteBlocker::Postgres(conn)
        } else {
            let mut conn = SqliteConnection::establish(&db.url).expect("open");
            conn.batch_execute("BEGIN IMMEDIATE")
                .expect("take the write lock");
            WriteBlocker::Sqlite(conn)
        }
    }

    fn release(self) {
        match self {
            WriteBlocker::Sqlite(mut c) => c.batch_execute("COMMIT"),
            WriteBlocker::Postgres(mut c) => c.batch_execute("COMMIT"),
        }
        .expect("release the lock");
    }
}

/// A short wait between two looks at something that will change.
async fn pause() {
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
}

/// `http_requests_in_flight` on the service's metrics page (this request included).
async fn in_flight(client: &reqwest::Client, base: &str) -> f64 {
    let page = client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .expect("/metrics answers")
        .text()
        .await
        .expect("a page");
    page.lines()
        .find_map(|l| l.strip_prefix("http_requests_in_flight "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_lets_twenty_requests_in_flight_finish_and_exits_zero() {
    let db = FreshDatabase::new("vp_ops");
    let (mut server, base) = served::serve(service(&db.url));
    let client = reqwest::Client::new();
    let blocker = WriteBlocker::hold(&db);

    let requests: Vec<_> = (0..20)
        .map(|i| {
            let req = client
                .post(format!("{base}/api/v1/auth/register"))
                .json(&json!({"phone": format!("1390000{i:04}"), "name": "Late", "password": "a slow password"}));
            tokio::spawn(async move {
                let res = req.send().await.expect("an answer, not a cut connection");
                res.status().as_u16()
            })
        })
        .collect();
    // All 20 are inside the service (the metrics request is the 21st).
    while in_flight(&client, &base).await < 21.0 {
        pause().await;
    }

    let killed = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    // The service stops accepting before anything it holds is let go.
    while reqwest::Client::new()
        .get(format!("{base}/healthz"))
        .send()
        .await
        .is_ok()
    {
        pause().await;
    }
    blocker.release();

    for request in requests {
        assert_eq!(request.await.expect("the task ends"), 201);
    }
    let status = server.wait().expect("the service exits");
    assert_eq!(status.code(), Some(0), "exit status {status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_under_write_load_restores_to_a_ledger_that_verifies() {
    let db = FreshDatabase::new("vp_ops");
    let folder = tempfile::tempdir().expect("a temporary folder");
    let copy = folder.path().join("backup.db");
    if on_postgres() {
        let out = service(&db.url)
            .arg("backup")
            .arg(&copy)
            .output()
            .expect("backup runs");
        assert!(!out.status.success());
        assert!(String::from_utf8_lossy(&out.stderr).contains("pg_dump"));
        return;
    }
    served::create_admin(
        service(&db.url),
        "13911112222",
        "Admin",
        "backup admin password",
    );
    let (mut server, base) = served::serve(service(&db.url));
    let client = reqwest::Client::new();
    let post = |path: &str, body: Value| {
        client
            .post(format!("{base}/api/v1{path}"))
            .json(&body)
            .send()
    };
    let login: Value = post(
        "/auth/login",
        json!({"phone": "13911112222", "password": "backup admin password"}),
    )
    .await
    .expect("login")
    .json()
    .await
    .expect("Auth");
    let admin = login["access_token"].as_str().expect("a token").to_owned();
    let volunteer: Value = post(
        "/auth/register",
        json!({"phone": "13911113333", "name": "Saver", "password": "volunteer password"}),
    )
    .await
    .expect("register")
    .json()
    .await
    .expect("Auth");
    let volunteer = volunteer["user"]["id"].as_str().expect("an id").to_owned();

    // The load: adjustments one after another until told to stop.
    let posted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
    let writer = {
        let (client, base, posted) = (client.clone(), base.clone(), posted.clone());
        tokio::spawn(async move {
            for i in 0.. {
                if stopped.try_recv().is_ok() {
                    break;
                }
                let res = client
                    .post(format!("{base}/api/v1/ledger/adjustments"))
                    .bearer_auth(&admin)
                    .header("Idempotency-Key", format!("load-{i}"))
                    .json(&json!({"volunteer_id": volunteer, "amount": 2, "reason": "load"}))
                    .send()
                    .await
                    .expect("adjust answers");
                assert_eq!(res.status(), 201);
                posted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        })
    };
    let count = || posted.load(std::sync::atomic::Ordering::SeqCst);
    while count() < 5 {
        pause().await;
    }
    served::succeeded(service(&db.url).arg("backup").arg(&copy));
    // Everyone's phone and password hash: its owner's to read only.
    let mode = std::fs::metadata(&copy).expect("the copy").permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
        0o600
    );
    // The writes go on after the copy too: it was taken under load, not in a pause.
    let after_backup = count();
    while count() < after_backup + 5 {
        pause().await;
    }
    stop.send(()).expect("the writer runs");
    writer.await.expect("the writer ends");

    // Restore: the copy is a database the binary opens as its DATABASE_URL.
    let verified = service(&copy.to_string_lossy())
        .arg("verify-ledger")
        .output()
        .expect("verify-ledger runs");
    let report = String::from_utf8_lossy(&verified.stdout);
    assert!(verified.status.success(), "{report}");
    assert!(report.contains("ledger ok"), "{report}");
    assert!(
        !report.contains("and 0 transactions"),
        "the copy is empty: {report}"
    );

    let _ = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status();
    assert_eq!(server.wait().expect("the service exits").code(), Some(0));
}
