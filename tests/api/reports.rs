//! Reports over HTTP: the summary agrees with the ledger, the leaderboard ranks ties and masks
//! names, the service record adds up by year.

use serde_json::{json, Value};
use volunteer_points::domain::people::Role;

use crate::helpers::{id, spawn_app, time, Answer, StatusCode, TestApp, TestUser};

/// The JSON answer of a report `who` may read.
async fn read(app: &TestApp, who: &TestUser, report: &str, query: &str) -> Value {
    match report {
        "summary" => app.summary(who, query).expect_json(StatusCode::OK).await,
        _ => {
            app.leaderboard(who, query)
                .expect_json(StatusCode::OK)
                .await
        }
    }
}

#[actix_web::test]
async fn the_summary_of_a_month_agrees_with_the_ledger() {
    let app = spawn_app().await;
    app.set_time(time("2026-11-10T02:00:00Z"));
    let (staff, admin) = app.office().await;
    let t = app.team_named(&staff, "党员义工队").await;
    let a = app.activity_now(&staff, Some(&t), "敬老院探访").await;
    let other = app.activity_now(&staff, None, "社区清扫").await;
    let mut people = Vec::new();
    for name in ["李阿姨", "王师傅", "张同学"] {
        people.push(app.user_named(Role::Volunteer, name).await);
    }
    let (v1, v2, v3) = (&people[0], &people[1], &people[2]);
    app.served(&staff, &admin, &a, v1, 120).await;
    let reversed = app.served(&staff, &admin, &a, v2, 90).await;
    app.served(&staff, &admin, &other, v3, 30).await;
    app.served(&staff, &admin, &other, v1, 60).await;
    app.reverse(&staff, &reversed, "recorded twice")
        .expect_status(StatusCode::OK)
        .await;
    // A reward, one redemption handed over and one cancelled (refunded).
    let reward = app
        .reward(&staff, json!({"name": "大米", "cost_points": 40}))
        .await;
    let body = json!({"reward_id": reward["id"]});
    let kept = app.redeemed(v1, &body).await;
    let refunded = app.redeemed(v1, &body).await;
    app.fulfil(&staff, &kept["pickup_code"])
        .expect_status(StatusCode::OK)
        .await;
    app.cancel_redemption(v1, &id(&refunded))
        .expect_status(StatusCode::OK)
        .await;
    // An adjustment moves points but is none of the summary's figures.
    app.grant(&admin, &v3.id, 7).await;
    // A donation to the fund, and a wish confirmed (its points are earned, like an approval's).
    app.donated(&people[0], 25).await;
    let wish = app.fulfilled_wish(&staff, &people[2], 15).await;
    app.confirm_wish(&staff, &wish, &json!({}))
        .expect_status(StatusCode::OK)
        .await;

    let s = read(&app, &staff, "summary", "").await;
    assert_eq!(s["from"], "2026-10-31T16:00:00Z", "{s}");
    assert_eq!(s["to"], "2026-11-30T16:00:00Z");
    // The ledger's own figures, read per volunteer.
    let (mut earned, mut spent, mut minutes) = (0, 0, 0);
    for v in &people {
        let b = app
            .points_of(&staff, &v.id, "balance")
            .expect_json(StatusCode::OK)
            .await;
        earned += b["earned_total"].as_i64().expect("earned");
        spent += b["spent_total"].as_i64().expect("spent");
        minutes += b["minutes_served"].as_i64().expect("minutes");
    }
    assert_eq!(s["points_earned"], earned);
    assert_eq!(s["points_earned"], 120 + 30 + 60 + 15);
    assert_eq!(s["points_redeemed"], spent);
    assert_eq!(s["points_redeemed"], 40);
    assert_eq!(s["minutes_served"], minutes);
    assert_eq!(s["minutes_served"], 210);
    assert_eq!(s["logs_approved"], 3);
    assert_eq!(s["volunteers_active"], 2);
    assert_eq!(s["redemptions_fulfilled"], 1);
    assert_eq!(s["points_donated"], 25);
    assert_eq!(s["wishes_confirmed"], 1);
    assert_eq!(
        s["by_team"],
        json!([{"team_id": t, "name": "党员义工队", "volunteers_active": 1,
                "minutes_served": 120, "points_earned": 120}])
    );

    // One team: its log figures only; the rest stay community-wide.
    let s = read(&app, &staff, "summary", &format!("team_id={t}")).await;
    assert_eq!(s["minutes_served"], 120);
    assert_eq!(s["logs_approved"], 1);
    assert_eq!(s["points_earned"], 120);
    assert_eq!(s["points_redeemed"], 40);

    // Another month holds none of it.
    let next_month = "from=2026-11-30T16:00:00Z&to=2026-12-31T16:00:00Z";
    let s = read(&app, &staff, "summary", next_month).await;
    assert_eq!(
        (s["minutes_served"].as_i64(), s["points_earned"].as_i64()),
        (Some(0), Some(0))
    );
    assert_eq!(s["points_redeemed"], 0);
    assert_eq!(s["points_donated"], 0);
    assert_eq!(s["wishes_confirmed"], 0);
    assert_eq!(s["by_team"], json!([]));

    // A team's points are its ledger's, also in a month where none of its logs is still
    // approved: approved in December, reversed in January.
    app.set_time(time("2026-12-05T02:00:00Z"));
    let b = app.activity_now(&staff, Some(&t), "冬季送温暖").await;
    let log = app.served(&staff, &admin, &b, v2, 60).await;
    app.set_time(time("2027-01-05T02:00:00Z"));
    app.reverse(&staff, &log, "wrong volunteer")
        .expect_status(StatusCode::OK)
        .await;
    for (month, earned) in [
        ("from=2026-11-30T16:00:00Z&to=2026-12-31T16:00:00Z", 60),
        ("from=2026-12-31T16:00:00Z&to=2027-01-31T16:00:00Z", -60),
    ] {
        let everyone = read(&app, &staff, "summary", month).await;
        let team = read(&app, &staff, "summary", &format!("{month}&team_id={t}")).await;
        assert_eq!(everyone["points_earned"], earned, "{month}");
        assert_eq!(team["points_earned"], earned, "{month}: {team}");
        assert_eq!(team["by_team"], json!([]), "{month}");
    }
}

