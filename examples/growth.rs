//! Growth (issue 12 item 6): do the first page of every list, the balance and the statement
//! stay as fast for a city as for a neighbourhood?
//!
//! Seeds two databases with set-based bulk `INSERT ... SELECT` (generate_series on PostgreSQL, a
//! recursive CTE on SQLite), each in one transaction: a small one (1,000 volunteers) and a city
//! (default 100,000 volunteers: 10,000,000 ledger entries, 1,000,000 activity logs, 50,000
//! activities), with the same shapes per volunteer — 50 ledger transactions each (earnings of
//! approved logs, adjustments, redemptions, a reversal), 10 activity logs in every status,
//! activities over the past three years and some in the coming week, teams of 100 with a
//! leader, rewards, partners with clerks, wishes. `verify` runs over the small seed. Then the
//! service runs on each and every read is timed, alternating small and city; the table of
//! medians and ratios is printed and written into docs/BENCHMARKS.md.
//!
//! `cargo run --release --example growth [-- CITY_VOLUNTEERS]` (SQLite in a temporary folder);
//! with `DATABASE_URL=postgres://...` in new PostgreSQL databases, dropped afterwards.

#[path = "common/scratch.rs"]
mod scratch;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{NaiveDateTime, Utc};
use diesel::RunQueryDsl;
use volunteer_points::clock::Clock;
use volunteer_points::config::Config;
use volunteer_points::db::{ledger, Backend, Db};
use volunteer_points::domain::people::Role;
use volunteer_points::startup::Application;

use scratch::Scratch;

const SMALL: i64 = 1_000;
/// Three years, in seconds: the past the activities and the ledger are spread over.
const SPAN: i64 = 3 * 365 * 86_400;
/// Time spent timing one read at both sizes (at least `MIN_ROUNDS` pairs).
const BUDGET: Duration = Duration::from_secs(6);
const MIN_ROUNDS: usize = 15;
const MAX_ROUNDS: usize = 300;

const FROM_MARK: &str = "<!-- growth: generated from here -->";
const TO_MARK: &str = "<!-- growth: generated to here -->";

/// Id prefixes (the ids are UUIDs, sequential so the indexes grow at their ends).
const USER: &str = "00000001";
const TEAM: &str = "00000002";
const ACTIVITY: &str = "00000003";
const LOG: &str = "00000004";
const TX: &str = "00000005";
const ENTRY: &str = "00000006";
const SYSTEM_ENTRY: &str = "00000007";
const REWARD: &str = "00000008";
const PARTNER: &str = "00000009";
const REDEMPTION: &str = "0000000a";
const WISH: &str = "0000000b";
/// The staff member (outside the volunteers' numbers).
const STAFF_N: i64 = 999_999_999_999;

fn uuid_of(prefix: &str, n: i64) -> String {
    format!("{prefix}-0000-4000-8000-{n:012}")
}

/// The shape of one seeded community.
#[derive(Clone, Copy)]
struct Size {
    volunteers: i64,
}

impl Size {
    fn teams(self) -> i64 {
        (self.volunteers / 100).max(1)
    }
    fn activities(self) -> i64 {
        self.volunteers / 2
    }
    /// Activities in the coming week (1 %); the rest are past.
    fn upcoming(self) -> i64 {
        (self.activities() / 100).max(1)
    }
    fn past(self) -> i64 {
        self.activities() - self.upcoming()
    }
    /// Past activities per tenth of the span (a volunteer's log of round r is in tenth r).
    fn chunk(self) -> i64 {
        self.past() / 10
    }
    fn rewards(self) -> i64 {
        (self.volunteers / 1_000).max(20)
    }
    fn partners(self) -> i64 {
        (self.volunteers / 10_000).max(5)
    }
    fn wishes(self) -> i64 {
        (self.volunteers / 100).max(20)
    }
}

/// SQL pieces that differ between the two databases.
struct Dialect {
    backend: Backend,
    now: String,
}

impl Dialect {
    /// `WITH ... s(n)`: the numbers 0..count.
    fn series(&self, count: i64) -> String {
        match self.backend {
            Backend::Sqlite => format!(
                "WITH RECURSIVE s(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM s WHERE n < {})",
                count - 1
            ),
            Backend::Postgres => format!(
                "WITH s(n) AS (SELECT CAST(generate_series(0, {}) AS BIGINT))",
                count - 1
            ),
        }
    }

