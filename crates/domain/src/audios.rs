//! Audio for pages: asking for it, the worker's side of synthesis, playing, deleting and
//! retrying it, and the voice previews.
//!
//! Two rules hold under any concurrency because the database enforces them, never a
//! check-then-insert:
//! - one active audio per page and voice: the partial unique index
//!   `audios_active_page_voice_key` refuses a second one (`VoiceInUse`);
//! - a page's lifetime quota: the conditional update of `pages.audios_created` (counting
//!   deleted audios too) changes no row once the quota is used (`QuotaExhausted`).
//!
//! The audio row, the counter, the synthesis job and the access-log row are written in one
//! transaction, so a refused or failed request leaves nothing behind.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use crate::db::DbError;
use crate::jobs::{self, Job};
use crate::schema::{audios, pages, voice_previews};
use crate::shares::{self, Action, Actor, LogEntry};

/// The index that keeps one active audio per page and voice.
const ACTIVE_VOICE_INDEX: &str = "audios_active_page_voice_key";

/// Every code a failed audio can carry, as clients see it in `error.code`.
pub const FAILURE_CODES: &[&str] = &[
    "unknown_voice",
    "text_too_long",
    "speech_rejected",
    "speech_unauthenticated",
    "speech_access_denied",
    "speech_engine_unavailable",
    "speech_engine_misconfigured",
    "speech_throttled",
    "speech_failed",
    "speech_timeout",
    "page_empty",
    "mp3_no_frames",
    "mp3_format_mismatch",
    "mp3_too_large",
    "storage_unavailable",
    "synthesis_failed",
    "synthesis_timed_out",
];

/// An audio row.
#[derive(Debug, Clone, Queryable, Selectable, Identifiable)]
#[diesel(table_name = audios, check_for_backend(diesel::pg::Pg))]
pub struct Audio {
    /// Identifier.
    pub id: Uuid,
    /// The page spoken.
    pub page_id: Uuid,
    /// The page's document.
    pub document_id: Uuid,
    /// Who asked for it.
    pub requested_by: Option<Uuid>,
    /// The engine's voice id.
    pub voice: String,
    /// `local` or `polly`.
    pub engine: String,
    /// `queued`, `synthesizing`, `ready` or `failed`.
    pub status: String,
    /// `active` or `deleted`.
    pub lifetime_status: String,
    /// Why synthesis failed, as a stable code.
    pub error_code: Option<String>,
    /// Synthesis attempts so far.
    pub attempts: i32,
    /// Until when the current attempt holds the audio.
    pub lease_expires_at: Option<DateTime<Utc>>,
    /// Where the MP3 is (or will be) stored; derived from the ids.
    pub storage_key: Option<String>,
    /// Length of the audio.
    pub duration_ms: Option<i64>,
    /// Size of the MP3.
    pub size_bytes: Option<i64>,
    /// Characters of speakable text spoken.
    pub char_count: Option<i32>,
    /// When it was asked for.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
    /// When synthesis finished.
    pub ready_at: Option<DateTime<Utc>>,
    /// When it was last played.
    pub last_played_at: Option<DateTime<Utc>>,
    /// When it expires unless played again.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was deleted.
    pub deleted_at: Option<DateTime<Utc>>,
}

impl Audio {
    /// Whether it is `ready` and not deleted.
    pub fn is_playable(&self) -> bool {
        self.status == "ready" && self.lifetime_status == "active" && self.storage_key.is_some()
    }
}

/// Why an audio operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum AudioError {
    /// No such audio or page (or the audio is deleted).
    #[error("not found")]
    NotFound,
    /// The page already has an active audio with this voice.
    #[error("voice already in use on this page")]
    VoiceInUse,
    /// The page has had as many audios as it may ever have.
    #[error("audio quota used up")]
    QuotaExhausted,
    /// Retry asked for an audio that has not failed.
    #[error("audio has not failed")]
    NotFailed,
    /// The database failed.
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<DieselError> for AudioError {
    fn from(err: DieselError) -> Self {
        Self::Db(DbError::Query(err))
    }
}

/// The storage key of an audio's MP3: fixed by its ids, so a retry overwrites it.
pub fn storage_key(document_id: Uuid, page_id: Uuid, audio_id: Uuid) -> String {
    format!("audio/{document_id}/{page_id}/{audio_id}.mp3")
}

/// What to ask for.
#[derive(Debug, Clone, Copy)]
pub struct AudioRequest<'a> {
    /// The page to speak.
    pub page_id: Uuid,
    /// Its document.
    pub document_id: Uuid,
    /// A voice id the engine offers (checked by the caller).
    pub voice: &'a str,
    /// The engine's name.
    pub engine: &'a str,
    /// The site's lifetime quota per page.
    pub max_per_page: i32,
    /// Attempts the synthesis job gets.
    pub max_attempts: i32,
}

