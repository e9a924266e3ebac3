//! Hardening (issue 13): password checks cost the attacker, not the service; the limiters' memory
//! is bounded; the client address behind a trusted proxy; writes shed load instead of hanging;
//! expired idempotency keys go as fast as they come.

use std::future::Future;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chrono::TimeDelta;
use futures_util::future::join_all;
use reqwest::{header, Method};
use serde_json::{json, Value};

use crate::helpers::*;
use crate::served::listening_address;

/// Longer than any request may take here: a request still unanswered by then hangs.
const HANG: Duration = Duration::from_secs(30);

/// Awaits `answer`, failing the test if it hangs past `HANG`.
async fn unhung<T>(answer: impl Future<Output = T>) -> T {
    tokio::time::timeout(HANG, answer)
        .await
        .expect("an answer before the hang guard")
}

/// The service hashes passwords on one thread per core.
fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZero::get)
}

// ---- 1. Password checks ------------------------------------------------------------------

#[actix_web::test]
async fn wrong_current_passwords_are_limited_per_account_like_logins() {
    let app = spawn_app_with(&[("LOGIN_FAILURES_PER_PHONE", "3")]).await;
    let v = app.volunteer().await;
    let other = app.volunteer().await;
    let new = "a new password 1";
    for _ in 0..3 {
        let problem = app
            .change_my_password(&v, "wrong password", new)
            .expect_problem(401, "invalid-credentials")
            .await;
        // The code of a wrong sign-in, in words that fit a screen with no phone on it.
        assert_eq!(problem["detail"], "the current password is wrong");
    }
    let res = app.change_my_password(&v, "wrong password", new).await;
    assert!((1..=15 * 60).contains(&retry_after(&res)));
    assert_problem(res, 429, "rate-limited").await;
    let res = app.change_my_password(&v, &v.password, new).await;
    assert!(res.headers().contains_key(header::RETRY_AFTER));
    assert_problem(res, 429, "rate-limited").await;
    // The limit is the account's: another account changes its password.
    app.change_my_password(&other, &other.password, new)
        .expect_status(StatusCode::NO_CONTENT)
        .await;
}

#[actix_web::test]
async fn a_password_hash_that_finds_no_free_hashing_thread_in_time_is_503_with_retry_after() {
    // Far more registrations at once than the hashing threads (one per core, each hash tens of
    // milliseconds) finish within the one-second wait: the excess is shed, never queued without
    // end.
    let app = spawn_app_with(&[("DATABASE_TIMEOUT", "1")]).await;
    let registrations = (0..200 * cores()).map(|_| {
        unhung(async {
            let res = app
                .register(&unique_phone(), "Many", "correct horse battery")
                .await;
            let status = res.status();
            let retry = res.headers().contains_key(header::RETRY_AFTER);
            let body: Value = res.json().await.unwrap_or_default();
            (status, retry, body)
        })
    });
    let (mut created, mut shed) = (0, 0);
    for (status, retry, body) in join_all(registrations).await {
        match status.as_u16() {
            201 => created += 1,
            503 => {
                assert!(retry, "a 503 carries Retry-After");
                assert_eq!(body["code"], "unavailable", "{body}");
                shed += 1;
            }
            other => panic!("only 201 or 503, got {other}: {body}"),
        }
    }
    assert!(created > 0, "the hashing threads work");
    assert!(shed > 0, "what cannot get a hashing thread in time is shed");
}

/// The real binary on a SQLite file of its own, so its memory is its own.
struct Service {
    child: Child,
    address: String,
    _dir: tempfile::TempDir,
}

impl Service {
    fn start(vars: &[(&str, &str)]) -> Service {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let mut command = Command::new(env!("CARGO_BIN_EXE_volunteer-points"));
        command
            .env_clear()
            .env("DATABASE_URL", dir.path().join("memory.db"))
            .env("JWT_SECRET", "memory-test-secret-memory-test-secret-0123")
            .env("BIND_ADDR", "127.0.0.1:0")
            .env("RUST_LOG", "error")
            .envs(vars.iter().copied())
            .arg("serve")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        let mut child = command.spawn().expect("the service starts");
        let address = listening_address(&mut child);
        Service {
            child,
            address,
            _dir: dir,
        }
    }

