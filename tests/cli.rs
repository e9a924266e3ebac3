//! The command line, run as the real binary against a temporary SQLite database: create-admin,
//! migrate, verify-ledger, and refusals to start on bad configuration; and seed-demo on both
//! databases (PostgreSQL when TEST_DATABASE_URL is set).

#[path = "support/fresh_database.rs"]
mod fresh_database;
#[path = "support/served.rs"]
mod served;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use fresh_database::FreshDatabase;
use serde_json::{json, Value};
use volunteer_points::db::{teams, users, Db};
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

/// Runs `cmd` and asserts it succeeds (showing what it wrote when it does not).
fn succeeds(cmd: &mut Command) -> Output {
    let out = run(cmd);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    out
}

/// Asserts that what a run wrote (its stdout or stderr) says `words`.
fn assert_says(written: &[u8], words: &str) {
    let written = text(written);
    assert!(written.contains(words), "no {words:?} in: {written}");
}

/// `cmd` given the arguments of `create-admin --phone {phone} --name {name}`.
fn create_admin<'a>(cmd: &'a mut Command, phone: &str, name: &str) -> &'a mut Command {
    cmd.args(["create-admin", "--phone", phone, "--name", name])
}

/// A temporary folder (removed when the first value drops) and the path of `cli.db` in it.
fn temporary_database() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let database = dir.path().join("cli.db");
    (dir, database)
}

/// `cmd` started as `serve` on a free port, its stdout piped (to read where it listens).
fn serving(cmd: &mut Command) -> std::process::Child {
    cmd.env("BIND_ADDR", "127.0.0.1:0")
        .arg("serve")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn open(database: &Path) -> Db {
    Db::connect(&database.to_string_lossy(), 1, Duration::from_secs(5)).expect("opens")
}

/// The person with this phone, who must exist.
fn user_by_phone(db: &Db, phone: &str) -> users::UserRow {
    db.read_blocking(|conn| users::find_by_phone(conn, phone))
        .expect("reads")
        .expect("a person with that phone")
}

#[test]
fn create_admin_creates_an_admin_and_a_second_run_keeps_one_admin() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let database = dir.path().join("nested").join("cli.db");
    let out = succeeds(
        create_admin(&mut cli(&database), "13900000001", "  Root Admin ")
            .env("ADMIN_PASSWORD", "a strong admin password"),
    );
    assert_says(&out.stdout, "created");

    let db = open(&database);
    let user = user_by_phone(&db, "13900000001");
    assert_eq!(user.role(), Role::Admin);
    assert_eq!(user.name, "Root Admin");
    assert!(user.password_hash.starts_with("$argon2id$"));

    succeeds(cli(&database).arg("migrate"));

    succeeds(
        create_admin(&mut cli(&database), "13900000001", "Root Admin")
            .env("ADMIN_PASSWORD", "another password entirely"),
    );
    let again = user_by_phone(&db, "13900000001");
    assert_eq!(again.id, user.id, "no second account");
    assert_eq!(again.role(), Role::Admin);
    assert_eq!(
        again.password_hash, user.password_hash,
        "promoting does not change the password"
    );
}

#[test]
fn create_admin_promotes_an_existing_volunteer() {
    let (_dir, database) = temporary_database();
    succeeds(cli(&database).arg("migrate"));
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
    succeeds(create_admin(&mut cli(&database), "13900000002", "Ignored"));
    let user = user_by_phone(&db, "13900000002");
    assert_eq!(user.role(), Role::Admin);
}

#[test]
fn create_admin_refuses_a_bad_phone() {
    let (_dir, database) = temporary_database();
    let out = run(create_admin(&mut cli(&database), "12345", "X")
        .env("ADMIN_PASSWORD", "a strong admin password"));
    assert!(!out.status.success());
    assert_says(&out.stderr, "--phone");
}

#[test]
fn verify_ledger_reports_ledger_ok_on_a_fresh_database() {
    let (_dir, database) = temporary_database();
    let out = succeeds(cli(&database).arg("verify-ledger"));
    assert_says(&out.stdout, "ledger ok");
}

#[test]
fn a_bad_configuration_value_stops_the_start_naming_the_variable() {
    let (_dir, database) = temporary_database();
    for (name, value) in [
        ("LOG_FORMAT", "xml"),
        ("ACCESS_TOKEN_TTL", "soon"),
        ("BIND_ADDR", "nowhere"),
    ] {
        let out = run(cli(&database).arg("migrate").env(name, value));
        assert!(!out.status.success(), "{name}={value} is refused");
        assert_says(&out.stderr, name);
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
    assert_says(&out.stderr, "JWT_SECRET");
}

#[test]
fn serve_prints_where_it_listens_the_docs_and_the_database_and_answers_there() {
    use std::io::{BufRead, BufReader, Read, Write};
    let (_dir, database) = temporary_database();
    let mut child = serving(&mut cli(&database));
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
    succeeds(
        Command::new(BIN)
            .env_clear()
            .current_dir(dir.path())
            .arg("migrate")
            .stdin(Stdio::null()),
    );
    assert!(dir
        .path()
        .join("data")
        .join("volunteer-points.db")
        .is_file());
}

/// The binary on the database at `url` (either kind), with a clean environment.
fn cli_on(url: &str) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("DATABASE_URL", url)
        .env("JWT_SECRET", "cli-secret-cli-secret-cli-secret-0123456789")
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null());
    cmd
}

