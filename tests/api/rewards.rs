//! Rewards and redemptions (API.md "Rewards and redemptions"; LEDGER.md L2, L4, L5, L7, L10).

use futures_util::future::join_all;
use reqwest::Method;
use serde_json::{json, Value};

use crate::helpers::*;

#[actix_web::test]
async fn thirty_volunteers_racing_for_five_units_get_exactly_five_and_the_others_keep_their_points()
{
    let app = spawn_app().await;
    let admin = app.admin().await;
    let staff = app.staff().await;
    let r = app.reward(&staff, stocked("电影票", 10, 5)).await;
    let mut volunteers = Vec::new();
    for _ in 0..30 {
        volunteers.push(app.volunteer_with(&admin, 50).await);
    }
    let fields = json!({"reward_id": r["id"]});
    let responses = join_all(volunteers.iter().map(|v| app.redeem(v, &fields))).await;
    let mut winners = 0;
    let mut results = Vec::new();
    for res in responses {
        match res.status().as_u16() {
            201 => {
                winners += 1;
                results.push(true);
            }
            _ => {
                assert_problem(res, 409, "out-of-stock").await;
                results.push(false);
            }
        }
    }
    assert_eq!(winners, 5);
    assert_eq!(app.stock_of(&staff, &id(&r)).await, 0);
    for (v, won) in volunteers.iter().zip(results) {
        assert_eq!(app.balance(v).await, if won { 40 } else { 50 });
    }
    let reserved = body(app.redemptions(&staff, "status=reserved&limit=100").await).await;
    assert_eq!(reserved["items"].as_array().map(Vec::len), Some(5));
}

