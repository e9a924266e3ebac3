//! Request parsing shared by every handler: the JSON command body (size, media type, shape) with
//! its idempotency key, list parameters, the client's address, and how an answer becomes a
//! response.

use std::net::IpAddr;

use actix_web::http::{header, StatusCode};
use actix_web::{dev::Payload, web, FromRequest, HttpRequest, HttpResponse};
use futures_util::future::LocalBoxFuture;
use futures_util::StreamExt;
use ipnet::IpNet;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use sha2::{Digest, Sha256};
use utoipa::IntoParams;

use crate::auth::CurrentUser;
use crate::db::idempotency::{self, Answer, KeyedRequest};
use crate::db::DbConnection;
use crate::domain::page::{self, Cursor, Page};
use crate::domain::rule::Rule;
use crate::domain::text;
use crate::error::{AppError, FieldErrors, PROBLEM_JSON};
use crate::messages::Lang;
use crate::startup::AppState;

/// The largest request body (API.md: over 64 KiB is 413).
pub const MAX_BODY: usize = 64 * 1024;

/// The header that carries an idempotency key.
pub const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

/// The body of an action without fields: empty, or a JSON object (400 if it is not JSON).
#[derive(Deserialize)]
pub struct NoFields {}

/// A JSON request body with the request's idempotency key, if it came with one. An empty body
/// reads as `{}` (for actions without fields); a non-empty one must be `application/json`.
pub struct Command<T> {
    /// The parsed body.
    pub body: T,
    /// The key and request hash, when the request had an `Idempotency-Key`.
    pub keyed: Option<KeyedRequest>,
}

impl<T> Command<T> {
    /// 400 `idempotency-key-required` unless the request had a key.
    pub fn require_key(&self) -> Result<(), AppError> {
        match self.keyed {
            Some(_) => Ok(()),
            None => Err(AppError::IdempotencyKeyRequired),
        }
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for Command<T> {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Command<T>, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            // API.md: keys are ignored on `/auth/*` (they must not even be checked there).
            let key = if req.path().starts_with("/api/v1/auth/") {
                None
            } else {
                idempotency_key(&req)?
            };
            let bytes = read_body(&req, &mut payload, MAX_BODY).await?;
            let body: T = if bytes.iter().all(u8::is_ascii_whitespace) {
                parse_json(b"{}")?
            } else {
                if !is_json(&req) {
                    return Err(AppError::UnsupportedMediaType);
                }
                parse_json(&bytes)?
            };
            let keyed = key.map(|key| KeyedRequest {
                key,
                request_hash: request_hash(&req, &bytes),
                lang: Lang::of(req.headers()),
            });
            Ok(Command { body, keyed })
        })
    }
}

/// The request body, refused with 413 `payload-too-large` as soon as it is known to be over
/// `max` bytes (by its `Content-Length`, or while it arrives).
pub(crate) async fn read_body<S, E>(
    req: &HttpRequest,
    payload: &mut S,
    max: usize,
) -> Result<web::BytesMut, AppError>
where
    S: futures_util::Stream<Item = Result<web::Bytes, E>> + Unpin,
    E: std::fmt::Display,
{
    if declared_length(req).is_some_and(|n| n > max) {
        return Err(AppError::PayloadTooLarge);
    }
    let mut bytes = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| AppError::BadRequest(format!("reading the body failed: {e}")))?;
        if bytes.len() + chunk.len() > max {
            return Err(AppError::PayloadTooLarge);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// The body's length as its `Content-Length` declares it, if it does.
pub(crate) fn declared_length(req: &HttpRequest) -> Option<usize> {
    req.headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<usize>().ok())
}

fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    serde_json::from_slice(bytes).map_err(|e| {
        // serde_json files some shape errors under syntax (`null` where an enum goes), so the
        // body itself says which it is.
        let what = match serde_json::from_slice::<serde::de::IgnoredAny>(bytes) {
            Err(_) => "the body is not valid JSON",
            Ok(_) => "the body does not have the expected fields and types",
        };
        AppError::BadRequest(format!("{what}: {e}"))
    })
}

