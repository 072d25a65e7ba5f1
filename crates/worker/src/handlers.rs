//! What each job kind does. A handler re-reads its rows, treats "already done" and "gone"
//! as success, and reports failures as a stable code and a sanitized message.

use std::time::Duration;

use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection};
use orator_domain::accounts::{self, AccountSettings};
use orator_domain::audios;
use orator_domain::documents::{self, Document};
use orator_domain::jobs::{self, ClaimedJob, Failure, Job};
use orator_domain::{DbError, db};
use orator_fetch::FetchError;
use orator_ingest::{Extracted, IngestError};
use orator_storage::StorageError;
use uuid::Uuid;

use crate::WorkerContext;

/// How many orphaned uploads one sweep removes at most.
const ORPHAN_SWEEP_BATCH: usize = 1000;

/// Runs one attempt of `claimed`.
pub(crate) async fn run(ctx: &WorkerContext, claimed: &ClaimedJob) -> Result<(), Failure> {
    match &claimed.job {
        Job::PurgeExpired => purge_expired(ctx).await,
        Job::ParseDocument { document_id } => parse_document(ctx, *document_id).await,
        Job::ImportPage { document_id, url } => {
            import_page(ctx, claimed.id, *document_id, url).await
        }
        Job::DeleteObjects { keys } => delete_objects(ctx, keys).await,
        Job::SweepOrphans => sweep_orphans(ctx).await,
        Job::SynthesizeAudio { audio_id } => {
            crate::synthesis::synthesize_audio(ctx, *audio_id).await
        }
    }
}

/// Job-specific bookkeeping once a job has failed for good: the document it was about is
/// marked failed with a user-facing code, so nothing stays stuck in `processing`.
pub(crate) async fn on_give_up(
    conn: &mut AsyncPgConnection,
    job: &Job,
    failure: &Failure,
) -> Result<(), DbError> {
    match job {
        Job::ParseDocument { document_id } => {
            let code = user_facing_code(
                failure,
                documents::FAILURE_CODES,
                "processing_timed_out",
                "processing_failed",
            );
            documents::mark_failed(conn, *document_id, code).await
        }
        Job::SynthesizeAudio { audio_id } => {
            let code = user_facing_code(
                failure,
                audios::FAILURE_CODES,
                "synthesis_timed_out",
                "synthesis_failed",
            );
            audios::mark_failed(conn, *audio_id, code).await
        }
        Job::PurgeExpired
        | Job::ImportPage { .. }
        | Job::DeleteObjects { .. }
        | Job::SweepOrphans => Ok(()),
    }
}

/// Job-specific bookkeeping when a failed attempt will be retried: an audio shows `queued`
/// again until the next attempt takes it.
pub(crate) async fn on_retry(conn: &mut AsyncPgConnection, job: &Job) -> Result<(), DbError> {
    match job {
        Job::SynthesizeAudio { audio_id } => audios::requeue(conn, *audio_id).await,
        _ => Ok(()),
    }
}

/// The code users see for a failure: its own when users have a message for it, else the
/// timeout or the general code.
fn user_facing_code<'a>(
    failure: &'a Failure,
    known: &[&str],
    timed_out: &'a str,
    otherwise: &'a str,
) -> &'a str {
    let code = failure.code.as_str();

    if known.contains(&code) {
        code
    } else if code == "job_timed_out" {
        timed_out
    } else {
        otherwise
    }
}

pub(crate) fn database_failure(_err: impl std::error::Error) -> Failure {
    Failure::transient("database_error", "a database operation failed")
}

pub(crate) fn storage_failure(err: &StorageError) -> Failure {
    match err {
        StorageError::NotFound => {
            Failure::permanent("unreadable_document", "the stored source is missing")
        }
        StorageError::InvalidKey => {
            Failure::permanent("unreadable_document", "invalid storage key")
        }
        _ => Failure::transient("storage_unavailable", "storage could not be reached"),
    }
}

fn ingest_failure(err: &IngestError) -> Failure {
    Failure::permanent(err.code(), "the document could not be turned into pages")
}

fn fetch_failure(err: &FetchError) -> Failure {
    let message = "the web page could not be imported";
    match err {
        FetchError::Timeout | FetchError::Network => Failure::transient(err.code(), message),
        FetchError::HttpStatus(status) if *status >= 500 || *status == 429 => {
            Failure::transient(err.code(), message)
        }
        _ => Failure::permanent(err.code(), message),
    }
}

/// Runs CPU-bound extraction on a blocking thread under the parse time limit. A panic in the
/// extractor or an overrun ends the attempt; the abandoned thread is left to finish alone.
async fn extract_off_thread(
    ctx: &WorkerContext,
    work: impl FnOnce() -> Result<Extracted, IngestError> + Send + 'static,
) -> Result<Extracted, Failure> {
    let limit = Duration::from_secs(ctx.config.parse_timeout_secs);
    let task = tokio::task::spawn_blocking(work);

    match tokio::time::timeout(limit, task).await {
        Ok(Ok(Ok(extracted))) => Ok(extracted),
        Ok(Ok(Err(err))) => Err(ingest_failure(&err)),
        Ok(Err(_panicked)) => {
            Err(Failure::permanent("unreadable_document", "the extractor stopped unexpectedly"))
        }
        Err(_elapsed) => Err(Failure::permanent(
            "processing_timed_out",
            "extracting text took longer than the parse time limit",
        )),
    }
}

