//! The job outbox and the worker: relay, claim, retry with jitter, give up, sweep leases.

use chrono::{Duration, Utc};
use diesel::prelude::*;
use diesel_async::RunQueryDsl;
use orator_domain::jobs::{self, AfterFailure, Backoff, Failure, Job};
use orator_domain::schema::{job_outbox, task_failures};
use orator_tests::TestApp;
use orator_worker::WorkerContext;

const BACKOFF: Backoff =
    Backoff { base: Duration::milliseconds(1000), max: Duration::milliseconds(60_000) };

fn worker_context(app: &TestApp) -> WorkerContext {
    app.worker_context()
}

async fn status_of(app: &TestApp, id: i64) -> (String, i32) {
    let mut conn = app.db.conn().await;
    job_outbox::table
        .find(id)
        .select((job_outbox::status, job_outbox::attempts))
        .first(&mut conn)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rolled_back_transaction_leaves_no_job() {
    use diesel_async::AsyncConnection;

    let app = TestApp::new().await;
    let mut conn = app.db.conn().await;

    let outcome: Result<(), diesel::result::Error> = conn
        .transaction(async |conn| {
            jobs::enqueue(conn, &Job::PurgeExpired, 3, Utc::now()).await.unwrap();
            Err(diesel::result::Error::RollbackTransaction)
        })
        .await;

    let count: i64 = job_outbox::table.count().get_result(&mut conn).await.unwrap();
    assert!(outcome.is_err());
    assert_eq!(count, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_relay_hands_due_jobs_to_redis_within_the_backlog_limit() {
    let app = TestApp::builder().env("ORATOR_RELAY_MAX_BACKLOG", "2").build().await;
    let mut conn = app.db.conn().await;
    for _ in 0..3 {
        jobs::enqueue(&mut conn, &Job::PurgeExpired, 3, Utc::now()).await.unwrap();
    }
    jobs::enqueue(&mut conn, &Job::PurgeExpired, 3, Utc::now() + Duration::hours(1)).await.unwrap();
    let ctx = worker_context(&app);
    let mut storage = orator_worker::producer(&ctx).await.unwrap();

    let first = orator_worker::relay_once(&ctx, &mut storage).await.unwrap();
    let second = orator_worker::relay_once(&ctx, &mut storage).await.unwrap();

    let enqueued: i64 = job_outbox::table
        .filter(job_outbox::status.eq("enqueued"))
        .count()
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(first, 2, "the backlog limit caps what goes to Redis");
    assert_eq!(second, 0, "nothing more fits until a job starts");
    assert_eq!(enqueued, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_job_runs_once_even_when_delivered_twice() {
    let app = TestApp::new().await;
    let mut conn = app.db.conn().await;
    let id = jobs::enqueue(&mut conn, &Job::PurgeExpired, 3, Utc::now()).await.unwrap();
    let ctx = worker_context(&app);

    orator_worker::process(&ctx, id).await.unwrap();
    orator_worker::process(&ctx, id).await.unwrap();

    assert_eq!(status_of(&app, id).await, ("done".to_owned(), 1));
}

#[tokio::test(flavor = "multi_thread")]
async fn failures_retry_later_then_give_up_with_a_record() {
    let app = TestApp::new().await;
    let mut conn = app.db.conn().await;
    let id = jobs::enqueue(&mut conn, &Job::PurgeExpired, 2, Utc::now()).await.unwrap();
    let failure = Failure::transient("engine_throttled", "the engine asked us to slow down");

    let first = jobs::claim(&mut conn, id, Duration::minutes(5)).await.unwrap().unwrap();
    let retry = jobs::fail(&mut conn, &first, &failure, &BACKOFF).await.unwrap();
    let too_early = jobs::claim(&mut conn, id, Duration::minutes(5)).await.unwrap();
    diesel::update(job_outbox::table.find(id))
        .set(job_outbox::run_after.eq(Utc::now()))
        .execute(&mut conn)
        .await
        .unwrap();
    let second = jobs::claim(&mut conn, id, Duration::minutes(5)).await.unwrap().unwrap();
    let last = jobs::fail(&mut conn, &second, &failure, &BACKOFF).await.unwrap();

    let records: Vec<(i32, bool, String)> = task_failures::table
        .filter(task_failures::job_id.eq(id))
        .order(task_failures::id)
        .select((task_failures::attempt, task_failures::final_, task_failures::error_code))
        .load(&mut conn)
        .await
        .unwrap();
    assert!(
        matches!(retry, AfterFailure::Retrying { at } if at <= Utc::now() + Duration::seconds(1))
    );
    assert!(too_early.is_none(), "a job is not claimable before its retry time");
    assert_eq!(second.attempt, 2);
    assert_eq!(last, AfterFailure::GaveUp);
    assert_eq!(status_of(&app, id).await, ("failed".to_owned(), 2));
    assert_eq!(
        records,
        vec![(1, false, "engine_throttled".to_owned()), (2, true, "engine_throttled".to_owned())]
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_permanent_failure_is_not_retried() {
    let app = TestApp::new().await;
    let mut conn = app.db.conn().await;
    let id = jobs::enqueue(&mut conn, &Job::PurgeExpired, 5, Utc::now()).await.unwrap();

    let claimed = jobs::claim(&mut conn, id, Duration::minutes(5)).await.unwrap().unwrap();
    let outcome = jobs::fail(
        &mut conn,
        &claimed,
        &Failure::permanent("invalid_voice", "unknown voice"),
        &BACKOFF,
    )
    .await
    .unwrap();

    assert_eq!(outcome, AfterFailure::GaveUp);
    assert_eq!(status_of(&app, id).await, ("failed".to_owned(), 1));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_sweeper_returns_jobs_of_dead_workers_counting_the_attempt() {
    let app = TestApp::new().await;
    let mut conn = app.db.conn().await;
    let id = jobs::enqueue(&mut conn, &Job::PurgeExpired, 2, Utc::now()).await.unwrap();

    jobs::claim(&mut conn, id, Duration::milliseconds(-1)).await.unwrap().unwrap();
    let swept = jobs::sweep(&mut conn, Duration::minutes(10)).await.unwrap();
    let retried = jobs::claim(&mut conn, id, Duration::milliseconds(-1)).await.unwrap().unwrap();
    jobs::sweep(&mut conn, Duration::minutes(10)).await.unwrap();

    assert_eq!(swept.touched, 1);
    assert_eq!(retried.attempt, 2);
    assert_eq!(
        status_of(&app, id).await,
        ("failed".to_owned(), 2),
        "out of attempts after two crashes"
    );
    let lost: i64 = task_failures::table
        .filter(task_failures::error_code.eq("lease_expired"))
        .count()
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(lost, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_worker_runs_a_job_end_to_end_through_redis() {
    let app = TestApp::builder()
        .env("ORATOR_WORKER_POLL_INTERVAL_MS", "50")
        .env("ORATOR_RELAY_INTERVAL_MS", "50")
        .build()
        .await;
    let mut conn = app.db.conn().await;
    let id = jobs::enqueue(&mut conn, &Job::PurgeExpired, 3, Utc::now()).await.unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let worker = tokio::spawn(orator_worker::run(worker_context(&app), async {
        let _ = stopped.await;
    }));

    let mut status = String::new();
    for _ in 0..200 {
        status = status_of(&app, id).await.0;
        if status == "done" {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let _ = stop.send(());
    worker.await.unwrap().unwrap();

    assert_eq!(status, "done");
}
