//! The test harness: `spawn_app` (a real server on port 0 with a fresh database, removed
//! afterwards) and the ledger check every test ends with, run by the test app's `Drop`.
//! `endpoints` holds one request helper per endpoint, `answers` what a test expects of an answer,
//! `fixtures` the steps tests arrange with, `database` what tests do behind the service's back.

#![allow(dead_code)]

mod answers;
mod database;
mod endpoints;
mod fixtures;

pub use crate::fresh_database::{on_postgres, FreshDatabase};
pub use answers::*;
pub use database::*;
pub use fixtures::*;
pub use reqwest::StatusCode;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use reqwest::{Method, Response};
use serde_json::{json, Value};
use volunteer_points::clock::Clock;
use volunteer_points::config::Config;
use volunteer_points::db::Db;
use volunteer_points::domain::people::Role;
use volunteer_points::startup::Application;

/// A running app and what a test needs to talk to it.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    pub client: reqwest::Client,
    /// The service's clock (manual: tests move it).
    pub clock: Clock,
    /// Direct database access: only `database.rs` uses it, so tests reach the library's `db`
    /// module in one place.
    db: Db,
    /// Set by `expect_broken_ledger`: the ledger check at the end is skipped.
    broken_ledger_expected: AtomicBool,
    /// What `DATABASE_URL` names: the key its statements are counted under.
    database_url: String,
    /// Shared by the instances of one database (`spawn_two_instances`): dropped with the last.
    _database: Arc<FreshDatabase>,
}

/// Every test ends with the ledger check (L1, L2, L9, L10 of LEDGER.md), whether or not it moved
/// points. It runs before the fields drop, so the database is still there. It reads through the
/// library's own blocking verify on a pooled connection, not through the server: the server's
/// workers and the blocking pool run on their own threads, so this thread waiting on them cannot
/// stall them, and the pool's timeout bounds the wait. A test that already failed is not checked
/// again (a panic while panicking would abort the whole run).
impl Drop for TestApp {
    fn drop(&mut self) {
        if std::thread::panicking() || self.broken_ledger_expected.load(Ordering::SeqCst) {
            return;
        }
        self.assert_ledger_ok();
    }
}

/// A signed-in person.
#[derive(Clone, Debug)]
pub struct TestUser {
    pub id: String,
    pub phone: String,
    pub password: String,
    pub token: String,
    pub refresh_token: String,
}

/// Starts the app with generous rate limits and a manual clock at the current time.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Starts the app with these environment settings on top of the test defaults.
pub async fn spawn_app_with(vars: &[(&str, &str)]) -> TestApp {
    let (env, database) = test_environment(vars);
    start(&env, Arc::new(database))
}

/// Starts two instances of the service on one database, as a balancer would spread clients over
/// them; each has its own manual clock, both at the same time.
pub async fn spawn_two_instances(vars: &[(&str, &str)]) -> (TestApp, TestApp) {
    let (env, database) = test_environment(vars);
    let database = Arc::new(database);
    let first = start(&env, database.clone());
    let second = start(&env, database);
    second.clock.set(first.clock.now());
    (first, second)
}

