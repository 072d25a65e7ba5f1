//! The signed-in user's own account: profile, password, verification mail, API tokens.

use actix_web::{HttpRequest, HttpResponse, delete, get, patch, post, web};
use chrono::{DateTime, Utc};
use orator_domain::accounts::{self, ProfileChanges};
use orator_domain::models::{ApiToken, User};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;
use validator::{Validate, ValidationError};

use crate::auth::{AuthUser, ClientInfo};
use crate::error::ApiResult;
use crate::pagination::{ListQuery, Paginated};
use crate::routes::auth::session_response;
use crate::state::AppState;
use crate::{ApiError, mails};

/// A user as they see themselves.
#[derive(Debug, Serialize, ToSchema)]
pub struct UserView {
    /// Identifier.
    pub id: Uuid,
    /// Email address.
    pub email: String,
    /// Name shown to people you share with.
    pub display_name: Option<String>,
    /// Voice used by default.
    pub preferred_voice: Option<String>,
    /// Whether people you share with may see your address.
    pub show_email_to_sharees: bool,
    /// Whether the address is verified.
    pub email_verified: bool,
    /// Staff members reach the dashboard.
    pub is_staff: bool,
    /// Registration time.
    pub created_at: DateTime<Utc>,
}

impl From<&User> for UserView {
    fn from(user: &User) -> Self {
        Self {
            id: user.id,
            email: user.email.clone(),
            display_name: user.display_name.clone(),
            preferred_voice: user.preferred_voice.clone(),
            show_email_to_sharees: user.show_email_to_sharees,
            email_verified: user.is_verified(),
            is_staff: user.is_staff,
            created_at: user.created_at,
        }
    }
}

/// The signed-in user.
#[utoipa::path(
    tag = "me",
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 200, description = "The signed-in user", body = UserView),
        (status = 401, description = "`unauthenticated`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me")]
pub async fn me(caller: AuthUser) -> HttpResponse {
    HttpResponse::Ok().json(UserView::from(&caller.user))
}

/// Tells "absent" (leave alone) from `null` (clear) in a JSON field.
fn present<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(deserializer).map(Some)
}

fn voice_id(voice: &str) -> Result<(), ValidationError> {
    let valid = !voice.is_empty()
        && voice.len() <= 64
        && voice.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_'));
    if valid { Ok(()) } else { Err(ValidationError::new("invalid_format")) }
}

/// A display name or token name: 1 to 100 characters once trimmed.
pub(crate) fn display_name_rule(name: &str) -> Result<(), ValidationError> {
    match name.trim().chars().count() {
        0 => Err(ValidationError::new("too_short")),
        1..=100 => Ok(()),
        _ => Err(ValidationError::new("too_long")),
    }
}

/// Profile changes; absent fields stay as they are, `null` clears.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfilePatch {
    /// New display name (1 to 100 characters), or `null` to clear it.
    #[serde(default, deserialize_with = "present")]
    #[validate(custom(function = "display_name_rule"))]
    #[schema(value_type = Option<String>)]
    pub display_name: Option<Option<String>>,
    /// New default voice id, or `null` to clear it.
    #[serde(default, deserialize_with = "present")]
    #[validate(custom(function = "voice_id"))]
    #[schema(value_type = Option<String>)]
    pub preferred_voice: Option<Option<String>>,
    /// Whether people you share with may see your address.
    pub show_email_to_sharees: Option<bool>,
}

