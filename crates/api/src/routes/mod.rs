//! Route registration: every endpoint, under `/api/v1` except health and metrics.

use utoipa_actix_web::scope;
use utoipa_actix_web::service_config::ServiceConfig;

pub mod audios;
pub mod auth;
pub mod documents;
pub mod files;
pub mod health;
pub mod me;
pub mod pages;
pub mod shares;
pub mod voices;

/// Registers every route (and with it, every OpenAPI path).
pub fn configure(cfg: &mut ServiceConfig) {
    cfg.service(health::live)
        .service(health::ready)
        .service(crate::metrics::metrics_endpoint)
        .service(files::signed_file);

    cfg.service(
        scope::scope("/api/v1")
            .service(auth::register)
            .service(auth::verify_email)
            .service(auth::password_reset)
            .service(auth::password_reset_confirm)
            .service(auth::login)
            .service(auth::logout)
            .service(me::me)
            .service(me::update_me)
            .service(me::change_password)
            .service(me::resend_verification)
            .service(me::list_tokens)
            .service(me::create_token)
            .service(me::delete_token)
            .service(documents::create_document)
            .service(documents::list_documents)
            .service(documents::get_document)
            .service(documents::document_status)
            .service(documents::rename_document)
            .service(documents::delete_document)
            .service(documents::retry_document)
            .service(pages::list_pages)
            .service(pages::get_page)
            .service(pages::append_page)
            .service(pages::edit_page)
            .service(pages::render_markdown)
            .service(shares::create_share)
            .service(shares::list_shares)
            .service(shares::change_share)
            .service(shares::delete_share)
            .service(shares::shared_with_me)
            .service(shares::document_activity)
            .service(voices::list_voices)
            .service(voices::voice_preview)
            .service(audios::create_audio)
            .service(audios::list_page_audios)
            .service(audios::get_audio)
            .service(audios::play_audio)
            .service(audios::download_audio)
            .service(audios::delete_audio)
            .service(audios::retry_audio)
            .service(crate::openapi::openapi_json),
    );
}
