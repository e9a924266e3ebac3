//! Partners and their counters (API.md "Partners"): clerks, fulfilling at a partner's counter,
//! the partner's redemption list and its settlement; `Me.partners`; rewards naming a partner.

use chrono::{DateTime, TimeDelta, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

/// Two partners' counters: the canteen, with a clerk, and the market; a volunteer with 1,000
/// points who clerks nothing.
struct Counters {
    staff: TestUser,
    canteen: String,
    market: String,
    v: TestUser,
    clerk: TestUser,
}

async fn counters(app: &TestApp) -> Counters {
    let (admin, staff) = (app.admin().await, app.staff().await);
    let canteen = app.a_partner(&staff, "老年食堂").await;
    let market = app.a_partner(&staff, "邻里义集").await;
    let (v, clerk) = (app.volunteer().await, app.volunteer().await);
    app.grant(&admin, &v.id, 1000).await;
    app.add_clerk(&staff, &canteen, &clerk.id)
        .expect_json(StatusCode::OK)
        .await;
    Counters {
        staff,
        canteen,
        market,
        v,
        clerk,
    }
}

/// A reward costing 10 points, of `partner` if given; returns its id.
async fn reward(app: &TestApp, staff: &TestUser, name: &str, partner: Option<&str>) -> String {
    let fields = json!({"name": name, "cost_points": 10, "partner_id": partner});
    id(&app.reward(staff, fields).await)
}

impl Counters {
    /// What the two counters hand out: the canteen's lunch voucher and the market's vegetable
    /// box, 10 points each; their ids.
    async fn lunch_and_veg(&self, app: &TestApp) -> (String, String) {
        let lunch = reward(app, &self.staff, "午餐券", Some(&self.canteen)).await;
        let veg = reward(app, &self.staff, "蔬菜包", Some(&self.market)).await;
        (lunch, veg)
    }
}

/// A reserved redemption of `quantity` units of `reward` by `who`.
async fn redeem(app: &TestApp, who: &TestUser, reward: &str, quantity: i64) -> Value {
    app.redeemed(who, &json!({"reward_id": reward, "quantity": quantity}))
        .await
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("a test time")
        .with_timezone(&Utc)
}

#[actix_web::test]
async fn a_clerk_fulfils_their_partner_s_code_and_gets_404_for_another_partner_s_and_a_partnerless_one(
) {
    let app = spawn_app().await;
    let c = counters(&app).await;
    let (lunch, veg) = c.lunch_and_veg(&app).await;
    let own = reward(&app, &c.staff, "社区纪念品", None).await;
    let (m, g, o) = (
        redeem(&app, &c.v, &lunch, 1).await,
        redeem(&app, &c.v, &veg, 1).await,
        redeem(&app, &c.v, &own, 1).await,
    );

    let done = app
        .fulfil(&c.clerk, &m["pickup_code"])
        .expect_json(StatusCode::OK)
        .await;
    assert_eq!(done["status"], "fulfilled");
    assert_eq!(done["volunteer_name"], "志愿者");
    assert!(done["fulfilled_at"].is_string());
    // The code is shown only to its owner and staff (API.md), not to the clerk who typed it.
    assert_eq!(done["pickup_code"], Value::Null);

    // Another partner's code, and a code of a reward without a partner, answer exactly as a
    // code nobody holds.
    let unused = (0..1_000_000)
        .map(|n| format!("{n:06}"))
        .find(|c| [&m, &g, &o].iter().all(|r| r["pickup_code"] != *c))
        .expect("a free code");
    let unknown = app
        .fulfil(&c.clerk, &json!(unused))
        .expect_problem(404, "not-found")
        .await;
    for other in [&g, &o] {
        let refused = app
            .fulfil(&c.clerk, &other["pickup_code"])
            .expect_problem(404, "not-found")
            .await;
        assert_eq!(refused, unknown);
    }
    // Refused codes stay reserved: the staff desk still hands them out, and sees the code.
    for other in [&g, &o] {
        let done = app
            .fulfil(&c.staff, &other["pickup_code"])
            .expect_json(StatusCode::OK)
            .await;
        assert_eq!(done["pickup_code"], other["pickup_code"]);
    }
    assert_eq!(app.balance(&c.v).await, 970);
}

#[actix_web::test]
async fn only_staff_and_a_partner_s_clerks_work_its_counter() {
    let app = spawn_app().await;
    let c = counters(&app).await;
    let nobody = &c.v;

    // Someone who clerks nothing: the role never allows it, whatever the code or partner.
    for code in [json!("123456"), json!("bad")] {
        app.fulfil(nobody, &code)
            .expect_problem(403, "forbidden")
            .await;
    }
    let unknown = uuid::Uuid::new_v4().to_string();
    for who in [nobody, &c.clerk] {
        // Also before any problem with the query.
        for (status, range) in [("", ""), ("status=lost", "from=yesterday")] {
            app.partner_redemptions(who, &c.market, status)
                .expect_problem(403, "forbidden")
                .await;
            app.settlement(who, &c.market, range)
                .expect_problem(403, "forbidden")
                .await;
        }
        app.partner_redemptions(who, &unknown, "")
            .expect_problem(403, "forbidden")
            .await;
        app.settlement(who, "not-a-uuid", "")
            .expect_problem(403, "forbidden")
            .await;
    }
    // A clerk's own counter; a bad code, status or range is then theirs to hear about.
    for status in ["", "status=reserved"] {
        app.partner_redemptions(&c.clerk, &c.canteen, status)
            .expect_status(StatusCode::OK)
            .await;
    }
    app.settlement(&c.clerk, &c.canteen, "")
        .expect_status(StatusCode::OK)
        .await;
    app.partner_redemptions(&c.clerk, &c.canteen, "status=lost")
        .expect_problem(400, "bad-request")
        .await;
    app.settlement(&c.clerk, &c.canteen, "from=yesterday")
        .expect_problem(422, "validation-failed")
        .await;
    app.fulfil(&c.clerk, &json!("12ab"))
        .expect_problem(422, "validation-failed")
        .await;
    // Staff see every counter; an unknown partner is 404 to them.
    app.partner_redemptions(&c.staff, &uuid::Uuid::new_v4().to_string(), "")
        .expect_problem(404, "not-found")
        .await;
    app.settlement(&c.staff, &uuid::Uuid::new_v4().to_string(), "")
        .expect_problem(404, "not-found")
        .await;
    app.partner_redemptions(&c.staff, "not-a-uuid", "")
        .expect_problem(404, "not-found")
        .await;
    // Clerk management is staff's.
    app.partner_clerks(&c.clerk, &c.canteen)
        .expect_problem(403, "forbidden")
        .await;
    app.add_clerk(&c.clerk, &c.canteen, &nobody.id)
        .expect_problem(403, "forbidden")
        .await;
    // A removed clerk loses the counter at once.
    app.remove_clerk(&c.staff, &c.canteen, &c.clerk.id)
        .expect_status(StatusCode::NO_CONTENT)
        .await;
    app.partner_redemptions(&c.clerk, &c.canteen, "")
        .expect_problem(403, "forbidden")
        .await;
    // Removing them again changes nothing (204); someone who does not exist is 404.
    app.remove_clerk(&c.staff, &c.canteen, &c.clerk.id)
        .expect_status(StatusCode::NO_CONTENT)
        .await;
    app.remove_clerk(&c.staff, &c.canteen, &uuid::Uuid::new_v4().to_string())
        .expect_problem(404, "not-found")
        .await;
}

#[actix_web::test]
async fn a_clerk_s_list_of_the_partner_s_redemptions_shows_no_pickup_codes() {
    let app = spawn_app().await;
    let c = counters(&app).await;
    let (lunch, veg) = c.lunch_and_veg(&app).await;
    let first = redeem(&app, &c.v, &lunch, 1).await;
    let second = redeem(&app, &c.v, &lunch, 2).await;
    redeem(&app, &c.v, &veg, 1).await;
    app.fulfil(&c.clerk, &first["pickup_code"])
        .expect_status(StatusCode::OK)
        .await;

    let theirs = app
        .partner_redemptions(&c.clerk, &c.canteen, "")
        .expect_json(StatusCode::OK)
        .await;
    assert_eq!(each(&theirs["items"], "id"), [id(&second), id(&first)]);
    for item in theirs["items"].as_array().expect("items") {
        assert!(item["pickup_code"].is_null(), "{item}");
        assert_eq!(item["volunteer_name"], "志愿者");
    }
    let reserved = app
        .partner_redemptions(&c.clerk, &c.canteen, "status=reserved")
        .expect_json(StatusCode::OK)
        .await;
    assert_eq!(each(&reserved["items"], "id"), [id(&second)]);
    // Staff see the codes in the same list.
    let staffs = app
        .partner_redemptions(&c.staff, &c.canteen, "")
        .expect_json(StatusCode::OK)
        .await;
    assert_eq!(each(&staffs["items"], "id"), each(&theirs["items"], "id"));
    assert_eq!(staffs["items"][0]["pickup_code"], second["pickup_code"]);
    let paged = app
        .partner_redemptions(&c.clerk, &c.canteen, "limit=1")
        .expect_json(StatusCode::OK)
        .await;
    assert_eq!(paged["items"].as_array().map(Vec::len), Some(1));
    assert!(paged["next_cursor"].is_string());
}

#[actix_web::test]
async fn the_settlement_counts_only_fulfilled_units_by_fulfilment_time_in_the_community_month() {
    let app = spawn_app().await;
    // Everything happens in the autumn of 2026, in order.
    app.set_time(at("2026-09-01T00:00:00Z"));
    let c = counters(&app).await;
    let (lunch, veg) = c.lunch_and_veg(&app).await;
    let noodles = reward(&app, &c.staff, "面条券", Some(&c.canteen)).await;

    let handed_out_at = |when: &'static str, reward: String, quantity: i64| {
        let (app, v, clerk) = (&app, &c.v, &c.clerk);
        async move {
            app.set_time(at(when));
            let r = redeem(app, v, &reward, quantity).await;
            app.fulfil(clerk, &r["pickup_code"])
                .expect_status(StatusCode::OK)
                .await;
        }
    };
    // 1 October 01:00 in Shanghai (still September in UTC) counts for October.
    handed_out_at("2026-09-30T17:00:00Z", lunch.clone(), 2).await;
    handed_out_at("2026-10-15T04:00:00Z", lunch.clone(), 1).await;
    handed_out_at("2026-10-20T04:00:00Z", noodles.clone(), 3).await;
    // 1 November 00:30 in Shanghai: November.
    handed_out_at("2026-10-31T16:30:00Z", lunch.clone(), 1).await;
    // Another partner's hand-out never counts here.
    app.set_time(at("2026-10-16T04:00:00Z"));
    let other = redeem(&app, &c.v, &veg, 1).await;
    app.fulfil(&c.staff, &other["pickup_code"])
        .expect_status(StatusCode::OK)
        .await;
    // Reserved in October, handed out in November: November's.
    app.set_time(at("2026-10-25T04:00:00Z"));
    let late = redeem(&app, &c.v, &lunch, 1).await;
    // Reserved and cancelled ones never count.
    redeem(&app, &c.v, &lunch, 4).await;
    let cancelled = redeem(&app, &c.v, &noodles, 2).await;
    app.cancel_redemption(&c.v, &id(&cancelled))
        .expect_status(StatusCode::OK)
        .await;
    app.set_time(at("2026-11-02T04:00:00Z"));
    app.fulfil(&c.clerk, &late["pickup_code"])
        .expect_status(StatusCode::OK)
        .await;

    let october = "from=2026-09-30T16:00:00Z&to=2026-10-31T16:00:00Z";
    let s = app
        .settlement(&c.clerk, &c.canteen, october)
        .expect_json(StatusCode::OK)
        .await;
    assert_eq!(s["partner_id"], c.canteen.as_str());
    assert_eq!(s["from"], "2026-09-30T16:00:00Z");
    assert_eq!(s["to"], "2026-10-31T16:00:00Z");
    assert_eq!(s["units"], 6);
    assert_eq!(s["points"], 60);
    assert_eq!(
        s["rewards"],
        json!([
            {"reward_id": lunch, "name": "午餐券", "units": 3, "points": 30},
            {"reward_id": noodles, "name": "面条券", "units": 3, "points": 30},
        ])
    );

    // Without a range: the current calendar month in Asia/Shanghai (now 2 November).
    let s = app
        .settlement(&c.staff, &c.canteen, "")
        .expect_json(StatusCode::OK)
        .await;
    assert_eq!(s["from"], "2026-10-31T16:00:00Z");
    assert_eq!(s["to"], "2026-11-30T16:00:00Z");
    assert_eq!(s["units"], 2);
    assert_eq!(s["points"], 20);
    assert_eq!(
        s["rewards"],
        json!([{"reward_id": lunch, "name": "午餐券", "units": 2, "points": 20}])
    );
    // A month with nothing handed out, and a range that ends before it starts.
    let empty = app
        .settlement(
            &c.staff,
            &c.canteen,
            "from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z",
        )
        .expect_json(StatusCode::OK)
        .await;
    assert_eq!(
        (empty["units"].clone(), empty["rewards"].clone()),
        (json!(0), json!([]))
    );
    app.settlement(
        &c.staff,
        &c.canteen,
        "from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z",
    )
    .expect_problem(422, "validation-failed")
    .await;
}

