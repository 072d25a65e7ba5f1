//! Sharing documents, the documents shared with the caller, and a document's activity.

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, Utc};
use orator_domain::access::Capability;
use orator_domain::shares::{self, Share, ShareError};
use orator_kv::{Decision, Limit};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::Validate;

use crate::auth::{self, AuthUser};
use crate::error::{ApiError, ApiResult, ErrorCode, FieldCode};
use crate::i18n::Locale;
use crate::pagination::{ListQuery, Paginated};
use crate::routes::documents::{DocumentView, authorize};
use crate::state::AppState;

/// A permission a share grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// See the document and its pages, play and download its audio.
    ViewOnly,
    /// As `view_only`, plus generate and retry audio.
    Collaborator,
    /// As `collaborator`, plus edit and add pages, see the shares, and share further.
    CanShare,
}

impl Permission {
    fn as_str(self) -> &'static str {
        match self {
            Self::ViewOnly => "view_only",
            Self::Collaborator => "collaborator",
            Self::CanShare => "can_share",
        }
    }
}

/// A share as the sharer sees it. Whether the address has an account is deliberately not
/// shown.
#[derive(Debug, Serialize, ToSchema)]
pub struct ShareView {
    /// Identifier.
    pub id: Uuid,
    /// The shared document.
    pub document_id: Uuid,
    /// The address it is shared with.
    pub email: String,
    /// `view_only`, `collaborator` or `can_share`.
    pub permission: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

impl From<Share> for ShareView {
    fn from(share: Share) -> Self {
        Self {
            id: share.id,
            document_id: share.document_id,
            email: share.recipient_email,
            permission: share.permission,
            created_at: share.created_at,
            updated_at: share.updated_at,
        }
    }
}

fn share_error(err: ShareError) -> ApiError {
    match err {
        ShareError::NotFound => ApiError::new(ErrorCode::NotFound),
        ShareError::PermissionDenied => ApiError::new(ErrorCode::PermissionDenied),
        ShareError::InvalidTarget => ApiError::new(ErrorCode::InvalidShareTarget),
        ShareError::InvalidPermission => ApiError::field("permission", FieldCode::InvalidFormat),
        ShareError::Db(db) => db.into(),
    }
}

/// Whom to share with, and how.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateShare {
    /// The person's email address (with or without an account).
    #[validate(email(code = "invalid_email"), length(max = 254, code = "too_long"))]
    pub email: String,
    /// What they may do.
    pub permission: Permission,
}

/// Shares a document (owner or `can_share`). Sharing again with the same address updates
/// the permission. An address without an account gets an invitation; the answer is the same.
#[utoipa::path(
    tag = "sharing",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = Uuid, Path, description = "Document id")),
    request_body = CreateShare,
    responses(
        (status = 201, description = "Shared", body = ShareView),
        (status = 200, description = "Already shared with this address; permission updated", body = ShareView),
        (status = 403, description = "`permission_denied` or `csrf_failed`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_share_target`, `validation_failed` or `invalid_body`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/documents/{id}/shares")]
pub async fn create_share(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: AuthUser,
    path: web::Path<Uuid>,
    body: web::Json<CreateShare>,
) -> ApiResult<HttpResponse> {
    let access = authorize(&state, &caller, path.into_inner(), Capability::Share).await?;
    body.validate()?;
    let limit =
        Limit { max: state.config.shares_per_hour, window: std::time::Duration::from_secs(3600) };
    if let Decision::Limited { retry_after } =
        state.kv.hit("share", &caller.user.id.to_string(), limit).await?
    {
        return Err(ApiError::rate_limited(retry_after));
    }
    let actor = auth::actor(&req, &state, &caller);
    let mut conn = state.conn().await?;

    let shared = shares::share(&mut conn, &access, &actor, &body.email, body.permission.as_str())
        .await
        .map_err(share_error)?;

    if shared.created {
        let sharer = caller.user.display_name.as_deref().unwrap_or("Someone");
        crate::mails::send_share_notice(
            &state,
            &shared.share.recipient_email,
            sharer,
            &access.document.title,
            shared.recipient.is_some(),
        )
        .await;
    }
    tracing::info!(user.id = %caller.user.id, document.id = %access.document.id, share.id = %shared.share.id, "document shared");
    let view = ShareView::from(shared.share);
    if shared.created {
        Ok(HttpResponse::Created().json(view))
    } else {
        Ok(HttpResponse::Ok().json(view))
    }
}

/// A document's shares (owner or `can_share`).
#[utoipa::path(
    tag = "sharing",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = Uuid, Path, description = "Document id"), ListQuery),
    responses(
        (status = 200, description = "One page of shares", body = Paginated<ShareView>),
        (status = 400, description = "`invalid_query`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`permission_denied`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/documents/{id}/shares")]
pub async fn list_shares(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<Uuid>,
    query: web::Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    let access = authorize(&state, &caller, path.into_inner(), Capability::Share).await?;
    let page = query.page()?;
    let mut conn = state.conn().await?;

    let listed = shares::list_for_document(&mut conn, access.document.id, page).await?;

    Ok(HttpResponse::Ok().json(Paginated::from_page(listed, ShareView::from)))
}

