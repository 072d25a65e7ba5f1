//! The access matrix: every document, page, share and audio endpoint, called by every kind of
//! caller on every kind of target, compared with the checked-in table in
//! `tests/snapshots/access_matrix.txt`. Run with `ORATOR_UPDATE_SNAPSHOTS=1` to rewrite it
//! after a deliberate policy change, and review the diff.

use actix_web::http::Method;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use orator_domain::documents;
use orator_domain::schema::{audios, shares, users};
use orator_tests::{As, TestApp, TestUser};
use serde_json::{Value, json};
use uuid::Uuid;

const SNAPSHOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/snapshots/access_matrix.txt");

const CALLERS: [&str; 7] =
    ["anonymous", "owner", "view_only", "collaborator", "can_share", "unrelated", "staff"];
const TARGETS: [&str; 3] = ["document", "unshared", "missing"];

struct Endpoint {
    method: Method,
    path: &'static str,
    body: Option<Value>,
}

fn endpoints() -> Vec<Endpoint> {
    let endpoint =
        |method: Method, path: &'static str, body: Option<Value>| Endpoint { method, path, body };
    vec![
        endpoint(Method::GET, "/documents/{d}", None),
        endpoint(Method::GET, "/documents/{d}/status", None),
        endpoint(Method::PATCH, "/documents/{d}", Some(json!({"title": "Renamed"}))),
        endpoint(Method::POST, "/documents/{d}/retry", None),
        endpoint(Method::GET, "/documents/{d}/pages", None),
        endpoint(Method::GET, "/documents/{d}/pages/1", None),
        endpoint(Method::POST, "/documents/{d}/pages", Some(json!({"text": "Another page."}))),
        endpoint(Method::PATCH, "/pages/{p}", Some(json!({"markdown": "Edited."}))),
        endpoint(Method::GET, "/documents/{d}/shares", None),
        endpoint(
            Method::POST,
            "/documents/{d}/shares",
            Some(json!({"email": "someone.new@example.com", "permission": "view_only"})),
        ),
        endpoint(Method::GET, "/documents/{d}/activity", None),
        endpoint(Method::PATCH, "/shares/{s}", Some(json!({"permission": "collaborator"}))),
        endpoint(Method::DELETE, "/shares/{s}", None),
        endpoint(Method::GET, "/pages/{p}/audios", None),
        endpoint(Method::POST, "/pages/{p}/audios", Some(json!({"voice": "en-gb"}))),
        endpoint(Method::GET, "/audios/{a}", None),
        endpoint(Method::POST, "/audios/{a}/play", None),
        endpoint(Method::GET, "/audios/{a}/download", None),
        endpoint(Method::POST, "/audios/{a}/retry", None),
        endpoint(Method::DELETE, "/audios/{a}", None),
        endpoint(Method::DELETE, "/documents/{d}", None),
    ]
}