#[actix_web::test]
async fn the_summary_is_for_staff_and_for_a_leader_with_their_team() {
    let app = spawn_app().await;
    let staff = app.user_named(Role::Staff, "社工").await;
    let leader = app.user_named(Role::Volunteer, "队长").await;
    let volunteer = app.user_named(Role::Volunteer, "队员").await;
    let mine = app.team_named(&staff, "蒋姐姐助老服务队").await;
    let theirs = app.team_named(&staff, "我来说法评理团").await;
    app.lead(&staff, &mine, &leader).await;

    for (who, query, status) in [
        (&volunteer, String::new(), 403),
        (&leader, String::new(), 403),
        (&leader, format!("team_id={theirs}"), 403),
        (&leader, format!("team_id={mine}"), 200),
        (&leader, format!("team_id={}", mine.to_uppercase()), 200),
        (&leader, format!("team_id={}", mine.replace('-', "")), 200),
        (&staff, format!("team_id={}", uuid::Uuid::new_v4()), 404),
        (
            &staff,
            "from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z".to_owned(),
            422,
        ),
    ] {
        let res = app.summary(who, &query).await;
        assert_eq!(res.status().as_u16(), status, "{query}");
    }
}

#[actix_web::test]
async fn the_leaderboard_shares_ranks_on_ties_and_masks_names_for_volunteers() {
    let app = spawn_app().await;
    app.set_time(time("2026-11-10T02:00:00Z"));
    let (staff, admin) = app.office().await;
    let a = app.activity_now(&staff, None, "邻里义集").await;
    let b = app.activity_now(&staff, None, "智慧消防").await;
    let li = app.user_named(Role::Volunteer, "李阿姨").await;
    let wang = app.user_named(Role::Volunteer, "王师傅").await;
    let zhang = app.user_named(Role::Volunteer, "张同学").await;
    let idle = app.user_named(Role::Volunteer, "赵大爷").await;
    app.served(&staff, &admin, &a, &li, 60).await;
    app.served(&staff, &admin, &a, &wang, 30).await;
    app.served(&staff, &admin, &b, &wang, 30).await;
    app.served(&staff, &admin, &a, &zhang, 45).await;

    let board = read(&app, &staff, "leaderboard", "").await;
    let rows = board["items"].as_array().expect("items");
    let ranks: Vec<_> = rows
        .iter()
        .map(|r| (r["rank"].as_i64(), r["name"].as_str()))
        .collect();
    // 李阿姨 and 王师傅 have equal minutes and points: rank 1 twice, then 3 (by name: 李 < 王).
    assert_eq!(
        ranks,
        [
            (Some(1), Some("李阿姨")),
            (Some(1), Some("王师傅")),
            (Some(3), Some("张同学"))
        ]
    );
    assert_eq!(rows[0]["volunteer_id"], li.id);
    assert_eq!(rows[1]["minutes_served"], 60);
    assert_eq!(rows[1]["points_earned"], 60);

    let board = read(&app, &wang, "leaderboard", "").await;
    let rows = board["items"].as_array().expect("items");
    assert_eq!(rows[0]["name"], "李**");
    assert_eq!(rows[0]["volunteer_id"], Value::Null);
    assert_eq!(rows[1]["name"], "王师傅", "the caller's own row is whole");
    assert_eq!(rows[1]["volunteer_id"], wang.id);
    assert_eq!(rows[2]["name"], "张**");
    assert!(
        rows.iter()
            .all(|r| r["name"] != "赵大爷" && r["name"] != "赵**"),
        "{}",
        idle.id
    );

    let board = read(&app, &zhang, "leaderboard", "limit=1").await;
    assert_eq!(board["items"].as_array().map(Vec::len), Some(1));
    app.leaderboard(&zhang, "limit=0")
        .expect_problem(422, "validation-failed")
        .await;
}

