//! Tests of authentication: register, login, tokens, refresh, logout, rate limits.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use futures_util::future::join_all;
use jsonwebtoken::{encode, Algorithm, EncodingKey, Header};
use reqwest::{header, Method};
use serde_json::{json, Value};

use crate::helpers::*;

/// The secret `spawn_app` gives the service (see helpers/mod.rs).
const TEST_SECRET: &str = "test-secret-test-secret-test-secret-0123456789";

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after the epoch")
        .as_secs()
}

/// The claims of a genuine-looking access token for `user_id` with `role`.
fn claims(user_id: &str, role: &str, iat: u64, exp: u64) -> Value {
    json!({
        "sub": user_id,
        "role": role,
        "iat": iat,
        "exp": exp,
        "jti": uuid::Uuid::new_v4().to_string(),
        "sid": uuid::Uuid::new_v4().to_string(),
    })
}

fn sign(claims: &Value, secret: &str) -> String {
    encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()),
    )
    .expect("signs")
}

fn b64(value: &Value) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).expect("json"))
}

async fn tokens_of(res: reqwest::Response) -> (String, String) {
    let auth = body(res).await;
    (
        auth["access_token"].as_str().expect("access").to_owned(),
        auth["refresh_token"].as_str().expect("refresh").to_owned(),
    )
}

