//! Object storage behind one interface. Keys are always chosen by the server (for example
//! `uploads/{user_id}/{uuid}`); nothing a user typed ever becomes part of a path.

use std::path::PathBuf;

mod local;

pub use local::LocalDisk;

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The key is not a server-made key (empty, absolute, or with `..` parts).
    #[error("invalid storage key")]
    InvalidKey,
    /// No object under this key.
    #[error("object not found")]
    NotFound,
    /// The backend could not be reached or refused the operation.
    #[error("storage unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
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
}

/// Turns a server-made key into a relative path, refusing anything that could escape the
/// storage root.
pub fn key_to_relative_path(key: &str) -> Result<PathBuf, StorageError> {
    let valid_chars =
        key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '.'));
    if key.is_empty() || key.len() > 512 || !valid_chars {
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
}
