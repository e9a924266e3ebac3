//! Query plans that matter at a city's size, checked on SQLite (`EXPLAIN QUERY PLAN` of the
//! statements the service sends; PostgreSQL's EXPLAIN needs the parameters bound, so its plans are
//! measured by `cargo run --release --example growth` instead).

use serde_json::json;

use crate::helpers::*;

/// The statement the last request sent that starts with `verb` and names `needle`, without its
/// binds.
fn sent(app: &TestApp, verb: &str, needle: &str) -> String {
    let statements = app.statements();
    let statement = statements
        .iter()
        .find(|s| s.starts_with(verb) && s.contains(needle))
        .unwrap_or_else(|| panic!("no {verb} naming {needle} among {statements:#?}"));
    statement
        .split(" -- binds:")
        .next()
        .unwrap_or(statement)
        .to_owned()
}

#[actix_web::test]
async fn sqlite_never_plans_from_bound_values() {
    if on_postgres() {
        return; // A build option of the bundled SQLite.
    }
    let app = spawn_app().await;
    // Planning from bound values would parse and plan every statement with a `LIMIT ?` again
    // each time it runs (.cargo/config.toml).
    let qpsg = app
        .count(
            "SELECT CAST(COUNT(*) AS BIGINT) AS n FROM pragma_compile_options \
             WHERE compile_options = 'ENABLE_QPSG'",
        )
        .await;
    assert_eq!(qpsg, 1, "SQLite is built with SQLITE_ENABLE_QPSG");
}

#[actix_web::test]
async fn the_desk_finds_a_pickup_code_by_its_partial_index_and_a_settlement_reads_only_its_month() {
    if on_postgres() {
        return; // See the module's note.
    }
    let app = spawn_app().await;
    let (admin, staff, volunteer) = app.shop(1_000).await;
    let partner = app.a_partner(&staff, "老年食堂").await;
    let reward = app
        .reward(
            &admin,
            json!({"name": "午餐券", "cost_points": 10, "partner_id": partner}),
        )
        .await;
    let redemption = app
        .redeemed(&volunteer, &json!({"reward_id": id(&reward)}))
        .await;

    app.count_statements();
    app.fulfil(&staff, &redemption["pickup_code"])
        .expect_json(StatusCode::OK)
        .await;
    let fulfil = sent(&app, "UPDATE", "pickup_code");
    let plan = app.query_plan(&fulfil).await;
    assert!(
        plan.iter()
            .any(|s| s.contains("INDEX redemptions_pickup_reserved (")),
        "{fulfil}\n{plan:#?}"
    );

    app.count_statements();
    app.settlement(&staff, &partner, "")
        .expect_json(StatusCode::OK)
        .await;
    let settlement = sent(&app, "SELECT", "fulfilled_at");
    let plan = app.query_plan(&settlement).await;
    assert!(
        plan.iter().any(|s| s
            .starts_with("SEARCH redemptions USING INDEX redemptions_partner_fulfilled")
            && s.contains("fulfilled_partner_id=? AND fulfilled_at>? AND fulfilled_at<?")),
        "{settlement}\n{plan:#?}"
    );
}
