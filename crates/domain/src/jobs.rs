//! The job outbox: PostgreSQL is the record of every job, Redis only carries work.
//!
//! A job is written to `job_outbox` in the same transaction as the change that needs it, so
//! a rolled-back change never produces a job and a Redis outage delays work without losing
//! any. A relay hands due rows to Redis, keeping the Redis backlog bounded. A worker claims a
//! row with a conditional update before running it (so a duplicate delivery does nothing),
//! counts the attempt in the row, and on failure schedules the next attempt with full-jitter
//! exponential backoff, until the row's attempt limit; then the job is `failed` and a
//! sanitized record goes to `task_failures`. A lease sweeper returns jobs whose worker died.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use rand::Rng;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::db::DbError;
use crate::schema::{job_outbox, task_failures};

/// Longest failure message kept for staff, in characters.
pub const FAILURE_MESSAGE_MAX_CHARS: usize = 1000;

/// The work a job does. Jobs carry ids only; handlers re-read their rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "args", rename_all = "snake_case")]
pub enum Job {
    /// Delete expired sessions, mail tokens and finished outbox rows.
    PurgeExpired,
    /// Turn a document's source into pages.
    ParseDocument {
        /// The document.
        document_id: Uuid,
    },
    /// Fetch a web page and append it to a document as a new page.
    ImportPage {
        /// The document.
        document_id: Uuid,
        /// The page to fetch (checked at the request; vetted again when fetched).
        url: String,
    },
    /// Remove stored objects whose rows are gone (their keys cannot be re-read).
    DeleteObjects {
        /// Storage keys.
        keys: Vec<String>,
    },
    /// Remove uploaded objects that no document references.
    SweepOrphans,
    /// Synthesize an audio's MP3 and store it.
    SynthesizeAudio {
        /// The audio.
        audio_id: Uuid,
    },
}

impl Job {
    /// The job's kind, as stored in `job_outbox.kind`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::PurgeExpired => "purge_expired",
            Self::ParseDocument { .. } => "parse_document",
            Self::ImportPage { .. } => "import_page",
            Self::DeleteObjects { .. } => "delete_objects",
            Self::SweepOrphans => "sweep_orphans",
            Self::SynthesizeAudio { .. } => "synthesize_audio",
        }
    }

    /// The document a job is about, for failure records.
    pub fn document_id(&self) -> Option<Uuid> {
        match self {
            Self::ParseDocument { document_id } | Self::ImportPage { document_id, .. } => {
                Some(*document_id)
            }
            Self::PurgeExpired
            | Self::DeleteObjects { .. }
            | Self::SweepOrphans
            | Self::SynthesizeAudio { .. } => None,
        }
    }

    /// The audio a job is about, for failure records.
    pub fn audio_id(&self) -> Option<Uuid> {
        match self {
            Self::SynthesizeAudio { audio_id } => Some(*audio_id),
            _ => None,
        }
    }
}

/// Where a job stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobStatus {
    /// Waiting in PostgreSQL until `run_after`.
    Pending,
    /// Handed to Redis.
    Enqueued,
    /// Claimed by a worker, under a lease.
    Running,
    /// Finished.
    Done,
    /// Gave up after its last attempt, or failed permanently.
    Failed,
}

impl JobStatus {
    /// The stored text.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Enqueued => "enqueued",
            Self::Running => "running",
            Self::Done => "done",
            Self::Failed => "failed",
        }
    }
}

/// A claimed job, ready to run.
#[derive(Debug, Clone)]
pub struct ClaimedJob {
    /// Outbox row id.
    pub id: i64,
    /// What to do.
    pub job: Job,
    /// This attempt's number, from 1.
    pub attempt: i32,
    /// Attempts allowed in all.
    pub max_attempts: i32,
}