/// A new permission.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePermission {
    /// What the person may do from now on.
    pub permission: Permission,
}

/// Changes a share's permission (the owner, or whoever made the share).
#[utoipa::path(
    tag = "sharing",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = Uuid, Path, description = "Share id")),
    request_body = ChangePermission,
    responses(
        (status = 200, description = "Changed", body = ShareView),
        (status = 403, description = "`permission_denied` or `csrf_failed`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/shares/{id}")]
pub async fn change_share(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: AuthUser,
    path: web::Path<Uuid>,
    body: web::Json<ChangePermission>,
) -> ApiResult<HttpResponse> {
    let actor = auth::actor(&req, &state, &caller);
    let mut conn = state.conn().await?;

    let share =
        shares::change_permission(&mut conn, &actor, path.into_inner(), body.permission.as_str())
            .await
            .map_err(share_error)?;

    Ok(HttpResponse::Ok().json(ShareView::from(share)))
}

/// Revokes a share (the owner or whoever made it), or leaves it (the recipient).
#[utoipa::path(
    tag = "sharing",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = Uuid, Path, description = "Share id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 403, description = "`permission_denied` or `csrf_failed`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/shares/{id}")]
pub async fn delete_share(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: AuthUser,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let actor = auth::actor(&req, &state, &caller);
    let mut conn = state.conn().await?;

    shares::revoke(&mut conn, &actor, path.into_inner()).await.map_err(share_error)?;

    Ok(HttpResponse::NoContent().finish())
}

/// The owner of a shared document, as sharees see them.
#[derive(Debug, Serialize, ToSchema)]
pub struct OwnerView {
    /// Display name.
    pub display_name: Option<String>,
    /// Email address, only when the owner chose to show it.
    pub email: Option<String>,
}

/// A document shared with the caller.
#[derive(Debug, Serialize, ToSchema)]
pub struct SharedDocumentView {
    /// The document, with the caller's permission.
    pub document: DocumentView,
    /// The document's owner.
    pub owner: OwnerView,
    /// When it was shared.
    pub shared_at: DateTime<Utc>,
}

/// Documents shared with the caller.
#[utoipa::path(
    tag = "sharing",
    security(("bearer" = []), ("session_cookie" = [])),
    params(ListQuery),
    responses(
        (status = 200, description = "One page of shared documents", body = Paginated<SharedDocumentView>),
        (status = 400, description = "`invalid_query`", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/shared-with-me")]
pub async fn shared_with_me(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: AuthUser,
    query: web::Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    let page = query.page()?;
    let mut conn = state.conn().await?;

    let listed = shares::shared_with(&mut conn, caller.user.id, page).await?;

    let locale = Locale::of(&req);
    let view = |item: shares::SharedWithMe| {
        let role = orator_domain::access::Role::from_permission(&item.share.permission)
            .unwrap_or(orator_domain::access::Role::ViewOnly);
        SharedDocumentView {
            document: DocumentView::new(&item.document, role, &locale),
            owner: OwnerView { display_name: item.owner_name, email: item.owner_email },
            shared_at: item.share.created_at,
        }
    };
    Ok(HttpResponse::Ok().json(Paginated::from_page(listed, view)))
}

/// One entry of a document's activity.
#[derive(Debug, Serialize, ToSchema)]
pub struct ActivityView {
    /// `generate`, `play`, `download`, `delete`, `share`, `unshare` or `permission_change`.
    pub action: String,
    /// `success`, `denied` or `failed`.
    pub outcome: String,
    /// Who did it.
    pub actor_id: Option<Uuid>,
    /// Their display name.
    pub actor_name: Option<String>,
    /// The audio concerned, if any.
    pub audio_id: Option<Uuid>,
    /// When.
    pub created_at: DateTime<Utc>,
}

/// What has been done with a document (owner only), newest first.
#[utoipa::path(
    tag = "sharing",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = Uuid, Path, description = "Document id"), ListQuery),
    responses(
        (status = 200, description = "One page of activity", body = Paginated<ActivityView>),
        (status = 400, description = "`invalid_query`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`permission_denied`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/documents/{id}/activity")]
pub async fn document_activity(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<Uuid>,
    query: web::Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    let access = authorize(&state, &caller, path.into_inner(), Capability::ViewActivity).await?;
    let limit = query.limit()?;
    let before = match &query.cursor {
        None => None,
        Some(raw) => Some(raw.parse::<i64>().map_err(|_| ApiError::new(ErrorCode::InvalidQuery))?),
    };
    let mut conn = state.conn().await?;

    let mut rows = shares::activity(&mut conn, access.document.id, limit + 1, before).await?;

    let more = rows.len() > usize::try_from(limit).unwrap_or(0);
    rows.truncate(usize::try_from(limit).unwrap_or(0));
    let next_cursor = if more { rows.last().map(|row| row.id.to_string()) } else { None };
    let items = rows
        .into_iter()
        .map(|row| ActivityView {
            action: row.action,
            outcome: row.outcome,
            actor_id: row.actor_id,
            actor_name: row.actor_name,
            audio_id: row.audio_id,
            created_at: row.created_at,
        })
        .collect();
    Ok(HttpResponse::Ok().json(Paginated { items, next_cursor }))
}
