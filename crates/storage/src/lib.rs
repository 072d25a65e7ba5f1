//! Object storage behind one interface. Keys are always chosen by the server (for example
//! `uploads/{user_id}/{uuid}`); nothing a user typed ever becomes part of a path.
//!
//! Both backends apply the same key rules ([`key_to_relative_path`]), so a key that works on
//! local disk works on S3 and the other way round. Clients download objects through
//! time-limited signed URLs ([`Storage::signed_get`]): presigned S3 URLs, or URLs signed by
//! [`UrlSigner`] that the API checks before serving the file from local disk.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

mod compose;
mod disposition;
mod local;
mod s3;
mod signing;
#[cfg(feature = "testing")]
pub mod testing;

pub use compose::{ComposeError, Stores};
pub use disposition::{MAX_DOWNLOAD_NAME_BYTES, content_disposition_attachment};
pub use local::LocalDisk;
pub use s3::{S3Config, S3ConfigError, S3Limits, S3Storage, SecretString};
pub use signing::{MIN_SIGNING_KEY_BYTES, SignatureError, SignerError, UrlSigner, VerifiedGet};

/// The longest lifetime a signed URL may have: seven days, the ceiling S3 puts on presigned
/// URLs, applied to local-disk URLs too so both backends accept the same requests.
pub const MAX_SIGNED_URL_LIFETIME: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// The longest content type a signed URL may carry, in bytes.
pub const MAX_CONTENT_TYPE_BYTES: usize = 255;

/// The longest key the server makes, in bytes.
pub const MAX_KEY_BYTES: usize = 512;

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The key is not a server-made key (empty, absolute, or with `..` parts).
    #[error("invalid storage key")]
    InvalidKey,
    /// No object under this key.
    #[error("object not found")]
    NotFound,
    /// A signed URL was asked for with an unusable lifetime or content type.
    #[error("invalid signed download request")]
    InvalidSignedGet,
    /// The backend could not be reached or refused the operation.
    #[error("storage unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StorageError {
    /// A stable identifier for logs, metrics and problem responses.
    pub fn code(&self) -> &'static str {
        match self {
            Self::InvalidKey => "storage_invalid_key",
            Self::NotFound => "storage_not_found",
            Self::InvalidSignedGet => "storage_invalid_signed_get",
            Self::Unavailable(_) => "storage_unavailable",
        }
    }
}

/// What a signed download URL grants.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedGet {
    /// How long the URL stays valid, at most [`MAX_SIGNED_URL_LIFETIME`].
    pub expires_in: Duration,
    /// The `Content-Type` the download is served with (for example `audio/mpeg`).
    pub content_type: String,
    /// When set, the download is served as an attachment under this file name
    /// (see [`content_disposition_attachment`]); when unset, inline.
    pub download_name: Option<String>,
}

impl SignedGet {
    /// Checks the lifetime and the content type, so neither backend signs something it
    /// cannot serve.
    fn validate(&self) -> Result<(), StorageError> {
        let lifetime_ok = !self.expires_in.is_zero() && self.expires_in <= MAX_SIGNED_URL_LIFETIME;
        if !lifetime_ok || !is_valid_content_type(&self.content_type) {
            return Err(StorageError::InvalidSignedGet);
        }

        Ok(())
    }

    /// The `Content-Disposition` value the download is served with, if any.
    fn disposition(&self) -> Option<String> {
        self.download_name.as_deref().map(content_disposition_attachment)
    }
}

/// A time-limited download URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedUrl {
    /// The URL a client can GET (with `Range` requests) until `expires_at`.
    pub url: String,
    /// When the URL stops working.
    pub expires_at: SystemTime,
}

/// Where objects are kept.
#[async_trait::async_trait]
pub trait Storage: Send + Sync + std::fmt::Debug {
    /// Stores `bytes` under `key`, replacing what was there.
    async fn put(&self, key: &str, bytes: Vec<u8>, content_type: &str) -> Result<(), StorageError>;

    /// Reads the whole object under `key`.
    async fn get(&self, key: &str) -> Result<Vec<u8>, StorageError>;

    /// Removes the object under `key`; removing a missing object succeeds.
    async fn delete(&self, key: &str) -> Result<(), StorageError>;

    /// Checks that the backend is reachable and usable.
    async fn check(&self) -> Result<(), StorageError>;

    /// Keys under `prefix` last modified before `before` (for the orphan sweep), at most
    /// `limit`.
    async fn list_older_than(
        &self,
        prefix: &str,
        before: SystemTime,
        limit: usize,
    ) -> Result<Vec<String>, StorageError>;