/// Fetches a page and extracts its main content.
async fn fetch_and_extract(ctx: &WorkerContext, raw_url: &str) -> Result<Extracted, Failure> {
    let url = orator_fetch::check_syntax(raw_url, ctx.fetcher.policy())
        .map_err(|err| fetch_failure(&err))?;
    let fetched = ctx.fetcher.fetch(&url).await.map_err(|err| fetch_failure(&err))?;
    let limits = ctx.ingest_limits();

    extract_off_thread(ctx, move || orator_ingest::extract_html(&fetched.body, &limits)).await
}

async fn parse_document(ctx: &WorkerContext, document_id: Uuid) -> Result<(), Failure> {
    let mut conn = db::conn(&ctx.db).await.map_err(database_failure)?;
    let claimed =
        documents::claim_for_parsing(&mut conn, document_id).await.map_err(database_failure)?;
    let Some(document) = claimed else {
        tracing::debug!(document.id = %document_id, "document gone or already processed");
        return Ok(());
    };
    drop(conn);

    let extracted = extract_document(ctx, &document).await?;

    let mut conn = db::conn(&ctx.db).await.map_err(database_failure)?;
    let stored = documents::store_pages(
        &mut conn,
        document.id,
        &extracted.pages,
        extracted.title.as_deref(),
    )
    .await
    .map_err(database_failure)?;
    tracing::info!(document.id = %document.id, pages = extracted.pages.len(), stored, "document parsed");
    Ok(())
}

async fn extract_document(ctx: &WorkerContext, document: &Document) -> Result<Extracted, Failure> {
    if let Some(url) = &document.source_url {
        return fetch_and_extract(ctx, url).await;
    }

    let key = document
        .storage_key
        .as_deref()
        .ok_or_else(|| Failure::permanent("unreadable_document", "the document has no source"))?;
    let bytes = ctx.storage.get(key).await.map_err(|err| storage_failure(&err))?;
    let format = orator_ingest::detect(&bytes).ok_or_else(|| {
        Failure::permanent("unsupported_media_type", "the stored source has an unknown format")
    })?;
    let limits = ctx.ingest_limits();

    extract_off_thread(ctx, move || orator_ingest::extract(format, &bytes, &limits)).await
}

/// Appends a fetched page. The pages and the job's completion are written in one
/// transaction, so a second run of the same job appends nothing.
async fn import_page(
    ctx: &WorkerContext,
    job_id: i64,
    document_id: Uuid,
    url: &str,
) -> Result<(), Failure> {
    let extracted = fetch_and_extract(ctx, url).await?;

    let mut conn = db::conn(&ctx.db).await.map_err(database_failure)?;
    let outcome: Result<usize, DbError> = conn
        .transaction(async |conn| {
            if !jobs::complete(conn, job_id).await? {
                return Ok(0);
            }
            let mut appended = 0;
            for markdown in &extracted.pages {
                match documents::append_page(conn, document_id, markdown).await {
                    Ok(_) => appended += 1,
                    // The document was deleted meanwhile: nothing to append to.
                    Err(documents::DocumentError::NotFound) => return Ok(0),
                    Err(documents::DocumentError::Db(err)) => return Err(err),
                    Err(documents::DocumentError::NotFailed) => return Ok(0),
                }
            }
            Ok(appended)
        })
        .await;

    let appended = outcome.map_err(database_failure)?;
    tracing::info!(document.id = %document_id, pages = appended, "web page appended");
    Ok(())
}

async fn delete_objects(ctx: &WorkerContext, keys: &[String]) -> Result<(), Failure> {
    for key in keys {
        ctx.storage.delete(key).await.map_err(|err| storage_failure(&err))?;
    }

    tracing::info!(objects = keys.len(), "stored objects deleted");
    Ok(())
}

/// Removes stored uploads and audio files that no row references any more (a transaction
/// that failed after its upload, an audio deleted while it was being synthesized).
async fn sweep_orphans(ctx: &WorkerContext) -> Result<(), Failure> {
    let grace = Duration::from_secs(ctx.config.orphan_grace_secs);
    let before = std::time::SystemTime::now() - grace;
    let mut conn = db::conn(&ctx.db).await.map_err(database_failure)?;

    let mut removed = 0;
    for prefix in ["uploads/", "audio/"] {
        let keys = ctx
            .storage
            .list_older_than(prefix, before, ORPHAN_SWEEP_BATCH)
            .await
            .map_err(|err| storage_failure(&err))?;
        for key in keys {
            let in_use = if prefix == "audio/" {
                audios::storage_key_in_use(&mut conn, &key).await
            } else {
                documents::storage_key_in_use(&mut conn, &key).await
            };
            if in_use.map_err(database_failure)? {
                continue;
            }
            ctx.storage.delete(&key).await.map_err(|err| storage_failure(&err))?;
            removed += 1;
        }
    }

    tracing::info!(objects = removed, "orphaned objects removed");
    Ok(())
}

async fn purge_expired(ctx: &WorkerContext) -> Result<(), Failure> {
    let config = &ctx.config;
    let settings = AccountSettings::from_config(config);
    let retention =
        chrono::Duration::seconds(i64::try_from(config.job_retention_secs).unwrap_or(i64::MAX));
    let mut conn = db::conn(&ctx.db).await.map_err(database_failure)?;

    let accounts = accounts::purge_expired(&mut conn, &settings).await.map_err(database_failure)?;
    let outbox = jobs::purge_finished(&mut conn, retention).await.map_err(database_failure)?;

    tracing::info!(rows.accounts = accounts, rows.outbox = outbox, at = %Utc::now(), "purged expired rows");
    Ok(())
}