/// The media type of the body, lower-case, without parameters (`""` if none).
pub(crate) fn media_type(req: &HttpRequest) -> String {
    req.headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|ct| ct.split(';').next())
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// API.md: a body "that is not `application/json`" is 415, so JSON under another name
/// (`application/vnd.api+json`, `text/json`) is refused too; parameters (`; charset=utf-8`) are
/// not part of the name.
fn is_json(req: &HttpRequest) -> bool {
    media_type(req) == "application/json"
}

/// The `Idempotency-Key` header: 1–255 visible ASCII characters (else 400 `bad-request`).
pub(crate) fn idempotency_key(req: &HttpRequest) -> Result<Option<String>, AppError> {
    let Some(value) = req.headers().get(IDEMPOTENCY_KEY) else {
        return Ok(None);
    };
    let bad =
        || AppError::BadRequest("Idempotency-Key must be 1–255 visible ASCII characters".into());
    let s = value.to_str().map_err(|_| bad())?;
    if s.is_empty() || s.len() > 255 || !s.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(bad());
    }
    Ok(Some(s.to_owned()))
}

/// SHA-256 of method, path and body bytes: what makes two requests "the same".
pub(crate) fn request_hash(req: &HttpRequest, body: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(req.method().as_str().as_bytes());
    h.update(b"\n");
    h.update(req.path().as_bytes());
    // The query string is part of the request (`?dry_run=true` changes what an import does); a
    // request without one hashes as it always has, so keys kept before still match.
    if !req.query_string().is_empty() {
        h.update(b"?");
        h.update(req.query_string().as_bytes());
    }
    h.update(b"\n");
    h.update(body);
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Runs a command's work in one write transaction, at most once per idempotency key, and turns
/// its result into the response (`status` and the JSON of the result, or the problem).
pub async fn run_command<R, F>(
    state: &AppState,
    caller: &CurrentUser,
    keyed: Option<KeyedRequest>,
    status: StatusCode,
    work: F,
) -> Result<HttpResponse, AppError>
where
    R: Serialize,
    F: FnOnce(&mut DbConnection, chrono::NaiveDateTime) -> Result<R, AppError> + Send + 'static,
{
    let db = state.db.clone();
    let caller = caller.id.to_string();
    let now = state.clock.now_naive();
    let answer = crate::db::blocking(move || {
        idempotency::execute(&db, &caller, keyed.as_ref(), now, move |conn| {
            let result = work(conn, now)?;
            let body = serde_json::to_string(&result)
                .map_err(|e| AppError::Internal(anyhow::anyhow!("serialising failed: {e}")))?;
            Ok((status.as_u16(), body))
        })
    })
    .await?;
    Ok(respond(answer))
}

/// [`run_command`] for a command whose body is checked before its work. With a key, the check's
/// refusal (422, a 403 that depends on the body, ...) is an answer like any other (API.md: every
/// answer below 500 is kept): it is replayed, and the key reused with another body is 422
/// `idempotency-key-reused` whether or not that body is valid. Without a key it answers at once.
pub async fn run_checked<P, R, F>(
    state: &AppState,
    caller: &CurrentUser,
    keyed: Option<KeyedRequest>,
    status: StatusCode,
    checked: Result<P, AppError>,
    work: F,
) -> Result<HttpResponse, AppError>
where
    P: Send + 'static,
    R: Serialize,
    F: FnOnce(&mut DbConnection, chrono::NaiveDateTime, P) -> Result<R, AppError> + Send + 'static,
{
    let checked = match (checked, &keyed) {
        (Err(refusal), None) => return Err(refusal),
        (checked, _) => checked,
    };
    run_command(state, caller, keyed, status, move |conn, now| {
        work(conn, now, checked?)
    })
    .await
}

/// Reads a field that is present as `Some(..)`; `#[serde(default)]` makes an absent one `None`.
/// On an `Option<Option<T>>` field a PATCH tells "clear it" (`null`) from "leave it" (absent);
/// on an `Option<T>` field `null` is the wrong JSON type (400), as for a field no PATCH clears.
pub(crate) fn present<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    T::deserialize(d).map(Some)
}

