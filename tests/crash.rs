//! A crash in the middle of a load: the real binary is killed (SIGKILL) while adjustments are in
//! flight, then started again on the same database. No acknowledged write may be lost (L8), a
//! retry with the same key must act at most once and answer as before (L5), and the ledger rules
//! must still hold (L1, L2, L9). Runs on SQLite, or on PostgreSQL when TEST_DATABASE_URL is set.

use std::collections::HashMap;
use std::process::Command;

use serde_json::{json, Value};

#[path = "support/fresh_database.rs"]
mod fresh_database;
#[path = "support/served.rs"]
mod served;

use fresh_database::FreshDatabase;

const SECRET: &str = "crash-test-secret-crash-test-secret-0123456789";
const ADMIN_PHONE: &str = "13911110000";
const ADMIN_PASSWORD: &str = "crash admin password";

/// The binary on `database`, signing in many times from one address.
fn service(database: &FreshDatabase) -> Command {
    let mut cmd = served::service(&database.url, SECRET);
    cmd.env("LOGINS_PER_ADDRESS", "100000");
    cmd
}

async fn send(req: reqwest::RequestBuilder) -> (u16, String) {
    let res = req.send().await.expect("the service answers");
    let status = res.status().as_u16();
    (status, res.text().await.expect("a body"))
}

fn field(body: &str, name: &str) -> Value {
    let v: Value = serde_json::from_str(body).expect("JSON");
    v[name].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_the_service_mid_load_loses_no_acknowledged_write_and_breaks_no_rule() {
    let database = FreshDatabase::new("vp_crash");
    served::create_admin(
        service(&database),
        ADMIN_PHONE,
        "Crash Admin",
        ADMIN_PASSWORD,
    );

    let (mut server, base) = served::serve(service(&database));
    let client = reqwest::Client::new();
    let api = |path: &str| format!("{base}/api/v1{path}");
    let (status, body) = send(
        client
            .post(api("/auth/login"))
            .json(&json!({"phone": ADMIN_PHONE, "password": ADMIN_PASSWORD})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let admin = field(&body, "access_token")
        .as_str()
        .expect("token")
        .to_owned();
    let (status, body) = send(client.post(api("/auth/register")).json(
        &json!({"phone": "13911110001", "name": "Volunteer", "password": "volunteer password"}),
    ))
    .await;
    assert_eq!(status, 201, "{body}");
    let volunteer = field(&body, "user")["id"].as_str().expect("id").to_owned();

    // 200 debits of 3 against 450 points: at most 150 can succeed, whatever the crash does.
    let adjust = |key: String, amount: i64| {
        client
            .post(api("/ledger/adjustments"))
            .bearer_auth(&admin)
            .header("Idempotency-Key", key)
            .json(&json!({"volunteer_id": volunteer, "amount": amount, "reason": "crash test"}))
    };
    let (status, body) = send(adjust("grant".into(), 450)).await;
    assert_eq!(status, 201, "{body}");

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for i in 0..200 {
        let req = adjust(format!("debit-{i}"), -3);
        let tx = tx.clone();
        tokio::spawn(async move {
            let answer = match req.send().await {
                Ok(res) => {
                    let status = res.status().as_u16();
                    res.text().await.ok().map(|body| (status, body))
                }
                Err(_) => None,
            };
            let _ = tx.send((i, answer));
        });
    }
    drop(tx);
    let mut acknowledged: HashMap<usize, (u16, String)> = HashMap::new();
    let mut killed = false;
    while let Some((i, answer)) = rx.recv().await {
        if let Some(answer) = answer {
            acknowledged.insert(i, answer);
        }
        if !killed && acknowledged.len() >= 40 {
            server.kill().expect("SIGKILL the service");
            let _ = server.wait();
            killed = true;
        }
    }
    assert!(killed, "the service was killed mid-load");
    assert!(
        acknowledged.len() < 200,
        "some requests were cut off by the crash"
    );

    let (mut server, base) = served::serve(service(&database));
    let api = |path: &str| format!("{base}/api/v1{path}");
    let adjust = |key: String| {
        client
            .post(api("/ledger/adjustments"))
            .bearer_auth(&admin)
            .header("Idempotency-Key", key)
            .json(&json!({"volunteer_id": volunteer, "amount": -3, "reason": "crash test"}))
    };

    // L8: every acknowledged transaction is still there.
    for (status, body) in acknowledged.values() {
        if *status == 201 {
            let id = field(body, "id");
            let id = id.as_str().expect("id");
            let (status, _) = send(
                client
                    .get(api(&format!("/ledger/transactions/{id}")))
                    .bearer_auth(&admin),
            )
            .await;
            assert_eq!(
                status, 200,
                "acknowledged transaction {id} survived the crash"
            );
        }
    }

    // L5 across the crash: retrying every key answers an acknowledged one exactly as before and
    // acts at most once for the others.
    let mut succeeded = 0;
    for i in 0..200 {
        let (status, body) = send(adjust(format!("debit-{i}"))).await;
        assert!(status == 201 || status == 409, "retry {i}: {status} {body}");
        if let Some((first_status, first_body)) = acknowledged.get(&i) {
            assert_eq!(
                (status, &body),
                (*first_status, first_body),
                "key {i} replays its answer"
            );
        }
        if status == 201 {
            succeeded += 1;
        }
    }
    assert_eq!(succeeded, 150, "exactly as many debits as 450 points allow");

    let (status, body) = send(
        client
            .get(api(&format!("/volunteers/{volunteer}/balance")))
            .bearer_auth(&admin),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(field(&body, "balance"), 0);
    let (status, body) = send(client.get(api("/ledger/verify")).bearer_auth(&admin)).await;
    assert_eq!(status, 200);
    assert_eq!(field(&body, "ok"), true, "{body}");

    server.kill().expect("stop the service");
    let _ = server.wait();
    let out = service(&database)
        .arg("verify-ledger")
        .output()
        .expect("verify-ledger runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}