    /// The id with this prefix and number (an SQL expression).
    fn id(&self, prefix: &str, n: &str) -> String {
        match self.backend {
            Backend::Sqlite => format!("printf('{prefix}-0000-4000-8000-%012d', {n})"),
            Backend::Postgres => {
                format!("('{prefix}-0000-4000-8000-' || lpad(CAST({n} AS TEXT), 12, '0'))")
            }
        }
    }

    /// Zero-padded digits of a number.
    fn digits(&self, n: &str, width: usize) -> String {
        match self.backend {
            Backend::Sqlite => format!("printf('%0{width}d', {n})"),
            Backend::Postgres => format!("lpad(CAST({n} AS TEXT), {width}, '0')"),
        }
    }

    /// The time `secs` seconds after now (negative: before).
    fn at(&self, secs: &str) -> String {
        match self.backend {
            Backend::Sqlite => format!("datetime('{}', ({secs}) || ' seconds')", self.now),
            Backend::Postgres => format!(
                "(TIMESTAMP '{}' + ({secs}) * INTERVAL '1 second')",
                self.now
            ),
        }
    }

    fn text(&self, e: &str) -> String {
        format!("CAST({e} AS TEXT)")
    }
}

/// The status of volunteer `v`'s log of round `r` (0 oldest .. 9 newest): mostly approved; an
/// open check-in or a submitted log among the newest, a rejected or submitted one before it,
/// and a reversed one in round 3 for one volunteer in ten.
fn status(r: &str, v: &str) -> String {
    format!(
        "(CASE WHEN {r} = 9 AND {v} % 4 = 0 THEN 'checked_in' \
               WHEN {r} = 9 AND {v} % 4 = 1 THEN 'submitted' \
               WHEN {r} = 8 AND {v} % 5 = 0 THEN 'rejected' \
               WHEN {r} = 8 AND {v} % 5 = 1 THEN 'submitted' \
               WHEN {r} = 3 AND {v} % 10 = 0 THEN 'reversed' \
               ELSE 'approved' END)"
    )
}

