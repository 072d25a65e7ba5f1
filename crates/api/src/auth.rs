//! Who is calling: the [`AuthUser`] extractor, session cookies and the CSRF rule.
//!
//! A request authenticates with `Authorization: Bearer <token>` (a session token from login
//! or a personal API token) or with the session cookie. A bearer header, when present, is the
//! only credential considered. Cookie-authenticated requests with an unsafe method must echo
//! the CSRF cookie's value in `X-CSRF-Token`; bearer requests need not, since a browser never
//! attaches that header on its own.

use actix_web::cookie::{Cookie, SameSite, time};
use actix_web::dev::Payload;
use actix_web::http::{Method, header};
use actix_web::{FromRequest, HttpMessage, HttpRequest, web};
use futures::future::LocalBoxFuture;
use orator_domain::accounts::{self, Credential, NewSession};
use orator_domain::models::User;
use orator_domain::tokens;

use crate::error::{ApiError, ErrorCode};
use crate::state::AppState;

/// Name of the session cookie (`HttpOnly`).
pub const SESSION_COOKIE: &str = "orator_session";
/// Name of the CSRF cookie (readable by the page's script).
pub const CSRF_COOKIE: &str = "orator_csrf";
/// Header that must carry the CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct AuthUser {
    /// The user.
    pub user: User,
    /// The credential the request presented.
    pub credential: Credential,
}

impl AuthUser {
    /// Refuses users whose address is unverified, when the site requires verification.
    pub fn require_verified(&self, state: &AppState) -> Result<&User, ApiError> {
        if state.config.require_email_verification && !self.user.is_verified() {
            return Err(ApiError::new(ErrorCode::EmailUnverified));
        }
        Ok(&self.user)
    }

    /// Refuses users without the staff flag.
    pub fn require_staff(&self) -> Result<&User, ApiError> {
        if !self.user.is_staff {
            return Err(ApiError::new(ErrorCode::PermissionDenied));
        }
        Ok(&self.user)
    }
}

enum Presented {
    Bearer(String),
    Cookie { token: String, csrf: Option<String> },
}

fn presented(req: &HttpRequest) -> Result<Presented, ApiError> {
    if let Some(value) = req.headers().get(header::AUTHORIZATION) {
        let token = value
            .to_str()
            .ok()
            .and_then(|value| value.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|token| !token.is_empty())
            .ok_or_else(|| ApiError::new(ErrorCode::Unauthenticated))?;
        return Ok(Presented::Bearer(token.to_owned()));
    }

    let token = req
        .cookie(SESSION_COOKIE)
        .map(|cookie| cookie.value().to_owned())
        .ok_or_else(|| ApiError::new(ErrorCode::Unauthenticated))?;
    let csrf =
        req.headers().get(CSRF_HEADER).and_then(|value| value.to_str().ok()).map(str::to_owned);

    Ok(Presented::Cookie { token, csrf })
}

fn is_safe(method: &Method) -> bool {
    matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE)
}

/// Constant-time equality of two hashes.
fn same_hash(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0_u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl FromRequest for AuthUser {
    type Error = ApiError;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();

        Box::pin(async move {
            if let Some(known) = req.extensions().get::<AuthUser>() {
                return Ok(known.clone());
            }
            let state = req
                .app_data::<web::Data<AppState>>()
                .cloned()
                .ok_or_else(|| ApiError::internal("application state missing"))?;
            let presented = presented(&req)?;
            let token = match &presented {
                Presented::Bearer(token) | Presented::Cookie { token, .. } => token.as_str(),
            };

            let mut conn = state.conn().await?;
            let (user, credential) = accounts::resolve_token(&mut conn, &state.accounts, token)
                .await?
                .ok_or_else(|| ApiError::new(ErrorCode::Unauthenticated))?;

            if let Presented::Cookie { csrf, .. } = &presented {
                let Credential::Session(session) = &credential else {
                    // API tokens are bearer-only.
                    return Err(ApiError::new(ErrorCode::Unauthenticated));
                };
                if !is_safe(req.method()) {
                    let matches = csrf
                        .as_deref()
                        .is_some_and(|csrf| same_hash(&tokens::hash(csrf), &session.csrf_hash));
                    if !matches {
                        return Err(ApiError::new(ErrorCode::CsrfFailed));
                    }
                }
            }

            tracing::Span::current().record("user.id", tracing::field::display(user.id));
            let auth = AuthUser { user, credential };
            req.extensions_mut().insert(auth.clone());
            Ok(auth)
        })
    }
}