#[actix_web::test]
async fn forty_concurrent_redemptions_of_30_against_100_points_let_exactly_three_through() {
    let app = spawn_app().await;
    let (_, staff, v) = app.shop(100).await;
    let r = app
        .reward(&staff, json!({"name": "T恤", "cost_points": 30}))
        .await;
    let fields = json!({"reward_id": r["id"]});
    let responses = join_all((0..40).map(|i| {
        let (app, v, fields) = (&app, &v, &fields);
        async move { app.redeem_keyed(v, &format!("spend-{i}"), fields).await }
    }))
    .await;
    assert_eq!(tally(responses, 201, "insufficient-points").await, (3, 37));
    assert_eq!(app.balance(&v).await, 10);
    let mine = body(app.get("/me/redemptions?limit=2", &v.token).await).await;
    assert_eq!(mine["items"].as_array().map(Vec::len), Some(2));
    let cursor = mine["next_cursor"].as_str().unwrap_or("").to_owned();
    let rest = body(
        app.get(
            &format!("/me/redemptions?limit=2&cursor={cursor}"),
            &v.token,
        )
        .await,
    )
    .await;
    assert_eq!(rest["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(rest["next_cursor"], Value::Null);
    assert_ne!(rest["items"][0]["id"], mine["items"][0]["id"]);
    assert_ne!(rest["items"][0]["id"], mine["items"][1]["id"]);
}

#[actix_web::test]
async fn a_replayed_redemption_returns_the_same_redemption_and_code_and_takes_points_once() {
    let app = spawn_app().await;
    let (admin, staff, v) = app.shop(100).await;
    let r = app.reward(&staff, stocked("书", 25, 10)).await;
    let fields = json!({"reward_id": r["id"], "quantity": 2});

    let missing = app.post("/redemptions", &v.token, &fields).await;
    assert_problem(missing, 400, "idempotency-key-required").await;

    let first = app.redeem_keyed(&v, "same-key", &fields).await;
    assert_eq!(first.status().as_u16(), 201);
    assert!(replayed(&first).is_none());
    let first_text = first.text().await.unwrap_or_default();
    let again = app.redeem_keyed(&v, "same-key", &fields).await;
    assert_eq!(again.status().as_u16(), 201);
    assert_eq!(replayed(&again), Some("true"));
    let again_text = again.text().await.unwrap_or_default();
    assert_eq!(first_text, again_text, "the replay is byte for byte");
    let redemption: Value = serde_json::from_str(&first_text).unwrap_or_default();
    assert_eq!(redemption["status"], "reserved");
    assert_eq!(redemption["points"], 50);
    assert_eq!(redemption["quantity"], 2);
    let code = redemption["pickup_code"].as_str().unwrap_or("");
    assert!(code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(app.balance(&v).await, 50);
    assert_eq!(app.stock_of(&staff, &id(&r)).await, 8);

    // The same key with another body is another request.
    let other = app
        .redeem_keyed(&v, "same-key", &json!({"reward_id": r["id"]}))
        .await;
    assert_problem(other, 422, "idempotency-key-reused").await;

    // A refusal is kept and replayed too, and acts no second time.
    let big = json!({"reward_id": r["id"], "quantity": 3});
    let refused = app.redeem_keyed(&v, "too-much", &big).await;
    assert_problem(refused, 409, "insufficient-points").await;
    app.grant(&admin, &v.id, 100).await;
    let again = app.redeem_keyed(&v, "too-much", &big).await;
    assert_eq!(replayed(&again), Some("true"));
    assert_problem(again, 409, "insufficient-points").await;
    assert_eq!(app.balance(&v).await, 150);
}

#[actix_web::test]
async fn eight_concurrent_cancels_refund_once_and_restore_the_stock_once() {
    let app = spawn_app().await;
    let (_, staff, v) = app.shop(100).await;
    let rid = id(&app.reward(&staff, stocked("水杯", 15, 3)).await);
    let red = app
        .redeemed(&v, &json!({"reward_id": rid, "quantity": 2}))
        .await;
    let red = id(&red);
    assert_eq!(app.balance(&v).await, 70);
    assert_eq!(app.stock_of(&staff, &rid).await, 1);

    let responses = join_all((0..8).map(|i| {
        let who = if i % 2 == 0 { &v } else { &staff };
        app.cancel_redemption(who, &red)
    }))
    .await;
    assert_eq!(
        tally(responses, 200, "redemption-not-reserved").await,
        (1, 7)
    );
    assert_eq!(app.balance(&v).await, 100);
    assert_eq!(app.stock_of(&staff, &rid).await, 3);
    let after = body(app.redemption(&v, &red).await).await;
    assert_eq!(after["status"], "cancelled");
    assert!(after["cancelled_at"].is_string());
    let ledger = body(app.my_ledger(&v, "").await).await;
    let refunds = ledger["items"]
        .as_array()
        .map(|items| items.iter().filter(|e| e["kind"] == "refund").count());
    assert_eq!(refunds, Some(1));
}

#[actix_web::test]
async fn a_cancel_racing_a_fulfilment_lets_exactly_one_win() {
    let app = spawn_app().await;
    let (_, staff, v) = app.shop(1000).await;
    let rid = id(&app.reward(&staff, stocked("帆布包", 10, 20)).await);
    let (mut cancelled, mut fulfilled) = (0, 0);
    for _ in 0..6 {
        let red = app.redeemed(&v, &json!({"reward_id": rid})).await;
        let (c, f) = futures_util::future::join(
            app.cancel_redemption(&v, &id(&red)),
            app.fulfil(&staff, &red["pickup_code"]),
        )
        .await;
        match (c.status().as_u16(), f.status().as_u16()) {
            (200, 404) => cancelled += 1,
            (409, 200) => {
                assert_problem(c, 409, "redemption-not-reserved").await;
                fulfilled += 1;
            }
            other => panic!("both or neither won: {other:?}"),
        }
    }
    assert_eq!(cancelled + fulfilled, 6);
    assert_eq!(app.balance(&v).await, 1000 - 10 * fulfilled);
    assert_eq!(app.stock_of(&staff, &rid).await, 20 - fulfilled);
}

#[actix_web::test]
async fn another_volunteer_can_neither_see_nor_cancel_a_redemption() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let staff = app.staff().await;
    let owner = app.volunteer().await;
    let other = app.volunteer().await;
    app.grant(&admin, &owner.id, 100).await;
    let r = app
        .reward(&staff, json!({"name": "徽章", "cost_points": 5}))
        .await;
    let red = app.redeemed(&owner, &json!({"reward_id": r["id"]})).await;
    let redemption = id(&red);

    app.redemption(&other, &redemption)
        .expect_problem(404, "not-found")
        .await;
    app.cancel_redemption(&other, &redemption)
        .expect_problem(404, "not-found")
        .await;
    let theirs = body(app.my_redemptions(&other).await).await;
    assert_eq!(theirs["items"], json!([]));
    app.redemptions(&other, "")
        .expect_problem(403, "forbidden")
        .await;

    // The owner and staff see it, with its pickup code.
    let mine = body(app.my_redemptions(&owner).await).await;
    assert_eq!(mine["items"][0]["id"], redemption.as_str());
    assert_eq!(mine["items"][0]["pickup_code"], red["pickup_code"]);
    assert_eq!(mine["items"][0]["volunteer_name"], "志愿者");
    assert_eq!(mine["items"][0]["reward_name"], "徽章");
    let seen = body(app.redemption(&staff, &redemption).await).await;
    assert_eq!(seen["pickup_code"], red["pickup_code"]);
    app.redemptions(&staff, "status=lost")
        .expect_problem(400, "bad-request")
        .await;
    app.get("/redemptions/not-a-uuid", &owner.token)
        .expect_problem(404, "not-found")
        .await;
    assert_eq!(app.balance(&owner).await, 95);
}

#[actix_web::test]
async fn the_per_volunteer_limit_holds_under_concurrent_redemptions() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let staff = app.staff().await;
    let v = app.volunteer().await;
    let w = app.volunteer().await;
    app.grant(&admin, &v.id, 1000).await;
    app.grant(&admin, &w.id, 1000).await;
    let r = app
        .reward(
            &staff,
            json!({"name": "限量版", "cost_points": 10, "per_volunteer_limit": 3}),
        )
        .await;
    let fields = json!({"reward_id": r["id"]});
    let responses = join_all((0..12).map(|_| app.redeem(&v, &fields))).await;
    assert_eq!(tally(responses, 201, "limit-reached").await, (3, 9));
    assert_eq!(app.balance(&v).await, 970);

    // The limit is per volunteer; quantities count as units.
    let two = app
        .redeemed(&w, &json!({"reward_id": r["id"], "quantity": 2}))
        .await;
    app.redeem(&w, &json!({"reward_id": r["id"], "quantity": 2}))
        .expect_problem(409, "limit-reached")
        .await;
    // Fulfilled units still count; cancelled ones do not.
    app.fulfil(&staff, &two["pickup_code"])
        .expect_status(StatusCode::OK)
        .await;
    app.redeem(&w, &json!({"reward_id": r["id"], "quantity": 2}))
        .expect_problem(409, "limit-reached")
        .await;
    let one = app.redeemed(&w, &fields).await;
    assert_eq!(
        app.cancel_redemption(&w, &id(&one)).await.status().as_u16(),
        200
    );
    app.redeemed(&w, &fields).await;
    assert_eq!(app.balance(&w).await, 970);
}

#[actix_web::test]
async fn staff_redeem_on_behalf_of_a_volunteer_and_are_recorded_as_its_creator() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let staff = app.staff().await;
    let v = app.volunteer().await;
    let other = app.volunteer().await;
    app.grant(&admin, &v.id, 100).await;
    let r = app
        .reward(&staff, json!({"name": "雨伞", "cost_points": 40}))
        .await;

    let red = app
        .redeemed(&staff, &json!({"reward_id": r["id"], "volunteer_id": v.id}))
        .await;
    assert_eq!(red["volunteer_id"], v.id.as_str());
    assert_eq!(red["created_by"], staff.id.as_str());
    assert_eq!(red["points"], 40);
    assert_eq!(app.balance(&v).await, 60);
    let mine = body(app.my_redemptions(&v).await).await;
    assert_eq!(mine["items"][0]["id"], red["id"]);

    // A volunteer may name only themself: anyone else is 403, whoever it is.
    app.redeem(&other, &json!({"reward_id": r["id"], "volunteer_id": v.id}))
        .expect_problem(403, "forbidden")
        .await;
    let own = app
        .redeemed(&v, &json!({"reward_id": r["id"], "volunteer_id": v.id}))
        .await;
    assert_eq!(own["created_by"], v.id.as_str());
    // Staff naming nobody known is 404.
    for unknown in [uuid::Uuid::new_v4().to_string(), "nobody".to_owned()] {
        app.redeem(
            &staff,
            &json!({"reward_id": r["id"], "volunteer_id": unknown}),
        )
        .expect_problem(404, "not-found")
        .await;
    }
    assert_eq!(app.balance(&v).await, 20);
    assert_eq!(app.balance(&other).await, 0);
}