/// A `?status=` read as one of the statuses `parse` knows (`None` if absent; 400 `bad-request`
/// for another value). Read in the handler, not by the query extractor, where the caller's
/// access depends on the database: its 403 comes first.
pub(crate) fn status_param<T>(
    raw: Option<&str>,
    parse: impl Fn(&str) -> Option<T>,
) -> Result<Option<T>, AppError> {
    raw.map(|s| parse(s).ok_or_else(|| AppError::BadRequest(format!("unknown status {s:?}"))))
        .transpose()
}

/// Reads a field of JSON integers (`i64`, or an `Option` of it) whatever their size: a JSON
/// integer is the right type for a points, amount or count field, so one beyond `i64` saturates
/// and the field's range rule refuses it (422), as it refuses `1000001`. A whole number written
/// as `5.0` or `5e2` is that integer (as JSON Schema's `integer` has it); a fraction, a string
/// or a boolean is the wrong JSON type (400).
pub(crate) fn int<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: IntField,
{
    T::Wire::deserialize(d).map(T::from_wire)
}

/// [`int`] for a field read with [`present`] (a PATCH's).
pub(crate) fn present_int<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: IntField,
{
    int(d).map(Some)
}

/// A field type [`int`] reads.
pub(crate) trait IntField: Sized {
    type Wire: DeserializeOwned;
    fn from_wire(wire: Self::Wire) -> Self;
}

impl IntField for i64 {
    type Wire = Saturating;
    fn from_wire(wire: Saturating) -> i64 {
        wire.0
    }
}

impl<T: IntField> IntField for Option<T> {
    type Wire = Option<T::Wire>;
    fn from_wire(wire: Self::Wire) -> Self {
        wire.map(T::from_wire)
    }
}

/// A JSON integer held as the nearest `i64`.
pub(crate) struct Saturating(i64);

impl<'de> Deserialize<'de> for Saturating {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Saturating, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Saturating;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an integer")
            }
            fn visit_i64<E>(self, v: i64) -> Result<Saturating, E> {
                Ok(Saturating(v))
            }
            fn visit_u64<E>(self, v: u64) -> Result<Saturating, E> {
                Ok(Saturating(i64::try_from(v).unwrap_or(i64::MAX)))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Saturating, E> {
                // A fraction (NaN and infinities have none that is 0) is not an integer.
                if v.fract() != 0.0 {
                    return Err(E::invalid_type(serde::de::Unexpected::Float(v), &self));
                }
                // `as` saturates, which is the point here.
                Ok(Saturating(v as i64))
            }
        }
        d.deserialize_any(Visitor)
    }
}

/// The header that marks a kept answer sent again (API.md).
pub const REPLAYED: &str = "Idempotent-Replayed";

/// The response for a kept or fresh answer.
pub fn respond(answer: Answer) -> HttpResponse {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = HttpResponse::build(status);
    if answer.replayed {
        response.insert_header((REPLAYED, "true"));
    }
    if answer.body.is_empty() {
        return response.finish();
    }
    let media = if status.is_client_error() || status.is_server_error() {
        PROBLEM_JSON
    } else {
        "application/json"
    };
    response.insert_header((header::CONTENT_TYPE, media));
    response.body(answer.body)
}

