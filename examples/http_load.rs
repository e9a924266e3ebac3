//! What the full product endpoints cost over HTTP, against a baseline measured in the same run.
//!
//! Starts the service in-process on a fresh database, then sends a fixed number of requests per
//! endpoint with a fixed number in flight, and prints requests per second and the ratio to
//! `GET /healthz` (no database). Bounded by count; talks only to 127.0.0.1.
//!
//! `cargo run --release --example http_load [-- REQUESTS CONCURRENCY]` (SQLite in a temporary
//! folder); with `DATABASE_URL=postgres://...` in a new PostgreSQL database, dropped afterwards.

use std::collections::HashMap;
use std::time::Instant;

use chrono::Utc;
use diesel::{Connection, PgConnection, RunQueryDsl};
use futures_util::stream::{self, StreamExt};
use serde_json::{json, Value};
use volunteer_points::clock::Clock;
use volunteer_points::config::Config;
use volunteer_points::db::users;
use volunteer_points::domain::ids::{Id, VolunteerId};
use volunteer_points::domain::people::Role;
use volunteer_points::startup::Application;

/// How many volunteers the reads and writes are spread over.
const VOLUNTEERS: usize = 32;

/// Builds the `i`-th request of one endpoint.
type MakeRequest = Box<dyn Fn(usize) -> reqwest::RequestBuilder>;

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let requests: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(3000);
    let concurrency: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(32);

    let dir = tempfile::tempdir()?;
    let mut env: HashMap<String, String> = HashMap::new();
    env.insert("BIND_ADDR".into(), "127.0.0.1:0".into());
    env.insert(
        "JWT_SECRET".into(),
        "load-test-secret-load-test-secret-0123456789".into(),
    );
    env.insert("LOGINS_PER_ADDRESS".into(), "1000000".into());
    env.insert("REGISTRATIONS_PER_ADDRESS".into(), "1000000".into());
    let mut cleanup = None;
    match std::env::var("DATABASE_URL") {
        Ok(admin) if admin.starts_with("postgres") => {
            let name = format!("vp_load_{}", uuid::Uuid::new_v4().simple());
            let mut conn = PgConnection::establish(&admin)?;
            diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut conn)?;
            let (base, _) = admin.rsplit_once('/').unwrap_or((&admin, ""));
            env.insert("DATABASE_URL".into(), format!("{base}/{name}"));
            env.insert("DATABASE_POOL_SIZE".into(), "4".into());
            cleanup = Some((admin.clone(), name));
        }
        _ => {
            let path = dir.path().join("load.db");
            env.insert("DATABASE_URL".into(), path.to_string_lossy().into_owned());
        }
    }
    let config = Config::from_vars(&env)?;
    let app = Application::build(config, Clock::System)?;
    let base = format!("http://127.0.0.1:{}/api/v1", app.port());
    let db = app.state.db.clone();
    println!(
        "backend: {}; {requests} requests per endpoint, {concurrency} in flight",
        db.backend().name()
    );
    actix_web::rt::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();

    // Volunteers with plenty of points (writes spread over their accounts, as in real use: no
    // hot row), an admin, and an unlimited reward costing 1.
    let sign_up = |phone: String| {
        let client = client.clone();
        let base = base.clone();
        async move {
            let auth: Value = client
                .post(format!("{base}/auth/register"))
                .json(&json!({"phone": phone, "name": "Load", "password": "load password"}))
                .send()
                .await?
                .json()
                .await?;
            anyhow::Ok(auth)
        }
    };
    let mut volunteers = Vec::new();
    for n in 0..VOLUNTEERS {
        volunteers.push(sign_up(format!("137{n:08}")).await?);
    }
    let admin = sign_up("13799999999".to_owned()).await?;
    let admin_id = VolunteerId::parse(admin["user"]["id"].as_str().unwrap_or_default())
        .ok_or_else(|| anyhow::anyhow!("sign-up answered no user id"))?;
    db.write_blocking(move |c| users::set_role(c, &admin_id, Role::Admin).map(|_| ()))?;
    let admin: Value = client
        .post(format!("{base}/auth/login"))
        .json(&json!({"phone": "13799999999", "password": "load password"}))
        .send()
        .await?
        .json()
        .await?;
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let v_tokens: Vec<String> = volunteers
        .iter()
        .map(|v| text(&v["access_token"]))
        .collect();
    let v_ids: Vec<String> = volunteers.iter().map(|v| text(&v["user"]["id"])).collect();
    let a_token = text(&admin["access_token"]);
    for id in &v_ids {
        client
            .post(format!("{base}/ledger/adjustments"))
            .bearer_auth(&a_token)
            .header("Idempotency-Key", format!("seed-{id}"))
            .json(&json!({"volunteer_id": id, "amount": 1_000_000, "reason": "load seed"}))
            .send()
            .await?;
    }
    let reward: Value = client
        .post(format!("{base}/rewards"))
        .bearer_auth(&a_token)
        .json(&json!({"name": "Load reward", "cost_points": 1}))
        .send()
        .await?
        .json()
        .await?;
    let reward_id = reward["id"].as_str().unwrap_or_default().to_owned();

    let root = base.trim_end_matches("/api/v1").to_owned();
    let run_id = Utc::now().timestamp_micros();
    let endpoints: Vec<(&str, MakeRequest)> = vec![
        (
            "GET /healthz (baseline)",
            Box::new({
                let (c, u) = (client.clone(), format!("{root}/healthz"));
                move |_| c.get(&u)
            }),
        ),
        (
            "GET /me/balance",
            Box::new({
                let (c, u, t) = (
                    client.clone(),
                    format!("{base}/me/balance"),
                    v_tokens.clone(),
                );
                move |i| c.get(&u).bearer_auth(&t[i % t.len()])
            }),
        ),
        (
            "GET /me/ledger",
            Box::new({
                let (c, u, t) = (
                    client.clone(),
                    format!("{base}/me/ledger"),
                    v_tokens.clone(),
                );
                move |i| c.get(&u).bearer_auth(&t[i % t.len()])
            }),
        ),
        (
            "POST /ledger/adjustments",
            Box::new({
                let (c, u, t, v) = (
                    client.clone(),
                    format!("{base}/ledger/adjustments"),
                    a_token.clone(),
                    v_ids.clone(),
                );
                move |i| {
                    c.post(&u)
                        .bearer_auth(&t)
                        .header("Idempotency-Key", format!("adj-{run_id}-{i}"))
                        .json(
                            &json!({"volunteer_id": v[i % v.len()], "amount": 1, "reason": "load"}),
                        )
                }
            }),
        ),
        (
            "POST /redemptions",
            Box::new({
                let (c, u, t, r) = (
                    client.clone(),
                    format!("{base}/redemptions"),
                    v_tokens.clone(),
                    reward_id.clone(),
                );
                move |i| {
                    c.post(&u)
                        .bearer_auth(&t[i % t.len()])
                        .header("Idempotency-Key", format!("red-{run_id}-{i}"))
                        .json(&json!({"reward_id": r}))
                }
            }),
        ),
    ];

    println!(
        "{:<28} {:>10} {:>10} {:>12}",
        "endpoint", "req/s", "errors", "vs baseline"
    );
    let mut baseline = None;
    for (name, make) in &endpoints {
        let started = Instant::now();
        let errors = stream::iter(0..requests)
            .map(|i| {
                let req = make(i);
                async move {
                    match req.send().await {
                        Ok(res) if res.status().is_success() => 0usize,
                        _ => 1,
                    }
                }
            })
            .buffer_unordered(concurrency)
            .fold(0usize, |acc, e| async move { acc + e })
            .await;
        let rate = requests as f64 / started.elapsed().as_secs_f64();
        let base_rate = *baseline.get_or_insert(rate);
        println!(
            "{name:<28} {rate:>10.0} {errors:>10} {:>12.2}",
            rate / base_rate
        );
    }

    drop(db);
    if let Some((admin, name)) = cleanup {
        let mut conn = PgConnection::establish(&admin)?;
        diesel::sql_query(format!("DROP DATABASE {name} WITH (FORCE)")).execute(&mut conn)?;
    }
    Ok(())
}
