//! Jobs per second through the real job path: PostgreSQL outbox → relay → Redis (apalis-redis)
//! → worker → claim and complete in PostgreSQL.
//!
//! Each run gets a fresh test app (its own PostgreSQL schema and Redis prefix, from
//! `orator-tests`), inserts N `delete_objects` jobs with no keys (the job does no work, so
//! only the queue's bookkeeping is timed) in one transaction before the clock starts, then
//! runs `orator_worker::run` and polls `job_outbox` until all N are `done`. The maintenance
//! jobs the worker schedules for itself are not counted.
//!
//! Needs PostgreSQL on 127.0.0.1:5432 (user `postgres`; the harness creates the
//! `orator_test` database if it is missing, or set `ORATOR_TEST_DATABASE_URL`) and Redis on
//! 127.0.0.1:6379 (or `ORATOR_TEST_REDIS_URL`). Nothing leaves loopback. Run with
//! `cargo run --release -p orator-bench --bin queue_throughput`.

use std::time::{Duration, Instant};

use diesel::{ExpressionMethods, QueryDsl};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use orator_domain::DbError;
use orator_domain::jobs::{self, Job};
use orator_domain::schema::job_outbox;
use orator_tests::TestApp;

/// Jobs enqueued per run.
const JOB_COUNTS: [usize; 2] = [1_000, 5_000];
/// Worker concurrencies tried (`ORATOR_WORKER_CONCURRENCY`; 4 is the default).
const CONCURRENCIES: [usize; 2] = [4, 8];
/// Settings every run uses, besides the concurrency.
const SETTINGS: [(&str, &str); 4] = [
    ("ORATOR_RELAY_INTERVAL_MS", "50"),
    ("ORATOR_WORKER_POLL_INTERVAL_MS", "20"),
    ("ORATOR_RELAY_MAX_BACKLOG", "1000"),
    ("ORATOR_DATABASE_POOL_SIZE", "16"),
];
/// Attempts each job may take.
const MAX_ATTEMPTS: i32 = 5;
/// How often the outbox is checked for finished jobs.
const POLL_EVERY: Duration = Duration::from_millis(10);
/// Longest one run may take before it is abandoned.
const RUN_LIMIT: Duration = Duration::from_secs(300);
/// Longest the worker may take to stop once told to.
const STOP_LIMIT: Duration = Duration::from_secs(40);

/// A benchmark outcome.
type BenchResult<T> = Result<T, Box<dyn std::error::Error>>;

#[tokio::main(flavor = "multi_thread")]
async fn main() -> BenchResult<()> {
    let settings: Vec<String> =
        SETTINGS.iter().map(|(name, value)| format!("{name}={value}")).collect();
    println!("settings: {}", settings.join(" "));
    println!("{:>6} {:>12} {:>10} {:>10}", "jobs", "concurrency", "wall s", "jobs/s");

    for concurrency in CONCURRENCIES {
        for count in JOB_COUNTS {
            let elapsed = run_once(count, concurrency).await?;
            let rate = count as f64 / elapsed.as_secs_f64().max(f64::EPSILON);
            println!("{count:>6} {concurrency:>12} {:>10.2} {rate:>10.1}", elapsed.as_secs_f64());
        }
    }

    Ok(())
}

/// Enqueues `count` jobs, runs a worker of `concurrency` until all are done, and returns how
/// long that took (from starting the worker).
async fn run_once(count: usize, concurrency: usize) -> BenchResult<Duration> {
    let concurrency = concurrency.to_string();
    let builder =
        SETTINGS.iter().fold(TestApp::builder(), |builder, (name, value)| builder.env(name, value));
    let app = builder.env("ORATOR_WORKER_CONCURRENCY", &concurrency).build().await;
    let mut conn = app.db.conn().await;
    enqueue_all(&mut conn, count).await?;

    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let started = Instant::now();
    let worker = tokio::spawn(orator_worker::run(app.worker_context(), async move {
        let _ = stop_rx.await;
    }));

    let outcome = wait_until_done(&mut conn, count, &worker).await;
    let elapsed = started.elapsed();

    let _ = stop_tx.send(());
    match tokio::time::timeout(STOP_LIMIT, worker).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(err))) => return Err(format!("the worker failed: {err}").into()),
        Ok(Err(err)) => return Err(format!("the worker task failed: {err}").into()),
        Err(_) => return Err("the worker did not stop in time".into()),
    }
    outcome?;

    Ok(elapsed)
}

/// Inserts `count` no-op jobs in one transaction.
async fn enqueue_all(conn: &mut AsyncPgConnection, count: usize) -> Result<(), DbError> {
    let job = Job::DeleteObjects { keys: vec![] };
    let now = chrono::Utc::now();

    conn.transaction(async |conn| {
        for _ in 0..count {
            jobs::enqueue(conn, &job, MAX_ATTEMPTS, now).await?;
        }
        Ok(())
    })
    .await
}

/// Polls the outbox until `count` benchmark jobs are done, the worker stops, or the run limit
/// passes.
async fn wait_until_done<T>(
    conn: &mut AsyncPgConnection,
    count: usize,
    worker: &tokio::task::JoinHandle<T>,
) -> BenchResult<()> {
    let started = Instant::now();
    let kind = Job::DeleteObjects { keys: vec![] }.kind();

    loop {
        let done: i64 = job_outbox::table
            .filter(job_outbox::kind.eq(kind))
            .filter(job_outbox::status.eq("done"))
            .count()
            .get_result(conn)
            .await?;
        if usize::try_from(done).unwrap_or(0) >= count {
            return Ok(());
        }
        if worker.is_finished() {
            return Err(format!("the worker stopped with {done} of {count} jobs done").into());
        }
        if started.elapsed() > RUN_LIMIT {
            return Err(format!("only {done} of {count} jobs done after {RUN_LIMIT:?}").into());
        }

        tokio::time::sleep(POLL_EVERY).await;
    }
}
