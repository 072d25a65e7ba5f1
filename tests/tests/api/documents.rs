//! Documents end to end: creation from each source, processing by the worker, failures,
//! limits, and what happens when a step fails.

use actix_web::http::{Method, StatusCode};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use orator_domain::schema::{documents, job_outbox, pages};
use orator_tests::{As, TestApp, TestResponse};
use serde_json::{Value, json};

async fn wait_ready(app: &TestApp, who: &As, id: &str) -> Value {
    app.run_pending_jobs().await;
    app.get(&format!("/api/v1/documents/{id}"), who).await.json()
}

fn id_of(response: &TestResponse) -> String {
    assert_eq!(response.status, StatusCode::ACCEPTED, "{}", response.text());
    response.json()["id"].as_str().unwrap().to_owned()
}

fn stored_files(app: &TestApp) -> Vec<std::path::PathBuf> {
    fn walk(dir: &std::path::Path, found: &mut Vec<std::path::PathBuf>) {
        for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, found);
            } else {
                found.push(path);
            }
        }
    }
    let mut found = Vec::new();
    walk(&app.data_dir.join("storage"), &mut found);
    found
}

#[tokio::test(flavor = "multi_thread")]
async fn markdown_upload_becomes_pages() {
    let app = TestApp::new().await;
    let (_, who) = app.signed_in().await;
    let markdown =
        "# Chapter one\n\nIt was a bright cold day.\r\n\r\n## Part two\n\nClocks struck.\n";

    let created = app.upload(&who, "novel.md", markdown.as_bytes(), None).await;
    let id = id_of(&created);
    let document = wait_ready(&app, &who, &id).await;
    let page = app.get(&format!("/api/v1/documents/{id}/pages/1"), &who).await.json();

    assert_eq!(created.json()["status"], "pending");
    assert_eq!(created.json()["title"], "novel");
    assert_eq!(created.json()["permission"], "owner");
    assert_eq!(document["status"], "ready", "{document}");
    assert_eq!(document["page_count"], 1);
    assert_eq!(page["markdown"], markdown.replace("\r\n", "\n"));
    assert!(page["html"].as_str().unwrap().contains("<h1>Chapter one</h1>"));
}

#[tokio::test(flavor = "multi_thread")]
async fn pasted_text_survives_byte_for_byte() {
    let app = TestApp::new().await;
    let (_, who) = app.signed_in().await;
    let text = "'; DROP TABLE documents; --\n\nEmoji 🎧📚, CJK 听书很好, RTL مرحبا بالعالم, \u{202e}override";

    let created =
        app.post("/api/v1/documents", &who, json!({"text": text, "title": "Hostile text"})).await;
    let id = id_of(&created);
    wait_ready(&app, &who, &id).await;
    let page = app.get(&format!("/api/v1/documents/{id}/pages/1"), &who).await.json();

    assert_eq!(page["markdown"], text);
    let mut conn = app.db.conn().await;
    let count: i64 = documents::table.count().get_result(&mut conn).await.unwrap();
    assert_eq!(count, 1, "the documents table is intact");
}

