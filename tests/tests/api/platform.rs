//! Health probes, metrics, the OpenAPI document and log redaction.

use actix_web::http::StatusCode;
use orator_tests::{As, CapturedLogs, PASSWORD, TestApp};
use serde_json::json;
use tracing::instrument::WithSubscriber;

#[tokio::test(flavor = "multi_thread")]
async fn ready_when_every_dependency_answers() {
    let app = TestApp::new().await;

    let live = app.get("/health/live", &As::Anonymous).await;
    let ready = app.get("/health/ready", &As::Anonymous).await;

    assert_eq!(live.status, StatusCode::OK);
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.text());
    assert_eq!(ready.json()["checks"], json!({"database": "ok", "redis": "ok", "storage": "ok"}));
}

#[tokio::test(flavor = "multi_thread")]
async fn not_ready_without_redis_and_says_nothing_of_it() {
    let app = TestApp::builder().env("REDIS_URL", "redis://:hunter2@127.0.0.1:1/0").build().await;

    let live = app.get("/health/live", &As::Anonymous).await;
    let ready = app.get("/health/ready", &As::Anonymous).await;

    let text = ready.text();
    assert_eq!(live.status, StatusCode::OK);
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(ready.header("retry-after").is_some());
    assert_eq!(ready.json()["checks"]["redis"], "unavailable");
    assert_eq!(ready.json()["checks"]["database"], "ok");
    for leak in ["hunter2", "redis://", "127.0.0.1", "refused"] {
        assert!(!text.contains(leak), "{leak} leaked: {text}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn metrics_count_requests_by_route_and_status() {
    let app = TestApp::new().await;
    orator_api::metrics::install();
    app.get("/health/live", &As::Anonymous).await;

    let metrics = app.get("/metrics", &As::Anonymous).await;

    let text = metrics.text();
    assert_eq!(metrics.status, StatusCode::OK);
    assert!(
        text.contains("http_requests_total{method=\"GET\",route=\"/health/live\",status=\"200\"}"),
        "{text}"
    );
    assert!(text.contains("http_request_duration_seconds_bucket"));
    assert!(text.contains("db_pool_max_connections"));
}

#[tokio::test(flavor = "multi_thread")]
async fn served_openapi_document_is_version_3_1_with_security_schemes() {
    let app = TestApp::new().await;

    let spec = app.get("/api/v1/openapi.json", &As::Anonymous).await.json();

    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"));
    assert!(spec["components"]["securitySchemes"]["bearer"].is_object());
    assert!(spec["paths"]["/api/v1/auth/login"]["post"].is_object());
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            assert!(operation.get("security").is_some(), "{method} {path} lists no security");
        }
    }
}

#[test]
fn checked_in_openapi_matches_the_code() {
    let generated = [
        ("openapi.json", orator_api::openapi::document_json(), ""),
        ("openapi.yaml", orator_api::openapi::document_yaml(), " --yaml"),
    ];

    for (file, document, flag) in generated {
        let path = format!("{}/../openapi/{file}", env!("CARGO_MANIFEST_DIR"));
        let checked_in = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            document == checked_in,
            "openapi/{file} is stale: run `cargo run -p orator -- openapi{flag} > openapi/{file}`"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn logs_of_an_account_flow_hold_no_personal_data_or_secrets() {
    let app = TestApp::new().await;
    let logs = CapturedLogs::default();
    let email = "private.person@example.com";

    let flow = async {
        app.post(
            "/api/v1/auth/register",
            &As::Anonymous,
            json!({"email": email, "password": PASSWORD, "display_name": "Private Person"}),
        )
        .await;
        let token = app.token_from_mail(email, "/verify-email").unwrap();
        app.post("/api/v1/auth/verify-email", &As::Anonymous, json!({"token": token})).await;
        app.post(
            "/api/v1/auth/login",
            &As::Anonymous,
            json!({"email": email, "password": "wrong-one-entirely"}),
        )
        .await;
        let login = app
            .post(
                "/api/v1/auth/login",
                &As::Anonymous,
                json!({"email": email, "password": PASSWORD}),
            )
            .await;
        let session = login.json()["token"].as_str().unwrap().to_owned();
        let csrf = login.cookie_value("orator_csrf").unwrap();
        app.post("/api/v1/auth/logout", &As::Bearer(session.clone()), json!({})).await;
        (token, session, csrf)
    };
    let (verify_token, session, csrf) = flow.with_subscriber(logs.subscriber()).await;

    let text = logs.contents();
    assert!(text.contains("signed in"), "nothing was captured: {text}");
    assert!(text.contains("request_id"));
    for secret in [
        email,
        "private.person",
        PASSWORD,
        "wrong-one-entirely",
        &verify_token,
        &session,
        &csrf,
        "Private Person",
    ] {
        assert!(!text.contains(secret), "{secret} appears in the logs");
    }
}
