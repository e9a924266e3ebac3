//! Rate limits that hold across instances (issue 13, item 9): on PostgreSQL every limit is counted
//! in the database, so two instances behind a balancer share one count; the window slides and a
//! key's row goes once its window has passed. SQLite counts in memory (one instance per database
//! file), so these tests run on PostgreSQL only; the limits' behaviour within one instance is
//! tested on both databases in `auth`, `check_in` and `hardening`.

use chrono::TimeDelta;
use futures_util::future::join_all;

use crate::helpers::*;

const ROWS: &str = "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM rate_limits";

#[actix_web::test]
async fn failed_logins_spread_over_two_instances_hit_429_at_the_count_of_one() {
    if !on_postgres() {
        return;
    }
    let (a, b) = spawn_two_instances(&[("LOGIN_FAILURES_PER_PHONE", "4")]).await;
    let v = a.volunteer().await;
    for app in [&a, &b, &a, &b] {
        app.login(&v.phone, "wrong password")
            .expect_problem(401, "invalid-credentials")
            .await;
    }
    for app in [&a, &b] {
        let res = app.login(&v.phone, "wrong password").await;
        assert!((1..=15 * 60).contains(&retry_after(&res)));
        assert_problem(res, 429, "rate-limited").await;
    }
    // The right password too waits out the window, on either instance.
    b.login(&v.phone, &v.password)
        .expect_problem(429, "rate-limited")
        .await;
    // A phone that failed on neither is not limited.
    let other = b.volunteer().await;
    assert_eq!(a.login(&other.phone, &other.password).await.status(), 200);
}

#[actix_web::test]
async fn concurrent_failed_logins_on_two_instances_pass_exactly_the_limit() {
    if !on_postgres() {
        return;
    }
    let (a, b) = spawn_two_instances(&[("LOGIN_FAILURES_PER_PHONE", "5")]).await;
    let v = a.volunteer().await;
    let answers = join_all((0..24).map(|i| {
        let app = if i % 2 == 0 { &a } else { &b };
        app.login(&v.phone, "wrong password")
    }))
    .await;
    let statuses: Vec<u16> = answers.iter().map(|r| r.status().as_u16()).collect();
    assert_eq!(
        statuses.iter().filter(|&&s| s == 401).count(),
        5,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|&&s| s == 429).count(),
        19,
        "{statuses:?}"
    );
}

#[actix_web::test]
async fn the_window_slides_a_slot_frees_when_the_oldest_failure_leaves_it() {
    if !on_postgres() {
        return;
    }
    let (a, b) = spawn_two_instances(&[
        ("LOGIN_FAILURES_PER_PHONE", "2"),
        ("LOGIN_FAILURE_WINDOW", "15m"),
    ])
    .await;
    let v = a.volunteer().await;
    let advance = |by: TimeDelta| {
        a.clock.advance(by);
        b.clock.advance(by);
    };
    // Failures at 0 and 10 minutes; at 12 minutes the first frees a slot in 3 minutes.
    a.login(&v.phone, "wrong")
        .expect_problem(401, "invalid-credentials")
        .await;
    advance(TimeDelta::minutes(10));
    b.login(&v.phone, "wrong")
        .expect_problem(401, "invalid-credentials")
        .await;
    advance(TimeDelta::minutes(2));
    let res = a.login(&v.phone, &v.password).await;
    assert_eq!(retry_after(&res), 3 * 60);
    assert_problem(res, 429, "rate-limited").await;
    // Past 15 minutes one slot is free (not two: a fixed window would have reset both); the
    // next frees when the failure at 10 minutes leaves the window, at 25.
    advance(TimeDelta::minutes(3) + TimeDelta::seconds(1));
    b.login(&v.phone, "wrong")
        .expect_problem(401, "invalid-credentials")
        .await;
    let res = a.login(&v.phone, "wrong").await;
    assert_eq!(retry_after(&res), 10 * 60 - 1);
    assert_problem(res, 429, "rate-limited").await;
    // A right password, once a slot is free, clears the count on every instance.
    advance(TimeDelta::minutes(10));
    assert_eq!(b.login(&v.phone, &v.password).await.status(), 200);
    for app in [&a, &b] {
        app.login(&v.phone, "wrong")
            .expect_problem(401, "invalid-credentials")
            .await;
    }
}

#[actix_web::test]
async fn a_keys_row_is_purged_once_its_window_has_passed() {
    if !on_postgres() {
        return;
    }
    let app = spawn_app_with(&[("LOGIN_FAILURES_PER_PHONE", "3")]).await;
    let v = app.volunteer().await;
    for phone in [
        unique_phone(),
        unique_phone(),
        unique_phone(),
        v.phone.clone(),
    ] {
        app.login(&phone, "wrong")
            .expect_problem(401, "invalid-credentials")
            .await;
    }
    // This address's registrations and logins (1-minute windows), four phones' failures (15).
    assert_eq!(app.count(ROWS).await, 6);
    app.clock.advance(TimeDelta::minutes(20));
    app.login(&v.phone, "wrong")
        .expect_problem(401, "invalid-credentials")
        .await;
    // Only the keys hit in the last window stay: the address's logins and the volunteer's phone.
    assert_eq!(app.purge_rate_limits(app.clock.now_naive()), 4);
    assert_eq!(app.count(ROWS).await, 2);
    app.clock.advance(TimeDelta::hours(1));
    assert_eq!(app.purge_rate_limits(app.clock.now_naive()), 2);
    assert_eq!(app.count(ROWS).await, 0);
}