/// The cookies that carry a new session.
pub fn session_cookies(state: &AppState, session: &NewSession) -> [Cookie<'static>; 2] {
    let max_age = time::Duration::seconds(
        i64::try_from(state.config.session_max_age_secs).unwrap_or(i64::MAX / 1000),
    );
    let secure = state.config.secure_cookies;

    let session_cookie = Cookie::build(SESSION_COOKIE, session.token.plaintext.clone())
        .http_only(true)
        .secure(secure)
        .same_site(SameSite::Strict)
        .path("/")
        .max_age(max_age)
        .finish();
    let csrf_cookie = Cookie::build(CSRF_COOKIE, session.csrf.plaintext.clone())
        .http_only(false)
        .secure(secure)
        .same_site(SameSite::Strict)
        .path("/")
        .max_age(max_age)
        .finish();

    [session_cookie, csrf_cookie]
}

/// Cookies that remove the session from the browser.
pub fn cleared_cookies(state: &AppState) -> [Cookie<'static>; 2] {
    let secure = state.config.secure_cookies;
    let clear = |name: &'static str, http_only: bool| {
        let mut cookie = Cookie::build(name, "")
            .http_only(http_only)
            .secure(secure)
            .same_site(SameSite::Strict)
            .path("/")
            .finish();
        cookie.make_removal();
        cookie
    };

    [clear(SESSION_COOKIE, true), clear(CSRF_COOKIE, false)]
}

/// The caller as the access log records them.
pub fn actor(
    req: &HttpRequest,
    state: &AppState,
    caller: &AuthUser,
) -> orator_domain::shares::Actor {
    let client = ClientInfo::of(req, state);
    orator_domain::shares::Actor {
        user_id: caller.user.id,
        client_addr: Some(client.addr),
        user_agent: client.user_agent,
    }
}

/// Where a request comes from, for rate limits and the access log.
#[derive(Debug, Clone)]
pub struct ClientInfo {
    /// The client's address (the proxy's, unless proxy headers are trusted).
    pub addr: String,
    /// The user agent, truncated.
    pub user_agent: Option<String>,
}

impl ClientInfo {
    /// Reads the client's address and user agent.
    pub fn of(req: &HttpRequest, state: &AppState) -> Self {
        let info = req.connection_info();
        let addr = if state.config.trust_proxy_headers {
            info.realip_remote_addr().map(str::to_owned)
        } else {
            req.peer_addr().map(|addr| addr.ip().to_string())
        };
        let user_agent = req
            .headers()
            .get(header::USER_AGENT)
            .and_then(|value| value.to_str().ok())
            .map(|agent| agent.chars().take(accounts::USER_AGENT_MAX_CHARS).collect());

        Self { addr: addr.unwrap_or_else(|| "unknown".to_owned()), user_agent }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_comparison_is_exact() {
        assert!(same_hash(b"abc", b"abc"));
        assert!(!same_hash(b"abc", b"abd"));
        assert!(!same_hash(b"abc", b"ab"));
    }

    #[test]
    fn only_read_methods_are_safe() {
        assert!(is_safe(&Method::GET));
        assert!(!is_safe(&Method::POST));
        assert!(!is_safe(&Method::DELETE));
        assert!(!is_safe(&Method::PATCH));
    }
}