/// Creates a queued audio with its synthesis job, or refuses with `VoiceInUse` or
/// `QuotaExhausted`; see the module documentation for why this is race-free.
pub async fn request(
    conn: &mut AsyncPgConnection,
    ask: AudioRequest<'_>,
    actor: &Actor,
) -> Result<Audio, AudioError> {
    conn.transaction(async |conn| {
        let id = Uuid::now_v7();
        let inserted = diesel::insert_into(audios::table)
            .values((
                audios::id.eq(id),
                audios::page_id.eq(ask.page_id),
                audios::document_id.eq(ask.document_id),
                audios::requested_by.eq(actor.user_id),
                audios::voice.eq(ask.voice),
                audios::engine.eq(ask.engine),
                audios::storage_key.eq(storage_key(ask.document_id, ask.page_id, id)),
            ))
            .returning(Audio::as_returning())
            .get_result(conn)
            .await;
        let audio = match inserted {
            Ok(audio) => audio,
            Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, info))
                if info.constraint_name() == Some(ACTIVE_VOICE_INDEX) =>
            {
                return Err(AudioError::VoiceInUse);
            }
            Err(DieselError::DatabaseError(DatabaseErrorKind::ForeignKeyViolation, _)) => {
                return Err(AudioError::NotFound);
            }
            Err(err) => return Err(err.into()),
        };

        let counted = diesel::update(pages::table.find(ask.page_id))
            .filter(pages::audios_created.lt(ask.max_per_page))
            .set(pages::audios_created.eq(pages::audios_created + 1))
            .execute(conn)
            .await?;
        if counted == 0 {
            return Err(AudioError::QuotaExhausted);
        }

        let job = Job::SynthesizeAudio { audio_id: audio.id };
        jobs::enqueue(conn, &job, ask.max_attempts, Utc::now()).await?;
        log(conn, actor, &audio, Action::Generate).await?;

        Ok(audio)
    })
    .await
}

async fn log(
    conn: &mut AsyncPgConnection,
    actor: &Actor,
    audio: &Audio,
    action: Action,
) -> Result<(), DbError> {
    let entry = LogEntry {
        actor,
        document_id: Some(audio.document_id),
        audio_id: Some(audio.id),
        action,
        outcome: "success",
    };

    shares::log_access(conn, entry).await
}

/// An audio that is not deleted.
pub async fn find_active(conn: &mut AsyncPgConnection, id: Uuid) -> Result<Audio, AudioError> {
    audios::table
        .find(id)
        .filter(audios::lifetime_status.eq("active"))
        .select(Audio::as_select())
        .first(conn)
        .await
        .optional()?
        .ok_or(AudioError::NotFound)
}

/// A page's active audios, oldest first.
pub async fn list_for_page(
    conn: &mut AsyncPgConnection,
    page_id: Uuid,
) -> Result<Vec<Audio>, DbError> {
    let rows = audios::table
        .filter(audios::page_id.eq(page_id))
        .filter(audios::lifetime_status.eq("active"))
        .order((audios::created_at, audios::id))
        .select(Audio::as_select())
        .load(conn)
        .await?;

    Ok(rows)
}

/// Takes an audio for one synthesis attempt. `None` when it is deleted, already ready or
/// failed for good: a stale or duplicate job, which the worker treats as done.
pub async fn claim_for_synthesis(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    lease: Duration,
) -> Result<Option<Audio>, DbError> {
    let now = Utc::now();

    let claimed = diesel::update(audios::table.find(id))
        .filter(audios::lifetime_status.eq("active"))
        .filter(audios::status.eq_any(["queued", "synthesizing"]))
        .set((
            audios::status.eq("synthesizing"),
            audios::attempts.eq(audios::attempts + 1),
            audios::lease_expires_at.eq(now + lease),
            audios::updated_at.eq(now),
        ))
        .returning(Audio::as_returning())
        .get_result(conn)
        .await
        .optional()?;

    Ok(claimed)
}

/// What a finished synthesis produced.
#[derive(Debug, Clone, Copy)]
pub struct Finished {
    /// Length of the audio.
    pub duration_ms: i64,
    /// Size of the MP3.
    pub size_bytes: i64,
    /// Characters spoken.
    pub char_count: i32,
    /// Days an unplayed audio is kept.
    pub retention_days: i32,
}

