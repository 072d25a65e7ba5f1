//! Objects as files under one directory on local disk.

use std::path::PathBuf;

use tokio::io::AsyncWriteExt;

use crate::{Storage, StorageError, key_to_relative_path};

/// Local-disk storage rooted at one directory.
#[derive(Debug, Clone)]
pub struct LocalDisk {
    root: PathBuf,
}

impl LocalDisk {
    /// Uses `root` as the storage directory (created on first write).
    pub fn new(root: PathBuf) -> Self {
        Self { root }
    }

    fn path_of(&self, key: &str) -> Result<PathBuf, StorageError> {
        Ok(self.root.join(key_to_relative_path(key)?))
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
        let path = self.path_of(key)?;
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
        let path = self.path_of(key)?;

        tokio::fs::read(path).await.map_err(unavailable)
    }

    async fn delete(&self, key: &str) -> Result<(), StorageError> {
        let path = self.path_of(key)?;

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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn put_get_delete_round_trip() {
        let root = std::env::temp_dir().join(format!("orator-local-{}", uuid::Uuid::new_v4()));
        let storage = LocalDisk::new(root.clone());

        storage.put("uploads/u/1", b"hello".to_vec(), "text/plain").await.unwrap();
        let read = storage.get("uploads/u/1").await.unwrap();
        storage.delete("uploads/u/1").await.unwrap();

        assert_eq!(read, b"hello");
        assert!(matches!(storage.get("uploads/u/1").await, Err(StorageError::NotFound)));
        storage.delete("uploads/u/1").await.unwrap();
        let _ = tokio::fs::remove_dir_all(root).await;
    }
}
