//! Registration, email verification, password reset, login and logout.

use actix_web::{HttpRequest, HttpResponse, post, web};
use chrono::{DateTime, Utc};
use orator_domain::accounts::{self, Credential};
use orator_kv::{Decision, Limit};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use validator::Validate;

use crate::auth::{self, AuthUser, ClientInfo};
use crate::error::{ApiError, ApiResult, ErrorCode};
use crate::mails;
use crate::routes::me::UserView;
use crate::state::AppState;

/// A new account.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// Email address; compared case-insensitively.
    #[validate(email(code = "invalid_email"), length(max = 254, code = "too_long"))]
    #[schema(example = "reader@example.com")]
    pub email: String,
    /// At least 10 characters, and not a common password.
    #[schema(example = "violet-harbor-tangent-42", format = Password)]
    pub password: String,
    /// Name shown to people you share with.
    #[validate(custom(function = "crate::routes::me::display_name_rule"))]
    pub display_name: Option<String>,
}

/// Registers an account and sends a verification mail.
#[utoipa::path(
    tag = "auth",
    security(()),
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Account created; a verification mail was sent", body = UserView),
        (status = 400, description = "`malformed_json`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`registration_closed`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 409, description = "`email_taken`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 413, description = "`body_too_large`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` or `invalid_body`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/register")]
pub async fn register(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<RegisterRequest>,
) -> ApiResult<HttpResponse> {
    let client = ClientInfo::of(&req, &state);
    let limit = Limit {
        max: state.config.registrations_per_hour,
        window: std::time::Duration::from_secs(3600),
    };
    if let Decision::Limited { retry_after } = state.kv.hit("register", &client.addr, limit).await?
    {
        return Err(ApiError::rate_limited(retry_after));
    }
    body.validate()?;
    let mut conn = state.conn().await?;
    if !orator_domain::settings::load(&mut conn).await?.registration_enabled {
        return Err(ApiError::new(ErrorCode::RegistrationClosed));
    }

    let display_name = body.display_name.as_deref().map(str::trim).filter(|name| !name.is_empty());
    let (user, token) = accounts::register(
        &mut conn,
        &state.accounts,
        &body.email,
        &body.password,
        display_name,
        false,
    )
    .await?;
    tracing::info!(user.id = %user.id, "account registered");

    mails::send_verification(&state, &user.email, &token.plaintext).await;
    Ok(HttpResponse::Created().json(UserView::from(&user)))
}

/// A token from a mail link.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    /// The token from the link.
    pub token: String,
}

/// Confirms an email address with the token from the verification mail.
#[utoipa::path(
    tag = "auth",
    security(()),
    request_body = TokenRequest,
    responses(
        (status = 200, description = "Address verified", body = UserView),
        (status = 400, description = "`invalid_token` or `malformed_json`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_body`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/verify-email")]
pub async fn verify_email(
    state: web::Data<AppState>,
    body: web::Json<TokenRequest>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;

    let user = accounts::verify_email(&mut conn, &body.token).await?;

    tracing::info!(user.id = %user.id, "email verified");
    Ok(HttpResponse::Ok().json(UserView::from(&user)))
}

/// Asks for a password-reset mail.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetRequest {
    /// The account's address.
    #[validate(email(code = "invalid_email"), length(max = 254, code = "too_long"))]
    pub email: String,
}

/// Sends a password-reset mail if the address has an account; answers the same either way.
#[utoipa::path(
    tag = "auth",
    security(()),
    request_body = PasswordResetRequest,
    responses(
        (status = 202, description = "If the address has an account, a reset mail is on its way"),
        (status = 400, description = "`malformed_json`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` or `invalid_body`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/password-reset")]
pub async fn password_reset(
    state: web::Data<AppState>,
    body: web::Json<PasswordResetRequest>,
) -> ApiResult<HttpResponse> {
    body.validate()?;
    let email = accounts::normalize_email(&body.email);
    let limit = Limit {
        max: state.config.password_reset_per_hour,
        window: std::time::Duration::from_secs(3600),
    };

    // Over the limit, nothing is sent, but the answer does not change: it must not reveal
    // whether the address has an account.
    if state.kv.hit("password-reset", &email, limit).await? == Decision::Allowed {
        let mut conn = state.conn().await?;
        if let Some((user, token)) =
            accounts::request_password_reset(&mut conn, &state.accounts, &email).await?
        {
            tracing::info!(user.id = %user.id, "password reset requested");
            mails::send_password_reset(&state, &user.email, &token.plaintext).await;
        }
    }

    Ok(HttpResponse::Accepted().finish())
}

/// Sets a new password with a reset token.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordResetConfirm {
    /// The token from the reset mail.
    pub token: String,
    /// The new password.
    #[schema(format = Password)]
    pub password: String,
}

/// Sets a new password from a reset link and signs out every session.
#[utoipa::path(
    tag = "auth",
    security(()),
    request_body = PasswordResetConfirm,
    responses(
        (status = 204, description = "Password changed; every session was revoked"),
        (status = 400, description = "`invalid_token` or `malformed_json`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`validation_failed` (weak password) or `invalid_body`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/password-reset/confirm")]
