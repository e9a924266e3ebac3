//! The benchmark: what the service costs against the limits beside it, measured in one run on
//! SQLite and PostgreSQL, written to `docs/BENCHMARKS.md`.
//!
//! `cargo build --release && cargo run --release --example bench [-- SECONDS]` (default 10
//! seconds a phase).
//!
//! For each database it starts the release binary (`volunteer-points serve`) as a
//! child process on a fresh database, so the peak RSS read from `/proc/<pid>/status` (`VmHWM`) is
//! the service's own. It signs up 64 volunteers with 1,000,000 points each and an unlimited reward
//! costing 1, then loads it for SECONDS per phase from 127.0.0.1 (this example's keep-alive HTTP
//! client): `GET /healthz` (32 in flight, no database: the baseline), `GET /me/balance` (32 in
//! flight), `POST /redemptions` (16 in flight, a fresh Idempotency-Key each).
//!
//! On PostgreSQL it then runs `pgbench -n -M prepared -c 16 -T SECONDS` in the same scratch
//! database (the service's own schema) three ways: a lean but complete redemption written by hand
//! (idempotency row with its answer, conditional debit, transaction, 2 entries, redemption row),
//! the statements the service itself sent for one redemption, and those it sent for one balance
//! read. The service's statements are captured from the PostgreSQL server log: a second start of
//! the service asks for `log_statement=all` on its own sessions (through the connection URL), and
//! the log's lines for the scratch database are replayed with their parameters as literals, ids
//! made fresh per transaction (and time-ordered, as the service's), and the sequence number and
//! balance an entry takes from the account update's `RETURNING` (`\gset`).
//!
//! Then it runs the async ceiling (`common/ceiling.rs`) on the same database: a bare actix-web
//! server with an asynchronous driver (tokio-postgres) answering the balance SELECT and running
//! the lean redemption, loaded as the service was: what an async data layer could give.
//!
//! Environment: `BENCH_PG_URL` (default the Unix socket,
//! `postgres://postgres@%2Fvar%2Frun%2Fpostgresql/postgres`, as docs/OPERATIONS.md advises, or
//! `postgres://postgres@127.0.0.1:5432/postgres` without one; `none` skips PostgreSQL), `PGBENCH`
//! (default `/usr/lib/postgresql/*/bin/pgbench`), `BENCH_PG_LOG` (default
//! `/var/log/postgresql/postgresql-*-main.log`), `BENCH_SERVICE_ENV` (extra `NAME=value` settings
//! for the service, space-separated), `BENCH_DOC` (`0` keeps docs/BENCHMARKS.md as it is).
//! `PGSSLMODE=disable` turns TLS off over TCP for the service, pgbench and the ceiling alike.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde_json::{json, Value};

#[path = "common/ceiling.rs"]
mod ceiling;

/// Volunteers the load is spread over.
const VOLUNTEERS: usize = 64;
/// Redemptions in flight.
const WRITERS: usize = 16;
/// Reads in flight.
const READERS: usize = 32;
const PASSWORD: &str = "bench password";
const ADMIN_PHONE: &str = "13799999999";
const JWT_SECRET: &str = "bench-secret-bench-secret-0123456789abcdef";
/// The ledger's system account that receives spent points (`db::ledger::REDEMPTIONS`).
const REDEMPTIONS_ACCOUNT: &str = "00000000-0000-0000-0000-000000000002";
const COMMUNITY_FUND: &str = "00000000-0000-0000-0000-000000000001";

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow::Result<()> {
    let seconds: u64 = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()
        .context("SECONDS must be a whole number")?
        .unwrap_or(10);
    let phase = Duration::from_secs(seconds.max(1));
    let binary = build_service()?;
    let service_env = extra_service_env();

    println!("SQLite: {} s a phase", phase.as_secs());
    let sqlite = run_sqlite(&binary, &service_env, phase).await?;
    let pg_url = std::env::var("BENCH_PG_URL").unwrap_or_else(|_| default_pg_url().to_owned());
    let postgres = if pg_url == "none" {
        None
    } else {
        println!("PostgreSQL: {} s a phase", phase.as_secs());
        Some(run_postgres(&binary, &service_env, &pg_url, phase).await?)
    };

    let report = render(&sqlite, postgres.as_ref(), seconds, &service_env, &pg_url);
    println!("\n{report}");
    if std::env::var("BENCH_DOC").as_deref() != Ok("0") {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/BENCHMARKS.md");
        write_doc(&path, &report)?;
        println!("written to {}", path.display());
    }
    Ok(())
}

/// PostgreSQL on this machine as docs/OPERATIONS.md advises reaching it: through its Unix
/// socket when there is one, else TCP to 127.0.0.1 (libpq's `sslmode=prefer`: TLS if offered).
fn default_pg_url() -> &'static str {
    if Path::new("/var/run/postgresql").exists() {
        "postgres://postgres@%2Fvar%2Frun%2Fpostgresql/postgres"
    } else {
        "postgres://postgres@127.0.0.1:5432/postgres"
    }
}

// ---------------------------------------------------------------------------------------------
// The service as a child process

/// The release binary of the service (`cargo build --release` makes it). Not built from here:
/// `cargo run` holds the build directory's lock while this example runs.
fn build_service() -> anyhow::Result<PathBuf> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let target = std::env::var("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| manifest.join("target"));
    let binary = target.join("release/volunteer-points");
    if !binary.exists() {
        bail!(
            "{} is missing: run `cargo build --release` first",
            binary.display()
        );
    }
    Ok(binary)
}

