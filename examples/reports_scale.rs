//! The issue-10 figures in one run: an import of 1,300 volunteers (in 16 teams, with opening
//! balances) as `import-volunteers` runs it, then again (nothing changes); then reports and
//! exports over 100,000 activity logs: how long the summary takes, how long the activity-log
//! export takes, and how much the process's peak memory grows while it streams.
//!
//! Then seeds 1,000 volunteers, 100 activities and one approved log for each pair (bulk
//! INSERTs), starts the service in-process and reads both over HTTP, chunk by chunk.
//!
//! `cargo run --release --example reports_scale [-- VOLUNTEERS]` (SQLite in a temporary folder);
//! with `DATABASE_URL=postgres://...` in a new PostgreSQL database, dropped afterwards.

#[path = "common/scratch.rs"]
mod scratch;

use std::collections::HashMap;
use std::time::Instant;

use chrono::{Duration, Utc};
use diesel::RunQueryDsl;
use volunteer_points::clock::Clock;
use volunteer_points::config::Config;
use volunteer_points::db::users::{self, NewUser};
use volunteer_points::domain::import::parse;
use volunteer_points::domain::people::{Phone, Role};
use volunteer_points::messages::Lang;
use volunteer_points::startup::Application;

use scratch::Scratch;

const ACTIVITIES: usize = 100;

/// Rows of the import file (the community has 1,300+ volunteers).
const IMPORTED: usize = 1_300;

/// An import file of `rows` volunteers in 16 teams, each with an opening balance, UTF-8 with a
/// byte-order mark and CRLF line ends, as a spreadsheet program saves it.
fn import_file(rows: usize) -> String {
    let mut file = String::from("\u{feff}phone,name,team,team_role,opening_points\r\n");
    for i in 0..rows {
        let role = if i < 16 { "leader" } else { "member" };
        file.push_str(&format!(
            "139{:08},志愿者{i},第{}队,{role},{}\r\n",
            i,
            i % 16 + 1,
            i % 500
        ));
    }
    file
}

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
    let scratch = Scratch::new(dir.path(), "scale")?;
    env.insert("DATABASE_URL".into(), scratch.url.clone());
    let config = Config::from_vars(&env)?;
    let app = Application::build(config, Clock::System)?;
    let base = format!("http://127.0.0.1:{}/api/v1", app.port());
    let state = app.state.clone();
    let db = state.db.clone();

    // Import: the file a spreadsheet program saves, read and applied as the CLI does it.
    let now = Utc::now().naive_utc();
    let file = import_file(IMPORTED);
    for round in ["first run", "same file again"] {
        let started = Instant::now();
        let parsed = parse(file.as_bytes(), Lang::En).map_err(|rule| anyhow::anyhow!("{rule}"))?;
        let report = volunteer_points::db::import::run(&db, parsed, false, None, now)?;
        println!(
            "import of {IMPORTED} rows ({round}): {:.0} ms (created {}, unchanged {}, \
             teams_created {}, opening_points {}, errors {})",
            started.elapsed().as_secs_f64() * 1000.0,
            report.created,
            report.unchanged,
            report.teams_created,
            report.opening_points,
            report.errors.len()
        );
    }

    // Seed: people through db::users (as the service makes them), activities and logs in bulk.
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
        // The hours each account keeps beside its points, as the log moves would have left
        // them (`verify` checks them).
        diesel::sql_query(
            "UPDATE accounts SET minutes_served = (SELECT COALESCE(SUM(minutes), 0) \
             FROM activity_logs WHERE volunteer_id = accounts.volunteer_id \
             AND status = 'approved') WHERE kind = 'volunteer'",
        )
        .execute(conn)?;
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

    drop(state);
    drop(scratch);
    Ok(())
}