#[actix_web::test]
async fn registering_answers_201_with_a_bearer_session_for_a_new_volunteer() {
    let app = spawn_app().await;
    let phone = unique_phone();
    let auth = app
        .register(&phone, "  李雷  ", "correct horse battery")
        .expect_json(StatusCode::CREATED)
        .await;
    assert_eq!(auth["token_type"], "Bearer");
    assert_eq!(auth["expires_in"], 900);
    assert!(auth["access_token"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(auth["refresh_token"]
        .as_str()
        .is_some_and(|t| !t.is_empty()));
    assert_eq!(auth["user"]["phone"], phone.as_str());
    assert_eq!(auth["user"]["name"], "李雷", "names are stored trimmed");
    assert_eq!(auth["user"]["role"], "volunteer");
    assert!(auth["user"]["created_at"]
        .as_str()
        .is_some_and(|t| t.ends_with('Z')));
    let token = auth["access_token"].as_str().expect("token");
    let me = app.get("/me", token).await;
    assert_eq!(me.status(), 200);
}

#[actix_web::test]
async fn an_unknown_role_field_in_a_registration_is_ignored_and_makes_a_volunteer() {
    let app = spawn_app().await;
    let body_ = json!({
        "phone": unique_phone(),
        "name": "Mallory",
        "password": "correct horse battery",
        "role": "admin",
        "id": "00000000-0000-0000-0000-000000000000",
    });
    let auth = app
        .request(Method::POST, "/auth/register", None, Some(&body_))
        .expect_json(StatusCode::CREATED)
        .await;
    assert_eq!(auth["user"]["role"], "volunteer");
    assert_ne!(auth["user"]["id"], "00000000-0000-0000-0000-000000000000");
    let token = auth["access_token"].as_str().expect("token");
    let res = app.get("/volunteers", token).await;
    assert_problem(res, 403, "forbidden").await;
    let me = body(app.get("/me", token).await).await;
    assert_eq!(me["role"], "volunteer");
}

#[actix_web::test]
async fn bodies_that_are_not_json_or_miss_fields_or_have_wrong_types_are_bad_requests() {
    let app = spawn_app().await;
    let path = "/auth/register";
    for raw in ["{\"phone\": ", "not json at all", "[1, 2"] {
        let json = [("Content-Type", "application/json")];
        let res = app.send_raw(Method::POST, path, &json, Some(raw)).await;
        assert_problem(res, 400, "bad-request").await;
    }
    // A required field missing.
    let res = app
        .post_anonymously(
            "/auth/register",
            &json!({"phone": unique_phone(), "name": "No Password"}),
        )
        .await;
    assert_problem(res, 400, "bad-request").await;
    // A field of the wrong JSON type.
    let res = app
        .post_anonymously(
            "/auth/register",
            &json!({"phone": 13800000000u64, "name": "N", "password": "correct horse"}),
        )
        .await;
    assert_problem(res, 400, "bad-request").await;
    // Not an object at all.
    let res = app.post_anonymously("/auth/login", &json!([1, 2, 3])).await;
    assert_problem(res, 400, "bad-request").await;
}

#[actix_web::test]
async fn a_body_that_is_not_application_json_is_415() {
    let app = spawn_app().await;
    let text = [("Content-Type", "text/plain")];
    let body = r#"{"phone":"13800000000","name":"N","password":"correct horse"}"#;
    let res = app
        .send_raw(Method::POST, "/auth/register", &text, Some(body))
        .await;
    assert_problem(res, 415, "unsupported-media-type").await;
    // No content type at all is not JSON either.
    let body = r#"{"phone":"13800000000","password":"correct horse"}"#;
    let res = app
        .send_raw(Method::POST, "/auth/login", &[], Some(body))
        .await;
    assert_problem(res, 415, "unsupported-media-type").await;
    // JSON under another name is not `application/json`; a parameter does not change the name.
    let body = format!(
        r#"{{"phone":"{}","name":"N","password":"correct horse"}}"#,
        unique_phone()
    );
    for other in [
        "application/vnd.api+json",
        "application/problem+json",
        "text/json",
    ] {
        let res = app
            .send_raw(
                Method::POST,
                "/auth/register",
                &[("Content-Type", other)],
                Some(&body),
            )
            .await;
        assert_problem(res, 415, "unsupported-media-type").await;
    }
    let res = app
        .send_raw(
            Method::POST,
            "/auth/register",
            &[("Content-Type", "Application/JSON; charset=utf-8")],
            Some(&body),
        )
        .await;
    assert_eq!(res.status(), 201);
}

#[actix_web::test]
async fn a_body_over_64_kib_is_413() {
    let app = spawn_app().await;
    let big = json!({
        "phone": unique_phone(),
        "name": "Big",
        "password": "x".repeat(70 * 1024),
    });
    let res = app
        .request(Method::POST, "/auth/register", None, Some(&big))
        .await;
    assert_problem(res, 413, "payload-too-large").await;
}

#[actix_web::test]
async fn rule_breaking_registration_values_are_422_naming_every_field() {
    let app = spawn_app().await;
    let res = app.register("2380000000", "   ", "short").await;
    let problem = assert_problem(res, 422, "validation-failed").await;
    let fields = fields_named(&problem);
    assert_eq!(fields, ["name", "password", "phone"]);
    assert!(problem["errors"][0]["message"].is_string());
    let res = app
        .register(&unique_phone(), &"名".repeat(51), &"p".repeat(129))
        .await;
    let problem = assert_problem(res, 422, "validation-failed").await;
    assert_eq!(problem["errors"].as_array().expect("errors").len(), 2);
}

#[actix_web::test]
async fn registering_a_taken_phone_is_409_phone_taken() {
    let app = spawn_app().await;
    let v = app.volunteer().await;
    let res = app
        .register(&v.phone, "Someone Else", "another password")
        .await;
    assert_problem(res, 409, "phone-taken").await;
}

#[actix_web::test]
async fn ten_concurrent_registrations_of_one_phone_give_exactly_one_account() {
    let app = spawn_app().await;
    let phone = unique_phone();
    let attempts = (0..10).map(|i| {
        let app = &app;
        let phone = phone.clone();
        async move {
            app.register(&phone, &format!("Racer {i}"), "correct horse battery")
                .await
        }
    });
    let mut created = 0;
    let mut taken = 0;
    for res in join_all(attempts).await {
        match res.status().as_u16() {
            201 => created += 1,
            409 => {
                assert_problem(res, 409, "phone-taken").await;
                taken += 1;
            }
            other => panic!(
                "unexpected {other}: {}",
                res.text().await.unwrap_or_default()
            ),
        }
    }
    assert_eq!((created, taken), (1, 9));
    let res = app.login(&phone, "correct horse battery").await;
    assert_eq!(res.status(), 200);
}

#[actix_web::test]
async fn a_wrong_password_and_an_unknown_phone_get_the_same_401() {
    let app = spawn_app().await;
    let v = app.volunteer().await;
    let wrong = app
        .login(&v.phone, "not the password")
        .expect_problem(401, "invalid-credentials")
        .await;
    let unknown = app
        .login("19999999999", "not the password")
        .expect_problem(401, "invalid-credentials")
        .await;
    assert_eq!(wrong, unknown);
    let res = app.login(&v.phone, &v.password).await;
    assert_eq!(res.status(), 200);
    assert_eq!(body(res).await["user"]["id"], v.id.as_str());
}

#[actix_web::test]
async fn a_missing_or_malformed_bearer_token_is_401_unauthenticated() {
    let app = spawn_app().await;
    let res = app.request(Method::GET, "/me", None, None).await;
    assert_problem(res, 401, "unauthenticated").await;
    for value in [
        "Bearer",
        "Bearer not.a.jwt",
        "Basic dXNlcjpwYXNz",
        "garbage",
    ] {
        let res = app
            .send_raw(Method::GET, "/me", &[("Authorization", value)], None)
            .await;
        assert_problem(res, 401, "unauthenticated").await;
    }
}

#[actix_web::test]
async fn forged_access_tokens_are_401_and_a_genuine_one_works() {
    let app = spawn_app().await;
    let v = app.volunteer().await;
    let now = now_secs();
    // A token made here with the service's own secret works: the forgeries below fail for the
    // one defect each has, not for how they are built.
    let genuine = sign(&claims(&v.id, "volunteer", now, now + 600), TEST_SECRET);
    assert_eq!(app.get("/me", &genuine).await.status(), 200);

    // Signed with the wrong key.
    let wrong_key = sign(
        &claims(&v.id, "admin", now, now + 600),
        "some-other-secret-some-other-secret-0123",
    );
    // `alg: none`, no signature.
    let header_none = b64(&json!({"alg": "none", "typ": "JWT"}));
    let alg_none = format!(
        "{header_none}.{}.",
        b64(&claims(&v.id, "admin", now, now + 600))
    );
    // A real token with its payload changed to admin, signature kept.
    let parts: Vec<&str> = v.token.split('.').collect();
    assert_eq!(parts.len(), 3);
    let mut payload: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("b64")).expect("json");
    assert_eq!(payload["role"], "volunteer");
    payload["role"] = json!("admin");
    let tampered = format!("{}.{}.{}", parts[0], b64(&payload), parts[2]);
    // Expired, though correctly signed.
    let expired = sign(
        &claims(&v.id, "volunteer", now - 3600, now - 60),
        TEST_SECRET,
    );
    // Correctly signed, but without `exp`.
    let mut no_exp = claims(&v.id, "volunteer", now, now + 600);
    no_exp.as_object_mut().expect("object").remove("exp");
    let no_exp = sign(&no_exp, TEST_SECRET);
    // HS512 with the right secret: the algorithm is pinned to HS256.
    let hs512 = encode(
        &Header::new(Algorithm::HS512),
        &claims(&v.id, "volunteer", now, now + 600),
        &EncodingKey::from_secret(TEST_SECRET.as_bytes()),
    )
    .expect("signs");

    for (what, token) in [
        ("wrong key", &wrong_key),
        ("alg none", &alg_none),
        ("tampered payload", &tampered),
        ("expired", &expired),
        ("no exp", &no_exp),
        ("HS512", &hs512),
    ] {
        let res = app.get("/me", token).await;
        assert_eq!(res.status(), 401, "{what}");
        assert_problem(res, 401, "unauthenticated").await;
        // Never an admin's power either.
        let res = app.get("/volunteers", token).await;
        assert_eq!(res.status(), 401, "{what} on the directory");
    }
}

#[actix_web::test]
async fn refreshing_rotates_and_the_old_refresh_token_stops_working() {
    let app = spawn_app().await;
    let v = app.volunteer().await;
    let auth = app
        .refresh(&v.refresh_token)
        .expect_json(StatusCode::OK)
        .await;
    assert_eq!(auth["user"]["id"], v.id.as_str());
    assert_eq!(auth["token_type"], "Bearer");
    let access = auth["access_token"].as_str().expect("access");
    let newer = auth["refresh_token"].as_str().expect("refresh");
    assert_ne!(newer, v.refresh_token);
    assert_eq!(app.get("/me", access).await.status(), 200);
    let res = app.refresh(newer).await;
    assert_eq!(res.status(), 200, "the new token works once");
    let res = app.refresh("never-issued-token").await;
    assert_problem(res, 401, "unauthenticated").await;
}

#[actix_web::test]
async fn presenting_a_used_refresh_token_revokes_its_whole_family() {
    let app = spawn_app().await;
    let v = app.volunteer().await;
    // Another sign-in of the same person: a different family, untouched by the reuse.
    let (_, other_session) = tokens_of(app.login(&v.phone, &v.password).await).await;
    let (_, second) = tokens_of(app.refresh(&v.refresh_token).await).await;
    let (_, newest) = tokens_of(app.refresh(&second).await).await;

    // The first token again: a reuse.
    let res = app.refresh(&v.refresh_token).await;
    assert_problem(res, 401, "unauthenticated").await;
    // The newest token of that family is revoked with it.
    let res = app.refresh(&newest).await;
    assert_problem(res, 401, "unauthenticated").await;
    let res = app.refresh(&second).await;
    assert_problem(res, 401, "unauthenticated").await;
    // The other sign-in still refreshes.
    let res = app.refresh(&other_session).await;
    assert_eq!(res.status(), 200);
}

#[actix_web::test]
async fn logout_ends_that_session_only() {
    let app = spawn_app().await;
    let v = app.volunteer().await;
    let (_, other_session) = tokens_of(app.login(&v.phone, &v.password).await).await;
    let res = app
        .post_anonymously("/auth/logout", &json!({"refresh_token": v.refresh_token}))
        .await;
    assert_problem(res, 401, "unauthenticated").await;
    let res = app
        .post(
            "/auth/logout",
            &v.token,
            &json!({"refresh_token": v.refresh_token}),
        )
        .await;
    assert_eq!(res.status(), 204);
    let res = app.refresh(&v.refresh_token).await;
    assert_problem(res, 401, "unauthenticated").await;
    let res = app.refresh(&other_session).await;
    assert_eq!(res.status(), 200);
}

#[actix_web::test]
async fn the_sixth_failed_login_for_a_phone_is_429_and_then_even_the_right_password_waits() {
    let app = spawn_app_with(&[("LOGIN_FAILURES_PER_PHONE", "5")]).await;
    let v = app.volunteer().await;
    let other = app.volunteer().await;
    for _ in 0..5 {
        let res = app.login(&v.phone, "wrong password").await;
        assert_problem(res, 401, "invalid-credentials").await;
    }
    let res = app.login(&v.phone, "wrong password").await;
    let retry_after: u64 = res
        .headers()
        .get(header::RETRY_AFTER)
        .expect("Retry-After")
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds");
    assert!((1..=15 * 60).contains(&retry_after), "{retry_after}");
    assert_problem(res, 429, "rate-limited").await;
    let res = app.login(&v.phone, &v.password).await;
    assert!(res.headers().contains_key(header::RETRY_AFTER));
    assert_problem(res, 429, "rate-limited").await;
    // Another phone is not limited.
    let res = app.login(&other.phone, &other.password).await;
    assert_eq!(res.status(), 200);
}

#[actix_web::test]
async fn login_attempts_per_client_address_are_limited() {
    let app = spawn_app_with(&[("LOGINS_PER_ADDRESS", "3")]).await;
    let v = app.volunteer().await;
    for _ in 0..3 {
        assert_eq!(app.login(&v.phone, &v.password).await.status(), 200);
    }
    let res = app.login(&v.phone, &v.password).await;
    assert!(res.headers().contains_key(header::RETRY_AFTER));
    assert_problem(res, 429, "rate-limited").await;
    let res = app.login(&unique_phone(), "whatever password").await;
    assert_problem(res, 429, "rate-limited").await;
}

#[actix_web::test]
async fn registrations_per_client_address_are_limited() {
    let app = spawn_app_with(&[("REGISTRATIONS_PER_ADDRESS", "2")]).await;
    app.volunteer().await;
    app.volunteer().await;
    let res = app
        .register(&unique_phone(), "Third", "correct horse battery")
        .await;
    assert!(res.headers().contains_key(header::RETRY_AFTER));
    assert_problem(res, 429, "rate-limited").await;
}

#[actix_web::test]
async fn a_refresh_token_past_its_lifetime_is_401() {
    let app = spawn_app_with(&[("REFRESH_TOKEN_TTL", "1h")]).await;
    let v = app.volunteer().await;
    let (_, live) = tokens_of(app.login(&v.phone, &v.password).await).await;
    app.clock.advance(chrono::TimeDelta::minutes(61));
    let res = app.refresh(&v.refresh_token).await;
    assert_problem(res, 401, "unauthenticated").await;
    let res = app.refresh(&live).await;
    assert_problem(res, 401, "unauthenticated").await;
}

#[actix_web::test]
async fn idempotency_keys_are_ignored_on_auth_endpoints() {
    let app = spawn_app().await;
    let password = "correct horse battery";
    let key = [("Idempotency-Key", "same-key")];
    // The same key for two different registrations: both act (no replay, no key reuse error).
    let mut phones = Vec::new();
    for name in ["First", "Second"] {
        let phone = unique_phone();
        let res = app
            .request_with(
                Method::POST,
                "/auth/register",
                None,
                Some(&json!({"phone": phone, "name": name, "password": password})),
                &key,
            )
            .await;
        assert_eq!(res.status(), 201, "{name}");
        assert!(replayed(&res).is_none());
        phones.push(phone);
    }
    // The same request with the same key acts again: a second login is a new session.
    let login = json!({"phone": phones[0], "password": password});
    let mut sessions = Vec::new();
    for _ in 0..2 {
        let res = app
            .request_with(Method::POST, "/auth/login", None, Some(&login), &key)
            .await;
        assert_eq!(res.status(), 200);
        assert!(replayed(&res).is_none());
        sessions.push(body(res).await["refresh_token"].clone());
    }
    assert_ne!(sessions[0], sessions[1]);
    // Even a key that would be malformed elsewhere changes nothing here.
    let long = "k".repeat(300);
    let res = app
        .request_with(
            Method::POST,
            "/auth/login",
            None,
            Some(&login),
            &[("Idempotency-Key", &long)],
        )
        .await;
    assert_eq!(res.status(), 200);
}

#[actix_web::test]
async fn the_bearer_scheme_is_case_insensitive() {
    let app = spawn_app().await;
    let v = app.volunteer().await;
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let bearer = format!("{scheme} {}", v.token);
        let res = app
            .send_raw(Method::GET, "/me", &[("Authorization", &bearer)], None)
            .await;
        assert_eq!(res.status(), 200, "{scheme}");
    }
}

