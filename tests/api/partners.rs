//! Partners and their counters (API.md "Partners"): clerks, fulfilling at a partner's counter,
//! the partner's redemption list and its settlement; `Me.partners`; rewards naming a partner.

use chrono::{DateTime, Utc};
use reqwest::{Method, Response};
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
    let canteen = partner(app, &staff, "老年食堂").await;
    let market = partner(app, &staff, "邻里义集").await;
    let (v, clerk) = (app.volunteer().await, app.volunteer().await);
    app.grant(&admin, &v.id, 1000).await;
    add_clerk(app, &staff, &canteen, &clerk).await;
    Counters {
        staff,
        canteen,
        market,
        v,
        clerk,
    }
}

/// A partner made by `staff`; returns its id.
async fn partner(app: &TestApp, staff: &TestUser, name: &str) -> String {
    let res = app
        .post(
            "/partners",
            &staff.token,
            &json!({"name": name, "kind": "social-enterprise"}),
        )
        .await;
    assert_eq!(res.status(), 201, "create partner");
    body(res).await["id"].as_str().expect("id").to_owned()
}

/// Makes `who` a clerk of `partner`.
async fn add_clerk(app: &TestApp, staff: &TestUser, partner: &str, who: &TestUser) {
    let res = app
        .put(
            &format!("/partners/{partner}/clerks/{}", who.id),
            &staff.token,
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 200, "add clerk");
}

/// Takes `who` off `partner`'s clerks.
async fn remove_clerk(app: &TestApp, staff: &TestUser, partner: &str, who: &TestUser) {
    let path = format!("/partners/{partner}/clerks/{}", who.id);
    let res = app
        .request(Method::DELETE, &path, Some(&staff.token), None)
        .await;
    assert_eq!(res.status(), 204, "remove clerk");
}

/// A reward costing 10 points, of `partner` if given; returns its id.
async fn reward(app: &TestApp, staff: &TestUser, name: &str, partner: Option<&str>) -> String {
    let res = app
        .post(
            "/rewards",
            &staff.token,
            &json!({"name": name, "cost_points": 10, "partner_id": partner}),
        )
        .await;
    assert_eq!(res.status(), 201, "create reward");
    body(res).await["id"].as_str().expect("id").to_owned()
}

/// A reserved redemption of `quantity` units of `reward` by `who`.
async fn redeem(app: &TestApp, who: &TestUser, reward: &str, quantity: i64) -> Value {
    let key = uuid::Uuid::new_v4().to_string();
    let res = app
        .post_keyed(
            "/redemptions",
            &who.token,
            &key,
            &json!({"reward_id": reward, "quantity": quantity}),
        )
        .await;
    assert_eq!(res.status(), 201, "redeem");
    body(res).await
}

async fn fulfil(app: &TestApp, token: &str, code: &Value) -> Response {
    app.post("/redemptions/fulfil", token, &json!({"pickup_code": code}))
        .await
}

async fn patch(app: &TestApp, path: &str, token: &str, fields: &Value) -> Response {
    app.request(Method::PATCH, path, Some(token), Some(fields))
        .await
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("a test time")
        .with_timezone(&Utc)
}

/// The ids of a page's items, in order.
fn ids(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| i["id"].as_str().expect("id").to_owned())
        .collect()
}