/// Records a job in the outbox. Call inside the transaction of the change that needs it.
pub async fn enqueue(
    conn: &mut AsyncPgConnection,
    job: &Job,
    max_attempts: i32,
    run_after: DateTime<Utc>,
) -> Result<i64, DbError> {
    let payload = serde_json::to_value(job).map_err(|err| DbError::Migration(Box::new(err)))?;

    let id = diesel::insert_into(job_outbox::table)
        .values((
            job_outbox::kind.eq(job.kind()),
            job_outbox::payload.eq(payload),
            job_outbox::max_attempts.eq(max_attempts),
            job_outbox::run_after.eq(run_after),
        ))
        .returning(job_outbox::id)
        .get_result(conn)
        .await?;

    Ok(id)
}

/// Takes up to `room` due jobs for the relay, marking them enqueued, and returns their ids.
///
/// `room` is the backlog limit minus the jobs already in Redis; rows are locked with
/// `SKIP LOCKED` so several relays never hand over the same job.
pub async fn take_due_for_relay(
    conn: &mut AsyncPgConnection,
    max_backlog: i64,
) -> Result<Vec<i64>, DbError> {
    conn.transaction(async |conn| {
        let in_redis: i64 = job_outbox::table
            .filter(job_outbox::status.eq(JobStatus::Enqueued.as_str()))
            .count()
            .get_result(conn)
            .await?;
        let room = max_backlog - in_redis;
        if room <= 0 {
            return Ok(Vec::new());
        }

        let ids: Vec<i64> = job_outbox::table
            .filter(job_outbox::status.eq(JobStatus::Pending.as_str()))
            .filter(job_outbox::run_after.le(diesel::dsl::now))
            .order((job_outbox::run_after, job_outbox::id))
            .select(job_outbox::id)
            .limit(room)
            .for_update()
            .skip_locked()
            .load(conn)
            .await?;
        if ids.is_empty() {
            return Ok(ids);
        }

        diesel::update(job_outbox::table.filter(job_outbox::id.eq_any(&ids)))
            .set((
                job_outbox::status.eq(JobStatus::Enqueued.as_str()),
                job_outbox::enqueued_at.eq(Utc::now()),
            ))
            .execute(conn)
            .await?;

        Ok(ids)
    })
    .await
}

/// Puts jobs the relay could not hand to Redis back in the outbox.
pub async fn return_to_outbox(conn: &mut AsyncPgConnection, ids: &[i64]) -> Result<(), DbError> {
    diesel::update(job_outbox::table.filter(job_outbox::id.eq_any(ids)))
        .filter(job_outbox::status.eq(JobStatus::Enqueued.as_str()))
        .set((
            job_outbox::status.eq(JobStatus::Pending.as_str()),
            job_outbox::enqueued_at.eq(None::<DateTime<Utc>>),
        ))
        .execute(conn)
        .await?;

    Ok(())
}

/// Claims a delivered job for one attempt, under a lease.
///
/// `None` when the job is gone, finished, already running elsewhere, or not due: a duplicate
/// or stale delivery, which the caller treats as done.
pub async fn claim(
    conn: &mut AsyncPgConnection,
    id: i64,
    lease: Duration,
) -> Result<Option<ClaimedJob>, DbError> {
    let claimable = [JobStatus::Enqueued.as_str(), JobStatus::Pending.as_str()];

    let row: Option<(serde_json::Value, i32, i32)> = diesel::update(job_outbox::table.find(id))
        .filter(job_outbox::status.eq_any(claimable))
        .filter(job_outbox::run_after.le(diesel::dsl::now))
        .filter(job_outbox::attempts.lt(job_outbox::max_attempts))
        .set((
            job_outbox::status.eq(JobStatus::Running.as_str()),
            job_outbox::attempts.eq(job_outbox::attempts + 1),
            job_outbox::lease_expires_at.eq(Utc::now() + lease),
        ))
        .returning((job_outbox::payload, job_outbox::attempts, job_outbox::max_attempts))
        .get_result(conn)
        .await
        .optional()?;
    let Some((payload, attempt, max_attempts)) = row else {
        return Ok(None);
    };

    match serde_json::from_value::<Job>(payload) {
        Ok(job) => Ok(Some(ClaimedJob { id, job, attempt, max_attempts })),
        Err(_) => {
            // A payload this build cannot read will never succeed: stop it now.
            let failure = Failure::permanent("unknown_job", "job payload could not be read");
            fail_unreadable(conn, id, attempt, &failure).await?;
            Ok(None)
        }
    }
}