/// The statements that seed a community of this size.
fn seed_sql(d: &Dialect, size: Size) -> Vec<String> {
    let vols = size.volunteers;
    let teams = size.teams();
    let past = size.past();
    let chunk = size.chunk();
    let step = SPAN / past;
    let week = 7 * 86_400 / size.upcoming();
    let staff = uuid_of(USER, STAFF_N);
    let fund = ledger::COMMUNITY_FUND;
    let desk = ledger::REDEMPTIONS;
    let stamp = d.at(&format!("-{SPAN} - 86400"));
    // Activity i starts (seconds from now): the past ones evenly over the span, the rest in
    // the coming week.
    let activity_start = |i: &str| {
        format!("(CASE WHEN {i} < {past} THEN {i} * {step} - {SPAN} ELSE 3600 + ({i} - {past}) * {week} END)")
    };
    // The activity of volunteer v's log of round r.
    let log_activity = |r: &str, v: &str| format!("({r} * {chunk} + ({v} * 7) % {chunk})");
    // Ledger slot s (1..50) of volunteer v happens at:
    let slot_time =
        |v: &str, s: &str| d.at(&format!("({s} - 1) * {} + {v} % 1000 - {SPAN}", SPAN / 50));

    let mut sql = vec![
        // People: the volunteers and one staff member, each with an account.
        format!(
            "{} INSERT INTO users (id, phone, name, role, password_hash, created_at) \
             SELECT {}, '139' || {}, '志愿者' || {}, 'volunteer', '', {} FROM s",
            d.series(vols),
            d.id(USER, "n"),
            d.digits("n", 8),
            d.text("n"),
            d.at(&format!("n - {SPAN} - 86400")),
        ),
        format!(
            "INSERT INTO users (id, phone, name, role, password_hash, created_at) \
             VALUES ('{staff}', '13999999999', '工作人员', 'staff', '', {stamp})"
        ),
        format!(
            "INSERT INTO accounts (id, kind, volunteer_id, created_at) \
             VALUES ('{staff}', 'volunteer', '{staff}', {stamp})"
        ),
    ];
    // The cached figures, in closed form (see `status` and the ledger slots below).
    let approved = "(10 - (CASE WHEN v % 4 IN (0, 1) THEN 1 ELSE 0 END) \
                       - (CASE WHEN v % 5 IN (0, 1) THEN 1 ELSE 0 END) \
                       - (CASE WHEN v % 10 = 0 THEN 1 ELSE 0 END))";
    let submitted =
        "((CASE WHEN v % 4 = 1 THEN 1 ELSE 0 END) + (CASE WHEN v % 5 = 1 THEN 1 ELSE 0 END))";
    sql.push(format!(
        "{} INSERT INTO accounts (id, kind, volunteer_id, balance, earned_total, spent_total, \
           donated_total, entry_count, minutes_served, pending_points, created_at) \
         SELECT {id}, 'volunteer', {id}, 300, 10 * {approved}, \
           100 - (CASE WHEN v % 10 = 0 THEN 10 ELSE 0 END), 0, 50, 120 * {approved}, \
           10 * {submitted}, {at} \
         FROM (SELECT n AS v FROM s) x",
        d.series(vols),
        id = d.id(USER, "v"),
        at = d.at(&format!("v - {SPAN} - 86400")),
    ));
    // Teams of 100: volunteer v is in team v % teams, led by volunteer t.
    sql.push(format!(
        "{} INSERT INTO teams (id, name, description, created_at) \
         SELECT {}, '第' || {} || '队', NULL, {stamp} FROM s",
        d.series(teams),
        d.id(TEAM, "n"),
        d.text("n + 1"),
    ));
    sql.push(format!(
        "{} INSERT INTO team_members (team_id, volunteer_id, role, created_at) \
         SELECT {}, {}, CASE WHEN n < {teams} THEN 'leader' ELSE 'member' END, {} FROM s",
        d.series(vols),
        d.id(TEAM, &format!("n % {teams}")),
        d.id(USER, "n"),
        d.at(&format!("n - {SPAN}")),
    ));
    // Activities: team i % teams, two hours each, one in ten hundred cancelled.
    sql.push(format!(
        "{} INSERT INTO activities (id, title, description, location, team_id, starts_at, \
           ends_at, capacity, points_per_hour, fixed_points, enrolled_count, status, \
           checkin_secret, created_by, created_at) \
         SELECT {id}, '活动' || {num}, NULL, '社区中心', {team}, {starts}, {ends}, 30, \
           NULL, 10, 0, CASE WHEN n % 1000 = 999 THEN 'cancelled' ELSE 'scheduled' END, \
           '00112233445566778899aabbccddeeff00112233', '{staff}', {created} FROM s",
        d.series(size.activities()),
        id = d.id(ACTIVITY, "n"),
        num = d.text("n"),
        team = d.id(TEAM, &format!("n % {teams}")),
        starts = d.at(&activity_start("n")),
        ends = d.at(&format!("{} + 7200", activity_start("n"))),
        created = d.at(&format!("{} - 86400 * 7", activity_start("n"))),
    ));
    // The ledger: 50 transactions per volunteer, slot s = 1..50 (transaction number v*50+s-1):
    // s % 5 = 1 earns round (s-1)/5's log (an adjustment when that log is not approved),
    // s % 5 = 0 redeems (s = 20 reverses round 3's earning when that log is reversed), the
    // rest are adjustments; +10 or -10 each, so balance_after is closed-form.
    let slots = "(SELECT n, n / 50 AS v, n % 50 + 1 AS s FROM s) x";
    let reversed20 = "(s = 20 AND v % 10 = 0)";
    let kind = format!(
        "(CASE WHEN s % 5 = 1 THEN (CASE WHEN {st} IN ('approved', 'reversed') THEN 'earn' \
                                        ELSE 'adjust' END) \
               WHEN {reversed20} THEN 'reversal' \
               WHEN s % 5 = 0 THEN 'redeem' ELSE 'adjust' END)",
        st = status("(s - 1) / 5", "v"),
    );
    sql.push(format!(
        "{} INSERT INTO ledger_transactions (id, kind, memo, created_by, created_at, \
           activity_log_id, redemption_id, reverses_id, wish_id, opening_account_id) \
         SELECT {id}, {kind}, 'seed', '{staff}', {at}, \
           CASE WHEN s % 5 = 1 AND {st} IN ('approved', 'reversed') THEN {log} END, \
           CASE WHEN s % 5 = 0 AND NOT {reversed20} THEN {red} END, \
           CASE WHEN {reversed20} THEN {rev} END, NULL, NULL \
         FROM {slots}",
        d.series(vols * 50),
        id = d.id(TX, "n"),
        at = slot_time("v", "s"),
        st = status("(s - 1) / 5", "v"),
        log = d.id(LOG, &format!("((s - 1) / 5) * {vols} + v")),
        red = d.id(REDEMPTION, "v * 10 + s / 5 - 1"),
        rev = d.id(TX, "n - 4"),
    ));
    sql.push(format!(
        "{} INSERT INTO ledger_entries (id, transaction_id, account_id, amount, seq, \
           balance_after, created_at) \
         SELECT {id}, {tx}, {account}, CASE WHEN s % 5 = 0 THEN -10 ELSE 10 END, s, \
           10 * (s - 2 * (s / 5)), {at} \
         FROM {slots}",
        d.series(vols * 50),
        id = d.id(ENTRY, "n"),
        tx = d.id(TX, "n"),
        account = d.id(USER, "v"),
        at = slot_time("v", "s"),
    ));
    sql.push(format!(
        "{} INSERT INTO ledger_entries (id, transaction_id, account_id, amount, seq, \
           balance_after, created_at) \
         SELECT {id}, {tx}, CASE WHEN s % 5 = 0 AND NOT {reversed20} THEN '{desk}' \
                                 ELSE '{fund}' END, \
           CASE WHEN s % 5 = 0 THEN 10 ELSE -10 END, NULL, NULL, {at} \
         FROM {slots}",
        d.series(vols * 50),
        id = d.id(SYSTEM_ENTRY, "n"),
        tx = d.id(TX, "n"),
        at = slot_time("v", "s"),
    ));
    // Activity logs: 10 per volunteer, log k = r * volunteers + v.
    let st = status("r", "v");
    let act = log_activity("r", "v");
    let start = activity_start(&act);
    sql.push(format!(
        "{} INSERT INTO activity_logs (id, activity_id, volunteer_id, status, source, \
           recorded_by, note, checked_in_at, checked_out_at, minutes, points_proposed, \
           points_awarded, reviewed_by, reviewed_at, transaction_id, reversed_by, reversed_at, \
           reversal_reason, reversal_transaction_id, created_at, team_id) \
         SELECT {id}, {activity}, {volunteer}, {st}, \
           CASE WHEN v % 3 = 0 THEN 'staff' ELSE 'self' END, \
           CASE WHEN v % 3 = 0 THEN '{staff}' END, NULL, {start_at}, \
           CASE WHEN {st} <> 'checked_in' THEN {end_at} END, \
           CASE WHEN {st} <> 'checked_in' THEN 120 END, \
           CASE WHEN {st} <> 'checked_in' THEN 10 END, \
           CASE WHEN {st} IN ('approved', 'reversed') THEN 10 END, \
           CASE WHEN {st} IN ('approved', 'reversed', 'rejected') THEN '{staff}' END, \
           CASE WHEN {st} IN ('approved', 'reversed', 'rejected') THEN {review_at} END, \
           CASE WHEN {st} IN ('approved', 'reversed') THEN {tx} END, \
           CASE WHEN {st} = 'reversed' THEN '{staff}' END, \
           CASE WHEN {st} = 'reversed' THEN {review_at} END, \
           CASE WHEN {st} = 'reversed' THEN 'seed' END, \
           CASE WHEN {st} = 'reversed' THEN {reversal} END, \
           {start_at}, {team} \
         FROM (SELECT n, n / {vols} AS r, n % {vols} AS v FROM s) x",
        d.series(vols * 10),
        id = d.id(LOG, "n"),
        activity = d.id(ACTIVITY, &act),
        team = d.id(TEAM, &format!("{act} % {teams}")),
        volunteer = d.id(USER, "v"),
        start_at = d.at(&format!("{start} + v % 60")),
        end_at = d.at(&format!("{start} + 7200")),
        review_at = d.at(&format!("{start} + 86400")),
        tx = d.id(TX, "v * 50 + 5 * r"),
        reversal = d.id(TX, "v * 50 + 19"),
    ));
    // Partners, each with a clerk; rewards (unlimited, one in ten inactive).
    sql.push(format!(
        "{} INSERT INTO partners (id, name, kind, description, created_at) \
         SELECT {}, '合作方' || {}, 'social-enterprise', NULL, {stamp} FROM s",
        d.series(size.partners()),
        d.id(PARTNER, "n"),
        d.text("n"),
    ));
    sql.push(format!(
        "{} INSERT INTO partner_clerks (partner_id, volunteer_id, created_at) \
         SELECT {}, {}, {stamp} FROM s",
        d.series(size.partners()),
        d.id(PARTNER, "n"),
        d.id(USER, &format!("{teams} + n")),
    ));
    sql.push(format!(
        "{} INSERT INTO rewards (id, name, description, sponsor, cost_points, stock, \
           stocked_total, per_volunteer_limit, active, created_by, created_at, partner_id) \
         SELECT {}, '奖品' || {}, NULL, NULL, 10, NULL, NULL, NULL, \
           CASE WHEN n % 10 = 9 THEN FALSE ELSE TRUE END, '{staff}', {stamp}, {} FROM s",
        d.series(size.rewards()),
        d.id(REWARD, "n"),
        d.text("n"),
        d.id(PARTNER, &format!("n % {}", size.partners())),
    ));
    // Redemptions: m = v * 10 + j pays with slot s = 5 (j + 1); the newest one of every third
    // volunteer is still reserved, the rest fulfilled.
    let reserved = "(j = 9 AND v % 3 = 0)";
    sql.push(format!(
        "{} INSERT INTO redemptions (id, reward_id, volunteer_id, quantity, points, status, \
           pickup_code, created_by, created_at, fulfilled_at, fulfilled_by, \
           redeem_transaction_id, fulfilled_partner_id) \
         SELECT {id}, {reward}, {volunteer}, 1, 10, \
           CASE WHEN {reserved} THEN 'reserved' ELSE 'fulfilled' END, {code}, {volunteer}, \
           {at}, CASE WHEN {reserved} THEN NULL ELSE {fulfilled} END, \
           CASE WHEN {reserved} THEN NULL ELSE '{staff}' END, {tx}, \
           CASE WHEN {reserved} THEN NULL ELSE {partner} END \
         FROM (SELECT n, n / 10 AS v, n % 10 AS j FROM s) x \
         WHERE NOT (j = 3 AND v % 10 = 0)",
        d.series(vols * 10),
        id = d.id(REDEMPTION, "n"),
        reward = d.id(REWARD, &format!("(n * 7) % {}", size.rewards())),
        // The reward's partner, where it was handed out.
        partner = d.id(
            PARTNER,
            &format!("((n * 7) % {}) % {}", size.rewards(), size.partners())
        ),
        volunteer = d.id(USER, "v"),
        code = d.digits("n % 1000000", 6),
        at = slot_time("v", "5 * (j + 1)"),
        fulfilled = d.at(&format!(
            "(5 * (j + 1) - 1) * {} + v % 1000 - {SPAN} + 3600",
            SPAN / 50
        )),
        tx = d.id(TX, "v * 50 + 5 * (j + 1) - 1"),
    ));
    // Wishes: open ones and adopted ones.
    sql.push(format!(
        "{} INSERT INTO wishes (id, title, description, beneficiary, team_id, points, due_at, \
           status, created_by, created_at, adopted_by, adopted_at) \
         SELECT {id}, '心愿' || {num}, NULL, '居民', {team}, 20, NULL, \
           CASE WHEN n % 3 = 0 THEN 'adopted' ELSE 'open' END, '{staff}', {at}, \
           CASE WHEN n % 3 = 0 THEN {adopter} END, CASE WHEN n % 3 = 0 THEN {at} END FROM s",
        d.series(size.wishes()),
        id = d.id(WISH, "n"),
        num = d.text("n"),
        team = d.id(TEAM, &format!("n % {teams}")),
        at = d.at(&format!("n * 600 - {}", size.wishes() * 600)),
        adopter = d.id(USER, &format!("(n * 13) % {vols}")),
    ));
    sql
}

