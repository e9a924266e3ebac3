//! A database fault under load (PostgreSQL only: runs when TEST_DATABASE_URL is `postgres://...`).
//! A private cluster (never the shared server other tests use) is made with `initdb` and started
//! on a free port; the real binary serves against it while volunteers redeem. The cluster is
//! stopped with `pg_ctl stop -m immediate` in the middle of the load (what a crash of the
//! database looks like: every connection cut, transactions with it), held down a few seconds,
//! then started again. While it is down every answer is 503 `unavailable` with `Retry-After`,
//! each within `DATABASE_TIMEOUT`, never a 500; the service recovers without a restart; every
//! acknowledged (201) redemption is there afterwards and the ledger verifies.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

#[path = "support/served.rs"]
mod served;

const BIN: &str = env!("CARGO_BIN_EXE_volunteer-points");
const SECRET: &str = "fault-test-secret-fault-test-secret-0123456789";
const ADMIN_PHONE: &str = "13911120000";
const ADMIN_PASSWORD: &str = "fault admin password";
/// `DATABASE_TIMEOUT` of the service under test, in seconds.
const TIMEOUT_SECS: u64 = 2;
/// How long the database stays down: three `DATABASE_TIMEOUT`s, so requests sent while it is
/// down are also answered (503, each after the timeout at most) before it comes back.
const DOWN_FOR: Duration = Duration::from_secs(3 * TIMEOUT_SECS);

/// A PostgreSQL cluster of this test's own in a temporary folder, stopped and removed at the end.
struct Cluster {
    dir: tempfile::TempDir,
    bin: PathBuf,
    port: u16,
    /// Run the server tools as the `postgres` user (we are root, which PostgreSQL refuses).
    as_postgres: bool,
}

impl Cluster {
    /// `initdb` into a fresh folder; the newest PostgreSQL installed under /usr/lib/postgresql.
    fn init() -> Cluster {
        let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
            .expect("PostgreSQL server tools under /usr/lib/postgresql")
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|bin| bin.join("initdb").exists())
            .collect();
        versions.sort();
        let bin = versions.pop().expect("an initdb");
        let dir = tempfile::tempdir().expect("a temporary folder");
        let as_postgres = Command::new("id")
            .arg("-u")
            .output()
            .is_ok_and(|o| o.stdout.trim_ascii() == b"0");
        if as_postgres {
            run(Command::new("chown").args([
                "-R",
                "postgres:postgres",
                &dir.path().to_string_lossy(),
            ]));
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let cluster = Cluster {
            dir,
            bin,
            port,
            as_postgres,
        };
        let data = cluster.data();
        run(&mut cluster.tool(
            "initdb",
            &["-D", &data, "-U", "postgres", "-A", "trust", "--no-sync"],
        ));
        cluster
    }

    fn data(&self) -> String {
        self.dir.path().join("data").to_string_lossy().into_owned()
    }

    /// A server tool, run as `postgres` when we are root.
    fn tool(&self, name: &str, args: &[&str]) -> Command {
        let path = self.bin.join(name);
        let mut cmd = if self.as_postgres {
            let mut cmd = Command::new("runuser");
            cmd.args(["-u", "postgres", "--"]).arg(path);
            cmd
        } else {
            Command::new(path)
        };
        cmd.args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        cmd
    }

    /// Starts the server and waits until it accepts connections.
    fn start(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log");
        run(&mut self.tool(
            "pg_ctl",
            &[
                "start",
                "-w",
                "-t",
                "30",
                "-D",
                &self.data(),
                "-l",
                &log.to_string_lossy(),
                "-o",
                &options,
            ],
        ));
    }

    /// Stops the server at once: no checkpoint, every connection cut (recovery runs at the next
    /// start, as after a crash).
    fn stop_immediately(&self) {
        run(&mut self.tool(
            "pg_ctl",
            &["stop", "-w", "-m", "immediate", "-D", &self.data()],
        ));
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self
            .tool("pg_ctl", &["stop", "-m", "immediate", "-D", &self.data()])
            .status();
    }
}

use served::succeeded as run;

/// The service binary against `url`.
fn service(url: &str) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.env_clear()
        .env("DATABASE_URL", url)
        .env("DATABASE_TIMEOUT", TIMEOUT_SECS.to_string())
        .env("DATABASE_POOL_SIZE", "4")
        .env("JWT_SECRET", SECRET)
        .env("BIND_ADDR", "127.0.0.1:0")
        .env("RUST_LOG", "error")
        .env("LOGINS_PER_ADDRESS", "100000")
        .env("REGISTRATIONS_PER_ADDRESS", "100000")
        .stdin(Stdio::null());
    cmd
}

/// Kills the service when the test ends, however it ends.
struct Served(Child);

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// One redemption attempt: when it was sent and answered, and the answer.
#[derive(Debug)]
struct Attempt {
    sent: Instant,
    answered: Instant,
    status: u16,
    retry_after: bool,
    body: Value,
}

