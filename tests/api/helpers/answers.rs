//! What a test expects of an answer: a status, a problem, a JSON body, a replay header, the
//! items of a page.

use reqwest::header::{AsHeaderName, CONTENT_TYPE};
use reqwest::{Response, StatusCode};
use serde_json::Value;

/// The `field` of each item of a JSON list (`each(&page["items"], "id")`).
pub fn each(list: &Value, field: &str) -> Vec<String> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|item| item[field].as_str().expect("a string field").to_owned())
        .collect()
}

/// The fields a 422 problem names, sorted.
pub fn fields_named(problem: &Value) -> Vec<String> {
    let mut fields = each(&problem["errors"], "field");
    fields.sort_unstable();
    fields
}

/// The header `name` of an answer as text, or "" when it has none (or none in ASCII).
pub fn header(res: &Response, name: impl AsHeaderName) -> &str {
    res.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
}

/// The `Idempotent-Replayed` header of an answer, if it has one.
pub fn replayed(res: &Response) -> Option<&str> {
    res.headers()
        .get("Idempotent-Replayed")
        .and_then(|v| v.to_str().ok())
}

/// Reads a JSON body.
pub async fn body(res: Response) -> Value {
    res.json().await.expect("a JSON body")
}

/// What a test expects of a request it sends: `app.redeem(&v, &r).expect_problem(409, "out-of-stock")`.
#[allow(async_fn_in_trait)]
pub trait Answer {
    /// Sends the request and asserts a problem+json answer with `status` and `code`; returns the
    /// body.
    async fn expect_problem(self, status: u16, code: &str) -> Value;

    /// Sends the request and asserts the answer's `status` (showing the body when it is not);
    /// returns the JSON body.
    async fn expect_json(self, status: StatusCode) -> Value;

    /// Sends the request and asserts the answer's `status` (showing the body when it is not).
    async fn expect_status(self, status: StatusCode);
}

impl<F: std::future::Future<Output = Response>> Answer for F {
    async fn expect_problem(self, status: u16, code: &str) -> Value {
        assert_problem(self.await, status, code).await
    }

    async fn expect_json(self, status: StatusCode) -> Value {
        body(with_status(self.await, status).await).await
    }

    async fn expect_status(self, status: StatusCode) {
        with_status(self.await, status).await;
    }
}

/// `res`, asserted to have `status`; a failure shows the body that came instead.
async fn with_status(res: Response, status: StatusCode) -> Response {
    if res.status() != status {
        let got = res.status();
        let text = res.text().await.unwrap_or_default();
        panic!("expected {status}, got {got}: {text}");
    }
    res
}

/// Asserts a problem+json answer with `status` and `code`; returns the body.
pub async fn assert_problem(res: Response, status: u16, code: &str) -> Value {
    assert_eq!(res.status().as_u16(), status, "status");
    let ct = header(&res, CONTENT_TYPE).to_owned();
    let body: Value = res.json().await.expect("a problem body");
    assert_eq!(ct, "application/problem+json", "content type of {body}");
    assert_eq!(body["code"], code, "problem {body}");
    assert_eq!(body["status"], status);
    assert_eq!(body["type"], format!("/problems/{code}"));
    body
}

/// The seconds an answer's `Retry-After` asks the client to wait.
pub fn retry_after(res: &Response) -> u64 {
    res.headers()
        .get(reqwest::header::RETRY_AFTER)
        .expect("Retry-After")
        .to_str()
        .expect("ascii")
        .parse()
        .expect("seconds")
}
