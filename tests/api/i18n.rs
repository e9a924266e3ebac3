//! `Accept-Language`: Chinese titles, details and field messages for `zh`/`zh-CN` (q-values
//! honoured), English by default; `code` and `type` never change with the language.

use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::{spawn_app, TestApp};

async fn register(app: &TestApp, body: &Value, language: Option<&str>) -> (StatusCode, Value) {
    let mut req = reqwest::Client::new()
        .post(format!("{}/api/v1/auth/register", app.address))
        .json(body);
    if let Some(language) = language {
        req = req.header("Accept-Language", language);
    }
    let res = req.send().await.expect("register answers");
    let status = res.status();
    (status, res.json().await.expect("a JSON body"))
}

fn someone(phone: &str) -> Value {
    json!({"phone": phone, "name": "小明", "password": "a long password"})
}

#[actix_web::test]
async fn a_conflict_in_chinese_keeps_its_code_and_type() {
    let app = spawn_app().await;
    let (status, _) = register(&app, &someone("13600000001"), None).await;
    assert_eq!(status, StatusCode::CREATED);

    let (status, english) = register(&app, &someone("13600000001"), None).await;
    assert_eq!(status, StatusCode::CONFLICT);
    let (status, chinese) = register(&app, &someone("13600000001"), Some("zh-CN")).await;
    assert_eq!(status, StatusCode::CONFLICT);

    assert_eq!(english["code"], "phone-taken");
    assert_eq!(chinese["code"], english["code"]);
    assert_eq!(chinese["type"], english["type"]);
    assert_eq!(
        english["detail"],
        "an account with this phone already exists"
    );
    assert_eq!(chinese["detail"], "该手机号已注册");
    assert_eq!(chinese["title"], "与当前状态冲突");
}