#[actix_web::test]
async fn the_service_record_adds_up_approved_service_by_year() {
    let app = spawn_app().await;
    let (staff, admin) = app.office().await;
    let v = app.user_named(Role::Volunteer, "李阿姨").await;
    // 2025-12-31T17:00Z is already 2026 in Shanghai.
    app.set_time(time("2025-06-01T02:00:00Z"));
    let a = app.activity_now(&staff, None, "夏季义诊").await;
    app.served(&staff, &admin, &a, &v, 60).await;
    app.set_time(time("2025-12-31T17:00:00Z"));
    let b = app.activity_now(&staff, None, "元旦游园").await;
    app.served(&staff, &admin, &b, &v, 30).await;
    let c = app.activity_now(&staff, None, "新年慰问").await;
    let log = app.served(&staff, &admin, &c, &v, 45).await;
    app.reverse(&staff, &log, "not there")
        .expect_status(StatusCode::OK)
        .await;

    let r = app.service_record(&v).expect_json(StatusCode::OK).await;
    assert_eq!(r["volunteer_id"], v.id);
    assert_eq!(r["name"], "李阿姨");
    assert_eq!(r["minutes_served"], 90);
    assert_eq!(r["activities"], 2);
    assert_eq!(r["first_served_at"], "2025-06-01T02:00:00Z");
    assert_eq!(r["last_served_at"], "2025-12-31T17:00:00Z");
    assert_eq!(
        r["by_year"],
        json!([{"year": 2026, "minutes_served": 30, "activities": 1},
               {"year": 2025, "minutes_served": 60, "activities": 1}])
    );
}
