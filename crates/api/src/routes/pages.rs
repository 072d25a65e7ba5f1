//! Pages of a document: listing, reading (Markdown and sanitized HTML), appending, editing,
//! and rendering Markdown.

use actix_web::{HttpResponse, get, patch, post, web};
use chrono::{DateTime, Utc};
use orator_domain::access::{self, Capability, Role};
use orator_domain::documents::{self, Page};
use orator_domain::jobs::{self, Job};
use orator_domain::pagination::NumberCursor;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::error::{ApiError, ApiResult, ErrorCode, FieldCode};
use crate::pagination::{ListQuery, Paginated};
use crate::routes::documents::{access_error, authorize, document_error};
use crate::state::AppState;

/// A page in a list.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageSummary {
    /// Identifier.
    pub id: Uuid,
    /// Position, from 1.
    pub number: i32,
    /// Characters of Markdown.
    pub char_count: i32,
    /// The caller's permission on the document.
    pub permission: String,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// A page with its content.
#[derive(Debug, Serialize, ToSchema)]
pub struct PageView {
    /// Identifier.
    pub id: Uuid,
    /// The document.
    pub document_id: Uuid,
    /// Position, from 1.
    pub number: i32,
    /// The page as Markdown, exactly as stored.
    pub markdown: String,
    /// The page rendered to sanitized HTML (no scripts, handlers or script URLs).
    pub html: String,
    /// Characters of Markdown.
    pub char_count: i32,
    /// The caller's permission on the document.
    pub permission: String,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl PageView {
    fn new(page: Page, role: Role) -> Self {
        Self {
            html: orator_ingest::render::markdown_to_html(&page.markdown),
            id: page.id,
            document_id: page.document_id,
            number: page.number,
            char_count: page.char_count,
            permission: role.as_str().to_owned(),
            updated_at: page.updated_at,
            markdown: page.markdown,
        }
    }
}

fn page_limit(query: &ListQuery) -> ApiResult<(i64, Option<NumberCursor>)> {
    let limit = query.limit()?;
    let after = match &query.cursor {
        None => None,
        Some(raw) => {
            Some(NumberCursor::decode(raw).ok_or_else(|| ApiError::new(ErrorCode::InvalidQuery))?)
        }
    };

    Ok((limit, after))
}

/// A document's pages, in order.
#[utoipa::path(
    tag = "pages",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = Uuid, Path, description = "Document id"), ListQuery),
    responses(
        (status = 200, description = "One page of the document's pages", body = Paginated<PageSummary>),
        (status = 400, description = "`invalid_query`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/documents/{id}/pages")]
pub async fn list_pages(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<Uuid>,
    query: web::Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    let access = authorize(&state, &caller, path.into_inner(), Capability::View).await?;
    let (limit, after) = page_limit(&query)?;
    let mut conn = state.conn().await?;

    let (rows, next_cursor) =
        documents::list_pages(&mut conn, access.document.id, limit, after).await?;

    let items = rows
        .into_iter()
        .map(|page| PageSummary {
            id: page.id,
            number: page.number,
            char_count: page.char_count,
            permission: access.role.as_str().to_owned(),
            updated_at: page.updated_at,
        })
        .collect();
    Ok(HttpResponse::Ok().json(Paginated { items, next_cursor }))
}