#[actix_web::test]
async fn a_refund_after_a_price_change_returns_what_was_paid() {
    let app = spawn_app().await;
    let (_, staff, v) = app.shop(100).await;
    let rid = id(&app.reward(&staff, stocked("咖啡", 20, 5)).await);
    let red = app
        .redeemed(&v, &json!({"reward_id": rid, "quantity": 2}))
        .await;
    assert_eq!(red["points"], 40);
    let patched = app
        .edit_reward(&staff, &rid, &json!({"cost_points": 35, "stock": 999}))
        .expect_json(StatusCode::OK)
        .await;
    assert_eq!(patched["cost_points"], 35);
    assert_eq!(patched["stock"], 3, "PATCH never changes stock");

    let cancelled = app
        .cancel_redemption(&v, &id(&red))
        .expect_json(StatusCode::OK)
        .await;
    assert_eq!(cancelled["status"], "cancelled");
    assert_eq!(cancelled["points"], 40);
    assert_eq!(app.balance(&v).await, 100);
    assert_eq!(app.stock_of(&staff, &rid).await, 5);
    let next = app.redeemed(&v, &json!({"reward_id": rid})).await;
    assert_eq!(next["points"], 35);
}

#[actix_web::test]
async fn the_desk_fulfils_by_pickup_code_once_and_sees_the_volunteer_name() {
    let app = spawn_app().await;
    let (_, staff, v) = app.shop(100).await;
    let r = app.reward(&staff, stocked("围巾", 30, 2)).await;
    let red = app.redeemed(&v, &json!({"reward_id": r["id"]})).await;
    let code = red["pickup_code"].clone();

    app.fulfil(&v, &code).expect_problem(403, "forbidden").await;
    app.fulfil(&staff, &json!("12ab"))
        .expect_problem(422, "validation-failed")
        .await;
    let done = app.fulfil(&staff, &code).expect_json(StatusCode::OK).await;
    assert_eq!(done["status"], "fulfilled");
    assert_eq!(done["volunteer_name"], "志愿者");
    assert_eq!(done["volunteer_id"], v.id.as_str());
    assert!(done["fulfilled_at"].is_string());
    app.fulfil(&staff, &code)
        .expect_problem(404, "not-found")
        .await;
    app.cancel_redemption(&v, &id(&red))
        .expect_problem(409, "redemption-not-reserved")
        .await;
    let fulfilled = body(app.redemptions(&staff, "status=fulfilled").await).await;
    assert_eq!(fulfilled["items"][0]["id"], red["id"]);
    let reserved = body(app.redemptions(&staff, "status=reserved").await).await;
    assert_eq!(reserved["items"], json!([]));
    let wrong = app
        .request(Method::GET, "/redemptions/fulfil", Some(&staff.token), None)
        .await;
    assert_problem(wrong, 405, "method-not-allowed").await;
    assert_eq!(app.balance(&v).await, 70);
}

