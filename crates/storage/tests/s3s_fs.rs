//! `S3Storage` against a real S3-compatible server: `s3s-fs` (see
//! `orator_storage::testing`), started per test and killed when the test ends.

// Test-only code throughout, which lets the `allow-unwrap-in-tests` policy cover the helpers.
#![cfg(test)]

use std::net::TcpListener;
use std::path::Path;
use std::time::{Duration, SystemTime};

use orator_storage::testing::{ACCESS_KEY, BUCKET, REGION, S3sFs, SECRET_KEY, quick_limits};
use orator_storage::{
    S3Config, S3Limits, S3Storage, SecretString, SignedGet, Storage, StorageError,
    content_disposition_attachment,
};

/// Bound for every plain HTTP request the tests make.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

async fn storage_of(server: &S3sFs) -> S3Storage {
    S3Storage::new(server.config()).await.unwrap()
}

/// A raw SDK client, to look at what `S3Storage` stored.
fn raw_client(server: &S3sFs) -> aws_sdk_s3::Client {
    let tls = aws_smithy_http_client::tls::Provider::Rustls(
        aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
    );
    let http_client = aws_smithy_http_client::Builder::new().tls_provider(tls).build_https();
    let credentials =
        aws_sdk_s3::config::Credentials::new(ACCESS_KEY, SECRET_KEY, None, None, "test");
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(aws_sdk_s3::config::BehaviorVersion::latest())
        .region(aws_sdk_s3::config::Region::new(REGION))
        .credentials_provider(credentials)
        .http_client(http_client)
        .endpoint_url(server.endpoint())
        .force_path_style(true)
        .build();

    aws_sdk_s3::Client::from_conf(config)
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();

    listener.local_addr().unwrap().port()
}

fn http() -> reqwest::Client {
    // Within the workspace reqwest is built with rustls but no crypto provider chosen (the
    // fetch crate installs ring at run time); do the same here.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder().no_proxy().timeout(HTTP_TIMEOUT).build().unwrap()
}

fn download(name: Option<&str>) -> SignedGet {
    SignedGet {
        expires_in: Duration::from_secs(300),
        content_type: "audio/mpeg".to_owned(),
        download_name: name.map(str::to_owned),
    }
}

fn set_modified(path: &Path, modified: SystemTime) {
    let file = std::fs::File::options().write(true).open(path).unwrap();

    file.set_modified(modified).unwrap();
}

fn days_ago(days: u64) -> SystemTime {
    SystemTime::now() - Duration::from_secs(days * 24 * 60 * 60)
}

#[tokio::test]
async fn objects_round_trip_through_a_real_s3_server() {
    let server = S3sFs::start();
    let storage = storage_of(&server).await;

    storage.put("audio/d1/full.mp3", b"ID3 audio bytes".to_vec(), "audio/mpeg").await.unwrap();
    let read = storage.get("audio/d1/full.mp3").await.unwrap();
    storage.delete("audio/d1/full.mp3").await.unwrap();

    assert_eq!(read, b"ID3 audio bytes");
    assert!(matches!(storage.get("audio/d1/full.mp3").await, Err(StorageError::NotFound)));
}

#[tokio::test]
async fn put_stores_the_content_type() {
    let server = S3sFs::start();
    let storage = storage_of(&server).await;

    storage.put("uploads/u1/doc", b"%PDF-1.7".to_vec(), "application/pdf").await.unwrap();
    let head = raw_client(&server)
        .head_object()
        .bucket(BUCKET)
        .key("uploads/u1/doc")
        .send()
        .await
        .unwrap();

    assert_eq!(head.content_type(), Some("application/pdf"));
    assert_eq!(head.content_length(), Some(8));
}

#[tokio::test]
async fn missing_objects_are_not_found_and_deleting_them_succeeds() {
    let server = S3sFs::start();
    let storage = storage_of(&server).await;

    let read = storage.get("uploads/u1/never-written").await;
    let deleted = storage.delete("uploads/u1/never-written").await;

    assert!(matches!(read, Err(StorageError::NotFound)), "{read:?}");
    assert!(deleted.is_ok(), "{deleted:?}");
}