async fn call(client: &reqwest::Client, req: reqwest::RequestBuilder) -> (u16, bool, Value) {
    let res = client
        .execute(req.build().expect("a request"))
        .await
        .expect("the service answers");
    let status = res.status().as_u16();
    let retry_after = res.headers().contains_key("retry-after");
    let body = res.json().await.unwrap_or(Value::Null);
    (status, retry_after, body)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_database_stopped_mid_load_answers_503_then_recovers_and_keeps_every_acknowledged_redemption(
) {
    if !std::env::var("TEST_DATABASE_URL").is_ok_and(|u| u.starts_with("postgres")) {
        return;
    }
    let cluster = Cluster::init();
    cluster.start();
    served::create_admin(
        service(&cluster.url()),
        ADMIN_PHONE,
        "Fault Admin",
        ADMIN_PASSWORD,
    );
    let (child, base) = served::serve(service(&cluster.url()));
    let _served = Served(child);
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .expect("a client");
    let api = move |path: &str| format!("{base}/api/v1{path}");

    let (status, _, body) = call(
        &client,
        client
            .post(api("/auth/login"))
            .json(&json!({"phone": ADMIN_PHONE, "password": ADMIN_PASSWORD})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let admin = body["access_token"].as_str().expect("token").to_owned();
    let (status, _, reward) = call(
        &client,
        client
            .post(api("/rewards"))
            .bearer_auth(&admin)
            .json(&json!({"name": "Tea", "cost_points": 1})),
    )
    .await;
    assert_eq!(status, 201, "{reward}");
    let reward = reward["id"].as_str().expect("id").to_owned();
    let mut volunteers = Vec::new();
    for i in 0..4 {
        let phone = format!("1391113{i:04}");
        let (status, _, auth) = call(
            &client,
            client.post(api("/auth/register")).json(
                &json!({"phone": phone, "name": "Volunteer", "password": "volunteer password"}),
            ),
        )
        .await;
        assert_eq!(status, 201, "{auth}");
        let id = auth["user"]["id"].as_str().expect("id").to_owned();
        let (status, _, grant) = call(
            &client,
            client
                .post(api("/ledger/adjustments"))
                .bearer_auth(&admin)
                .header("Idempotency-Key", format!("grant-{i}"))
                .json(&json!({"volunteer_id": id, "amount": 1000, "reason": "fault test"})),
        )
        .await;
        assert_eq!(status, 201, "{grant}");
        volunteers.push(auth["access_token"].as_str().expect("token").to_owned());
    }

    // Redemptions, eight at a time, until told to stop.
    let attempts: Arc<Mutex<Vec<Attempt>>> = Arc::default();
    let acknowledged = Arc::new(AtomicUsize::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::new();
    for w in 0..8 {
        let (client, api) = (client.clone(), api.clone());
        let token = volunteers[w % volunteers.len()].clone();
        let (attempts, acknowledged, stop) = (attempts.clone(), acknowledged.clone(), stop.clone());
        let reward = reward.clone();
        workers.push(tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                n += 1;
                let req = client
                    .post(api("/redemptions"))
                    .bearer_auth(&token)
                    .header("Idempotency-Key", format!("w{w}-{n}"))
                    .json(&json!({"reward_id": reward}));
                let sent = Instant::now();
                let (status, retry_after, body) = call(&client, req).await;
                if status == 201 {
                    acknowledged.fetch_add(1, Ordering::SeqCst);
                } else if status == 503 {
                    // A client told to retry later does so, a little later.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                attempts.lock().expect("attempts").push(Attempt {
                    sent,
                    answered: Instant::now(),
                    status,
                    retry_after,
                    body,
                });
            }
        }));
    }
    let until = |count: usize, what: &'static str| {
        let acknowledged = acknowledged.clone();
        async move {
            let deadline = Instant::now() + Duration::from_secs(15);
            while acknowledged.load(Ordering::SeqCst) < count {
                assert!(Instant::now() < deadline, "{what}");
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        }
    };
    until(30, "redemptions go through before the fault").await;

    let cluster = Arc::new(cluster);
    let c = cluster.clone();
    tokio::task::spawn_blocking(move || c.stop_immediately())
        .await
        .expect("stopped");
    let down_from = Instant::now();
    let before_restart = acknowledged.load(Ordering::SeqCst);
    tokio::time::sleep(DOWN_FOR).await;
    let down_until = Instant::now();
    let c = cluster.clone();
    tokio::task::spawn_blocking(move || c.start())
        .await
        .expect("started");
    until(
        before_restart + 20,
        "the service recovers without a restart",
    )
    .await;
    stop.store(true, Ordering::SeqCst);
    for w in workers {
        w.await.expect("a worker");
    }

    let attempts = std::mem::take(&mut *attempts.lock().expect("attempts"));
    let limit = Duration::from_secs(TIMEOUT_SECS) + Duration::from_millis(1500);
    let mut while_down = 0;
    let mut redeemed = Vec::new();
    for a in &attempts {
        assert!(
            a.status == 201 || a.status == 503,
            "only 201 or 503, never a 500: {a:?}"
        );
        if a.status == 503 {
            assert_eq!(a.body["code"], "unavailable", "{a:?}");
            assert!(a.retry_after, "a 503 says when to retry: {a:?}");
            assert!(
                a.answered - a.sent <= limit,
                "answered within DATABASE_TIMEOUT: {a:?}"
            );
        } else {
            redeemed.push(a.body["id"].as_str().expect("an id").to_owned());
        }
        if a.sent >= down_from && a.answered <= down_until {
            while_down += 1;
            assert_eq!(a.status, 503, "while the database is down: {a:?}");
        }
    }
    assert!(
        while_down > 0,
        "requests were answered while the database was down"
    );

    // Every acknowledged redemption is there, and the ledger holds.
    let mut stored = std::collections::HashSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = match &cursor {
            None => api("/redemptions?limit=100"),
            Some(c) => api(&format!("/redemptions?limit=100&cursor={c}")),
        };
        let (status, _, page) = call(&client, client.get(page).bearer_auth(&admin)).await;
        assert_eq!(status, 200, "{page}");
        for item in page["items"].as_array().expect("items") {
            stored.insert(item["id"].as_str().expect("id").to_owned());
        }
        match page["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    for id in &redeemed {
        assert!(stored.contains(id), "acknowledged redemption {id} is kept");
    }
    let (status, _, report) = call(
        &client,
        client.get(api("/ledger/verify")).bearer_auth(&admin),
    )
    .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["ok"], true, "{report}");
}
