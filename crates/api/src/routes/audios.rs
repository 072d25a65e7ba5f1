//! Audio for pages: asking for it, reading its status, playing, downloading, deleting and
//! retrying it.

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, delete, get, post, web};
use chrono::{DateTime, Utc};
use orator_domain::access::{self, Capability, DocumentAccess};
use orator_domain::audios::{self, Audio, AudioError, AudioRequest};
use orator_domain::documents::{self, Page};
use orator_domain::settings::{self, SiteSettings};
use orator_domain::shares::Action;
use orator_kv::{Decision, Limit};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::auth::{self, AuthUser};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::i18n::Locale;
use crate::routes::documents::{authorize, document_error};
use crate::routes::voices::known_voice;
use crate::state::AppState;

/// Why synthesis failed.
#[derive(Debug, Serialize, ToSchema)]
pub struct AudioErrorView {
    /// Stable code, such as `speech_throttled` or `unknown_voice`.
    pub code: String,
    /// Explanation in the caller's language.
    pub message: String,
}

/// An audio as clients see it.
#[derive(Debug, Serialize, ToSchema)]
pub struct AudioView {
    /// Identifier.
    pub id: Uuid,
    /// The page spoken.
    pub page_id: Uuid,
    /// The page's document.
    pub document_id: Uuid,
    /// The voice id.
    pub voice: String,
    /// `polly` or `local`.
    pub engine: String,
    /// `queued`, `synthesizing`, `ready` or `failed`.
    pub status: String,
    /// Why synthesis failed, when it did.
    pub error: Option<AudioErrorView>,
    /// Length, once ready.
    pub duration_ms: Option<i64>,
    /// Size of the MP3, once ready.
    pub size_bytes: Option<i64>,
    /// Characters read aloud, once ready.
    pub char_count: Option<i32>,
    /// When it was asked for.
    pub created_at: DateTime<Utc>,
    /// When it became ready.
    pub ready_at: Option<DateTime<Utc>>,
    /// When it was last played.
    pub last_played_at: Option<DateTime<Utc>>,
    /// When it will be removed unless played again (ready audio only).
    pub expires_at: Option<DateTime<Utc>>,
    /// Whole days left until `expires_at`, rounded up (ready audio only).
    pub days_until_expiry: Option<i64>,
}

impl AudioView {
    /// The view of `audio`, with expiry from the site's retention and messages in `locale`.
    pub fn new(audio: &Audio, retention_days: i32, locale: &Locale) -> Self {
        let expires_at = (audio.status == "ready")
            .then(|| audio.last_played_at.or(audio.ready_at))
            .flatten()
            .map(|since| since + chrono::Duration::days(i64::from(retention_days)));
        let days_until_expiry = expires_at.map(|at| {
            let seconds = (at - Utc::now()).num_seconds().max(0);
            (seconds + 86_399) / 86_400
        });

        Self {
            id: audio.id,
            page_id: audio.page_id,
            document_id: audio.document_id,
            voice: audio.voice.clone(),
            engine: audio.engine.clone(),
            status: audio.status.clone(),
            error: audio.error_code.as_ref().map(|code| AudioErrorView {
                code: code.clone(),
                message: locale.message(&format!("audio-{code}")),
            }),
            duration_ms: audio.duration_ms,
            size_bytes: audio.size_bytes,
            char_count: audio.char_count,
            created_at: audio.created_at,
            ready_at: audio.ready_at,
            last_played_at: audio.last_played_at,
            expires_at,
            days_until_expiry,
        }
    }
}

/// A page's lifetime audio quota.
#[derive(Debug, Serialize, ToSchema)]
pub struct AudioQuota {
    /// Audios the page has had, deleted ones included.
    pub used: i32,
    /// The most it may ever have.
    pub max: i32,
    /// How many more may be asked for.
    pub remaining: i32,
}

/// A page's active audios and its quota.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageAudios {
    /// Active audios, oldest first.
    pub items: Vec<AudioView>,
    /// The page's quota.
    pub quota: AudioQuota,
}

/// A time-limited URL to fetch the audio from.
#[derive(Debug, Serialize, ToSchema)]
pub struct PlayUrl {
    /// Signed GET URL; supports `Range` requests for progressive playback.
    pub url: String,
    /// When the URL stops working.
    pub expires_at: DateTime<Utc>,
}

/// Audio to ask for.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateAudio {
    /// A voice id from `GET /voices`.
    #[validate(length(min = 1, max = 100, code = "invalid_format"))]
    pub voice: String,
}

fn audio_error(err: AudioError) -> ApiError {
    match err {
        AudioError::NotFound => ApiError::new(ErrorCode::NotFound),
        AudioError::VoiceInUse => ApiError::new(ErrorCode::VoiceInUse),
        AudioError::QuotaExhausted => ApiError::new(ErrorCode::AudioQuotaExhausted),
        AudioError::NotFailed => ApiError::new(ErrorCode::NotFailed),
        AudioError::Db(db) => db.into(),
    }
}

fn max_attempts(state: &AppState) -> i32 {
    i32::try_from(state.config.job_max_attempts).unwrap_or(5)
}