#[tokio::test]
async fn check_passes_on_the_bucket_and_fails_without_it() {
    let server = S3sFs::start();
    let present = storage_of(&server).await;
    let missing =
        S3Storage::new(S3Config { bucket: "no-such-bucket".to_owned(), ..server.config() })
            .await
            .unwrap();

    present.check().await.unwrap();
    let result = missing.check().await;

    assert!(matches!(result, Err(StorageError::Unavailable(_))), "{result:?}");
}

#[tokio::test]
async fn listing_returns_only_old_keys_under_the_prefix() {
    let server = S3sFs::start();
    let storage = storage_of(&server).await;
    for key in ["uploads/u1/old", "uploads/u1/new", "uploads/u2/old", "audio/d1/old"] {
        storage.put(key, b"x".to_vec(), "application/octet-stream").await.unwrap();
    }
    for key in ["uploads/u1/old", "uploads/u2/old", "audio/d1/old"] {
        set_modified(&server.object_file(key), days_ago(3));
    }

    let mut uploads = storage.list_older_than("uploads/", days_ago(1), 100).await.unwrap();
    uploads.sort();
    let none_that_old = storage.list_older_than("uploads/", days_ago(5), 100).await.unwrap();

    assert_eq!(uploads, vec!["uploads/u1/old", "uploads/u2/old"]);
    assert!(none_that_old.is_empty(), "{none_that_old:?}");
}

#[tokio::test]
async fn listing_follows_pages_and_stops_at_the_limit() {
    let server = S3sFs::start();
    let one_per_page = S3Limits { list_page_size: 1, ..quick_limits() };
    let storage =
        S3Storage::new(S3Config { limits: one_per_page, ..server.config() }).await.unwrap();
    for n in 0..4 {
        storage.put(&format!("uploads/u/{n}"), b"x".to_vec(), "text/plain").await.unwrap();
    }
    set_modified(
        &server.object_file("uploads/u/3"),
        SystemTime::now() + Duration::from_secs(3_600),
    );
    let cutoff = SystemTime::now() + Duration::from_secs(60);

    let mut all_old = storage.list_older_than("uploads/", cutoff, 100).await.unwrap();
    all_old.sort();
    let limited = storage.list_older_than("uploads/", cutoff, 2).await.unwrap();

    assert_eq!(all_old, vec!["uploads/u/0", "uploads/u/1", "uploads/u/2"]);
    assert_eq!(limited.len(), 2);
}

#[tokio::test]
async fn presigned_urls_serve_the_bytes_with_content_type_and_disposition() {
    let server = S3sFs::start();
    let storage = storage_of(&server).await;
    storage
        .put("audio/d1/full.mp3", b"0123456789".to_vec(), "application/octet-stream")
        .await
        .unwrap();
    let name = "Mon résumé \"final\"\r\n.mp3";

    let signed = storage.signed_get("audio/d1/full.mp3", &download(Some(name))).await.unwrap();
    let response = http().get(&signed.url).send().await.unwrap();

    assert_eq!(response.status(), 200);
    let headers = response.headers().clone();
    assert_eq!(headers["content-type"], "audio/mpeg");
    assert_eq!(headers["content-disposition"], content_disposition_attachment(name).as_str());
    assert_eq!(response.bytes().await.unwrap().as_ref(), b"0123456789");
    assert!(signed.expires_at > SystemTime::now() + Duration::from_secs(290));
}

#[tokio::test]
async fn presigned_urls_honour_range_requests() {
    let server = S3sFs::start();
    let storage = storage_of(&server).await;
    storage.put("audio/d1/full.mp3", b"0123456789".to_vec(), "audio/mpeg").await.unwrap();

    let signed = storage.signed_get("audio/d1/full.mp3", &download(None)).await.unwrap();
    let response = http().get(&signed.url).header("Range", "bytes=0-3").send().await.unwrap();

    assert_eq!(response.status(), 206);
    assert_eq!(response.headers()["content-range"], "bytes 0-3/10");
    assert_eq!(response.bytes().await.unwrap().as_ref(), b"0123");
}