#[actix_web::test]
async fn rewards_keep_their_bounds_and_volunteers_see_only_active_ones() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let v = app.volunteer().await;

    app.create_reward(&v, &json!({"name": "x", "cost_points": 1}))
        .expect_problem(403, "forbidden")
        .await;
    let bad = app
        .create_reward(
            &staff,
            &json!({"name": " ", "cost_points": 0, "stock": -1, "per_volunteer_limit": 1001,
                    "description": "d".repeat(2001), "sponsor": "s".repeat(101)}),
        )
        .await;
    let problem = assert_problem(bad, 422, "validation-failed").await;
    let fields = fields_named(&problem);
    assert_eq!(
        fields,
        [
            "cost_points",
            "description",
            "name",
            "per_volunteer_limit",
            "sponsor",
            "stock"
        ]
    );
    app.create_reward(&staff, &json!({"name": "no cost"}))
        .expect_problem(400, "bad-request")
        .await;

    let b = app
        .reward(
            &staff,
            json!({"name": "  B 保温杯 ", "cost_points": 1_000_000, "stock": 1_000_000,
               "sponsor": "本地书店", "description": "不锈钢"}),
        )
        .await;
    assert_eq!(b["name"], "B 保温杯");
    assert_eq!(b["active"], true);
    assert_eq!(b["per_volunteer_limit"], Value::Null);
    let a = app
        .reward(&staff, json!({"name": "A 帽子", "cost_points": 1}))
        .await;
    assert_eq!(a["stock"], Value::Null);
    let c = app
        .reward(
            &staff,
            json!({"name": "C 隐藏", "cost_points": 3, "active": false}),
        )
        .await;
    let cid = &id(&c);

    // By name, a page at a time; inactive ones only for staff.
    let first = body(app.rewards(&v, "limit=1").await).await;
    assert_eq!(first["items"][0]["name"], "A 帽子");
    let cursor = first["next_cursor"].as_str().unwrap_or("").to_owned();
    let second = body(app.rewards(&v, &format!("limit=1&cursor={cursor}")).await).await;
    assert_eq!(second["items"][0]["name"], "B 保温杯");
    assert_eq!(second["next_cursor"], Value::Null);
    let all = body(app.rewards(&staff, "").await).await;
    assert_eq!(all["items"].as_array().map(Vec::len), Some(3));
    app.rewards(&v, "limit=0")
        .expect_problem(422, "validation-failed")
        .await;
    app.get_reward(&v, cid)
        .expect_problem(404, "not-found")
        .await;
    assert_eq!(app.get_reward(&staff, cid).await.status().as_u16(), 200);
    app.redeem(&v, &json!({"reward_id": cid}))
        .expect_problem(404, "not-found")
        .await;
    app.redeem(&v, &json!({"reward_id": uuid::Uuid::new_v4()}))
        .expect_problem(404, "not-found")
        .await;
    app.redeem(&v, &json!({"reward_id": a["id"], "quantity": 11}))
        .expect_problem(422, "validation-failed")
        .await;

    // PATCH: null clears, absent keeps, bounds hold, volunteers may not.
    let bid = &id(&b);
    app.edit_reward(&v, bid, &json!({"active": false}))
        .expect_problem(403, "forbidden")
        .await;
    app.edit_reward(&staff, bid, &json!({"cost_points": 0}))
        .expect_problem(422, "validation-failed")
        .await;
    let b2 = app
        .edit_reward(
            &staff,
            bid,
            &json!({"sponsor": null, "per_volunteer_limit": 2, "active": false}),
        )
        .expect_json(StatusCode::OK)
        .await;
    assert_eq!(b2["sponsor"], Value::Null);
    assert_eq!(b2["description"], "不锈钢");
    assert_eq!(b2["per_volunteer_limit"], 2);
    assert_eq!(b2["active"], false);
    assert_eq!(b2["stock"], 1_000_000);

    // Restock: 1–100,000; never past 1,000,000; not for unlimited stock.
    let aid = &id(&a);
    app.restock(&staff, aid, 5)
        .expect_problem(422, "validation-failed")
        .await;
    app.restock(&staff, bid, 1)
        .expect_problem(422, "validation-failed")
        .await;
    let d = app.reward(&staff, stocked("D", 1, 0)).await;
    let did = &id(&d);
    app.restock(&staff, did, 0)
        .expect_problem(422, "validation-failed")
        .await;
    app.restock(&staff, did, 100_001)
        .expect_problem(422, "validation-failed")
        .await;
    let res = app.restock(&staff, did, 100_000).await;
    assert_eq!(res.status().as_u16(), 200);
    assert_eq!(body(res).await["stock"], 100_000);
    app.restock(&staff, &uuid::Uuid::new_v4().to_string(), 1)
        .expect_problem(404, "not-found")
        .await;
    app.restock(&v, did, 1)
        .expect_problem(403, "forbidden")
        .await;
    let wrong = app.delete(&format!("/rewards/{did}"), &staff.token).await;
    assert_problem(wrong, 405, "method-not-allowed").await;
}

