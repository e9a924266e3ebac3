//! Reports and exports over 100,000 activity logs: how long the summary takes, how long the
//! activity-log export takes, and how much the process's peak memory grows while it streams.
//!
//! Seeds 1,000 volunteers, 100 activities and one approved log for each pair (bulk INSERTs),
//! starts the service in-process and reads both over HTTP, chunk by chunk.
//!
//! `cargo run --release --example reports_scale [-- VOLUNTEERS]` (SQLite in a temporary folder);
//! with `DATABASE_URL=postgres://...` in a new PostgreSQL database, dropped afterwards.

use std::collections::HashMap;
use std::time::Instant;

use chrono::{Duration, Utc};
use diesel::{Connection, PgConnection, RunQueryDsl};
use volunteer_points::clock::Clock;
use volunteer_points::config::Config;
use volunteer_points::db::users::{self, NewUser};
use volunteer_points::domain::people::{Phone, Role};
use volunteer_points::startup::Application;

const ACTIVITIES: usize = 100;

/// A line of /proc/self/status in KiB (`VmRSS`, `VmHWM`).
fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// Resets the peak (`VmHWM`) to the current resident size.
fn reset_peak() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let volunteers: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(1000);
    let dir = tempfile::tempdir()?;
    let mut env: HashMap<String, String> = HashMap::new();
    env.insert("BIND_ADDR".into(), "127.0.0.1:0".into());
    env.insert(
        "JWT_SECRET".into(),
        "scale-secret-scale-secret-0123456789abcdef".into(),
    );
    let mut cleanup = None;
    match std::env::var("DATABASE_URL") {
        Ok(admin) if admin.starts_with("postgres") => {
            let name = format!("vp_scale_{}", uuid::Uuid::new_v4().simple());
            let mut conn = PgConnection::establish(&admin)?;
            diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut conn)?;
            let (base, _) = admin.rsplit_once('/').unwrap_or((&admin, ""));
            env.insert("DATABASE_URL".into(), format!("{base}/{name}"));
            cleanup = Some((admin.clone(), name));
        }
        _ => {
            let path = dir.path().join("scale.db");
            env.insert("DATABASE_URL".into(), path.to_string_lossy().into_owned());
        }
    }
    let config = Config::from_vars(&env)?;
    let app = Application::build(config, Clock::System)?;
    let base = format!("http://127.0.0.1:{}/api/v1", app.port());
    let state = app.state.clone();
    let db = state.db.clone();

    // Seed: people through db::users (as the service makes them), activities and logs in bulk.
    let now = Utc::now().naive_utc();
    let stamp = now.format("%Y-%m-%d %H:%M:%S").to_string();
    let started = Instant::now();
    let ids: Vec<String> = db.write_blocking(|conn| {
        let mut ids = Vec::new();
        for i in 0..=volunteers {
            let phone = Phone::parse(&format!("1{:010}", 3_000_000_000u64 + i as u64))
                .map_err(|rule| volunteer_points::error::AppError::invalid("phone", rule))?;
            let role = if i == 0 { Role::Staff } else { Role::Volunteer };
            let name = format!("志愿者{i}");
            let user = users::create(
                conn,
                NewUser {
                    phone: &phone,
                    name: &name,
                    role,
                    password_hash: "",
                    now,
                },
            )?;
            ids.push(user.id.to_string());
        }
        Ok(ids)
    })?;
    let (staff, people) = ids.split_first().expect("the staff member");
    let starts = (now - Duration::hours(2)).format("%Y-%m-%d %H:%M:%S");
    let ends = (now - Duration::hours(1)).format("%Y-%m-%d %H:%M:%S");
    let activity_ids: Vec<String> = (0..ACTIVITIES)
        .map(|_| uuid::Uuid::new_v4().to_string())
        .collect();
    db.write_blocking(|conn| {
        let values: Vec<String> = activity_ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                format!(
                    "('{id}', '活动{i}', '{starts}', '{ends}', 60, 'scheduled', 'x', '{staff}', '{stamp}')"
                )
            })
            .collect();
        diesel::sql_query(format!(
            "INSERT INTO activities (id, title, starts_at, ends_at, points_per_hour, status, \
             checkin_secret, created_by, created_at) VALUES {}",
            values.join(", ")
        ))
        .execute(conn)?;
        for activity in &activity_ids {
            for chunk in people.chunks(500) {
                let values: Vec<String> = chunk
                    .iter()
                    .map(|v| {
                        format!(
                            "('{}', '{activity}', '{v}', 'approved', 'staff', '{staff}', 60, 60, 60, \
                             '{staff}', '{stamp}', '{stamp}')",
                            uuid::Uuid::new_v4()
                        )
                    })
                    .collect();
                diesel::sql_query(format!(
                    "INSERT INTO activity_logs (id, activity_id, volunteer_id, status, source, \
                     recorded_by, minutes, points_proposed, points_awarded, reviewed_by, \
                     reviewed_at, created_at) VALUES {}",
                    values.join(", ")
                ))
                .execute(conn)?;
            }
        }
        Ok(())
    })?;
    let logs = people.len() * ACTIVITIES;
    println!(
        "backend: {}; seeded {logs} approved logs in {:.1} s",
        db.backend().name(),
        started.elapsed().as_secs_f64()
    );

    let token = state
        .tokens
        .issue(staff.parse()?, Role::Staff, uuid::Uuid::new_v4())?;
    actix_web::rt::spawn(app.run_until_stopped());
    let client = reqwest::Client::new();

    let started = Instant::now();
    let summary: serde_json::Value = client
        .get(format!("{base}/reports/summary"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    println!(
        "summary: {:.0} ms (logs_approved {}, minutes_served {})",
        started.elapsed().as_secs_f64() * 1000.0,
        summary["logs_approved"],
        summary["minutes_served"]
    );

    let rss_before = status_kib("VmRSS:");
    reset_peak();
    let started = Instant::now();
    let mut res = client
        .get(format!("{base}/exports/activity-logs.csv"))
        .bearer_auth(&token)
        .send()
        .await?;
    let (mut bytes, mut lines) = (0usize, 0usize);
    while let Some(chunk) = res.chunk().await? {
        bytes += chunk.len();
        lines += chunk.iter().filter(|b| **b == b'\n').count();
    }
    let peak = status_kib("VmHWM:");
    println!(
        "activity-logs.csv: {lines} lines, {:.1} MiB in {:.2} s; resident before {} MiB, \
         peak while streaming {} MiB (+{} MiB)",
        bytes as f64 / 1_048_576.0,
        started.elapsed().as_secs_f64(),
        rss_before / 1024,
        peak / 1024,
        peak.saturating_sub(rss_before) / 1024
    );

    if let Some((admin, name)) = cleanup {
        drop(state);
        let mut conn = PgConnection::establish(&admin)?;
        diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .execute(&mut conn)?;
    }
    Ok(())
}
