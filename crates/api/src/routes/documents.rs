//! Documents: creating them (upload, URL, pasted text), reading, renaming, deleting and
//! retrying them.

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, Utc};
use orator_domain::access::{self, Capability, DocumentAccess, Role};
use orator_domain::documents::{self, Document, DocumentSummary, NewDocument};
use orator_kv::{Decision, Limit};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult, ErrorCode, FieldCode};
use crate::i18n::Locale;
use crate::pagination::{ListQuery, Paginated};
use crate::state::AppState;
use crate::upload::{self, Incoming};

/// Why processing failed.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentErrorView {
    /// Stable code, such as `pdf_encrypted` or `no_text_found`.
    pub code: String,
    /// Explanation in the caller's language.
    pub message: String,
}

/// A document as its viewer sees it.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentView {
    /// Identifier.
    pub id: Uuid,
    /// Title.
    pub title: String,
    /// `pending`, `processing`, `ready` or `failed`.
    pub status: String,
    /// Why processing failed, when it did.
    pub error: Option<DocumentErrorView>,
    /// `upload`, `url` or `text`.
    pub source_kind: String,
    /// The imported page's URL.
    pub source_url: Option<String>,
    /// The uploaded file's name, for display.
    pub original_filename: Option<String>,
    /// Media type of the source.
    pub content_type: Option<String>,
    /// Size of the source in bytes.
    pub size_bytes: Option<i64>,
    /// Number of pages.
    pub page_count: i32,
    /// The caller's permission: `owner`, `can_share`, `collaborator` or `view_only`.
    pub permission: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl DocumentView {
    /// The view of `document` for a caller with `role`, messages in `locale`.
    pub fn new(document: &Document, role: Role, locale: &Locale) -> Self {
        Self {
            id: document.id,
            title: document.title.clone(),
            status: document.status.clone(),
            error: document.error_code.as_ref().map(|code| DocumentErrorView {
                code: code.clone(),
                message: locale.message(&format!("doc-{code}")),
            }),
            source_kind: document.source_kind.clone(),
            source_url: document.source_url.clone(),
            original_filename: document.original_filename.clone(),
            content_type: document.content_type.clone(),
            size_bytes: document.size_bytes,
            page_count: document.page_count,
            permission: role.as_str().to_owned(),
            created_at: document.created_at,
            updated_at: document.updated_at,
        }
    }
}

/// A document in a list, with its counts.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentListItem {
    /// The document.
    #[serde(flatten)]
    pub document: DocumentView,
    /// Active audios over all pages.
    pub audio_count: i64,
    /// Shares of the document.
    pub share_count: i64,
}

/// Maps the access policy's refusals.
pub fn access_error(err: access::AccessError) -> ApiError {
    match err {
        access::AccessError::NotFound => ApiError::new(ErrorCode::NotFound),
        access::AccessError::PermissionDenied => ApiError::new(ErrorCode::PermissionDenied),
        access::AccessError::Db(db) => db.into(),
    }
}

/// Maps document-operation refusals.
pub fn document_error(err: documents::DocumentError) -> ApiError {
    match err {
        documents::DocumentError::NotFound => ApiError::new(ErrorCode::NotFound),
        documents::DocumentError::NotFailed => ApiError::new(ErrorCode::NotFailed),
        documents::DocumentError::Db(db) => db.into(),
    }
}

/// The caller's view of a document, requiring `capability`.
pub async fn authorize(
    state: &AppState,
    caller: &AuthUser,
    document_id: Uuid,
    capability: Capability,
) -> ApiResult<DocumentAccess> {
    let mut conn = state.conn().await?;
    access::authorize(&mut conn, caller.user.id, document_id, capability)
        .await
        .map_err(access_error)
}

fn max_attempts(state: &AppState) -> i32 {
    i32::try_from(state.config.job_max_attempts).unwrap_or(5)
}