    /// A time-limited URL a client can GET the object from (Range supported by the server).
    async fn signed_get(&self, key: &str, options: &SignedGet) -> Result<SignedUrl, StorageError>;
}

/// Turns a server-made key into a relative path, refusing anything that could escape the
/// storage root.
pub fn key_to_relative_path(key: &str) -> Result<PathBuf, StorageError> {
    if key.is_empty() || key.len() > MAX_KEY_BYTES || !key.chars().all(is_key_char) {
        return Err(StorageError::InvalidKey);
    }

    let mut relative = PathBuf::new();
    for part in key.split('/') {
        if part.is_empty() || part == "." || part == ".." {
            return Err(StorageError::InvalidKey);
        }
        relative.push(part);
    }

    Ok(relative)
}

/// Checks a listing prefix: empty (everything), or key segments optionally ending in `/` or
/// in the start of a segment (`uploads/`, `uploads/u1`, `uploads/u1/ab`).
fn validate_prefix(prefix: &str) -> Result<(), StorageError> {
    if prefix.len() > MAX_KEY_BYTES || !prefix.chars().all(is_key_char) {
        return Err(StorageError::InvalidKey);
    }

    match prefix.rsplit_once('/') {
        None => Ok(()),
        Some((directories, _partial)) => key_to_relative_path(directories).map(|_| ()),
    }
}

fn is_key_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '.')
}

/// A content type fit for a response header: `type/subtype` with optional parameters, in
/// printable ASCII, not too long.
fn is_valid_content_type(content_type: &str) -> bool {
    let printable = content_type.bytes().all(|b| b == b' ' || b.is_ascii_graphic());
    let (main_type, _) = content_type.split_once('/').unwrap_or(("", ""));

    printable
        && content_type.len() <= MAX_CONTENT_TYPE_BYTES
        && !main_type.is_empty()
        && !main_type.contains(' ')
        && content_type.trim() == content_type
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_keys_become_relative_paths() {
        let path = key_to_relative_path("uploads/0192/abc").unwrap();

        assert_eq!(path, PathBuf::from("uploads/0192/abc"));
    }

    #[test]
    fn escaping_keys_are_refused() {
        for key in ["", "/etc/passwd", "../x", "a/../../b", "a/./b", "a\\b", "a b", "c:x"] {
            assert!(key_to_relative_path(key).is_err(), "{key:?} was accepted");
        }
    }

    #[test]
    fn prefixes_follow_the_key_rules() {
        for prefix in ["", "uploads", "uploads/", "uploads/u1/ab", "a.b/c-d_"] {
            assert!(validate_prefix(prefix).is_ok(), "{prefix:?} was refused");
        }

        for prefix in ["/", "/uploads", "../", "a//b", "a/../b/", "a b", "ü/"] {
            assert!(validate_prefix(prefix).is_err(), "{prefix:?} was accepted");
        }
    }

    #[test]
    fn signed_gets_need_a_bounded_lifetime_and_a_header_safe_content_type() {
        let good = SignedGet {
            expires_in: Duration::from_secs(60),
            content_type: "application/epub+zip; charset=utf-8".to_owned(),
            download_name: None,
        };
        assert!(good.validate().is_ok());

        let zero = SignedGet { expires_in: Duration::ZERO, ..good.clone() };
        let too_long = SignedGet {
            expires_in: MAX_SIGNED_URL_LIFETIME + Duration::from_secs(1),
            ..good.clone()
        };
        assert!(matches!(zero.validate(), Err(StorageError::InvalidSignedGet)));
        assert!(matches!(too_long.validate(), Err(StorageError::InvalidSignedGet)));

        for content_type in ["", "audio", "/mpeg", "audio/mpeg\r\nx: y", " audio/mpeg", "aüdio/x"]
        {
            let options = SignedGet { content_type: content_type.to_owned(), ..good.clone() };
            assert!(options.validate().is_err(), "{content_type:?} was accepted");
        }
    }

    #[test]
    fn error_codes_are_stable() {
        let unavailable = StorageError::Unavailable("down".into());

        assert_eq!(StorageError::InvalidKey.code(), "storage_invalid_key");
        assert_eq!(StorageError::NotFound.code(), "storage_not_found");
        assert_eq!(StorageError::InvalidSignedGet.code(), "storage_invalid_signed_get");
        assert_eq!(unavailable.code(), "storage_unavailable");
    }
}