pub async fn password_reset_confirm(
    state: web::Data<AppState>,
    body: web::Json<PasswordResetConfirm>,
) -> ApiResult<HttpResponse> {
    let mut conn = state.conn().await?;

    let user =
        accounts::confirm_password_reset(&mut conn, &state.accounts, &body.token, &body.password)
            .await?;

    tracing::info!(user.id = %user.id, "password reset");
    Ok(HttpResponse::NoContent().finish())
}

/// Email and password.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The account's address.
    pub email: String,
    /// The password.
    #[schema(format = Password)]
    pub password: String,
}

/// A new session.
#[derive(Debug, Serialize, ToSchema)]
pub struct LoginResponse {
    /// Session token, usable as `Authorization: Bearer`; also set as the session cookie.
    pub token: String,
    /// When the session ends at the latest.
    pub expires_at: DateTime<Utc>,
    /// The signed-in user.
    pub user: UserView,
}

const LOGIN_EMAIL_BUCKET: &str = "login-email";
const LOGIN_ADDR_BUCKET: &str = "login-addr";

/// Signs in with email and password.
///
/// Sets the `orator_session` cookie (HttpOnly) and the readable `orator_csrf` cookie, and
/// returns the same session as a bearer token. Repeated failures for one address or from one
/// client lock further attempts out for a while (429), whatever the password.
#[utoipa::path(
    tag = "auth",
    security(()),
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Signed in", body = LoginResponse),
        (status = 400, description = "`malformed_json`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 401, description = "`invalid_credentials`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 415, description = "`unsupported_media_type`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 422, description = "`invalid_body`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 429, description = "`rate_limited`: too many failed attempts", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/login")]
pub async fn login(
    state: web::Data<AppState>,
    req: HttpRequest,
    body: web::Json<LoginRequest>,
) -> ApiResult<HttpResponse> {
    let client = ClientInfo::of(&req, &state);
    let email = accounts::normalize_email(&body.email);
    let limit = Limit {
        max: state.config.login_max_failures,
        window: std::time::Duration::from_secs(state.config.login_window_secs),
    };
    let by_email = state.kv.peek(LOGIN_EMAIL_BUCKET, &email, limit).await?;
    let by_addr = state.kv.peek(LOGIN_ADDR_BUCKET, &client.addr, limit).await?;
    let locked = [by_email, by_addr].into_iter().find_map(|decision| match decision {
        Decision::Limited { retry_after } => Some(retry_after),
        Decision::Allowed => None,
    });
    if let Some(retry_after) = locked {
        return Err(ApiError::rate_limited(retry_after));
    }

    let mut conn = state.conn().await?;
    let user = match accounts::authenticate(&mut conn, &email, &body.password).await {
        Ok(user) => user,
        Err(accounts::AccountError::InvalidCredentials) => {
            state.kv.hit(LOGIN_EMAIL_BUCKET, &email, limit).await?;
            state.kv.hit(LOGIN_ADDR_BUCKET, &client.addr, limit).await?;
            tracing::info!("login failed");
            return Err(ApiError::new(ErrorCode::InvalidCredentials));
        }
        Err(other) => return Err(other.into()),
    };
    state.kv.reset(LOGIN_EMAIL_BUCKET, &email).await?;

    let session =
        accounts::start_session(&mut conn, &state.accounts, user.id, client.user_agent.as_deref())
            .await?;

    tracing::info!(user.id = %user.id, session.id = %session.session.id, "signed in");
    Ok(session_response(&state, &session, &user))
}

/// The login answer for a new session: body and cookies.
pub fn session_response(
    state: &AppState,
    session: &accounts::NewSession,
    user: &orator_domain::models::User,
) -> HttpResponse {
    let mut response = HttpResponse::Ok();
    for cookie in auth::session_cookies(state, session) {
        response.cookie(cookie);
    }

    response.json(LoginResponse {
        token: session.token.plaintext.clone(),
        expires_at: session.session.expires_at,
        user: UserView::from(user),
    })
}

/// Ends the current session and clears the session cookies.
#[utoipa::path(
    tag = "auth",
    security(("bearer" = []), ("session_cookie" = [])),
    responses(
        (status = 204, description = "Signed out"),
        (status = 401, description = "`unauthenticated`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 403, description = "`csrf_failed`", body = crate::problem::Problem, content_type = "application/problem+json"),
        (status = 503, description = "`service_unavailable`", body = crate::problem::Problem, content_type = "application/problem+json"),
    )
)]
#[post("/auth/logout")]
pub async fn logout(state: web::Data<AppState>, caller: AuthUser) -> ApiResult<HttpResponse> {
    if let Credential::Session(session) = &caller.credential {
        let mut conn = state.conn().await?;
        accounts::revoke_session(&mut conn, session.id).await?;
        tracing::info!(user.id = %caller.user.id, session.id = %session.id, "signed out");
    }

    let mut response = HttpResponse::NoContent();
    for cookie in auth::cleared_cookies(&state) {
        response.cookie(cookie);
    }
    Ok(response.finish())
}
