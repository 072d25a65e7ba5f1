//! Requests per second of `GET /api/v1/documents` for owners of 10, 1,000 and 10,000
//! documents, driven in-process against the real PostgreSQL (no network in between).

use std::time::Duration;

use actix_web::test;
use diesel_async::RunQueryDsl;
use orator_bench::{for_about, report};
use orator_tests::{As, TestApp};

/// How long each measurement runs.
const BUDGET: Duration = Duration::from_secs(3);
/// Requests kept in flight at once in the concurrent run.
const IN_FLIGHT: usize = 8;

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    for owned in [10_u32, 1_000, 10_000] {
        let app = TestApp::new().await;
        let (user, who) = app.signed_in().await;
        let mut conn = app.db.conn().await;
        let insert = format!(
            "INSERT INTO documents (id, owner_id, title, source_kind, status, page_count) \
             SELECT gen_random_uuid(), '{}', 'Document ' || n, 'text', 'ready', 3 \
             FROM generate_series(1, {owned}) AS n",
            user.id
        );
        diesel::sql_query(insert).execute(&mut conn).await.unwrap_or_default();
        diesel::sql_query("ANALYZE").execute(&mut conn).await.unwrap_or_default();

        let service = test::init_service(orator_api::app(app.state.clone())).await;
        let As::Bearer(token) = who else { return };
        let request = || {
            test::TestRequest::get()
                .uri("/api/v1/documents?limit=20")
                .insert_header(("Authorization", format!("Bearer {token}")))
                .to_request()
        };

        let (count, elapsed) = for_about(BUDGET, || async {
            let response = test::call_service(&service, request()).await;
            assert!(response.status().is_success());
        })
        .await;
        report(&format!("list, {owned} documents, sequential"), count, elapsed, "req");

        let (batches, elapsed) = for_about(BUDGET, || async {
            let calls = (0..IN_FLIGHT).map(|_| test::call_service(&service, request()));
            futures::future::join_all(calls).await;
        })
        .await;
        let label = format!("list, {owned} documents, {IN_FLIGHT} in flight");
        report(&label, batches * IN_FLIGHT as u64, elapsed, "req");
    }
}