#[actix_web::test]
async fn a_clerk_fulfils_their_partner_s_code_and_gets_404_for_another_partner_s_and_a_partnerless_one(
) {
    let app = spawn_app().await;
    let Counters {
        staff,
        canteen,
        market,
        v,
        clerk,
        ..
    } = counters(&app).await;
    let meal = reward(&app, &staff, "午餐券", Some(&canteen)).await;
    let veg = reward(&app, &staff, "蔬菜包", Some(&market)).await;
    let own = reward(&app, &staff, "社区纪念品", None).await;
    let (m, g, o) = (
        redeem(&app, &v, &meal, 1).await,
        redeem(&app, &v, &veg, 1).await,
        redeem(&app, &v, &own, 1).await,
    );

    let res = fulfil(&app, &clerk.token, &m["pickup_code"]).await;
    assert_eq!(res.status(), 200);
    let done = body(res).await;
    assert_eq!(done["status"], "fulfilled");
    assert_eq!(done["volunteer_name"], "志愿者");
    assert!(done["fulfilled_at"].is_string());

    // Another partner's code, and a code of a reward without a partner, answer exactly as a
    // code nobody holds.
    let unused = (0..1_000_000)
        .map(|n| format!("{n:06}"))
        .find(|c| [&m, &g, &o].iter().all(|r| r["pickup_code"] != *c))
        .expect("a free code");
    let unknown = assert_problem(
        fulfil(&app, &clerk.token, &json!(unused)).await,
        404,
        "not-found",
    )
    .await;
    for other in [&g, &o] {
        let refused = assert_problem(
            fulfil(&app, &clerk.token, &other["pickup_code"]).await,
            404,
            "not-found",
        )
        .await;
        assert_eq!(refused, unknown);
    }
    // Refused codes stay reserved: the staff desk still hands them out.
    for other in [&g, &o] {
        let res = fulfil(&app, &staff.token, &other["pickup_code"]).await;
        assert_eq!(res.status(), 200);
    }
    assert_eq!(app.balance(&v.token).await, 970);
    app.assert_ledger_ok();
}

#[actix_web::test]
async fn only_staff_and_a_partner_s_clerks_work_its_counter() {
    let app = spawn_app().await;
    let Counters {
        staff,
        canteen,
        market,
        v: nobody,
        clerk,
        ..
    } = counters(&app).await;

    // Someone who clerks nothing: the role never allows it, whatever the code or partner.
    for code in [json!("123456"), json!("bad")] {
        assert_problem(fulfil(&app, &nobody.token, &code).await, 403, "forbidden").await;
    }
    for who in [&nobody, &clerk] {
        for path in [
            format!("/partners/{market}/redemptions"),
            format!("/partners/{market}/settlement"),
            format!("/partners/{}/redemptions", uuid::Uuid::new_v4()),
            "/partners/not-a-uuid/settlement".to_owned(),
        ] {
            assert_problem(app.get(&path, &who.token).await, 403, "forbidden").await;
        }
    }
    // A clerk's own counter; a bad code is then a validation failure.
    for path in [
        format!("/partners/{canteen}/redemptions"),
        format!("/partners/{canteen}/settlement"),
    ] {
        assert_eq!(app.get(&path, &clerk.token).await.status(), 200, "{path}");
    }
    assert_problem(
        fulfil(&app, &clerk.token, &json!("12ab")).await,
        422,
        "validation-failed",
    )
    .await;
    // Staff see every counter; an unknown partner is 404 to them.
    for path in [
        format!("/partners/{}/redemptions", uuid::Uuid::new_v4()),
        format!("/partners/{}/settlement", uuid::Uuid::new_v4()),
        "/partners/not-a-uuid/redemptions".to_owned(),
    ] {
        assert_problem(app.get(&path, &staff.token).await, 404, "not-found").await;
    }
    // Clerk management is staff's.
    assert_problem(
        app.get(&format!("/partners/{canteen}/clerks"), &clerk.token)
            .await,
        403,
        "forbidden",
    )
    .await;
    let res = app
        .put(
            &format!("/partners/{canteen}/clerks/{}", nobody.id),
            &clerk.token,
            &json!({}),
        )
        .await;
    assert_problem(res, 403, "forbidden").await;
    // A removed clerk loses the counter at once.
    remove_clerk(&app, &staff, &canteen, &clerk).await;
    assert_problem(
        app.get(&format!("/partners/{canteen}/redemptions"), &clerk.token)
            .await,
        403,
        "forbidden",
    )
    .await;
}

