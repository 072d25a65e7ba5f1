//! The edge middleware: the one place a request enters and a response leaves.
//!
//! It assigns the request id, opens the request's tracing span, turns every error into a
//! localized problem document, logs the cause of a 5xx once, adds the security headers,
//! and records the request metrics.

use std::time::Instant;

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpResponse, web};
use tracing::Instrument;

use crate::error::{ApiError, ErrorCode};
use crate::i18n::Locale;
use crate::problem::{CONTENT_TYPE, Problem};
use crate::state::AppState;

/// Longest accepted incoming `X-Request-Id`.
const REQUEST_ID_MAX_LEN: usize = 128;

/// The request id, available to handlers through request extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestId(pub String);

impl RequestId {
    /// Takes a well-formed id from the client, or makes a new one.
    fn from_header(value: Option<&HeaderValue>) -> Self {
        let given = value.and_then(|value| value.to_str().ok()).filter(|id| {
            !id.is_empty()
                && id.len() <= REQUEST_ID_MAX_LEN
                && id.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        });

        Self(given.map_or_else(|| uuid::Uuid::new_v4().simple().to_string(), str::to_owned))
    }
}

static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The edge middleware; see the module documentation.
pub async fn edge(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let started = Instant::now();
    let request_id = RequestId::from_header(req.headers().get(&X_REQUEST_ID));
    req.extensions_mut().insert(request_id.clone());
    let accept_language = req.headers().get(header::ACCEPT_LANGUAGE);
    let locale = Locale::negotiate(accept_language.and_then(|value| value.to_str().ok()));
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let state = state.as_ref().map(|data| data.get_ref().clone());
    let method = req.method().to_string();

    let span = tracing::info_span!(
        "request",
        request_id = %request_id.0,
        http.method = %method,
        http.route = tracing::field::Empty,
        user.id = tracing::field::Empty,
    );
    // Handler and extractor errors arrive as responses carrying the error; an `Err` here
    // could only come from a middleware inside this one, and there is none.
    let response = next.call(req).instrument(span.clone()).await?.map_into_boxed_body();

    let route = response.request().match_pattern().unwrap_or_else(|| "unmatched".to_owned());
    span.record("http.route", route.as_str());
    let mut response = if needs_problem(&response) {
        render_problem(response, &locale, &request_id, state.as_ref(), &span)
    } else {
        response
    };

    add_headers(response.headers_mut(), &request_id, state.as_ref());
    let status = response.status().as_u16();
    let elapsed = started.elapsed();
    crate::metrics::record_request(&method, &route, status, elapsed);
    let duration_ms = u64::try_from(elapsed.as_millis()).unwrap_or(u64::MAX);
    tracing::info!(parent: &span, http.status = status, duration_ms, "request finished");

    Ok(response)
}

/// Errors become problem documents; a deliberate JSON answer with an error status (the
/// readiness probe's 503) is left as it is.
fn needs_problem(response: &ServiceResponse<BoxBody>) -> bool {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return false;
    }
    if response.response().error().is_some() {
        return true;
    }

    let content_type = response.headers().get(header::CONTENT_TYPE);
    !content_type
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("application/json"))
}

fn render_problem(
    response: ServiceResponse<BoxBody>,
    locale: &Locale,
    request_id: &RequestId,
    state: Option<&AppState>,
    span: &tracing::Span,
) -> ServiceResponse<BoxBody> {
    let status = response.status();
    let error = response.response().error().and_then(|err| err.as_error::<ApiError>());
    let fallback;
    let error = match error {
        Some(error) => error,
        None => {
            fallback = ApiError::new(code_for_status(status));
            &fallback
        }
    };

    if error.status().is_server_error() {
        let cause =
            error.cause.as_ref().map(|cause| error_chain(cause.as_ref())).unwrap_or_default();
        tracing::error!(parent: span, error.code = error.code.as_str(), error.cause = %cause, "request failed");
    }

    let retry_after = match error.code {
        ErrorCode::ServiceUnavailable | ErrorCode::SpeechEngineUnavailable => {
            Some(state.map_or(crate::problem::DEFAULT_RETRY_AFTER_SECS, |state| {
                state.config.unavailable_retry_after_secs
            }))
        }
        _ => error.retry_after_secs,
    };
    let problem = Problem::from_error(error, locale, &request_id.0);
    let body = serde_json::to_vec(&problem).unwrap_or_default();

    let mut builder = HttpResponse::build(error.status());
    builder.content_type(CONTENT_TYPE).insert_header((header::CONTENT_LANGUAGE, locale.tag()));
    if let Some(secs) = retry_after {
        builder.insert_header((header::RETRY_AFTER, secs.to_string()));
    }
    if error.status() == StatusCode::UNAUTHORIZED {
        builder.insert_header((header::WWW_AUTHENTICATE, "Bearer realm=\"orator\""));
    }
    // Cookie changes made before the failure (for example clearing a stale session) stand.
    for cookie in response.response().cookies() {
        builder.cookie(cookie.into_owned());
    }

    let (request, _) = response.into_parts();
    ServiceResponse::new(request, builder.body(body))
}