/// Changes the signed-in user's profile.
#[utoipa::path(
    tag = "me",
    security(("bearer" = []), ("session_cookie" = [])),
    request_body = ProfilePatch,
    responses(
        (status = 200, description = "The updated user", body = UserView),
        (status = 400, description = "`malformed_json`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`csrf_failed`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed`, `invalid_body` or `unknown_voice`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable` or `speech_engine_unavailable`", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/me")]
pub async fn update_me(
    state: web::Data<AppState>,
    caller: AuthUser,
    body: web::Json<ProfilePatch>,
) -> ApiResult<HttpResponse> {
    body.validate()?;
    if let Some(Some(voice)) = &body.preferred_voice {
        crate::routes::voices::known_voice(&state, voice).await?;
    }
    let body = body.into_inner();
    let changes = ProfileChanges {
        display_name: body.display_name.map(|name| name.map(|name| name.trim().to_owned())),
        preferred_voice: body.preferred_voice,
        show_email_to_sharees: body.show_email_to_sharees,
    };
    let mut conn = state.conn().await?;

    let user = accounts::update_profile(&mut conn, caller.user.id, &changes).await?;

    Ok(HttpResponse::Ok().json(UserView::from(&user)))
}

/// A password change.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordChange {
    /// The current password.
    #[schema(format = Password)]
    pub current_password: String,
    /// The new password.
    #[schema(format = Password)]
    pub new_password: String,
}

/// Changes the password; every session is revoked and a new one returned for this client.
#[utoipa::path(
    tag = "me",
    security(("bearer" = []), ("session_cookie" = [])),
    request_body = PasswordChange,
    responses(
        (status = 200, description = "Password changed; a fresh session replaces every old one", body = crate::routes::auth::LoginResponse),
        (status = 400, description = "`malformed_json`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`csrf_failed` or `wrong_password`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` (weak password) or `invalid_body`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/me/password")]
pub async fn change_password(
    state: web::Data<AppState>,
    req: HttpRequest,
    caller: AuthUser,
    body: web::Json<PasswordChange>,
) -> ApiResult<HttpResponse> {
    let client = ClientInfo::of(&req, &state);
    let mut conn = state.conn().await?;

    let session = accounts::change_password(
        &mut conn,
        &state.accounts,
        &caller.user,
        &body.current_password,
        &body.new_password,
        client.user_agent.as_deref(),
    )
    .await?;

    tracing::info!(user.id = %caller.user.id, "password changed; sessions revoked");
    Ok(session_response(&state, &session, &caller.user))
}

/// Sends a new verification mail to an unverified address.
#[utoipa::path(
    tag = "me",
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 202, description = "A new verification mail is on its way (nothing is sent if already verified)"),
        (status = 401, description = "`unauthenticated`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`csrf_failed`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/me/verification-email")]
pub async fn resend_verification(
    state: web::Data<AppState>,
    caller: AuthUser,
) -> ApiResult<HttpResponse> {
    let limit = orator_kv::Limit {
        max: state.config.password_reset_per_hour,
        window: std::time::Duration::from_secs(3600),
    };
    let subject = caller.user.id.to_string();
    if let orator_kv::Decision::Limited { retry_after } =
        state.kv.hit("verification-mail", &subject, limit).await?
    {
        return Err(ApiError::rate_limited(retry_after));
    }
    let mut conn = state.conn().await?;

    let token = accounts::reissue_verification(&mut conn, &state.accounts, &caller.user).await?;

    if let Some(token) = token {
        mails::send_verification(&state, &caller.user.email, &token.plaintext).await;
    }
    Ok(HttpResponse::Accepted().finish())
}

/// A personal API token, without its secret.
#[derive(Debug, Serialize, ToSchema)]
pub struct ApiTokenView {
    /// Identifier.
    pub id: Uuid,
    /// Name given at creation.
    pub name: String,
    /// Creation time.
    pub created_at: DateTime<Utc>,
    /// Expiry, if any.
    pub expires_at: Option<DateTime<Utc>>,
    /// Last use (to the minute).
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<ApiToken> for ApiTokenView {
    fn from(token: ApiToken) -> Self {
        Self {
            id: token.id,
            name: token.name,
            created_at: token.created_at,
            expires_at: token.expires_at,
            last_used_at: token.last_used_at,
        }
    }
}

/// Lists the signed-in user's API tokens.
#[utoipa::path(
    tag = "me",
    security(("bearer" = []), ("session_cookie" = [])),
    params(ListQuery),
    responses(
        (status = 200, description = "One page of tokens, newest first", body = Paginated<ApiTokenView>),
        (status = 400, description = "`invalid_query`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me/tokens")]
pub async fn list_tokens(
    state: web::Data<AppState>,
    caller: AuthUser,
    query: web::Query<ListQuery>,
) -> ApiResult<HttpResponse> {
    let page = query.page()?;
    let mut conn = state.conn().await?;

    let tokens = accounts::list_api_tokens(&mut conn, caller.user.id, page).await?;

    Ok(HttpResponse::Ok().json(Paginated::from_page(tokens, ApiTokenView::from)))
}

/// A token to create.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateToken {
    /// A name to recognise it by (1 to 100 characters).
    #[validate(custom(function = "display_name_rule"))]
    pub name: String,
    /// Days until it expires (1 to 3650); absent means it never expires.
    #[validate(range(min = 1, max = 3650, code = "out_of_range"))]
    pub expires_in_days: Option<i64>,
}