struct People {
    owner: TestUser,
    view_only: TestUser,
    collaborator: TestUser,
    can_share: TestUser,
    bystander: TestUser,
    credentials: Vec<(&'static str, As)>,
}

/// A document with one page and a ready audio of it, its shares, and the share of a
/// bystander (the share target).
struct Fixture {
    document: Uuid,
    page: Uuid,
    share: Uuid,
    audio: Uuid,
}

async fn fixture(app: &TestApp, owner: &TestUser, sharees: &[(&TestUser, &str)]) -> Fixture {
    let document = app.document_row(owner.id, "Matrix").await;
    let mut conn = app.db.conn().await;
    let page = documents::append_page(&mut conn, document.id, "A page.").await.unwrap();

    let mut share = Uuid::nil();
    for (user, permission) in sharees {
        let id = Uuid::now_v7();
        diesel::insert_into(shares::table)
            .values((
                shares::id.eq(id),
                shares::document_id.eq(document.id),
                shares::recipient_id.eq(user.id),
                shares::recipient_email.eq(&user.email),
                shares::permission.eq(*permission),
                shares::status.eq("active"),
                shares::created_by.eq(owner.id),
            ))
            .execute(&mut conn)
            .await
            .unwrap();
        share = id;
    }

    let audio = Uuid::now_v7();
    diesel::insert_into(audios::table)
        .values((
            audios::id.eq(audio),
            audios::page_id.eq(page.id),
            audios::document_id.eq(document.id),
            audios::requested_by.eq(owner.id),
            audios::voice.eq("en-us"),
            audios::engine.eq("local"),
            audios::status.eq("ready"),
            audios::storage_key.eq(orator_domain::audios::storage_key(document.id, page.id, audio)),
            audios::ready_at.eq(chrono::Utc::now()),
        ))
        .execute(&mut conn)
        .await
        .unwrap();

    Fixture { document: document.id, page: page.id, share, audio }
}

async fn people(app: &TestApp) -> People {
    let owner = app.user().await;
    let view_only = app.user().await;
    let collaborator = app.user().await;
    let can_share = app.user().await;
    let unrelated = app.user().await;
    let staff = app.user().await;
    let bystander = app.user().await;
    let mut conn = app.db.conn().await;
    diesel::update(users::table.filter(users::id.eq(staff.id)))
        .set(users::is_staff.eq(true))
        .execute(&mut conn)
        .await
        .unwrap();

    let mut credentials = vec![("anonymous", As::Anonymous)];
    for (name, user) in [
        ("owner", &owner),
        ("view_only", &view_only),
        ("collaborator", &collaborator),
        ("can_share", &can_share),
        ("unrelated", &unrelated),
        ("staff", &staff),
    ] {
        credentials.push((name, As::Bearer(app.login(user).await.token)));
    }

    People { owner, view_only, collaborator, can_share, bystander, credentials }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_access_matrix_matches_the_checked_in_table() {
    let app = TestApp::new().await;
    let people = people(&app).await;
    let stranger = app.user().await;
    let sharees = [
        (&people.view_only, "view_only"),
        (&people.collaborator, "collaborator"),
        (&people.can_share, "can_share"),
        (&people.bystander, "view_only"),
    ];

    let mut lines = Vec::new();
    for endpoint in endpoints() {
        for caller in CALLERS {
            let who = &people.credentials.iter().find(|(name, _)| *name == caller).unwrap().1;
            for target in TARGETS {
                // Every cell gets fresh documents, so a mutation never leaks into the next.
                let shared = fixture(&app, &people.owner, &sharees).await;
                let unshared = fixture(&app, &stranger, &[(&people.bystander, "view_only")]).await;
                let (document, page, share, audio) = match target {
                    "document" => (shared.document, shared.page, shared.share, shared.audio),
                    "unshared" => {
                        (unshared.document, unshared.page, unshared.share, unshared.audio)
                    }
                    _ => (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7()),
                };
                let path = endpoint
                    .path
                    .replace("{d}", &document.to_string())
                    .replace("{p}", &page.to_string())
                    .replace("{s}", &share.to_string())
                    .replace("{a}", &audio.to_string());

                let response = app
                    .send(
                        endpoint.method.clone(),
                        &format!("/api/v1{path}"),
                        who,
                        endpoint.body.clone(),
                    )
                    .await;

                lines.push(format!(
                    "{:<6} {:<24} {:<12} {:<8} => {}",
                    endpoint.method.as_str(),
                    endpoint.path,
                    caller,
                    target,
                    response.status.as_u16()
                ));
            }
        }
    }
    let table = lines.join("\n") + "\n";

    if std::env::var_os("ORATOR_UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(SNAPSHOT, &table).unwrap();
    }
    let expected = std::fs::read_to_string(SNAPSHOT).unwrap_or_default();
    assert!(
        table == expected,
        "the access matrix changed; review it and rewrite the table with \
         ORATOR_UPDATE_SNAPSHOTS=1:\n{table}"
    );
}
