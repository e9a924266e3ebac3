use futures_util::future::join_all;
use serde_json::json;

use crate::helpers::*;

#[actix_web::test]
async fn fifty_concurrent_debits_of_7_against_100_let_exactly_14_through() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let v = app.volunteer().await;
    app.grant(&admin, &v.id, 100).await;
    let requests = (0..50).map(|i| {
        let key = format!("debit-{i}");
        let body = json!({"volunteer_id": v.id, "amount": -7, "reason": "concurrent debit"});
        let app = &app;
        let token = admin.token.clone();
        async move {
            app.post_keyed("/ledger/adjustments", &token, &key, &body)
                .await
        }
    });
    let responses = join_all(requests).await;
    let mut created = 0;
    let mut refused = 0;
    for res in responses {
        match res.status().as_u16() {
            201 => created += 1,
            409 => {
                assert_eq!(body(res).await["code"], "insufficient-points");
                refused += 1;
            }
            other => panic!(
                "unexpected status {other}: {}",
                res.text().await.unwrap_or_default()
            ),
        }
    }
    assert_eq!((created, refused), (14, 36));
    assert_eq!(app.balance(&v.token).await, 2);
    app.assert_ledger_ok();
}