/// Marks a synthesizing audio ready; `false` when it was deleted meanwhile (the caller then
/// removes the object it stored).
pub async fn mark_ready(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    finished: Finished,
) -> Result<bool, DbError> {
    let now = Utc::now();

    let updated = diesel::update(audios::table.find(id))
        .filter(audios::lifetime_status.eq("active"))
        .filter(audios::status.eq("synthesizing"))
        .set((
            audios::status.eq("ready"),
            audios::error_code.eq(None::<String>),
            audios::lease_expires_at.eq(None::<DateTime<Utc>>),
            audios::duration_ms.eq(finished.duration_ms),
            audios::size_bytes.eq(finished.size_bytes),
            audios::char_count.eq(finished.char_count),
            audios::ready_at.eq(now),
            audios::expires_at.eq(now + Duration::days(i64::from(finished.retention_days))),
            audios::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;

    Ok(updated == 1)
}

/// Returns a synthesizing audio to `queued` while its job waits for the next attempt.
pub async fn requeue(conn: &mut AsyncPgConnection, id: Uuid) -> Result<(), DbError> {
    diesel::update(audios::table.find(id))
        .filter(audios::status.eq("synthesizing"))
        .set((
            audios::status.eq("queued"),
            audios::lease_expires_at.eq(None::<DateTime<Utc>>),
            audios::updated_at.eq(Utc::now()),
        ))
        .execute(conn)
        .await?;

    Ok(())
}

/// Marks an unfinished audio failed with a user-facing code.
pub async fn mark_failed(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    code: &str,
) -> Result<(), DbError> {
    diesel::update(audios::table.find(id))
        .filter(audios::status.eq_any(["queued", "synthesizing"]))
        .set((
            audios::status.eq("failed"),
            audios::error_code.eq(code),
            audios::lease_expires_at.eq(None::<DateTime<Utc>>),
            audios::updated_at.eq(Utc::now()),
        ))
        .execute(conn)
        .await?;

    Ok(())
}

/// Records a play or a download in the access log; a play also restarts the expiry clock.
pub async fn record_listen(
    conn: &mut AsyncPgConnection,
    audio: &Audio,
    actor: &Actor,
    action: Action,
    retention_days: i32,
) -> Result<(), DbError> {
    conn.transaction(async |conn| {
        if action == Action::Play {
            let now = Utc::now();
            diesel::update(audios::table.find(audio.id))
                .set((
                    audios::last_played_at.eq(now),
                    audios::expires_at.eq(now + Duration::days(i64::from(retention_days))),
                ))
                .execute(conn)
                .await?;
        }
        log(conn, actor, audio, action).await
    })
    .await
}

/// Soft-deletes an audio: its voice is free again, the page's lifetime count stays, and a
/// job removes the stored object.
pub async fn delete(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    actor: &Actor,
    max_attempts: i32,
) -> Result<(), AudioError> {
    conn.transaction(async |conn| {
        let now = Utc::now();
        let audio = diesel::update(audios::table.find(id))
            .filter(audios::lifetime_status.eq("active"))
            .set((
                audios::lifetime_status.eq("deleted"),
                audios::deleted_at.eq(now),
                audios::updated_at.eq(now),
            ))
            .returning(Audio::as_returning())
            .get_result(conn)
            .await
            .optional()?
            .ok_or(AudioError::NotFound)?;

        if let Some(key) = &audio.storage_key {
            let job = Job::DeleteObjects { keys: vec![key.clone()] };
            jobs::enqueue(conn, &job, max_attempts, now).await?;
        }
        log(conn, actor, &audio, Action::Delete).await?;

        Ok(())
    })
    .await
}

/// Queues a failed audio for synthesis again. It is the same audio: the quota is not
/// charged twice.
pub async fn retry(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    max_attempts: i32,
) -> Result<Audio, AudioError> {
    conn.transaction(async |conn| {
        let audio = diesel::update(audios::table.find(id))
            .filter(audios::lifetime_status.eq("active"))
            .filter(audios::status.eq("failed"))
            .set((
                audios::status.eq("queued"),
                audios::error_code.eq(None::<String>),
                audios::updated_at.eq(Utc::now()),
            ))
            .returning(Audio::as_returning())
            .get_result(conn)
            .await
            .optional()?
            .ok_or(AudioError::NotFailed)?;

        let job = Job::SynthesizeAudio { audio_id: audio.id };
        jobs::enqueue(conn, &job, max_attempts, Utc::now()).await?;

        Ok(audio)
    })
    .await
}

/// Whether an active audio names this storage key (for the orphan sweep).
pub async fn storage_key_in_use(conn: &mut AsyncPgConnection, key: &str) -> Result<bool, DbError> {
    let count: i64 = audios::table
        .filter(audios::storage_key.eq(key))
        .filter(audios::lifetime_status.eq("active"))
        .count()
        .get_result(conn)
        .await?;

    Ok(count > 0)
}

/// The stored preview of a voice with this engine, if one was made.
pub async fn preview_key(
    conn: &mut AsyncPgConnection,
    voice: &str,
    engine: &str,
) -> Result<Option<String>, DbError> {
    let key = voice_previews::table
        .find(voice)
        .filter(voice_previews::engine.eq(engine))
        .select(voice_previews::storage_key)
        .first(conn)
        .await
        .optional()?;

    Ok(key)
}

/// Records where a voice's preview is stored (the last writer wins; both wrote the same
/// sample to the same key).
pub async fn save_preview(
    conn: &mut AsyncPgConnection,
    voice: &str,
    engine: &str,
    key: &str,
) -> Result<(), DbError> {
    diesel::insert_into(voice_previews::table)
        .values((
            voice_previews::voice.eq(voice),
            voice_previews::engine.eq(engine),
            voice_previews::storage_key.eq(key),
        ))
        .on_conflict(voice_previews::voice)
        .do_update()
        .set((voice_previews::engine.eq(engine), voice_previews::storage_key.eq(key)))
        .execute(conn)
        .await?;

    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_the_ids() {
        let (document, page, audio) = (Uuid::nil(), Uuid::max(), Uuid::nil());

        assert_eq!(
            storage_key(document, page, audio),
            format!("audio/{document}/{page}/{audio}.mp3")
        );
    }
}