async fn fail_unreadable(
    conn: &mut AsyncPgConnection,
    id: i64,
    attempt: i32,
    failure: &Failure,
) -> Result<(), DbError> {
    let kind: String = diesel::update(job_outbox::table.find(id))
        .set((
            job_outbox::status.eq(JobStatus::Failed.as_str()),
            job_outbox::last_error_code.eq(&failure.code),
            job_outbox::finished_at.eq(Utc::now()),
            job_outbox::lease_expires_at.eq(None::<DateTime<Utc>>),
        ))
        .returning(job_outbox::kind)
        .get_result(conn)
        .await?;

    record_failure(conn, id, &kind, None, None, attempt, true, failure).await
}

/// Extends the lease of a running job (for long jobs).
pub async fn renew_lease(
    conn: &mut AsyncPgConnection,
    id: i64,
    lease: Duration,
) -> Result<(), DbError> {
    diesel::update(job_outbox::table.find(id))
        .filter(job_outbox::status.eq(JobStatus::Running.as_str()))
        .set(job_outbox::lease_expires_at.eq(Utc::now() + lease))
        .execute(conn)
        .await?;

    Ok(())
}

/// Marks a running job finished; `false` when it was not running (already finished). A
/// handler may call it inside its own transaction to make its effect and the completion one.
pub async fn complete(conn: &mut AsyncPgConnection, id: i64) -> Result<bool, DbError> {
    let updated = diesel::update(job_outbox::table.find(id))
        .filter(job_outbox::status.eq(JobStatus::Running.as_str()))
        .set((
            job_outbox::status.eq(JobStatus::Done.as_str()),
            job_outbox::finished_at.eq(Utc::now()),
            job_outbox::lease_expires_at.eq(None::<DateTime<Utc>>),
            job_outbox::last_error_code.eq(None::<String>),
        ))
        .execute(conn)
        .await?;

    Ok(updated == 1)
}

/// A failed attempt, described for staff: a stable code and a sanitized message.
#[derive(Debug, Clone)]
pub struct Failure {
    /// Stable snake_case code.
    pub code: String,
    /// Sanitized message: no secrets, no personal data, no document text.
    pub message: String,
    /// A permanent failure is not retried.
    pub permanent: bool,
}

impl Failure {
    /// A failure worth retrying.
    pub fn transient(code: &str, message: &str) -> Self {
        Self { code: code.to_owned(), message: truncate(message), permanent: false }
    }

    /// The attempt of a worker that stopped without reporting (its lease ran out).
    pub fn lease_lost() -> Self {
        Self::transient("lease_expired", "the worker running this job stopped")
    }

    /// A failure no retry can fix.
    pub fn permanent(code: &str, message: &str) -> Self {
        Self { code: code.to_owned(), message: truncate(message), permanent: true }
    }
}

fn truncate(message: &str) -> String {
    message.chars().take(FAILURE_MESSAGE_MAX_CHARS).collect()
}

/// How retries are spaced.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// Delay ceiling before the first retry.
    pub base: Duration,
    /// Largest delay ceiling.
    pub max: Duration,
}

impl Backoff {
    /// Full jitter: a uniformly random delay between zero and `min(max, base × 2^(attempt−1))`,
    /// drawn per job, so jobs that failed together do not retry together.
    pub fn delay(&self, attempt: i32, rng: &mut impl Rng) -> Duration {
        let exponent = u32::try_from(attempt.saturating_sub(1)).unwrap_or(0).min(30);
        let base_ms = self.base.num_milliseconds().max(1);
        let ceiling = base_ms.saturating_mul(1_i64 << exponent).min(self.max.num_milliseconds());

        Duration::milliseconds(rng.random_range(0..=ceiling.max(1)))
    }
}

