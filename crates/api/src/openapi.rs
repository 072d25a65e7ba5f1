//! The OpenAPI document, generated from the route annotations.

use std::sync::OnceLock;

use actix_web::{App, HttpResponse, get};
use utoipa::openapi::path::ParameterIn;
use utoipa::openapi::security::SecurityRequirement;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, ResponseBuilder};
use utoipa_actix_web::AppExt;

use crate::auth::SESSION_COOKIE;

/// Builds the OpenAPI document of every registered route.
pub fn document() -> OpenApi {
    let (_, mut api) =
        App::new().into_utoipa_app().configure(crate::routes::configure).split_for_parts();

    api.info.title = "Orator API".to_owned();
    api.info.version = env!("CARGO_PKG_VERSION").to_owned();
    api.info.description = Some(
        "Turns documents into listenable audio. Errors are `application/problem+json` \
         (RFC 9457) with a stable `code`; lists are paginated with `limit` and `cursor`."
            .to_owned(),
    );
    api.info.license = None;
    api.info.contact = None;

    add_shared_responses(&mut api);

    let components = api.components.get_or_insert_with(Default::default);
    components.add_security_scheme(
        "bearer",
        SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
    );
    components.add_security_scheme(
        "session_cookie",
        SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
            SESSION_COOKIE,
            "Session cookie set by login; unsafe methods also need the `X-CSRF-Token` header",
        ))),
    );

    api
}

/// Responses every operation of a kind can give, added where a route does not list them:
/// 500 everywhere; 503 wherever a dependency is used; 401 on authenticated routes; the body
/// errors on routes with a JSON body; `invalid_path` on routes with path parameters.
fn add_shared_responses(api: &mut OpenApi) {
    let problem = |description: &str| {
        ResponseBuilder::new()
            .description(description)
            .content(
                crate::problem::CONTENT_TYPE,
                ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build(),
            )
            .build()
    };

    for item in api.paths.paths.values_mut() {
        let operations = [
            item.get.as_mut(),
            item.post.as_mut(),
            item.put.as_mut(),
            item.patch.as_mut(),
            item.delete.as_mut(),
        ];
        for operation in operations.into_iter().flatten() {
            let secured = operation
                .security
                .as_ref()
                .is_some_and(|requirements| requirements.iter().any(names_a_scheme));
            let has_body = operation.request_body.is_some();
            let has_path_params = operation.parameters.as_ref().is_some_and(|params| {
                params.iter().any(|param| {
                    matches!(param, RefOr::T(param) if param.parameter_in == ParameterIn::Path)
                })
            });
            let responses = &mut operation.responses.responses;
            let mut add = |status: &str, description: &str| {
                responses.entry(status.to_owned()).or_insert_with(|| problem(description).into());
            };

            add("500", "`internal_error`: only a request id, never internal detail");
            if secured {
                add("401", "`unauthenticated`");
                add("503", "`service_unavailable`, with `Retry-After`");
            }
            if has_body {
                add("400", "`malformed_json`");
                add("413", "`body_too_large`");
                add("415", "`unsupported_media_type`");
                add("422", "`invalid_body` or `validation_failed`");
            }
            if has_path_params {
                add("400", "`invalid_path`");
            }
        }
    }
}

/// Whether a security requirement names a scheme (`{}` means "no authentication").
fn names_a_scheme(requirement: &SecurityRequirement) -> bool {
    serde_json::to_value(requirement)
        .ok()
        .and_then(|value| value.as_object().map(|schemes| !schemes.is_empty()))
        .unwrap_or(false)
}

/// The document as pretty JSON, as checked in under `openapi/openapi.json`.
pub fn document_json() -> String {
    let mut json = document().to_pretty_json().unwrap_or_default();
    json.push('\n');
    json
}

/// The same document as YAML, as checked in under `openapi/openapi.yaml`.
pub fn document_yaml() -> String {
    document().to_yaml().unwrap_or_default()
}

/// The OpenAPI document of this API.
#[utoipa::path(
    tag = "platform",
    security(()),
    responses((status = 200, description = "OpenAPI 3.1 document", content_type = "application/json"))
)]
#[get("/openapi.json")]
pub async fn openapi_json() -> HttpResponse {
    static JSON: OnceLock<String> = OnceLock::new();

    HttpResponse::Ok()
        .content_type("application/json")
        .body(JSON.get_or_init(document_json).clone())
}
