//! Registration, verification, login, logout, sessions, CSRF and the brute-force limit.

use actix_web::http::{Method, StatusCode};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use orator_domain::schema::sessions;
use orator_tests::{As, PASSWORD, TestApp};
use serde_json::json;

#[tokio::test(flavor = "multi_thread")]
async fn register_verify_login_logout_round_trip() {
    let app = TestApp::new().await;
    let email = "New.Reader@Example.com";

    let registered = app
        .post(
            "/api/v1/auth/register",
            &As::Anonymous,
            json!({"email": email, "password": PASSWORD}),
        )
        .await;
    let token = app.token_from_mail("new.reader@example.com", "/verify-email").expect("mail");
    let verified =
        app.post("/api/v1/auth/verify-email", &As::Anonymous, json!({"token": token})).await;
    let reused =
        app.post("/api/v1/auth/verify-email", &As::Anonymous, json!({"token": token})).await;
    let login = app
        .post(
            "/api/v1/auth/login",
            &As::Anonymous,
            json!({"email": "NEW.reader@example.com", "password": PASSWORD}),
        )
        .await;
    let bearer = As::Bearer(login.json()["token"].as_str().unwrap().to_owned());
    let me = app.get("/api/v1/me", &bearer).await;
    let logout = app.post("/api/v1/auth/logout", &bearer, json!({})).await;
    let after = app.get("/api/v1/me", &bearer).await;

    assert_eq!(registered.status, StatusCode::CREATED, "{}", registered.text());
    assert_eq!(registered.json()["email"], "new.reader@example.com");
    assert_eq!(registered.json()["email_verified"], false);
    assert_eq!(verified.status, StatusCode::OK);
    assert_eq!(verified.json()["email_verified"], true);
    assert_eq!(reused.status, StatusCode::BAD_REQUEST);
    assert_eq!(reused.code(), "invalid_token");
    assert_eq!(login.status, StatusCode::OK);
    assert_eq!(me.json()["email"], "new.reader@example.com");
    assert_eq!(logout.status, StatusCode::NO_CONTENT);
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread")]
async fn email_is_unique_whatever_its_case() {
    let app = TestApp::new().await;
    let user = app.user().await;

    let again = app
        .post(
            "/api/v1/auth/register",
            &As::Anonymous,
            json!({"email": user.email.to_uppercase(), "password": PASSWORD}),
        )
        .await;

    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.code(), "email_taken");
}

#[tokio::test(flavor = "multi_thread")]
async fn short_and_common_passwords_are_refused_per_field() {
    let app = TestApp::new().await;

    let short = app
        .post(
            "/api/v1/auth/register",
            &As::Anonymous,
            json!({"email": "a@example.com", "password": "Xk9#fT2"}),
        )
        .await;
    let common = app
        .post(
            "/api/v1/auth/register",
            &As::Anonymous,
            json!({"email": "b@example.com", "password": "password1234"}),
        )
        .await;
    let bad_email = app
        .post(
            "/api/v1/auth/register",
            &As::Anonymous,
            json!({"email": "nope", "password": PASSWORD}),
        )
        .await;

    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        short.json()["errors"],
        json!([{"field": "password", "code": "too_short", "message": "This value is too short."}])
    );
    assert_eq!(common.json()["errors"][0]["code"], "common_password");
    assert_eq!(bad_email.json()["errors"][0]["field"], "email");
    assert_eq!(bad_email.json()["errors"][0]["code"], "invalid_email");
}