#[actix_web::test]
async fn adding_a_clerk_takes_no_fields_and_a_body_that_is_not_json_is_400_and_adds_no_one() {
    let app = spawn_app().await;
    let c = counters(&app).await;
    let v = app.volunteer().await;
    let path = format!("/partners/{}/clerks/{}", c.market, v.id);
    let res = app
        .send_json_text(Method::PUT, &path, &c.staff.token, "junk")
        .await;
    assert_problem(res, 400, "bad-request").await;
    let clerks = body(app.partner_clerks(&c.staff, &c.market).await).await;
    assert_eq!(clerks["items"], json!([]));
    app.add_clerk(&c.staff, &c.market, &v.id)
        .expect_json(StatusCode::OK)
        .await;
}

#[actix_web::test]
async fn a_hand_out_stays_with_the_partner_that_handed_it_out_when_its_reward_moves() {
    let app = spawn_app().await;
    let c = counters(&app).await;
    let lunch = reward(&app, &c.staff, "午餐券", Some(&c.canteen)).await;
    let handed_out = redeem(&app, &c.v, &lunch, 2).await;
    app.fulfil(&c.clerk, &handed_out["pickup_code"])
        .expect_status(StatusCode::OK)
        .await;
    let waiting = redeem(&app, &c.v, &lunch, 1).await;
    // The voucher moves to the market; what the canteen handed out stays the canteen's.
    app.edit_reward(&c.staff, &lunch, &json!({"partner_id": c.market}))
        .expect_status(StatusCode::OK)
        .await;
    app.fulfil(&c.staff, &waiting["pickup_code"])
        .expect_status(StatusCode::OK)
        .await;
    let units = |partner: String| {
        let (app, staff) = (&app, &c.staff);
        async move {
            let s = app
                .settlement(staff, &partner, "")
                .expect_json(StatusCode::OK)
                .await;
            (s["units"].clone(), s["points"].clone())
        }
    };
    assert_eq!(units(c.canteen.clone()).await, (json!(2), json!(20)));
    assert_eq!(units(c.market.clone()).await, (json!(1), json!(10)));
}