/// Migrates and seeds one database in one transaction; answers the seconds it took.
fn seed(url: &str, size: Size, now: NaiveDateTime, check: bool) -> anyhow::Result<f64> {
    // A long timeout: PostgreSQL's statement_timeout is six times it.
    let db = Db::connect(url, 1, Duration::from_secs(3_600))?;
    db.migrate()?;
    let d = Dialect {
        backend: db.backend(),
        now: now.format("%Y-%m-%d %H:%M:%S").to_string(),
    };
    let statements = seed_sql(&d, size);
    let started = Instant::now();
    db.write_blocking(|conn| {
        if d.backend == Backend::Sqlite {
            diesel::sql_query("PRAGMA cache_size = -262144").execute(conn)?;
        }
        for sql in &statements {
            diesel::sql_query(sql.as_str()).execute(conn)?;
        }
        Ok(())
    })?;
    let took = started.elapsed().as_secs_f64();
    if db.backend() == Backend::Postgres {
        db.read_blocking(|conn| Ok(diesel::sql_query("VACUUM ANALYZE").execute(conn)?))?;
    }
    if check {
        let report = db.read_blocking(volunteer_points::db::verify::all)?;
        if !report.ok {
            for p in report.problems.iter().take(10) {
                eprintln!("{} {} {}", p.rule, p.subject, p.detail);
            }
            anyhow::bail!("verify found {} problems", report.problems.len());
        }
        println!(
            "verify over the small seed: ok ({} accounts, {} transactions)",
            report.accounts_checked, report.transactions_checked
        );
    }
    Ok(took)
}

