//! What every handler can reach.

use std::sync::Arc;

use orator_config::Config;
use orator_domain::DbPool;
use orator_domain::accounts::AccountSettings;
use orator_kv::Kv;
use orator_mail::Mailer;
use orator_storage::Storage;

/// Shared application state, built once per process by the binary.
#[derive(Clone)]
pub struct AppState {
    /// Boot configuration.
    pub config: Arc<Config>,
    /// PostgreSQL pool.
    pub db: DbPool,
    /// Redis.
    pub kv: Kv,
    /// Object storage.
    pub storage: Arc<dyn Storage>,
    /// Local-disk storage, when that is the backend: the API serves its signed URLs.
    pub local_files: Option<Arc<orator_storage::LocalDisk>>,
    /// Outgoing mail.
    pub mailer: Mailer,
    /// Account rules derived from the configuration.
    pub accounts: AccountSettings,
    /// What URL imports may reach.
    pub fetch_policy: orator_fetch::FetchPolicy,
    /// The speech engine (its voice catalogue, and voice previews).
    pub speech: Arc<orator_speech::Speech>,
}

impl AppState {
    /// Assembles the state from its parts.
    pub fn new(
        config: Arc<Config>,
        db: DbPool,
        kv: Kv,
        stores: orator_storage::Stores,
        mailer: Mailer,
        speech: Arc<orator_speech::Speech>,
    ) -> Self {
        let accounts = AccountSettings::from_config(&config);
        // The binary checks the allow list at start; a bad one here refuses every import.
        let fetch_policy = orator_fetch::FetchPolicy::from_config(&config).unwrap_or_default();

        Self {
            config,
            db,
            kv,
            storage: stores.storage,
            local_files: stores.local,
            mailer,
            accounts,
            fetch_policy,
            speech,
        }
    }

    /// A signed URL for a stored MP3 (inline, or as an attachment under `download_name`),
    /// valid for the configured signed-URL lifetime.
    pub async fn signed_audio_url(
        &self,
        key: &str,
        download_name: Option<String>,
    ) -> Result<orator_storage::SignedUrl, crate::error::ApiError> {
        let options = orator_storage::SignedGet {
            expires_in: std::time::Duration::from_secs(self.config.signed_url_ttl_secs),
            content_type: "audio/mpeg".to_owned(),
            download_name,
        };

        self.storage
            .signed_get(key, &options)
            .await
            .map_err(crate::routes::documents::storage_error)
    }

    /// A database connection, or 503 when none can be had.
    pub async fn conn(&self) -> Result<orator_domain::DbConn, crate::error::ApiError> {
        Ok(orator_domain::db::conn(&self.db).await?)
    }
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}