#[actix_web::test]
async fn the_default_settlement_month_follows_community_tz() {
    let app = spawn_app_with(&[("COMMUNITY_TZ", "UTC")]).await;
    let staff = app.staff().await;
    let canteen = app.a_partner(&staff, "老年食堂").await;
    app.set_time(at("2026-11-30T17:00:00Z"));
    let s = app
        .settlement(&staff, &canteen, "")
        .expect_json(StatusCode::OK)
        .await;
    assert_eq!(s["from"], "2026-11-01T00:00:00Z");
    assert_eq!(s["to"], "2026-12-01T00:00:00Z");
}

#[actix_web::test]
async fn me_lists_the_partners_the_caller_clerks_for() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let (market, canteen) = (
        app.a_partner(&staff, "邻里义集").await,
        app.a_partner(&staff, "老年食堂").await,
    );
    let clerk = app.volunteer().await;
    let me = app.me(&clerk).expect_json(StatusCode::OK).await;
    assert_eq!(me["partners"], json!([]));
    // Adding again changes nothing.
    for partner in [&market, &canteen, &canteen] {
        app.add_clerk(&staff, partner, &clerk.id)
            .expect_json(StatusCode::OK)
            .await;
    }
    let me = app.me(&clerk).expect_json(StatusCode::OK).await;
    assert_eq!(
        me["partners"],
        json!([
            {"partner_id": canteen, "name": "老年食堂"},
            {"partner_id": market, "name": "邻里义集"},
        ])
    );
    let clerks = app
        .partner_clerks(&staff, &canteen)
        .expect_json(StatusCode::OK)
        .await;
    assert_eq!(
        clerks["items"],
        json!([{"volunteer_id": clerk.id, "name": "志愿者", "phone": clerk.phone}])
    );
    app.remove_clerk(&staff, &market, &clerk.id)
        .expect_status(StatusCode::NO_CONTENT)
        .await;
    let me = app.me(&clerk).expect_json(StatusCode::OK).await;
    assert_eq!(
        me["partners"],
        json!([{"partner_id": canteen, "name": "老年食堂"}])
    );
}