/// The test settings and a fresh database for them.
fn test_environment(vars: &[(&str, &str)]) -> (HashMap<String, String>, FreshDatabase) {
    let mut env: HashMap<String, String> = [
        ("BIND_ADDR", "127.0.0.1:0"),
        (
            "JWT_SECRET",
            "test-secret-test-secret-test-secret-0123456789",
        ),
        ("LOGINS_PER_ADDRESS", "100000"),
        ("REGISTRATIONS_PER_ADDRESS", "100000"),
        ("DATABASE_POOL_SIZE", "4"),
        ("DATABASE_TIMEOUT", "30"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let database = FreshDatabase::new("vp_test");
    env.insert("DATABASE_URL".into(), database.url.clone());
    for (k, v) in vars {
        env.insert((*k).to_owned(), (*v).to_owned());
    }
    (env, database)
}

/// Builds and runs one instance of the service with `env` on `database`.
fn start(env: &HashMap<String, String>, database: Arc<FreshDatabase>) -> TestApp {
    database::record_statements();
    let database_url = env["DATABASE_URL"].clone();
    let config = Config::from_vars(env).expect("a valid test configuration");
    let clock = Clock::manual(Utc::now());
    let app = Application::build(config, clock.clone()).expect("the app builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let db = app.state.db.clone();
    actix_web::rt::spawn(app.run_until_stopped());
    TestApp {
        address,
        client: reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .expect("an HTTP client"),
        clock,
        db,
        broken_ledger_expected: AtomicBool::new(false),
        database_url,
        _database: database,
    }
}

static PHONES: AtomicU64 = AtomicU64::new(0);

/// A phone number no other test user has.
pub fn unique_phone() -> String {
    let n = PHONES.fetch_add(1, Ordering::SeqCst);
    let salt = (std::process::id() as u64 % 1000) * 1_000_000;
    format!("13{:09}", (salt + n) % 1_000_000_000)
}

impl TestApp {
    /// POSTs `body` under `key` twice and asserts the refusal (422 `validation-failed`) is kept:
    /// the first answer is not a replay, the second is.
    pub async fn assert_refusal_kept(&self, who: &TestUser, path: &str, key: &str, body: &Value) {
        for expected in [None, Some("true")] {
            let res = self.post_keyed(path, &who.token, key, body).await;
            assert_eq!(replayed(&res), expected);
            assert_problem(res, 422, "validation-failed").await;
        }
    }

    /// The URL of an API path (`/me` → `http://.../api/v1/me`).
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("/api/")
            || path.starts_with("/healthz")
            || path.starts_with("/readyz")
            || path.starts_with("/metrics")
            || path.starts_with("/docs")
            || path.starts_with("/api-docs")
        {
            format!("{}{}", self.address, path)
        } else {
            format!("{}/api/v1{}", self.address, path)
        }
    }

    /// Sends a request; `body` as JSON when given.
    pub async fn request(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> Response {
        self.request_with(method, path, token, body, &[]).await
    }

    /// Sends a request with extra headers.
    pub async fn request_with(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Response {
        let mut req = self.client.request(method, self.url(path));
        if let Some(token) = token {
            req = req.bearer_auth(token);
        }
        if let Some(body) = body {
            req = req.json(body);
        }
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        req.send().await.expect("the request is sent")
    }

    /// Sends a request as it is written: these headers and this raw body, no bearer token unless
    /// a header carries one (for bodies and headers the typed helpers cannot make).
    pub async fn send_raw(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: Option<&str>,
    ) -> Response {
        let mut req = self.client.request(method, self.url(path));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        if let Some(body) = body {
            req = req.body(body.to_owned());
        }
        req.send().await.expect("the request is sent")
    }

    /// Sends `body` as it is written, as `application/json`, signed in as `token`'s holder
    /// (for bodies `serde_json::Value` cannot hold: not JSON, huge numbers, exact spellings).
    pub async fn send_json_text(
        &self,
        method: Method,
        path: &str,
        token: &str,
        body: &str,
    ) -> Response {
        let bearer = format!("Bearer {token}");
        let headers = [
            ("Authorization", bearer.as_str()),
            ("Content-Type", "application/json"),
        ];
        self.send_raw(method, path, &headers, Some(body)).await
    }

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.request(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> Response {
        self.request(Method::POST, path, Some(token), Some(body))
            .await
    }

    /// A POST of `body` by nobody signed in.
    pub async fn post_anonymously(&self, path: &str, body: &Value) -> Response {
        self.request(Method::POST, path, None, Some(body)).await
    }

    /// A POST with an `Idempotency-Key`.
    pub async fn post_keyed(&self, path: &str, token: &str, key: &str, body: &Value) -> Response {
        self.request_with(
            Method::POST,
            path,
            Some(token),
            Some(body),
            &[("Idempotency-Key", key)],
        )
        .await
    }

    pub async fn put(&self, path: &str, token: &str, body: &Value) -> Response {
        self.request(Method::PUT, path, Some(token), Some(body))
            .await
    }

    /// A PATCH of `body`.
    pub async fn patch(&self, path: &str, token: &str, body: &Value) -> Response {
        self.request(Method::PATCH, path, Some(token), Some(body))
            .await
    }

    /// A DELETE, with no body.
    pub async fn delete(&self, path: &str, token: &str) -> Response {
        self.request(Method::DELETE, path, Some(token), None).await
    }

    /// `POST /auth/register`.
    pub async fn register(&self, phone: &str, name: &str, password: &str) -> Response {
        self.request(
            Method::POST,
            "/auth/register",
            None,
            Some(&json!({"phone": phone, "name": name, "password": password})),
        )
        .await
    }

    /// `POST /auth/login`.
    pub async fn login(&self, phone: &str, password: &str) -> Response {
        self.request(
            Method::POST,
            "/auth/login",
            None,
            Some(&json!({"phone": phone, "password": password})),
        )
        .await
    }

    /// A newly registered, signed-in volunteer.
    pub async fn volunteer(&self) -> TestUser {
        self.volunteer_named("志愿者").await
    }

    /// A newly registered, signed-in volunteer called `name`.
    pub async fn volunteer_named(&self, name: &str) -> TestUser {
        let phone = unique_phone();
        let password = "correct horse battery".to_owned();
        let res = self.register(&phone, name, &password).await;
        assert_eq!(res.status(), StatusCode::CREATED, "register");
        let auth: Value = res.json().await.expect("Auth");
        TestUser {
            id: auth["user"]["id"].as_str().expect("id").to_owned(),
            phone,
            password,
            token: auth["access_token"].as_str().expect("token").to_owned(),
            refresh_token: auth["refresh_token"].as_str().expect("refresh").to_owned(),
        }
    }

    /// A signed-in person with `role` (registered, promoted in the database, signed in again).
    pub async fn user_with_role(&self, role: Role) -> TestUser {
        self.user_named(role, "志愿者").await
    }

    /// A signed-in person called `name` with `role`.
    pub async fn user_named(&self, role: Role, name: &str) -> TestUser {
        let user = self.volunteer_named(name).await;
        if role == Role::Volunteer {
            return user;
        }
        self.promote(&user.id, role);
        self.signed_in_again(&user).await
    }

    pub async fn staff(&self) -> TestUser {
        self.user_with_role(Role::Staff).await
    }

    pub async fn admin(&self) -> TestUser {
        self.user_with_role(Role::Admin).await
    }

    /// The ledger check (L1, L2, L9, L10) over the whole database. Every test ends with it (see
    /// `Drop`); a test calls it by hand only to check a state in the middle.
    pub fn assert_ledger_ok(&self) {
        let report = self.verify();
        assert!(report.ok, "ledger check failed: {:?}", report.problems);
    }

    /// This test breaks the ledger on purpose (it plants an inconsistency to see it reported),
    /// so the ledger check at its end is skipped.
    pub fn expect_broken_ledger(&self) {
        self.broken_ledger_expected.store(true, Ordering::SeqCst);
    }

    /// Moves the service's clock to `at`.
    pub fn set_time(&self, at: DateTime<Utc>) {
        self.clock.set(at);
    }
}