/// A created token, with its secret: shown this once only.
#[derive(Debug, Serialize, ToSchema)]
pub struct CreatedToken {
    /// The token's details.
    #[serde(flatten)]
    pub details: ApiTokenView,
    /// Use as `Authorization: Bearer <token>`. It cannot be shown again.
    pub token: String,
}

/// Creates a personal API token for integrations.
#[utoipa::path(
    tag = "me",
    security(("bearer" = []), ("session_cookie" = [])),
    request_body = CreateToken,
    responses(
        (status = 201, description = "Created; the secret is in `token`", body = CreatedToken),
        (status = 400, description = "`malformed_json`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`csrf_failed`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`token_limit_reached`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` or `invalid_body`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/me/tokens")]
pub async fn create_token(
    state: web::Data<AppState>,
    caller: AuthUser,
    body: web::Json<CreateToken>,
) -> ApiResult<HttpResponse> {
    body.validate()?;
    let expires_at = body.expires_in_days.map(|days| Utc::now() + chrono::Duration::days(days));
    let mut conn = state.conn().await?;

    let created = accounts::create_api_token(
        &mut conn,
        &state.accounts,
        caller.user.id,
        body.name.trim(),
        expires_at,
    )
    .await?;

    tracing::info!(user.id = %caller.user.id, token.id = %created.row.id, "api token created");
    Ok(HttpResponse::Created().json(CreatedToken {
        token: created.token.plaintext.clone(),
        details: ApiTokenView::from(created.row),
    }))
}

/// Revokes one of the signed-in user's API tokens.
#[utoipa::path(
    tag = "me",
    security(("bearer" = []), ("session_cookie" = [])),
    params(("id" = Uuid, Path, description = "Token id")),
    responses(
        (status = 204, description = "Revoked"),
        (status = 400, description = "`invalid_path`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "`unauthenticated`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`csrf_failed`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 404, description = "`not_found`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/me/tokens/{id}")]
pub async fn delete_token(
    state: web::Data<AppState>,
    caller: AuthUser,
    path: web::Path<Uuid>,
) -> ApiResult<HttpResponse> {
    let token_id = path.into_inner();
    let mut conn = state.conn().await?;

    accounts::revoke_api_token(&mut conn, caller.user.id, token_id).await?;

    tracing::info!(user.id = %caller.user.id, token.id = %token_id, "api token revoked");
    Ok(HttpResponse::NoContent().finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(result: Result<(), ValidationError>) -> Option<String> {
        result.err().map(|err| err.code.to_string())
    }

    #[test]
    fn display_names_are_bounded() {
        assert_eq!(code(display_name_rule("Ada")), None);
        assert_eq!(code(display_name_rule("   ")).as_deref(), Some("too_short"));
        assert_eq!(code(display_name_rule(&"x".repeat(101))).as_deref(), Some("too_long"));
    }

    #[test]
    fn voice_ids_have_a_safe_shape() {
        assert_eq!(code(voice_id("en-US_Joanna")), None);
        assert_eq!(code(voice_id("../etc")).as_deref(), Some("invalid_format"));
        assert_eq!(code(voice_id("")).as_deref(), Some("invalid_format"));
    }
}