#[actix_web::test]
async fn a_clerk_s_list_of_the_partner_s_redemptions_shows_no_pickup_codes() {
    let app = spawn_app().await;
    let Counters {
        staff,
        canteen,
        market,
        v,
        clerk,
        ..
    } = counters(&app).await;
    let meal = reward(&app, &staff, "午餐券", Some(&canteen)).await;
    let veg = reward(&app, &staff, "蔬菜包", Some(&market)).await;
    let first = redeem(&app, &v, &meal, 1).await;
    let second = redeem(&app, &v, &meal, 2).await;
    redeem(&app, &v, &veg, 1).await;
    assert_eq!(
        fulfil(&app, &clerk.token, &first["pickup_code"])
            .await
            .status(),
        200
    );

    let path = format!("/partners/{canteen}/redemptions");
    let theirs = body(app.get(&path, &clerk.token).await).await;
    assert_eq!(
        ids(&theirs),
        [&second, &first].map(|r| r["id"].as_str().unwrap_or("").to_owned())
    );
    for item in theirs["items"].as_array().expect("items") {
        assert!(item["pickup_code"].is_null(), "{item}");
        assert_eq!(item["volunteer_name"], "志愿者");
    }
    let reserved = body(
        app.get(&format!("{path}?status=reserved"), &clerk.token)
            .await,
    )
    .await;
    assert_eq!(ids(&reserved), [second["id"].as_str().unwrap_or("")]);
    // Staff see the codes in the same list.
    let staffs = body(app.get(&path, &staff.token).await).await;
    assert_eq!(ids(&staffs), ids(&theirs));
    assert_eq!(staffs["items"][0]["pickup_code"], second["pickup_code"]);
    let paged = body(app.get(&format!("{path}?limit=1"), &clerk.token).await).await;
    assert_eq!(paged["items"].as_array().map(Vec::len), Some(1));
    assert!(paged["next_cursor"].is_string());
    app.assert_ledger_ok();
}

