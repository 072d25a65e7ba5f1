//! What each job kind does. A handler re-reads its rows, treats "already done" and "gone"
//! as success, and reports failures as a code and a sanitized message.

use diesel_async::AsyncPgConnection;
use orator_domain::accounts::{self, AccountSettings};
use orator_domain::jobs::{self, Failure, Job};
use orator_domain::{DbError, db};

use crate::WorkerContext;

/// Runs one attempt of `job`.
pub(crate) async fn run(ctx: &WorkerContext, job: &Job) -> Result<(), Failure> {
    match job {
        Job::PurgeExpired => purge_expired(ctx).await,
    }
}

/// Job-specific bookkeeping after a failed attempt (for example, marking the document a
/// job was about as failed after the last attempt).
pub(crate) async fn on_failure(
    _conn: &mut AsyncPgConnection,
    job: &Job,
    _failure: &Failure,
    _last_attempt: bool,
) -> Result<(), DbError> {
    match job {
        Job::PurgeExpired => Ok(()),
    }
}

fn database_failure(_err: impl std::error::Error) -> Failure {
    Failure::transient("database_error", "a database operation failed")
}

async fn purge_expired(ctx: &WorkerContext) -> Result<(), Failure> {
    let config = &ctx.config;
    let settings = AccountSettings::from_config(config);
    let retention =
        chrono::Duration::seconds(i64::try_from(config.job_retention_secs).unwrap_or(i64::MAX));
    let mut conn = db::conn(&ctx.db).await.map_err(database_failure)?;

    let accounts = accounts::purge_expired(&mut conn, &settings).await.map_err(database_failure)?;
    let outbox = jobs::purge_finished(&mut conn, retention).await.map_err(database_failure)?;

    tracing::info!(rows.accounts = accounts, rows.outbox = outbox, "purged expired rows");
    Ok(())
}