#[actix_web::test]
async fn a_refused_redemption_changes_nothing() {
    let app = spawn_app().await;
    let (_, staff, v) = app.shop(50).await;
    let rid = id(&app.reward(&staff, stocked("耳机", 30, 4)).await);
    // Stock is there but points are not: the taken stock goes back with the rollback.
    app.redeem(&v, &json!({"reward_id": rid, "quantity": 2}))
        .expect_problem(409, "insufficient-points")
        .await;
    app.redeem(&v, &json!({"reward_id": rid, "quantity": 5}))
        .expect_problem(409, "out-of-stock")
        .await;
    assert_eq!(app.stock_of(&staff, &rid).await, 4);
    assert_eq!(app.balance(&v).await, 50);
    let mine = body(app.my_redemptions(&v).await).await;
    assert_eq!(mine["items"], json!([]));
}

#[actix_web::test]
async fn verify_finds_a_planted_stock_inconsistency() {
    let app = spawn_app().await;
    let (admin, staff, v) = app.shop(100).await;
    let rid = id(&app.reward(&staff, stocked("台灯", 10, 5)).await);
    app.redeemed(&v, &json!({"reward_id": rid})).await;
    app.assert_ledger_ok();

    app.expect_broken_ledger();
    app.plant(&format!(
        "UPDATE rewards SET stock = stock + 1 WHERE id = '{rid}'"
    ));
    let report = app.verify();
    assert!(!report.ok);
    assert!(
        report
            .problems
            .iter()
            .any(|p| p.rule == "L10" && p.subject == format!("reward:{rid}")),
        "{:?}",
        report.problems
    );
    let shown = app
        .verify_over_http(&admin)
        .expect_json(StatusCode::OK)
        .await;
    assert_eq!(shown["ok"], false);
    assert_eq!(shown["problems"][0]["rule"], "L10");
}