/// `?limit=&cursor=` of every list.
#[derive(Debug, Deserialize, IntoParams)]
pub struct PageParams {
    /// Page size, 1–100 (default 20). Read as text, so that a number out of range, however
    /// long, is 422 naming `limit` (and not a 400 for overflowing an integer).
    #[param(value_type = Option<i64>, minimum = 1, maximum = 100)]
    pub limit: Option<String>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

impl PageParams {
    /// The checked limit (422 outside 1–100) and the decoded cursor (400 if not one of ours).
    pub fn parse(&self) -> Result<(i64, Option<Cursor>), AppError> {
        let limit = limit_or(self.limit.as_deref(), page::DEFAULT_LIMIT)?;
        let cursor = match &self.cursor {
            None => None,
            Some(raw) => Some(
                Cursor::decode(raw)
                    .ok_or_else(|| AppError::BadRequest("the cursor is not valid".into()))?,
            ),
        };
        Ok((limit, cursor))
    }
}

/// A `200` page of a list: `?limit=&cursor=` are checked first (422 / 400), then `read` reads
/// up to `limit + 1` rows after the cursor, and `item` shapes each row of the page.
pub async fn read_page<Row, Item, F>(
    state: &AppState,
    page: &PageParams,
    read: F,
    cursor_of: impl Fn(&Row) -> Cursor,
    item: impl FnMut(Row) -> Item,
) -> Result<HttpResponse, AppError>
where
    Row: Send + 'static,
    Item: Serialize,
    F: FnOnce(&mut DbConnection, i64, Option<&Cursor>) -> Result<Vec<Row>, AppError>
        + Send
        + 'static,
{
    let (limit, cursor) = page.parse()?;
    let rows = state
        .db
        .read(move |conn| read(conn, limit, cursor.as_ref()))
        .await?;
    Ok(json(
        StatusCode::OK,
        &Page::from_rows(rows, limit, cursor_of, item),
    ))
}

/// The `name` (1–100 characters) and the optional `description` (read by `parse_description`)
/// of a new named entry (a partner, a team), or the 422 naming each that breaks its rule.
pub fn name_and_description<D>(
    name: &str,
    description: Option<&str>,
    parse_description: fn(&str) -> Result<D, Rule>,
) -> Result<(String, Option<D>), AppError> {
    let mut errs = FieldErrors::default();
    let name = errs.check("name", text::title(name));
    let description = errs.check_opt("description", description, parse_description);
    errs.finish_with(name.zip(description))
}

/// A `?limit=` of 1–100 with this default: 422 naming `limit` for a whole number out of range
/// (however many digits), 400 for one that is not a whole number at all.
pub fn limit_or(raw: Option<&str>, default: i64) -> Result<i64, AppError> {
    page::limit_or(raw, default).map_err(|bad| match bad {
        page::BadLimit::Out(rule) => AppError::invalid("limit", rule),
        page::BadLimit::NotANumber => AppError::BadRequest("limit must be a whole number".into()),
    })
}

/// The client's address, what per-address limits count. It is the TCP peer, unless the peer is one
/// of the `trusted` proxies: then it is the right-most address in `X-Forwarded-For` that is not
/// a trusted proxy (each proxy appends the address it saw, so only the entries right of the first
/// untrusted one were written by proxies; anything left of it is the client's say). An untrusted
/// peer's headers never change the answer.
pub fn client_address(req: &HttpRequest, trusted: &[IpNet]) -> String {
    let Some(peer) = req.peer_addr().map(|a| a.ip()) else {
        return "unknown".to_owned();
    };
    let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
    let mut client = peer;
    if is_trusted(&peer) {
        let forwarded = req
            .headers()
            .get_all("X-Forwarded-For")
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .collect::<Vec<_>>();
        for hop in forwarded.into_iter().rev() {
            // A hop that is not an address was not written by a proxy we trust: stop at the last
            // proxy that wrote one.
            let Ok(ip) = hop.parse::<IpAddr>() else {
                break;
            };
            client = ip;
            if !is_trusted(&ip) {
                break;
            }
        }
    }
    client.to_string()
}

/// A JSON 200/201 answer.
pub fn json<T: Serialize>(status: StatusCode, value: &T) -> HttpResponse {
    HttpResponse::build(status).json(value)
}