/// One read to time: a label, the path and whose token.
struct Read {
    label: &'static str,
    path: String,
    who: Who,
}

#[derive(Clone, Copy)]
enum Who {
    Staff,
    Leader,
    Volunteer,
}

/// A running service over one seeded database and the tokens of its people.
struct Served {
    base: String,
    staff: String,
    leader: String,
    volunteer: String,
}

impl Served {
    fn token(&self, who: Who) -> &str {
        match who {
            Who::Staff => &self.staff,
            Who::Leader => &self.leader,
            Who::Volunteer => &self.volunteer,
        }
    }
}

async fn serve(url: &str, size: Size) -> anyhow::Result<(Served, web_state::State)> {
    let mut env: HashMap<String, String> = HashMap::new();
    env.insert("BIND_ADDR".into(), "127.0.0.1:0".into());
    env.insert("DATABASE_URL".into(), url.to_owned());
    env.insert(
        "JWT_SECRET".into(),
        "growth-secret-growth-secret-0123456789abcdef".into(),
    );
    let config = Config::from_vars(&env)?;
    let app = Application::build(config, Clock::System)?;
    let base = format!("http://127.0.0.1:{}/api/v1", app.port());
    let state = app.state.clone();
    let issue = |n: i64, role: Role| {
        state
            .tokens
            .issue(uuid_of(USER, n).parse()?, role, uuid::Uuid::new_v4())
            .map_err(anyhow::Error::from)
    };
    let served = Served {
        base,
        staff: issue(STAFF_N, Role::Staff)?,
        // Volunteer 0 leads team 0; a volunteer in the middle is "me".
        leader: issue(0, Role::Volunteer)?,
        volunteer: issue(size.volunteers / 2 + 3, Role::Volunteer)?,
    };
    actix_web::rt::spawn(app.run_until_stopped());
    Ok((served, state))
}