#[tokio::test]
async fn tampered_presigned_urls_are_refused() {
    let server = S3sFs::start();
    let storage = storage_of(&server).await;
    storage.put("audio/mine.mp3", b"mine".to_vec(), "audio/mpeg").await.unwrap();
    storage.put("audio/theirs.mp3", b"theirs".to_vec(), "audio/mpeg").await.unwrap();
    let signed = storage.signed_get("audio/mine.mp3", &download(Some("mine.mp3"))).await.unwrap();

    let other_key = signed.url.replace("audio/mine.mp3", "audio/theirs.mp3");
    let other_type = signed
        .url
        .replace("response-content-type=audio%2Fmpeg", "response-content-type=text%2Fhtml");
    let other_name = signed.url.replace("mine.mp3%22", "evil.exe%22");
    let unsigned = signed.url.split('?').next().unwrap().to_owned();

    assert_eq!(http().get(&signed.url).send().await.unwrap().status(), 200);
    for tampered in [other_key, other_type, other_name, unsigned] {
        assert_ne!(tampered, signed.url);
        let response = http().get(&tampered).send().await.unwrap();
        assert_eq!(response.status(), 403, "{tampered}");
    }
}

#[tokio::test]
async fn expired_presigned_urls_are_refused() {
    let server = S3sFs::start();
    let storage = storage_of(&server).await;
    storage.put("audio/d1/full.mp3", b"0123".to_vec(), "audio/mpeg").await.unwrap();
    let two_hours_ago = SystemTime::now() - Duration::from_secs(2 * 3_600);
    let one_hour = SignedGet { expires_in: Duration::from_secs(3_600), ..download(None) };

    let expired =
        storage.signed_get_at("audio/d1/full.mp3", &one_hour, two_hours_ago).await.unwrap();
    let fresh =
        storage.signed_get_at("audio/d1/full.mp3", &one_hour, SystemTime::now()).await.unwrap();

    assert_eq!(http().get(&expired.url).send().await.unwrap().status(), 403);
    assert_eq!(http().get(&fresh.url).send().await.unwrap().status(), 200);
}

#[tokio::test]
async fn wrong_credentials_are_unavailable_not_missing() {
    let server = S3sFs::start();
    let storage = storage_of(&server).await;
    storage.put("audio/a.mp3", b"a".to_vec(), "audio/mpeg").await.unwrap();
    let wrong_secret = S3Config {
        secret_access_key: Some(SecretString::new("wrong".to_owned())),
        ..server.config()
    };
    let impostor = S3Storage::new(wrong_secret).await.unwrap();

    let result = impostor.get("audio/a.mp3").await;

    assert!(matches!(result, Err(StorageError::Unavailable(_))), "{result:?}");
}

#[tokio::test]
async fn error_messages_name_neither_the_bucket_nor_the_key_nor_the_endpoint() {
    let server = S3sFs::start();
    let storage = storage_of(&server).await;
    let unreachable_endpoint = format!("http://127.0.0.1:{}", free_port());
    let unreachable = S3Storage::new(S3Config {
        endpoint_url: Some(unreachable_endpoint.clone()),
        ..server.config()
    })
    .await
    .unwrap();
    // s3s-fs creates a missing bucket on PutObject, so a refused signature stands in for a
    // service error here.
    let wrong_secret = SecretString::new("wrong".to_owned());
    let impostor =
        S3Storage::new(S3Config { secret_access_key: Some(wrong_secret), ..server.config() })
            .await
            .unwrap();

    let errors = [
        storage.get("uploads/private-user/key").await.unwrap_err(),
        unreachable.check().await.unwrap_err(),
        unreachable.get("uploads/private-user/key").await.unwrap_err(),
        impostor.put("uploads/private-user/key", b"x".to_vec(), "text/plain").await.unwrap_err(),
    ];

    assert!(matches!(errors[0], StorageError::NotFound));
    assert!(matches!(errors[1], StorageError::Unavailable(_)), "{:?}", errors[1]);
    for err in &errors {
        let shown = err.to_string();
        for secret in [BUCKET, "private-user", &unreachable_endpoint, "127.0.0.1"] {
            assert!(!shown.contains(secret), "{shown:?} shows {secret:?}");
        }
    }
    assert!(matches!(errors[3], StorageError::Unavailable(_)), "{:?}", errors[3]);
}