/// Creates a document from an upload, a URL or pasted text; processing happens in the
/// background.
///
/// Send `multipart/form-data` with a `file` part (PDF, DOCX, Markdown or plain text, told
/// apart by their bytes) and an optional `title` part; or JSON `{"url": ..., "title": ...}` to
/// import a web page; or JSON `{"text": ..., "title": ...}`.
#[utoipa::path(
    tag = "documents",
    security(("bearer" = []), ("session_cookie" = [])),
    request_body(content(
        (upload::UploadForm = "multipart/form-data"),
        (upload::CreateFromJson = "application/json"),
    )),
    responses(
        (status = 202, description = "Accepted; the document is `pending`", body = DocumentView),
        (status = 400, description = "`bad_request` (malformed multipart) or `malformed_json`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`email_unverified` or `csrf_failed`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "`file_too_large`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`: not PDF, DOCX or UTF-8 text, or a name that lies about the content", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`, `invalid_body` or `url_not_allowed`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`: too many uploads this hour", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/documents")]
pub async fn create_document(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: AuthUser,
    payload: web::Payload,
) -> ApiResult<HttpResponse> {
    let user = caller.require_verified(&state)?;
    let settings = {
        let mut conn = state.conn().await?;
        orator_domain::settings::load(&mut conn).await?
    };
    let limit = Limit {
        max: u32::try_from(settings.uploads_per_hour).unwrap_or(1),
        window: std::time::Duration::from_secs(3600),
    };
    // With Redis down the upload goes ahead: the document and its job wait in PostgreSQL,
    // and losing the limit for a while is better than refusing every upload.
    match state.kv.hit("upload", &user.id.to_string(), limit).await {
        Ok(Decision::Limited { retry_after }) => return Err(ApiError::rate_limited(retry_after)),
        Ok(Decision::Allowed) => {}
        Err(err) => tracing::warn!(error = %err, "upload rate limit unavailable; allowing"),
    }

    let incoming = upload::read(&state, &req, payload).await?;
    let document = store_and_create(&state, user.id, incoming).await?;

    tracing::info!(user.id = %user.id, document.id = %document.id, "document created");
    let locale = Locale::of(&req);
    Ok(HttpResponse::Accepted().json(DocumentView::new(&document, Role::Owner, &locale)))
}

/// Writes the source object, then the rows and the job; removes the object again if the
/// rows cannot be written, so a failed request leaves nothing behind.
async fn store_and_create(
    state: &AppState,
    owner_id: Uuid,
    incoming: Incoming,
) -> ApiResult<Document> {
    let mut new = NewDocument {
        owner_id,
        title: incoming.title.clone(),
        auto_title: incoming.auto_title,
        source_kind: incoming.source_kind,
        source_url: incoming.url.as_ref().map(ToString::to_string),
        original_filename: incoming.filename.clone(),
        content_type: incoming.content_type.clone(),
        size_bytes: None,
        storage_key: None,
    };

    if let Some(bytes) = incoming.bytes {
        let key = format!("uploads/{owner_id}/{}", Uuid::new_v4());
        let content_type = incoming.content_type.clone().unwrap_or_default();
        new.size_bytes = i64::try_from(bytes.len()).ok();
        state.storage.put(&key, bytes, &content_type).await.map_err(storage_error)?;
        new.storage_key = Some(key);
    }

    let created = match state.conn().await {
        Ok(mut conn) => {
            documents::create(&mut conn, &new, max_attempts(state)).await.map_err(ApiError::from)
        }
        Err(err) => Err(err),
    };
    if created.is_err()
        && let Some(key) = &new.storage_key
        && let Err(err) = state.storage.delete(key).await
    {
        // The orphan sweep removes it later.
        tracing::warn!(error = %err, "could not remove an upload after a failed insert");
    }

    created
}

/// Maps storage failures (never exposing keys or bucket names).
pub fn storage_error(err: orator_storage::StorageError) -> ApiError {
    ApiError::unavailable(err, crate::problem::DEFAULT_RETRY_AFTER_SECS)
}

/// Lists the caller's own documents, newest first.
#[utoipa::path(
    tag = "documents",
    security(("bearer" = []), ("session_cookie" = [])),
    params(ListQuery),
    responses(
        (status = 200, description = "One page of documents", body = Paginated<DocumentListItem>),
        (status = 400, description = "`invalid_query`", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/documents")]
pub async fn list_documents(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: AuthUser,
    query: web::Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    let page = query.page()?;
    let mut conn = state.conn().await?;

    let listed = documents::list_owned(&mut conn, caller.user.id, page).await?;

    let locale = Locale::of(&req);
    let to_item = |summary: DocumentSummary| DocumentListItem {
        document: DocumentView::new(&summary.document, Role::Owner, &locale),
        audio_count: summary.audio_count,
        share_count: summary.share_count,
    };
    Ok(HttpResponse::Ok().json(Paginated::from_page(listed, to_item)))
}

/// One document.
#[utoipa::path(
    tag = "documents",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = Uuid, Path, description = "Document id")),
    responses(
        (status = 200, description = "The document", body = DocumentView),
        (status = 404, description = "`not_found`", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/documents/{id}")]
pub async fn get_document(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: AuthUser,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let access = authorize(&state, &caller, path.into_inner(), Capability::View).await?;

    let view = DocumentView::new(&access.document, access.role, &Locale::of(&req));

    Ok(HttpResponse::Ok().json(view))
}

/// Processing progress of a document.
#[derive(Debug, Serialize, ToSchema)]
pub struct DocumentStatusView {
    /// `pending`, `processing`, `ready` or `failed`.
    pub status: String,
    /// Pages stored so far.
    pub pages_done: i32,
    /// Pages in all, once known (0 until processing finishes).
    pub pages_total: i32,
    /// Why processing failed, when it did.
    pub error: Option<DocumentErrorView>,
}

/// Where processing of a document stands.
#[utoipa::path(
    tag = "documents",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = Uuid, Path, description = "Document id")),
    responses(
        (status = 200, description = "Processing status", body = DocumentStatusView),
        (status = 404, description = "`not_found`", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/documents/{id}/status")]
pub async fn document_status(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: AuthUser,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let access = authorize(&state, &caller, path.into_inner(), Capability::View).await?;

    let view = DocumentView::new(&access.document, access.role, &Locale::of(&req));
    let done = if view.status == "ready" { view.page_count } else { 0 };

    Ok(HttpResponse::Ok().json(DocumentStatusView {
        status: view.status,
        pages_done: done,
        pages_total: done,
        error: view.error,
    }))
}

/// A new title.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenameDocument {
    /// 1 to 255 characters once trimmed.
    pub title: String,
}

/// Checks a title: trimmed, 1 to 255 characters.
pub fn checked_title(raw: &str) -> ApiResult<String> {
    let title = raw.trim();
    match title.chars().count() {
        0 => Err(ApiError::field("title", FieldCode::TooShort)),
        n if n > documents::TITLE_MAX_CHARS => Err(ApiError::field("title", FieldCode::TooLong)),
        _ => Ok(title.to_owned()),
    }
}

/// Renames a document (owner only).
#[utoipa::path(
    tag = "documents",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = Uuid, Path, description = "Document id")),
    request_body = RenameDocument,
    responses(
        (status = 200, description = "Renamed", body = DocumentView),
        (status = 403, description = "`permission_denied` or `csrf_failed`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/documents/{id}")]
pub async fn rename_document(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: AuthUser,
    path: web::Path<Uuid>,
    body: web::Json<RenameDocument>,
) -> ApiResult<HttpResponse> {
    let access = authorize(&state, &caller, path.into_inner(), Capability::Rename).await?;
    let title = checked_title(&body.title)?;
    let mut conn = state.conn().await?;

    let document =
        documents::rename(&mut conn, access.document.id, &title).await.map_err(document_error)?;

    Ok(HttpResponse::Ok().json(DocumentView::new(&document, access.role, &Locale::of(&req))))
}

/// Deletes a document, its pages and its audio (owner only). Stored files are removed in
/// the background.
#[utoipa::path(
    tag = "documents",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = Uuid, Path, description = "Document id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "`permission_denied` or `csrf_failed`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/documents/{id}")]
pub async fn delete_document(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: AuthUser,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let access = authorize(&state, &caller, path.into_inner(), Capability::Delete).await?;
    let actor = crate::auth::actor(&req, &state, &caller);
    let mut conn = state.conn().await?;

    documents::delete(&mut conn, access.document.id, max_attempts(&state), &actor)
        .await
        .map_err(document_error)?;

    tracing::info!(user.id = %caller.user.id, document.id = %access.document.id, "document deleted");
    Ok(HttpResponse::NoContent().finish())
}

/// Processes a failed document again (owner only; rate limited).
#[utoipa::path(
    tag = "documents",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = Uuid, Path, description = "Document id")),
    responses(
        (status = 202, description = "Queued again; the document is `pending`", body = DocumentView),
        (status = 403, description = "`permission_denied` or `csrf_failed`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`not_failed`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/documents/{id}/retry")]
pub async fn retry_document(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: AuthUser,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let access = authorize(&state, &caller, path.into_inner(), Capability::Rename).await?;
    if access.document.status != "failed" {
        return Err(ApiError::new(ErrorCode::NotFailed));
    }
    let limit = Limit {
        max: state.config.document_retries_per_hour,
        window: std::time::Duration::from_secs(3600),
    };
    if let Decision::Limited { retry_after } =
        state.kv.hit("document-retry", &caller.user.id.to_string(), limit).await?
    {
        return Err(ApiError::rate_limited(retry_after));
    }
    let mut conn = state.conn().await?;

    let document = documents::retry(&mut conn, access.document.id, max_attempts(&state))
        .await
        .map_err(document_error)?;

    Ok(HttpResponse::Accepted().json(DocumentView::new(&document, access.role, &Locale::of(&req))))
}
