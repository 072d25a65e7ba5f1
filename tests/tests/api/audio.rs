//! Audio: the voice catalogue, asking for audio (with its refusals and its race-free quota),
//! synthesis through the worker's code path with both engines, playback, download, deletion
//! and retry, and the engine faults the worker must survive.

use std::time::Duration;

use actix_web::http::{Method, StatusCode, header};
use actix_web::test::TestRequest;
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use orator_domain::audios;
use orator_domain::jobs::{self, Job};
use orator_domain::schema::{
    access_log, audios as audio_rows, pages, site_settings, task_failures,
};
use orator_speech::testing::{Answer, PollyServer};
use orator_tests::{As, TestApp};
use serde_json::{Value, json};
use uuid::Uuid;

/// A page with a few sentences to read.
const PROSE: &str = "# Chapter one\n\nDr. Smith walked to the U.S. embassy. It was a bright, \
                     cold day in April.\n\n- Bring the [map](https://example.com/map).\n- Mind \
                     the time.\n";

/// How long a test waits for its jobs.
const JOB_TIME: Duration = Duration::from_secs(60);

/// An app whose job retries come almost at once.
fn quick_retries() -> orator_tests::TestAppBuilder {
    TestApp::builder().env("ORATOR_JOB_BACKOFF_BASE_MS", "1").env("ORATOR_JOB_BACKOFF_MAX_MS", "5")
}

/// An app speaking through Polly at `server` (the real SDK client, static test keys, a
/// loopback endpoint), with quick retries.
fn polly_builder(server: &PollyServer) -> orator_tests::TestAppBuilder {
    quick_retries()
        .env("ORATOR_SPEECH_ENGINE", "polly")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ENDPOINT_URL_POLLY", &server.endpoint)
        .env("AWS_ACCESS_KEY_ID", "AKIDORATORTEST")
        .env("AWS_SECRET_ACCESS_KEY", "orator-test-secret")
        .env("ORATOR_SPEECH_CALL_TIMEOUT_SECS", "2")
}

async fn polly_app(server: &PollyServer) -> TestApp {
    polly_builder(server).build().await
}

async fn ask(app: &TestApp, who: &As, page: Uuid, voice: &str) -> orator_tests::TestResponse {
    app.post(&format!("/api/v1/pages/{page}/audios"), who, json!({ "voice": voice })).await
}

async fn audio_json(app: &TestApp, who: &As, audio: &str) -> Value {
    let response = app.get(&format!("/api/v1/audios/{audio}"), who).await;
    assert_eq!(response.status, StatusCode::OK, "{}", response.text());
    response.json()
}

fn path_of(url: &str) -> String {
    let parsed = url::Url::parse(url).unwrap();
    format!("{}?{}", parsed.path(), parsed.query().unwrap_or_default())
}

async fn audio_row(app: &TestApp, id: Uuid) -> audios::Audio {
    let mut conn = app.db.conn().await;
    audio_rows::table.find(id).select(audios::Audio::as_select()).first(&mut conn).await.unwrap()
}

async fn set_site(app: &TestApp, generation: bool, max_per_page: i32) {
    let mut conn = app.db.conn().await;
    diesel::update(site_settings::table)
        .set((
            site_settings::generation_enabled.eq(generation),
            site_settings::max_audios_per_page.eq(max_per_page),
        ))
        .execute(&mut conn)
        .await
        .unwrap();
}

/// The access-log actions recorded for an audio, oldest first.
async fn logged_actions(app: &TestApp, audio: Uuid) -> Vec<String> {
    let mut conn = app.db.conn().await;

    access_log::table
        .filter(access_log::audio_id.eq(audio))
        .order(access_log::id)
        .select(access_log::action)
        .load(&mut conn)
        .await
        .unwrap()
}

/// The outbox id of the app's (only) synthesis job.
async fn synthesis_job(app: &TestApp) -> i64 {
    use orator_domain::schema::job_outbox;

    let mut conn = app.db.conn().await;
    job_outbox::table
        .filter(job_outbox::kind.eq("synthesize_audio"))
        .select(job_outbox::id)
        .first(&mut conn)
        .await
        .unwrap()
}

