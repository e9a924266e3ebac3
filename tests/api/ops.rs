//! Tests of operations: liveness, readiness (and its recovery), the OpenAPI document, the docs.

use std::io;
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use diesel::{Connection, PgConnection, RunQueryDsl};
use reqwest::{header, Method};

use crate::helpers::*;

#[actix_web::test]
async fn health_and_readiness_answer() {
    let app = spawn_app().await;
    let res = app.send_raw(Method::GET, "/healthz", &[], None).await;
    assert_eq!(res.status(), 200);
    assert_eq!(body(res).await["status"], "ok");
    let res = app.send_raw(Method::GET, "/readyz", &[], None).await;
    assert_eq!(res.status(), 200);
}

#[actix_web::test]
async fn the_openapi_document_is_openapi_3_and_lists_the_foundation_paths() {
    let app = spawn_app().await;
    let doc = app.openapi().expect_json(StatusCode::OK).await;
    assert!(
        doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.")),
        "{}",
        doc["openapi"]
    );
    let paths = doc["paths"].as_object().expect("paths");
    for (path, method) in [
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/api/v1/auth/register", "post"),
        ("/api/v1/auth/login", "post"),
        ("/api/v1/auth/refresh", "post"),
        ("/api/v1/auth/logout", "post"),
        ("/api/v1/me", "get"),
        ("/api/v1/me/password", "put"),
        ("/api/v1/volunteers", "get"),
        ("/api/v1/volunteers", "post"),
        ("/api/v1/volunteers/{id}", "get"),
        ("/api/v1/volunteers/{id}/role", "put"),
        ("/api/v1/volunteers/{id}/password", "put"),
        ("/api/v1/partners", "get"),
        ("/api/v1/partners", "post"),
        ("/api/v1/partners/{id}", "get"),
        ("/api/v1/partners/{id}", "patch"),
        ("/api/v1/partners/{id}/clerks", "get"),
        ("/api/v1/partners/{id}/clerks/{volunteer_id}", "put"),
        ("/api/v1/partners/{id}/clerks/{volunteer_id}", "delete"),
        ("/api/v1/partners/{id}/redemptions", "get"),
        ("/api/v1/partners/{id}/settlement", "get"),
    ] {
        assert!(
            paths.get(path).and_then(|p| p.get(method)).is_some(),
            "{method} {path} is documented"
        );
    }
    let schemas = doc["components"]["schemas"].as_object().expect("schemas");
    assert!(schemas.contains_key("Problem"));
    for schema in ["Partner", "Settlement", "MyPartner"] {
        assert!(schemas.contains_key(schema), "{schema} is documented");
    }
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}

#[actix_web::test]
async fn the_docs_serve_swagger_ui() {
    let app = spawn_app().await;
    // The default client follows redirects (`/docs` → `/docs/`).
    let res = app.send_raw(Method::GET, "/docs", &[], None).await;
    assert_eq!(res.status(), 200);
    let ct = header(&res, header::CONTENT_TYPE).to_owned();
    assert!(ct.starts_with("text/html"), "{ct}");
    let html = res.text().await.expect("text");
    assert!(html.contains("swagger-ui"), "{html}");
}

/// A TCP proxy in front of PostgreSQL that the test can cut (dropping every connection and
/// refusing new ones) and resume, to play a database going away and coming back.
struct Proxy {
    port: u16,
    up: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
}

impl Proxy {
    fn start(target: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a proxy port");
        let port = listener.local_addr().expect("bound").port();
        let up = Arc::new(AtomicBool::new(true));
        let open = Arc::new(Mutex::new(Vec::new()));
        let (up2, open2) = (up.clone(), open.clone());
        // The accepting thread lives as long as the test process; it holds nothing else.
        thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if !up2.load(Ordering::SeqCst) {
                    // Refused: closed before a byte is exchanged.
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(&target) else {
                    continue;
                };
                let mut open = open2.lock().expect("lock");
                for s in [&client, &server] {
                    if let Ok(s) = s.try_clone() {
                        open.push(s);
                    }
                }
                pipe(&client, &server);
                pipe(&server, &client);
            }
        });
        Proxy { port, up, open }
    }

    /// Drops every open connection and refuses new ones.
    fn cut(&self) {
        self.up.store(false, Ordering::SeqCst);
        for s in self.open.lock().expect("lock").drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    /// Accepts connections again.
    fn resume(&self) {
        self.up.store(true, Ordering::SeqCst);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.cut();
    }
}

