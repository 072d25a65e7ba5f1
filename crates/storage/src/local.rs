//! Objects as files under one directory on local disk.
//!
//! Policy: writes go to a hidden `.{uuid}.partial` sibling and are renamed into place, so a
//! reader never sees half an object. A write interrupted by a crash leaves its partial file
//! behind; listings report it like any other object, so the orphan sweep removes it once it
//! is old enough. Listings never follow symbolic links and skip names that are not valid keys.
//! Downloads go through URLs signed by the [`UrlSigner`]; the API checks them with
//! [`LocalDisk::verify`] and streams [`LocalDisk::path_for`] itself.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use tokio::io::AsyncWriteExt;

use crate::{
    SignatureError, SignedGet, SignedUrl, Storage, StorageError, UrlSigner, VerifiedGet,
    key_to_relative_path, validate_prefix,
};

/// Local-disk storage rooted at one directory.
#[derive(Debug, Clone)]
pub struct LocalDisk {
    root: PathBuf,
    signer: UrlSigner,
}

impl LocalDisk {
    /// Uses `root` as the storage directory (created on first write) and `signer` for
    /// download URLs.
    pub fn new(root: PathBuf, signer: UrlSigner) -> Self {
        Self { root, signer }
    }

    /// The file that holds `key`, for serving it (with `Range` support) after
    /// [`LocalDisk::verify`] accepted the request.
    pub fn path_for(&self, key: &str) -> Result<PathBuf, StorageError> {
        Ok(self.root.join(key_to_relative_path(key)?))
    }

    /// Checks a download request for `key` carrying the raw query string `query` of a URL
    /// made by [`Storage::signed_get`].
    pub fn verify(
        &self,
        key: &str,
        query: &str,
        now: SystemTime,
    ) -> Result<VerifiedGet, SignatureError> {
        self.signer.verify(key, query, now)
    }

    /// Like [`Storage::signed_get`], with the signing time given by the caller.
    pub fn signed_get_at(
        &self,
        key: &str,
        options: &SignedGet,
        now: SystemTime,
    ) -> Result<SignedUrl, StorageError> {
        self.signer.sign(key, options, now)
    }
}

fn unavailable(err: std::io::Error) -> StorageError {
    if err.kind() == std::io::ErrorKind::NotFound {
        return StorageError::NotFound;
    }
    StorageError::Unavailable(Box::new(err))
}

#[async_trait::async_trait]
impl Storage for LocalDisk {
    async fn put(
        &self,
        key: &str,
        bytes: Vec<u8>,
        _content_type: &str,
    ) -> Result<(), StorageError> {
        let path = self.path_for(key)?;
        let parent = path.parent().ok_or(StorageError::InvalidKey)?;
        tokio::fs::create_dir_all(parent).await.map_err(unavailable)?;

        // Write to a temporary sibling and rename, so a reader never sees half an object.
        let temporary = parent.join(format!(".{}.partial", uuid::Uuid::new_v4()));
        let mut file = tokio::fs::File::create(&temporary).await.map_err(unavailable)?;
        file.write_all(&bytes).await.map_err(unavailable)?;
        file.sync_all().await.map_err(unavailable)?;
        drop(file);

        tokio::fs::rename(&temporary, &path).await.map_err(unavailable)
    }

    async fn get(&self, key: &str) -> Result<Vec<u8>, StorageError> {
        let path = self.path_for(key)?;

        tokio::fs::read(path).await.map_err(unavailable)
    }

    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        let path = self.path_for(key)?;