#[tokio::test(flavor = "multi_thread")]
async fn session_cookies_carry_the_security_flags() {
    let app = TestApp::new().await;
    let local = TestApp::builder().env("ORATOR_SECURE_COOKIES", "false").build().await;
    let user = app.user().await;
    let local_user = local.user().await;
    let body =
        |user: &orator_tests::TestUser| json!({"email": user.email, "password": user.password});

    let secure = app.post("/api/v1/auth/login", &As::Anonymous, body(&user)).await;
    let plain = local.post("/api/v1/auth/login", &As::Anonymous, body(&local_user)).await;

    let session = secure.cookie_line("orator_session").unwrap();
    let csrf = secure.cookie_line("orator_csrf").unwrap();
    for flag in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/"] {
        assert!(session.contains(flag), "session cookie lacks {flag}: {session}");
    }
    for flag in ["Secure", "SameSite=Strict", "Path=/"] {
        assert!(csrf.contains(flag), "csrf cookie lacks {flag}: {csrf}");
    }
    assert!(!csrf.contains("HttpOnly"), "the CSRF cookie must be readable by the page");
    assert!(secure.header("strict-transport-security").is_some());
    assert!(!plain.cookie_line("orator_session").unwrap().contains("Secure"));
    assert!(plain.header("strict-transport-security").is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn every_login_starts_a_new_session() {
    let app = TestApp::new().await;
    let user = app.user().await;

    let first = app.login(&user).await;
    let second = app.login(&user).await;

    assert_ne!(first.token, second.token);
    assert_ne!(first.csrf, second.csrf);
}

#[tokio::test(flavor = "multi_thread")]
async fn cookie_requests_need_the_csrf_header_on_unsafe_methods() {
    let app = TestApp::new().await;
    let user = app.user().await;
    let session = app.login(&user).await;
    let patch = json!({"display_name": "Ada"});

    let read = app.get("/api/v1/me", &As::CookieWithoutCsrf(session.clone())).await;
    let refused = app
        .send(
            Method::PATCH,
            "/api/v1/me",
            &As::CookieWithoutCsrf(session.clone()),
            Some(patch.clone()),
        )
        .await;
    let mut forged = session.clone();
    forged.csrf = "forged".to_owned();
    let forged =
        app.send(Method::PATCH, "/api/v1/me", &As::Cookie(forged), Some(patch.clone())).await;
    let accepted = app
        .send(Method::PATCH, "/api/v1/me", &As::Cookie(session.clone()), Some(patch.clone()))
        .await;
    let bearer = app
        .send(Method::PATCH, "/api/v1/me", &As::Bearer(session.token.clone()), Some(patch))
        .await;

    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(refused.code(), "csrf_failed");
    assert_eq!(forged.code(), "csrf_failed");
    assert_eq!(accepted.status, StatusCode::OK, "{}", accepted.text());
    assert_eq!(accepted.json()["display_name"], "Ada");
    assert_eq!(bearer.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn repeated_failures_lock_the_account_even_for_the_right_password() {
    let app = TestApp::new().await;
    let user = app.user().await;
    let wrong = json!({"email": user.email, "password": "not-the-password-at-all"});

    let mut statuses = Vec::new();
    for _ in 0..5 {
        statuses.push(app.post("/api/v1/auth/login", &As::Anonymous, wrong.clone()).await.status);
    }
    let right = json!({"email": user.email, "password": user.password});
    let locked = app.post("/api/v1/auth/login", &As::Anonymous, right).await;

    assert!(statuses.iter().all(|status| *status == StatusCode::UNAUTHORIZED), "{statuses:?}");
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(locked.code(), "rate_limited");
    let retry_after: u64 = locked.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=900).contains(&retry_after));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_limit_is_shared_by_every_replica() {
    let app = TestApp::new().await;
    let replica = app.replica().await;
    let user = app.user().await;
    let wrong = json!({"email": user.email, "password": "not-the-password-at-all"});

    for round in 0..5 {
        let instance = if round % 2 == 0 { &app } else { &replica };
        instance.post("/api/v1/auth/login", &As::Anonymous, wrong.clone()).await;
    }
    let locked = replica
        .post(
            "/api/v1/auth/login",
            &As::Anonymous,
            json!({"email": user.email, "password": PASSWORD}),
        )
        .await;

    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test(flavor = "multi_thread")]
async fn unknown_email_and_wrong_password_look_the_same() {
    let app = TestApp::new().await;
    let user = app.user().await;

    let wrong_password = app
        .post(
            "/api/v1/auth/login",
            &As::Anonymous,
            json!({"email": user.email, "password": "wrong-password-123"}),
        )
        .await;
    let unknown = app
        .post(
            "/api/v1/auth/login",
            &As::Anonymous,
            json!({"email": "nobody-here@example.com", "password": "wrong-password-123"}),
        )
        .await;

    let strip = |mut body: serde_json::Value| {
        body.as_object_mut().unwrap().remove("request_id");
        body
    };
    assert_eq!(wrong_password.status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown.status, wrong_password.status);
    assert_eq!(strip(unknown.json()), strip(wrong_password.json()));
    assert_eq!(wrong_password.code(), "invalid_credentials");
}

#[tokio::test(flavor = "multi_thread")]
async fn changing_the_password_revokes_every_session() {
    let app = TestApp::new().await;
    let user = app.user().await;
    let here = app.login(&user).await;
    let elsewhere = app.login(&user).await;
    let new_password = "quartz-meadow-lantern-77";

    let wrong = app
        .post(
            "/api/v1/me/password",
            &As::Bearer(here.token.clone()),
            json!({"current_password": "not-it-at-all", "new_password": new_password}),
        )
        .await;
    let changed = app
        .post(
            "/api/v1/me/password",
            &As::Bearer(here.token.clone()),
            json!({"current_password": PASSWORD, "new_password": new_password}),
        )
        .await;
    let fresh = As::Bearer(changed.json()["token"].as_str().unwrap().to_owned());

    assert_eq!(wrong.status, StatusCode::FORBIDDEN);
    assert_eq!(wrong.code(), "wrong_password");
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.text());
    assert_eq!(
        app.get("/api/v1/me", &As::Bearer(here.token)).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.get("/api/v1/me", &As::Bearer(elsewhere.token)).await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.get("/api/v1/me", &fresh).await.status, StatusCode::OK);
    let old_login = app
        .post(
            "/api/v1/auth/login",
            &As::Anonymous,
            json!({"email": user.email, "password": PASSWORD}),
        )
        .await;
    assert_eq!(old_login.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread")]
async fn password_reset_answers_alike_and_revokes_sessions() {
    let app = TestApp::new().await;
    let user = app.user().await;
    let session = app.login(&user).await;

    let unknown = app
        .post("/api/v1/auth/password-reset", &As::Anonymous, json!({"email": "ghost@example.com"}))
        .await;
    let known =
        app.post("/api/v1/auth/password-reset", &As::Anonymous, json!({"email": user.email})).await;
    let token = app.token_from_mail(&user.email, "/reset-password").expect("reset mail");
    let confirm = |password: &str| json!({"token": token, "password": password});
    let weak =
        app.post("/api/v1/auth/password-reset/confirm", &As::Anonymous, confirm("password1")).await;
    let reset = app
        .post(
            "/api/v1/auth/password-reset/confirm",
            &As::Anonymous,
            confirm("ember-willow-cascade-9"),
        )
        .await;
    let reused = app
        .post(
            "/api/v1/auth/password-reset/confirm",
            &As::Anonymous,
            confirm("another-fine-phrase-10"),
        )
        .await;

    assert_eq!(unknown.status, StatusCode::ACCEPTED);
    assert_eq!(known.status, StatusCode::ACCEPTED);
    assert_eq!(unknown.body, known.body);
    assert!(!app.mails().iter().any(|mail| mail.contains("ghost@example.com")));
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(reset.status, StatusCode::NO_CONTENT);
    assert_eq!(reused.code(), "invalid_token");
    assert_eq!(
        app.get("/api/v1/me", &As::Bearer(session.token)).await.status,
        StatusCode::UNAUTHORIZED
    );
    let login = app
        .post(
            "/api/v1/auth/login",
            &As::Anonymous,
            json!({"email": user.email, "password": "ember-willow-cascade-9"}),
        )
        .await;
    assert_eq!(login.status, StatusCode::OK);
}

#[tokio::test(flavor = "multi_thread")]
async fn idle_sessions_expire() {
    let app = TestApp::new().await;
    let user = app.user().await;
    let session = app.login(&user).await;
    let mut conn = app.db.conn().await;

    diesel::update(sessions::table)
        .filter(sessions::user_id.eq(user.id))
        .set(sessions::last_seen_at.eq(chrono::Utc::now() - chrono::Duration::days(30)))
        .execute(&mut conn)
        .await
        .unwrap();

    let me = app.get("/api/v1/me", &As::Bearer(session.token)).await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread")]
async fn missing_credentials_get_401_with_a_bearer_challenge() {
    let app = TestApp::new().await;

    let anonymous = app.get("/api/v1/me", &As::Anonymous).await;
    let garbage = app.get("/api/v1/me", &As::Bearer("ors_not-a-real-token".to_owned())).await;

    for response in [anonymous, garbage] {
        assert_eq!(response.status, StatusCode::UNAUTHORIZED);
        assert_eq!(response.code(), "unauthenticated");
        assert!(response.header("www-authenticate").unwrap().starts_with("Bearer"));
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn profile_patch_distinguishes_absent_from_null() {
    let app = TestApp::new().await;
    let user = app.user().await;
    let bearer = As::Bearer(app.login(&user).await.token);

    let named = app
        .send(
            Method::PATCH,
            "/api/v1/me",
            &bearer,
            Some(json!({"display_name": "  Ada  ", "preferred_voice": "en-us"})),
        )
        .await;
    let untouched = app
        .send(Method::PATCH, "/api/v1/me", &bearer, Some(json!({"preferred_voice": null})))
        .await;
    let invalid = app
        .send(Method::PATCH, "/api/v1/me", &bearer, Some(json!({"preferred_voice": "../x"})))
        .await;

    assert_eq!(named.json()["display_name"], "Ada");
    assert_eq!(untouched.json()["display_name"], "Ada");
    assert_eq!(untouched.json()["preferred_voice"], serde_json::Value::Null);
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(invalid.json()["errors"][0]["field"], "preferred_voice");
}