async fn site_settings(state: &AppState) -> ApiResult<SiteSettings> {
    let mut conn = state.conn().await?;
    Ok(settings::load(&mut conn).await?)
}

/// A page and the caller's access to its document, requiring `capability`.
async fn page_access(
    state: &AppState,
    caller: &AuthUser,
    page_id: Uuid,
    capability: Capability,
) -> ApiResult<(Page, DocumentAccess)> {
    let page = {
        let mut conn = state.conn().await?;
        documents::page_by_id(&mut conn, page_id).await.map_err(document_error)?
    };
    let access = authorize(state, caller, page.document_id, capability).await?;

    Ok((page, access))
}

/// An active audio and the caller's access to its document, requiring `capability`.
async fn audio_access(
    state: &AppState,
    caller: &AuthUser,
    audio_id: Uuid,
    capability: Capability,
) -> ApiResult<(Audio, DocumentAccess)> {
    let audio = {
        let mut conn = state.conn().await?;
        audios::find_active(&mut conn, audio_id).await.map_err(audio_error)?
    };
    let access = authorize(state, caller, audio.document_id, capability).await?;

    Ok((audio, access))
}

/// Asks for audio of a page in a voice; synthesis happens in the background.
///
/// A page has at most one active audio per voice, and at most the site's
/// `max_audios_per_page` audios over its lifetime (deleted ones count). Both hold under
/// concurrent requests.
#[utoipa::path(
    tag = "audio",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("page_id" = Uuid, Path, description = "Page id")),
    request_body = CreateAudio,
    responses(
        (status = 202, description = "Queued", body = AudioView),
        (status = 403, description = "`permission_denied`, `generation_disabled`, `email_unverified` or `csrf_failed`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`voice_in_use` or `audio_quota_exhausted`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`unknown_voice`, `page_empty`, `validation_failed` or `invalid_body`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "`speech_engine_unavailable`", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/pages/{page_id}/audios")]
pub async fn create_audio(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: AuthUser,
    path: web::Path<Uuid>,
    body: web::Json<CreateAudio>,
) -> ApiResult<HttpResponse> {
    caller.require_verified(&state)?;
    let (page, access) =
        page_access(&state, &caller, path.into_inner(), Capability::Generate).await?;
    let site = site_settings(&state).await?;
    if !site.generation_enabled {
        return Err(ApiError::new(ErrorCode::GenerationDisabled));
    }
    body.validate()?;
    let voice = known_voice(&state, &body.voice).await?;
    if !orator_speech::pipeline::has_speech(&page.markdown) {
        return Err(ApiError::new(ErrorCode::PageEmpty));
    }
    let actor = auth::actor(&req, &state, &caller);
    let mut conn = state.conn().await?;

    let ask = AudioRequest {
        page_id: page.id,
        document_id: access.document.id,
        voice: &voice.id,
        engine: state.speech.name(),
        max_per_page: site.max_audios_per_page,
        max_attempts: max_attempts(&state),
    };
    let audio = audios::request(&mut conn, ask, &actor).await.map_err(audio_error)?;

    tracing::info!(user.id = %caller.user.id, audio.id = %audio.id, page.id = %page.id, "audio requested");
    let view = AudioView::new(&audio, site.audio_retention_days, &Locale::of(&req));
    Ok(HttpResponse::Accepted().json(view))
}

