//! The OpenAPI document, generated from the route annotations.

use std::sync::OnceLock;

use actix_web::{App, HttpResponse, get};
use utoipa::openapi::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
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

/// The document as pretty JSON, as checked in under `openapi/openapi.json`.
pub fn document_json() -> String {
    let mut json = document().to_pretty_json().unwrap_or_default();
    json.push('\n');
    json
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