        match tokio::fs::remove_file(path).await {
            Ok(()) => Ok(()),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(err) => Err(unavailable(err)),
        }
    }

    async fn check(&self) -> Result<(), StorageError> {
        tokio::fs::create_dir_all(&self.root).await.map_err(unavailable)?;
        let metadata = tokio::fs::metadata(&self.root).await.map_err(unavailable)?;
        if metadata.permissions().readonly() {
            let err = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "read-only");
            return Err(StorageError::Unavailable(Box::new(err)));
        }

        Ok(())
    }

    async fn list_older_than(
        &self,
        prefix: &str,
        before: SystemTime,
        limit: usize,
    ) -> Result<Vec<String>, StorageError> {
        validate_prefix(prefix)?;
        if limit == 0 {
            return Ok(Vec::new());
        }

        let root = self.root.clone();
        let prefix = prefix.to_owned();
        let walk = move || list_older_blocking(&root, &prefix, before, limit);

        tokio::task::spawn_blocking(walk)
            .await
            .map_err(|err| StorageError::Unavailable(Box::new(err)))?
    }

    async fn signed_get(&self, key: &str, options: &SignedGet) -> Result<SignedUrl, StorageError> {
        self.signed_get_at(key, options, SystemTime::now())
    }
}

/// Walks the directories the (already validated) `prefix` can reach, depth first in name
/// order, and collects keys of regular files modified before `before`.
fn list_older_blocking(
    root: &Path,
    prefix: &str,
    before: SystemTime,
    limit: usize,
) -> Result<Vec<String>, StorageError> {
    let start = match prefix.rsplit_once('/') {
        Some((directories, _)) => format!("{directories}/"),
        None => String::new(),
    };
    let mut pending = vec![start];
    let mut found = Vec::new();

    while let Some(directory_key) = pending.pop() {
        let directory = root.join(&directory_key);
        let entries = match std::fs::read_dir(&directory) {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
            Err(err) => return Err(StorageError::Unavailable(Box::new(err))),
        };

        let mut named = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|err| StorageError::Unavailable(Box::new(err)))?;
            if let Ok(name) = entry.file_name().into_string() {
                named.push((name, entry));
            }
        }
        named.sort_by(|a, b| a.0.cmp(&b.0));

        let mut subdirectories = Vec::new();
        for (name, entry) in named {
            let key = format!("{directory_key}{name}");
            if key_to_relative_path(&key).is_err() {
                continue;
            }

            // `DirEntry::file_type` does not follow symbolic links, so links are neither.
            let Ok(file_type) = entry.file_type() else { continue };
            if file_type.is_dir() {
                let below = format!("{key}/");
                if below.starts_with(prefix) || prefix.starts_with(&below) {
                    subdirectories.push(below);
                }
                continue;
            }
            if !file_type.is_file() || !key.starts_with(prefix) {
                continue;
            }

            let modified = match entry.metadata().and_then(|metadata| metadata.modified()) {
                Ok(modified) => modified,
                // Deleted between listing and reading: not there any more, nothing to sweep.
                Err(err) if err.kind() == std::io::ErrorKind::NotFound => continue,
                Err(err) => return Err(StorageError::Unavailable(Box::new(err))),
            };
            if modified < before {
                found.push(key);
                if found.len() == limit {
                    return Ok(found);
                }
            }
        }

        pending.extend(subdirectories.into_iter().rev());
    }

    Ok(found)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;
    use crate::MIN_SIGNING_KEY_BYTES;

    fn storage(root: &Path) -> LocalDisk {
        let base = url::Url::parse("https://orator.example/files").unwrap();
        let signer = UrlSigner::new(vec![42; MIN_SIGNING_KEY_BYTES], base).unwrap();

        LocalDisk::new(root.to_path_buf(), signer)
    }

    /// Sets the modification time of the object under `key`.
    fn age(storage: &LocalDisk, key: &str, modified: SystemTime) {
        let file =
            std::fs::File::options().write(true).open(storage.path_for(key).unwrap()).unwrap();

        file.set_modified(modified).unwrap();
    }

    fn days_ago(days: u64) -> SystemTime {
        SystemTime::now() - Duration::from_secs(days * 24 * 60 * 60)
    }

    #[tokio::test]
    async fn put_get_delete_round_trip() {
        let root = tempfile::tempdir().unwrap();
        let storage = storage(root.path());

        storage.put("uploads/u/1", b"hello".to_vec(), "text/plain").await.unwrap();
        let read = storage.get("uploads/u/1").await.unwrap();
        storage.delete("uploads/u/1").await.unwrap();

        assert_eq!(read, b"hello");
        assert!(matches!(storage.get("uploads/u/1").await, Err(StorageError::NotFound)));
        storage.delete("uploads/u/1").await.unwrap();
    }

    #[tokio::test]
    async fn put_replaces_the_previous_object_and_leaves_no_partial_file() {
        let root = tempfile::tempdir().unwrap();
        let storage = storage(root.path());

        storage.put("audio/a.mp3", b"first".to_vec(), "audio/mpeg").await.unwrap();
        storage.put("audio/a.mp3", b"second".to_vec(), "audio/mpeg").await.unwrap();

        assert_eq!(storage.get("audio/a.mp3").await.unwrap(), b"second");
        let names: Vec<_> = std::fs::read_dir(root.path().join("audio"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec!["a.mp3"]);
    }

    #[tokio::test]
    async fn invalid_keys_are_refused_by_every_operation() {
        let root = tempfile::tempdir().unwrap();
        let storage = storage(root.path());
        let options = SignedGet {
            expires_in: Duration::from_secs(60),
            content_type: "audio/mpeg".to_owned(),
            download_name: None,
        };

        assert!(matches!(
            storage.put("../x", vec![], "text/plain").await,
            Err(StorageError::InvalidKey)
        ));
        assert!(matches!(storage.get("/etc/passwd").await, Err(StorageError::InvalidKey)));
        assert!(matches!(storage.delete("a/../../b").await, Err(StorageError::InvalidKey)));
        assert!(matches!(storage.signed_get("a b", &options).await, Err(StorageError::InvalidKey)));
        assert!(matches!(storage.path_for(""), Err(StorageError::InvalidKey)));
        assert!(matches!(
            storage.list_older_than("../", SystemTime::now(), 10).await,
            Err(StorageError::InvalidKey)
        ));
    }

    #[tokio::test]
    async fn listing_returns_only_keys_under_the_prefix_modified_before_the_cutoff() {
        let root = tempfile::tempdir().unwrap();
        let storage = storage(root.path());
        for key in ["uploads/u1/old", "uploads/u1/new", "uploads/u2/old", "audio/old"] {
            storage.put(key, b"x".to_vec(), "text/plain").await.unwrap();
        }
        for key in ["uploads/u1/old", "uploads/u2/old", "audio/old"] {
            age(&storage, key, days_ago(3));
        }

        let mut uploads = storage.list_older_than("uploads/", days_ago(1), 100).await.unwrap();
        uploads.sort();
        let partial = storage.list_older_than("uploads/u", days_ago(1), 100).await.unwrap();
        let single_user = storage.list_older_than("uploads/u2/", days_ago(1), 100).await.unwrap();
        let everything = storage.list_older_than("", days_ago(1), 100).await.unwrap();
        let nothing_older = storage.list_older_than("uploads/", days_ago(5), 100).await.unwrap();

        assert_eq!(uploads, vec!["uploads/u1/old", "uploads/u2/old"]);
        assert_eq!(partial.len(), 2);
        assert_eq!(single_user, vec!["uploads/u2/old"]);
        assert_eq!(everything.len(), 3);
        assert!(nothing_older.is_empty());
    }

    #[tokio::test]
    async fn listing_stops_at_the_limit() {
        let root = tempfile::tempdir().unwrap();
        let storage = storage(root.path());
        for n in 0..5 {
            storage.put(&format!("uploads/u/{n}"), b"x".to_vec(), "text/plain").await.unwrap();
        }
        let later = SystemTime::now() + Duration::from_secs(60);

        let limited = storage.list_older_than("uploads/", later, 3).await.unwrap();
        let none = storage.list_older_than("uploads/", later, 0).await.unwrap();

        assert_eq!(limited, vec!["uploads/u/0", "uploads/u/1", "uploads/u/2"]);
        assert!(none.is_empty());
    }

    #[tokio::test]
    async fn listing_a_missing_prefix_is_empty() {
        let root = tempfile::tempdir().unwrap();
        let storage = storage(&root.path().join("not-created-yet"));

        let keys = storage.list_older_than("uploads/", SystemTime::now(), 10).await.unwrap();

        assert!(keys.is_empty());
    }

    #[tokio::test]
    async fn listing_reports_leftover_partial_files_so_the_sweep_removes_them() {
        let root = tempfile::tempdir().unwrap();
        let storage = storage(root.path());
        std::fs::create_dir_all(root.path().join("uploads/u")).unwrap();
        std::fs::write(root.path().join("uploads/u/.0192.partial"), b"half").unwrap();
        age(&storage, "uploads/u/.0192.partial", days_ago(2));

        let keys = storage.list_older_than("uploads/", days_ago(1), 10).await.unwrap();
        storage.delete(&keys[0]).await.unwrap();

        assert_eq!(keys, vec!["uploads/u/.0192.partial"]);
        assert!(!root.path().join("uploads/u/.0192.partial").exists());
    }

    #[cfg(unix)]
    #[tokio::test]
    async fn listing_does_not_follow_symbolic_links_or_report_non_key_names() {
        let root = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), b"s").unwrap();
        std::fs::create_dir_all(root.path().join("uploads")).unwrap();
        std::os::unix::fs::symlink(outside.path(), root.path().join("uploads/link")).unwrap();
        std::os::unix::fs::symlink(
            outside.path().join("secret"),
            root.path().join("uploads/file-link"),
        )
        .unwrap();
        std::fs::write(root.path().join("uploads/with space"), b"x").unwrap();
        let later = SystemTime::now() + Duration::from_secs(60);

        let keys = storage(root.path()).list_older_than("uploads/", later, 10).await.unwrap();

        assert!(keys.is_empty(), "{keys:?}");
    }

    #[tokio::test]
    async fn signed_urls_verify_and_point_at_the_stored_file() {
        let root = tempfile::tempdir().unwrap();
        let storage = storage(root.path());
        storage.put("audio/d1/full.mp3", b"ID3".to_vec(), "audio/mpeg").await.unwrap();
        let options = SignedGet {
            expires_in: Duration::from_secs(300),
            content_type: "audio/mpeg".to_owned(),
            download_name: Some("Mon document.mp3".to_owned()),
        };

        let signed = storage.signed_get("audio/d1/full.mp3", &options).await.unwrap();
        let url = url::Url::parse(&signed.url).unwrap();
        let key = url.path().strip_prefix("/files/").unwrap();
        let verified = storage.verify(key, url.query().unwrap(), SystemTime::now()).unwrap();

        assert_eq!(verified.content_type, "audio/mpeg");
        assert_eq!(
            verified.disposition.as_deref(),
            Some(crate::content_disposition_attachment("Mon document.mp3").as_str())
        );
        assert_eq!(std::fs::read(storage.path_for(key).unwrap()).unwrap(), b"ID3");
        assert!(signed.expires_at > SystemTime::now() + Duration::from_secs(290));
    }

    #[tokio::test]
    async fn signed_urls_expire() {
        let root = tempfile::tempdir().unwrap();
        let storage = storage(root.path());
        let options = SignedGet {
            expires_in: Duration::from_secs(60),
            content_type: "audio/mpeg".to_owned(),
            download_name: None,
        };
        let signed_at = UNIX_EPOCH + Duration::from_secs(1_000_000);

        let signed = storage.signed_get_at("audio/a.mp3", &options, signed_at).unwrap();
        let url = url::Url::parse(&signed.url).unwrap();
        let result = storage.verify(
            "audio/a.mp3",
            url.query().unwrap(),
            signed_at + Duration::from_secs(61),
        );

        assert_eq!(result, Err(SignatureError::Expired));
    }

    #[tokio::test]
    async fn signed_urls_for_one_key_do_not_open_another() {
        let root = tempfile::tempdir().unwrap();
        let storage = storage(root.path());
        let options = SignedGet {
            expires_in: Duration::from_secs(60),
            content_type: "audio/mpeg".to_owned(),
            download_name: None,
        };

        let signed = storage.signed_get("audio/mine.mp3", &options).await.unwrap();
        let url = url::Url::parse(&signed.url).unwrap();
        let result = storage.verify("audio/theirs.mp3", url.query().unwrap(), SystemTime::now());

        assert_eq!(result, Err(SignatureError::Invalid));
    }
}
