//! The served OpenAPI document. Its paths are collected from the route table (each handler's
//! `#[utoipa::path]`, which names the statuses and problem codes of that operation); what every
//! operation shares is added here once, from what the operation takes: the bearer token (unless
//! the handler marks itself public with `security(())`) and 401 where it needs one, 404 where its path names a resource, 400/413/415/422 where it reads a body,
//! `Idempotency-Key` and its answers on every POST outside `/auth`, 500/503 everywhere. Every
//! problem answer is `application/problem+json` (with `Retry-After` on 429 and 503).

use std::collections::BTreeMap;

use actix_web::web;
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{Ref, RefOr, Required};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::AppExt;

use crate::error::PROBLEM_JSON;

/// What the document says besides its paths, which the route table gives.
#[derive(OpenApi)]
#[openapi(
    info(title = "volunteer-points", description = "Volunteer hours → points → rewards."),
    components(schemas(crate::error::Problem, crate::error::FieldError)),
    modifiers(&BearerAuth)
)]
pub struct ApiDoc;

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

/// Where the document is served.
pub const DOCUMENT_PATH: &str = "/api-docs/openapi.json";

/// The served document as JSON: collected from the route table's handlers and completed, once
/// for every worker. (Handed to Swagger UI instead, each worker kept its own `OpenApi` and
/// serialised it on every request: 7.5 MiB of the idle service's RSS with two workers;
/// docs/BENCHMARKS.md.)
pub fn document() -> serde_json::Result<web::Bytes> {
    let (_, doc) = actix_web::App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(super::routes)
        .split_for_parts();
    serde_json::to_vec(&complete(doc)).map(web::Bytes::from)
}

/// The header that makes a POST safe to retry (API.md, Idempotency).
const IDEMPOTENCY_KEY: &str = "Idempotency-Key";

/// Adds to each collected operation the answers and parameters every operation of its kind has.
pub fn complete(mut doc: utoipa::openapi::OpenApi) -> utoipa::openapi::OpenApi {
    let optional = bodies_without_required_fields(&doc);
    for (path, item) in doc.paths.paths.iter_mut() {
        let post = item.post.as_mut().map(|op| (true, op));
        let others = [
            &mut item.get,
            &mut item.put,
            &mut item.delete,
            &mut item.patch,
        ]
        .into_iter()
        .filter_map(|op| op.as_mut().map(|op| (false, op)));
        for (is_post, op) in post.into_iter().chain(others) {
            let idempotent = is_post && !path.starts_with("/api/v1/auth/");
            complete_operation(op, path, idempotent);
            body_required_as_read(op, &optional);
        }
    }
    doc
}

/// The `$ref`s of the component schemas that have no required field.
fn bodies_without_required_fields(doc: &utoipa::openapi::OpenApi) -> Vec<String> {
    let Some(components) = &doc.components else {
        return Vec::new();
    };
    components
        .schemas
        .iter()
        .filter(
            |(_, schema)| matches!(schema, RefOr::T(Schema::Object(o)) if o.required.is_empty()),
        )
        .map(|(name, _)| format!("#/components/schemas/{name}"))
        .collect()
}

/// A missing JSON body is read as `{}` (`extract::Command`): where every field is optional that
/// is a valid request, so the document says the body is not required; where a field is required,
/// `{}` is 400 `bad-request` (a required field missing), so the body is required.
fn body_required_as_read(op: &mut Operation, optional: &[String]) {
    let Some(body) = op.request_body.as_mut() else {
        return;
    };
    let all_optional = body.content.get("application/json").is_some_and(
        |c| matches!(&c.schema, Some(RefOr::Ref(r)) if optional.contains(&r.ref_location)),
    );
    if all_optional {
        body.required = Some(Required::False);
    }
}

