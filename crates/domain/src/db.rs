//! Connecting to PostgreSQL: the pool, database creation and migrations.

use std::time::Duration;

use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::pooled_connection::deadpool::{Object, Pool, PoolError};
use diesel_async::pooled_connection::{AsyncDieselConnectionManager, ManagerConfig};
use diesel_async::{AsyncConnection, AsyncMigrationHarness, AsyncPgConnection, RunQueryDsl};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

/// The migrations compiled into the binary.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations");

/// A pool of PostgreSQL connections.
pub type DbPool = Pool<AsyncPgConnection>;

/// A connection checked out of the pool.
pub type DbConn = Object<AsyncPgConnection>;

/// A failure to reach or use the database.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// The database could not be reached, or no connection was free in time.
    #[error("database unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// A query failed.
    #[error("database query failed")]
    Query(#[from] DieselError),
    /// Migrations could not be applied.
    #[error("database migration failed")]
    Migration(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl DbError {
    /// Whether the failure means "try again later" rather than a bug.
    pub fn is_unavailable(&self) -> bool {
        matches!(
            self,
            Self::Unavailable(_)
                | Self::Query(DieselError::DatabaseError(DatabaseErrorKind::ClosedConnection, _))
        )
    }
}

impl From<PoolError> for DbError {
    fn from(err: PoolError) -> Self {
        Self::Unavailable(Box::new(err))
    }
}

/// Builds a pool. No connection is opened until one is needed.
pub fn pool(url: &str, size: usize, acquire_timeout: Duration) -> Result<DbPool, DbError> {
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new_with_config(
        url,
        ManagerConfig::default(),
    );

    Pool::builder(manager)
        .max_size(size)
        .wait_timeout(Some(acquire_timeout))
        .create_timeout(Some(acquire_timeout))
        .runtime(deadpool_runtime())
        .build()
        .map_err(|err| DbError::Unavailable(Box::new(err)))
}

fn deadpool_runtime() -> deadpool::Runtime {
    deadpool::Runtime::Tokio1
}

/// Checks a connection out of the pool.
pub async fn conn(pool: &DbPool) -> Result<DbConn, DbError> {
    Ok(pool.get().await?)
}

/// Creates the database named in `url` if it does not exist yet.
///
/// Connects to the server's `postgres` maintenance database to do so; an existing database
/// is left alone, and two processes racing to create it both succeed.
pub async fn ensure_database(url: &str) -> Result<(), DbError> {
    let mut parsed = url::Url::parse(url).map_err(|err| DbError::Unavailable(Box::new(err)))?;
    let name = parsed.path().trim_start_matches('/').to_owned();
    if name.is_empty() || name == "postgres" {
        return Ok(());
    }
    if AsyncPgConnection::establish(url).await.is_ok() {
        return Ok(());
    }

    parsed.set_path("/postgres");
    let mut admin = AsyncPgConnection::establish(parsed.as_str())
        .await
        .map_err(|err| DbError::Unavailable(Box::new(err)))?;
    let statement = format!("CREATE DATABASE \"{}\"", name.replace('"', "\"\""));
    match diesel::sql_query(statement).execute(&mut admin).await {
        Ok(_) => Ok(()),
        Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Ok(()),
        Err(DieselError::DatabaseError(_, info)) if info.message().contains("already exists") => {
            Ok(())
        }
        Err(err) => Err(err.into()),
    }
}

/// Applies every pending migration, returning how many ran.
///
/// Needs a multi-threaded Tokio runtime: the migration harness blocks its thread.
pub async fn run_migrations(url: &str) -> Result<usize, DbError> {
    let conn = AsyncPgConnection::establish(url)
        .await
        .map_err(|err| DbError::Unavailable(Box::new(err)))?;
    let mut harness = AsyncMigrationHarness::new(conn);

    let applied = harness.run_pending_migrations(MIGRATIONS).map_err(DbError::Migration)?;

    Ok(applied.len())
}
