//! The job worker: an outbox relay that hands due jobs from PostgreSQL to Redis, apalis
//! workers that run them, and a sweeper that returns the jobs of dead workers.
//!
//! Redis only carries outbox ids. Each delivery claims its outbox row with a conditional
//! update, so a duplicate delivery, a row that is gone or a job already done is a no-op.
//! Attempts, retry times and outcomes live in PostgreSQL: the handler always reports success
//! to apalis, so apalis-redis's own re-scheduling (which ignores attempt limits) never runs.
//!
//! Each attempt runs under a soft timeout (the job stops, records the failure and cleans
//! up) inside a hard timeout (apalis drops the future; the lease sweeper then counts the
//! attempt). A panic inside a job is caught and recorded as a failed attempt.

use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use apalis::prelude::*;
use apalis_redis::{Config as RedisConfig, RedisStorage};
use futures::FutureExt;
use orator_config::Config;
use orator_domain::jobs::{self, AfterFailure, Backoff, ClaimedJob, Failure, Job};
use orator_domain::{DbError, DbPool, db};
use serde::{Deserialize, Serialize};

mod handlers;
mod synthesis;

/// What Redis carries: the id of an outbox row, nothing else.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Delivery {
    /// `job_outbox.id`.
    pub outbox_id: i64,
}

/// Everything a job handler may use.
#[derive(Clone)]
pub struct WorkerContext {
    /// PostgreSQL.
    pub db: DbPool,
    /// Boot configuration.
    pub config: Arc<Config>,
    /// Object storage.
    pub storage: Arc<dyn orator_storage::Storage>,
    /// Outbound fetching of web pages.
    pub fetcher: orator_fetch::Fetcher,
    /// The speech engine.
    pub speech: Arc<orator_speech::Speech>,
    /// Redis, for the engine-call rate limit every worker shares.
    pub kv: orator_kv::Kv,
    /// Engine calls this process may make at once, over all the audios it synthesizes.
    pub speech_calls: Arc<tokio::sync::Semaphore>,
}

impl WorkerContext {
    /// The context from its parts; the engine-call bound comes from the configuration.
    pub fn new(
        db: DbPool,
        config: Arc<Config>,
        storage: Arc<dyn orator_storage::Storage>,
        fetcher: orator_fetch::Fetcher,
        speech: Arc<orator_speech::Speech>,
        kv: orator_kv::Kv,
    ) -> Self {
        let speech_calls = Arc::new(tokio::sync::Semaphore::new(config.speech_concurrency));

        Self { db, config, storage, fetcher, speech, kv, speech_calls }
    }

    /// Extraction limits, from the configuration.
    pub fn ingest_limits(&self) -> orator_ingest::Limits {
        let config = &self.config;
        orator_ingest::Limits {
            max_pages: config.document_max_pages,
            max_chars: config.document_max_chars,
            max_decompressed_bytes: config.docx_max_inflated_bytes,
            page_chars: config.page_max_chars,
        }
    }
}

impl std::fmt::Debug for WorkerContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerContext").finish_non_exhaustive()
    }
}