#[actix_web::test]
async fn the_settlement_counts_only_fulfilled_units_by_fulfilment_time_in_the_community_month() {
    let app = spawn_app().await;
    // Everything happens in the autumn of 2026, in order.
    app.set_time(at("2026-09-01T00:00:00Z"));
    let Counters {
        staff,
        canteen,
        market,
        v,
        clerk,
        ..
    } = counters(&app).await;
    let lunch = reward(&app, &staff, "午餐券", Some(&canteen)).await;
    let noodles = reward(&app, &staff, "面条券", Some(&canteen)).await;
    let veg = reward(&app, &staff, "蔬菜包", Some(&market)).await;

    let handed_out_at = |when: &'static str, reward: String, quantity: i64| {
        let (app, v, clerk) = (&app, &v, &clerk);
        async move {
            app.set_time(at(when));
            let r = redeem(app, v, &reward, quantity).await;
            let res = fulfil(app, &clerk.token, &r["pickup_code"]).await;
            assert_eq!(res.status(), 200);
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
    let other = redeem(&app, &v, &veg, 1).await;
    assert_eq!(
        fulfil(&app, &staff.token, &other["pickup_code"])
            .await
            .status(),
        200
    );
    // Reserved in October, handed out in November: November's.
    app.set_time(at("2026-10-25T04:00:00Z"));
    let late = redeem(&app, &v, &lunch, 1).await;
    // Reserved and cancelled ones never count.
    redeem(&app, &v, &lunch, 4).await;
    let cancelled = redeem(&app, &v, &noodles, 2).await;
    let res = app
        .post(
            &format!(
                "/redemptions/{}/cancel",
                cancelled["id"].as_str().unwrap_or("")
            ),
            &v.token,
            &json!({}),
        )
        .await;
    assert_eq!(res.status(), 200);
    app.set_time(at("2026-11-02T04:00:00Z"));
    assert_eq!(
        fulfil(&app, &clerk.token, &late["pickup_code"])
            .await
            .status(),
        200
    );

    let october = "from=2026-09-30T16:00:00Z&to=2026-10-31T16:00:00Z";
    let res = app
        .get(
            &format!("/partners/{canteen}/settlement?{october}"),
            &clerk.token,
        )
        .await;
    assert_eq!(res.status(), 200);
    let s = body(res).await;
    assert_eq!(s["partner_id"], canteen.as_str());
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
    let s = body(
        app.get(&format!("/partners/{canteen}/settlement"), &staff.token)
            .await,
    )
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
    let empty = body(
        app.get(
            &format!(
                "/partners/{canteen}/settlement?from=2026-01-01T00:00:00Z&to=2026-02-01T00:00:00Z"
            ),
            &staff.token,
        )
        .await,
    )
    .await;
    assert_eq!(
        (empty["units"].clone(), empty["rewards"].clone()),
        (json!(0), json!([]))
    );
    let res = app
        .get(
            &format!(
                "/partners/{canteen}/settlement?from=2026-02-01T00:00:00Z&to=2026-01-01T00:00:00Z"
            ),
            &staff.token,
        )
        .await;
    assert_problem(res, 422, "validation-failed").await;
    app.assert_ledger_ok();
}

#[actix_web::test]
async fn the_default_settlement_month_follows_community_tz() {
    let app = spawn_app_with(&[("COMMUNITY_TZ", "UTC")]).await;
    let staff = app.staff().await;
    let canteen = partner(&app, &staff, "老年食堂").await;
    app.set_time(at("2026-11-30T17:00:00Z"));
    let s = body(
        app.get(&format!("/partners/{canteen}/settlement"), &staff.token)
            .await,
    )
    .await;
    assert_eq!(s["from"], "2026-11-01T00:00:00Z");
    assert_eq!(s["to"], "2026-12-01T00:00:00Z");
}

#[actix_web::test]
async fn me_lists_the_partners_the_caller_clerks_for() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let (market, canteen) = (
        partner(&app, &staff, "邻里义集").await,
        partner(&app, &staff, "老年食堂").await,
    );
    let clerk = app.volunteer().await;
    assert_eq!(
        body(app.get("/me", &clerk.token).await).await["partners"],
        json!([])
    );
    add_clerk(&app, &staff, &market, &clerk).await;
    add_clerk(&app, &staff, &canteen, &clerk).await;
    // Adding again changes nothing.
    add_clerk(&app, &staff, &canteen, &clerk).await;
    let me = body(app.get("/me", &clerk.token).await).await;
    assert_eq!(
        me["partners"],
        json!([
            {"partner_id": canteen, "name": "老年食堂"},
            {"partner_id": market, "name": "邻里义集"},
        ])
    );
    let clerks = body(
        app.get(&format!("/partners/{canteen}/clerks"), &staff.token)
            .await,
    )
    .await;
    assert_eq!(
        clerks["items"],
        json!([{"volunteer_id": clerk.id, "name": "志愿者", "phone": clerk.phone}])
    );
    remove_clerk(&app, &staff, &market, &clerk).await;
    let me = body(app.get("/me", &clerk.token).await).await;
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
    let shown = body(app.get(&format!("/rewards/{meal}"), &v.token).await).await;
    assert_eq!(shown["partner_id"], canteen.as_str());
    assert_eq!(shown["partner_name"], "老年食堂");
    let listed = body(app.get("/rewards", &v.token).await).await;
    assert_eq!(listed["items"][0]["partner_name"], "老年食堂");

    let path = format!("/rewards/{meal}");
    let moved = body(patch(&app, &path, &staff.token, &json!({"partner_id": market})).await).await;
    assert_eq!(
        (moved["partner_id"].as_str(), moved["partner_name"].as_str()),
        (Some(market.as_str()), Some("邻里义集"))
    );
    for unknown in [json!(uuid::Uuid::new_v4()), json!("not-a-uuid")] {
        let res = app
            .post(
                "/rewards",
                &staff.token,
                &json!({"name": "券", "cost_points": 5, "partner_id": unknown}),
            )
            .await;
        assert_problem(res, 404, "not-found").await;
        let res = patch(&app, &path, &staff.token, &json!({"partner_id": unknown})).await;
        assert_problem(res, 404, "not-found").await;
    }
    let after = body(app.get(&path, &staff.token).await).await;
    assert_eq!(
        after["partner_id"],
        market.as_str(),
        "refusals change nothing"
    );
    let all = body(app.get("/rewards?limit=100", &staff.token).await).await;
    assert_eq!(all["items"].as_array().map(Vec::len), Some(1));

    let market_shown = body(app.get(&format!("/partners/{market}"), &v.token).await).await;
    assert_eq!(market_shown["reward_count"], 1);
    let cleared = body(patch(&app, &path, &staff.token, &json!({"partner_id": null})).await).await;
    assert!(cleared["partner_id"].is_null() && cleared["partner_name"].is_null());
    let market_shown = body(app.get(&format!("/partners/{market}"), &v.token).await).await;
    assert_eq!(market_shown["reward_count"], 0);
}

