//! The speech engine's voices, and a short spoken preview of each.

use actix_web::http::header;
use actix_web::{HttpResponse, get, web};
use orator_domain::audios;
use orator_speech::pipeline::{self, Ungated};
use orator_speech::{EngineError, Voice};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::sync::Semaphore;
use utoipa::ToSchema;

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::routes::documents::storage_error;
use crate::state::AppState;

/// A voice the engine can speak with.
#[derive(Debug, Serialize, ToSchema)]
pub struct VoiceView {
    /// What `POST /pages/{page_id}/audios` takes as `voice`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Language code, such as `en-US`.
    pub language: String,
    /// `male` or `female`, when the engine says.
    pub gender: Option<String>,
    /// Voice technologies offering it: `standard`, `neural` (Polly) or `local`.
    pub engines: Vec<String>,
}

impl From<Voice> for VoiceView {
    fn from(voice: Voice) -> Self {
        Self {
            id: voice.id,
            name: voice.name,
            language: voice.language,
            gender: voice.gender,
            engines: voice.engines,
        }
    }
}

/// The voice catalogue.
#[derive(Debug, Serialize, ToSchema)]
pub struct VoiceCatalogue {
    /// `polly` or `local`.
    pub engine: String,
    /// Whether the engine can be used now; when `false`, `voices` is empty and audio requests
    /// are refused with `speech_engine_unavailable`.
    pub available: bool,
    /// The voices, in the engine's order.
    pub voices: Vec<VoiceView>,
}

/// The engine's voices, or 503 `speech_engine_unavailable` when they cannot be listed.
pub(crate) async fn catalogue(state: &AppState) -> ApiResult<Vec<Voice>> {
    state.speech.voices().await.map_err(engine_error)
}

/// One voice of the catalogue: 422 `unknown_voice` when the engine does not offer it.
pub(crate) async fn known_voice(state: &AppState, id: &str) -> ApiResult<Voice> {
    let voices = catalogue(state).await?;

    voices.into_iter().find(|voice| voice.id == id).ok_or(ApiError::new(ErrorCode::UnknownVoice))
}

/// Maps an engine failure met while serving a request: 503 with `Retry-After` (added at the
/// edge); the cause is logged, never shown.
pub(crate) fn engine_error(err: EngineError) -> ApiError {
    ApiError { cause: Some(Box::new(err)), ..ApiError::new(ErrorCode::SpeechEngineUnavailable) }
}

/// The speech engine's voices.
#[utoipa::path(
    tag = "voices",
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The catalogue; `available` is false when the engine is missing", body = VoiceCatalogue),
    )
)]
#[get("/voices")]
pub async fn list_voices(state: web::Data<AppState>, _caller: AuthUser) -> ApiResult<HttpResponse> {
    let engine = state.speech.name().to_owned();

    let listed = match state.speech.voices().await {
        Ok(voices) => Some(voices),
        Err(EngineError::Unavailable) => None,
        Err(err) => return Err(engine_error(err)),
    };

    let catalogue = VoiceCatalogue {
        engine,
        available: listed.is_some(),
        voices: listed.unwrap_or_default().into_iter().map(VoiceView::from).collect(),
    };
    Ok(HttpResponse::Ok().json(catalogue))
}

/// The sentence a preview reads, in the voice's language where one is written.
fn preview_text(voice: &Voice) -> String {
    let language = orator_speech::engine::chunk_language(&voice.language);

    match language.as_str() {
        "es" => format!("Hola, soy {}. Así sonarán tus documentos.", voice.name),
        "fr" => format!("Bonjour, je suis {}. Voici comment vos documents sonneront.", voice.name),
        "de" => format!("Hallo, ich bin {}. So werden Ihre Dokumente klingen.", voice.name),
        _ => format!("Hello, I am {}. This is how your documents will sound.", voice.name),
    }
}

/// Where a voice's preview is stored: by engine and a digest of the voice id, so any id
/// makes a safe key.
fn preview_key(engine: &str, voice: &str) -> String {
    let digest = Sha256::digest(voice.as_bytes());
    format!("previews/{engine}/{}.mp3", hex::encode(&digest[..16]))
}

/// The storage key of a voice's preview, speaking and storing it first if there is none.
/// Two first requests at once both speak the same sample to the same key; either row wins.
async fn stored_preview(state: &AppState, voice: &Voice) -> ApiResult<String> {
    let engine = state.speech.name();
    let stored = {
        let mut conn = state.conn().await?;
        audios::preview_key(&mut conn, &voice.id, engine).await?
    };
    if let Some(key) = stored {
        return Ok(key);
    }

    let sample = pipeline::synthesize_text(
        state.speech.as_ref(),
        &Ungated,
        &Semaphore::new(1),
        &voice.id,
        &voice.language,
        &preview_text(voice),
    )
    .await
    .map_err(|err| match err {
        pipeline::SynthesisError::Engine(err) => engine_error(err),
        other => ApiError::internal(other),
    })?;
    let key = preview_key(engine, &voice.id);
    state.storage.put(&key, sample.audio.bytes, "audio/mpeg").await.map_err(storage_error)?;

    let mut conn = state.conn().await?;
    audios::save_preview(&mut conn, &voice.id, engine, &key).await?;
    Ok(key)
}

/// A short sample of a voice: generated on first request, stored, then served from a signed
/// URL.
#[utoipa::path(
    tag = "voices",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = String, Path, description = "Voice id, from `GET /voices`")),
    responses(
        (status = 302, description = "Redirect to a signed URL of the MP3 sample", headers(("Location" = String, description = "Signed URL"))),
        (status = 404, description = "`not_found`: the engine has no such voice", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "`speech_engine_unavailable`", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/voices/{id}/preview")]
pub async fn voice_preview(
    state: web::Data<AppState>,
    _caller: AuthUser,
    path: web::Path<String>,
) -> ApiResult<HttpResponse> {
    let voice_id = path.into_inner();
    let voice = catalogue(&state)
        .await?
        .into_iter()
        .find(|voice| voice.id == voice_id)
        .ok_or(ApiError::new(ErrorCode::NotFound))?;
    let key = stored_preview(&state, &voice).await?;

    let signed = state.signed_audio_url(&key, None).await?;

    Ok(HttpResponse::Found()
        .insert_header((header::LOCATION, signed.url))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preview_keys_are_safe_whatever_the_voice_id() {
        let key = preview_key("local", "gmw/en-US ../../etc");

        assert!(key.starts_with("previews/local/"));
        assert!(orator_storage::key_to_relative_path(&key).is_ok());
    }
}