#[actix_web::test]
async fn a_reward_names_its_partner_and_an_unknown_partner_is_404() {
    let app = spawn_app().await;
    let Counters {
        staff,
        canteen,
        market,
        v,
        ..
    } = counters(&app).await;
    let meal = reward(&app, &staff, "午餐券", Some(&canteen)).await;
    let shown = app.get_reward(&v, &meal).expect_json(StatusCode::OK).await;
    assert_eq!(shown["partner_id"], canteen.as_str());
    assert_eq!(shown["partner_name"], "老年食堂");
    let listed = app.rewards(&v, "").expect_json(StatusCode::OK).await;
    assert_eq!(listed["items"][0]["partner_name"], "老年食堂");

    let moved = app
        .edit_reward(&staff, &meal, &json!({"partner_id": market}))
        .expect_json(StatusCode::OK)
        .await;
    assert_eq!(
        (moved["partner_id"].as_str(), moved["partner_name"].as_str()),
        (Some(market.as_str()), Some("邻里义集"))
    );
    for unknown in [json!(uuid::Uuid::new_v4()), json!("not-a-uuid")] {
        app.create_reward(
            &staff,
            &json!({"name": "券", "cost_points": 5, "partner_id": unknown}),
        )
        .expect_problem(404, "not-found")
        .await;
        app.edit_reward(&staff, &meal, &json!({"partner_id": unknown}))
            .expect_problem(404, "not-found")
            .await;
    }
    let after = app
        .get_reward(&staff, &meal)
        .expect_json(StatusCode::OK)
        .await;
    assert_eq!(
        after["partner_id"],
        market.as_str(),
        "refusals change nothing"
    );
    let all = app
        .rewards(&staff, "limit=100")
        .expect_json(StatusCode::OK)
        .await;
    assert_eq!(all["items"].as_array().map(Vec::len), Some(1));

    let market_shown = app.partner(&v, &market).expect_json(StatusCode::OK).await;
    assert_eq!(market_shown["reward_count"], 1);
    let cleared = app
        .edit_reward(&staff, &meal, &json!({"partner_id": null}))
        .expect_json(StatusCode::OK)
        .await;
    assert!(cleared["partner_id"].is_null() && cleared["partner_name"].is_null());
    let market_shown = app.partner(&v, &market).expect_json(StatusCode::OK).await;
    assert_eq!(market_shown["reward_count"], 0);
}

