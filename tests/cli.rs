//! The command line, run as the real binary against a temporary SQLite database: create-admin,
//! migrate, verify-ledger, and refusals to start on bad configuration.

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use volunteer_points::db::{users, Db};
use volunteer_points::domain::people::Role;

const BIN: &str = env!("CARGO_BIN_EXE_volunteer-points");

/// The binary with a clean environment (nothing inherited that could point it elsewhere).
fn cli(database: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("DATABASE_URL", database)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null());
    cmd
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("the binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn open(database: &Path) -> Db {
    Db::connect(&database.to_string_lossy(), 1, Duration::from_secs(5)).expect("opens")
}

#[test]
fn create_admin_creates_an_admin_and_a_second_run_keeps_one_admin() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let database = dir.path().join("nested").join("cli.db");
    let out = run(cli(&database)
        .args([
            "create-admin",
            "--phone",
            "13900000001",
            "--name",
            "  Root Admin ",
        ])
        .env("ADMIN_PASSWORD", "a strong admin password"));
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(
        text(&out.stdout).contains("created"),
        "{}",
        text(&out.stdout)
    );

    let db = open(&database);
    let user = db
        .read_blocking(|conn| users::find_by_phone(conn, "13900000001"))
        .expect("reads")
        .expect("the admin exists");
    assert_eq!(user.role(), Role::Admin);
    assert_eq!(user.name, "Root Admin");
    assert!(user.password_hash.starts_with("$argon2id$"));

    let out = run(cli(&database).arg("migrate"));
    assert!(out.status.success(), "{}", text(&out.stderr));

    let out = run(cli(&database)
        .args([
            "create-admin",
            "--phone",
            "13900000001",
            "--name",
            "Root Admin",
        ])
        .env("ADMIN_PASSWORD", "another password entirely"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let again = db
        .read_blocking(|conn| users::find_by_phone(conn, "13900000001"))
        .expect("reads")
        .expect("still there");
    assert_eq!(again.id, user.id, "no second account");
    assert_eq!(again.role(), Role::Admin);
    assert_eq!(
        again.password_hash, user.password_hash,
        "promoting does not change the password"
    );
}

#[test]
fn create_admin_promotes_an_existing_volunteer() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let database = dir.path().join("cli.db");
    let out = run(cli(&database).arg("migrate"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let db = open(&database);
    let phone = volunteer_points::domain::people::Phone::parse("13900000002").expect("a phone");
    db.write_blocking(|conn| {
        users::create(
            conn,
            users::NewUser {
                phone: &phone,
                name: "Was Volunteer",
                role: Role::Volunteer,
                password_hash: "not-a-real-hash",
                now: chrono::Utc::now().naive_utc(),
            },
        )
    })
    .expect("a volunteer");
    let out = run(cli(&database).args([
        "create-admin",
        "--phone",
        "13900000002",
        "--name",
        "Ignored",
    ]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let user = db
        .read_blocking(|conn| users::find_by_phone(conn, "13900000002"))
        .expect("reads")
        .expect("exists");
    assert_eq!(user.role(), Role::Admin);
}

#[test]
fn create_admin_refuses_a_bad_phone() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let database = dir.path().join("cli.db");
    let out = run(cli(&database)
        .args(["create-admin", "--phone", "12345", "--name", "X"])
        .env("ADMIN_PASSWORD", "a strong admin password"));
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("--phone"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn verify_ledger_reports_ledger_ok_on_a_fresh_database() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let database = dir.path().join("cli.db");
    let out = run(cli(&database).arg("verify-ledger"));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).contains("ledger ok"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn a_bad_configuration_value_stops_the_start_naming_the_variable() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let database = dir.path().join("cli.db");
    for (name, value) in [
        ("LOG_FORMAT", "xml"),
        ("ACCESS_TOKEN_TTL", "soon"),
        ("BIND_ADDR", "nowhere"),
    ] {
        let out = run(cli(&database).arg("migrate").env(name, value));
        assert!(!out.status.success(), "{name}={value} is refused");
        assert!(
            text(&out.stderr).contains(name),
            "{name}: {}",
            text(&out.stderr)
        );
    }
}

#[test]
fn serve_on_postgres_without_jwt_secret_refuses_to_start_naming_it() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    // A database that does not exist: refusing must not need (or touch) the database at all.
    let mut cmd = cli(dir.path());
    cmd.env(
        "DATABASE_URL",
        "postgres://postgres@127.0.0.1:5432/vp_no_such_database",
    )
    .env("BIND_ADDR", "127.0.0.1:0")
    .arg("serve")
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("the binary starts");
    let started = Instant::now();
    loop {
        if child.try_wait().expect("waits").is_some() {
            break;
        }
        if started.elapsed() > Duration::from_secs(20) {
            let _ = child.kill();
            panic!("serve did not refuse to start");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().expect("output");
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("JWT_SECRET"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn serve_prints_where_it_listens_the_docs_and_the_database_and_answers_there() {
    use std::io::{BufRead, BufReader, Read, Write};
    let dir = tempfile::tempdir().expect("a temporary folder");
    let database = dir.path().join("cli.db");
    let mut child = cli(&database)
        .env("BIND_ADDR", "127.0.0.1:0")
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    while lines.len() < 3 {
        match rx.recv_timeout(Duration::from_secs(20)) {
            Ok(line) => lines.push(line),
            Err(_) => break,
        }
    }
    let printed = lines.join("\n");
    let address = printed
        .split_whitespace()
        .find_map(|w| w.strip_prefix("http://"))
        .map(|a| a.trim_end_matches(|c: char| !c.is_ascii_digit()).to_owned());
    let answer = address.as_deref().and_then(|addr| {
        let mut stream = std::net::TcpStream::connect(addr).ok()?;
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n")
            .ok()?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer).ok()?;
        Some(answer)
    });
    let _ = child.kill();
    let _ = child.wait();
    assert!(printed.contains("/docs"), "{printed}");
    assert!(printed.contains("SQLite"), "{printed}");
    let address = address.expect("a printed http:// address");
    assert!(
        !address.ends_with(":0"),
        "the real port is printed: {printed}"
    );
    let answer = answer.expect("the printed address answers");
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    // Without JWT_SECRET on SQLite, a random secret is kept beside the database, owner-only.
    let secret = database.with_file_name("cli.db.jwt-secret");
    let kept = std::fs::read_to_string(&secret).expect("the secret file exists");
    assert!(kept.trim().len() >= 32);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&secret)
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "{mode:o}");
    }
}

#[test]
fn without_database_url_the_database_is_data_volunteer_points_db() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let out = run(Command::new(BIN)
        .env_clear()
        .current_dir(dir.path())
        .arg("migrate")
        .stdin(Stdio::null()));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(dir
        .path()
        .join("data")
        .join("volunteer-points.db")
        .is_file());
}
