//! Liveness and readiness probes. Neither prints a connection string or an error text.

use std::collections::BTreeMap;
use std::time::Duration;

use actix_web::{HttpResponse, get, web};
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

/// A probe's answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct HealthView {
    /// `ok` (live), `ready`, or `unavailable`.
    pub status: &'static str,
    /// Each dependency's state: `ok` or `unavailable`.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub checks: BTreeMap<&'static str, &'static str>,
}

/// The process is up; touches nothing.
#[utoipa::path(
    tag = "platform",
    security(()),
    responses((status = 200, description = "The process is running", body = HealthView))
)]
#[get("/health/live")]
pub async fn live() -> HttpResponse {
    HttpResponse::Ok().json(HealthView { status: "ok", checks: BTreeMap::new() })
}

async fn within<E>(limit: Duration, check: impl Future<Output = Result<(), E>>) -> &'static str {
    match tokio::time::timeout(limit, check).await {
        Ok(Ok(())) => "ok",
        _ => "unavailable",
    }
}

async fn check_database(state: &AppState) -> Result<(), orator_domain::DbError> {
    use diesel_async::RunQueryDsl;

    let mut conn = state
        .conn()
        .await
        .map_err(|_| orator_domain::DbError::Unavailable("no connection".into()))?;
    diesel::sql_query("SELECT 1").execute(&mut conn).await?;

    Ok(())
}

/// PostgreSQL, Redis and storage all answer within the check timeout.
#[utoipa::path(
    tag = "platform",
    security(()),
    responses(
        (status = 200, description = "Ready to serve", body = HealthView),
        (status = 503, description = "A dependency is unavailable", body = HealthView),
    )
)]
#[get("/health/ready")]
pub async fn ready(state: web::Data<AppState>) -> HttpResponse {
    let limit = Duration::from_millis(state.config.health_check_timeout_ms);

    let (database, redis, storage) = tokio::join!(
        within(limit, check_database(&state)),
        within(limit, state.kv.ping()),
        within(limit, state.storage.check()),
    );

    let checks = BTreeMap::from([("database", database), ("redis", redis), ("storage", storage)]);
    if checks.values().all(|status| *status == "ok") {
        return HttpResponse::Ok().json(HealthView { status: "ready", checks });
    }
    HttpResponse::ServiceUnavailable()
        .insert_header(("Retry-After", state.config.unavailable_retry_after_secs.to_string()))
        .json(HealthView { status: "unavailable", checks })
}