#[actix_web::test]
async fn staff_keep_the_partner_list_and_everyone_signed_in_reads_it() {
    let app = spawn_app().await;
    let (staff, v) = (app.staff().await, app.volunteer().await);
    let fields = json!({"name": " 智慧消防 ", "kind": "unit", "description": "消防站"});
    app.create_partner(&v, &fields)
        .expect_problem(403, "forbidden")
        .await;
    let fire = app
        .create_partner(&staff, &fields)
        .expect_json(StatusCode::CREATED)
        .await;
    assert_eq!(fire["name"], "智慧消防");
    assert_eq!(fire["kind"], "unit");
    assert_eq!(fire["description"], "消防站");
    assert_eq!(fire["reward_count"], 0);
    let fund = app.a_partner(&staff, "社区发展基金").await;

    app.create_partner(&staff, &json!({"name": "x", "kind": "shop"}))
        .expect_problem(400, "bad-request")
        .await;
    let problem = app
        .create_partner(&staff, &json!({"name": " ", "kind": "fund"}))
        .expect_problem(422, "validation-failed")
        .await;
    assert_eq!(problem["errors"][0]["field"], "name");

    let listed = app.partners(&v).expect_json(StatusCode::OK).await;
    assert_eq!(
        each(&listed["items"], "id"),
        [id(&fire), fund.clone()],
        "by name"
    );
    let edited = app
        .edit_partner(&staff, &fund, &json!({"kind": "fund", "description": null}))
        .expect_json(StatusCode::OK)
        .await;
    assert_eq!(
        (edited["kind"].clone(), edited["description"].clone()),
        (json!("fund"), Value::Null)
    );
    assert_eq!(edited["name"], "社区发展基金");
    app.edit_partner(&v, &fund, &json!({"name": "x"}))
        .expect_problem(403, "forbidden")
        .await;
    app.edit_partner(&staff, &fund, &json!({"name": ""}))
        .expect_problem(422, "validation-failed")
        .await;
    let unknown = uuid::Uuid::new_v4().to_string();
    app.partner(&v, &unknown)
        .expect_problem(404, "not-found")
        .await;
    app.edit_partner(&staff, &unknown, &json!({"name": "x"}))
        .expect_problem(404, "not-found")
        .await;
    app.add_clerk(&staff, &fund, &uuid::Uuid::new_v4().to_string())
        .expect_problem(404, "not-found")
        .await;
}

