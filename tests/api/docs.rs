//! The guide stays true: every operation of the served OpenAPI document is named in
//! docs/API.md, written as `` `METHOD /path` `` with the base path `/api/v1` left off.

use crate::helpers::*;

/// The app developer's guide, as committed.
const GUIDE: &str = include_str!("../../docs/API.md");

#[actix_web::test]
async fn every_served_openapi_operation_is_named_in_the_guide() {
    let app = spawn_app().await;
    let doc = app.openapi().expect_json(StatusCode::OK).await;
    let paths = doc["paths"].as_object().expect("paths");
    assert!(!paths.is_empty(), "the document lists paths");

    let mut missing = Vec::new();
    for (path, item) in paths {
        let short = path.strip_prefix("/api/v1").unwrap_or(path.as_str());
        let methods = item.as_object().expect("a path item");
        for method in ["get", "put", "post", "delete", "patch"] {
            if methods.contains_key(method) {
                let named = format!("`{} {short}`", method.to_uppercase());
                if !GUIDE.contains(&named) {
                    missing.push(named);
                }
            }
        }
    }
    assert!(missing.is_empty(), "docs/API.md does not name {missing:?}");
}