#[actix_web::test]
async fn a_validation_failure_in_chinese_names_each_field_in_chinese() {
    let app = spawn_app().await;
    let bad = json!({"phone": "12345", "name": "小明", "password": "short"});
    let (status, chinese) = register(&app, &bad, Some("zh")).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(chinese["code"], "validation-failed");
    assert_eq!(chinese["type"], "/problems/validation-failed");
    assert_eq!(chinese["title"], "校验未通过");
    assert_eq!(chinese["detail"], "部分字段不符合规则");
    let messages: Vec<(&str, &str)> = chinese["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap_or(""),
                e["message"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert!(
        messages.contains(&("phone", "须为以 1 开头的 11 位数字")),
        "{messages:?}"
    );
    assert!(
        messages.contains(&("password", "至少 8 个字符")),
        "{messages:?}"
    );

    let (_, english) = register(&app, &bad, None).await;
    assert_eq!(english["code"], chinese["code"]);
    assert_eq!(english["errors"][0]["field"], chinese["errors"][0]["field"]);
    assert!(english["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .any(|e| e["message"] == "must be 11 digits starting with 1"));
}

#[actix_web::test]
async fn q_values_choose_the_language_and_english_stays_the_default() {
    let app = spawn_app().await;
    let bad = json!({"phone": "1", "name": "x", "password": "a long password"});
    for (header, detail) in [
        ("en;q=0.9, zh;q=0.8", "some fields break a rule"),
        ("en;q=0.5, zh-CN;q=0.8", "部分字段不符合规则"),
        ("fr, de", "some fields break a rule"),
        ("fr, zh-Hans;q=0.3", "部分字段不符合规则"),
    ] {
        let (_, body) = register(&app, &bad, Some(header)).await;
        assert_eq!(body["detail"], detail, "Accept-Language: {header}");
    }
}

/// The problem a GET of `path` answers in `language`.
async fn problem_of(app: &TestApp, path: &str, language: &str) -> Value {
    ask(app, reqwest::Method::GET, path, None, "", language).await
}

/// The JSON answer to `method` of `path` with `body` (sent as it is) in `language`, by `token`
/// when there is one.
async fn ask(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    token: Option<&str>,
    body: &str,
    language: &str,
) -> Value {
    let mut req = reqwest::Client::new()
        .request(method, format!("{}{path}", app.address))
        .header("Accept-Language", language)
        .header("Content-Type", "application/json")
        .body(body.to_owned());
    if let Some(token) = token {
        req = req.bearer_auth(token);
    }
    req.send()
        .await
        .expect("answers")
        .json()
        .await
        .expect("JSON")
}

#[actix_web::test]
async fn actix_own_refusals_and_auth_failures_speak_chinese_too() {
    let app = spawn_app().await;
    let unknown = problem_of(&app, "/api/v1/no-such-thing", "zh-CN").await;
    assert_eq!(unknown["code"], "not-found");
    assert_eq!(unknown["title"], "未找到");
    assert_eq!(unknown["detail"], "未找到该接口");

    let wrong_method = problem_of(&app, "/api/v1/auth/login", "zh").await;
    assert_eq!(wrong_method["code"], "method-not-allowed");
    assert_eq!(wrong_method["detail"], "该路径不支持此请求方法");

    let anonymous = problem_of(&app, "/api/v1/me", "zh").await;
    assert_eq!(anonymous["code"], "unauthenticated");
    assert_eq!(anonymous["detail"], "请先登录：缺少 Bearer 令牌");
}

#[actix_web::test]
async fn a_kept_refusal_replays_its_first_bytes_whatever_the_language_of_the_repeat() {
    let app = spawn_app().await;
    let (_, auth) = register(&app, &someone("13600000002"), None).await;
    let token = auth["access_token"].as_str().expect("a token");
    let body = json!({"reward_id": uuid::Uuid::new_v4().to_string()});
    let redeem = |language: &'static str| {
        reqwest::Client::new()
            .post(format!("{}/api/v1/redemptions", app.address))
            .bearer_auth(token)
            .header("Idempotency-Key", "i18n-replay")
            .header("Accept-Language", language)
            .json(&body)
            .send()
    };
    let first = redeem("zh-CN").await.expect("answers");
    let status = first.status();
    let first = first.bytes().await.expect("a body");
    let problem: Value = serde_json::from_slice(&first).expect("a problem");
    assert_eq!(status, StatusCode::NOT_FOUND, "{problem}");
    assert_eq!(problem["detail"], "未找到该奖品");

    let repeat = redeem("en").await.expect("answers");
    assert_eq!(repeat.status(), StatusCode::NOT_FOUND);
    assert_eq!(repeat.headers()["idempotent-replayed"], "true");
    assert_eq!(repeat.bytes().await.expect("a body"), first);
}

#[actix_web::test]
async fn a_request_that_cannot_be_read_is_told_in_chinese_without_the_parsers_english() {
    use reqwest::Method;
    let app = spawn_app().await;
    let staff = app.staff().await;
    let token = Some(staff.token.as_str());
    for (method, path, body, detail) in [
        (
            Method::POST,
            "/auth/login",
            "{not json",
            "请求体不是有效的 JSON",
        ),
        (
            Method::POST,
            "/auth/login",
            r#"{"phone": "13800000001"}"#,
            "请求体缺少必填字段，或有字段的类型不对",
        ),
        (Method::GET, "/wishes?status=x", "", "查询参数无法解析"),
        (Method::GET, "/activities?limit=abc", "", "limit 须为整数"),
        (Method::GET, "/activity-logs?status=x", "", "未知的状态"),
    ] {
        let path = format!("/api/v1{path}");
        let problem = ask(&app, method, &path, token, body, "zh-CN").await;
        assert_eq!(problem["code"], "bad-request", "{path}");
        assert_eq!(problem["detail"], detail, "{path}");
    }
    // A bulk approval's failures are told in the request's language too.
    let unknown = uuid::Uuid::new_v4().to_string();
    let answer = ask(
        &app,
        Method::POST,
        "/api/v1/activity-logs/bulk-approve",
        token,
        &json!({ "ids": [unknown] }).to_string(),
        "zh-CN",
    )
    .await;
    assert_eq!(answer["failed"][0]["code"], "not-found");
    assert_eq!(answer["failed"][0]["detail"], "未找到该服务记录");
}