/// What happened to a job after a failed attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    /// Scheduled again.
    Retrying {
        /// When the next attempt may start.
        at: DateTime<Utc>,
    },
    /// No more attempts.
    GaveUp,
}

/// Records a failed attempt: schedules the next one, or gives up after the last attempt or
/// on a permanent failure. Either way a sanitized record goes to `task_failures`.
pub async fn fail(
    conn: &mut AsyncPgConnection,
    claimed: &ClaimedJob,
    failure: &Failure,
    backoff: &Backoff,
) -> Result<AfterFailure, DbError> {
    let give_up = failure.permanent || claimed.attempt >= claimed.max_attempts;
    let retry_at = Utc::now() + backoff.delay(claimed.attempt, &mut rand::rng());

    conn.transaction(async |conn| {
        let (status, run_after, finished_at) = if give_up {
            (JobStatus::Failed, Utc::now(), Some(Utc::now()))
        } else {
            (JobStatus::Pending, retry_at, None)
        };
        diesel::update(job_outbox::table.find(claimed.id))
            .filter(job_outbox::status.eq(JobStatus::Running.as_str()))
            .set((
                job_outbox::status.eq(status.as_str()),
                job_outbox::run_after.eq(run_after),
                job_outbox::finished_at.eq(finished_at),
                job_outbox::enqueued_at.eq(None::<DateTime<Utc>>),
                job_outbox::lease_expires_at.eq(None::<DateTime<Utc>>),
                job_outbox::last_error_code.eq(&failure.code),
            ))
            .execute(conn)
            .await?;

        let job = &claimed.job;
        record_failure(
            conn,
            claimed.id,
            job.kind(),
            job.document_id(),
            job.audio_id(),
            claimed.attempt,
            give_up,
            failure,
        )
        .await?;

        Ok(if give_up { AfterFailure::GaveUp } else { AfterFailure::Retrying { at: retry_at } })
    })
    .await
}

#[expect(clippy::too_many_arguments, reason = "one column per argument of a flat record")]
async fn record_failure(
    conn: &mut AsyncPgConnection,
    job_id: i64,
    kind: &str,
    document_id: Option<Uuid>,
    audio_id: Option<Uuid>,
    attempt: i32,
    final_: bool,
    failure: &Failure,
) -> Result<(), DbError> {
    diesel::insert_into(task_failures::table)
        .values((
            task_failures::job_id.eq(job_id),
            task_failures::job_kind.eq(kind),
            task_failures::document_id.eq(document_id),
            task_failures::audio_id.eq(audio_id),
            task_failures::attempt.eq(attempt.max(1)),
            task_failures::final_.eq(final_),
            task_failures::error_code.eq(&failure.code),
            task_failures::message.eq(&failure.message),
        ))
        .execute(conn)
        .await?;

    Ok(())
}

/// What one lease sweep did.
#[derive(Debug, Default)]
pub struct Swept {
    /// Jobs returned to the outbox or failed.
    pub touched: usize,
    /// Jobs that were out of attempts and are now failed, for their give-up bookkeeping.
    pub gave_up: Vec<Job>,
}