fn code_for_status(status: StatusCode) -> ErrorCode {
    match status {
        StatusCode::UNAUTHORIZED => ErrorCode::Unauthenticated,
        StatusCode::FORBIDDEN => ErrorCode::PermissionDenied,
        StatusCode::NOT_FOUND => ErrorCode::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => ErrorCode::MethodNotAllowed,
        StatusCode::PAYLOAD_TOO_LARGE => ErrorCode::BodyTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ErrorCode::UnsupportedMediaType,
        StatusCode::TOO_MANY_REQUESTS => ErrorCode::RateLimited,
        StatusCode::SERVICE_UNAVAILABLE => ErrorCode::ServiceUnavailable,
        status if status.is_client_error() => ErrorCode::BadRequest,
        _ => ErrorCode::InternalError,
    }
}

fn error_chain(error: &(dyn std::error::Error + Send + Sync + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn add_headers(headers: &mut header::HeaderMap, request_id: &RequestId, state: Option<&AppState>) {
    if let Ok(value) = HeaderValue::from_str(&request_id.0) {
        headers.insert(X_REQUEST_ID.clone(), value);
    }

    let fixed = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::CONTENT_SECURITY_POLICY, "default-src 'none'; frame-ancestors 'none'"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    if state.is_some_and(|state| state.config.secure_cookies) {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
}

/// Maps the JSON extractor's failures to stable codes.
pub fn json_error(
    err: actix_web::error::JsonPayloadError,
    _: &actix_web::HttpRequest,
) -> actix_web::Error {
    use actix_web::error::JsonPayloadError;

    let code = match &err {
        JsonPayloadError::ContentType => ErrorCode::UnsupportedMediaType,
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            ErrorCode::BodyTooLarge
        }
        JsonPayloadError::Deserialize(inner) if inner.is_data() => ErrorCode::InvalidBody,
        JsonPayloadError::Deserialize(_) => ErrorCode::MalformedJson,
        _ => ErrorCode::MalformedJson,
    };

    ApiError::new(code).into()
}

/// Maps path-parameter failures (for example a malformed UUID) to `invalid_path`.
pub fn path_error(_: actix_web::error::PathError, _: &actix_web::HttpRequest) -> actix_web::Error {
    ApiError::new(ErrorCode::InvalidPath).into()
}

/// Maps query-string failures to `invalid_query`.
pub fn query_error(
    _: actix_web::error::QueryPayloadError,
    _: &actix_web::HttpRequest,
) -> actix_web::Error {
    ApiError::new(ErrorCode::InvalidQuery).into()
}

/// Answers requests that match no route.
pub async fn not_found() -> Result<HttpResponse, ApiError> {
    Err(ApiError::new(ErrorCode::NotFound))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn well_formed_request_ids_are_kept() {
        let value = HeaderValue::from_static("abc-123_x.y");

        assert_eq!(RequestId::from_header(Some(&value)).0, "abc-123_x.y");
    }

    #[test]
    fn malformed_request_ids_are_replaced() {
        for raw in ["", "has space", "semi;colon", &"a".repeat(129)] {
            let value = HeaderValue::from_str(raw).unwrap();
            let id = RequestId::from_header(Some(&value)).0;
            assert_ne!(id, raw);
            assert_eq!(id.len(), 32);
        }
    }
}

#[cfg(test)]
mod rendering_tests {
    use actix_web::{App, HttpResponse, test, web};

    use super::*;

    async fn failing() -> Result<HttpResponse, ApiError> {
        Err(ApiError::internal("SELECT secret FROM vault WHERE bucket = 'orator-prod'"))
    }

    #[actix_web::test]
    async fn a_500_shows_only_a_request_id() {
        let app = test::init_service(
            App::new()
                .route("/boom", web::get().to(failing))
                .wrap(actix_web::middleware::from_fn(edge)),
        )
        .await;

        let response =
            test::call_service(&app, test::TestRequest::get().uri("/boom").to_request()).await;

        assert_eq!(response.status(), StatusCode::INTERNAL_SERVER_ERROR);
        let body: serde_json::Value = test::read_body_json(response).await;
        let text = body.to_string();
        assert_eq!(body["code"], "internal_error");
        assert!(body["request_id"].as_str().is_some_and(|id| !id.is_empty()));
        for leak in ["SELECT", "vault", "orator-prod", "bucket"] {
            assert!(!text.contains(leak), "{leak} leaked: {text}");
        }
    }
}
