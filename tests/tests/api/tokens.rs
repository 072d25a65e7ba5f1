//! Personal API tokens: shown once, stored hashed, usable as bearer, revocable.

use actix_web::http::{Method, StatusCode};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use orator_domain::schema::{api_tokens, sessions};
use orator_tests::{As, TestApp};
use serde_json::json;
use sha2::{Digest, Sha256};

#[tokio::test(flavor = "multi_thread")]
async fn api_tokens_are_shown_once_and_work_as_bearer() {
    let app = TestApp::new().await;
    let user = app.user().await;
    let session = As::Bearer(app.login(&user).await.token);

    let created = app
        .post("/api/v1/me/tokens", &session, json!({"name": "CI upload", "expires_in_days": 30}))
        .await;
    let token = created.json()["token"].as_str().unwrap().to_owned();
    let id = created.json()["id"].as_str().unwrap().to_owned();
    let me = app.get("/api/v1/me", &As::Bearer(token.clone())).await;
    let listed = app.get("/api/v1/me/tokens", &session).await;
    let deleted =
        app.send(Method::DELETE, &format!("/api/v1/me/tokens/{id}"), &session, None).await;
    let after = app.get("/api/v1/me", &As::Bearer(token)).await;

    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(listed.json()["items"].as_array().unwrap().len(), 1);
    assert!(listed.json()["items"][0].get("token").is_none(), "a listed token shows no secret");
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread")]
async fn tokens_and_sessions_are_stored_only_as_hashes() {
    let app = TestApp::new().await;
    let user = app.user().await;
    let session = app.login(&user).await;
    let created = app
        .post("/api/v1/me/tokens", &As::Bearer(session.token.clone()), json!({"name": "reader"}))
        .await;
    let token = created.json()["token"].as_str().unwrap().to_owned();
    let mut conn = app.db.conn().await;

    let token_hashes: Vec<Vec<u8>> =
        api_tokens::table.select(api_tokens::token_hash).load(&mut conn).await.unwrap();
    let session_hashes: Vec<(Vec<u8>, Vec<u8>)> = sessions::table
        .select((sessions::token_hash, sessions::csrf_hash))
        .load(&mut conn)
        .await
        .unwrap();
    let dump: Vec<String> = diesel::sql_query(
        "SELECT row_to_json(t)::text AS text FROM (SELECT * FROM api_tokens UNION ALL \
         SELECT id, user_id, 'session', token_hash, created_at, expires_at, last_seen_at, \
         revoked_at FROM sessions) t",
    )
    .load::<TextRow>(&mut conn)
    .await
    .unwrap()
    .into_iter()
    .map(|row| row.text)
    .collect();

    assert_eq!(token_hashes, vec![Sha256::digest(token.as_bytes()).to_vec()]);
    assert_eq!(session_hashes[0].0, Sha256::digest(session.token.as_bytes()).to_vec());
    assert_eq!(session_hashes[0].1, Sha256::digest(session.csrf.as_bytes()).to_vec());
    for row in dump {
        assert!(!row.contains(&token) && !row.contains(&session.token), "plaintext stored: {row}");
    }
}

#[derive(QueryableByName)]
struct TextRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    text: String,
}

#[tokio::test(flavor = "multi_thread")]
async fn someone_elses_token_is_not_found() {
    let app = TestApp::new().await;
    let owner = app.user().await;
    let other = app.user().await;
    let owner_session = As::Bearer(app.login(&owner).await.token);
    let other_session = As::Bearer(app.login(&other).await.token);
    let created = app.post("/api/v1/me/tokens", &owner_session, json!({"name": "mine"})).await;
    let id = created.json()["id"].as_str().unwrap().to_owned();

    let stolen =
        app.send(Method::DELETE, &format!("/api/v1/me/tokens/{id}"), &other_session, None).await;
    let bad_id =
        app.send(Method::DELETE, "/api/v1/me/tokens/not-a-uuid", &other_session, None).await;

    assert_eq!(stolen.status, StatusCode::NOT_FOUND);
    assert_eq!(stolen.code(), "not_found");
    assert_eq!(bad_id.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad_id.code(), "invalid_path");
}

#[tokio::test(flavor = "multi_thread")]
async fn token_lists_are_paginated_with_cursors() {
    let app = TestApp::new().await;
    let user = app.user().await;
    let session = As::Bearer(app.login(&user).await.token);
    for n in 0..5 {
        app.post("/api/v1/me/tokens", &session, json!({"name": format!("token {n}")})).await;
    }

    let first = app.get("/api/v1/me/tokens?limit=2", &session).await;
    let cursor = first.json()["next_cursor"].as_str().unwrap().to_owned();
    let second = app.get(&format!("/api/v1/me/tokens?limit=2&cursor={cursor}"), &session).await;
    let cursor = second.json()["next_cursor"].as_str().unwrap().to_owned();
    let last = app.get(&format!("/api/v1/me/tokens?limit=2&cursor={cursor}"), &session).await;

    let names = |response: &orator_tests::TestResponse| -> Vec<String> {
        response.json()["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|item| item["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(names(&first), ["token 4", "token 3"]);
    assert_eq!(names(&second), ["token 2", "token 1"]);
    assert_eq!(names(&last), ["token 0"]);
    assert!(last.json()["next_cursor"].is_null());
    for bad in ["limit=0", "limit=101", "limit=ten", "cursor=%21%21"] {
        let response = app.get(&format!("/api/v1/me/tokens?{bad}"), &session).await;
        assert_eq!(response.status, StatusCode::BAD_REQUEST, "{bad}");
        assert_eq!(response.code(), "invalid_query", "{bad}");
    }
}
