//! Idempotency for the answers given before a command's work runs. API.md keeps every answer
//! below 500 under the request's key; `run_command` keeps those of the work itself, in the
//! work's own transaction. This middleware keeps the rest: a body that is not JSON or lacks a
//! field (400), another media type (415), a role that may not (403), a path that names nothing
//! (404). Such a refusal changed nothing, so it is kept in a write of its own after it was
//! given; a repeat is refused the same way again and then replays the kept bytes, and the key
//! used with another request is 422 `idempotency-key-reused`.
//!
//! Left out, as nothing can name them: a request without a valid key or without a signed-in
//! caller (keys belong to the caller); a body over 64 KiB (a 413, or an import file, whose
//! import keeps its own answers), which is not buffered here; and answers that ask for the same
//! request again later (429, the key's own; see [`kept`]).

use actix_web::body::{BoxBody, EitherBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::web::{Bytes, BytesMut, Data};
use actix_web::{Error, HttpMessage, ResponseError};
use futures_util::{stream, StreamExt};

use super::extract::{declared_length, idempotency_key, request_hash, respond, MAX_BODY};
use crate::auth::{current_user, CurrentUser};
use crate::db::idempotency::{self, KeyedRequest};
use crate::error::{AppError, Conflict};
use crate::messages::Lang;
use crate::startup::AppState;

/// Keeps a keyed POST's refusal that no command kept (see the module's notes).
pub async fn keep_refusals(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody, BoxBody>>, Error> {
    let Some((key, caller)) = keyed_caller(&req) else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    // The handler reads the body again from what is buffered here; it is the request's (the
    // hash), whichever extractor refuses it and whether or not it was read at all.
    let Some(body) = buffer(&mut req).await else {
        return Ok(next.call(req).await?.map_into_left_body());
    };
    let keyed = KeyedRequest {
        key,
        request_hash: request_hash(req.request(), &body),
        lang: Lang::of(req.headers()),
    };
    // The handler signs the caller in from what was read here.
    req.extensions_mut().insert(caller.clone());
    let res = next.call(req).await?;
    let refusal = match res
        .response()
        .error()
        .and_then(|e| e.as_error::<AppError>())
    {
        Some(e) if kept(e) => e,
        _ => return Ok(res.map_into_left_body()),
    };
    let Some(state) = res.request().app_data::<Data<AppState>>() else {
        return Ok(res.map_into_left_body());
    };
    let (db, now) = (state.db.clone(), state.clock.now_naive());
    let caller = caller.id.to_string();
    let (status, body) = refusal.to_body(keyed.lang);
    let answer = crate::db::blocking(move || {
        idempotency::keep_refusal(&db, &caller, &keyed, now, status.as_u16(), body)
    })
    .await;
    let response = match answer {
        Ok(answer) => respond(answer),
        Err(e) => actix_web::HttpResponse::from_error(e),
    };
    Ok(res.into_response(response).map_into_right_body())
}

/// The key and the signed-in caller of a POST whose answer is kept, if it is one.
fn keyed_caller(req: &ServiceRequest) -> Option<(String, CurrentUser)> {
    let path = req.path();
    if req.method() != Method::POST
        || !path.starts_with("/api/v1/")
        || path.starts_with("/api/v1/auth/")
    {
        return None;
    }
    let key = idempotency_key(req.request()).ok()??;
    let caller = current_user(req.request()).ok()?;
    Some((key, caller))
}

/// Whether this refusal is kept: below 500, except 401 (no caller to keep it for), 413 (a body
/// never read whole), 429 (it asks for the same request again after `Retry-After`, a header a
/// kept body could not replay) and the key's own answers (`idempotency-in-flight` asks for a
/// retry, and `idempotency-key-reused` means the key already holds another answer).
fn kept(refusal: &AppError) -> bool {
    let status = refusal.status_code();
    status.is_client_error()
        && !matches!(
            status,
            StatusCode::UNAUTHORIZED
                | StatusCode::PAYLOAD_TOO_LARGE
                | StatusCode::TOO_MANY_REQUESTS
        )
        && !matches!(
            refusal,
            AppError::IdempotencyKeyReused | AppError::Conflict(Conflict::IdempotencyInFlight)
        )
}

/// Reads the whole body and puts it back for the handler; `None` (with what was read put back in
/// front of the rest) when it is larger than a JSON body may be or cannot be read. So anyone
/// signed in makes the service hold at most 64 KiB here, as `Command` does; an import file over
/// that is read by its handler alone, and only its import's own refusals are kept.
async fn buffer(req: &mut ServiceRequest) -> Option<Bytes> {
    if declared_length(req.request()).is_some_and(|n| n > MAX_BODY) {
        return None;
    }
    let mut payload = req.take_payload();
    let mut bytes = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        match chunk {
            Ok(chunk) if bytes.len() + chunk.len() <= MAX_BODY => bytes.extend_from_slice(&chunk),
            unread => {
                let read = stream::iter([Ok(bytes.freeze()), unread]);
                req.set_payload(Payload::Stream {
                    payload: Box::pin(read.chain(payload)),
                });
                return None;
            }
        }
    }
    let bytes = bytes.freeze();
    req.set_payload(Payload::from(bytes.clone()));
    Some(bytes)
}
