//! Sharing: permission levels, invitations, no enumeration, revocation and the access log.

use actix_web::http::{Method, StatusCode};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use orator_domain::schema::access_log;
use orator_tests::{As, TestApp, TestUser};
use serde_json::json;

async fn document(app: &TestApp, who: &As) -> String {
    let created = app.post("/api/v1/documents", who, json!({"text": "Shared words."})).await;
    app.run_pending_jobs().await;
    created.json()["id"].as_str().unwrap().to_owned()
}

async fn share(
    app: &TestApp,
    who: &As,
    id: &str,
    email: &str,
    permission: &str,
) -> serde_json::Value {
    let response = app
        .post(
            &format!("/api/v1/documents/{id}/shares"),
            who,
            json!({"email": email, "permission": permission}),
        )
        .await;
    assert!(response.status.is_success(), "{}", response.text());
    response.json()
}

async fn sharee(app: &TestApp, owner: &As, id: &str, permission: &str) -> (TestUser, As) {
    let (user, who) = app.signed_in().await;
    share(app, owner, id, &user.email, permission).await;
    (user, who)
}

#[tokio::test(flavor = "multi_thread")]
async fn each_level_allows_what_it_says() {
    let app = TestApp::new().await;
    let (_, owner) = app.signed_in().await;
    let id = document(&app, &owner).await;
    let (_, viewer) = sharee(&app, &owner, &id, "view_only").await;
    let (_, collaborator) = sharee(&app, &owner, &id, "collaborator").await;
    let (_, resharer) = sharee(&app, &owner, &id, "can_share").await;
    let append = |who: As| {
        let app = app.clone();
        let id = id.clone();
        async move {
            app.post(&format!("/api/v1/documents/{id}/pages"), &who, json!({"text": "More."}))
                .await
                .status
        }
    };

    let seen = app.get(&format!("/api/v1/documents/{id}"), &viewer).await;
    assert_eq!(seen.json()["permission"], "view_only");
    assert_eq!(append(viewer.clone()).await, StatusCode::FORBIDDEN);
    assert_eq!(append(collaborator.clone()).await, StatusCode::FORBIDDEN);
    assert_eq!(append(resharer.clone()).await, StatusCode::CREATED);
    let shares = app.get(&format!("/api/v1/documents/{id}/shares"), &collaborator).await;
    assert_eq!(shares.status, StatusCode::FORBIDDEN);
    assert_eq!(shares.code(), "permission_denied");
    let deleted =
        app.send(Method::DELETE, &format!("/api/v1/documents/{id}"), &resharer, None).await;
    assert_eq!(deleted.status, StatusCode::FORBIDDEN);
    let page = app.get(&format!("/api/v1/documents/{id}/pages/1"), &collaborator).await;
    assert_eq!(page.json()["permission"], "collaborator");
}

#[tokio::test(flavor = "multi_thread")]
async fn sharing_again_updates_and_resharing_is_capped() {
    let app = TestApp::new().await;
    let (_, owner) = app.signed_in().await;
    let id = document(&app, &owner).await;
    let (_, resharer) = sharee(&app, &owner, &id, "can_share").await;
    let (friend, _) = app.signed_in().await;

    let first = app
        .post(
            &format!("/api/v1/documents/{id}/shares"),
            &resharer,
            json!({"email": friend.email, "permission": "view_only"}),
        )
        .await;
    let again = app
        .post(
            &format!("/api/v1/documents/{id}/shares"),
            &resharer,
            json!({"email": friend.email, "permission": "collaborator"}),
        )
        .await;
    let as_owner = app
        .post(
            &format!("/api/v1/documents/{id}/shares"),
            &resharer,
            json!({"email": friend.email, "permission": "owner"}),
        )
        .await;

    assert_eq!(first.status, StatusCode::CREATED);
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.json()["id"], first.json()["id"]);
    assert_eq!(again.json()["permission"], "collaborator");
    assert_eq!(as_owner.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test(flavor = "multi_thread")]