#[tokio::test(flavor = "multi_thread")]
async fn long_text_is_split_into_pages_at_paragraphs() {
    let app = TestApp::builder().env("ORATOR_PAGE_MAX_CHARS", "1000").build().await;
    let (_, who) = app.signed_in().await;
    let paragraph = "A sentence that repeats to fill the page with words. ".repeat(6);
    let text: String = (0..12).map(|n| format!("Paragraph {n}. {paragraph}\n\n")).collect();

    let id = id_of(&app.post("/api/v1/documents", &who, json!({"text": text})).await);
    let document = wait_ready(&app, &who, &id).await;
    let listed = app.get(&format!("/api/v1/documents/{id}/pages?limit=100"), &who).await.json();

    let count = document["page_count"].as_i64().unwrap();
    assert!(count >= 4, "{document}");
    for item in listed["items"].as_array().unwrap() {
        assert!(item["char_count"].as_i64().unwrap() <= 1000);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_type_comes_from_the_bytes_not_the_name() {
    let app = TestApp::new().await;
    let (_, who) = app.signed_in().await;
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";

    let binary = app.upload(&who, "picture.txt", png, None).await;
    let lying = app.upload(&who, "report.pdf", b"just some text", None).await;
    let unnamed = app.upload(&who, "notes", b"plain words", None).await;

    assert_eq!(binary.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(binary.code(), "unsupported_media_type");
    assert_eq!(lying.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
    assert_eq!(unnamed.status, StatusCode::ACCEPTED);
}

#[tokio::test(flavor = "multi_thread")]
async fn hostile_file_names_are_only_metadata() {
    let app = TestApp::new().await;
    let (user, who) = app.signed_in().await;
    let long_name = format!("{}.txt", "n".repeat(300));
    let names = [
        "../../etc/passwd",
        "shell.php%00.txt",
        "con.txt",
        "evil\u{202e}txt.exe.md",
        long_name.as_str(),
        "..\\..\\windows\\win.ini",
    ];

    for name in names {
        let response = app.upload(&who, name, b"harmless words", None).await;
        assert_eq!(response.status, StatusCode::ACCEPTED, "{name}: {}", response.text());
        let shown = response.json()["original_filename"].as_str().unwrap().to_owned();
        assert!(!shown.contains('/') && !shown.contains('\\') && !shown.contains('\0'), "{shown}");
        assert!(!shown.contains('\u{202e}'), "{shown}");
        assert!(shown.chars().count() <= 255);
    }

    let prefix = app.data_dir.join("storage").join("uploads").join(user.id.to_string());
    for file in stored_files(&app) {
        assert!(file.starts_with(&prefix), "{} escaped the upload prefix", file.display());
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        assert!(uuid::Uuid::parse_str(&name).is_ok(), "{name} is not a server-made key");
    }
    assert!(!std::path::Path::new("/etc/passwd.orator").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn oversized_uploads_are_refused_while_streaming() {
    let app = TestApp::builder().env("ORATOR_UPLOAD_MAX_BYTES", "1024").build().await;
    let (_, who) = app.signed_in().await;

    let response = app.upload(&who, "big.txt", &vec![b'a'; 4096], None).await;

    assert_eq!(response.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(response.code(), "file_too_large");
    assert!(stored_files(&app).is_empty(), "nothing is stored for a refused upload");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_upload_limit_is_shared_by_every_replica() {
    let app = TestApp::new().await;
    let replica = app.replica().await;
    let (_, who) = app.signed_in().await;
    let mut conn = app.db.conn().await;
    diesel::sql_query("UPDATE site_settings SET uploads_per_hour = 3")
        .execute(&mut conn)
        .await
        .unwrap();

    let mut statuses = Vec::new();
    for n in 0..4 {
        let instance = if n % 2 == 0 { &app } else { &replica };
        statuses.push(instance.upload(&who, "a.txt", b"words", None).await.status);
    }
    let limited = replica.upload(&who, "a.txt", b"words", None).await;

    assert_eq!(&statuses[..3], &[StatusCode::ACCEPTED; 3]);
    assert_eq!(statuses[3], StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(limited.code(), "rate_limited");
    assert!(limited.header("retry-after").is_some());
}

#[tokio::test(flavor = "multi_thread")]
async fn unverified_users_cannot_upload() {
    let app = TestApp::new().await;
    let user = app.user_with(false).await;
    let who = As::Bearer(app.login(&user).await.token);

    let response = app.upload(&who, "a.txt", b"words", None).await;

    assert_eq!(response.status, StatusCode::FORBIDDEN);
    assert_eq!(response.code(), "email_unverified");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_insert_leaves_no_file_and_no_job() {
    let app = TestApp::new().await;
    let (_, who) = app.signed_in().await;
    let mut conn = app.db.conn().await;
    // Make the transaction fail after the object was written.
    diesel::sql_query("ALTER TABLE job_outbox ADD CONSTRAINT refuse_all CHECK (false) NOT VALID")
        .execute(&mut conn)
        .await
        .unwrap();

    let response = app.upload(&who, "a.txt", b"words", None).await;

    assert_eq!(response.status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(stored_files(&app).is_empty(), "the object was removed again");
    let documents: i64 = documents::table.count().get_result(&mut conn).await.unwrap();
    let jobs: i64 = job_outbox::table.count().get_result(&mut conn).await.unwrap();
    assert_eq!((documents, jobs), (0, 0));
}

#[tokio::test(flavor = "multi_thread")]
async fn uploads_made_while_redis_is_down_are_processed_later() {
    let app = TestApp::builder().env("REDIS_URL", "redis://127.0.0.1:1").build().await;
    let (_, who) = app.signed_in().await;
    let healthy = TestApp::builder().database(app.db.clone()).build().await;

    let mut ids = Vec::new();
    for n in 0..3 {
        let text = format!("Document number {n}.");
        ids.push(id_of(&app.post("/api/v1/documents", &who, json!({"text": text})).await));
    }
    // The worker relays through a healthy Redis once it is back.
    let mut ctx = app.worker_context();
    ctx.config = healthy.state.config.clone();
    ctx.storage = app.state.storage.clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(orator_worker::run(ctx, async {
        let _ = stopped.await;
    }));
    let mut statuses = Vec::new();
    for _ in 0..200 {
        statuses.clear();
        for id in &ids {
            let document = app.get(&format!("/api/v1/documents/{id}"), &who).await.json();
            statuses.push(document["status"].as_str().unwrap_or_default().to_owned());
        }
        if statuses.iter().all(|status| status == "ready") {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let _ = stop.send(());
    worker.await.unwrap().unwrap();

    assert_eq!(statuses, vec!["ready"; 3]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_document_whose_worker_died_is_still_processed() {
    let app = TestApp::new().await;
    let (_, who) = app.signed_in().await;
    let id =
        id_of(&app.post("/api/v1/documents", &who, json!({"text": "Survives a crash."})).await);
    let mut conn = app.db.conn().await;
    // A worker claimed the job and the document, then died without a word.
    let job: i64 = job_outbox::table.select(job_outbox::id).first(&mut conn).await.unwrap();
    orator_domain::jobs::claim(&mut conn, job, chrono::Duration::milliseconds(-1)).await.unwrap();
    let document_id = uuid::Uuid::parse_str(&id).unwrap();
    orator_domain::documents::claim_for_parsing(&mut conn, document_id).await.unwrap();

    orator_domain::jobs::sweep(&mut conn, chrono::Duration::minutes(10)).await.unwrap();
    let document = wait_ready(&app, &who, &id).await;

    assert_eq!(document["status"], "ready");
    let attempts: i32 =
        job_outbox::table.find(job).select(job_outbox::attempts).first(&mut conn).await.unwrap();
    assert_eq!(attempts, 2, "the lost attempt was counted");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_parse_job_run_twice_leaves_one_set_of_pages() {
    let app = TestApp::new().await;
    let (_, who) = app.signed_in().await;
    let id = id_of(&app.post("/api/v1/documents", &who, json!({"text": "Only once."})).await);
    let document_id = uuid::Uuid::parse_str(&id).unwrap();
    let mut conn = app.db.conn().await;

    app.run_pending_jobs().await;
    let job = orator_domain::jobs::Job::ParseDocument { document_id };
    orator_domain::jobs::enqueue(&mut conn, &job, 3, chrono::Utc::now()).await.unwrap();
    app.run_pending_jobs().await;

    let count: i64 = pages::table
        .filter(pages::document_id.eq(document_id))
        .count()
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(count, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn other_users_cannot_see_a_document() {
    let app = TestApp::new().await;
    let (_, owner) = app.signed_in().await;
    let (_, stranger) = app.signed_in().await;
    let id = id_of(&app.post("/api/v1/documents", &owner, json!({"text": "Private."})).await);
    app.run_pending_jobs().await;
    let missing = uuid::Uuid::now_v7();

    for path in [
        format!("/api/v1/documents/{id}"),
        format!("/api/v1/documents/{id}/pages"),
        format!("/api/v1/documents/{id}/pages/1"),
        format!("/api/v1/documents/{missing}"),
    ] {
        let response = app.get(&path, &stranger).await;
        assert_eq!(response.status, StatusCode::NOT_FOUND, "{path}");
    }
    let renamed = app
        .send(
            Method::PATCH,
            &format!("/api/v1/documents/{id}"),
            &stranger,
            Some(json!({"title": "x"})),
        )
        .await;
    let deleted =
        app.send(Method::DELETE, &format!("/api/v1/documents/{id}"), &stranger, None).await;
    assert_eq!(renamed.status, StatusCode::NOT_FOUND);
    assert_eq!(deleted.status, StatusCode::NOT_FOUND);
    assert!(
        app.get("/api/v1/documents", &stranger).await.json()["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn rename_delete_and_retry_follow_their_rules() {
    let app = TestApp::new().await;
    let (_, who) = app.signed_in().await;
    let id = id_of(&app.post("/api/v1/documents", &who, json!({"text": "Some words."})).await);
    app.run_pending_jobs().await;
    let path = format!("/api/v1/documents/{id}");

    let renamed =
        app.send(Method::PATCH, &path, &who, Some(json!({"title": "  New name  "}))).await;
    let blank = app.send(Method::PATCH, &path, &who, Some(json!({"title": "   "}))).await;
    let retry = app.post(&format!("{path}/retry"), &who, json!({})).await;
    let deleted = app.send(Method::DELETE, &path, &who, None).await;
    let gone = app.get(&path, &who).await;
    let cleanup = app.run_pending_jobs().await;

    assert_eq!(renamed.json()["title"], "New name");
    assert_eq!(blank.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(retry.status, StatusCode::CONFLICT);
    assert_eq!(retry.code(), "not_failed");
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert!(cleanup >= 1, "a job removes the stored objects");
    assert!(stored_files(&app).is_empty());
}

#[tokio::test(flavor = "multi_thread")]
async fn pages_can_be_appended_and_edited() {
    let app = TestApp::new().await;
    let (_, who) = app.signed_in().await;
    let id = id_of(&app.post("/api/v1/documents", &who, json!({"text": "First page."})).await);
    app.run_pending_jobs().await;

    let appended = app
        .post(&format!("/api/v1/documents/{id}/pages"), &who, json!({"text": "Second page."}))
        .await;
    let page_id = appended.json()["id"].as_str().unwrap().to_owned();
    let edited = app
        .send(
            Method::PATCH,
            &format!("/api/v1/pages/{page_id}"),
            &who,
            Some(json!({"markdown": "Edited *page*."})),
        )
        .await;
    let with_nul = app
        .send(
            Method::PATCH,
            &format!("/api/v1/pages/{page_id}"),
            &who,
            Some(json!({"markdown": "a\u{0}b"})),
        )
        .await;
    let document = app.get(&format!("/api/v1/documents/{id}"), &who).await.json();

    assert_eq!(appended.status, StatusCode::CREATED, "{}", appended.text());
    assert_eq!(appended.json()["number"], 2);
    assert_eq!(edited.json()["markdown"], "Edited *page*.");
    assert!(edited.json()["html"].as_str().unwrap().contains("<em>page</em>"));
    assert_eq!(with_nul.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(document["page_count"], 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn rendered_html_never_carries_script() {
    let app = TestApp::new().await;
    let (_, who) = app.signed_in().await;
    let hostile = "<script>alert(1)</script>\n\n<img src=x onerror=alert(1)>\n\n\
                   [click](javascript:alert(1)) [data](data:text/html;base64,PHNjcmlwdD4=)\n\n\
                   <a href=\"javascript:alert(1)\" onclick=\"x()\">link</a>";

    let rendered = app.post("/api/v1/markdown/render", &who, json!({"markdown": hostile})).await;

    let html = rendered.json()["html"].as_str().unwrap().to_lowercase();
    assert_eq!(rendered.status, StatusCode::OK);
    for banned in ["<script", "onerror", "onclick", "javascript:", "data:text"] {
        assert!(!html.contains(banned), "{banned} in {html}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn urls_that_cannot_be_allowed_are_refused_at_the_request() {
    let app = TestApp::new().await;
    let (_, who) = app.signed_in().await;

    for url in [
        "file:///etc/passwd",
        "http://127.0.0.1/",
        "http://[::1]/",
        "not a url",
        "http://169.254.169.254/",
    ] {
        let response = app.post("/api/v1/documents", &who, json!({"url": url})).await;
        assert_eq!(response.status, StatusCode::UNPROCESSABLE_ENTITY, "{url}");
        assert_eq!(response.code(), "url_not_allowed", "{url}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_web_page_is_imported_by_the_worker() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let body = "<html><head><title>Field notes</title></head><body><nav>Home | About</nav>\
                    <article><h1>Field notes</h1><p>The heron waited at the edge of the reeds, \
                    perfectly still, for a very long time before it struck.</p><p>Later the \
                    light changed and the water turned to copper under the evening sky.</p>\
                    </article><footer>Copyright footer text</footer></body></html>";
        for _ in 0..2 {
            let Ok(Ok((mut socket, _))) =
                tokio::time::timeout(std::time::Duration::from_secs(10), listener.accept()).await
            else {
                return;
            };
            let mut buffer = [0_u8; 4096];
            let _ = socket.read(&mut buffer).await;
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(response.as_bytes()).await;
        }
    });
    let app = TestApp::builder().env("ORATOR_URL_ALLOW", &address.to_string()).build().await;
    let (_, who) = app.signed_in().await;

    let created = app
        .post("/api/v1/documents", &who, json!({"url": format!("http://{address}/notes")}))
        .await;
    let id = id_of(&created);
    let document = wait_ready(&app, &who, &id).await;
    let page = app.get(&format!("/api/v1/documents/{id}/pages/1"), &who).await.json();
    server.abort();

    assert_eq!(document["status"], "ready", "{document}");
    assert_eq!(document["title"], "Field notes");
    let markdown = page["markdown"].as_str().unwrap();
    assert!(markdown.contains("The heron waited"), "{markdown}");
    assert!(!markdown.contains("Copyright footer"), "{markdown}");
}

#[tokio::test(flavor = "multi_thread")]
async fn pdf_and_docx_uploads_become_markdown_pages() {
    use orator_ingest::fixtures;

    let app = TestApp::new().await;
    let (_, who) = app.signed_in().await;

    let pdf = id_of(&app.upload(&who, "report.pdf", &fixtures::report_pdf(3), None).await);
    let docx =
        id_of(&app.upload(&who, "letter.docx", &fixtures::sample_docx(), Some("Letter")).await);
    let pdf_document = wait_ready(&app, &who, &pdf).await;
    let docx_document = wait_ready(&app, &who, &docx).await;
    let docx_page = app.get(&format!("/api/v1/documents/{docx}/pages/1"), &who).await.json();

    assert_eq!(pdf_document["status"], "ready", "{pdf_document}");
    assert_eq!(pdf_document["page_count"], 3);
    assert_eq!(pdf_document["content_type"], "application/pdf");
    assert_eq!(docx_document["status"], "ready", "{docx_document}");
    assert_eq!(docx_document["title"], "Letter");
    let markdown = docx_page["markdown"].as_str().unwrap();
    assert!(
        markdown.contains("# ") && markdown.contains("**") && markdown.contains("]("),
        "{markdown}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn unusable_files_fail_with_their_own_codes() {
    use orator_ingest::fixtures;

    let app = TestApp::new().await;
    let (_, who) = app.signed_in().await;
    let cases = [
        ("locked.pdf", fixtures::encrypted_pdf(), "pdf_encrypted"),
        ("broken.pdf", fixtures::truncated_pdf(), "unreadable_document"),
        ("scan.pdf", fixtures::scanned_pdf(), "no_text_found"),
        ("bomb.docx", fixtures::zip_bomb_docx(), "document_too_large"),
    ];

    for (name, bytes, code) in cases {
        let id = id_of(&app.upload(&who, name, &bytes, None).await);
        let document = wait_ready(&app, &who, &id).await;
        let spanish = app
            .call(
                actix_web::test::TestRequest::get()
                    .uri(&format!("/api/v1/documents/{id}"))
                    .insert_header(("Authorization", bearer(&who)))
                    .insert_header(("Accept-Language", "es")),
            )
            .await
            .json();

        assert_eq!(document["status"], "failed", "{name}: {document}");
        assert_eq!(document["error"]["code"], code, "{name}");
        assert!(!document["error"]["message"].as_str().unwrap().is_empty());
        assert_ne!(spanish["error"]["message"], document["error"]["message"], "{name}");
    }
}

fn bearer(who: &As) -> String {
    match who {
        As::Bearer(token) => format!("Bearer {token}"),
        _ => String::new(),
    }
}
