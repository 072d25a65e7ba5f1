//! The `synthesize_audio` job: claim the audio, speak its page, store the MP3, mark it ready.
//!
//! Engine errors keep the engine's classification: throttling, engine failures and timeouts
//! are transient (the outbox retries them with jittered backoff); an unknown voice, text the
//! engine refuses, missing or refused credentials and a missing engine are permanent, so the
//! audio fails at once with that code. The MP3's key is fixed by the audio's ids, so a retry
//! or a second run overwrites the same object.

use std::time::Duration;

use orator_domain::audios::{self, Finished};
use orator_domain::db;
use orator_domain::documents;
use orator_domain::jobs::Failure;
use orator_domain::settings;
use orator_kv::Decision;
use orator_speech::EngineError;
use orator_speech::pipeline::{self, CallGate, SynthesisError};
use orator_storage::StorageError;
use rand::Rng;
use uuid::Uuid;

use crate::WorkerContext;
use crate::handlers::database_failure;

/// The Redis bucket of the shared engine-call rate limit.
const CALL_BUCKET: &str = "speech-calls";

/// Paces engine calls to the configured rate, shared by every worker through Redis. When
/// Redis cannot answer, calls go ahead: the engine's own throttling (retried) still applies.
pub(crate) struct SharedRate<'a> {
    kv: &'a orator_kv::Kv,
    per_second: u32,
}

impl<'a> SharedRate<'a> {
    /// A gate allowing `per_second` calls over all workers.
    pub(crate) fn new(kv: &'a orator_kv::Kv, per_second: u32) -> Self {
        Self { kv, per_second }
    }
}

impl CallGate for SharedRate<'_> {
    async fn wait(&self) {
        loop {
            match self.kv.take_slot(CALL_BUCKET, self.per_second).await {
                Ok(Decision::Allowed) => return,
                Ok(Decision::Limited { retry_after }) => {
                    // Spread the waiters over the next window instead of waking them together.
                    let jitter = Duration::from_millis(rand::rng().random_range(0..50));
                    tokio::time::sleep(retry_after + jitter).await;
                }
                Err(err) => {
                    tracing::warn!(error = %err, "speech rate limit unavailable; not pacing");
                    return;
                }
            }
        }
    }
}

/// How an engine failure is handled.
fn synthesis_failure(err: &SynthesisError) -> Failure {
    let message = match err {
        SynthesisError::NothingToSay => "the page has no speakable text",
        SynthesisError::Engine(EngineError::Throttled) => "the speech engine throttled a call",
        SynthesisError::Engine(EngineError::Timeout) => "a speech engine call timed out",
        SynthesisError::Engine(_) => "the speech engine refused or failed a call",
        SynthesisError::Audio(_) => "the engine's audio chunks could not be joined",
    };

    if err.is_retryable() {
        Failure::transient(err.code(), message)
    } else {
        Failure::permanent(err.code(), message)
    }
}

fn store_failure(err: &StorageError) -> Failure {
    match err {
        StorageError::InvalidKey => Failure::permanent("synthesis_failed", "invalid storage key"),
        _ => Failure::transient("storage_unavailable", "storage could not be reached"),
    }
}

/// Runs one attempt of the job for `audio_id`.
pub(crate) async fn synthesize_audio(ctx: &WorkerContext, audio_id: Uuid) -> Result<(), Failure> {
    let lease = chrono::Duration::seconds(i64::try_from(ctx.config.job_lease_secs).unwrap_or(600));
    let mut conn = db::conn(&ctx.db).await.map_err(database_failure)?;
    let claimed =
        audios::claim_for_synthesis(&mut conn, audio_id, lease).await.map_err(database_failure)?;
    let Some(audio) = claimed else {
        tracing::debug!(audio.id = %audio_id, "audio gone or already finished");
        return Ok(());
    };
    let page = match documents::page_by_id(&mut conn, audio.page_id).await {
        Ok(page) => page,
        Err(documents::DocumentError::NotFound) => return Ok(()),
        Err(err) => return Err(database_failure(err)),
    };
    let retention_days =
        settings::load(&mut conn).await.map_err(database_failure)?.audio_retention_days;
    drop(conn);

    let voice = ctx
        .speech
        .voice(&audio.voice)
        .await
        .map_err(|err| synthesis_failure(&SynthesisError::Engine(err)))?;
    let voice = voice.ok_or_else(|| synthesis_failure(&EngineError::UnknownVoice.into()))?;
    let gate = SharedRate::new(&ctx.kv, ctx.config.speech_calls_per_second);
    let spoken = pipeline::synthesize_markdown(
        ctx.speech.as_ref(),
        &gate,
        &ctx.speech_calls,
        &voice.id,
        &voice.language,
        &page.markdown,
    )
    .await
    .map_err(|err| synthesis_failure(&err))?;

    let key = audios::storage_key(audio.document_id, audio.page_id, audio.id);
    let size_bytes = i64::try_from(spoken.audio.bytes.len()).unwrap_or(i64::MAX);
    ctx.storage.put(&key, spoken.audio.bytes, "audio/mpeg").await.map_err(|e| store_failure(&e))?;

    let finished = Finished {
        duration_ms: i64::try_from(spoken.audio.duration_ms).unwrap_or(i64::MAX),
        size_bytes,
        char_count: i32::try_from(spoken.char_count).unwrap_or(i32::MAX),
        retention_days,
    };
    let mut conn = db::conn(&ctx.db).await.map_err(database_failure)?;
    let marked =
        audios::mark_ready(&mut conn, audio.id, finished).await.map_err(database_failure)?;
    if !marked {
        // Deleted while it was being spoken: nothing refers to the object any more.
        ctx.storage.delete(&key).await.map_err(|e| store_failure(&e))?;
        tracing::info!(audio.id = %audio.id, "audio deleted during synthesis; object removed");
        return Ok(());
    }

    tracing::info!(
        audio.id = %audio.id,
        engine = ctx.speech.name(),
        chunks = spoken.chunk_count,
        chars = spoken.char_count,
        duration_ms = finished.duration_ms,
        "audio ready"
    );
    Ok(())
}