mod web_state {
    pub type State = actix_web::web::Data<volunteer_points::startup::AppState>;
}

fn reads(size: Size) -> Vec<Read> {
    let me = uuid_of(USER, size.volunteers / 2 + 3);
    let team0 = uuid_of(TEAM, 0);
    let partner0 = uuid_of(PARTNER, 0);
    let r = |label: &'static str, path: String, who: Who| Read { label, path, who };
    vec![
        r("GET /me", "/me".into(), Who::Volunteer),
        r("GET /me/balance", "/me/balance".into(), Who::Volunteer),
        r(
            "GET /me/ledger (my statement)",
            "/me/ledger".into(),
            Who::Volunteer,
        ),
        r(
            "GET /volunteers/{id}/ledger (staff)",
            format!("/volunteers/{me}/ledger"),
            Who::Staff,
        ),
        r("GET /activities", "/activities".into(), Who::Volunteer),
        r(
            "GET /activities?team_id=",
            format!("/activities?team_id={team0}"),
            Who::Volunteer,
        ),
        r(
            "GET /activity-logs (staff)",
            "/activity-logs".into(),
            Who::Staff,
        ),
        r(
            "GET /activity-logs?status=submitted (staff)",
            "/activity-logs?status=submitted".into(),
            Who::Staff,
        ),
        r(
            "GET /activity-logs (leader)",
            "/activity-logs".into(),
            Who::Leader,
        ),
        r(
            "GET /activity-logs?status=submitted (leader)",
            "/activity-logs?status=submitted".into(),
            Who::Leader,
        ),
        r(
            "GET /me/activity-logs",
            "/me/activity-logs".into(),
            Who::Volunteer,
        ),
        r("GET /rewards", "/rewards".into(), Who::Volunteer),
        r("GET /partners", "/partners".into(), Who::Volunteer),
        r(
            "GET /partners/{id}/clerks",
            format!("/partners/{partner0}/clerks"),
            Who::Staff,
        ),
        r(
            "GET /partners/{id}/redemptions",
            format!("/partners/{partner0}/redemptions"),
            Who::Staff,
        ),
        r("GET /teams", "/teams".into(), Who::Volunteer),
        r(
            "GET /teams/{id}/members (staff)",
            format!("/teams/{team0}/members"),
            Who::Staff,
        ),
        r(
            "GET /teams/{id}/members (leader)",
            format!("/teams/{team0}/members"),
            Who::Leader,
        ),
        r("GET /redemptions", "/redemptions".into(), Who::Staff),
        r(
            "GET /redemptions?status=reserved",
            "/redemptions?status=reserved".into(),
            Who::Staff,
        ),
        r(
            "GET /me/redemptions",
            "/me/redemptions".into(),
            Who::Volunteer,
        ),
        r("GET /wishes (staff)", "/wishes".into(), Who::Staff),
        r("GET /wishes (volunteer)", "/wishes".into(), Who::Volunteer),
        r("GET /volunteers", "/volunteers".into(), Who::Staff),
    ]
}