/// The JSON answer of a request that must answer 200.
async fn ok(req: reqwest::RequestBuilder) -> Value {
    let res = req.send().await.expect("the request is sent");
    let status = res.status();
    let text = res.text().await.expect("a body");
    assert_eq!(status.as_u16(), 200, "{text}");
    serde_json::from_str(&text).expect("JSON")
}

#[tokio::test]
async fn seed_demo_fills_an_empty_database_with_a_community_one_can_sign_in_to() {
    let db = FreshDatabase::new("vp_seed");
    let out = succeeds(cli_on(&db.url).arg("seed-demo"));
    let printed = text(&out.stdout);
    let accounts: Vec<Vec<&str>> = printed
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    let roles: Vec<&str> = accounts.iter().map(|a| a[0]).collect();
    assert_eq!(roles, ["admin", "staff", "volunteer"], "{printed}");
    assert!(accounts.iter().all(|a| a.len() == 3 && a[1].len() == 11));

    succeeds(cli_on(&db.url).arg("verify-ledger"));

    // Served, every printed account signs in, and the community is alive.
    let mut child = serving(&mut cli_on(&db.url));
    let api = format!("{}/api/v1", served::listening_address(&mut child));
    let client = reqwest::Client::new();
    let mut tokens = Vec::new();
    for account in &accounts {
        let login = json!({"phone": account[1], "password": account[2]});
        let auth = ok(client.post(format!("{api}/auth/login")).json(&login)).await;
        assert_eq!(auth["user"]["role"], account[0]);
        tokens.push(auth["access_token"].as_str().expect("a token").to_owned());
    }
    let (admin, staff, volunteer) = (&tokens[0], &tokens[1], &tokens[2]);
    let get = |path: &str, token: &str| client.get(format!("{api}{path}")).bearer_auth(token);

    let verify = ok(get("/ledger/verify", admin)).await;
    assert_eq!(verify["ok"], true, "{verify}");
    let teams = ok(get("/teams?limit=100", volunteer)).await;
    let names: Vec<&str> = (teams["items"].as_array().expect("teams").iter())
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(names.len(), 16);
    for team in ["党员义工队", "蒋姐姐助老服务队", "我来说法评理团"] {
        assert!(names.contains(&team), "{names:?}");
    }
    let summary = ok(get("/reports/summary?from=2020-01-01T00:00:00Z", staff)).await;
    assert!(summary["logs_approved"].as_i64() > Some(100), "{summary}");
    assert!(
        summary["volunteers_active"].as_i64() > Some(30),
        "{summary}"
    );
    let wishes = ok(get("/wishes?status=open", volunteer)).await;
    assert!(!wishes["items"].as_array().expect("wishes").is_empty());
    let rewards = ok(get("/rewards?limit=100", volunteer)).await;
    assert!(rewards["items"].as_array().expect("rewards").len() >= 8);

    // Activities this week, and one the volunteer checks in to now.
    let now = chrono::Utc::now();
    let from =
        (now - chrono::Duration::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let week = ok(get(
        &format!("/activities?limit=100&from={from}"),
        volunteer,
    ))
    .await;
    let week = week["items"].as_array().expect("activities");
    assert!(week.len() >= 5, "{week:?}");
    let time = |a: &Value, f: &str| {
        a[f].as_str()
            .and_then(|t| t.parse::<chrono::DateTime<chrono::Utc>>().ok())
    };
    let open = week
        .iter()
        .find(|a| time(a, "starts_at") <= Some(now) && Some(now) < time(a, "ends_at"))
        .expect("an activity under way now");
    let id = open["id"].as_str().expect("an id");
    let code = ok(get(&format!("/activities/{id}/check-in-code"), staff)).await;
    let res = client
        .post(format!("{api}/activities/{id}/check-in"))
        .bearer_auth(volunteer)
        .json(&json!({"code": code["code"]}))
        .send()
        .await
        .expect("sent");
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(res.status().as_u16(), 201, "{:?}", res.text().await);
}

#[test]
fn seed_demo_refuses_a_database_that_holds_people_and_changes_nothing() {
    let db = FreshDatabase::new("vp_seed");
    succeeds(
        create_admin(&mut cli_on(&db.url), "13900000009", "主任")
            .env("ADMIN_PASSWORD", "a strong admin password"),
    );
    let out = run(cli_on(&db.url).arg("seed-demo"));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stdout), "", "no account is printed");
    assert_says(&out.stderr, "already holds people");
    let db = Db::connect(&db.url, 1, Duration::from_secs(5)).expect("opens");
    let (people, teams) = db
        .read_blocking(|conn| Ok((users::count(conn)?, teams::list(conn, 10, None)?)))
        .expect("reads");
    assert_eq!(people, 1);
    assert!(teams.is_empty());
}