fn pipe(from: &TcpStream, to: &TcpStream) {
    let (Ok(mut from), Ok(mut to)) = (from.try_clone(), to.try_clone()) else {
        return;
    };
    thread::spawn(move || {
        let _ = io::copy(&mut from, &mut to);
        let _ = to.shutdown(Shutdown::Both);
    });
}

/// A database of its own for the proxied app, dropped when the test ends.
struct OwnDatabase {
    admin_url: String,
    name: String,
}

impl Drop for OwnDatabase {
    fn drop(&mut self) {
        if let Ok(mut conn) = PgConnection::establish(&self.admin_url) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)",
                self.name
            ))
            .execute(&mut conn);
        }
    }
}

/// `postgres://user@host:port/db` → (`postgres://user@`, `host:port`).
fn split_url(url: &str) -> (String, String) {
    let (scheme, rest) = url.split_once("://").expect("a URL");
    let authority = rest.split('/').next().unwrap_or(rest);
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (format!("{u}@"), h),
        None => (String::new(), authority),
    };
    let hostport = if hostport.contains(':') {
        hostport.to_owned()
    } else {
        format!("{hostport}:5432")
    };
    (format!("{scheme}://{userinfo}"), hostport)
}

async fn readyz(app: &TestApp) -> reqwest::Response {
    app.client
        .get(app.url("/readyz"))
        .send()
        .await
        .expect("sent")
}

/// PostgreSQL runs only: on SQLite the database cannot go away, so this test returns at once.
#[actix_web::test]
async fn readiness_is_503_while_postgres_is_unreachable_and_recovers_by_itself() {
    if !on_postgres() {
        return; // SQLite: nothing to cut; passes trivially.
    }
    let admin_url = std::env::var("TEST_DATABASE_URL").expect("set on PostgreSQL runs");
    let name = format!("vp_test_{}", uuid::Uuid::new_v4().simple());
    volunteer_points::db::init_tls();
    let mut conn = PgConnection::establish(&admin_url).expect("PostgreSQL is reachable");
    diesel::sql_query(format!("CREATE DATABASE \"{name}\""))
        .execute(&mut conn)
        .expect("create the database");
    let _own = OwnDatabase {
        admin_url: admin_url.clone(),
        name: name.clone(),
    };
    let (prefix, target) = split_url(&admin_url);
    let proxy = Proxy::start(target);
    let url = format!("{prefix}127.0.0.1:{}/{name}", proxy.port);
    // A short pool wait, so a 503 comes within a second rather than after the test default.
    let app = spawn_app_with(&[("DATABASE_URL", &url), ("DATABASE_TIMEOUT", "1")]).await;

    assert_eq!(readyz(&app).await.status(), 200);
    app.volunteer().await;

    proxy.cut();
    let res = readyz(&app).await;
    let retry = res.headers().get(header::RETRY_AFTER).cloned();
    assert_problem(res, 503, "unavailable").await;
    assert!(retry.is_some(), "503 carries Retry-After");
    // Requests that need the database are 503 too, not 500.
    let res = app
        .register(&unique_phone(), "Down", "correct horse battery")
        .await;
    assert_problem(res, 503, "unavailable").await;

    proxy.resume();
    // The pool reconnects on its own; allow it a few tries of its retry back-off.
    let mut status = 0;
    for _ in 0..20 {
        status = readyz(&app).await.status().as_u16();
        if status == 200 {
            break;
        }
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200, "ready again without a restart");
    app.volunteer().await;
}

#[actix_web::test]
async fn a_wrong_method_is_405_with_allow_naming_the_methods_of_the_path() {
    let app = spawn_app().await;
    let v = app.volunteer().await;
    let (a, b) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    for (method, path, allow) in [
        (Method::DELETE, "/teams".to_owned(), "GET, POST"),
        (Method::DELETE, "/me".to_owned(), "GET"),
        (Method::GET, "/redemptions/fulfil".to_owned(), "POST"),
        (
            Method::POST,
            format!("/teams/{a}/members/{b}"),
            "PUT, DELETE",
        ),
        (Method::PUT, format!("/activities/{a}"), "GET, PATCH"),
        (Method::POST, "/healthz".to_owned(), "GET"),
        (Method::POST, "/api/v1/readyz".to_owned(), "GET"),
    ] {
        let res = app
            .request(method.clone(), &path, Some(&v.token), None)
            .await;
        let allowed = header(&res, header::ALLOW).to_owned();
        assert_problem(res, 405, "method-not-allowed").await;
        assert_eq!(allowed, allow, "{method} {path}");
    }
}