/// One page of a document, by number.
#[utoipa::path(
    tag = "pages",
    security(("bearer" = []), ("session_cookie" = [])),
    params(
        ("id" = Uuid, Path, description = "Document id"),
        ("number" = i32, Path, description = "Page number, from 1"),
    ),
    responses(
        (status = 200, description = "The page", body = PageView),
        (status = 404, description = "`not_found`", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/documents/{id}/pages/{number}")]
pub async fn get_page(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<(Uuid, i32)>,
) -> ApiResult<HttpResponse> {
    let (document_id, number) = path.into_inner();
    let access = authorize(&state, &caller, document_id, Capability::View).await?;
    let mut conn = state.conn().await?;

    let page = documents::page_by_number(&mut conn, access.document.id, number)
        .await
        .map_err(document_error)?;

    Ok(HttpResponse::Ok().json(PageView::new(page, access.role)))
}

/// A page to append: exactly one of `text` and `url`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AppendPage {
    /// Markdown or plain text.
    pub text: Option<String>,
    /// A web page to fetch and append (in the background).
    pub url: Option<String>,
}

fn checked_markdown(state: &AppState, field: &'static str, markdown: &str) -> ApiResult<()> {
    if markdown.len() > state.config.page_edit_max_bytes {
        return Err(ApiError::field(field, FieldCode::TooLong));
    }
    if markdown.contains('\0') {
        return Err(ApiError::field(field, FieldCode::InvalidFormat));
    }
    Ok(())
}

/// Appends a page: text at once (201), a web page in the background (202).
#[utoipa::path(
    tag = "pages",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = Uuid, Path, description = "Document id")),
    request_body = AppendPage,
    responses(
        (status = 201, description = "Appended", body = PageView),
        (status = 202, description = "The page will be fetched and appended"),
        (status = 403, description = "`permission_denied` or `csrf_failed`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`, `invalid_body` or `url_not_allowed`", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/documents/{id}/pages")]
pub async fn append_page(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<Uuid>,
    body: web::Json<AppendPage>,
) -> ApiResult<HttpResponse> {
    let access = authorize(&state, &caller, path.into_inner(), Capability::EditPages).await?;
    let body = body.into_inner();
    let mut conn = state.conn().await?;

    match (body.text, body.url) {
        (Some(text), None) => {
            checked_markdown(&state, "text", &text)?;
            if text.trim().is_empty() {
                return Err(ApiError::field("text", FieldCode::Required));
            }
            let page = documents::append_page(&mut conn, access.document.id, &text)
                .await
                .map_err(document_error)?;
            Ok(HttpResponse::Created().json(PageView::new(page, access.role)))
        }
        (None, Some(url)) => {
            let url = orator_fetch::check_syntax(&url, &state.fetch_policy)
                .map_err(|_| ApiError::new(ErrorCode::UrlNotAllowed))?;
            let job = Job::ImportPage { document_id: access.document.id, url: url.to_string() };
            let attempts = i32::try_from(state.config.job_max_attempts).unwrap_or(5);
            jobs::enqueue(&mut conn, &job, attempts, Utc::now()).await?;
            Ok(HttpResponse::Accepted().finish())
        }
        (Some(_), Some(_)) => Err(ApiError::field("url", FieldCode::InvalidFormat)),
        (None, None) => Err(ApiError::field("text", FieldCode::Required)),
    }
}

/// New Markdown for a page.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EditPage {
    /// The page's new Markdown (at most 1 MiB, no NUL characters).
    pub markdown: String,
}

/// Replaces a page's Markdown.
#[utoipa::path(
    tag = "pages",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = Uuid, Path, description = "Page id")),
    request_body = EditPage,
    responses(
        (status = 200, description = "Edited", body = PageView),
        (status = 403, description = "`permission_denied` or `csrf_failed`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` or `invalid_body`", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/pages/{id}")]
pub async fn edit_page(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<Uuid>,
    body: web::Json<EditPage>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;
    let page = documents::page_by_id(&mut conn, path.into_inner()).await.map_err(document_error)?;
    let access =
        access::authorize(&mut conn, caller.user.id, page.document_id, Capability::EditPages)
            .await
            .map_err(access_error)?;
    checked_markdown(&state, "markdown", &body.markdown)?;

    let page =
        documents::update_page(&mut conn, page.id, &body.markdown).await.map_err(document_error)?;

    Ok(HttpResponse::Ok().json(PageView::new(page, access.role)))
}

/// Markdown to render.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RenderRequest {
    /// Markdown (at most 1 MiB).
    pub markdown: String,
}

/// Sanitized HTML.
#[derive(Debug, Serialize, ToSchema)]
pub struct RenderResponse {
    /// HTML without scripts, event handlers or script URLs.
    pub html: String,
}

/// Renders Markdown to sanitized HTML, as pages are rendered.
#[utoipa::path(
    tag = "pages",
    security(("bearer" = []), ("session_cookie" = [])),
    request_body = RenderRequest,
    responses(
        (status = 200, description = "Rendered", body = RenderResponse),
        (status = 403, description = "`csrf_failed`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` or `invalid_body`", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/markdown/render")]
pub async fn render_markdown(
    state: web::Data<AppState>,
    _caller: AuthUser,
    body: web::Json<RenderRequest>,
) -> ApiResult<HttpResponse> {
    checked_markdown(&state, "markdown", &body.markdown)?;

    let html = orator_ingest::render::markdown_to_html(&body.markdown);

    Ok(HttpResponse::Ok().json(RenderResponse { html }))
}