#[actix_web::test]
async fn staff_keep_the_partner_list_and_everyone_signed_in_reads_it() {
    let app = spawn_app().await;
    let (staff, v) = (app.staff().await, app.volunteer().await);
    let fields = json!({"name": " 智慧消防 ", "kind": "unit", "description": "消防站"});
    assert_problem(
        app.post("/partners", &v.token, &fields).await,
        403,
        "forbidden",
    )
    .await;
    let res = app.post("/partners", &staff.token, &fields).await;
    assert_eq!(res.status(), 201);
    let fire = body(res).await;
    assert_eq!(fire["name"], "智慧消防");
    assert_eq!(fire["kind"], "unit");
    assert_eq!(fire["description"], "消防站");
    assert_eq!(fire["reward_count"], 0);
    let fund = partner(&app, &staff, "社区发展基金").await;

    let bad_kind = app
        .post(
            "/partners",
            &staff.token,
            &json!({"name": "x", "kind": "shop"}),
        )
        .await;
    assert_problem(bad_kind, 400, "bad-request").await;
    let res = app
        .post(
            "/partners",
            &staff.token,
            &json!({"name": " ", "kind": "fund"}),
        )
        .await;
    let problem = assert_problem(res, 422, "validation-failed").await;
    assert_eq!(problem["errors"][0]["field"], "name");

    let listed = body(app.get("/partners", &v.token).await).await;
    let fire_id = fire["id"].as_str().expect("id");
    assert_eq!(ids(&listed), [fire_id.to_owned(), fund.clone()], "by name");
    let path = format!("/partners/{fund}");
    let edited = patch(
        &app,
        &path,
        &staff.token,
        &json!({"kind": "fund", "description": null}),
    )
    .await;
    assert_eq!(edited.status(), 200);
    let edited = body(edited).await;
    assert_eq!(
        (edited["kind"].clone(), edited["description"].clone()),
        (json!("fund"), Value::Null)
    );
    assert_eq!(edited["name"], "社区发展基金");
    assert_problem(
        patch(&app, &path, &v.token, &json!({"name": "x"})).await,
        403,
        "forbidden",
    )
    .await;
    assert_problem(
        patch(&app, &path, &staff.token, &json!({"name": ""})).await,
        422,
        "validation-failed",
    )
    .await;
    let unknown = format!("/partners/{}", uuid::Uuid::new_v4());
    assert_problem(app.get(&unknown, &v.token).await, 404, "not-found").await;
    assert_problem(
        patch(&app, &unknown, &staff.token, &json!({"name": "x"})).await,
        404,
        "not-found",
    )
    .await;
    let res = app
        .put(
            &format!("{path}/clerks/{}", uuid::Uuid::new_v4()),
            &staff.token,
            &json!({}),
        )
        .await;
    assert_problem(res, 404, "not-found").await;
}