    /// A memory figure of the service's `/proc/<pid>/status` (`VmRSS`, `VmHWM`), in bytes.
    fn memory(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("the service's status");
        let kib: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("a memory figure");
        kib * 1024
    }

    /// Sends `count` logins, `at_once` at a time; returns the statuses.
    async fn logins(
        &self,
        count: usize,
        at_once: usize,
        phone: impl Fn(usize) -> String,
    ) -> Vec<u16> {
        let client = reqwest::Client::new();
        let url = format!("{}/api/v1/auth/login", self.address);
        let mut statuses = Vec::new();
        let bodies: Vec<Value> = (0..count)
            .map(|i| json!({"phone": phone(i), "password": "a wrong password"}))
            .collect();
        for wave in bodies.chunks(at_once) {
            let tasks: Vec<_> = wave
                .iter()
                .map(|body| {
                    let req = client.post(&url).timeout(HANG).json(body);
                    actix_web::rt::spawn(async move { req.send().await })
                })
                .collect();
            for task in tasks {
                let res = task.await.expect("a task").expect("an answer");
                statuses.push(res.status().as_u16());
            }
        }
        statuses
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const MIB: u64 = 1024 * 1024;

#[actix_web::test]
async fn three_hundred_failed_logins_keep_the_services_memory_flat() {
    let service = Service::start(&[("LOGINS_PER_ADDRESS", "100000"), ("DATABASE_TIMEOUT", "60")]);
    // One failed login first: the dummy hash and one hashing arena belong to the baseline.
    assert_eq!(service.logins(1, 1, |_| unique_phone()).await, [401]);
    let before = service.memory("VmHWM");
    let at_once = (4 * cores()).max(24);
    let statuses = service.logins(300, at_once, |_| unique_phone()).await;
    assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
    let grown = service.memory("VmHWM").saturating_sub(before);
    // Each argon2 hash takes ~19 MiB: one per hashing thread at most, where hashes on as many
    // threads as requests at once would take several times that.
    let bound = (cores() as u64 + 3) * 20 * MIB;
    assert!(grown < bound, "the peak grew {} MiB", grown / MIB);
}

// ---- 2. Limiter memory -------------------------------------------------------------------

#[actix_web::test]
async fn logins_with_huge_distinct_phones_keep_no_memory_and_are_401() {
    let service = Service::start(&[("LOGINS_PER_ADDRESS", "100000")]);
    let huge = "9".repeat(60 * 1024);
    assert_eq!(service.logins(1, 1, |i| format!("{i}{huge}")).await, [401]);
    let before = service.memory("VmRSS");
    // 2,000 distinct 60 KiB "phones": ~120 MiB if each were kept as a limiter key.
    let statuses = service.logins(2000, 16, |i| format!("{i}{huge}")).await;
    assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
    let grown = service.memory("VmRSS").saturating_sub(before);
    assert!(grown < 40 * MIB, "the service kept {} MiB", grown / MIB);
}

// ---- 5. The client address behind a proxy --------------------------------------------------

async fn register_from(app: &TestApp, forwarded_for: &str) -> reqwest::Response {
    let body =
        json!({"phone": unique_phone(), "name": "Proxied", "password": "correct horse battery"});
    app.request_with(
        Method::POST,
        "/auth/register",
        None,
        Some(&body),
        &[("X-Forwarded-For", forwarded_for)],
    )
    .await
}

/// An app that takes two registrations from an address, behind these trusted proxies.
async fn two_registrations_an_address_behind(trusted_proxies: &str) -> TestApp {
    spawn_app_with(&[
        ("TRUSTED_PROXIES", trusted_proxies),
        ("REGISTRATIONS_PER_ADDRESS", "2"),
    ])
    .await
}

#[actix_web::test]
async fn behind_a_trusted_proxy_each_forwarded_client_is_limited_on_its_own() {
    let app = two_registrations_an_address_behind("127.0.0.1, 10.9.0.0/16").await;
    for client in ["203.0.113.1", "203.0.113.2", "2001:db8::7"] {
        for _ in 0..2 {
            assert_eq!(register_from(&app, client).await.status(), 201, "{client}");
        }
    }
    // The right-most untrusted address is the client: what it put left of that is ignored,
    // trusted proxies right of it are skipped.
    for forwarded in [
        "203.0.113.1",
        "198.51.100.9, 203.0.113.1",
        "198.51.100.9, 203.0.113.1, 10.9.3.4",
    ] {
        let res = register_from(&app, forwarded).await;
        assert!(res.headers().contains_key(header::RETRY_AFTER));
        assert_problem(res, 429, "rate-limited").await;
    }
    assert_eq!(
        register_from(&app, "203.0.113.1, 203.0.113.3")
            .await
            .status(),
        201
    );
}

#[actix_web::test]
async fn an_untrusted_peers_forwarded_header_never_changes_the_limit_key() {
    let app = two_registrations_an_address_behind("10.9.0.0/16").await;
    assert_eq!(register_from(&app, "203.0.113.1").await.status(), 201);
    assert_eq!(register_from(&app, "203.0.113.2").await.status(), 201);
    register_from(&app, "203.0.113.3")
        .expect_problem(429, "rate-limited")
        .await;
}

// ---- 7. Writes shed load -------------------------------------------------------------------

#[actix_web::test]
async fn a_write_kept_waiting_on_a_held_lock_past_the_timeout_is_503_and_changes_nothing() {
    let app = spawn_app_with(&[("DATABASE_TIMEOUT", "1")]).await;
    let admin = app.admin().await;
    let v = app.volunteer().await;
    // Another writer holds the lock until the request is answered: the SQLite write lock, or on
    // PostgreSQL the idempotency table (every keyed POST writes to it).
    let lock = app.held_write_lock();
    let res = unhung(app.adjust(&admin, "held", &adjustment(&v.id, 7))).await;
    assert!((1..=60).contains(&retry_after(&res)));
    assert_problem(res, 503, "unavailable").await;
    lock.resume();
    lock.finish().expect("its transaction");

    assert_eq!(app.balance(&v).await, 0, "a shed write changed nothing");
    // After a 5xx the key may be used again.
    unhung(app.adjust(&admin, "held", &adjustment(&v.id, 7)))
        .expect_status(StatusCode::CREATED)
        .await;
    assert_eq!(app.balance(&v).await, 7);
}

#[actix_web::test]
async fn sixty_four_concurrent_writers_on_a_small_pool_get_only_201_503_or_429_and_the_ledger_holds(
) {
    let app = spawn_app_with(&[("DATABASE_TIMEOUT", "1"), ("DATABASE_POOL_SIZE", "2")]).await;
    let admin = app.admin().await;
    let v = app.volunteer().await;
    let writers = (0..64).map(|writer| {
        let (app, admin, v) = (&app, &admin, &v);
        async move {
            let mut statuses = Vec::new();
            for n in 0..4 {
                let key = format!("w{writer}-{n}");
                let res = unhung(app.adjust(admin, &key, &adjustment(&v.id, 1))).await;
                statuses.push(res.status());
            }
            statuses
        }
    });
    let mut created = 0;
    for status in join_all(writers).await.into_iter().flatten() {
        assert!(
            [
                StatusCode::CREATED,
                StatusCode::SERVICE_UNAVAILABLE,
                StatusCode::TOO_MANY_REQUESTS
            ]
            .contains(&status),
            "{status}"
        );
        created += i64::from(status == StatusCode::CREATED);
    }
    assert_eq!(
        app.balance(&v).await,
        created,
        "every acknowledged write is there, and only those"
    );
    // The ledger holds: the check at the test's end (TestApp's drop).
}

// ---- 8. The idempotency purge --------------------------------------------------------------

#[actix_web::test]
async fn one_purge_round_deletes_every_expired_key_however_many() {
    let app = spawn_app().await;
    let now = app.clock.now_naive();
    let planted = 2 * IDEMPOTENCY_PURGE_BATCH as usize + 500;
    // The last key is an hour younger than the rest: still fresh at purge time.
    app.plant_idempotency_keys(
        (0..=planted)
            .map(|n| {
                (
                    format!("k{n}"),
                    now + TimeDelta::hours(i64::from(n == planted)),
                )
            })
            .collect(),
    );
    let later = now + IDEMPOTENCY_RETENTION + TimeDelta::minutes(1);
    assert_eq!(app.purge_idempotency_keys(later), planted);
    assert_eq!(
        app.idempotency_keys(),
        [format!("k{planted}")],
        "only the fresh key is kept"
    );
}