#[actix_web::test]
async fn the_openapi_document_lists_every_rewards_and_redemptions_path() {
    let app = spawn_app().await;
    let doc = body(app.openapi().await).await;
    for (path, method) in [
        ("/api/v1/rewards", "get"),
        ("/api/v1/rewards", "post"),
        ("/api/v1/rewards/{id}", "get"),
        ("/api/v1/rewards/{id}", "patch"),
        ("/api/v1/rewards/{id}/restock", "post"),
        ("/api/v1/redemptions", "post"),
        ("/api/v1/redemptions", "get"),
        ("/api/v1/me/redemptions", "get"),
        ("/api/v1/redemptions/fulfil", "post"),
        ("/api/v1/redemptions/{id}", "get"),
        ("/api/v1/redemptions/{id}/cancel", "post"),
    ] {
        assert!(
            doc["paths"][path][method].is_object(),
            "{method} {path} is missing"
        );
    }
}

#[actix_web::test]
async fn a_redemption_key_used_with_an_invalid_body_is_spent_like_any_other() {
    let app = spawn_app().await;
    let (_, staff, v) = app.shop(100).await;
    let r = app
        .reward(&staff, json!({"name": "茶", "cost_points": 10}))
        .await;
    let post = |key: &'static str, quantity: i64| {
        let (app, v, fields) = (
            &app,
            &v,
            json!({"reward_id": r["id"], "quantity": quantity}),
        );
        async move { app.redeem_keyed(v, key, &fields).await }
    };
    let first = post("eleven", 11)
        .expect_problem(422, "validation-failed")
        .await;
    let again = post("eleven", 11).await;
    assert!(replayed(&again).is_some());
    assert_eq!(assert_problem(again, 422, "validation-failed").await, first);
    post("eleven", 1)
        .expect_problem(422, "idempotency-key-reused")
        .await;

    assert_eq!(post("one", 1).await.status(), 201);
    post("one", 0)
        .expect_problem(422, "idempotency-key-reused")
        .await;
    assert_eq!(app.balance(&v).await, 90, "one unit was paid for");
}

#[actix_web::test]
async fn a_name_holding_a_nul_or_other_control_character_is_422_and_stores_nothing() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let reward = json!({"name": "\u{0}Tea", "cost_points": 5});
    let refused = app
        .create_reward(&staff, &reward)
        .expect_problem(422, "validation-failed")
        .await;
    assert_eq!(refused["errors"][0]["field"], "name");
    app.create_team(&staff, &json!({"name": "Bell\u{7}ringers"}))
        .expect_problem(422, "validation-failed")
        .await;
    let listed = app.get("/rewards", &staff.token).await;
    assert_eq!(body(listed).await["items"], json!([]));
    let multi_line = json!({"name": "Tea", "cost_points": 5, "description": "hot\nand sweet"});
    let kept = app
        .create_reward(&staff, &multi_line)
        .expect_json(reqwest::StatusCode::CREATED)
        .await;
    assert_eq!(kept["description"], "hot\nand sweet");
}