/// Returns jobs whose worker died to the outbox, counting the lost attempt; jobs out of
/// attempts are failed (and returned, so the caller can do their give-up bookkeeping). Also
/// re-offers jobs stuck in Redis longer than `stuck_after` (for example after Redis lost its
/// data).
pub async fn sweep(conn: &mut AsyncPgConnection, stuck_after: Duration) -> Result<Swept, DbError> {
    let now = Utc::now();
    let lost = Failure::lease_lost();

    conn.transaction(async |conn| {
        let expired: Vec<(i64, String, i32, i32, serde_json::Value)> = job_outbox::table
            .filter(job_outbox::status.eq(JobStatus::Running.as_str()))
            .filter(job_outbox::lease_expires_at.lt(now))
            .select((
                job_outbox::id,
                job_outbox::kind,
                job_outbox::attempts,
                job_outbox::max_attempts,
                job_outbox::payload,
            ))
            .for_update()
            .skip_locked()
            .load(conn)
            .await?;

        let mut gave_up = Vec::new();
        for (id, kind, attempt, max_attempts, payload) in &expired {
            let give_up = attempt >= max_attempts;
            let job = serde_json::from_value::<Job>(payload.clone()).ok();
            if give_up && let Some(job) = &job {
                gave_up.push(job.clone());
            }
            let status = if give_up { JobStatus::Failed } else { JobStatus::Pending };
            diesel::update(job_outbox::table.find(id))
                .set((
                    job_outbox::status.eq(status.as_str()),
                    job_outbox::lease_expires_at.eq(None::<DateTime<Utc>>),
                    job_outbox::enqueued_at.eq(None::<DateTime<Utc>>),
                    job_outbox::last_error_code.eq(&lost.code),
                    job_outbox::finished_at.eq(give_up.then_some(now)),
                ))
                .execute(conn)
                .await?;
            let document_id = job.as_ref().and_then(Job::document_id);
            let audio_id = job.as_ref().and_then(Job::audio_id);
            record_failure(conn, *id, kind, document_id, audio_id, *attempt, give_up, &lost)
                .await?;
        }

        let stuck = diesel::update(job_outbox::table)
            .filter(job_outbox::status.eq(JobStatus::Enqueued.as_str()))
            .filter(job_outbox::enqueued_at.lt(now - stuck_after))
            .set((
                job_outbox::status.eq(JobStatus::Pending.as_str()),
                job_outbox::enqueued_at.eq(None::<DateTime<Utc>>),
            ))
            .execute(conn)
            .await?;

        Ok(Swept { touched: expired.len() + stuck, gave_up })
    })
    .await
}

/// Deletes finished outbox rows older than `retention`.
pub async fn purge_finished(
    conn: &mut AsyncPgConnection,
    retention: Duration,
) -> Result<usize, DbError> {
    let finished = [JobStatus::Done.as_str(), JobStatus::Failed.as_str()];

    let purged = diesel::delete(job_outbox::table)
        .filter(job_outbox::status.eq_any(finished))
        .filter(job_outbox::finished_at.lt(Utc::now() - retention))
        .execute(conn)
        .await?;

    Ok(purged)
}

/// Whether a job of this kind is already waiting or running (for periodic jobs).
pub async fn has_open(conn: &mut AsyncPgConnection, kind: &str) -> Result<bool, DbError> {
    let open =
        [JobStatus::Pending.as_str(), JobStatus::Enqueued.as_str(), JobStatus::Running.as_str()];

    let count: i64 = job_outbox::table
        .filter(job_outbox::kind.eq(kind))
        .filter(job_outbox::status.eq_any(open))
        .count()
        .get_result(conn)
        .await?;

    Ok(count > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    const BACKOFF: Backoff =
        Backoff { base: Duration::milliseconds(1000), max: Duration::milliseconds(60_000) };

    #[test]
    fn delays_stay_under_the_exponential_ceiling() {
        let mut rng = StdRng::seed_from_u64(7);

        for attempt in 1..=10 {
            let ceiling = (1000_i64 << (attempt - 1)).min(60_000);
            for _ in 0..100 {
                let delay = BACKOFF.delay(attempt, &mut rng).num_milliseconds();
                assert!((0..=ceiling).contains(&delay), "attempt {attempt}: {delay}");
            }
        }
    }

    #[test]
    fn jobs_failing_together_retry_at_different_times() {
        let mut rng = StdRng::seed_from_u64(11);

        let delays: std::collections::HashSet<i64> =
            (0..50).map(|_| BACKOFF.delay(4, &mut rng).num_milliseconds()).collect();

        assert!(delays.len() > 40, "only {} distinct delays", delays.len());
    }

    #[test]
    fn job_payload_round_trips() {
        let payload = serde_json::to_value(Job::PurgeExpired).unwrap();

        assert_eq!(payload, serde_json::json!({"kind": "purge_expired"}));
        assert_eq!(serde_json::from_value::<Job>(payload).unwrap(), Job::PurgeExpired);
    }
}