fn complete_operation(op: &mut Operation, path: &str, idempotent: bool) {
    // Every operation takes a bearer token unless its handler says `security(())`: public.
    op.security = match op.security.take() {
        None => Some(vec![SecurityRequirement::new(
            "bearer",
            Vec::<String>::new(),
        )]),
        Some(public) if public.iter().all(|s| *s == SecurityRequirement::default()) => None,
        Some(own) => Some(own),
    };
    let mut codes: BTreeMap<u16, Vec<String>> = BTreeMap::new();
    let mut add = |status: u16, code: &str| {
        let codes = codes.entry(status).or_default();
        if !codes.iter().any(|c| c == code) {
            codes.push(code.to_owned());
        }
    };
    // The operation's own problems: `(status = 409, description = "code, code")`.
    op.responses.responses.retain(|status, response| {
        let Ok(status) = status.parse::<u16>() else {
            return true;
        };
        if status < 400 {
            return true;
        }
        if let RefOr::T(response) = response {
            for code in response.description.split(", ") {
                add(status, code);
            }
        }
        false
    });
    let params = op.parameters.get_or_insert_with(Vec::new);
    // Every id in a path is a UUID (one that is not is a 404, like an unknown one).
    for param in params
        .iter_mut()
        .filter(|p| p.parameter_in == ParameterIn::Path)
    {
        param.schema = Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
                .into(),
        );
    }
    let takes = |place: ParameterIn| params.iter().any(|p| p.parameter_in == place);
    let (in_path, in_query) = (takes(ParameterIn::Path), takes(ParameterIn::Query));
    if op.security.as_ref().is_some_and(|s| !s.is_empty()) {
        add(401, "unauthenticated");
    }
    if in_path {
        add(404, "not-found");
    }
    if in_query {
        add(400, "bad-request");
        add(422, "validation-failed");
    }
    if op.request_body.is_some() {
        add(400, "bad-request");
        add(413, "payload-too-large");
        add(415, "unsupported-media-type");
        add(422, "validation-failed");
    }
    if idempotent {
        let required = idempotency_key(params);
        add(
            400,
            if required {
                "idempotency-key-required"
            } else {
                "bad-request"
            },
        );
        add(409, "idempotency-in-flight");
        add(422, "idempotency-key-reused");
    }
    if path != "/healthz" {
        add(500, "internal-error");
        add(503, "unavailable");
    }
    for (status, codes) in codes {
        op.responses
            .responses
            .insert(status.to_string(), RefOr::T(problem(status, &codes)));
    }
}

/// The `Idempotency-Key` header: optional unless the operation already declares it required
/// (which it returns).
fn idempotency_key(params: &mut Vec<Parameter>) -> bool {
    let required = params
        .iter()
        .any(|p| p.name == IDEMPOTENCY_KEY && p.required == Required::True);
    params.retain(|p| p.name != IDEMPOTENCY_KEY);
    let description = if required {
        "Required: a repeat with the same key replays the first answer and acts no second time."
    } else {
        "Optional: a repeat with the same key replays the first answer and acts no second time."
    };
    params.push(
        ParameterBuilder::new()
            .name(IDEMPOTENCY_KEY)
            .parameter_in(ParameterIn::Header)
            .required(if required {
                Required::True
            } else {
                Required::False
            })
            .description(Some(description))
            .schema(Some(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .min_length(Some(1))
                    .max_length(Some(255))
                    .pattern(Some("^[!-~]+$")),
            ))
            .build(),
    );
    required
}

/// A problem+json answer naming its codes; 429 and 503 carry `Retry-After`.
fn problem(status: u16, codes: &[String]) -> Response {
    let listed: Vec<String> = codes.iter().map(|c| format!("`{c}`")).collect();
    let mut response = ResponseBuilder::new()
        .description(format!("Problem codes: {}", listed.join(", ")))
        .content(
            PROBLEM_JSON,
            ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Problem")))
                .build(),
        );
    if status == 429 || status == 503 {
        response = response.header(
            "Retry-After",
            HeaderBuilder::new()
                .schema(
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .minimum(Some(0)),
                )
                .description(Some("Seconds to wait before trying again."))
                .build(),
        );
    }
    response.build()
}
