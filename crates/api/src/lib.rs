//! Orator's HTTP API (actix-web).
//!
//! Handlers extract the caller and the input, ask the domain, and shape the answer; the
//! edge middleware does the rest (request ids, problem documents, headers, metrics).

use std::net::TcpListener;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceFactory, ServiceRequest, ServiceResponse};
use actix_web::{App, HttpServer, middleware, web};
use utoipa_actix_web::AppExt;

pub mod auth;
pub mod edge;
pub mod error;
pub mod i18n;
mod mails;
pub mod metrics;
pub mod openapi;
pub mod pagination;
pub mod problem;
pub mod routes;
pub mod state;
pub mod upload;

pub use error::{ApiError, ErrorCode};
pub use state::AppState;

/// Builds the application for `state`: routes, extractor limits, edge middleware.
pub fn app(
    state: AppState,
) -> App<
    impl ServiceFactory<
        ServiceRequest,
        Config = (),
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
        InitError = (),
    >,
> {
    let json = web::JsonConfig::default()
        .limit(state.config.json_body_limit_bytes)
        .error_handler(edge::json_error);
    let path = web::PathConfig::default().error_handler(edge::path_error);
    let query = web::QueryConfig::default().error_handler(edge::query_error);
    let payload = web::PayloadConfig::new(state.config.json_body_limit_bytes);

    App::new()
        .into_utoipa_app()
        .app_data(web::Data::new(state))
        .app_data(json)
        .app_data(path)
        .app_data(query)
        .app_data(payload)
        .configure(routes::configure)
        .default_service(web::to(edge::not_found))
        .into_app()
        .wrap(middleware::from_fn(edge::edge))
}

/// Serves the API on `listener` until SIGTERM or Ctrl-C, then drains in-flight requests.
pub async fn serve(state: AppState, listener: TcpListener) -> std::io::Result<()> {
    let workers = match state.config.http_workers {
        0 => std::thread::available_parallelism().map_or(2, usize::from),
        n => n,
    };
    let grace = state.config.shutdown_grace_secs;
    metrics::install();

    HttpServer::new(move || app(state.clone()))
        .workers(workers)
        .shutdown_timeout(grace)
        .listen(listener)?
        .run()
        .await
}