async fn get(client: &reqwest::Client, served: &Served, read: &Read) -> anyhow::Result<f64> {
    let started = Instant::now();
    let res = client
        .get(format!("{}{}", served.base, read.path))
        .bearer_auth(served.token(read.who))
        .send()
        .await?;
    let status = res.status();
    let body = res.bytes().await?;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    if !status.is_success() {
        anyhow::bail!(
            "{} answered {status}: {}",
            read.path,
            String::from_utf8_lossy(&body)
        );
    }
    Ok(ms)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[actix_web::main]
async fn main() -> anyhow::Result<()> {
    let city = Size {
        volunteers: std::env::args()
            .nth(1)
            .map(|a| a.parse())
            .transpose()?
            .unwrap_or(100_000),
    };
    let small = Size { volunteers: SMALL };
    let dir = tempfile::tempdir()?;
    // GROWTH_DIR keeps the SQLite files there (to look at query plans afterwards).
    let kept = std::env::var("GROWTH_DIR")
        .ok()
        .map(std::path::PathBuf::from);
    let folder = kept.as_deref().unwrap_or(dir.path());
    std::fs::create_dir_all(folder)?;
    let now = Utc::now().naive_utc();
    let small_db = Scratch::new(folder, "growth_small")?;
    let city_db = Scratch::new(folder, "growth_city")?;

    let small_s = seed(&small_db.url, small, now, true)?;
    println!(
        "seeded small: {} volunteers, {} ledger entries, {} activity logs, {} activities in {small_s:.1} s",
        small.volunteers,
        small.volunteers * 100,
        small.volunteers * 10,
        small.activities()
    );
    let city_s = seed(&city_db.url, city, now, false)?;
    println!(
        "seeded city: {} volunteers, {} ledger entries, {} activity logs, {} activities in {city_s:.1} s",
        city.volunteers,
        city.volunteers * 100,
        city.volunteers * 10,
        city.activities()
    );

    let (small_srv, small_state) = serve(&small_db.url, small).await?;
    let (city_srv, city_state) = serve(&city_db.url, city).await?;
    let backend = small_state.db.backend().name();
    let client = reqwest::Client::new();

    println!(
        "{:<46} {:>10} {:>10} {:>7}",
        "read (first page)", "small ms", "city ms", "ratio"
    );
    let mut rows = Vec::new();
    for (a, b) in reads(small).iter().zip(reads(city).iter()) {
        for _ in 0..3 {
            get(&client, &small_srv, a).await?;
            get(&client, &city_srv, b).await?;
        }
        let (mut xs, mut ys) = (Vec::new(), Vec::new());
        let started = Instant::now();
        while xs.len() < MAX_ROUNDS && (xs.len() < MIN_ROUNDS || started.elapsed() < BUDGET) {
            xs.push(get(&client, &small_srv, a).await?);
            ys.push(get(&client, &city_srv, b).await?);
        }
        let (x, y) = (median(xs), median(ys));
        println!("{:<46} {x:>10.2} {y:>10.2} {:>7.2}", a.label, y / x);
        rows.push((a.label, x, y));
    }
    let worst = rows.iter().map(|r| r.2 / r.1).fold(0.0, f64::max);
    println!("highest ratio: {worst:.2}");

    write_doc(backend, city, small_s, city_s, &rows)?;

    drop((small_state, city_state));
    drop((small_db, city_db));
    Ok(())
}

/// Replaces this backend's part of the growth section of docs/BENCHMARKS.md.
fn write_doc(
    backend: &str,
    city: Size,
    small_s: f64,
    city_s: f64,
    rows: &[(&str, f64, f64)],
) -> anyhow::Result<()> {
    if cfg!(debug_assertions) {
        println!("a debug build: docs/BENCHMARKS.md is written by release builds only");
        return Ok(());
    }
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/BENCHMARKS.md");
    let doc = std::fs::read_to_string(path)?;
    let (Some(from), Some(to)) = (doc.find(FROM_MARK), doc.find(TO_MARK)) else {
        println!("docs/BENCHMARKS.md has no growth markers; not written");
        return Ok(());
    };
    let inside = &doc[from + FROM_MARK.len()..to];
    let heading = format!("### {backend}");
    // Keep the other backend's part.
    let mut parts: Vec<String> = inside
        .split("\n### ")
        .filter(|p| !p.trim().is_empty())
        .map(|p| format!("### {}", p.trim().trim_start_matches("### ")))
        .filter(|p| !p.starts_with(&heading))
        .collect();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut part = format!(
        "{heading}\n\nMeasured {} on {} cores; `cargo run --release --example growth{}`: \
         small {} volunteers (seeded in {small_s:.1} s), city {} volunteers, {} ledger entries, \
         {} activity logs, {} activities (seeded in {city_s:.1} s). Median of the first page \
         (20 items), alternating small and city requests.\n\n\
         | read | small (ms) | city (ms) | city ÷ small |\n|---|---|---|---|\n",
        Utc::now().format("%Y-%m-%d %H:%M UTC"),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        if args.is_empty() {
            String::new()
        } else {
            format!(" -- {}", args.join(" "))
        },
        SMALL,
        city.volunteers,
        city.volunteers * 100,
        city.volunteers * 10,
        city.activities(),
    );
    for (label, x, y) in rows {
        part.push_str(&format!("| `{label}` | {x:.2} | {y:.2} | {:.2} |\n", y / x));
    }
    parts.push(part.trim_end().to_owned());
    parts.sort();
    let new = format!(
        "{}{FROM_MARK}\n{}\n{}",
        &doc[..from],
        parts.join("\n\n"),
        &doc[to..]
    );
    std::fs::write(path, new)?;
    println!("docs/BENCHMARKS.md: growth section for {backend} written");
    Ok(())
}