#[actix_web::test]
async fn a_partner_s_redemptions_of_several_rewards_page_newest_first_each_once() {
    let app = spawn_app().await;
    let c = counters(&app).await;
    let (lunch, veg) = c.lunch_and_veg(&app).await;
    let noodles = reward(&app, &c.staff, "面条券", Some(&c.canteen)).await;
    let soup = reward(&app, &c.staff, "汤券", Some(&c.canteen)).await;
    // Interleaved over the canteen's three rewards (and the market's, which must not show),
    // two of them at the same instant: the id orders those.
    app.set_time(at("2026-10-01T08:00:00Z"));
    let mut made = Vec::new();
    for (i, r) in [
        &lunch, &noodles, &veg, &soup, &lunch, &soup, &noodles, &lunch,
    ]
    .into_iter()
    .enumerate()
    {
        if i != 5 {
            app.clock.advance(TimeDelta::minutes(1));
        }
        let redemption = redeem(&app, &c.v, r, 1).await;
        if *r != veg {
            made.push((redemption["created_at"].clone(), id(&redemption)));
        }
    }
    made.sort_by(|a, b| (b.0.as_str(), b.1.as_str()).cmp(&(a.0.as_str(), a.1.as_str())));
    let newest_first: Vec<String> = made.into_iter().map(|(_, id)| id).collect();

    assert_eq!(walk(&app, &c, "limit=2").await, newest_first);

    // Filtered by status, the walks still page by the cursor: cancel every other one.
    let (cancelled, reserved): (Vec<_>, Vec<_>) = newest_first
        .iter()
        .cloned()
        .enumerate()
        .partition(|(i, _)| i % 2 == 1);
    for (_, redemption) in &cancelled {
        app.cancel_redemption(&c.v, redemption)
            .expect_json(StatusCode::OK)
            .await;
    }
    let ids = |rows: Vec<(usize, String)>| rows.into_iter().map(|(_, id)| id).collect::<Vec<_>>();
    assert_eq!(
        walk(&app, &c, "status=cancelled&limit=1").await,
        ids(cancelled)
    );
    assert_eq!(
        walk(&app, &c, "status=reserved&limit=2").await,
        ids(reserved)
    );
}

/// Every redemption id of the canteen's list under `query`, page after page.
async fn walk(app: &TestApp, c: &Counters, query: &str) -> Vec<String> {
    let mut walked = Vec::new();
    let mut next = query.to_owned();
    loop {
        let page = app
            .partner_redemptions(&c.clerk, &c.canteen, &next)
            .expect_json(StatusCode::OK)
            .await;
        walked.extend(each(&page["items"], "id"));
        match page["next_cursor"].as_str() {
            Some(cursor) => next = format!("{query}&cursor={cursor}"),
            None => return walked,
        }
    }
}