/// A worker failure that stops the process.
#[derive(Debug, thiserror::Error)]
pub enum WorkerError {
    /// Redis could not be reached at start.
    #[error("redis unavailable")]
    Redis(#[source] redis::RedisError),
    /// The apalis monitor stopped with an error.
    #[error("job worker stopped")]
    Monitor(#[source] Box<dyn std::error::Error + Send + Sync>),
}

/// The Redis queue name for this deployment.
pub fn queue_name(config: &Config) -> String {
    format!("{}:jobs", config.queue_prefix)
}

fn redis_config(config: &Config) -> RedisConfig {
    let batch = config.worker_concurrency.max(1);

    RedisConfig::default()
        .queue(queue_name(config))
        .heartbeat_interval(Config::secs(config.worker_heartbeat_secs))
        .missed_heartbeats(usize::try_from(config.worker_missed_heartbeats).unwrap_or(3))
        .batch_size(batch)
}

/// Runs the relay, the sweeper and the workers until `shutdown` completes.
pub async fn run(
    ctx: WorkerContext,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), WorkerError> {
    let config = ctx.config.clone();
    let storage = producer(&ctx).await?;

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let relay = tokio::spawn(relay_loop(ctx.clone(), storage.clone(), stop_rx.clone()));
    let periodic = tokio::spawn(schedule_periodic(ctx.clone(), stop_rx));

    let base_name = format!("orator-{}-{}", hostname(), std::process::id());
    let poll = Config::millis(config.worker_poll_interval_ms);
    let hard_timeout = Config::secs(config.job_hard_timeout_secs);
    let concurrency = config.worker_concurrency;
    let handler_ctx = ctx.clone();
    let monitor = Monitor::new()
        .register(move |restarts| {
            WorkerBuilder::new(format!("{base_name}-{restarts}"))
                .backend(storage.clone().poll_with_interval(poll))
                .data(handler_ctx.clone())
                .concurrency(concurrency)
                .timeout(hard_timeout)
                .catch_panic()
                .build(deliver)
        })
        .should_restart(|_, _| true)
        .shutdown_timeout(Config::secs(config.shutdown_grace_secs));

    let outcome = monitor
        .run_with_signal(async move {
            shutdown.await;
            Ok(())
        })
        .await;

    let _ = stop_tx.send(true);
    let _ = relay.await;
    let _ = periodic.await;

    outcome.map_err(|err| WorkerError::Monitor(Box::new(err)))
}

/// Connects to the deployment's job queue in Redis.
pub async fn producer(ctx: &WorkerContext) -> Result<RedisStorage<Delivery>, WorkerError> {
    let conn = apalis_redis::connect(ctx.config.redis_url.expose().as_str())
        .await
        .map_err(WorkerError::Redis)?;

    Ok(RedisStorage::new(conn).with_config(redis_config(&ctx.config)))
}

fn hostname() -> String {
    std::env::var("HOSTNAME").ok().filter(|name| !name.is_empty()).unwrap_or_else(|| "host".into())
}

/// One apalis delivery: claim, run under the soft timeout, record the outcome.
async fn deliver(delivery: Delivery, ctx: Data<WorkerContext>) -> Result<(), BoxDynError> {
    if let Err(err) = process(&ctx, delivery.outbox_id).await {
        // The row stays as it is; the sweeper offers it again once its lease or its
        // enqueue time runs out.
        tracing::warn!(job.id = delivery.outbox_id, error = %err, "job bookkeeping failed");
    }

    Ok(())
}

/// Claims and runs one outbox job; used by the apalis handler and by tests.
pub async fn process(ctx: &WorkerContext, outbox_id: i64) -> Result<(), DbError> {
    let lease = chrono::Duration::seconds(i64::try_from(ctx.config.job_lease_secs).unwrap_or(600));
    let claimed = {
        let mut conn = db::conn(&ctx.db).await?;
        jobs::claim(&mut conn, outbox_id, lease).await?
    };
    let Some(claimed) = claimed else {
        tracing::debug!(job.id = outbox_id, "delivery skipped: job not claimable");
        return Ok(());
    };

    let started = std::time::Instant::now();
    let soft_timeout = Config::secs(ctx.config.job_soft_timeout_secs);
    let attempt = AssertUnwindSafe(handlers::run(ctx, &claimed)).catch_unwind();
    let outcome = match tokio::time::timeout(soft_timeout, attempt).await {
        Ok(Ok(result)) => result,
        Ok(Err(_panic)) => Err(Failure::transient("job_panicked", "the job panicked")),
        Err(_elapsed) => {
            Err(Failure::transient("job_timed_out", "the job ran past its soft timeout"))
        }
    };
    let duration_ms = started.elapsed().as_millis();

    let mut conn = db::conn(&ctx.db).await?;
    match outcome {
        Ok(()) => {
            // A handler that completed the job in its own transaction leaves nothing to do.
            jobs::complete(&mut conn, claimed.id).await?;
            tracing::info!(
                job.id = claimed.id,
                job.kind = claimed.job.kind(),
                job.attempt = claimed.attempt,
                duration_ms,
                "job done"
            );
        }
        Err(failure) => record_failure(&mut conn, ctx, &claimed, &failure, duration_ms).await?,
    }

    Ok(())
}

async fn record_failure(
    conn: &mut diesel_async::AsyncPgConnection,
    ctx: &WorkerContext,
    claimed: &ClaimedJob,
    failure: &Failure,
    duration_ms: u128,
) -> Result<(), DbError> {
    let backoff = backoff(&ctx.config);
    if failure.permanent || claimed.attempt >= claimed.max_attempts {
        handlers::on_give_up(conn, &claimed.job, failure).await?;
    }

    let after = jobs::fail(conn, claimed, failure, &backoff).await?;
    if let AfterFailure::Retrying { .. } = after {
        handlers::on_retry(conn, &claimed.job).await?;
    }

    match after {
        AfterFailure::Retrying { at } => tracing::warn!(
            job.id = claimed.id,
            job.kind = claimed.job.kind(),
            job.attempt = claimed.attempt,
            error.code = %failure.code,
            retry_at = %at,
            duration_ms,
            "job attempt failed; retrying"
        ),
        AfterFailure::GaveUp => tracing::error!(
            job.id = claimed.id,
            job.kind = claimed.job.kind(),
            job.attempt = claimed.attempt,
            error.code = %failure.code,
            duration_ms,
            "job failed for good"
        ),
    }

    Ok(())
}

/// The retry spacing from the configuration.
pub fn backoff(config: &Config) -> Backoff {
    let millis =
        |value: u64| chrono::Duration::milliseconds(i64::try_from(value).unwrap_or(i64::MAX));

    Backoff { base: millis(config.job_backoff_base_ms), max: millis(config.job_backoff_max_ms) }
}

/// Moves due outbox rows into Redis and runs the lease sweeper, until told to stop.
async fn relay_loop(
    ctx: WorkerContext,
    mut storage: RedisStorage<Delivery>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let interval = Config::millis(ctx.config.relay_interval_ms);
    let stuck_after =
        chrono::Duration::seconds(i64::try_from(ctx.config.job_lease_secs).unwrap_or(600));

    loop {
        if let Err(err) = relay_once(&ctx, &mut storage).await {
            tracing::warn!(error = %err, "outbox relay pass failed");
        }
        if let Err(err) = sweep_once(&ctx, stuck_after).await {
            tracing::warn!(error = %err, "lease sweep failed");
        }

        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = stop.changed() => return,
        }
    }
}

/// One relay pass: hand due jobs to Redis, within the backlog limit. Returns how many.
pub async fn relay_once(
    ctx: &WorkerContext,
    storage: &mut RedisStorage<Delivery>,
) -> Result<usize, RelayError> {
    let mut conn = db::conn(&ctx.db).await?;
    let ids = jobs::take_due_for_relay(&mut conn, i64::from(ctx.config.relay_max_backlog)).await?;
    if ids.is_empty() {
        return Ok(0);
    }

    let deliveries: Vec<Delivery> = ids.iter().map(|&outbox_id| Delivery { outbox_id }).collect();
    if let Err(err) = storage.push_bulk(deliveries).await {
        // Redis is down: the jobs wait in PostgreSQL for the next pass.
        jobs::return_to_outbox(&mut conn, &ids).await?;
        return Err(RelayError::Redis(err.to_string()));
    }

    Ok(ids.len())
}

/// One lease sweep: jobs of stopped workers go back to the outbox, and those out of attempts
/// get their give-up bookkeeping (so no document or audio stays stuck mid-way).
pub async fn sweep_once(ctx: &WorkerContext, stuck_after: chrono::Duration) -> Result<(), DbError> {
    let mut conn = db::conn(&ctx.db).await?;
    let swept = jobs::sweep(&mut conn, stuck_after).await?;

    let lost = Failure::lease_lost();
    for job in &swept.gave_up {
        handlers::on_give_up(&mut conn, job, &lost).await?;
    }
    if swept.touched > 0 {
        tracing::warn!(jobs = swept.touched, "returned jobs of stopped workers to the outbox");
    }

    Ok(())
}

/// A relay pass that did not complete.
#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    /// PostgreSQL failed.
    #[error(transparent)]
    Db(#[from] DbError),
    /// Redis refused the jobs.
    #[error("redis push failed: {0}")]
    Redis(String),
}

/// Schedules the periodic maintenance job once per interval, across all replicas.
async fn schedule_periodic(ctx: WorkerContext, mut stop: tokio::sync::watch::Receiver<bool>) {
    let every = Config::secs(ctx.config.maintenance_interval_secs);
    loop {
        if let Err(err) = schedule_maintenance(&ctx).await {
            tracing::warn!(error = %err, "scheduling maintenance failed");
        }

        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
    }
}

async fn schedule_maintenance(ctx: &WorkerContext) -> Result<(), DbError> {
    let mut conn = db::conn(&ctx.db).await?;
    let max_attempts = i32::try_from(ctx.config.job_max_attempts).unwrap_or(5);

    for job in [Job::PurgeExpired, Job::SweepOrphans] {
        if !jobs::has_open(&mut conn, job.kind()).await? {
            jobs::enqueue(&mut conn, &job, max_attempts, chrono::Utc::now()).await?;
        }
    }

    Ok(())
}
