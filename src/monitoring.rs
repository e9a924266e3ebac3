//! What an operator watches: the Prometheus recorder behind `GET /metrics`, the middleware that
//! counts and times every request by route pattern, and request ids (a log span field and the
//! `X-Request-Id` answer header).
//!
//! Metric names (counters end in `_total`, times in `_seconds`):
//! - `http_requests_total{route, method, status}`, `http_request_duration_seconds{route,
//!   method}` and `http_requests_in_flight`: `route` is the matched pattern
//!   (`/api/v1/teams/{id}`), never the raw path, and `unmatched` for unknown paths, so ids never
//!   become labels;
//! - `db_pool_connections`, `db_pool_idle_connections`, `db_pool_max_connections` (read when the
//!   page is rendered), `db_pool_wait_seconds` and `db_pool_timeouts_total`;
//! - `ledger_transactions_total{kind}`: counted once the transaction that posted it commits;
//! - `idempotency_replays_total` and `rate_limit_refusals_total`.

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use tracing::Span;
use tracing_actix_web::{DefaultRootSpanBuilder, RootSpanBuilder};
use uuid::Uuid;

/// Latency buckets (seconds) for every `_seconds` histogram: 1 ms to 10 s.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// The answer header (and accepted request header) carrying the request id.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The process's metrics recorder, installed on first use. Every app in one process (the tests
/// start many) shares it: metrics are process-wide, like the process they describe.
fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        // Refused only for an empty bucket list, which BUCKETS is not.
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), BUCKETS)
            .unwrap_or_else(|_| PrometheusBuilder::new())
            .build_recorder();
        let handle = recorder.handle();
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed; /metrics stays empty");
        }
        // Histogram samples pile up until drained: drain them even if nobody scrapes.
        let upkeep = handle.clone();
        std::thread::spawn(move || loop {
            std::thread::sleep(Duration::from_secs(5));
            upkeep.run_upkeep();
        });
        handle
    })
}

/// Installs the recorder now, so metrics recorded before the first scrape are kept.
pub fn init() {
    handle();
}

/// The page in Prometheus text format.
pub fn render() -> String {
    handle().render()
}

/// Counts and times the request by its route pattern, method and status, and answers with the
/// request id.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let _in_flight = InFlight::enter();
    let method = req.method().as_str().to_owned();
    let id = req.extensions().get::<RequestId>().map(|id| id.0.clone());
    let mut res = next.call(req).await?;
    let route = res
        .request()
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let status = res.status().as_u16().to_string();
    metrics::counter!("http_requests_total", "route" => route.clone(), "method" => method.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("http_request_duration_seconds", "route" => route, "method" => method)
        .record(started.elapsed().as_secs_f64());
    if let Some(value) = id.and_then(|id| HeaderValue::from_str(&id).ok()) {
        res.headers_mut().insert(REQUEST_ID, value);
    }
    Ok(res)
}

/// Counts a request in `http_requests_in_flight` while it lives, also if it is dropped midway.
struct InFlight;

impl InFlight {
    fn enter() -> InFlight {
        metrics::gauge!("http_requests_in_flight").increment(1.0);
        InFlight
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        metrics::gauge!("http_requests_in_flight").decrement(1.0);
    }
}

/// A request's id: the caller's `X-Request-Id` when it is a sane one (1–64 characters of
/// letters, digits, `-`, `_`, `.`; what nginx's `$request_id` or a client's UUID look like),
/// else a new UUID.
#[derive(Clone, Debug)]
pub struct RequestId(pub String);

impl RequestId {
    fn of(req: &ServiceRequest) -> RequestId {
        let sane = req
            .headers()
            .get(REQUEST_ID)
            .and_then(|v| v.to_str().ok())
            .filter(|s| {
                (1..=64).contains(&s.len())
                    && s.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            });
        RequestId(sane.map_or_else(|| Uuid::new_v4().to_string(), str::to_owned))
    }
}

/// The root span of every request: tracing-actix-web's fields, with our [`RequestId`] as
/// `request_id`, so every log line of the request carries it.
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let id = RequestId::of(request);
        let span = tracing::info_span!(
            "HTTP request",
            http.method = %request.method(),
            http.target = %request.path(),
            request_id = %id.0,
            http.status_code = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            exception.message = tracing::field::Empty,
            exception.details = tracing::field::Empty,
        );
        request.extensions_mut().insert(id);
        span
    }

    fn on_request_end<B: MessageBody>(span: Span, outcome: &Result<ServiceResponse<B>, Error>) {
        DefaultRootSpanBuilder::on_request_end(span, outcome);
    }
}
