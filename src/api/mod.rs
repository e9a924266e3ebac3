//! The HTTP edge: the whole route table and the OpenAPI document. Handlers are thin: parse into
//! domain values, one call into `db::`, map rows to response types.

pub mod activities;
pub mod activity_logs;
pub mod auth;
pub mod check_in;
pub mod exports;
pub mod extract;
pub mod import;
pub mod ledger;
pub mod ops;
pub mod people;
pub mod reports;
pub mod rewards;
pub mod teams;

use actix_web::web;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The served OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(title = "volunteer-points", description = "Volunteer hours → points → rewards. See API.md."),
    paths(
        ops::healthz, ops::readyz,
        auth::register, auth::login, auth::refresh, auth::logout,
        people::me, people::change_password, people::list, people::create, people::get,
        people::set_role, people::reset_password,
        ledger::my_balance, ledger::my_ledger, ledger::balance, ledger::statement,
        ledger::adjust, ledger::transaction, ledger::verify,
    ),
    components(schemas(crate::error::Problem, crate::error::FieldError)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

/// The whole OpenAPI document: the core paths above and each resource module's own.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let mut doc = ApiDoc::openapi();
    doc.merge(teams::Doc::openapi());
    doc.merge(activities::Doc::openapi());
    doc.merge(rewards::Doc::openapi());
    doc.merge(reports::Doc::openapi());
    doc.merge(exports::Doc::openapi());
    doc.merge(import::Doc::openapi());
    doc
}

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// Every route. A path with several methods is one resource, so a wrong method is a 405.
pub fn routes(cfg: &mut web::ServiceConfig) {
    use web::{get, post, put, resource};
    cfg.service(resource("/healthz").route(get().to(ops::healthz)))
        .service(resource("/readyz").route(get().to(ops::readyz)));
    cfg.service(
        web::scope("/api/v1")
            .service(resource("/healthz").route(get().to(ops::healthz)))
            .service(resource("/readyz").route(get().to(ops::readyz)))
            .service(resource("/auth/register").route(post().to(auth::register)))
            .service(resource("/auth/login").route(post().to(auth::login)))
            .service(resource("/auth/refresh").route(post().to(auth::refresh)))
            .service(resource("/auth/logout").route(post().to(auth::logout)))
            .service(resource("/me").route(get().to(people::me)))
            .service(resource("/me/password").route(put().to(people::change_password)))
            .service(resource("/me/balance").route(get().to(ledger::my_balance)))
            .service(resource("/me/ledger").route(get().to(ledger::my_ledger)))
            .service(
                resource("/volunteers")
                    .route(get().to(people::list))
                    .route(post().to(people::create)),
            )
            // Before `/volunteers/{id}`, which would otherwise take the path (and answer 405).
            .configure(import::routes)
            .service(resource("/volunteers/{id}").route(get().to(people::get)))
            .service(resource("/volunteers/{id}/role").route(put().to(people::set_role)))
            .service(resource("/volunteers/{id}/password").route(put().to(people::reset_password)))
            .service(resource("/volunteers/{id}/balance").route(get().to(ledger::balance)))
            .service(resource("/volunteers/{id}/ledger").route(get().to(ledger::statement)))
            .service(resource("/ledger/adjustments").route(post().to(ledger::adjust)))
            .service(resource("/ledger/transactions/{id}").route(get().to(ledger::transaction)))
            .service(resource("/ledger/verify").route(get().to(ledger::verify)))
            .configure(teams::routes)
            .configure(activities::routes)
            .configure(rewards::routes)
            .configure(reports::routes)
            .configure(exports::routes),
    );
}