#[actix_web::test]
async fn a_chunked_body_over_64_kib_without_a_length_is_413_too() {
    use std::io::{Read, Write};
    let app = spawn_app().await;
    let host = app.address.trim_start_matches("http://").to_owned();
    let answer = actix_web::web::block(move || {
        let mut stream = std::net::TcpStream::connect(&host).expect("connects");
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .expect("timeout");
        let head = format!(
            "POST /api/v1/auth/register HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n\
             Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(head.as_bytes()).expect("head");
        let chunk = format!("{{\"pad\": \"{}", "x".repeat(8 * 1024));
        // Writes may fail once the server has answered and closed: that is fine.
        for _ in 0..10 {
            let piece = format!("{:x}\r\n{chunk}\r\n", chunk.len());
            if stream.write_all(piece.as_bytes()).is_err() {
                break;
            }
        }
        let _ = stream.write_all(b"0\r\n\r\n");
        let mut answer = String::new();
        let _ = stream.read_to_string(&mut answer);
        answer
    })
    .await
    .expect("the blocking task ends");
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("payload-too-large"), "{answer}");
    assert!(
        answer
            .to_ascii_lowercase()
            .contains("content-type: application/problem+json"),
        "{answer}"
    );
}

#[actix_web::test]
async fn concurrent_wrong_passwords_for_one_phone_cannot_slip_past_the_limit() {
    let app = spawn_app_with(&[("LOGIN_FAILURES_PER_PHONE", "5")]).await;
    let v = app.volunteer().await;
    let guesses = (0..20).map(|i| {
        let app = &app;
        let phone = v.phone.clone();
        async move { app.login(&phone, &format!("guess number {i}")).await }
    });
    let statuses: Vec<u16> = futures_util::future::join_all(guesses)
        .await
        .iter()
        .map(|r| r.status().as_u16())
        .collect();
    let checked = statuses.iter().filter(|s| **s == 401).count();
    let limited = statuses.iter().filter(|s| **s == 429).count();
    assert_eq!(checked + limited, 20, "{statuses:?}");
    assert!(checked <= 5, "at most 5 guesses were checked: {statuses:?}");
}
