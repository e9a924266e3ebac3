//! The test harness: `spawn_app` (a real server on port 0 with a fresh database, removed
//! afterwards), typed request helpers and the ledger check every points-moving test ends with.

#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, Utc};
use diesel::{Connection, PgConnection, RunQueryDsl};
use reqwest::{Method, Response, StatusCode};
use serde_json::{json, Value};
use volunteer_points::clock::Clock;
use volunteer_points::config::Config;
use volunteer_points::db::{self, users, Db};
use volunteer_points::domain::people::Role;
use volunteer_points::startup::Application;

/// A running app and what a test needs to talk to it.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    pub client: reqwest::Client,
    /// The service's clock (manual: tests move it).
    pub clock: Clock,
    /// Direct database access, for planting and checking state.
    pub db: Db,
    _database: TestDatabase,
}

/// Removes the test's database when the test ends.
enum TestDatabase {
    Sqlite(tempfile::TempDir),
    Postgres { admin_url: String, name: String },
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        if let TestDatabase::Postgres { admin_url, name } = self {
            if let Ok(mut conn) = PgConnection::establish(admin_url) {
                let _ =
                    diesel::sql_query(format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                        .execute(&mut conn);
            }
        }
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

/// Whether the suite runs on PostgreSQL.
pub fn on_postgres() -> bool {
    std::env::var("TEST_DATABASE_URL").is_ok_and(|u| u.starts_with("postgres"))
}

/// Starts the app with generous rate limits and a manual clock at the current time.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(&[]).await
}

/// Starts the app with these environment settings on top of the test defaults.
pub async fn spawn_app_with(vars: &[(&str, &str)]) -> TestApp {
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
    let database = match std::env::var("TEST_DATABASE_URL") {
        Ok(url) if url.starts_with("postgres") => {
            let name = format!("vp_test_{}", uuid::Uuid::new_v4().simple());
            let mut conn = PgConnection::establish(&url).expect("TEST_DATABASE_URL is reachable");
            diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
                .execute(&mut conn)
                .expect("create the test database");
            let (base, _) = url.rsplit_once('/').expect("a database URL has a path");
            env.insert("DATABASE_URL".into(), format!("{base}/{name}"));
            TestDatabase::Postgres {
                admin_url: url,
                name,
            }
        }
        _ => {
            let dir = tempfile::tempdir().expect("a temporary folder");
            let path = dir.path().join("test.db");
            env.insert("DATABASE_URL".into(), path.to_string_lossy().into_owned());
            TestDatabase::Sqlite(dir)
        }
    };
    for (k, v) in vars {
        env.insert((*k).to_owned(), (*v).to_owned());
    }
    let config = Config::from_vars(&env).expect("a valid test configuration");
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
    /// The URL of an API path (`/me` → `http://.../api/v1/me`).
    pub fn url(&self, path: &str) -> String {
        if path.starts_with("/api/")
            || path.starts_with("/healthz")
            || path.starts_with("/readyz")
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

    pub async fn get(&self, path: &str, token: &str) -> Response {
        self.request(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: &Value) -> Response {
        self.request(Method::POST, path, Some(token), Some(body))
            .await
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
        let phone = unique_phone();
        let password = "correct horse battery".to_owned();
        let res = self.register(&phone, "志愿者", &password).await;
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
        let user = self.volunteer().await;
        if role == Role::Volunteer {
            return user;
        }
        let id = user.id.clone();
        self.db
            .write_blocking(|conn| users::set_role(conn, &id, role).map(|_| ()))
            .expect("promote");
        let res = self.login(&user.phone, &user.password).await;
        assert_eq!(res.status(), StatusCode::OK, "login");
        let auth: Value = res.json().await.expect("Auth");
        TestUser {
            token: auth["access_token"].as_str().expect("token").to_owned(),
            refresh_token: auth["refresh_token"].as_str().expect("refresh").to_owned(),
            ..user
        }
    }

    pub async fn staff(&self) -> TestUser {
        self.user_with_role(Role::Staff).await
    }

    pub async fn admin(&self) -> TestUser {
        self.user_with_role(Role::Admin).await
    }

    /// Gives `volunteer` points through an admin adjustment.
    pub async fn grant(&self, admin: &TestUser, volunteer: &str, amount: i64) {
        let key = uuid::Uuid::new_v4().to_string();
        let res = self
            .post_keyed(
                "/ledger/adjustments",
                &admin.token,
                &key,
                &json!({"volunteer_id": volunteer, "amount": amount, "reason": "test grant"}),
            )
            .await;
        assert_eq!(
            res.status(),
            StatusCode::CREATED,
            "grant: {}",
            res.text().await.unwrap_or_default()
        );
    }

    /// The balance of `volunteer` as their own `/me/balance` shows it.
    pub async fn balance(&self, token: &str) -> i64 {
        let res = self.get("/me/balance", token).await;
        assert_eq!(res.status(), StatusCode::OK);
        let body: Value = res.json().await.expect("Balance");
        body["balance"].as_i64().expect("balance")
    }

    /// The ledger check (L1, L2, L9, L10) over the whole database: every points test ends here.
    pub fn assert_ledger_ok(&self) {
        let report = self.db.read_blocking(db::verify_all).expect("verify runs");
        assert!(report.ok, "ledger check failed: {:?}", report.problems);
    }

    /// Moves the service's clock to `at`.
    pub fn set_time(&self, at: DateTime<Utc>) {
        self.clock.set(at);
    }
}

/// Reads a JSON body.
pub async fn body(res: Response) -> Value {
    res.json().await.expect("a JSON body")
}

/// Asserts a problem+json answer with `status` and `code`; returns the body.
pub async fn assert_problem(res: Response, status: u16, code: &str) -> Value {
    assert_eq!(res.status().as_u16(), status, "status");
    let ct = res
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let body: Value = res.json().await.expect("a problem body");
    assert_eq!(ct, "application/problem+json", "content type of {body}");
    assert_eq!(body["code"], code, "problem {body}");
    assert_eq!(body["status"], status);
    assert_eq!(body["type"], format!("/problems/{code}"));
    body
}

/// The served OpenAPI document.
pub async fn openapi_document(app: &TestApp) -> Value {
    app.client
        .get(app.url("/api-docs/openapi.json"))
        .send()
        .await
        .expect("the request is sent")
        .json()
        .await
        .expect("a JSON document")
}