/// A page's active audios, with its quota.
#[utoipa::path(
    tag = "audio",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("page_id" = Uuid, Path, description = "Page id")),
    responses(
        (status = 200, description = "The page's active audios", body = PageAudios),
        (status = 404, description = "`not_found`", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/pages/{page_id}/audios")]
pub async fn list_page_audios(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: AuthUser,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let (page, _access) = page_access(&state, &caller, path.into_inner(), Capability::View).await?;
    let site = site_settings(&state).await?;
    let mut conn = state.conn().await?;

    let rows = audios::list_for_page(&mut conn, page.id).await?;

    let locale = Locale::of(&req);
    let max = site.max_audios_per_page;
    let quota = AudioQuota {
        used: page.audios_created,
        max,
        remaining: (max - page.audios_created).max(0),
    };
    let items = rows
        .iter()
        .map(|audio| AudioView::new(audio, site.audio_retention_days, &locale))
        .collect();
    Ok(HttpResponse::Ok().json(PageAudios { items, quota }))
}

/// One audio: status, voice, duration and error.
#[utoipa::path(
    tag = "audio",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = Uuid, Path, description = "Audio id")),
    responses(
        (status = 200, description = "The audio", body = AudioView),
        (status = 404, description = "`not_found`", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/audios/{id}")]
pub async fn get_audio(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: AuthUser,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let (audio, _access) =
        audio_access(&state, &caller, path.into_inner(), Capability::View).await?;
    let site = site_settings(&state).await?;

    Ok(HttpResponse::Ok().json(AudioView::new(
        &audio,
        site.audio_retention_days,
        &Locale::of(&req),
    )))
}

/// Signs a URL for a ready audio and records the listen.
async fn signed_listen(
    state: &AppState,
    req: &HttpRequest,
    caller: &AuthUser,
    audio_id: Uuid,
    action: Action,
) -> ApiResult<orator_storage::SignedUrl> {
    let (audio, access) = audio_access(state, caller, audio_id, Capability::Play).await?;
    let Some(key) = audio.storage_key.as_deref().filter(|_| audio.is_playable()) else {
        return Err(ApiError::new(ErrorCode::AudioNotReady));
    };
    let download_name = if action == Action::Download {
        let mut conn = state.conn().await?;
        let page = documents::page_by_id(&mut conn, audio.page_id).await.map_err(document_error)?;
        Some(format!("{} - page {} - {}.mp3", access.document.title, page.number, audio.voice))
    } else {
        None
    };

    let signed = state.signed_audio_url(key, download_name).await?;

    let site = site_settings(state).await?;
    let actor = auth::actor(req, state, caller);
    let mut conn = state.conn().await?;
    audios::record_listen(&mut conn, &audio, &actor, action, site.audio_retention_days).await?;
    Ok(signed)
}

/// A signed URL to stream a ready audio (supports `Range`); records the play.
#[utoipa::path(
    tag = "audio",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = Uuid, Path, description = "Audio id")),
    responses(
        (status = 200, description = "Signed URL and its expiry", body = PlayUrl),
        (status = 403, description = "`csrf_failed`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`audio_not_ready`", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/audios/{id}/play")]
pub async fn play_audio(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: AuthUser,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let signed = signed_listen(&state, &req, &caller, path.into_inner(), Action::Play).await?;

    let url = PlayUrl { url: signed.url, expires_at: DateTime::<Utc>::from(signed.expires_at) };
    Ok(HttpResponse::Ok().insert_header((header::CACHE_CONTROL, "no-store")).json(url))
}

/// Downloads a ready audio: a redirect to a signed URL served as an attachment named after
/// the document, page and voice; records the download.
#[utoipa::path(
    tag = "audio",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = Uuid, Path, description = "Audio id")),
    responses(
        (status = 302, description = "Redirect to the signed download URL", headers(("Location" = String, description = "Signed URL"))),
        (status = 404, description = "`not_found`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`audio_not_ready`", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/audios/{id}/download")]
pub async fn download_audio(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: AuthUser,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let signed = signed_listen(&state, &req, &caller, path.into_inner(), Action::Download).await?;

    Ok(HttpResponse::Found()
        .insert_header((header::LOCATION, signed.url))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish())
}

/// Deletes an audio (the owner, or whoever asked for it): its voice is free again on the
/// page, the page's lifetime count stays, and the stored file is removed in the background.
#[utoipa::path(
    tag = "audio",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = Uuid, Path, description = "Audio id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "`permission_denied` or `csrf_failed`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/audios/{id}")]
pub async fn delete_audio(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: AuthUser,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let (audio, access) =
        audio_access(&state, &caller, path.into_inner(), Capability::View).await?;
    access::may_delete_audio(&access, caller.user.id, audio.requested_by)
        .map_err(crate::routes::documents::access_error)?;
    let actor = auth::actor(&req, &state, &caller);
    let mut conn = state.conn().await?;

    audios::delete(&mut conn, audio.id, &actor, max_attempts(&state)).await.map_err(audio_error)?;

    tracing::info!(user.id = %caller.user.id, audio.id = %audio.id, "audio deleted");
    Ok(HttpResponse::NoContent().finish())
}

/// Synthesizes a failed audio again (rate limited per user).
#[utoipa::path(
    tag = "audio",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = Uuid, Path, description = "Audio id")),
    responses(
        (status = 202, description = "Queued again", body = AudioView),
        (status = 403, description = "`permission_denied`, `generation_disabled`, `email_unverified` or `csrf_failed`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`not_failed`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`unknown_voice`: the engine no longer offers the voice", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "`speech_engine_unavailable`", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/audios/{id}/retry")]
pub async fn retry_audio(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: AuthUser,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    caller.require_verified(&state)?;
    let (audio, _access) =
        audio_access(&state, &caller, path.into_inner(), Capability::Generate).await?;
    let site = site_settings(&state).await?;
    if !site.generation_enabled {
        return Err(ApiError::new(ErrorCode::GenerationDisabled));
    }
    if audio.status != "failed" {
        return Err(ApiError::new(ErrorCode::NotFailed));
    }
    // From the cached catalogue: 503 when the engine is missing, 422 if the voice is gone.
    known_voice(&state, &audio.voice).await?;
    let limit = Limit {
        max: state.config.audio_retries_per_hour,
        window: std::time::Duration::from_secs(3600),
    };
    if let Decision::Limited { retry_after } =
        state.kv.hit("audio-retry", &caller.user.id.to_string(), limit).await?
    {
        return Err(ApiError::rate_limited(retry_after));
    }
    let mut conn = state.conn().await?;

    let audio =
        audios::retry(&mut conn, audio.id, max_attempts(&state)).await.map_err(audio_error)?;

    let view = AudioView::new(&audio, site.audio_retention_days, &Locale::of(&req));
    Ok(HttpResponse::Accepted().json(view))
}
