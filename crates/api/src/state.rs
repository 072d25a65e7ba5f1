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
    /// Outgoing mail.
    pub mailer: Mailer,
    /// Account rules derived from the configuration.
    pub accounts: AccountSettings,
}

impl AppState {
    /// Assembles the state from its parts.
    pub fn new(
        config: Arc<Config>,
        db: DbPool,
        kv: Kv,
        storage: Arc<dyn Storage>,
        mailer: Mailer,
    ) -> Self {
        let accounts = AccountSettings::from_config(&config);

        Self { config, db, kv, storage, mailer, accounts }
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