/// Decodes an MP3 with the `lame` program; `Err` when it reports a problem.
fn decode_with_lame(mp3: &[u8]) -> Result<Vec<u8>, String> {
    use std::io::Write;
    use std::process::{Command, Stdio};

    let mut child = Command::new("lame")
        .args(["--decode", "--mp3input", "--quiet", "-", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|err| format!("lame did not start: {err}"))?;
    let mut stdin = child.stdin.take().unwrap();
    let input = mp3.to_vec();
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let output = child.wait_with_output().map_err(|err| err.to_string())?;
    writer.join().unwrap().map_err(|err| err.to_string())?;

    if !output.status.success() || !output.stderr.is_empty() {
        return Err(String::from_utf8_lossy(&output.stderr).into_owned());
    }
    Ok(output.stdout)
}

#[tokio::test(flavor = "multi_thread")]
async fn the_voice_list_is_the_local_engines_catalogue() {
    let app = TestApp::new().await;
    let (_user, who) = app.signed_in().await;

    let response = app.get("/api/v1/voices", &who).await;

    assert_eq!(response.status, StatusCode::OK);
    let body = response.json();
    assert_eq!(body["engine"], "local");
    assert_eq!(body["available"], true);
    let voices = body["voices"].as_array().unwrap();
    assert!(voices.len() >= 50, "only {} voices", voices.len());
    let english = voices.iter().find(|voice| voice["id"] == "en-us").unwrap();
    assert_eq!(english["engines"], json!(["local"]));
    assert!(english["name"].as_str().is_some_and(|name| !name.is_empty()));
    assert_eq!(app.get("/api/v1/voices", &As::Anonymous).await.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_engine_is_reported_and_generation_answers_503() {
    let app = TestApp::builder().env("ORATOR_ESPEAK_PATH", "/nonexistent/espeak-ng").build().await;
    let (user, who) = app.signed_in().await;
    let (_document, page) = app.ready_page(user.id, "Silent", PROSE).await;

    let voices = app.get("/api/v1/voices", &who).await;
    let asked = ask(&app, &who, page.id, "en-us").await;

    assert_eq!(voices.status, StatusCode::OK);
    assert_eq!(voices.json()["available"], false);
    assert_eq!(voices.json()["voices"], json!([]));
    assert_eq!(asked.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(asked.code(), "speech_engine_unavailable");
    assert!(asked.header("retry-after").is_some());
    assert!(audios::list_for_page(&mut app.db.conn().await, page.id).await.unwrap().is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn local_audio_plays_decodes_and_matches_its_duration() {
    let app = TestApp::new().await;
    let (_user, who) = app.signed_in().await;
    let created = app.post("/api/v1/documents", &who, json!({ "text": PROSE })).await;
    let document = created.json()["id"].as_str().unwrap().to_owned();
    app.run_pending_jobs().await;
    let pages = app.get(&format!("/api/v1/documents/{document}/pages"), &who).await;
    let page = pages.json()["items"][0]["id"].as_str().unwrap().parse::<Uuid>().unwrap();

    let asked = ask(&app, &who, page, "en-us").await;
    assert_eq!(asked.status, StatusCode::ACCEPTED, "{}", asked.text());
    assert_eq!(asked.json()["status"], "queued");
    let audio = asked.json()["id"].as_str().unwrap().to_owned();
    app.run_jobs_to_completion(JOB_TIME).await;
    let ready = audio_json(&app, &who, &audio).await;
    let played = app.post(&format!("/api/v1/audios/{audio}/play"), &who, json!({})).await;
    let url = played.json()["url"].as_str().unwrap().to_owned();
    let whole = app.get(&path_of(&url), &As::Anonymous).await;
    let ranged = app
        .call(TestRequest::get().uri(&path_of(&url)).insert_header((header::RANGE, "bytes=0-99")))
        .await;

    assert_eq!(ready["status"], "ready", "{ready}");
    assert_eq!(ready["engine"], "local");
    assert!(ready["days_until_expiry"].as_i64().is_some_and(|days| days > 0));
    assert_eq!(played.status, StatusCode::OK);
    assert!(played.json()["expires_at"].is_string());
    assert_eq!(whole.status, StatusCode::OK);
    assert_eq!(whole.header("content-type").as_deref(), Some("audio/mpeg"));
    assert_eq!(ranged.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(ranged.body.len(), 100);
    let probe = orator_speech::probe(&whole.body).unwrap();
    assert_eq!(i64::try_from(probe.duration_ms).unwrap(), ready["duration_ms"].as_i64().unwrap());
    assert!(probe.duration_ms > 1_000, "{} ms of speech", probe.duration_ms);
    assert_eq!(ready["size_bytes"].as_i64().unwrap(), i64::try_from(whole.body.len()).unwrap());
    let pcm = decode_with_lame(&whole.body).unwrap();
    assert!(pcm.len() > 44, "decoded to {} bytes", pcm.len());
    let char_count = ready["char_count"].as_i64().unwrap();
    assert!(char_count > 50 && char_count < i64::try_from(PROSE.len()).unwrap());
    let listened = audio_json(&app, &who, &audio).await;
    assert!(listened["last_played_at"].is_string(), "the play was recorded");
    assert_eq!(logged_actions(&app, audio.parse().unwrap()).await, ["generate", "play"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_requests_for_one_voice_make_exactly_one_audio() {
    let app = TestApp::builder()
        .env("ORATOR_DATABASE_POOL_SIZE", "16")
        .env("ORATOR_DATABASE_ACQUIRE_TIMEOUT_MS", "10000")
        .build()
        .await;
    let (user, who) = app.signed_in().await;

    for round in 0..3 {
        let (_document, page) = app.ready_page(user.id, "Race", PROSE).await;

        let answers =
            futures::future::join_all((0..50).map(|_| ask(&app, &who, page.id, "en-gb"))).await;

        let created = answers.iter().filter(|a| a.status == StatusCode::ACCEPTED).count();
        let in_use = answers.iter().filter(|a| a.code() == "voice_in_use").count();
        assert_eq!((created, in_use), (1, 49), "round {round}");
        let mut conn = app.db.conn().await;
        let count: i32 = pages::table
            .find(page.id)
            .select(pages::audios_created)
            .first(&mut conn)
            .await
            .unwrap();
        assert_eq!(count, 1, "round {round}: the counter moved once");
        assert_eq!(audios::list_for_page(&mut conn, page.id).await.unwrap().len(), 1);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn fifty_requests_for_distinct_voices_fill_the_quota_exactly() {
    let app = TestApp::builder()
        .env("ORATOR_DATABASE_POOL_SIZE", "16")
        .env("ORATOR_DATABASE_ACQUIRE_TIMEOUT_MS", "10000")
        .build()
        .await;
    let (user, who) = app.signed_in().await;
    let catalogue = app.get("/api/v1/voices", &who).await.json();
    let voices: Vec<String> = catalogue["voices"]
        .as_array()
        .unwrap()
        .iter()
        .take(50)
        .map(|voice| voice["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(voices.len(), 50);

    for round in 0..3 {
        let (_document, page) = app.ready_page(user.id, "Quota", PROSE).await;

        let answers =
            futures::future::join_all(voices.iter().map(|voice| ask(&app, &who, page.id, voice)))
                .await;

        let created = answers.iter().filter(|a| a.status == StatusCode::ACCEPTED).count();
        let refused = answers.iter().filter(|a| a.code() == "audio_quota_exhausted").count();
        assert_eq!((created, refused), (4, 46), "round {round}");
        assert!(answers.iter().all(|a| !a.status.is_server_error()));
        let mut conn = app.db.conn().await;
        assert_eq!(audios::list_for_page(&mut conn, page.id).await.unwrap().len(), 4);
        let jobs: i64 = orator_domain::schema::job_outbox::table
            .filter(orator_domain::schema::job_outbox::kind.eq("synthesize_audio"))
            .count()
            .get_result(&mut conn)
            .await
            .unwrap();
        assert_eq!(jobs, 4 * (round + 1), "one job per audio, none for refusals");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn refusals_each_have_their_own_code() {
    let app = TestApp::new().await;
    let (owner, who) = app.signed_in().await;
    let (_stranger, stranger) = app.signed_in().await;
    let unverified = app.user_with(false).await;
    let unverified = As::Bearer(app.login(&unverified).await.token);
    let (document, page) = app.ready_page(owner.id, "Refusals", PROSE).await;
    let (_other, empty) =
        app.ready_page(owner.id, "Empty", "![chart](c.png)\n\n```\nx\n```\n").await;
    let viewer = app.user().await;
    let viewer_who = As::Bearer(app.login(&viewer).await.token);
    let shared = app
        .post(
            &format!("/api/v1/documents/{}/shares", document.id),
            &who,
            json!({ "email": viewer.email, "permission": "view_only" }),
        )
        .await;
    assert!(shared.status.is_success(), "{}", shared.text());

    let missing = ask(&app, &who, Uuid::now_v7(), "en-gb").await;
    let invisible = ask(&app, &stranger, page.id, "en-gb").await;
    let view_only = ask(&app, &viewer_who, page.id, "en-gb").await;
    let not_verified = ask(&app, &unverified, page.id, "en-gb").await;
    let unknown = ask(&app, &who, page.id, "zz-nope").await;
    let blank = ask(&app, &who, page.id, "").await;
    let nothing_to_say = ask(&app, &who, empty.id, "en-gb").await;
    let first = ask(&app, &who, page.id, "en-gb").await;
    let again = ask(&app, &who, page.id, "en-gb").await;
    set_site(&app, false, 4).await;
    let disabled = ask(&app, &who, page.id, "de").await;

    let codes = [
        (missing.status, missing.code()),
        (invisible.status, invisible.code()),
        (view_only.status, view_only.code()),
        (not_verified.status, not_verified.code()),
        (unknown.status, unknown.code()),
        (blank.status, blank.code()),
        (nothing_to_say.status, nothing_to_say.code()),
        (first.status, first.json()["status"].as_str().unwrap_or_default().to_owned()),
        (again.status, again.code()),
        (disabled.status, disabled.code()),
    ];
    let expected = [
        (StatusCode::NOT_FOUND, "not_found"),
        (StatusCode::NOT_FOUND, "not_found"),
        (StatusCode::FORBIDDEN, "permission_denied"),
        (StatusCode::FORBIDDEN, "email_unverified"),
        (StatusCode::UNPROCESSABLE_ENTITY, "unknown_voice"),
        (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"),
        (StatusCode::UNPROCESSABLE_ENTITY, "page_empty"),
        (StatusCode::ACCEPTED, "queued"),
        (StatusCode::CONFLICT, "voice_in_use"),
        (StatusCode::FORBIDDEN, "generation_disabled"),
    ];
    let expected = expected.map(|(status, code)| (status, code.to_owned()));
    assert_eq!(codes, expected);
    assert_eq!(audios::list_for_page(&mut app.db.conn().await, page.id).await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn refusal_messages_are_translated() {
    let app = TestApp::new().await;
    let (owner, who) = app.signed_in().await;
    let (_document, page) = app.ready_page(owner.id, "Idiomas", PROSE).await;
    let As::Bearer(token) = &who else { unreachable!() };

    let response = app
        .call(
            TestRequest::post()
                .uri(&format!("/api/v1/pages/{}/audios", page.id))
                .insert_header((header::AUTHORIZATION, format!("Bearer {token}")))
                .insert_header((header::ACCEPT_LANGUAGE, "es"))
                .set_json(json!({ "voice": "zz-nope" })),
        )
        .await;

    assert_eq!(response.code(), "unknown_voice");
    assert_eq!(response.json()["title"], "Voz desconocida");
}

#[tokio::test(flavor = "multi_thread")]
async fn deleting_frees_the_voice_but_keeps_the_lifetime_count() {
    let app = TestApp::new().await;
    let (owner, who) = app.signed_in().await;
    let (_document, page) = app.ready_page(owner.id, "Lifetime", PROSE).await;
    set_site(&app, true, 3).await;

    let first = ask(&app, &who, page.id, "en-gb").await.json()["id"].as_str().unwrap().to_owned();
    app.run_jobs_to_completion(JOB_TIME).await;
    let key = audio_row(&app, first.parse().unwrap()).await.storage_key.unwrap();
    assert!(app.state.storage.get(&key).await.is_ok());
    let deleted = app.send(Method::DELETE, &format!("/api/v1/audios/{first}"), &who, None).await;
    app.run_jobs_to_completion(JOB_TIME).await;
    let gone = app.get(&format!("/api/v1/audios/{first}"), &who).await;
    let again = ask(&app, &who, page.id, "en-gb").await;
    let third = ask(&app, &who, page.id, "de").await;
    let over = ask(&app, &who, page.id, "fr-fr").await;
    let listed = app.get(&format!("/api/v1/pages/{}/audios", page.id), &who).await.json();

    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert!(app.state.storage.get(&key).await.is_err(), "the stored audio was removed");
    assert_eq!(again.status, StatusCode::ACCEPTED, "the voice is free again");
    assert_eq!(third.status, StatusCode::ACCEPTED);
    assert_eq!(over.code(), "audio_quota_exhausted", "deleted audios still count");
    assert_eq!(listed["items"].as_array().unwrap().len(), 2);
    assert_eq!(listed["quota"], json!({ "used": 3, "max": 3, "remaining": 0 }));
    let actions = logged_actions(&app, first.parse().unwrap()).await;
    assert_eq!(actions, ["generate", "delete"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn downloads_redirect_to_an_attachment_named_after_the_page() {
    let app = TestApp::new().await;
    let (owner, who) = app.signed_in().await;
    let (_document, page) = app.ready_page(owner.id, "Notes: \"draft\"/v2", PROSE).await;
    let audio = ask(&app, &who, page.id, "en-us").await.json()["id"].as_str().unwrap().to_owned();
    let early = app.get(&format!("/api/v1/audios/{audio}/download"), &who).await;
    app.run_jobs_to_completion(JOB_TIME).await;

    let download = app.get(&format!("/api/v1/audios/{audio}/download"), &who).await;
    let location = download.header("location").unwrap();
    let file = app.get(&path_of(&location), &As::Anonymous).await;

    assert_eq!(early.code(), "audio_not_ready");
    assert_eq!(download.status, StatusCode::FOUND);
    assert_eq!(file.status, StatusCode::OK);
    let disposition = file.header("content-disposition").unwrap();
    assert!(disposition.starts_with("attachment;"), "{disposition}");
    assert!(disposition.contains("page 1 - en-us.mp3"), "{disposition}");
    assert!(!disposition.contains('/') || disposition.contains("filename*="), "{disposition}");
    let actions = logged_actions(&app, audio.parse().unwrap()).await;
    assert_eq!(actions, ["generate", "download"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn shared_listeners_may_play_but_only_owner_or_requester_may_delete() {
    let app = TestApp::new().await;
    let (owner, who) = app.signed_in().await;
    let (document, page) = app.ready_page(owner.id, "Shared", PROSE).await;
    let viewer = app.user().await;
    let collaborator = app.user().await;
    for (user, permission) in [(&viewer, "view_only"), (&collaborator, "collaborator")] {
        let body = json!({ "email": user.email, "permission": permission });
        app.post(&format!("/api/v1/documents/{}/shares", document.id), &who, body).await;
    }
    let viewer = As::Bearer(app.login(&viewer).await.token);
    let collaborator = As::Bearer(app.login(&collaborator).await.token);
    let by_owner =
        ask(&app, &who, page.id, "en-gb").await.json()["id"].as_str().unwrap().to_owned();
    let by_collaborator =
        ask(&app, &collaborator, page.id, "de").await.json()["id"].as_str().unwrap().to_owned();
    app.run_jobs_to_completion(JOB_TIME).await;

    let played = app.post(&format!("/api/v1/audios/{by_owner}/play"), &viewer, json!({})).await;
    let viewer_delete =
        app.send(Method::DELETE, &format!("/api/v1/audios/{by_owner}"), &viewer, None).await;
    let collaborator_delete_other =
        app.send(Method::DELETE, &format!("/api/v1/audios/{by_owner}"), &collaborator, None).await;
    let collaborator_delete_own = app
        .send(Method::DELETE, &format!("/api/v1/audios/{by_collaborator}"), &collaborator, None)
        .await;

    assert_eq!(played.status, StatusCode::OK);
    assert_eq!(viewer_delete.code(), "permission_denied");
    assert_eq!(collaborator_delete_other.code(), "permission_denied");
    assert_eq!(collaborator_delete_own.status, StatusCode::NO_CONTENT);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_voice_preview_is_made_once_and_served_signed() {
    let app = TestApp::new().await;
    let (_user, who) = app.signed_in().await;

    let first = app.get("/api/v1/voices/en-us/preview", &who).await;
    let second = app.get("/api/v1/voices/en-us/preview", &who).await;
    let unknown = app.get("/api/v1/voices/zz-nope/preview", &who).await;
    let sample = app.get(&path_of(&first.header("location").unwrap()), &As::Anonymous).await;

    assert_eq!(first.status, StatusCode::FOUND);
    assert_eq!(second.status, StatusCode::FOUND);
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(sample.status, StatusCode::OK);
    assert!(orator_speech::probe(&sample.body).unwrap().duration_ms > 500);
    let mut conn = app.db.conn().await;
    let previews: i64 =
        orator_domain::schema::voice_previews::table.count().get_result(&mut conn).await.unwrap();
    assert_eq!(previews, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn preferred_voices_are_checked_against_the_catalogue() {
    let app = TestApp::new().await;
    let (_user, who) = app.signed_in().await;

    let known =
        app.send(Method::PATCH, "/api/v1/me", &who, Some(json!({"preferred_voice": "en-us"})));
    let known = known.await;
    let unknown =
        app.send(Method::PATCH, "/api/v1/me", &who, Some(json!({"preferred_voice": "zz-nope"})));
    let unknown = unknown.await;

    assert_eq!(known.status, StatusCode::OK, "{}", known.text());
    assert_eq!(known.json()["preferred_voice"], "en-us");
    assert_eq!(unknown.code(), "unknown_voice");
}

#[tokio::test(flavor = "multi_thread")]
async fn polly_throttling_is_retried_into_one_ready_audio() {
    let throttled = Answer::Error("ThrottlingException", 400);
    let server = PollyServer::scripted(vec![throttled], Answer::Succeed).await;
    let app = polly_app(&server).await;
    let (owner, who) = app.signed_in().await;
    let (_document, page) = app.ready_page(owner.id, "Busy", PROSE).await;

    let asked = ask(&app, &who, page.id, "Joanna").await;
    let audio: Uuid = asked.json()["id"].as_str().unwrap().parse().unwrap();
    orator_worker::process(&app.worker_context(), synthesis_job(&app).await).await.unwrap();
    let between = audio_row(&app, audio).await;
    app.run_jobs_to_completion(JOB_TIME).await;

    assert_eq!(between.status, "queued", "waiting for its next attempt");
    let row = audio_row(&app, audio).await;
    assert_eq!(row.status, "ready");
    assert_eq!(row.engine, "polly");
    assert_eq!(row.attempts, 2);
    assert_eq!(server.speech_calls(), 2);
    let mut conn = app.db.conn().await;
    let failures: Vec<(String, bool, String)> = task_failures::table
        .filter(task_failures::audio_id.eq(audio))
        .select((task_failures::error_code, task_failures::final_, task_failures::message))
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(failures.len(), 1);
    assert_eq!((failures[0].0.as_str(), failures[0].1), ("speech_throttled", false));
    assert!(!failures[0].2.contains("Smith"), "no page text in failure records");
    let stored = app.state.storage.get(row.storage_key.as_deref().unwrap()).await.unwrap();
    let probed = orator_speech::probe(&stored).unwrap().duration_ms;
    assert_eq!(i64::try_from(probed).unwrap(), row.duration_ms.unwrap());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_permanent_polly_error_fails_the_audio_at_once() {
    let denied = Answer::Error("AccessDeniedException", 403);
    let server = PollyServer::scripted(vec![], denied).await;
    let app = polly_app(&server).await;
    let (owner, who) = app.signed_in().await;
    let (_document, page) = app.ready_page(owner.id, "Denied", PROSE).await;

    let asked = ask(&app, &who, page.id, "Joanna").await;
    let audio = asked.json()["id"].as_str().unwrap().to_owned();
    app.run_jobs_to_completion(JOB_TIME).await;
    let view = audio_json(&app, &who, &audio).await;
    let retry = app.post(&format!("/api/v1/audios/{audio}/retry"), &who, json!({})).await;

    assert_eq!(view["status"], "failed");
    assert_eq!(view["error"]["code"], "speech_access_denied");
    assert!(view["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert_eq!(server.speech_calls(), 1, "a permanent error is not retried");
    let mut conn = app.db.conn().await;
    let finals: Vec<bool> = task_failures::table
        .filter(task_failures::audio_id.eq(audio.parse::<Uuid>().unwrap()))
        .select(task_failures::final_)
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(finals, [true]);
    assert_eq!(retry.status, StatusCode::ACCEPTED, "a failed audio can be retried");
    assert_eq!(retry.json()["status"], "queued");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_worker_lost_mid_synthesis_is_recovered_by_the_sweeper() {
    let server = PollyServer::start(Answer::Succeed).await;
    let app = polly_app(&server).await;
    let (owner, who) = app.signed_in().await;
    let (_document, page) = app.ready_page(owner.id, "Crash", PROSE).await;
    let asked = ask(&app, &who, page.id, "Matthew").await;
    let audio: Uuid = asked.json()["id"].as_str().unwrap().parse().unwrap();
    let job = synthesis_job(&app).await;

    // A worker claims the job and the audio, then dies: its lease runs out.
    let mut conn = app.db.conn().await;
    jobs::claim(&mut conn, job, chrono::Duration::milliseconds(-1)).await.unwrap().unwrap();
    audios::claim_for_synthesis(&mut conn, audio, chrono::Duration::milliseconds(-1))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(audio_row(&app, audio).await.status, "synthesizing");
    orator_worker::sweep_once(&app.worker_context(), chrono::Duration::minutes(10)).await.unwrap();
    app.run_jobs_to_completion(JOB_TIME).await;

    let row = audio_row(&app, audio).await;
    assert_eq!(row.status, "ready");
    assert_eq!(row.attempts, 2, "the lost attempt counts");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lost_last_attempt_fails_the_audio_instead_of_leaving_it_synthesizing() {
    let server = PollyServer::start(Answer::Succeed).await;
    let app = polly_builder(&server).env("ORATOR_JOB_MAX_ATTEMPTS", "1").build().await;
    let (owner, who) = app.signed_in().await;
    let (_document, page) = app.ready_page(owner.id, "Last", PROSE).await;
    let audio = ask(&app, &who, page.id, "Joanna").await.json()["id"].as_str().unwrap().to_owned();
    let job = synthesis_job(&app).await;

    let mut conn = app.db.conn().await;
    jobs::claim(&mut conn, job, chrono::Duration::milliseconds(-1)).await.unwrap().unwrap();
    audios::claim_for_synthesis(&mut conn, audio.parse().unwrap(), chrono::Duration::minutes(-1))
        .await
        .unwrap();
    orator_worker::sweep_once(&app.worker_context(), chrono::Duration::minutes(10)).await.unwrap();
    let view = audio_json(&app, &who, &audio).await;

    assert_eq!(view["status"], "failed");
    assert_eq!(view["error"]["code"], "synthesis_failed");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_run_twice_leaves_one_object_and_one_row() {
    let server = PollyServer::start(Answer::Succeed).await;
    let app = polly_app(&server).await;
    let (owner, who) = app.signed_in().await;
    let (document, page) = app.ready_page(owner.id, "Twice", PROSE).await;
    let audio: Uuid =
        ask(&app, &who, page.id, "Joanna").await.json()["id"].as_str().unwrap().parse().unwrap();
    app.run_jobs_to_completion(JOB_TIME).await;
    let calls = server.speech_calls();

    let mut conn = app.db.conn().await;
    let job = Job::SynthesizeAudio { audio_id: audio };
    jobs::enqueue(&mut conn, &job, 3, chrono::Utc::now()).await.unwrap();
    app.run_jobs_to_completion(JOB_TIME).await;

    assert_eq!(server.speech_calls(), calls, "the second run found the audio ready");
    let rows: i64 = audio_rows::table
        .filter(audio_rows::page_id.eq(page.id))
        .count()
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(rows, 1);
    let prefix = format!("audio/{}/{}/", document.id, page.id);
    let stored = app
        .state
        .storage
        .list_older_than(&prefix, std::time::SystemTime::now() + Duration::from_secs(60), 10)
        .await
        .unwrap();
    assert_eq!(stored, [audios::storage_key(document.id, page.id, audio)]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_hung_engine_times_out_and_is_retried() {
    let server = PollyServer::scripted(vec![Answer::Hang], Answer::Succeed).await;
    let app = polly_app(&server).await;
    let (owner, who) = app.signed_in().await;
    let (_document, page) = app.ready_page(owner.id, "Slow", PROSE).await;

    let audio: Uuid =
        ask(&app, &who, page.id, "Joanna").await.json()["id"].as_str().unwrap().parse().unwrap();
    app.run_jobs_to_completion(JOB_TIME).await;

    let row = audio_row(&app, audio).await;
    assert_eq!(row.status, "ready");
    let mut conn = app.db.conn().await;
    let codes: Vec<String> = task_failures::table
        .filter(task_failures::audio_id.eq(audio))
        .select(task_failures::error_code)
        .load(&mut conn)
        .await
        .unwrap();
    assert_eq!(codes, ["speech_timeout"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn retries_need_a_failed_audio_and_are_rate_limited() {
    let server = PollyServer::scripted(vec![], Answer::Error("InvalidSsmlException", 400)).await;
    let app = polly_builder(&server).env("ORATOR_AUDIO_RETRIES_PER_HOUR", "1").build().await;
    let (owner, who) = app.signed_in().await;
    let (_document, page) = app.ready_page(owner.id, "Retry", PROSE).await;
    let audio = ask(&app, &who, page.id, "Joanna").await.json()["id"].as_str().unwrap().to_owned();
    let too_early = app.post(&format!("/api/v1/audios/{audio}/retry"), &who, json!({})).await;
    app.run_jobs_to_completion(JOB_TIME).await;

    let first = app.post(&format!("/api/v1/audios/{audio}/retry"), &who, json!({})).await;
    app.run_jobs_to_completion(JOB_TIME).await;
    let second = app.post(&format!("/api/v1/audios/{audio}/retry"), &who, json!({})).await;

    assert_eq!(too_early.code(), "not_failed");
    assert_eq!(first.status, StatusCode::ACCEPTED);
    assert_eq!(second.code(), "rate_limited");
    assert!(second.header("retry-after").is_some());
    let row = audio_row(&app, audio.parse().unwrap()).await;
    assert_eq!(row.error_code.as_deref(), Some("speech_rejected"));
}

#[tokio::test(flavor = "multi_thread")]
async fn polly_voices_are_those_of_the_configured_voice_technology() {
    let server = PollyServer::start(Answer::Succeed).await;
    let standard = polly_app(&server).await;
    let neural = polly_builder(&server).env("ORATOR_POLLY_ENGINE", "neural").build().await;
    let (_user, who) = standard.signed_in().await;
    let (_other, neural_who) = neural.signed_in().await;

    let listed = standard.get("/api/v1/voices", &who).await.json();
    let neural_listed = neural.get("/api/v1/voices", &neural_who).await.json();

    let ids = |body: &Value| -> Vec<String> {
        body["voices"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v["id"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(listed["engine"], "polly");
    assert_eq!(ids(&listed), ["Joanna", "Matthew"]);
    assert_eq!(ids(&neural_listed), ["Matthew"]);
    assert_eq!(listed["voices"][1]["gender"], "male");
}

#[tokio::test(flavor = "multi_thread")]
async fn polly_audio_is_stored_in_s3_and_streams_from_a_presigned_url() {
    let s3 = orator_storage::testing::S3sFs::start();
    let polly = PollyServer::start(Answer::Succeed).await;
    let mut builder = polly_builder(&polly);
    for (name, value) in s3.settings() {
        builder = builder.env(name, &value);
    }
    let app = builder.build().await;
    let (owner, who) = app.signed_in().await;
    let (document, page) = app.ready_page(owner.id, "Cloud", PROSE).await;

    let audio = ask(&app, &who, page.id, "Joanna").await.json()["id"].as_str().unwrap().to_owned();
    app.run_jobs_to_completion(JOB_TIME).await;
    let ready = audio_json(&app, &who, &audio).await;
    let played = app.post(&format!("/api/v1/audios/{audio}/play"), &who, json!({})).await;
    let url = played.json()["url"].as_str().unwrap().to_owned();

    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let whole = http.get(&url).send().await.unwrap();
    let status = whole.status();
    let content_type = whole.headers().get("content-type").cloned();
    let bytes = whole.bytes().await.unwrap();
    let ranged = http.get(&url).header("range", "bytes=0-99").send().await.unwrap();

    assert_eq!(ready["status"], "ready");
    assert!(url.starts_with(&s3.endpoint()), "a presigned S3 URL");
    assert_eq!(status.as_u16(), 200);
    assert_eq!(content_type.unwrap().to_str().unwrap(), "audio/mpeg");
    assert_eq!(ranged.status().as_u16(), 206);
    let probed = orator_speech::probe(&bytes).unwrap();
    assert_eq!(i64::try_from(probed.duration_ms).unwrap(), ready["duration_ms"].as_i64().unwrap());
    let key = audios::storage_key(document.id, page.id, audio.parse().unwrap());
    assert!(s3.object_file(&key).is_file(), "the object is in the bucket under its key");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_engine_call_rate_is_shared_by_every_replica() {
    use orator_kv::Decision;

    let app = TestApp::new().await;
    let replica = app.replica().await;

    let mut allowed = 0;
    let mut waits = Vec::new();
    for kv in [&app.state.kv, &replica.state.kv, &app.state.kv, &replica.state.kv] {
        for _ in 0..3 {
            match kv.take_slot("speech-calls", 5).await.unwrap() {
                Decision::Allowed => allowed += 1,
                Decision::Limited { retry_after } => waits.push(retry_after),
            }
        }
    }

    // All twelve calls fall in one or two one-second windows: at most ten fit.
    assert!((5..=10).contains(&allowed), "{allowed} calls allowed");
    assert!(!waits.is_empty());
    assert!(waits.iter().all(|wait| *wait <= Duration::from_secs(1) && !wait.is_zero()));
}