#[actix_web::test]
async fn the_probes_answer_at_the_root_and_under_the_base_path() {
    let app = spawn_app().await;
    for path in ["/healthz", "/readyz", "/api/v1/healthz", "/api/v1/readyz"] {
        let res = app.request(Method::GET, path, None, None).await;
        assert_eq!(res.status(), 200, "{path}");
    }
}

async fn openapi_document(app: &TestApp) -> serde_json::Value {
    let res = app
        .request(Method::GET, "/api-docs/openapi.json", None, None)
        .await;
    assert_eq!(res.status(), 200);
    body(res).await
}

#[actix_web::test]
async fn every_operation_has_its_own_id_and_documents_problems_as_problem_json() {
    let app = spawn_app().await;
    let doc = openapi_document(&app).await;
    let mut ids = std::collections::HashSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for (method, op) in item.as_object().expect("a path item") {
            let id = op["operationId"].as_str().expect("an operationId");
            assert!(ids.insert(id.to_owned()), "{id} is used twice");
            let responses = op["responses"].as_object().expect("responses");
            if path != "/healthz" {
                assert!(
                    responses.contains_key("500"),
                    "{method} {path} documents 500"
                );
                assert!(
                    responses.contains_key("503"),
                    "{method} {path} documents 503"
                );
            }
            for (status, response) in responses {
                let content = &response["content"];
                if status.as_str() >= "400" {
                    assert!(
                        content["application/problem+json"]["schema"]["$ref"]
                            == "#/components/schemas/Problem"
                            && content.get("application/json").is_none(),
                        "{method} {path} {status} is problem+json"
                    );
                }
                if status == "429" || status == "503" {
                    assert!(
                        response["headers"]["Retry-After"].is_object(),
                        "{method} {path} {status} has Retry-After"
                    );
                }
            }
        }
    }
    let login = &doc["paths"]["/api/v1/auth/login"]["post"]["responses"];
    for status in ["400", "401", "415", "422", "429"] {
        assert!(login[status].is_object(), "login documents {status}");
    }
}

#[actix_web::test]
async fn the_openapi_document_names_pages_enums_constraints_and_idempotency_keys() {
    let app = spawn_app().await;
    let doc = openapi_document(&app).await;
    let schemas = &doc["components"]["schemas"];
    let ok_schema = |path: &str| {
        doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
            ["$ref"]
            .clone()
    };
    for (path, page, item) in [
        ("/api/v1/teams", "TeamPage", "Team"),
        ("/api/v1/rewards", "RewardPage", "Reward"),
        ("/api/v1/activities", "ActivityPage", "Activity"),
        ("/api/v1/activity-logs", "ActivityLogPage", "ActivityLog"),
        ("/api/v1/me/ledger", "EntryPage", "Entry"),
        ("/api/v1/volunteers", "UserPage", "User"),
        ("/api/v1/redemptions", "RedemptionPage", "Redemption"),
    ] {
        assert_eq!(ok_schema(path), format!("#/components/schemas/{page}"));
        assert_eq!(
            schemas[page]["properties"]["items"]["items"]["$ref"],
            format!("#/components/schemas/{item}")
        );
    }
    assert_eq!(
        schemas["Report"]["properties"]["problems"]["items"]["$ref"],
        "#/components/schemas/LedgerProblem"
    );
    let log = &schemas["ActivityLog"]["properties"];
    assert_eq!(log["status"]["$ref"], "#/components/schemas/LogStatus");
    assert_eq!(
        schemas["LogStatus"]["enum"],
        serde_json::json!([
            "checked_in",
            "submitted",
            "approved",
            "rejected",
            "reversed"
        ])
    );
    assert_eq!(log["id"]["format"], "uuid");
    assert_eq!(
        schemas["RegisterRequest"]["properties"]["phone"]["pattern"],
        "^1[0-9]{10}$"
    );
    assert_eq!(
        schemas["RegisterRequest"]["properties"]["password"]["minLength"],
        8
    );
    assert_eq!(
        schemas["Restock"]["properties"]["quantity"]["maximum"],
        100_000
    );

    let key = |path: &str| {
        doc["paths"][path]["post"]["parameters"]
            .as_array()
            .and_then(|ps| ps.iter().find(|p| p["name"] == "Idempotency-Key").cloned())
    };
    for path in ["/api/v1/redemptions", "/api/v1/ledger/adjustments"] {
        assert_eq!(key(path).expect("documented")["required"], true, "{path}");
    }
    for path in ["/api/v1/teams", "/api/v1/activity-logs/{id}/approve"] {
        assert_eq!(key(path).expect("documented")["required"], false, "{path}");
    }
    assert!(key("/api/v1/auth/login").is_none(), "ignored on /auth");
}
