//! The error model: problem+json everywhere, stable codes, request ids, translations, and
//! no internal detail in a 5xx.

use actix_web::http::{StatusCode, header};
use actix_web::test::TestRequest;
use orator_tests::{As, TestApp, TestDb};
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn errors_are_problem_documents_with_a_request_id() {
    let app = TestApp::new().await;

    let response = app
        .call(
            TestRequest::get()
                .uri("/api/v1/no-such-thing")
                .insert_header(("X-Request-Id", "trace-42")),
        )
        .await;

    let body = response.json();
    assert_eq!(response.status, StatusCode::NOT_FOUND);
    assert_eq!(response.header("content-type").unwrap(), "application/problem+json");
    assert_eq!(response.header("x-request-id").unwrap(), "trace-42");
    assert_eq!(body["type"], "urn:orator:problem:not_found");
    assert_eq!(body["status"], 404);
    assert_eq!(body["code"], "not_found");
    assert_eq!(body["request_id"], "trace-42");
    assert!(body["title"].as_str().is_some_and(|title| !title.is_empty()));
    assert!(body["detail"].as_str().is_some_and(|detail| !detail.is_empty()));
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_request_ids_are_replaced() {
    let app = TestApp::new().await;

    let response = app
        .call(TestRequest::get().uri("/health/live").insert_header(("X-Request-Id", "bad id;")))
        .await;

    let id = response.header("x-request-id").unwrap();
    assert_ne!(id, "bad id;");
    assert_eq!(id.len(), 32);
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_bodies_get_their_own_codes() {
    let app = TestApp::new().await;
    let register = "/api/v1/auth/register";
    let huge = "x".repeat(3 * 1024 * 1024);

    let malformed = app
        .call(
            TestRequest::post()
                .uri(register)
                .insert_header((header::CONTENT_TYPE, "application/json"))
                .set_payload("{\"email\":"),
        )
        .await;
    let wrong_type = app
        .call(
            TestRequest::post()
                .uri(register)
                .insert_header((header::CONTENT_TYPE, "text/plain"))
                .set_payload("hello"),
        )
        .await;
    let oversized = app
        .call(
            TestRequest::post()
                .uri(register)
                .insert_header((header::CONTENT_TYPE, "application/json"))
                .set_payload(format!("{{\"email\":\"{huge}\"}}")),
        )
        .await;
    let unknown_field = app
        .post(register, &As::Anonymous, json!({"email": "a@example.com", "password": "violet-harbor-tangent-42", "is_staff": true}))
        .await;
    let wrong_shape = app.post(register, &As::Anonymous, json!({"email": 42})).await;

    assert_eq!(
        (malformed.status, malformed.code().as_str()),
        (StatusCode::BAD_REQUEST, "malformed_json")
    );
    assert_eq!(
        (wrong_type.status, wrong_type.code().as_str()),
        (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type")
    );
    assert_eq!(
        (oversized.status, oversized.code().as_str()),
        (StatusCode::PAYLOAD_TOO_LARGE, "body_too_large")
    );
    assert_eq!(
        (unknown_field.status, unknown_field.code().as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "invalid_body")
    );
    assert_eq!(wrong_shape.code(), "invalid_body");
}

#[tokio::test(flavor = "multi_thread")]
async fn messages_follow_accept_language() {
    let app = TestApp::new().await;

    let spanish = app
        .call(
            TestRequest::get()
                .uri("/api/v1/me")
                .insert_header(("Accept-Language", "es-ES,es;q=0.9,en;q=0.5")),
        )
        .await;
    let english = app.call(TestRequest::get().uri("/api/v1/me")).await;
    let unknown = app
        .call(TestRequest::get().uri("/api/v1/me").insert_header(("Accept-Language", "ja")))
        .await;

    assert_eq!(spanish.json()["title"], "Autenticación necesaria");
    assert_eq!(spanish.header("content-language").unwrap(), "es");
    assert_eq!(english.json()["title"], "Authentication required");
    assert_eq!(unknown.json()["title"], english.json()["title"]);
    assert_eq!(spanish.code(), english.code());
}

#[tokio::test(flavor = "multi_thread")]
async fn database_outage_is_503_without_internal_detail() {
    let unreachable = TestDb {
        url: "postgres://postgres:s3cr3t-pw@127.0.0.1:1/orator_missing".to_owned(),
        schema: "none".to_owned(),
    };
    let app = TestApp::builder().database(unreachable).build().await;

    let response = app.get("/api/v1/me", &As::Bearer("ors_whatever".to_owned())).await;

    let text = response.text();
    assert_eq!(response.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(response.code(), "service_unavailable");
    assert!(response.header("retry-after").is_some());
    for secret in ["s3cr3t", "127.0.0.1", "postgres", "orator_missing", "connection", "refused"] {
        assert!(!text.to_lowercase().contains(secret), "{secret} leaked: {text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn security_headers_are_on_every_response() {
    let app = TestApp::new().await;

    for path in ["/health/live", "/api/v1/me", "/nowhere"] {
        let response = app.get(path, &As::Anonymous).await;
        assert_eq!(response.header("x-content-type-options").as_deref(), Some("nosniff"), "{path}");
        assert!(response.header("content-security-policy").unwrap().contains("default-src 'none'"));
        assert_eq!(response.header("referrer-policy").as_deref(), Some("no-referrer"));
        assert!(response.header("strict-transport-security").is_some());
        assert!(response.header("x-request-id").is_some());
    }
}
