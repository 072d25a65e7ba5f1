//! Choosing the storage backend from the boot configuration: S3 when a bucket is set,
//! local disk otherwise (with URLs signed by the API's own key).

use std::path::Path;
use std::sync::Arc;

use orator_config::Config;
use rand::RngCore;

use crate::{LocalDisk, MIN_SIGNING_KEY_BYTES, S3Config, S3Limits, S3Storage, SecretString};
use crate::{Storage, UrlSigner};

/// Name of the generated signing key file under the data directory.
const SIGNING_KEY_FILE: &str = "signing.key";

/// The configured stores.
#[derive(Debug, Clone)]
pub struct Stores {
    /// Where objects are kept.
    pub storage: Arc<dyn Storage>,
    /// The same store, when it is local disk: the API serves its signed URLs itself.
    pub local: Option<Arc<LocalDisk>>,
}

/// The storage configuration could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    /// S3 settings are incomplete or invalid.
    #[error("invalid S3 settings ({0})")]
    S3(&'static str),
    /// The local signing key could not be read or created.
    #[error("signing key unavailable")]
    SigningKey(#[source] std::io::Error),
    /// The signing key or the public URL is unusable.
    #[error("cannot sign URLs ({0})")]
    Signer(&'static str),
}

impl Stores {
    /// Builds the stores `config` asks for. Only builds AWS clients when a bucket is set.
    pub async fn from_config(config: &Config) -> Result<Self, ComposeError> {
        if let Some(bucket) = &config.s3_bucket {
            let s3 = S3Storage::new(S3Config {
                bucket: bucket.clone(),
                region: config.aws_region.clone().unwrap_or_default(),
                endpoint_url: config.aws_endpoint_url.clone(),
                force_path_style: config.s3_force_path_style,
                access_key_id: config.aws_access_key_id.as_ref().map(|id| id.expose().clone()),
                secret_access_key: config
                    .aws_secret_access_key
                    .as_ref()
                    .map(|secret| SecretString::new(secret.expose().clone())),
                limits: S3Limits::default(),
            })
            .await
            .map_err(|err| ComposeError::S3(err.code()))?;
            return Ok(Self { storage: Arc::new(s3), local: None });
        }

        let key = match &config.signing_key {
            Some(key) => key.expose().as_bytes().to_vec(),
            None => load_or_create_key(&config.data_dir).map_err(ComposeError::SigningKey)?,
        };
        let base_url = config
            .public_url
            .join("files")
            .map_err(|_| ComposeError::Signer("ORATOR_PUBLIC_URL"))?;
        let signer =
            UrlSigner::new(key, base_url).map_err(|err| ComposeError::Signer(err.code()))?;
        let local = Arc::new(LocalDisk::new(config.storage_dir(), signer));

        Ok(Self { storage: local.clone(), local: Some(local) })
    }
}

/// Reads the generated signing key, creating it (readable by the owner only) on first use.
fn load_or_create_key(data_dir: &Path) -> std::io::Result<Vec<u8>> {
    let path = data_dir.join(SIGNING_KEY_FILE);
    if let Ok(existing) = std::fs::read(&path)
        && existing.len() >= MIN_SIGNING_KEY_BYTES
    {
        return Ok(existing);
    }

    std::fs::create_dir_all(data_dir)?;
    let mut key = vec![0_u8; 2 * MIN_SIGNING_KEY_BYTES];
    rand::rng().fill_bytes(&mut key);
    let temporary = data_dir.join(format!(".{SIGNING_KEY_FILE}.{}", uuid::Uuid::new_v4()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    std::io::Write::write_all(&mut options.open(&temporary)?, &key)?;

    // Linking fails when another process created the key first; then theirs is used.
    let linked = std::fs::hard_link(&temporary, &path);
    std::fs::remove_file(&temporary)?;
    match linked {
        Ok(()) => Ok(key),
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => std::fs::read(&path),
        Err(err) => Err(err),
    }
}
