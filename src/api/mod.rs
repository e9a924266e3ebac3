//! The HTTP edge: the whole route table, from which the OpenAPI document is collected (see
//! [`openapi`]). Handlers are thin: parse into domain values, one call into `db::`, map rows to
//! response types.
//!
//! Each path and method is written once, in the handler's `#[get("...")]`-style attribute;
//! `#[utoipa::path]` above it documents that same route, and `utoipa-actix-web` collects the
//! document from the route table below, so the two cannot drift.

/// `resource![a, b]`: the handlers `a` and `b`, which share one path, as one [`Resource`].
macro_rules! resource {
    ($first:path $(, $more:path)* $(,)?) => {
        $crate::api::Resource::of($first)$(.and($more))*
    };
}

pub mod activities;
pub mod activity_logs;
pub mod auth;
pub mod check_in;
pub mod exports;
pub mod extract;
pub mod fund;
pub mod idempotency;
pub mod import;
pub mod ledger;
pub mod openapi;
pub mod ops;
pub mod partners;
pub mod people;
pub mod reports;
pub mod rewards;
pub mod schema;
pub mod teams;
pub mod wishes;

use actix_web::dev::{AppService, HttpServiceFactory};
use actix_web::http::header::{self, HeaderValue};
use actix_web::{web, HttpResponse};
use utoipa::openapi::path::{HttpMethod, Paths};
use utoipa::openapi::{RefOr, Schema};
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_actix_web::{scope, OpenApiFactory};

use crate::error::AppError;

/// Every route. Handlers that share a path are mounted as one [`Resource`], so a known path
/// with another method is a 405 naming the path's methods in `Allow`.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(resource![ops::healthz])
        .service(resource![ops::readyz])
        .service(resource![ops::metrics]);
    cfg.service(
        scope("/api/v1")
            // The same probes inside the base path; documented once, at the root.
            .map(|api| {
                api.service(resource![ops::healthz])
                    .service(resource![ops::readyz])
            })
            .service(resource![auth::register])
            .service(resource![auth::login])
            .service(resource![auth::refresh])
            .service(resource![auth::logout])
            .service(resource![people::me])
            .service(resource![people::change_password])
            .service(resource![ledger::my_balance])
            .service(resource![ledger::my_ledger])
            .service(resource![people::list, people::create])
            // Before `/volunteers/{id}`, which would otherwise take the path (and answer 405).
            .configure(import::routes)
            .service(resource![people::get])
            .service(resource![people::set_role])
            .service(resource![people::reset_password])
            .service(resource![ledger::volunteer_balance])
            .service(resource![ledger::statement])
            .service(resource![ledger::adjust])
            .service(resource![ledger::transaction])
            .service(resource![ledger::verify])
            .configure(teams::routes)
            .configure(activities::routes)
            .configure(rewards::routes)
            .configure(fund::routes)
            .configure(wishes::routes)
            .configure(partners::routes)
            .configure(reports::routes)
            .configure(exports::routes),
    );
}

type Registration = Box<dyn FnOnce(&mut AppService)>;

/// Handlers of one path (each declared with `#[get("/path")]` and the like, and documented by
/// `#[utoipa::path]`), registered together and followed by a catch-all for the path's other
/// methods: actix skips a handler whose method does not match and would otherwise fall through
/// to a later path (`GET /redemptions/fulfil` to `/redemptions/{id}`) or to the 404.
pub struct Resource {
    path: String,
    methods: Vec<&'static str>,
    handlers: Vec<Registration>,
    paths: Paths,
    schemas: Vec<(String, RefOr<Schema>)>,
}

impl Resource {
    /// A resource of one handler.
    pub fn of<H>(handler: H) -> Resource
    where
        H: HttpServiceFactory + OpenApiFactory + utoipa::Path + 'static,
    {
        Resource {
            path: H::path(),
            methods: Vec::new(),
            handlers: Vec::new(),
            paths: Paths::new(),
            schemas: Vec::new(),
        }
        .and(handler)
    }

    /// Adds a handler of the same path.
    pub fn and<H>(mut self, handler: H) -> Resource
    where
        H: HttpServiceFactory + OpenApiFactory + utoipa::Path + 'static,
    {
        assert_eq!(H::path(), self.path, "one resource, one path");
        self.methods.extend(H::methods().iter().map(method_name));
        self.paths.merge(handler.paths());
        handler.schemas(&mut self.schemas);
        self.handlers
            .push(Box::new(move |config| handler.register(config)));
        self
    }
}

impl HttpServiceFactory for Resource {
    fn register(self, config: &mut AppService) {
        for handler in self.handlers {
            handler(config);
        }
        let allow = self.methods.join(", ");
        web::resource(self.path)
            .default_service(web::to(move || {
                let answer = method_not_allowed(&allow);
                async move { answer }
            }))
            .register(config);
    }
}

/// 405 `method-not-allowed`, with `Allow` naming the methods the path takes (RFC 9110 15.5.6).
/// The answer carries its error, so `messages::localise` can word it in the request's language.
fn method_not_allowed(allow: &str) -> HttpResponse {
    let mut answer = HttpResponse::from_error(AppError::MethodNotAllowed);
    if let Ok(value) = HeaderValue::from_str(allow) {
        answer.headers_mut().insert(header::ALLOW, value);
    }
    answer
}

impl OpenApiFactory for Resource {
    fn paths(&self) -> Paths {
        self.paths.clone()
    }

    fn schemas(&self, schemas: &mut Vec<(String, RefOr<Schema>)>) {
        schemas.extend(self.schemas.iter().cloned());
    }
}

fn method_name(method: &HttpMethod) -> &'static str {
    match method {
        HttpMethod::Get => "GET",
        HttpMethod::Post => "POST",
        HttpMethod::Put => "PUT",
        HttpMethod::Delete => "DELETE",
        HttpMethod::Options => "OPTIONS",
        HttpMethod::Head => "HEAD",
        HttpMethod::Patch => "PATCH",
        HttpMethod::Trace => "TRACE",
    }
}