/// `BENCH_SERVICE_ENV`: `NAME=value` pairs, space-separated; by default what
/// `deploy/volunteer-points.service` sets (`MALLOC_ARENA_MAX=2`).
fn extra_service_env() -> Vec<(String, String)> {
    std::env::var("BENCH_SERVICE_ENV")
        .unwrap_or_else(|_| "MALLOC_ARENA_MAX=2".to_owned())
        .split_whitespace()
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// A running service.
struct Service {
    child: Child,
    base: String,
}

impl Service {
    /// Starts `binary serve` on a free port of 127.0.0.1 and waits until `/healthz` answers.
    async fn start(
        binary: &Path,
        database_url: &str,
        extra: &[(String, String)],
        log: &Path,
    ) -> anyhow::Result<Service> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let log = fs::File::create(log)?;
        let mut command = Command::new(binary);
        command
            .arg("serve")
            .env("DATABASE_URL", database_url)
            .env("BIND_ADDR", format!("127.0.0.1:{port}"))
            .env("JWT_SECRET", JWT_SECRET)
            .env("LOGINS_PER_ADDRESS", "1000000")
            .env("REGISTRATIONS_PER_ADDRESS", "1000000")
            .envs(extra.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        let child = command.spawn().context("cannot start the service")?;
        let service = Service {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let client = reqwest::Client::new();
        let started = Instant::now();
        loop {
            if let Ok(res) = client.get(format!("{}/healthz", service.base)).send().await {
                if res.status().is_success() {
                    return Ok(service);
                }
            }
            if started.elapsed() > Duration::from_secs(30) {
                bail!("the service did not answer /healthz within 30 s");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn api(&self, path: &str) -> String {
        format!("{}/api/v1{path}", self.base)
    }

    /// The peak resident set so far (`VmHWM`), in MiB.
    fn peak_rss_mib(&self) -> f64 {
        let status =
            fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmHWM:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map_or(f64::NAN, |kib| kib / 1024.0)
    }

    /// Stops it as systemd would (SIGTERM), and waits.
    fn stop(mut self) -> anyhow::Result<()> {
        Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.child.try_wait()?.is_none() {
            if Instant::now() > deadline {
                self.child.kill()?;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(())
    }
}

/// Runs `volunteer-points create-admin` (which also migrates the database).
fn create_admin(binary: &Path, database_url: &str) -> anyhow::Result<()> {
    let out = Command::new(binary)
        .args([
            "create-admin",
            "--phone",
            ADMIN_PHONE,
            "--name",
            "Bench admin",
        ])
        .env("DATABASE_URL", database_url)
        .env("JWT_SECRET", JWT_SECRET)
        .env("ADMIN_PASSWORD", PASSWORD)
        .output()?;
    if !out.status.success() {
        bail!(
            "create-admin failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Seeding and load

/// What the load uses: the volunteers' ids and tokens and the reward.
struct Seed {
    ids: Vec<String>,
    tokens: Vec<String>,
    admin_id: String,
    reward_id: String,
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

async fn seed(client: &reqwest::Client, service: &Service) -> anyhow::Result<Seed> {
    let mut ids = Vec::new();
    let mut tokens = Vec::new();
    for n in 0..VOLUNTEERS {
        let auth: Value = client
            .post(service.api("/auth/register"))
            .json(&json!({"phone": format!("137{n:08}"), "name": "Bench", "password": PASSWORD}))
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        ids.push(text(&auth["user"]["id"]));
        tokens.push(text(&auth["access_token"]));
    }
    let admin: Value = client
        .post(service.api("/auth/login"))
        .json(&json!({"phone": ADMIN_PHONE, "password": PASSWORD}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    let admin_token = text(&admin["access_token"]);
    for id in &ids {
        client
            .post(service.api("/ledger/adjustments"))
            .bearer_auth(&admin_token)
            .header("Idempotency-Key", format!("seed-{id}"))
            .json(&json!({"volunteer_id": id, "amount": 1_000_000, "reason": "bench seed"}))
            .send()
            .await?
            .error_for_status()?;
    }
    let reward: Value = client
        .post(service.api("/rewards"))
        .bearer_auth(&admin_token)
        .json(&json!({"name": "Bench reward", "cost_points": 1}))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(Seed {
        ids,
        tokens,
        admin_id: text(&admin["user"]["id"]),
        reward_id: text(&reward["id"]),
    })
}

/// One phase's figures.
#[derive(Clone, Copy, Default)]
struct Load {
    per_second: f64,
    errors: u64,
    p50_ms: f64,
    p99_ms: f64,
}

/// Sends requests from `concurrency` loops for `duration`; the `i`-th request is `make(i)`.
async fn load(
    concurrency: usize,
    duration: Duration,
    make: impl Fn(u64) -> reqwest::RequestBuilder + Send + Sync + 'static,
) -> Load {
    let make = Arc::new(make);
    let next = Arc::new(AtomicU64::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (make, next) = (make.clone(), next.clone());
            tokio::spawn(async move {
                let mut times = Vec::new();
                let mut errors = 0u64;
                while Instant::now() < deadline {
                    let request = make(next.fetch_add(1, Ordering::Relaxed));
                    let sent = Instant::now();
                    let ok = match request.send().await {
                        Ok(res) => res.status().is_success() && res.bytes().await.is_ok(),
                        Err(_) => false,
                    };
                    if ok {
                        times.push(sent.elapsed());
                    } else {
                        errors += 1;
                    }
                }
                (times, errors)
            })
        })
        .collect();
    let mut times = Vec::new();
    let mut errors = 0;
    for worker in workers {
        if let Ok((t, e)) = worker.await {
            times.extend(t);
            errors += e;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    times.sort_unstable();
    let at = |q: f64| {
        times
            .get(((times.len() as f64 * q) as usize).min(times.len().saturating_sub(1)))
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
    };
    Load {
        per_second: times.len() as f64 / elapsed,
        errors,
        p50_ms: at(0.50),
        p99_ms: at(0.99),
    }
}

/// What one database's run measured.
#[derive(Default)]
struct Figures {
    healthz: Load,
    balance: Load,
    redemptions: Load,
    peak_rss_mib: f64,
    /// PostgreSQL only: pgbench's transactions a second.
    pgbench: Option<PgBench>,
}

#[derive(Default)]
struct PgBench {
    lean_redemption: f64,
    product_redemption: Option<f64>,
    product_balance: Option<f64>,
    /// The async ceiling (`common/ceiling.rs`): its redemptions and balance reads a second.
    ceiling: Option<(Load, Load)>,
    /// The statements the service sent for one redemption and one balance read.
    redemption_statements: Vec<String>,
    balance_statements: Vec<String>,
    note: Option<String>,
}

/// The three load phases, against a seeded running service.
async fn phases(service: &Service, seed: &Seed, phase: Duration) -> anyhow::Result<Figures> {
    let client = reqwest::Client::new();
    let url = format!("{}/healthz", service.base);
    let c = client.clone();
    let healthz = load(READERS, phase, move |_| c.get(&url)).await;
    println!("  GET /healthz        {:>9.0}/s", healthz.per_second);

    let (url, tokens) = (service.api("/me/balance"), seed.tokens.clone());
    let c = client.clone();
    let balance = load(READERS, phase, move |i| {
        c.get(&url).bearer_auth(&tokens[i as usize % tokens.len()])
    })
    .await;
    println!("  GET /me/balance     {:>9.0}/s", balance.per_second);

    let (url, tokens) = (service.api("/redemptions"), seed.tokens.clone());
    let reward = seed.reward_id.clone();
    let run = uuid::Uuid::new_v4().simple().to_string();
    let c = client.clone();
    let redemptions = load(WRITERS, phase, move |i| {
        c.post(&url)
            .bearer_auth(&tokens[i as usize % tokens.len()])
            .header("Idempotency-Key", format!("bench-{run}-{i}"))
            .json(&json!({"reward_id": reward}))
    })
    .await;
    println!("  POST /redemptions   {:>9.0}/s", redemptions.per_second);
    Ok(Figures {
        healthz,
        balance,
        redemptions,
        peak_rss_mib: service.peak_rss_mib(),
        pgbench: None,
    })
}

async fn run_sqlite(
    binary: &Path,
    extra: &[(String, String)],
    phase: Duration,
) -> anyhow::Result<Figures> {
    let dir = tempfile::tempdir()?;
    let url = dir.path().join("bench.db").to_string_lossy().into_owned();
    create_admin(binary, &url)?;
    let service = Service::start(binary, &url, extra, &dir.path().join("service.log")).await?;
    let client = reqwest::Client::new();
    let seed = seed(&client, &service).await?;
    let figures = phases(&service, &seed, phase).await?;
    service.stop()?;
    Ok(figures)
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL: the service, then pgbench on its database

async fn run_postgres(
    binary: &Path,
    extra: &[(String, String)],
    admin_url: &str,
    phase: Duration,
) -> anyhow::Result<Figures> {
    let name = format!("vp_bench_{}", uuid::Uuid::new_v4().simple());
    let (base, _) = admin_url.rsplit_once('/').unwrap_or((admin_url, ""));
    let url = format!("{base}/{name}");
    admin_sql(admin_url, &format!("CREATE DATABASE {name}"))?;
    let result = postgres_in(binary, extra, &url, &name, phase).await;
    // The scratch database goes whatever happened.
    let dropped = admin_sql(admin_url, &format!("DROP DATABASE {name} WITH (FORCE)"));
    let figures = result?;
    dropped?;
    Ok(figures)
}

async fn postgres_in(
    binary: &Path,
    extra: &[(String, String)],
    url: &str,
    name: &str,
    phase: Duration,
) -> anyhow::Result<Figures> {
    let dir = tempfile::tempdir()?;
    create_admin(binary, url)?;
    let service = Service::start(binary, url, extra, &dir.path().join("service.log")).await?;
    let client = reqwest::Client::new();
    let seed = seed(&client, &service).await?;
    let mut figures = phases(&service, &seed, phase).await?;
    service.stop()?;

    let pgbench = pgbench_binary()?;
    let lean = lean_redemption_scripts(&seed, dir.path())?;
    let lean_tps = run_pgbench(&pgbench, url, &lean, WRITERS, phase)?;
    println!("  pgbench lean redemption         {lean_tps:>9.0} tps");
    let mut bench = PgBench {
        lean_redemption: lean_tps,
        ..PgBench::default()
    };
    match capture(binary, extra, url, name, &seed, dir.path()).await {
        Ok(captured) => {
            let scripts = per_volunteer(&captured.redemption, &seed, dir.path(), "redeem")?;
            let tps = run_pgbench(&pgbench, url, &scripts, WRITERS, phase)?;
            println!("  pgbench product's redemption    {tps:>9.0} tps");
            bench.product_redemption = Some(tps);
            let scripts = per_volunteer(&captured.balance, &seed, dir.path(), "balance")?;
            let tps = run_pgbench(&pgbench, url, &scripts, READERS, phase)?;
            println!("  pgbench product's balance       {tps:>9.0} tps");
            bench.product_balance = Some(tps);
            bench.redemption_statements = captured.redemption_statements;
            bench.balance_statements = captured.balance_statements;
        }
        Err(e) => {
            println!("  the service's SQL was not captured: {e:#}");
            bench.note = Some(format!("the service's SQL was not captured: {e:#}"));
        }
    }
    match async_ceiling(url, &seed, phase).await {
        Ok(ceiling) => bench.ceiling = Some(ceiling),
        Err(e) => println!("  the async ceiling did not run: {e:#}"),
    }
    figures.pgbench = Some(bench);
    Ok(figures)
}

/// The async ceiling's two phases on the seeded database: the lean redemption (16 in flight)
/// and the balance read (32), loaded as the service was.
async fn async_ceiling(url: &str, seed: &Seed, phase: Duration) -> anyhow::Result<(Load, Load)> {
    let server = ceiling::Ceiling::start(
        "127.0.0.1:18089",
        ceiling::Config {
            url: url.to_owned(),
            reward: seed.reward_id.clone(),
            redemptions_account: REDEMPTIONS_ACCOUNT.to_owned(),
        },
    )?;
    let client = reqwest::Client::new();
    let mut figures = Vec::new();
    for (what, in_flight, post) in [("redeem", WRITERS, true), ("balance", READERS, false)] {
        let (c, base, ids) = (client.clone(), server.base.clone(), seed.ids.clone());
        let phase = load(in_flight, phase, move |i| {
            let url = format!("{base}/{what}/{}", ids[i as usize % ids.len()]);
            if post {
                c.post(url)
            } else {
                c.get(url)
            }
        })
        .await;
        println!(
            "  async ceiling: {what:<8} {:>9.0}/s ({} failed)",
            phase.per_second, phase.errors
        );
        figures.push(phase);
    }
    server.stop().await;
    Ok((figures[0], figures[1]))
}

fn admin_sql(url: &str, sql: &str) -> anyhow::Result<()> {
    let mut conn = <diesel::PgConnection as diesel::Connection>::establish(url)?;
    diesel::RunQueryDsl::execute(diesel::sql_query(sql), &mut conn)?;
    Ok(())
}

fn pgbench_binary() -> anyhow::Result<PathBuf> {
    if let Ok(path) = std::env::var("PGBENCH") {
        return Ok(path.into());
    }
    newest("/usr/lib/postgresql", "bin/pgbench").context("no pgbench (set PGBENCH)")
}

/// `<dir>/<newest version>/<tail>` if it exists.
fn newest(dir: &str, tail: &str) -> Option<PathBuf> {
    let mut found: Vec<PathBuf> = fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path().join(tail))
        .filter(|p| p.exists())
        .collect();
    found.sort_by_key(|p| {
        p.components()
            .nth(4)
            .and_then(|c| c.as_os_str().to_str()?.parse::<u32>().ok())
    });
    found.pop()
}

/// `pgbench -n -M prepared -c CLIENTS -j 2 -T SECONDS -f ...` (scripts chosen at random per
/// transaction); its transactions a second. Any failed transaction is an error: the scripts must replay.
fn run_pgbench(
    pgbench: &Path,
    url: &str,
    scripts: &[PathBuf],
    clients: usize,
    phase: Duration,
) -> anyhow::Result<f64> {
    let mut command = Command::new(pgbench);
    command.args([
        "-n",
        "-M",
        "prepared",
        "-c",
        &clients.to_string(),
        "-j",
        "2",
        "-T",
        &phase.as_secs().to_string(),
    ]);
    command.arg("-D").arg(format!("n={FIRST_COUNT}"));
    for script in scripts {
        command.arg("-f").arg(script);
    }
    let out = command.arg(url).output().context("cannot run pgbench")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let failed = stdout
        .lines()
        .find_map(|l| l.strip_prefix("number of failed transactions: "))
        .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        .unwrap_or(0);
    let tps = stdout
        .lines()
        .find_map(|l| l.strip_prefix("tps = "))
        .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok());
    match tps {
        Some(tps) if out.status.success() && failed == 0 => Ok(tps),
        _ => bail!(
            "pgbench failed: {}{}",
            stdout,
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .take(5)
                .collect::<Vec<_>>()
                .join("\n")
        ),
    }
}

/// A fresh id per pgbench transaction: the `k`-th id of the transaction. It begins with the
/// client's transaction count (`:n`, 8 digits), so new ids ascend as the service's own do
/// (UUID v7, `Id::fresh`) and the baseline's rows go to each index's right edge as the
/// service's do; `:r`, its random number, keeps it unique across clients.
fn fresh_id(k: usize) -> String {
    format!(":n-{k:04}-7000-8000-:r")
}

/// What each transaction draws: `:n`, the client's count of transactions (from
/// [`FIRST_COUNT`], set with `-D`), and `:r`, a random number (12 digits, so [`fresh_id`] is a
/// UUID's shape).
const DRAW: &str = "\\set n :n + 1\n\\set r random(100000000000, 999999999999)\n";

/// Where each client's count of transactions starts (8 digits until 99,999,999).
const FIRST_COUNT: u64 = 10_000_000;

/// The variables a script's literals may hold.
const VARIABLES: [&str; 2] = ["n", "r"];

/// A pickup code (6 characters, unique among reserved redemptions in practice) made from the
/// transaction's random number: a constant within the transaction, so a lookup by it uses the
/// index (a `random()` inside the WHERE would be evaluated per row) and the lookup and the insert
/// see the same code.
const FRESH_CODE: &str = "substr(encode(sha256(':r'::bytea), 'base64'), 1, 6)";

/// The lean but complete redemption, one script per volunteer: the idempotency row written once
/// with its answer, the conditional debit, the transaction, its 2 entries, the redemption row.
fn lean_redemption_scripts(seed: &Seed, dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let (tx, redemption, e1, e2) = (fresh_id(1), fresh_id(2), fresh_id(3), fresh_id(4));
    let reward = &seed.reward_id;
    let template = format!(
        "{DRAW}BEGIN;\n\
         INSERT INTO idempotency_keys (caller_id, key, request_hash, response_status, \
         response_body, created_at) VALUES ('@V@', 'lean-:r', 'lean', 201, \
         '{{\"id\":\"{redemption}\",\"reward_id\":\"{reward}\",\"points\":1,\"status\":\"reserved\"}}', \
         now());\n\
         UPDATE accounts SET balance = balance - 1, spent_total = spent_total + 1, \
         entry_count = entry_count + 1 WHERE id = '@V@' AND balance >= 1 \
         RETURNING balance, entry_count \\gset\n\
         INSERT INTO ledger_transactions (id, kind, memo, created_by, created_at, redemption_id) \
         VALUES ('{tx}', 'redeem', 'Bench reward', '@V@', now(), '{redemption}');\n\
         INSERT INTO ledger_entries (id, transaction_id, account_id, amount, seq, balance_after, \
         created_at) VALUES ('{e1}', '{tx}', '@V@', -1, :entry_count, :balance, now()), \
         ('{e2}', '{tx}', '{REDEMPTIONS_ACCOUNT}', 1, NULL, NULL, now());\n\
         INSERT INTO redemptions (id, reward_id, volunteer_id, quantity, points, status, \
         pickup_code, created_by, created_at, redeem_transaction_id) VALUES ('{redemption}', \
         '{reward}', '@V@', 1, 1, 'reserved', {FRESH_CODE}, '@V@', now(), '{tx}');\n\
         COMMIT;\n"
    );
    per_volunteer(&template, seed, dir, "lean")
}

/// One script per volunteer, `@V@` in `template` naming them.
fn per_volunteer(
    template: &str,
    seed: &Seed,
    dir: &Path,
    name: &str,
) -> anyhow::Result<Vec<PathBuf>> {
    let template = bindable(template);
    seed.ids
        .iter()
        .enumerate()
        .map(|(n, id)| {
            let path = dir.join(format!("{name}-{n}.sql"));
            fs::write(&path, template.replace("@V@", id))?;
            Ok(path)
        })
        .collect()
}

/// The script as pgbench's prepared mode can run it. That mode takes every `:name` for a
/// variable, even inside a quoted literal, so a literal holding one of the transaction's
/// [`VARIABLES`] becomes a concatenation (`'bench-:r'` → `('bench-' || :r::text)`), and any other
/// colon before a name (a time, `09:40:12`) is written as the escape `\003A` of a `U&'...'`
/// literal, which PostgreSQL reads when it parses the statement, once.
fn bindable(script: &str) -> String {
    let mut out = String::with_capacity(script.len() + 64);
    let mut chars = script.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\'' {
            out.push(c);
            continue;
        }
        // A literal: up to the quote that is not doubled.
        let mut literal = String::new();
        while let Some(c) = chars.next() {
            if c == '\'' {
                if chars.peek() != Some(&'\'') {
                    break;
                }
                chars.next();
                literal.push_str("''");
            } else {
                literal.push(c);
            }
        }
        let terms = literal_terms(&literal);
        match terms.as_slice() {
            [only] if !only.starts_with(':') => out.push_str(only),
            _ => {
                let _ = write!(out, "({})", terms.join(" || "));
            }
        }
    }
    out
}

/// A literal's text as the terms of a concatenation: quoted text, and `:name::text` for each of
/// the [`VARIABLES`] in it.
fn literal_terms(literal: &str) -> Vec<String> {
    let mut terms = Vec::new();
    let mut text = String::new();
    let mut rest = literal;
    while let Some(at) = rest.find(':') {
        let after = &rest[at + 1..];
        let name = &after[..after.find(|c| !names(c)).unwrap_or(after.len())];
        if VARIABLES.contains(&name) {
            text.push_str(&rest[..at]);
            if !text.is_empty() {
                terms.push(quoted(&std::mem::take(&mut text)));
            }
            terms.push(format!(":{name}::text"));
            rest = &after[name.len()..];
        } else {
            text.push_str(&rest[..=at]);
            rest = after;
        }
    }
    text.push_str(rest);
    if !text.is_empty() || terms.is_empty() {
        terms.push(quoted(&text));
    }
    terms
}

/// Whether `c` continues a pgbench variable's name.
fn names(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// `text` as a literal in which no colon starts a pgbench variable.
fn quoted(text: &str) -> String {
    let variable = text
        .split(':')
        .skip(1)
        .any(|after| after.starts_with(names));
    if variable {
        format!("U&'{}'", text.replace('\\', "\\\\").replace(':', "\\003A"))
    } else {
        format!("'{text}'")
    }
}

/// pgbench scripts (with `@V@` for the volunteer) replaying what the service sent.
struct Captured {
    redemption: String,
    balance: String,
    redemption_statements: Vec<String>,
    balance_statements: Vec<String>,
}

/// Starts the service again with `log_statement=all` on its sessions, sends one redemption and
/// one balance read as volunteer 0 (after one of each to warm the pool), and turns the statements
/// the server log shows for this database into replayable scripts.
async fn capture(
    binary: &Path,
    extra: &[(String, String)],
    url: &str,
    name: &str,
    seed: &Seed,
    dir: &Path,
) -> anyhow::Result<Captured> {
    let log_path = match std::env::var("BENCH_PG_LOG") {
        Ok(p) => PathBuf::from(p),
        Err(_) => newest_log().context("no PostgreSQL server log found (set BENCH_PG_LOG)")?,
    };
    fs::File::open(&log_path)
        .with_context(|| format!("cannot read the server log {}", log_path.display()))?;
    let logged_url = format!("{url}?options=-c%20log_statement%3Dall");
    let service = Service::start(binary, &logged_url, extra, &dir.join("capture.log")).await?;
    let client = reqwest::Client::new();
    let token = &seed.tokens[0];
    let redeem = |key: &str| {
        client
            .post(service.api("/redemptions"))
            .bearer_auth(token)
            .header("Idempotency-Key", key)
            .json(&json!({"reward_id": seed.reward_id}))
            .send()
    };
    let balance = || {
        client
            .get(service.api("/me/balance"))
            .bearer_auth(token)
            .send()
    };
    redeem("capture-warm-up").await?.error_for_status()?;
    balance().await?.error_for_status()?;
    tokio::time::sleep(Duration::from_millis(300)).await;

    let key = format!("capture-{}", uuid::Uuid::new_v4().simple());
    let from = fs::metadata(&log_path)?.len();
    let answer: Value = redeem(&key).await?.error_for_status()?.json().await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let middle = fs::metadata(&log_path)?.len();
    balance().await?.error_for_status()?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let to = fs::metadata(&log_path)?.len();
    service.stop()?;

    let log = fs::read(&log_path)?;
    let window = |a: u64, b: u64| {
        String::from_utf8_lossy(&log[a as usize..(b as usize).min(log.len())]).into_owned()
    };
    let redemption = logged_statements(&window(from, middle), name);
    let balance = logged_statements(&window(middle, to), name);
    if redemption.is_empty() || balance.is_empty() {
        bail!(
            "the server log {} shows no statements for {name}",
            log_path.display()
        );
    }
    let mut fixed: HashSet<String> = seed.ids.iter().cloned().collect();
    fixed.extend([
        seed.admin_id.clone(),
        seed.reward_id.clone(),
        REDEMPTIONS_ACCOUNT.to_owned(),
        COMMUNITY_FUND.to_owned(),
    ]);
    let replay = Replay {
        volunteer: &seed.ids[0],
        fixed: &fixed,
        key: &key,
        pickup_code: answer["pickup_code"].as_str(),
    };
    Ok(Captured {
        redemption: replay.script(&redemption),
        balance: replay.script(&balance),
        redemption_statements: redemption.iter().map(Logged::shown).collect(),
        balance_statements: balance.iter().map(Logged::shown).collect(),
    })
}

fn newest_log() -> Option<PathBuf> {
    let mut logs: Vec<PathBuf> = fs::read_dir("/var/log/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("postgresql-") && n.ends_with("-main.log"))
        })
        .collect();
    logs.sort();
    logs.pop()
}

/// One statement the server log shows, with its parameters as SQL literals.
struct Logged {
    sql: String,
    params: Vec<String>,
}

impl Logged {
    /// The statement on one line, as the report lists it.
    fn shown(&self) -> String {
        self.sql.split_whitespace().collect::<Vec<_>>().join(" ")
    }
}

/// The statements (`statement: ...` and `execute <name>: ...` lines, with their `DETAIL:
/// parameters`) the log shows for database `db`, in order; session set-up (`SET ...`) left out.
fn logged_statements(log: &str, db: &str) -> Vec<Logged> {
    // An entry is a line with the log's prefix and the tab-indented lines after it.
    let mut entries: Vec<String> = Vec::new();
    for line in log.lines() {
        match line.strip_prefix('\t') {
            Some(more) if !entries.is_empty() => {
                if let Some(last) = entries.last_mut() {
                    last.push('\n');
                    last.push_str(more);
                }
            }
            _ => entries.push(line.to_owned()),
        }
    }
    let tag = format!("@{db} ");
    let mut out: Vec<Logged> = Vec::new();
    for entry in entries.iter().filter(|e| e.contains(&tag)) {
        if let Some((_, sql)) = entry.split_once("LOG:  statement: ") {
            out.push(Logged {
                sql: sql.to_owned(),
                params: Vec::new(),
            });
        } else if let Some((_, rest)) = entry.split_once("LOG:  execute ") {
            if let Some((_, sql)) = rest.split_once(": ") {
                out.push(Logged {
                    sql: sql.to_owned(),
                    params: Vec::new(),
                });
            }
        } else if let Some((_, params)) = entry.split_once("DETAIL:  parameters: ") {
            if let Some(last) = out.last_mut() {
                last.params = parse_params(params);
            }
        }
    }
    out.retain(|l| !l.sql.trim_start().to_ascii_uppercase().starts_with("SET "));
    out
}

/// `$1 = 'a', $2 = NULL, ...` → `['a'`, `NULL`, ...] (literals as the log quotes them).
fn parse_params(text: &str) -> Vec<String> {
    let mut params = Vec::new();
    let mut rest = text;
    while let Some(eq) = rest.find(" = ") {
        rest = &rest[eq + 3..];
        if let Some(after) = rest.strip_prefix("NULL") {
            params.push("NULL".to_owned());
            rest = after;
        } else if rest.starts_with('\'') {
            // A quoted literal; '' is a quote inside it.
            let bytes = rest.as_bytes();
            let mut i = 1;
            while i < bytes.len() {
                if bytes[i] == b'\'' {
                    if bytes.get(i + 1) == Some(&b'\'') {
                        i += 2;
                        continue;
                    }
                    break;
                }
                i += 1;
            }
            let end = (i + 1).min(rest.len());
            params.push(rest[..end].to_owned());
            rest = &rest[end..];
        } else {
            break;
        }
    }
    params
}

/// How captured statements become a pgbench script that can run many times at once.
struct Replay<'a> {
    /// The captured caller; `@V@` in the script.
    volunteer: &'a str,
    /// Ids that stay as they are (people, the reward, system accounts); any other id is made
    /// fresh per transaction.
    fixed: &'a HashSet<String>,
    /// The captured Idempotency-Key, made fresh per transaction.
    key: &'a str,
    /// The captured pickup code, made fresh (and unique) per transaction.
    pickup_code: Option<&'a str>,
}

impl Replay<'_> {
    fn script(&self, statements: &[Logged]) -> String {
        let mut script = String::from(DRAW);
        let mut returned = None;
        for (n, s) in statements.iter().enumerate() {
            let mut params = s.params.clone();
            // An entry's position and balance come from the account update just before it.
            if let Some(g) = &returned {
                for (column, from) in [("seq", "entry_count"), ("balance_after", "balance")] {
                    for i in insert_params_of(&s.sql, "ledger_entries", column) {
                        if params.get(i).is_some_and(|p| p != "NULL") {
                            params[i] = format!(":{g}{from}");
                        }
                    }
                }
            }
            if let Some(code) = self.pickup_code {
                let quoted = format!("'{code}'");
                for p in params.iter_mut() {
                    if *p == quoted {
                        *p = FRESH_CODE.to_owned();
                    }
                }
            }
            let mut sql = substitute(&s.sql, &params)
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ");
            if let Some(code) = self.pickup_code {
                sql = sql.replace(
                    &format!("\"pickup_code\":\"{code}\""),
                    "\"pickup_code\":\"\"",
                );
            }
            let updates_account =
                sql.starts_with("UPDATE \"accounts\"") && sql.contains(" RETURNING ");
            if updates_account {
                let prefix = format!("g{n}_");
                let _ = writeln!(script, "{sql} \\gset {prefix}");
                returned = Some(prefix);
            } else {
                let _ = writeln!(script, "{sql};");
            }
        }
        self.fresh_values(&script)
    }

    /// The captured caller becomes `@V@`, other new ids and the key fresh per transaction.
    fn fresh_values(&self, script: &str) -> String {
        let mut out = script.replace(self.key, "bench-:r");
        let mut fresh: Vec<String> = Vec::new();
        for id in uuids(&out) {
            if id != self.volunteer && !self.fixed.contains(&id) && !fresh.contains(&id) {
                fresh.push(id);
            }
        }
        for (k, id) in fresh.iter().enumerate() {
            out = out.replace(id, &fresh_id(100 + k));
        }
        out.replace(self.volunteer, "@V@")
    }
}

/// Replaces `$n` placeholders with `params[n - 1]`.
fn substitute(sql: &str, params: &[String]) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c == '$' {
            let digits: String = sql[i + 1..]
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            if let Some(p) = digits
                .parse::<usize>()
                .ok()
                .and_then(|n| params.get(n.wrapping_sub(1)))
            {
                out.push_str(p);
                for _ in 0..digits.len() {
                    chars.next();
                }
                continue;
            }
        }
        out.push(c);
    }
    out
}

/// The 0-based parameter indices of `column`'s values in an `INSERT INTO "table" (...) VALUES
/// (...), ...` statement (none for any other statement).
fn insert_params_of(sql: &str, table: &str, column: &str) -> Vec<usize> {
    let Some(rest) = sql
        .trim_start()
        .strip_prefix(&format!("INSERT INTO \"{table}\" ("))
    else {
        return Vec::new();
    };
    let Some((columns, values)) = rest.split_once(')') else {
        return Vec::new();
    };
    let columns: Vec<&str> = columns
        .split(',')
        .map(|c| c.trim().trim_matches('"'))
        .collect();
    let Some(at) = columns.iter().position(|c| *c == column) else {
        return Vec::new();
    };
    // The placeholders in order: the j-th fills column j modulo the column count.
    let placeholders: Vec<usize> = values
        .split('$')
        .skip(1)
        .filter_map(|p| {
            p.chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse::<usize>()
                .ok()
        })
        .collect();
    placeholders
        .iter()
        .enumerate()
        .filter(|(j, _)| j % columns.len() == at)
        .map(|(_, n)| n - 1)
        .collect()
}

/// Every UUID-shaped token in `text`, in order.
fn uuids(text: &str) -> Vec<String> {
    let bytes = text.as_bytes();
    let shape = |w: &[u8]| {
        w.iter().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => *b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
    };
    let mut found = Vec::new();
    let mut i = 0;
    while i + 36 <= bytes.len() {
        if shape(&bytes[i..i + 36]) {
            found.push(text[i..i + 36].to_owned());
            i += 36;
        } else {
            i += 1;
        }
    }
    found
}

// ---------------------------------------------------------------------------------------------
// The report

fn ratio(a: f64, b: f64) -> String {
    if b > 0.0 && a.is_finite() {
        format!("{:.2}", a / b)
    } else {
        "—".to_owned()
    }
}

fn rate(x: f64) -> String {
    let n = x.round() as i64;
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn latency(l: &Load) -> String {
    format!(
        "{:.1} / {:.1} ms (p99 ÷ p50 {})",
        l.p50_ms,
        l.p99_ms,
        ratio(l.p99_ms, l.p50_ms)
    )
}

fn machine() -> String {
    let cpu = fs::read_to_string("/proc/cpuinfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|v| v.trim_start_matches([' ', '\t', ':']).to_owned())
        .unwrap_or_else(|| "unknown CPU".to_owned());
    let cores = std::thread::available_parallelism().map_or(0, std::num::NonZero::get);
    let memory = fs::read_to_string("/proc/meminfo")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or("?".to_owned(), |kib| {
            format!("{:.0} GiB", kib / 1024.0 / 1024.0)
        });
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    format!(
        "{cpu}, {cores} cores, {memory} RAM, Linux {}",
        kernel.trim()
    )
}

fn render(
    sqlite: &Figures,
    pg: Option<&Figures>,
    seconds: u64,
    service_env: &[(String, String)],
    pg_url: &str,
) -> String {
    let mut r = String::new();
    let none = Figures::default();
    let p = pg.unwrap_or(&none);
    let bench = p.pgbench.as_ref();
    let tps = |f: Option<f64>| f.map_or("—".to_owned(), rate);
    let _ = writeln!(
        r,
        "Measured {} on {}.\n",
        chrono::Utc::now().format("%Y-%m-%d %H:%M UTC"),
        machine()
    );
    let _ = writeln!(
        r,
        "Command: `cargo run --release --example bench -- {seconds}`{}; {seconds} s a phase; \
         {VOLUNTEERS} volunteers; redemptions {WRITERS} in flight (one unlimited reward); reads \
         {READERS} in flight; pgbench `-n -M prepared -c {WRITERS} -j 2 -T {seconds}` (`-c {READERS}` for \
         the balance), in the same run; PostgreSQL at `{pg_url}`.\n",
        if service_env.is_empty() {
            String::new()
        } else {
            format!(
                " with `BENCH_SERVICE_ENV=\"{}\"`",
                service_env
                    .iter()
                    .map(|(k, v)| format!("{k}={v}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            )
        }
    );
    let _ = writeln!(r, "| figure | SQLite | PostgreSQL |");
    let _ = writeln!(r, "|---|---|---|");
    let row = |r: &mut String, name: &str, a: String, b: String| {
        let _ = writeln!(r, "| {name} | {a} | {b} |");
    };
    // A figure only PostgreSQL has (pgbench's, or one measured against it).
    let pg_row = |r: &mut String, name: &str, b: String| row(r, name, "—".into(), b);
    // An endpoint's requests a second, then its latencies.
    let load_rows = |r: &mut String, name: &str, s: &Load, p: &Load| {
        row(r, name, rate(s.per_second), rate(p.per_second));
        row(r, "— p50 / p99", latency(s), latency(p));
    };
    let s = sqlite;
    load_rows(
        &mut r,
        "`POST /redemptions` /s",
        &s.redemptions,
        &p.redemptions,
    );
    pg_row(
        &mut r,
        "pgbench: lean redemption, tps",
        tps(bench.map(|b| b.lean_redemption)),
    );
    pg_row(
        &mut r,
        "**API ÷ lean redemption**",
        format!(
            "**{}**",
            ratio(
                p.redemptions.per_second,
                bench.map_or(0.0, |b| b.lean_redemption)
            )
        ),
    );
    let ceiling = bench.and_then(|b| b.ceiling);
    pg_row(
        &mut r,
        "async ceiling (`examples/common/ceiling.rs`): lean redemptions /s",
        ceiling.map_or("—".into(), |(w, _)| rate(w.per_second)),
    );
    pg_row(
        &mut r,
        "async ceiling ÷ lean redemption",
        ratio(
            ceiling.map_or(0.0, |(w, _)| w.per_second),
            bench.map_or(0.0, |b| b.lean_redemption),
        ),
    );
    pg_row(
        &mut r,
        "pgbench: the service's redemption SQL, tps",
        tps(bench.and_then(|b| b.product_redemption)),
    );
    pg_row(
        &mut r,
        "API ÷ its own SQL",
        ratio(
            p.redemptions.per_second,
            bench.and_then(|b| b.product_redemption).unwrap_or(0.0),
        ),
    );
    row(
        &mut r,
        "**SQLite ÷ PostgreSQL redemptions**",
        format!(
            "**{}**",
            ratio(s.redemptions.per_second, p.redemptions.per_second)
        ),
        "".into(),
    );
    load_rows(&mut r, "`GET /me/balance` /s", &s.balance, &p.balance);
    row(
        &mut r,
        "`GET /healthz` /s",
        rate(s.healthz.per_second),
        rate(p.healthz.per_second),
    );
    row(
        &mut r,
        "**balance ÷ healthz**",
        format!("**{}**", ratio(s.balance.per_second, s.healthz.per_second)),
        ratio(p.balance.per_second, p.healthz.per_second),
    );
    pg_row(
        &mut r,
        "pgbench: the service's balance SQL, tps",
        tps(bench.and_then(|b| b.product_balance)),
    );
    pg_row(
        &mut r,
        "**API balance ÷ its SQL**",
        format!(
            "**{}**",
            ratio(
                p.balance.per_second,
                bench.and_then(|b| b.product_balance).unwrap_or(0.0)
            )
        ),
    );
    pg_row(
        &mut r,
        "async ceiling: balance reads /s",
        ceiling.map_or("—".into(), |(_, b)| rate(b.per_second)),
    );
    pg_row(
        &mut r,
        "async ceiling ÷ its SQL",
        ratio(
            ceiling.map_or(0.0, |(_, b)| b.per_second),
            bench.and_then(|b| b.product_balance).unwrap_or(0.0),
        ),
    );
    row(
        &mut r,
        "**peak RSS of the service** (VmHWM)",
        format!("**{:.1} MiB**", s.peak_rss_mib),
        format!("**{:.1} MiB**", p.peak_rss_mib),
    );
    let errors = [
        &s.healthz,
        &s.balance,
        &s.redemptions,
        &p.healthz,
        &p.balance,
        &p.redemptions,
    ]
    .iter()
    .map(|l| l.errors)
    .sum::<u64>();
    let ceiling_errors = ceiling.map_or(0, |(w, b)| w.errors + b.errors);
    let _ = writeln!(
        r,
        "\nFailed requests: {errors} (the async ceiling's: {ceiling_errors})."
    );
    if let Some(b) = bench {
        if let Some(note) = &b.note {
            let _ = writeln!(r, "\nNote: {note}.");
        }
        for (what, list) in [
            ("one redemption", &b.redemption_statements),
            ("one balance read", &b.balance_statements),
        ] {
            if list.is_empty() {
                continue;
            }
            let _ = writeln!(
                r,
                "\nThe {} statements the service sent for {what} (PostgreSQL, from the server log):\n",
                list.len()
            );
            for s in list {
                let shown: String = s.chars().take(160).collect();
                let more = if shown.len() < s.len() { " …" } else { "" };
                let _ = writeln!(r, "1. `{}`{more}", shown.replace('`', "'"));
            }
        }
    }
    r
}

const GENERATED_START: &str = "<!-- bench: generated from here -->";
const GENERATED_END: &str = "<!-- bench: generated to here -->";

/// Replaces the generated part of `path` (between the markers) with `report`, keeping the rest.
fn write_doc(path: &Path, report: &str) -> anyhow::Result<()> {
    let old = fs::read_to_string(path).unwrap_or_default();
    let generated = format!("{GENERATED_START}\n{report}{GENERATED_END}");
    let new = match (old.find(GENERATED_START), old.find(GENERATED_END)) {
        (Some(a), Some(b)) if a < b => format!(
            "{}{generated}{}",
            &old[..a],
            &old[b + GENERATED_END.len()..]
        ),
        _ => format!(
            "# Benchmarks\n\nWritten by `cargo run --release --example bench`; the part between the \
             markers is replaced on every run.\n\n{generated}\n"
        ),
    };
    fs::write(path, new)?;
    Ok(())
}
