//! Local-disk objects served behind signed, expiring URLs.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::test::TestRequest;
use orator_storage::{SignedGet, Storage};
use orator_tests::TestApp;

async fn signed(app: &TestApp, key: &str, download_name: Option<&str>) -> String {
    let local = app.state.local_files.clone().unwrap();
    local.put(key, b"0123456789".to_vec(), "audio/mpeg").await.unwrap();
    let options = SignedGet {
        expires_in: Duration::from_secs(60),
        content_type: "audio/mpeg".to_owned(),
        download_name: download_name.map(str::to_owned),
    };
    let url = local.signed_get(key, &options).await.unwrap().url;
    let parsed = url::Url::parse(&url).unwrap();
    format!("{}?{}", parsed.path(), parsed.query().unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread")]
async fn signed_urls_serve_the_object_with_its_type_and_ranges() {
    let app = TestApp::new().await;
    let path = signed(&app, "audio/d/p/a.mp3", Some("My Book – page 1.mp3")).await;

    let whole = app.call(TestRequest::get().uri(&path)).await;
    let part = app.call(TestRequest::get().uri(&path).insert_header(("Range", "bytes=2-5"))).await;

    assert_eq!(whole.status, StatusCode::OK, "{}", whole.text());
    assert_eq!(whole.body, b"0123456789");
    assert_eq!(whole.header("content-type").as_deref(), Some("audio/mpeg"));
    let disposition = whole.header("content-disposition").unwrap();
    assert!(disposition.starts_with("attachment"), "{disposition}");
    assert!(disposition.contains("filename*=UTF-8''"), "{disposition}");
    assert_eq!(part.status, StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.body, b"2345");
    assert_eq!(part.header("content-range").as_deref(), Some("bytes 2-5/10"));
}

#[tokio::test(flavor = "multi_thread")]
async fn tampered_or_unsigned_urls_are_refused() {
    let app = TestApp::new().await;
    let path = signed(&app, "audio/d/p/b.mp3", None).await;

    let other_key = path.replace("b.mp3", "c.mp3");
    let other_type = path.replace("audio%2Fmpeg", "text%2Fhtml");
    let unsigned = path.split('?').next().unwrap().to_owned();

    for tampered in [other_key, other_type, unsigned] {
        let response = app.call(TestRequest::get().uri(&tampered)).await;
        assert_eq!(response.status, StatusCode::FORBIDDEN, "{tampered}");
        assert_eq!(response.code(), "permission_denied");
    }
}