async fn sharing_with_oneself_or_the_owner_is_refused() {
    let app = TestApp::new().await;
    let (owner_user, owner) = app.signed_in().await;
    let id = document(&app, &owner).await;
    let (resharer_user, resharer) = sharee(&app, &owner, &id, "can_share").await;
    let path = format!("/api/v1/documents/{id}/shares");

    let to_self = app
        .post(&path, &owner, json!({"email": owner_user.email, "permission": "view_only"}))
        .await;
    let to_owner = app
        .post(&path, &resharer, json!({"email": owner_user.email, "permission": "view_only"}))
        .await;
    let own_share = app
        .post(&path, &resharer, json!({"email": resharer_user.email, "permission": "view_only"}))
        .await;

    for response in [to_self, to_owner, own_share] {
        assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(response.code(), "invalid_share_target");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn answers_do_not_reveal_whether_an_email_has_an_account() {
    let app = TestApp::new().await;
    let (_, owner) = app.signed_in().await;
    let id = document(&app, &owner).await;
    let (known, _) = app.signed_in().await;

    let path = format!("/api/v1/documents/{id}/shares");
    let known_response =
        app.post(&path, &owner, json!({"email": known.email, "permission": "view_only"})).await;
    let unknown_response = app
        .post(&path, &owner, json!({"email": "nobody-yet@example.com", "permission": "view_only"}))
        .await;
    assert_eq!(known_response.status, unknown_response.status);
    let (to_known, to_unknown) = (known_response.json(), unknown_response.json());
    let listed = app.get(&format!("/api/v1/documents/{id}/shares"), &owner).await.json();

    let keys = |value: &serde_json::Value| -> Vec<String> {
        let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        keys
    };
    assert_eq!(keys(&to_known), keys(&to_unknown));
    for item in listed["items"].as_array().unwrap() {
        assert_eq!(keys(item), keys(&to_known));
    }
    assert!(app.mails().iter().any(|mail| mail.contains("To: nobody-yet@example.com")));
    assert!(app.mails().iter().any(|mail| mail.contains(&format!("To: {}", known.email))));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_invitation_becomes_a_share_once_the_address_is_verified() {
    let app = TestApp::new().await;
    let (_, owner) = app.signed_in().await;
    let id = document(&app, &owner).await;
    let email = "invited.reader@example.com";
    share(&app, &owner, &id, email, "collaborator").await;

    let password = "river-stone-compass-88";
    app.post(
        "/api/v1/auth/register",
        &As::Anonymous,
        json!({"email": email, "password": password}),
    )
    .await;
    let login = app
        .post("/api/v1/auth/login", &As::Anonymous, json!({"email": email, "password": password}))
        .await;
    let invited = As::Bearer(login.json()["token"].as_str().unwrap().to_owned());
    let before = app.get(&format!("/api/v1/documents/{id}"), &invited).await;
    let token = app.token_from_mail(email, "/verify-email").unwrap();
    app.post("/api/v1/auth/verify-email", &As::Anonymous, json!({"token": token})).await;
    let after = app.get(&format!("/api/v1/documents/{id}"), &invited).await;
    let listed = app.get("/api/v1/shared-with-me", &invited).await.json();

    assert_eq!(before.status, StatusCode::NOT_FOUND, "not before verification");
    assert_eq!(after.status, StatusCode::OK);
    assert_eq!(after.json()["permission"], "collaborator");
    assert_eq!(listed["items"][0]["document"]["id"], id);
    assert!(listed["items"][0]["owner"]["email"].is_null(), "the owner's email stays hidden");
}

#[tokio::test(flavor = "multi_thread")]
async fn revocation_takes_effect_at_once() {
    let app = TestApp::new().await;
    let (_, owner) = app.signed_in().await;
    let id = document(&app, &owner).await;
    let (viewer_user, viewer) = app.signed_in().await;
    let shared = share(&app, &owner, &id, &viewer_user.email, "view_only").await;
    let share_id = shared["id"].as_str().unwrap();

    let before = app.get(&format!("/api/v1/documents/{id}"), &viewer).await;
    let revoked =
        app.send(Method::DELETE, &format!("/api/v1/shares/{share_id}"), &owner, None).await;
    let after = app.get(&format!("/api/v1/documents/{id}"), &viewer).await;

    assert_eq!(before.status, StatusCode::OK);
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    assert_eq!(after.status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn recipients_may_leave_and_creators_may_change_their_shares() {
    let app = TestApp::new().await;
    let (_, owner) = app.signed_in().await;
    let id = document(&app, &owner).await;
    let (_, resharer) = sharee(&app, &owner, &id, "can_share").await;
    let (friend_user, friend) = app.signed_in().await;
    let (other_user, _) = app.signed_in().await;
    let by_resharer = share(&app, &resharer, &id, &friend_user.email, "view_only").await;
    let by_owner = share(&app, &owner, &id, &other_user.email, "view_only").await;
    let path =
        |share: &serde_json::Value| format!("/api/v1/shares/{}", share["id"].as_str().unwrap());

    let creator_changes = app
        .send(
            Method::PATCH,
            &path(&by_resharer),
            &resharer,
            Some(json!({"permission": "collaborator"})),
        )
        .await;
    let not_theirs = app
        .send(
            Method::PATCH,
            &path(&by_owner),
            &resharer,
            Some(json!({"permission": "collaborator"})),
        )
        .await;
    let recipient_changes = app
        .send(Method::PATCH, &path(&by_resharer), &friend, Some(json!({"permission": "can_share"})))
        .await;
    let leaves = app.send(Method::DELETE, &path(&by_resharer), &friend, None).await;

    assert_eq!(creator_changes.status, StatusCode::OK);
    assert_eq!(not_theirs.status, StatusCode::FORBIDDEN);
    assert_eq!(recipient_changes.status, StatusCode::FORBIDDEN);
    assert_eq!(leaves.status, StatusCode::NO_CONTENT);
}

#[tokio::test(flavor = "multi_thread")]
async fn share_unshare_change_and_delete_leave_access_log_rows() {
    let app = TestApp::new().await;
    let (_, owner) = app.signed_in().await;
    let id = document(&app, &owner).await;
    let (viewer_user, _) = app.signed_in().await;

    let shared = share(&app, &owner, &id, &viewer_user.email, "view_only").await;
    let share_path = format!("/api/v1/shares/{}", shared["id"].as_str().unwrap());
    app.send(Method::PATCH, &share_path, &owner, Some(json!({"permission": "collaborator"}))).await;
    app.send(Method::DELETE, &share_path, &owner, None).await;
    let activity = app.get(&format!("/api/v1/documents/{id}/activity"), &owner).await.json();
    app.send(Method::DELETE, &format!("/api/v1/documents/{id}"), &owner, None).await;

    let actions: Vec<&str> = activity["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["unshare", "permission_change", "share"]);
    let mut conn = app.db.conn().await;
    let logged: Vec<(String, Option<String>, Option<String>)> = access_log::table
        .order(access_log::id)
        .select((access_log::action, access_log::client_addr, access_log::user_agent))
        .load(&mut conn)
        .await
        .unwrap();
    let logged_actions: Vec<&str> = logged.iter().map(|row| row.0.as_str()).collect();
    assert_eq!(logged_actions, ["share", "permission_change", "unshare", "delete"]);
    assert!(logged.iter().all(|row| row.1.as_deref() == Some("203.0.113.7")));
}

#[tokio::test(flavor = "multi_thread")]
async fn share_creation_is_rate_limited_per_user() {
    let app = TestApp::builder().env("ORATOR_SHARES_PER_HOUR", "2").build().await;
    let (_, owner) = app.signed_in().await;
    let id = document(&app, &owner).await;
    let path = format!("/api/v1/documents/{id}/shares");

    let mut statuses = Vec::new();
    for n in 0..3 {
        let body = json!({"email": format!("friend{n}@example.com"), "permission": "view_only"});
        statuses.push(app.post(&path, &owner, body).await.status);
    }

    assert_eq!(statuses, [StatusCode::CREATED, StatusCode::CREATED, StatusCode::TOO_MANY_REQUESTS]);
}

#[tokio::test(flavor = "multi_thread")]
async fn owners_who_choose_to_show_their_email_are_shown_to_sharees() {
    let app = TestApp::new().await;
    let (owner_user, owner) = app.signed_in().await;
    let id = document(&app, &owner).await;
    let (_, viewer) = sharee(&app, &owner, &id, "view_only").await;

    app.send(Method::PATCH, "/api/v1/me", &owner, Some(json!({"show_email_to_sharees": true})))
        .await;
    let listed = app.get("/api/v1/shared-with-me", &viewer).await.json();

    assert_eq!(listed["items"][0]["owner"]["email"], owner_user.email);
}
